/*
 * What a workload is: a deterministic driver of a booted kernel that
 * mirrors one real user of percpu memory, sized by ops and scale and
 * seeded. Workloads only use the Kernel API, the way kernel code only uses
 * include/linux/percpu.h.
 */

import { refuse } from "../boundary.js";
import type { Kernel } from "../kernel.js";

export type WorkloadName = "bpf-map" | "modules" | "atomic-burst" | "counters";
export const WORKLOAD_NAMES: readonly WorkloadName[] = ["bpf-map", "modules", "atomic-burst", "counters"];

/** How a workload is run. */
export interface WorkloadOptions {
  /** Operations to perform (each workload defines its unit); default: the workload's. */
  readonly ops?: number;
  /** Multiplies the sizes of the structures (map entries, burst lengths, counters). Default 1. */
  readonly scale?: number;
  /** Seed of the workload's choices. Default: the kernel's seed. */
  readonly seed?: number;
  /** Called now and then with the operations done so far. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Called after every operation (time series). */
  readonly onStep?: (done: number, total: number) => void;
  /**
   * The memory cgroup the workload's task runs in (created if missing;
   * needs `memcg` on). bpf-map charges its maps there; default /bpf-map.
   */
  readonly cgroup?: string;
}

/** What a workload reports beyond the kernel's own counters. */
export interface WorkloadResult {
  readonly workload: WorkloadName;
  readonly ops: number;
  /** Values read back and checked (all passed, or the run threw). */
  readonly checks: number;
  /** Workload-specific numbers (maps created, modules that failed to load, ...). */
  readonly details: Readonly<Record<string, number>>;
}

/** A workload. */
export interface Workload {
  readonly name: WorkloadName;
  readonly description: string;
  readonly defaultOps: number;
  run(kernel: Kernel, opts: WorkloadOptions): WorkloadResult;
}

/** A value read back that is not what the workload wrote: the allocator or the memory model is broken. */
export class WorkloadCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WorkloadCheckError";
  }
}

/** A small seeded generator (mulberry32): deterministic choices, one per workload run. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  /** A float in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
}

/** Resolved ops, scale and seed. */
export function workloadParams(kernel: Kernel, w: { defaultOps: number }, o: WorkloadOptions) {
  if (o === null || typeof o !== "object") refuse("runWorkload", "opts", "an object", o);
  const ops = o.ops === undefined ? w.defaultOps : o.ops;
  const scale = o.scale === undefined ? 1 : o.scale;
  if (typeof ops !== "number" || !Number.isSafeInteger(ops) || ops < 0)
    refuse("runWorkload", "opts.ops", "a non-negative integer", ops);
  if (typeof scale !== "number" || !(scale > 0 && scale <= 1024))
    refuse("runWorkload", "opts.scale", "a number in (0, 1024]", scale);
  if (o.seed !== undefined && (typeof o.seed !== "number" || !Number.isSafeInteger(o.seed)))
    refuse("runWorkload", "opts.seed", "an integer", o.seed);
  if (o.cgroup !== undefined && (typeof o.cgroup !== "string" || !o.cgroup.startsWith("/")))
    refuse("runWorkload", "opts.cgroup", "an absolute cgroup path (/a/b)", o.cgroup);
  if (o.onProgress !== undefined && typeof o.onProgress !== "function")
    refuse("runWorkload", "opts.onProgress", "a function", o.onProgress);
  const rng = new Rng(o.seed === undefined ? kernel.config.seed : o.seed);
  const progress = o.onProgress ?? null;
  const onStep = o.onStep ?? null;
  const every = Math.max(1, Math.floor(ops / 200));
  const tick = (done: number) => {
    if (onStep !== null) onStep(done, ops);
    if (progress !== null && (done % every === 0 || done === ops)) progress(done, ops);
  };
  return { ops, scale, rng, tick };
}
