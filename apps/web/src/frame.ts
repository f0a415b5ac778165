/*
 * The data a kernel worker sends to the page: what the kernel is (KernelInfo,
 * once per boot) and what it looks like after each step of a run (Frame).
 * Types and constants only; snapshot.ts fills them from a running Kernel.
 *
 * Everything here is plain data (numbers, strings, typed arrays) so it
 * crosses postMessage by structured clone and can be kept per step for the
 * player to go back and forth.
 *
 * Offsets in a ChunkFrame are bytes from the start of the chunk's unit 0 as
 * the page draws it: for a dynamic chunk that is `chunk->base_addr`; for the
 * first chunk it is `pcpu_base_addr`, so the static area, the reserved chunk
 * and the dynamic part of the first chunk show as one unit
 * (`<Static | [Reserved] | Dynamic>` of mm/percpu.c's essay).
 */

import type { ResolvedKernelConfig } from "@pcpu/kernel";

/** A page of a unit, the same in every unit of a chunk (`chunk->populated`). */
export const PAGE_UNPOPULATED = 0;
/** Populated and holding at least one allocated byte. */
export const PAGE_POPULATED = 1;
/** Populated and free: counted in `pcpu_nr_empty_pop_pages` (not for isolated chunks). */
export const PAGE_EMPTY_POPULATED = 2;
/** The kernel image's static percpu variables (first chunk only; always populated). */
export const PAGE_STATIC = 3;
/** The reserved chunk's pages (always populated; never counted as empty). */
export const PAGE_RESERVED = 4;

/** Ints per block in ChunkFrame.hints (the fields of `struct pcpu_block_md`, bits). */
export const HINT_STRIDE = 7;
/** Field offsets inside one block's hint record. */
export const HINT_CONTIG = 0;
export const HINT_CONTIG_START = 1;
export const HINT_SCAN = 2;
export const HINT_SCAN_START = 3;
export const HINT_LEFT_FREE = 4;
export const HINT_RIGHT_FREE = 5;
export const HINT_FIRST_FREE = 6;

/** A region of the first chunk's unit (bytes, half-open). */
export interface ChunkRegion {
  readonly name: "static" | "reserved" | "dynamic";
  readonly start: number;
  readonly end: number;
}

/** One `struct pcpu_chunk` record drawn inside a ChunkFrame. */
export interface ChunkRecordFrame {
  /** The chunk's debug id (creation order; the reserved chunk and the first chunk are 0 and 1 when reserved exists). */
  readonly id: number;
  readonly role: "reserved" | "first" | "dynamic";
  /** Where the record's `base_addr` sits in the drawn unit (bytes). */
  readonly viewStart: number;
  readonly nrPages: number;
  /** Bytes hidden from the allocator at the record's start and end (`start_offset`, `end_offset`). */
  readonly startOffset: number;
  readonly endOffset: number;
  readonly freeBytes: number;
  /** `chunk_md` first_free as percpu_stats prints `first_bit`, and the contig hint in bytes. */
  readonly firstBit: number;
  readonly contigBytes: number;
  /** `chunk_md` (bitmap allocator), HINT_STRIDE ints in bits; null for the area map. */
  readonly chunkMd: Int32Array | null;
  readonly nrEmptyPopPages: number;
  readonly nrPopulated: number;
}

/** One drawn chunk: the first chunk (with its static and reserved parts) or a dynamic chunk. */
export interface ChunkFrame {
  /** "first" for the first chunk, else "chunk <id>". Stable across frames while the chunk lives. */
  readonly key: string;
  readonly title: string;
  /** percpu_stats' classification: first, normal, to_depopulate or sidelined. */
  readonly kind: "first" | "normal" | "to_depopulate" | "sidelined";
  readonly isolated: boolean;
  /** The slot list it is on (`chunk->list`). */
  readonly slot: number;
  /** Virtual address of offset 0 in unit 0, and `__addr_to_pcpu_ptr` of it. */
  readonly baseAddr: number;
  readonly ptrBase: number;
  /** Pages per unit drawn. */
  readonly nrPages: number;
  /** One PAGE_* state per page. */
  readonly pages: Uint8Array;
  /** First chunk only: static / reserved / dynamic. */
  readonly regions: readonly ChunkRegion[];
  /** The chunk records drawn (first chunk: reserved + first; else one). */
  readonly records: readonly ChunkRecordFrame[];
  /** Byte ranges hidden from every allocator (static area, start/end offsets), pairs [start, end). */
  readonly hidden: Int32Array;
  /** Live allocations in address order: offset and size in bytes. */
  readonly allocOff: Int32Array;
  readonly allocSize: Int32Array;
  /** Per drawn page, the block's hints (HINT_STRIDE ints, bits, block-relative); -1 where no block or no bitmap. */
  readonly hints: Int32Array | null;
  /** percpu_stats numbers of the chunk: free bytes in holes below the last allocation, and the largest hole. */
  readonly sumFrag: number;
  readonly maxFrag: number;
  readonly freeBytes: number;
  /** Populated and empty-populated pages drawn (what the grid shows per unit). */
  readonly populatedPages: number;
  readonly emptyPopPages: number;
  /** A hash of everything drawn: equal signatures draw the same picture. */
  readonly sig: number;
}

/** The numbers plotted over time. */
export interface FrameMetrics {
  /** Live allocations made through the kernel API (allocs - frees). */
  readonly live: number;
  /** Chunks on the slot lists (`pcpu_nr_chunks` minus the reserved one; the first chunk counts). */
  readonly chunks: number;
  /** `pcpu_nr_populated`: populated pages per unit. */
  readonly populatedPages: number;
  /** `pcpu_nr_empty_pop_pages`. */
  readonly emptyPopPages: number;
  /** `pcpu_nr_pages()`: populated pages times units (the `Percpu:` line of meminfo in pages). */
  readonly pcpuNrPages: number;
  /** percpu_stats `sum_frag` over the non-reserved chunks (free bytes below each chunk's last allocation). */
  readonly fragBytes: number;
  /** percpu_stats `free_bytes` over the non-reserved chunks. */
  readonly freeBytes: number;
  readonly allocs: number;
  readonly frees: number;
  readonly failures: number;
}

/** The kernel after one step of a run. */
export interface Frame {
  /** 0 = just booted; then one per progress tick of the run; the last is after the run returned. */
  readonly index: number;
  /** "boot", "op 12/300", "event 40/900", "done". */
  readonly label: string;
  readonly metrics: FrameMetrics;
  readonly chunks: readonly ChunkFrame[];
  /** debugfs percpu_stats (null when CONFIG_PERCPU_STATS is off) and the meminfo lines. */
  readonly statsText: string | null;
  readonly meminfo: string;
}

/** What a booted kernel is: sent once per boot. */
export interface KernelInfo {
  readonly config: ResolvedKernelConfig;
  readonly bits: 32 | 64;
  readonly pageSize: number;
  readonly unitSize: number;
  readonly unitPages: number;
  readonly nrUnits: number;
  /** The CPU of each unit, -1 for a unit no CPU uses. */
  readonly unitCpu: Int32Array;
  /** `pcpu_unit_offsets[unit]`. */
  readonly unitOffsets: Float64Array;
  readonly staticSize: number;
  readonly reservedSize: number;
  readonly dynSize: number;
  /** The boot log (`dmesg -t`). */
  readonly dmesg: readonly string[];
}
