/*
 * The area map (v3.18-v4.13 mm/percpu.c) behind the `AreaAllocator`
 * contract, so a kernel can be assembled with it instead of the bitmap
 * allocator. The per-chunk algorithms are in area-map.ts; this file holds
 * the per-kernel state (`pcpu_map_extend_chunks`) and maps each contract
 * call onto the kernel function it stands for:
 *
 *   initChunk        pcpu_alloc_chunk (the map part)
 *   initFirstChunk   pcpu_setup_first_chunk's smap/dmap, in the layout of
 *                    the page-aligned first-chunk records of the core
 *   chunkSlot        pcpu_chunk_slot (slot by free size)
 *   findFit          the slot walk's `size > chunk->contig_hint` test
 *   prepareChunk     pcpu_need_to_extend + pcpu_extend_area_map
 *   allocArea        pcpu_alloc_area (with pcpu_fit_in_area)
 *   freeArea         pcpu_free_area
 *   balance          the map-extension loop of pcpu_balance_workfn
 *   forEachRun       chunk_map_stats of the 4.13 mm/percpu-stats.c
 *
 * The empty populated page accounting goes through the host's
 * pcpuUpdateEmptyPages for every chunk: the host leaves the global count
 * alone for the reserved chunk (the kernel's `chunk != pcpu_reserved_chunk`
 * test) and the chunk's own count stays exact for the checker and stats.
 */

import type {
  AreaAllocator,
  AreaAllocatorFactory,
  AreaAllocatorHost,
  LiveArea,
  PcpuChunkView,
} from "./api.js";
import { PCPU_DFL_MAP_ALLOC } from "./api.js";
import {
  AREA_MAP_FIXED_BYTES,
  PcpuAreaMap,
  PERCPU_DYNAMIC_EARLY_SLOTS,
  pcpuAllocArea,
  pcpuAreaMapFindAlloc,
  pcpuAreaMapOf,
  pcpuChunkSlot,
  pcpuExtendAreaMap,
  pcpuFreeArea,
  pcpuNeedToExtend,
} from "./area-map.js";
import { pcpuAreaMapAudit, pcpuAreaMapCheck } from "./area-map-check.js";

/** Options of the area-map allocator. */
export interface AreaMapAllocatorOptions {
  /**
   * Entries of a first-chunk record's initial map (the static `smap`/`dmap`
   * arrays, PERCPU_DYNAMIC_EARLY_SLOTS = 128). At least 4.
   */
  readonly earlyMapSlots?: number;
}

/** The area-map allocator of one kernel. */
export class PcpuAreaMapAllocator implements AreaAllocator {
  readonly name = "area-map" as const;
  /** Offsets stay even: bit 0 of a map entry is the in-use flag. */
  readonly minAllocSize = 2;
  /** Occupied pages are subtracted per allocation and added back per free. */
  readonly recountsEmptyPages = false;
  readonly host: AreaAllocatorHost;
  readonly pageShift: number;
  readonly earlyMapSlots: number;
  /** `pcpu_map_extend_chunks`: chunks queued by atomic callers, in order. */
  readonly extendList: PcpuChunkView[];
  /**
   * Whether the last prepareChunk returned false because a sleeping map
   * extension failed (the kernel then fails the whole allocation with
   * "failed to extend area map"), as opposed to an atomic skip.
   */
  lastExtendFailed: boolean;

  constructor(host: AreaAllocatorHost, opts: AreaMapAllocatorOptions) {
    const early = opts.earlyMapSlots ?? PERCPU_DYNAMIC_EARLY_SLOTS;
    if (!Number.isInteger(early) || early < 4) {
      throw new RangeError(`area map: earlyMapSlots must be an integer >= 4, got ${early}`);
    }
    this.host = host;
    this.pageShift = host.constants.PAGE_SHIFT;
    this.earlyMapSlots = early;
    this.extendList = [];
    this.lastExtendFailed = false;
  }

  /**
   * The map part of `pcpu_alloc_chunk`: one free area over the whole unit,
   * PCPU_DFL_MAP_ALLOC entries, `free_size = contig_hint = unit size`.
   * @kernel mm/percpu.c pcpu_alloc_chunk
   * @context may sleep (GFP_KERNEL allocation).
   * @returns false if the map allocation fails (fault site
   *   "pcpu_alloc_chunk"); the chunk is then left without metadata.
   */
  initChunk(chunk: PcpuChunkView): boolean {
    if (this.host.metadataAllocFails("pcpu_alloc_chunk")) return false;
    const size = chunk.nrPages << this.pageShift;
    chunk.area = new PcpuAreaMap(size, PCPU_DFL_MAP_ALLOC);
    chunk.freeBytes = size;
    return true;
  }

  /**
   * Lay out a first-chunk record's map. The record covers page-aligned
   * [0, nr_pages * PAGE_SIZE) and manages [start_offset, end - end_offset);
   * the hidden head and tail become in-use areas that the API refuses to
   * free. The 2014 static chunk `[1, static, (static + free) | 1]` thus
   * reads `[1, start_offset, (start_offset + free) | 1, end | 1]` here: the
   * same lengths in record coordinates, with the tail the 2014 map left out
   * made an explicit in-use area (map_used 3; 2 without a tail, 1 when
   * nothing is hidden). `first_free` stays 0 as in the kernel. The map has
   * earlyMapSlots entries. Pages touched by a hidden edge are not empty:
   * they are subtracted from the count the core set to nr_pages, which
   * leaves the 2014 count of pages inside the free area.
   * @kernel mm/percpu.c pcpu_setup_first_chunk
   * @context boot, single threaded.
   */
  initFirstChunk(chunk: PcpuChunkView): void {
    const shift = this.pageShift;
    const regionEnd = chunk.nrPages << shift;
    const start = chunk.startOffset;
    const end = regionEnd - chunk.endOffset;
    const am = new PcpuAreaMap(regionEnd, this.earlyMapSlots);
    const map = am.map;
    let used = 0;
    if (start !== 0) {
      map[0] = 1;
      map[++used] = start;
    }
    if (chunk.endOffset !== 0) map[++used] = end | 1;
    map[++used] = regionEnd | 1;
    am.mapUsed = used;
    am.contigHint = end - start;
    chunk.area = am;
    chunk.freeBytes = end - start;

    /* pages touched by [0, start) and [end, regionEnd), counted once */
    const headPages = start !== 0 ? (start + (1 << shift) - 1) >> shift : 0;
    const tailFirst = chunk.endOffset !== 0 ? end >> shift : chunk.nrPages;
    let hidden = headPages + (chunk.nrPages - tailFirst);
    if (headPages > tailFirst) hidden -= headPages - tailFirst;
    if (hidden !== 0) this.host.pcpuUpdateEmptyPages(chunk, -hidden);
  }

  /**
   * Drop the chunk's map (`pcpu_free_chunk`) and take it off the extension
   * list (the balance work does `list_del_init` before destroying).
   * @kernel mm/percpu.c pcpu_free_chunk
   */
  freeChunk(chunk: PcpuChunkView): void {
    const am = chunk.area;
    if (am instanceof PcpuAreaMap && am.onExtendList) {
      const i = this.extendList.indexOf(chunk);
      if (i >= 0) this.extendList.splice(i, 1);
      am.onExtendList = false;
    }
    chunk.area = null;
  }

  /**
   * `pcpu_chunk_slot`: 0 when `free_size` or `contig_hint` is below 4,
   * else the slot of `free_size` (the free slot for a fully free chunk).
   * @kernel mm/percpu.c pcpu_chunk_slot
   */
  chunkSlot(chunk: PcpuChunkView): number {
    return pcpuChunkSlot(this.host, chunk, pcpuAreaMapOf(chunk));
  }

  /**
   * The slot walk's cheap test: skip the chunk when `size` exceeds its
   * contig hint (alignment is not considered, as in the kernel). Remembers
   * `popOnly` for the pcpuAllocArea that follows.
   * @context pcpu_lock held.
   * @returns -1 to skip the chunk, else `first_free`, where the scan starts.
   */
  findFit(chunk: PcpuChunkView, size: number, _align: number, popOnly: boolean): number {
    const am = pcpuAreaMapOf(chunk);
    if (size > am.contigHint) return -1;
    am.popOnly = popOnly;
    return am.firstFree;
  }

  /**
   * `pcpu_alloc_area` with the `pop_only` remembered by findFit. The scan
   * always starts at `first_free`, whatever `start` says.
   * @kernel mm/percpu.c pcpu_alloc_area
   * @context pcpu_lock held.
   * @returns the byte offset, or -1.
   */
  allocArea(chunk: PcpuChunkView, size: number, align: number, _start: number): number {
    const am = pcpuAreaMapOf(chunk);
    return pcpuAllocArea(this.host, chunk, am, size, align, am.popOnly);
  }

  /**
   * `pcpu_free_area`; throws (the kernel's BUG_ON) when no allocation
   * starts at `off`, leaving the map as it was.
   * @kernel mm/percpu.c pcpu_free_area
   * @context pcpu_lock held.
   * @returns the bytes freed.
   */
  freeArea(chunk: PcpuChunkView, off: number): number {
    return pcpuFreeArea(this.host, chunk, pcpuAreaMapOf(chunk), off);
  }

  /**
   * Make room for a split before pcpuAllocArea. Sleeping callers grow the
   * map to PCPU_ATOMIC_MAP_MARGIN_HIGH spare entries right away (the kernel
   * drops pcpu_lock for it and restarts its slot walk; here nothing can
   * change meanwhile, so the walk may go on with this chunk). Atomic
   * callers skip a chunk with fewer than 3 spare entries and queue it for
   * balance() when fewer than PCPU_ATOMIC_MAP_MARGIN_LOW remain.
   * @kernel mm/percpu.c pcpu_need_to_extend
   * @context pcpu_lock held; sleeping callers may sleep.
   * @returns false to skip the chunk (atomic) or when the extension failed
   *   (sleeping; `lastExtendFailed` is then set and the map is untouched).
   */
  prepareChunk(chunk: PcpuChunkView, isAtomic: boolean): boolean {
    const am = pcpuAreaMapOf(chunk);
    this.lastExtendFailed = false;
    const newAlloc = pcpuNeedToExtend(this.host, chunk, am, isAtomic, this.extendList);
    if (newAlloc === 0) return true;
    if (isAtomic) return false;
    if (pcpuExtendAreaMap(this.host, am, newAlloc) < 0) {
      this.lastExtendFailed = true;
      return false;
    }
    return true;
  }

  /**
   * Serve the chunks atomic callers queued: take each off the list in
   * order and grow its map to the sleeping margin. A failed extension is
   * dropped, as in the kernel (the next atomic caller queues it again).
   * @kernel mm/percpu.c pcpu_balance_workfn
   * @context pcpu_alloc_mutex held, pcpu_lock dropped; may sleep.
   */
  balance(): void {
    const list = this.extendList;
    while (list.length !== 0) {
      const chunk = list.shift()!;
      const am = pcpuAreaMapOf(chunk);
      am.onExtendList = false;
      const newAlloc = pcpuNeedToExtend(this.host, chunk, am, false, list);
      if (newAlloc !== 0) pcpuExtendAreaMap(this.host, am, newAlloc);
    }
  }

  /**
   * Whether page `i` holds no allocated byte: the area containing the
   * page's first byte is free and reaches the page's end (no two free
   * areas are adjacent, so one area decides).
   */
  pageIsEmpty(chunk: PcpuChunkView, i: number): boolean {
    const am = pcpuAreaMapOf(chunk);
    const map = am.map;
    const pageStart = i << this.pageShift;
    const pageEnd = pageStart + (1 << this.pageShift);
    /* last area starting at or before pageStart */
    let lo = 0;
    let hi = am.mapUsed;
    while (hi - lo > 1) {
      const k = (lo + hi) >>> 1;
      if ((map[k]! & ~1) <= pageStart) lo = k;
      else hi = k;
    }
    return (map[lo]! & 1) === 0 && (map[lo + 1]! & ~1) >= pageEnd;
  }

  /**
   * What percpu_stats prints as `first_bit`: the start of area
   * `first_free` in 4-byte units (the area may be in use, or the sentinel:
   * then it is the end of the chunk, as the bitmap's "none free").
   */
  firstBit(chunk: PcpuChunkView): number {
    const am = pcpuAreaMapOf(chunk);
    return (am.map[am.firstFree]! & ~1) >>> 2;
  }

  /** The contig hint in bytes (an upper bound on the largest free area). */
  contigBytes(chunk: PcpuChunkView): number {
    return pcpuAreaMapOf(chunk).contigHint;
  }

  /**
   * The areas percpu_stats walks, as the 4.13 area-map chunk_map_stats did
   * (with Dennis Zhou's start/end offsets): from the first area after a
   * hidden head up to the last in-use area before a hidden tail, in-use
   * lengths positive and free ones negative. Nothing when no allocation.
   * @kernel mm/percpu-stats.c chunk_map_stats
   */
  forEachRun(chunk: PcpuChunkView, fn: (signedBytes: number) => void): void {
    const am = pcpuAreaMapOf(chunk);
    const map = am.map;
    const sIndex = chunk.startOffset !== 0 ? 1 : 0;
    const eIndex = am.mapUsed - (chunk.endOffset !== 0 ? 1 : 0);
    let last = eIndex - 1;
    while (last >= sIndex && (map[last]! & 1) === 0) last--;
    for (let i = sIndex; i <= last; i++) {
      const len = (map[i + 1]! & ~1) - (map[i]! & ~1);
      fn((map[i]! & 1) !== 0 ? len : -len);
    }
  }

  /** Whether a live allocation starts at `off` (hidden edges excluded). */
  isAllocStart(chunk: PcpuChunkView, off: number): boolean {
    const end = (chunk.nrPages << this.pageShift) - chunk.endOffset;
    if (off < chunk.startOffset || off >= end) return false;
    return pcpuAreaMapFindAlloc(pcpuAreaMapOf(chunk), off) >= 0;
  }

  /** Map capacity * 4 bytes plus the fixed area-map fields. */
  metadataBytes(chunk: PcpuChunkView): number {
    return pcpuAreaMapOf(chunk).mapAlloc * 4 + AREA_MAP_FIXED_BYTES;
  }

  /**
   * The hard area-map invariants (area-map-check.ts).
   * @returns the first violation, or null.
   */
  checkChunk(chunk: PcpuChunkView, live: readonly LiveArea[], accountedPages?: number): string | null {
    return pcpuAreaMapCheck(chunk, live, this.pageShift, accountedPages);
  }

  /**
   * The soft invariant: a contig hint above the largest free area.
   * @returns the deviation, or null.
   */
  auditChunk(chunk: PcpuChunkView): string | null {
    return pcpuAreaMapAudit(chunk);
  }
}

/**
 * Build the area-map allocator (v3.18-v4.13).
 * @param opts `earlyMapSlots` (default PERCPU_DYNAMIC_EARLY_SLOTS).
 */
export function createAreaMapAllocator(opts: AreaMapAllocatorOptions = {}): AreaAllocatorFactory {
  return (host: AreaAllocatorHost) => new PcpuAreaMapAllocator(host, opts);
}
