/*
 * The vmalloc population backend (mm/percpu-vm.c), the default.
 *
 * A chunk is a set of congruent vm areas, one per unit group, reserved at
 * creation with nothing behind them. Pages are allocated and mapped later,
 * one page range [s, e) at a time, for every possible CPU's unit at once:
 *
 *   chunk base ─┐ group 0 area                  group 1 area
 *               [ u0 | u1 | u2 | u3 ] .. gap .. [ u4 | u5 | u6 | u7 ]
 *   page i of   ^ cpu0 ^ cpu1 ...                 (empty units: never mapped)
 *
 *   populate:   get the temp array -> alloc (cpu x page, on the cpu's node)
 *               -> map every cpu's range -> one cache flush
 *   depopulate: one cache flush -> unmap every cpu's range -> free
 *               (the TLB flush is the caller's: once per reclaimed chunk, or
 *               left to vmalloc when the areas are given back)
 *
 * Every failure unwinds in the reverse order of setup and leaves nothing
 * allocated and nothing mapped; the populated bitmap is the core's
 * (pcpu_chunk_populated) and is never touched here.
 *
 * The kernel keeps the temp page array in a function-static pointer; here it
 * is a field of the backend, so each kernel in the process has its own.
 */

import {
  __GFP_HIGHMEM,
  ENOMEM,
  KernelBug,
  MIGHT_ALLOC_WHERE,
  type PageTable,
  type VirtAddr,
  type VmArea,
} from "@pcpu/mm";
import {
  PCPU_EMPTY_POP_PAGES_HIGH,
  type PcpuAllocInfo,
  type PcpuBackendHost,
  type PcpuChunkView,
  type PopulationBackend,
  type PopulationFactory,
} from "@pcpu/percpu";
import {
  PCPU_ALLOC_PAGES_CALLER,
  PCPU_GET_PAGES_CALLER,
  PCPU_GET_VM_AREAS_CALLER,
  type PcpuVmCounters,
  type PcpuVmHost,
  PERCPU_VM_NAME,
} from "./api.js";

/** Where the backend's WARN_ONs are attributed. */
const WARN_SITE = "mm/percpu-vm.c";

/** The vmalloc population backend of one kernel. */
export class PercpuVm implements PopulationBackend {
  readonly name = PERCPU_VM_NAME;
  readonly host: PcpuVmHost;
  /**
   * The shared temp page array (`pages` of pcpu_get_pages): pfns indexed by
   * pcpu_page_idx(cpu, i), -1 for NULL. Allocated on first use, kept forever.
   */
  pages: Float64Array | null;
  readonly counters: PcpuVmCounters;
  /* pcpuAddrToPage's last translation: page [lastLo, lastHi) -> lastPfn in lastPt at lastGen. */
  private lastLo: number;
  private lastHi: number;
  private lastPt: PageTable | null;
  private lastGen: number;
  private lastPfn: number;

  constructor(host: PcpuBackendHost) {
    this.host = host as PcpuVmHost;
    this.pages = null;
    this.lastLo = 1;
    this.lastHi = 0;
    this.lastPt = null;
    this.lastGen = -1;
    this.lastPfn = -1;
    this.counters = {
      pagesAllocated: 0,
      populateCalls: 0,
      depopulateCalls: 0,
      populateFailures: 0,
      chunksCreated: 0,
      chunksDestroyed: 0,
    };
  }

  /**
   * `pcpu_page_idx(cpu, i)`: index of CPU `cpu`'s page `i` in the temp array.
   * @kernel mm/percpu.c pcpu_page_idx
   */
  pcpuPageIdx(cpu: number, i: number): number {
    return this.host.unitMap[cpu]! * this.host.unitPages + i;
  }

  /**
   * `pcpu_chunk_addr(chunk, cpu, i)`: the address of CPU `cpu`'s page `i`.
   * @kernel mm/percpu.c pcpu_chunk_addr
   */
  pcpuChunkAddr(chunk: PcpuChunkView, cpu: number, i: number): VirtAddr {
    return chunk.baseAddr + this.host.unitOffsets[cpu]! + i * this.host.constants.PAGE_SIZE;
  }

  /**
   * `pcpu_chunk_page(chunk, cpu, i)`: the pfn mapped at CPU `cpu`'s page `i`
   * (vmalloc_to_page); WARNs on a first-chunk record, which is never
   * (de)populated.
   * @kernel mm/percpu-vm.c pcpu_chunk_page
   * @returns the pfn, or -1 if nothing is mapped.
   */
  pcpuChunkPage(chunk: PcpuChunkView, cpu: number, i: number): number {
    if (chunk.immutable) this.host.machine.log.warn(`${WARN_SITE} pcpu_chunk_page`);
    return this.host.machine.pgtable.lookupPfn(this.pcpuChunkAddr(chunk, cpu, i));
  }

  /**
   * `pcpu_get_pages()`: the temp page array of `nr_units * unit_pages`
   * entries, allocated zeroed (all NULL) on first use and kept forever.
   * @kernel mm/percpu-vm.c pcpu_get_pages
   * @context pcpu_alloc_mutex held (it serialises every user of the array);
   *   may sleep the first time.
   * @returns the array, or null if its allocation failed (fault site "kmalloc").
   */
  pcpuGetPages(): Float64Array | null {
    if (this.pages === null) {
      if (this.host.machine.faults.shouldFail("kmalloc", PCPU_GET_PAGES_CALLER)) return null;
      this.pages = new Float64Array(this.host.nrUnits * this.host.unitPages).fill(-1);
    }
    return this.pages;
  }

  /**
   * `pcpu_free_pages(chunk, pages, s, e)`: free every page recorded in the
   * temp array for pages [s, e) of every possible CPU.
   * @kernel mm/percpu-vm.c pcpu_free_pages
   * @context pcpu_alloc_mutex held.
   */
  pcpuFreePages(_chunk: PcpuChunkView, pages: Float64Array, s: number, e: number): void {
    const pa = this.host.machine.pageAlloc;
    for (const cpu of this.host.possibleCpus) {
      for (let i = s; i < e; i++) {
        const pfn = pages[this.pcpuPageIdx(cpu, i)]!;
        if (pfn >= 0) {
          pa.freePages(pfn, 0);
          this.counters.pagesAllocated--;
        }
      }
    }
  }

  /**
   * `pcpu_alloc_pages(chunk, pages, s, e, gfp)`: one order-0 page for each
   * page in [s, e) of every possible CPU, on the CPU's node, highmem
   * allowed. On failure frees this CPU's pages so far and every earlier
   * CPU's, in that order.
   * @kernel mm/percpu-vm.c pcpu_alloc_pages
   * @context pcpu_alloc_mutex held; may sleep with a blocking gfp.
   * @returns 0 or -ENOMEM.
   */
  pcpuAllocPages(_chunk: PcpuChunkView, pages: Float64Array, s: number, e: number, gfp: number): number {
    const machine = this.host.machine;
    const pa = machine.pageAlloc;
    const cpuToNode = machine.cpuToNode;
    const possible = this.host.possibleCpus;
    const nrCpus = possible.length;
    gfp |= __GFP_HIGHMEM;

    /* for_each_possible_cpu: n walks the possible CPUs, cpu is the n-th */
    let n = 0;
    let cpu = 0;
    let i = s;
    let failed = false;
    alloc: for (; n < nrCpus; n++) {
      cpu = possible[n]!;
      const nid = cpuToNode[cpu]!;
      for (i = s; i < e; i++) {
        const pfn = pa.allocPagesNode(nid, gfp, 0, PCPU_ALLOC_PAGES_CALLER);
        pages[this.pcpuPageIdx(cpu, i)] = pfn;
        if (pfn < 0) {
          failed = true;
          break alloc;
        }
        this.counters.pagesAllocated++;
      }
    }
    if (!failed) return 0;

    /* err: this CPU's pages below i, then every earlier CPU's */
    while (--i >= s) {
      pa.freePages(pages[this.pcpuPageIdx(cpu, i)]!, 0);
      this.counters.pagesAllocated--;
    }
    for (let t = 0; t < n; t++) {
      const tcpu = possible[t]!;
      for (i = s; i < e; i++) {
        pa.freePages(pages[this.pcpuPageIdx(tcpu, i)]!, 0);
        this.counters.pagesAllocated--;
      }
    }
    return -ENOMEM;
  }

  /**
   * `pcpu_pre_unmap_flush(chunk, s, e)`: one cache flush over the whole
   * region, lowest unit to highest, before unmapping.
   * @kernel mm/percpu-vm.c pcpu_pre_unmap_flush
   */
  pcpuPreUnmapFlush(chunk: PcpuChunkView, s: number, e: number): void {
    this.host.machine.pgtable.flushCacheVunmap(
      this.pcpuChunkAddr(chunk, this.host.lowUnitCpu, s),
      this.pcpuChunkAddr(chunk, this.host.highUnitCpu, e),
    );
  }

  /**
   * `__pcpu_unmap_pages(addr, nr_pages)`: clear `nr` PTEs from `addr`, no flush.
   * @kernel mm/percpu-vm.c __pcpu_unmap_pages
   */
  __pcpuUnmapPages(addr: VirtAddr, nr: number): void {
    this.host.machine.pgtable.unmapRange(addr, addr + nr * this.host.constants.PAGE_SIZE);
  }

  /**
   * `pcpu_unmap_pages(chunk, pages, s, e)`: for each possible CPU, record
   * the pages mapped at [s, e) in the temp array (WARN if one is missing),
   * then unmap the CPU's range. No flush: the caller flushes.
   * @kernel mm/percpu-vm.c pcpu_unmap_pages
   * @context pcpu_alloc_mutex held.
   */
  pcpuUnmapPages(chunk: PcpuChunkView, pages: Float64Array, s: number, e: number): void {
    const log = this.host.machine.log;
    for (const cpu of this.host.possibleCpus) {
      for (let i = s; i < e; i++) {
        const pfn = this.pcpuChunkPage(chunk, cpu, i);
        if (pfn < 0) log.warn(`${WARN_SITE} pcpu_unmap_pages`);
        pages[this.pcpuPageIdx(cpu, i)] = pfn;
      }
      this.__pcpuUnmapPages(this.pcpuChunkAddr(chunk, cpu, s), e - s);
    }
  }

  /**
   * `pcpu_post_unmap_tlb_flush(chunk, s, e)`: one TLB flush over the whole
   * region, lowest unit to highest.
   * @kernel mm/percpu-vm.c pcpu_post_unmap_tlb_flush
   */
  pcpuPostUnmapTlbFlush(chunk: PcpuChunkView, s: number, e: number): void {
    this.host.machine.pgtable.flushTlbKernelRange(
      this.pcpuChunkAddr(chunk, this.host.lowUnitCpu, s),
      this.pcpuChunkAddr(chunk, this.host.highUnitCpu, e),
    );
  }

  /**
   * `__pcpu_map_pages(addr, pages, nr_pages)`: map `nr` pages from the temp
   * array starting at index `idx`, no flush (vmap_pages_range_noflush).
   * Stops at the first error; pages mapped before it stay mapped.
   * @kernel mm/percpu-vm.c __pcpu_map_pages
   * @returns 0 or a negative errno.
   */
  __pcpuMapPages(addr: VirtAddr, pages: Float64Array, idx: number, nr: number): number {
    const pt = this.host.machine.pgtable;
    const ps = this.host.constants.PAGE_SIZE;
    for (let k = 0; k < nr; k++) {
      const err = pt.mapPage(addr + k * ps, pages[idx + k]!);
      if (err < 0) return err;
    }
    return 0;
  }

  /**
   * `pcpu_map_pages(chunk, pages, s, e)`: for each possible CPU, map its
   * pages [s, e) at the chunk address and point each page back at the
   * chunk. On an error for CPU c, unmap the range of every CPU up to and
   * including c and flush the TLB once.
   * @kernel mm/percpu-vm.c pcpu_map_pages
   * @context pcpu_alloc_mutex held; may allocate page-table pages.
   * @returns 0 or a negative errno.
   */
  pcpuMapPages(chunk: PcpuChunkView, pages: Float64Array, s: number, e: number): number {
    const host = this.host;
    const possible = host.possibleCpus;
    const nrCpus = possible.length;
    let cpu = 0;
    let err = 0;
    for (let n = 0; n < nrCpus; n++) {
      cpu = possible[n]!;
      err = this.__pcpuMapPages(this.pcpuChunkAddr(chunk, cpu, s), pages, this.pcpuPageIdx(cpu, s), e - s);
      if (err < 0) break;
      for (let i = s; i < e; i++) host.pcpuSetPageChunk(pages[this.pcpuPageIdx(cpu, i)]!, chunk);
    }
    if (err === 0) return 0;

    for (let t = 0; t < nrCpus; t++) {
      const tcpu = possible[t]!;
      this.__pcpuUnmapPages(this.pcpuChunkAddr(chunk, tcpu, s), e - s);
      if (tcpu === cpu) break;
    }
    this.pcpuPostUnmapTlbFlush(chunk, s, e);
    return err;
  }

  /**
   * `pcpu_post_map_flush(chunk, s, e)`: one cache flush over the whole
   * region after mapping.
   * @kernel mm/percpu-vm.c pcpu_post_map_flush
   */
  pcpuPostMapFlush(chunk: PcpuChunkView, s: number, e: number): void {
    this.host.machine.pgtable.flushCacheVmap(
      this.pcpuChunkAddr(chunk, this.host.lowUnitCpu, s),
      this.pcpuChunkAddr(chunk, this.host.highUnitCpu, e),
    );
  }

  /**
   * `pcpu_populate_chunk(chunk, s, e, gfp)`: allocate and map pages [s, e)
   * of every possible CPU's unit. The caller marks them populated
   * (pcpu_chunk_populated); a failure leaves nothing allocated or mapped.
   * @kernel mm/percpu-vm.c pcpu_populate_chunk
   * @context pcpu_alloc_mutex held, pcpu_lock not held; may sleep.
   * @returns 0 or -ENOMEM.
   */
  pcpuPopulateChunk(chunk: PcpuChunkView, s: number, e: number, gfp: number): number {
    const pages = this.pcpuGetPages();
    if (pages === null) return this.populateFailed();
    if (this.pcpuAllocPages(chunk, pages, s, e, gfp) !== 0) return this.populateFailed();
    if (this.pcpuMapPages(chunk, pages, s, e) !== 0) {
      this.pcpuFreePages(chunk, pages, s, e);
      return this.populateFailed();
    }
    this.pcpuPostMapFlush(chunk, s, e);
    this.counters.populateCalls++;
    return 0;
  }

  private populateFailed(): number {
    this.counters.populateFailures++;
    return -ENOMEM;
  }

  /**
   * `pcpu_depopulate_chunk(chunk, s, e)`: unmap and free pages [s, e) of
   * every possible CPU's unit. No TLB flush: the caller calls
   * pcpuPostUnmapTlbFlush unless the vm areas are about to be given back.
   * @kernel mm/percpu-vm.c pcpu_depopulate_chunk
   * @context pcpu_alloc_mutex held, pcpu_lock not held.
   */
  pcpuDepopulateChunk(chunk: PcpuChunkView, s: number, e: number): void {
    /* A populated range exists, so a populate call already got the array. */
    const pages = this.pcpuGetPages();
    if (pages === null) {
      const msg = "kernel BUG at mm/percpu-vm.c: pcpu_depopulate_chunk: no temp page array";
      this.host.machine.log.prCrit(msg);
      throw new KernelBug(msg);
    }
    this.pcpuPreUnmapFlush(chunk, s, e);
    this.pcpuUnmapPages(chunk, pages, s, e);
    this.pcpuFreePages(chunk, pages, s, e);
    this.counters.depopulateCalls++;
  }

  /**
   * `pcpu_create_chunk(gfp)`: a chunk record with one congruent vm area
   * per unit group (all or nothing), nothing populated.
   * @kernel mm/percpu-vm.c pcpu_create_chunk
   * @context pcpu_alloc_mutex held, pcpu_lock not held; may sleep.
   * @returns the chunk, or null.
   */
  pcpuCreateChunk(gfp: number): PcpuChunkView | null {
    const host = this.host;
    const machine = host.machine;
    /* pcpu_get_vm_areas allocates its bookkeeping with GFP_KERNEL */
    machine.ctx.mightSleep(MIGHT_ALLOC_WHERE);

    const chunk = host.pcpuAllocChunk(gfp);
    if (chunk === null) return null;

    const vms = machine.vmalloc.getVmAreas(
      host.groupOffsets,
      host.groupSizes,
      host.atomSize,
      PCPU_GET_VM_AREAS_CALLER,
    );
    if (vms === null) {
      host.pcpuFreeChunk(chunk);
      return null;
    }

    chunk.data = vms;
    chunk.baseAddr = vms[0]!.addr - host.groupOffsets[0]!;

    host.pcpuStatsChunkAlloc();
    host.traceCreateChunk(chunk.baseAddr);
    this.counters.chunksCreated++;
    return chunk;
  }

  /**
   * `pcpu_destroy_chunk(chunk)`: give the vm areas back (clearing any PTE
   * left in them) and free the record. NULL-safe.
   * @kernel mm/percpu-vm.c pcpu_destroy_chunk
   * @context pcpu_alloc_mutex held, pcpu_lock not held.
   */
  pcpuDestroyChunk(chunk: PcpuChunkView | null): void {
    if (chunk === null) return;
    const host = this.host;
    host.pcpuStatsChunkDealloc();
    host.traceDestroyChunk(chunk.baseAddr);
    if (chunk.data !== null) host.machine.vmalloc.freeVmAreas(chunk.data as readonly VmArea[]);
    host.pcpuFreeChunk(chunk);
    this.counters.chunksDestroyed++;
  }

  /**
   * `pcpu_addr_to_page(addr)`: the page mapped at a chunk address
   * (vmalloc_to_page).
   * @kernel mm/percpu-vm.c pcpu_addr_to_page
   * @returns the pfn, or -1 if nothing is mapped there.
   */
  pcpuAddrToPage(addr: VirtAddr): number {
    const pt = this.host.machine.pgtable;
    /* the last translation: valid until the page table removes one (gen changes) */
    if (addr >= this.lastLo && addr < this.lastHi && pt === this.lastPt && pt.gen === this.lastGen)
      return this.lastPfn;
    const pfn = pt.lookupPfn(addr);
    if (pfn >= 0) {
      const ps = pt.pageSize;
      this.lastLo = Math.floor(addr / ps) * ps;
      this.lastHi = this.lastLo + ps;
      this.lastPt = pt;
      this.lastGen = pt.gen;
      this.lastPfn = pfn;
    }
    return pfn;
  }

  /**
   * `pcpu_verify_alloc_info(ai)`: the vm backend takes any layout.
   * @kernel mm/percpu-vm.c pcpu_verify_alloc_info
   * @context boot.
   * @returns 0.
   */
  pcpuVerifyAllocInfo(_ai: PcpuAllocInfo): number {
    return 0;
  }

  /**
   * `pcpu_should_reclaim_chunk(chunk)`: whether a chunk goes to the
   * to_depopulate list. Never the first or reserved chunk; an isolated
   * chunk that has empty populated pages again; or a chunk with at least a
   * quarter of its pages empty while the rest of the system keeps more
   * than PCPU_EMPTY_POP_PAGES_HIGH empty pages.
   * @kernel mm/percpu-vm.c pcpu_should_reclaim_chunk
   * @context pcpu_lock held.
   */
  pcpuShouldReclaimChunk(chunk: PcpuChunkView): boolean {
    const host = this.host;
    if (host.firstChunk === undefined || host.nrEmptyPopPages === undefined) {
      throw new Error(
        "percpu-vm: pcpu_should_reclaim_chunk needs the host's firstChunk, reservedChunk and nrEmptyPopPages",
      );
    }
    if (chunk === host.firstChunk || chunk === host.reservedChunk) return false;
    return (
      (chunk.isolated && chunk.nrEmptyPopPages !== 0) ||
      (host.nrEmptyPopPages > PCPU_EMPTY_POP_PAGES_HIGH + chunk.nrEmptyPopPages &&
        chunk.nrEmptyPopPages >= Math.floor(chunk.nrPages / 4))
    );
  }
}

/**
 * The vm population backend as a factory for kernel assembly.
 * @kernel mm/percpu-vm.c
 */
export const percpuVm: PopulationFactory = (host) => new PercpuVm(host);

/** Builds the vm population factory (no options: kept for symmetry with createPercpuKm). */
export function createPercpuVm(): PopulationFactory {
  return percpuVm;
}
