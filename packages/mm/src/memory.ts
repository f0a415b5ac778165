/*
 * Loads and stores on kernel virtual addresses: what a CPU does when code
 * dereferences a pointer. Every access goes through the page table (or the
 * direct map) to physical memory; an access to an address with nothing
 * mapped is the kernel's page-fault oops (arch/x86/mm/fault.c
 * page_fault_oops text), thrown as KernelOops.
 *
 * The last translation for reads and for writes is cached: an access inside
 * the cached page costs a range check and one typed-array or DataView
 * operation. Behind it a direct-mapped software TLB of 256 pages saves the
 * page-table walk for scattered accesses (per_cpu_ptr over many units).
 * Both are dropped when the page table removes a translation or a page
 * gains or loses its backing (the listener calls from pgtable.ts and
 * phys-mem.ts). Multi-byte values use the machine's byte order; accesses
 * that cross a page are split.
 */

import type { VirtAddr } from "./api.js";
import { KernelBug } from "./bug.js";
import type { PageTable, TranslationListener } from "./pgtable.js";
import type { PhysMemory } from "./phys-mem.js";
import type { Printk } from "./printk.js";

/**
 * Entries of the software TLB (a power of two, TLB_SHIFT bits of index).
 * The copies of one percpu page in every unit are the pages a percpu
 * allocation touches in a row (pcpu_alloc's memset in each possible CPU's
 * unit): 8192 entries, indexed by a multiplicative hash of the page number,
 * keep those of 4096 units (a stride of unit_size / PAGE_SIZE pages)
 * apart, where indexing by the low bits put all 4096 on 16 entries.
 */
const TLB_SHIFT = 14;
const TLB_SIZE = 1 << TLB_SHIFT;

/** Bytes up to which memset stores byte by byte instead of calling `fill`. */
const SHORT_MEMSET = 16;

/** The TLB entry of virtual page `vpn`: Fibonacci hashing of its low 32 bits (ToInt32). */
function tlbIndex(vpn: number): number {
  return Math.imul(vpn, 0x9e3779b1) >>> (32 - TLB_SHIFT);
}

/** A load or store through an address with nothing mapped (the kernel's oops). */
export class KernelOops extends KernelBug {
  constructor(
    message: string,
    readonly address: number,
    readonly write: boolean,
  ) {
    super(message);
    this.name = "KernelOops";
  }
}

/** Virtual memory access for one machine (`mem`). */
export class KernelMemory implements TranslationListener {
  private readonly pageSize: number;
  /** 1 / pageSize (a power of two, so multiplying is exact). */
  private readonly invPageSize: number;
  private readonly le: boolean;
  private readonly slabShift: number;
  private readonly slabMask: number;
  // Read cache: [rLo, rHi) maps to rBytes/rView at (virt - rDelta).
  private rLo = 1;
  private rHi = 0;
  private rDelta = 0;
  private rBytes: Uint8Array;
  private rView: DataView;
  // Write cache (always a backed frame).
  private wLo = 1;
  private wHi = 0;
  private wDelta = 0;
  private wBytes: Uint8Array;
  private wView: DataView;
  // Software TLB: TLB_SIZE entries, direct-mapped by virtual page number.
  private readonly tlbVpn = new Float64Array(TLB_SIZE).fill(Number.NaN);
  private readonly tlbPfn = new Float64Array(TLB_SIZE);
  private readonly tlbFrame = new Int32Array(TLB_SIZE);
  /* An entry is valid only when its tag equals the current epoch; dropping every entry is one increment. */
  private readonly tlbTag = new Int32Array(TLB_SIZE);
  private tlbEpoch = 1;
  private lastPfn = 0;
  private lastPageVirt = 0;

  constructor(
    private readonly pt: PageTable,
    private readonly phys: PhysMemory,
    private readonly log: Printk,
    private readonly formatAddr: (a: number) => string,
  ) {
    this.pageSize = pt.pageSize;
    this.invPageSize = 1 / pt.pageSize;
    this.le = phys.littleEndian;
    this.slabShift = phys.slabShift;
    this.slabMask = phys.slabPages - 1;
    this.rBytes = phys.zeroPage;
    this.rView = phys.zeroView;
    this.wBytes = phys.zeroPage;
    this.wView = phys.zeroView;
    pt.setListener(this);
    phys.setListener(this);
  }

  /** Forgets the cached translations (called by the page table and physical memory). */
  translationsChanged(): void {
    this.tlbEpoch = (this.tlbEpoch + 1) | 0;
    if (this.tlbEpoch === 0) {
      // wrapped after 2^32 changes: tags of the old epochs could match again
      this.tlbTag.fill(0);
      this.tlbEpoch = 1;
    }
    this.rHi = 0;
    this.rLo = 1;
    this.wHi = 0;
    this.wLo = 1;
  }

  private oops(virt: number, write: boolean): never {
    const a = Number.isFinite(virt) ? this.formatAddr(virt) : String(virt);
    const msg = `BUG: unable to handle page fault for address: ${a}`;
    this.log.prAlert(msg);
    this.log.prAlert(`#PF: supervisor ${write ? "write" : "read"} access in kernel mode`);
    this.log.prAlert(`#PF: error_code(0x000${write ? 2 : 0}) - not-present page`);
    throw new KernelOops(msg, virt, write);
  }

  /**
   * The frame behind the page of `virt` through the software TLB, walking
   * the page table on a miss (oops if unmapped); -1 for a page with no
   * backing yet. Leaves the pfn in `this.lastPfn` and the page's virtual
   * base in `this.lastPageVirt`.
   */
  private tlbLookup(virt: VirtAddr, write: boolean): number {
    const ps = this.pageSize;
    const vpn = Math.floor(virt * this.invPageSize);
    const i = tlbIndex(vpn);
    this.lastPageVirt = vpn * ps;
    if (this.tlbVpn[i] === vpn && this.tlbTag[i] === this.tlbEpoch) {
      this.lastPfn = this.tlbPfn[i]!;
      return this.tlbFrame[i]!;
    }
    const phys = this.pt.translate(virt);
    if (phys < 0) this.oops(virt, write);
    const pfn = Math.floor(phys / ps);
    const frame = this.phys.frameOf(pfn);
    this.tlbVpn[i] = vpn;
    this.tlbTag[i] = this.tlbEpoch;
    this.tlbPfn[i] = pfn;
    this.tlbFrame[i] = frame;
    this.lastPfn = pfn;
    return frame;
  }

  /** Fills the read cache for the page of `virt` (oops if unmapped). */
  private fillRead(virt: VirtAddr): void {
    const frame = this.tlbLookup(virt, false);
    const pageVirt = this.lastPageVirt;
    if (frame < 0) {
      this.rBytes = this.phys.zeroPage;
      this.rView = this.phys.zeroView;
      this.rDelta = pageVirt;
    } else {
      const slab = frame >>> this.slabShift;
      this.rBytes = this.phys.slabs[slab]!;
      this.rView = this.phys.views[slab]!;
      this.rDelta = pageVirt - (frame & this.slabMask) * this.pageSize;
    }
    this.rLo = pageVirt;
    this.rHi = pageVirt + this.pageSize;
  }

  /** Fills the write cache for the page of `virt`, giving the page a frame (oops if unmapped). */
  private fillWrite(virt: VirtAddr): void {
    let frame = this.tlbLookup(virt, true);
    const pageVirt = this.lastPageVirt;
    if (frame < 0 || this.phys.isShared(frame)) {
      // First write to this page, or to a frame other pages share: give it
      // a frame of its own (which empties the caches), then record the new
      // frame in the TLB.
      frame = this.phys.materialize(this.lastPfn);
      this.tlbLookup(virt, true);
    }
    const slab = frame >>> this.slabShift;
    this.wBytes = this.phys.slabs[slab]!;
    this.wView = this.phys.views[slab]!;
    this.wDelta = pageVirt - (frame & this.slabMask) * this.pageSize;
    this.wLo = pageVirt;
    this.wHi = pageVirt + this.pageSize;
  }

  private readOk(virt: number, n: number): boolean {
    return virt >= this.rLo && virt + n <= this.rHi;
  }

  private writeOk(virt: number, n: number): boolean {
    return virt >= this.wLo && virt + n <= this.wHi;
  }

  /** Loads an unsigned byte. */
  read8(virt: VirtAddr): number {
    if (!(virt >= this.rLo && virt < this.rHi)) this.fillRead(virt);
    return this.rBytes[virt - this.rDelta]!;
  }

  /** Loads an unsigned 16-bit value. */
  read16(virt: VirtAddr): number {
    if (virt >= this.rLo && virt + 2 <= this.rHi) return this.rView.getUint16(virt - this.rDelta, this.le);
    return this.readSplit(virt, 2);
  }

  /** Loads an unsigned 32-bit value. */
  read32(virt: VirtAddr): number {
    if (virt >= this.rLo && virt + 4 <= this.rHi) return this.rView.getUint32(virt - this.rDelta, this.le);
    return this.readSplit(virt, 4);
  }

  /** Loads an unsigned 64-bit value. */
  read64(virt: VirtAddr): bigint {
    if (!this.readOk(virt, 8)) {
      const lo = this.readSplit(this.le ? virt : virt + 4, 4);
      const hi = this.readSplit(this.le ? virt + 4 : virt, 4);
      return (BigInt(hi) << 32n) | BigInt(lo);
    }
    return this.rView.getBigUint64(virt - this.rDelta, this.le);
  }

  /** A value of `n` <= 4 bytes that may cross a page, byte by byte. */
  private readSplit(virt: number, n: number): number {
    this.fillRead(virt);
    if (this.readOk(virt, n)) {
      return n === 2
        ? this.rView.getUint16(virt - this.rDelta, this.le)
        : this.rView.getUint32(virt - this.rDelta, this.le);
    }
    let v = 0;
    for (let i = 0; i < n; i++) {
      const b = this.read8(virt + i);
      v += this.le ? b * 2 ** (8 * i) : b * 2 ** (8 * (n - 1 - i));
    }
    return v;
  }

  /** Stores a byte. */
  write8(virt: VirtAddr, value: number): void {
    if (!(virt >= this.wLo && virt < this.wHi)) this.fillWrite(virt);
    this.wBytes[virt - this.wDelta] = value;
  }

  /** Stores a 16-bit value. */
  write16(virt: VirtAddr, value: number): void {
    if (virt >= this.wLo && virt + 2 <= this.wHi) this.wView.setUint16(virt - this.wDelta, value, this.le);
    else this.writeSplit(virt, value & 0xffff, 2);
  }

  /** Stores a 32-bit value. */
  write32(virt: VirtAddr, value: number): void {
    if (virt >= this.wLo && virt + 4 <= this.wHi) this.wView.setUint32(virt - this.wDelta, value, this.le);
    else this.writeSplit(virt, value >>> 0, 4);
  }

  /** Stores a 64-bit value (taken modulo 2^64). */
  write64(virt: VirtAddr, value: bigint): void {
    if (this.writeOk(virt, 8)) {
      this.wView.setBigUint64(virt - this.wDelta, BigInt.asUintN(64, value), this.le);
      return;
    }
    const v = BigInt.asUintN(64, value);
    const lo = Number(v & 0xffffffffn);
    const hi = Number(v >> 32n);
    // Check both halves are mapped before storing anything.
    this.checkMapped(virt, 8, true);
    this.writeSplit(this.le ? virt : virt + 4, lo, 4);
    this.writeSplit(this.le ? virt + 4 : virt, hi, 4);
  }

  private writeSplit(virt: number, v: number, n: number): void {
    this.fillWrite(virt);
    if (this.writeOk(virt, n)) {
      if (n === 2) this.wView.setUint16(virt - this.wDelta, v, this.le);
      else this.wView.setUint32(virt - this.wDelta, v, this.le);
      return;
    }
    this.checkMapped(virt, n, true);
    for (let i = 0; i < n; i++) {
      const shift = this.le ? 8 * i : 8 * (n - 1 - i);
      this.write8(virt + i, Math.floor(v / 2 ** shift) & 0xff);
    }
  }

  /** Oopses at the first unmapped byte of [virt, virt+len), page by page. */
  private checkMapped(virt: number, len: number, write: boolean): void {
    const ps = this.pageSize;
    for (let p = virt; p < virt + len; p = (Math.floor(p / ps) + 1) * ps) {
      if (this.pt.translate(p) < 0) this.oops(p, write);
    }
  }

  /**
   * Fills `len` bytes at `virt` with `byte`. Zero-filling a whole page that
   * has no backing costs nothing. Oopses at the first unmapped page (pages
   * before it are already written, as a real memset leaves them).
   * @kernel lib/string.c memset
   */
  memset(virt: VirtAddr, byte: number, len: number): void {
    const ps = this.pageSize;
    const b = byte & 0xff;
    let done = 0;
    while (done < len) {
      const v = virt + done;
      // Oopses at an unmapped page; a hit costs no page-table walk.
      const frame = this.tlbLookup(v, true);
      const off = v - this.lastPageVirt;
      const n = Math.min(len - done, ps - off);
      if (b === 0 && n === ps) {
        this.phys.release(this.lastPfn);
      } else if (b !== 0 || frame >= 0) {
        const f = frame >= 0 && !this.phys.isShared(frame) ? frame : this.phys.materialize(this.lastPfn);
        const base = this.phys.offsetOf(f) + off;
        const slab = this.phys.slabOf(f);
        /* a short memset (a percpu counter) costs less as stores than as a call of the fill builtin */
        if (n <= SHORT_MEMSET) for (let j = base; j < base + n; j++) slab[j] = b;
        else slab.fill(b, base, base + n);
      }
      done += n;
    }
  }

  /** Copies `src` to `virt` (may cross pages; oopses at the first unmapped page). */
  copyIn(virt: VirtAddr, src: Uint8Array): void {
    const ps = this.pageSize;
    let done = 0;
    while (done < src.length) {
      const v = virt + done;
      const phys = this.pt.translate(v);
      if (phys < 0) this.oops(v, true);
      const pfn = Math.floor(phys / ps);
      const off = phys - pfn * ps;
      const n = Math.min(src.length - done, ps - off);
      const f = this.phys.materialize(pfn);
      this.phys.slabOf(f).set(src.subarray(done, done + n), this.phys.offsetOf(f) + off);
      done += n;
    }
  }

  /** Copies `len` bytes out of `virt` into a new array. */
  copyOut(virt: VirtAddr, len: number): Uint8Array {
    const out = new Uint8Array(len);
    this.copyOutTo(virt, out);
    return out;
  }

  /** Copies `dst.length` bytes out of `virt` into `dst`. */
  copyOutTo(virt: VirtAddr, dst: Uint8Array): void {
    const ps = this.pageSize;
    let done = 0;
    while (done < dst.length) {
      const v = virt + done;
      const phys = this.pt.translate(v);
      if (phys < 0) this.oops(v, false);
      const pfn = Math.floor(phys / ps);
      const off = phys - pfn * ps;
      const n = Math.min(dst.length - done, ps - off);
      const f = this.phys.frameOf(pfn);
      if (f < 0) dst.fill(0, done, done + n);
      else {
        const base = this.phys.offsetOf(f) + off;
        dst.set(this.phys.slabOf(f).subarray(base, base + n), done);
      }
      done += n;
    }
  }

  /**
   * Copies `len` bytes from `src` to `dst` (virtual; the ranges must not
   * overlap, as for the kernel's memcpy). A whole page copied onto a whole
   * page shares the source's frame until either is written (copy on write
   * in phys-mem.ts; the bytes read the same).
   * @kernel lib/string.c memcpy
   */
  memcpy(dst: VirtAddr, src: VirtAddr, len: number): void {
    const ps = this.pageSize;
    let done = 0;
    while (done < len) {
      const n = Math.min(len - done, ps - ((src + done) % ps), ps - ((dst + done) % ps));
      const sp = this.pt.translate(src + done);
      if (sp < 0) this.oops(src + done, false);
      const dp = this.pt.translate(dst + done);
      if (dp < 0) this.oops(dst + done, true);
      const spfn = Math.floor(sp / ps);
      const dpfn = Math.floor(dp / ps);
      if (n === ps) {
        this.phys.copyPage(dpfn, spfn);
        done += n;
        continue;
      }
      const df = this.phys.materialize(dpfn);
      const sf = this.phys.frameOf(spfn);
      const dbase = this.phys.offsetOf(df) + (dp - dpfn * ps);
      if (sf < 0) this.phys.slabOf(df).fill(0, dbase, dbase + n);
      else {
        const sbase = this.phys.offsetOf(sf) + (sp - spfn * ps);
        this.phys.slabOf(df).set(this.phys.slabOf(sf).subarray(sbase, sbase + n), dbase);
      }
      done += n;
    }
  }
}
