/*
 * struct pcpu_chunk and its life cycle helpers (mm/percpu.c
 * pcpu_alloc_chunk, pcpu_free_chunk, pcpu_chunk_populated,
 * pcpu_chunk_depopulated).
 *
 * A chunk is `pcpu_nr_units` units laid out like the first chunk's groups.
 * Its area-allocator metadata (bitmaps and block hints, or the area map)
 * hangs off `area`, its backend data (vm areas or a page block) off `data`;
 * the core only reads the common fields below. Slot lists are intrusive
 * doubly linked lists like the kernel's list_head: `prev`/`next` and `slot`.
 */

import type { PcpuChunkView } from "./api.js";
import { bitmapClear, bitmapSet } from "./bitmap.js";

export class PcpuChunk implements PcpuChunkView {
  readonly id: number;
  baseAddr: number;
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
  /**
   * `chunk->obj_exts`: the obj_cgroup (id, 0 for none) each allocation
   * starting at `off` is charged to, at `off >> PCPU_MIN_ALLOC_SHIFT`; null
   * without memcg kmem accounting and for the first chunk.
   */
  objExts: Int32Array | null;

  /** Slot list linkage (list_head): the slot the chunk is on, -1 when on none. */
  slot: number;
  prev: PcpuChunk | null;
  next: PcpuChunk | null;

  constructor(
    id: number,
    nrPages: number,
    startOffset: number,
    endOffset: number,
    immutable: boolean,
    pageSize: number,
  ) {
    this.id = id;
    this.baseAddr = 0;
    this.nrPages = nrPages;
    this.startOffset = startOffset;
    this.endOffset = endOffset;
    this.freeBytes = nrPages * pageSize - startOffset - endOffset;
    this.nrPopulated = 0;
    this.nrEmptyPopPages = 0;
    this.populated = new Uint32Array((nrPages + 31) >>> 5);
    this.immutable = immutable;
    this.isolated = false;
    this.nrAlloc = 0;
    this.maxAllocSize = 0;
    this.data = null;
    this.area = null;
    this.objExts = null;
    this.slot = -1;
    this.prev = null;
    this.next = null;
  }
}

/** Whether page `i` of the chunk is populated. */
export function pcpuPageIsPopulated(chunk: PcpuChunkView, i: number): boolean {
  return (chunk.populated[i >>> 5]! & (1 << (i & 31))) !== 0;
}

/**
 * Mark pages [s, e) populated in the chunk's bitmap and count them
 * (the chunk half of `pcpu_chunk_populated`).
 */
export function pcpuChunkMarkPopulated(chunk: PcpuChunkView, s: number, e: number): void {
  bitmapSet(chunk.populated, s, e - s);
  chunk.nrPopulated += e - s;
}

/** The inverse of pcpuChunkMarkPopulated (the chunk half of `pcpu_chunk_depopulated`). */
export function pcpuChunkMarkDepopulated(chunk: PcpuChunkView, s: number, e: number): void {
  bitmapClear(chunk.populated, s, e - s);
  chunk.nrPopulated -= e - s;
}
