/*
 * Booting one configuration of the matrix: a test kernel (the generic arch
 * through @pcpu/percpu/testing) or a full kernel (an arch package through
 * @pcpu/kernel's bootKernel), always with the debug checker on, so this_cpu
 * access through a freed pointer is reported and every public call checks
 * the allocator's invariants.
 *
 * The subject also says how many pages the page allocator holds for a
 * chunk the backend created: percpu-vm backs every populated page of every
 * possible CPU's unit; percpu-km holds one 2^order block for the chunk.
 */

import { bootKernel } from "@pcpu/kernel";
import type { Machine } from "@pcpu/mm";
import {
  type AreaAllocator,
  type AreaAllocatorFactory,
  createAreaMapAllocator,
  createBitmapAllocator,
  type PcpuChunkView,
  type Percpu,
  type PopulationFactory,
} from "@pcpu/percpu";
import { bootTestKernel } from "@pcpu/percpu/testing";
import { createPercpuKm, type PcpuKmBlock, percpuKm } from "@pcpu/percpu-km";
import { percpuVm } from "@pcpu/percpu-vm";
import type { AppKernelConfig, ReliabilityConfig, TestKernelConfig } from "./api.js";

/** A booted kernel under test. */
export interface Subject {
  readonly machine: Machine;
  readonly pcpu: Percpu;
  /** Which backend: decides what a created chunk holds of the page allocator. */
  readonly population: "vm" | "km";
}

/** The cpulist of each of `nodes` nodes over `cpus` CPUs in contiguous blocks (`0-3;4-7`). */
export function nodeCpulists(cpus: number, nodes: number): string {
  const lists: string[] = [];
  for (let n = 0; n < nodes; n++) {
    const lo = Math.floor((n * cpus) / nodes);
    const hi = Math.floor(((n + 1) * cpus) / nodes) - 1;
    lists.push(lo === hi ? `${lo}` : `${lo}-${hi}`);
  }
  return lists.join(";");
}

/**
 * An area allocator that loses frees of 0x100 bytes or more: the planted bug
 * the harness self-tests find, shrink and replay.
 */
function leakLargeFrees(inner: AreaAllocatorFactory): AreaAllocatorFactory {
  return (host) => {
    const a = inner(host);
    const sizes = new Map<PcpuChunkView, Map<number, number>>();
    const broken: AreaAllocator = {
      name: a.name,
      minAllocSize: a.minAllocSize,
      recountsEmptyPages: a.recountsEmptyPages,
      initChunk: (chunk) => a.initChunk(chunk),
      initFirstChunk: (chunk) => a.initFirstChunk(chunk),
      freeChunk: (chunk) => a.freeChunk(chunk),
      chunkSlot: (chunk) => a.chunkSlot(chunk),
      findFit: (chunk, size, align, popOnly) => a.findFit(chunk, size, align, popOnly),
      allocArea(chunk, size, align, start) {
        const off = a.allocArea(chunk, size, align, start);
        if (off >= 0) {
          let m = sizes.get(chunk);
          if (m === undefined) sizes.set(chunk, (m = new Map()));
          m.set(off, size);
        }
        return off;
      },
      freeArea(chunk, off) {
        const size = sizes.get(chunk)?.get(off) ?? 0;
        sizes.get(chunk)?.delete(off);
        return size >= 0x100 ? 0 : a.freeArea(chunk, off);
      },
      pageIsEmpty: (chunk, i) => a.pageIsEmpty(chunk, i),
      firstBit: (chunk) => a.firstBit(chunk),
      contigBytes: (chunk) => a.contigBytes(chunk),
      forEachRun: (chunk, fn) => a.forEachRun(chunk, fn),
      isAllocStart: (chunk, off) => a.isAllocStart(chunk, off),
      metadataBytes: (chunk) => a.metadataBytes(chunk),
      checkChunk: (chunk, live) => a.checkChunk(chunk, live),
    };
    if (a.balance !== undefined) broken.balance = () => a.balance!();
    if (a.prepareChunk !== undefined)
      broken.prepareChunk = (chunk, isAtomic) => a.prepareChunk!(chunk, isAtomic);
    return broken;
  };
}

function testPopulation(c: TestKernelConfig): PopulationFactory {
  if (c.population === "vm") return percpuVm;
  return c.population === "km" ? percpuKm : createPercpuKm({ fixPopulatedOvercount: true });
}

function bootTest(c: TestKernelConfig, seed: number): Subject {
  let area: AreaAllocatorFactory = c.area === "bitmap" ? createBitmapAllocator() : createAreaMapAllocator();
  if (c.sabotage === "leak-large-frees") area = leakLargeFrees(area);
  const { machine, pcpu } = bootTestKernel({
    population: testPopulation(c),
    area,
    cpus: c.cpus,
    nodes: c.nodes,
    numaGroups: c.numaGroups,
    bits: c.bits,
    seed,
    options: { debugChecks: true },
  });
  return { machine, pcpu, population: c.population === "vm" ? "vm" : "km" };
}

function bootApp(c: AppKernelConfig, seed: number): Subject {
  const k = bootKernel({
    arch: c.arch,
    cpus: c.cpus,
    nodes: nodeCpulists(c.cpus, c.nodes),
    population: c.population,
    percpuAlloc: c.percpuAlloc,
    allocator: c.allocator,
    stats: c.stats,
    trace: false,
    debugChecks: true,
    seed,
  });
  return { machine: k.machine, pcpu: k.pcpu, population: c.population };
}

/**
 * Boots a configuration.
 * @throws what the kernel throws for a configuration it refuses (ConfigError, BootError)
 */
export function bootSubject(c: ReliabilityConfig, seed: number): Subject {
  return c.kind === "test" ? bootTest(c, seed) : bootApp(c, seed);
}

/** Pages the page allocator holds for a chunk the backend created. */
export function createdChunkPages(s: Subject, chunk: PcpuChunkView): number {
  if (s.population === "vm") return chunk.nrPopulated * s.pcpu.nrPossibleCpus;
  const block = chunk.data as PcpuKmBlock | null;
  return block === null ? 0 : 2 ** block.order;
}

/** The chunks the backend created (every chunk on a slot list except the first-chunk record). */
export function createdChunks(s: Subject): PcpuChunkView[] {
  return s.pcpu.allChunks().filter((c) => c !== s.pcpu.firstChunk && c !== s.pcpu.reservedChunk);
}

/** Pages held by every backend-created chunk. */
export function heldChunkPages(s: Subject): number {
  let n = 0;
  for (const c of createdChunks(s)) n += createdChunkPages(s, c);
  return n;
}

/** A short name of a configuration, for test titles and reports. */
export function configName(c: ReliabilityConfig): string {
  if (c.kind === "test") {
    return `generic${c.bits} ${c.population} ${c.area} ${c.cpus}cpu/${c.nodes}node${c.numaGroups ? " numa-groups" : ""}${
      c.sabotage ? ` sabotage=${c.sabotage}` : ""
    }`;
  }
  return `${c.arch} ${c.population} ${c.percpuAlloc} ${c.allocator} ${c.cpus}cpu/${c.nodes}node${c.stats ? " stats" : ""}`;
}
