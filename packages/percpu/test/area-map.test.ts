import { KernelBug } from "@pcpu/mm";
import { describe, expect, it } from "vitest";
import { PcpuAreaMap, pcpuCountOccupiedPages, pcpuFitInArea } from "../src/area-map.js";
import { createAreaMapAllocator, PcpuAreaMapAllocator } from "../src/area-map-allocator.js";
import {
  entries,
  FakeHost,
  makeAllocator,
  makeChunk,
  mapOf,
  newChunk,
  PAGE_SHIFT,
  populate,
  state,
  tryAlloc,
} from "./helpers/area-map-fake.js";

/*
 * Unit 8 pages of 4 KiB = 0x8000 bytes. 3.18 slots: __pcpu_size_to_slot
 * (0x8000) = 13, so nr_slots = 15 and the free slot is 14; a free size in
 * [0x4000, 0x8000) is slot 12, 0x10..0x1f is slot 2.
 */

describe("initChunk (pcpu_alloc_chunk)", () => {
  it("starts with one free area over the unit, 16 entries", () => {
    const { host, am } = makeAllocator();
    const chunk = newChunk(host, am, 1);
    expect(state(am, chunk)).toEqual({
      map: [0, 0x8001],
      free: 0x8000,
      contig: 0x8000,
      firstFree: 0,
      slot: 14,
      empty: 8,
    });
    expect(mapOf(chunk).mapAlloc).toBe(16);
    expect(mapOf(chunk).map.length).toBe(16);
    expect(am.metadataBytes(chunk)).toBe(16 * 4 + 40);
    expect(am.checkChunk(chunk, [])).toBeNull();
    expect(host.allocCalls).toEqual(["pcpu_alloc_chunk"]);
  });

  it("fails cleanly when the map allocation fails", () => {
    const { host, am } = makeAllocator();
    host.failing.add("pcpu_alloc_chunk");
    const chunk = makeChunk(1, 8);
    expect(am.initChunk(chunk)).toBe(false);
    expect(chunk.area).toBeNull();
    expect(() => am.chunkSlot(chunk)).toThrow(/chunk 1 has no area map/);
  });

  it("createAreaMapAllocator builds one allocator per host and validates its options", () => {
    const host = new FakeHost(8);
    const a = createAreaMapAllocator()(host);
    const b = createAreaMapAllocator()(host);
    expect(a).toBeInstanceOf(PcpuAreaMapAllocator);
    expect(a).not.toBe(b);
    expect(a.name).toBe("area-map");
    expect(() => createAreaMapAllocator({ earlyMapSlots: 3 })(host)).toThrow(
      /earlyMapSlots must be an integer >= 4, got 3/,
    );
  });
});

describe("initFirstChunk (pcpu_setup_first_chunk)", () => {
  it("dynamic chunk of the worked example: [1, start, end|1], 7 empty pages, slot 12", () => {
    const { host, am } = makeAllocator(128);
    const chunk = makeChunk(0, 8, { startOffset: 0xd40 });
    expect(am.initChunk(chunk)).toBe(true);
    am.initFirstChunk(chunk);
    expect(state(am, chunk)).toEqual({
      map: [1, 0xd40, 0x8001],
      free: 0x72c0,
      contig: 0x72c0,
      firstFree: 0,
      slot: 12,
      empty: 7,
    });
    expect(mapOf(chunk).mapAlloc).toBe(128);
    expect(host.nrEmptyPopPages).toBe(-1);
    expect(am.firstBit(chunk)).toBe(0);
    expect(am.checkChunk(chunk, [])).toBeNull();

    /* the first allocation skips the hidden head; page 0 was never empty */
    expect(tryAlloc(am, chunk, 0x10, 4)).toBe(0xd40);
    expect(state(am, chunk)).toEqual({
      map: [1, 0xd41, 0xd50, 0x8001],
      free: 0x72b0,
      contig: 0x72c0,
      firstFree: 2,
      slot: 12,
      empty: 7,
    });
    expect(am.firstBit(chunk)).toBe(0xd50 >>> 2);
    expect(am.checkChunk(chunk, [{ off: 0xd40, size: 0x10 }])).toBeNull();
  });

  it("reserved chunk with a hidden tail: [1, start, (end - end_offset)|1, end|1]", () => {
    const { host, am } = makeAllocator(128);
    const chunk = makeChunk(0, 3, { startOffset: 0xd40, endOffset: 0x2c0 });
    host.reserved = chunk;
    am.initChunk(chunk);
    am.initFirstChunk(chunk);
    expect(state(am, chunk)).toEqual({
      map: [1, 0xd40, 0x2d41, 0x3001],
      free: 0x2000,
      contig: 0x2000,
      firstFree: 0,
      slot: 11,
      empty: 1,
    });
    expect(host.nrEmptyPopPages).toBe(0);

    /* the whole reserved area: no split, the hint stays an upper bound */
    expect(tryAlloc(am, chunk, 0x2000, 4)).toBe(0xd40);
    expect(state(am, chunk)).toEqual({
      map: [1, 0xd41, 0x2d41, 0x3001],
      free: 0,
      contig: 0x2000,
      firstFree: 2,
      slot: 0,
      empty: 0,
    });
    expect(host.nrEmptyPopPages).toBe(0);
    const runs: number[] = [];
    am.forEachRun(chunk, (n) => runs.push(n));
    expect(runs).toEqual([0x2000]);
    expect(am.checkChunk(chunk, [{ off: 0xd40, size: 0x2000 }])).toBeNull();

    const before = entries(chunk);
    expect(() => am.freeArea(chunk, 0)).toThrow(
      /offset 0x0 is outside the managed range \[0xd40, 0x2d40\) of chunk 0/,
    );
    expect(() => am.freeArea(chunk, 0x2d40)).toThrow(/offset 0x2d40 is outside the managed range/);
    expect(entries(chunk)).toEqual(before);
    expect(am.isAllocStart(chunk, 0)).toBe(false);
    expect(am.isAllocStart(chunk, 0x2d40)).toBe(false);
    expect(am.isAllocStart(chunk, 0xd40)).toBe(true);

    expect(am.freeArea(chunk, 0xd40)).toBe(0x2000);
    expect(state(am, chunk)).toEqual({
      map: [1, 0xd40, 0x2d41, 0x3001],
      free: 0x2000,
      contig: 0x2000,
      firstFree: 1,
      slot: 11,
      empty: 1,
    });
  });

  it("counts a page touched by both hidden edges once", () => {
    const { am } = makeAllocator();
    const chunk = makeChunk(0, 1, { startOffset: 0x100, endOffset: 0xd00 });
    am.initChunk(chunk);
    am.initFirstChunk(chunk);
    expect(state(am, chunk)).toEqual({
      map: [1, 0x100, 0x301, 0x1001],
      free: 0x200,
      contig: 0x200,
      firstFree: 0,
      slot: 7,
      empty: 0,
    });
    expect(am.checkChunk(chunk, [])).toBeNull();
  });

  it("tail only, and no hidden edge at all (UP: the record reaches the free slot)", () => {
    const { am } = makeAllocator();
    const tail = makeChunk(0, 2, { endOffset: 0x800 });
    am.initChunk(tail);
    am.initFirstChunk(tail);
    expect(state(am, tail)).toEqual({
      map: [0, 0x1801, 0x2001],
      free: 0x1800,
      contig: 0x1800,
      firstFree: 0,
      slot: 10,
      empty: 1,
    });
    expect(am.checkChunk(tail, [])).toBeNull();

    const up = makeChunk(1, 8);
    am.initChunk(up);
    am.initFirstChunk(up);
    expect(state(am, up)).toEqual({
      map: [0, 0x8001],
      free: 0x8000,
      contig: 0x8000,
      firstFree: 0,
      slot: 14,
      empty: 8,
    });
  });

  it("honours earlyMapSlots", () => {
    const { am } = makeAllocator(8, 4);
    const chunk = makeChunk(0, 8, { startOffset: 0x40 });
    am.initChunk(chunk);
    am.initFirstChunk(chunk);
    expect(mapOf(chunk).mapAlloc).toBe(4);
    expect(am.metadataBytes(chunk)).toBe(4 * 4 + 40);
  });
});

describe("pcpuAllocArea / pcpuFreeArea (pcpu_alloc_area / pcpu_free_area)", () => {
  it("scripted split, align, merge-both-sides sequence", () => {
    const { host, am } = makeAllocator();
    const c = newChunk(host, am, 1);

    expect(tryAlloc(am, c, 0x10, 4)).toBe(0);
    expect(mapOf(c).mapAlloc).toBe(128);
    expect(state(am, c)).toEqual({
      map: [1, 0x10, 0x8001],
      free: 0x7ff0,
      contig: 0x8000,
      firstFree: 1,
      slot: 12,
      empty: 7,
    });
    expect(host.relocations.at(-1)).toEqual([1, 14, 12]);

    /* a 0x10 head stays a free area: the previous area is in use */
    expect(tryAlloc(am, c, 0x20, 0x20)).toBe(0x20);
    expect(state(am, c)).toEqual({
      map: [1, 0x10, 0x21, 0x40, 0x8001],
      free: 0x7fd0,
      contig: 0x8000,
      firstFree: 1,
      slot: 12,
      empty: 7,
    });

    /* the 0x10 area at first_free cannot take a page-aligned page */
    expect(tryAlloc(am, c, 0x1000, 0x1000)).toBe(0x1000);
    expect(state(am, c)).toEqual({
      map: [1, 0x10, 0x21, 0x40, 0x1001, 0x2000, 0x8001],
      free: 0x6fd0,
      contig: 0x8000,
      firstFree: 1,
      slot: 12,
      empty: 6,
    });
    const runs: number[] = [];
    am.forEachRun(c, (n) => runs.push(n));
    expect(runs).toEqual([0x10, -0x10, 0x20, -0xfc0, 0x1000]);
    expect(
      am.checkChunk(c, [
        { off: 0, size: 0x10 },
        { off: 0x20, size: 0x20 },
        { off: 0x1000, size: 0x1000 },
      ]),
    ).toBeNull();

    /* merge with both neighbours in one memmove */
    expect(am.freeArea(c, 0x20)).toBe(0x20);
    expect(state(am, c)).toEqual({
      map: [1, 0x10, 0x1001, 0x2000, 0x8001],
      free: 0x6ff0,
      contig: 0x8000,
      firstFree: 1,
      slot: 12,
      empty: 6,
    });

    expect(am.freeArea(c, 0)).toBe(0x10);
    expect(state(am, c)).toEqual({
      map: [0, 0x1001, 0x2000, 0x8001],
      free: 0x7000,
      contig: 0x8000,
      firstFree: 0,
      slot: 12,
      empty: 7,
    });

    expect(am.freeArea(c, 0x1000)).toBe(0x1000);
    expect(state(am, c)).toEqual({
      map: [0, 0x8001],
      free: 0x8000,
      contig: 0x8000,
      firstFree: 0,
      slot: 14,
      empty: 8,
    });
    expect(host.relocations.at(-1)).toEqual([1, 12, 14]);
    expect(host.nrEmptyPopPages).toBe(8);
  });

  it("the contig hint is an upper bound, exact only after a full scan", () => {
    const { host, am } = makeAllocator();
    const c = newChunk(host, am, 1);

    expect(tryAlloc(am, c, 0x7ff0, 4)).toBe(0);
    expect(state(am, c)).toEqual({
      map: [1, 0x7ff0, 0x8001],
      free: 0x10,
      contig: 0x8000,
      firstFree: 1,
      slot: 2,
      empty: 0,
    });
    expect(am.auditChunk(c)).toBe("area map of chunk 1: contig_hint 32768 above the largest free area 16");

    /* the stale hint lets the chunk be scanned; the failed scan fixes it */
    expect(am.findFit(c, 0x20, 4, false)).toBe(1);
    expect(am.allocArea(c, 0x20, 4, 1)).toBe(-1);
    expect(state(am, c)).toEqual({
      map: [1, 0x7ff0, 0x8001],
      free: 0x10,
      contig: 0x10,
      firstFree: 1,
      slot: 2,
      empty: 0,
    });
    expect(host.relocations.at(-1)).toEqual([1, 2, 2]);
    expect(am.auditChunk(c)).toBeNull();
    expect(am.findFit(c, 0x20, 4, false)).toBe(-1);

    /* exact fit of the last area: hint = what the scan saw = 0 */
    expect(tryAlloc(am, c, 0x10, 4)).toBe(0x7ff0);
    expect(state(am, c)).toEqual({
      map: [1, 0x7ff1, 0x8001],
      free: 0,
      contig: 0,
      firstFree: 2,
      slot: 0,
      empty: 0,
    });
    expect(am.findFit(c, 4, 4, false)).toBe(-1);
    expect(am.firstBit(c)).toBe(0x2000);

    expect(am.freeArea(c, 0x7ff0)).toBe(0x10);
    expect(state(am, c)).toEqual({
      map: [1, 0x7ff0, 0x8001],
      free: 0x10,
      contig: 0x10,
      firstFree: 1,
      slot: 2,
      empty: 0,
    });
    expect(am.freeArea(c, 0)).toBe(0x7ff0);
    expect(state(am, c)).toEqual({
      map: [0, 0x8001],
      free: 0x8000,
      contig: 0x8000,
      firstFree: 0,
      slot: 14,
      empty: 8,
    });
  });

  it("a head under 4 bytes joins the previous allocation; a tail under 4 bytes stays with this one", () => {
    const { host, am } = makeAllocator();
    const c = newChunk(host, am, 1);

    /* the 2014 granularity: even sizes, align >= 2 */
    expect(tryAlloc(am, c, 6, 2)).toBe(0);
    expect(state(am, c)).toEqual({
      map: [1, 6, 0x8001],
      free: 0x7ffa,
      contig: 0x8000,
      firstFree: 1,
      slot: 12,
      empty: 7,
    });

    expect(tryAlloc(am, c, 4, 4)).toBe(8);
    expect(state(am, c)).toEqual({
      map: [1, 9, 0xc, 0x8001],
      free: 0x7ff4,
      contig: 0x8000,
      firstFree: 2,
      slot: 12,
      empty: 7,
    });

    /* the first allocation now owns 8 bytes */
    expect(am.freeArea(c, 0)).toBe(8);
    expect(state(am, c)).toEqual({
      map: [0, 9, 0xc, 0x8001],
      free: 0x7ffc,
      contig: 0x8000,
      firstFree: 0,
      slot: 12,
      empty: 7,
    });

    /* 6 bytes in the 8-byte hole: the 2-byte tail is kept */
    expect(tryAlloc(am, c, 6, 2)).toBe(0);
    expect(state(am, c)).toEqual({
      map: [1, 9, 0xc, 0x8001],
      free: 0x7ff4,
      contig: 0x8000,
      firstFree: 1,
      slot: 12,
      empty: 7,
    });
    expect(
      am.checkChunk(c, [
        { off: 0, size: 6 },
        { off: 8, size: 4 },
      ]),
    ).toBeNull();
    expect(am.freeArea(c, 0)).toBe(8);
  });

  it("a head next to a free area joins it (unreachable from valid maps: crafted)", () => {
    const { host, am } = makeAllocator();
    const c = newChunk(host, am, 1);
    const m = mapOf(c);
    am.prepareChunk(c, false);
    m.map.set([1, 0x10, 0x20, 0x8001]);
    m.mapUsed = 3;
    m.firstFree = 1;
    c.freeBytes = 0x7ff0;

    expect(am.findFit(c, 0x10, 0x40, false)).toBe(1);
    expect(am.allocArea(c, 0x10, 0x40, 1)).toBe(0x40);
    expect(entries(c)).toEqual([1, 0x10, 0x41, 0x50, 0x8001]);
    expect(c.freeBytes).toBe(0x7fe0);
    expect(m.firstFree).toBe(1);
    expect(m.contigHint).toBe(0x8000);
  });

  it("binary-search free in a long map; double free and bogus offsets leave it intact", () => {
    const { host, am } = makeAllocator();
    const c = newChunk(host, am, 1);
    for (let k = 0; k < 20; k++) expect(tryAlloc(am, c, 0x10, 4)).toBe(k * 0x10);
    expect(mapOf(c).mapUsed).toBe(21);
    expect(c.freeBytes).toBe(0x7ec0);

    expect(am.freeArea(c, 0x90)).toBe(0x10);
    expect(mapOf(c).firstFree).toBe(9);
    const snap = {
      map: entries(c),
      free: c.freeBytes,
      contig: mapOf(c).contigHint,
      ff: mapOf(c).firstFree,
      empty: c.nrEmptyPopPages,
    };
    const same = () =>
      expect({
        map: entries(c),
        free: c.freeBytes,
        contig: mapOf(c).contigHint,
        ff: mapOf(c).firstFree,
        empty: c.nrEmptyPopPages,
      }).toEqual(snap);

    expect(() => am.freeArea(c, 0x90)).toThrow(
      "pcpu_free_area: BUG: free of offset 0x90 in chunk 1: the area is already free (double free)",
    );
    same();
    expect(() => am.freeArea(c, 0x94)).toThrow(
      "pcpu_free_area: BUG: free of offset 0x94 in chunk 1: no area starts there",
    );
    same();
    expect(() => am.freeArea(c, 0x41)).toThrow(
      "pcpu_free_area: BUG: free of offset 0x41 in chunk 1: no area starts there",
    );
    same();
    expect(() => am.freeArea(c, 0x140)).toThrow(/0x140 in chunk 1: the area is already free/);
    same();
    expect(() => am.freeArea(c, 0x8000)).toThrow(
      "pcpu_free_area: BUG: offset 0x8000 is outside the managed range [0x0, 0x8000) of chunk 1",
    );
    expect(() => am.freeArea(c, -4)).toThrow(/offset -0x4 is outside/);
    same();
    expect(am.isAllocStart(c, 0x90)).toBe(false);
    expect(am.isAllocStart(c, 0xa0)).toBe(true);

    /* merge with the next free area, then with the previous one */
    expect(am.freeArea(c, 0x80)).toBe(0x10);
    expect(mapOf(c).firstFree).toBe(8);
    expect(am.freeArea(c, 0xa0)).toBe(0x10);
    const expected = [1, 0x11, 0x21, 0x31, 0x41, 0x51, 0x61, 0x71, 0x80];
    for (let off = 0xb0; off <= 0x130; off += 0x10) expected.push(off | 1);
    expected.push(0x140, 0x8001);
    expect(entries(c)).toEqual(expected);
    expect(mapOf(c).mapUsed).toBe(19);
    expect(c.freeBytes).toBe(0x7ef0);
    expect(mapOf(c).firstFree).toBe(8);
  });

  it("BUGs instead of overflowing a map that prepareChunk did not grow", () => {
    const { host, am } = makeAllocator();
    const c = newChunk(host, am, 1);
    for (let k = 0; k < 13; k++) {
      expect(am.findFit(c, 4, 4, false)).toBeGreaterThanOrEqual(0);
      expect(am.allocArea(c, 4, 4, 0)).toBe(k * 4);
    }
    expect(mapOf(c).mapUsed).toBe(14);
    const before = entries(c);
    expect(() => am.allocArea(c, 4, 4, 0)).toThrow(KernelBug);
    expect(() => am.allocArea(c, 4, 4, 0)).toThrow(
      "pcpu_alloc_area: BUG: chunk 1 area map has no room for a split (map_used=14, map_alloc=16); prepareChunk must run first",
    );
    expect(entries(c)).toEqual(before);
  });
});

describe("pcpuCountOccupiedPages (pcpu_count_occupied_pages)", () => {
  it("counts straddled pages only when the free neighbour covers the rest of the page", () => {
    const { host, am } = makeAllocator();
    const c = newChunk(host, am, 1);
    expect(tryAlloc(am, c, 0x1800, 4)).toBe(0);
    expect(c.nrEmptyPopPages).toBe(6);
    expect(tryAlloc(am, c, 0x1000, 4)).toBe(0x1800);
    expect(c.nrEmptyPopPages).toBe(5);
    expect(entries(c)).toEqual([1, 0x1801, 0x2800, 0x8001]);
    const m = mapOf(c);
    expect(pcpuCountOccupiedPages(m, 0, PAGE_SHIFT)).toBe(1);
    expect(pcpuCountOccupiedPages(m, 1, PAGE_SHIFT)).toBe(1);
    expect(pcpuCountOccupiedPages(m, 2, PAGE_SHIFT)).toBe(5);

    expect(am.freeArea(c, 0)).toBe(0x1800);
    expect(c.nrEmptyPopPages).toBe(6);
    expect(am.freeArea(c, 0x1800)).toBe(0x1000);
    expect(c.nrEmptyPopPages).toBe(8);
    expect(host.nrEmptyPopPages).toBe(8);
  });

  it("a small area inside one page occupies it only if both neighbours are free", () => {
    const m = new PcpuAreaMap(0x8000, 16);
    m.map.set([0, 0x1101, 0x1200, 0x8001]);
    m.mapUsed = 3;
    expect(pcpuCountOccupiedPages(m, 1, PAGE_SHIFT)).toBe(1);
    m.map.set([1, 0x1101, 0x1200, 0x8001]);
    expect(pcpuCountOccupiedPages(m, 1, PAGE_SHIFT)).toBe(0);
    m.map.set([1, 0x1000, 0x1101, 0x1201, 0x8001]);
    m.mapUsed = 4;
    expect(pcpuCountOccupiedPages(m, 2, PAGE_SHIFT)).toBe(0);
  });
});

describe("pcpuFitInArea (pcpu_fit_in_area)", () => {
  it("pop_only restarts behind each unpopulated run", () => {
    const { host, am } = makeAllocator();
    const c = newChunk(host, am, 1, { populated: [0, 2, 3, 5, 6, 7] });
    expect(pcpuFitInArea(c, 0, 0x8000, 0x1800, 4, true, PAGE_SHIFT)).toBe(0x2000);
    expect(pcpuFitInArea(c, 0, 0x8000, 0x1800, 4, false, PAGE_SHIFT)).toBe(0);
    expect(pcpuFitInArea(c, 0, 0x8000, 0x3000, 4, true, PAGE_SHIFT)).toBe(0x5000);
    expect(pcpuFitInArea(c, 0, 0x8000, 0x3004, 4, true, PAGE_SHIFT)).toBe(-1);
    expect(pcpuFitInArea(c, 0x10, 0x30, 0x20, 0x20, false, PAGE_SHIFT)).toBe(0x10);
    expect(pcpuFitInArea(c, 0x10, 0x2f, 0x20, 0x20, false, PAGE_SHIFT)).toBe(-1);
  });

  it("atomic allocations use populated pages only; a sleeping one may take the hole", () => {
    const { host, am } = makeAllocator();
    const c = newChunk(host, am, 1, { populated: [0, 2, 3, 5, 6, 7] });
    expect(c.nrEmptyPopPages).toBe(6);

    expect(tryAlloc(am, c, 0x1800, 4, true)).toBe(0x2000);
    expect(state(am, c)).toEqual({
      map: [0, 0x2001, 0x3800, 0x8001],
      free: 0x6800,
      contig: 0x8000,
      firstFree: 0,
      slot: 12,
      empty: 4,
    });

    expect(tryAlloc(am, c, 0x1800, 4, false)).toBe(0);
    expect(entries(c)).toEqual([1, 0x1800, 0x2001, 0x3800, 0x8001]);
    expect(c.nrEmptyPopPages).toBe(2);
    populate(host, c, 1, 2);
    expect(c.nrEmptyPopPages).toBe(3);
    expect(
      am.checkChunk(c, [
        { off: 0x2000, size: 0x1800 },
        { off: 0, size: 0x1800 },
      ]),
    ).toBeNull();
  });

  it("a pop-only head at index 0 stays a free area (the kernel reads map[-1] here)", () => {
    const { host, am } = makeAllocator();
    const c = newChunk(host, am, 1, { populated: [1, 2, 3, 4, 5, 6, 7] });
    expect(tryAlloc(am, c, 0x10, 4, true)).toBe(0x1000);
    expect(state(am, c)).toEqual({
      map: [0, 0x1001, 0x1010, 0x8001],
      free: 0x7ff0,
      contig: 0x8000,
      firstFree: 0,
      slot: 12,
      empty: 6,
    });
    expect(am.checkChunk(c, [{ off: 0x1000, size: 0x10 }])).toBeNull();
  });

  it("a failed pop-only scan sets the hint to the largest free area", () => {
    const { host, am } = makeAllocator();
    const c = newChunk(host, am, 1, { populated: [0] });
    expect(tryAlloc(am, c, 0x1000, 4, true)).toBe(0);
    expect(state(am, c)).toEqual({
      map: [1, 0x1000, 0x8001],
      free: 0x7000,
      contig: 0x8000,
      firstFree: 1,
      slot: 12,
      empty: 0,
    });
    expect(tryAlloc(am, c, 4, 4, true)).toBe(-1);
    expect(state(am, c)).toEqual({
      map: [1, 0x1000, 0x8001],
      free: 0x7000,
      contig: 0x7000,
      firstFree: 1,
      slot: 12,
      empty: 0,
    });
    expect(tryAlloc(am, c, 4, 4, false)).toBe(0x1000);
    expect(entries(c)).toEqual([1, 0x1001, 0x1004, 0x8001]);
  });
});

describe("prepareChunk (pcpu_need_to_extend / pcpu_extend_area_map)", () => {
  it("sleeping callers grow the map 16 -> 128 -> 256 -> 512 to keep 64 spare entries", () => {
    const { host, am } = makeAllocator();
    const c = newChunk(host, am, 1);
    const growth: [number, number][] = [];
    let last = mapOf(c).mapAlloc;
    for (let k = 0; k < 200; k++) {
      expect(tryAlloc(am, c, 4, 4)).toBe(k * 4);
      if (mapOf(c).mapAlloc !== last) {
        last = mapOf(c).mapAlloc;
        growth.push([k, last]);
      }
    }
    expect(growth).toEqual([
      [0, 128],
      [64, 256],
      [192, 512],
    ]);
    expect(mapOf(c).map.length).toBe(512);
    expect(am.metadataBytes(c)).toBe(512 * 4 + 40);
    expect(host.allocCalls.filter((s) => s === "pcpu_extend_area_map")).toHaveLength(3);
    expect(host.scheduled).toBe(0);
  });

  it("a failed extension keeps the map and reports it", () => {
    const { host, am } = makeAllocator();
    const c = newChunk(host, am, 1);
    const before = mapOf(c).map;
    host.failing.add("pcpu_extend_area_map");
    expect(am.prepareChunk(c, false)).toBe(false);
    expect(am.lastExtendFailed).toBe(true);
    expect(mapOf(c).map).toBe(before);
    expect(mapOf(c).mapAlloc).toBe(16);
    expect(entries(c)).toEqual([0, 0x8001]);
    expect(am.checkChunk(c, [])).toBeNull();

    /* atomic callers never extend: enough room, queued, no failure */
    expect(am.prepareChunk(c, true)).toBe(true);
    expect(am.lastExtendFailed).toBe(false);
    expect(am.extendList).toEqual([c]);
    expect(host.scheduled).toBe(1);

    /* the balance work drops a chunk whose extension fails */
    am.balance();
    expect(am.extendList).toEqual([]);
    expect(mapOf(c).onExtendList).toBe(false);
    expect(mapOf(c).mapAlloc).toBe(16);

    host.failing.clear();
    expect(am.prepareChunk(c, true)).toBe(true);
    expect(host.scheduled).toBe(2);
    am.balance();
    expect(mapOf(c).mapAlloc).toBe(128);
  });

  it("atomic callers skip a chunk with fewer than 3 spare entries; balance() extends it", () => {
    const { host, am } = makeAllocator();
    const c = newChunk(host, am, 1);
    for (let k = 0; k < 13; k++) expect(tryAlloc(am, c, 4, 4, true)).toBe(k * 4);
    expect(mapOf(c).mapUsed).toBe(14);
    expect(host.scheduled).toBe(1);
    expect(am.extendList).toEqual([c]);

    expect(am.findFit(c, 4, 4, true)).toBe(13);
    expect(am.prepareChunk(c, true)).toBe(false);
    expect(am.lastExtendFailed).toBe(false);
    expect(host.scheduled).toBe(1);
    expect(mapOf(c).mapAlloc).toBe(16);

    am.balance();
    expect(mapOf(c).mapAlloc).toBe(128);
    expect(am.extendList).toEqual([]);
    expect(mapOf(c).onExtendList).toBe(false);
    expect(entries(c)).toEqual([...Array.from({ length: 13 }, (_, k) => (k * 4) | 1), 0x34, 0x8001]);

    expect(tryAlloc(am, c, 4, 4, true)).toBe(0x34);
    expect(am.extendList).toEqual([]);
    expect(host.scheduled).toBe(1);
  });

  it("freeChunk takes the chunk off the extension list", () => {
    const { host, am } = makeAllocator();
    const a = newChunk(host, am, 1);
    const b = newChunk(host, am, 2);
    expect(am.prepareChunk(a, true)).toBe(true);
    expect(am.prepareChunk(b, true)).toBe(true);
    expect(am.extendList).toEqual([a, b]);
    am.freeChunk(a);
    expect(am.extendList).toEqual([b]);
    expect(a.area).toBeNull();
    am.balance();
    expect(mapOf(b).mapAlloc).toBe(128);
  });
});

describe("pageIsEmpty / forEachRun / isAllocStart (reclaim and percpu_stats views)", () => {
  it("follows the areas of a first-chunk record", () => {
    const { am } = makeAllocator();
    const c = makeChunk(0, 8, { startOffset: 0xd40, endOffset: 0x2c0 });
    am.initChunk(c);
    am.initFirstChunk(c);
    const empties = () => Array.from({ length: 8 }, (_, i) => am.pageIsEmpty(c, i));
    expect(empties()).toEqual([false, true, true, true, true, true, true, false]);
    const runs: number[] = [];
    am.forEachRun(c, (n) => runs.push(n));
    expect(runs).toEqual([]);

    expect(tryAlloc(am, c, 0x10, 4)).toBe(0xd40);
    expect(tryAlloc(am, c, 0x10, 0x1000)).toBe(0x1000);
    expect(tryAlloc(am, c, 0x20, 4)).toBe(0xd50);
    expect(am.freeArea(c, 0xd40)).toBe(0x10);
    expect(entries(c)).toEqual([1, 0xd40, 0xd51, 0xd70, 0x1001, 0x1010, 0x7d41, 0x8001]);
    expect(empties()).toEqual([false, false, true, true, true, true, true, false]);
    am.forEachRun(c, (n) => runs.push(n));
    expect(runs).toEqual([-0x10, 0x20, -0x290, 0x10]);
    expect(c.nrEmptyPopPages).toBe(5);
    expect(
      am.checkChunk(c, [
        { off: 0xd50, size: 0x20 },
        { off: 0x1000, size: 0x10 },
      ]),
    ).toBeNull();
  });
});

describe("checkChunk (area-map invariants)", () => {
  function fixture() {
    const { host, am } = makeAllocator();
    const c = newChunk(host, am, 3);
    tryAlloc(am, c, 0x10, 4);
    tryAlloc(am, c, 0x20, 0x20);
    const live = [
      { off: 0, size: 0x10 },
      { off: 0x20, size: 0x20 },
    ];
    /* map [1, 0x10, 0x21, 0x40, 0x8001], free 0x7fd0, first_free 1 */
    expect(am.checkChunk(c, live)).toBeNull();
    return { am, c, m: mapOf(c), live };
  }
  const P = "area map of chunk 3: ";

  it("reports the map shape", () => {
    let { am, c, m, live } = fixture();
    c.area = {};
    expect(am.checkChunk(c, live)).toBe(`${P}chunk.area is not an area map`);
    ({ am, c, m, live } = fixture());
    m.mapAlloc = 129;
    expect(am.checkChunk(c, live)).toBe(`${P}map_alloc 129 but the map holds 128 entries`);
    ({ am, c, m, live } = fixture());
    m.mapUsed = 0;
    expect(am.checkChunk(c, live)).toBe(`${P}map_used 0 < 1`);
    m.mapUsed = 128;
    expect(am.checkChunk(c, live)).toBe(`${P}map_used 128 + sentinel exceeds map_alloc 128`);
    ({ am, c, m, live } = fixture());
    m.map[0] = 5;
    expect(am.checkChunk(c, live)).toBe(`${P}area 0 starts at 0x4, expected 0`);
    ({ am, c, m, live } = fixture());
    m.map[4] = 0x7001;
    expect(am.checkChunk(c, live)).toBe(`${P}sentinel map[4] = 0x7001, expected 0x8001`);
    ({ am, c, m, live } = fixture());
    m.map[2] = 0x11;
    expect(am.checkChunk(c, live)).toBe(`${P}map[2] = 0x11 does not lie above map[1] = 0x10`);
  });

  it("reports hidden edges that are not in-use areas", () => {
    const { am } = makeAllocator();
    const c = makeChunk(4, 8, { startOffset: 0x40, endOffset: 0x40 });
    am.initChunk(c);
    am.initFirstChunk(c);
    expect(am.checkChunk(c, [])).toBeNull();
    const m = mapOf(c);
    m.map[0] = 0;
    expect(am.checkChunk(c, [])).toBe(
      "area map of chunk 4: hidden head [0, 0x40) is not one in-use area (map[0] = 0x0, map[1] = 0x40)",
    );
    m.map[0] = 1;
    m.map[2] = 0x7fc0;
    expect(am.checkChunk(c, [])).toBe(
      "area map of chunk 4: hidden tail [0x7fc0, 0x8000) is not one in-use area (map[2] = 0x7fc0)",
    );
    m.map[2] = 0x7fc1;
    expect(am.checkChunk(c, [{ off: 0, size: 0x40 }])).toBe(
      "area map of chunk 4: 0 in-use areas but 1 live allocations",
    );
    tryAlloc(am, c, 0x10, 4);
    expect(am.checkChunk(c, [{ off: 0, size: 0x40 }])).toBe(
      "area map of chunk 4: live allocation at 0x0 lies in a hidden edge",
    );
  });

  it("reports free-area bookkeeping", () => {
    let { am, c, m, live } = fixture();
    m.firstFree = 5;
    expect(am.checkChunk(c, live)).toBe(`${P}first_free 5 outside [0, 4]`);
    m.firstFree = 2;
    expect(am.checkChunk(c, live)).toBe(`${P}area 1 at 0x10 is free but first_free is 2`);
    ({ am, c, m, live } = fixture());
    m.map[2] = 0x20;
    expect(am.checkChunk(c, live)).toBe(`${P}areas 1 (0x10) and 2 (0x20) are both free`);
    ({ am, c, m, live } = fixture());
    c.freeBytes += 4;
    expect(am.checkChunk(c, live)).toBe(`${P}free_size 32724 but free areas sum to 32720`);
    ({ am, c, m, live } = fixture());
    m.contigHint = 0x7fbf;
    expect(am.checkChunk(c, live)).toBe(`${P}contig_hint 32703 below the largest free area 32704`);
  });

  it("reports live allocations and empty pages that do not match", () => {
    let { am, c, live } = fixture();
    expect(am.checkChunk(c, live.slice(1))).toBe(`${P}2 in-use areas but 1 live allocations`);
    expect(am.checkChunk(c, [live[0]!, { off: 0x40, size: 4 }])).toBe(
      `${P}live allocation at 0x40 has no in-use area`,
    );
    expect(am.checkChunk(c, [live[0]!, { off: 0x20, size: 0x24 }])).toBe(
      `${P}area at 0x20 is 0x20 bytes for a live allocation of 0x24`,
    );
    expect(am.checkChunk(c, [live[0]!, { off: 0x20, size: 0x18 }])).toBe(
      `${P}area at 0x20 is 0x20 bytes for a live allocation of 0x18`,
    );
    ({ am, c, live } = fixture());
    c.nrEmptyPopPages = 8;
    expect(am.checkChunk(c, live)).toBe(
      `${P}nr_empty_pop_pages 8 but 7 populated pages hold no allocated byte`,
    );
  });
});
