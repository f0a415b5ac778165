/*
 * fast-check arbitraries of API fuzz traces: 2..3 kernels of the matrix
 * alive at once and a mix of valid and invalid calls on them. Invalid
 * arguments are GARBAGE indices on one argument of the call; edge sizes
 * (0, PCPU_MIN_UNIT_SIZE, just above, 2^31, 2^32 + 4, 0xfffffffd) are
 * well-typed and go to the kernel, which refuses some with its WARN.
 * Everything shrinks toward fewer kernels, fewer calls, valid arguments.
 */

import { WORKLOAD_NAMES, type WorkloadName } from "@pcpu/kernel";
import fc from "fast-check";
import type { AppKernelConfig, ThisCpuFn } from "./api.js";
import {
  API_TRACE_VERSION,
  type ApiGfp,
  type ApiOp,
  type ApiQuery,
  type ApiTrace,
  type Bad,
  GARBAGE,
} from "./api-fuzz.js";
import { appConfigArb } from "./arbitraries.js";

/** Kernels of the API fuzz: at most 8 CPUs, so every step can check every byte of every kernel. */
export function apiConfigArb(): fc.Arbitrary<AppKernelConfig> {
  return appConfigArb().map((c) => ({
    ...c,
    cpus: Math.min(c.cpus, 8),
    nodes: Math.min(c.nodes, c.cpus, 8),
  }));
}

const gArb = fc.nat({ max: GARBAGE.length - 1 });
/** One of `args` replaced by garbage, in about a third of the calls. */
const badArb = (...args: string[]): fc.Arbitrary<Bad | undefined> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.record({ arg: fc.constantFrom(...args), g: gArb }) },
  );

const sizeArb = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 1, max: 0x100 }) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 0x2000 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(0, 0x8000, 0x8001, 0x8004, 2 ** 31, 2 ** 32 + 4, 0xffff_fffd, 2 ** 53 - 1),
  },
);
const alignArb = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 12 }).map((k) => 2 ** k) },
  { weight: 1, arbitrary: fc.constantFrom(0, 3, 12, 0x2000, 2 ** 31, 2 ** 32 - 1) },
);
const gfpArb: fc.Arbitrary<ApiGfp> = fc.constantFrom<ApiGfp>(
  "GFP_KERNEL",
  "GFP_NOWAIT",
  "GFP_ATOMIC",
  0xcc0 /* GFP_KERNEL */,
  0xcc0 | 0x2000 /* | __GFP_NOWARN */,
  0x1_0cc0 /* GFP_USER-like | __GFP_NORETRY */,
  0x40_0cc0 /* GFP_KERNEL_ACCOUNT */,
  0x820 /* GFP_ATOMIC */,
  0x800 /* __GFP_KSWAPD_RECLAIM alone: atomic */,
);
const kArb = fc.nat({ max: 7 });
const pickArb = fc.nat({ max: 1023 });
const cpuArb = fc.nat({ max: 63 });
const widthArb = fc.constantFrom<1 | 2 | 4 | 8>(4, 1, 2, 8);

const ops: { weight: number; arbitrary: fc.Arbitrary<ApiOp> }[] = [
  {
    weight: 26,
    arbitrary: fc.record({
      op: fc.constant("alloc" as const),
      k: kArb,
      size: sizeArb,
      align: alignArb,
      gfp: gfpArb,
      bad: badArb("size", "align", "gfp", "opts"),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("alloc-reserved" as const),
      k: kArb,
      size: sizeArb,
      align: alignArb,
      bad: badArb("size", "align", "opts"),
    }),
  },
  {
    weight: 20,
    arbitrary: fc.record({ op: fc.constant("free" as const), k: kArb, pick: pickArb, bad: badArb("ptr") }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("free-misuse" as const),
      k: kArb,
      kind: fc.constantFrom<"double" | "interior" | "wild">("double", "interior", "wild"),
      pick: pickArb,
      value: fc.nat({ max: 0xffff }),
    }),
  },
  {
    weight: 14,
    arbitrary: fc.record({
      op: fc.constant("this-cpu" as const),
      k: kArb,
      pick: pickArb,
      cpu: cpuArb,
      fn: fc.constantFrom<ThisCpuFn>("add", "read", "write", "sub", "inc", "dec", "xchg", "cmpxchg"),
      width: widthArb,
      at: fc.nat({ max: 0xffff }),
      value: fc.nat({ max: 0xffff_ffff }),
      bad: badArb("cpu", "fn", "ptr", "width", "value"),
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      op: fc.constant("mem" as const),
      k: kArb,
      pick: pickArb,
      cpu: cpuArb,
      write: fc.boolean(),
      width: widthArb,
      at: fc.nat({ max: 0xffff }),
      value: fc.nat({ max: 0xffff_ffff }),
      bad: badArb("addr", "width", "value"),
    }),
  },
  { weight: 5, arbitrary: fc.record({ op: fc.constant("work" as const), k: kArb, kick: fc.boolean() }) },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("query" as const),
      k: kArb,
      what: fc.constantFrom<ApiQuery>(
        "debugfs",
        "dmesg",
        "meminfo",
        "trace",
        "snapshot",
        "statsJson",
        "nrPages",
        "perCpuPtr",
        "formatAddr",
      ),
      bad: badArb("arg"),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("throw-in-oncpu" as const), k: kArb, cpu: cpuArb }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("workload" as const),
      k: kArb,
      name: fc.constantFrom<WorkloadName>(...WORKLOAD_NAMES),
      ops: fc.integer({ min: 1, max: 12 }),
      bad: badArb("name", "opts.ops", "opts.scale", "opts.seed"),
    }),
  },
];

/** Drops `bad: undefined` so traces print as compact JSON. */
function tidy(op: ApiOp): ApiOp {
  if ("bad" in op && op.bad === undefined) {
    const { bad: _bad, ...rest } = op;
    return rest as ApiOp;
  }
  return op;
}

/** A trace: 2..`maxKernels` kernels, a seed and up to `maxOps` calls. */
export function apiTraceArb(o: { maxOps: number; maxKernels?: number }): fc.Arbitrary<ApiTrace> {
  return fc
    .record({
      kernels: fc.array(apiConfigArb(), { minLength: 2, maxLength: o.maxKernels ?? 3 }),
      seed: fc.integer({ min: 1, max: 0xffff }),
      ops: fc.array(fc.oneof(...ops).map(tidy), { maxLength: o.maxOps, size: "max" }),
    })
    .map((r) => ({ version: API_TRACE_VERSION, ...r }));
}
