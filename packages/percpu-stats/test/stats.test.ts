import { describe, expect, it } from "vitest";
import { PcpuStats } from "../src/stats.js";
import { FakeChunk } from "./fake-source.js";
import { scenarioAi } from "./scenario.js";

describe("PcpuStats.saveAi (pcpu_stats_save_ai)", () => {
  it("keeps the header and starts min_alloc_size at the unit size", () => {
    const s = new PcpuStats();
    expect(s.ai.unitSize).toBe(0);
    expect(s.minAllocSize).toBe(0);
    s.saveAi(scenarioAi);
    expect(s.ai).toEqual({
      unitSize: 0x8000,
      staticSize: 0x1200,
      reservedSize: 0x2000,
      dynSize: 0x4e00,
      atomSize: 0x1000,
      allocSize: 0x8000,
      nrGroups: 1,
    });
    expect(s.minAllocSize).toBe(0x8000);
  });

  it("without setup min_alloc_size stays 0 (the zeroed global)", () => {
    const s = new PcpuStats();
    s.areaAlloc(new FakeChunk(0, 1), 0x10);
    expect(s.minAllocSize).toBe(0);
    expect(s.maxAllocSize).toBe(0x10);
  });
});

describe("PcpuStats.areaAlloc / areaDealloc (pcpu_stats_area_alloc / pcpu_stats_area_dealloc)", () => {
  it("counts lifetime, live and peak allocations and the size range, globally and per chunk", () => {
    const s = new PcpuStats();
    s.saveAi(scenarioAi);
    const a = new FakeChunk(0, 1);
    const b = new FakeChunk(1, 1);
    s.areaAlloc(a, 0x20);
    s.areaAlloc(a, 0x1000);
    s.areaAlloc(b, 0x8);
    expect([s.nrAlloc, s.nrDealloc, s.nrCurAlloc, s.nrMaxAlloc]).toEqual([3, 0, 3, 3]);
    expect([s.minAllocSize, s.maxAllocSize]).toEqual([0x8, 0x1000]);
    expect([a.nrAlloc, a.maxAllocSize, b.nrAlloc, b.maxAllocSize]).toEqual([2, 0x1000, 1, 0x8]);

    s.areaDealloc(a);
    s.areaDealloc(a);
    // The chunk's max_alloc_size is a high-water mark; the peak stays.
    expect([s.nrAlloc, s.nrDealloc, s.nrCurAlloc, s.nrMaxAlloc]).toEqual([3, 2, 1, 3]);
    expect([a.nrAlloc, a.maxAllocSize]).toEqual([0, 0x1000]);

    s.areaAlloc(b, 0x4);
    expect([s.nrCurAlloc, s.nrMaxAlloc, s.minAllocSize, s.maxAllocSize]).toEqual([2, 3, 0x4, 0x1000]);
    expect([b.nrAlloc, b.maxAllocSize]).toEqual([2, 0x8]);
  });
});

describe("PcpuStats.chunkAlloc / chunkDealloc (pcpu_stats_chunk_alloc / pcpu_stats_chunk_dealloc)", () => {
  it("counts live chunks and their peak", () => {
    const s = new PcpuStats();
    s.chunkAlloc();
    s.chunkAlloc();
    s.chunkAlloc();
    s.chunkDealloc();
    s.chunkDealloc();
    s.chunkAlloc();
    expect([s.nrChunks, s.nrMaxChunks]).toEqual([2, 3]);
  });
});
