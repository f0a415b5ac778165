/*
 * The per-chunk part of mm/percpu-stats.c: the numbers chunk_map_stats
 * computes for one chunk, and the order and titles in which
 * percpu_stats_show visits the chunks. Shared by the debugfs text
 * (stats-text.ts) and the JSON form (json.ts).
 *
 * The walk over the allocation map itself belongs to the area allocator
 * (`AreaAllocator.forEachRun`): it reports the allocated (positive) and free
 * (negative) runs in address order up to the last allocation, so the same
 * statistics work for the bitmap allocator and the area map.
 */

import type { AreaAllocator, PcpuChunkView, PcpuStatsSource } from "@pcpu/percpu";
import type { PcpuChunkMapStats, PcpuStatsChunkKind } from "./api.js";

/**
 * Compute what chunk_map_stats prints for one chunk.
 *
 * The runs are sorted ascending as signed ints, so the free runs (negative)
 * come first, largest first. sum_frag and max_frag are taken over them; with
 * `i` free runs out of `n`, the smallest, median and largest allocation are
 * `a[i]`, `a[(i + n - 1) / 2]` and `a[n - 1]`. No runs: all five are zero.
 * (If an area allocator ever reported only free runs, the kernel would read
 * past the records; this returns 0 for those reads instead.)
 *
 * @kernel mm/percpu-stats.c chunk_map_stats
 * @param area the kernel's area allocator
 * @param chunk the chunk to describe
 * @context pcpu_lock held (a debugfs read)
 * @returns the eleven printed numbers
 */
export function chunkMapStats(area: AreaAllocator, chunk: PcpuChunkView): PcpuChunkMapStats {
  const runs: number[] = [];
  area.forEachRun(chunk, (signedBytes) => {
    runs.push(signedBytes);
  });
  const n = runs.length;
  let sumFrag = 0;
  let maxFrag = 0;
  let curMinAlloc = 0;
  let curMedAlloc = 0;
  let curMaxAlloc = 0;
  if (n > 0) {
    // Signed int comparison, like the kernel's cmpint.
    const a = Int32Array.from(runs).sort();
    let i = 0;
    while (i < n && a[i]! < 0) {
      sumFrag -= a[i]!;
      if (-a[i]! > maxFrag) maxFrag = -a[i]!;
      i++;
    }
    const med = Math.trunc((i + n - 1) / 2);
    curMinAlloc = i < n ? a[i]! : 0;
    curMedAlloc = med < n ? a[med]! : 0;
    curMaxAlloc = a[n - 1]!;
  }
  return {
    nrAlloc: chunk.nrAlloc,
    maxAllocSize: chunk.maxAllocSize,
    emptyPopPages: chunk.nrEmptyPopPages,
    firstBit: area.firstBit(chunk),
    freeBytes: chunk.freeBytes,
    contigBytes: area.contigBytes(chunk),
    sumFrag,
    maxFrag,
    curMinAlloc,
    curMedAlloc,
    curMaxAlloc,
  };
}

/** A chunk as percpu_stats_show reaches it. */
export interface PcpuStatsChunkEntry {
  readonly chunk: PcpuChunkView;
  readonly kind: PcpuStatsChunkKind;
  /** The slot list it is on; null for the reserved chunk. */
  readonly slot: number | null;
  /** The title line without its newline. */
  readonly title: string;
}

/** Title lines of percpu_stats_show, by chunk kind. */
export const PCPU_STATS_CHUNK_TITLES: Readonly<Record<PcpuStatsChunkKind, string>> = {
  reserved: "Chunk: <- Reserved Chunk",
  first: "Chunk: <- First Chunk",
  to_depopulate: "Chunk (to_depopulate)",
  sidelined: "Chunk (sidelined):",
  normal: "Chunk:",
};

/**
 * The chunks in the order percpu_stats_show prints them: the reserved chunk
 * (if any), then every slot list from 0 to nr_slots - 1, each head to tail.
 * The first chunk is titled as such whatever its slot; otherwise the
 * to_depopulate slot wins over the sidelined slot. Chunks on no list (being
 * destroyed) are not reached.
 *
 * @kernel mm/percpu-stats.c percpu_stats_show
 * @param src the allocator's read-only view
 * @context pcpu_lock held
 * @returns the entries in print order
 */
export function pcpuStatsChunks(src: PcpuStatsSource): PcpuStatsChunkEntry[] {
  const out: PcpuStatsChunkEntry[] = [];
  if (src.reservedChunk) {
    out.push({
      chunk: src.reservedChunk,
      kind: "reserved",
      slot: null,
      title: PCPU_STATS_CHUNK_TITLES.reserved,
    });
  }
  for (let slot = 0; slot < src.nrSlots; slot++) {
    for (const chunk of src.chunksInSlot(slot)) {
      let kind: PcpuStatsChunkKind;
      if (chunk === src.firstChunk) kind = "first";
      else if (slot === src.toDepopulateSlot) kind = "to_depopulate";
      else if (slot === src.sidelinedSlot) kind = "sidelined";
      else kind = "normal";
      out.push({ chunk, kind, slot, title: PCPU_STATS_CHUNK_TITLES[kind] });
    }
  }
  return out;
}
