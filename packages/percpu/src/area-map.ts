/*
 * The area-map allocator of mm/percpu.c as it stood from v3.18 to v4.13:
 * Al Viro's 2014 offset map with an in-use bit (3.15) plus Tejun Heo's
 * atomic support (3.18: populated-only fits, empty-page accounting,
 * asynchronous map extension). Dennis Zhou replaced it with the bitmap
 * allocator in 4.14; it is kept as a selectable second allocator so the two
 * can be compared on the same core.
 *
 * One int per area holds the area's start offset in bytes; bit 0 of the
 * entry says the area is in use (offsets are even: sizes are rounded to 2
 * and alignments are at least 2). A sentinel entry `end | 1` closes the map,
 * so area i spans [map[i] & ~1, map[i + 1] & ~1):
 *
 *   index:   0        1        2        3            map_used = 3
 *          +--------+--------+--------+------------+
 *   map:   | 0 | 1  | 16     | 48 | 1 | 32768 | 1  |  (capacity map_alloc)
 *          +--------+--------+--------+------------+
 *   areas:  [0,16)    [16,48)  [48,32768) sentinel
 *           in use    free     in use
 *
 * `first_free` is an index with no free area below it; allocation scans
 * from there, first fit, and splits the chosen free area into head / area /
 * tail entries with a memmove of everything after it. Free binary-searches
 * for `off | 1` and merges with free neighbours in one memmove. Both are
 * O(number of areas): that is the cost the 2017 replacement removed, and it
 * is kept here (typed arrays, copyWithin for memmove, no allocation per
 * call). `contig_hint` only bounds the largest free area from above; it is
 * exact after a scan that reached the end of the map.
 *
 * The metadata of one chunk is a `PcpuAreaMap` hung off `chunk.area`; the
 * chunk's `freeBytes` is the kernel's `free_size`. The allocator-level
 * adapter (the `AreaAllocator` contract, the extension queue, balance) is in
 * area-map-allocator.ts, the invariant checker in area-map-check.ts.
 */

import { ENOMEM, KernelBug } from "@pcpu/mm";
import {
  type AreaAllocatorHost,
  PCPU_ATOMIC_MAP_MARGIN_HIGH,
  PCPU_ATOMIC_MAP_MARGIN_LOW,
  PCPU_DFL_MAP_ALLOC,
  PCPU_MIN_ALLOC_SIZE,
  type PcpuChunkView,
} from "./api.js";

/**
 * Entries of the static maps the first-chunk records start with
 * (`smap`/`dmap` in pcpu_setup_first_chunk; include/linux/percpu.h).
 */
export const PERCPU_DYNAMIC_EARLY_SLOTS = 128;

/**
 * Host bytes of the fixed area-map fields of `struct pcpu_chunk` on a 64-bit
 * kernel: map_used, map_alloc, first_free, contig_hint (4 ints), the map
 * pointer (8) and the map_extend_list list_head (16).
 */
export const AREA_MAP_FIXED_BYTES = 40;

/** Spare entries an atomic allocation needs: a split adds at most two. */
const PCPU_ATOMIC_MAP_MARGIN_MIN = 3;

/**
 * The area-map fields of `struct pcpu_chunk` (2014 form). `freeBytes`
 * (`free_size`) stays on the chunk, where the core reads it.
 */
export class PcpuAreaMap {
  /** `map`: start offsets with bit 0 = in use, then the sentinel; capacity `mapAlloc`. */
  map: Int32Array;
  /** `map_used`: areas in use of the map, not counting the sentinel. */
  mapUsed: number;
  /** `map_alloc`: entries allocated (`map.length`). */
  mapAlloc: number;
  /** `contig_hint`: bytes, at least the largest free area. */
  contigHint: number;
  /** `first_free`: no free area has a lower index. */
  firstFree: number;
  /**
   * Whether the next pcpuAllocArea may only use populated pages (the
   * kernel's `pop_only`, passed as `is_atomic`); set by findFit.
   */
  popOnly: boolean;
  /** Membership of `pcpu_map_extend_chunks` (`!list_empty(&chunk->map_extend_list)`). */
  onExtendList: boolean;

  /**
   * A map with one free area [0, size), closed by `size | 1`.
   * @param size managed bytes (`pcpu_unit_size` for a normal chunk).
   * @param mapAlloc initial capacity.
   */
  constructor(size: number, mapAlloc: number) {
    this.map = new Int32Array(mapAlloc);
    this.map[0] = 0;
    this.map[1] = size | 1;
    this.mapUsed = 1;
    this.mapAlloc = mapAlloc;
    this.contigHint = size;
    this.firstFree = 0;
    this.popOnly = false;
    this.onExtendList = false;
  }
}

/** The area map of `chunk`; throws if the chunk has none (misuse). */
export function pcpuAreaMapOf(chunk: PcpuChunkView): PcpuAreaMap {
  const am = chunk.area;
  if (!(am instanceof PcpuAreaMap)) {
    throw new Error(`percpu area map: chunk ${chunk.id} has no area map (initChunk/initFirstChunk not run)`);
  }
  return am;
}

/** A byte offset as the BUG messages print it. */
function hex(n: number): string {
  return n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`;
}

/** Bit i of a page bitmap. */
function pageBit(map: Uint32Array, i: number): boolean {
  return (map[i >>> 5]! & (1 << (i & 31))) !== 0;
}

/**
 * `pcpu_chunk_slot` of the area-map era: slot by free size, 0 when the chunk
 * cannot serve even the smallest request.
 * @kernel mm/percpu.c pcpu_chunk_slot
 * @context pcpu_lock held.
 * @returns the slot index.
 */
export function pcpuChunkSlot(host: AreaAllocatorHost, chunk: PcpuChunkView, am: PcpuAreaMap): number {
  if (chunk.freeBytes < PCPU_MIN_ALLOC_SIZE || am.contigHint < PCPU_MIN_ALLOC_SIZE) return 0;
  return host.pcpuSizeToSlot(chunk.freeBytes);
}

/**
 * Pages area `i` occupies: pages entirely inside it, plus a page it only
 * straddles at either end when the neighbour on that side is free and
 * covers the rest of the page. Allocation subtracts this from the empty
 * populated page count and free adds it back.
 * @kernel mm/percpu.c pcpu_count_occupied_pages
 * @param pageShift log2 of PAGE_SIZE.
 * @context pcpu_lock held.
 * @returns a page count >= 0.
 */
export function pcpuCountOccupiedPages(am: PcpuAreaMap, i: number, pageShift: number): number {
  const map = am.map;
  const pageMask = (1 << pageShift) - 1;
  let off = map[i]! & ~1;
  let end = map[i + 1]! & ~1;

  if ((off & pageMask) !== 0 && i > 0) {
    const prev = map[i - 1]!;
    if ((prev & 1) === 0 && prev <= (off & ~pageMask)) off &= ~pageMask;
  }
  if ((end & pageMask) !== 0 && i + 1 < am.mapUsed) {
    const next = map[i + 1]!;
    const nend = map[i + 2]! & ~1;
    const up = (end + pageMask) & ~pageMask;
    if ((next & 1) === 0 && nend >= up) end = up;
  }
  const n = (end >> pageShift) - ((off + pageMask) >> pageShift);
  return Math.max(n, 0);
}

/**
 * Whether `size` bytes aligned at `align` fit in the free area at `off` of
 * `thisSize` bytes. With `popOnly` only placements whose pages are all
 * populated count: after an unpopulated run the search resumes at the first
 * populated page behind it.
 * @kernel mm/percpu.c pcpu_fit_in_area
 * @context pcpu_lock held.
 * @returns the head padding in bytes, or -1 if it does not fit.
 */
export function pcpuFitInArea(
  chunk: PcpuChunkView,
  off: number,
  thisSize: number,
  size: number,
  align: number,
  popOnly: boolean,
  pageShift: number,
): number {
  const pageSize = 1 << pageShift;
  const populated = chunk.populated;
  const limit = (off + thisSize + pageSize - 1) >> pageShift;
  let candOff = off;
  for (;;) {
    const head = ((candOff + align - 1) & -align) - off;
    if (thisSize < head + size) return -1;
    if (!popOnly) return head;

    /* first unpopulated page from the start of the placement */
    const pageStart = (head + off) >> pageShift;
    const pageEnd = (head + off + size + pageSize - 1) >> pageShift;
    let rs = pageStart;
    while (rs < limit && pageBit(populated, rs)) rs++;
    if (rs >= pageEnd) return head;
    let re = rs + 1;
    while (re < limit && !pageBit(populated, re)) re++;
    candOff = re << pageShift;
  }
}

/**
 * Allocate `size` bytes aligned at `align` from the chunk: first fit from
 * `first_free`, splitting the free area. A head smaller than 4 bytes (or one
 * next to a free area) goes to the previous area; a tail smaller than 4
 * bytes stays with the allocation. Updates `free_size`, `first_free`, the
 * contig hint (exact when the scan reached the last area), the empty
 * populated page count, and relocates the chunk. Sizes and alignments are
 * even (the core passes multiples of 4).
 *
 * The map must have room for two more entries (prepareChunk); a map without
 * it is a BUG here where the kernel would write past its array.
 *
 * The kernel tests `map[i - 1]` for a head at index 0 too, reading before
 * the array; a head at index 0 only arises from a populated-only fit that
 * skips unpopulated leading pages, and it is kept as a free area here, as
 * if the missing previous area were in use.
 * @kernel mm/percpu.c pcpu_alloc_area
 * @param popOnly the kernel's pop_only (is_atomic).
 * @context pcpu_lock held.
 * @returns the byte offset allocated, or -1 when no area fits.
 */
export function pcpuAllocArea(
  host: AreaAllocatorHost,
  chunk: PcpuChunkView,
  am: PcpuAreaMap,
  size: number,
  align: number,
  popOnly: boolean,
): number {
  if (am.mapUsed + PCPU_ATOMIC_MAP_MARGIN_MIN > am.mapAlloc) {
    throw new KernelBug(
      `pcpu_alloc_area: BUG: chunk ${chunk.id} area map has no room for a split ` +
        `(map_used=${am.mapUsed}, map_alloc=${am.mapAlloc}); prepareChunk must run first`,
    );
  }
  const pageShift = host.constants.PAGE_SHIFT;
  const oslot = pcpuChunkSlot(host, chunk, am);
  const map = am.map;
  let maxContig = 0;
  let seenFree = false;

  for (let i = am.firstFree; i < am.mapUsed; i++) {
    let off = map[i]!;
    if ((off & 1) !== 0) continue;
    let thisSize = (map[i + 1]! & ~1) - off;

    let head = pcpuFitInArea(chunk, off, thisSize, size, align, popOnly, pageShift);
    if (head < 0) {
      if (!seenFree) {
        am.firstFree = i;
        seenFree = true;
      }
      if (thisSize > maxContig) maxContig = thisSize;
      continue;
    }

    /* a tiny head, or one next to a free area, joins the previous area */
    if (head !== 0 && (head < PCPU_MIN_ALLOC_SIZE || (i > 0 && (map[i - 1]! & 1) === 0))) {
      off += head;
      map[i] = off;
      if (i === 0 || (map[i - 1]! & 1) !== 0) {
        chunk.freeBytes -= head;
      } else if (off - map[i - 1]! > maxContig) {
        maxContig = off - map[i - 1]!;
      }
      thisSize -= head;
      head = 0;
    }

    /* a tiny tail stays with the allocation */
    let tail = thisSize - head - size;
    if (tail < PCPU_MIN_ALLOC_SIZE) {
      tail = 0;
      size = thisSize - head;
    }

    if (head !== 0 || tail !== 0) {
      const nrExtra = (head !== 0 ? 1 : 0) + (tail !== 0 ? 1 : 0);
      /* open room after entry i: entries i+1 .. map_used (the sentinel) move up */
      map.copyWithin(i + 1 + nrExtra, i + 1, am.mapUsed + 1);
      am.mapUsed += nrExtra;
      if (head !== 0) {
        if (!seenFree) {
          am.firstFree = i;
          seenFree = true;
        }
        off += head;
        map[++i] = off;
        if (head > maxContig) maxContig = head;
      }
      if (tail !== 0) {
        map[i + 1] = off + size;
        if (tail > maxContig) maxContig = tail;
      }
    }

    if (!seenFree) am.firstFree = i + 1;

    if (i + 1 === am.mapUsed) {
      am.contigHint = maxContig; /* the scan reached the end */
    } else if (maxContig > am.contigHint) {
      am.contigHint = maxContig;
    }

    chunk.freeBytes -= size;
    map[i] = map[i]! | 1;

    const occ = pcpuCountOccupiedPages(am, i, pageShift);
    if (occ !== 0) host.pcpuUpdateEmptyPages(chunk, -occ);
    host.pcpuChunkRelocate(chunk, oslot);
    return off;
  }

  am.contigHint = maxContig; /* the scan reached the end */
  host.pcpuChunkRelocate(chunk, oslot);
  return -1;
}

/**
 * Index of the entry equal to `key` (an offset with its in-use bit), or of
 * where it would be: the kernel's binary search over [0, map_used).
 */
function pcpuAreaMapSearch(am: PcpuAreaMap, key: number): number {
  const map = am.map;
  let i = 0;
  let j = am.mapUsed;
  while (i !== j) {
    const k = (i + j) >>> 1;
    const v = map[k]!;
    if (v < key) i = k + 1;
    else if (v > key) j = k;
    else return k;
  }
  return i;
}

/**
 * Index of the area that starts at `off` and is in use, or -1.
 * @context pcpu_lock held.
 */
export function pcpuAreaMapFindAlloc(am: PcpuAreaMap, off: number): number {
  if (off < 0 || (off & 1) !== 0) return -1;
  const i = pcpuAreaMapSearch(am, off | 1);
  return i < am.mapUsed && am.map[i] === (off | 1) ? i : -1;
}

/**
 * Free the allocation starting at `off`: binary search for `off | 1`, clear
 * the in-use bit, merge with free neighbours in one memmove, lower
 * `first_free`, raise the contig hint to the merged area, give the occupied
 * pages back to the empty count and relocate the chunk.
 *
 * The kernel BUGs when no allocation starts at `off`; so does this, before
 * touching anything, with a message telling a double free from a bogus
 * offset. The hidden edges of a first-chunk record are refused the same way.
 * @kernel mm/percpu.c pcpu_free_area
 * @context pcpu_lock held.
 * @returns the bytes freed (the area's length, slack included).
 */
export function pcpuFreeArea(
  host: AreaAllocatorHost,
  chunk: PcpuChunkView,
  am: PcpuAreaMap,
  off: number,
): number {
  const pageShift = host.constants.PAGE_SHIFT;
  const regionEnd = chunk.nrPages << pageShift;
  if (off < chunk.startOffset || off >= regionEnd - chunk.endOffset) {
    throw new KernelBug(
      `pcpu_free_area: BUG: offset ${hex(off)} is outside the managed range ` +
        `[${hex(chunk.startOffset)}, ${hex(regionEnd - chunk.endOffset)}) of chunk ${chunk.id}`,
    );
  }
  const oslot = pcpuChunkSlot(host, chunk, am);
  const map = am.map;
  let i = pcpuAreaMapFindAlloc(am, off);
  if (i < 0) {
    const j = (off & 1) === 0 ? pcpuAreaMapSearch(am, off) : am.mapUsed;
    const what =
      j < am.mapUsed && map[j] === off ? "the area is already free (double free)" : "no area starts there";
    throw new KernelBug(
      `pcpu_free_area: BUG: free of offset 0x${off.toString(16)} in chunk ${chunk.id}: ${what}`,
    );
  }

  if (i < am.firstFree) am.firstFree = i;

  map[i] = off;
  const freed = (map[i + 1]! & ~1) - off;
  chunk.freeBytes += freed;

  const occ = pcpuCountOccupiedPages(am, i, pageShift);

  let toFree = 0;
  if ((map[i + 1]! & 1) === 0) toFree++; /* merge with the next area */
  if (i > 0 && (map[i - 1]! & 1) === 0) {
    /* merge with the previous area */
    toFree++;
    i--;
  }
  if (toFree !== 0) {
    am.mapUsed -= toFree;
    map.copyWithin(i + 1, i + 1 + toFree, am.mapUsed + 1 + toFree);
  }

  const merged = (map[i + 1]! & ~1) - map[i]!;
  if (merged > am.contigHint) am.contigHint = merged;

  if (occ !== 0) host.pcpuUpdateEmptyPages(chunk, occ);
  host.pcpuChunkRelocate(chunk, oslot);
  return freed;
}

/**
 * Whether the chunk's map must grow before an allocation. Atomic callers
 * need only room for one split (3 spare entries) but queue the chunk for
 * asynchronous extension, and kick the balance work, once fewer than
 * PCPU_ATOMIC_MAP_MARGIN_LOW remain; sleeping callers want
 * PCPU_ATOMIC_MAP_MARGIN_HIGH spare entries so atomic callers find room.
 * The new size starts at PCPU_DFL_MAP_ALLOC and doubles until it fits.
 * @kernel mm/percpu.c pcpu_need_to_extend
 * @param extendList `pcpu_map_extend_chunks`: the chunk is appended once.
 * @context pcpu_lock held.
 * @returns the new map size in entries, or 0 if no extension is needed.
 */
export function pcpuNeedToExtend(
  host: AreaAllocatorHost,
  chunk: PcpuChunkView,
  am: PcpuAreaMap,
  isAtomic: boolean,
  extendList: PcpuChunkView[],
): number {
  let margin: number;
  if (isAtomic) {
    margin = PCPU_ATOMIC_MAP_MARGIN_MIN;
    if (am.mapAlloc < am.mapUsed + PCPU_ATOMIC_MAP_MARGIN_LOW && !am.onExtendList) {
      am.onExtendList = true;
      extendList.push(chunk);
      host.pcpuScheduleBalanceWork();
    }
  } else {
    margin = PCPU_ATOMIC_MAP_MARGIN_HIGH;
  }

  if (am.mapAlloc >= am.mapUsed + margin) return 0;

  let newAlloc = PCPU_DFL_MAP_ALLOC;
  while (newAlloc < am.mapUsed + margin) newAlloc *= 2;
  return newAlloc;
}

/**
 * Grow the chunk's map to `newAlloc` entries (a copy into a new array; the
 * old one is dropped). Nothing changes when the map is already that large
 * (someone else extended it meanwhile) or when the allocation fails.
 * @kernel mm/percpu.c pcpu_extend_area_map
 * @context pcpu_alloc_mutex held; may sleep (GFP_KERNEL allocation).
 * @returns 0, or -ENOMEM with the map untouched.
 */
export function pcpuExtendAreaMap(host: AreaAllocatorHost, am: PcpuAreaMap, newAlloc: number): number {
  if (host.metadataAllocFails("pcpu_extend_area_map")) return -ENOMEM;
  if (newAlloc <= am.mapAlloc) return 0;
  const map = new Int32Array(newAlloc);
  map.set(am.map);
  am.map = map;
  am.mapAlloc = newAlloc;
  return 0;
}
