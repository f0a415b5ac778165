/*
 * The promise, property-based, over the matrix: random sequences of
 * sleeping and atomic allocations (process, softirq and irq context),
 * reserved allocations, frees in any order and context, this_cpu
 * operations, stores through per_cpu_ptr, balance-work runs, page
 * allocator / vmalloc / metadata failures injected at random points and
 * caught misuse; after every step every check of src/checks.ts, at the end
 * free everything and check that nothing leaked. A failure is shrunk and
 * printed as a replayable trace.
 */

import { afterAll, describe, expect, it } from "vitest";
import {
  type AppKernelConfig,
  appConfigArb,
  assertReliable,
  CHURN_MIX,
  type CheckOptions,
  emptyTotals,
  formatTrace,
  GROWTH_MIX,
  type PropertyTotals,
  type ReliabilityConfig,
  type TestKernelConfig,
  testConfigArb,
  traceArb,
} from "../src/index.js";
import { byProfile, PROFILE, reportTotals } from "./profile.js";

const SEED = Number(process.env.PCPU_RELIABILITY_SEED ?? 0x5eed);
/** Long profile: minutes each property runs for (a failure found is still shrunk and printed). */
const MINUTES = Number(process.env.PCPU_RELIABILITY_MINUTES ?? 6);

/**
 * Quick: exactly `quick` runs from a fixed seed (deterministic CI). Long:
 * as many runs as fit in `share` x MINUTES, with progress and the first
 * failing trace printed as soon as it is found.
 */
function runs(name: string, quick: number, seed: number, share = 1): CheckOptions {
  if (PROFILE === "quick") return { numRuns: quick, seed };
  return {
    numRuns: 10_000_000,
    seed,
    timeLimitMs: share * MINUTES * 60_000,
    onProgress: (n) => console.error(`[reliability] ${name}: ${n} runs`),
    onFirstFailure: (t, e) =>
      console.error(
        `[reliability] ${name}: FAILURE before shrinking: ${(e as Error).message.split("\n")[0]}\n${formatTrace(t)}`,
      ),
  };
}
/** vitest's timeout for a property: the long profile's time limit plus room to shrink. */
const TIMEOUT = byProfile(120_000, (MINUTES + 10) * 60_000);

/** The distinct values a config field took over the passing runs. */
function seen(t: PropertyTotals, pick: (name: string) => string): Set<string> {
  return new Set([...t.configs].map(pick));
}

describe(`percpu promise over the matrix (${PROFILE} profile)`, () => {
  const test = emptyTotals();
  const app = emptyTotals();
  afterAll(() => {
    reportTotals("test-kernels", test);
    reportTotals("kernel-app", app);
  });

  it(
    "holds on test kernels: generic 32/64-bit arch, vm and km, bitmap and area map, 1..16 CPUs, 1..4 nodes, NUMA groups (churn)",
    () => {
      assertReliable(
        traceArb(testConfigArb(), { maxOps: byProfile(100, 250), mix: CHURN_MIX }),
        runs("test kernels, churn", 100, SEED),
        test,
      );
      expect(test.runs).toBeGreaterThanOrEqual(100);
    },
    TIMEOUT,
  );

  it(
    "holds on test kernels while growing: large allocations, chunk creation and injected faults",
    () => {
      const before = test.report.failedByFault;
      assertReliable(
        traceArb(testConfigArb(), { maxOps: byProfile(100, 250), mix: GROWTH_MIX }),
        runs("test kernels, growth", 30, SEED + 1),
        test,
      );
      /* Faults really fired and allocations really failed because of them, with everything else intact. */
      expect(test.report.failedByFault).toBeGreaterThan(before);
      expect(test.report.peakChunks).toBeGreaterThanOrEqual(2);
    },
    TIMEOUT,
  );

  it(
    "holds on test kernels with one unit group per NUMA node (vm, 2..4 nodes, embed grouped by node)",
    () => {
      const numa = testConfigArb().map(
        (c): ReliabilityConfig =>
          ({
            ...c,
            population: "vm",
            cpus: Math.max(c.cpus, 4),
            nodes: Math.max(2, Math.min(c.nodes, Math.max(c.cpus, 4))),
            numaGroups: true,
          }) as TestKernelConfig,
      );
      assertReliable(
        traceArb(numa, { maxOps: byProfile(80, 250), mix: GROWTH_MIX }),
        runs("test kernels, NUMA groups", 10, SEED + 5, 0.5),
        test,
      );
    },
    TIMEOUT,
  );

  it(
    "holds on kernels assembled by @pcpu/kernel: x86_64, i386, arm, sparc32, s390; embed and page first chunks (churn)",
    () => {
      assertReliable(
        traceArb(appConfigArb(), { maxOps: byProfile(100, 250), mix: CHURN_MIX }),
        runs("kernels, churn", 100, SEED + 2),
        app,
      );
      expect(app.runs).toBeGreaterThanOrEqual(100);
    },
    TIMEOUT,
  );

  it(
    "holds on kernels assembled by @pcpu/kernel while growing",
    () => {
      const before = app.report.failedByFault;
      assertReliable(
        traceArb(appConfigArb(), { maxOps: byProfile(100, 250), mix: GROWTH_MIX }),
        runs("kernels, growth", 30, SEED + 3),
        app,
      );
      expect(app.report.failedByFault).toBeGreaterThan(before);
    },
    TIMEOUT,
  );

  it(
    "holds on the page first chunk with NUMA nodes (x86_64 percpu_alloc=page, 2..4 nodes)",
    () => {
      const x86Page = appConfigArb().map(
        (c): ReliabilityConfig =>
          ({
            ...c,
            arch: "x86_64",
            population: "vm",
            percpuAlloc: "page",
            cpus: Math.max(c.cpus, 4),
            nodes: Math.max(2, c.nodes),
          }) as AppKernelConfig,
      );
      assertReliable(
        traceArb(x86Page, { maxOps: byProfile(80, 250), mix: GROWTH_MIX }),
        runs("x86_64 page first chunk, NUMA", 10, SEED + 4, 0.5),
        app,
      );
    },
    TIMEOUT,
  );

  it("covered the matrix, not one corner of it", () => {
    expect(seen(test, (n) => n.split(" ")[0]!)).toEqual(new Set(["generic64", "generic32"]));
    expect(seen(test, (n) => n.split(" ")[1]!)).toEqual(new Set(["vm", "km", "km-fixed"]));
    expect(seen(test, (n) => n.split(" ")[2]!)).toEqual(new Set(["bitmap", "area-map"]));
    expect([...test.configs].some((n) => n.includes("numa-groups"))).toBe(true);
    expect([...test.configs].some((n) => n.includes("16cpu"))).toBe(true);
    expect(seen(app, (n) => n.split(" ")[0]!)).toEqual(new Set(["x86_64", "i386", "arm", "sparc32", "s390"]));
    expect(seen(app, (n) => n.split(" ")[1]!)).toEqual(new Set(["vm", "km"]));
    expect(seen(app, (n) => n.split(" ")[2]!)).toEqual(new Set(["auto", "embed", "page"]));
    expect(seen(app, (n) => n.split(" ")[3]!)).toEqual(new Set(["bitmap", "area-map"]));
    expect([...app.configs].some((n) => /\/[234]node/.test(n))).toBe(true);
  });
});
