/*
 * The eras as they were: each difference of the 4.14 bitmap allocator and
 * of the 3.18 core (kernel-changes.ts) against today's kernel, with the
 * result worked out by hand from the kernel sources of that release
 * (v4.14 mm/percpu.c: pcpu_chunk_slot, pcpu_chunk_update,
 * pcpu_chunk_refresh_hint, pcpu_block_update_hint_alloc/free, pcpu_alloc;
 * v3.18 pcpu_alloc and pcpu_fit_in_area). Units: 4 KiB pages, so a block
 * is BB = 1024 bits of 4 bytes.
 */
import { __GFP_NOWARN, GFP_ATOMIC, GFP_KERNEL } from "@pcpu/mm";
import { describe, expect, it } from "vitest";
import type { PcpuEra } from "../src/api.js";
import type { PcpuAreaMap } from "../src/area-map.js";
import { createAreaMapAllocator } from "../src/area-map-allocator.js";
import { bitmapSet } from "../src/bitmap.js";
import { pcpuBitmapArea } from "../src/bitmap-allocator.js";
import { pcpuKernelChanges } from "../src/kernel-changes.js";
import { allocPercpu, allocPercpuGfp, freePercpu } from "../src/percpu-api.js";
import { bootTestKernel } from "../src/testing/boot.js";
import { bitmapAlloc, makeBitmapKernel } from "./helpers/bitmap-fixture.js";
import { hints } from "./helpers/bitmap-hints.js";
import { stubBackend } from "./helpers/stub-backend.js";

describe("pcpuKernelChanges: one switch per kernel change", () => {
  it("turns the v5.1 series and v5.9's memcg accounting on from v5.14, the v4.10 and v4.14 changes from v4.14", () => {
    const on = Object.values(pcpuKernelChanges("v6"));
    expect(on.length).toBe(10);
    expect(on.every((v) => v)).toBe(true);
    expect(Object.values(pcpuKernelChanges("v5.14")).every((v) => v)).toBe(true);
    const v414 = pcpuKernelChanges("v4.14");
    expect(v414.alignPowerOfTwo && v414.gfpNowarn).toBe(true);
    expect(
      [
        v414.hintRegionOverlap,
        v414.freePathNewRegion,
        v414.slotByContigHint,
        v414.relegateFailedChunks,
        v414.emptyPagesByBlock,
        v414.blockScanHint,
        v414.rememberSkippedArea,
        v414.percpuMemcgAccounting,
      ].some((v) => v),
    ).toBe(false);
    for (const era of ["v3.18", "v2.6.32", "v2.6.30"] as const)
      expect(Object.values(pcpuKernelChanges(era)).some((v) => v)).toBe(false);
  });
});

describe("4.14 bitmap allocator (PcpuBitmapAllocator with the v5.1 changes off)", () => {
  /*
   * 2 pages = 2048 bits. A 0xaa0 (680 bits) @0, B 4 @680, C 0xaa0 @681,
   * D 4 @1361, then free A and C: free runs [0,680), [681,1361), [1362,2048)
   * (686 bits = 2744 B), free bytes 8192 - 8 = 8184. Freeing C spans blocks,
   * so the chunk hint is rescanned: 686 bits @1362 in both eras.
   *   v6  (slotByContigHint): pcpu_size_to_slot(2744) = fls(2744) - 3 = 12 - 3 = 9
   *   4.14: pcpu_size_to_slot(free_bytes 8184)       = fls(8184) - 3 = 13 - 3 = 10
   */
  it("pcpu_chunk_slot: by the largest free run (v6), by free bytes (4.14)", () => {
    for (const [era, slot] of [
      ["v6", 9],
      ["v4.14", 10],
    ] as const) {
      const { alloc, chunk } = makeBitmapKernel(2, { era });
      expect([
        bitmapAlloc(alloc, chunk, 0xaa0, 4),
        bitmapAlloc(alloc, chunk, 4, 4),
        bitmapAlloc(alloc, chunk, 0xaa0, 4),
        bitmapAlloc(alloc, chunk, 4, 4),
      ]).toEqual([0, 0xaa0, 0xaa4, 0x1544]);
      alloc.freeArea(chunk, 0);
      alloc.freeArea(chunk, 0xaa4);
      expect(chunk.freeBytes).toBe(8184);
      expect(alloc.contigBytes(chunk)).toBe(2744);
      expect(alloc.chunkSlot(chunk)).toBe(slot);
    }
  });

  /*
   * 1 page. 4 B at bits 0, 1, 2 then free bit 1: the block's free runs are
   * [1,2) and [3,1024). An 8 B (2-bit) request then lands at bit 3 in both
   * eras (bit 2 is taken), breaking the block's contig run [3,1024):
   *   v6: pcpu_block_update kept [1,2) as the scan hint; the rescan
   *       promotes it, scans from bit 2 and finds [5,1024): the run [1,2)
   *       goes back to the scan hint -> scan 1 @1, contig 1019 @5.
   *   4.14: no scan hint; the rescan starts at first_free 1 with left_free
   *       and right_free reset: contig 1019 @5, left_free 0 (no run at 0),
   *       right_free 1019, first_free still 1.
   * Snapshot: [scan_hint, scan_hint_start, contig_hint, contig_hint_start,
   * left_free, right_free, first_free].
   */
  it("no block scan hint in 4.14 (pcpu_block_update, pcpu_block_refresh_hint)", () => {
    for (const [era, want] of [
      ["v6", [1, 1, 1019, 5, 0, 1019, 1]],
      ["v4.14", [0, 0, 1019, 5, 0, 1019, 1]],
    ] as const) {
      const { alloc, chunk } = makeBitmapKernel(1, { era });
      expect([0, 1, 2].map(() => bitmapAlloc(alloc, chunk, 4, 4))).toEqual([0, 4, 8]);
      alloc.freeArea(chunk, 4);
      expect(bitmapAlloc(alloc, chunk, 8, 4)).toBe(12);
      expect(hints(pcpuBitmapArea(chunk).mdBlocks[0]!)).toEqual(want);
    }
  });

  /*
   * 1 page. 4 B at bits 0..4, so the chunk's contig run is [5,1024), 1019
   * bits at an odd start. Free bit 2 (a 1-bit run between bits 1 and 3).
   *   v6: pcpu_block_update(chunk_md, 2, 3): shorter than the contig run and
   *       before it -> chunk scan hint 1 @2, contig 1019 @5 untouched.
   *   4.14: pcpu_chunk_update(chunk, 2, s_block->contig_hint = 1019): the
   *       same length as contig_bits, and bit 2 is better aligned than bit 5
   *       (__ffs 1 > 0) -> contig_bits_start = 2. The hint now claims
   *       [2, 1021), which is not free.
   * A 4064 B (1016-bit) request aligned at 32 B (8 bits) then:
   *   v6: pad ALIGN(5, 8) - 5 = 3, 3 + 1016 = 1019 <= 1019: fits at bit 8
   *       -> offset 0x20.
   *   4.14: pad ALIGN(2, 8) - 2 = 6, 6 + 1016 = 1022 > 1019: the chunk is
   *       refused by pcpu_find_block_fit (-1) though [8,1024) is free.
   */
  it("free path: 4.14 updates the chunk hint with the start block's contig length", () => {
    for (const [era, md, off] of [
      ["v6", [1, 2, 1019, 5], 0x20],
      ["v4.14", [0, 0, 1019, 2], -1],
    ] as const) {
      const { alloc, chunk } = makeBitmapKernel(1, { era });
      expect([0, 1, 2, 3, 4].map(() => bitmapAlloc(alloc, chunk, 4, 4))).toEqual([0, 4, 8, 12, 16]);
      alloc.freeArea(chunk, 8);
      expect(hints(pcpuBitmapArea(chunk).chunkMd).slice(0, 4)).toEqual(md);
      expect(bitmapAlloc(alloc, chunk, 4064, 32)).toBe(off);
    }
  });

  /*
   * pcpu_block_update_hint_alloc on a chunk whose hint says [10, 30) is the
   * largest run, allocating bits [8, 12) (bits 8..11 were free; the hint
   * state is set by hand):
   *   v6 (hintRegionOverlap): [8,12) overlaps [10,30) -> the chunk hint is
   *       rescanned from the blocks: the block's run after the allocation,
   *       [12,1024), 1012 bits @12.
   *   4.14: only "bit_off >= contig_bits_start && bit_off < end" counts:
   *       8 < 10 -> no rescan, the hint stays 20 @10.
   */
  it("pcpu_block_update_hint_alloc: overlap test (v6) versus first-bit test (4.14)", () => {
    for (const [era, want] of [
      ["v6", [1012, 12]],
      ["v4.14", [20, 10]],
    ] as const) {
      const { alloc, chunk } = makeBitmapKernel(1, { era });
      const a = pcpuBitmapArea(chunk);
      /* bits [0, 8) allocated as one area, then bits [8, 12) set by the caller as pcpu_alloc_area does */
      expect(bitmapAlloc(alloc, chunk, 32, 4)).toBe(0);
      a.chunkMd.contigHint = 20;
      a.chunkMd.contigHintStart = 10;
      bitmapSet(a.allocMap, 8, 4);
      (
        alloc as unknown as { pcpuBlockUpdateHintAlloc(c: unknown, b: number, n: number): void }
      ).pcpuBlockUpdateHintAlloc(chunk, 8, 4);
      expect([a.chunkMd.contigHint, a.chunkMd.contigHintStart]).toEqual(want);
    }
  });

  /*
   * 8 pages, all populated and empty (nr_empty_pop_pages 8). Sleeping-size
   * requests (offset, bits):
   *   A 4 B            -> 0x0000 (page 0)
   *   B 0x1000 @0x1000 -> 0x1000 (page 1)
   *   D 0x1000 @0x1000 -> 0x2000 (page 2)
   *   E 4 B @0x1000    -> 0x3000 (page 3)
   *   free B           -> page 1 empty again
   *   F 0x1000 @0x1000 -> 0x1000 (page 1)
   * Empty populated pages are then pages 4..7: 4.
   *   v6 counts every block that turns used or free: 8 7 6 5 4 5 4.
   *   4.14 recounts only in pcpu_chunk_refresh_hint, which runs when an
   *   allocation starts inside the chunk's contig run or a free empties a
   *   block: A..E each break the run (7 6 5 4), freeing B empties block 1
   *   and the recount finds pages 1, 4..7 (5); F starts at bit 1024,
   *   outside the contig run [3073, 8192), so nothing recounts: 5, stale.
   */
  it("empty populated pages: counted per block (v6), recounted on refresh (4.14)", () => {
    for (const [era, counts] of [
      ["v6", [7, 6, 5, 4, 5, 4]],
      ["v4.14", [7, 6, 5, 4, 5, 5]],
    ] as const) {
      const { host, alloc, chunk } = makeBitmapKernel(8, { era });
      expect(chunk.nrEmptyPopPages).toBe(8);
      const seen: number[] = [];
      expect(bitmapAlloc(alloc, chunk, 4, 4)).toBe(0);
      seen.push(chunk.nrEmptyPopPages);
      expect(bitmapAlloc(alloc, chunk, 0x1000, 0x1000)).toBe(0x1000);
      seen.push(chunk.nrEmptyPopPages);
      expect(bitmapAlloc(alloc, chunk, 0x1000, 0x1000)).toBe(0x2000);
      seen.push(chunk.nrEmptyPopPages);
      expect(bitmapAlloc(alloc, chunk, 4, 0x1000)).toBe(0x3000);
      seen.push(chunk.nrEmptyPopPages);
      alloc.freeArea(chunk, 0x1000);
      seen.push(chunk.nrEmptyPopPages);
      expect(bitmapAlloc(alloc, chunk, 0x1000, 0x1000)).toBe(0x1000);
      seen.push(chunk.nrEmptyPopPages);
      expect(seen).toEqual(counts);
      /* the global count moves with the chunk's (not the reserved chunk, nothing isolated) */
      expect(host.nrEmptyPopPages).toBe(counts[5]);
    }
  });
});

/*
 * A first chunk whose dynamic record starts 0x100 into its first page
 * (static 0x5100 + reserved 0x2000 = 0x7100), with the stub backend: no
 * other chunk can be created.
 */
function bootCore(era: PcpuEra) {
  return bootTestKernel({ population: stubBackend, era, cpus: 4, staticSize: 0x5100, reservedSize: 0x2000 });
}

describe("4.14 pcpu_alloc: no relegation to slot 0", () => {
  /*
   * Three 8 B areas at the start of the dynamic record (bits 64..69 of
   * block 0), the rest filled, then the first and third freed: two 2-bit
   * holes at bits 64 and 68, 16 free bytes, contig 2 bits (8 B) @64.
   *   v6: slot by contig, pcpu_size_to_slot(8) = max(fls(8) - 3, 1) = 1.
   *   4.14: slot by free bytes, pcpu_size_to_slot(16) = fls(16) - 3 = 2.
   * An atomic 12 B request walks from pcpu_size_to_slot(12) = 1 and cannot
   * fit 3 bits in the chunk:
   *   v6: the chunk sits in slot 1 < PCPU_SLOT_FAIL_THRESHOLD (3): moved to
   *       slot 0, out of every later walk until a free relocates it.
   *   4.14: the failed chunk stays where it is (slot 2).
   */
  it("a chunk that fails a small request stays in its slot", () => {
    for (const [era, before, after] of [
      ["v6", 1, 0],
      ["v4.14", 2, 2],
    ] as const) {
      const { pcpu } = bootCore(era);
      const c = pcpu.firstChunk;
      expect(c.startOffset).toBe(0x100);
      const [a, , b] = [0, 1, 2].map(() => allocPercpu(pcpu, 8, 4)!);
      let rest = c.freeBytes;
      while (rest > 0) {
        const n = Math.min(rest, 0x1000);
        expect(allocPercpu(pcpu, n, 4)).not.toBeNull();
        rest -= n;
      }
      expect(c.freeBytes).toBe(0);
      freePercpu(pcpu, a!);
      freePercpu(pcpu, b!);
      expect(c.freeBytes).toBe(16);
      expect(c.slot).toBe(before);
      expect(allocPercpuGfp(pcpu, 12, 4, GFP_ATOMIC)).toBeNull();
      expect(c.slot).toBe(after);
    }
  });
});

/*
 * The v3.18 worked example of the area map (static 200000, reserved 8192,
 * dyn 28672, 4 CPUs, atom 2 MiB): the dynamic record's free area starts at
 * offset 0xd40 of its chunk.
 */
function boot318(era: PcpuEra = "v3.18") {
  return bootTestKernel({
    population: stubBackend,
    area: createAreaMapAllocator(),
    era,
    cpus: 4,
    staticSize: 200000,
    reservedSize: 8192,
    dynSize: 28672,
    atomSize: 0x200000,
  });
}

function mapOf(chunk: { area: unknown }): number[] {
  const m = chunk.area as PcpuAreaMap;
  return Array.from(m.map.subarray(0, m.mapUsed + 1));
}

describe("3.18 pcpu_alloc: the area map's size and alignment rules, the old warnings", () => {
  /*
   * 3.18 rounds sizes to 2 and raises alignments to 2 (the map's in-use bit
   * needs even offsets): two 6 B areas are 6 bytes apart, at 0xd40 and
   * 0xd46 -> map [0|1, 0xd40|1, 0xd46|1, 0xd4c, 0x8000|1]; a 1 B area
   * aligned at 1 takes 2 bytes at 0xd4c. The 4.14 bitmap rounds to 4:
   * 8 bytes apart.
   */
  it("sizes round to 2 and alignments to at least 2", () => {
    const { pcpu } = boot318();
    const a = allocPercpu(pcpu, 6, 2)!;
    const b = allocPercpu(pcpu, 6, 2)!;
    const c = allocPercpu(pcpu, 1, 1)!;
    expect([b - a, c - b]).toEqual([6, 6]);
    expect(mapOf(pcpu.firstChunk)).toEqual([1, 0xd41, 0xd47, 0xd4d, 0xd4e, 0x8001]);
    expect(pcpu.firstChunk.freeBytes).toBe(29376 - 14);

    const k = bootCore("v4.14");
    const x = allocPercpu(k.pcpu, 6, 2)!;
    const y = allocPercpu(k.pcpu, 6, 2)!;
    expect(y - x).toBe(8);
  });

  /*
   * No power-of-two check before v4.10: a 4 B area aligned at 6 after one
   * at 0xd40 is placed with the kernel's ALIGN(0xd44, 6) = (0xd44 + 5) & ~5
   * = 0xd48 (not a multiple of 6), leaving a 4-byte free head:
   * map [0|1, 0xd40|1, 0xd44, 0xd48|1, 0xd4c, 0x8000|1]. From v4.10 the
   * same request is illegal: WARN and NULL.
   */
  it("any even alignment is taken as ALIGN() takes it; v4.10+ refuses it", () => {
    const { pcpu, machine } = boot318();
    const a = allocPercpu(pcpu, 4, 4)!;
    const b = allocPercpu(pcpu, 4, 6)!;
    expect(b - a).toBe(8);
    expect(mapOf(pcpu.firstChunk)).toEqual([1, 0xd41, 0xd44, 0xd49, 0xd4c, 0x8001]);
    expect(machine.log.dmesg().some((l) => l.includes("illegal size"))).toBe(false);

    const k = boot318("v4.14");
    const before = k.pcpu.firstChunk.freeBytes;
    expect(allocPercpu(k.pcpu, 4, 6)).toBeNull();
    expect(k.machine.log.dmesg()).toContain("illegal size (4) or align (6) for percpu allocation");
    expect(k.pcpu.firstChunk.freeBytes).toBe(before);
  });

  /*
   * __GFP_NOWARN means nothing to 3.18 ("mm, percpu: add support for
   * __GFP_NOWARN flag" is v4.14): the illegal-request WARN and the
   * failure warning are printed, the latter with 3.18's own "PERCPU: "
   * prefix. A 32 KiB request cannot fit the 29376 free bytes and the stub
   * backend cannot create a chunk.
   */
  it("__GFP_NOWARN does not silence 3.18's warnings; v4.14 honours it", () => {
    const gfp = GFP_KERNEL | __GFP_NOWARN;
    const { pcpu, machine } = boot318();
    expect(allocPercpuGfp(pcpu, 0, 4, gfp)).toBeNull();
    expect(machine.log.dmesg()).toContain("illegal size (0) or align (4) for percpu allocation");
    expect(allocPercpuGfp(pcpu, 0x8000, 4, gfp)).toBeNull();
    expect(machine.log.dmesg()).toContain(
      "PERCPU: allocation failed, size=32768 align=4 atomic=0, failed to allocate new chunk",
    );

    const k = boot318("v4.14");
    expect(allocPercpuGfp(k.pcpu, 0, 4, gfp)).toBeNull();
    expect(allocPercpuGfp(k.pcpu, 0x8000, 4, gfp)).toBeNull();
    expect(
      k.machine.log.dmesg().some((l) => l.includes("illegal size") || l.includes("allocation failed")),
    ).toBe(false);
  });
});
