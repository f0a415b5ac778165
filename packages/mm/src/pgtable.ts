/*
 * The kernel page table: which physical page backs each page of the
 * kernel's virtual address space outside the direct map. Mirrors what
 * mm/vmalloc.c does to init_mm's tables (vmap_pages_range_noflush,
 * vunmap_range_noflush, vmalloc_to_page) plus the arch flush hooks
 * (flush_tlb_kernel_range, flush_cache_vmap, flush_cache_vunmap), counted.
 *
 * Sparse: a Map from the upper bits of the virtual page number to a leaf of
 * PTRS_PER_PTE entries (one page-table page: PAGE_SIZE / pointer size), so
 * a 2^52 address space costs only the leaves in use. Leaves are never freed,
 * like kernel page-table pages; allocating one consults fault site
 * "kmalloc" with caller "pte_alloc" (pte_alloc_kernel failing) and the map
 * call returns -ENOMEM. Entries hold pfn + 1 (0 = none). Addresses are
 * doubles: no 32-bit bit operations on full addresses.
 */

import { EBUSY, ENOMEM, type FlushCounters, type Pfn, type PhysAddr, type VirtAddr } from "./api.js";
import { KernelBug } from "./bug.js";
import type { FaultInjector } from "./fault-inject.js";
import type { PhysMemory } from "./phys-mem.js";
import type { Printk } from "./printk.js";

/** Told when a translation may have changed (a PTE removed, a page's backing changed). */
export interface TranslationListener {
  translationsChanged(): void;
}

/** Fault-injection caller tag of a page-table page allocation. */
export const PTE_ALLOC_CALLER = "pte_alloc";

/** Entries of the leaf cache (a power of two). */
const LEAF_CACHE_SIZE = 8;
const NO_LEAF = new Float64Array(0);

/** The kernel page table (init_mm) of one machine. */
export class PageTable {
  readonly pageSize: number;
  /** Entries per leaf (`PTRS_PER_PTE`). */
  readonly ptrsPerPte: number;
  /** Size of the virtual address space: every VirtAddr is below this. */
  readonly vaLimit: number;
  /** Changes whenever a translation is removed (the memory access cache refills). */
  gen = 0;
  readonly flushes: FlushCounters = { tlbKernelRange: 0, cacheVmap: 0, cacheVunmap: 0 };
  private readonly leaves = new Map<number, Float64Array>();
  /*
   * A small direct-mapped cache of leaves in front of `leaves` (lookups of
   * per-CPU copies alternate between a few leaves). Leaves are never freed,
   * so a cached leaf never goes stale; only successful lookups are cached.
   */
  private readonly lcKey = new Float64Array(LEAF_CACHE_SIZE).fill(Number.NaN);
  private readonly lcLeaf: Float64Array[] = [];
  /** 1 / pageSize and 1 / ptrsPerPte: powers of two, so multiplying is exact. */
  private readonly invPageSize: number;
  private readonly invPtrsPerPte: number;
  private nMapped = 0;
  private listener: TranslationListener | null = null;
  private readonly dmStart: number;
  private readonly dmEnd: number;

  constructor(
    pageShift: number,
    bits: 32 | 64,
    vaBits: number,
    /** PAGE_OFFSET and the bytes of physical memory the direct map covers. */
    readonly pageOffset: VirtAddr,
    readonly directMapSize: number,
    private readonly phys: PhysMemory,
    private readonly faults: FaultInjector,
    private readonly log: Printk,
  ) {
    this.pageSize = 2 ** pageShift;
    this.ptrsPerPte = this.pageSize / (bits / 8);
    this.vaLimit = 2 ** vaBits;
    this.dmStart = pageOffset;
    this.dmEnd = pageOffset + directMapSize;
    this.invPageSize = 1 / this.pageSize;
    this.invPtrsPerPte = 1 / this.ptrsPerPte;
    for (let i = 0; i < LEAF_CACHE_SIZE; i++) this.lcLeaf.push(NO_LEAF);
  }

  /** The leaf of key `key` through the leaf cache, or undefined if none exists. */
  private leafOf(key: number): Float64Array | undefined {
    const i = key & (LEAF_CACHE_SIZE - 1);
    if (this.lcKey[i] === key) return this.lcLeaf[i]!;
    const leaf = this.leaves.get(key);
    if (leaf !== undefined) {
      this.lcKey[i] = key;
      this.lcLeaf[i] = leaf;
    }
    return leaf;
  }

  /** Registers the one listener told when a translation is removed (the memory access caches). */
  setListener(l: TranslationListener | null): void {
    this.listener = l;
  }

  private checkMapAddr(virt: VirtAddr, what: string): void {
    if (
      !Number.isInteger(virt) ||
      virt < 0 ||
      virt >= this.vaLimit ||
      virt % this.pageSize !== 0 ||
      (virt >= this.dmStart && virt < this.dmEnd)
    ) {
      const msg = `kernel BUG: ${what}: bad kernel virtual address 0x${Number(virt).toString(16)}`;
      this.log.prCrit(msg);
      throw new KernelBug(msg);
    }
  }

  /**
   * Maps the page at `virt` (page aligned, outside the direct map) to `pfn`.
   * An already-mapped address WARNs and returns -EBUSY, an invalid pfn WARNs
   * and returns -ENOMEM (as vmap_pages_pte_range does); an injected
   * page-table allocation failure returns -ENOMEM. No flush.
   * @context may allocate a page-table page.
   * @returns 0 or a negative errno.
   * @kernel mm/vmalloc.c vmap_pages_pte_range
   */
  mapPage(virt: VirtAddr, pfn: Pfn): number {
    this.checkMapAddr(virt, "mapPage");
    const vpn = virt / this.pageSize;
    const key = Math.floor(vpn / this.ptrsPerPte);
    const idx = vpn - key * this.ptrsPerPte;
    let leaf = this.leaves.get(key);
    if (leaf !== undefined && leaf[idx] !== 0) {
      this.log.warn("mm/vmalloc.c vmap_pages_pte_range", `pte already present at 0x${virt.toString(16)}`);
      return -EBUSY;
    }
    if (!this.phys.pfnValid(pfn)) {
      this.log.warn("mm/vmalloc.c vmap_pages_pte_range", `no page (pfn ${pfn}) for 0x${virt.toString(16)}`);
      return -ENOMEM;
    }
    if (leaf === undefined) {
      if (this.faults.shouldFail("kmalloc", PTE_ALLOC_CALLER)) return -ENOMEM;
      leaf = new Float64Array(this.ptrsPerPte);
      this.leaves.set(key, leaf);
    }
    leaf[idx] = pfn + 1;
    this.nMapped++;
    return 0;
  }

  /**
   * Maps `count` consecutive pages from `virt` to `pfns[0..count)`. Stops at
   * the first error and returns it; pages mapped before stay mapped.
   * @kernel mm/vmalloc.c vmap_pages_range_noflush
   */
  mapPages(virt: VirtAddr, pfns: ArrayLike<number>, count: number): number {
    if (count > pfns.length) throw new RangeError(`mapPages: count ${count} > ${pfns.length} pfns`);
    for (let i = 0; i < count; i++) {
      const err = this.mapPage(virt + i * this.pageSize, pfns[i]!);
      if (err) return err;
    }
    return 0;
  }

  /** Clears the PTE of the page at `virt` (page aligned). @returns the pfn it mapped, or -1. */
  unmapPage(virt: VirtAddr): Pfn {
    this.checkMapAddr(virt, "unmapPage");
    const vpn = virt / this.pageSize;
    const key = Math.floor(vpn / this.ptrsPerPte);
    const leaf = this.leaves.get(key);
    if (leaf === undefined) return -1;
    const idx = vpn - key * this.ptrsPerPte;
    const e = leaf[idx]!;
    if (e === 0) return -1;
    leaf[idx] = 0;
    this.nMapped--;
    this.gen++;
    this.listener?.translationsChanged();
    return e - 1;
  }

  /**
   * Clears every PTE in [start, end) (page aligned, start < end). No flush.
   * @returns the number of pages that were mapped.
   * @kernel mm/vmalloc.c vunmap_range_noflush
   */
  unmapRange(start: VirtAddr, end: VirtAddr): number {
    if (!(start < end)) {
      const msg = `kernel BUG: unmapRange: empty or inverted range 0x${start.toString(16)}-0x${end.toString(16)}`;
      this.log.prCrit(msg);
      throw new KernelBug(msg);
    }
    this.checkMapAddr(start, "unmapRange");
    if (end !== this.vaLimit) this.checkMapAddr(end, "unmapRange");
    const per = this.ptrsPerPte;
    const v0 = start / this.pageSize;
    const v1 = end / this.pageSize;
    let cleared = 0;
    const k0 = Math.floor(v0 / per);
    const k1 = Math.ceil(v1 / per);
    const clearLeaf = (key: number, leaf: Float64Array) => {
      const i0 = Math.max(v0 - key * per, 0);
      const i1 = Math.min(v1 - key * per, per);
      for (let i = i0; i < i1; i++) {
        if (leaf[i] !== 0) {
          leaf[i] = 0;
          cleared++;
        }
      }
    };
    if (k1 - k0 <= this.leaves.size) {
      for (let key = k0; key < k1; key++) {
        const leaf = this.leaves.get(key);
        if (leaf !== undefined) clearLeaf(key, leaf);
      }
    } else {
      // A huge range over a sparse table: visit the leaves that exist.
      for (const [key, leaf] of this.leaves) if (key >= k0 && key < k1) clearLeaf(key, leaf);
    }
    if (cleared) {
      this.nMapped -= cleared;
      this.gen++;
      this.listener?.translationsChanged();
    }
    return cleared;
  }

  /** Whether `virt` lies in the direct (linear) map. */
  inDirectMap(virt: VirtAddr): boolean {
    return virt >= this.dmStart && virt < this.dmEnd;
  }

  /**
   * The pfn a PTE maps at `virt` (any offset in the page), or -1.
   * @kernel mm/vmalloc.c vmalloc_to_page
   */
  lookupPfn(virt: VirtAddr): Pfn {
    if (!(virt >= 0 && virt < this.vaLimit)) return -1;
    const vpn = Math.floor(virt * this.invPageSize);
    const key = Math.floor(vpn * this.invPtrsPerPte);
    const leaf = this.leafOf(key);
    if (leaf === undefined) return -1;
    return leaf[vpn - key * this.ptrsPerPte]! - 1;
  }

  /**
   * The physical address behind `virt` through the direct map or a PTE, or
   * -1 if nothing is mapped there (or the direct map covers a hole).
   */
  translate(virt: VirtAddr): PhysAddr | -1 {
    if (virt >= this.dmStart && virt < this.dmEnd) {
      const phys = virt - this.dmStart;
      return this.phys.isPresent(phys) ? phys : -1;
    }
    const pfn = this.lookupPfn(virt);
    if (pfn < 0) return -1;
    return pfn * this.pageSize + (virt - Math.floor(virt * this.invPageSize) * this.pageSize);
  }

  /** Pages currently mapped by PTEs (the direct map not counted). */
  mappedPages(): number {
    return this.nMapped;
  }

  /** Page-table leaves allocated (never freed). */
  leafCount(): number {
    return this.leaves.size;
  }

  private checkRange(start: VirtAddr, end: VirtAddr, what: string): void {
    if (!(start <= end))
      throw new RangeError(`${what}: inverted range 0x${start.toString(16)}-0x${end.toString(16)}`);
  }

  /** @kernel arch flush_tlb_kernel_range (counted) */
  flushTlbKernelRange(start: VirtAddr, end: VirtAddr): void {
    this.checkRange(start, end, "flushTlbKernelRange");
    this.flushes.tlbKernelRange++;
  }

  /** @kernel arch flush_cache_vmap (counted) */
  flushCacheVmap(start: VirtAddr, end: VirtAddr): void {
    this.checkRange(start, end, "flushCacheVmap");
    this.flushes.cacheVmap++;
  }

  /** @kernel arch flush_cache_vunmap (counted) */
  flushCacheVunmap(start: VirtAddr, end: VirtAddr): void {
    this.checkRange(start, end, "flushCacheVunmap");
    this.flushes.cacheVunmap++;
  }
}
