/*
 * The allocation path (mm/percpu.c pcpu_alloc and its entry points
 * __alloc_percpu_gfp, __alloc_percpu, __alloc_reserved_percpu).
 *
 *   args -> [mutex] -> lock -> reserved chunk | slot walk -> area_found
 *        \                                   \-> create chunk, restart (sleeping)
 *         \-> populate unpopulated pages (sleeping) -> zero every unit -> ptr
 *
 * A sleeping allocation may create chunks and populate pages; an atomic one
 * (no __GFP_DIRECT_RECLAIM) uses only populated space and, on failure,
 * asks the balance work to populate more.
 */

import {
  __GFP_NORETRY,
  __GFP_NOWARN,
  GFP_KERNEL,
  gfpflagsAllowBlocking,
  LOGLEVEL_INFO,
  LOGLEVEL_WARNING,
} from "@pcpu/mm";
import { type PcpuCodetag, pcpuAllocTagAllocHook } from "./alloc-tag.js";
import {
  PCPU_EMPTY_POP_PAGES_LOW,
  PCPU_MIN_ALLOC_SIZE,
  PCPU_SLOT_FAIL_THRESHOLD,
  type PcpuPtr,
} from "./api.js";
import { findNextBit, findNextZeroBit } from "./bitmap.js";
import { pcpuLogPrefix } from "./boot-lines.js";
import type { PcpuChunk } from "./chunk.js";
import { pcpuMemcgPostAllocHook, pcpuMemcgPreAllocHook } from "./memcg.js";
import type { Percpu } from "./percpu.js";
import { __pcpuChunkMove, pcpuChunkRelocate, pcpuReintegrateChunk, pcpuSizeToSlot } from "./slots.js";
import { formatSymbol, PCPU_WARN_SITES, pcpuWarnWhere } from "./warn-site.js";

/** Options of one allocation beyond the kernel's arguments. */
export interface PcpuAllocOpts {
  /** The caller as `%pS` would print it in the alloc tracepoint. */
  readonly callSite?: string;
  /**
   * The call site's alloc tag (`current->alloc_tag` set by `alloc_hooks()`)
   * for CONFIG_MEM_ALLOC_PROFILING; pass the same object for every call
   * from one site.
   */
  readonly tag?: PcpuCodetag;
}

/**
 * The call site traced when the caller names none. In a kernel `_RET_IP_`
 * is the function that called the allocator (alloc_percpu() is a macro, and
 * before 6.10 __alloc_percpu_gfp tail-called pcpu_alloc), so it is always
 * some caller's `symbol+off/size`: here a module standing for the model's
 * own API user.
 */
export const DEFAULT_CALL_SITE = formatSymbol("pcpu_model_alloc", 0x1d, 0x40, "pcpu_model");

/**
 * Whether the era charges percpu memory to memory cgroups (`__GFP_ACCOUNT`
 * percpu accounting and its obj_cgroup array came in 5.9: the
 * `percpuMemcgAccounting` kernel change).
 */
export function eraHasPercpuMemcg(pcpu: Percpu): boolean {
  return pcpu.changes.percpuMemcgAccounting;
}

/**
 * `pcpu_obj_full_size(size)`: what an object of `size` bytes costs, the
 * size in every possible CPU's unit plus, with memcg kmem accounting, its
 * share of the chunk's obj_cgroup pointer array (one pointer per
 * PCPU_MIN_ALLOC_SIZE bytes). It is what memcg is charged and what the
 * alloc tracepoint's bytes_alloc shows: 16 bytes on 8 CPUs of a 64-bit
 * kernel are 16 * 8 + 16 / 4 * 8 = 160 with memcg kmem, 128 without.
 * @kernel mm/percpu-internal.h pcpu_obj_full_size
 */
export function pcpuObjFullSize(pcpu: Percpu, size: number): number {
  let extraSize = 0;
  if (pcpu.options.memcgKmem && eraHasPercpuMemcg(pcpu))
    extraSize += (size / PCPU_MIN_ALLOC_SIZE) * (pcpu.archHooks().bits / 8);
  return size * pcpu.nrPossibleCpus + extraSize;
}

/** `is_power_of_2(x)` for any size_t a number holds (not only 32-bit ones). */
function isPowerOf2(x: number): boolean {
  if (x <= 0x4000_0000) return x > 0 && (x & (x - 1)) === 0;
  return x === 2 ** Math.round(Math.log2(x));
}

/** `%zu` of a size_t held in a number: exact digits also above 2^53 (the warning path only). */
function zu(n: number): string {
  return Number.isSafeInteger(n) ? String(n) : BigInt(n).toString();
}

/** Largest size whose ALIGN(size, granule) int32 arithmetic gets right. */
const PCPU_ALIGN_FAST_MAX = 0x7fff_fff0;

/**
 * `ALIGN(size, granule)` (PCPU_MIN_ALLOC_SIZE, or 2 for the area map) in the arithmetic of a `bits`-bit
 * size_t: exact for every size_t a number holds, and wrapping to 0 at the
 * top as the C expression does (a 32-bit kernel asked for 0xfffffffd bytes
 * rounds to 0 and refuses it as an illegal size). The slow path of the
 * rounding in pcpu_alloc, for sizes no int32 operation can hold.
 * @kernel include/linux/align.h ALIGN
 */
export function pcpuAlignSizeT(size: number, granule: number, bits: 32 | 64): number {
  const rounded = Math.ceil(size / granule) * granule;
  return rounded % 2 ** bits;
}

/**
 * `pcpu_free_area` with its stats hook: every caller of the kernel's
 * pcpu_free_area (free_percpu and the populate-failure undo) goes through
 * here so `pcpu_stats_area_dealloc` runs first, as in the kernel.
 * @kernel mm/percpu.c pcpu_free_area
 * @context pcpu_lock held.
 * @returns the bytes freed.
 */
export function pcpuFreeArea(pcpu: Percpu, chunk: PcpuChunk, off: number): number {
  if (pcpu.observer !== null) pcpu.observer.areaDealloc(chunk);
  if (pcpu.debug !== null) pcpu.debug.forget(chunk, off);
  return pcpu.area.freeArea(chunk, off);
}

/**
 * `pcpu_alloc(size, align, reserved, gfp)`: allocate a percpu area of
 * `size` bytes aligned to `align` from the reserved chunk (`reserved`) or
 * the dynamic chunks, zeroed in every possible CPU's unit.
 * @kernel mm/percpu.c pcpu_alloc_noprof
 * @context may sleep unless `gfp` forbids direct reclaim (then it takes
 *   only pcpu_lock and uses only populated pages).
 * @returns the percpu pointer, or null on failure (with the kernel's
 *   warning unless __GFP_NOWARN).
 */
export function pcpuAlloc(
  pcpu: Percpu,
  size: number,
  align: number,
  reserved: boolean,
  gfp: number,
  opts?: PcpuAllocOpts,
): PcpuPtr | null {
  const k = pcpu.constants;
  const log = pcpu.machine.log;
  const pcpuGfp = gfp & (GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN);
  const isAtomic = pcpu.era === "v6" ? !gfpflagsAllowBlocking(gfp) : (gfp & GFP_KERNEL) !== GFP_KERNEL;
  /* before "mm, percpu: add support for __GFP_NOWARN flag" (v4.14) every warning was printed */
  const doWarn = !pcpu.changes.gfpNowarn || (gfp & __GFP_NOWARN) === 0;

  /*
   * Alignment of at least the area allocator's granule, size rounded up to
   * it in size_t arithmetic: PCPU_MIN_ALLOC_SIZE (4) for the bitmap, 2 for
   * the area map.
   */
  const granule = pcpu.area.minAllocSize;
  if (align < granule) align = granule;
  size =
    size <= PCPU_ALIGN_FAST_MAX
      ? (size + granule - 1) & ~(granule - 1)
      : pcpuAlignSizeT(size, granule, pcpu.machine.bits);

  if (
    size === 0 ||
    size > k.PCPU_MIN_UNIT_SIZE ||
    align > k.PAGE_SIZE ||
    (pcpu.changes.alignPowerOfTwo && !isPowerOf2(align))
  ) {
    if (doWarn)
      log.warn(
        pcpuWarnWhere(pcpu.era, PCPU_WARN_SITES.allocIllegal),
        `illegal size (${zu(size)}) or align (${zu(align)}) for percpu allocation`,
      );
    return null;
  }

  /* Charge the memcg first (__GFP_ACCOUNT with kmem accounting): a refused charge changes nothing. */
  let objcg = 0;
  if ((gfp & pcpu.memcgAccountMask) !== 0) {
    objcg = pcpuMemcgPreAllocHook(pcpu, size, gfp);
    if (objcg < 0) return null;
  }

  if (!isAtomic) pcpu.allocMutex.lock();
  pcpu.lock.lockIrqsave();

  let chunk: PcpuChunk | null = null;
  let off = -1;
  let err = "";

  // biome-ignore lint/suspicious/noConfusingLabels: the block mirrors the kernel's `goto area_found`
  found: {
    /* Serve reserved allocations from the reserved chunk if available. */
    if (reserved && pcpu.reservedChunk !== null) {
      chunk = pcpu.reservedChunk;
      off = pcpu.area.findFit(chunk, size, align, isAtomic);
      if (off >= 0 && pcpu.area.prepareChunk !== undefined && !pcpu.area.prepareChunk(chunk, isAtomic)) {
        /* 3.18-4.13: the reserved chunk's area map could not be extended. */
        err = "failed to extend area map of reserved chunk";
        return pcpuAllocFail(pcpu, true, reserved, isAtomic, doWarn, size, align, err, objcg);
      }
      if (off >= 0) off = pcpu.area.allocArea(chunk, size, align, off);
      if (off >= 0) break found;
      err = "alloc from reserved chunk failed";
      return pcpuAllocFail(pcpu, true, reserved, isAtomic, doWarn, size, align, err, objcg);
    }

    for (;;) {
      /* restart: search through normal chunks */
      const heads = pcpu.slotHeads;
      const freeSlot = pcpu.freeSlot;
      for (let slot = pcpuSizeToSlot(pcpu, size); slot <= freeSlot; slot++) {
        const head = heads[slot];
        if (head == null) continue;
        let next: PcpuChunk | null;
        for (let c: PcpuChunk | null = head; c !== null; c = next) {
          next = c.next;
          off = pcpu.area.findFit(c, size, align, isAtomic);
          if (off < 0) {
            if (slot < PCPU_SLOT_FAIL_THRESHOLD && pcpu.changes.relegateFailedChunks)
              __pcpuChunkMove(pcpu, c, 0, true);
            continue;
          }
          if (pcpu.area.prepareChunk !== undefined && !pcpu.area.prepareChunk(c, isAtomic)) {
            if (isAtomic) continue;
            err = "failed to extend area map";
            return pcpuAllocFail(pcpu, true, reserved, isAtomic, doWarn, size, align, err, objcg);
          }
          off = pcpu.area.allocArea(c, size, align, off);
          if (off >= 0) {
            pcpuReintegrateChunk(pcpu, c);
            chunk = c;
            break found;
          }
        }
      }

      pcpu.lock.unlockIrqrestore();

      if (isAtomic) {
        err = "atomic alloc failed, no space left";
        return pcpuAllocFail(pcpu, false, reserved, isAtomic, doWarn, size, align, err, objcg);
      }

      /* No space left. Create a new chunk. */
      if (pcpu.slotHeads[pcpu.freeSlot] == null) {
        const created = pcpu.backend.pcpuCreateChunk(pcpuGfp) as PcpuChunk | null;
        if (created === null) {
          err = "failed to allocate new chunk";
          return pcpuAllocFail(pcpu, false, reserved, isAtomic, doWarn, size, align, err, objcg);
        }
        pcpu.lock.lockIrqsave();
        pcpuChunkRelocate(pcpu, created, -1);
      } else {
        pcpu.lock.lockIrqsave();
      }
    }
  }

  /* area_found: */
  if (pcpu.observer !== null) pcpu.observer.areaAlloc(chunk, size);
  /*
   * Since 6.11 the empty-pool check happens here, under the lock (a KCSAN
   * data-race fix); before, it came after population, outside the lock.
   */
  const checkPoolUnderLock = pcpu.era === "v6";
  if (checkPoolUnderLock && pcpu.nrEmptyPopPages < PCPU_EMPTY_POP_PAGES_LOW) pcpu.pcpuScheduleBalanceWork();
  pcpu.lock.unlockIrqrestore();

  /* Populate if not all pages are already there. */
  if (!isAtomic) {
    const pageStart = Math.floor(off * pcpu.invPageSize);
    const pageEnd = Math.ceil((off + size) * pcpu.invPageSize);
    let rs = findNextZeroBit(chunk.populated, pageEnd, pageStart);
    while (rs < pageEnd) {
      const re = Math.min(findNextBit(chunk.populated, pageEnd, rs + 1), pageEnd);
      if (chunk.immutable) log.warn(pcpuWarnWhere(pcpu.era, PCPU_WARN_SITES.allocImmutable));
      const ret = pcpu.backend.pcpuPopulateChunk(chunk, rs, re, pcpuGfp);
      pcpu.lock.lockIrqsave();
      if (ret !== 0) {
        pcpuFreeArea(pcpu, chunk, off);
        err = "failed to populate";
        return pcpuAllocFail(pcpu, true, reserved, isAtomic, doWarn, size, align, err, objcg);
      }
      pcpu.pcpuChunkPopulated(chunk, rs, re, true);
      pcpu.lock.unlockIrqrestore();
      rs = findNextZeroBit(chunk.populated, pageEnd, re);
    }
    pcpu.allocMutex.unlock();
  }
  if (!checkPoolUnderLock && pcpu.nrEmptyPopPages < PCPU_EMPTY_POP_PAGES_LOW) pcpu.pcpuScheduleBalanceWork();

  /* Clear the area in every possible CPU's unit. */
  const mem = pcpu.machine.mem;
  const base = chunk.baseAddr + off;
  const possible = pcpu.possibleCpus;
  for (let i = 0; i < possible.length; i++) mem.memset(base + pcpu.unitOffsets[possible[i]!]!, 0, size);

  const ptr = pcpu.archHooks().addrToPcpuPtr(base);
  if (pcpu.debug !== null) pcpu.debug.remember(chunk, off, size);
  if (pcpu.trace !== null) {
    pcpu.trace.emit({
      event: "percpu_alloc_percpu",
      cpu: pcpu.machine.ctx.cpu,
      callSite: opts?.callSite ?? DEFAULT_CALL_SITE,
      reserved,
      isAtomic,
      size,
      align,
      baseAddr: chunk.baseAddr,
      off,
      ptr,
      bytesAlloc: pcpuObjFullSize(pcpu, size),
      gfpFlags: gfp,
    });
  }
  if (objcg !== 0) pcpuMemcgPostAllocHook(pcpu, objcg, chunk, off, size);
  pcpuAllocTagAllocHook(pcpu, chunk, off, size, opts?.tag);
  return ptr;
}

/**
 * The fail / fail_unlock tail of pcpu_alloc: drop the lock if held, trace
 * the failure, warn (rate limited by the function-static warn_limit), then
 * either flag the atomic failure for the balance work or drop the mutex,
 * and return the memcg charge (`objcg`, 0 for none).
 */
function pcpuAllocFail(
  pcpu: Percpu,
  locked: boolean,
  reserved: boolean,
  isAtomic: boolean,
  doWarn: boolean,
  size: number,
  align: number,
  err: string,
  objcg: number,
): null {
  const log = pcpu.machine.log;
  if (locked) pcpu.lock.unlockIrqrestore();
  if (pcpu.trace !== null) {
    pcpu.trace.emit({
      event: "percpu_alloc_percpu_fail",
      cpu: pcpu.machine.ctx.cpu,
      reserved,
      isAtomic,
      size,
      align,
    });
  }
  /* Before 6.x only sleeping failures warned. */
  const warnAtomic = pcpu.era === "v6" || !isAtomic;
  if (doWarn && warnAtomic && pcpu.warnLimit > 0) {
    /* "PERCPU: " written into each message until pr_fmt (2016), as in the boot lines */
    const prefix = pcpuLogPrefix(pcpu.era);
    log.printk(
      LOGLEVEL_WARNING,
      `${prefix}allocation failed, size=${size} align=${align} atomic=${isAtomic ? 1 : 0}, ${err}`,
    );
    if (!isAtomic) dumpStack(pcpu);
    if (--pcpu.warnLimit === 0) log.printk(LOGLEVEL_INFO, `${prefix}limit reached, disable warning`);
  }
  if (isAtomic) {
    /* see the flag handling in pcpu_balance_workfn() */
    pcpu.atomicAllocFailed = true;
    pcpu.pcpuScheduleBalanceWork();
  } else {
    pcpu.allocMutex.unlock();
  }
  /* the charge taken by the pre-alloc hook goes back */
  if (objcg !== 0) pcpuMemcgPostAllocHook(pcpu, objcg, null, 0, size);
  return null;
}

/**
 * `dump_stack()` as far as a model has a stack: the header line naming the
 * CPU and task, and the call trace marker with the allocator's frame.
 * @kernel lib/dump_stack.c dump_stack
 */
export function dumpStack(pcpu: Percpu): void {
  const ctx = pcpu.machine.ctx;
  const log = pcpu.machine.log;
  log.printk(LOGLEVEL_WARNING, `CPU: ${ctx.cpu} PID: ${ctx.pid} Comm: ${ctx.comm}`);
  log.printk(LOGLEVEL_WARNING, "Call Trace:");
  log.printk(LOGLEVEL_WARNING, " pcpu_alloc_noprof");
}
