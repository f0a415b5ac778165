import { GFP_KERNEL, KernelBug } from "@pcpu/mm";
import { describe, expect, it } from "vitest";
import { i386, thrown, x64 } from "./fixtures.js";

describe("Memblock.allocTryNid (memblock_alloc_try_nid)", () => {
  it("allocates top-down on the node, zeroed, taken out of the page allocator", () => {
    const m = x64();
    m.phys.physMemset(0x3fff000, 0x5a, 0x1000); // stale bytes must be cleared
    expect(m.memblock.allocTryNid(0x1000, 0x1000, 0)).toBe(0x3fff000);
    expect(m.phys.physRead32(0x3fff800)).toBe(0);
    expect(m.memblock.allocTryNid(0x1000, 0x1000, 1)).toBe(0x7fff000);
    expect(m.pageAlloc.nodeCounters(0)).toEqual({
      nid: 0,
      managedPages: 0x3fff,
      freePages: 0x3fff,
      memblockPages: 1,
    });
    expect(m.pageAlloc.pageState(0x3fff)).toBe("memblock");
    expect(m.memblock.reservedBytes()).toBe(0x2000);
    expect(m.memblock.reservedBytes(1)).toBe(0x1000);
    expect(m.memblock.reservedRegions()).toBe(2);
  });

  it("packs small allocations into shared pages and gives a page back with its last byte", () => {
    const m = x64();
    expect(m.memblock.allocTryNid(0x1000, 0x1000, 0)).toBe(0x3fff000);
    expect(m.memblock.allocTryNid(0x10, 8, 0)).toBe(0x3ffeff0);
    expect(m.memblock.allocTryNid(0x10, 0, 0)).toBe(0x3ffefc0); // align 0 means SMP_CACHE_BYTES (64)
    expect(m.pageAlloc.nodeCounters(0).memblockPages).toBe(2);
    expect(m.memblock.reservedBytes(0)).toBe(0x1020);
    m.memblock.free(0x3ffeff0, 0x10);
    expect(m.pageAlloc.nodeCounters(0).memblockPages).toBe(2);
    m.memblock.free(0x3ffefc0, 0x10);
    expect(m.pageAlloc.nodeCounters(0).memblockPages).toBe(1);
    expect(m.pageAlloc.pageState(0x3ffe)).toBe("free");
    // The page allocator never hands out memblock's pages.
    for (let i = 0; i < 0x3fff; i++) expect(m.pageAlloc.allocPagesNode(0, GFP_KERNEL, 0)).toBe(i);
    expect(m.pageAlloc.nodeCounters(0).freePages).toBe(0);
  });

  it("embed-style: atom-aligned group area, then unit tails freed", () => {
    const m = x64();
    expect(m.memblock.allocTryNid(0x1000, 0x1000, 0)).toBe(0x3fff000);
    // 4 units of 0x8000 aligned to a 2 MiB atom: highest 2 MiB boundary with room below 0x3fff000.
    const base = m.memblock.allocTryNid(0x20000, 0x200000, 0);
    expect(base).toBe(0x3e00000);
    for (let u = 0; u < 4; u++) m.memblock.free(base + u * 0x8000 + 0x5000, 0x3000);
    expect(m.memblock.reservedBytes(0)).toBe(0x1000 + 4 * 0x5000);
    expect(m.pageAlloc.nodeCounters(0).memblockPages).toBe(1 + 4 * 5);
    // An unused unit goes back whole.
    m.memblock.free(base + 3 * 0x8000, 0x5000);
    expect(m.pageAlloc.nodeCounters(0).memblockPages).toBe(1 + 3 * 5);
  });

  it("falls back to any node (highest address) and fails with -1 when nothing fits", () => {
    const m = x64();
    expect(m.memblock.allocTryNid(0x3f00000, 0x1000, 0)).toBe(0x100000);
    expect(m.memblock.allocTryNid(0x200000, 0x1000, 0)).toBe(0x7e00000);
    expect(m.memblock.allocTryNid(0x1000, 0x1000, -1)).toBe(0x7dff000);
    expect(m.memblock.allocTryNid(0x8000000, 0x1000, 0)).toBe(-1);
    expect(m.memblock.allocTryNid(0x4000000, 0x1000, -1)).toBe(-1);
  });

  it("stays below the direct-map limit (lowmem) on a 32-bit machine", () => {
    const m = i386();
    expect(m.memblock.limit).toBe(0x38000000);
    expect(m.memblock.allocTryNid(0x1000, 0x1000, 0)).toBe(0x37fff000);
    expect(m.__va(0x37fff000)).toBe(0xf7fff000);
  });

  it("fails where a memblock fault rule says so", () => {
    const m = x64();
    m.faults.add({ site: "memblock", nth: 1, caller: "pcpu_fc_alloc" });
    expect(m.memblock.allocTryNid(0x1000, 0x1000, 0, "pcpu_fc_alloc")).toBe(-1);
    expect(m.memblock.allocTryNid(0x1000, 0x1000, 0, "pcpu_fc_alloc")).toBe(0x3fff000);
    expect(m.faults.failures("memblock")).toBe(1);
  });

  it("rejects bad sizes, alignments and nodes", () => {
    const m = x64();
    expect(() => m.memblock.allocTryNid(0, 8, 0)).toThrow(RangeError);
    expect(() => m.memblock.allocTryNid(1.5, 8, 0)).toThrow(RangeError);
    expect(() => m.memblock.allocTryNid(8, 3, 0)).toThrow("not a power of two");
    expect(() => m.memblock.allocTryNid(8, -8, 0)).toThrow("not a power of two");
    expect(() => m.memblock.allocTryNid(8, 8, 2)).toThrow("no node 2");
    expect(() => m.memblock.reservedBytes(5)).toThrow(RangeError);
  });
});

describe("Memblock.free (memblock_phys_free)", () => {
  it("reports freeing bytes that are not reserved", () => {
    const m = x64();
    const p = m.memblock.allocTryNid(0x100, 0x100, 0);
    m.memblock.free(p, 0); // nothing to do
    const e = thrown(() => m.memblock.free(p, 0x200));
    expect(e).toBeInstanceOf(KernelBug);
    expect(m.log.dmesg()).toEqual([
      "BUG: memblock_free: [mem 0x0000000003ffff00-0x00000000040000ff] is not reserved",
    ]);
    m.memblock.free(p, 0x100);
    expect(() => m.memblock.free(p, 0x100)).toThrow("is not reserved");
    expect(() => m.memblock.free(-1, 0x100)).toThrow(RangeError);
    expect(m.memblock.reservedBytes()).toBe(0);
    expect(m.pageAlloc.nrFreePages()).toBe(0x8000);
  });
});

describe("Memblock.reserve (memblock_reserve)", () => {
  it("reserves free memory and refuses allocated pages, reserved bytes and holes", () => {
    const m = x64({
      nodes: [
        { start: 0x0, size: 0x1000000 },
        { start: 0x2000000, size: 0x1000000 },
      ],
    });
    m.memblock.reserve(0x100000, 0x1800);
    expect(m.pageAlloc.nodeCounters(0).memblockPages).toBe(2);
    expect(m.memblock.allocTryNid(0x800, 0x800, 0)).toBe(0xfff800);
    expect(() => m.memblock.reserve(0x101000, 0x100)).toThrow(KernelBug);
    const pfn = m.pageAlloc.allocPagesNode(0, GFP_KERNEL, 0);
    expect(() => m.memblock.reserve(pfn * 0x1000, 0x1000)).toThrow("is not free memory");
    expect(() => m.memblock.reserve(0x1800000, 0x1000)).toThrow("is not free memory");
    expect(() => m.memblock.reserve(0, 0)).toThrow(RangeError);
    // A reservation sharing a page with an existing one takes no new page.
    m.memblock.reserve(0x101800, 0x800);
    expect(m.pageAlloc.nodeCounters(0).memblockPages).toBe(3);
  });
});
