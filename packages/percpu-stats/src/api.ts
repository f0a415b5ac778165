/*
 * @pcpu/percpu-stats api: the types of this package (no code).
 *
 * Mirrors the shapes behind mm/percpu-stats.c (`struct percpu_stats`, the
 * saved `pcpu_alloc_info` header, the per-chunk numbers of chunk_map_stats)
 * and the ftrace text of include/trace/events/percpu.h: what framing a trace
 * line carries and the options of the formatter and parser.
 */

import type { PcpuTraceEvent } from "@pcpu/percpu";

/* ------------------------------------------------------------------------ */
/* percpu_stats                                                             */
/* ------------------------------------------------------------------------ */

/**
 * The part of `struct pcpu_alloc_info` that `pcpu_stats_save_ai` keeps
 * (the header; the group array is not copied).
 */
export interface PcpuStatsAi {
  readonly unitSize: number;
  readonly staticSize: number;
  readonly reservedSize: number;
  readonly dynSize: number;
  readonly atomSize: number;
  readonly allocSize: number;
  readonly nrGroups: number;
}

/**
 * How percpu_stats_show titles a chunk: the reserved chunk, the first chunk,
 * a chunk on the to_depopulate or sidelined list, or any other chunk.
 */
export type PcpuStatsChunkKind = "reserved" | "first" | "to_depopulate" | "sidelined" | "normal";

/** The numbers chunk_map_stats prints for one chunk, in print order (bytes unless named otherwise). */
export interface PcpuChunkMapStats {
  /** `nr_alloc`: live allocations in the chunk. */
  readonly nrAlloc: number;
  /** `max_alloc_size`: largest allocation ever made from the chunk. */
  readonly maxAllocSize: number;
  /** `empty_pop_pages`: the chunk's `nr_empty_pop_pages`. */
  readonly emptyPopPages: number;
  /** `first_bit`: `chunk_md.first_free`, in bits. */
  readonly firstBit: number;
  /** `free_bytes`. */
  readonly freeBytes: number;
  /** `contig_bytes`: `chunk_md.contig_hint * PCPU_MIN_ALLOC_SIZE`. */
  readonly contigBytes: number;
  /** `sum_frag`: total of the free runs below the last allocation. */
  readonly sumFrag: number;
  /** `max_frag`: largest free run below the last allocation. */
  readonly maxFrag: number;
  /** `cur_min_alloc`, `cur_med_alloc`, `cur_max_alloc`: over the live allocations. */
  readonly curMinAlloc: number;
  readonly curMedAlloc: number;
  readonly curMaxAlloc: number;
}

/** One chunk as `percpuStatsJson` reports it. */
export interface PercpuStatsChunkJson extends PcpuChunkMapStats {
  /** The title line exactly as printed, e.g. `Chunk: <- First Chunk`. */
  readonly title: string;
  readonly kind: PcpuStatsChunkKind;
  /** The slot list the chunk was found on; null for the reserved chunk. */
  readonly slot: number | null;
  /** The chunk's debug id (creation order). */
  readonly id: number;
  /** Pages per unit served by the chunk, and how many of them are populated. */
  readonly nrPages: number;
  readonly nrPopulated: number;
}

/**
 * The numbers of the debugfs `percpu_stats` file as plain data (for tools and
 * plots). Field names are the printed labels in camelCase.
 */
export interface PercpuStatsJson {
  /** "Allocation Info:" block: the saved `pcpu_alloc_info` header. */
  readonly allocationInfo: {
    readonly unitSize: number;
    readonly staticSize: number;
    readonly reservedSize: number;
    readonly dynSize: number;
    readonly atomSize: number;
    readonly allocSize: number;
  };
  /** "Global Stats:" block (`struct percpu_stats` plus `pcpu_nr_empty_pop_pages`). */
  readonly globalStats: {
    readonly nrAlloc: number;
    readonly nrDealloc: number;
    readonly nrCurAlloc: number;
    readonly nrMaxAlloc: number;
    readonly nrChunks: number;
    readonly nrMaxChunks: number;
    readonly minAllocSize: number;
    readonly maxAllocSize: number;
    readonly emptyPopPages: number;
  };
  /** "Per Chunk Stats:" in print order (reserved chunk first, then slot 0 .. nr_slots-1). */
  readonly chunks: readonly PercpuStatsChunkJson[];
}

/* ------------------------------------------------------------------------ */
/* Tracepoint text                                                          */
/* ------------------------------------------------------------------------ */

/**
 * Which TP_printk the `percpu_alloc_percpu` event uses: `"v5.19"` (today's,
 * with call_site, bytes_alloc, gfp_flags) or `"pre-5.19"` (4.13-5.18, without).
 */
export type PcpuAllocTraceFormat = "v5.19" | "pre-5.19";

/** Options of the event text (the part after `name: `). */
export interface TraceFormatOptions {
  /**
   * How `%p` prints an address: the arch's raw form (`no_hash_pointers`):
   * lowercase hex without 0x, zero-padded to 16 digits on 64-bit and 8 on
   * 32-bit. Pass the arch's `formatAddr`. Default: 16 digits.
   */
  readonly formatPtr?: (addr: number) => string;
  /** Default `"v5.19"`. */
  readonly allocFormat?: PcpuAllocTraceFormat;
}

/**
 * What ftrace prints in front of an event besides the CPU (which the event
 * itself carries): the task, its pid, the irq/preempt flags column and the
 * timestamp.
 */
export interface TraceFraming {
  /** `comm` of the task (at most 15 characters in a real kernel; `<...>` when unknown). */
  readonly task: string;
  readonly pid: number;
  /** Trace clock in microseconds (ftrace prints `seconds.micros`). */
  readonly timestampUs: number;
  /**
   * The `irq-info` column, 5 characters on 5.13+ kernels: irqs-off/BH
   * (`d`, `b`, `D`, `X`, `.`), need-resched (`N`, `n`, `p`, `.`),
   * hardirq/softirq (`Z`, `z`, `H`, `h`, `s`, `.`), preempt depth, migrate
   * disable (hex digit or `.`). Default `.....`.
   */
  readonly flags?: string;
  /** Thread group id when the `record-tgid` option is on; null prints `(-------)`. */
  readonly tgid?: number | null;
}

/** One trace entry: an event and where/when it was recorded. */
export interface TraceRecord {
  readonly ev: PcpuTraceEvent;
  readonly framing: TraceFraming;
}

/** Options of the whole `trace` file. */
export interface FtraceFileOptions extends TraceFormatOptions {
  /** `#P:` of the header: `num_online_cpus()`. */
  readonly nrCpus: number;
  /** The tracer name of `# tracer:`; default `nop` (events only). */
  readonly tracer?: string;
  /** entries-in-buffer; default the number of records. */
  readonly entries?: number;
  /** entries-written (includes overwritten ones); default `entries`. */
  readonly written?: number;
  /** The `irq-info` trace option (default on): the flags column and its header block. */
  readonly irqInfo?: boolean;
  /** The `record-tgid` trace option (default off): a `(tgid)` column. */
  readonly recordTgid?: boolean;
}

/** Options of `ftraceLine`. */
export interface FtraceLineOptions extends TraceFormatOptions {
  readonly irqInfo?: boolean;
  readonly recordTgid?: boolean;
}

/** Fields of a percpu event that hold a `%p` pointer. */
export type PcpuTracePtrField = "baseAddr" | "ptr";

/** A parsed trace entry. */
export interface ParsedTraceRecord extends TraceRecord {
  /** 1-based line number in the parsed text. */
  readonly line: number;
  /** The alloc format the line used (alloc events only). */
  readonly allocFormat?: PcpuAllocTraceFormat;
  /**
   * Pointer fields printed as `(____ptrval____)` / `(ptrval)` (hashing key not
   * yet ready in early boot); their value in `ev` is -1.
   */
  readonly ptrval?: readonly PcpuTracePtrField[];
}

/** The `# entries-in-buffer/entries-written: N/M   #P:C` header line. */
export interface TraceFileHeader {
  readonly tracer: string | null;
  readonly entries: number;
  readonly written: number;
  readonly nrCpus: number;
}

/** Options of `parseTrace`. */
export interface TraceParseOptions {
  /**
   * Maps the hex digits of a `%p` value (8 or 16 digits, no 0x) to the
   * model's number. Default: the value itself, an error when above 2^53-1
   * (pass the arch's inverse of `formatAddr` for real 64-bit kernel addresses).
   */
  readonly parsePtr?: (hex: string) => number;
  /** Which alloc format to accept; default `"auto"` (either, per line). */
  readonly allocFormat?: PcpuAllocTraceFormat | "auto";
  /**
   * Whether entries of other event systems (and non-event lines such as
   * function-tracer entries) are skipped (default) or are an error.
   */
  readonly skipForeign?: boolean;
  /**
   * Whether the number of entries must match the header's entries-in-buffer
   * when the header is present (default true; catches truncated files).
   */
  readonly checkEntryCount?: boolean;
}

/** What `parseTrace` returns. */
export interface ParsedTrace {
  readonly header: TraceFileHeader | null;
  readonly records: readonly ParsedTraceRecord[];
  /** Entries of other events (or non-event entries) that were skipped. */
  readonly skipped: number;
  /** Sum of `CPU:n [LOST m EVENTS]` markers. */
  readonly lost: number;
}
