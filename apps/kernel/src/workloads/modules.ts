/*
 * Module load and unload (kernel/module/main.c percpu_modalloc,
 * percpu_modcopy, percpu_modfree): a module's static percpu section comes
 * from the reserved chunk with __alloc_reserved_percpu(size, align) (align
 * clamped to PAGE_SIZE with a warning), its template is copied into every
 * possible CPU's copy, and its init code makes ordinary dynamic percpu
 * allocations (statistics, per-CPU lists). Unload frees both. When the
 * reserved region is full the load fails with the kernel's
 * "Could not allocate %lu bytes percpu data" error.
 *
 * The module names are real modules; their percpu sizes are drawn from the
 * seed (plausible ranges, not measured from a real build). One op is a load
 * or an unload.
 */

import { LOGLEVEL_ERR, LOGLEVEL_WARNING } from "@pcpu/mm";
import type { PcpuPtr } from "@pcpu/percpu";
import type { Kernel } from "../kernel.js";
import {
  type Rng,
  type Workload,
  WorkloadCheckError,
  type WorkloadOptions,
  type WorkloadResult,
  workloadParams,
} from "./workload.js";

const NAMES = [
  "ext4",
  "xfs",
  "btrfs",
  "nf_conntrack",
  "nf_tables",
  "kvm",
  "kvm_intel",
  "bridge",
  "bonding",
  "e1000e",
  "ixgbe",
  "mlx5_core",
  "snd_hda_intel",
  "dm_mod",
  "raid456",
  "vxlan",
  "wireguard",
  "tun",
  "overlay",
  "fuse",
  "zram",
  "nvme",
  "ip_tables",
  "sctp",
  "openvswitch",
  "ipvlan",
  "macvlan",
  "veth",
  "xt_conntrack",
  "nft_ct",
] as const;

interface ModuleInfo {
  readonly name: string;
  /** Size and alignment of the module's .data..percpu section. */
  readonly pcpuSize: number;
  readonly pcpuAlign: number;
  /** Dynamic percpu allocations its init makes: [size, align]. */
  readonly dynamic: readonly (readonly [number, number])[];
}

interface LoadedModule {
  readonly info: ModuleInfo;
  readonly percpu: PcpuPtr;
  readonly dyn: PcpuPtr[];
}

function catalogue(rng: Rng, scale: number): ModuleInfo[] {
  return NAMES.map((name) => {
    const big = rng.next() < 0.1;
    const pcpuSize = Math.max(
      4,
      Math.round(((big ? rng.int(0x400, 0x1000) : rng.int(0x8, 0x300)) * scale) / 4) * 4,
    );
    const pcpuAlign = rng.pick([4, 8, 8, 8, 64]);
    const dynamic: [number, number][] = [];
    for (let i = rng.int(0, 3); i > 0; i--) dynamic.push([rng.pick([8, 16, 24, 32, 64, 128, 256]), 8]);
    return { name, pcpuSize, pcpuAlign, dynamic };
  });
}

/** `percpu_modalloc` + `percpu_modcopy` + the init's allocations; null when the load fails. */
function loadModule(k: Kernel, info: ModuleInfo): LoadedModule | null {
  const log = k.machine.log;
  let align = info.pcpuAlign;
  if (align > k.machine.pageSize) {
    log.printk(LOGLEVEL_WARNING, `${info.name}: per-cpu alignment ${align} > ${k.machine.pageSize}`);
    align = k.machine.pageSize;
  }
  const percpu = k.percpu.allocReserved(info.pcpuSize, align, { callSite: "load_module+0x1b5d/0x2560" });
  if (percpu === null) {
    log.printk(LOGLEVEL_ERR, `${info.name}: Could not allocate ${info.pcpuSize} bytes percpu data`);
    return null;
  }
  /* percpu_modcopy: the section's initial image into every possible CPU. */
  const image = new Uint8Array(info.pcpuSize);
  for (let i = 0; i < image.length; i++) image[i] = (i * 31 + info.name.length) & 0xff;
  for (const cpu of k.config.possibleCpus) k.machine.mem.copyIn(k.percpu.perCpuPtr(percpu, cpu), image);
  const dyn: PcpuPtr[] = [];
  for (const [size, a] of info.dynamic) {
    const p = k.percpu.alloc(size, a, "GFP_KERNEL", {
      callSite: `${info.name}_init+0x2d/0x90 [${info.name}]`,
    });
    if (p === null) {
      /* The init fails: undo in reverse, then the module's percpu section. */
      for (let i = dyn.length - 1; i >= 0; i--) k.percpu.free(dyn[i]!);
      k.percpu.free(percpu);
      return null;
    }
    dyn.push(p);
  }
  return { info, percpu, dyn };
}

function checkModule(k: Kernel, m: LoadedModule, cpu: number): number {
  const got = k.machine.mem.copyOut(k.percpu.perCpuPtr(m.percpu, cpu), m.info.pcpuSize);
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== ((i * 31 + m.info.name.length) & 0xff)) {
      throw new WorkloadCheckError(
        `modules: ${m.info.name} percpu byte ${i} on cpu ${cpu} is 0x${got[i]!.toString(16)}, not its image`,
      );
    }
  }
  return 1;
}

function unloadModule(k: Kernel, m: LoadedModule): void {
  for (let i = m.dyn.length - 1; i >= 0; i--) k.percpu.free(m.dyn[i]!);
  k.percpu.free(m.percpu);
}

export const modulesWorkload: Workload = {
  name: "modules",
  description:
    "module load/unload: __alloc_reserved_percpu for each module's percpu section plus its init's dynamic allocations",
  defaultOps: 400,
  run(k: Kernel, o: WorkloadOptions): WorkloadResult {
    const { ops, scale, rng, tick } = workloadParams(k, this, o);
    const mods = catalogue(rng, scale);
    const loaded = new Map<string, LoadedModule>();
    let loads = 0;
    let loadFailures = 0;
    let unloads = 0;
    let checks = 0;
    for (let op = 1; op <= ops; op++) {
      const info = rng.pick(mods);
      const m = loaded.get(info.name);
      if (m === undefined) {
        k.machine.ctx.setTask(3000 + op, "modprobe");
        const lm = loadModule(k, info);
        if (lm === null) loadFailures++;
        else {
          loads++;
          loaded.set(info.name, lm);
          checks += checkModule(k, lm, k.config.possibleCpus[rng.int(0, k.config.possibleCpus.length - 1)]!);
        }
      } else {
        k.machine.ctx.setTask(3000 + op, "rmmod");
        checks += checkModule(k, m, k.config.possibleCpus[rng.int(0, k.config.possibleCpus.length - 1)]!);
        unloadModule(k, m);
        loaded.delete(info.name);
        unloads++;
        k.runWork();
      }
      tick(op);
    }
    for (const m of loaded.values()) {
      unloadModule(k, m);
      unloads++;
    }
    k.runWork();
    return { workload: "modules", ops, checks, details: { loads, loadFailures, unloads } };
  },
};
