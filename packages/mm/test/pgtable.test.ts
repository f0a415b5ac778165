import { EBUSY, ENOMEM, GFP_KERNEL, KernelBug, PTE_ALLOC_CALLER } from "@pcpu/mm";
import { describe, expect, it } from "vitest";
import { i386, thrown, x64 } from "./fixtures.js";

const V = 0x200000000000; // vmallocStart of the x64 fixture

describe("PageTable.mapPage (vmap_pages_pte_range)", () => {
  it("maps, translates and counts pages; one leaf is one page-table page", () => {
    const m = x64();
    const pt = m.pgtable;
    expect(pt.ptrsPerPte).toBe(512);
    expect(i386().pgtable.ptrsPerPte).toBe(1024);
    expect(x64({ pageShift: 16 }).pgtable.ptrsPerPte).toBe(8192);
    expect(pt.mapPage(V, 0x10)).toBe(0);
    expect(pt.mapPage(V + 0x1ff000, 0x11)).toBe(0);
    expect(pt.leafCount()).toBe(1);
    expect(pt.mapPage(V + 0x200000, 0x12)).toBe(0); // next 2 MiB: a second leaf
    expect(pt.leafCount()).toBe(2);
    expect(pt.mappedPages()).toBe(3);
    expect(pt.translate(V + 0x123)).toBe(0x10123);
    expect(pt.translate(V + 0x1ff456)).toBe(0x11456);
    expect(pt.lookupPfn(V + 0x200fff)).toBe(0x12);
    expect(pt.lookupPfn(V + 0x1000)).toBe(-1);
    expect(pt.lookupPfn(V + 0x400000)).toBe(-1);
    expect(pt.lookupPfn(-5)).toBe(-1);
    expect(pt.translate(V + 0x1000)).toBe(-1);
  });

  it("WARNs and returns -EBUSY for a present PTE, -ENOMEM for a missing page", () => {
    const m = x64();
    expect(m.pgtable.mapPage(V, 0x10)).toBe(0);
    expect(m.pgtable.mapPage(V, 0x11)).toBe(-EBUSY);
    expect(m.pgtable.translate(V)).toBe(0x10000);
    expect(m.pgtable.mapPage(V + 0x1000, 0x8000)).toBe(-ENOMEM);
    expect(m.pgtable.mapPage(V + 0x1000, -1)).toBe(-ENOMEM);
    expect(m.log.dmesg()).toEqual([
      "------------[ cut here ]------------",
      "pte already present at 0x200000000000",
      "WARNING: CPU: 0 PID: 0 at mm/vmalloc.c vmap_pages_pte_range",
      "---[ end trace 0000000000000000 ]---",
      "------------[ cut here ]------------",
      "no page (pfn 32768) for 0x200000001000",
      "WARNING: CPU: 0 PID: 0 at mm/vmalloc.c vmap_pages_pte_range",
      "---[ end trace 0000000000000000 ]---",
      "------------[ cut here ]------------",
      "no page (pfn -1) for 0x200000001000",
      "WARNING: CPU: 0 PID: 0 at mm/vmalloc.c vmap_pages_pte_range",
      "---[ end trace 0000000000000000 ]---",
    ]);
    expect(m.pgtable.mappedPages()).toBe(1);
  });

  it("returns -ENOMEM when the page-table page allocation is failed (kmalloc/pte_alloc)", () => {
    const m = x64();
    m.faults.add({ site: "kmalloc", nth: 1, caller: PTE_ALLOC_CALLER });
    expect(m.pgtable.mapPage(V, 0x10)).toBe(-ENOMEM);
    expect(m.pgtable.leafCount()).toBe(0);
    expect(m.pgtable.mapPage(V, 0x10)).toBe(0);
    expect(m.pgtable.mapPage(V + 0x1000, 0x11)).toBe(0); // same leaf: no allocation
    expect(m.faults.calls("kmalloc")).toBe(2);
  });

  it("BUGs on an unaligned, out-of-range or direct-map address", () => {
    const m = x64();
    expect(thrown(() => m.pgtable.mapPage(V + 1, 0x10))).toBeInstanceOf(KernelBug);
    expect(m.log.dmesg()).toEqual(["kernel BUG: mapPage: bad kernel virtual address 0x200000000001"]);
    expect(() => m.pgtable.mapPage(2 ** 47, 0x10)).toThrow(KernelBug);
    expect(() => m.pgtable.mapPage(-0x1000, 0x10)).toThrow(KernelBug);
    expect(() => m.pgtable.mapPage(0x100000000000, 0x10)).toThrow(KernelBug);
    expect(() => m.pgtable.unmapPage(V + 8)).toThrow(KernelBug);
  });

  it("maps near the top of a 52-bit space without 32-bit truncation", () => {
    const top = 2 ** 52 - 0x1000;
    const m = x64({ vaBits: 52, vmallocStart: 2 ** 51, vmallocEnd: 2 ** 52 });
    expect(m.pgtable.mapPage(top, 0x7)).toBe(0);
    expect(m.pgtable.translate(top + 0xabc)).toBe(0x7abc);
    expect(m.pgtable.lookupPfn(top - 0x1000)).toBe(-1);
    expect(m.pgtable.unmapRange(2 ** 51, 2 ** 52)).toBe(1);
  });
});

describe("PageTable.mapPages (vmap_pages_range_noflush)", () => {
  it("stops at the first error and leaves earlier pages mapped", () => {
    const m = x64();
    expect(m.pgtable.mapPages(V, [1, 2, 3], 3)).toBe(0);
    expect(m.pgtable.mapPages(V + 0x10000, [4, 5, 0x9000, 6], 4)).toBe(-ENOMEM);
    expect(m.pgtable.lookupPfn(V + 0x11000)).toBe(5);
    expect(m.pgtable.lookupPfn(V + 0x12000)).toBe(-1);
    expect(m.pgtable.lookupPfn(V + 0x13000)).toBe(-1);
    expect(m.pgtable.mappedPages()).toBe(5);
    expect(() => m.pgtable.mapPages(V, [1], 2)).toThrow(RangeError);
  });
});

describe("PageTable.unmapPage / unmapRange (vunmap_range_noflush)", () => {
  it("clears PTEs across leaves and reports what was mapped", () => {
    const m = x64();
    const pt = m.pgtable;
    for (let i = 0; i < 4; i++) pt.mapPage(V + 0x1fe000 + i * 0x1000, 0x20 + i);
    expect(pt.unmapPage(V + 0x1fe000)).toBe(0x20);
    expect(pt.unmapPage(V + 0x1fe000)).toBe(-1);
    expect(pt.unmapPage(V + 0x800000)).toBe(-1);
    expect(pt.unmapRange(V, V + 0x200000 + 0x1000)).toBe(2);
    expect(pt.mappedPages()).toBe(1);
    expect(pt.lookupPfn(V + 0x201000)).toBe(0x23);
    expect(pt.unmapRange(V + 0x10000000, V + 0x20000000)).toBe(0);
    expect(thrown(() => pt.unmapRange(V, V))).toBeInstanceOf(KernelBug);
    expect(() => pt.unmapRange(V + 0x2000, V)).toThrow("empty or inverted range");
    expect(() => pt.unmapRange(V, V + 0x10)).toThrow(KernelBug);
  });
});

describe("PageTable.translate (direct map + PTEs)", () => {
  it("translates the direct map for memory and not for holes", () => {
    const m = x64({
      nodes: [
        { start: 0x0, size: 0x1000000 },
        { start: 0x2000000, size: 0x1000000 },
      ],
    });
    expect(m.pgtable.inDirectMap(0x100000000000)).toBe(true);
    expect(m.pgtable.translate(0x100000000000 + 0x1234)).toBe(0x1234);
    expect(m.pgtable.translate(0x100000000000 + 0x1800000)).toBe(-1); // hole between nodes
    expect(m.pgtable.translate(0x100000000000 + 0x2000010)).toBe(0x2000010);
  });
});

describe("PageTable flushes (flush_tlb_kernel_range, flush_cache_vmap, flush_cache_vunmap)", () => {
  it("counts each flush and rejects an inverted range", () => {
    const m = x64();
    m.pgtable.flushTlbKernelRange(V, V + 0x1000);
    m.pgtable.flushCacheVmap(V, V + 0x1000);
    m.pgtable.flushCacheVmap(V, V);
    m.pgtable.flushCacheVunmap(V, V + 0x1000);
    expect(m.pgtable.flushes).toEqual({ tlbKernelRange: 1, cacheVmap: 2, cacheVunmap: 1 });
    expect(() => m.pgtable.flushTlbKernelRange(V + 1, V)).toThrow(RangeError);
    expect(() => m.pgtable.flushCacheVmap(V + 1, V)).toThrow(RangeError);
    expect(() => m.pgtable.flushCacheVunmap(V + 1, V)).toThrow(RangeError);
  });

  it("keeps pages and mappings independent: freeing a page does not unmap it", () => {
    const m = x64();
    const pfn = m.pageAlloc.allocPagesNode(0, GFP_KERNEL, 0);
    m.pgtable.mapPage(V, pfn);
    m.pageAlloc.freePages(pfn, 0);
    expect(m.pgtable.lookupPfn(V)).toBe(pfn);
  });
});
