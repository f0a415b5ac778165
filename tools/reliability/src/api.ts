/*
 * @pcpu/reliability api: the types of a reliability run (no code).
 *
 * A run is a trace: one configuration of the matrix, a seed, and a list of
 * operations. Every part is plain JSON, so a failing run found by fast-check
 * prints as text that `replay()` runs again, step by step, with the same
 * checks:
 *
 *   { "version": 1, "config": {...}, "seed": 7, "ops": [ {"op":"alloc",...}, ... ] }
 *
 * Operations name live allocations by `pick` (an index taken modulo the
 * number of live allocations, in allocation order) and CPUs by `cpu`
 * (modulo the possible CPUs), so any sub-list of a trace is still a valid
 * trace: that is what lets shrinking delete operations freely.
 */

/** Trace format version written and accepted by this package. */
export const TRACE_VERSION = 1;

/** Population backend of a test kernel; `km-fixed` is percpu-km with fixPopulatedOvercount. */
export type TestPopulation = "vm" | "km" | "km-fixed";
export type AreaName = "bitmap" | "area-map";

/**
 * A kernel assembled by `bootTestKernel` (@pcpu/percpu/testing): the
 * generic arch, either population, either area allocator, the generic
 * setup_per_cpu_areas or an embed first chunk grouped by NUMA node.
 */
export interface TestKernelConfig {
  readonly kind: "test";
  readonly population: TestPopulation;
  readonly area: AreaName;
  readonly bits: 32 | 64;
  readonly cpus: number;
  readonly nodes: number;
  /** Embed first chunk with one unit group per node (vm only; km needs a single group). */
  readonly numaGroups: boolean;
  /**
   * Harness self-tests only: a deliberately broken area allocator, so the
   * tests can show that a bug is found, shrunk and replayed.
   * `leak-large-frees` makes pcpu_free_area ignore frees of 0x100 bytes or more.
   */
  readonly sabotage?: "leak-large-frees";
}

/** A kernel assembled by `bootKernel` of @pcpu/kernel: a real arch package and first-chunk allocator. */
export interface AppKernelConfig {
  readonly kind: "kernel";
  readonly arch: "x86_64" | "i386" | "arm" | "sparc32" | "s390";
  readonly population: "vm" | "km";
  /** `percpu_alloc=`. */
  readonly percpuAlloc: "auto" | "embed" | "page";
  readonly allocator: AreaName;
  readonly cpus: number;
  /** NUMA nodes; CPUs are split into contiguous blocks. */
  readonly nodes: number;
  readonly stats: boolean;
}

export type ReliabilityConfig = TestKernelConfig | AppKernelConfig;

/** Execution context an operation runs in. */
export type OpContext = "process" | "softirq" | "irq";
export type OpGfp = "GFP_KERNEL" | "GFP_NOWAIT" | "GFP_ATOMIC";
export type FaultSiteName = "page_alloc" | "vmalloc" | "kmalloc";
export type ThisCpuFn = "read" | "write" | "add" | "sub" | "inc" | "dec" | "xchg" | "cmpxchg";

/** Misuse the kernel (or the model's debug mode) catches. */
export type MisuseKind =
  /** free_percpu of a pointer inside a live allocation, not its start (never allocated). */
  | "free-interior"
  /** free_percpu of a pointer freed before (double free). */
  | "free-freed"
  /** free_percpu of a pointer into the kernel's static percpu area. */
  | "free-static"
  /** free_percpu of a pointer outside every chunk. */
  | "free-wild"
  /** __alloc_percpu with size 0 or above PCPU_MIN_UNIT_SIZE. */
  | "bad-size"
  /** __alloc_percpu with an alignment above PAGE_SIZE or not a power of two. */
  | "bad-align"
  /** __alloc_percpu(GFP_KERNEL) from atomic context. */
  | "sleep-in-atomic"
  /** this_cpu_read through a freed pointer. */
  | "use-after-free";

export type Op =
  | {
      readonly op: "alloc";
      readonly size: number;
      readonly align: number;
      readonly gfp: OpGfp;
      /** Atomic gfp only may run in softirq/irq context. */
      readonly ctx: OpContext;
      readonly cpu: number;
    }
  | { readonly op: "alloc-reserved"; readonly size: number; readonly align: number; readonly cpu: number }
  | { readonly op: "free"; readonly pick: number; readonly ctx: OpContext; readonly cpu: number }
  | {
      readonly op: "this-cpu";
      readonly pick: number;
      readonly cpu: number;
      readonly fn: ThisCpuFn;
      readonly width: 1 | 2 | 4 | 8;
      /** Element index inside the allocation (taken modulo the elements that fit). */
      readonly at: number;
      readonly value: number;
    }
  /** Overwrite one CPU's whole copy through per_cpu_ptr with bytes derived from `seed`. */
  | { readonly op: "write"; readonly pick: number; readonly cpu: number; readonly seed: number }
  /** Run the pending work (pcpu_balance_workfn); `kick` queues it first, as a later trigger would. */
  | { readonly op: "balance"; readonly kick: boolean }
  /** Arm a fault rule: the `nth` next call at `site` fails, `times` times. */
  | { readonly op: "fault"; readonly site: FaultSiteName; readonly nth: number; readonly times: number }
  | { readonly op: "misuse"; readonly kind: MisuseKind; readonly pick: number; readonly value: number };

/** A replayable run. */
export interface ReliabilityTrace {
  readonly version: typeof TRACE_VERSION;
  readonly config: ReliabilityConfig;
  /** Seed of the machine (fault probabilities, workloads). */
  readonly seed: number;
  readonly ops: readonly Op[];
}

/** What one run did (summed over runs for the README figures). */
export interface RunReport {
  ops: number;
  allocs: number;
  atomicAllocs: number;
  atomicFailures: number;
  reservedAllocs: number;
  /** Reserved allocations that failed because no aligned free run of the reserved chunk was large enough. */
  reservedFailures: number;
  /** Reserved allocations the bitmap allocator's hint check refused although an aligned run existed (faithful). */
  reservedFitRefusals: number;
  /** Sleeping allocations that failed because a km chunk's block is above MAX_PAGE_ORDER (no chunk can be created). */
  chunkOrderFailures: number;
  frees: number;
  thisCpuOps: number;
  writes: number;
  balanceRuns: number;
  faultsArmed: number;
  /** Failures the machine's fault injector actually forced. */
  faultsInjected: number;
  /** Allocations that failed because of an injected fault (everything else intact afterwards). */
  failedByFault: number;
  misuseCaught: number;
  /** Full state checks run (one after every step and in the final phase). */
  checks: number;
  peakLive: number;
  peakChunks: number;
  violations: number;
}
