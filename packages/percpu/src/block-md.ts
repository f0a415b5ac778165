/*
 * `struct pcpu_block_md` and the helpers of mm/percpu.c that work on one
 * block record (v5.1+, block size == PAGE_SIZE): the hint update that
 * absorbs a known free run, the block rescan, the scan-hint bookkeeping of
 * the allocation search and the two hint predicates the fit search uses.
 *
 * A record describes `nr_bits` bits: BB (PCPU_BITMAP_BLOCK_BITS) for a
 * block, `map_bits` for the chunk-level `chunk_md`. All positions are in
 * bits, relative to the block (or to the chunk for `chunk_md`):
 *
 *   0        scan_hint_start   contig_hint_start            nr_bits
 *   |<-left_free->| ... |<scan>| ... |<---contig--->| ... |<-right_free->|
 *
 * `first_free` is a lower bound of the first clear bit. A scan hint of 0
 * means "unknown". The chunk-side helpers take a `PcpuBlockMaps` (the alloc
 * map plus the block array) in place of the kernel's `struct pcpu_chunk *`.
 */

import { ffsBit, findLastBitInRange, findNextBit, findNextZeroBit } from "./bitmap.js";

/**
 * Hint record of one bitmap block, or of a whole chunk (`chunk_md`).
 * All fields are bits.
 * @kernel mm/percpu-internal.h struct pcpu_block_md
 */
export class PcpuBlockMd {
  /** Length of a known free run before the contig run (0 = unknown). */
  scanHint: number;
  scanHintStart: number;
  /** Length and start of the chosen largest known free run. */
  contigHint: number;
  contigHintStart: number;
  /** Length of the free run starting at bit 0. */
  leftFree: number;
  /** Length of the free run ending at `nrBits`. */
  rightFree: number;
  /** Lower bound of the first clear bit. */
  firstFree: number;
  /** Bits described: BB for a block, `map_bits` for `chunk_md`. */
  nrBits: number;

  /**
   * A record as `pcpu_init_md_block` leaves zeroed memory: everything free.
   */
  constructor(nrBits: number) {
    this.scanHint = 0;
    this.scanHintStart = 0;
    this.contigHint = nrBits;
    this.contigHintStart = 0;
    this.leftFree = nrBits;
    this.rightFree = nrBits;
    this.firstFree = 0;
    this.nrBits = nrBits;
  }
}

/**
 * What the chunk-side block helpers read of a chunk's bitmap metadata
 * (`chunk->alloc_map`, `chunk->md_blocks`).
 */
export interface PcpuBlockMaps {
  /** `alloc_map`: one bit per PCPU_MIN_ALLOC_SIZE bytes; 1 = allocated or hidden. */
  readonly allocMap: Uint32Array;
  /** `md_blocks`: one record per block. */
  readonly mdBlocks: readonly PcpuBlockMd[];
  /** PCPU_BITMAP_BLOCK_BITS. */
  readonly blockBits: number;
}

/**
 * Reset a record to "all free": no scan hint, contig/left/right = nrBits,
 * first_free 0. `contig_hint_start` and `scan_hint_start` are left as they
 * are (zeroed memory in the kernel).
 * @kernel mm/percpu.c pcpu_init_md_block
 * @context boot or chunk creation; no lock needed.
 */
export function pcpuInitMdBlock(block: PcpuBlockMd, nrBits: number): void {
  block.scanHint = 0;
  block.contigHint = nrBits;
  block.leftFree = nrBits;
  block.rightFree = nrBits;
  block.firstFree = 0;
  block.nrBits = nrBits;
}

/**
 * Absorb the known free run `[start, end)` into a record: lower first_free,
 * set left/right_free when the run touches an edge, and update the contig
 * and scan hints, preferring the better aligned start on a tie. Must accept
 * `end <= start` (the free-path chunk-hint quirk passes a negative length,
 * which then only lowers first_free).
 *
 * Without `scanHints` (kernels before "percpu: add block level scan_hint",
 * v5.1: PcpuKernelChanges.blockScanHint) only the contig run is kept: a
 * longer run replaces it, an equal one moves it to the better aligned start,
 * and the scan hint is never set. The same function is 4.14's
 * pcpu_chunk_update when `block` is the chunk's record.
 * @kernel mm/percpu.c pcpu_block_update
 * @param scanHints - the kernel has block scan hints (default true)
 * @context pcpu_lock.
 */
export function pcpuBlockUpdate(block: PcpuBlockMd, start: number, end: number, scanHints = true): void {
  const contig = end - start;

  if (start < block.firstFree) block.firstFree = start;
  if (start === 0) block.leftFree = contig;
  if (end === block.nrBits) block.rightFree = contig;

  if (!scanHints) {
    if (contig > block.contigHint) {
      block.contigHintStart = start;
      block.contigHint = contig;
    } else if (
      contig === block.contigHint &&
      block.contigHintStart !== 0 &&
      (start === 0 || ffsBit(start) > ffsBit(block.contigHintStart))
    ) {
      block.contigHintStart = start;
    }
    return;
  }

  if (contig > block.contigHint) {
    if (start > block.contigHintStart) {
      if (block.contigHint > block.scanHint) {
        /* the old contig run becomes the scan hint */
        block.scanHintStart = block.contigHintStart;
        block.scanHint = block.contigHint;
      } else if (start < block.scanHintStart) {
        /* old contig == scan; keep the scan hint before the new contig */
        block.scanHint = 0;
      }
    } else {
      block.scanHint = 0;
    }
    block.contigHintStart = start;
    block.contigHint = contig;
  } else if (contig === block.contigHint) {
    if (block.contigHintStart !== 0 && (start === 0 || ffsBit(start) > ffsBit(block.contigHintStart))) {
      /* same length, better alignment: take it, the old run is dropped */
      block.contigHintStart = start;
      if (start < block.scanHintStart && block.contigHint > block.scanHint) block.scanHint = 0;
    } else if (start > block.scanHintStart || block.contigHint > block.scanHint) {
      block.scanHintStart = start;
      block.scanHint = contig;
    }
  } else if (
    start < block.contigHintStart &&
    (contig > block.scanHint || (contig === block.scanHint && start > block.scanHintStart))
  ) {
    block.scanHintStart = start;
    block.scanHint = contig;
  }
}

/**
 * Rescan block `index` of the chunk: promote the scan hint to contig hint
 * (scanning from its end) or, without one, restart from first_free with no
 * contig hint; right_free is reset but left_free is not.
 *
 * Without `scanHints` (before "percpu: add block level scan_hint", v5.1)
 * the rescan always starts at first_free with no contig hint and resets
 * both left_free and right_free.
 * @kernel mm/percpu.c pcpu_block_refresh_hint
 * @param scanHints - the kernel has block scan hints (default true)
 * @context pcpu_lock.
 */
export function pcpuBlockRefreshHint(chunk: PcpuBlockMaps, index: number, scanHints = true): void {
  const block = chunk.mdBlocks[index];
  const bb = chunk.blockBits;
  const base = index * bb;
  const size = base + bb;
  let start: number;

  if (!scanHints) {
    start = block.firstFree;
    block.contigHint = 0;
    block.leftFree = 0;
  } else if (block.scanHint !== 0) {
    start = block.scanHintStart + block.scanHint;
    block.contigHintStart = block.scanHintStart;
    block.contigHint = block.scanHint;
    block.scanHint = 0;
  } else {
    start = block.firstFree;
    block.contigHint = 0;
  }

  block.rightFree = 0;

  /* for_each_clear_bitrange_from over the block's slice of alloc_map */
  const map = chunk.allocMap;
  for (let b = base + start; ; ) {
    const rs = findNextZeroBit(map, size, b);
    if (rs >= size) break;
    const re = findNextBit(map, size, rs + 1);
    pcpuBlockUpdate(block, rs - base, re - base, scanHints);
    b = re + 1;
  }
}

/**
 * Record a free run `[bit_off, bit_off + bits)` (chunk bits) that the
 * allocation search skipped, extending it backwards over bits the
 * alignment skipped. Only the block hint changes, and only when the run
 * ends inside its block.
 * @kernel mm/percpu.c pcpu_block_update_scan
 * @context pcpu_lock.
 */
export function pcpuBlockUpdateScan(chunk: PcpuBlockMaps, bitOff: number, bits: number): void {
  const bb = chunk.blockBits;
  let sOff = bitOff & (bb - 1);
  const eOff = sOff + bits;
  if (eOff > bb) return;

  const sIndex = (bitOff / bb) | 0;
  const block = chunk.mdBlocks[sIndex];
  const base = sIndex * bb;

  /* scan backwards over bits the alignment skipped */
  const lBit = findLastBitInRange(chunk.allocMap, base, base + sOff) - base;
  sOff = sOff === lBit ? 0 : lBit + 1;

  pcpuBlockUpdate(block, sOff, eOff);
}

/**
 * Where to start scanning a block (or chunk_md) for `allocBits`: past the
 * scan run when the scan run lies before the contig run and cannot hold
 * the request, else first_free.
 * @kernel mm/percpu.c pcpu_next_hint
 * @context pcpu_lock.
 * @returns a bit offset relative to the record.
 */
export function pcpuNextHint(block: PcpuBlockMd, allocBits: number): number {
  if (block.scanHint !== 0 && block.contigHintStart > block.scanHintStart && allocBits > block.scanHint)
    return block.scanHintStart + block.scanHint;
  return block.firstFree;
}

/**
 * Whether `bits` aligned to `align` (bits, a power of two) fit in the
 * record's contig run.
 * @kernel mm/percpu.c pcpu_check_block_hint
 * @context pcpu_lock.
 */
export function pcpuCheckBlockHint(block: PcpuBlockMd, bits: number, align: number): boolean {
  const start = block.contigHintStart;
  const pad = ((start + align - 1) & ~(align - 1)) - start;
  return pad + bits <= block.contigHint;
}
