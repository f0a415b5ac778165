/*
 * The free path (mm/percpu.c free_percpu).
 *
 * Safe from atomic context: it takes only pcpu_lock and never sleeps.
 * Freeing the last allocation of a chunk may ask the balance work to free
 * the chunk (a second fully free chunk exists) or to reclaim its empty
 * populated pages (pcpu_should_reclaim_chunk).
 *
 * The kernel trusts its callers here: a bogus pointer corrupts the
 * allocator or oopses later. The model checks the pointer (unless the
 * kernel is built with `checkFree: false`) and reports misuse with a WARN,
 * leaving every allocation as it was (spec section 13, item 7).
 */

import { pcpuAddrInChunk, pcpuChunkAddrSearch } from "./addr.js";
import { pcpuFreeArea } from "./alloc.js";
import { pcpuAllocTagFreeHook } from "./alloc-tag.js";
import type { PcpuPtr } from "./api.js";
import { eraHasReclaim } from "./balance.js";
import type { PcpuChunk } from "./chunk.js";
import { pcpuMemcgFreeHook } from "./memcg.js";
import type { Percpu } from "./percpu.js";
import { pcpuIsolateChunk } from "./slots.js";
import { PCPU_WARN_SITES, pcpuWarnWhere } from "./warn-site.js";

/**
 * Why a pointer cannot be freed, or null when it is the start of a live
 * allocation in `chunk`.
 */
function freeMisuse(pcpu: Percpu, ptr: number, addr: number, chunk: PcpuChunk | null): string | null {
  const arch = pcpu.archHooks();
  const p = arch.formatAddr(ptr);
  const start = pcpu.baseAddr;
  if (addr >= start && addr < start + pcpu.section.staticSize) {
    return `free_percpu: pointer ${p} points into the static percpu area`;
  }
  if (chunk === null) return `free_percpu: pointer ${p} is not in any percpu chunk`;
  const off = addr - chunk.baseAddr;
  if (!pcpuAddrInChunk(pcpu, chunk, addr) || !pcpu.area.isAllocStart(chunk, off)) {
    return `free_percpu: pointer ${p} is not a live percpu allocation (never allocated or already freed)`;
  }
  return null;
}

/**
 * `free_percpu(ptr)`: free a percpu area. NULL is a no-op.
 * @kernel mm/percpu.c free_percpu
 * @context any context; takes pcpu_lock.
 * @returns false when the pointer was refused as misuse (WARN logged).
 */
export function freePercpu(pcpu: Percpu, ptr: PcpuPtr | null): boolean {
  if (ptr === null || ptr === 0) return true;
  const addr = pcpu.archHooks().pcpuPtrToAddr(ptr);
  const chunk = pcpuChunkAddrSearch(pcpu, addr);

  if (pcpu.options.checkFree) {
    const why = freeMisuse(pcpu, ptr, addr, chunk);
    if (why !== null) {
      pcpu.machine.log.warn(pcpuWarnWhere(pcpu.era, PCPU_WARN_SITES.freeMisuse), `percpu: ${why}`);
      return false;
    }
  }
  if (chunk === null) throw new Error(`percpu: free_percpu of an address in no chunk (${ptr})`);
  const off = addr - chunk.baseAddr;

  pcpu.lock.lockIrqsave();
  const size = pcpuFreeArea(pcpu, chunk, off);
  pcpuAllocTagFreeHook(pcpu, chunk, off, size);
  if (chunk.objExts !== null) pcpuMemcgFreeHook(pcpu, chunk, off, size);

  let needBalance = false;
  /* If there are more than one fully free chunks, wake up grim reaper. */
  if (!chunk.isolated && chunk.freeBytes === pcpu.unitSize) {
    for (let pos = pcpu.slotHeads[pcpu.freeSlot] ?? null; pos !== null; pos = pos.next) {
      if (pos !== chunk) {
        needBalance = true;
        break;
      }
    }
  } else if (eraHasReclaim(pcpu) && pcpu.backend.pcpuShouldReclaimChunk(chunk)) {
    pcpuIsolateChunk(pcpu, chunk);
    needBalance = true;
  }

  if (pcpu.trace !== null) {
    pcpu.trace.emit({
      event: "percpu_free_percpu",
      cpu: pcpu.machine.ctx.cpu,
      baseAddr: chunk.baseAddr,
      off,
      ptr,
    });
  }
  pcpu.lock.unlockIrqrestore();

  if (needBalance) pcpu.pcpuScheduleBalanceWork();
  return true;
}
