import { describe, expect, it } from "vitest";
import { runScale, scaleBenchmark } from "../src/benchmarks/scale.js";
import { BENCHMARKS } from "../src/registry.js";

/* The benchmark kernel's static image: 0x2e000 bytes = 46 pages, patterned (never zero pages). */
const STATIC_PAGES = 0x2e000 / 0x1000;

describe("scale benchmark (runScale)", () => {
  it("boots 512 CPUs with one host copy of the static image instead of 513", () => {
    const [row] = runScale({ quick: true });
    expect(row!.cpus).toBe(512);
    // baseline: the template plus a copy in each of the 512 units
    expect(row!.baseline.bootHostBytes).toBe(STATIC_PAGES * 0x1000 * 513);
    // copy on write: only the template's frames, shared by every unit
    expect(row!.ours.bootHostBytes).toBe(STATIC_PAGES * 0x1000);
    // 64 allocations of 8-64 B zeroed on 512 CPUs, one u32 written on one CPU each:
    // both sides hold the same frames for them
    expect(row!.ours.allocHostBytes - row!.ours.bootHostBytes).toBe(
      row!.baseline.allocHostBytes - row!.baseline.bootHostBytes,
    );
    expect(row!.ours.bootCpuMs).toBeGreaterThan(0);
  });

  it("is registered and reports a table and JSON", () => {
    expect(BENCHMARKS).toContain(scaleBenchmark);
    const rep = scaleBenchmark.run({ quick: true, runs: 1, progress: () => {} });
    expect(rep.text.split("\n")).toHaveLength(5);
    expect(rep.text).toMatch(/^\| 512 \| 4 \| \d+ \/ \d+ \|/m);
    expect((rep.json as { rows: unknown[] }).rows).toHaveLength(1);
  });
});
