/*
 * The July 2017 evaluation that made the bitmap allocator replace the area
 * map (Dennis Zhou, "percpu: replace area map allocator with bitmap",
 * merged for 4.14): allocate 2^20 objects of one size, then free them all
 * in order, alternating (every other object, then the rest) and in reverse;
 * report the worst case of the three for each phase. Both area allocators
 * run the exact workload through the real allocation path (allocPercpu ->
 * pcpu_alloc: slot walk, area allocator, chunk creation, population, zeroing
 * in every unit; free_percpu -> pcpu_free_area) on the same kernel, in one
 * process, next to the lower-bound baseline of baseline.ts.
 *
 * Each (allocator, size, free order, run) boots a fresh kernel so every alloc
 * phase starts from the same state and creates its own chunks, as the
 * kernel's test module did after the balance work reaped the last run's
 * chunks. Per run the worst alloc and the worst free phase over the three
 * orders are kept; the reported figure is the median over runs. The
 * measured loops keep pointers in a Float64Array and allocate nothing.
 */

import { allocPercpu, freePercpu, type PcpuPtr } from "@pcpu/percpu";
import { runBaselineOnce } from "./baseline.js";
import type { Benchmark } from "./bench.js";
import { type MetadataStats, measureMetadata } from "./metadata.js";
import { collectGarbage, cpuMs, median, ms, nsPerOp, ratio } from "./stats.js";
import {
  ALLOCATORS,
  type AllocatorName,
  type BenchKernelOptions,
  bootBenchKernel,
  X86_64_KERNEL_NOTE,
} from "./x86-64-kernel.js";

/** The three free orders of the evaluation. */
export type FreeOrder = "in-order" | "alternating" | "reverse";
export const FREE_ORDERS: readonly FreeOrder[] = ["in-order", "alternating", "reverse"];

/** Object sizes of the published table (bytes). */
export const EVAL_2017_SIZES: readonly number[] = [4, 16, 64, 256, 1024];

/** One row of the published worst-case table (ms, kernel C, 2^20 objects). */
export interface PublishedRow {
  readonly size: number;
  readonly areaMapAlloc: number;
  readonly areaMapFree: number;
  readonly bitmapAlloc: number;
  readonly bitmapFree: number;
}

/** The worst-case numbers of the 2017 commit message. */
export const PUBLISHED_2017: readonly PublishedRow[] = [
  { size: 4, areaMapAlloc: 310, areaMapFree: 4770, bitmapAlloc: 490, bitmapFree: 70 },
  { size: 16, areaMapAlloc: 557, areaMapFree: 1325, bitmapAlloc: 515, bitmapFree: 75 },
  { size: 64, areaMapAlloc: 436, areaMapFree: 273, bitmapAlloc: 610, bitmapFree: 80 },
  { size: 256, areaMapAlloc: 776, areaMapFree: 131, bitmapAlloc: 950, bitmapFree: 100 },
  { size: 1024, areaMapAlloc: 3280, areaMapFree: 122, bitmapAlloc: 3520, bitmapFree: 200 },
];

export interface Eval2017Options {
  /** Objects per run (2^20 in the paper, 2^18 for --quick). */
  readonly objects: number;
  /** Object sizes in bytes. */
  readonly sizes?: readonly number[];
  /** Measured runs per (allocator, size, order); the median of the per-run worst case is reported. */
  readonly runs?: number;
  /** Objects of the untimed warm-up run per allocator and size (0: none). */
  readonly warmupObjects?: number;
  /** Kernel shape (CPUs, nodes, memory); defaults to the x86_64 kernel. */
  readonly kernel?: BenchKernelOptions;
  /** Progress lines (stderr in the CLI); null for silence. */
  readonly progress?: ((line: string) => void) | null;
}

/** The two phases of one run of one free order. */
export interface PhaseTimes {
  /** Wall time (performance.now). */
  readonly allocMs: number;
  readonly freeMs: number;
  /** Process CPU time (process.cpuUsage: user + system). */
  readonly allocCpuMs: number;
  readonly freeCpuMs: number;
}

/** What one (allocator, size, order) run did besides taking time. */
export interface RunOutcome extends PhaseTimes {
  /** Every dynamic chunk fully free and the first chunk back to its boot free size after the free phase. */
  readonly freedAll: boolean;
  /** Dynamic chunks created by the alloc phase. */
  readonly chunks: number;
  /** Metadata of the dynamic chunks when every object is live. */
  readonly metadataFull: MetadataStats;
  /** Metadata of the same chunks after every object was freed. */
  readonly metadataEmpty: MetadataStats;
}

/** Results of one allocator at one size. */
export interface AllocatorSizeResult {
  readonly allocator: AllocatorName;
  readonly size: number;
  /** Median over runs of the worst alloc phase of the three orders. */
  readonly allocMs: number;
  /** Median over runs of the worst free phase of the three orders. */
  readonly freeMs: number;
  /** The same in process CPU time (the worst order by CPU time, median over runs). */
  readonly allocCpuMs: number;
  readonly freeCpuMs: number;
  /** The order whose free phase was the worst in most runs. */
  readonly worstFreeOrder: FreeOrder;
  /** Median per order. */
  readonly byOrder: Readonly<Record<FreeOrder, PhaseTimes>>;
  /** Per-run worst cases (ms). */
  readonly runsAllocMs: readonly number[];
  readonly runsFreeMs: readonly number[];
  /** Every run of every order freed everything. */
  readonly freedAll: boolean;
  readonly chunks: number;
  readonly metadataFull: MetadataStats;
  readonly metadataEmpty: MetadataStats;
}

/** The lower-bound baseline at one size. */
export interface BaselineSizeResult {
  readonly size: number;
  readonly allocMs: number;
  readonly freeMs: number;
  readonly allocCpuMs: number;
  readonly freeCpuMs: number;
  readonly chunks: number;
}

/** One target of the issue, checked on this run's numbers. */
export interface TargetCheck {
  readonly name: string;
  readonly met: boolean;
  readonly detail: string;
}

export interface Eval2017Result {
  readonly objects: number;
  readonly sizes: readonly number[];
  readonly runs: number;
  readonly cpus: number;
  readonly kernel: string;
  readonly results: readonly AllocatorSizeResult[];
  readonly baseline: readonly BaselineSizeResult[];
  readonly targets: readonly TargetCheck[];
}

/** The alignment an object of `size` bytes gets: `__alignof__` of a struct of longs (at most 8). */
export function objectAlign(size: number): number {
  return Math.min(size, 8);
}

/**
 * Free `n` pointers of `ptrs` in `order`.
 * @context process context (free_percpu takes only pcpu_lock).
 */
function freeAll(
  k: ReturnType<typeof bootBenchKernel>,
  ptrs: Float64Array,
  n: number,
  order: FreeOrder,
): void {
  const pcpu = k.pcpu;
  if (order === "in-order") {
    for (let i = 0; i < n; i++) freePercpu(pcpu, ptrs[i] as PcpuPtr);
  } else if (order === "reverse") {
    for (let i = n - 1; i >= 0; i--) freePercpu(pcpu, ptrs[i] as PcpuPtr);
  } else {
    for (let i = 0; i < n; i += 2) freePercpu(pcpu, ptrs[i] as PcpuPtr);
    for (let i = 1; i < n; i += 2) freePercpu(pcpu, ptrs[i] as PcpuPtr);
  }
}

/**
 * One run: boot, allocate `objects` objects of `size` bytes, free them in
 * `order`, check that everything was freed.
 * @param ptrs scratch of at least `objects` entries.
 * @returns the phase times and what the run left behind.
 */
export function runOnce(
  allocator: AllocatorName,
  objects: number,
  size: number,
  order: FreeOrder,
  ptrs: Float64Array,
  kopts?: BenchKernelOptions,
): RunOutcome {
  const k = bootBenchKernel(allocator, kopts);
  const pcpu = k.pcpu;
  const bootFirstFree = pcpu.firstChunk.freeBytes;
  const align = objectAlign(size);

  const c0 = cpuMs();
  const t0 = performance.now();
  for (let i = 0; i < objects; i++) {
    const p = allocPercpu(pcpu, size, align);
    if (p === null) throw new Error(`eval-2017: ${allocator} allocation ${i} of ${size} bytes failed`);
    ptrs[i] = p;
  }
  const t1 = performance.now();
  const c1 = cpuMs();
  const metadataFull = measureMetadata(pcpu);
  const c2 = cpuMs();
  const t2 = performance.now();
  freeAll(k, ptrs, objects, order);
  const t3 = performance.now();
  const c3 = cpuMs();

  let freedAll = pcpu.firstChunk.freeBytes === bootFirstFree;
  for (const chunk of pcpu.allChunks()) {
    if (chunk !== pcpu.firstChunk && chunk !== pcpu.reservedChunk && chunk.freeBytes !== pcpu.unitSize)
      freedAll = false;
  }
  return {
    allocMs: t1 - t0,
    freeMs: t3 - t2,
    allocCpuMs: c1 - c0,
    freeCpuMs: c3 - c2,
    freedAll,
    chunks: metadataFull.chunks,
    metadataFull,
    metadataEmpty: measureMetadata(pcpu),
  };
}

function mostFrequent(xs: readonly FreeOrder[]): FreeOrder {
  let best: FreeOrder = xs[0] ?? "in-order";
  let bestN = 0;
  for (const o of FREE_ORDERS) {
    const n = xs.filter((x) => x === o).length;
    if (n > bestN) {
      best = o;
      bestN = n;
    }
  }
  return best;
}

/**
 * Run the whole evaluation: for every run, size and free order, the bitmap
 * allocator, the area map and the baseline one after the other (interleaved
 * so load changes hit all three alike).
 * @returns the results and the targets checked on them.
 */
export function runEval2017(o: Eval2017Options): Eval2017Result {
  const sizes = o.sizes ?? EVAL_2017_SIZES;
  const runs = o.runs ?? 3;
  const progress = o.progress ?? null;
  const ptrs = new Float64Array(Math.max(o.objects, o.warmupObjects ?? 0));
  const cpus = o.kernel?.cpus ?? 8;

  if ((o.warmupObjects ?? 0) > 0) {
    for (const size of sizes) {
      for (const a of ALLOCATORS)
        for (const order of FREE_ORDERS) runOnce(a, o.warmupObjects!, size, order, ptrs, o.kernel);
      runBaselineOnce(o.warmupObjects!, size, objectAlign(size), ptrs, o.kernel);
    }
    collectGarbage();
  }

  type Acc = {
    alloc: number[];
    free: number[];
    allocCpu: number[];
    freeCpu: number[];
    worstOrder: FreeOrder[];
    byOrder: Record<FreeOrder, { a: number[]; f: number[]; ac: number[]; fc: number[] }>;
    freedAll: boolean;
    last: RunOutcome | null;
  };
  const acc = new Map<string, Acc>();
  const key = (a: AllocatorName, s: number) => `${a}/${s}`;
  for (const a of ALLOCATORS)
    for (const s of sizes)
      acc.set(key(a, s), {
        alloc: [],
        free: [],
        allocCpu: [],
        freeCpu: [],
        worstOrder: [],
        byOrder: {
          "in-order": { a: [], f: [], ac: [], fc: [] },
          alternating: { a: [], f: [], ac: [], fc: [] },
          reverse: { a: [], f: [], ac: [], fc: [] },
        },
        freedAll: true,
        last: null,
      });
  const base = new Map<number, { a: number[]; f: number[]; ac: number[]; fc: number[]; chunks: number }>();
  for (const s of sizes) base.set(s, { a: [], f: [], ac: [], fc: [], chunks: 0 });

  for (let r = 0; r < runs; r++) {
    for (const size of sizes) {
      const worst = new Map<
        AllocatorName,
        { a: number; f: number; ac: number; fc: number; order: FreeOrder }
      >();
      for (const order of FREE_ORDERS) {
        for (const a of ALLOCATORS) {
          const out = runOnce(a, o.objects, size, order, ptrs, o.kernel);
          collectGarbage();
          const ac = acc.get(key(a, size))!;
          ac.byOrder[order].a.push(out.allocMs);
          ac.byOrder[order].f.push(out.freeMs);
          ac.byOrder[order].ac.push(out.allocCpuMs);
          ac.byOrder[order].fc.push(out.freeCpuMs);
          ac.freedAll &&= out.freedAll;
          ac.last = out;
          const w = worst.get(a) ?? { a: 0, f: -1, ac: 0, fc: 0, order };
          if (out.allocMs > w.a) w.a = out.allocMs;
          if (out.allocCpuMs > w.ac) w.ac = out.allocCpuMs;
          if (out.freeCpuMs > w.fc) w.fc = out.freeCpuMs;
          if (out.freeMs > w.f) {
            w.f = out.freeMs;
            w.order = order;
          }
          worst.set(a, w);
          progress?.(
            `run ${r + 1}/${runs} ${String(size).padStart(4)} B ${a.padEnd(8)} ${order.padEnd(11)} alloc ${ms(out.allocMs, 7, 1)} ms (cpu ${ms(out.allocCpuMs, 7, 1)})  free ${ms(out.freeMs, 8, 1)} ms (cpu ${ms(out.freeCpuMs, 8, 1)})`,
          );
        }
      }
      for (const a of ALLOCATORS) {
        const w = worst.get(a)!;
        const ac = acc.get(key(a, size))!;
        ac.alloc.push(w.a);
        ac.free.push(w.f);
        ac.allocCpu.push(w.ac);
        ac.freeCpu.push(w.fc);
        ac.worstOrder.push(w.order);
      }
      const b = runBaselineOnce(o.objects, size, objectAlign(size), ptrs, o.kernel);
      collectGarbage();
      const bs = base.get(size)!;
      bs.a.push(b.allocMs);
      bs.f.push(b.freeMs);
      bs.ac.push(b.allocCpuMs);
      bs.fc.push(b.freeCpuMs);
      bs.chunks = b.chunks;
      progress?.(
        `run ${r + 1}/${runs} ${String(size).padStart(4)} B baseline alloc ${ms(b.allocMs, 7, 1)} ms  free ${ms(b.freeMs, 8, 1)} ms`,
      );
    }
  }

  const results: AllocatorSizeResult[] = [];
  for (const a of ALLOCATORS) {
    for (const size of sizes) {
      const ac = acc.get(key(a, size))!;
      const last = ac.last!;
      const byOrder = {} as Record<FreeOrder, PhaseTimes>;
      for (const order of FREE_ORDERS)
        byOrder[order] = {
          allocMs: median(ac.byOrder[order].a),
          freeMs: median(ac.byOrder[order].f),
          allocCpuMs: median(ac.byOrder[order].ac),
          freeCpuMs: median(ac.byOrder[order].fc),
        };
      results.push({
        allocator: a,
        size,
        allocMs: median(ac.alloc),
        freeMs: median(ac.free),
        allocCpuMs: median(ac.allocCpu),
        freeCpuMs: median(ac.freeCpu),
        worstFreeOrder: mostFrequent(ac.worstOrder),
        byOrder,
        runsAllocMs: ac.alloc,
        runsFreeMs: ac.free,
        freedAll: ac.freedAll,
        chunks: last.chunks,
        metadataFull: last.metadataFull,
        metadataEmpty: last.metadataEmpty,
      });
    }
  }
  const baseline: BaselineSizeResult[] = sizes.map((size) => {
    const b = base.get(size)!;
    return {
      size,
      allocMs: median(b.a),
      freeMs: median(b.f),
      allocCpuMs: median(b.ac),
      freeCpuMs: median(b.fc),
      chunks: b.chunks,
    };
  });
  return {
    objects: o.objects,
    sizes,
    runs,
    cpus,
    kernel: X86_64_KERNEL_NOTE,
    results,
    baseline,
    targets: checkTargets(results, baseline),
  };
}

/** The result of `allocator` at `size`. */
export function resultOf(
  results: readonly AllocatorSizeResult[],
  allocator: AllocatorName,
  size: number,
): AllocatorSizeResult {
  const r = results.find((x) => x.allocator === allocator && x.size === size);
  if (r === undefined) throw new Error(`eval-2017: no result for ${allocator} at ${size} B`);
  return r;
}

/** Targets (ratios of the same run). */
export const FREE_SPEEDUP_TARGET_4B = 50;
export const BASELINE_RATIO_TARGET = 3;

/**
 * Check the issue's targets: bitmap free at least 50x faster than the area
 * map at 4 B and faster at every size; bitmap alloc no slower than the area
 * map at any size; bitmap alloc+free within 3x of the baseline at every size.
 * @returns one entry per target, with the numbers that decided it.
 */
export function checkTargets(
  results: readonly AllocatorSizeResult[],
  baseline: readonly BaselineSizeResult[],
): TargetCheck[] {
  const sizes = baseline.map((b) => b.size);
  const out: TargetCheck[] = [];
  if (sizes.includes(4)) {
    const bm = resultOf(results, "bitmap", 4);
    const am = resultOf(results, "area-map", 4);
    const r = am.freeMs / bm.freeMs;
    out.push({
      name: `bitmap free >= ${FREE_SPEEDUP_TARGET_4B}x faster than area-map free at 4 B`,
      met: r >= FREE_SPEEDUP_TARGET_4B,
      detail: `${ratio(r)} (area map ${ms(am.freeMs)} ms, bitmap ${ms(bm.freeMs, 0, 1)} ms; CPU time ${ratio(am.freeCpuMs / bm.freeCpuMs)}; published 68x)`,
    });
  }
  const slowerFree = sizes.filter(
    (s) => resultOf(results, "bitmap", s).freeMs >= resultOf(results, "area-map", s).freeMs,
  );
  out.push({
    name: "bitmap free faster than area-map free at every size",
    met: slowerFree.length === 0,
    detail:
      sizes
        .map(
          (s) =>
            `${s} B ${ratio(resultOf(results, "area-map", s).freeMs / resultOf(results, "bitmap", s).freeMs)}`,
        )
        .join(", ") + (slowerFree.length === 0 ? "" : `; not faster at ${slowerFree.join(", ")} B`),
  });
  const slowerAlloc = sizes.filter(
    (s) => resultOf(results, "bitmap", s).allocMs > resultOf(results, "area-map", s).allocMs,
  );
  out.push({
    name: "bitmap alloc no slower than area-map alloc at any size",
    met: slowerAlloc.length === 0,
    detail:
      sizes
        .map(
          (s) =>
            `${s} B ${(resultOf(results, "bitmap", s).allocMs / resultOf(results, "area-map", s).allocMs).toFixed(2)}`,
        )
        .join(", ") +
      ` (bitmap/area-map; published 4 B: 1.58)${slowerAlloc.length === 0 ? "" : `; slower at ${slowerAlloc.join(", ")} B`}`,
  });
  const far = sizes.filter((s) => baselineRatio(results, baseline, s) > BASELINE_RATIO_TARGET);
  out.push({
    name: `bitmap alloc+free within ${BASELINE_RATIO_TARGET}x of the lower-bound baseline`,
    met: far.length === 0,
    detail:
      sizes
        .map(
          (s) =>
            `${s} B ${ratio(baselineRatio(results, baseline, s))} (CPU ${ratio(baselineRatio(results, baseline, s, true))})`,
        )
        .join(", ") + (far.length === 0 ? "" : `; over at ${far.join(", ")} B`),
  });
  return out;
}

/** (bitmap alloc + free) / (baseline alloc + free) at `size`, in wall time or (`cpu`) process CPU time. */
export function baselineRatio(
  results: readonly AllocatorSizeResult[],
  baseline: readonly BaselineSizeResult[],
  size: number,
  cpu = false,
): number {
  const bm = resultOf(results, "bitmap", size);
  const b = baseline.find((x) => x.size === size);
  if (b === undefined) return Number.NaN;
  if (cpu) return (bm.allocCpuMs + bm.freeCpuMs) / (b.allocCpuMs + b.freeCpuMs);
  return (bm.allocMs + bm.freeMs) / (b.allocMs + b.freeMs);
}

function log2Label(n: number): string {
  const l = Math.log2(n);
  return Number.isInteger(l) ? `2^${l}` : String(n);
}

/**
 * The report: our table beside the published one, the ratios, the
 * metadata per chunk and the targets.
 * @returns printable text (no trailing newline).
 */
export function formatEval2017(r: Eval2017Result): string {
  const L: string[] = [];
  L.push(
    `2017 evaluation: ${log2Label(r.objects)} objects per run, worst case over in-order/alternating/reverse free, median of ${r.runs} run(s), ms`,
  );
  L.push(`kernel: ${r.kernel}${r.cpus !== 8 ? ` (run with ${r.cpus} CPUs)` : ""}`);
  L.push("");
  L.push(
    "            ---------- this model (TypeScript) ----------   lower bound    ---- published (kernel C, 2^20) ----",
  );
  L.push(
    "  size    area-map alloc    free   bitmap alloc    free    alloc   free    area-map alloc  free  bitmap alloc  free",
  );
  for (const size of r.sizes) {
    const am = resultOf(r.results, "area-map", size);
    const bm = resultOf(r.results, "bitmap", size);
    const b = r.baseline.find((x) => x.size === size)!;
    const p = PUBLISHED_2017.find((x) => x.size === size);
    L.push(
      `${`${size} B`.padStart(6)}  ${ms(am.allocMs, 16)} ${ms(am.freeMs, 7)}  ${ms(bm.allocMs, 13)} ${ms(bm.freeMs, 7)}  ${ms(b.allocMs, 7)} ${ms(b.freeMs, 6)}    ${p ? `${ms(p.areaMapAlloc, 14)} ${ms(p.areaMapFree, 5)} ${ms(p.bitmapAlloc, 13)} ${ms(p.bitmapFree, 5)}` : ""}`,
    );
  }
  L.push("");
  L.push(
    "  process CPU time, ms (ns per operation)   area-map alloc       free        bitmap alloc        free       lower bound alloc",
  );
  const cell = (cpuMsV: number, w: number) =>
    `${ms(cpuMsV, 0)} (${ms(nsPerOp(cpuMsV, r.objects), 0)})`.padStart(w);
  for (const size of r.sizes) {
    const am = resultOf(r.results, "area-map", size);
    const bm = resultOf(r.results, "bitmap", size);
    const b = r.baseline.find((x) => x.size === size)!;
    L.push(
      `${`${size} B`.padStart(6)}${" ".repeat(36)}${cell(am.allocCpuMs, 17)} ${cell(am.freeCpuMs, 14)}  ${cell(bm.allocCpuMs, 17)} ${cell(bm.freeCpuMs, 12)}  ${cell(b.allocCpuMs, 18)}`,
    );
  }
  L.push("");
  L.push("  ratios     free: area-map/bitmap    alloc: bitmap/area-map    bitmap alloc+free / lower bound");
  L.push("  size        ours    published         ours    published        ours");
  for (const size of r.sizes) {
    const am = resultOf(r.results, "area-map", size);
    const bm = resultOf(r.results, "bitmap", size);
    const p = PUBLISHED_2017.find((x) => x.size === size);
    L.push(
      `${`${size} B`.padStart(6)}  ${ratio(am.freeMs / bm.freeMs).padStart(9)} ${(p ? ratio(p.areaMapFree / p.bitmapFree) : "-").padStart(11)}  ${(bm.allocMs / am.allocMs).toFixed(2).padStart(12)} ${(p ? (p.bitmapAlloc / p.areaMapAlloc).toFixed(2) : "-").padStart(11)}  ${ratio(baselineRatio(r.results, r.baseline, size)).padStart(11)}`,
    );
  }
  L.push("");
  L.push("  worst free order (most runs):");
  for (const a of ALLOCATORS) {
    L.push(
      `    ${a.padEnd(8)} ${r.sizes.map((s) => `${s} B ${resultOf(r.results, a, s).worstFreeOrder}`).join(", ")}`,
    );
  }
  L.push("");
  L.push(
    "  metadata per chunk (AreaAllocator.metadataBytes; all objects live -> all freed), chunks created:",
  );
  for (const size of r.sizes) {
    const cells = ALLOCATORS.map((a) => {
      const x = resultOf(r.results, a, size);
      return `${a} ${Math.round(x.metadataFull.meanBytes)} -> ${Math.round(x.metadataEmpty.meanBytes)} B (${x.chunks} chunks)`;
    });
    L.push(`${`${size} B`.padStart(6)}  ${cells.join("   ")}`);
  }
  L.push("");
  const freed = r.results.every((x) => x.freedAll);
  L.push(`  every run freed everything: ${freed ? "yes" : "NO"}`);
  L.push("");
  L.push("  targets:");
  for (const t of r.targets) L.push(`    [${t.met ? "met" : "MISSED"}] ${t.name}: ${t.detail}`);
  return L.join("\n");
}

/** The machine-readable form (`--json`): worst-case ms per allocator and size, and the baseline's. */
export function eval2017Json(r: Eval2017Result): unknown {
  type Cell = {
    allocMs: number;
    freeMs: number;
    allocCpuMs: number;
    freeCpuMs: number;
    allocNsPerOp: number;
    freeNsPerOp: number;
  };
  const per: Record<string, Record<string, Cell>> = {};
  for (const a of ALLOCATORS) {
    per[a] = {};
    for (const s of r.sizes) {
      const x = resultOf(r.results, a, s);
      per[a]![String(s)] = {
        allocMs: x.allocMs,
        freeMs: x.freeMs,
        allocCpuMs: x.allocCpuMs,
        freeCpuMs: x.freeCpuMs,
        allocNsPerOp: nsPerOp(x.allocCpuMs, r.objects),
        freeNsPerOp: nsPerOp(x.freeCpuMs, r.objects),
      };
    }
  }
  per.baseline = {};
  for (const b of r.baseline)
    per.baseline[String(b.size)] = {
      allocMs: b.allocMs,
      freeMs: b.freeMs,
      allocCpuMs: b.allocCpuMs,
      freeCpuMs: b.freeCpuMs,
      allocNsPerOp: nsPerOp(b.allocCpuMs, r.objects),
      freeNsPerOp: nsPerOp(b.freeCpuMs, r.objects),
    };
  return {
    objects: r.objects,
    runs: r.runs,
    cpus: r.cpus,
    kernel: r.kernel,
    worstCaseMs: per,
    details: r.results.map((x) => ({
      allocator: x.allocator,
      size: x.size,
      byOrder: x.byOrder,
      runsAllocMs: x.runsAllocMs,
      runsFreeMs: x.runsFreeMs,
      worstFreeOrder: x.worstFreeOrder,
      freedAll: x.freedAll,
      chunks: x.chunks,
      metadataBytesPerChunk: { full: x.metadataFull.meanBytes, empty: x.metadataEmpty.meanBytes },
    })),
    published: PUBLISHED_2017,
    targets: r.targets,
  };
}

/** Objects per run: 2^20 as published, 2^18 with --quick. */
export const EVAL_2017_OBJECTS = 1 << 20;
export const EVAL_2017_QUICK_OBJECTS = 1 << 18;
/** Runs of --quick (the full evaluation takes 3 unless --runs says otherwise). */
export const EVAL_2017_QUICK_RUNS = 2;

/** The registry entry: `pnpm bench eval-2017 [--quick] [--json] [--runs N]`. */
export const eval2017Benchmark: Benchmark = {
  name: "eval-2017",
  description:
    "the July 2017 area map vs bitmap evaluation (2^20 objects of 4..1024 B, three free orders, worst case) with a lower-bound baseline and metadata per chunk",
  run(ctx) {
    const r = runEval2017({
      objects: ctx.quick ? EVAL_2017_QUICK_OBJECTS : EVAL_2017_OBJECTS,
      /* --quick: two runs, so the whole evaluation stays under a minute on a loaded 2-core host */
      runs: ctx.runs ?? (ctx.quick ? EVAL_2017_QUICK_RUNS : 3),
      warmupObjects: 1 << 14,
      progress: ctx.progress,
    });
    return { text: formatEval2017(r), json: eval2017Json(r) };
  },
};
