import {
  __GFP_HIGHMEM,
  __GFP_NOFAIL,
  __GFP_NOWARN,
  __GFP_THISNODE,
  __GFP_ZERO,
  BadPageError,
  formatGfpFlags,
  GFP_ATOMIC,
  GFP_KERNEL,
  GFP_NOWAIT,
  KernelBug,
  SleepInAtomicError,
} from "@pcpu/mm";
import { describe, expect, it } from "vitest";
import { i386, thrown, x64 } from "./fixtures.js";

describe("PageAllocator.allocPagesNode (alloc_pages_node)", () => {
  it("hands out the lowest naturally aligned run on the node and keeps the counters", () => {
    const m = x64();
    const pa = m.pageAlloc;
    expect(pa.nodeCounters(0)).toEqual({ nid: 0, managedPages: 0x4000, freePages: 0x4000, memblockPages: 0 });
    expect(pa.allocPagesNode(0, GFP_KERNEL, 0)).toBe(0x0);
    expect(pa.allocPagesNode(0, GFP_KERNEL, 0)).toBe(0x1);
    expect(pa.allocPagesNode(0, GFP_KERNEL, 2)).toBe(0x4); // 0x2 is free but not 4-page aligned
    expect(pa.allocPagesNode(0, GFP_KERNEL, 0)).toBe(0x2);
    expect(pa.allocPagesNode(0, GFP_KERNEL, 10)).toBe(0x400);
    expect(pa.allocatedOrder(0x400)).toBe(10);
    expect(pa.nodeCounters(0).freePages).toBe(0x4000 - 3 - 4 - 0x400);
    expect(pa.nrAllocatedPages()).toBe(0x407);
    expect(pa.nrFreePages()).toBe(0x8000 - 0x407);
    pa.freePages(0x4, 2);
    expect(pa.allocPagesNode(0, GFP_KERNEL, 1)).toBe(0x4);
    expect(pa.pageState(0x3)).toBe("free");
    expect(pa.pageState(0x401)).toBe("allocated");
    expect(pa.pageState(0x8000)).toBe("invalid");
    expect(pa.pageState(-1)).toBe("invalid");
  });

  it("NUMA_NO_NODE allocates on the current CPU's node", () => {
    const m = x64();
    m.ctx.setCpu(2);
    expect(m.pageAlloc.allocPagesNode(-1, GFP_KERNEL, 0)).toBe(0x4000);
    m.ctx.setCpu(1);
    expect(m.pageAlloc.allocPages(GFP_KERNEL, 0)).toBe(0x0);
    expect(m.phys.pfnToNid(0x4000)).toBe(1);
  });

  it("falls back by distance, and __GFP_THISNODE does not fall back", () => {
    // Node 0 is closer to node 2 (15) than to node 1 (30).
    const dist = [
      [10, 30, 15],
      [30, 10, 20],
      [15, 20, 10],
    ];
    const m = x64({
      nodes: [
        { start: 0x0, size: 0x400000 },
        { start: 0x400000, size: 0x400000 },
        { start: 0x800000, size: 0x400000 },
      ],
      nodeDistance: (a, b) => dist[a]![b]!,
      cpuToNode: [0, 0, 1, 2],
    });
    const pa = m.pageAlloc;
    expect(pa.fallbackOrder(0)).toEqual([0, 2, 1]);
    expect(pa.fallbackOrder(1)).toEqual([1, 2, 0]);
    // Node 0 holds 0x400 pages: exactly one order-10 block.
    expect(pa.allocPagesNode(0, GFP_KERNEL, 10)).toBe(0x0);
    expect(pa.allocPagesNode(0, GFP_KERNEL | __GFP_THISNODE, 0)).toBe(-1);
    expect(m.log.dmesg()).toEqual([
      "swapper/0: page allocation failure: order:0, mode:0x200cc0(GFP_KERNEL|__GFP_THISNODE), nodemask=(null)",
    ]);
    expect(pa.allocPagesNode(0, GFP_KERNEL, 0)).toBe(0x800);
    // Node 0 is full and node 2 has no free order-10 block left: node 1.
    expect(pa.allocPagesNode(0, GFP_KERNEL, 10)).toBe(0x400);
  });

  it("fails with the kernel's rate-limited warning, or silently with __GFP_NOWARN", () => {
    const m = x64({ nodes: [{ start: 0, size: 0x400000 }], cpuToNode: [0, 0, 0, 0] });
    const pa = m.pageAlloc;
    expect(pa.allocPagesNode(0, GFP_KERNEL, 10)).toBe(0);
    expect(pa.allocPagesNode(0, GFP_ATOMIC, 0)).toBe(-1);
    // GFP_NOWAIT carries __GFP_NOWARN in 6.x.
    expect(pa.allocPagesNode(0, GFP_NOWAIT, 0)).toBe(-1);
    expect(pa.allocPagesNode(0, GFP_ATOMIC | __GFP_NOWARN, 0)).toBe(-1);
    expect(m.log.dmesg()).toEqual([
      "swapper/0: page allocation failure: order:0, mode:0x820(GFP_ATOMIC), nodemask=(null)",
    ]);
    for (let i = 0; i < 12; i++) pa.allocPagesNode(0, GFP_KERNEL, 0);
    expect(m.log.dmesg().length).toBe(10);
    m.log.advanceClock(5001);
    pa.allocPagesNode(0, GFP_KERNEL, 0);
    expect(m.log.dmesg().slice(-2)).toEqual([
      "warn_alloc: 3 callbacks suppressed",
      "swapper/0: page allocation failure: order:0, mode:0xcc0(GFP_KERNEL), nodemask=(null)",
    ]);
  });

  it("a blocking allocation in atomic context is a sleeping-in-atomic BUG; GFP_ATOMIC is fine", () => {
    const m = x64();
    m.ctx.enterAtomic("spinlock");
    expect(m.pageAlloc.allocPagesNode(0, GFP_ATOMIC, 0)).toBe(0);
    expect(m.pageAlloc.allocPagesNode(0, GFP_NOWAIT, 0)).toBe(1);
    const e = thrown(() => m.pageAlloc.allocPagesNode(0, GFP_KERNEL, 0));
    expect(e).toBeInstanceOf(SleepInAtomicError);
    expect(m.log.dmesg()[0]).toBe(
      "BUG: sleeping function called from invalid context at include/linux/sched/mm.h:321",
    );
    expect(m.pageAlloc.nrAllocatedPages()).toBe(2);
  });

  it("__GFP_ZERO zeroes; without it a page keeps its old bytes", () => {
    const m = x64();
    const pa = m.pageAlloc;
    const pfn = pa.allocPagesNode(0, GFP_KERNEL, 1);
    m.phys.physMemset(pfn * 0x1000 + 0xff0, 0xab, 0x20); // crosses into the second page
    pa.freePages(pfn, 1);
    expect(pa.allocPagesNode(0, GFP_KERNEL, 1)).toBe(pfn);
    expect(m.phys.physRead8(pfn * 0x1000 + 0x1000)).toBe(0xab);
    pa.freePages(pfn, 1);
    expect(m.phys.residentFrames()).toBe(2);
    expect(pa.allocPagesNode(0, GFP_KERNEL | __GFP_ZERO, 1)).toBe(pfn);
    expect(m.phys.physCopyOut(pfn * 0x1000, 0x2000).every((b) => b === 0)).toBe(true);
    expect(m.phys.residentFrames()).toBe(0);
  });

  it("uses lowmem only without __GFP_HIGHMEM, and highmem first with it", () => {
    const m = i386();
    const pa = m.pageAlloc;
    expect(pa.lowmemEndPfn).toBe(0x38000);
    expect(pa.allocPagesNode(0, GFP_KERNEL | __GFP_HIGHMEM, 0)).toBe(0x38000);
    expect(pa.allocPagesNode(0, GFP_KERNEL, 0)).toBe(0x0);
    expect(m.pageAddress(0x0)).toBe(0xc0000000);
    expect(m.pageAddress(0x38000)).toBe(-1);
    // Fill highmem (0x8000 pages): 0x1f order-10 blocks above 0x38400, then
    // 0x3ff single pages; after that highmem requests fall back to lowmem.
    for (let i = 0; i < 0x1f; i++)
      expect(pa.allocPagesNode(0, GFP_KERNEL | __GFP_HIGHMEM, 10)).toBe(0x38400 + i * 0x400);
    for (let i = 0; i < 0x3ff; i++)
      expect(pa.allocPagesNode(0, GFP_KERNEL | __GFP_HIGHMEM, 0)).toBe(0x38001 + i);
    expect(pa.allocPagesNode(0, GFP_KERNEL | __GFP_HIGHMEM, 0)).toBe(0x1);
  });

  it("rejects orders above MAX_PAGE_ORDER with one warning, bad orders and bad nodes", () => {
    const m = x64();
    const pa = m.pageAlloc;
    expect(pa.maxOrder).toBe(10);
    expect(pa.allocPagesNode(0, GFP_KERNEL, 11)).toBe(-1);
    expect(pa.allocPagesNode(0, GFP_KERNEL, 11)).toBe(-1);
    expect(pa.allocPagesNode(0, GFP_KERNEL | __GFP_NOWARN, 12)).toBe(-1);
    expect(m.log.dmesg()).toEqual([
      "------------[ cut here ]------------",
      "order 11 > MAX_PAGE_ORDER 10",
      "WARNING: CPU: 0 PID: 0 at mm/page_alloc.c __alloc_pages_noprof",
      "---[ end trace 0000000000000000 ]---",
    ]);
    expect(() => pa.allocPagesNode(0, GFP_KERNEL, -1)).toThrow(RangeError);
    expect(() => pa.allocPagesNode(0, GFP_KERNEL, 0.5)).toThrow(RangeError);
    expect(thrown(() => pa.allocPagesNode(2, GFP_KERNEL, 0))).toBeInstanceOf(KernelBug);
    expect(x64({ maxPageOrder: 3 }).pageAlloc.allocPagesNode(0, GFP_KERNEL | __GFP_NOWARN, 4)).toBe(-1);
  });

  it("fails where a fault rule says so, except with __GFP_NOFAIL", () => {
    const m = x64();
    m.faults.add({ site: "page_alloc", nth: 2, times: 2, caller: "pcpu_alloc_pages" });
    const pa = m.pageAlloc;
    expect(pa.allocPagesNode(0, GFP_KERNEL, 0, "pcpu_alloc_pages")).toBe(0);
    expect(pa.allocPagesNode(0, GFP_KERNEL, 0, "other")).toBe(1);
    expect(pa.allocPagesNode(0, GFP_KERNEL, 0, "pcpu_alloc_pages")).toBe(-1);
    expect(pa.allocPagesNode(0, GFP_KERNEL | __GFP_NOFAIL, 0, "pcpu_alloc_pages")).toBe(2);
    expect(pa.allocPagesNode(0, GFP_KERNEL, 0, "pcpu_alloc_pages")).toBe(-1);
    expect(pa.allocPagesNode(0, GFP_KERNEL, 0, "pcpu_alloc_pages")).toBe(3);
    expect(m.faults.calls("page_alloc")).toBe(5);
    expect(m.faults.failures("page_alloc")).toBe(2);
    // An injected failure does not print the allocation-failure warning.
    expect(m.log.dmesg().filter((l) => l.includes("page allocation failure"))).toEqual([]);
  });
});

describe("PageAllocator.freePages (__free_pages)", () => {
  function badPage(fn: () => void): BadPageError {
    const e = thrown(fn);
    expect(e).toBeInstanceOf(BadPageError);
    return e as BadPageError;
  }

  it("reports a double free as a bad page", () => {
    const m = x64();
    const pfn = m.pageAlloc.allocPagesNode(0, GFP_KERNEL, 0);
    m.pageAlloc.allocPagesNode(0, GFP_KERNEL, 0);
    m.pageAlloc.freePages(pfn, 0);
    const e = badPage(() => m.pageAlloc.freePages(pfn, 0));
    expect(e.pfn).toBe(0);
    expect(m.log.dmesg()).toEqual([
      "BUG: Bad page state in process swapper/0  pfn:00000",
      "page: refcount:0 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x0",
      "page dumped because: VM_BUG_ON_PAGE(page_ref_count(page) == 0): page is already free",
    ]);
    expect(m.pageAlloc.nrAllocatedPages()).toBe(1);
  });

  it("reports a page never allocated, a wrong order, a tail page and a non-page", () => {
    const m = x64();
    const pa = m.pageAlloc;
    expect(badPage(() => pa.freePages(0x1234, 0)).reason).toBe(
      "VM_BUG_ON_PAGE(page_ref_count(page) == 0): page is already free",
    );
    const pfn = pa.allocPagesNode(0, GFP_KERNEL, 3);
    expect(badPage(() => pa.freePages(pfn, 2)).reason).toBe("freed with order 2, allocated with order 3");
    expect(badPage(() => pa.freePages(pfn + 5, 0)).reason).toBe("tail page of the order-3 block at pfn:0x0");
    expect(badPage(() => pa.freePages(0x8000, 0)).reason).toBe("pfn is not memory");
    expect(badPage(() => pa.freePages(-1, 0)).reason).toBe("pfn is not memory");
    const mb = m.memblock.allocTryNid(0x1000, 0x1000, 0);
    expect(badPage(() => pa.freePages(mb / 0x1000, 0)).reason).toBe(
      "page is reserved by memblock, not from the page allocator",
    );
    expect(m.log.dmesg().filter((l) => l.startsWith("BUG: Bad page state")).length).toBe(6);
    expect(m.log.dmesg()).toContain("BUG: Bad page state in process swapper/0  pfn:03fff");
    pa.freePages(pfn, 3);
    expect(pa.nrAllocatedPages()).toBe(0);
  });
});

describe("PageAllocator.setPagePrivate (set_page_private)", () => {
  it("keeps a back pointer per page, clears it on free, refuses free pages", () => {
    const m = x64();
    const pa = m.pageAlloc;
    const chunk = { id: 7 };
    const pfn = pa.allocPagesNode(0, GFP_KERNEL, 2);
    for (let i = 0; i < 4; i++) pa.setPagePrivate(pfn + i, chunk);
    expect(pa.pagePrivate(pfn + 3)).toBe(chunk);
    pa.freePages(pfn, 2);
    expect(pa.pagePrivate(pfn + 3)).toBe(undefined);
    expect(thrown(() => pa.setPagePrivate(pfn, chunk))).toBeInstanceOf(KernelBug);
    expect(m.log.dmesg()).toEqual(["BUG: set_page_private on a free page pfn:0x0"]);
    expect(() => pa.setPagePrivate(0x9000, chunk)).toThrow("non-page");
    const mb = m.memblock.allocTryNid(0x1000, 0x1000, 0) / 0x1000;
    pa.setPagePrivate(mb, chunk);
    expect(pa.pagePrivate(mb)).toBe(chunk);
    m.memblock.free(mb * 0x1000, 0x1000);
    expect(pa.pagePrivate(mb)).toBe(undefined);
  });

  it("rejects counters for a node that does not exist", () => {
    expect(() => x64().pageAlloc.nodeCounters(2)).toThrow(RangeError);
    expect(
      x64()
        .pageAlloc.counters()
        .map((c) => c.freePages),
    ).toEqual([0x4000, 0x4000]);
  });
});

describe("formatGfpFlags (show_gfp_flags)", () => {
  it("names composite masks first, then single bits, then leftover hex", () => {
    expect(formatGfpFlags(GFP_KERNEL)).toBe("GFP_KERNEL");
    expect(formatGfpFlags(GFP_KERNEL | __GFP_ZERO)).toBe("GFP_KERNEL|__GFP_ZERO");
    expect(formatGfpFlags(GFP_KERNEL | __GFP_HIGHMEM)).toBe("GFP_KERNEL|__GFP_HIGHMEM");
    expect(formatGfpFlags(GFP_NOWAIT)).toBe("GFP_NOWAIT");
    expect(formatGfpFlags(GFP_ATOMIC)).toBe("GFP_ATOMIC");
    expect(formatGfpFlags(GFP_ATOMIC | __GFP_NOWARN)).toBe("GFP_ATOMIC|__GFP_NOWARN");
    expect(formatGfpFlags(0x200)).toBe("0x200");
    expect(formatGfpFlags(GFP_KERNEL | 0x1000000)).toBe("GFP_KERNEL|0x1000000");
    expect(formatGfpFlags(0)).toBe("none");
  });
});
