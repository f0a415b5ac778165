/*
 * A minimal kernel for tests: a generic 32- or 64-bit machine, the core with
 * a chosen area allocator and population backend, the kernel's static
 * percpu template in real memory, and the generic setup_per_cpu_areas (or
 * an embed with NUMA grouping). Arch packages and the kernel app assemble
 * richer kernels; this one exists so the core and every backend can be
 * tested without them.
 */

import { Machine, type MachineConfig } from "@pcpu/mm";
import {
  type AreaAllocatorFactory,
  LOCAL_DISTANCE,
  type PcpuEra,
  type PopulationFactory,
  REMOTE_DISTANCE,
} from "../api.js";
import { createBitmapAllocator } from "../bitmap-allocator.js";
import { pcpuConstants } from "../constants.js";
import { pcpuEmbedFirstChunk } from "../embed.js";
import { type PcpuOptions, Percpu, type PercpuInit } from "../percpu.js";
import { GenericPercpuArch, setupPerCpuAreasGeneric } from "../setup-generic.js";

export interface TestKernelOptions {
  readonly population: PopulationFactory;
  readonly area?: AreaAllocatorFactory;
  /** Possible CPUs (default 4); with `possibleCpus`, ignored (nr_cpu_ids is its last + 1). */
  readonly cpus?: number;
  /** `cpu_possible_mask` with holes, ascending (`[0, 1, 2, 3, 8, 9, 10, 11]`); default 0 .. cpus-1. */
  readonly possibleCpus?: readonly number[];
  /** NUMA nodes; CPUs are spread over them in contiguous blocks (default 1). */
  readonly nodes?: number;
  /** Group CPUs by node in the first chunk (embed with a distance function, like x86). */
  readonly numaGroups?: boolean;
  readonly memPerNode?: number;
  readonly bits?: 32 | 64;
  readonly pageShift?: number;
  readonly staticSize?: number;
  readonly reservedSize?: number;
  readonly dynSize?: number;
  readonly atomSize?: number;
  readonly era?: PcpuEra;
  /** Core options; debugChecks defaults to true here. */
  readonly options?: PcpuOptions;
  readonly observer?: PercpuInit["observer"];
  readonly trace?: PercpuInit["trace"];
  readonly seed?: number;
  /** The machine's copy-on-write page frames (MachineConfig.copyOnWrite; default true). */
  readonly copyOnWrite?: boolean;
}

export interface TestKernel {
  readonly machine: Machine;
  readonly pcpu: Percpu;
  readonly arch: GenericPercpuArch;
  /** CPU -> node. */
  readonly cpuToNode: readonly number[];
}

const MiB = 1 << 20;

/** A fill pattern for the static template so copies can be recognised. */
export function staticTemplateByte(i: number): number {
  return (i * 7 + 3) & 0xff;
}

/** Boot a test kernel; throws on a setup failure. */
export function bootTestKernel(o: TestKernelOptions): TestKernel {
  const possibleCpus = o.possibleCpus;
  const cpus = possibleCpus !== undefined ? possibleCpus[possibleCpus.length - 1]! + 1 : (o.cpus ?? 4);
  const nodes = o.nodes ?? 1;
  const bits = o.bits ?? 64;
  const pageShift = o.pageShift ?? 12;
  const memPerNode = o.memPerNode ?? (bits === 32 ? 64 * MiB : 256 * MiB);
  const cpuToNode: number[] = [];
  for (let cpu = 0; cpu < cpus; cpu++) cpuToNode.push(Math.min(nodes - 1, Math.floor((cpu * nodes) / cpus)));

  const config: MachineConfig =
    bits === 64
      ? {
          pageShift,
          bits,
          vaBits: 48,
          nodes: Array.from({ length: nodes }, (_, n) => ({ start: n * memPerNode, size: memPerNode })),
          pageOffset: 0x1000_0000_0000,
          vmallocStart: 0x4000_0000_0000,
          vmallocEnd: 0x6000_0000_0000,
          nrCpus: cpus,
          ...(possibleCpus !== undefined ? { possibleCpus } : {}),
          cpuToNode,
          seed: o.seed ?? 1,
          copyOnWrite: o.copyOnWrite ?? true,
        }
      : {
          pageShift,
          bits,
          vaBits: 32,
          nodes: Array.from({ length: nodes }, (_, n) => ({ start: n * memPerNode, size: memPerNode })),
          pageOffset: 0xc000_0000,
          directMapSize: Math.min(nodes * memPerNode, 0x3000_0000),
          vmallocStart: 0xf000_0000,
          vmallocEnd: 0xff80_0000,
          nrCpus: cpus,
          ...(possibleCpus !== undefined ? { possibleCpus } : {}),
          cpuToNode,
          seed: o.seed ?? 1,
          copyOnWrite: o.copyOnWrite ?? true,
        };
  const machine = new Machine(config);
  const constants = pcpuConstants({ pageShift, bits, nrCpus: Math.max(cpus, 64), era: o.era ?? "v6" });
  const pageSize = 1 << pageShift;

  /* The kernel image's .data..percpu: page aligned, in real memory, patterned. */
  const staticSize = o.staticSize ?? 0x24000;
  const templatePhys = machine.memblock.allocTryNid(
    Math.ceil(staticSize / pageSize) * pageSize,
    pageSize,
    0,
    "vmlinux",
  );
  const perCpuStart = machine.__va(templatePhys);
  const bytes = new Uint8Array(staticSize);
  for (let i = 0; i < staticSize; i++) bytes[i] = staticTemplateByte(i);
  machine.mem.copyIn(perCpuStart, bytes);

  const pcpu = new Percpu({
    machine,
    constants,
    area: o.area ?? createBitmapAllocator({ fixFreeHintQuirk: o.options?.fixFreeHintQuirk ?? false }),
    population: o.population,
    section: { perCpuStart, staticSize, perCpuLoad: perCpuStart },
    observer: o.observer ?? null,
    trace: o.trace ?? null,
    options: { debugChecks: true, ...o.options, era: o.era ?? o.options?.era ?? "v6" },
  });
  const arch = new GenericPercpuArch(pcpu, bits);
  if (o.numaGroups || o.reservedSize !== undefined || o.dynSize !== undefined || o.atomSize !== undefined) {
    const dist = o.numaGroups
      ? (a: number, b: number) => (cpuToNode[a] === cpuToNode[b] ? LOCAL_DISTANCE : REMOTE_DISTANCE)
      : null;
    const rc = pcpuEmbedFirstChunk(
      pcpu,
      o.reservedSize ?? constants.PERCPU_MODULE_RESERVE,
      o.dynSize ?? constants.PERCPU_DYNAMIC_RESERVE,
      o.atomSize ?? pageSize,
      dist,
      o.numaGroups ? (cpu: number) => cpuToNode[cpu]! : null,
      { pageFirstChunkAvailable: false, numa: nodes > 1 },
    );
    if (rc < 0) throw new Error(`test kernel: pcpu_embed_first_chunk failed (${rc})`);
    arch.fillOffsets();
    pcpu.arch = arch;
  } else {
    setupPerCpuAreasGeneric(pcpu, arch, nodes > 1);
  }
  pcpu.enableAsync();
  return { machine, pcpu, arch, cpuToNode };
}
