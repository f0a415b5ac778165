/*
 * The debugfs file `percpu_stats` (mm/percpu-stats.c percpu_stats_show),
 * byte for byte: the "Allocation Info:" block from the saved alloc info,
 * the "Global Stats:" block from `struct percpu_stats`, then every chunk
 * with the numbers of chunk_map_stats.
 *
 * Every value line is `"  %-20s: %12lld\n"` (P and PL) or the same with
 * `%12llu` (PU, the unsigned global counters); sections are closed by a
 * blank line and headed by 40 dashes.
 */

import type { PcpuStatsSource } from "@pcpu/percpu";
import { chunkMapStats, pcpuStatsChunks } from "./chunk-stats.js";
import type { PcpuStats } from "./stats.js";

const SEPARATOR = "----------------------------------------\n";

/** `"  %-20s: %12lld\n"`. */
function statLine(name: string, value: number | string): string {
  return `  ${name.padEnd(20)}: ${String(value).padStart(12)}\n`;
}

/** A u64 counter as `%llu` prints it (a negative count wraps modulo 2^64). */
function u64(v: number): string {
  return v >= 0 ? String(v) : BigInt.asUintN(64, BigInt(v)).toString();
}

/** A u32 counter as `%llu` prints it after the implicit widening. */
function u32(v: number): string {
  return String(v >>> 0);
}

/**
 * Render the `percpu_stats` debugfs file.
 *
 * @kernel mm/percpu-stats.c percpu_stats_show
 * @param stats the kernel's statistics (its observer)
 * @param src the allocator's read-only view
 * @context takes pcpu_lock in the kernel; here a synchronous read of the state
 * @returns the file's full text
 */
export function percpuStatsText(stats: PcpuStats, src: PcpuStatsSource): string {
  const ai = stats.ai;
  let s = `Percpu Memory Statistics\nAllocation Info:\n${SEPARATOR}`;
  s += statLine("unit_size", ai.unitSize);
  s += statLine("static_size", ai.staticSize);
  s += statLine("reserved_size", ai.reservedSize);
  s += statLine("dyn_size", ai.dynSize);
  s += statLine("atom_size", ai.atomSize);
  s += statLine("alloc_size", ai.allocSize);
  s += "\n";

  s += `Global Stats:\n${SEPARATOR}`;
  s += statLine("nr_alloc", u64(stats.nrAlloc));
  s += statLine("nr_dealloc", u64(stats.nrDealloc));
  s += statLine("nr_cur_alloc", u64(stats.nrCurAlloc));
  s += statLine("nr_max_alloc", u64(stats.nrMaxAlloc));
  s += statLine("nr_chunks", u32(stats.nrChunks));
  s += statLine("nr_max_chunks", u32(stats.nrMaxChunks));
  s += statLine("min_alloc_size", u64(stats.minAllocSize));
  s += statLine("max_alloc_size", u64(stats.maxAllocSize));
  s += statLine("empty_pop_pages", src.nrEmptyPopPages);
  s += "\n";

  s += `Per Chunk Stats:\n${SEPARATOR}`;
  for (const entry of pcpuStatsChunks(src)) {
    const c = chunkMapStats(src.area, entry.chunk);
    s += `${entry.title}\n`;
    s += statLine("nr_alloc", c.nrAlloc);
    s += statLine("max_alloc_size", c.maxAllocSize);
    s += statLine("empty_pop_pages", c.emptyPopPages);
    s += statLine("first_bit", c.firstBit);
    s += statLine("free_bytes", c.freeBytes);
    s += statLine("contig_bytes", c.contigBytes);
    s += statLine("sum_frag", c.sumFrag);
    s += statLine("max_frag", c.maxFrag);
    s += statLine("cur_min_alloc", c.curMinAlloc);
    s += statLine("cur_med_alloc", c.curMedAlloc);
    s += statLine("cur_max_alloc", c.curMaxAlloc);
    s += "\n";
  }
  return s;
}
