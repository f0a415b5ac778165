import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { chunkMapStats, pcpuStatsChunks } from "../src/chunk-stats.js";
import { PcpuStats } from "../src/stats.js";
import { percpuStatsText } from "../src/stats-text.js";
import { FakeChunk, FakeSource, fakeArea } from "./fake-source.js";
import { buildScenario } from "./scenario.js";

const golden = (name: string) => readFileSync(new URL(`./golden/${name}`, import.meta.url), "utf8");

describe("percpuStatsText (percpu_stats_show)", () => {
  it("renders the debugfs file byte for byte", () => {
    const { stats, src } = buildScenario();
    expect(percpuStatsText(stats, src)).toBe(golden("percpu_stats.txt"));
  });

  it("prints a kernel without a reserved chunk and before setup with zeroed alloc info", () => {
    const stats = new PcpuStats();
    const first = new FakeChunk(0, 1);
    const src = new FakeSource(first, null, 1);
    src.slots[2]!.push(first);
    const text = percpuStatsText(stats, src);
    expect(text).toBe(
      "Percpu Memory Statistics\n" +
        "Allocation Info:\n" +
        "----------------------------------------\n" +
        "  unit_size           :            0\n" +
        "  static_size         :            0\n" +
        "  reserved_size       :            0\n" +
        "  dyn_size            :            0\n" +
        "  atom_size           :            0\n" +
        "  alloc_size          :            0\n" +
        "\n" +
        "Global Stats:\n" +
        "----------------------------------------\n" +
        "  nr_alloc            :            0\n" +
        "  nr_dealloc          :            0\n" +
        "  nr_cur_alloc        :            0\n" +
        "  nr_max_alloc        :            0\n" +
        "  nr_chunks           :            0\n" +
        "  nr_max_chunks       :            0\n" +
        "  min_alloc_size      :            0\n" +
        "  max_alloc_size      :            0\n" +
        "  empty_pop_pages     :            0\n" +
        "\n" +
        "Per Chunk Stats:\n" +
        "----------------------------------------\n" +
        "Chunk: <- First Chunk\n" +
        "  nr_alloc            :            0\n" +
        "  max_alloc_size      :            0\n" +
        "  empty_pop_pages     :            1\n" +
        "  first_bit           :            0\n" +
        "  free_bytes          :         4096\n" +
        "  contig_bytes        :         4096\n" +
        "  sum_frag            :            0\n" +
        "  max_frag            :            0\n" +
        "  cur_min_alloc       :            0\n" +
        "  cur_med_alloc       :            0\n" +
        "  cur_max_alloc       :            0\n" +
        "\n",
    );
  });

  it("prints counters driven below zero unsigned, as %llu does (u64 and u32)", () => {
    const stats = new PcpuStats();
    const c = new FakeChunk(0, 1);
    stats.areaDealloc(c);
    stats.chunkDealloc();
    const src = new FakeSource(c, null, 1);
    const text = percpuStatsText(stats, src);
    expect(text).toContain("  nr_cur_alloc        : 18446744073709551615\n");
    expect(text).toContain("  nr_chunks           :   4294967295\n");
    // The chunk's nr_alloc is an int printed with %lld.
    src.slots[0]!.push(c);
    expect(percpuStatsText(stats, src)).toContain("  nr_alloc            :           -1\n");
  });

  it("widens a value longer than 12 columns instead of cutting it", () => {
    const stats = new PcpuStats();
    stats.saveAi({
      staticSize: 0,
      reservedSize: 0,
      dynSize: 0,
      unitSize: 0x10000000000,
      atomSize: 0,
      allocSize: 0,
      nrGroups: 1,
      groups: [],
    });
    const c = new FakeChunk(0, 1);
    const text = percpuStatsText(stats, new FakeSource(c, null, 1));
    expect(text).toContain("  unit_size           : 1099511627776\n");
  });
});

describe("pcpuStatsChunks (percpu_stats_show chunk walk)", () => {
  it("visits reserved first, then slots in order head to tail, with the kernel's titles", () => {
    const { src, reserved, first, dyn1, dyn2, sidelined, empty, toDep } = buildScenario();
    const entries = pcpuStatsChunks(src);
    expect(entries.map((e) => [e.chunk, e.kind, e.slot, e.title])).toEqual([
      [reserved, "reserved", null, "Chunk: <- Reserved Chunk"],
      [first, "first", 11, "Chunk: <- First Chunk"],
      [dyn1, "normal", 12, "Chunk:"],
      [dyn2, "normal", 12, "Chunk:"],
      [sidelined, "sidelined", 14, "Chunk (sidelined):"],
      [empty, "normal", 15, "Chunk:"],
      [toDep, "to_depopulate", 16, "Chunk (to_depopulate)"],
    ]);
  });

  it("titles the first chunk as such on any slot, even to_depopulate or sidelined", () => {
    const first = new FakeChunk(0, 1);
    const other = new FakeChunk(1, 1);
    const src = new FakeSource(first, null, 1);
    src.slots[src.toDepopulateSlot]!.push(first, other);
    src.slots[src.sidelinedSlot]!.push(other);
    expect(pcpuStatsChunks(src).map((e) => e.title)).toEqual([
      "Chunk (sidelined):",
      "Chunk: <- First Chunk",
      "Chunk (to_depopulate)",
    ]);
  });
});

describe("chunkMapStats (chunk_map_stats)", () => {
  it("returns zero fragments and allocations for a chunk without allocations", () => {
    const c = new FakeChunk(0, 2, 0, 0, 0);
    expect(chunkMapStats(fakeArea, c)).toEqual({
      nrAlloc: 0,
      maxAllocSize: 0,
      emptyPopPages: 0,
      firstBit: 0,
      freeBytes: 0x2000,
      contigBytes: 0x2000,
      sumFrag: 0,
      maxFrag: 0,
      curMinAlloc: 0,
      curMedAlloc: 0,
      curMaxAlloc: 0,
    });
  });

  it("ignores the hidden head and tail of a first-chunk record", () => {
    // start 0x100 hidden, end 0x100 hidden, nothing allocated: the walk
    // finds the head's last bit (63), last_alloc = 64 = start, no runs.
    const c = new FakeChunk(0, 1, 0x100, 0x100);
    const s = chunkMapStats(fakeArea, c);
    expect([s.sumFrag, s.maxFrag, s.curMinAlloc, s.curMedAlloc, s.curMaxAlloc]).toEqual([0, 0, 0, 0, 0]);
    expect(s.freeBytes).toBe(0xe00);
    expect(s.firstBit).toBe(0x40);
  });

  it("takes the median at (i + n - 1) / 2 among the allocations after sorting signed", () => {
    // Allocations 0x8, 0x10, 0x20, 0x40 with holes 0x4 and 0x30 between them.
    const stats = new PcpuStats();
    const c = new FakeChunk(0, 1);
    c.alloc(stats, 0x0, 0x8);
    c.alloc(stats, 0xc, 0x10); // hole [0x8, 0xc) = 4
    c.alloc(stats, 0x1c, 0x30); // freed below: hole of 0x30
    c.alloc(stats, 0x4c, 0x20);
    c.alloc(stats, 0x6c, 0x40);
    c.free(stats, 0x1c);
    // Runs: +8 -4 +16 -48 +32 +64 -> [-48,-4,8,16,32,64]; i = 2, n = 6:
    // sum 52, max 48, min a[2] = 8, med a[(2 + 6 - 1) / 2 = 3] = 16, max 64.
    const s = chunkMapStats(fakeArea, c);
    expect([s.sumFrag, s.maxFrag, s.curMinAlloc, s.curMedAlloc, s.curMaxAlloc]).toEqual([52, 48, 8, 16, 64]);
    expect([s.nrAlloc, s.maxAllocSize]).toEqual([4, 0x40]);
  });

  it("reads 0 only where the kernel would read past the records (a walker reporting only free runs)", () => {
    const c = new FakeChunk(0, 1);
    const onlyFree = { ...fakeArea, forEachRun: (_: unknown, fn: (n: number) => void) => fn(-0x40) };
    const s = chunkMapStats(onlyFree, c);
    expect([s.sumFrag, s.maxFrag, s.curMinAlloc, s.curMedAlloc, s.curMaxAlloc]).toEqual([
      0x40, 0x40, 0, -0x40, -0x40,
    ]);
  });
});
