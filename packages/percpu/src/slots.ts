/*
 * Chunk slot lists (mm/percpu.c __pcpu_size_to_slot .. pcpu_update_empty_pages).
 *
 * Chunks sit on `pcpu_chunk_lists[slot]` keyed by their largest free run
 * (the area map keys by free size). Allocation walks the lists upward from
 * the request's slot, so fuller chunks are tried first. Above the size slots
 * sit three special lists:
 *
 *   0 .. S-1            by contig hint (slot 0: full, or failed a fit)
 *   sidelined  = S      isolated chunks reclaim gave up on for now
 *   free       = S + 1  fully free chunks
 *   to_depopulate = S+2 isolated chunks queued for page reclaim
 *
 * where S = __pcpu_size_to_slot(pcpu_unit_size) + 1. Lists are intrusive
 * (PcpuChunk.prev/next/slot); list order matters.
 */

import { PCPU_SLOT_BASE_SHIFT } from "./api.js";
import { fls } from "./bitmap.js";
import type { PcpuChunk } from "./chunk.js";
import type { Percpu } from "./percpu.js";

/**
 * `__pcpu_size_to_slot(size)`: max(fls(size) - PCPU_SLOT_BASE_SHIFT + 2, 1).
 * @kernel mm/percpu.c __pcpu_size_to_slot
 */
export function __pcpuSizeToSlot(size: number): number {
  const highbit = fls(size);
  return Math.max(highbit - PCPU_SLOT_BASE_SHIFT + 2, 1);
}

/**
 * `pcpu_size_to_slot(size)`: the free slot for a whole unit.
 * @kernel mm/percpu.c pcpu_size_to_slot
 */
export function pcpuSizeToSlot(pcpu: Percpu, size: number): number {
  if (size === pcpu.unitSize) return pcpu.freeSlot;
  return __pcpuSizeToSlot(size);
}

/** Unlink a chunk from its slot list (list_del). */
function unlink(pcpu: Percpu, chunk: PcpuChunk): void {
  const s = chunk.slot;
  if (s < 0) return;
  if (chunk.prev !== null) chunk.prev.next = chunk.next;
  else pcpu.slotHeads[s] = chunk.next;
  if (chunk.next !== null) chunk.next.prev = chunk.prev;
  else pcpu.slotTails[s] = chunk.prev;
  chunk.prev = chunk.next = null;
  chunk.slot = -1;
}

/** Take a chunk off any slot list (list_del_init), e.g. before destroying it. */
export function pcpuChunkUnlink(pcpu: Percpu, chunk: PcpuChunk): void {
  unlink(pcpu, chunk);
}

/**
 * `__pcpu_chunk_move(chunk, slot, move_front)`: move to the head or the
 * tail of slot list `slot`. The reserved chunk is never on a list.
 * @kernel mm/percpu.c __pcpu_chunk_move
 * @context pcpu_lock held.
 */
export function __pcpuChunkMove(pcpu: Percpu, chunk: PcpuChunk, slot: number, moveFront: boolean): void {
  if (chunk === pcpu.reservedChunk) return;
  /*
   * Already at that end of that list (e.g. an isolated chunk re-isolated
   * on every free): unlinking and relinking would leave every pointer as
   * it is.
   */
  if (chunk.slot === slot && (moveFront ? pcpu.slotHeads[slot] : pcpu.slotTails[slot]) === chunk) return;
  unlink(pcpu, chunk);
  chunk.slot = slot;
  if (moveFront) {
    const head = pcpu.slotHeads[slot] ?? null;
    chunk.next = head;
    if (head !== null) head.prev = chunk;
    else pcpu.slotTails[slot] = chunk;
    pcpu.slotHeads[slot] = chunk;
  } else {
    const tail = pcpu.slotTails[slot] ?? null;
    chunk.prev = tail;
    if (tail !== null) tail.next = chunk;
    else pcpu.slotHeads[slot] = chunk;
    pcpu.slotTails[slot] = chunk;
  }
}

/** `pcpu_chunk_move(chunk, slot)`: to the head. @kernel mm/percpu.c pcpu_chunk_move */
export function pcpuChunkMove(pcpu: Percpu, chunk: PcpuChunk, slot: number): void {
  __pcpuChunkMove(pcpu, chunk, slot, true);
}

/**
 * `pcpu_chunk_relocate(chunk, oslot)`: put the chunk on the slot its free
 * space now calls for; a chunk getting emptier goes to the head, a fuller
 * one to the tail. `oslot` -1 (new or reintegrated chunk) always lands at
 * the head. Isolated chunks stay where reclaim put them.
 * @kernel mm/percpu.c pcpu_chunk_relocate
 * @context pcpu_lock held.
 */
export function pcpuChunkRelocate(pcpu: Percpu, chunk: PcpuChunk, oslot: number): void {
  const nslot = pcpu.area.chunkSlot(chunk);
  if (chunk.isolated) return;
  if (oslot !== nslot) __pcpuChunkMove(pcpu, chunk, nslot, oslot < nslot);
}

/**
 * `pcpu_isolate_chunk(chunk)`: take the chunk out of normal placement for
 * reclaim; its empty populated pages stop counting globally.
 * @kernel mm/percpu.c pcpu_isolate_chunk
 * @context pcpu_lock held.
 */
export function pcpuIsolateChunk(pcpu: Percpu, chunk: PcpuChunk): void {
  if (!chunk.isolated) {
    chunk.isolated = true;
    pcpu.nrEmptyPopPages -= chunk.nrEmptyPopPages;
  }
  pcpuChunkMove(pcpu, chunk, pcpu.toDepopulateSlot);
}

/**
 * `pcpu_reintegrate_chunk(chunk)`: undo pcpu_isolate_chunk.
 * @kernel mm/percpu.c pcpu_reintegrate_chunk
 * @context pcpu_lock held.
 */
export function pcpuReintegrateChunk(pcpu: Percpu, chunk: PcpuChunk): void {
  if (chunk.isolated) {
    chunk.isolated = false;
    pcpu.nrEmptyPopPages += chunk.nrEmptyPopPages;
    pcpuChunkRelocate(pcpu, chunk, -1);
  }
}

/**
 * `pcpu_update_empty_pages(chunk, nr)`: the chunk's empty populated page
 * count changes by `nr`; the global one too unless the chunk is the
 * reserved chunk or isolated.
 * @kernel mm/percpu.c pcpu_update_empty_pages
 * @context pcpu_lock held.
 */
export function pcpuUpdateEmptyPages(pcpu: Percpu, chunk: PcpuChunk, nr: number): void {
  chunk.nrEmptyPopPages += nr;
  if (chunk !== pcpu.reservedChunk && !chunk.isolated) pcpu.nrEmptyPopPages += nr;
}
