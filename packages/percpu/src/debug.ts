/*
 * The debug mode: a record of live allocations and a checker for every hard
 * invariant of spec section 12.1, run after each public operation when a
 * kernel is built with `debugChecks`. It reports the first violation with
 * the chunk, the field and the expected and actual values.
 *
 * It has no kernel counterpart (CONFIG_DEBUG_VM-style checks at most); it
 * exists because a model is only as good as what proves it.
 */

import { type LiveArea, PCPU_MIN_ALLOC_SHIFT, type PcpuPtr } from "./api.js";
import { bitmapWeight } from "./bitmap.js";
import type { PcpuChunk } from "./chunk.js";
import { pcpuPageIsPopulated } from "./chunk.js";
import type { Percpu } from "./percpu.js";

/** An invariant violation found by the debug checker. */
export class PcpuInvariantError extends Error {
  constructor(
    readonly where: string,
    readonly violation: string,
  ) {
    super(`percpu invariant violated after ${where}: ${violation}`);
    this.name = "PcpuInvariantError";
  }
}

/** A this_cpu access through a pointer that is not a live allocation. */
export class PcpuUseAfterFreeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PcpuUseAfterFreeError";
  }
}

export class PcpuDebug {
  /** Live allocations per chunk: offset -> size (bytes). */
  readonly live = new Map<PcpuChunk, Map<number, number>>();
  /** Number of checks run (for reports). */
  checks = 0;
  /**
   * Chunks whose allocator metadata changed since the last check: only they
   * get the full (map-wide) check; every chunk gets the cheap ones, and
   * every `fullEvery`-th check covers all chunks, so corruption of an
   * untouched chunk is still caught.
   */
  readonly dirty = new Set<PcpuChunk>();
  fullEvery = 64;

  /** Note that a chunk's metadata changed (alloc, free, populate). */
  touch(chunk: PcpuChunk): void {
    this.dirty.add(chunk);
  }

  remember(chunk: PcpuChunk, off: number, size: number): void {
    this.dirty.add(chunk);
    let m = this.live.get(chunk);
    if (m === undefined) {
      m = new Map();
      this.live.set(chunk, m);
    }
    m.set(off, size);
  }

  forget(chunk: PcpuChunk, off: number): void {
    this.dirty.add(chunk);
    const m = this.live.get(chunk);
    if (m === undefined) return;
    m.delete(off);
    if (m.size === 0) this.live.delete(chunk);
  }

  /** Number of live allocations recorded. */
  liveCount(): number {
    let n = 0;
    for (const m of this.live.values()) n += m.size;
    return n;
  }

  /** The live areas of a chunk, sorted by offset. */
  liveAreas(chunk: PcpuChunk): LiveArea[] {
    const m = this.live.get(chunk);
    if (m === undefined) return [];
    const out: LiveArea[] = [];
    for (const [off, size] of m) out.push({ off, size });
    out.sort((a, b) => a.off - b.off);
    return out;
  }

  /**
   * Report a this_cpu access of `width` bytes at `ptr` that does not lie
   * inside a live dynamic allocation or the static/reserved areas.
   */
  checkAccess(pcpu: Percpu, ptr: PcpuPtr, width: number, op: string): void {
    const addr = pcpu.archHooks().pcpuPtrToAddr(ptr);
    /* The kernel's static percpu area is always valid. */
    if (addr >= pcpu.baseAddr && addr + width <= pcpu.baseAddr + pcpu.section.staticSize) return;
    for (const [chunk, m] of this.live) {
      const off = addr - chunk.baseAddr;
      if (off < 0 || off >= chunk.nrPages * pcpu.constants.PAGE_SIZE) continue;
      for (const [s, size] of m) if (off >= s && off + width <= s + size) return;
    }
    const p = pcpu.archHooks().formatAddr(ptr);
    pcpu.machine.log.warn(
      `mm/percpu.c ${op}`,
      `percpu: ${op} through ${p}, which is not a live percpu allocation`,
    );
    throw new PcpuUseAfterFreeError(`${op}: ${p} is not a live percpu allocation (use after free_percpu?)`);
  }

  /** Run every check; throw PcpuInvariantError on the first violation. */
  checkOrThrow(pcpu: Percpu, where: string): void {
    const full = this.checks % this.fullEvery === 0;
    const v = checkPercpuInvariants(pcpu, full ? null : this.dirty);
    this.dirty.clear();
    this.checks++;
    if (v !== null) throw new PcpuInvariantError(where, v);
  }
}

/**
 * Check the hard invariants of spec 12.1 over every chunk. With `only`,
 * the map-wide checks (allocator metadata, live areas populated) run just
 * for those chunks; the counters, empty pages and slot placement are
 * checked for all.
 * @returns the first violation as text, or null.
 */
export function checkPercpuInvariants(
  pcpu: Percpu,
  only: ReadonlySet<PcpuChunk> | null = null,
): string | null {
  const debug = pcpu.debug;
  /* The live allocations are the checker's reference: without them every allocation would look like a leak. */
  if (debug === null) throw new Error("percpu: the invariant checker needs a kernel built with debugChecks");
  const k = pcpu.constants;
  const chunks: PcpuChunk[] = pcpu.allChunks();
  if (pcpu.reservedChunk !== null) chunks.push(pcpu.reservedChunk);

  let emptySum = 0;
  let populatedSum = 0;
  for (const chunk of chunks) {
    const tag = `chunk ${chunk.id}`;
    const isRecord = chunk === pcpu.firstChunk || chunk === pcpu.reservedChunk;
    const deep = only === null || only.has(chunk);
    const live = debug !== null && deep ? debug.liveAreas(chunk) : [];

    /* 4. populated accounting (km counts its whole block, see accountedPages) */
    const weight = bitmapWeight(chunk.populated, chunk.nrPages);
    const accounted =
      pcpu.backend.accountedPages !== undefined && !isRecord ? pcpu.backend.accountedPages(chunk) : weight;

    if (deep) {
      const areaViolation = pcpu.area.checkChunk(chunk, live, accounted);
      if (areaViolation !== null) return `${tag}: ${areaViolation}`;
    }

    if (chunk.nrPopulated !== accounted)
      return `${tag}: nr_populated ${chunk.nrPopulated} != ${accounted} populated pages`;

    /* 5. every page holding a live allocation is populated; records are immutable and full */
    for (const a of live) {
      const s = Math.floor(a.off / k.PAGE_SIZE);
      const e = Math.ceil((a.off + a.size) / k.PAGE_SIZE);
      for (let i = s; i < e; i++) {
        if (!pcpuPageIsPopulated(chunk, i))
          return `${tag}: page ${i} holds allocation @${a.off}+${a.size} but is not populated`;
      }
    }
    /* memcg: an obj_exts slot is set only at the start of a live allocation (no charge outlives its area) */
    if (deep && chunk.objExts !== null) {
      const starts = new Set<number>();
      for (const a of live) starts.add(a.off >>> PCPU_MIN_ALLOC_SHIFT);
      const exts = chunk.objExts;
      for (let i = 0; i < exts.length; i++)
        if (exts[i] !== 0 && !starts.has(i))
          return `${tag}: obj_exts[${i}] holds obj_cgroup ${exts[i]} but no live allocation starts at ${i << PCPU_MIN_ALLOC_SHIFT}`;
    }
    if (isRecord && chunk.objExts !== null) return `${tag}: a first-chunk record has an obj_exts array`;
    if (isRecord && (!chunk.immutable || weight !== chunk.nrPages))
      return `${tag}: first-chunk record not immutable and fully populated`;
    if (isRecord && chunk.isolated) return `${tag}: first-chunk record is isolated`;

    /* 7. empty populated pages */
    let empty = 0;
    for (let i = 0; i < chunk.nrPages; i++)
      if (pcpuPageIsPopulated(chunk, i) && pcpu.area.pageIsEmpty(chunk, i)) empty++;
    const emptyAccounted = accounted - weight + empty;
    /* the 4.14 recount goes stale between chunk refreshes: not an invariant there */
    if (!pcpu.area.recountsEmptyPages && chunk.nrEmptyPopPages !== emptyAccounted) {
      return `${tag}: nr_empty_pop_pages ${chunk.nrEmptyPopPages} != ${emptyAccounted} (populated pages with nothing allocated)`;
    }

    if (chunk !== pcpu.reservedChunk && !chunk.isolated) emptySum += chunk.nrEmptyPopPages;
    if (!isRecord) populatedSum += chunk.nrPopulated;

    /* 13. slot placement */
    if (chunk === pcpu.reservedChunk) {
      if (chunk.slot !== -1) return `${tag}: the reserved chunk is on slot list ${chunk.slot}`;
    } else if (chunk.isolated) {
      if (chunk.slot !== pcpu.toDepopulateSlot && chunk.slot !== pcpu.sidelinedSlot) {
        return `${tag}: isolated chunk on slot ${chunk.slot}, not to_depopulate or sidelined`;
      }
    } else {
      const want = pcpu.area.chunkSlot(chunk);
      const demoted = chunk.slot === 0 && want < 3;
      if (chunk.slot !== want && !demoted)
        return `${tag}: on slot ${chunk.slot}, pcpu_chunk_slot says ${want}`;
    }
  }

  /* Counts destroyed chunks left in the globals (km's over-count). */
  const leak = pcpu.backend.accountedLeak !== undefined ? pcpu.backend.accountedLeak() : null;
  if (leak !== null) {
    emptySum += leak.nrEmptyPopPages;
    populatedSum += leak.nrPopulated;
  }

  /* 11. global empty populated pages */
  if (pcpu.nrEmptyPopPages !== emptySum) {
    return `pcpu_nr_empty_pop_pages ${pcpu.nrEmptyPopPages} != ${emptySum} (sum over non-reserved, non-isolated chunks)`;
  }
  /* 12. global populated pages */
  const ai = pcpu.ai;
  if (ai !== null) {
    const want = Math.floor((ai.staticSize + ai.reservedSize + ai.dynSize) / k.PAGE_SIZE) + populatedSum;
    if (pcpu.nrPopulated !== want) return `pcpu_nr_populated ${pcpu.nrPopulated} != ${want}`;
  }
  /* 16 (partly): live allocations never overlap across chunks is implied per chunk by the allocator check. */
  return null;
}
