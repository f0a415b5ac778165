/*
 * CONFIG_PERCPU_STATS counters: `struct percpu_stats`, the saved
 * `pcpu_alloc_info` header and the `pcpu_stats_*` hooks of
 * mm/percpu-internal.h, as one object per kernel.
 *
 * The core holds a `PcpuObserver` or null: with stats off it pays one null
 * check per hook site and nothing else, which is what the kernel's empty
 * inline stubs cost. With stats on each hook is a handful of number updates
 * on fields set in the constructor (no allocation).
 *
 * The kernel keeps the counters as u64 / u32 / size_t; they are numbers here
 * and are printed unsigned by percpu_stats (see stats-text.ts).
 */

import type { PcpuAllocInfo, PcpuChunkView, PcpuObserver } from "@pcpu/percpu";
import type { PcpuStatsAi } from "./api.js";

/**
 * The percpu statistics of one kernel (`pcpu_stats` and `pcpu_stats_ai`).
 * Pass it to the core as its observer; read it with `percpuStatsText`.
 */
export class PcpuStats implements PcpuObserver {
  /** Lifetime number of area allocations. */
  nrAlloc: number;
  /** Lifetime number of area frees. */
  nrDealloc: number;
  /** Live allocations now. */
  nrCurAlloc: number;
  /** Peak of nrCurAlloc. */
  nrMaxAlloc: number;
  /** Live chunks (the first chunk included, the reserved chunk not). */
  nrChunks: number;
  /** Peak of nrChunks. */
  nrMaxChunks: number;
  /** Smallest allocation (bytes, rounded to 4); unit_size until the first one. */
  minAllocSize: number;
  /** Largest allocation (bytes). */
  maxAllocSize: number;
  /** The saved alloc info header (`pcpu_stats_ai`): all zero until setup. */
  ai: PcpuStatsAi;

  constructor() {
    this.nrAlloc = 0;
    this.nrDealloc = 0;
    this.nrCurAlloc = 0;
    this.nrMaxAlloc = 0;
    this.nrChunks = 0;
    this.nrMaxChunks = 0;
    this.minAllocSize = 0;
    this.maxAllocSize = 0;
    this.ai = {
      unitSize: 0,
      staticSize: 0,
      reservedSize: 0,
      dynSize: 0,
      atomSize: 0,
      allocSize: 0,
      nrGroups: 0,
    };
  }

  /**
   * Keep a copy of the alloc info header and start min_alloc_size at the
   * unit size.
   * @kernel mm/percpu-internal.h pcpu_stats_save_ai
   * @param ai the first-chunk layout being set up
   * @context boot, pcpu_setup_first_chunk
   */
  saveAi(ai: PcpuAllocInfo): void {
    this.ai = {
      unitSize: ai.unitSize,
      staticSize: ai.staticSize,
      reservedSize: ai.reservedSize,
      dynSize: ai.dynSize,
      atomSize: ai.atomSize,
      allocSize: ai.allocSize,
      nrGroups: ai.nrGroups,
    };
    this.minAllocSize = ai.unitSize;
  }

  /**
   * Count one area allocation, globally and in its chunk.
   * @kernel mm/percpu-internal.h pcpu_stats_area_alloc
   * @param chunk the chunk the area was allocated from
   * @param size the allocation size in bytes (already rounded to 4)
   * @context pcpu_lock held (pcpu_alloc, area_found)
   */
  areaAlloc(chunk: PcpuChunkView, size: number): void {
    this.nrAlloc++;
    this.nrCurAlloc++;
    if (this.nrCurAlloc > this.nrMaxAlloc) this.nrMaxAlloc = this.nrCurAlloc;
    if (size < this.minAllocSize) this.minAllocSize = size;
    if (size > this.maxAllocSize) this.maxAllocSize = size;
    chunk.nrAlloc++;
    if (size > chunk.maxAllocSize) chunk.maxAllocSize = size;
  }

  /**
   * Count one area free. The chunk's max_alloc_size is left alone: it is a
   * high-water mark.
   * @kernel mm/percpu-internal.h pcpu_stats_area_dealloc
   * @param chunk the chunk the area is freed from
   * @context pcpu_lock held (top of pcpu_free_area)
   */
  areaDealloc(chunk: PcpuChunkView): void {
    this.nrDealloc++;
    this.nrCurAlloc--;
    chunk.nrAlloc--;
  }

  /**
   * Count a new chunk (setup's first chunk and every backend create).
   * @kernel mm/percpu-internal.h pcpu_stats_chunk_alloc
   * @context takes pcpu_lock itself
   */
  chunkAlloc(): void {
    this.nrChunks++;
    if (this.nrChunks > this.nrMaxChunks) this.nrMaxChunks = this.nrChunks;
  }

  /**
   * Count a destroyed chunk.
   * @kernel mm/percpu-internal.h pcpu_stats_chunk_dealloc
   * @context takes pcpu_lock itself
   */
  chunkDealloc(): void {
    this.nrChunks--;
  }
}
