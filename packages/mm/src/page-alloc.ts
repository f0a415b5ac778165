/*
 * The page allocator: naturally aligned runs of 2^order pages per NUMA node,
 * with fallback to other nodes by distance. Mirrors the interface of
 * mm/page_alloc.c (alloc_pages_node, __alloc_pages, __free_pages,
 * warn_alloc, bad_page) and the struct page back pointer (page->private)
 * that percpu uses to find a page's chunk.
 *
 * Not the buddy free lists: each node keeps its free pfns as merged ranges
 * (range-set.ts), so an untouched 1 TiB node costs two numbers. An order-N
 * request takes the lowest naturally aligned free run of 2^N pages, which
 * is what the buddy allocator hands out on a freshly booted machine (free
 * lists are filled in ascending order and served from the head). Allocated
 * blocks are remembered by their head pfn and order, so double frees, frees
 * of pages never allocated and frees with the wrong order are caught and
 * reported the way bad_page() reports a corrupted page.
 *
 * Zones: without __GFP_HIGHMEM only lowmem (the direct-mapped pfns below
 * directMapSize) is used; with it each node's highmem is tried before its
 * lowmem, as a zonelist orders them. fail_page_alloc is modelled as if
 * ignore-gfp-wait, ignore-gfp-highmem were off and min-order 0, so every
 * allocation without __GFP_NOFAIL can be failed.
 */

import { type NodeConfig, type NodeCounters, NUMA_NO_NODE, type Pfn } from "./api.js";
import { KernelBug } from "./bug.js";
import { type ExecContext, MIGHT_ALLOC_WHERE } from "./context.js";
import type { FaultInjector } from "./fault-inject.js";
import {
  __GFP_HIGHMEM,
  __GFP_NOFAIL,
  __GFP_NOWARN,
  __GFP_THISNODE,
  __GFP_ZERO,
  formatGfpFlags,
  gfpflagsAllowBlocking,
} from "./gfp.js";
import type { PhysMemory } from "./phys-mem.js";
import type { Printk } from "./printk.js";
import { RangeSet } from "./range-set.js";

/** Pfns per leaf of the page->private table. */
const PRIV_LEAF_SIZE = 1024;

/** A page in a state it must not be in (bad_page): double free, wrong order, unknown page. */
export class BadPageError extends KernelBug {
  constructor(
    message: string,
    readonly pfn: Pfn,
    readonly reason: string,
  ) {
    super(message);
    this.name = "BadPageError";
  }
}

/** What a pfn currently is. */
export type PageState = "free" | "allocated" | "memblock" | "invalid";

/** The page allocator of one machine. */
export class PageAllocator {
  readonly nrNodes: number;
  readonly maxOrder: number;
  /** First pfn not covered by the direct map (the lowmem / highmem boundary). */
  readonly lowmemEndPfn: number;
  /** PAGE_SIZE (the bytes of an order-0 allocation, for fault_attr `space`). */
  private readonly pageBytes: number;
  private readonly free: RangeSet[] = [];
  private readonly nodeStart: Float64Array;
  private readonly nodeEnd: Float64Array;
  private readonly freeCount: Float64Array;
  private readonly memblockCount: Float64Array;
  /** Allocated blocks: head pfn -> order. */
  private readonly allocated = new Map<number, number>();
  /*
   * page->private, sparse: leaves of PRIV_LEAF_SIZE pfns keyed by
   * pfn / PRIV_LEAF_SIZE (a Map of every pfn grows and rehashes with the
   * hundreds of thousands of pages percpu-vm maps). Unset reads undefined.
   */
  private readonly privLeaves = new Map<number, unknown[]>();
  private privAny = false;
  /* The last pagePrivate lookup (pfn NaN: none); dropped on every change. */
  private privPfn = Number.NaN;
  private privVal: unknown = undefined;
  /** For each node, every node in fallback order (itself first, then by distance). */
  private readonly fallback: Int32Array[] = [];

  constructor(
    nodes: readonly NodeConfig[],
    pageSize: number,
    directMapSize: number,
    maxOrder: number,
    distance: (a: number, b: number) => number,
    private readonly cpuToNode: Int32Array,
    private readonly phys: PhysMemory,
    private readonly ctx: ExecContext,
    private readonly log: Printk,
    private readonly faults: FaultInjector,
  ) {
    this.nrNodes = nodes.length;
    this.maxOrder = maxOrder;
    this.lowmemEndPfn = directMapSize / pageSize;
    this.pageBytes = pageSize;
    this.nodeStart = new Float64Array(this.nrNodes);
    this.nodeEnd = new Float64Array(this.nrNodes);
    this.freeCount = new Float64Array(this.nrNodes);
    this.memblockCount = new Float64Array(this.nrNodes);
    for (let nid = 0; nid < this.nrNodes; nid++) {
      const s = nodes[nid]!.start / pageSize;
      const e = s + nodes[nid]!.size / pageSize;
      this.nodeStart[nid] = s;
      this.nodeEnd[nid] = e;
      const set = new RangeSet();
      set.add(s, e);
      this.free.push(set);
      this.freeCount[nid] = e - s;
      const order = Array.from({ length: this.nrNodes }, (_, i) => i).sort((a, b) =>
        a === nid ? -1 : b === nid ? 1 : distance(nid, a) - distance(nid, b) || a - b,
      );
      this.fallback.push(Int32Array.from(order));
    }
  }

  /** Nodes in the order an allocation for `nid` tries them (`nid` first, then by distance, ties by id). */
  fallbackOrder(nid: number): readonly number[] {
    return Array.from(this.fallback[nid]!);
  }

  /** Lowest naturally aligned free run of 2^order pages in [lo, hi) of `set`, or -1. */
  private findRun(set: RangeSet, order: number, lo: number, hi: number): number {
    const n = 2 ** order;
    for (let i = set.firstEndingAfter(lo); i < set.count; i++) {
      const s = set.startAt(i);
      if (s >= hi) break;
      const from = Math.max(s, lo);
      const a = Math.ceil(from / n) * n;
      const e = set.endAt(i);
      if (a + n <= Math.min(e, hi)) return a;
    }
    return -1;
  }

  private tryNode(nid: number, order: number, highmem: boolean): number {
    const set = this.free[nid]!;
    const s = this.nodeStart[nid]!;
    const e = this.nodeEnd[nid]!;
    const low = this.lowmemEndPfn;
    if (highmem && e > low) {
      const pfn = this.findRun(set, order, Math.max(s, low), e);
      if (pfn >= 0) return pfn;
    }
    return low > s ? this.findRun(set, order, s, Math.min(e, low)) : -1;
  }

  /**
   * Allocates 2^order contiguous, naturally aligned pages, preferring node
   * `nid` (NUMA_NO_NODE: the current CPU's node) and falling back to the
   * other nodes by increasing distance unless __GFP_THISNODE. A blocking
   * `gfp` first checks might_sleep(); __GFP_ZERO zeroes the pages. On
   * failure prints the kernel's page allocation failure warning (rate
   * limited) unless __GFP_NOWARN.
   * @param caller tag matched by fault rules (site "page_alloc")
   * @context may sleep if gfpflagsAllowBlocking(gfp); otherwise any context.
   * @returns the first pfn, or -1.
   * @kernel mm/page_alloc.c __alloc_pages_noprof
   */
  allocPagesNode(nid: number, gfp: number, order: number, caller?: string): Pfn {
    if (!Number.isInteger(order) || order < 0) throw new RangeError(`allocPagesNode: bad order ${order}`);
    if (order > this.maxOrder) {
      if ((gfp & __GFP_NOWARN) === 0)
        this.log.warnOnce(
          "page_alloc:order",
          "mm/page_alloc.c __alloc_pages_noprof",
          `order ${order} > MAX_PAGE_ORDER ${this.maxOrder}`,
        );
      return -1;
    }
    if (gfpflagsAllowBlocking(gfp)) this.ctx.mightSleep(MIGHT_ALLOC_WHERE);
    if (
      (gfp & __GFP_NOFAIL) === 0 &&
      this.faults.shouldFail("page_alloc", caller, this.pageBytes * 2 ** order)
    )
      return -1;
    if (nid === NUMA_NO_NODE) nid = this.cpuToNode[this.ctx.cpu]!;
    if (!Number.isInteger(nid) || nid < 0 || nid >= this.nrNodes) {
      const msg = `BUG: alloc_pages_node: invalid node ${nid} (nr_node_ids ${this.nrNodes})`;
      this.log.prCrit(msg);
      throw new KernelBug(msg);
    }
    const highmem = (gfp & __GFP_HIGHMEM) !== 0;
    const order_ = this.fallback[nid]!;
    const tries = (gfp & __GFP_THISNODE) !== 0 ? 1 : order_.length;
    for (let k = 0; k < tries; k++) {
      const n = order_[k]!;
      const pfn = this.tryNode(n, order, highmem);
      if (pfn < 0) continue;
      const count = 2 ** order;
      this.free[n]!.remove(pfn, pfn + count);
      this.freeCount[n]! -= count;
      this.allocated.set(pfn, order);
      if ((gfp & __GFP_ZERO) !== 0) this.phys.zeroPages(pfn, count);
      return pfn;
    }
    if ((gfp & __GFP_NOWARN) === 0 && this.log.ratelimit("warn_alloc")) {
      this.log.prWarn(
        `${this.ctx.comm}: page allocation failure: order:${order}, mode:0x${gfp.toString(16)}(${formatGfpFlags(gfp)}), nodemask=(null)`,
      );
    }
    return -1;
  }

  /** `alloc_pages(gfp, order)`: allocPagesNode on the current CPU's node. @kernel include/linux/gfp.h alloc_pages */
  allocPages(gfp: number, order: number, caller?: string): Pfn {
    return this.allocPagesNode(NUMA_NO_NODE, gfp, order, caller);
  }

  private nodeOf(pfn: number): number {
    for (let nid = 0; nid < this.nrNodes; nid++)
      if (pfn >= this.nodeStart[nid]! && pfn < this.nodeEnd[nid]!) return nid;
    return -1;
  }

  /** Head pfn of the allocated block covering `pfn`, or -1. */
  private allocatedHead(pfn: number): number {
    for (let k = 0; k <= this.maxOrder; k++) {
      const n = 2 ** k;
      const head = Math.floor(pfn / n) * n;
      const o = this.allocated.get(head);
      if (o !== undefined && o >= k) return head;
    }
    return -1;
  }

  /** What `pfn` currently is: free, allocated (head or tail), held by memblock, or not memory. */
  pageState(pfn: Pfn): PageState {
    if (!Number.isInteger(pfn) || pfn < 0) return "invalid";
    const nid = this.nodeOf(pfn);
    if (nid < 0) return "invalid";
    if (this.free[nid]!.find(pfn) >= 0) return "free";
    if (this.allocatedHead(pfn) >= 0) return "allocated";
    return "memblock";
  }

  /** The order a block was allocated with, if `pfn` is its head; else -1. */
  allocatedOrder(pfn: Pfn): number {
    return this.allocated.get(pfn) ?? -1;
  }

  private badPage(pfn: number, reason: string): never {
    const refcount = this.pageState(pfn) === "free" ? 0 : 1;
    const pfnHex = pfn.toString(16);
    const msg = `BUG: Bad page state in process ${this.ctx.comm}  pfn:${pfnHex.padStart(5, "0")}`;
    this.log.prAlert(msg);
    this.log.prWarn(
      `page: refcount:${refcount} mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x${pfnHex}`,
    );
    this.log.prWarn(`page dumped because: ${reason}`);
    throw new BadPageError(msg, pfn, reason);
  }

  /**
   * Frees a block obtained from allocPagesNode with the same order. Freeing
   * a free page, a page never allocated (memblock's or not memory), a tail
   * page, or with another order is reported as a bad page and thrown. The
   * pages' back pointers are cleared.
   * @context any context.
   * @kernel mm/page_alloc.c __free_pages
   */
  freePages(pfn: Pfn, order: number): void {
    if (!Number.isInteger(pfn) || pfn < 0 || this.nodeOf(pfn) < 0) this.badPage(pfn, "pfn is not memory");
    const o = this.allocated.get(pfn);
    if (o === undefined) {
      const st = this.pageState(pfn);
      if (st === "free") this.badPage(pfn, "VM_BUG_ON_PAGE(page_ref_count(page) == 0): page is already free");
      if (st === "memblock") this.badPage(pfn, "page is reserved by memblock, not from the page allocator");
      const head = this.allocatedHead(pfn);
      this.badPage(
        pfn,
        `tail page of the order-${this.allocated.get(head)} block at pfn:0x${head.toString(16)}`,
      );
    }
    if (o !== order) this.badPage(pfn, `freed with order ${order}, allocated with order ${o}`);
    const count = 2 ** order;
    const nid = this.nodeOf(pfn);
    this.allocated.delete(pfn);
    this.clearPrivates(pfn, count);
    this.free[nid]!.add(pfn, pfn + count);
    this.freeCount[nid]! += count;
  }

  private clearPrivates(pfn: number, count: number): void {
    if (!this.privAny) return;
    this.privPfn = Number.NaN;
    for (let i = 0; i < count; i++) {
      const p = pfn + i;
      const key = Math.floor(p / PRIV_LEAF_SIZE);
      const leaf = this.privLeaves.get(key);
      if (leaf !== undefined) leaf[p - key * PRIV_LEAF_SIZE] = undefined;
    }
  }

  /**
   * Sets the back pointer of an allocated (or memblock) page (`set_page_private`).
   * Setting it on a free page or a non-page is a BUG.
   * @kernel include/linux/mm.h set_page_private
   */
  setPagePrivate(pfn: Pfn, value: unknown): void {
    // The head of an allocated block is neither free nor invalid: skip the
    // free-range search for the common case (percpu-vm's order-0 pages).
    const st = this.allocated.has(pfn) ? "allocated" : this.pageState(pfn);
    if (st === "free" || st === "invalid") {
      const msg = `BUG: set_page_private on a ${st === "free" ? "free page" : "non-page"} pfn:0x${pfn.toString(16)}`;
      this.log.prAlert(msg);
      throw new KernelBug(msg);
    }
    this.privPfn = Number.NaN;
    this.privAny = true;
    const key = Math.floor(pfn / PRIV_LEAF_SIZE);
    let leaf = this.privLeaves.get(key);
    if (leaf === undefined) {
      leaf = new Array<unknown>(PRIV_LEAF_SIZE).fill(undefined);
      this.privLeaves.set(key, leaf);
    }
    leaf[pfn - key * PRIV_LEAF_SIZE] = value;
  }

  /** The back pointer of `pfn` (`page_private`), or undefined if unset. @kernel include/linux/mm.h page_private */
  pagePrivate(pfn: Pfn): unknown {
    if (pfn === this.privPfn) return this.privVal;
    const key = Math.floor(pfn / PRIV_LEAF_SIZE);
    const leaf = this.privLeaves.get(key);
    // a pfn that is not an integer in the leaf's range reads undefined, as the Map did
    const i = pfn - key * PRIV_LEAF_SIZE;
    const v = leaf !== undefined && Number.isInteger(i) ? leaf[i] : undefined;
    this.privPfn = pfn;
    this.privVal = v;
    return v;
  }

  /** Pages free in every node (`nr_free_pages()`). @kernel mm/show_mem.c nr_free_pages */
  nrFreePages(): number {
    let t = 0;
    for (let nid = 0; nid < this.nrNodes; nid++) t += this.freeCount[nid]!;
    return t;
  }

  /** Pages handed out by the page allocator and not yet freed. */
  nrAllocatedPages(): number {
    let t = 0;
    for (let nid = 0; nid < this.nrNodes; nid++)
      t += this.nodeEnd[nid]! - this.nodeStart[nid]! - this.memblockCount[nid]! - this.freeCount[nid]!;
    return t;
  }

  /** Counters of node `nid`. */
  nodeCounters(nid: number): NodeCounters {
    if (!(nid >= 0 && nid < this.nrNodes)) throw new RangeError(`nodeCounters: no node ${nid}`);
    const spanned = this.nodeEnd[nid]! - this.nodeStart[nid]!;
    return {
      nid,
      managedPages: spanned - this.memblockCount[nid]!,
      freePages: this.freeCount[nid]!,
      memblockPages: this.memblockCount[nid]!,
    };
  }

  /** Counters of every node. */
  counters(): NodeCounters[] {
    const out: NodeCounters[] = [];
    for (let nid = 0; nid < this.nrNodes; nid++) out.push(this.nodeCounters(nid));
    return out;
  }

  /* -------- the interface memblock uses (boot memory is taken out of the free pool) -------- */

  /** Node `nid`'s free pfn ranges (read only; memblock searches them). */
  freeRanges(nid: number): RangeSet {
    return this.free[nid]!;
  }

  /** First and end pfn of node `nid`. */
  nodeSpan(nid: number): [number, number] {
    return [this.nodeStart[nid]!, this.nodeEnd[nid]!];
  }

  /**
   * Takes the free pfns [start, end) (inside one node) out of the free pool
   * for memblock. @returns false (and takes nothing) unless all are free.
   */
  takeForMemblock(start: Pfn, end: Pfn): boolean {
    if (end <= start) return true;
    const nid = this.nodeOf(start);
    if (nid < 0 || end > this.nodeEnd[nid]! || !this.free[nid]!.remove(start, end)) return false;
    this.freeCount[nid]! -= end - start;
    this.memblockCount[nid]! += end - start;
    return true;
  }

  /** Returns memblock pfns [start, end) (may span nodes) to the free pool. */
  giveFromMemblock(start: Pfn, end: Pfn): void {
    while (start < end) {
      const nid = this.nodeOf(start);
      if (nid < 0)
        throw new KernelBug(`BUG: memblock returned pfn 0x${start.toString(16)} outside every node`);
      const e = Math.min(end, this.nodeEnd[nid]!);
      if (!this.free[nid]!.add(start, e))
        throw new KernelBug(
          `BUG: memblock returned pfns 0x${start.toString(16)}-0x${e.toString(16)} that are free`,
        );
      this.clearPrivates(start, e - start);
      this.freeCount[nid]! += e - start;
      this.memblockCount[nid]! -= e - start;
      start = e;
    }
  }
}
