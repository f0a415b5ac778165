import { describe, expect, it } from "vitest";
import { runSoak, SOAK_BUDGET_S, soakBenchmark } from "../src/benchmarks/soak.js";
import { BENCHMARKS } from "../src/registry.js";

describe("soak benchmark (runSoak)", () => {
  it("runs 2*10^5 mixed operations on 64 CPUs in quick mode with every full check clean", () => {
    const r = runSoak({ quick: true, runs: undefined, progress: () => {} });
    expect(r.ops).toBe(200_000);
    /* A full check every 25 000 operations, a window every 25 000. */
    expect(r.checks).toBe(8);
    expect(r.windows.map((w) => w.ops)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => i * 25_000));
    expect(r.violations).toBe(0);
    /* Every operation is one of the four kinds (plus the 64 counters allocated at boot). */
    expect(r.allocs + r.atomicFailures + r.frees + r.thisCpuOps + r.balanceRuns).toBe(r.ops);
    expect(r.peakChunks).toBeGreaterThanOrEqual(2);
    expect(r.budgetSeconds).toBeNull();
    for (const w of r.windows) {
      expect(w.live).toBeGreaterThanOrEqual(1024 - 1);
      expect(w.live).toBeLessThanOrEqual(4096);
    }
  });

  it("is registered and documents its budget", () => {
    expect(BENCHMARKS).toContain(soakBenchmark);
    expect(SOAK_BUDGET_S).toBeGreaterThan(0);
  });
});
