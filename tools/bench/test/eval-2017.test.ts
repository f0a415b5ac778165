import { describe, expect, it } from "vitest";
import {
  type AllocatorSizeResult,
  type BaselineSizeResult,
  checkTargets,
  eval2017Benchmark,
  eval2017Json,
  FREE_ORDERS,
  formatEval2017,
  runEval2017,
  runOnce,
} from "../src/eval-2017.js";
import { BENCHMARKS } from "../src/registry.js";
import { formatScaling, runScaling } from "../src/scaling.js";
import { median } from "../src/stats.js";

/*
 * The x86_64 bench kernel: 8 CPUs in 2 groups of 4 with a 2 MiB atom give
 * 512 KiB units (pcpu_build_alloc_info: upa 4 wastes nothing), so a dynamic
 * chunk has 0x80 pages. Bitmap metadata per chunk: alloc_map 0x20000 bits
 * (0x4000 bytes) + bound_map 0x20001 bits (0x4004 bytes) + 0x80 blocks of
 * 32 bytes (0x1000) = 0x9004.
 */
const UNIT_SIZE = 0x80000;
const BITMAP_METADATA = 0x4000 + 0x4004 + 0x80 * 32;

describe("runOnce (one 2017 run: alloc then free in one order)", () => {
  it("frees everything in every order for both allocators, 0x400 objects of 0x400 bytes", () => {
    const ptrs = new Float64Array(0x400);
    for (const order of FREE_ORDERS) {
      for (const a of ["bitmap", "area-map"] as const) {
        const r = runOnce(a, 0x400, 0x400, order, ptrs);
        expect(r.freedAll).toBe(true);
        /* the first chunk's 28 KiB dynamic area takes < 0x1c objects; 512 per 512 KiB chunk after that */
        expect(r.chunks).toBe(2);
        expect(r.allocMs).toBeGreaterThanOrEqual(0);
        expect(r.freeMs).toBeGreaterThanOrEqual(0);
        expect(r.allocCpuMs).toBeGreaterThanOrEqual(0);
        expect(r.freeCpuMs).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it("measures the bitmap metadata as the kernel's fixed per-chunk size", () => {
    const r = runOnce("bitmap", 0x400, 0x400, "reverse", new Float64Array(0x400));
    expect(r.metadataFull.meanBytes).toBe(BITMAP_METADATA);
    expect(r.metadataEmpty.meanBytes).toBe(BITMAP_METADATA);
    expect(r.metadataFull.perUnitByte).toBeCloseTo(BITMAP_METADATA / UNIT_SIZE, 12);
  });

  it("measures the area map growing by doubling and never shrinking", () => {
    /* 0x200 areas of 0x400 bytes in a chunk need map_used + 64 entries: 16 doubled to 0x400 ints */
    const r = runOnce("area-map", 0x400, 0x400, "in-order", new Float64Array(0x400));
    expect(r.metadataFull.maxBytes).toBe(0x400 * 4 + 40);
    expect(r.metadataEmpty.maxBytes).toBe(0x400 * 4 + 40);
  });
});

describe("runEval2017 (the 2017 evaluation, tiny configuration)", () => {
  const r = runEval2017({ objects: 0x400, sizes: [4, 0x400], runs: 1, warmupObjects: 0 });

  it("has one result per allocator and size, and one baseline per size", () => {
    expect(r.results.map((x) => `${x.allocator}/${x.size}`)).toEqual([
      "bitmap/4",
      "bitmap/1024",
      "area-map/4",
      "area-map/1024",
    ]);
    expect(r.baseline.map((b) => b.size)).toEqual([4, 0x400]);
    expect(r.objects).toBe(0x400);
    expect(r.cpus).toBe(8);
    for (const x of r.results) {
      expect(x.freedAll).toBe(true);
      expect(Object.keys(x.byOrder).sort()).toEqual(["alternating", "in-order", "reverse"]);
      expect(x.runsAllocMs).toHaveLength(1);
      /* the worst case is the largest of the three orders */
      expect(x.allocMs).toBe(Math.max(...FREE_ORDERS.map((o) => x.byOrder[o].allocMs)));
      expect(x.freeMs).toBe(Math.max(...FREE_ORDERS.map((o) => x.byOrder[o].freeMs)));
    }
    /* 0x400 objects of 4 bytes fit in the first chunk's dynamic area: no chunk created */
    expect(r.results.find((x) => x.allocator === "bitmap" && x.size === 4)!.chunks).toBe(0);
    expect(r.baseline.find((b) => b.size === 0x400)!.chunks).toBe(2);
  });

  it("checks the four targets and prints them with the published table", () => {
    expect(r.targets).toHaveLength(4);
    const text = formatEval2017(r);
    expect(text).toContain("2^10 objects per run");
    expect(text).toContain("4770");
    expect(text).toContain("every run freed everything: yes");
    expect(text.match(/\[(met|MISSED)\]/g)).toHaveLength(4);
    expect(text).toContain("process CPU time, ms (ns per operation)");
  });

  it("gives the worst-case ms per allocator and size, and the baseline's, as JSON", () => {
    const j = eval2017Json(r) as {
      worstCaseMs: Record<string, Record<string, { allocMs: number; freeMs: number }>>;
    };
    expect(Object.keys(j.worstCaseMs)).toEqual(["bitmap", "area-map", "baseline"]);
    expect(Object.keys(j.worstCaseMs.bitmap!["4"]!).sort()).toEqual([
      "allocCpuMs",
      "allocMs",
      "allocNsPerOp",
      "freeCpuMs",
      "freeMs",
      "freeNsPerOp",
    ]);
    for (const k of Object.keys(j.worstCaseMs)) expect(Object.keys(j.worstCaseMs[k]!)).toEqual(["4", "1024"]);
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
  });
});

describe("checkTargets (the issue's ratios)", () => {
  const res = (allocator: "bitmap" | "area-map", size: number, allocMs: number, freeMs: number) =>
    ({ allocator, size, allocMs, freeMs }) as AllocatorSizeResult;
  const base: BaselineSizeResult[] = [
    { size: 4, allocMs: 100, freeMs: 0, allocCpuMs: 100, freeCpuMs: 0, chunks: 1 },
    { size: 16, allocMs: 100, freeMs: 0, allocCpuMs: 100, freeCpuMs: 0, chunks: 1 },
  ];

  it("meets every target at 50x, equal alloc and 3x the baseline", () => {
    const t = checkTargets(
      [
        res("bitmap", 4, 200, 100),
        res("area-map", 4, 200, 5000),
        res("bitmap", 16, 250, 50),
        res("area-map", 16, 260, 51),
      ],
      base,
    );
    expect(t.map((x) => x.met)).toEqual([true, true, true, true]);
  });

  it("misses each target just past its bound", () => {
    const t = checkTargets(
      [
        res("bitmap", 4, 201, 100),
        res("area-map", 4, 200, 4999),
        res("bitmap", 16, 250, 51),
        res("area-map", 16, 260, 51),
      ],
      base,
    );
    expect(t.map((x) => x.met)).toEqual([false, false, false, false]);
    expect(t[1]!.detail).toContain("not faster at 16 B");
    expect(t[2]!.detail).toContain("slower at 4 B");
    expect(t[3]!.detail).toContain("over at 4, 16 B");
  });
});

describe("runScaling (one alloc+free pair vs live objects and CPUs)", () => {
  it("reports ns per pair for both allocators at every point", () => {
    const r = runScaling({ live: [0x400, 0x1000], cpus: [1, 4], pairsPerBatch: 0x40, batches: 1 });
    expect(r.live.map((p) => p.x)).toEqual([0x400, 0x1000]);
    expect(r.cpus.map((p) => p.x)).toEqual([1, 4]);
    for (const p of [...r.live, ...r.cpus]) {
      expect(p.nsPerPair.bitmap).toBeGreaterThan(0);
      expect(p.nsPerPair["area-map"]).toBeGreaterThan(0);
      expect(p.cpuNsPerPair.bitmap).toBeGreaterThanOrEqual(0);
      expect(p.cpuNsPerPair["area-map"]).toBeGreaterThanOrEqual(0);
    }
    expect(formatScaling(r)).toContain("2^12");
  });
});

describe("registry and helpers", () => {
  it("registers eval-2017 and scaling", () => {
    expect(BENCHMARKS.map((b) => b.name)).toEqual(expect.arrayContaining(["eval-2017", "scaling"]));
    expect(eval2017Benchmark.name).toBe("eval-2017");
  });

  it("takes the median of odd and even counts", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});
