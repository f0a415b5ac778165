/*
 * Physical memory: the bytes behind every page frame, spent only on frames
 * that are written. Mirrors the idea of SPARSEMEM (mm/sparse.c): the pfn
 * space may be huge and full of holes, and backing is looked up per pfn.
 *
 * Backing is carved from slabs of `slabPages` frames. A slab is an
 * ArrayBuffer, or a SharedArrayBuffer when the machine asks for shared
 * memory (so worker threads could later act as CPUs on the same memory;
 * not the default because V8 runs TypedArray fill/set on shared memory
 * several times slower). A pfn is "resident" once
 * written; a never-written frame reads as zeroes from a shared zero page and
 * costs nothing. Zeroing a whole frame (e.g. __GFP_ZERO) returns it to the
 * slab pool. `gen` changes (and the listener is told) whenever a pfn gains
 * or loses its backing, so the caches in memory.ts know when to refill.
 *
 * Copying a whole page (`copyPage`, what memcpy of page-aligned pages comes
 * down to) shares the source's frame instead of its bytes: the frame
 * counts its pfns, and the first write through any of them gives that pfn a
 * private copy (`materialize`). So the static percpu image copied into 4096
 * units costs one frame per page until a unit writes it. Nothing above this
 * file can tell: every store reaches a frame through `materialize`, and the
 * caches in memory.ts hold only frames that are private (`isShared`).
 */

import type { NodeConfig, Pfn, PhysAddr } from "./api.js";
import { KernelBug } from "./bug.js";
import type { TranslationListener } from "./pgtable.js";

/** Pfns per leaf of the sparse pfn -> frame map. */
const LEAF_SHIFT = 10;
const LEAF_SIZE = 1 << LEAF_SHIFT;
/** Host bytes per backing slab (frames are carved from slabs this big). */
const SLAB_BYTES = 1 << 18;

/** Whether the host can back memory with SharedArrayBuffer. */
export function sharedMemoryAvailable(): boolean {
  return typeof SharedArrayBuffer === "function";
}

/** Physical memory of one machine: which pfns exist, and their bytes. */
export class PhysMemory {
  readonly pageSize: number;
  readonly pageShift: number;
  /** Frames per backing slab (a power of two: 2^slabShift). */
  readonly slabPages: number;
  readonly slabShift: number;
  /** Changes whenever any pfn gains or loses its backing frame. */
  gen = 0;
  /** Backing slabs; frame f lives in slab f / slabPages. */
  readonly slabs: Uint8Array[] = [];
  /** DataViews over the slabs, same indices. */
  readonly views: DataView[] = [];
  private readonly leaves = new Map<number, Int32Array>();
  private freeFrames = new Int32Array(64);
  private nFreeFrames = 0;
  /** How many pfns each frame backs (more than one: copy on write). */
  private frameRefs = new Int32Array(64);
  private nFrames = 0;
  private resident = 0;
  private listener: TranslationListener | null = null;
  /** The page every never-written frame reads from. */
  readonly zeroPage: Uint8Array;
  readonly zeroView: DataView;
  /** Node ranges in pfns, sorted by start. */
  private readonly nodeStartPfn: Float64Array;
  private readonly nodeEndPfn: Float64Array;
  private readonly nodeIds: Int32Array;

  constructor(
    pageShift: number,
    nodes: readonly NodeConfig[],
    readonly littleEndian: boolean,
    /** Slabs are SharedArrayBuffers. */
    readonly shared = false,
    /** copyPage shares frames (false: copies the bytes at once). */
    readonly copyOnWrite = true,
  ) {
    if (shared && !sharedMemoryAvailable())
      throw new RangeError("sharedMemory: this host has no SharedArrayBuffer");
    this.pageShift = pageShift;
    this.pageSize = 2 ** pageShift;
    this.slabPages = Math.max(1, SLAB_BYTES / this.pageSize);
    this.slabShift = Math.log2(this.slabPages);
    this.zeroPage = new Uint8Array(this.pageSize);
    this.zeroView = new DataView(this.zeroPage.buffer);
    const order = nodes.map((_, i) => i).sort((a, b) => nodes[a]!.start - nodes[b]!.start);
    this.nodeStartPfn = new Float64Array(order.length);
    this.nodeEndPfn = new Float64Array(order.length);
    this.nodeIds = new Int32Array(order.length);
    order.forEach((nid, k) => {
      this.nodeStartPfn[k] = nodes[nid]!.start / this.pageSize;
      this.nodeEndPfn[k] = (nodes[nid]!.start + nodes[nid]!.size) / this.pageSize;
      this.nodeIds[k] = nid;
    });
  }

  /** Registers the one listener told when a pfn gains or loses its backing. */
  setListener(l: TranslationListener | null): void {
    this.listener = l;
  }

  /**
   * The node `pfn` belongs to, or -1 for a hole.
   * @kernel include/linux/mm.h pfn_to_nid
   */
  pfnToNid(pfn: Pfn): number {
    const s = this.nodeStartPfn;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid]! <= pfn) lo = mid + 1;
      else hi = mid;
    }
    const k = lo - 1;
    return k >= 0 && pfn < this.nodeEndPfn[k]! ? this.nodeIds[k]! : -1;
  }

  /**
   * Whether `pfn` is memory (inside some node).
   * @kernel include/linux/mmzone.h pfn_valid
   */
  pfnValid(pfn: Pfn): boolean {
    return Number.isInteger(pfn) && pfn >= 0 && this.pfnToNid(pfn) >= 0;
  }

  /** Whether physical address `phys` is memory. */
  isPresent(phys: PhysAddr): boolean {
    return phys >= 0 && this.pfnValid(Math.floor(phys / this.pageSize));
  }

  /** Frames currently holding bytes, each counted once however many pfns share it (host memory spent: residentFrames() * pageSize). */
  residentFrames(): number {
    return this.resident;
  }

  /** Host bytes reserved for backing (all slabs). */
  backingBytes(): number {
    return this.slabs.length * this.slabPages * this.pageSize;
  }

  /** The frame backing `pfn`, or -1 if it has none (reads as zeroes). */
  frameOf(pfn: Pfn): number {
    const leaf = this.leaves.get(Math.floor(pfn / LEAF_SIZE));
    if (leaf === undefined) return -1;
    return leaf[pfn % LEAF_SIZE]! - 1;
  }

  /** The slab byte array holding frame `frame`. */
  slabOf(frame: number): Uint8Array {
    return this.slabs[frame >>> this.slabShift]!;
  }

  /** The DataView over the slab holding frame `frame`. */
  viewOf(frame: number): DataView {
    return this.views[frame >>> this.slabShift]!;
  }

  /** Byte offset of frame `frame` inside its slab. */
  offsetOf(frame: number): number {
    return (frame & (this.slabPages - 1)) * this.pageSize;
  }

  /** Whether frame `frame` backs more than one pfn (a store must copy it first). */
  isShared(frame: number): boolean {
    return this.frameRefs[frame]! > 1;
  }

  /** A frame from the free pool or a new slab, with one reference. */
  private newFrame(): number {
    let frame: number;
    if (this.nFreeFrames > 0) {
      frame = this.freeFrames[--this.nFreeFrames]!;
    } else {
      if (this.nFrames === this.slabs.length * this.slabPages) {
        const bytes = this.slabPages * this.pageSize;
        const buf = this.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
        this.slabs.push(new Uint8Array(buf));
        this.views.push(new DataView(buf));
      }
      frame = this.nFrames++;
      if (frame === this.frameRefs.length) {
        const r = new Int32Array(this.frameRefs.length * 2);
        r.set(this.frameRefs);
        this.frameRefs = r;
      }
    }
    this.frameRefs[frame] = 1;
    this.resident++;
    return frame;
  }

  /** The leaf slot array of `pfn`, created on demand. */
  private leafOf(pfn: Pfn): Int32Array {
    const key = Math.floor(pfn / LEAF_SIZE);
    let leaf = this.leaves.get(key);
    if (leaf === undefined) {
      leaf = new Int32Array(LEAF_SIZE);
      this.leaves.set(key, leaf);
    }
    return leaf;
  }

  /** Drops one reference to `frame`; the last one zeroes it and returns it to the pool. */
  private putFrame(frame: number): void {
    if (--this.frameRefs[frame]! > 0) return;
    this.slabOf(frame).fill(0, this.offsetOf(frame), this.offsetOf(frame) + this.pageSize);
    if (this.nFreeFrames === this.freeFrames.length) {
      const f = new Int32Array(this.freeFrames.length * 2);
      f.set(this.freeFrames);
      this.freeFrames = f;
    }
    this.freeFrames[this.nFreeFrames++] = frame;
    this.resident--;
  }

  private changed(): void {
    this.gen++;
    this.listener?.translationsChanged();
  }

  /**
   * The frame backing `pfn`, ready to be written: one (zero-filled) is given
   * if it has none, and a frame shared with other pfns is copied first
   * (copy on write).
   */
  materialize(pfn: Pfn): number {
    const leaf = this.leafOf(pfn);
    const idx = pfn % LEAF_SIZE;
    const cur = leaf[idx]! - 1;
    if (cur >= 0 && this.frameRefs[cur] === 1) return cur;
    const frame = this.newFrame();
    if (cur >= 0) {
      const src = this.offsetOf(cur);
      this.slabOf(frame).set(this.slabOf(cur).subarray(src, src + this.pageSize), this.offsetOf(frame));
      this.putFrame(cur);
    }
    leaf[idx] = frame + 1;
    this.changed();
    return frame;
  }

  /**
   * Gives `dstPfn` the bytes of `srcPfn` (a whole-page copy) by sharing the
   * source's frame; either pfn's next store copies it. A source with no
   * backing leaves the destination with none (it reads as zeroes).
   */
  copyPage(dstPfn: Pfn, srcPfn: Pfn): void {
    if (dstPfn === srcPfn) return;
    const sf = this.frameOf(srcPfn);
    this.release(dstPfn);
    if (sf < 0) return;
    if (!this.copyOnWrite) {
      const df = this.materialize(dstPfn);
      const src = this.offsetOf(sf);
      this.slabOf(df).set(this.slabOf(sf).subarray(src, src + this.pageSize), this.offsetOf(df));
      return;
    }
    this.frameRefs[sf]!++;
    this.leafOf(dstPfn)[dstPfn % LEAF_SIZE] = sf + 1;
    this.changed();
  }

  /** Drops the backing of `pfn` (its bytes read as zero afterwards). */
  release(pfn: Pfn): void {
    const leaf = this.leaves.get(Math.floor(pfn / LEAF_SIZE));
    if (leaf === undefined) return;
    const idx = pfn % LEAF_SIZE;
    const cur = leaf[idx]!;
    if (cur === 0) return;
    leaf[idx] = 0;
    this.putFrame(cur - 1);
    this.changed();
  }

  /** Zeroes `count` frames from `pfn` (clear_page): they lose their backing. */
  zeroPages(pfn: Pfn, count: number): void {
    for (let i = 0; i < count; i++) this.release(pfn + i);
  }

  private check(phys: PhysAddr, len: number): void {
    if (!(phys >= 0) || !Number.isInteger(phys) || !this.isPresent(phys) || !this.isPresent(phys + len - 1))
      throw new KernelBug(`BUG: physical access to non-existent memory at 0x${phys.toString(16)}`);
  }

  /** Calls fn(frame or -1, offset in page, length) for each page piece of [phys, phys+len). */
  private pieces(
    phys: PhysAddr,
    len: number,
    write: boolean,
    fn: (f: number, off: number, n: number, done: number) => void,
  ): void {
    let done = 0;
    while (done < len) {
      const p = phys + done;
      const pfn = Math.floor(p / this.pageSize);
      const off = p - pfn * this.pageSize;
      const n = Math.min(len - done, this.pageSize - off);
      if (!this.pfnValid(pfn))
        throw new KernelBug(`BUG: physical access to non-existent memory at 0x${p.toString(16)}`);
      fn(write ? this.materialize(pfn) : this.frameOf(pfn), off, n, done);
      done += n;
    }
  }

  /** Copies `src` to physical `phys` (may cross pages). */
  physCopyIn(phys: PhysAddr, src: Uint8Array): void {
    this.check(phys, Math.max(1, src.length));
    this.pieces(phys, src.length, true, (f, off, n, done) => {
      this.slabOf(f).set(src.subarray(done, done + n), this.offsetOf(f) + off);
    });
  }

  /** Copies `len` bytes out of physical `phys`. */
  physCopyOut(phys: PhysAddr, len: number): Uint8Array {
    this.check(phys, Math.max(1, len));
    const out = new Uint8Array(len);
    this.pieces(phys, len, false, (f, off, n, done) => {
      if (f >= 0) out.set(this.slabOf(f).subarray(this.offsetOf(f) + off, this.offsetOf(f) + off + n), done);
    });
    return out;
  }

  /** Fills `len` bytes at physical `phys` with `byte`; zero-filling an unbacked page costs nothing. */
  physMemset(phys: PhysAddr, byte: number, len: number): void {
    this.check(phys, Math.max(1, len));
    const b = byte & 0xff;
    let done = 0;
    while (done < len) {
      const p = phys + done;
      const pfn = Math.floor(p / this.pageSize);
      const off = p - pfn * this.pageSize;
      const n = Math.min(len - done, this.pageSize - off);
      if (b === 0 && n === this.pageSize) this.release(pfn);
      else if (b !== 0 || this.frameOf(pfn) >= 0) {
        const f = this.materialize(pfn);
        const base = this.offsetOf(f) + off;
        this.slabOf(f).fill(b, base, base + n);
      }
      done += n;
    }
  }

  /** Reads one byte of physical memory. */
  physRead8(phys: PhysAddr): number {
    return this.physCopyOut(phys, 1)[0]!;
  }

  /** Writes one byte of physical memory. */
  physWrite8(phys: PhysAddr, v: number): void {
    this.physMemset(phys, v, 1);
  }

  /** Reads an unsigned 32-bit value (machine byte order; may cross pages). */
  physRead32(phys: PhysAddr): number {
    const b = this.physCopyOut(phys, 4);
    return new DataView(b.buffer).getUint32(0, this.littleEndian);
  }

  /** Writes a 32-bit value (machine byte order). */
  physWrite32(phys: PhysAddr, v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, this.littleEndian);
    this.physCopyIn(phys, b);
  }

  /** Reads an unsigned 64-bit value (machine byte order). */
  physRead64(phys: PhysAddr): bigint {
    const b = this.physCopyOut(phys, 8);
    return new DataView(b.buffer).getBigUint64(0, this.littleEndian);
  }

  /** Writes a 64-bit value (machine byte order). */
  physWrite64(phys: PhysAddr, v: bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), this.littleEndian);
    this.physCopyIn(phys, b);
  }
}
