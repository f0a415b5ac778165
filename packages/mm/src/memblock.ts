/*
 * memblock: boot-time memory. Mirrors mm/memblock.c as percpu's first chunk
 * uses it: memblock_alloc_try_nid (node-local, top-down, falling back to
 * any node; the memory is zeroed), memblock_phys_free (partial frees: the
 * embed first chunk gives back unit tails and whole unused units), and
 * memblock_reserve.
 *
 * Reservations are byte ranges (merged like memblock.reserved). A page that
 * holds any reserved byte is out of the page allocator's free pool; when
 * its last reserved byte is freed the page goes back to the pool (the
 * kernel does this at memblock_free_all time; here it is immediate). Boot
 * memory comes from the direct-mapped part of RAM (MEMBLOCK_ALLOC_ACCESSIBLE
 * is the lowmem limit) so it always has a `__va`.
 */

import { NUMA_NO_NODE, type PhysAddr, SMP_CACHE_BYTES } from "./api.js";
import { KernelBug } from "./bug.js";
import type { FaultInjector } from "./fault-inject.js";
import type { PageAllocator } from "./page-alloc.js";
import type { PhysMemory } from "./phys-mem.js";
import type { Printk } from "./printk.js";
import { RangeSet } from "./range-set.js";

/** The boot memory allocator of one machine. */
export class Memblock {
  /** memblock.reserved: reserved byte ranges. */
  private readonly reserved = new RangeSet();

  constructor(
    private readonly pageSize: number,
    /** Highest address + 1 memblock may hand out (`memblock.current_limit`). */
    readonly limit: PhysAddr,
    private readonly pages: PageAllocator,
    private readonly phys: PhysMemory,
    private readonly faults: FaultInjector,
    private readonly log: Printk,
  ) {}

  /** Whether the page at `pfn` holds a reserved byte. */
  private pageHeld(pfn: number): boolean {
    return this.reserved.intersects(pfn * this.pageSize, (pfn + 1) * this.pageSize);
  }

  /**
   * Byte ranges of node `nid` memblock could hand out: pages free in the page
   * allocator plus the unreserved bytes of pages memblock already holds,
   * below the limit.
   */
  private available(nid: number): RangeSet {
    const ps = this.pageSize;
    const [ns, ne] = this.pages.nodeSpan(nid);
    const out = new RangeSet();
    const free = this.pages.freeRanges(nid);
    for (let i = 0; i < free.count; i++) out.add(free.startAt(i) * ps, free.endAt(i) * ps);
    const rs = this.reserved;
    for (let i = rs.firstEndingAfter(ns * ps); i < rs.count && rs.startAt(i) < ne * ps; i++) {
      const s = Math.max(ns * ps, Math.floor(rs.startAt(i) / ps) * ps);
      const e = Math.min(ne * ps, Math.ceil(rs.endAt(i) / ps) * ps);
      out.removeAny(s, e);
      out.add(s, e);
    }
    for (let i = rs.firstEndingAfter(ns * ps); i < rs.count && rs.startAt(i) < ne * ps; i++)
      out.removeAny(rs.startAt(i), rs.endAt(i));
    out.removeAny(this.limit, Number.MAX_SAFE_INTEGER);
    return out;
  }

  /** Highest `align`-aligned base of a free `size`-byte range in node `nid`, or -1. */
  private findTopDown(nid: number, size: number, align: number): PhysAddr {
    const av = this.available(nid);
    for (let i = av.count - 1; i >= 0; i--) {
      const cand = Math.floor((av.endAt(i) - size) / align) * align;
      if (cand >= av.startAt(i)) return cand;
    }
    return -1;
  }

  /** Reserves [base, base+size), which must be available; takes newly touched pages from the free pool. */
  private reserveRange(base: PhysAddr, size: number): boolean {
    const ps = this.pageSize;
    const end = base + size;
    let first = Math.floor(base / ps);
    let last = Math.ceil(end / ps);
    if (this.pageHeld(first)) first++;
    if (last > first && this.pageHeld(last - 1)) last--;
    if (this.reserved.intersects(base, end)) return false;
    if (last > first && !this.pages.takeForMemblock(first, last)) return false;
    this.reserved.add(base, end);
    return true;
  }

  /**
   * Allocates `size` zeroed bytes aligned to `align` (0 means
   * SMP_CACHE_BYTES), from node `nid`'s memory top-down, else from any node
   * (NUMA_NO_NODE: any node from the start).
   * @param caller tag matched by fault rules (site "memblock")
   * @context boot; does not sleep.
   * @returns the physical address, or -1.
   * @kernel mm/memblock.c memblock_alloc_try_nid
   */
  allocTryNid(size: number, align: number, nid: number, caller?: string): PhysAddr {
    if (!Number.isInteger(size) || size <= 0) throw new RangeError(`memblock_alloc: bad size ${size}`);
    if (align === 0) align = SMP_CACHE_BYTES;
    if (!Number.isInteger(align) || align < 1 || 2 ** Math.round(Math.log2(align)) !== align)
      throw new RangeError(`memblock_alloc: align ${align} is not a power of two`);
    const nrNodes = this.pages.nrNodes;
    if (nid !== NUMA_NO_NODE && !(Number.isInteger(nid) && nid >= 0 && nid < nrNodes))
      throw new RangeError(`memblock_alloc: no node ${nid}`);
    if (this.faults.shouldFail("memblock", caller)) return -1;
    let found = -1;
    if (nid !== NUMA_NO_NODE) found = this.findTopDown(nid, size, align);
    if (found < 0) {
      // Any node: the highest fit over all of memory.
      for (let n = 0; n < nrNodes; n++) {
        const c = this.findTopDown(n, size, align);
        if (c > found) found = c;
      }
    }
    if (found < 0) return -1;
    if (!this.reserveRange(found, size)) throw new KernelBug("BUG: memblock: found range is not available");
    this.phys.physMemset(found, 0, size);
    return found;
  }

  /**
   * Marks [base, base+size) reserved (e.g. the kernel image). Every byte
   * must be free: reserving memory the page allocator has handed out, or
   * reserving twice, is a BUG here (the kernel would corrupt memory later).
   * @kernel mm/memblock.c memblock_reserve
   */
  reserve(base: PhysAddr, size: number): void {
    if (!Number.isInteger(base) || !Number.isInteger(size) || base < 0 || size <= 0)
      throw new RangeError(`memblock_reserve: bad range ${base} + ${size}`);
    if (
      !this.phys.isPresent(base) ||
      !this.phys.isPresent(base + size - 1) ||
      !this.reserveRange(base, size)
    ) {
      const msg = `BUG: memblock_reserve: [mem ${hex(base)}-${hex(base + size - 1)}] is not free memory`;
      this.log.prErr(msg);
      throw new KernelBug(msg);
    }
  }

  /**
   * Frees [base, base+size), which must be reserved; pages with no reserved
   * byte left go back to the page allocator. Freeing bytes that are not
   * reserved is reported and thrown (the kernel ignores it silently; the
   * model checks, as it is always a caller bug).
   * @kernel mm/memblock.c memblock_phys_free
   */
  free(base: PhysAddr, size: number): void {
    if (size === 0) return;
    if (!Number.isInteger(base) || !Number.isInteger(size) || base < 0 || size < 0)
      throw new RangeError(`memblock_free: bad range ${base} + ${size}`);
    const end = base + size;
    if (!this.reserved.containsRange(base, end)) {
      const msg = `BUG: memblock_free: [mem ${hex(base)}-${hex(end - 1)}] is not reserved`;
      this.log.prErr(msg);
      throw new KernelBug(msg);
    }
    this.reserved.remove(base, end);
    const ps = this.pageSize;
    let first = Math.floor(base / ps);
    let last = Math.ceil(end / ps);
    if (this.pageHeld(first)) first++;
    if (last > first && this.pageHeld(last - 1)) last--;
    if (last > first) this.pages.giveFromMemblock(first, last);
  }

  /** Bytes reserved in node `nid`, or on the whole machine. */
  reservedBytes(nid?: number): number {
    if (nid === undefined) return this.reserved.total();
    if (!(Number.isInteger(nid) && nid >= 0 && nid < this.pages.nrNodes))
      throw new RangeError(`reservedBytes: no node ${nid}`);
    const [s, e] = this.pages.nodeSpan(nid);
    return this.reserved.coveredIn(s * this.pageSize, e * this.pageSize);
  }

  /** Number of reserved regions (memblock.reserved.cnt). */
  reservedRegions(): number {
    return this.reserved.count;
  }
}

function hex(a: number): string {
  return `0x${a.toString(16).padStart(16, "0")}`;
}
