/*
 * How the cost of one alloc+free pair grows, for both area allocators:
 *
 *  - with the number of live objects (2^10 .. 2^20 objects of 4 bytes on
 *    the x86_64 kernel): each pair frees a live object chosen by a seeded
 *    generator and allocates a new one of the same size, which first fit
 *    puts back into the hole. The area map pays a memmove of the map behind
 *    the hole on both sides of the pair (O(areas in the chunk)); the bitmap
 *    allocator pays a block-bounded scan.
 *  - with the number of possible CPUs (1 .. 4096, 2^10 live objects): the
 *    allocation zeroes the object in every unit, so a pair is O(CPUs) for
 *    both allocators.
 *
 * Reported as nanoseconds per pair, the median of several batches.
 */

import { allocPercpu, freePercpu, type PcpuPtr } from "@pcpu/percpu";
import { Rng } from "@pcpu/percpu/testing";
import type { Benchmark } from "./bench.js";
import { collectGarbage, cpuMs, median } from "./stats.js";
import { ALLOCATORS, type AllocatorName, type BenchKernelOptions, bootBenchKernel } from "./x86-64-kernel.js";

export interface ScalingPoint {
  /** Live objects (live scaling) or CPUs (CPU scaling). */
  readonly x: number;
  /** Nanoseconds per alloc+free pair, per allocator. */
  readonly nsPerPair: Readonly<Record<AllocatorName, number>>;
  /** The same in process CPU time (process.cpuUsage), median of the batches. */
  readonly cpuNsPerPair: Readonly<Record<AllocatorName, number>>;
}

export interface ScalingResult {
  readonly objectSize: number;
  readonly pairsPerBatch: number;
  readonly batches: number;
  /** x = live objects, on the 8-CPU kernel. */
  readonly live: readonly ScalingPoint[];
  /** x = possible CPUs, with `cpuLiveObjects` live objects. */
  readonly cpus: readonly ScalingPoint[];
  readonly cpuLiveObjects: number;
}

export interface ScalingOptions {
  /** Live object counts (default 2^10, 2^12, ..., 2^20). */
  readonly live?: readonly number[];
  /** CPU counts (default 1, 4, 16, 64, 256, 1024, 4096). */
  readonly cpus?: readonly number[];
  /** Live objects of the CPU scaling (default 2^10). */
  readonly cpuLiveObjects?: number;
  /** Pairs per timed batch (default 2^12). */
  readonly pairsPerBatch?: number;
  /** Timed batches; the median is reported (default 5). */
  readonly batches?: number;
  readonly objectSize?: number;
  readonly progress?: ((line: string) => void) | null;
}

/**
 * Time alloc+free pairs on one kernel with `live` live objects.
 * @returns the median nanoseconds per pair, in wall time and in process CPU time.
 */
export function timePairs(
  allocator: AllocatorName,
  live: number,
  size: number,
  pairsPerBatch: number,
  batches: number,
  kopts?: BenchKernelOptions,
): { ns: number; cpuNs: number } {
  const k = bootBenchKernel(allocator, kopts);
  const pcpu = k.pcpu;
  const align = Math.min(size, 8);
  const ptrs = new Float64Array(live);
  for (let i = 0; i < live; i++) {
    const p = allocPercpu(pcpu, size, align);
    if (p === null) throw new Error(`scaling: ${allocator} fill allocation ${i} failed`);
    ptrs[i] = p;
  }
  const rnd = new Rng(0x2017 + live);
  const victims = new Int32Array(pairsPerBatch);
  const samples: number[] = [];
  const cpuSamples: number[] = [];
  /* one untimed batch warms the path up */
  for (let b = -1; b < batches; b++) {
    for (let j = 0; j < pairsPerBatch; j++) victims[j] = rnd.int(live);
    const c0 = cpuMs();
    const t0 = performance.now();
    for (let j = 0; j < pairsPerBatch; j++) {
      const v = victims[j]!;
      freePercpu(pcpu, ptrs[v] as PcpuPtr);
      const p = allocPercpu(pcpu, size, align);
      if (p === null) throw new Error(`scaling: ${allocator} pair allocation failed`);
      ptrs[v] = p;
    }
    const t1 = performance.now();
    const c1 = cpuMs();
    if (b >= 0) {
      samples.push(((t1 - t0) * 1e6) / pairsPerBatch);
      cpuSamples.push(((c1 - c0) * 1e6) / pairsPerBatch);
    }
  }
  for (let i = 0; i < live; i++) freePercpu(pcpu, ptrs[i] as PcpuPtr);
  return { ns: median(samples), cpuNs: median(cpuSamples) };
}

/**
 * Both scalings for both allocators.
 * @returns nanoseconds per pair at each point.
 */
export function runScaling(o: ScalingOptions = {}): ScalingResult {
  const size = o.objectSize ?? 4;
  const pairs = o.pairsPerBatch ?? 1 << 12;
  const batches = o.batches ?? 5;
  const liveCounts = o.live ?? [1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20];
  const cpuCounts = o.cpus ?? [1, 4, 16, 64, 256, 1024, 4096];
  const cpuLive = o.cpuLiveObjects ?? 1 << 10;
  const progress = o.progress ?? null;

  const live: ScalingPoint[] = [];
  for (const n of liveCounts) {
    const ns = {} as Record<AllocatorName, number>;
    const cpuNs = {} as Record<AllocatorName, number>;
    for (const a of ALLOCATORS) {
      const t = timePairs(a, n, size, pairs, batches);
      ns[a] = t.ns;
      cpuNs[a] = t.cpuNs;
      collectGarbage();
    }
    progress?.(
      `scaling live=${n}: bitmap ${ns.bitmap.toFixed(0)} ns/pair, area-map ${ns["area-map"].toFixed(0)} ns/pair`,
    );
    live.push({ x: n, nsPerPair: ns, cpuNsPerPair: cpuNs });
  }
  const cpus: ScalingPoint[] = [];
  for (const c of cpuCounts) {
    const ns = {} as Record<AllocatorName, number>;
    const cpuNs = {} as Record<AllocatorName, number>;
    const kopts: BenchKernelOptions = { cpus: c, nodes: c > 1 ? 2 : 1 };
    for (const a of ALLOCATORS) {
      const t = timePairs(a, cpuLive, size, pairs, batches, kopts);
      ns[a] = t.ns;
      cpuNs[a] = t.cpuNs;
      collectGarbage();
    }
    progress?.(
      `scaling cpus=${c}: bitmap ${ns.bitmap.toFixed(0)} ns/pair, area-map ${ns["area-map"].toFixed(0)} ns/pair`,
    );
    cpus.push({ x: c, nsPerPair: ns, cpuNsPerPair: cpuNs });
  }
  return { objectSize: size, pairsPerBatch: pairs, batches, live, cpus, cpuLiveObjects: cpuLive };
}

function fmtNs(x: number): string {
  return x >= 10000 ? `${(x / 1000).toFixed(0)} us` : `${x.toFixed(0)} ns`;
}

/** The scaling tables. @returns printable text. */
export function formatScaling(r: ScalingResult): string {
  const L: string[] = [];
  L.push(
    `scaling: one alloc+free pair (${r.objectSize} B objects, free a random live object then allocate one), median of ${r.batches} batches of ${r.pairsPerBatch} pairs`,
  );
  const row = (label: string, p: ScalingPoint) =>
    `  ${label.padStart(12)}  ${fmtNs(p.nsPerPair.bitmap).padStart(10)}  ${fmtNs(p.nsPerPair["area-map"]).padStart(10)}  ${(p.nsPerPair["area-map"] / p.nsPerPair.bitmap).toFixed(1).padStart(16)}x   ${fmtNs(p.cpuNsPerPair.bitmap).padStart(10)}  ${fmtNs(p.cpuNsPerPair["area-map"]).padStart(10)}`;
  L.push("  wall time per pair                                      process CPU time per pair");
  L.push("  live objects      bitmap    area-map   area-map/bitmap       bitmap    area-map");
  for (const p of r.live) L.push(row(`2^${Math.log2(p.x)}`, p));
  L.push(
    `  CPUs (${r.cpuLiveObjects} live)     bitmap    area-map   area-map/bitmap       bitmap    area-map`,
  );
  for (const p of r.cpus) L.push(row(String(p.x), p));
  return L.join("\n");
}

/** The registry entry: `pnpm bench scaling [--quick] [--json] [--runs N]`. */
export const scalingBenchmark: Benchmark = {
  name: "scaling",
  description:
    "one alloc+free pair of each area allocator vs live objects (2^10..2^20) and vs CPUs (1..4096)",
  run(ctx) {
    const r = runScaling({
      live: ctx.quick ? [1 << 10, 1 << 12, 1 << 14, 1 << 16] : undefined,
      cpus: ctx.quick ? [1, 8, 64, 512] : undefined,
      batches: ctx.runs ?? 5,
      progress: ctx.progress,
    });
    return { text: formatScaling(r), json: r };
  },
};
