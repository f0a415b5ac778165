/*
 * Memory taken by the area allocator's metadata per chunk
 * (AreaAllocator.metadataBytes): the bitmap allocator's alloc_map,
 * bound_map and md_blocks are fixed by the chunk size, the area map's
 * `map` grows (doubling) with the number of areas and never shrinks.
 */

import type { Percpu } from "@pcpu/percpu";

/** Metadata of the dynamic chunks of one kernel at one moment. */
export interface MetadataStats {
  /** Chunks measured (every chunk except the first-chunk record). */
  readonly chunks: number;
  /** Mean host bytes of metadata per chunk. */
  readonly meanBytes: number;
  /** Largest per-chunk metadata in bytes. */
  readonly maxBytes: number;
  /** Bytes of metadata per unit byte the chunk serves (mean bytes / unit size). */
  readonly perUnitByte: number;
}

/**
 * Measure `metadataBytes` over every dynamic chunk on a slot list (the
 * first chunk is skipped: its record is sized by the first-chunk layout).
 * @returns the statistics; zero chunks gives zeros.
 */
export function measureMetadata(pcpu: Percpu): MetadataStats {
  let n = 0;
  let sum = 0;
  let max = 0;
  for (const chunk of pcpu.allChunks()) {
    if (chunk === pcpu.firstChunk || chunk === pcpu.reservedChunk) continue;
    const b = pcpu.area.metadataBytes(chunk);
    n++;
    sum += b;
    if (b > max) max = b;
  }
  const mean = n === 0 ? 0 : sum / n;
  return {
    chunks: n,
    meanBytes: mean,
    maxBytes: max,
    perUnitByte: pcpu.unitSize === 0 ? 0 : mean / pcpu.unitSize,
  };
}
