/*
 * Memory allocation profiling for percpu memory (CONFIG_MEM_ALLOC_PROFILING,
 * 6.10+): lib/alloc_tag.c, include/linux/alloc_tag.h, lib/codetag.c and the
 * two hooks of mm/percpu.c.
 *
 * Every allocation macro expands `alloc_hooks()`, which puts a static
 * `struct alloc_tag` (a codetag: file, line, module, function) at the call
 * site and sets current->alloc_tag around the `_noprof` call. pcpu_alloc
 * then records the tag in the chunk's obj_exts slot of the object
 * (`off >> PCPU_MIN_ALLOC_SHIFT`) and adds the object's size (one unit's
 * bytes, not times the CPUs) and one call to it; free_percpu subtracts them
 * again. Only chunks with obj_exts take part: the first chunk and the
 * reserved chunk are built from memblock without them, so what they serve
 * (boot-time allocations, module static percpu) is never counted.
 *
 *   /proc/allocinfo:
 *   allocinfo - version: 1.0
 *   #     <size>  <calls> <tag info>
 *             16        1 include/linux/bpf.h:2256 func:bpf_map_alloc_percpu
 *   (%12lli %8llu, then file:line [module] func:name, a space, newline)
 *
 * The model keeps the tags of one kernel in a PcpuAllocTags (no module
 * state) and each chunk's tag slots in a typed side table keyed by chunk,
 * so chunk records stay as they are.
 */

import type { PcpuChunk } from "./chunk.js";
import type { Percpu } from "./percpu.js";

/** A call site as `alloc_hooks()` records it (`struct codetag`). */
export interface PcpuCodetag {
  /** Source file, relative to the tree (`include/linux/bpf.h`). */
  readonly filename: string;
  readonly lineno: number;
  /** `__func__` where the allocation macro expands. */
  readonly function: string;
  /** `KBUILD_MODNAME` for a module's tag; absent for the kernel's own. */
  readonly modname?: string;
}

/** `struct alloc_tag`: a codetag and its counters. */
export class PcpuAllocTag {
  /** `alloc_tag_counters.bytes`: bytes live from this site (per unit for percpu). */
  bytes = 0;
  /** `alloc_tag_counters.calls`: live allocations from this site. */
  calls = 0;
  constructor(
    readonly ct: PcpuCodetag,
    /** Position in the section (1-based; what an obj_exts slot stores). */
    readonly index: number,
  ) {}
}

function tagKey(ct: PcpuCodetag): string {
  return `${ct.filename}:${ct.lineno}:${ct.function}:${ct.modname ?? ""}`;
}

function checkCodetag(ct: PcpuCodetag): void {
  if (ct === null || typeof ct !== "object") throw new TypeError("alloc tag: a codetag object is required");
  if (typeof ct.filename !== "string" || ct.filename === "" || /\s/.test(ct.filename))
    throw new TypeError(
      `alloc tag: filename must be a path without spaces, got ${JSON.stringify(ct.filename)}`,
    );
  if (!Number.isInteger(ct.lineno) || ct.lineno < 1 || ct.lineno > 0xffffffff)
    throw new TypeError(`alloc tag: lineno must be a positive u32, got ${ct.lineno}`);
  if (typeof ct.function !== "string" || !/^[A-Za-z_][A-Za-z0-9_.]*$/.test(ct.function))
    throw new TypeError(`alloc tag: function must be a C identifier, got ${JSON.stringify(ct.function)}`);
  if (ct.modname !== undefined && (typeof ct.modname !== "string" || !/^[A-Za-z0-9_-]+$/.test(ct.modname)))
    throw new TypeError(`alloc tag: modname must be a module name, got ${JSON.stringify(ct.modname)}`);
}

/**
 * The tags of one kernel (the codetag type "alloc_tags" with its kernel
 * and module sections) and the obj_exts tag slots of its chunks.
 */
export class PcpuAllocTags {
  private readonly byKey = new Map<string, PcpuAllocTag>();
  /** Callers pass the same static codetag object each time: found without building a key. */
  private readonly byObject = new WeakMap<PcpuCodetag, PcpuAllocTag>();
  /** Tags in section order (what /proc/allocinfo iterates). */
  readonly tags: PcpuAllocTag[] = [];
  /** `chunk->obj_exts[i].tag` per chunk: tag index + 1, 0 for none. */
  private readonly slots = new WeakMap<PcpuChunk, Int32Array>();

  /**
   * The tag of a call site, created on first sight (a kernel has every
   * tag from link time; the model registers them as call sites appear,
   * and `register` lets a build declare them up front).
   * @throws TypeError for a malformed codetag
   */
  tagFor(ct: PcpuCodetag): PcpuAllocTag {
    const known = this.byObject.get(ct);
    if (known !== undefined) return known;
    checkCodetag(ct);
    const key = tagKey(ct);
    let tag = this.byKey.get(key);
    if (tag === undefined) {
      tag = new PcpuAllocTag({ ...ct }, this.tags.length + 1);
      this.byKey.set(key, tag);
      this.tags.push(tag);
    }
    this.byObject.set(ct, tag);
    return tag;
  }

  /** Declare call sites (so they list as `0 0` before their first allocation). */
  register(sites: Iterable<PcpuCodetag>): void {
    for (const ct of sites) this.tagFor(ct);
  }

  /** The tag slot array of `chunk` (`chunk->obj_exts`), made on first use. */
  objExts(chunk: PcpuChunk, unitSize: number): Int32Array {
    let s = this.slots.get(chunk);
    if (s === undefined) {
      s = new Int32Array(unitSize >>> 2);
      this.slots.set(chunk, s);
    }
    return s;
  }

  /** The tag recorded for the object at `off` of `chunk`, or null. */
  tagAt(chunk: PcpuChunk, off: number): PcpuAllocTag | null {
    const s = this.slots.get(chunk);
    if (s === undefined) return null;
    const idx = s[off >>> 2]!;
    return idx === 0 ? null : this.tags[idx - 1]!;
  }

  /** @internal clear a slot, returning the tag it held. */
  takeAt(chunk: PcpuChunk, off: number): PcpuAllocTag | null {
    const s = this.slots.get(chunk);
    if (s === undefined) return null;
    const idx = s[off >>> 2]!;
    if (idx === 0) return null;
    s[off >>> 2] = 0;
    return this.tags[idx - 1]!;
  }
}

/** Whether `chunk` has obj_exts: every chunk but the two built at boot from memblock. */
function chunkHasObjExts(pcpu: Percpu, chunk: PcpuChunk): boolean {
  return chunk !== pcpu.firstChunk && chunk !== pcpu.reservedChunk;
}

/**
 * `pcpu_alloc_tag_alloc_hook(chunk, off, size)`: record `current->alloc_tag`
 * (`tag`) in the object's obj_exts slot and add `size` bytes and one call.
 * Nothing when profiling is off, the chunk has no obj_exts or no tag is set.
 * @kernel mm/percpu.c pcpu_alloc_tag_alloc_hook
 * @context after pcpu_alloc found and cleared the area; no lock needed in the model.
 */
export function pcpuAllocTagAllocHook(
  pcpu: Percpu,
  chunk: PcpuChunk,
  off: number,
  size: number,
  tag: PcpuCodetag | undefined,
): void {
  const tags = pcpu.allocTags;
  if (tags === null || tag === undefined || !chunkHasObjExts(pcpu, chunk)) return;
  const t = tags.tagFor(tag);
  tags.objExts(chunk, pcpu.unitSize)[off >>> 2] = t.index;
  /* alloc_tag_add(): this_cpu_add(bytes), this_cpu_inc(calls) */
  t.bytes += size;
  t.calls++;
}

/**
 * `pcpu_alloc_tag_free_hook(chunk, off, size)`: take the tag recorded for
 * the object and subtract `size` bytes and one call.
 * @kernel mm/percpu.c pcpu_alloc_tag_free_hook
 * @context pcpu_lock held (free_percpu).
 */
export function pcpuAllocTagFreeHook(pcpu: Percpu, chunk: PcpuChunk, off: number, size: number): void {
  const tags = pcpu.allocTags;
  if (tags === null || !chunkHasObjExts(pcpu, chunk)) return;
  const t = tags.takeAt(chunk, off);
  if (t === null) return;
  /* alloc_tag_sub() */
  t.bytes -= size;
  t.calls--;
}

/**
 * `codetag_to_text()`: `file:line func:name`, or `file:line [module]
 * func:name` for a module's tag.
 * @kernel lib/codetag.c codetag_to_text
 */
export function codetagToText(ct: PcpuCodetag): string {
  return ct.modname !== undefined
    ? `${ct.filename}:${ct.lineno} [${ct.modname}] func:${ct.function}`
    : `${ct.filename}:${ct.lineno} func:${ct.function}`;
}

/**
 * `/proc/allocinfo` as allocinfo_show() prints it: the version header,
 * then per tag `%12lli %8llu ` + codetag_to_text() + `' '` + newline.
 * @kernel lib/alloc_tag.c allocinfo_show
 * @param tags - the tags, in section order
 * @returns the file text
 */
export function procAllocinfo(tags: readonly PcpuAllocTag[]): string {
  let s = "allocinfo - version: 1.0\n#     <size>  <calls> <tag info>\n";
  for (const t of tags) {
    s += `${String(t.bytes).padStart(12)} ${String(t.calls).padStart(8)} ${codetagToText(t.ct)} \n`;
  }
  return s;
}
