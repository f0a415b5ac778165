import {
  __GFP_HIGHMEM,
  ENOMEM,
  GFP_KERNEL,
  KernelBug,
  LOGLEVEL_WARNING,
  PTE_ALLOC_CALLER,
  SleepInAtomicError,
  type VmArea,
} from "@pcpu/mm";
import { allocPercpu, freePercpu, PCPU_EMPTY_POP_PAGES_HIGH, type PcpuChunkView } from "@pcpu/percpu";
import { bootTestKernel } from "@pcpu/percpu/testing";
import { describe, expect, it, vi } from "vitest";
import {
  PCPU_ALLOC_PAGES_CALLER,
  PCPU_GET_PAGES_CALLER,
  PCPU_GET_VM_AREAS_CALLER,
  type PercpuVm,
  percpuVm,
} from "../src/index.js";
import { bootVm, type VmKernel } from "./helpers/kernel.js";

const PAGE = 0x1000;

/** Weight of the populated bitmap. */
function popWeight(chunk: PcpuChunkView): number {
  let n = 0;
  for (let i = 0; i < chunk.nrPages; i++) if (chunk.populated[i >>> 5]! & (1 << (i & 31))) n++;
  return n;
}

/** A snapshot of what the machine holds, to compare before and after a failed call. */
function snapshot(k: VmKernel) {
  return {
    allocated: k.machine.pageAlloc.nrAllocatedPages(),
    mapped: k.machine.pgtable.mappedPages(),
    areas: k.machine.vmalloc.areas().length,
    backendPages: k.vm.counters.pagesAllocated,
  };
}

/** Create a chunk the way pcpu_alloc does (outside pcpu_lock). */
function createChunk(k: VmKernel): PcpuChunkView {
  const chunk = k.vm.pcpuCreateChunk(GFP_KERNEL);
  expect(chunk).not.toBeNull();
  return chunk!;
}

describe("pcpuCreateChunk (pcpu_create_chunk)", () => {
  it("reserves one congruent vm area per group and populates nothing", () => {
    const k = bootVm(8, 2);
    /* 8 CPUs over 2 nodes, 2 MiB atoms: units of 0x80000, groups of 4 units. */
    expect(k.pcpu.unitPages).toBe(0x80);
    expect(k.pcpu.groupOffsets).toEqual([0, 0x10200000]);
    expect(k.pcpu.groupSizes).toEqual([0x200000, 0x200000]);
    const before = snapshot(k);
    /* The first chunk was counted and traced by pcpu_setup_first_chunk. */
    expect(k.rec.chunks).toBe(1);
    expect(k.rec.events).toHaveLength(1);
    const chunk = createChunk(k);
    const vms = chunk.data as VmArea[];
    expect(vms).toHaveLength(2);
    for (let g = 0; g < 2; g++) {
      expect(vms[g]!.addr - chunk.baseAddr).toBe(k.pcpu.groupOffsets[g]);
      expect(vms[g]!.size).toBe(0x200000);
      expect(vms[g]!.caller).toBe(PCPU_GET_VM_AREAS_CALLER);
      expect(vms[g]!.addr % 0x200000).toBe(0);
    }
    expect(chunk.baseAddr).toBe(vms[0]!.addr);
    /* Top-down: the highest 2 MiB aligned base whose last area ends at VMALLOC_END. */
    expect(chunk.baseAddr).toBe(0x6000_0000_0000 - 0x10200000 - 0x200000);
    expect(chunk.nrPopulated).toBe(0);
    expect(popWeight(chunk)).toBe(0);
    expect(snapshot(k)).toEqual({ ...before, areas: before.areas + 2 });
    expect(k.rec.chunks).toBe(2);
    expect(k.rec.events.slice(1)).toEqual([
      { event: "percpu_create_chunk", cpu: 0, baseAddr: chunk.baseAddr },
    ]);
    expect(k.vm.counters.chunksCreated).toBe(1);
  });

  it("places a second chunk at the next highest congruent base (inside the first chunk's gap)", () => {
    const k = bootVm(8, 2);
    const a = createChunk(k);
    const b = createChunk(k);
    expect(b.baseAddr).toBe(a.baseAddr - 0x200000);
    const vb = b.data as VmArea[];
    expect(vb[1]!.addr).toBe(a.baseAddr + 0x10000000);
  });

  it("fails with nothing reserved when pcpu_get_vm_areas fails (injected)", () => {
    const k = bootVm(8, 2);
    const free = vi.spyOn(k.pcpu, "pcpuFreeChunk");
    const before = snapshot(k);
    k.machine.faults.add({ site: "vmalloc", nth: 1, caller: PCPU_GET_VM_AREAS_CALLER });
    expect(k.vm.pcpuCreateChunk(GFP_KERNEL)).toBeNull();
    expect(free).toHaveBeenCalledTimes(1);
    expect(snapshot(k)).toEqual(before);
    expect(k.rec.chunks).toBe(1);
    expect(k.rec.events).toHaveLength(1);
  });

  it("fails when the vmalloc space has no room for the whole congruent span", () => {
    const k = bootVm(8, 2);
    const vmalloc = k.machine.vmalloc;
    /* Leave 0x10000000 free at the top: less than the 0x10400000 span. */
    const hog = vmalloc.getVmArea(vmalloc.total - 0x10000000, PAGE, "hog");
    expect(hog).not.toBeNull();
    const before = snapshot(k);
    expect(k.vm.pcpuCreateChunk(GFP_KERNEL)).toBeNull();
    expect(snapshot(k)).toEqual(before);
    vmalloc.freeVmArea(hog!);
    expect(k.vm.pcpuCreateChunk(GFP_KERNEL)).not.toBeNull();
  });

  it("fails before reserving anything when the chunk metadata cannot be allocated", () => {
    const k = bootVm(8, 2);
    const before = snapshot(k);
    const vmCalls = k.machine.faults.calls("vmalloc");
    k.machine.faults.add({ site: "kmalloc", nth: 1, caller: "pcpu_alloc_chunk" });
    expect(k.vm.pcpuCreateChunk(GFP_KERNEL)).toBeNull();
    expect(k.machine.faults.calls("vmalloc")).toBe(vmCalls);
    expect(snapshot(k)).toEqual(before);
  });

  it("is a BUG in atomic context (it may sleep)", () => {
    const k = bootVm(4, 1);
    expect(() => k.machine.ctx.runAtomic("spinlock", () => k.vm.pcpuCreateChunk(GFP_KERNEL))).toThrow(
      SleepInAtomicError,
    );
  });
});

describe("pcpuDestroyChunk (pcpu_destroy_chunk)", () => {
  it("is NULL-safe", () => {
    const k = bootVm(4, 1);
    const before = snapshot(k);
    k.vm.pcpuDestroyChunk(null);
    expect(snapshot(k)).toEqual(before);
    expect(k.rec.chunks).toBe(1);
    expect(k.rec.events).toHaveLength(1);
  });

  it("gives the vm areas back, with the stats and trace hooks and the metadata", () => {
    const k = bootVm(8, 2);
    const before = snapshot(k);
    const chunk = createChunk(k);
    const free = vi.spyOn(k.pcpu, "pcpuFreeChunk");
    k.vm.pcpuDestroyChunk(chunk);
    expect(free).toHaveBeenCalledWith(chunk);
    expect(snapshot(k)).toEqual(before);
    expect(k.rec.chunks).toBe(1);
    expect(k.rec.events.at(-1)).toEqual({ event: "percpu_destroy_chunk", cpu: 0, baseAddr: chunk.baseAddr });
    expect(k.vm.counters.chunksDestroyed).toBe(1);
  });
});

describe("pcpuPopulateChunk (pcpu_populate_chunk)", () => {
  it("allocates one page per possible CPU and page on the CPU's node, maps it, points it back, one cache flush", () => {
    const k = bootVm(8, 2);
    const chunk = createChunk(k);
    const pt = k.machine.pgtable;
    const flush = vi.spyOn(pt, "flushCacheVmap");
    const before = snapshot(k);
    const f0 = { ...pt.flushes };

    expect(k.vm.pcpuPopulateChunk(chunk, 0, 3, GFP_KERNEL)).toBe(0);

    /* nr possible CPUs * pages = 8 * 3 */
    expect(k.machine.pageAlloc.nrAllocatedPages() - before.allocated).toBe(0x18);
    expect(pt.mappedPages() - before.mapped).toBe(0x18);
    expect(k.vm.counters.pagesAllocated).toBe(0x18);
    const seen = new Set<number>();
    for (let cpu = 0; cpu < 8; cpu++) {
      for (let i = 0; i < 3; i++) {
        const addr = chunk.baseAddr + k.pcpu.unitOffsets[cpu]! + i * PAGE;
        const pfn = pt.lookupPfn(addr);
        expect(pfn).toBeGreaterThanOrEqual(0);
        expect(seen.has(pfn)).toBe(false);
        seen.add(pfn);
        expect(k.machine.phys.pfnToNid(pfn)).toBe(k.cpuToNode[cpu]);
        expect(k.machine.pageAlloc.pagePrivate(pfn)).toBe(chunk);
        expect(k.vm.pcpuAddrToPage(addr + 0x123)).toBe(pfn);
      }
      /* The next page of the unit stays unmapped. */
      expect(pt.lookupPfn(chunk.baseAddr + k.pcpu.unitOffsets[cpu]! + 3 * PAGE)).toBe(-1);
    }
    /* The populated bitmap is the core's business. */
    expect(chunk.nrPopulated).toBe(0);
    expect(popWeight(chunk)).toBe(0);
    /* One flush for the whole operation, lowest unit to highest. */
    expect(pt.flushes).toEqual({ ...f0, cacheVmap: f0.cacheVmap + 1 });
    expect(flush).toHaveBeenCalledWith(chunk.baseAddr, chunk.baseAddr + k.pcpu.unitOffsets[7]! + 3 * PAGE);
    expect(k.pcpu.unitOffsets[7]).toBe(0x10200000 + 3 * 0x80000);
  });

  it("gets the temp page array once (nr_units * unit_pages entries) and keeps it", () => {
    const k = bootVm(8, 2);
    const chunk = createChunk(k);
    expect(k.vm.pages).toBeNull();
    const kmallocs = k.machine.faults.calls("kmalloc");
    expect(k.vm.pcpuPopulateChunk(chunk, 0, 1, GFP_KERNEL)).toBe(0);
    expect(k.vm.pages).toHaveLength(8 * 0x80);
    const pages = k.vm.pages;
    /* the array, then one page-table leaf per group area */
    expect(k.machine.faults.calls("kmalloc")).toBe(kmallocs + 3);
    expect(k.vm.pcpuPopulateChunk(chunk, 1, 2, GFP_KERNEL)).toBe(0);
    expect(k.vm.pages).toBe(pages);
    /* The second populate allocated neither the array nor a page-table page (same leaves). */
    expect(k.machine.faults.calls("kmalloc")).toBe(kmallocs + 3);
  });

  it("returns -ENOMEM with nothing allocated when the temp page array cannot be allocated", () => {
    const k = bootVm(8, 2);
    const chunk = createChunk(k);
    const before = snapshot(k);
    const pageCalls = k.machine.faults.calls("page_alloc");
    k.machine.faults.add({ site: "kmalloc", nth: 1, caller: PCPU_GET_PAGES_CALLER });
    expect(k.vm.pcpuPopulateChunk(chunk, 0, 1, GFP_KERNEL)).toBe(-ENOMEM);
    expect(k.vm.pages).toBeNull();
    expect(k.machine.faults.calls("page_alloc")).toBe(pageCalls);
    expect(snapshot(k)).toEqual(before);
    expect(k.vm.counters.populateFailures).toBe(1);
    k.machine.faults.clear();
    expect(k.vm.pcpuPopulateChunk(chunk, 0, 1, GFP_KERNEL)).toBe(0);
  });

  it("asks for highmem pages (__GFP_HIGHMEM added to the caller's gfp)", () => {
    const k = bootTestKernel({ population: percpuVm, cpus: 4, bits: 32, memPerNode: 0x40000000 });
    const vm = k.pcpu.backend as PercpuVm;
    const spy = vi.spyOn(k.machine.pageAlloc, "allocPagesNode");
    const chunk = vm.pcpuCreateChunk(GFP_KERNEL)!;
    expect(vm.pcpuPopulateChunk(chunk, 0, 2, GFP_KERNEL)).toBe(0);
    expect(spy).toHaveBeenCalledTimes(8);
    for (const call of spy.mock.calls) {
      expect(call[1]).toBe(GFP_KERNEL | __GFP_HIGHMEM);
      expect(call[2]).toBe(0);
      expect(call[3]).toBe(PCPU_ALLOC_PAGES_CALLER);
    }
    /* 1 GiB, direct map 0x30000000: the pages come from above the direct map. */
    for (let cpu = 0; cpu < 4; cpu++) {
      const pfn = vm.pcpuAddrToPage(chunk.baseAddr + k.pcpu.unitOffsets[cpu]!);
      expect(pfn).toBeGreaterThanOrEqual(0x30000);
    }
  });

  it("unwinds completely when the page allocator fails at any page of the call (64 CPUs)", () => {
    const k = bootVm(64, 4);
    expect(k.pcpu.unitPages).toBe(0x40);
    const chunk = createChunk(k);
    /* Warm up the temp array and the page-table leaves of pages [0, 2). */
    expect(k.vm.pcpuPopulateChunk(chunk, 0, 2, GFP_KERNEL)).toBe(0);
    k.vm.pcpuDepopulateChunk(chunk, 0, 2);
    k.vm.pcpuPostUnmapTlbFlush(chunk, 0, 2);
    const before = snapshot(k);
    const flushes = { ...k.machine.pgtable.flushes };
    k.machine.faults.verbose = false;
    /* 64 CPUs * 2 pages = 128 page allocations; fail each one in turn. */
    for (let nth = 1; nth <= 0x80; nth++) {
      const calls = k.machine.faults.calls("page_alloc");
      k.machine.faults.add({ site: "page_alloc", nth, caller: PCPU_ALLOC_PAGES_CALLER });
      expect(k.vm.pcpuPopulateChunk(chunk, 0, 2, GFP_KERNEL)).toBe(-ENOMEM);
      k.machine.faults.clear();
      /* It stopped at the failing allocation (unit (nth-1)/2, page (nth-1)%2). */
      expect(k.machine.faults.calls("page_alloc") - calls).toBe(nth);
      expect(snapshot(k)).toEqual(before);
      expect(chunk.nrPopulated).toBe(0);
      expect(popWeight(chunk)).toBe(0);
    }
    /* Allocation failures never got to mapping: no flush at all. */
    expect(k.machine.pgtable.flushes).toEqual(flushes);
    /* Unit 37 of 64 (the 75th allocation) in detail: every page freed. */
    for (let cpu = 0; cpu < 64; cpu++) {
      for (let i = 0; i < 2; i++) {
        expect(k.machine.pgtable.lookupPfn(chunk.baseAddr + k.pcpu.unitOffsets[cpu]! + i * PAGE)).toBe(-1);
      }
    }
    expect(k.vm.pcpuPopulateChunk(chunk, 0, 2, GFP_KERNEL)).toBe(0);
    expect(k.machine.pageAlloc.nrAllocatedPages() - before.allocated).toBe(0x80);
  });

  it("unwinds a page-table allocation failure: unmaps every CPU up to the failing one, one TLB flush", () => {
    const k = bootVm(64, 4);
    const pt = k.machine.pgtable;
    k.machine.faults.verbose = false;
    /*
     * A fresh chunk needs one page-table leaf (512 PTEs = 2 MiB = 8 units of
     * 0x40000) per 8 CPUs for page 0: 8 leaves. Failing the nth leaf fails
     * the map of CPU 8 * (nth - 1).
     */
    for (let nth = 1; nth <= 8; nth++) {
      const chunk = createChunk(k);
      const before = snapshot(k);
      const leaves = pt.leafCount();
      const f0 = { ...pt.flushes };
      const tlb = vi.spyOn(pt, "flushTlbKernelRange");
      const unmap = vi.spyOn(pt, "unmapRange");
      k.machine.faults.add({ site: "kmalloc", nth, caller: PTE_ALLOC_CALLER });
      expect(k.vm.pcpuPopulateChunk(chunk, 0, 1, GFP_KERNEL)).toBe(-ENOMEM);
      k.machine.faults.clear();
      const failCpu = 8 * (nth - 1);
      expect(pt.leafCount() - leaves).toBe(nth - 1);
      /* unmapped: CPUs 0 .. failCpu inclusive, in order */
      expect(unmap).toHaveBeenCalledTimes(failCpu + 1);
      for (let cpu = 0; cpu <= failCpu; cpu++) {
        const a = chunk.baseAddr + k.pcpu.unitOffsets[cpu]!;
        expect(unmap.mock.calls[cpu]).toEqual([a, a + PAGE]);
      }
      expect(tlb).toHaveBeenCalledTimes(1);
      expect(tlb).toHaveBeenCalledWith(chunk.baseAddr, chunk.baseAddr + k.pcpu.unitOffsets[63]! + PAGE);
      expect(pt.flushes).toEqual({ ...f0, tlbKernelRange: f0.tlbKernelRange + 1 });
      /* every page allocated by the call is freed, nothing stays mapped, back pointers gone */
      expect(snapshot(k)).toEqual(before);
      expect(popWeight(chunk)).toBe(0);
      tlb.mockRestore();
      unmap.mockRestore();
    }
  });

  it("unwinds a mapping conflict (-EBUSY from vmap) the kernel's way, including the failing CPU's range", () => {
    const k = bootVm(8, 2);
    const pt = k.machine.pgtable;
    const chunk = createChunk(k);
    expect(k.vm.pcpuPopulateChunk(chunk, 5, 6, GFP_KERNEL)).toBe(0); /* temp array + leaves */
    const before = snapshot(k);
    /* A stray PTE at CPU 2's page 1: the map of CPU 2 fails there. */
    const stray = chunk.baseAddr + k.pcpu.unitOffsets[2]! + PAGE;
    expect(pt.mapPage(stray, 0x10)).toBe(0);
    const nlines = k.machine.log.lines().length;
    expect(k.vm.pcpuPopulateChunk(chunk, 0, 2, GFP_KERNEL)).toBe(-ENOMEM);
    const warned = k.machine.log.lines().slice(nlines);
    expect(warned.some((l) => l.text.startsWith("pte already present at"))).toBe(true);
    /* CPUs 0, 1 and 2 unmapped over [0, 2): the stray PTE went too, as in the kernel. */
    expect(pt.lookupPfn(stray)).toBe(-1);
    expect(snapshot(k)).toEqual(before);
    /* Pages 5 of every CPU are untouched. */
    for (let cpu = 0; cpu < 8; cpu++)
      expect(pt.lookupPfn(chunk.baseAddr + k.pcpu.unitOffsets[cpu]! + 5 * PAGE)).not.toBe(-1);
  });
});

describe("pcpuDepopulateChunk (pcpu_depopulate_chunk)", () => {
  it("unmaps and frees [s, e) of every CPU with one cache flush and no TLB flush", () => {
    const k = bootVm(8, 2);
    const pt = k.machine.pgtable;
    const chunk = createChunk(k);
    const before = snapshot(k);
    expect(k.vm.pcpuPopulateChunk(chunk, 0, 4, GFP_KERNEL)).toBe(0);
    const f0 = { ...pt.flushes };
    const vunmap = vi.spyOn(pt, "flushCacheVunmap");
    k.vm.pcpuDepopulateChunk(chunk, 1, 3);
    expect(k.machine.pageAlloc.nrAllocatedPages() - before.allocated).toBe(8 * 2);
    expect(pt.mappedPages() - before.mapped).toBe(8 * 2);
    for (let cpu = 0; cpu < 8; cpu++) {
      const u = chunk.baseAddr + k.pcpu.unitOffsets[cpu]!;
      expect(pt.lookupPfn(u)).not.toBe(-1);
      expect(pt.lookupPfn(u + PAGE)).toBe(-1);
      expect(pt.lookupPfn(u + 2 * PAGE)).toBe(-1);
      expect(pt.lookupPfn(u + 3 * PAGE)).not.toBe(-1);
    }
    expect(pt.flushes).toEqual({ ...f0, cacheVunmap: f0.cacheVunmap + 1 });
    expect(vunmap).toHaveBeenCalledWith(
      chunk.baseAddr + PAGE,
      chunk.baseAddr + k.pcpu.unitOffsets[7]! + 3 * PAGE,
    );

    const tlb = vi.spyOn(pt, "flushTlbKernelRange");
    k.vm.pcpuPostUnmapTlbFlush(chunk, 1, 3);
    expect(pt.flushes.tlbKernelRange).toBe(f0.tlbKernelRange + 1);
    expect(tlb).toHaveBeenCalledWith(
      chunk.baseAddr + PAGE,
      chunk.baseAddr + k.pcpu.unitOffsets[7]! + 3 * PAGE,
    );
    expect(k.vm.counters.depopulateCalls).toBe(1);
  });

  it("WARNs for each page that is not mapped and frees only what was", () => {
    const k = bootVm(4, 1);
    const chunk = createChunk(k);
    expect(k.vm.pcpuPopulateChunk(chunk, 0, 1, GFP_KERNEL)).toBe(0);
    const before = snapshot(k);
    const nlines = k.machine.log.lines().length;
    k.vm.pcpuDepopulateChunk(chunk, 0, 2);
    const warnings = k.machine.log
      .lines()
      .slice(nlines)
      .filter(
        (l) => l.level === LOGLEVEL_WARNING && l.text.startsWith("WARNING: CPU: 0 PID: 0 at mm/percpu-vm.c"),
      );
    /* page 1 of each of the 4 CPUs was never mapped */
    expect(warnings).toHaveLength(4);
    expect(k.machine.pageAlloc.nrAllocatedPages()).toBe(before.allocated - 4);
    expect(k.machine.pgtable.mappedPages()).toBe(before.mapped - 4);
  });

  it("is a BUG when the temp page array does not exist and cannot be allocated", () => {
    const k = bootVm(4, 1);
    const chunk = createChunk(k);
    k.machine.faults.add({ site: "kmalloc", nth: 1, caller: PCPU_GET_PAGES_CALLER });
    expect(() => k.vm.pcpuDepopulateChunk(chunk, 0, 1)).toThrow(KernelBug);
    expect(k.machine.log.dmesg().at(-1)).toBe(
      "kernel BUG at mm/percpu-vm.c: pcpu_depopulate_chunk: no temp page array",
    );
  });
});

describe("pcpuAddrToPage (pcpu_addr_to_page)", () => {
  it("translates through the page table; -1 where nothing is mapped", () => {
    const k = bootVm(4, 1);
    const chunk = createChunk(k);
    const a = chunk.baseAddr + k.pcpu.unitOffsets[3]! + 2 * PAGE;
    expect(k.vm.pcpuAddrToPage(a)).toBe(-1);
    expect(k.vm.pcpuPopulateChunk(chunk, 2, 3, GFP_KERNEL)).toBe(0);
    const pfn = k.vm.pcpuAddrToPage(a);
    expect(k.machine.pgtable.translate(a + 0xfff)).toBe(pfn * PAGE + 0xfff);
    expect(k.vm.pcpuAddrToPage(a + 0xfff)).toBe(pfn);
  });
});

describe("pcpuVerifyAllocInfo (pcpu_verify_alloc_info)", () => {
  it("accepts any layout, several groups included", () => {
    const k = bootVm(8, 2);
    expect(k.pcpu.ai!.nrGroups).toBe(2);
    expect(k.vm.pcpuVerifyAllocInfo(k.pcpu.ai!)).toBe(0);
  });
});

describe("pcpuShouldReclaimChunk (pcpu_should_reclaim_chunk)", () => {
  it("never reclaims the first or the reserved chunk", () => {
    const k = bootVm(4, 1);
    expect(k.vm.pcpuShouldReclaimChunk(k.pcpu.firstChunk)).toBe(false);
    expect(k.pcpu.reservedChunk).not.toBeNull();
    expect(k.vm.pcpuShouldReclaimChunk(k.pcpu.reservedChunk!)).toBe(false);
  });

  it("reclaims an isolated chunk with empty populated pages", () => {
    const k = bootVm(4, 1);
    const chunk = createChunk(k);
    chunk.isolated = true;
    expect(k.vm.pcpuShouldReclaimChunk(chunk)).toBe(false);
    chunk.nrEmptyPopPages = 1;
    expect(k.vm.pcpuShouldReclaimChunk(chunk)).toBe(true);
  });

  it("reclaims a chunk a quarter empty only while the rest of the system keeps more than HIGH", () => {
    const k = bootVm(8, 2);
    const chunk = createChunk(k);
    const quarter = chunk.nrPages / 4;
    expect(quarter).toBe(0x20);
    const saved = k.pcpu.nrEmptyPopPages;
    chunk.nrEmptyPopPages = quarter;
    k.pcpu.nrEmptyPopPages = PCPU_EMPTY_POP_PAGES_HIGH + quarter;
    expect(k.vm.pcpuShouldReclaimChunk(chunk)).toBe(false);
    k.pcpu.nrEmptyPopPages = PCPU_EMPTY_POP_PAGES_HIGH + quarter + 1;
    expect(k.vm.pcpuShouldReclaimChunk(chunk)).toBe(true);
    chunk.nrEmptyPopPages = quarter - 1;
    k.pcpu.nrEmptyPopPages = PCPU_EMPTY_POP_PAGES_HIGH + quarter + 1;
    expect(k.vm.pcpuShouldReclaimChunk(chunk)).toBe(false);
    k.pcpu.nrEmptyPopPages = saved;
    chunk.nrEmptyPopPages = 0;
  });
});

describe("percpu-vm under the core (pcpu_alloc, free_percpu, pcpu_balance_workfn)", () => {
  it("populates exactly the pages an allocation touches, in every possible CPU's unit", () => {
    const k = bootVm(8, 2);
    const base = k.machine.pageAlloc.nrAllocatedPages();
    /* 0x8000 does not fit the first chunk's 0x7000 dynamic area: a chunk is created. */
    const p = allocPercpu(k.pcpu, 0x8000, 0x1000);
    expect(p).not.toBeNull();
    expect(k.vm.counters.chunksCreated).toBe(1);
    const chunk = k.pcpu.allChunks().find((c) => c !== k.pcpu.firstChunk)!;
    /* 8 pages per unit * 8 CPUs, one populate call, one cache flush. */
    expect(chunk.nrPopulated).toBe(8);
    expect(k.machine.pageAlloc.nrAllocatedPages() - base).toBe(0x40);
    expect(k.vm.counters.populateCalls).toBe(1);
    expect(k.pcpu.pcpuNrPages()).toBe((45 + 8) * 8);
    freePercpu(k.pcpu, p);
  });

  it("reclaims a chunk's empty pages with one TLB flush for the chunk", () => {
    const k = bootVm(4, 1);
    const pt = k.machine.pgtable;
    const ptrs = [];
    /* 16 allocations of 0x8000 fill a 0x80000 unit: pages [0, 0x80) populated. */
    for (let i = 0; i < 16; i++) ptrs.push(allocPercpu(k.pcpu, 0x8000, 0x1000)!);
    const chunk = k.pcpu.allChunks().find((c) => c !== k.pcpu.firstChunk)!;
    expect(chunk.nrPopulated).toBe(0x80);
    /* A second chunk supplies the global pool, so this one may be reclaimed. */
    const spare = allocPercpu(k.pcpu, 0x8000, 0x1000)!;
    while (k.machine.wq.pendingCount() > 0) k.machine.wq.runPending();
    const allocated = k.machine.pageAlloc.nrAllocatedPages();
    const f0 = { ...pt.flushes };
    const depop0 = k.vm.counters.depopulateCalls;
    /* Free all but the first allocation: pages [8, 0x80) become empty. */
    for (let i = 1; i < 16; i++) freePercpu(k.pcpu, ptrs[i]!);
    expect(chunk.isolated).toBe(true);
    while (k.machine.wq.pendingCount() > 0) k.machine.wq.runPending();
    /*
     * The 4th free leaves 0x20 empty pages (a quarter) while the pool holds
     * 7 + 0x20 > HIGH + 0x20: isolated. Reclaim walks down from the top
     * while the pool (the first chunk's 7 pages) stays >= HIGH: one run
     * [8, 0x80), 0x78 pages per unit, then the chunk is sidelined.
     */
    expect(chunk.nrPopulated).toBe(8);
    expect(chunk.slot).toBe(k.pcpu.sidelinedSlot);
    expect(k.machine.pageAlloc.nrAllocatedPages()).toBe(allocated - 0x78 * 4);
    expect(pt.flushes.tlbKernelRange - f0.tlbKernelRange).toBe(1);
    expect(pt.flushes.cacheVunmap - f0.cacheVunmap).toBe(k.vm.counters.depopulateCalls - depop0);
    expect(k.vm.counters.depopulateCalls - depop0).toBe(1);
    freePercpu(k.pcpu, ptrs[0]!);
    freePercpu(k.pcpu, spare);
  });
});

describe("pcpuBalanceFree (pcpu_balance_free) destroy order", () => {
  it("destroys the doomed chunks last-found first, as list_move to the head of to_free leaves them", () => {
    const k = bootVm(4, 1);
    /* Three chunks put on the free slot in turn: each lands at the head, so the list is [c3, c2, c1]. */
    const c1 = createChunk(k);
    const c2 = createChunk(k);
    const c3 = createChunk(k);
    /* Give c1 and c2 one populated page each, so their page frees are ordered too. */
    expect(k.vm.pcpuPopulateChunk(c1, 0, 1, GFP_KERNEL)).toBe(0);
    k.pcpu.pcpuChunkPopulated(c1, 0, 1);
    expect(k.vm.pcpuPopulateChunk(c2, 0, 1, GFP_KERNEL)).toBe(0);
    k.pcpu.pcpuChunkPopulated(c2, 0, 1);
    k.pcpu.lock.lockIrq();
    for (const c of [c1, c2, c3]) k.pcpu.pcpuChunkRelocate(c, -1);
    k.pcpu.lock.unlockIrq();
    expect(k.pcpu.chunksInSlot(k.pcpu.freeSlot)).toEqual([c3, c2, c1]);
    const pfnOf = (c: PcpuChunkView) => k.vm.pcpuAddrToPage(c.baseAddr);
    const pages = new Map([
      [pfnOf(c1), "c1"],
      [pfnOf(c2), "c2"],
    ]);
    const areas = new Map([
      [(c1.data as VmArea[])[0]!, "c1"],
      [(c2.data as VmArea[])[0]!, "c2"],
    ]);
    const order: string[] = [];
    const pa = k.machine.pageAlloc;
    const realFree = pa.freePages.bind(pa);
    vi.spyOn(pa, "freePages").mockImplementation((pfn, o) => {
      const who = pages.get(pfn);
      if (who !== undefined) order.push(`pages ${who}`);
      realFree(pfn, o);
    });
    const va = k.machine.vmalloc;
    const realFreeAreas = va.freeVmAreas.bind(va);
    vi.spyOn(va, "freeVmAreas").mockImplementation((a) => {
      order.push(`areas ${areas.get(a[0]!)}`);
      realFreeAreas(a);
    });
    const n0 = k.rec.events.length;
    k.pcpu.balanceWork.fn();
    /*
     * The walk spares c3 (the head) and moves c2, then c1, to the head of
     * to_free: [c1, c2]. c1 is depopulated and destroyed before c2.
     */
    const destroyed = k.rec.events
      .slice(n0)
      .filter((e) => e.event === "percpu_destroy_chunk")
      .map((e) => (e as { baseAddr: number }).baseAddr);
    expect(destroyed).toEqual([c1.baseAddr, c2.baseAddr]);
    /* CPU 0's page of each chunk (the one recorded), then that chunk's vm area */
    expect(order).toEqual(["pages c1", "areas c1", "pages c2", "areas c2"]);
    expect(k.pcpu.chunksInSlot(k.pcpu.freeSlot)).toEqual([c3]);
  });
});
