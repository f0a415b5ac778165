import { describe, expect, it } from "vitest";
import { percpuStatsJson } from "../src/json.js";
import { buildScenario } from "./scenario.js";

describe("percpuStatsJson (percpu_stats_show numbers)", () => {
  it("reports the same numbers as the text, plus page counts", () => {
    const { stats, src } = buildScenario();
    const j = percpuStatsJson(stats, src);
    expect(j.allocationInfo).toEqual({
      unitSize: 0x8000,
      staticSize: 0x1200,
      reservedSize: 0x2000,
      dynSize: 0x4e00,
      atomSize: 0x1000,
      allocSize: 0x8000,
    });
    expect(j.globalStats).toEqual({
      nrAlloc: 19,
      nrDealloc: 5,
      nrCurAlloc: 14,
      nrMaxAlloc: 14,
      nrChunks: 6,
      nrMaxChunks: 7,
      minAllocSize: 4,
      maxAllocSize: 0x1000,
      emptyPopPages: 4,
    });
    expect(j.chunks.map((c) => [c.kind, c.slot, c.id, c.nrPages, c.nrPopulated])).toEqual([
      ["reserved", null, 1, 3, 3],
      ["first", 11, 0, 5, 5],
      ["normal", 12, 2, 8, 2],
      ["normal", 12, 3, 8, 1],
      ["sidelined", 14, 6, 8, 8],
      ["normal", 15, 4, 8, 0],
      ["to_depopulate", 16, 5, 8, 4],
    ]);
    expect(j.chunks[1]).toEqual({
      title: "Chunk: <- First Chunk",
      kind: "first",
      slot: 11,
      id: 0,
      nrAlloc: 3,
      maxAllocSize: 0x40,
      emptyPopPages: 4,
      firstBit: 132,
      freeBytes: 19872,
      contigBytes: 19832,
      sumFrag: 40,
      maxFrag: 32,
      curMinAlloc: 16,
      curMedAlloc: 16,
      curMaxAlloc: 64,
      nrPages: 5,
      nrPopulated: 5,
    });
    expect(j.chunks[6]!.title).toBe("Chunk (to_depopulate)");
    // Plain data: survives JSON.
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
  });
});
