/*
 * The numbers of the debugfs `percpu_stats` file (mm/percpu-stats.c) as
 * plain data, for tools and plots: the same values, the same chunk order,
 * plus each chunk's page counts, which the text does not show.
 */

import type { PcpuStatsSource } from "@pcpu/percpu";
import type { PercpuStatsChunkJson, PercpuStatsJson } from "./api.js";
import { chunkMapStats, pcpuStatsChunks } from "./chunk-stats.js";
import type { PcpuStats } from "./stats.js";

/**
 * The `percpu_stats` numbers as a plain, JSON-serialisable object. Counters
 * are the model's numbers (a counter driven below zero by misuse stays
 * negative here, while the text prints it unsigned).
 *
 * @kernel mm/percpu-stats.c percpu_stats_show
 * @param stats the kernel's statistics
 * @param src the allocator's read-only view
 * @context a synchronous read of the state
 * @returns allocation info, global stats and one entry per printed chunk
 */
export function percpuStatsJson(stats: PcpuStats, src: PcpuStatsSource): PercpuStatsJson {
  const ai = stats.ai;
  const chunks: PercpuStatsChunkJson[] = pcpuStatsChunks(src).map((entry) => ({
    title: entry.title,
    kind: entry.kind,
    slot: entry.slot,
    id: entry.chunk.id,
    ...chunkMapStats(src.area, entry.chunk),
    nrPages: entry.chunk.nrPages,
    nrPopulated: entry.chunk.nrPopulated,
  }));
  return {
    allocationInfo: {
      unitSize: ai.unitSize,
      staticSize: ai.staticSize,
      reservedSize: ai.reservedSize,
      dynSize: ai.dynSize,
      atomSize: ai.atomSize,
      allocSize: ai.allocSize,
    },
    globalStats: {
      nrAlloc: stats.nrAlloc,
      nrDealloc: stats.nrDealloc,
      nrCurAlloc: stats.nrCurAlloc,
      nrMaxAlloc: stats.nrMaxAlloc,
      nrChunks: stats.nrChunks,
      nrMaxChunks: stats.nrMaxChunks,
      minAllocSize: stats.minAllocSize,
      maxAllocSize: stats.maxAllocSize,
      emptyPopPages: src.nrEmptyPopPages,
    },
    chunks,
  };
}
