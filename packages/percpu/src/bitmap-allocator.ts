/*
 * The bitmap area allocator of mm/percpu.c (4.14+, in its 5.1+ form with
 * PCPU_BITMAP_BLOCK_SIZE == PAGE_SIZE, scan hints and a chunk-level
 * `chunk_md`), behind the `AreaAllocator` contract of api.ts.
 *
 * Per chunk (`chunk.area`, a `PcpuBitmapArea`):
 *
 *   alloc_map  map_bits bits       1 = allocated (or hidden first-chunk edge)
 *   bound_map  map_bits + 1 bits   1 at each allocation start and just past its end
 *   md_blocks  one PcpuBlockMd per block (block i == page i, BB bits each)
 *   chunk_md   one PcpuBlockMd over all map_bits
 *
 * One bit covers PCPU_MIN_ALLOC_SIZE (4) bytes; the contract speaks bytes,
 * everything inside speaks bits. An allocation first asks the hints for a
 * place to start scanning (pcpu_find_block_fit), then scans alloc_map for
 * an aligned zero run (pcpu_alloc_area) and repairs the block and chunk
 * hints incrementally; a free uses bound_map to find the allocation's end.
 *
 * Kernel behaviour kept on purpose (spec section 5): the free path updates
 * chunk_md with a block-relative end (a small free outside block 0 never
 * raises the chunk contig hint; `fixFreeHintQuirk` corrects it), middle
 * blocks of a multi-block allocation keep a stale first_free, the block
 * rescan does not reset left_free, and the overlap test reports a
 * zero-length hint region as overlapping when it lies strictly inside.
 *
 * Slot relocation and empty-page accounting belong to mm/percpu.c; this file
 * calls them through the host exactly where the kernel calls them.
 *
 * The 4.14 form of this allocator (the v4.14 era) is the same code with
 * the v5.1 kernel changes switched off where the kernel's code differed
 * (kernel-changes.ts; grep the switch names): no scan hints, the chunk hint
 * updated by 4.14's pcpu_chunk_update rules, chunks slotted by free bytes,
 * the rescan-on-overlap test on the first bit only, and the empty
 * populated pages recounted by pcpu_chunk_refresh_hint instead of tracked
 * per block.
 */

import type {
  AreaAllocator,
  AreaAllocatorFactory,
  AreaAllocatorHost,
  LiveArea,
  PcpuChunkView,
} from "./api.js";
import { PCPU_MIN_ALLOC_SHIFT, PCPU_MIN_ALLOC_SIZE } from "./api.js";
import {
  bitmapClear,
  bitmapSet,
  bitmapWeight,
  bitsToWords,
  ffsBit,
  findLastBit,
  findLastBitInRange,
  findNextBit,
  findNextZeroBit,
  setBit,
  testBit,
} from "./bitmap.js";
import {
  type PcpuBlockMaps,
  PcpuBlockMd,
  pcpuBlockRefreshHint,
  pcpuBlockUpdate,
  pcpuBlockUpdateScan,
  pcpuCheckBlockHint,
  pcpuNextHint,
} from "./block-md.js";

/** Options of the bitmap allocator. */
export interface BitmapAllocatorOptions {
  /**
   * Fix the 5.x/6.x free-path quirk: update `chunk_md` with the
   * chunk-relative end of a freed run instead of the block-relative one.
   * Default false (faithful).
   */
  readonly fixFreeHintQuirk?: boolean;
}

/** `sizeof(struct pcpu_block_md)`: eight ints. */
export const PCPU_BLOCK_MD_BYTES = 32;

/**
 * The bitmap allocator's metadata of one chunk: the parts of
 * `struct pcpu_chunk` that belong to the area allocator.
 * @kernel mm/percpu-internal.h struct pcpu_chunk
 */
export class PcpuBitmapArea implements PcpuBlockMaps {
  /** `alloc_map`: `map_bits` bits. */
  readonly allocMap: Uint32Array;
  /** `bound_map`: `map_bits + 1` bits. */
  readonly boundMap: Uint32Array;
  /** `md_blocks`: one record per block. */
  readonly mdBlocks: PcpuBlockMd[];
  /** `chunk_md`: the chunk-level hints, chunk-relative bit positions. */
  readonly chunkMd: PcpuBlockMd;
  /** `pcpu_chunk_map_bits(chunk)`. */
  readonly mapBits: number;
  /** `pcpu_chunk_nr_blocks(chunk)`. */
  readonly nrBlocks: number;
  /** PCPU_BITMAP_BLOCK_BITS. */
  readonly blockBits: number;
  /** 1 / blockBits: a power of two, so `x * invBlockBits` is exactly `x / blockBits`. */
  readonly invBlockBits: number;

  /**
   * Zeroed maps and all hints initial (`pcpu_init_md_blocks`).
   * @param nrPages pages the chunk serves.
   * @param pageSize PAGE_SIZE (== PCPU_BITMAP_BLOCK_SIZE).
   */
  constructor(nrPages: number, pageSize: number) {
    this.blockBits = pageSize >>> PCPU_MIN_ALLOC_SHIFT;
    this.invBlockBits = 1 / this.blockBits;
    this.mapBits = (nrPages * pageSize) >>> PCPU_MIN_ALLOC_SHIFT;
    this.nrBlocks = nrPages;
    this.allocMap = new Uint32Array(bitsToWords(this.mapBits));
    this.boundMap = new Uint32Array(bitsToWords(this.mapBits + 1));
    this.chunkMd = new PcpuBlockMd(this.mapBits);
    /* pushed, not preallocated: a packed array keeps block lookups fast */
    const blocks: PcpuBlockMd[] = [];
    for (let i = 0; i < nrPages; i++) blocks.push(new PcpuBlockMd(this.blockBits));
    this.mdBlocks = blocks;
  }
}

/**
 * The in/out `int *bit_off, int *bits` (and `*next_off`) of the metadata
 * walks, as one reusable object per allocator.
 */
export class PcpuRegionCursor {
  bitOff: number;
  bits: number;
  nextOff: number;
  constructor() {
    this.bitOff = 0;
    this.bits = 0;
    this.nextOff = 0;
  }
}

/** The bitmap metadata of a chunk (the allocator stores it in `chunk.area`). */
export function pcpuBitmapArea(chunk: PcpuChunkView): PcpuBitmapArea {
  return chunk.area as PcpuBitmapArea;
}

/**
 * Whether `[a, b)` and `[x, y)` overlap. A zero-length `[a, a)` strictly
 * inside `[x, y)` counts as overlapping, as in the kernel.
 * @kernel mm/percpu.c pcpu_region_overlap
 */
export function pcpuRegionOverlap(a: number, b: number, x: number, y: number): boolean {
  return a < y && x < b;
}

/**
 * The block (page) a chunk bit offset lies in: a multiply by the exact
 * reciprocal of the power-of-two BB, no division.
 * @kernel mm/percpu.c pcpu_off_to_block_index
 */
export function pcpuOffToBlockIndex(chunk: PcpuBitmapArea, off: number): number {
  return (off * chunk.invBlockBits) | 0;
}

/**
 * A chunk bit offset relative to its block.
 * @kernel mm/percpu.c pcpu_off_to_block_off
 */
export function pcpuOffToBlockOff(chunk: PcpuBitmapArea, off: number): number {
  return off & (chunk.blockBits - 1);
}

/** `ALIGN(x, a)` for a power-of-two `a` (int arithmetic, as the kernel's). */
function align(x: number, a: number): number {
  return (x + a - 1) & ~(a - 1);
}

/**
 * Advance `cur` to the next free region the block metadata shows from
 * `cur.bitOff`: a block's contig run strictly inside the block, or a
 * block's right-edge run joined with the left-edge runs that follow it.
 * At the end `cur.bitOff`/`cur.bits` keep their last values.
 * @kernel mm/percpu.c pcpu_next_md_free_region
 * @context pcpu_lock.
 */
export function pcpuNextMdFreeRegion(chunk: PcpuBitmapArea, cur: PcpuRegionCursor): void {
  const bb = chunk.blockBits;
  const blocks = chunk.mdBlocks;
  const nrBlocks = chunk.nrBlocks;
  let bitOff = cur.bitOff;
  let i = pcpuOffToBlockIndex(chunk, bitOff);
  let blockOff = pcpuOffToBlockOff(chunk, bitOff);
  let bits = 0;

  for (; i < nrBlocks; i++) {
    const block = blocks[i];

    /* the contig run, if not seen before and not the right-edge run */
    bits = block.contigHint;
    if (bits !== 0 && block.contigHintStart >= blockOff && bits + block.contigHintStart < bb) {
      bitOff = i * bb + block.contigHintStart;
      break;
    }
    blockOff = 0;

    bits = block.rightFree;
    bitOff = (i + 1) * bb - bits;
    if (bits !== 0) {
      /*
       * The kernel's `if (*bits)` branch at the top of its loop, as a
       * tight loop of its own: the right-edge run carries over each next
       * block's left_free while whole blocks are free (a sequential fill
       * walks every free block behind it on each allocation).
       */
      for (i++; i < nrBlocks; i++) {
        const leftFree = blocks[i].leftFree;
        bits += leftFree;
        if (leftFree !== bb) break;
      }
      break;
    }
  }
  cur.bitOff = bitOff;
  cur.bits = bits;
}

/**
 * Advance `cur` to the next region that can hold `allocBits` aligned to
 * `alignBits`; `cur.bits` is the span from the returned scan start to the
 * end of the fit. `cur.bitOff = map_bits` when nothing fits.
 * @kernel mm/percpu.c pcpu_next_fit_region
 * @context pcpu_lock.
 */
export function pcpuNextFitRegion(
  chunk: PcpuBitmapArea,
  allocBits: number,
  alignBits: number,
  cur: PcpuRegionCursor,
): void {
  const bb = chunk.blockBits;
  const blocks = chunk.mdBlocks;
  const nrBlocks = chunk.nrBlocks;
  let bitOff = cur.bitOff;
  let i = pcpuOffToBlockIndex(chunk, bitOff);
  let blockOff = pcpuOffToBlockOff(chunk, bitOff);
  let bits = 0;

  for (; i < nrBlocks; i++) {
    const block = blocks[i];
    /* a run carried over from the previous block's right edge */
    if (bits !== 0) {
      bits += block.leftFree;
      if (bits >= allocBits) {
        cur.bitOff = bitOff;
        cur.bits = bits;
        return;
      }
      if (block.leftFree === bb) continue;
    }

    /* the contig run: the padding to alignment plus the request must fit */
    const cs = block.contigHintStart;
    bits = align(cs, alignBits) - cs;
    if (block.contigHint !== 0 && cs >= blockOff && block.contigHint >= bits + allocBits) {
      const start = pcpuNextHint(block, allocBits);
      cur.bits = bits + allocBits + cs - start;
      cur.bitOff = i * bb + start;
      return;
    }
    blockOff = 0;

    /* the aligned right-edge run, possibly continued in the next block */
    const p = align(bb - block.rightFree, alignBits);
    bits = bb - p;
    bitOff = i * bb + p;
    if (bits >= allocBits) {
      cur.bitOff = bitOff;
      cur.bits = bits;
      return;
    }
  }

  cur.bitOff = chunk.mapBits;
  cur.bits = bits;
}

/**
 * Recompute `chunk_md`'s contig hint from the block metadata. Unless
 * `fullScan`, a scan hint is promoted and the walk starts after it;
 * otherwise the walk starts at `chunk_md.first_free` (the scan hint is not
 * cleared in that branch).
 *
 * Before "percpu: set PCPU_BITMAP_BLOCK_SIZE to PAGE_SIZE" (v5.1) the walk
 * also recounted the chunk's empty populated pages: the populated pages
 * wholly inside each free region (pcpu_cnt_pop_pages). Pass the chunk's
 * `populated` bitmap as `countPopulated` to get that count back; null
 * skips it.
 * @kernel mm/percpu.c pcpu_chunk_refresh_hint
 * @param scanHints - the kernel has scan hints (PcpuKernelChanges.blockScanHint)
 * @context pcpu_lock.
 * @returns the empty populated pages counted, or 0 without `countPopulated`.
 */
export function pcpuChunkRefreshHint(
  chunk: PcpuBitmapArea,
  fullScan: boolean,
  cur: PcpuRegionCursor,
  scanHints = true,
  countPopulated: Uint32Array | null = null,
): number {
  const md = chunk.chunkMd;
  const mapBits = chunk.mapBits;
  let bitOff: number;

  if (!fullScan && md.scanHint !== 0) {
    bitOff = md.scanHintStart + md.scanHint;
    md.contigHintStart = md.scanHintStart;
    md.contigHint = md.scanHint;
    md.scanHint = 0;
  } else {
    bitOff = md.firstFree;
    md.contigHint = 0;
  }

  /* pcpu_for_each_md_free_region(chunk, bit_off, bits) */
  const invBb = chunk.invBlockBits;
  let nrEmptyPopPages = 0;
  cur.bitOff = bitOff;
  for (pcpuNextMdFreeRegion(chunk, cur); cur.bitOff < mapBits; pcpuNextMdFreeRegion(chunk, cur)) {
    const off = cur.bitOff;
    const bits = cur.bits;
    pcpuBlockUpdate(md, off, off + bits, scanHints);
    if (countPopulated !== null) nrEmptyPopPages += pcpuCntPopPages(countPopulated, off, bits, invBb);
    cur.bitOff = off + bits + 1;
  }
  return nrEmptyPopPages;
}

/**
 * The populated pages wholly inside the free region `[bitOff, bitOff +
 * bits)`: pages from PFN_UP of its start to PFN_DOWN of its end (a block
 * is a page, so `invBb` turns bits into pages).
 * @kernel mm/percpu.c pcpu_cnt_pop_pages (before v5.1)
 * @context pcpu_lock.
 */
export function pcpuCntPopPages(populated: Uint32Array, bitOff: number, bits: number, invBb: number): number {
  const pageStart = Math.ceil(bitOff * invBb);
  const pageEnd = Math.floor((bitOff + bits) * invBb);
  if (pageStart >= pageEnd) return 0;
  return bitmapWeight(populated, pageEnd) - bitmapWeight(populated, pageStart);
}

/**
 * Find `nr` clear bits in `[start, size)` starting at a multiple of
 * `alignMask + 1`, remembering the largest blocked candidate run (best
 * aligned on a tie) in `cur.bitOff`/`cur.bits` (in/out, caller zeroes them).
 * Bits skipped by alignment are not part of a remembered run.
 * @kernel mm/percpu.c pcpu_find_zero_area
 * @context pcpu_lock.
 * @returns the start of the run, or a value greater than `size` (the end
 *   of the first candidate that overruns) on failure.
 */
export function pcpuFindZeroArea(
  map: Uint32Array,
  size: number,
  start: number,
  nr: number,
  alignMask: number,
  cur: PcpuRegionCursor,
): number {
  for (;;) {
    let index = findNextZeroBit(map, size, start);
    index = (index + alignMask) & ~alignMask;
    const areaOff = index;

    const end = index + nr;
    if (end > size) return end;
    const i = findNextBit(map, end, index);
    if (i >= end) return index;

    const areaBits = i - areaOff;
    if (
      areaBits > cur.bits ||
      (areaBits === cur.bits && cur.bitOff !== 0 && (areaOff === 0 || ffsBit(areaOff) > ffsBit(cur.bitOff)))
    ) {
      cur.bitOff = areaOff;
      cur.bits = areaBits;
    }
    start = i + 1;
  }
}

/**
 * The bitmap area allocator of one kernel. Method names mirror the kernel
 * functions; the `AreaAllocator` members wrap them with byte units.
 */
export class PcpuBitmapAllocator implements AreaAllocator {
  readonly name = "bitmap" as const;
  /** One bit per PCPU_MIN_ALLOC_SIZE bytes. */
  readonly minAllocSize = PCPU_MIN_ALLOC_SIZE;
  readonly host: AreaAllocatorHost;
  /** See `BitmapAllocatorOptions.fixFreeHintQuirk`. */
  readonly fixFreeHintQuirk: boolean;
  /* The kernel changes this allocator's code differs by (kernel-changes.ts), copied from the host. */
  /** PcpuKernelChanges.slotByContigHint. */
  readonly slotByContigHint: boolean;
  /** PcpuKernelChanges.hintRegionOverlap. */
  readonly hintRegionOverlap: boolean;
  /** PcpuKernelChanges.freePathNewRegion. */
  readonly freePathNewRegion: boolean;
  /** PcpuKernelChanges.emptyPagesByBlock. */
  readonly emptyPagesByBlock: boolean;
  /** PcpuKernelChanges.blockScanHint. */
  readonly blockScanHint: boolean;
  /** PcpuKernelChanges.rememberSkippedArea. */
  readonly rememberSkippedArea: boolean;
  /** The 4.14 recount of empty populated pages (`!emptyPagesByBlock`). */
  readonly recountsEmptyPages: boolean;
  readonly pageSize: number;
  /** PCPU_BITMAP_BLOCK_BITS. */
  readonly blockBits: number;
  /** Cursor of the fit walk (pcpu_find_block_fit). */
  private readonly fitCur: PcpuRegionCursor;
  /** Cursor of the metadata walk (pcpu_chunk_refresh_hint). */
  private readonly mdCur: PcpuRegionCursor;
  /** `area_off`/`area_bits` of pcpu_alloc_area. */
  private readonly zeroCur: PcpuRegionCursor;

  constructor(host: AreaAllocatorHost, opts: BitmapAllocatorOptions) {
    this.host = host;
    this.fixFreeHintQuirk = opts.fixFreeHintQuirk === true;
    const ch = host.changes;
    this.slotByContigHint = ch.slotByContigHint;
    this.hintRegionOverlap = ch.hintRegionOverlap;
    this.freePathNewRegion = ch.freePathNewRegion;
    this.emptyPagesByBlock = ch.emptyPagesByBlock;
    this.blockScanHint = ch.blockScanHint;
    this.rememberSkippedArea = ch.rememberSkippedArea;
    this.recountsEmptyPages = !ch.emptyPagesByBlock;
    this.pageSize = host.constants.PAGE_SIZE;
    this.blockBits = host.constants.PCPU_BITMAP_BLOCK_BITS;
    if (host.constants.PCPU_BITMAP_BLOCK_SIZE !== this.pageSize || this.blockBits !== this.pageSize >>> 2)
      throw new Error("percpu bitmap: PCPU_BITMAP_BLOCK_SIZE must equal PAGE_SIZE");
    this.fitCur = new PcpuRegionCursor();
    this.mdCur = new PcpuRegionCursor();
    this.zeroCur = new PcpuRegionCursor();
  }

  /* ------------------------------------------------------------------ */
  /* Kernel functions                                                    */
  /* ------------------------------------------------------------------ */

  /**
   * The slot a chunk belongs in, by its chunk contig hint (by its free
   * bytes before "percpu: manage chunks based on contig_bits instead of
   * free_bytes", v5.1: `slotByContigHint`).
   * @kernel mm/percpu.c pcpu_chunk_slot
   * @context pcpu_lock.
   * @returns 0 for a full chunk, else `pcpu_size_to_slot(contig_hint * 4)`
   *   (`pcpu_size_to_slot(free_bytes)`).
   */
  pcpuChunkSlot(chunk: PcpuChunkView): number {
    const md = pcpuBitmapArea(chunk).chunkMd;
    if (chunk.freeBytes < PCPU_MIN_ALLOC_SIZE || md.contigHint === 0) return 0;
    if (!this.slotByContigHint) return this.host.pcpuSizeToSlot(chunk.freeBytes);
    return this.host.pcpuSizeToSlot(md.contigHint * PCPU_MIN_ALLOC_SIZE);
  }

  /**
   * Whether the pages under `[bitOff, bitOff + bits)` are all populated;
   * if not, `cur.nextOff` is the bit offset of the next populated page
   * after the first hole (or of the range end).
   * @kernel mm/percpu.c pcpu_is_populated
   * @context pcpu_lock.
   */
  pcpuIsPopulated(chunk: PcpuChunkView, bitOff: number, bits: number, cur: PcpuRegionCursor): boolean {
    const ps = this.pageSize;
    let start = Math.floor((bitOff * PCPU_MIN_ALLOC_SIZE) / ps);
    let end = Math.ceil(((bitOff + bits) * PCPU_MIN_ALLOC_SIZE) / ps);

    start = findNextZeroBit(chunk.populated, end, start);
    if (start >= end) return true;

    end = findNextBit(chunk.populated, end, start + 1);
    cur.nextOff = (end * ps) / PCPU_MIN_ALLOC_SIZE;
    return false;
  }

  /**
   * Where to start scanning for `allocBits` aligned to `alignBits`, using
   * only the hints; with `popOnly`, only populated pages qualify. Not exact
   * first fit: a request the hints say cannot fit is refused.
   * @kernel mm/percpu.c pcpu_find_block_fit
   * @context pcpu_lock.
   * @returns a bit offset to start scanning at, or -1.
   */
  pcpuFindBlockFit(chunk: PcpuChunkView, allocBits: number, alignBits: number, popOnly: boolean): number {
    const area = pcpuBitmapArea(chunk);
    const md = area.chunkMd;
    const cur = this.fitCur;

    /* the chunk hint says no: assume pressure, a new chunk will come */
    if (!pcpuCheckBlockHint(md, allocBits, alignBits)) return -1;

    cur.bitOff = pcpuNextHint(md, allocBits);
    cur.bits = 0;
    for (pcpuNextFitRegion(area, allocBits, alignBits, cur); cur.bitOff < area.mapBits; ) {
      if (!popOnly || this.pcpuIsPopulated(chunk, cur.bitOff, cur.bits, cur)) break;
      cur.bitOff = cur.nextOff;
      cur.bits = 0;
      cur.bitOff += cur.bits;
      pcpuNextFitRegion(area, allocBits, alignBits, cur);
    }

    if (cur.bitOff === area.mapBits) return -1;
    return cur.bitOff;
  }

  /**
   * Allocate `allocBits` aligned to `alignBits`, scanning alloc_map from
   * `start` for at most `allocBits + BB` bits; updates both maps,
   * free_bytes, first_free and the hints, then relocates the chunk.
   * @kernel mm/percpu.c pcpu_alloc_area
   * @context pcpu_lock.
   * @returns the byte offset allocated, or -1 (nothing changed).
   */
  pcpuAllocArea(chunk: PcpuChunkView, allocBits: number, alignBits: number, start: number): number {
    const area = pcpuBitmapArea(chunk);
    const md = area.chunkMd;
    const alignMask = alignBits ? alignBits - 1 : 0;
    const zc = this.zeroCur;

    const oslot = this.pcpuChunkSlot(chunk);

    const end = Math.min(start + allocBits + this.blockBits, area.mapBits);
    zc.bitOff = 0;
    zc.bits = 0;
    const bitOff = pcpuFindZeroArea(area.allocMap, end, start, allocBits, alignMask, zc);
    if (bitOff >= end) return -1;

    /* before v5.1 (bitmap_find_next_zero_area) nothing was remembered */
    if (zc.bits !== 0 && this.rememberSkippedArea) pcpuBlockUpdateScan(area, zc.bitOff, zc.bits);

    bitmapSet(area.allocMap, bitOff, allocBits);

    setBit(area.boundMap, bitOff);
    bitmapClear(area.boundMap, bitOff + 1, allocBits - 1);
    setBit(area.boundMap, bitOff + allocBits);

    chunk.freeBytes -= allocBits * PCPU_MIN_ALLOC_SIZE;

    if (bitOff === md.firstFree)
      md.firstFree = findNextZeroBit(area.allocMap, area.mapBits, bitOff + allocBits);

    this.pcpuBlockUpdateHintAlloc(chunk, bitOff, allocBits);

    this.host.pcpuChunkRelocate(chunk, oslot);

    return bitOff * PCPU_MIN_ALLOC_SIZE;
  }

  /**
   * Repair block and chunk hints after `[bitOff, bitOff + bits)` was set in
   * alloc_map; counts pages that stop being empty.
   * @kernel mm/percpu.c pcpu_block_update_hint_alloc
   * @context pcpu_lock.
   */
  pcpuBlockUpdateHintAlloc(chunk: PcpuChunkView, bitOff: number, bits: number): void {
    const area = pcpuBitmapArea(chunk);
    const md = area.chunkMd;
    const map = area.allocMap;
    const bb = this.blockBits;
    let nrEmptyPages = 0;

    const sIndex = pcpuOffToBlockIndex(area, bitOff);
    const eIndex = pcpuOffToBlockIndex(area, bitOff + bits - 1);
    const sOff = pcpuOffToBlockOff(area, bitOff);
    const eOff = pcpuOffToBlockOff(area, bitOff + bits - 1) + 1;
    const sBase = sIndex * bb;
    const eBase = eIndex * bb;

    const sBlock = area.mdBlocks[sIndex];
    const eBlock = area.mdBlocks[eIndex];

    /* start block */
    if (sBlock.contigHint === bb) nrEmptyPages++;

    if (sOff === sBlock.firstFree)
      sBlock.firstFree = findNextZeroBit(map, sBase + bb, sBase + sOff + bits) - sBase;

    if (pcpuRegionOverlap(sBlock.scanHintStart, sBlock.scanHintStart + sBlock.scanHint, sOff, sOff + bits))
      sBlock.scanHint = 0;

    if (
      this.hintRegionOverlap
        ? pcpuRegionOverlap(
            sBlock.contigHintStart,
            sBlock.contigHintStart + sBlock.contigHint,
            sOff,
            sOff + bits,
          )
        : sOff >= sBlock.contigHintStart && sOff < sBlock.contigHintStart + sBlock.contigHint
    ) {
      /* the contig run is broken: rescan */
      if (sOff === 0) sBlock.leftFree = 0;
      pcpuBlockRefreshHint(area, sIndex, this.blockScanHint);
    } else {
      sBlock.leftFree = Math.min(sBlock.leftFree, sOff);
      if (sIndex === eIndex) sBlock.rightFree = Math.min(sBlock.rightFree, bb - eOff);
      else sBlock.rightFree = 0;
    }

    /* end block and the blocks in between */
    if (sIndex !== eIndex) {
      if (eBlock.contigHint === bb) nrEmptyPages++;

      eBlock.firstFree = findNextZeroBit(map, eBase + bb, eBase + eOff) - eBase;

      let midEnd = eIndex;
      if (eOff === bb) {
        /* the end block is wholly used: reset it with the middle ones */
        midEnd = eIndex + 1;
      } else {
        if (eOff > eBlock.scanHintStart) eBlock.scanHint = 0;

        eBlock.leftFree = 0;
        if (eOff > eBlock.contigHintStart) {
          pcpuBlockRefreshHint(area, eIndex, this.blockScanHint);
        } else {
          eBlock.rightFree = Math.min(eBlock.rightFree, bb - eOff);
        }
      }

      /* middle blocks are full; their first_free is left as it was */
      nrEmptyPages += eIndex - sIndex - 1;
      for (let i = sIndex + 1; i < midEnd; i++) {
        const block = area.mdBlocks[i];
        block.scanHint = 0;
        block.contigHint = 0;
        block.leftFree = 0;
        block.rightFree = 0;
      }
    }

    /* a sleeping allocation into unpopulated pages undercounts until populated */
    if (nrEmptyPages !== 0 && this.emptyPagesByBlock) this.host.pcpuUpdateEmptyPages(chunk, -nrEmptyPages);

    if (pcpuRegionOverlap(md.scanHintStart, md.scanHintStart + md.scanHint, bitOff, bitOff + bits))
      md.scanHint = 0;

    /* only a broken chunk contig run needs the metadata walk */
    if (
      this.hintRegionOverlap
        ? pcpuRegionOverlap(md.contigHintStart, md.contigHintStart + md.contigHint, bitOff, bitOff + bits)
        : bitOff >= md.contigHintStart && bitOff < md.contigHintStart + md.contigHint
    )
      this.chunkRefreshHint(chunk, area, false);
  }

  /**
   * `pcpu_chunk_refresh_hint` with this kernel's switches; before v5.1
   * (`emptyPagesByBlock` off) the walk's recount of empty populated pages
   * replaces the chunk's count and the difference goes to the global one
   * (not for the reserved chunk; there is no isolation in those kernels).
   * @kernel mm/percpu.c pcpu_chunk_refresh_hint
   * @context pcpu_lock.
   */
  chunkRefreshHint(chunk: PcpuChunkView, area: PcpuBitmapArea, fullScan: boolean): void {
    if (this.emptyPagesByBlock) {
      pcpuChunkRefreshHint(area, fullScan, this.mdCur, this.blockScanHint, null);
      return;
    }
    const nr = pcpuChunkRefreshHint(area, fullScan, this.mdCur, this.blockScanHint, chunk.populated);
    if (nr !== chunk.nrEmptyPopPages) this.host.pcpuUpdateEmptyPages(chunk, nr - chunk.nrEmptyPopPages);
  }

  /**
   * Repair block and chunk hints after `[bitOff, bitOff + bits)` was cleared
   * in alloc_map, merging with the free runs around it inside the start and
   * end blocks; counts pages that become empty. The chunk hint is rescanned
   * only when a whole block became free or the run spans blocks; otherwise
   * `chunk_md` absorbs the run with the kernel's block-relative end (see
   * `fixFreeHintQuirk`).
   * @kernel mm/percpu.c pcpu_block_update_hint_free
   * @context pcpu_lock.
   */
  pcpuBlockUpdateHintFree(chunk: PcpuChunkView, bitOff: number, bits: number): void {
    const area = pcpuBitmapArea(chunk);
    const map = area.allocMap;
    const bb = this.blockBits;
    let nrEmptyPages = 0;

    const sIndex = pcpuOffToBlockIndex(area, bitOff);
    const eIndex = pcpuOffToBlockIndex(area, bitOff + bits - 1);
    const sOff = pcpuOffToBlockOff(area, bitOff);
    let eOff = pcpuOffToBlockOff(area, bitOff + bits - 1) + 1;
    const sBase = sIndex * bb;
    const eBase = eIndex * bb;

    const sBlock = area.mdBlocks[sIndex];
    const eBlock = area.mdBlocks[eIndex];

    /* where the merged free run starts inside the start block */
    let start = sOff;
    if (sOff === sBlock.contigHint + sBlock.contigHintStart) {
      start = sBlock.contigHintStart;
    } else {
      const lBit = findLastBitInRange(map, sBase, sBase + start) - sBase;
      start = start === lBit ? 0 : lBit + 1;
    }

    /* where it ends inside the end block */
    let end = eOff;
    if (eOff === eBlock.contigHintStart) end = eBlock.contigHintStart + eBlock.contigHint;
    else end = findNextBit(map, eBase + bb, eBase + end) - eBase;

    /* start block */
    eOff = sIndex === eIndex ? end : bb;
    if (start === 0 && eOff === bb) nrEmptyPages++;
    pcpuBlockUpdate(sBlock, start, eOff, this.blockScanHint);

    if (sIndex !== eIndex) {
      /* end block */
      if (end === bb) nrEmptyPages++;
      pcpuBlockUpdate(eBlock, 0, end, this.blockScanHint);

      /* middle blocks become wholly free */
      nrEmptyPages += eIndex - sIndex - 1;
      for (let i = sIndex + 1; i < eIndex; i++) {
        const block = area.mdBlocks[i];
        block.firstFree = 0;
        block.scanHint = 0;
        block.contigHintStart = 0;
        block.contigHint = bb;
        block.leftFree = bb;
        block.rightFree = bb;
      }
    }

    if (nrEmptyPages !== 0 && this.emptyPagesByBlock) this.host.pcpuUpdateEmptyPages(chunk, nrEmptyPages);

    if (end - start >= bb || sIndex !== eIndex) this.chunkRefreshHint(chunk, area, true);
    else if (!this.freePathNewRegion)
      /* 4.14: the run's start with the length of the start block's contig hint, wherever that lies */
      pcpuBlockUpdate(area.chunkMd, sBase + start, sBase + start + sBlock.contigHint, false);
    else pcpuBlockUpdate(area.chunkMd, sBase + start, this.fixFreeHintQuirk ? sBase + end : end);
  }

  /**
   * Free the allocation starting at byte `off`: its end comes from
   * bound_map; bound bits are left as they are. No validation (the kernel
   * trusts its caller). The stats hook runs in the core before this.
   * @kernel mm/percpu.c pcpu_free_area
   * @context pcpu_lock.
   * @returns the bytes freed.
   */
  pcpuFreeArea(chunk: PcpuChunkView, off: number): number {
    const area = pcpuBitmapArea(chunk);
    const md = area.chunkMd;

    const oslot = this.pcpuChunkSlot(chunk);

    const bitOff = Math.floor(off / PCPU_MIN_ALLOC_SIZE);

    const end = findNextBit(area.boundMap, area.mapBits, bitOff + 1);
    const bits = end - bitOff;
    bitmapClear(area.allocMap, bitOff, bits);

    const freed = bits * PCPU_MIN_ALLOC_SIZE;
    chunk.freeBytes += freed;

    if (bitOff < md.firstFree) md.firstFree = bitOff;

    this.pcpuBlockUpdateHintFree(chunk, bitOff, bits);

    this.host.pcpuChunkRelocate(chunk, oslot);

    return freed;
  }

  /* ------------------------------------------------------------------ */
  /* AreaAllocator                                                       */
  /* ------------------------------------------------------------------ */

  /**
   * The metadata part of `pcpu_alloc_chunk`: zeroed maps, initial hints,
   * `free_bytes = nr_pages * PAGE_SIZE`.
   * @kernel mm/percpu.c pcpu_alloc_chunk
   * @context may sleep (GFP_KERNEL metadata allocations).
   * @returns false when the (injected) metadata allocation fails; the chunk
   *   is then left without metadata.
   */
  initChunk(chunk: PcpuChunkView): boolean {
    if (this.host.metadataAllocFails("pcpu_alloc_chunk")) return false;
    chunk.area = new PcpuBitmapArea(chunk.nrPages, this.pageSize);
    chunk.freeBytes = chunk.nrPages * this.pageSize;
    return true;
  }

  /**
   * Steps 5-6 of `pcpu_alloc_first_chunk`: hide `[0, start_offset)` and the
   * last `end_offset` bytes as allocations that are never freed. Creates
   * the metadata first if the chunk has none (boot memory: cannot fail).
   * `free_bytes`, `populated` and `nr_empty_pop_pages = nr_pages` are the
   * caller's (step 4) and must be set before; the hint updates then lower
   * nr_empty_pop_pages through the host. Stats are not touched.
   * @kernel mm/percpu.c pcpu_alloc_first_chunk
   * @context boot.
   */
  initFirstChunk(chunk: PcpuChunkView): void {
    let area = chunk.area;
    if (!(area instanceof PcpuBitmapArea)) {
      area = new PcpuBitmapArea(chunk.nrPages, this.pageSize);
      chunk.area = area;
    }
    const a = area as PcpuBitmapArea;
    const mapBits = a.mapBits;

    if (!this.emptyPagesByBlock) {
      /*
       * 4.14: the chunk's count starts as the pages wholly inside the
       * served region, and its contig hint is the region's size at bit 0
       * (contig_bits_start is zeroed memory); the hidden head then breaks
       * it and the refresh recounts.
       */
      const mapSize = chunk.nrPages * this.pageSize - chunk.startOffset - chunk.endOffset;
      chunk.nrEmptyPopPages = pcpuCntPopPages(
        chunk.populated,
        chunk.startOffset >>> PCPU_MIN_ALLOC_SHIFT,
        mapSize >>> PCPU_MIN_ALLOC_SHIFT,
        a.invBlockBits,
      );
      a.chunkMd.contigHint = mapSize >>> PCPU_MIN_ALLOC_SHIFT;
      a.chunkMd.contigHintStart = 0;
    }

    if (chunk.startOffset) {
      const offsetBits = chunk.startOffset >>> PCPU_MIN_ALLOC_SHIFT;
      bitmapSet(a.allocMap, 0, offsetBits);
      setBit(a.boundMap, 0);
      setBit(a.boundMap, offsetBits);
      a.chunkMd.firstFree = offsetBits;
      this.pcpuBlockUpdateHintAlloc(chunk, 0, offsetBits);
    }

    if (chunk.endOffset) {
      const offsetBits = chunk.endOffset >>> PCPU_MIN_ALLOC_SHIFT;
      const mapSize = chunk.nrPages * this.pageSize - chunk.startOffset - chunk.endOffset;
      bitmapSet(a.allocMap, mapBits - offsetBits, offsetBits);
      setBit(a.boundMap, (chunk.startOffset + mapSize) >>> PCPU_MIN_ALLOC_SHIFT);
      setBit(a.boundMap, mapBits);
      this.pcpuBlockUpdateHintAlloc(chunk, mapBits - offsetBits, offsetBits);
    }
  }

  /**
   * The metadata part of `pcpu_free_chunk`.
   * @kernel mm/percpu.c pcpu_free_chunk
   */
  freeChunk(chunk: PcpuChunkView): void {
    chunk.area = null;
  }

  /** `pcpu_chunk_slot`. @kernel mm/percpu.c pcpu_chunk_slot */
  chunkSlot(chunk: PcpuChunkView): number {
    return this.pcpuChunkSlot(chunk);
  }

  /**
   * `pcpu_find_block_fit` in bytes: `size` and `align` already rounded to
   * PCPU_MIN_ALLOC_SIZE by pcpu_alloc.
   * @kernel mm/percpu.c pcpu_find_block_fit
   * @context pcpu_lock.
   * @returns a bit offset to pass to `allocArea` as `start`, or -1.
   */
  findFit(chunk: PcpuChunkView, size: number, align: number, popOnly: boolean): number {
    return this.pcpuFindBlockFit(
      chunk,
      size >>> PCPU_MIN_ALLOC_SHIFT,
      align >>> PCPU_MIN_ALLOC_SHIFT,
      popOnly,
    );
  }

  /**
   * `pcpu_alloc_area` in bytes; `start` is what `findFit` returned.
   * @kernel mm/percpu.c pcpu_alloc_area
   * @context pcpu_lock.
   * @returns the byte offset, or -1.
   */
  allocArea(chunk: PcpuChunkView, size: number, align: number, start: number): number {
    return this.pcpuAllocArea(chunk, size >>> PCPU_MIN_ALLOC_SHIFT, align >>> PCPU_MIN_ALLOC_SHIFT, start);
  }

  /** `pcpu_free_area`. @kernel mm/percpu.c pcpu_free_area */
  freeArea(chunk: PcpuChunkView, off: number): number {
    return this.pcpuFreeArea(chunk, off);
  }

  /** Page `i` holds no allocated bit: its block's contig_hint is BB. */
  pageIsEmpty(chunk: PcpuChunkView, i: number): boolean {
    return pcpuBitmapArea(chunk).mdBlocks[i].contigHint === this.blockBits;
  }

  /** `chunk_md.first_free`, percpu_stats' `first_bit`. */
  firstBit(chunk: PcpuChunkView): number {
    return pcpuBitmapArea(chunk).chunkMd.firstFree;
  }

  /** `chunk_md.contig_hint * PCPU_MIN_ALLOC_SIZE`. */
  contigBytes(chunk: PcpuChunkView): number {
    return pcpuBitmapArea(chunk).chunkMd.contigHint * PCPU_MIN_ALLOC_SIZE;
  }

  /**
   * The allocation layout as percpu_stats walks it, literally: the last
   * allocated bit is searched below `map_bits - end_offset/4 - 1` (the last
   * usable bit is outside the window, and when nothing is found the window
   * end itself is tested), then runs from `start_offset/4` to there, an
   * allocation ending at the next bound bit, a hole at the next set bit.
   * @kernel mm/percpu-stats.c chunk_map_stats
   * @context pcpu_lock.
   */
  forEachRun(chunk: PcpuChunkView, fn: (signedBytes: number) => void): void {
    const area = pcpuBitmapArea(chunk);
    const alloc = area.allocMap;

    let lastAlloc = findLastBit(alloc, area.mapBits - (chunk.endOffset >>> PCPU_MIN_ALLOC_SHIFT) - 1);
    lastAlloc = testBit(alloc, lastAlloc) ? lastAlloc + 1 : 0;

    let start = chunk.startOffset >>> PCPU_MIN_ALLOC_SHIFT;
    while (start < lastAlloc) {
      let end: number;
      if (testBit(alloc, start)) {
        end = findNextBit(area.boundMap, lastAlloc, start + 1);
        fn((end - start) * PCPU_MIN_ALLOC_SIZE);
      } else {
        end = findNextBit(alloc, lastAlloc, start + 1);
        fn(-(end - start) * PCPU_MIN_ALLOC_SIZE);
      }
      start = end;
    }
  }

  /**
   * Whether byte `off` starts a live allocation: its alloc bit and bound
   * bit are set and it lies outside the hidden first-chunk edges. (A bound
   * bit left by an earlier free never coincides with an allocated bit that
   * is not a start, since allocating clears the bound bits inside.)
   */
  isAllocStart(chunk: PcpuChunkView, off: number): boolean {
    if (off < chunk.startOffset || off % PCPU_MIN_ALLOC_SIZE !== 0) return false;
    if (off >= chunk.nrPages * this.pageSize - chunk.endOffset) return false;
    const area = pcpuBitmapArea(chunk);
    const b = off / PCPU_MIN_ALLOC_SIZE;
    return testBit(area.allocMap, b) && testBit(area.boundMap, b);
  }

  /**
   * The bytes of the chunk's metadata allocations: alloc_map, bound_map and
   * md_blocks at `sizeof(struct pcpu_block_md)` each (chunk_md lives inside
   * the chunk record).
   */
  metadataBytes(chunk: PcpuChunkView): number {
    const area = pcpuBitmapArea(chunk);
    return area.allocMap.byteLength + area.boundMap.byteLength + area.nrBlocks * PCPU_BLOCK_MD_BYTES;
  }

  /**
   * Check the hard per-chunk invariants 1-10 of the spec (section 12.1)
   * against the live allocations of this chunk (bytes).
   * @returns the first violation, naming chunk, block and field with the
   *   expected and actual values, or null.
   */
  checkChunk(chunk: PcpuChunkView, live: readonly LiveArea[], accountedPages?: number): string | null {
    return pcpuCheckBitmapChunk(chunk, live, this.pageSize, accountedPages, this.emptyPagesByBlock);
  }

  /**
   * Audit the soft invariants (spec section 12.2): the kernel can violate
   * them, so a report is information, not an error.
   * @returns the first deviation, or null.
   */
  auditChunk(chunk: PcpuChunkView): string | null {
    return pcpuAuditBitmapChunk(chunk);
  }
}

/**
 * Build the bitmap area allocator.
 * @param opts `fixFreeHintQuirk` (default false: faithful).
 */
export function createBitmapAllocator(opts: BitmapAllocatorOptions = {}): AreaAllocatorFactory {
  return (host: AreaAllocatorHost) => new PcpuBitmapAllocator(host, opts);
}

/* ---------------------------------------------------------------------- */
/* Debug checker (spec section 12)                                         */
/* ---------------------------------------------------------------------- */

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Lowest bit where two bitmaps of `nr` bits differ, or -1. */
function firstDifference(a: Uint32Array, b: Uint32Array, nr: number): number {
  const words = bitsToWords(nr);
  for (let w = 0; w < words; w++) {
    let d = (a[w] ^ b[w]) >>> 0;
    if (w === words - 1 && nr & 31) d &= 0xffffffff >>> (32 - (nr & 31));
    if (d !== 0) return (w << 5) + ffsBit(d);
  }
  return -1;
}

/** The clear run of `[lo, hi)` of `map` that is longest (first on a tie): [start, len]. */
function longestClearRun(map: Uint32Array, lo: number, hi: number): [number, number] {
  let best = 0;
  let bestStart = lo;
  for (let b = lo; ; ) {
    const rs = findNextZeroBit(map, hi, b);
    if (rs >= hi) break;
    const re = findNextBit(map, hi, rs + 1);
    if (re - rs > best) {
      best = re - rs;
      bestStart = rs;
    }
    b = re + 1;
  }
  return [bestStart, best];
}

/**
 * The hard invariants 1-10 of spec section 12.1 for one bitmap chunk.
 * @returns the first violation as text, or null.
 */
export function pcpuCheckBitmapChunk(
  chunk: PcpuChunkView,
  live: readonly LiveArea[],
  pageSize: number,
  accountedPages?: number,
  exactEmptyPages = true,
): string | null {
  const id = chunk.id;
  const area = chunk.area;
  if (!(area instanceof PcpuBitmapArea)) return `chunk ${id}: no bitmap metadata`;
  const bb = area.blockBits;
  const mapBits = area.mapBits;
  const alloc = area.allocMap;
  const bound = area.boundMap;
  const nrPages = chunk.nrPages;
  if (mapBits !== (nrPages * pageSize) >>> PCPU_MIN_ALLOC_SHIFT || area.nrBlocks !== nrPages)
    return `chunk ${id}: map_bits expected ${(nrPages * pageSize) >>> 2}, actual ${mapBits}`;

  /* 1. alloc_map == live allocations + hidden edges; no overlap */
  const headBits = chunk.startOffset >>> PCPU_MIN_ALLOC_SHIFT;
  const tailBits = chunk.endOffset >>> PCPU_MIN_ALLOC_SHIFT;
  const expected = new Uint32Array(alloc.length);
  bitmapSet(expected, 0, headBits);
  bitmapSet(expected, mapBits - tailBits, tailBits);
  const sorted = live.slice().sort((x, y) => x.off - y.off);
  let prev: LiveArea | null = null;
  for (const la of sorted) {
    const s = la.off / PCPU_MIN_ALLOC_SIZE;
    const bits = Math.ceil(la.size / PCPU_MIN_ALLOC_SIZE);
    const range = `[${hex(la.off)}, ${hex(la.off + bits * PCPU_MIN_ALLOC_SIZE)})`;
    if (!Number.isInteger(s) || s < 0 || bits <= 0 || s + bits > mapBits)
      return `chunk ${id}: live area ${range} is not a valid range of the chunk (map_bits ${mapBits})`;
    if (prev !== null && la.off < prev.off + prev.size)
      return `chunk ${id}: live areas at ${hex(prev.off)} (size ${hex(prev.size)}) and ${hex(la.off)} overlap`;
    const hit = findNextBit(expected, s + bits, s);
    if (hit < s + bits) return `chunk ${id}: live area ${range} overlaps a hidden edge at bit ${hit}`;
    bitmapSet(expected, s, bits);
    prev = la;
  }
  const diff = firstDifference(expected, alloc, mapBits);
  if (diff >= 0) {
    const want = testBit(expected, diff) ? 1 : 0;
    return `chunk ${id} block ${(diff / bb) | 0}: alloc_map bit ${diff} (byte ${hex(diff * 4)}) expected ${want}, actual ${1 - want}`;
  }

  /* 2. bound_map marks every live allocation's start and end */
  for (const la of sorted) {
    const s = la.off / PCPU_MIN_ALLOC_SIZE;
    const e = s + Math.ceil(la.size / PCPU_MIN_ALLOC_SIZE);
    if (!testBit(bound, s))
      return `chunk ${id} block ${(s / bb) | 0}: bound_map bit ${s} (start of the area at ${hex(la.off)}) expected 1, actual 0`;
    const inner = findNextBit(bound, e, s + 1);
    if (inner < e)
      return `chunk ${id} block ${(inner / bb) | 0}: bound_map bit ${inner} (inside the area at ${hex(la.off)}) expected 0, actual 1`;
    if (!testBit(bound, e))
      return `chunk ${id} block ${(e / bb) | 0}: bound_map bit ${e} (end of the area at ${hex(la.off)}) expected 1, actual 0`;
  }

  /* 3. free_bytes counts the clear bits */
  const clearBits = mapBits - bitmapWeight(alloc, mapBits);
  if (chunk.freeBytes !== clearBits * PCPU_MIN_ALLOC_SIZE)
    return `chunk ${id}: free_bytes expected ${clearBits * PCPU_MIN_ALLOC_SIZE}, actual ${chunk.freeBytes}`;

  /* 4. nr_populated counts populated */
  const weight = bitmapWeight(chunk.populated, nrPages);
  const pop = accountedPages ?? weight;
  if (chunk.nrPopulated !== pop)
    return `chunk ${id}: nr_populated expected ${pop}, actual ${chunk.nrPopulated}`;

  /* 5. live allocations sit on populated pages; first-chunk records are immutable and full */
  for (const la of sorted) {
    const ps = Math.floor(la.off / pageSize);
    const pe = Math.ceil((la.off + Math.ceil(la.size / 4) * 4) / pageSize);
    const hole = findNextZeroBit(chunk.populated, pe, ps);
    if (hole < pe)
      return `chunk ${id}: page ${hole} holds the live area at ${hex(la.off)} but is not populated`;
  }
  if ((chunk.startOffset !== 0 || chunk.endOffset !== 0) && !chunk.immutable)
    return `chunk ${id}: first-chunk record (start_offset ${chunk.startOffset}, end_offset ${chunk.endOffset}) expected immutable, actual mutable`;
  if (chunk.immutable && pop !== nrPages)
    return `chunk ${id}: immutable chunk expected ${nrPages} populated pages, actual ${pop}`;

  /* 6-8. per block: emptiness, empty populated pages, hint soundness */
  let emptyPop = 0;
  for (let i = 0; i < area.nrBlocks; i++) {
    const block = area.mdBlocks[i];
    const base = i * bb;
    const firstSet = findNextBit(alloc, base + bb, base);
    const empty = firstSet >= base + bb;
    const where = `chunk ${id} block ${i}`;
    if (empty && block.contigHint !== bb)
      return `${where}: contig_hint expected ${bb} (no allocated bit), actual ${block.contigHint}`;
    if (!empty && block.contigHint === bb)
      return `${where}: contig_hint expected < ${bb} (bit ${firstSet} is allocated), actual ${bb}`;
    if (empty && testBit(chunk.populated, i)) emptyPop++;

    if (block.nrBits !== bb) return `${where}: nr_bits expected ${bb}, actual ${block.nrBits}`;
    if (block.contigHint > 0) {
      const cs = block.contigHintStart;
      const ce = cs + block.contigHint;
      if (cs < 0 || ce > bb)
        return `${where}: contig run [${cs}, ${ce}) expected inside [0, ${bb}), actual outside`;
      const used = findNextBit(alloc, base + ce, base + cs);
      if (used < base + ce)
        return `${where}: contig run [${cs}, ${ce}) expected clear, actual bit ${used - base} allocated`;
    }
    if (block.scanHint > 0) {
      const ss = block.scanHintStart;
      const se = ss + block.scanHint;
      if (ss < 0 || se > bb)
        return `${where}: scan run [${ss}, ${se}) expected inside [0, ${bb}), actual outside`;
      const used = findNextBit(alloc, base + se, base + ss);
      if (used < base + se)
        return `${where}: scan run [${ss}, ${se}) expected clear, actual bit ${used - base} allocated`;
      if (block.scanHint > block.contigHint)
        return `${where}: scan_hint expected <= contig_hint (${block.contigHint}), actual ${block.scanHint}`;
    }
    if (block.contigHint < 0 || block.scanHint < 0)
      return `${where}: contig_hint/scan_hint expected >= 0, actual ${block.contigHint}/${block.scanHint}`;
    if (block.leftFree < 0 || block.leftFree > bb)
      return `${where}: left_free expected in [0, ${bb}], actual ${block.leftFree}`;
    if (block.rightFree < 0 || block.rightFree > bb)
      return `${where}: right_free expected in [0, ${bb}], actual ${block.rightFree}`;
    const trueFirst = findNextZeroBit(alloc, base + bb, base) - base;
    if (block.firstFree < 0 || block.firstFree > trueFirst)
      return `${where}: first_free expected <= ${trueFirst}, actual ${block.firstFree}`;
  }

  /* 7. nr_empty_pop_pages */
  /* Pages the backend counted beyond the bitmap (km) are counted empty too. */
  const emptyAccounted = emptyPop + pop - weight;
  /* before v5.1 the count is a recount that goes stale between chunk refreshes: no invariant */
  if (exactEmptyPages && chunk.nrEmptyPopPages !== emptyAccounted)
    return `chunk ${id}: nr_empty_pop_pages expected ${emptyAccounted}, actual ${chunk.nrEmptyPopPages}`;

  /* 9. chunk_md bounds */
  const md = area.chunkMd;
  const trueFirst = findNextZeroBit(alloc, mapBits, 0);
  if (md.firstFree < 0 || md.firstFree > trueFirst)
    return `chunk ${id} chunk_md: first_free expected <= ${trueFirst}, actual ${md.firstFree}`;
  if (md.contigHint * PCPU_MIN_ALLOC_SIZE > chunk.freeBytes)
    return `chunk ${id} chunk_md: contig_hint * 4 expected <= free_bytes ${chunk.freeBytes}, actual ${md.contigHint * 4}`;

  /* 10. a wholly free normal chunk shows it */
  if (chunk.startOffset === 0 && chunk.endOffset === 0 && clearBits === mapBits && md.contigHint !== mapBits)
    return `chunk ${id} chunk_md: contig_hint expected ${mapBits} (chunk is free), actual ${md.contigHint}`;

  return null;
}

/**
 * The soft invariants of spec section 12.2 (design intent the kernel can
 * violate): block contig_hint is the longest clear run, a scan run lies
 * after the contig run only when equal to it, left/right_free are exact,
 * and chunk_md.contig_hint is the chunk's longest clear run.
 * @returns the first deviation as text, or null.
 */
export function pcpuAuditBitmapChunk(chunk: PcpuChunkView): string | null {
  const id = chunk.id;
  const area = pcpuBitmapArea(chunk);
  const bb = area.blockBits;
  const alloc = area.allocMap;
  for (let i = 0; i < area.nrBlocks; i++) {
    const block = area.mdBlocks[i];
    const base = i * bb;
    const where = `chunk ${id} block ${i}`;
    const [, longest] = longestClearRun(alloc, base, base + bb);
    if (block.contigHint !== longest)
      return `${where}: contig_hint expected ${longest} (longest clear run), actual ${block.contigHint}`;
    if (
      block.scanHint !== 0 &&
      block.scanHintStart > block.contigHintStart &&
      block.scanHint !== block.contigHint
    )
      return `${where}: scan_hint_start ${block.scanHintStart} after contig_hint_start ${block.contigHintStart} with scan_hint ${block.scanHint} != contig_hint ${block.contigHint}`;
    const left = findNextBit(alloc, base + bb, base) - base;
    if (block.leftFree !== left) return `${where}: left_free expected ${left}, actual ${block.leftFree}`;
    const lastSet = findLastBitInRange(alloc, base, base + bb);
    const right = lastSet === base + bb ? bb : base + bb - lastSet - 1;
    if (block.rightFree !== right) return `${where}: right_free expected ${right}, actual ${block.rightFree}`;
  }
  const md = area.chunkMd;
  const [, longest] = longestClearRun(alloc, 0, area.mapBits);
  if (md.contigHint !== longest)
    return `chunk ${id} chunk_md: contig_hint expected ${longest} (longest clear run), actual ${md.contigHint}`;
  if (md.contigHint > 0) {
    const used = findNextBit(alloc, md.contigHintStart + md.contigHint, md.contigHintStart);
    if (used < md.contigHintStart + md.contigHint)
      return `chunk ${id} chunk_md: contig run at ${md.contigHintStart} expected clear, actual bit ${used} allocated`;
  }
  return null;
}
