/*
 * The kernel changes the modelled eras differ by, one named switch each.
 *
 * An era (PcpuEra) is a kernel generation; what makes it behave differently
 * is a list of upstream commits. Each switch below is one of those commits,
 * named by what it changed, documented with its subject and the release
 * that shipped it, and read at the one place where the kernel's code
 * differs (grep the field name to find it). A switch is true when the
 * kernel has the change. No code tests an era or an allocator name to mean
 * one of these: "the allocator is the bitmap" is not "the kernel is 5.1 or
 * newer".
 *
 *   switch                     commit subject                                              release
 *   alignPowerOfTwo            percpu: ensure the requested alignment is power of two       v4.10
 *   gfpNowarn                  mm, percpu: add support for __GFP_NOWARN flag                v4.14
 *   hintRegionOverlap          percpu: introduce helper to determine if two regions overlap v5.1
 *   freePathNewRegion          percpu: update free path with correct new free region        v5.1
 *   slotByContigHint           percpu: manage chunks based on contig_bits instead of        v5.1
 *                              free_bytes
 *   relegateFailedChunks       percpu: relegate chunks unusable when failing small          v5.1
 *                              allocations
 *   emptyPagesByBlock          percpu: set PCPU_BITMAP_BLOCK_SIZE to PAGE_SIZE              v5.1
 *   blockScanHint              percpu: add block level scan_hint                            v5.1
 *   rememberSkippedArea        percpu: remember largest area skipped during allocation      v5.1
 *   percpuMemcgAccounting      mm: memcg/percpu: account percpu memory to memory cgroups    v5.9
 *
 * The 5.1 switches are Dennis Zhou's February 2019 series on the bitmap
 * allocator of 4.14 ("percpu: replace area map allocator with bitmap"); the
 * eras turn them on together (v5.14, v6) or off together (v4.14 and older),
 * so the combinations no kernel shipped are never run. The rest of that
 * series changed no result the model can observe, or rides on these: "make
 * pcpu_block_md generic" and "convert chunk hints to be based on
 * pcpu_block_md" keep the chunk hint in a `struct pcpu_block_md` (here the
 * chunk hint always lives in `chunk_md`; 4.14's contig_bits,
 * contig_bits_start and first_bit are its contig_hint, contig_hint_start and
 * first_free), "use block scan_hint to only scan forward", "use chunk
 * scan_hint to skip some scanning" and "keep track of the best offset for
 * contig hints" only act through scan hints, which stay 0 without
 * `blockScanHint`. "percpu: do not search past bitmap when allocating an
 * area" (v5.1) is in the 4.14.y stable trees and in every era here.
 *
 * The minimum allocation granule (size rounded to 2 and alignment at least
 * 2 for the area map, 4 for the bitmap) is not an era switch: it belongs to
 * the area allocator (`AreaAllocator.minAllocSize`), as it did in the
 * kernel, where "percpu: increase minimum percpu allocation size and align
 * areas" (v4.14) came with the bitmap allocator.
 */

import type { PcpuEra } from "./api.js";
import { pcpuEraIndex } from "./constants.js";

/**
 * The kernel changes one kernel has (true) or lacks (false). Built once per
 * kernel from its era; read-only.
 */
export interface PcpuKernelChanges {
  /**
   * "percpu: ensure the requested alignment is power of two" (v4.10):
   * pcpu_alloc refuses an alignment that is not a power of two. Before, the
   * area map's ALIGN() took any even alignment and placed areas with it.
   */
  readonly alignPowerOfTwo: boolean;
  /**
   * "mm, percpu: add support for __GFP_NOWARN flag" (v4.14): __GFP_NOWARN
   * silences the illegal-request WARN and the allocation-failure warning.
   * Before, both were printed whatever the gfp flags.
   */
  readonly gfpNowarn: boolean;
  /**
   * "percpu: introduce helper to determine if two regions overlap" (v5.1):
   * pcpu_block_update_hint_alloc rescans a block (or the chunk) when the
   * allocation overlaps its contig run. Before, only when the allocation's
   * first bit fell inside the run.
   */
  readonly hintRegionOverlap: boolean;
  /**
   * "percpu: update free path with correct new free region" (v5.1): a free
   * that does not empty a block updates the chunk hint with the freed run.
   * Before (4.14), with the run's start and the length of the start block's
   * contig hint, wherever that run lay. (The 5.1 chunk_md conversion then
   * passed a block-relative end: the free-path quirk of spec 5.8.)
   */
  readonly freePathNewRegion: boolean;
  /**
   * "percpu: manage chunks based on contig_bits instead of free_bytes"
   * (v5.1): pcpu_chunk_slot keys a chunk by its largest free run. Before, by
   * its free bytes.
   */
  readonly slotByContigHint: boolean;
  /**
   * "percpu: relegate chunks unusable when failing small allocations"
   * (v5.1): a chunk in a slot below PCPU_SLOT_FAIL_THRESHOLD that cannot fit
   * a request moves to slot 0, out of the walk. Before, it stayed.
   */
  readonly relegateFailedChunks: boolean;
  /**
   * "percpu: set PCPU_BITMAP_BLOCK_SIZE to PAGE_SIZE" (v5.1): empty
   * populated pages are counted as blocks become used or free, and
   * populating for an allocation counts its pages empty first. Before
   * (4.14), pcpu_chunk_refresh_hint recounted the populated pages inside
   * the chunk's free regions whenever it ran (a count that goes stale in
   * between), and pcpu_chunk_populated(for_alloc) left the count alone.
   */
  readonly emptyPagesByBlock: boolean;
  /**
   * "percpu: add block level scan_hint" (v5.1): pcpu_block_update keeps a
   * scan hint (a free run before the contig run), pcpu_block_refresh_hint
   * promotes it and no longer resets left_free, allocation clears it where
   * it is used. Before, no scan hint, and a block rescan reset left_free
   * and right_free.
   */
  readonly blockScanHint: boolean;
  /**
   * "percpu: remember largest area skipped during allocation" (v5.1):
   * pcpu_alloc_area feeds the largest free run its scan skipped to the
   * block's scan hint (pcpu_block_update_scan). Before,
   * bitmap_find_next_zero_area and nothing remembered.
   */
  readonly rememberSkippedArea: boolean;
  /**
   * "mm: memcg/percpu: account percpu memory to memory cgroups" (v5.9):
   * __GFP_ACCOUNT allocations are charged to the current memcg through
   * pcpu_memcg_pre_alloc_hook / post_alloc_hook / free_hook. Before, percpu
   * memory was never charged. The modelled eras with it (v5.14, v6) have
   * the form of "percpu: rework memcg accounting" (v5.14): every chunk
   * created at run time carries the obj_cgroup array, one set of slot
   * lists. The 5.9-5.13 form (PCPU_CHUNK_MEMCG chunks on their own slot
   * lists) belongs to no modelled era and is not modelled.
   */
  readonly percpuMemcgAccounting: boolean;
}

/**
 * The kernel changes of `era`.
 * @param era - kernel generation
 * @returns a frozen record; every switch true for `v6` and `v5.14`
 */
export function pcpuKernelChanges(era: PcpuEra): PcpuKernelChanges {
  const i = pcpuEraIndex(era);
  /* v5.1 lies between the v4.14 and v5.14 eras; v4.10 and v4.14 between v3.18 and v4.14 */
  const since51 = i >= pcpuEraIndex("v5.14");
  const since414 = i >= pcpuEraIndex("v4.14");
  return Object.freeze({
    alignPowerOfTwo: since414,
    gfpNowarn: since414,
    hintRegionOverlap: since51,
    freePathNewRegion: since51,
    slotByContigHint: since51,
    relegateFailedChunks: since51,
    emptyPagesByBlock: since51,
    blockScanHint: since51,
    rememberSkippedArea: since51,
    /* v5.9 lies between the v4.14 and v5.14 eras */
    percpuMemcgAccounting: since51,
  });
}
