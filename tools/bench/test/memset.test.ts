import { describe, expect, it } from "vitest";
import { memsetBenchmark, runMemset } from "../src/benchmarks/memset.js";
import { BENCHMARKS } from "../src/registry.js";

describe("memset benchmark (runMemset)", () => {
  it("returns finite positive ratios in quick mode", () => {
    const r = runMemset({ quick: true });
    expect(r.name).toBe("memset");
    expect(r.rows.map((x) => x.metric)).toEqual([
      "memset 4 KiB page",
      "memset 4 KiB page (SAB)",
      "u32 store, scattered",
      "u32 store, sequential",
      "u32 load, scattered",
    ]);
    for (const x of r.rows) {
      expect(Number.isFinite(x.ratio)).toBe(true);
      expect(x.ratio).toBeGreaterThan(0);
      expect(x.oursNs).toBeGreaterThan(0);
      expect(x.baselineNs).toBeGreaterThan(0);
    }
  });

  it("is registered and reports text and JSON", () => {
    expect(BENCHMARKS).toContain(memsetBenchmark);
    const rep = memsetBenchmark.run({ quick: true, runs: undefined, progress: () => {} });
    expect(rep.text.split("\n")[0]).toBe(
      "memset: ours / baseline time (ratio 1.00 = as fast as the baseline)",
    );
    expect(rep.text.split("\n").length).toBe(6);
    expect((rep.json as { rows: unknown[] }).rows.length).toBe(5);
  });
});
