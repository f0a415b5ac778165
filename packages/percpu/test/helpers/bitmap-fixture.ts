/*
 * A fake AreaAllocatorHost and a minimal PcpuChunkView for the bitmap
 * allocator tests: the host does the kernel's pcpu_update_empty_pages and
 * records every relocation and empty-page delta; slots follow
 * __pcpu_size_to_slot with the free slot for a whole unit.
 */

import type { VirtAddr } from "@pcpu/mm";
import type {
  AreaAllocator,
  AreaAllocatorHost,
  PcpuChunkView,
  PcpuConstants,
  PcpuEra,
} from "../../src/api.js";
import { PCPU_SLOT_BASE_SHIFT } from "../../src/api.js";
import { bitmapSet, fls } from "../../src/bitmap.js";
import { type BitmapAllocatorOptions, createBitmapAllocator } from "../../src/bitmap-allocator.js";
import { type PcpuKernelChanges, pcpuKernelChanges } from "../../src/kernel-changes.js";

/** 4 KiB pages: BB = 0x400. */
export const CONSTANTS_4K: PcpuConstants = {
  PAGE_SHIFT: 12,
  PAGE_SIZE: 0x1000,
  PCPU_BITMAP_BLOCK_SIZE: 0x1000,
  PCPU_BITMAP_BLOCK_BITS: 0x400,
  PCPU_MIN_UNIT_SIZE: 0x8000,
  PERCPU_MODULE_RESERVE: 0x2000,
  PERCPU_DYNAMIC_EARLY_SIZE: 0x5000,
  PERCPU_DYNAMIC_RESERVE: 0x7000,
  NR_CPUS: 64,
};

/** `__pcpu_size_to_slot(size)`. */
export function sizeToSlot(size: number): number {
  return Math.max(fls(size) - PCPU_SLOT_BASE_SHIFT + 2, 1);
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
  area: unknown;

  constructor(id: number, nrPages: number, startOffset = 0, endOffset = 0, immutable = false) {
    this.id = id;
    this.baseAddr = 0;
    this.nrPages = nrPages;
    this.startOffset = startOffset;
    this.endOffset = endOffset;
    this.freeBytes = 0;
    this.nrPopulated = 0;
    this.nrEmptyPopPages = 0;
    this.populated = new Uint32Array((nrPages + 31) >>> 5);
    this.immutable = immutable;
    this.isolated = false;
    this.nrAlloc = 0;
    this.maxAllocSize = 0;
    this.data = null;
    this.area = null;
  }

  /** `pcpu_chunk_populated` without the global count: pages are assumed empty. */
  populate(s: number, e: number, host: FakeHost): void {
    bitmapSet(this.populated, s, e - s);
    this.nrPopulated += e - s;
    host.pcpuUpdateEmptyPages(this, e - s);
  }
}

export interface Relocation {
  readonly chunk: number;
  readonly oslot: number;
  readonly nslot: number;
}

export class FakeHost implements AreaAllocatorHost {
  readonly constants: PcpuConstants;
  /** Today's kernel unless a test replaces it. */
  changes: PcpuKernelChanges = pcpuKernelChanges("v6");
  readonly unitSize: number;
  /** `pcpu_nr_empty_pop_pages`. */
  nrEmptyPopPages = 0;
  reserved: PcpuChunkView | null = null;
  /** Metadata allocations left to succeed before one fails (-1: never fail). */
  failAfter = -1;
  readonly failedCallers: string[] = [];
  readonly relocations: Relocation[] = [];
  readonly emptyDeltas: number[] = [];
  balanceScheduled = 0;
  area!: AreaAllocator;

  constructor(unitPages: number, constants: PcpuConstants = CONSTANTS_4K) {
    this.constants = constants;
    this.unitSize = unitPages * constants.PAGE_SIZE;
  }

  /** `pcpu_free_slot` = `__pcpu_size_to_slot(unit_size) + 2`. */
  get freeSlot(): number {
    return sizeToSlot(this.unitSize) + 2;
  }

  pcpuUpdateEmptyPages(chunk: PcpuChunkView, nr: number): void {
    this.emptyDeltas.push(nr);
    chunk.nrEmptyPopPages += nr;
    if (chunk !== this.reserved && !chunk.isolated) this.nrEmptyPopPages += nr;
  }

  pcpuChunkRelocate(chunk: PcpuChunkView, oslot: number): void {
    this.relocations.push({ chunk: chunk.id, oslot, nslot: this.area.chunkSlot(chunk) });
  }

  pcpuSizeToSlot(size: number): number {
    if (size === this.unitSize) return this.freeSlot;
    return sizeToSlot(size);
  }

  isReservedChunk(chunk: PcpuChunkView): boolean {
    return chunk === this.reserved;
  }

  pcpuScheduleBalanceWork(): void {
    this.balanceScheduled++;
  }

  metadataAllocFails(caller: string): boolean {
    if (this.failAfter < 0) return false;
    if (this.failAfter-- > 0) return false;
    this.failedCallers.push(caller);
    return true;
  }

  /** Forget recorded calls. */
  clearLog(): void {
    this.relocations.length = 0;
    this.emptyDeltas.length = 0;
  }
}

/** A host, a bitmap allocator and a fresh normal chunk of `nrPages`, fully populated unless told. */
export function makeBitmapKernel(
  nrPages: number,
  opts: BitmapAllocatorOptions & { populated?: boolean; era?: PcpuEra } = {},
): { host: FakeHost; alloc: AreaAllocator; chunk: FakeChunk } {
  const host = new FakeHost(nrPages);
  if (opts.era !== undefined) host.changes = pcpuKernelChanges(opts.era);
  const alloc = createBitmapAllocator(opts)(host);
  host.area = alloc;
  const chunk = new FakeChunk(1, nrPages);
  if (!alloc.initChunk(chunk)) throw new Error("initChunk failed");
  if (opts.populated !== false) chunk.populate(0, nrPages, host);
  host.clearLog();
  return { host, alloc, chunk };
}

/** pcpu_alloc's two area-allocator steps: find a fit, then allocate there. -1 on failure. */
export function bitmapAlloc(
  alloc: AreaAllocator,
  chunk: PcpuChunkView,
  size: number,
  align: number,
  popOnly = false,
): number {
  const start = alloc.findFit(chunk, size, align, popOnly);
  if (start < 0) return -1;
  return alloc.allocArea(chunk, size, align, start);
}

/** Seeded PRNG (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
