/*
 * A synthetic PcpuStatsSource for the tests: chunks with a bitmap
 * allocation map and bound map kept the way mm/percpu.c keeps them
 * (pcpu_alloc_first_chunk hides the edges, pcpu_alloc_area sets the bound
 * bits, pcpu_free_area clears only alloc bits), and an area allocator whose
 * forEachRun walks them literally as chunk_map_stats does, including the
 * find_last_bit window that excludes the last usable bit. The stats hooks
 * are called at the same points as the core calls them.
 */

import type { VirtAddr } from "@pcpu/mm";
import type { AreaAllocator, PcpuChunkView, PcpuConstants, PcpuStatsSource } from "@pcpu/percpu";
import type { PcpuStats } from "../src/stats.js";

const PAGE_SIZE = 0x1000;
const BITS_PER_PAGE = PAGE_SIZE / 4;

export const constants4k: PcpuConstants = {
  PAGE_SHIFT: 12,
  PAGE_SIZE,
  PCPU_BITMAP_BLOCK_SIZE: PAGE_SIZE,
  PCPU_BITMAP_BLOCK_BITS: BITS_PER_PAGE,
  PCPU_MIN_UNIT_SIZE: 0x8000,
  PERCPU_MODULE_RESERVE: 0x2000,
  PERCPU_DYNAMIC_EARLY_SIZE: 0x5000,
  PERCPU_DYNAMIC_RESERVE: 0x1c000,
  NR_CPUS: 64,
};

interface FakeMaps {
  alloc: Uint8Array;
  bound: Uint8Array;
  mapBits: number;
}

export class FakeChunk implements PcpuChunkView {
  readonly id: number;
  baseAddr: VirtAddr;
  readonly nrPages: number;
  readonly startOffset: number;
  readonly endOffset: number;
  freeBytes: number;
  nrPopulated: number;
  nrEmptyPopPages: number;
  readonly populated: Uint32Array;
  readonly immutable: boolean;
  isolated: boolean;
  nrAlloc: number;
  maxAllocSize: number;
  data: unknown;
  area: FakeMaps;

  constructor(id: number, nrPages: number, startOffset = 0, endOffset = 0, nrPopulated = nrPages) {
    this.id = id;
    this.baseAddr = (0x100000 * (id + 1)) as VirtAddr;
    this.nrPages = nrPages;
    this.startOffset = startOffset;
    this.endOffset = endOffset;
    const mapBits = nrPages * BITS_PER_PAGE;
    this.area = { alloc: new Uint8Array(mapBits), bound: new Uint8Array(mapBits + 1), mapBits };
    this.freeBytes = nrPages * PAGE_SIZE - startOffset - endOffset;
    this.nrPopulated = nrPopulated;
    this.populated = new Uint32Array(Math.ceil(nrPages / 32));
    for (let i = 0; i < nrPopulated; i++) this.populated[i >> 5]! |= 1 << (i & 31);
    this.immutable = startOffset !== 0 || endOffset !== 0;
    this.isolated = false;
    this.nrAlloc = 0;
    this.maxAllocSize = 0;
    this.data = null;
    const m = this.area;
    m.bound[0] = 1;
    m.bound[mapBits] = 1;
    // pcpu_alloc_first_chunk: hide [0, start) and [end, map_bits).
    const s = startOffset / 4;
    if (s > 0) {
      m.alloc.fill(1, 0, s);
      m.bound[s] = 1;
    }
    const e = endOffset / 4;
    if (e > 0) {
      m.alloc.fill(1, mapBits - e, mapBits);
      m.bound[mapBits - e] = 1;
    }
    this.nrEmptyPopPages = this.countEmptyPopPages();
  }

  countEmptyPopPages(): number {
    let n = 0;
    for (let p = 0; p < this.nrPopulated; p++) {
      let empty = true;
      for (let b = p * BITS_PER_PAGE; b < (p + 1) * BITS_PER_PAGE; b++) {
        if (this.area.alloc[b]) {
          empty = false;
          break;
        }
      }
      if (empty) n++;
    }
    return n;
  }

  /** pcpu_alloc_area at a given offset, with the stats hook of area_found. */
  alloc(stats: PcpuStats, off: number, size: number): void {
    const m = this.area;
    const b = off / 4;
    const bits = size / 4;
    for (let i = b; i < b + bits; i++) {
      if (m.alloc[i]) throw new Error(`fake: overlap at ${off}`);
      m.alloc[i] = 1;
    }
    m.bound[b] = 1;
    m.bound.fill(0, b + 1, b + bits);
    m.bound[b + bits] = 1;
    this.freeBytes -= size;
    this.nrEmptyPopPages = this.countEmptyPopPages();
    stats.areaAlloc(this, size);
  }

  /** pcpu_free_area: the stats hook first, then clear alloc bits up to the next bound bit. */
  free(stats: PcpuStats, off: number): void {
    stats.areaDealloc(this);
    const m = this.area;
    const b = off / 4;
    let end = b + 1;
    while (end < m.mapBits && !m.bound[end]) end++;
    m.alloc.fill(0, b, end);
    this.freeBytes += (end - b) * 4;
    this.nrEmptyPopPages = this.countEmptyPopPages();
  }
}

function findLastBit(map: Uint8Array, size: number): number {
  for (let i = size - 1; i >= 0; i--) if (map[i]) return i;
  return size;
}

function findNextBit(map: Uint8Array, size: number, off: number): number {
  for (let i = off; i < size; i++) if (map[i]) return i;
  return size;
}

function maps(chunk: PcpuChunkView): FakeMaps {
  return chunk.area as FakeMaps;
}

function unsupported(): never {
  throw new Error("fake area allocator: not used by percpu_stats");
}

/** The parts of the area-allocator contract percpu_stats uses. */
export const fakeArea: AreaAllocator = {
  name: "bitmap",
  minAllocSize: 4,
  recountsEmptyPages: false,
  forEachRun(chunk, fn) {
    const m = maps(chunk);
    let last = findLastBit(m.alloc, m.mapBits - chunk.endOffset / 4 - 1);
    last = m.alloc[last] ? last + 1 : 0;
    let start = chunk.startOffset / 4;
    while (start < last) {
      let end: number;
      if (m.alloc[start]) {
        end = findNextBit(m.bound, last, start + 1);
        fn((end - start) * 4);
      } else {
        end = findNextBit(m.alloc, last, start + 1);
        fn(-(end - start) * 4);
      }
      start = end;
    }
  },
  firstBit(chunk) {
    const m = maps(chunk);
    return findNextBit(
      m.alloc.map((v) => (v ? 0 : 1)),
      m.mapBits,
      0,
    );
  },
  contigBytes(chunk) {
    const m = maps(chunk);
    let best = 0;
    let run = 0;
    for (let i = 0; i < m.mapBits; i++) {
      run = m.alloc[i] ? 0 : run + 1;
      if (run > best) best = run;
    }
    return best * 4;
  },
  initChunk: unsupported,
  initFirstChunk: unsupported,
  freeChunk: unsupported,
  chunkSlot: unsupported,
  findFit: unsupported,
  allocArea: unsupported,
  freeArea: unsupported,
  pageIsEmpty: unsupported,
  isAllocStart: unsupported,
  metadataBytes: unsupported,
  checkChunk: unsupported,
};

/** A source whose slot lists are set by the test. */
export class FakeSource implements PcpuStatsSource {
  readonly area: AreaAllocator = fakeArea;
  readonly firstChunk: PcpuChunkView;
  readonly reservedChunk: PcpuChunkView | null;
  readonly nrSlots: number;
  readonly sidelinedSlot: number;
  readonly freeSlot: number;
  readonly toDepopulateSlot: number;
  readonly slots: PcpuChunkView[][];
  nrEmptyPopPages: number;
  readonly constants: PcpuConstants = constants4k;
  nrUnits: number;

  /** Slot numbers as pcpu_setup_first_chunk derives them from the unit size. */
  constructor(
    firstChunk: PcpuChunkView,
    reservedChunk: PcpuChunkView | null,
    unitSizeSlot: number,
    nrUnits = 4,
  ) {
    this.firstChunk = firstChunk;
    this.reservedChunk = reservedChunk;
    this.sidelinedSlot = unitSizeSlot + 1;
    this.freeSlot = this.sidelinedSlot + 1;
    this.toDepopulateSlot = this.freeSlot + 1;
    this.nrSlots = this.toDepopulateSlot + 1;
    this.slots = Array.from({ length: this.nrSlots }, () => []);
    this.nrEmptyPopPages = 0;
    this.nrUnits = nrUnits;
  }

  chunksInSlot(slot: number): PcpuChunkView[] {
    return this.slots[slot]!;
  }

  pcpuNrPages(): number {
    let pages = 0;
    for (const list of this.slots) for (const c of list) pages += c.nrPopulated;
    if (this.reservedChunk) pages += this.reservedChunk.nrPopulated;
    return pages * this.nrUnits;
  }
}
