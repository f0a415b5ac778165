import { describe, expect, it } from "vitest";
import type { LiveArea } from "../src/api.js";
import { bitmapSet, clearBit, setBit, testBit } from "../src/bitmap.js";
import {
  createBitmapAllocator,
  type PcpuBitmapAllocator,
  PcpuBitmapArea,
  PcpuRegionCursor,
  pcpuBitmapArea,
  pcpuChunkRefreshHint,
  pcpuFindZeroArea,
  pcpuNextFitRegion,
  pcpuNextMdFreeRegion,
  pcpuRegionOverlap,
} from "../src/bitmap-allocator.js";
import { bitmapAlloc, FakeChunk, FakeHost, makeBitmapKernel, mulberry32 } from "./helpers/bitmap-fixture.js";
import { type Hints, hints, setHints } from "./helpers/bitmap-hints.js";

/*
 * Hint snapshots are [scan, scan_start, contig, contig_start, left_free,
 * right_free, first_free] in bits. 4 KiB pages: BB = 0x400; a 4-page chunk
 * has map_bits 0x1000 and unit size 0x4000, so the free slot is
 * __pcpu_size_to_slot(0x4000) + 2 = 14.
 */

const FREE: Hints = [0, 0, 0x400, 0, 0x400, 0x400, 0];

function blocks(chunk: FakeChunk): Hints[] {
  return pcpuBitmapArea(chunk).mdBlocks.map(hints);
}
function chunkMd(chunk: FakeChunk): Hints {
  return hints(pcpuBitmapArea(chunk).chunkMd);
}

describe("pcpuRegionOverlap (pcpu_region_overlap)", () => {
  it("half-open overlap, with the zero-length quirk", () => {
    expect(pcpuRegionOverlap(0, 4, 4, 8)).toBe(false);
    expect(pcpuRegionOverlap(0, 5, 4, 8)).toBe(true);
    /* [6, 6) is empty but lies strictly inside [4, 8) */
    expect(pcpuRegionOverlap(6, 6, 4, 8)).toBe(true);
    expect(pcpuRegionOverlap(4, 4, 4, 8)).toBe(false);
    expect(pcpuRegionOverlap(0, 0, 0, 4)).toBe(false);
  });
});

describe("initChunk / freeChunk / metadataBytes (pcpu_alloc_chunk / pcpu_free_chunk)", () => {
  it("a fresh chunk: zeroed maps, initial hints, free_bytes = nr_pages * PAGE_SIZE, free slot", () => {
    const { alloc, chunk } = makeBitmapKernel(4);
    const area = pcpuBitmapArea(chunk);
    expect(area.mapBits).toBe(0x1000);
    expect(area.nrBlocks).toBe(4);
    expect(area.allocMap.length).toBe(0x80);
    expect(area.boundMap.length).toBe(0x81);
    expect(area.allocMap.every((w) => w === 0)).toBe(true);
    expect(blocks(chunk)).toEqual([FREE, FREE, FREE, FREE]);
    expect(chunkMd(chunk)).toEqual([0, 0, 0x1000, 0, 0x1000, 0x1000, 0]);
    expect(chunk.freeBytes).toBe(0x4000);
    expect(alloc.chunkSlot(chunk)).toBe(14);
    expect(alloc.firstBit(chunk)).toBe(0);
    expect(alloc.contigBytes(chunk)).toBe(0x4000);
    /* 0x200 + 0x204 bytes of maps and 4 blocks of 0x20 */
    expect(alloc.metadataBytes(chunk)).toBe(0x484);
    expect(alloc.checkChunk(chunk, [])).toBeNull();
    alloc.freeChunk(chunk);
    expect(chunk.area).toBeNull();
  });
  it("a failing metadata allocation returns false and leaves no metadata", () => {
    const host = new FakeHost(4);
    const alloc = createBitmapAllocator()(host);
    host.area = alloc;
    host.failAfter = 0;
    const chunk = new FakeChunk(2, 4);
    expect(alloc.initChunk(chunk)).toBe(false);
    expect(chunk.area).toBeNull();
    expect(host.failedCallers).toEqual(["pcpu_alloc_chunk"]);
    expect(alloc.initChunk(chunk)).toBe(true);
  });
  it("the block size must be the page size", () => {
    const host = new FakeHost(4, {
      ...new FakeHost(4).constants,
      PCPU_BITMAP_BLOCK_SIZE: 0x2000,
      PCPU_BITMAP_BLOCK_BITS: 0x800,
    });
    expect(() => createBitmapAllocator()(host)).toThrow("PCPU_BITMAP_BLOCK_SIZE must equal PAGE_SIZE");
  });
  it("is the bitmap allocator and keeps the quirk unless asked", () => {
    const host = new FakeHost(4);
    const a = createBitmapAllocator()(host) as PcpuBitmapAllocator;
    expect(a.name).toBe("bitmap");
    expect(a.fixFreeHintQuirk).toBe(false);
    expect(
      (createBitmapAllocator({ fixFreeHintQuirk: true })(host) as PcpuBitmapAllocator).fixFreeHintQuirk,
    ).toBe(true);
  });
});

describe("pcpuAllocArea / pcpuFreeArea within one block (pcpu_alloc_area / pcpu_free_area)", () => {
  it("keeps block and chunk hints, slots and empty pages step by step", () => {
    const { host, alloc, chunk } = makeBitmapKernel(4);
    const step = () => {
      const r = { reloc: host.relocations.slice(), empty: host.emptyDeltas.slice() };
      host.clearLog();
      return r;
    };

    /* 1: 0x10 bytes (4 bits) at bit 0; block 0 stops being empty */
    expect(alloc.findFit(chunk, 0x10, 0x4, false)).toBe(0);
    expect(alloc.allocArea(chunk, 0x10, 0x4, 0)).toBe(0x0);
    expect(blocks(chunk)).toEqual([[0, 0, 0x3fc, 0x4, 0, 0x3fc, 0x4], FREE, FREE, FREE]);
    expect(chunkMd(chunk)).toEqual([0, 0, 0xffc, 0x4, 0x1000, 0xffc, 0x4]);
    expect(chunk.freeBytes).toBe(0x3ff0);
    expect(chunk.nrEmptyPopPages).toBe(3);
    expect(step()).toEqual({ reloc: [{ chunk: 1, oslot: 14, nslot: 11 }], empty: [-1] });

    /* 2: 0x20 aligned 0x20 (8 bits, align 8): fit starts at first_free 4, lands at bit 8 */
    expect(alloc.findFit(chunk, 0x20, 0x20, false)).toBe(0x4);
    expect(alloc.allocArea(chunk, 0x20, 0x20, 0x4)).toBe(0x20);
    expect(blocks(chunk)[0]).toEqual([0x4, 0x4, 0x3f0, 0x10, 0, 0x3f0, 0x4]);
    expect(chunkMd(chunk)).toEqual([0, 0, 0xff0, 0x10, 0x1000, 0xff0, 0x4]);
    expect(chunk.freeBytes).toBe(0x3fd0);
    expect(step()).toEqual({ reloc: [{ chunk: 1, oslot: 11, nslot: 11 }], empty: [] });

    /* 3: 0x8 bytes fills bits [4, 6) and breaks the block's scan run */
    expect(alloc.findFit(chunk, 0x8, 0x4, false)).toBe(0x4);
    expect(alloc.allocArea(chunk, 0x8, 0x4, 0x4)).toBe(0x10);
    expect(blocks(chunk)[0]).toEqual([0, 0x4, 0x3f0, 0x10, 0, 0x3f0, 0x6]);
    expect(chunkMd(chunk)).toEqual([0, 0, 0xff0, 0x10, 0x1000, 0xff0, 0x6]);
    expect(chunk.freeBytes).toBe(0x3fc8);
    step();
    const live: LiveArea[] = [
      { off: 0x0, size: 0x10 },
      { off: 0x10, size: 0x8 },
    ];
    expect(alloc.checkChunk(chunk, [...live, { off: 0x20, size: 0x20 }])).toBeNull();

    /* 4: free 0x20: merges with [6, 8) into the block's contig run; chunk_md learns only a scan run */
    expect(alloc.freeArea(chunk, 0x20)).toBe(0x20);
    expect(blocks(chunk)[0]).toEqual([0, 0x4, 0x3fa, 0x6, 0, 0x3fa, 0x6]);
    expect(chunkMd(chunk)).toEqual([0x3fa, 0x6, 0xff0, 0x10, 0x1000, 0xff0, 0x6]);
    expect(chunk.freeBytes).toBe(0x3fe8);
    expect(step()).toEqual({ reloc: [{ chunk: 1, oslot: 11, nslot: 11 }], empty: [] });
    expect(alloc.checkChunk(chunk, live)).toBeNull();
    /* the chunk hint undercounts: [6, 0x1000) is one run (soft invariant only) */
    expect((alloc as PcpuBitmapAllocator).auditChunk(chunk)).toBe(
      "chunk 1 chunk_md: contig_hint expected 4090 (longest clear run), actual 4080",
    );

    /* 5: free bit 0 */
    expect(alloc.freeArea(chunk, 0x0)).toBe(0x10);
    expect(blocks(chunk)[0]).toEqual([0x4, 0x0, 0x3fa, 0x6, 0x4, 0x3fa, 0x0]);
    expect(chunkMd(chunk)).toEqual([0x3fa, 0x6, 0xff0, 0x10, 0x4, 0xff0, 0x0]);
    expect(chunk.freeBytes).toBe(0x3ff8);
    step();

    /* 6: the last free empties block 0 (a whole page): full chunk refresh, back to the free slot */
    expect(alloc.freeArea(chunk, 0x10)).toBe(0x8);
    expect(blocks(chunk)).toEqual([FREE, FREE, FREE, FREE]);
    expect(chunkMd(chunk)).toEqual([0, 0x6, 0x1000, 0, 0x1000, 0x1000, 0]);
    expect(chunk.freeBytes).toBe(0x4000);
    expect(chunk.nrEmptyPopPages).toBe(4);
    expect(host.nrEmptyPopPages).toBe(4);
    expect(step()).toEqual({ reloc: [{ chunk: 1, oslot: 11, nslot: 14 }], empty: [1] });
    expect(alloc.checkChunk(chunk, [])).toBeNull();
    expect((alloc as PcpuBitmapAllocator).auditChunk(chunk)).toBeNull();
  });

  it("a full chunk is in slot 0", () => {
    const { alloc, chunk } = makeBitmapKernel(4);
    expect(bitmapAlloc(alloc, chunk, 0x4000, 0x4)).toBe(0);
    expect(chunk.freeBytes).toBe(0);
    expect(alloc.chunkSlot(chunk)).toBe(0);
    expect(alloc.findFit(chunk, 0x4, 0x4, false)).toBe(-1);
    expect(chunk.nrEmptyPopPages).toBe(0);
  });

  it("a scan that runs out of the window fails without touching anything", () => {
    const { host, alloc, chunk } = makeBitmapKernel(4);
    expect(alloc.allocArea(chunk, 0x10, 0x4, 0xffd)).toBe(-1);
    expect(chunk.freeBytes).toBe(0x4000);
    expect(host.relocations).toEqual([]);
    expect(chunkMd(chunk)).toEqual([0, 0, 0x1000, 0, 0x1000, 0x1000, 0]);
  });
});

describe("pcpuBlockUpdateHintAlloc / pcpuBlockUpdateHintFree across blocks (pcpu_block_update_hint_alloc / _free)", () => {
  for (const fix of [false, true]) {
    it(`spans blocks, empties pages and refreshes the chunk (fixFreeHintQuirk ${fix})`, () => {
      const { host, alloc, chunk } = makeBitmapKernel(4, { fixFreeHintQuirk: fix });

      /* 1: 0x1800 bytes = 0x600 bits: blocks 0 and 1, two pages stop being empty */
      expect(alloc.findFit(chunk, 0x1800, 0x4, false)).toBe(0);
      expect(alloc.allocArea(chunk, 0x1800, 0x4, 0)).toBe(0);
      expect(blocks(chunk)).toEqual([
        [0, 0, 0, 0, 0, 0, 0x400],
        [0, 0, 0x200, 0x200, 0, 0x200, 0x200],
        FREE,
        FREE,
      ]);
      expect(chunkMd(chunk)).toEqual([0, 0, 0xa00, 0x600, 0x1000, 0xa00, 0x600]);
      expect(chunk.freeBytes).toBe(0x2800);
      expect(host.emptyDeltas).toEqual([-2]);
      expect(host.relocations).toEqual([{ chunk: 1, oslot: 14, nslot: 11 }]);
      host.clearLog();

      /* 2: 0x800 bytes fill the rest of block 1 */
      expect(alloc.findFit(chunk, 0x800, 0x4, false)).toBe(0x600);
      expect(alloc.allocArea(chunk, 0x800, 0x4, 0x600)).toBe(0x1800);
      expect(blocks(chunk)[1]).toEqual([0, 0, 0, 0x200, 0, 0, 0x400]);
      expect(chunkMd(chunk)).toEqual([0, 0, 0x800, 0x800, 0x1000, 0x800, 0x800]);
      expect(host.emptyDeltas).toEqual([]);
      host.clearLog();

      /* 3: 0x10 bytes at block 2's start */
      expect(alloc.findFit(chunk, 0x10, 0x4, false)).toBe(0x800);
      expect(alloc.allocArea(chunk, 0x10, 0x4, 0x800)).toBe(0x2000);
      expect(blocks(chunk)[2]).toEqual([0, 0, 0x3fc, 0x4, 0, 0x3fc, 0x4]);
      expect(chunkMd(chunk)).toEqual([0, 0, 0x7fc, 0x804, 0x1000, 0x7fc, 0x804]);
      expect(chunk.freeBytes).toBe(0x1ff0);
      expect(host.emptyDeltas).toEqual([-1]);
      expect(host.relocations).toEqual([{ chunk: 1, oslot: 11, nslot: 10 }]);
      host.clearLog();

      /* 4: free 0x1800 (bits [0x600, 0x800), block 1 only): the chunk hint update is where the quirk bites */
      expect(alloc.freeArea(chunk, 0x1800)).toBe(0x800);
      expect(blocks(chunk)[1]).toEqual([0, 0, 0x200, 0x200, 0, 0x200, 0x200]);
      expect(chunkMd(chunk)).toEqual(
        fix ? [0x200, 0x600, 0x7fc, 0x804, 0x1000, 0x7fc, 0x600] : [0, 0, 0x7fc, 0x804, 0x1000, 0x7fc, 0x600],
      );
      expect(chunk.freeBytes).toBe(0x27f0);
      expect(host.relocations).toEqual([{ chunk: 1, oslot: 10, nslot: 10 }]);
      host.clearLog();
      expect(
        alloc.checkChunk(chunk, [
          { off: 0, size: 0x1800 },
          { off: 0x2000, size: 0x10 },
        ]),
      ).toBeNull();

      /* 5: free 0 (bits [0, 0x600)): blocks 0 and 1 become empty, full chunk refresh */
      expect(alloc.freeArea(chunk, 0)).toBe(0x1800);
      expect(blocks(chunk)).toEqual([FREE, FREE, [0, 0, 0x3fc, 0x4, 0, 0x3fc, 0x4], FREE]);
      expect(chunkMd(chunk)).toEqual([0, fix ? 0x600 : 0, 0x800, 0, 0x800, 0x7fc, 0]);
      expect(chunk.freeBytes).toBe(0x3ff0);
      expect(host.emptyDeltas).toEqual([2]);
      expect(host.relocations).toEqual([{ chunk: 1, oslot: 10, nslot: 11 }]);
      host.clearLog();

      /* 6: the last free */
      expect(alloc.freeArea(chunk, 0x2000)).toBe(0x10);
      expect(blocks(chunk)).toEqual([FREE, FREE, FREE, FREE]);
      expect(chunkMd(chunk)).toEqual([0, fix ? 0x600 : 0, 0x1000, 0, 0x1000, 0x1000, 0]);
      expect(host.emptyDeltas).toEqual([1]);
      expect(host.relocations).toEqual([{ chunk: 1, oslot: 11, nslot: 14 }]);
      expect(chunk.nrEmptyPopPages).toBe(4);
      expect(alloc.checkChunk(chunk, [])).toBeNull();
    });
  }

  it("an allocation ending exactly at a block end resets the end block like a middle one", () => {
    const { host, alloc, chunk } = makeBitmapKernel(4);
    expect(bitmapAlloc(alloc, chunk, 0x10, 0x4)).toBe(0);
    host.clearLog();
    /* bits [0x4, 0x800): end block 1 wholly used (e_off == BB) */
    expect(alloc.allocArea(chunk, 0x1ff0, 0x4, 0x4)).toBe(0x10);
    expect(blocks(chunk)).toEqual([[0, 0, 0, 0x4, 0, 0, 0x400], [0, 0, 0, 0, 0, 0, 0x400], FREE, FREE]);
    expect(host.emptyDeltas).toEqual([-1]);
    expect(chunkMd(chunk)).toEqual([0, 0, 0x800, 0x800, 0x1000, 0x800, 0x800]);
  });

  it("middle blocks of an allocation keep a stale first_free", () => {
    const { host, alloc, chunk } = makeBitmapKernel(4);
    expect(bitmapAlloc(alloc, chunk, 0x10, 0x4)).toBe(0);
    host.clearLog();
    /* bits [0x4, 0xc04): block 1 and 2 are middle blocks, their first_free stays 0 */
    expect(alloc.allocArea(chunk, 0x3000, 0x4, 0x4)).toBe(0x10);
    expect(blocks(chunk)).toEqual([
      [0, 0, 0, 0x4, 0, 0, 0x400],
      [0, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0],
      [0, 0, 0x3fc, 0x4, 0, 0x3fc, 0x4],
    ]);
    expect(host.emptyDeltas).toEqual([-3]);
    expect(chunkMd(chunk)).toEqual([0, 0, 0x3fc, 0xc04, 0x1000, 0x3fc, 0xc04]);
    expect(
      alloc.checkChunk(chunk, [
        { off: 0, size: 0x10 },
        { off: 0x10, size: 0x3000 },
      ]),
    ).toBeNull();
    /* freeing resets the middle blocks to wholly free */
    expect(alloc.freeArea(chunk, 0x10)).toBe(0x3000);
    expect(blocks(chunk)).toEqual([[0, 0, 0x3fc, 0x4, 0, 0x3fc, 0x4], FREE, FREE, FREE]);
    expect(host.emptyDeltas).toEqual([-3, 3]);
    expect(chunkMd(chunk)).toEqual([0, 0, 0xffc, 0x4, 0x1000, 0xffc, 0x4]);
  });
});

describe("the free-path chunk-hint quirk (pcpu_block_update_hint_free)", () => {
  /* Fill a 4-page chunk with eight 0x800-byte areas, then free the one at 0x2800 (block 2). */
  function filled(fix: boolean) {
    const k = makeBitmapKernel(4, { fixFreeHintQuirk: fix });
    for (let i = 0; i < 8; i++) expect(bitmapAlloc(k.alloc, k.chunk, 0x800, 0x4)).toBe(i * 0x800);
    return k;
  }

  it("filling leaves every block full and chunk_md with no contig hint", () => {
    const { host, alloc, chunk } = filled(false);
    const full: Hints = [0, 0, 0, 0x200, 0, 0, 0x400];
    expect(blocks(chunk)).toEqual([full, full, full, full]);
    expect(chunkMd(chunk)).toEqual([0, 0, 0, 0xe00, 0x1000, 0x200, 0x1000]);
    expect(chunk.freeBytes).toBe(0);
    expect(alloc.chunkSlot(chunk)).toBe(0);
    expect(host.emptyDeltas).toEqual([-1, -1, -1, -1]);
  });

  it("by default a small free outside block 0 does not raise the chunk contig hint", () => {
    const { host, alloc, chunk } = filled(false);
    host.clearLog();
    expect(alloc.freeArea(chunk, 0x2800)).toBe(0x800);
    expect(blocks(chunk)[2]).toEqual([0, 0, 0x200, 0x200, 0, 0x200, 0x200]);
    expect(chunkMd(chunk)).toEqual([0, 0, 0, 0xe00, 0x1000, 0x200, 0xa00]);
    expect(chunk.freeBytes).toBe(0x800);
    expect(host.relocations).toEqual([{ chunk: 1, oslot: 0, nslot: 0 }]);
    /* 2 KiB are free in one run, yet the chunk refuses 0x100 bytes */
    expect(alloc.findFit(chunk, 0x100, 0x4, false)).toBe(-1);
    expect((alloc as PcpuBitmapAllocator).auditChunk(chunk)).toBe(
      "chunk 1 chunk_md: contig_hint expected 512 (longest clear run), actual 0",
    );

    /* a free that empties a whole block repairs it with a full refresh */
    host.clearLog();
    expect(alloc.freeArea(chunk, 0x2000)).toBe(0x800);
    expect(blocks(chunk)[2]).toEqual(FREE);
    expect(chunkMd(chunk)).toEqual([0, 0, 0x400, 0x800, 0x1000, 0x200, 0x800]);
    expect(host.relocations).toEqual([{ chunk: 1, oslot: 0, nslot: 10 }]);
    expect(host.emptyDeltas).toEqual([1]);
  });

  it("with fixFreeHintQuirk the same free raises it", () => {
    const { host, alloc, chunk } = filled(true);
    host.clearLog();
    expect(alloc.freeArea(chunk, 0x2800)).toBe(0x800);
    expect(chunkMd(chunk)).toEqual([0, 0, 0x200, 0xa00, 0x1000, 0x200, 0xa00]);
    expect(host.relocations).toEqual([{ chunk: 1, oslot: 0, nslot: 9 }]);
    expect(alloc.findFit(chunk, 0x100, 0x4, false)).toBe(0xa00);
    expect((alloc as PcpuBitmapAllocator).auditChunk(chunk)).toBeNull();

    host.clearLog();
    expect(alloc.freeArea(chunk, 0x2000)).toBe(0x800);
    expect(chunkMd(chunk)).toEqual([0, 0, 0x400, 0x800, 0x1000, 0x200, 0x800]);
    expect(host.relocations).toEqual([{ chunk: 1, oslot: 9, nslot: 10 }]);
  });

  it("a free inside block 0 raises the chunk hint either way", () => {
    const { alloc, chunk } = filled(false);
    expect(alloc.freeArea(chunk, 0x800)).toBe(0x800);
    expect(chunkMd(chunk)).toEqual([0, 0, 0x200, 0x200, 0x1000, 0x200, 0x200]);
    expect(alloc.chunkSlot(chunk)).toBe(9);
  });
});

describe("pcpuFindZeroArea (pcpu_find_zero_area)", () => {
  function map(...set: number[]): Uint32Array {
    const m = new Uint32Array(2);
    for (const b of set) setBit(m, b);
    return m;
  }

  it("returns the first fit and remembers the blocked run before it", () => {
    const cur = new PcpuRegionCursor();
    expect(pcpuFindZeroArea(map(0x5, 0x14), 0x40, 0, 0x8, 0, cur)).toBe(0x6);
    expect([cur.bitOff, cur.bits]).toEqual([0x0, 0x5]);
  });
  it("on equal lengths prefers the better aligned run, but never replaces a run at 0", () => {
    const m = map(0x4, 0x9, 0xe, 0x13, 0x18);
    const cur = new PcpuRegionCursor();
    expect(pcpuFindZeroArea(m, 0x40, 0x5, 0x5, 0, cur)).toBe(0x19);
    expect([cur.bitOff, cur.bits]).toEqual([0x14, 0x4]);
    const cur0 = new PcpuRegionCursor();
    expect(pcpuFindZeroArea(m, 0x40, 0x0, 0x5, 0, cur0)).toBe(0x19);
    expect([cur0.bitOff, cur0.bits]).toEqual([0x0, 0x4]);
  });
  it("aligns each candidate; bits skipped by alignment are not remembered", () => {
    const cur = new PcpuRegionCursor();
    expect(pcpuFindZeroArea(map(0x4, 0x9, 0xe, 0x13, 0x18), 0x40, 0x1, 0x4, 0x7, cur)).toBe(0x20);
    expect([cur.bitOff, cur.bits]).toEqual([0x10, 0x3]);
  });
  it("fails with the overrunning end (> size)", () => {
    const m = new Uint32Array([0xffffffff, 0x0fffffff]);
    const cur = new PcpuRegionCursor();
    expect(pcpuFindZeroArea(m, 0x40, 0, 0x5, 0, cur)).toBe(0x41);
    expect(pcpuFindZeroArea(m, 0x40, 0, 0x4, 0, cur)).toBe(0x3c);
  });
});

describe("alignment-shifted fits and pcpuBlockUpdateScan (pcpu_alloc_area / pcpu_block_update_scan)", () => {
  it("a remembered run is extended back over the alignment padding", () => {
    const { alloc, chunk } = makeBitmapKernel(4);
    expect(bitmapAlloc(alloc, chunk, 0x4, 0x4)).toBe(0x0);
    expect(bitmapAlloc(alloc, chunk, 0x9c, 0x4)).toBe(0x4);
    expect(bitmapAlloc(alloc, chunk, 0x4, 0x4)).toBe(0xa0);
    expect(alloc.freeArea(chunk, 0x4)).toBe(0x9c);
    expect(blocks(chunk)[0]).toEqual([0x27, 0x1, 0x3d7, 0x29, 0, 0x3d7, 0x1]);
    expect(chunkMd(chunk)).toEqual([0x27, 0x1, 0xfd7, 0x29, 0x1000, 0xfd7, 0x1]);

    /* 4 bytes at bit 1 break both scan runs */
    expect(bitmapAlloc(alloc, chunk, 0x4, 0x4)).toBe(0x4);
    expect(blocks(chunk)[0]).toEqual([0, 0x1, 0x3d7, 0x29, 0, 0x3d7, 0x2]);
    expect(chunkMd(chunk)).toEqual([0, 0x1, 0xfd7, 0x29, 0x1000, 0xfd7, 0x2]);

    /*
     * 0x80 bytes aligned 0x40 (0x20 bits, align 0x10): the fit walk says
     * start at first_free 2; the scan aligns 2 up to 0x10, is blocked at 0x28
     * (remembering [0x10, 0x28)), and lands at 0x30. The remembered run is
     * recovered back to bit 2: scan hint 0x26 at 2.
     */
    expect(alloc.findFit(chunk, 0x80, 0x40, false)).toBe(0x2);
    expect(alloc.allocArea(chunk, 0x80, 0x40, 0x2)).toBe(0xc0);
    expect(blocks(chunk)[0]).toEqual([0x26, 0x2, 0x3b0, 0x50, 0, 0x3b0, 0x2]);
    expect(chunkMd(chunk)).toEqual([0, 0x1, 0xfb0, 0x50, 0x1000, 0xfb0, 0x2]);
    expect(chunk.freeBytes).toBe(0x3f74);
    expect(
      alloc.checkChunk(chunk, [
        { off: 0x0, size: 0x4 },
        { off: 0x4, size: 0x4 },
        { off: 0xa0, size: 0x4 },
        { off: 0xc0, size: 0x80 },
      ]),
    ).toBeNull();
  });

  it("a request larger than the scan run starts past it (pcpu_next_hint)", () => {
    const { alloc, chunk } = makeBitmapKernel(4);
    expect(bitmapAlloc(alloc, chunk, 0x4, 0x4)).toBe(0x0);
    expect(bitmapAlloc(alloc, chunk, 0x40, 0x40)).toBe(0x40);
    expect(blocks(chunk)[0]).toEqual([0xf, 0x1, 0x3e0, 0x20, 0, 0x3e0, 0x1]);
    /* 0x50 bytes = 0x14 bits > scan 0xf: the block walk starts at 0x10, past the scan run */
    expect(alloc.findFit(chunk, 0x50, 0x4, false)).toBe(0x10);
    expect(alloc.findFit(chunk, 0x3c, 0x4, false)).toBe(0x1);
  });
});

describe("pcpuFindBlockFit with pop_only and pcpuIsPopulated (pcpu_find_block_fit / pcpu_is_populated)", () => {
  function partly(pages: number[]) {
    const k = makeBitmapKernel(4, { populated: false });
    for (const p of pages) k.chunk.populate(p, p + 1, k.host);
    k.host.clearLog();
    return k;
  }

  it("skips unpopulated pages to the next populated one", () => {
    const { alloc, chunk } = partly([0, 2]);
    expect(chunk.nrEmptyPopPages).toBe(2);
    expect(bitmapAlloc(alloc, chunk, 0x800, 0x4, true)).toBe(0x0);
    /* the fit at bit 0x200 spans page 1 (unpopulated): restart at page 2 */
    expect(alloc.findFit(chunk, 0x1000, 0x4, true)).toBe(0x800);
    expect(alloc.findFit(chunk, 0x1000, 0x4, false)).toBe(0x200);
    expect(alloc.allocArea(chunk, 0x1000, 0x4, 0x800)).toBe(0x2000);
    expect(chunk.nrEmptyPopPages).toBe(0);
    expect(
      alloc.checkChunk(chunk, [
        { off: 0x0, size: 0x800 },
        { off: 0x2000, size: 0x1000 },
      ]),
    ).toBeNull();
  });
  it("a two-page request needs two populated pages in a row", () => {
    expect(partly([0, 2]).alloc.findFit(partly([0, 2]).chunk, 0x2000, 0x4, true)).toBe(-1);
    const k = partly([0, 2, 3]);
    expect(k.alloc.findFit(k.chunk, 0x2000, 0x4, true)).toBe(0x800);
  });
  it("nothing populated: pop_only fails, a sleeping fit does not care", () => {
    const { alloc, chunk } = partly([]);
    expect(alloc.findFit(chunk, 0x10, 0x4, true)).toBe(-1);
    expect(alloc.findFit(chunk, 0x10, 0x4, false)).toBe(0);
  });
  it("pcpuIsPopulated reports the next populated page after a hole", () => {
    const { alloc, chunk } = partly([0, 3]);
    const a = alloc as PcpuBitmapAllocator;
    const cur = new PcpuRegionCursor();
    expect(a.pcpuIsPopulated(chunk, 0x0, 0x400, cur)).toBe(true);
    expect(a.pcpuIsPopulated(chunk, 0x3ff, 0x2, cur)).toBe(false);
    expect(cur.nextOff).toBe(0x800);
    expect(a.pcpuIsPopulated(chunk, 0x3ff, 0xa00, cur)).toBe(false);
    expect(cur.nextOff).toBe(0xc00);
  });
  it("the chunk hint check counts the alignment padding (pcpu_check_block_hint)", () => {
    const { alloc, chunk } = makeBitmapKernel(1);
    expect(bitmapAlloc(alloc, chunk, 0x4, 0x4)).toBe(0);
    /* 0x3ff free bits from bit 1; 0x800 bytes aligned 0x800 would need bit 0x200 .. 0x400 */
    expect(alloc.findFit(chunk, 0x800, 0x800, false)).toBe(0x1);
    expect(alloc.findFit(chunk, 0xc00, 0x800, false)).toBe(-1);
  });
});

describe("pcpuNextMdFreeRegion / pcpuNextFitRegion (pcpu_next_md_free_region / pcpu_next_fit_region)", () => {
  function area(): PcpuBitmapArea {
    const a = new PcpuBitmapArea(4, 0x1000);
    setHints(a.mdBlocks[0], [0, 0, 0x64, 0xc8, 0, 0x32, 0]);
    setHints(a.mdBlocks[1], [0, 0, 0x400, 0, 0x400, 0x400, 0]);
    setHints(a.mdBlocks[2], [0, 0, 0x1f4, 0x190, 0x1e, 0, 0]);
    setHints(a.mdBlocks[3], [0, 0, 0, 0, 0, 0, 0x400]);
    return a;
  }

  it("reports interior contig runs and right edges joined with following left edges", () => {
    const a = area();
    const cur = new PcpuRegionCursor();
    const seen: [number, number][] = [];
    cur.bitOff = 0;
    for (pcpuNextMdFreeRegion(a, cur); cur.bitOff < a.mapBits; ) {
      seen.push([cur.bitOff, cur.bits]);
      cur.bitOff += cur.bits + 1;
      pcpuNextMdFreeRegion(a, cur);
    }
    expect(seen).toEqual([
      [0xc8, 0x64],
      [0x3ce, 0x450],
      [0x990, 0x1f4],
    ]);
    expect([cur.bitOff, cur.bits]).toEqual([0x1000, 0]);
  });

  it("fit regions: a carried right edge, an aligned contig run, or map_bits", () => {
    const a = area();
    const cur = new PcpuRegionCursor();
    /* 0x64 bits fit block 0's contig run: the scan starts at first_free 0 */
    cur.bitOff = 0;
    pcpuNextFitRegion(a, 0x64, 0x1, cur);
    expect([cur.bitOff, cur.bits]).toEqual([0x0, 0x12c]);
    /* 0x65 bits: block 0's right edge (0x32 from 0x3ce) carried into block 1 */
    cur.bitOff = 0;
    pcpuNextFitRegion(a, 0x65, 0x1, cur);
    expect([cur.bitOff, cur.bits]).toEqual([0x3ce, 0x432]);
    /* aligned 0x40: the right edge aligns up to 0x400 in block 0 (0 bits), so block 1 is examined itself */
    cur.bitOff = 0;
    pcpuNextFitRegion(a, 0x100, 0x40, cur);
    expect([cur.bitOff, cur.bits]).toEqual([0x400, 0x100]);
    /* nothing can hold 0x500 bits starting in block 2 */
    cur.bitOff = 0x800;
    pcpuNextFitRegion(a, 0x500, 0x1, cur);
    expect(cur.bitOff).toBe(0x1000);
  });
});

describe("pcpuChunkRefreshHint (pcpu_chunk_refresh_hint)", () => {
  /* blocks 0-2 full, block 3 free; chunk_md holds a stale scan run and contig run */
  function area(): PcpuBitmapArea {
    const a = new PcpuBitmapArea(4, 0x1000);
    for (let i = 0; i < 3; i++) setHints(a.mdBlocks[i], [0, 0, 0, 0, 0, 0, 0x400]);
    setHints(a.chunkMd, [0x10, 0x20, 0x30, 0x100, 0x40, 0, 0xc00]);
    return a;
  }
  it("a full scan restarts at first_free and does not clear the scan hint", () => {
    const a = area();
    pcpuChunkRefreshHint(a, true, new PcpuRegionCursor());
    expect(hints(a.chunkMd)).toEqual([0x10, 0x20, 0x400, 0xc00, 0x40, 0x400, 0xc00]);
  });
  it("otherwise the scan hint is promoted and the walk starts after it", () => {
    const a = area();
    a.chunkMd.firstFree = 0;
    pcpuChunkRefreshHint(a, false, new PcpuRegionCursor());
    /* promoted to contig 0x10 at 0x20, then demoted again by the larger run at 0xc00 */
    expect(hints(a.chunkMd)).toEqual([0x10, 0x20, 0x400, 0xc00, 0x40, 0x400, 0]);
  });
});

describe("initFirstChunk (pcpu_alloc_first_chunk steps 5-6)", () => {
  it("the dynamic chunk of the worked example: start_offset 3392, 8 pages", () => {
    const host = new FakeHost(128);
    const alloc = createBitmapAllocator()(host);
    host.area = alloc;
    const chunk = new FakeChunk(0, 8, 3392, 0, true);
    chunk.populate(0, 8, host);
    chunk.freeBytes = 29376;
    host.clearLog();

    alloc.initFirstChunk(chunk);
    const area = pcpuBitmapArea(chunk);
    expect(testBit(area.allocMap, 0x34f)).toBe(true);
    expect(testBit(area.allocMap, 0x350)).toBe(false);
    expect(testBit(area.boundMap, 0)).toBe(true);
    expect(testBit(area.boundMap, 0x350)).toBe(true);
    expect(chunk.freeBytes).toBe(29376);
    expect(chunkMd(chunk)).toEqual([0, 0, 7344, 848, 0x2000, 7344, 848]);
    expect(blocks(chunk)[0]).toEqual([0, 0, 0xb0, 0x350, 0, 0xb0, 0x350]);
    expect(blocks(chunk).slice(1)).toEqual(Array(7).fill(FREE));
    expect(host.emptyDeltas).toEqual([-1]);
    expect(chunk.nrEmptyPopPages).toBe(7);
    expect(host.nrEmptyPopPages).toBe(7);
    expect(alloc.chunkSlot(chunk)).toBe(12);
    expect(alloc.firstBit(chunk)).toBe(848);
    expect(alloc.contigBytes(chunk)).toBe(29376);
    expect(alloc.checkChunk(chunk, [])).toBeNull();
    expect(alloc.isAllocStart(chunk, 0)).toBe(false);

    /* allocations start right after the hidden head */
    expect(bitmapAlloc(alloc, chunk, 0x10, 0x4)).toBe(0xd40);
    expect(bitmapAlloc(alloc, chunk, 0x20, 0x4)).toBe(0xd50);
    expect(bitmapAlloc(alloc, chunk, 0x10, 0x4)).toBe(0xd70);
    expect(alloc.isAllocStart(chunk, 0xd50)).toBe(true);
    expect(alloc.freeArea(chunk, 0xd50)).toBe(0x20);
    expect(alloc.isAllocStart(chunk, 0xd40)).toBe(true);
    expect(alloc.isAllocStart(chunk, 0xd44)).toBe(false);
    expect(alloc.isAllocStart(chunk, 0xd50)).toBe(false);
    expect(alloc.isAllocStart(chunk, 0xd42)).toBe(false);
    const runs: number[] = [];
    alloc.forEachRun(chunk, (b) => runs.push(b));
    expect(runs).toEqual([0x10, -0x20, 0x10]);
    expect(
      alloc.checkChunk(chunk, [
        { off: 0xd40, size: 0x10 },
        { off: 0xd70, size: 0x10 },
      ]),
    ).toBeNull();
  });

  it("the reserved chunk of the worked example: 3 pages, end_offset 704", () => {
    const host = new FakeHost(128);
    const alloc = createBitmapAllocator()(host);
    host.area = alloc;
    const chunk = new FakeChunk(-1, 3, 3392, 704, true);
    host.reserved = chunk;
    chunk.populate(0, 3, host);
    chunk.freeBytes = 0x2000;
    host.clearLog();

    alloc.initFirstChunk(chunk);
    const area = pcpuBitmapArea(chunk);
    expect(blocks(chunk)).toEqual([[0, 0, 0xb0, 0x350, 0, 0xb0, 0x350], FREE, [0, 0, 0x350, 0, 0x350, 0, 0]]);
    /* right_free keeps the value of the first refresh: the second one never reaches the chunk end */
    expect(chunkMd(chunk)).toEqual([0, 0, 0x800, 0x350, 0xc00, 0x8b0, 0x350]);
    for (const b of [0, 0x350, 0xb50, 0xc00]) expect(testBit(area.boundMap, b)).toBe(true);
    expect(testBit(area.allocMap, 0xb4f)).toBe(false);
    expect(testBit(area.allocMap, 0xb50)).toBe(true);
    expect(testBit(area.allocMap, 0xbff)).toBe(true);
    expect(host.emptyDeltas).toEqual([-1, -1]);
    expect(chunk.nrEmptyPopPages).toBe(1);
    expect(host.nrEmptyPopPages).toBe(0);
    expect(alloc.checkChunk(chunk, [])).toBeNull();
    expect(alloc.isAllocStart(chunk, 0x2d40)).toBe(false);

    const runs: number[] = [];
    alloc.forEachRun(chunk, (b) => runs.push(b));
    expect(runs).toEqual([]);

    /* the whole reserved region; percpu_stats' window misses its last bit */
    expect(bitmapAlloc(alloc, chunk, 0x2000, 0x4)).toBe(0xd40);
    alloc.forEachRun(chunk, (b) => runs.push(b));
    expect(runs).toEqual([0x1ffc]);
    expect(alloc.checkChunk(chunk, [{ off: 0xd40, size: 0x2000 }])).toBeNull();
  });

  it("reuses metadata made by initChunk", () => {
    const host = new FakeHost(4);
    const alloc = createBitmapAllocator()(host);
    host.area = alloc;
    const chunk = new FakeChunk(0, 4, 0x10, 0, true);
    expect(alloc.initChunk(chunk)).toBe(true);
    const area = chunk.area;
    alloc.initFirstChunk(chunk);
    expect(chunk.area).toBe(area);
    expect(blocks(chunk)[0]).toEqual([0, 0, 0x3fc, 0x4, 0, 0x3fc, 0x4]);
  });
});

describe("forEachRun (mm/percpu-stats.c chunk_map_stats walk)", () => {
  it("an empty chunk has no runs", () => {
    const { alloc, chunk } = makeBitmapKernel(4);
    const runs: number[] = [];
    alloc.forEachRun(chunk, (b) => runs.push(b));
    expect(runs).toEqual([]);
  });
  it("holes between allocations, nothing after the last one", () => {
    const { alloc, chunk } = makeBitmapKernel(4);
    expect(bitmapAlloc(alloc, chunk, 0x10, 0x4)).toBe(0x0);
    expect(bitmapAlloc(alloc, chunk, 0x20, 0x20)).toBe(0x20);
    expect(bitmapAlloc(alloc, chunk, 0x1000, 0x1000)).toBe(0x1000);
    expect(bitmapAlloc(alloc, chunk, 0x8, 0x4)).toBe(0x10);
    expect(alloc.freeArea(chunk, 0x20)).toBe(0x20);
    const runs: number[] = [];
    alloc.forEachRun(chunk, (b) => runs.push(b));
    expect(runs).toEqual([0x10, 0x8, -0xfe8, 0x1000]);
  });
  it("an allocation ending at the last bit is cut short by one bit (literal kernel window)", () => {
    const { alloc, chunk } = makeBitmapKernel(4);
    expect(bitmapAlloc(alloc, chunk, 0x3ff0, 0x4)).toBe(0x0);
    expect(bitmapAlloc(alloc, chunk, 0x10, 0x4)).toBe(0x3ff0);
    const runs: number[] = [];
    alloc.forEachRun(chunk, (b) => runs.push(b));
    expect(runs).toEqual([0x3ff0, 0xc]);
  });
  it("only the last bit allocated: the 'not found' index itself is tested", () => {
    const { alloc, chunk } = makeBitmapKernel(4);
    expect(bitmapAlloc(alloc, chunk, 0x3ffc, 0x4)).toBe(0x0);
    expect(bitmapAlloc(alloc, chunk, 0x4, 0x4)).toBe(0x3ffc);
    expect(alloc.freeArea(chunk, 0x0)).toBe(0x3ffc);
    const runs: number[] = [];
    alloc.forEachRun(chunk, (b) => runs.push(b));
    expect(runs).toEqual([-0x3ffc, 0x4]);
  });
});

describe("checkChunk (spec 12.1 invariants 1-10)", () => {
  const LIVE: LiveArea[] = [
    { off: 0x0, size: 0x10 },
    { off: 0x20, size: 0x20 },
    { off: 0x10, size: 0x8 },
  ];
  function setup() {
    const k = makeBitmapKernel(4);
    expect(bitmapAlloc(k.alloc, k.chunk, 0x10, 0x4)).toBe(0x0);
    expect(bitmapAlloc(k.alloc, k.chunk, 0x20, 0x20)).toBe(0x20);
    expect(bitmapAlloc(k.alloc, k.chunk, 0x8, 0x4)).toBe(0x10);
    expect(k.alloc.checkChunk(k.chunk, LIVE)).toBeNull();
    return { ...k, area: pcpuBitmapArea(k.chunk) };
  }
  const cases: [string, (k: ReturnType<typeof setup>) => LiveArea[] | undefined, string][] = [
    [
      "1: a stray allocated bit",
      (k) => void setBit(k.area.allocMap, 0x500),
      "chunk 1 block 1: alloc_map bit 1280 (byte 0x1400) expected 0, actual 1",
    ],
    [
      "1: a live area the map does not know",
      () => [...LIVE, { off: 0x2000, size: 0x4 }],
      "chunk 1 block 2: alloc_map bit 2048 (byte 0x2000) expected 1, actual 0",
    ],
    [
      "1: overlapping live areas",
      () => [...LIVE, { off: 0x24, size: 0x4 }],
      "chunk 1: live areas at 0x20 (size 0x20) and 0x24 overlap",
    ],
    [
      "1: a live area outside the chunk",
      () => [{ off: 0x3ff0, size: 0x20 }],
      "chunk 1: live area [0x3ff0, 0x4010) is not a valid range of the chunk (map_bits 4096)",
    ],
    [
      "2: a missing end bound",
      (k) => void clearBit(k.area.boundMap, 0x10),
      "chunk 1 block 0: bound_map bit 16 (end of the area at 0x20) expected 1, actual 0",
    ],
    [
      "2: a bound bit inside an allocation",
      (k) => void setBit(k.area.boundMap, 0xa),
      "chunk 1 block 0: bound_map bit 10 (inside the area at 0x20) expected 0, actual 1",
    ],
    [
      "2: a missing start bound",
      (k) => void clearBit(k.area.boundMap, 0),
      "chunk 1 block 0: bound_map bit 0 (start of the area at 0x0) expected 1, actual 0",
    ],
    [
      "3: free_bytes",
      (k) => void (k.chunk.freeBytes -= 4),
      "chunk 1: free_bytes expected 16328, actual 16324",
    ],
    ["4: nr_populated", (k) => void (k.chunk.nrPopulated = 3), "chunk 1: nr_populated expected 4, actual 3"],
    [
      "5: a live area on an unpopulated page",
      (k) => {
        clearBit(k.chunk.populated, 0);
        k.chunk.nrPopulated = 3;
        return undefined;
      },
      "chunk 1: page 0 holds the live area at 0x0 but is not populated",
    ],
    [
      "6: an empty block without contig_hint == BB",
      (k) => void (k.area.mdBlocks[1].contigHint = 0x3ff),
      "chunk 1 block 1: contig_hint expected 1024 (no allocated bit), actual 1023",
    ],
    [
      "6: a used block with contig_hint == BB",
      (k) => void (k.area.mdBlocks[0].contigHint = 0x400),
      "chunk 1 block 0: contig_hint expected < 1024 (bit 0 is allocated), actual 1024",
    ],
    [
      "8: a contig run over allocated bits",
      (k) => void (k.area.mdBlocks[0].contigHintStart = 0x8),
      "chunk 1 block 0: contig run [8, 1016) expected clear, actual bit 8 allocated",
    ],
    [
      "8: a contig run past the block",
      (k) => void (k.area.mdBlocks[0].contigHintStart = 0x20),
      "chunk 1 block 0: contig run [32, 1040) expected inside [0, 1024), actual outside",
    ],
    [
      "8: a scan run over allocated bits",
      (k) => setHints(k.area.mdBlocks[0], [0x4, 0x4, 0x3f0, 0x10, 0, 0x3f0, 0x6]) as undefined,
      "chunk 1 block 0: scan run [4, 8) expected clear, actual bit 4 allocated",
    ],
    [
      "8: scan_hint > contig_hint",
      (k) => setHints(k.area.mdBlocks[0], [0x2, 0x6, 0x1, 0x10, 0, 0x3f0, 0x6]) as undefined,
      "chunk 1 block 0: scan_hint expected <= contig_hint (1), actual 2",
    ],
    [
      "8: left_free out of range",
      (k) => void (k.area.mdBlocks[0].leftFree = 0x401),
      "chunk 1 block 0: left_free expected in [0, 1024], actual 1025",
    ],
    [
      "8: right_free out of range",
      (k) => void (k.area.mdBlocks[0].rightFree = -1),
      "chunk 1 block 0: right_free expected in [0, 1024], actual -1",
    ],
    [
      "8: block first_free past the first clear bit",
      (k) => void (k.area.mdBlocks[0].firstFree = 0x7),
      "chunk 1 block 0: first_free expected <= 6, actual 7",
    ],
    [
      "7: nr_empty_pop_pages",
      (k) => void (k.chunk.nrEmptyPopPages = 4),
      "chunk 1: nr_empty_pop_pages expected 3, actual 4",
    ],
    [
      "9: chunk_md first_free past the first clear bit",
      (k) => void (k.area.chunkMd.firstFree = 0x7),
      "chunk 1 chunk_md: first_free expected <= 6, actual 7",
    ],
    [
      "9: chunk contig hint larger than free_bytes",
      (k) => void (k.area.chunkMd.contigHint = 0x1000),
      "chunk 1 chunk_md: contig_hint * 4 expected <= free_bytes 16328, actual 16384",
    ],
  ];
  for (const [name, corrupt, msg] of cases) {
    it(name, () => {
      const k = setup();
      const live = corrupt(k) ?? LIVE;
      expect(k.alloc.checkChunk(k.chunk, live)).toBe(msg);
    });
  }
  it("10: a free normal chunk must say so", () => {
    const { alloc, chunk } = makeBitmapKernel(4);
    pcpuBitmapArea(chunk).chunkMd.contigHint = 0xfff;
    expect(alloc.checkChunk(chunk, [])).toBe(
      "chunk 1 chunk_md: contig_hint expected 4096 (chunk is free), actual 4095",
    );
  });
  it("5: first-chunk records are immutable and fully populated", () => {
    const host = new FakeHost(4);
    const alloc = createBitmapAllocator()(host);
    host.area = alloc;
    const mutable = new FakeChunk(0, 4, 0x10, 0, false);
    mutable.populate(0, 4, host);
    mutable.freeBytes = 0x3ff0;
    alloc.initFirstChunk(mutable);
    expect(alloc.checkChunk(mutable, [])).toBe(
      "chunk 0: first-chunk record (start_offset 16, end_offset 0) expected immutable, actual mutable",
    );
    const partial = new FakeChunk(0, 4, 0x10, 0, true);
    partial.populate(0, 3, host);
    partial.freeBytes = 0x3ff0;
    alloc.initFirstChunk(partial);
    expect(alloc.checkChunk(partial, [])).toBe(
      "chunk 0: immutable chunk expected 4 populated pages, actual 3",
    );
  });
  it("a live area over a hidden edge, and a chunk without metadata", () => {
    const host = new FakeHost(4);
    const alloc = createBitmapAllocator()(host);
    host.area = alloc;
    const chunk = new FakeChunk(0, 4, 0x10, 0, true);
    chunk.populate(0, 4, host);
    chunk.freeBytes = 0x3ff0;
    alloc.initFirstChunk(chunk);
    expect(alloc.checkChunk(chunk, [{ off: 0xc, size: 0x8 }])).toBe(
      "chunk 0: live area [0xc, 0x14) overlaps a hidden edge at bit 3",
    );
    chunk.area = null;
    expect(alloc.checkChunk(chunk, [])).toBe("chunk 0: no bitmap metadata");
  });
});

describe("seeded alloc/free churn (checkChunk after every step)", () => {
  const ALIGNS = [0x4, 0x4, 0x4, 0x4, 0x8, 0x10, 0x40, 0x100, 0x1000];

  function churn(seed: number, fix: boolean, popPages: number[] | null, steps: number) {
    const nrPages = 8;
    const k = makeBitmapKernel(nrPages, { fixFreeHintQuirk: fix, populated: popPages === null });
    if (popPages) for (const p of popPages) k.chunk.populate(p, p + 1, k.host);
    const { alloc, chunk, host } = k;
    const rnd = mulberry32(seed);
    const live: LiveArea[] = [];
    const owner = new Int32Array((nrPages * 0x1000) / 4).fill(-1);
    let allocs = 0;
    let misses = 0;
    for (let step = 0; step < steps; step++) {
      const oslot = alloc.chunkSlot(chunk);
      host.clearLog();
      if (live.length === 0 || rnd() < 0.55) {
        const r = rnd();
        const size = 4 * (1 + Math.floor((r < 0.6 ? 0x10 : r < 0.9 ? 0x100 : 0x800) * rnd()));
        const align = ALIGNS[Math.floor(rnd() * ALIGNS.length)];
        const start = alloc.findFit(chunk, size, align, popPages !== null);
        if (start < 0) continue;
        const off = alloc.allocArea(chunk, size, align, start);
        if (off < 0) {
          misses++;
          continue;
        }
        allocs++;
        expect(off % align).toBe(0);
        for (let b = off / 4; b < (off + size) / 4; b++) {
          if (owner[b] !== -1) throw new Error(`step ${step}: ${off}+${size} overlaps area at ${owner[b]}`);
          owner[b] = off;
        }
        live.push({ off, size });
      } else {
        const i = Math.floor(rnd() * live.length);
        const la = live[i];
        live[i] = live[live.length - 1];
        live.pop();
        expect(alloc.isAllocStart(chunk, la.off)).toBe(true);
        expect(alloc.freeArea(chunk, la.off)).toBe(la.size);
        owner.fill(-1, la.off / 4, (la.off + la.size) / 4);
      }
      expect(host.relocations.length).toBe(1);
      expect(host.relocations[0].oslot).toBe(oslot);
      const err = alloc.checkChunk(chunk, live);
      if (err !== null) throw new Error(`step ${step}: ${err}`);
      expect(host.nrEmptyPopPages).toBe(chunk.nrEmptyPopPages);
    }
    return { allocs, misses };
  }

  it("faithful mode, fully populated", () => {
    const r = churn(0x5eed, false, null, 3000);
    expect(r.allocs).toBeGreaterThan(800);
    expect(r.misses).toBe(0);
  });
  it("fixFreeHintQuirk, fully populated", () => {
    const r = churn(0xbeef, true, null, 3000);
    expect(r.allocs).toBeGreaterThan(800);
    expect(r.misses).toBe(0);
  });
  it("pop_only on a partly populated chunk", () => {
    const r = churn(0x1234, false, [0, 2, 3, 5, 6], 2000);
    expect(r.allocs).toBeGreaterThan(400);
    expect(r.misses).toBe(0);
  });
});

describe("pcpuFindBlockFit reads chunk.populated (pcpu_find_block_fit)", () => {
  it("a page marked populated is found by pop_only", () => {
    const { alloc, chunk } = makeBitmapKernel(2, { populated: false });
    bitmapSet(chunk.populated, 1, 1);
    expect(alloc.findFit(chunk, 0x4, 0x4, true)).toBe(0x400);
  });
});
