/*
 * @pcpu/percpu api: types, constants and the contracts the layers above
 * fulfil. Mirrors the declarations of include/linux/percpu.h and
 * mm/percpu-internal.h. Only types and constants live here.
 *
 * The contracts (STYLE.md rule 5) are interfaces implemented elsewhere and
 * passed in when a kernel is assembled:
 *
 *   PopulationBackend  mm/percpu-vm.c or mm/percpu-km.c
 *   AreaAllocator      the bitmap allocator (4.14+) or the 2009/2014 area map
 *   PcpuArch           the arch hooks (asm/percpu.h, setup_percpu.c)
 *   PcpuObserver       CONFIG_PERCPU_STATS (mm/percpu-stats.c)
 *   PcpuTraceSink      the percpu tracepoints (include/trace/events/percpu.h)
 *
 * Units: sizes and offsets are bytes unless a name says bits; one bit of an
 * allocation map covers PCPU_MIN_ALLOC_SIZE (4) bytes.
 */

import type { Machine, VirtAddr } from "@pcpu/mm";
import type { PcpuKernelChanges } from "./kernel-changes.js";

/**
 * A percpu pointer: a fictitious address in the static percpu section's
 * coordinates (`__per_cpu_start` based). Branded so it is never mixed up with
 * a virtual address; `per_cpu_ptr()` turns it into one.
 */
export type PcpuPtr = number & { readonly __brand: "PcpuPtr" };

export const PCPU_MIN_ALLOC_SHIFT = 2;
export const PCPU_MIN_ALLOC_SIZE = 1 << PCPU_MIN_ALLOC_SHIFT;
export const PCPU_SLOT_BASE_SHIFT = 5;
export const PCPU_SLOT_FAIL_THRESHOLD = 3;
export const PCPU_EMPTY_POP_PAGES_LOW = 2;
export const PCPU_EMPTY_POP_PAGES_HIGH = 4;
/** NUMA distance of a node to itself. */
export const LOCAL_DISTANCE = 10;
export const REMOTE_DISTANCE = 20;
/** Area map era: initial number of map entries. */
export const PCPU_DFL_MAP_ALLOC = 16;
/** Area map era (3.18+): spare entries kept for atomic allocations. */
export const PCPU_ATOMIC_MAP_MARGIN_LOW = 32;
export const PCPU_ATOMIC_MAP_MARGIN_HIGH = 64;

/** First-chunk allocators (`enum pcpu_fc`, names as `pcpu_fc_names`). */
export type PcpuFc = "auto" | "embed" | "page";

/**
 * The kernel generation whose behaviour is reproduced. `v6` is today's
 * default; the others keep older behaviour selectable (spec section 14).
 */
export type PcpuEra = "v6" | "v5.14" | "v4.14" | "v3.18" | "v2.6.32" | "v2.6.30";

/**
 * Boot-time constants that depend on the page size and the build
 * (include/linux/percpu.h). Computed once per kernel by `pcpuConstants()`.
 */
export interface PcpuConstants {
  readonly PAGE_SHIFT: number;
  readonly PAGE_SIZE: number;
  /** Bytes per bitmap block; equals PAGE_SIZE (empty-page accounting relies on it). */
  readonly PCPU_BITMAP_BLOCK_SIZE: number;
  /** Bits per bitmap block (BB): PAGE_SIZE >> PCPU_MIN_ALLOC_SHIFT. */
  readonly PCPU_BITMAP_BLOCK_BITS: number;
  /** PFN_ALIGN(32 KiB): also the largest legal allocation. */
  readonly PCPU_MIN_UNIT_SIZE: number;
  readonly PERCPU_MODULE_RESERVE: number;
  readonly PERCPU_DYNAMIC_EARLY_SIZE: number;
  readonly PERCPU_DYNAMIC_RESERVE: number;
  /** The build-time CPU limit; also the "empty unit" sentinel in cpu maps. */
  readonly NR_CPUS: number;
}

/** `struct pcpu_group_info`. */
export interface PcpuGroupInfo {
  /** Units in the group, a multiple of units-per-allocation. */
  nrUnits: number;
  /** Byte offset of the group from the chunk base. */
  baseOffset: number;
  /** Unit index within the group -> CPU id; NR_CPUS marks an empty unit. */
  cpuMap: Int32Array;
}

/** `struct pcpu_alloc_info`. */
export interface PcpuAllocInfo {
  staticSize: number;
  reservedSize: number;
  dynSize: number;
  unitSize: number;
  atomSize: number;
  allocSize: number;
  nrGroups: number;
  groups: PcpuGroupInfo[];
}

/** NUMA distance between two CPUs (`pcpu_fc_cpu_distance_fn_t`). */
export type PcpuCpuDistanceFn = (from: number, to: number) => number;
/** NUMA node of a CPU (`pcpu_fc_cpu_to_node_fn_t`). */
export type PcpuCpuToNodeFn = (cpu: number) => number;

/** GFP modes the percpu API distinguishes. Flag values live in @pcpu/mm's gfp.ts. */
export type GfpMode = "GFP_KERNEL" | "GFP_NOWAIT" | "GFP_ATOMIC";

/* ------------------------------------------------------------------------ */
/* Chunk view shared by every contract.                                     */
/* ------------------------------------------------------------------------ */

/**
 * The fields of `struct pcpu_chunk` that every layer may read. The concrete
 * class is `PcpuChunk` in chunk.ts; area-allocator metadata hangs off
 * `area` and backend data off `data`.
 */
export interface PcpuChunkView {
  /** Debug id, unique per kernel, in creation order (first chunk 0). */
  readonly id: number;
  /** Base address of the chunk's unit-0-relative view. */
  baseAddr: VirtAddr;
  /** Pages per unit served by this chunk. */
  readonly nrPages: number;
  /** Bytes hidden at the start / end of the managed range (first-chunk records only). */
  readonly startOffset: number;
  readonly endOffset: number;
  freeBytes: number;
  nrPopulated: number;
  nrEmptyPopPages: number;
  /** Bitmap over page indices: page i is backed in every unit. */
  readonly populated: Uint32Array;
  readonly immutable: boolean;
  isolated: boolean;
  /** Stats only (CONFIG_PERCPU_STATS). */
  nrAlloc: number;
  maxAllocSize: number;
  /** Backend data: the vm areas (percpu-vm) or the page block (percpu-km). */
  data: unknown;
  /** Area-allocator metadata (bitmaps and blocks, or the area map). */
  area: unknown;
}

/* ------------------------------------------------------------------------ */
/* The population contract (mm/percpu-vm.c, mm/percpu-km.c).               */
/* ------------------------------------------------------------------------ */

/**
 * What a population backend provides. Exactly one per kernel; the core never
 * knows which. Page ranges `[s, e)` are page indices within a unit.
 */
export interface PopulationBackend {
  readonly name: string;
  /** `pcpu_populate_chunk`: back pages [s, e) in every unit. 0 or -ENOMEM. May sleep. */
  pcpuPopulateChunk(chunk: PcpuChunkView, s: number, e: number, gfp: number): number;
  /** `pcpu_depopulate_chunk`: unmap and free pages [s, e) of every unit; no TLB flush. */
  pcpuDepopulateChunk(chunk: PcpuChunkView, s: number, e: number): void;
  /** `pcpu_post_unmap_tlb_flush`. */
  pcpuPostUnmapTlbFlush(chunk: PcpuChunkView, s: number, e: number): void;
  /** `pcpu_create_chunk`: a new chunk with no page populated (vm) or all (km); null on failure. */
  pcpuCreateChunk(gfp: number): PcpuChunkView | null;
  /** `pcpu_destroy_chunk`: NULL-safe. */
  pcpuDestroyChunk(chunk: PcpuChunkView | null): void;
  /** `pcpu_addr_to_page`: the pfn backing a chunk address, or -1. */
  pcpuAddrToPage(addr: VirtAddr): number;
  /** `pcpu_verify_alloc_info`: 0 or -EINVAL (with the kernel's message). */
  pcpuVerifyAllocInfo(ai: PcpuAllocInfo): number;
  /** `pcpu_should_reclaim_chunk`. */
  pcpuShouldReclaimChunk(chunk: PcpuChunkView): boolean;
  /**
   * The pages the backend reported to pcpu_chunk_populated for a chunk when
   * that differs from the populated bitmap's weight (percpu-km's per-chunk
   * over-count with several units, spec 8.2). Only the debug checker asks.
   */
  accountedPages?(chunk: PcpuChunkView): number;
  /**
   * Counts that destroyed chunks left behind in pcpu_nr_populated and
   * pcpu_nr_empty_pop_pages (percpu-km's over-count is never taken back).
   * Only the debug checker asks.
   */
  accountedLeak?(): { readonly nrPopulated: number; readonly nrEmptyPopPages: number };
}

/* ------------------------------------------------------------------------ */
/* The area-allocator contract.                                             */
/* ------------------------------------------------------------------------ */

/**
 * Callbacks from an area allocator into the core: the empty-page accounting
 * and slot relocation live in mm/percpu.c, the allocators call them.
 */
export interface AreaAllocatorHost {
  readonly constants: PcpuConstants;
  /** The kernel changes this kernel has (kernel-changes.ts); the allocators read theirs at construction. */
  readonly changes: PcpuKernelChanges;
  /** `pcpu_update_empty_pages(chunk, nr)`. */
  pcpuUpdateEmptyPages(chunk: PcpuChunkView, nr: number): void;
  /** `pcpu_chunk_relocate(chunk, oslot)`. */
  pcpuChunkRelocate(chunk: PcpuChunkView, oslot: number): void;
  /** `pcpu_size_to_slot(size)` (bytes): the free slot when size == unit size. */
  pcpuSizeToSlot(size: number): number;
  /** Whether `chunk` is the reserved chunk (its pages never count as empty globally). */
  isReservedChunk(chunk: PcpuChunkView): boolean;
  /** `pcpu_schedule_balance_work()` (the area map queues async map extension this way). */
  pcpuScheduleBalanceWork(): void;
  /** Whether a metadata allocation fails (fault site "kmalloc" with this caller tag). */
  metadataAllocFails(caller: string): boolean;
}

/**
 * An area allocator manages the offsets of one chunk's units. The bitmap
 * allocator and the area map both implement it; the core calls only these.
 */
export interface AreaAllocator {
  readonly name: "bitmap" | "area-map";
  /**
   * The allocation granule in bytes: pcpu_alloc rounds sizes up to it and
   * raises smaller alignments to it. The area map's in-use bit needs even
   * offsets (2, "force >= 16bit alignment and make size even"); the bitmap
   * has one bit per PCPU_MIN_ALLOC_SIZE (4) bytes ("percpu: increase minimum
   * percpu allocation size and align areas", v4.14, with the bitmap).
   */
  readonly minAllocSize: number;
  /**
   * Whether the allocator keeps `nr_empty_pop_pages` by recounting the
   * populated pages inside free regions when it rescans a chunk (the 4.14
   * bitmap allocator; "percpu: set PCPU_BITMAP_BLOCK_SIZE to PAGE_SIZE",
   * v5.1, replaced the recount). pcpu_chunk_populated(for_alloc) then
   * leaves the counts alone, and the counts are not exact between
   * rescans. False for the area map and the 5.1+ bitmap.
   */
  readonly recountsEmptyPages: boolean;
  /** Create the metadata of a fresh chunk (`pcpu_alloc_chunk` part): everything free. False on (injected) metadata allocation failure. */
  initChunk(chunk: PcpuChunkView): boolean;
  /**
   * Build the metadata of a first-chunk record from boot memory (cannot
   * fail) and hide `[0, startOffset)` and `[nrPages*PAGE_SIZE - endOffset,
   * end)` (`pcpu_alloc_first_chunk`). The caller has set free_bytes and
   * nr_empty_pop_pages = nr_pages.
   */
  initFirstChunk(chunk: PcpuChunkView): void;
  /** Release the metadata (`pcpu_free_chunk` part). */
  freeChunk(chunk: PcpuChunkView): void;
  /** `pcpu_chunk_slot`: the slot the chunk belongs in. */
  chunkSlot(chunk: PcpuChunkView): number;
  /**
   * `pcpu_find_block_fit`: a place to start scanning, or -1. `size` and
   * `align` are bytes (already rounded by pcpu_alloc); `popOnly` restricts
   * the fit to populated pages.
   */
  findFit(chunk: PcpuChunkView, size: number, align: number, popOnly: boolean): number;
  /** `pcpu_alloc_area`: the byte offset allocated, or -1. */
  allocArea(chunk: PcpuChunkView, size: number, align: number, start: number): number;
  /** `pcpu_free_area`: frees the allocation starting at byte `off`; returns the bytes freed. */
  freeArea(chunk: PcpuChunkView, off: number): number;
  /** Whether page `i` of the chunk holds no allocated byte (bitmap: block contig_hint == BB). */
  pageIsEmpty(chunk: PcpuChunkView, i: number): boolean;
  /** `chunk_md.first_free` (bits) as percpu_stats prints it as `first_bit`. */
  firstBit(chunk: PcpuChunkView): number;
  /** The chunk-level contiguous-free hint in bytes (`contig_bytes`). */
  contigBytes(chunk: PcpuChunkView): number;
  /**
   * The allocation layout percpu_stats walks: calls `fn(size)` for every
   * allocated (positive) and free (negative) run up to the last allocation,
   * in address order, bytes (mm/percpu-stats.c chunk_map_stats).
   */
  forEachRun(chunk: PcpuChunkView, fn: (signedBytes: number) => void): void;
  /** Whether `off` is the start of a live allocation (the debug double-free check). */
  isAllocStart(chunk: PcpuChunkView, off: number): boolean;
  /** Host bytes taken by the chunk's metadata (benchmarks). */
  metadataBytes(chunk: PcpuChunkView): number;
  /**
   * Check every hard invariant of the metadata; the first violation as text,
   * or null. `accountedPages`, when given, is what the backend reported to
   * pcpu_chunk_populated for the chunk (PopulationBackend.accountedPages):
   * nr_populated and nr_empty_pop_pages are then checked against it instead
   * of the populated bitmap's weight.
   */
  checkChunk(chunk: PcpuChunkView, live: readonly LiveArea[], accountedPages?: number): string | null;
  /**
   * Called by the balance work with the mutex held and the lock dropped
   * (area map, 3.18+: extend the maps queued by atomic allocations). Optional.
   */
  balance?(): void;
  /**
   * Called before a chunk is tried by the allocation path (area map: make
   * room for the split, growing the map; atomic callers may not grow it).
   * Returns false when the chunk must be skipped. Optional.
   */
  prepareChunk?(chunk: PcpuChunkView, isAtomic: boolean): boolean;
}

/** A live allocation as the debug checker tracks it (bytes). */
export interface LiveArea {
  readonly off: number;
  readonly size: number;
}

/** Builds an area allocator for one kernel. */
export type AreaAllocatorFactory = (host: AreaAllocatorHost) => AreaAllocator;

/* ------------------------------------------------------------------------ */
/* The arch hooks (asm/percpu.h, arch setup_percpu.c).                      */
/* ------------------------------------------------------------------------ */

/**
 * What the core needs from the arch: pointer translation, per-CPU offsets,
 * pointer-width arithmetic and address printing.
 */
export interface PcpuArchHooks {
  /** Pointer width: 32-bit arches wrap percpu arithmetic modulo 2^32. */
  readonly bits: 32 | 64;
  /** `p + off` in the arch's pointer arithmetic (wraps on 32-bit). */
  ptrAdd(p: number, off: number): number;
  /** `__per_cpu_offset[cpu]` (`per_cpu_offset(cpu)`). */
  perCpuOffset(cpu: number): number;
  /** `__my_cpu_offset` of the current CPU, read the arch's way (register, lowcore, array). */
  myCpuOffset(): number;
  /** `__addr_to_pcpu_ptr`. */
  addrToPcpuPtr(addr: VirtAddr): PcpuPtr;
  /** `__pcpu_ptr_to_addr`. */
  pcpuPtrToAddr(ptr: PcpuPtr): VirtAddr;
  /** An address as the arch prints it with `%px`/`%lx` (width, sign extension), without 0x. */
  formatAddr(addr: number): string;
}

/* ------------------------------------------------------------------------ */
/* Observers: statistics and tracepoints.                                   */
/* ------------------------------------------------------------------------ */

/**
 * CONFIG_PERCPU_STATS hooks (mm/percpu-internal.h pcpu_stats_*). When stats
 * are off the core holds null and pays one null check per hook site.
 */
export interface PcpuObserver {
  /** Setup: `pcpu_stats_save_ai` plus `min_alloc_size = unit_size`. */
  saveAi(ai: PcpuAllocInfo): void;
  /** `pcpu_stats_area_alloc(chunk, size)`. */
  areaAlloc(chunk: PcpuChunkView, size: number): void;
  /** `pcpu_stats_area_dealloc(chunk)`. */
  areaDealloc(chunk: PcpuChunkView): void;
  /** `pcpu_stats_chunk_alloc()`. */
  chunkAlloc(): void;
  /** `pcpu_stats_chunk_dealloc()`. */
  chunkDealloc(): void;
}

/** The percpu tracepoints, fields as in include/trace/events/percpu.h. */
export type PcpuTraceEvent =
  | {
      readonly event: "percpu_alloc_percpu";
      readonly cpu: number;
      readonly callSite: string;
      readonly reserved: boolean;
      readonly isAtomic: boolean;
      readonly size: number;
      readonly align: number;
      readonly baseAddr: number;
      readonly off: number;
      readonly ptr: number;
      readonly bytesAlloc: number;
      readonly gfpFlags: number;
    }
  | {
      readonly event: "percpu_free_percpu";
      readonly cpu: number;
      readonly baseAddr: number;
      readonly off: number;
      readonly ptr: number;
    }
  | {
      readonly event: "percpu_alloc_percpu_fail";
      readonly cpu: number;
      readonly reserved: boolean;
      readonly isAtomic: boolean;
      readonly size: number;
      readonly align: number;
    }
  | { readonly event: "percpu_create_chunk"; readonly cpu: number; readonly baseAddr: number }
  | { readonly event: "percpu_destroy_chunk"; readonly cpu: number; readonly baseAddr: number };

/** Receives tracepoint events; null in the core when tracing is off. */
export interface PcpuTraceSink {
  emit(ev: PcpuTraceEvent): void;
}

/* ------------------------------------------------------------------------ */
/* What a population backend may use of the core (mm/percpu.c internals).   */
/* ------------------------------------------------------------------------ */

/**
 * The core's side of the population contract: the globals and helpers of
 * mm/percpu.c that percpu-vm.c and percpu-km.c use (they are #included into
 * percpu.c in the kernel; here they get this view instead).
 */
export interface PcpuBackendHost {
  readonly machine: Machine;
  readonly constants: PcpuConstants;
  /** `pcpu_unit_pages`, `pcpu_unit_size`, `pcpu_nr_units`, `pcpu_atom_size`, `pcpu_nr_groups`. */
  readonly unitPages: number;
  readonly unitSize: number;
  readonly nrUnits: number;
  readonly atomSize: number;
  readonly nrGroups: number;
  /** `pcpu_unit_map[cpu]`: the CPU's global unit index. */
  readonly unitMap: Int32Array;
  /** `pcpu_unit_offsets[cpu]`: byte offset of the CPU's unit from a chunk base. */
  readonly unitOffsets: Float64Array;
  /** `pcpu_group_offsets[]`, `pcpu_group_sizes[]`. */
  readonly groupOffsets: readonly number[];
  readonly groupSizes: readonly number[];
  /** `pcpu_low_unit_cpu`, `pcpu_high_unit_cpu`. */
  readonly lowUnitCpu: number;
  readonly highUnitCpu: number;
  /** `num_possible_cpus()`: how many CPUs are possible. */
  readonly nrPossibleCpus: number;
  /** `nr_cpu_ids`: the highest possible CPU + 1 (arrays indexed by CPU have this length). */
  readonly nrCpuIds: number;
  /**
   * The possible CPUs in ascending order, what `for_each_possible_cpu`
   * visits; `cpu_possible_mask` may have holes (`0-3,8-11`).
   */
  readonly possibleCpus: Int32Array;
  /** `pcpu_first_chunk`, `pcpu_reserved_chunk` (pcpu_should_reclaim_chunk spares them). */
  readonly firstChunk: PcpuChunkView;
  readonly reservedChunk: PcpuChunkView | null;
  /** `pcpu_nr_empty_pop_pages`. */
  readonly nrEmptyPopPages: number;
  /** `pcpu_alloc_chunk(gfp)`: a zeroed chunk record with its area metadata; null on failure. */
  pcpuAllocChunk(gfp: number): PcpuChunkView | null;
  /** `pcpu_free_chunk(chunk)`: NULL-safe. */
  pcpuFreeChunk(chunk: PcpuChunkView | null): void;
  /** `pcpu_chunk_populated(chunk, s, e)`, taking `pcpu_lock` itself. */
  pcpuChunkPopulated(chunk: PcpuChunkView, s: number, e: number): void;
  /** `pcpu_stats_chunk_alloc()` / `pcpu_stats_chunk_dealloc()`. */
  pcpuStatsChunkAlloc(): void;
  pcpuStatsChunkDealloc(): void;
  /** `trace_percpu_create_chunk(base_addr)` / `trace_percpu_destroy_chunk(base_addr)`. */
  traceCreateChunk(baseAddr: VirtAddr): void;
  traceDestroyChunk(baseAddr: VirtAddr): void;
  /** `pcpu_set_page_chunk(page, chunk)`: record the chunk in the page's back pointer. */
  pcpuSetPageChunk(pfn: number, chunk: PcpuChunkView): void;
}

/** Builds a population backend for one kernel. */
export type PopulationFactory = (host: PcpuBackendHost) => PopulationBackend;

/* ------------------------------------------------------------------------ */
/* What percpu_stats reads of the core.                                     */
/* ------------------------------------------------------------------------ */

/** The read-only view of the allocator that mm/percpu-stats.c walks. */
export interface PcpuStatsSource {
  readonly area: AreaAllocator;
  readonly firstChunk: PcpuChunkView;
  readonly reservedChunk: PcpuChunkView | null;
  /** `pcpu_nr_slots`, `pcpu_sidelined_slot`, `pcpu_free_slot`, `pcpu_to_depopulate_slot`. */
  readonly nrSlots: number;
  readonly sidelinedSlot: number;
  readonly freeSlot: number;
  readonly toDepopulateSlot: number;
  /** The chunks on slot list `slot`, head to tail. */
  chunksInSlot(slot: number): PcpuChunkView[];
  /** `pcpu_nr_empty_pop_pages`. */
  readonly nrEmptyPopPages: number;
  /** `pcpu_nr_pages()`: populated pages over all units. */
  pcpuNrPages(): number;
  readonly constants: PcpuConstants;
}
