/*
 * The debug checker of the area map (spec section 12, area-map invariants):
 * what the 2014 map guarantees after every public call, checked against the
 * live allocations the debug layer tracks. The kernel has no such checker;
 * it is the model's safety net, so it allocates freely and reports the first
 * violation as text naming the chunk, the entry and both values.
 */

import type { LiveArea, PcpuChunkView } from "./api.js";
import { PcpuAreaMap } from "./area-map.js";

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * Slack an in-use area may carry beyond the requested size: a tail under 4
 * bytes kept by the allocation plus a head under 4 bytes given to it later.
 */
const AREA_MAP_MAX_SLACK = 8;

/**
 * Check the hard area-map invariants of one chunk:
 * map shape (capacity, `map_used + 1 <= map_alloc`, first area at 0,
 * entries strictly increasing, sentinel `end | 1`), the hidden edges of a
 * first-chunk record, no two adjacent free areas, `free_size` equal to the
 * free lengths, no free area below `first_free`, `contig_hint` at least the
 * largest free area, in-use areas equal to the live allocations, and the
 * chunk's empty populated page count.
 * @param live the chunk's live allocations (bytes).
 * @param pageShift log2 of PAGE_SIZE.
 * @returns the first violation, or null.
 */
export function pcpuAreaMapCheck(
  chunk: PcpuChunkView,
  live: readonly LiveArea[],
  pageShift: number,
  accountedPages?: number,
): string | null {
  const id = `area map of chunk ${chunk.id}`;
  const am = chunk.area;
  if (!(am instanceof PcpuAreaMap)) return `${id}: chunk.area is not an area map`;
  const map = am.map;
  const used = am.mapUsed;
  const regionEnd = chunk.nrPages << pageShift;
  const hiddenEnd = regionEnd - chunk.endOffset;

  if (map.length !== am.mapAlloc)
    return `${id}: map_alloc ${am.mapAlloc} but the map holds ${map.length} entries`;
  if (used < 1) return `${id}: map_used ${used} < 1`;
  if (used + 1 > am.mapAlloc) return `${id}: map_used ${used} + sentinel exceeds map_alloc ${am.mapAlloc}`;
  if ((map[0]! & ~1) !== 0) return `${id}: area 0 starts at ${hex(map[0]! & ~1)}, expected 0`;
  if (map[used] !== (regionEnd | 1)) {
    return `${id}: sentinel map[${used}] = ${hex(map[used]!)}, expected ${hex(regionEnd | 1)}`;
  }
  for (let i = 1; i <= used; i++) {
    if ((map[i]! & ~1) <= (map[i - 1]! & ~1)) {
      return `${id}: map[${i}] = ${hex(map[i]!)} does not lie above map[${i - 1}] = ${hex(map[i - 1]!)}`;
    }
  }

  if (chunk.startOffset !== 0 && (map[0] !== 1 || (map[1]! & ~1) !== chunk.startOffset)) {
    return `${id}: hidden head [0, ${hex(chunk.startOffset)}) is not one in-use area (map[0] = ${hex(map[0]!)}, map[1] = ${hex(map[1]!)})`;
  }
  if (chunk.endOffset !== 0 && (used < 2 || map[used - 1] !== (hiddenEnd | 1))) {
    return `${id}: hidden tail [${hex(hiddenEnd)}, ${hex(regionEnd)}) is not one in-use area (map[${used - 1}] = ${hex(map[used - 1]!)})`;
  }

  if (am.firstFree < 0 || am.firstFree > used)
    return `${id}: first_free ${am.firstFree} outside [0, ${used}]`;

  let freeSum = 0;
  let largest = 0;
  let inUse = 0;
  for (let i = 0; i < used; i++) {
    const off = map[i]! & ~1;
    const len = (map[i + 1]! & ~1) - off;
    if ((map[i]! & 1) !== 0) {
      if (off >= chunk.startOffset && off < hiddenEnd) inUse++;
      continue;
    }
    if (i < am.firstFree) return `${id}: area ${i} at ${hex(off)} is free but first_free is ${am.firstFree}`;
    if (i + 1 < used && (map[i + 1]! & 1) === 0) {
      return `${id}: areas ${i} (${hex(off)}) and ${i + 1} (${hex(map[i + 1]!)}) are both free`;
    }
    freeSum += len;
    if (len > largest) largest = len;
  }
  if (freeSum !== chunk.freeBytes)
    return `${id}: free_size ${chunk.freeBytes} but free areas sum to ${freeSum}`;
  if (am.contigHint < largest)
    return `${id}: contig_hint ${am.contigHint} below the largest free area ${largest}`;

  if (inUse !== live.length) return `${id}: ${inUse} in-use areas but ${live.length} live allocations`;
  for (const a of live) {
    let lo = 0;
    let hi = used;
    const key = a.off | 1;
    while (lo < hi) {
      const k = (lo + hi) >>> 1;
      if (map[k]! < key) lo = k + 1;
      else hi = k;
    }
    if (lo >= used || map[lo] !== key) return `${id}: live allocation at ${hex(a.off)} has no in-use area`;
    if (a.off < chunk.startOffset || a.off >= hiddenEnd) {
      return `${id}: live allocation at ${hex(a.off)} lies in a hidden edge`;
    }
    const len = (map[lo + 1]! & ~1) - a.off;
    if (len < a.size || len - a.size >= AREA_MAP_MAX_SLACK) {
      return `${id}: area at ${hex(a.off)} is ${hex(len)} bytes for a live allocation of ${hex(a.size)}`;
    }
  }

  const busy = new Uint8Array(chunk.nrPages);
  for (let i = 0; i < used; i++) {
    if ((map[i]! & 1) === 0) continue;
    const last = ((map[i + 1]! & ~1) - 1) >> pageShift;
    for (let p = (map[i]! & ~1) >> pageShift; p <= last; p++) busy[p] = 1;
  }
  let empty = 0;
  for (let p = 0; p < chunk.nrPages; p++) {
    if (busy[p] === 0 && (chunk.populated[p >>> 5]! & (1 << (p & 31))) !== 0) empty++;
  }
  /* Pages the backend counted beyond the bitmap (km) are counted empty too. */
  if (accountedPages !== undefined) {
    let weight = 0;
    for (let p = 0; p < chunk.nrPages; p++) if ((chunk.populated[p >>> 5]! & (1 << (p & 31))) !== 0) weight++;
    empty += accountedPages - weight;
  }
  if (empty !== chunk.nrEmptyPopPages) {
    return `${id}: nr_empty_pop_pages ${chunk.nrEmptyPopPages} but ${empty} populated pages hold no allocated byte`;
  }
  return null;
}

/**
 * Audit the soft invariant of the area map: the contig hint is only an
 * upper bound, so a hint above the largest free area is information.
 * @returns a description of the deviation, or null.
 */
export function pcpuAreaMapAudit(chunk: PcpuChunkView): string | null {
  const am = chunk.area;
  if (!(am instanceof PcpuAreaMap)) return null;
  let largest = 0;
  for (let i = 0; i < am.mapUsed; i++) {
    if ((am.map[i]! & 1) !== 0) continue;
    const len = (am.map[i + 1]! & ~1) - am.map[i]!;
    if (len > largest) largest = len;
  }
  if (am.contigHint !== largest) {
    return `area map of chunk ${chunk.id}: contig_hint ${am.contigHint} above the largest free area ${largest}`;
  }
  return null;
}
