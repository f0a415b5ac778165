/*
 * BPF per-CPU maps (kernel/bpf/arraymap.c, hashtab.c, syscall.c): a
 * BPF_MAP_TYPE_PERCPU_ARRAY allocates one percpu area per element at map
 * creation (bpf_array_alloc_percpu: round_up(value_size, 8) bytes, align
 * 8, GFP_USER | __GFP_NOWARN), an update from user space copies the value
 * into every possible CPU's copy (bpf_percpu_copy / copy_map_value), a
 * lookup sums or reads them back, and map destruction frees every element
 * in bulk (bpf_array_free_percpu). Churning maps of many small elements is
 * the workload the bitmap allocator's block hints were written for.
 *
 * Memory cgroups (5.11+ memcg-based bpf accounting): a map remembers the
 * memcg of the task that created it (bpf_map_save_memcg), and
 * bpf_map_alloc_percpu allocates with __GFP_ACCOUNT inside
 * set_active_memcg(map's memcg), so every element is charged to that
 * cgroup. With `memcg` on, the workload runs bpftool in a cgroup of its
 * own (`/bpf-map` unless `cgroup` says otherwise), created if missing; a
 * charge refused at memory.max fails the map creation (-ENOMEM) like any
 * other allocation failure.
 *
 * One op is a map create, update or destroy.
 */

import { __GFP_ACCOUNT, __GFP_NOWARN, GFP_USER } from "@pcpu/mm";
import type { PcpuPtr } from "@pcpu/percpu";
import { refuse } from "../boundary.js";
import type { Kernel } from "../kernel.js";
import {
  type Workload,
  WorkloadCheckError,
  type WorkloadOptions,
  type WorkloadResult,
  workloadParams,
} from "./workload.js";

const VALUE_SIZES = [4, 8, 12, 16, 24, 32, 48, 64, 128, 256] as const;
/* the return address after bpf_map_alloc_percpu's call, as a real 6.x x86_64 backtrace shows it */
const CALL_SITE = "bpf_map_alloc_percpu+0x69/0xc0";
/** The cgroup bpf-map runs bpftool in when memcg is on and none is named. */
export const BPF_MAP_DEFAULT_CGROUP = "/bpf-map";
/** bpftool's task in the model. */
export const BPFTOOL_TASK = { pid: 4242, comm: "bpftool" } as const;

/** A BPF_MAP_TYPE_PERCPU_ARRAY: its elements and the cgroup they are charged to. */
export interface BpfPercpuMap {
  readonly id: number;
  readonly elemSize: number;
  readonly elems: PcpuPtr[];
  /** Last value written per element (the same on every CPU), as a 64-bit seed. */
  readonly values: bigint[];
  /** `map->objcg`'s cgroup path (the creator's), or null without memcg. */
  readonly memcg: string | null;
}

/**
 * `bpf_map_alloc_percpu(map, size, align, GFP_USER | __GFP_NOWARN)`: one
 * element, charged (__GFP_ACCOUNT) to the map's memcg when it has one.
 * @kernel kernel/bpf/syscall.c bpf_map_alloc_percpu
 */
function bpfMapAllocPercpu(k: Kernel, memcg: string | null, size: number): PcpuPtr | null {
  const gfp = GFP_USER | __GFP_NOWARN | __GFP_ACCOUNT;
  if (memcg === null) return k.percpu.alloc(size, 8, gfp, { callSite: CALL_SITE });
  return k.cgroup.withActiveMemcg(memcg, () => k.percpu.alloc(size, 8, gfp, { callSite: CALL_SITE }));
}

/**
 * Creates a percpu array map of `maxEntries` elements of `valueSize` bytes
 * (`bpf_array_alloc_percpu`), charged to the current task's cgroup when
 * memcg is on. Null when an element cannot be allocated: the partial map
 * is freed (bpf_array_free_percpu) and the syscall fails with -ENOMEM.
 * @kernel kernel/bpf/arraymap.c bpf_array_alloc_percpu
 */
export function bpfPercpuArrayCreate(
  k: Kernel,
  id: number,
  maxEntries: number,
  valueSize: number,
): BpfPercpuMap | null {
  const elemSize = Math.ceil(valueSize / 8) * 8;
  /* bpf_map_save_memcg: the creating task's memcg */
  const memcg = k.config.memcg ? k.machine.memcg.memcgOfTask(k.machine.ctx.pid).path : null;
  const elems: PcpuPtr[] = [];
  for (let i = 0; i < maxEntries; i++) {
    const p = bpfMapAllocPercpu(k, memcg, elemSize);
    if (p === null) {
      for (const q of elems) k.percpu.free(q);
      return null;
    }
    elems.push(p);
  }
  return { id, elemSize, elems, values: new Array<bigint>(maxEntries).fill(0n), memcg };
}

/** `bpf_array_free_percpu`: frees every element (map destruction). */
export function bpfPercpuArrayFree(k: Kernel, map: BpfPercpuMap): void {
  for (const p of map.elems) k.percpu.free(p);
}

function updateElem(k: Kernel, map: BpfPercpuMap, i: number, value: bigint): void {
  const p = map.elems[i]!;
  for (const cpu of k.config.possibleCpus) {
    const addr = k.percpu.perCpuPtr(p, cpu);
    for (let off = 0; off < map.elemSize; off += 8)
      k.mem.write(addr + off, 8, value + BigInt(cpu * 64 + off));
  }
  map.values[i] = value;
}

function lookupElem(k: Kernel, map: BpfPercpuMap, i: number): number {
  const p = map.elems[i]!;
  let checks = 0;
  for (const cpu of k.config.possibleCpus) {
    const addr = k.percpu.perCpuPtr(p, cpu);
    for (let off = 0; off < map.elemSize; off += 8) {
      const want = map.values[i] === 0n ? 0n : BigInt.asUintN(64, map.values[i]! + BigInt(cpu * 64 + off));
      const got = k.mem.read(addr + off, 8);
      if (got !== want) {
        throw new WorkloadCheckError(
          `bpf-map: map ${map.id} element ${i} cpu ${cpu} offset ${off}: read 0x${got.toString(16)}, wrote 0x${want.toString(16)}`,
        );
      }
      checks++;
    }
  }
  return checks;
}

export const bpfMapWorkload: Workload = {
  name: "bpf-map",
  description:
    "BPF per-CPU array maps: create (one percpu element each), update/lookup on every CPU, destroy in bulk",
  defaultOps: 300,
  run(k: Kernel, o: WorkloadOptions): WorkloadResult {
    const { ops, scale, rng, tick } = workloadParams(k, this, o);
    if (o.cgroup !== undefined && !k.config.memcg)
      refuse("runWorkload", "opts.cgroup", "unset: memcg is off (CONFIG_MEMCG)", o.cgroup);
    const cgroupPath = k.config.memcg ? (o.cgroup ?? BPF_MAP_DEFAULT_CGROUP) : null;
    if (cgroupPath !== null && !k.cgroup.exists(cgroupPath)) k.cgroup.create(cgroupPath);
    k.machine.ctx.setTask(BPFTOOL_TASK.pid, BPFTOOL_TASK.comm);
    if (cgroupPath !== null) k.cgroup.write(cgroupPath, "cgroup.procs", BPFTOOL_TASK.pid);
    const memcg = cgroupPath === null ? null : k.machine.memcg.lookup(cgroupPath)!;
    let percpuPeak = 0;
    const maxLive = Math.max(2, Math.round(6 * scale));
    const live: BpfPercpuMap[] = [];
    let created = 0;
    let failed = 0;
    let destroyed = 0;
    let updates = 0;
    let checks = 0;
    let nextId = 1;
    for (let op = 1; op <= ops; op++) {
      const r = rng.next();
      if (live.length === 0 || (live.length < maxLive && r < 0.35)) {
        const entries = rng.int(1, Math.max(1, Math.round(96 * scale)));
        const map = bpfPercpuArrayCreate(k, nextId++, entries, rng.pick(VALUE_SIZES));
        if (map === null) failed++;
        else {
          created++;
          live.push(map);
          if (memcg !== null && memcg.percpuBytes > percpuPeak) percpuPeak = memcg.percpuBytes;
        }
      } else if (r < 0.8) {
        const map = rng.pick(live);
        const i = rng.int(0, map.elems.length - 1);
        updateElem(k, map, i, BigInt(rng.int(1, 0x7fffffff)) << 16n);
        checks += lookupElem(k, map, i);
        updates++;
      } else {
        const map = live.splice(rng.int(0, live.length - 1), 1)[0]!;
        bpfPercpuArrayFree(k, map);
        destroyed++;
        /* The map's percpu memory goes back; kworker runs the balance work it queued. */
        k.runWork();
      }
      tick(op);
    }
    for (const map of live) {
      for (let i = 0; i < map.elems.length; i++) checks += lookupElem(k, map, i);
      bpfPercpuArrayFree(k, map);
      destroyed++;
    }
    k.runWork();
    return {
      workload: "bpf-map",
      ops,
      checks,
      details: {
        mapsCreated: created,
        mapCreateFailures: failed,
        mapsDestroyed: destroyed,
        updates,
        ...(memcg === null ? {} : { memcgPercpuPeak: percpuPeak, memcgPercpuEnd: memcg.percpuBytes }),
      },
    };
  },
};
