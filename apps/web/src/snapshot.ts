/*
 * Reading a running kernel into a Frame: every chunk on the slot lists
 * (mm/percpu.c pcpu_chunk_lists) with its populated bitmap, its live
 * allocations as the area allocator reports them (the same walk
 * mm/percpu-stats.c chunk_map_stats does), the bitmap allocator's block
 * hints (struct pcpu_block_md) when the kernel uses it, and the global
 * counters (pcpu_nr_populated, pcpu_nr_empty_pop_pages, pcpu_nr_pages()).
 *
 * Read-only: taking a frame never changes the kernel.
 */

import type { Kernel } from "@pcpu/kernel";
import type { PcpuChunk } from "@pcpu/percpu";
import { chunkMapStats } from "@pcpu/percpu-stats";
import {
  type ChunkFrame,
  type ChunkRecordFrame,
  type ChunkRegion,
  type Frame,
  type FrameMetrics,
  HINT_STRIDE,
  type KernelInfo,
  PAGE_EMPTY_POPULATED,
  PAGE_POPULATED,
  PAGE_RESERVED,
  PAGE_STATIC,
  PAGE_UNPOPULATED,
} from "./frame.js";

/** The fields of `struct pcpu_block_md` the page draws (bits). */
interface BlockMdLike {
  readonly contigHint: number;
  readonly contigHintStart: number;
  readonly scanHint: number;
  readonly scanHintStart: number;
  readonly leftFree: number;
  readonly rightFree: number;
  readonly firstFree: number;
}

/** The bitmap allocator's per-chunk metadata (packages/percpu/src/bitmap-allocator.ts PcpuBitmapArea). */
interface BitmapAreaLike {
  readonly allocMap: Uint32Array;
  readonly mdBlocks: readonly BlockMdLike[];
  readonly chunkMd: BlockMdLike;
  readonly blockBits: number;
}

function bitmapArea(chunk: PcpuChunk): BitmapAreaLike | null {
  const a = chunk.area as Partial<BitmapAreaLike> | null;
  return a !== null &&
    a.allocMap instanceof Uint32Array &&
    Array.isArray(a.mdBlocks) &&
    a.chunkMd !== undefined
    ? (a as BitmapAreaLike)
    : null;
}

function putHints(out: Int32Array, at: number, md: BlockMdLike): void {
  out[at] = md.contigHint;
  out[at + 1] = md.contigHintStart;
  out[at + 2] = md.scanHint;
  out[at + 3] = md.scanHintStart;
  out[at + 4] = md.leftFree;
  out[at + 5] = md.rightFree;
  out[at + 6] = md.firstFree;
}

/** FNV-1a over the int views of the arrays. */
function hashArrays(seed: number, ...arrays: (Int32Array | Uint8Array | null)[]): number {
  let h = seed >>> 0 || 0x811c9dc5;
  for (const a of arrays) {
    if (a === null) {
      h = Math.imul(h ^ 0x9e37, 0x01000193);
      continue;
    }
    h = Math.imul(h ^ a.length, 0x01000193);
    for (let i = 0; i < a.length; i++) h = Math.imul(h ^ a[i]!, 0x01000193);
  }
  return h >>> 0;
}

/** What the boot produced: the layout and the log. */
export function kernelInfo(k: Kernel): KernelInfo {
  const p = k.pcpu;
  const ai = p.ai;
  const unitCpu = new Int32Array(p.nrUnits).fill(-1);
  for (let cpu = 0; cpu < p.nrPossibleCpus; cpu++) {
    const u = p.unitMap[cpu]!;
    if (u >= 0 && u < unitCpu.length) unitCpu[u] = cpu;
  }
  return {
    config: k.config,
    bits: k.arch.bits,
    pageSize: 2 ** k.machine.pageShift,
    unitSize: p.unitSize,
    unitPages: p.unitPages,
    nrUnits: p.nrUnits,
    unitCpu,
    unitOffsets: Float64Array.from(p.unitOffsets),
    staticSize: ai?.staticSize ?? 0,
    reservedSize: ai?.reservedSize ?? 0,
    dynSize: ai?.dynSize ?? 0,
    dmesg: k.dmesg(),
  };
}

/** One record's allocations and runs, shifted to view offsets; returns the percpu_stats numbers. */
function readRecord(
  k: Kernel,
  chunk: PcpuChunk,
  role: ChunkRecordFrame["role"],
  viewStart: number,
  offs: number[],
  sizes: number[],
): { rec: ChunkRecordFrame; sumFrag: number; maxFrag: number } {
  const area = k.pcpu.area;
  let off = viewStart + chunk.startOffset;
  area.forEachRun(chunk, (signed) => {
    if (signed > 0) {
      offs.push(off);
      sizes.push(signed);
      off += signed;
    } else off -= signed;
  });
  const st = chunkMapStats(area, chunk);
  const bm = bitmapArea(chunk);
  let chunkMd: Int32Array | null = null;
  if (bm !== null) {
    chunkMd = new Int32Array(HINT_STRIDE);
    putHints(chunkMd, 0, bm.chunkMd);
  }
  return {
    rec: {
      id: chunk.id,
      role,
      viewStart,
      nrPages: chunk.nrPages,
      startOffset: chunk.startOffset,
      endOffset: chunk.endOffset,
      freeBytes: chunk.freeBytes,
      firstBit: st.firstBit,
      contigBytes: st.contigBytes,
      chunkMd,
      nrEmptyPopPages: chunk.nrEmptyPopPages,
      nrPopulated: chunk.nrPopulated,
    },
    sumFrag: st.sumFrag,
    maxFrag: st.maxFrag,
  };
}

/** Fill the page states and block hints of one record into the view arrays. */
function recordPages(
  k: Kernel,
  chunk: PcpuChunk,
  firstPage: number,
  reserved: boolean,
  pages: Uint8Array,
  hints: Int32Array | null,
): void {
  const area = k.pcpu.area;
  const bm = bitmapArea(chunk);
  for (let i = 0; i < chunk.nrPages; i++) {
    const v = firstPage + i;
    if (v < 0 || v >= pages.length) continue;
    const populated = (chunk.populated[i >>> 5]! & (1 << (i & 31))) !== 0;
    let state: number;
    if (!populated) state = PAGE_UNPOPULATED;
    else if (reserved) state = PAGE_RESERVED;
    else state = area.pageIsEmpty(chunk, i) ? PAGE_EMPTY_POPULATED : PAGE_POPULATED;
    /* A page shared by two records (reserved end, dynamic start) is in use if either uses it. */
    const prev = pages[v]!;
    if (
      prev === PAGE_UNPOPULATED ||
      prev === PAGE_EMPTY_POPULATED ||
      (prev === PAGE_STATIC && state !== PAGE_UNPOPULATED)
    ) {
      pages[v] = state;
    }
    if (hints !== null && bm !== null && i < bm.mdBlocks.length)
      putHints(hints, v * HINT_STRIDE, bm.mdBlocks[i]!);
  }
}

function classify(k: Kernel, chunk: PcpuChunk): ChunkFrame["kind"] {
  const p = k.pcpu;
  if (chunk === p.firstChunk) return "first";
  if (chunk.slot === p.toDepopulateSlot) return "to_depopulate";
  if (chunk.slot === p.sidelinedSlot) return "sidelined";
  return "normal";
}

function finish(
  k: Kernel,
  chunk: PcpuChunk,
  key: string,
  title: string,
  baseAddr: number,
  pages: Uint8Array,
  hints: Int32Array | null,
  regions: ChunkRegion[],
  records: ChunkRecordFrame[],
  hidden: number[],
  offs: number[],
  sizes: number[],
  sumFrag: number,
  maxFrag: number,
): ChunkFrame {
  let populatedPages = 0;
  let emptyPopPages = 0;
  for (let i = 0; i < pages.length; i++) {
    if (pages[i] !== PAGE_UNPOPULATED) populatedPages++;
    if (pages[i] === PAGE_EMPTY_POPULATED) emptyPopPages++;
  }
  const allocOff = Int32Array.from(offs);
  const allocSize = Int32Array.from(sizes);
  const hiddenArr = Int32Array.from(hidden);
  const kind = classify(k, chunk);
  const sig = hashArrays(
    (kind.length * 131 + (chunk.isolated ? 7 : 0) + chunk.slot * 31) >>> 0,
    pages,
    allocOff,
    allocSize,
    hints,
    hiddenArr,
  );
  let freeBytes = 0;
  for (const r of records) freeBytes += r.freeBytes;
  return {
    key,
    title,
    kind,
    isolated: chunk.isolated,
    slot: chunk.slot,
    baseAddr,
    ptrBase: k.arch.addrToPcpuPtr(baseAddr) as unknown as number,
    nrPages: pages.length,
    pages,
    regions,
    records,
    hidden: hiddenArr,
    allocOff,
    allocSize,
    hints,
    sumFrag,
    maxFrag,
    freeBytes,
    populatedPages,
    emptyPopPages,
    sig,
  };
}

/**
 * The first chunk as one unit: the static area (never managed by an
 * allocator), the reserved chunk's record and the first chunk's record, at
 * their offsets from `pcpu_base_addr`.
 */
export function firstChunkFrame(k: Kernel): ChunkFrame {
  const p = k.pcpu;
  const first = p.firstChunk;
  const reserved = p.reservedChunk;
  const pageSize = 2 ** k.machine.pageShift;
  const staticSize = p.ai?.staticSize ?? 0;
  const reservedSize = p.ai?.reservedSize ?? 0;
  const dynSize = p.ai?.dynSize ?? 0;
  const base = p.baseAddr;
  const recs: { chunk: PcpuChunk; role: "reserved" | "first"; viewStart: number }[] = [];
  if (reserved !== null)
    recs.push({ chunk: reserved, role: "reserved", viewStart: reserved.baseAddr - base });
  recs.push({ chunk: first, role: "first", viewStart: first.baseAddr - base });
  let nrPages = Math.ceil(staticSize / pageSize);
  for (const r of recs) nrPages = Math.max(nrPages, r.viewStart / pageSize + r.chunk.nrPages);
  const pages = new Uint8Array(nrPages);
  pages.fill(PAGE_STATIC, 0, Math.ceil(staticSize / pageSize));
  const bitmap = bitmapArea(first) !== null;
  const hints = bitmap ? new Int32Array(nrPages * HINT_STRIDE).fill(-1) : null;
  const offs: number[] = [];
  const sizes: number[] = [];
  const records: ChunkRecordFrame[] = [];
  const hidden: number[] = [0, staticSize];
  let sumFrag = 0;
  let maxFrag = 0;
  for (const r of recs) {
    recordPages(k, r.chunk, r.viewStart / pageSize, r.role === "reserved", pages, hints);
    const got = readRecord(k, r.chunk, r.role, r.viewStart, offs, sizes);
    records.push(got.rec);
    if (r.role === "first") {
      sumFrag = got.sumFrag;
      maxFrag = got.maxFrag;
    }
    const start = r.viewStart;
    const end = r.viewStart + r.chunk.nrPages * pageSize;
    if (r.chunk.startOffset > 0) hidden.push(start, start + r.chunk.startOffset);
    if (r.chunk.endOffset > 0) hidden.push(end - r.chunk.endOffset, end);
  }
  /* Offsets of the reserved record come before the first chunk's: keep them in address order. */
  const order = offs.map((_, i) => i).sort((a, b) => offs[a]! - offs[b]!);
  const regions: ChunkRegion[] = [{ name: "static", start: 0, end: staticSize }];
  if (reservedSize > 0) regions.push({ name: "reserved", start: staticSize, end: staticSize + reservedSize });
  regions.push({
    name: "dynamic",
    start: staticSize + reservedSize,
    end: staticSize + reservedSize + dynSize,
  });
  return finish(
    k,
    first,
    "first",
    "first chunk",
    base,
    pages,
    hints,
    regions,
    records,
    hidden,
    order.map((i) => offs[i]!),
    order.map((i) => sizes[i]!),
    sumFrag,
    maxFrag,
  );
}

/** A dynamic chunk (created by pcpu_create_chunk) as drawn. */
export function dynamicChunkFrame(k: Kernel, chunk: PcpuChunk): ChunkFrame {
  const pages = new Uint8Array(chunk.nrPages);
  const hints = bitmapArea(chunk) !== null ? new Int32Array(chunk.nrPages * HINT_STRIDE).fill(-1) : null;
  recordPages(k, chunk, 0, false, pages, hints);
  const offs: number[] = [];
  const sizes: number[] = [];
  const got = readRecord(k, chunk, "dynamic", 0, offs, sizes);
  return finish(
    k,
    chunk,
    `chunk ${chunk.id}`,
    `chunk ${chunk.id}`,
    chunk.baseAddr,
    pages,
    hints,
    [],
    [got.rec],
    [],
    offs,
    sizes,
    got.sumFrag,
    got.maxFrag,
  );
}

/** Every chunk on the slot lists, the first chunk first, then by creation. */
export function chunkFrames(k: Kernel): ChunkFrame[] {
  const p = k.pcpu;
  const out: ChunkFrame[] = [firstChunkFrame(k)];
  const dyn = p
    .allChunks()
    .filter((c) => c !== p.firstChunk && c !== p.reservedChunk)
    .sort((a, b) => a.id - b.id);
  for (const c of dyn) out.push(dynamicChunkFrame(k, c));
  return out;
}

/** The plotted numbers, from the kernel's counters and the chunks drawn. */
export function frameMetrics(k: Kernel, chunks: readonly ChunkFrame[]): FrameMetrics {
  const s = k.snapshot();
  let fragBytes = 0;
  let freeBytes = 0;
  for (const c of chunks) {
    fragBytes += c.sumFrag;
    for (const r of c.records) if (r.role !== "reserved") freeBytes += r.freeBytes;
  }
  return {
    live: s.allocs - s.frees,
    chunks: s.chunks,
    populatedPages: s.populatedPages,
    emptyPopPages: s.emptyPopPages,
    pcpuNrPages: s.pcpuNrPages,
    fragBytes,
    freeBytes,
    allocs: s.allocs,
    frees: s.frees,
    failures: s.failures,
  };
}

/** The kernel now, as frame `index`. */
export function takeFrame(k: Kernel, index: number, label: string): Frame {
  const chunks = chunkFrames(k);
  return {
    index,
    label,
    metrics: frameMetrics(k, chunks),
    chunks,
    statsText: k.stats === null ? null : k.debugfs("percpu_stats"),
    meminfo: k.meminfo(),
  };
}
