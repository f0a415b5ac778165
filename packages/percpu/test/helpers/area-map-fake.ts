/*
 * A small fake of the core for the area-map tests: an AreaAllocatorHost
 * with the 3.18 slot layout (free slot = nr_slots - 1), the empty-page
 * accounting of pcpu_update_empty_pages, a relocation log and switchable
 * metadata allocation failures; plus a minimal PcpuChunkView.
 */

import type { AreaAllocatorHost, PcpuChunkView, PcpuConstants } from "../../src/api.js";
import type { PcpuAreaMap } from "../../src/area-map.js";
import { PcpuAreaMapAllocator } from "../../src/area-map-allocator.js";
import { type PcpuKernelChanges, pcpuKernelChanges } from "../../src/kernel-changes.js";

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

export const CONSTANTS: PcpuConstants = {
  PAGE_SHIFT,
  PAGE_SIZE,
  PCPU_BITMAP_BLOCK_SIZE: PAGE_SIZE,
  PCPU_BITMAP_BLOCK_BITS: PAGE_SIZE >> 2,
  PCPU_MIN_UNIT_SIZE: 0x8000,
  PERCPU_MODULE_RESERVE: 0x2000,
  PERCPU_DYNAMIC_EARLY_SIZE: 0x5000,
  PERCPU_DYNAMIC_RESERVE: 0x7000,
  NR_CPUS: 64,
};

/** `__pcpu_size_to_slot`. */
export function sizeToSlot(size: number): number {
  return Math.max(32 - Math.clz32(size) - 5 + 2, 1);
}

export class FakeHost implements AreaAllocatorHost {
  readonly constants = CONSTANTS;
  /** Today's kernel unless a test replaces it. */
  changes: PcpuKernelChanges = pcpuKernelChanges("v6");
  readonly unitSize: number;
  /** 3.18: `pcpu_nr_slots = __pcpu_size_to_slot(unit_size) + 2`, free slot last. */
  readonly freeSlot: number;
  reserved: PcpuChunkView | null = null;
  /** `pcpu_nr_empty_pop_pages`. */
  nrEmptyPopPages = 0;
  /** Every pcpu_chunk_relocate call: [chunk id, oslot, nslot]. */
  readonly relocations: [number, number, number][] = [];
  /** The slot each chunk was last relocated to. */
  readonly slotOf = new Map<number, number>();
  scheduled = 0;
  /** Caller tags whose metadata allocation fails. */
  readonly failing = new Set<string>();
  readonly allocCalls: string[] = [];
  allocator: PcpuAreaMapAllocator | null = null;

  constructor(unitPages: number) {
    this.unitSize = unitPages * PAGE_SIZE;
    this.freeSlot = sizeToSlot(this.unitSize) + 1;
  }

  pcpuUpdateEmptyPages(chunk: PcpuChunkView, nr: number): void {
    chunk.nrEmptyPopPages += nr;
    if (chunk !== this.reserved && !chunk.isolated) this.nrEmptyPopPages += nr;
  }

  pcpuChunkRelocate(chunk: PcpuChunkView, oslot: number): void {
    const nslot = this.allocator!.chunkSlot(chunk);
    this.relocations.push([chunk.id, oslot, nslot]);
    if (chunk !== this.reserved) this.slotOf.set(chunk.id, nslot);
  }

  pcpuSizeToSlot(size: number): number {
    return size === this.unitSize ? this.freeSlot : sizeToSlot(size);
  }

  isReservedChunk(chunk: PcpuChunkView): boolean {
    return chunk === this.reserved;
  }

  pcpuScheduleBalanceWork(): void {
    this.scheduled++;
  }

  metadataAllocFails(caller: string): boolean {
    this.allocCalls.push(caller);
    return this.failing.has(caller);
  }
}

/** A host and its area-map allocator. */
export function makeAllocator(
  unitPages = 8,
  earlyMapSlots?: number,
): { host: FakeHost; am: PcpuAreaMapAllocator } {
  const host = new FakeHost(unitPages);
  const am = new PcpuAreaMapAllocator(host, earlyMapSlots === undefined ? {} : { earlyMapSlots });
  host.allocator = am;
  return { host, am };
}

export interface ChunkOpts {
  readonly startOffset?: number;
  readonly endOffset?: number;
  /** Pages populated at creation: all (default) or a list. */
  readonly populated?: "all" | readonly number[];
}

/** A minimal chunk record; nrEmptyPopPages = populated pages (all empty). */
export function makeChunk(id: number, nrPages: number, opts: ChunkOpts = {}): PcpuChunkView {
  const populated = new Uint32Array((nrPages + 31) >>> 5);
  const pages =
    opts.populated === undefined || opts.populated === "all" ? [...Array(nrPages).keys()] : opts.populated;
  for (const p of pages) populated[p >>> 5]! |= 1 << (p & 31);
  const startOffset = opts.startOffset ?? 0;
  const endOffset = opts.endOffset ?? 0;
  return {
    id,
    baseAddr: 0,
    nrPages,
    startOffset,
    endOffset,
    freeBytes: 0,
    nrPopulated: pages.length,
    nrEmptyPopPages: pages.length,
    populated,
    immutable: startOffset !== 0 || endOffset !== 0,
    isolated: false,
    nrAlloc: 0,
    maxAllocSize: 0,
    data: null,
    area: null,
  };
}

/** A fresh normal chunk with its map, the core's `pcpu_alloc_chunk` + relocate(-1). */
export function newChunk(
  host: FakeHost,
  am: PcpuAreaMapAllocator,
  id: number,
  opts: ChunkOpts = {},
): PcpuChunkView {
  const chunk = makeChunk(id, host.unitSize / PAGE_SIZE, opts);
  if (!am.initChunk(chunk)) throw new Error("initChunk failed");
  host.nrEmptyPopPages += chunk.nrEmptyPopPages;
  host.pcpuChunkRelocate(chunk, -1);
  return chunk;
}

/** The core's pcpu_chunk_populated: mark [s, e) populated, all assumed empty. */
export function populate(host: FakeHost, chunk: PcpuChunkView, s: number, e: number): void {
  for (let p = s; p < e; p++) chunk.populated[p >>> 5]! |= 1 << (p & 31);
  chunk.nrPopulated += e - s;
  host.pcpuUpdateEmptyPages(chunk, e - s);
}

/** The core's pcpu_chunk_depopulated. */
export function depopulate(host: FakeHost, chunk: PcpuChunkView, s: number, e: number): void {
  for (let p = s; p < e; p++) chunk.populated[p >>> 5]! &= ~(1 << (p & 31));
  chunk.nrPopulated -= e - s;
  host.pcpuUpdateEmptyPages(chunk, -(e - s));
}

export function isPopulated(chunk: PcpuChunkView, p: number): boolean {
  return (chunk.populated[p >>> 5]! & (1 << (p & 31))) !== 0;
}

/** The chunk's area map. */
export function mapOf(chunk: PcpuChunkView): PcpuAreaMap {
  return chunk.area as PcpuAreaMap;
}

/** The used entries of the map, sentinel included. */
export function entries(chunk: PcpuChunkView): number[] {
  const m = mapOf(chunk);
  return Array.from(m.map.subarray(0, m.mapUsed + 1));
}

/** Everything a scripted step asserts. */
export interface AreaMapState {
  map: number[];
  free: number;
  contig: number;
  firstFree: number;
  slot: number;
  empty: number;
}

export function state(am: PcpuAreaMapAllocator, chunk: PcpuChunkView): AreaMapState {
  const m = mapOf(chunk);
  return {
    map: entries(chunk),
    free: chunk.freeBytes,
    contig: m.contigHint,
    firstFree: m.firstFree,
    slot: am.chunkSlot(chunk),
    empty: chunk.nrEmptyPopPages,
  };
}

/** The core's order for one allocation attempt on one chunk. */
export function tryAlloc(
  am: PcpuAreaMapAllocator,
  chunk: PcpuChunkView,
  size: number,
  align: number,
  isAtomic = false,
): number {
  let off = am.findFit(chunk, size, align, isAtomic);
  if (off < 0) return -1;
  if (!am.prepareChunk(chunk, isAtomic)) return -1;
  off = am.allocArea(chunk, size, align, off);
  return off;
}
