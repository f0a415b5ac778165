/*
 * The harness itself: a trace replays to the same report, survives its
 * JSON form, and a planted bug is found, shrunk to the minimal trace and
 * replayed from the printed text.
 */

import { describe, expect, it } from "vitest";
import {
  checkReliable,
  formatFailure,
  formatTrace,
  makeTrace,
  type Op,
  parseTrace,
  ReliabilityViolation,
  replay,
  type TestKernelConfig,
  testConfigArb,
  traceArb,
} from "../src/index.js";

const VM4: TestKernelConfig = {
  kind: "test",
  population: "vm",
  area: "bitmap",
  bits: 64,
  cpus: 4,
  nodes: 1,
  numaGroups: false,
};

const OPS: Op[] = [
  { op: "alloc", size: 0x40, align: 8, gfp: "GFP_KERNEL", ctx: "process", cpu: 0 },
  { op: "alloc", size: 0x10, align: 4, gfp: "GFP_ATOMIC", ctx: "irq", cpu: 1 },
  { op: "this-cpu", pick: 1, cpu: 1, fn: "add", width: 4, at: 2, value: 5 },
  { op: "this-cpu", pick: 1, cpu: 5, fn: "read", width: 4, at: 2, value: 0 },
  { op: "free", pick: 0, ctx: "softirq", cpu: 2 },
  { op: "misuse", kind: "free-freed", pick: 0, value: 0 },
  { op: "misuse", kind: "use-after-free", pick: 0, value: 0 },
  { op: "balance", kick: true },
];

describe("replay (a reliability trace, step by step)", () => {
  it("runs a hand-written trace and counts what it did", () => {
    const r = replay(makeTrace(VM4, 1, OPS));
    expect(r).toMatchObject({
      ops: 8,
      allocs: 2,
      atomicAllocs: 1,
      atomicFailures: 0,
      /* one free in the trace, the survivor freed by the final phase */
      frees: 2,
      thisCpuOps: 2,
      misuseCaught: 2,
      balanceRuns: 1,
      /* after boot, after each of the 8 steps, after the final phase */
      checks: 10,
      peakLive: 2,
      violations: 0,
    });
  });

  it("replays the same from the trace's JSON text", () => {
    const t = makeTrace(
      {
        kind: "kernel",
        arch: "s390",
        population: "vm",
        percpuAlloc: "auto",
        allocator: "area-map",
        cpus: 3,
        nodes: 1,
        stats: true,
      },
      9,
      OPS,
    );
    const text = formatTrace(t);
    expect(parseTrace(text)).toEqual(t);
    expect(replay(parseTrace(text))).toEqual(replay(t));
  });

  it("parseTrace refuses what is not a trace", () => {
    expect(() => parseTrace("{")).toThrow(/not a reliability trace/);
    expect(() => parseTrace('{"version":2,"config":{},"seed":1,"ops":[]}')).toThrow(/version 1/);
    expect(() => parseTrace('{"version":1,"config":{},"seed":1}')).toThrow(/version 1/);
    expect(() => parseTrace('{"version":1,"config":{},"seed":"1","ops":[]}')).toThrow(
      /seed must be a number/,
    );
  });

  it("reports a boot the kernel refuses as a violation at step -1", () => {
    const t = makeTrace(
      {
        kind: "kernel",
        arch: "arm",
        population: "vm",
        percpuAlloc: "page",
        allocator: "bitmap",
        cpus: 2,
        nodes: 1,
        stats: false,
      },
      1,
      [],
    );
    const e = (() => {
      try {
        replay(t);
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(ReliabilityViolation);
    expect((e as ReliabilityViolation).step).toBe(-1);
    expect((e as ReliabilityViolation).message).toMatch(
      /boot failed: percpuAlloc: arm does not build the page first chunk allocator/,
    );
  });
});

describe("shrinking a planted bug (pcpu_free_area that loses frees of 0x100 bytes or more)", () => {
  it("finds it, shrinks it to one allocation of 0xfd bytes (rounded to 0x100) freed by the final phase, and the printed trace replays the failure", () => {
    const f = checkReliable(traceArb(testConfigArb({ sabotage: "leak-large-frees" }), { maxOps: 60 }), {
      numRuns: 200,
      seed: 0xbad,
    });
    expect(f).not.toBeNull();
    const t = f!.trace!;
    /* The smallest configuration and the smallest sequence that still fails. */
    expect(t.config).toEqual({ ...VM4, cpus: 1, sabotage: "leak-large-frees" });
    /*
     * One allocation is enough: the final phase frees it. 0xfd is the
     * smallest size that pcpu_alloc rounds up to 0x100 (PCPU_MIN_ALLOC_SIZE).
     */
    expect(t.ops).toEqual([{ op: "alloc", size: 0xfd, align: 1, gfp: "GFP_KERNEL", ctx: "process", cpu: 0 }]);
    const text = formatFailure(f!);
    expect(text).toContain("minimal failing trace");
    /* The last line of the report is the trace: replay it. */
    const replayed = parseTrace(text.split("\n").at(-1)!);
    let err: unknown = null;
    try {
      replay(replayed);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReliabilityViolation);
    /* Step 1 = ops.length: the final free-everything phase. */
    expect((err as ReliabilityViolation).step).toBe(1);
    expect((err as ReliabilityViolation).message).toContain("final free-everything phase");
    expect((err as ReliabilityViolation).detail).toMatch(/PcpuInvariantError|invariant checker/);
    /* One byte less is not a bug. */
    expect(() => replay({ ...replayed, ops: [{ ...replayed.ops[0]!, size: 0xfc } as Op] })).not.toThrow();
  });
});

describe("percpu-km whose chunk is above MAX_PAGE_ORDER (x86_64, 5 CPUs)", () => {
  it("fails the allocation that needs a new chunk with the page allocator's WARN, and nothing else changes", () => {
    /*
     * x86_64 embed with a 2 MiB atom on 5 CPUs: 6 units of 256 pages; percpu-km
     * allocates them as one block of order_base_2(1536) = 11 > MAX_PAGE_ORDER 10.
     */
    const cfg = {
      kind: "kernel",
      arch: "x86_64",
      population: "km",
      percpuAlloc: "embed",
      allocator: "bitmap",
      cpus: 5,
      nodes: 1,
      stats: false,
    } as const;
    const big: Op = { op: "alloc", size: 0x8000, align: 8, gfp: "GFP_KERNEL", ctx: "process", cpu: 0 };
    const r = replay(makeTrace(cfg, 1, [big, big, big]));
    expect(r.allocs + r.chunkOrderFailures).toBe(3);
    expect(r.chunkOrderFailures).toBeGreaterThanOrEqual(1);
    expect(r.peakChunks).toBe(0);
  });
});
