import { describe, expect, it } from "vitest";
import { BENCHMARKS } from "../src/registry.js";
import { STATS_COST_CONFIGS, statsCostBenchmark, statsCostReport } from "../src/stats-cost.js";

describe("stats-cost benchmark (runStatsCost)", () => {
  it("runs the same churn on every kernel and reports ratios to stats off", () => {
    const { text, json } = statsCostReport({ quick: true, runs: 2 });
    expect(json.rows.map((r) => r.config)).toEqual([...STATS_COST_CONFIGS]);
    expect([json.opsPerBlock, json.liveObjects, json.warmupRounds, json.runs]).toEqual([2000, 512, 1, 2]);
    /* The same seeded operations: every kernel made the same allocations. */
    const allocs = json.rows[0]!.allocs;
    expect(allocs).toBeGreaterThan(512);
    for (const r of json.rows) {
      expect(r.allocs).toBe(allocs);
      expect(r.cpuSamples).toHaveLength(2);
      expect(r.wallSamples).toHaveLength(2);
      for (const x of [r.cpuNsPerOp, r.cpuRatio, r.wallNsPerOp, r.wallRatio]) {
        expect(Number.isFinite(x)).toBe(true);
        expect(x).toBeGreaterThan(0);
      }
    }
    expect(json.rows[0]!.cpuRatio).toBe(1);
    expect(json.rows[0]!.wallRatio).toBe(1);
    /* Only the traced kernel records events: one per alloc or free of a block, plus chunk events. */
    expect(json.rows.map((r) => r.eventsPerBlock > 0)).toEqual([false, false, false, true]);
    expect(json.rows[3]!.eventsPerBlock).toBeGreaterThanOrEqual(2000);
    expect(json.loadBefore).toHaveLength(3);
    const lines = text.split("\n");
    expect(lines).toHaveLength(4 + STATS_COST_CONFIGS.length);
    expect(lines[0]).toBe(
      "stats-cost: 2000 alloc/free operations per block around 512 live objects, 1 warm-up + 2 timed rounds, medians",
    );
    expect(lines[4]).toMatch(/^ {2}stats off +\d+\.\d +1\.000 +\d+\.\d +1\.000$/);
    expect(lines[7]).toMatch(/^ {2}stats \+ trace +\d+\.\d +\d+\.\d{3} +\d+\.\d +\d+\.\d{3}$/);
  });

  it("is registered", () => {
    expect(BENCHMARKS).toContain(statsCostBenchmark);
    expect(statsCostBenchmark.name).toBe("stats-cost");
  });
});
