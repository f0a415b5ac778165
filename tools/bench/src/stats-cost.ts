/*
 * What CONFIG_PERCPU_STATS and the percpu tracepoints cost the allocator:
 * the same seeded churn of percpu allocations and frees on kernels that
 * differ only in what the core's observer and trace hooks hold.
 *
 *   stats off           observer null, trace null (the baseline)
 *   stats off (again)   a second identical kernel: the noise floor
 *   stats on            a PcpuStats observer (pcpu_stats_area_alloc/dealloc,
 *                       pcpu_stats_chunk_alloc/dealloc)
 *   stats + trace       PcpuStats and a PcpuTraceRecorder (the five percpu
 *                       events, each built and recorded with its framing)
 *
 * All kernels live in one process and run the same seeded operations, block
 * by block, in an order that rotates each round; a forced GC precedes every
 * block. Each block is timed twice: the process's CPU time (user + system,
 * all threads: what the work costs, little moved by other processes on a
 * shared host) and wall time. A kernel's ratio is the median over the rounds
 * of its block time divided by the stats-off kernel's block time of the same
 * round (both ran the same operations). A kernel with stats off pays one
 * null check per hook site (the kernel's empty inline stubs); the second
 * stats-off kernel's ratio shows what "nothing measurable" means on the host.
 */

import os from "node:os";
import v8 from "node:v8";
import vm from "node:vm";
import { allocPercpu, freePercpu, type PcpuObserver, type PcpuPtr, type PcpuTraceSink } from "@pcpu/percpu";
import { bootTestKernel, Rng, type TestKernel } from "@pcpu/percpu/testing";
import { PcpuStats, PcpuTraceRecorder } from "@pcpu/percpu-stats";
import { createPercpuVm } from "@pcpu/percpu-vm";
import type { Benchmark } from "./bench.js";
import { median } from "./stats.js";

/** How much to run: `quick` is the CI-sized configuration. */
export interface StatsCostOptions {
  readonly quick: boolean;
  /** Timed rounds (one block per kernel each); default 25, 3 with quick. */
  readonly runs?: number;
  readonly progress?: (line: string) => void;
}

/** The kernels compared, in report order (the first is the baseline). */
export const STATS_COST_CONFIGS = ["stats off", "stats off (again)", "stats on", "stats + trace"] as const;
export type StatsCostConfig = (typeof STATS_COST_CONFIGS)[number];

/** One kernel's result. */
export interface StatsCostRow {
  readonly config: StatsCostConfig;
  /** Median over the rounds of process CPU time per allocation or free (balance work included). */
  readonly cpuNsPerOp: number;
  /** Median over the rounds of the per-round ratio of CPU time to the stats-off kernel's. */
  readonly cpuRatio: number;
  /** The same in wall time. */
  readonly wallNsPerOp: number;
  readonly wallRatio: number;
  /** Every round's CPU and wall ns/op, in run order. */
  readonly cpuSamples: readonly number[];
  readonly wallSamples: readonly number[];
  /** Allocations that succeeded over the whole run (equal for every kernel: the same work). */
  readonly allocs: number;
  /** Trace events recorded per timed block (stats + trace only; 0 otherwise). */
  readonly eventsPerBlock: number;
}

/** The whole report as `--json` emits it. */
export interface StatsCostJson {
  readonly kernel: string;
  readonly cpus: number;
  readonly liveObjects: number;
  readonly opsPerBlock: number;
  readonly warmupRounds: number;
  readonly runs: number;
  /** os.loadavg() (1, 5, 15 minutes) before and after the measurement. */
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
  readonly rows: readonly StatsCostRow[];
}

/** Allocation sizes of the churn (mostly small counters, as percpu users allocate). */
const SIZES = [4, 8, 8, 16, 32, 64, 128, 0x400] as const;
const CPUS = 4;
const SEED = 0x57a75;

/** A forced full GC between blocks (never inside a timed block). */
function gcFunction(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === "function") return g;
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

/** One kernel under test and its churn state. */
class ChurnKernel {
  readonly config: StatsCostConfig;
  readonly k: TestKernel;
  readonly recorder: PcpuTraceRecorder | null;
  readonly rng: Rng;
  readonly live: PcpuPtr[];
  allocs: number;
  /** CPU and wall ns/op of the last block. */
  cpuNs: number;
  wallNs: number;

  constructor(config: StatsCostConfig, liveObjects: number) {
    this.config = config;
    const stats: PcpuObserver | null =
      config === "stats on" || config === "stats + trace" ? new PcpuStats() : null;
    let t = 0;
    this.recorder =
      config === "stats + trace"
        ? new PcpuTraceRecorder(() => ({ task: "bench", pid: 100, timestampUs: t++ }))
        : null;
    const trace: PcpuTraceSink | null = this.recorder;
    this.k = bootTestKernel({
      population: createPercpuVm(),
      cpus: CPUS,
      seed: SEED,
      observer: stats,
      trace,
      options: { debugChecks: false, checkFree: false },
    });
    this.rng = new Rng(SEED);
    this.live = [];
    this.allocs = 0;
    this.cpuNs = 0;
    this.wallNs = 0;
    /* The steady state the blocks churn around: liveObjects allocations. */
    while (this.live.length < liveObjects) this.alloc();
    this.drain();
  }

  alloc(): void {
    const size = this.rng.pick(SIZES);
    const p = allocPercpu(this.k.pcpu, size, Math.min(size, 8));
    if (p !== null) {
      this.live.push(p);
      this.allocs++;
    }
  }

  drain(): void {
    const wq = this.k.machine.wq;
    for (let i = 0; i < 8 && wq.pendingCount() > 0; i++) wq.runPending();
  }

  /**
   * `ops` operations: free a seeded random live allocation, allocate one,
   * and so on; the balance work runs every 64 operations, as the kernel's
   * workqueue would. Sets cpuNs and wallNs.
   */
  block(ops: number): void {
    const live = this.live;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let op = 0; op < ops; op++) {
      if ((op & 1) === 0 && live.length > 0) {
        const i = this.rng.int(live.length);
        freePercpu(this.k.pcpu, live[i]!);
        live[i] = live[live.length - 1]!;
        live.pop();
      } else {
        this.alloc();
      }
      if ((op & 63) === 63) this.drain();
    }
    this.wallNs = ((performance.now() - t0) * 1e6) / ops;
    const c = process.cpuUsage(c0);
    this.cpuNs = ((c.user + c.system) * 1e3) / ops;
  }
}

/**
 * Runs the churn on every kernel of STATS_COST_CONFIGS.
 * @returns the report rows and the run parameters.
 */
export function runStatsCost(opts: StatsCostOptions): StatsCostJson {
  const runs = opts.runs ?? (opts.quick ? 3 : 25);
  const warmupRounds = opts.quick ? 1 : 3;
  const ops = opts.quick ? 2000 : 20000;
  const liveObjects = opts.quick ? 512 : 4096;
  const loadBefore = os.loadavg();
  const gc = gcFunction();

  const kernels = STATS_COST_CONFIGS.map((c) => new ChurnKernel(c, liveObjects));
  const cpu: number[][] = kernels.map(() => []);
  const wall: number[][] = kernels.map(() => []);
  let events = 0;

  for (let r = -warmupRounds; r < runs; r++) {
    if (r >= 0)
      opts.progress?.(
        `stats-cost: round ${r + 1}/${runs}, ${ops} operations on each of ${kernels.length} kernels`,
      );
    /* Rotate the order so no kernel always runs first (or last). */
    for (let j = 0; j < kernels.length; j++) {
      const i = (j + kernels.length + r) % kernels.length;
      const k = kernels[i]!;
      gc();
      k.block(ops);
      if (k.recorder !== null) {
        events = k.recorder.written;
        k.recorder.clear();
      }
      if (r < 0) continue;
      cpu[i]!.push(k.cpuNs);
      wall[i]!.push(k.wallNs);
    }
  }

  /* Median of per-round ratios: both sides of a ratio ran the same operations. */
  const pairedRatio = (xs: readonly number[], base: readonly number[]) =>
    median(xs.map((x, r) => x / base[r]!));
  const rows: StatsCostRow[] = kernels.map((k, i) => ({
    config: k.config,
    cpuNsPerOp: median(cpu[i]!),
    cpuRatio: pairedRatio(cpu[i]!, cpu[0]!),
    wallNsPerOp: median(wall[i]!),
    wallRatio: pairedRatio(wall[i]!, wall[0]!),
    cpuSamples: cpu[i]!,
    wallSamples: wall[i]!,
    allocs: k.allocs,
    eventsPerBlock: k.recorder !== null ? events : 0,
  }));
  return {
    kernel: `generic test kernel, ${CPUS} CPUs, 4 KiB pages, percpu-vm, bitmap allocator, debugChecks and checkFree off`,
    cpus: CPUS,
    liveObjects,
    opsPerBlock: ops,
    warmupRounds,
    runs,
    loadBefore,
    loadAfter: os.loadavg(),
    rows,
  };
}

/** The report as the runner prints it. */
export function statsCostReport(opts: StatsCostOptions): { text: string; json: StatsCostJson } {
  const j = runStatsCost(opts);
  const load = (l: readonly number[]) => l.map((x) => x.toFixed(2)).join(" ");
  const lines = [
    `stats-cost: ${j.opsPerBlock} alloc/free operations per block around ${j.liveObjects} live objects, ` +
      `${j.warmupRounds} warm-up + ${j.runs} timed rounds, medians`,
    `  kernel: ${j.kernel}`,
    `  load average before ${load(j.loadBefore)}, after ${load(j.loadAfter)}`,
    `  ${"kernel".padEnd(18)} ${"cpu ns/op".padStart(10)} ${"ratio".padStart(6)}   ${"wall ns/op".padStart(10)} ${"ratio".padStart(6)}`,
  ];
  for (const r of j.rows)
    lines.push(
      `  ${r.config.padEnd(18)} ${r.cpuNsPerOp.toFixed(1).padStart(10)} ${r.cpuRatio.toFixed(3).padStart(6)}   ` +
        `${r.wallNsPerOp.toFixed(1).padStart(10)} ${r.wallRatio.toFixed(3).padStart(6)}`,
    );
  return { text: lines.join("\n"), json: j };
}

/** The registered benchmark. */
export const statsCostBenchmark: Benchmark = {
  name: "stats-cost",
  description:
    "CONFIG_PERCPU_STATS and percpu tracepoints: the same churn with stats off, on, and on with the trace recorder",
  run: (ctx) => statsCostReport({ quick: ctx.quick, runs: ctx.runs, progress: ctx.progress }),
};
