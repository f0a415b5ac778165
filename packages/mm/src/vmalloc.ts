/*
 * The vmalloc address space: reserving ranges of kernel virtual addresses
 * between VMALLOC_START and VMALLOC_END. Mirrors mm/vmalloc.c:
 * vm_area_register_early / get_vm_area (first fit, bottom-up),
 * free_vm_area, find_vm_area, is_vmalloc_addr, and pcpu_get_vm_areas /
 * pcpu_free_vm_areas, the congruent multi-area allocation percpu chunks use
 * (top-down: the highest aligned base at which every area is free).
 *
 * The busy areas are kept sorted by address; the free blocks the kernel
 * keeps in its free_vmap_area tree are the gaps between them. Areas are
 * released at once (the kernel's lazy purge happens before a retry anyway),
 * and freeing an area clears its PTEs like free_unmap_vmap_area does.
 */

import type { VirtAddr, VmArea } from "./api.js";
import { KernelBug } from "./bug.js";
import type { FaultInjector } from "./fault-inject.js";
import type { PageTable } from "./pgtable.js";
import type { Printk } from "./printk.js";

/** `struct vm_struct`. */
class VmStruct implements VmArea {
  constructor(
    readonly addr: VirtAddr,
    readonly size: number,
    readonly caller: string,
  ) {}
}

/** The vmalloc space of one machine. */
export class VmallocSpace {
  /** VMALLOC_START, VMALLOC_END (exclusive). */
  readonly start: VirtAddr;
  readonly end: VirtAddr;
  /** VMALLOC_TOTAL. */
  readonly total: number;
  private readonly busy: VmStruct[] = [];

  constructor(
    start: VirtAddr,
    end: VirtAddr,
    private readonly pageSize: number,
    private readonly pgtable: PageTable,
    private readonly faults: FaultInjector,
    private readonly log: Printk,
    total?: number,
  ) {
    this.start = start;
    this.end = end;
    this.total = total ?? end - start;
  }

  /** `is_vmalloc_addr()`. @kernel mm/vmalloc.c is_vmalloc_addr */
  isVmallocAddr(addr: VirtAddr): boolean {
    return addr >= this.start && addr < this.end;
  }

  /** Index of the first busy area whose end is > addr. */
  private firstEndingAfter(addr: number): number {
    const b = this.busy;
    let lo = 0;
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const a = b[mid]!;
      if (a.addr + a.size > addr) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private insert(area: VmStruct): void {
    this.busy.splice(this.firstEndingAfter(area.addr), 0, area);
  }

  /**
   * Reserves `size` bytes (page aligned up) at the lowest `align`-aligned
   * free address (align at least PAGE_SIZE). With `guardPage` one more page
   * is reserved after the area and counted in its size, as get_vm_area
   * does; without, as vm_area_register_early does. On exhaustion prints the
   * kernel's rate-limited `vmap allocation ... failed` warning.
   * @param caller tag for listings and fault rules (site "vmalloc")
   * @returns the area, or null.
   * @kernel mm/vmalloc.c __get_vm_area_node
   */
  getVmArea(size: number, align: number, caller: string, guardPage = false): VmArea | null {
    if (!Number.isInteger(align) || align < 1 || 2 ** Math.round(Math.log2(align)) !== align)
      throw new RangeError(`getVmArea: align ${align} is not a power of two`);
    if (!(size > 0)) return null;
    const ps = this.pageSize;
    size = Math.ceil(size / ps) * ps + (guardPage ? ps : 0);
    if (align < ps) align = ps;
    if (this.faults.shouldFail("vmalloc", caller, size)) return null;
    let addr = Math.ceil(this.start / align) * align;
    for (let i = this.firstEndingAfter(addr); i < this.busy.length; i++) {
      const a = this.busy[i]!;
      if (a.addr >= addr + size) break;
      addr = Math.ceil((a.addr + a.size) / align) * align;
    }
    if (addr + size > this.end) {
      if (this.log.ratelimit("alloc_vmap_area"))
        this.log.prWarn(`vmap allocation for size ${size} failed: use vmalloc=<size> to increase size`);
      return null;
    }
    const area = new VmStruct(addr, size, caller);
    this.insert(area);
    return area;
  }

  /** Index of `area` in the busy list, or -1. */
  private indexOf(area: VmArea): number {
    const i = this.firstEndingAfter(area.addr);
    return i < this.busy.length && this.busy[i] === area ? i : -1;
  }

  /**
   * Releases an area from getVmArea/getVmAreas: flushes the cache, clears
   * any PTEs left in it (the pages themselves are the caller's), frees the
   * range. An unknown or already freed area is a BUG.
   * @kernel mm/vmalloc.c free_vm_area
   */
  freeVmArea(area: VmArea): void {
    const i = this.indexOf(area);
    if (i < 0) {
      const msg = `kernel BUG at mm/vmalloc.c: free_vm_area: unknown vm area 0x${area.addr.toString(16)} size ${area.size}`;
      this.log.prCrit(msg);
      throw new KernelBug(msg);
    }
    this.busy.splice(i, 1);
    this.pgtable.flushCacheVunmap(area.addr, area.addr + area.size);
    this.pgtable.unmapRange(area.addr, area.addr + area.size);
  }

  /** The area containing `addr`, or null. @kernel mm/vmalloc.c find_vm_area */
  findVmArea(addr: VirtAddr): VmArea | null {
    const i = this.firstEndingAfter(addr);
    const a = this.busy[i];
    return a !== undefined && a.addr <= addr ? a : null;
  }

  /** Every reserved area, lowest address first (/proc/vmallocinfo order). */
  areas(): VmArea[] {
    return this.busy.slice();
  }

  /** Bytes reserved. */
  usedBytes(): number {
    let t = 0;
    for (const a of this.busy) t += a.size;
    return t;
  }

  /* ---- free blocks (the gaps between busy areas inside [start, end)) ---- */

  private gapStart(g: number): number {
    return g === 0 ? this.start : Math.max(this.start, this.busy[g - 1]!.addr + this.busy[g - 1]!.size);
  }

  private gapEnd(g: number): number {
    return g === this.busy.length ? this.end : Math.min(this.end, this.busy[g]!.addr);
  }

  /** The free block with the highest start <= addr, or -1 (pvm_find_va_enclose_addr). */
  private findEnclose(addr: number): number {
    // Gap starts grow with g, and gap g starts at or below addr iff g <= i.
    for (let g = this.firstEndingAfter(addr); g >= 0; g--)
      if (this.gapStart(g) < this.gapEnd(g) && this.gapStart(g) <= addr) return g;
    return -1;
  }

  /**
   * From free block `g` downwards, the first block whose aligned end is
   * above its start: writes the block to `out[0]` and returns the aligned
   * end, or returns 0 with `out[0] = -1` (pvm_determine_end_from_reverse).
   */
  private determineEnd(g: number, align: number, vend: number, out: Int32Array): number {
    for (; g >= 0; g--) {
      const s = this.gapStart(g);
      const e = this.gapEnd(g);
      if (s >= e) continue;
      const addr = Math.min(Math.floor(e / align) * align, vend);
      if (s < addr) {
        out[0] = g;
        return addr;
      }
    }
    out[0] = -1;
    return 0;
  }

  /**
   * Reserves one area per group at `base + offsets[k]` of `sizes[k]` bytes
   * for the highest `align`-aligned base at which all of them are free, all
   * or nothing. Offsets and sizes must be multiples of `align` and must not
   * overlap (else BUG). If the vmalloc space is smaller than the span WARNs
   * and returns null; exhaustion returns null silently, as the kernel does
   * after its purge-and-retry.
   * @param caller tag for listings and fault rules (site "vmalloc")
   * @returns the areas, in the order of `offsets`, or null.
   * @kernel mm/vmalloc.c pcpu_get_vm_areas
   */
  getVmAreas(
    offsets: readonly number[],
    sizes: readonly number[],
    align: number,
    caller: string,
  ): VmArea[] | null {
    const nr = offsets.length;
    const bug = (what: string): never => {
      const msg = `kernel BUG at mm/vmalloc.c: pcpu_get_vm_areas: ${what}`;
      this.log.prCrit(msg);
      throw new KernelBug(msg);
    };
    if (nr === 0 || sizes.length !== nr)
      bug(`need one size per offset (got ${nr} offsets, ${sizes.length} sizes)`);
    if (
      !Number.isInteger(align) ||
      align % this.pageSize !== 0 ||
      align < this.pageSize ||
      2 ** Math.round(Math.log2(align)) !== align
    )
      bug(`align ${align} is not a page-multiple power of two`);
    const vstart = Math.ceil(this.start / align) * align;
    /* vmalloc_end = VMALLOC_END & ~(align - 1): VMALLOC_END is start + VMALLOC_TOTAL (inclusive on x86_64). */
    const vend = Math.floor((this.start + this.total) / align) * align;
    let lastArea = 0;
    for (let area = 0; area < nr; area++) {
      const s = offsets[area]!;
      const e = s + sizes[area]!;
      if (s % align !== 0 || sizes[area]! % align !== 0) bug(`area ${area} is not aligned to ${align}`);
      if (s > offsets[lastArea]!) lastArea = area;
      for (let a2 = area + 1; a2 < nr; a2++) {
        const s2 = offsets[a2]!;
        if (s2 < e && s < s2 + sizes[a2]!) bug(`areas ${area} and ${a2} overlap`);
      }
    }
    const lastEnd = offsets[lastArea]! + sizes[lastArea]!;
    if (vend - vstart < lastEnd) {
      this.log.warn("mm/vmalloc.c pcpu_get_vm_areas");
      return null;
    }
    let bytes = 0;
    for (let area = 0; area < nr; area++) bytes += sizes[area]!;
    if (this.faults.shouldFail("vmalloc", caller, bytes)) return null;

    const out = new Int32Array(1);
    let area = lastArea;
    let termArea = lastArea;
    let start = offsets[area]!;
    let end = start + sizes[area]!;
    let va = this.findEnclose(vend);
    let base = this.determineEnd(va, align, vend, out) - end;
    va = out[0]!;
    for (;;) {
      if (base < vstart || va < 0) return null;
      if (base + end > this.gapEnd(va)) {
        base = this.determineEnd(va, align, vend, out) - end;
        va = out[0]!;
        termArea = area;
        continue;
      }
      if (base + start < this.gapStart(va)) {
        base = this.determineEnd(va - 1, align, vend, out) - end;
        va = out[0]!;
        termArea = area;
        continue;
      }
      area = (area + nr - 1) % nr;
      if (area === termArea) break;
      start = offsets[area]!;
      end = start + sizes[area]!;
      va = this.findEnclose(base + end);
    }
    const vms: VmArea[] = [];
    for (let k = 0; k < nr; k++) {
      const vm = new VmStruct(base + offsets[k]!, sizes[k]!, caller);
      this.insert(vm);
      vms.push(vm);
    }
    return vms;
  }

  /** Frees every area of a getVmAreas result. @kernel mm/vmalloc.c pcpu_free_vm_areas */
  freeVmAreas(areas: readonly VmArea[]): void {
    for (const a of areas) this.freeVmArea(a);
  }
}
