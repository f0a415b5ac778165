/*
 * The balance work (mm/percpu.c pcpu_balance_workfn and its three helpers).
 *
 * One work item does all the deferred housekeeping, in this order (v5.14+):
 *
 *   pcpu_balance_free(false)     destroy every fully free chunk but the first
 *   pcpu_reclaim_populated()     depopulate empty pages of isolated chunks
 *   pcpu_balance_populated()     keep 2..4 empty populated pages for atomics
 *   pcpu_balance_free(true)      destroy surplus chunks that have no pages
 *
 * Older kernels (before 5.14) only freed surplus chunks and then populated.
 * The model runs the work only when the kernel's workqueue is run, so tests
 * decide exactly when it happens.
 */

import { __GFP_NORETRY, __GFP_NOWARN, GFP_KERNEL } from "@pcpu/mm";
import { PCPU_EMPTY_POP_PAGES_HIGH } from "./api.js";
import { findNextBit, findNextZeroBit } from "./bitmap.js";
import type { PcpuChunk } from "./chunk.js";
import { pcpuPageIsPopulated } from "./chunk.js";
import type { Percpu } from "./percpu.js";
import {
  __pcpuChunkMove,
  pcpuChunkRelocate,
  pcpuChunkUnlink,
  pcpuReintegrateChunk,
  pcpuSizeToSlot,
} from "./slots.js";
import { PCPU_WARN_SITES, pcpuWarnWhere } from "./warn-site.js";

/** Whether the era has partial depopulation (sidelined / to_depopulate slots, reclaim). */
export function eraHasReclaim(pcpu: Percpu): boolean {
  return pcpu.era === "v6" || pcpu.era === "v5.14";
}

/**
 * `pcpu_balance_free(empty_only)`: destroy the fully free chunks beyond the
 * first on the free slot (with `emptyOnly`, only those with no populated
 * page), last found first (they are pushed on the head of a local list).
 * @kernel mm/percpu.c pcpu_balance_free
 * @context pcpu_alloc_mutex and pcpu_lock held; drops the lock to destroy.
 */
export function pcpuBalanceFree(pcpu: Percpu, emptyOnly: boolean): void {
  const toFree: PcpuChunk[] = [];
  const head = pcpu.slotHeads[pcpu.freeSlot] ?? null;
  let next: PcpuChunk | null;
  for (let chunk = head; chunk !== null; chunk = next) {
    next = chunk.next;
    if (chunk.immutable) pcpu.machine.log.warn(pcpuWarnWhere(pcpu.era, PCPU_WARN_SITES.balanceFreeImmutable));
    /* spare the first one */
    if (chunk === pcpu.slotHeads[pcpu.freeSlot]) continue;
    if (!emptyOnly || chunk.nrEmptyPopPages === 0) {
      pcpuChunkUnlink(pcpu, chunk);
      toFree.push(chunk);
    }
  }
  if (toFree.length === 0) return;

  pcpu.lock.unlockIrq();
  /*
   * The kernel list_move()s each doomed chunk to the head of its local
   * to_free list, so the destroy walk sees them in the reverse order of
   * the slot walk above: the last one found is depopulated and destroyed
   * first.
   */
  for (let i = toFree.length - 1; i >= 0; i--) {
    const chunk = toFree[i]!;
    let rs = findNextBit(chunk.populated, chunk.nrPages, 0);
    while (rs < chunk.nrPages) {
      const re = findNextZeroBit(chunk.populated, chunk.nrPages, rs + 1);
      pcpu.backend.pcpuDepopulateChunk(chunk, rs, re);
      pcpu.lock.lockIrq();
      pcpu.pcpuChunkDepopulated(chunk, rs, re);
      pcpu.lock.unlockIrq();
      rs = findNextBit(chunk.populated, chunk.nrPages, re);
    }
    pcpu.backend.pcpuDestroyChunk(chunk);
  }
  pcpu.lock.lockIrq();
}

/**
 * `pcpu_reclaim_populated()`: walk the to_depopulate chunks from their last
 * page down, depopulating runs of fully free populated pages while the
 * global pool stays at or above PCPU_EMPTY_POP_PAGES_HIGH; then reintegrate
 * the chunk or sideline it.
 * @kernel mm/percpu.c pcpu_reclaim_populated
 * @context pcpu_alloc_mutex and pcpu_lock held; drops the lock to depopulate.
 */
export function pcpuReclaimPopulated(pcpu: Percpu): void {
  for (;;) {
    const chunk = pcpu.slotHeads[pcpu.toDepopulateSlot] ?? null;
    if (chunk === null) break;
    if (chunk.immutable) pcpu.machine.log.warn(pcpuWarnWhere(pcpu.era, PCPU_WARN_SITES.reclaimImmutable));

    let freedStart = chunk.nrPages;
    let freedEnd = 0;
    let reintegrate = false;
    let end = -1;
    for (let i = chunk.nrPages - 1; i >= 0; i--) {
      /* If the chunk has no empty pages left, stop. */
      if (chunk.nrEmptyPopPages === 0) break;
      /* Keep the global pool at HIGH; reintegrate if it dropped below. */
      if (pcpu.nrEmptyPopPages < PCPU_EMPTY_POP_PAGES_HIGH) {
        reintegrate = true;
        break;
      }
      if (pcpu.area.pageIsEmpty(chunk, i) && pcpuPageIsPopulated(chunk, i)) {
        if (end === -1) end = i;
        if (i > 0) continue;
        i--;
      }
      if (end === -1) continue;

      pcpu.lock.unlockIrq();
      pcpu.backend.pcpuDepopulateChunk(chunk, i + 1, end + 1);
      pcpu.lock.lockIrq();
      pcpu.pcpuChunkDepopulated(chunk, i + 1, end + 1);
      freedStart = Math.min(freedStart, i + 1);
      freedEnd = Math.max(freedEnd, end + 1);
      end = -1;
    }

    if (freedStart < freedEnd) {
      pcpu.lock.unlockIrq();
      pcpu.backend.pcpuPostUnmapTlbFlush(chunk, freedStart, freedEnd);
      pcpu.lock.lockIrq();
    }

    if (reintegrate || chunk.freeBytes === pcpu.unitSize) pcpuReintegrateChunk(pcpu, chunk);
    else __pcpuChunkMove(pcpu, chunk, pcpu.sidelinedSlot, false);
  }
}

/**
 * `pcpu_balance_populated()`: populate pages so that PCPU_EMPTY_POP_PAGES_HIGH
 * empty populated pages exist (all of HIGH after an atomic failure), taking
 * the first chunk with unpopulated pages in each slot from the page-size
 * slot up, creating a chunk when none is left.
 * @kernel mm/percpu.c pcpu_balance_populated
 * @context pcpu_alloc_mutex and pcpu_lock held; drops the lock to populate.
 */
export function pcpuBalancePopulated(pcpu: Percpu): void {
  const gfp = GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN;
  for (;;) {
    /* retry_pop: */
    let nrToPop: number;
    if (pcpu.atomicAllocFailed) {
      nrToPop = PCPU_EMPTY_POP_PAGES_HIGH;
      pcpu.atomicAllocFailed = false;
    } else {
      nrToPop = Math.min(
        Math.max(PCPU_EMPTY_POP_PAGES_HIGH - pcpu.nrEmptyPopPages, 0),
        PCPU_EMPTY_POP_PAGES_HIGH,
      );
    }

    for (let slot = pcpuSizeToSlot(pcpu, pcpu.constants.PAGE_SIZE); slot <= pcpu.freeSlot; slot++) {
      if (nrToPop === 0) break;
      let chunk: PcpuChunk | null = null;
      for (let c = pcpu.slotHeads[slot] ?? null; c !== null; c = c.next) {
        if (c.nrPages - c.nrPopulated !== 0) {
          chunk = c;
          break;
        }
      }
      if (chunk === null) continue;

      /* @chunk can't go away while pcpu_alloc_mutex is held */
      let rs = findNextZeroBit(chunk.populated, chunk.nrPages, 0);
      while (rs < chunk.nrPages) {
        const re = findNextBit(chunk.populated, chunk.nrPages, rs + 1);
        const nr = Math.min(re - rs, nrToPop);
        pcpu.lock.unlockIrq();
        const ret = pcpu.backend.pcpuPopulateChunk(chunk, rs, rs + nr, gfp);
        pcpu.lock.lockIrq();
        if (ret === 0) {
          nrToPop -= nr;
          pcpu.pcpuChunkPopulated(chunk, rs, rs + nr);
        } else {
          nrToPop = 0;
        }
        if (nrToPop === 0) break;
        rs = findNextZeroBit(chunk.populated, chunk.nrPages, rs + nr);
      }
    }

    if (nrToPop === 0) return;
    /* ran out of chunks to populate, create a new one and retry */
    pcpu.lock.unlockIrq();
    const chunk = pcpu.backend.pcpuCreateChunk(gfp) as PcpuChunk | null;
    pcpu.lock.lockIrq();
    if (chunk === null) return;
    pcpuChunkRelocate(pcpu, chunk, -1);
  }
}

/**
 * `pcpu_balance_workfn()`: the balance work item.
 * @kernel mm/percpu.c pcpu_balance_workfn
 * @context process context (the workqueue); takes pcpu_alloc_mutex and
 *   pcpu_lock.
 */
export function pcpuBalanceWorkfn(pcpu: Percpu): void {
  pcpu.allocMutex.lock();
  if (pcpu.area.balance !== undefined) pcpu.area.balance();
  pcpu.lock.lockIrq();
  pcpuBalanceFree(pcpu, false);
  if (eraHasReclaim(pcpu)) pcpuReclaimPopulated(pcpu);
  pcpuBalancePopulated(pcpu);
  if (eraHasReclaim(pcpu)) pcpuBalanceFree(pcpu, true);
  pcpu.lock.unlockIrq();
  pcpu.allocMutex.unlock();
  if (pcpu.debug !== null) pcpu.debug.checkOrThrow(pcpu, "pcpu_balance_workfn");
}
