/*
 * fast-check arbitraries: configurations of the matrix and operation
 * sequences. Everything shrinks toward the simplest case (1 CPU, 1 node,
 * the first arch, 4-byte allocations at 1-byte alignment, fewer steps), so a
 * failure is reported as the smallest trace that still fails.
 *
 * Configurations the kernel refuses are not generated: they are normalised
 * to the nearest valid one (the rules are the config checks of
 * @pcpu/kernel: NUMA nodes only on x86_64, the page first chunk only on
 * x86, i386 at most 8 CPUs, percpu-km one unit group and no page first
 * chunk).
 */

import fc from "fast-check";
import type {
  AppKernelConfig,
  FaultSiteName,
  MisuseKind,
  Op,
  OpContext,
  OpGfp,
  ReliabilityConfig,
  ReliabilityTrace,
  TestKernelConfig,
  ThisCpuFn,
} from "./api.js";
import { TRACE_VERSION } from "./api.js";

/** Largest CPU count the property runs use (the soak covers 64). */
export const MAX_CPUS = 16;
export const MAX_NODES = 4;

/** Test kernels: generic arch, 32/64-bit, vm or km, bitmap or area map, 1..16 CPUs over 1..4 nodes. */
export function testConfigArb(
  o: { sabotage?: TestKernelConfig["sabotage"] } = {},
): fc.Arbitrary<TestKernelConfig> {
  return fc
    .record({
      population: fc.constantFrom<TestKernelConfig["population"]>("vm", "km-fixed", "km"),
      area: fc.constantFrom<TestKernelConfig["area"]>("bitmap", "area-map"),
      bits: fc.constantFrom<64 | 32>(64, 32),
      cpus: fc.integer({ min: 1, max: MAX_CPUS }),
      nodes: fc.integer({ min: 1, max: MAX_NODES }),
      numaGroups: fc.boolean(),
    })
    .map((r): TestKernelConfig => {
      const nodes = Math.min(r.nodes, r.cpus);
      /* percpu-km (kernel counts or fixPopulatedOvercount): one unit group, no NUMA grouping. */
      const population = r.population;
      const numaGroups = population === "vm" && nodes > 1 && r.numaGroups;
      return {
        kind: "test",
        population,
        area: r.area,
        bits: r.bits,
        cpus: r.cpus,
        nodes,
        numaGroups,
        ...(o.sabotage ? { sabotage: o.sabotage } : {}),
      };
    });
}

const NR_CPUS_LIMIT: Record<AppKernelConfig["arch"], number> = {
  x86_64: MAX_CPUS,
  i386: 8,
  arm: MAX_CPUS,
  sparc32: MAX_CPUS,
  s390: MAX_CPUS,
};

/** Kernels assembled by @pcpu/kernel: every arch package, embed and page first chunks, both allocators and backends. */
export function appConfigArb(): fc.Arbitrary<AppKernelConfig> {
  return fc
    .record({
      arch: fc.constantFrom<AppKernelConfig["arch"]>("x86_64", "i386", "arm", "sparc32", "s390"),
      population: fc.constantFrom<AppKernelConfig["population"]>("vm", "km"),
      percpuAlloc: fc.constantFrom<AppKernelConfig["percpuAlloc"]>("auto", "embed", "page"),
      allocator: fc.constantFrom<AppKernelConfig["allocator"]>("bitmap", "area-map"),
      cpus: fc.integer({ min: 1, max: MAX_CPUS }),
      nodes: fc.integer({ min: 1, max: MAX_NODES }),
      stats: fc.boolean(),
    })
    .map((r): AppKernelConfig => {
      const x86 = r.arch === "x86_64" || r.arch === "i386";
      const cpus = Math.min(r.cpus, NR_CPUS_LIMIT[r.arch]);
      let nodes = r.arch === "x86_64" ? Math.min(r.nodes, cpus) : 1;
      let percpuAlloc = x86 ? r.percpuAlloc : r.percpuAlloc === "page" ? "embed" : r.percpuAlloc;
      if (r.population === "km") {
        /* percpu-km: no page first chunk, one unit group (x86_64 groups by node). */
        if (percpuAlloc === "page") percpuAlloc = "embed";
        nodes = 1;
      }
      return {
        kind: "kernel",
        arch: r.arch,
        population: r.population,
        percpuAlloc,
        allocator: r.allocator,
        cpus,
        nodes,
        stats: r.stats,
      };
    });
}

/** Sizes skewed small like real users (mostly up to 256 B), `large` in 10 up to PCPU_MIN_UNIT_SIZE. */
function sizeArb(large: number): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 9 - large, arbitrary: fc.integer({ min: 1, max: 0x100 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 0x1000 }) },
    { weight: large, arbitrary: fc.integer({ min: 1, max: 0x8000 }) },
  );
}
const alignArb = fc.integer({ min: 0, max: 12 }).map((k) => 1 << k);
const cpuArb = fc.nat({ max: 63 });
const pickArb = fc.nat({ max: 1023 });
const ctxArb = fc.constantFrom<OpContext>("process", "softirq", "irq");

const allocArb = (large: number): fc.Arbitrary<Op> =>
  fc
    .record({
      size: sizeArb(large),
      align: alignArb,
      gfp: fc.constantFrom<OpGfp>("GFP_KERNEL", "GFP_NOWAIT", "GFP_ATOMIC"),
      ctx: ctxArb,
      cpu: cpuArb,
    })
    .map((r) => ({ op: "alloc", ...r, ctx: r.gfp === "GFP_KERNEL" ? "process" : r.ctx }));

const opArbs = (large: number) => ({
  alloc: allocArb(large),
  reserved: fc.record({
    op: fc.constant("alloc-reserved" as const),
    size: sizeArb(1),
    align: alignArb,
    cpu: cpuArb,
  }),
  free: fc.record({ op: fc.constant("free" as const), pick: pickArb, ctx: ctxArb, cpu: cpuArb }),
  thisCpu: fc.record({
    op: fc.constant("this-cpu" as const),
    pick: pickArb,
    cpu: cpuArb,
    fn: fc.constantFrom<ThisCpuFn>("add", "read", "write", "sub", "inc", "dec", "xchg", "cmpxchg"),
    width: fc.constantFrom<1 | 2 | 4 | 8>(4, 1, 2, 8),
    at: fc.nat({ max: 0xffff }),
    value: fc.nat({ max: 0xffff_ffff }),
  }),
  write: fc.record({ op: fc.constant("write" as const), pick: pickArb, cpu: cpuArb, seed: fc.nat() }),
  balance: fc.record({ op: fc.constant("balance" as const), kick: fc.boolean() }),
  fault: fc.record({
    op: fc.constant("fault" as const),
    site: fc.constantFrom<FaultSiteName>("page_alloc", "vmalloc", "kmalloc"),
    nth: fc.integer({ min: 1, max: 12 }),
    times: fc.integer({ min: 1, max: 3 }),
  }),
  misuse: fc.record({
    op: fc.constant("misuse" as const),
    kind: fc.constantFrom<MisuseKind>(
      "free-interior",
      "free-freed",
      "free-static",
      "free-wild",
      "bad-size",
      "bad-align",
      "sleep-in-atomic",
      "use-after-free",
    ),
    pick: pickArb,
    value: fc.nat({ max: 0xffff }),
  }),
});

/** Relative weights of the operation kinds. */
export interface OpMix {
  readonly alloc: number;
  readonly reserved: number;
  readonly free: number;
  readonly thisCpu: number;
  readonly write: number;
  readonly balance: number;
  readonly fault: number;
  readonly misuse: number;
  /** Share of large allocations (up to PCPU_MIN_UNIT_SIZE), in tenths (1..8). */
  readonly large: number;
}

/** Churn: allocations and frees in balance, every other operation mixed in. */
export const CHURN_MIX: OpMix = {
  alloc: 30,
  reserved: 4,
  free: 22,
  thisCpu: 12,
  write: 4,
  balance: 6,
  fault: 6,
  misuse: 6,
  large: 1,
};
/** Growth: more and larger allocations than frees, so chunks are created, populated and failed while growing. */
export const GROWTH_MIX: OpMix = {
  alloc: 40,
  reserved: 2,
  free: 14,
  thisCpu: 6,
  write: 2,
  balance: 6,
  fault: 10,
  misuse: 2,
  large: 5,
};

export function opArb(mix: OpMix = CHURN_MIX): fc.Arbitrary<Op> {
  const arbs = opArbs(mix.large);
  const parts = (Object.keys(arbs) as (keyof typeof arbs)[])
    .filter((k) => mix[k] > 0)
    .map((k) => ({ weight: mix[k], arbitrary: arbs[k] as fc.Arbitrary<Op> }));
  return fc.oneof(...parts);
}

/** A whole trace: configuration, machine seed and up to `maxOps` operations. */
export function traceArb(
  config: fc.Arbitrary<ReliabilityConfig>,
  o: { maxOps: number; mix?: OpMix },
): fc.Arbitrary<ReliabilityTrace> {
  return fc
    .record({
      config,
      seed: fc.integer({ min: 1, max: 0xffff }),
      ops: fc.array(opArb(o.mix), { maxLength: o.maxOps, size: "max" }),
    })
    .map((r) => ({ version: TRACE_VERSION, ...r }));
}
