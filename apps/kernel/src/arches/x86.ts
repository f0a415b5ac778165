/*
 * x86_64 and i386 as the kernel app boots them: @pcpu/arch-x86's X86_64Arch
 * and I386Arch, plus the first chunk with overridden sizes the x86 way, and
 * the stand-ins the app used before the package existed: arch/x86/kernel/setup_percpu.c
 * (setup_per_cpu_areas: the `setup_percpu:` line, embed with PMD-sized
 * atoms on 64-bit and NUMA grouping, the fall back to the page first chunk,
 * the per-CPU segment base) on the machine layout of asm/pgtable_64_types.h
 * and pgtable_32_areas.h.
 *
 * 64-bit addresses are kept in the model's canonical form (below 2^48):
 * the upper half 0xffff8000_00000000.. maps to 0x8000_0000_0000.. and is
 * printed with the sign extension, as %px shows it.
 */

import { I386Arch, X86_64Arch, type X86Arch, type X86PercpuArch, x86FallbackLine } from "@pcpu/arch-x86";
import { LOGLEVEL_INFO, LOGLEVEL_WARNING, type MachineConfig } from "@pcpu/mm";
import {
  PCPU_ERAS,
  type PcpuArchHooks,
  type Percpu,
  pcpuEmbedFirstChunk,
  pcpuPageFirstChunk,
  pcpuSetupPercpuLine,
  REMOTE_DISTANCE,
} from "@pcpu/percpu";
import type { KernelArchDefinition } from "../api.js";
import {
  type ArchMachineRequest,
  type ArchSetupRequest,
  GiB,
  KernelPanic,
  MiB,
  nodeDistanceFn,
  placeStaticSectionInImage,
  RegisterPercpuArch,
  standInArch,
  TiB,
} from "./common.js";
import { packageArch, type SetupWithSizes } from "./package-arch.js";

const X86_64_UPPER = 0xffff_0000_0000_0000n;
const CANON_BIT = 2 ** 47;

/** `%px` on x86_64: 16 digits, the upper half sign-extended. */
export function formatAddrX86_64(a: number): string {
  if (a >= CANON_BIT) return (X86_64_UPPER | BigInt(a)).toString(16);
  return a.toString(16).padStart(16, "0");
}

/** The model's canonical form of a real x86_64 address (hex digits, no 0x); NaN when not canonical. */
export function parseAddrX86_64(hexDigits: string): number {
  const v = BigInt(`0x${hexDigits}`);
  if (v >= X86_64_UPPER + BigInt(CANON_BIT)) return Number(v - X86_64_UPPER);
  if (v < BigInt(CANON_BIT)) return Number(v);
  return Number.NaN;
}

/** PMD_SIZE with 4K pages. */
const PMD_SIZE = 2 * MiB;

function x86Setup(pcpu: Percpu, req: ArchSetupRequest, bits: 32 | 64): PcpuArchHooks {
  const m = pcpu.machine;
  const k = pcpu.constants;
  m.log.printk(
    LOGLEVEL_INFO,
    pcpuSetupPercpuLine(pcpu.era, {
      nrCpus: req.nrCpus,
      nrCpumaskBits: req.nrCpus,
      nrCpuIds: pcpu.nrPossibleCpus,
      nrNodeIds: m.nrNodes,
    }),
  );
  /* 64-bit: module statics come from the first chunk, near the segment base. */
  const fcReserve = bits === 64 ? k.PERCPU_MODULE_RESERVE : 0;
  const reserved = req.reservedSize ?? fcReserve;
  const dyn = req.dynSize ?? k.PERCPU_MODULE_RESERVE + k.PERCPU_DYNAMIC_RESERVE - fcReserve;
  const atom = req.atomSize ?? (bits === 64 ? PMD_SIZE : k.PAGE_SIZE);
  const cpuToNode = (cpu: number) => req.cpuToNode[cpu]!;
  let rc = -22;
  if (req.percpuAlloc !== "page") {
    rc = pcpuEmbedFirstChunk(
      pcpu,
      reserved,
      dyn,
      atom,
      nodeDistanceFn(req.cpuToNode, REMOTE_DISTANCE),
      cpuToNode,
      {
        pageFirstChunkAvailable: true,
        numa: req.numa,
      },
    );
    if (rc < 0)
      m.log.printk(
        LOGLEVEL_WARNING,
        `setup_percpu: ${req.percpuAlloc} allocator failed (${rc}), falling back to page size`,
      );
  }
  if (rc < 0) {
    rc = pcpuPageFirstChunk(pcpu, reserved, cpuToNode, req.numa);
    if (rc < 0) throw new KernelPanic(`cannot initialize percpu area (err=${rc})`);
  }
  const arch = new RegisterPercpuArch(pcpu, bits);
  arch.fillOffsets();
  /* per_cpu_offset, this_cpu_off and the GS/FS base of every CPU. */
  arch.publishAll();
  pcpu.arch = arch;
  return arch;
}

/** x86_64: 4-level paging, PAGE_OFFSET 0xffff888000000000, vmalloc 32 TiB at 0xffffc90000000000. */
export const x86_64StandIn = standInArch({
  name: "x86_64",
  packageName: "@pcpu/arch-x86",
  bits: 64,
  pageShift: 12,
  nrCpusDefault: 64,
  nrCpusMax: 8192,
  numa: true,
  groupsByNode: true,
  firstChunks: ["embed", "page"],
  eras: PCPU_ERAS,
  defaultStaticSize: 0x24000,
  memPerNodeDefault: 1 * GiB,
  memTotalMax: 64 * TiB,
  machineConfig(req: ArchMachineRequest): MachineConfig {
    return {
      pageShift: 12,
      bits: 64,
      vaBits: 48,
      nodes: Array.from({ length: req.nrNodes }, (_, n) => ({
        start: n * req.memPerNode,
        size: req.memPerNode,
      })),
      pageOffset: 0x8880_0000_0000,
      vmallocStart: 0xc900_0000_0000,
      vmallocEnd: 0xc900_0000_0000 + 32 * TiB,
      nrCpus: req.cpus,
      cpuToNode: req.cpuToNode,
      seed: req.seed,
      formatAddr: formatAddrX86_64,
    };
  },
  placeStaticSection: placeStaticSectionInImage,
  setupPerCpuAreas: (pcpu: Percpu, req: ArchSetupRequest) => x86Setup(pcpu, req, 64),
});

/** The i386 lowmem limit with VMSPLIT_3G and a 128M vmalloc reserve (887 MB). */
const I386_MAXMEM = 0x377fe000;

/** i386 (v6.15+: no NUMA, NR_CPUS up to 8): PAGE_OFFSET 0xc0000000, vmalloc from high_memory + 8M. */
export const i386StandIn = standInArch({
  name: "i386",
  packageName: "@pcpu/arch-x86",
  bits: 32,
  pageShift: 12,
  nrCpusDefault: 8,
  nrCpusMax: 8,
  numa: false,
  groupsByNode: true,
  firstChunks: ["embed", "page"],
  eras: PCPU_ERAS,
  defaultStaticSize: 0x10000,
  memPerNodeDefault: 512 * MiB,
  memTotalMax: 4 * GiB - 16 * MiB,
  machineConfig(req: ArchMachineRequest): MachineConfig {
    const total = req.nrNodes * req.memPerNode;
    const directMapSize = Math.min(total, I386_MAXMEM);
    return {
      pageShift: 12,
      bits: 32,
      vaBits: 32,
      nodes: Array.from({ length: req.nrNodes }, (_, n) => ({
        start: n * req.memPerNode,
        size: req.memPerNode,
      })),
      pageOffset: 0xc000_0000,
      directMapSize,
      vmallocStart: 0xc000_0000 + directMapSize + 8 * MiB,
      vmallocEnd: 0xff7f_e000,
      nrCpus: req.cpus,
      cpuToNode: req.cpuToNode,
      seed: req.seed,
    };
  },
  placeStaticSection: placeStaticSectionInImage,
  setupPerCpuAreas: (pcpu: Percpu, req: ArchSetupRequest) => x86Setup(pcpu, req, 32),
});

/**
 * x86 setup_per_cpu_areas with the config's reserved/dyn/atom sizes: the
 * `setup_percpu:` line, embed (falling back to page) with the overrides,
 * then the package's per-CPU initialisation and segment base.
 */
function x86SetupWithSizes<A extends X86PercpuArch>(def: X86Arch<A>): SetupWithSizes<A> {
  return (pcpu, arch, cfg, s) => {
    const m = pcpu.machine;
    const k = pcpu.constants;
    const era = cfg.pcpuEra;
    m.log.printk(
      LOGLEVEL_INFO,
      pcpuSetupPercpuLine(era, {
        nrCpus: k.NR_CPUS,
        nrCpumaskBits: cfg.cpumaskOffstack ? cfg.cpus : k.NR_CPUS,
        nrCpuIds: cfg.cpus,
        nrNodeIds: cfg.numa ? cfg.nodes.length : 1,
      }),
    );
    const chosen = (cfg.percpuAlloc ?? "auto") as "auto" | "embed" | "page";
    const fcReserve = def.firstChunkReserve(pcpu);
    const reserved = s.reservedSize ?? fcReserve;
    const cpuToNode = def.pcpuCpuToNode(cfg);
    let rc = -22;
    if (chosen !== "page") {
      const dyn = s.dynSize ?? k.PERCPU_MODULE_RESERVE + k.PERCPU_DYNAMIC_RESERVE - fcReserve;
      rc = pcpuEmbedFirstChunk(
        pcpu,
        reserved,
        dyn,
        s.atomSize ?? def.atomSize(cfg),
        def.pcpuCpuDistance(cfg),
        cpuToNode,
        {
          pageFirstChunkAvailable: true,
          numa: cfg.numa,
        },
      );
      if (rc < 0) m.log.printk(LOGLEVEL_WARNING, x86FallbackLine(era, chosen, rc));
    }
    if (rc < 0) {
      if (pcpu.backend.name === "km")
        throw new Error("percpu-km: contiguous percpu allocation is incompatible with paged first chunk");
      rc = pcpuPageFirstChunk(pcpu, reserved, cpuToNode, cfg.numa);
    }
    if (rc < 0) throw new KernelPanic(`cannot initialize percpu area (err=${rc})`);
    arch.fillOffsets();
    for (let cpu = 0; cpu < cfg.cpus; cpu++) {
      arch.initCpuPercpu(cpu);
      if (cpu === 0) arch.switchGdtAndPercpuBase(cpu);
    }
    pcpu.arch = arch;
    arch.smpPrepareBootCpu();
  };
}

const x86_64Def = new X86_64Arch();
const i386Def = new I386Arch();

/** x86_64 from @pcpu/arch-x86. */
export const x86_64: KernelArchDefinition = packageArch({
  name: "x86_64",
  packageName: "@pcpu/arch-x86",
  def: x86_64Def,
  groupsByNode: true,
  memTotalMax: 64 * TiB,
  setupWithSizes: x86SetupWithSizes(x86_64Def),
});

/** i386 from @pcpu/arch-x86. */
export const i386: KernelArchDefinition = packageArch({
  name: "i386",
  packageName: "@pcpu/arch-x86",
  def: i386Def,
  groupsByNode: true,
  memTotalMax: 64 * GiB,
  setupWithSizes: x86SetupWithSizes(i386Def),
});
