/*
 * One chunk the way a person debugging the allocator looks at it with drgn
 * or crash: the struct pcpu_chunk fields, which pages are populated, the
 * allocation map one row per block (PCPU_BITMAP_BLOCK_SIZE: a page) with
 * that block's pcpu_block_md hints (or, for the 2014 area map, its map
 * entries), the slot lists (pcpu_chunk_lists) and the live allocations
 * that sit in the chunk, with their call sites when tracking was on.
 *
 * Read-only: nothing here changes allocator state.
 */

import {
  PCPU_MIN_ALLOC_SIZE,
  PcpuAreaMap,
  PcpuBitmapArea,
  type PcpuChunk,
  pcpuChunkAddrSearch,
  pcpuPageIsPopulated,
} from "@pcpu/percpu";
import { chunkMapStats, pcpuStatsChunks } from "@pcpu/percpu-stats";
import { type Kernel, KernelApiError } from "./kernel.js";

/** One block of the bitmap allocator: its page, map picture and pcpu_block_md hints (in bits). */
export interface InspectBlock {
  readonly block: number;
  readonly populated: boolean;
  /** One character per `bytesPerChar` bytes: `.` free, `#` allocated, `+` partly allocated. */
  readonly map: string;
  /** Allocation starts (bound_map bits) in the block. */
  readonly starts: number;
  readonly contigHint: number;
  readonly contigHintStart: number;
  readonly scanHint: number;
  readonly scanHintStart: number;
  readonly leftFree: number;
  readonly rightFree: number;
  readonly firstFree: number;
}

/** One entry of the area map (2014 allocator): an area's offset, size and use. */
export interface InspectArea {
  readonly off: number;
  readonly size: number;
  readonly inUse: boolean;
}

/** A live allocation inside the chunk. */
export interface InspectAllocation {
  /** Offset in the unit (bytes). */
  readonly off: number;
  readonly size: number;
  /** The percpu pointer as the arch prints it. */
  readonly ptr: string;
  readonly callSite: string | null;
  readonly reserved: boolean;
}

/** A chunk on a slot list. */
export interface InspectSlotEntry {
  readonly slot: number;
  /** `sidelined`, `free`, `to_depopulate`, or null for a size slot. */
  readonly name: string | null;
  readonly chunks: readonly {
    readonly id: number;
    readonly freeBytes: number;
    readonly contigBytes: number;
  }[];
}

export interface ChunkInspection {
  readonly id: number;
  /** percpu_stats' title for the chunk (`Chunk: <- First Chunk`). */
  readonly title: string;
  readonly kind: "reserved" | "first" | "to_depopulate" | "sidelined" | "normal";
  readonly baseAddr: string;
  readonly slot: number | null;
  readonly nrPages: number;
  readonly startOffset: number;
  readonly endOffset: number;
  readonly freeBytes: number;
  readonly contigBytes: number;
  readonly nrAlloc: number;
  readonly maxAllocSize: number;
  readonly nrPopulated: number;
  readonly nrEmptyPopPages: number;
  readonly isolated: boolean;
  readonly immutable: boolean;
  readonly sumFrag: number;
  readonly maxFrag: number;
  /** Populated pages as a cpulist-style range list (`0-12,40`). */
  readonly populatedPages: string;
  readonly allocator: "bitmap" | "area-map";
  /** Bytes each character of a block's `map` stands for. */
  readonly bytesPerChar: number;
  readonly blocks: readonly InspectBlock[];
  readonly areas: readonly InspectArea[];
  readonly allocations: readonly InspectAllocation[];
  /** Whether call sites were tracked (otherwise allocations come from the map alone). */
  readonly callSitesTracked: boolean;
  /** Every chunk, for `--chunk`. */
  readonly chunks: readonly { readonly id: number; readonly title: string; readonly slot: number | null }[];
  readonly slots: readonly InspectSlotEntry[];
}

function ranges(pred: (i: number) => boolean, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; ) {
    if (!pred(i)) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < n && pred(j + 1)) j++;
    out.push(j > i ? `${i}-${j}` : `${i}`);
    i = j + 1;
  }
  return out.join(",");
}

function bit(map: Uint32Array, i: number): boolean {
  return (map[i >>> 5]! & (1 << (i & 31))) !== 0;
}

/** The chunks in percpu_stats order (reserved, then slot 0 upward). */
function chunkEntries(k: Kernel) {
  return pcpuStatsChunks(k.pcpu);
}

/**
 * Inspects one chunk (default: the first chunk).
 * @throws KernelApiError for a chunk id no list holds
 */
export function inspectChunk(k: Kernel, chunkId?: number): ChunkInspection {
  const pcpu = k.pcpu;
  const entries = chunkEntries(k);
  const entry =
    chunkId === undefined
      ? entries.find((e) => e.chunk === pcpu.firstChunk)!
      : entries.find((e) => (e.chunk as PcpuChunk).id === chunkId);
  if (entry === undefined)
    throw new KernelApiError(
      `no chunk ${chunkId} (chunks: ${entries.map((e) => (e.chunk as PcpuChunk).id).join(", ")})`,
    );
  const chunk = entry.chunk as PcpuChunk;
  const pageSize = pcpu.constants.PAGE_SIZE;
  const ms = chunkMapStats(pcpu.area, chunk);
  const bytesPerChar = pageSize / 64;
  const blocks: InspectBlock[] = [];
  const areas: InspectArea[] = [];
  const allocStarts: { off: number; size: number }[] = [];
  const area = chunk.area;
  if (area instanceof PcpuBitmapArea) {
    const bb = area.blockBits;
    const bitsPerChar = bytesPerChar / PCPU_MIN_ALLOC_SIZE;
    for (let b = 0; b < area.nrBlocks; b++) {
      let map = "";
      let starts = 0;
      for (let c = 0; c < 64; c++) {
        let set = 0;
        for (let i = 0; i < bitsPerChar; i++) if (bit(area.allocMap, b * bb + c * bitsPerChar + i)) set++;
        map += set === 0 ? "." : set === bitsPerChar ? "#" : "+";
      }
      for (let i = 0; i < bb; i++)
        if (bit(area.boundMap, b * bb + i) && bit(area.allocMap, b * bb + i)) starts++;
      const md = area.mdBlocks[b]!;
      blocks.push({
        block: b,
        populated: pcpuPageIsPopulated(chunk, b),
        map,
        starts,
        contigHint: md.contigHint,
        contigHintStart: md.contigHintStart,
        scanHint: md.scanHint,
        scanHintStart: md.scanHintStart,
        leftFree: md.leftFree,
        rightFree: md.rightFree,
        firstFree: md.firstFree,
      });
    }
    /* Allocations: an allocated bit with its bound bit set starts one; the next bound bit ends it. */
    for (let i = 0; i < area.mapBits; i++) {
      if (!bit(area.boundMap, i) || !bit(area.allocMap, i)) continue;
      let j = i + 1;
      while (j < area.mapBits && !bit(area.boundMap, j)) j++;
      allocStarts.push({ off: i * PCPU_MIN_ALLOC_SIZE, size: (j - i) * PCPU_MIN_ALLOC_SIZE });
    }
  } else if (area instanceof PcpuAreaMap) {
    for (let i = 0; i < area.mapUsed; i++) {
      const off = area.map[i]! & ~1;
      const end = area.map[i + 1]! & ~1;
      const inUse = (area.map[i]! & 1) !== 0;
      areas.push({ off, size: end - off, inUse });
      if (inUse) allocStarts.push({ off, size: end - off });
    }
  }
  const tracker = k.callSites;
  const arch = pcpu.archHooks();
  const allocations: InspectAllocation[] = [];
  /* The first chunk's hidden head (static area) and tail are allocated runs no caller owns. */
  const liveStart = chunk.startOffset;
  const liveEnd = chunk.nrPages * pageSize - chunk.endOffset;
  const byOff = new Map<number, { callSite: string; reserved: boolean }>();
  if (tracker !== null) {
    for (const a of tracker.liveAllocations()) {
      /* free_percpu's lookup: __pcpu_ptr_to_addr, then pcpu_chunk_addr_search. */
      const addr = arch.pcpuPtrToAddr(a.ptr);
      if (pcpuChunkAddrSearch(pcpu, addr) !== chunk) continue;
      byOff.set(addr - chunk.baseAddr, { callSite: a.callSite, reserved: a.reserved });
    }
  }
  for (const s of allocStarts) {
    if (s.off < liveStart || s.off >= liveEnd) continue;
    const t = byOff.get(s.off);
    allocations.push({
      off: s.off,
      size: s.size,
      ptr: k.formatAddr(arch.addrToPcpuPtr(chunk.baseAddr + s.off)),
      callSite: t?.callSite ?? null,
      reserved: t?.reserved ?? entry.kind === "reserved",
    });
  }
  const slots: InspectSlotEntry[] = [];
  for (let s = 0; s < pcpu.nrSlots; s++) {
    const cs = pcpu.chunksInSlot(s) as PcpuChunk[];
    if (cs.length === 0) continue;
    const name =
      s === pcpu.sidelinedSlot
        ? "sidelined"
        : s === pcpu.toDepopulateSlot
          ? "to_depopulate"
          : s === pcpu.freeSlot
            ? "free"
            : null;
    slots.push({
      slot: s,
      name,
      chunks: cs.map((c) => ({ id: c.id, freeBytes: c.freeBytes, contigBytes: pcpu.area.contigBytes(c) })),
    });
  }
  return {
    id: chunk.id,
    title: entry.title,
    kind: entry.kind,
    baseAddr: k.formatAddr(chunk.baseAddr),
    slot: entry.slot,
    nrPages: chunk.nrPages,
    startOffset: chunk.startOffset,
    endOffset: chunk.endOffset,
    freeBytes: chunk.freeBytes,
    contigBytes: ms.contigBytes,
    nrAlloc: chunk.nrAlloc,
    maxAllocSize: chunk.maxAllocSize,
    nrPopulated: chunk.nrPopulated,
    nrEmptyPopPages: chunk.nrEmptyPopPages,
    isolated: chunk.isolated,
    immutable: chunk.immutable,
    sumFrag: ms.sumFrag,
    maxFrag: ms.maxFrag,
    populatedPages: ranges((i) => pcpuPageIsPopulated(chunk, i), chunk.nrPages),
    allocator: area instanceof PcpuAreaMap ? "area-map" : "bitmap",
    bytesPerChar,
    blocks,
    areas,
    allocations,
    callSitesTracked: tracker !== null,
    chunks: entries.map((e) => ({ id: (e.chunk as PcpuChunk).id, title: e.title, slot: e.slot })),
    slots,
  };
}

/** The inspection as text. */
export function inspectText(c: ChunkInspection): string {
  const kv = (k: string, v: string | number | boolean) => `  ${k.padEnd(18)} ${v}\n`;
  let s = `chunk ${c.id}  ${c.title}\n`;
  s += kv("base_addr", c.baseAddr);
  s += kv("slot", c.slot === null ? "(reserved: on no list)" : c.slot);
  s += kv("nr_pages", c.nrPages);
  s += kv("start/end_offset", `${c.startOffset} / ${c.endOffset}`);
  s += kv("free_bytes", c.freeBytes);
  s += kv("contig_bytes", c.contigBytes);
  s += kv("nr_alloc", c.nrAlloc);
  s += kv("max_alloc_size", c.maxAllocSize);
  s += kv("nr_populated", `${c.nrPopulated} (pages ${c.populatedPages || "none"})`);
  s += kv("nr_empty_pop_pages", c.nrEmptyPopPages);
  s += kv("isolated/immutable", `${c.isolated} / ${c.immutable}`);
  s += kv("sum_frag/max_frag", `${c.sumFrag} / ${c.maxFrag}`);
  if (c.allocator === "bitmap") {
    s += `\nallocation map (bitmap allocator): one row per block (${c.bytesPerChar * 64} bytes), one character per ${c.bytesPerChar} bytes: . free  # allocated  + partly\n`;
    s +=
      "hints in bits of PCPU_MIN_ALLOC_SIZE (4 bytes): contig@start scan@start left right first; P = page populated\n";
    const w = String(c.blocks.length - 1).length;
    for (const b of c.blocks) {
      s += `${String(b.block).padStart(w)} ${b.populated ? "P" : " "} ${b.map}  ${`${b.contigHint}@${b.contigHintStart}`.padStart(9)} ${`${b.scanHint}@${b.scanHintStart}`.padStart(9)} ${String(b.leftFree).padStart(4)} ${String(b.rightFree).padStart(4)} ${String(b.firstFree).padStart(4)}\n`;
    }
  } else {
    s += "\narea map (2014 allocator): offset size state\n";
    for (const a of c.areas)
      s += `  ${String(a.off).padStart(8)} ${String(a.size).padStart(8)} ${a.inUse ? "in use" : "free"}\n`;
  }
  s += `\nlive allocations (${c.allocations.length})${c.callSitesTracked ? "" : " (call sites not tracked)"}:\n`;
  if (c.allocations.length > 0) {
    s += `  ${"offset".padStart(8)} ${"size".padStart(7)}  ${"ptr".padEnd(c.allocations[0]!.ptr.length)}  call site\n`;
    for (const a of c.allocations)
      s += `  ${String(a.off).padStart(8)} ${String(a.size).padStart(7)}  ${a.ptr}  ${a.callSite ?? "?"}\n`;
  }
  s += "\nslot lists (pcpu_chunk_lists): slot: chunk(free bytes/contig bytes)\n";
  for (const sl of c.slots)
    s += `  ${String(sl.slot).padStart(2)}${sl.name === null ? "" : ` (${sl.name})`}: ${sl.chunks.map((x) => `${x.id}(${x.freeBytes}/${x.contigBytes})`).join(" ")}\n`;
  s += `\nchunks: ${c.chunks.map((x) => `${x.id}${x.id === c.id ? "*" : ""}`).join(" ")}  (--chunk N)\n`;
  return s;
}
