/*
 * The kernel-memory population backend (mm/percpu-km.c), for machines
 * without an MMU (CONFIG_NEED_PER_CPU_KM).
 *
 * A chunk is one physically contiguous page block holding every unit,
 * used through the direct map, allocated and populated in full when the
 * chunk is created:
 *
 *   alloc_pages(gfp, order_base_2(nr_pages))      nr_pages = all units
 *   [ u0 | u1 | u2 | ... | u(n-1) | waste to 2^order ]
 *   ^ base_addr = page_address(block)
 *
 * Nothing is ever populated or depopulated afterwards, nothing is mapped,
 * no TLB is flushed. It needs a single unit group (percpu-km cannot place
 * several groups in one block) and cannot work with the page first chunk.
 *
 * The kernel reports the whole block's page count to pcpu_chunk_populated,
 * although a chunk's populated bitmap and counters are per unit: with more
 * than one unit the counts grow by nr_units times what the bitmap says.
 * This backend reproduces the counts by default and never writes a bit
 * beyond the bitmap (see the README and `fixPopulatedOvercount`).
 */

import { EINVAL, type VirtAddr } from "@pcpu/mm";
import type {
  PcpuAllocInfo,
  PcpuBackendHost,
  PcpuChunkView,
  PopulationBackend,
  PopulationFactory,
} from "@pcpu/percpu";
import { PCPU_KM_CREATE_CHUNK_CALLER, PERCPU_KM_NAME, type PercpuKmOptions } from "./api.js";

/** `order_base_2(n)`: the smallest order with 2^order >= n (0 for n <= 1). @kernel include/linux/log2.h order_base_2 */
export function orderBase2(n: number): number {
  let order = 0;
  while (2 ** order < n) order++;
  return order;
}

/** `roundup_pow_of_two(n)` (n >= 1). @kernel include/linux/log2.h roundup_pow_of_two */
export function roundupPowOfTwo(n: number): number {
  return 2 ** orderBase2(n);
}

/** A km chunk's backend data (`chunk->data`): its page block. */
export class PcpuKmBlock {
  constructor(
    /** First pfn of the block. */
    readonly pfn: number,
    /** Block order: 2^order pages. */
    readonly order: number,
    /** Pages of the block that hold units (`pcpu_group_sizes[0] >> PAGE_SHIFT`). */
    readonly nrPages: number,
  ) {}
}

/** The kernel-memory population backend of one kernel. */
export class PercpuKm implements PopulationBackend {
  readonly name = PERCPU_KM_NAME;
  readonly host: PcpuBackendHost;
  readonly fixPopulatedOvercount: boolean;
  /** Page blocks allocated and not yet freed, and the pages they span (2^order each). */
  blocks: number;
  blockPages: number;
  /**
   * What destroyed chunks left behind in the core's global counters: the
   * over-count the core cannot subtract because it depopulates by the
   * bitmap (per unit). Zero with one unit or `fixPopulatedOvercount`.
   */
  leakedNrPopulated: number;
  leakedEmptyPopPages: number;

  constructor(host: PcpuBackendHost, opts: PercpuKmOptions = {}) {
    this.host = host;
    this.fixPopulatedOvercount = opts.fixPopulatedOvercount ?? false;
    this.blocks = 0;
    this.blockPages = 0;
    this.leakedNrPopulated = 0;
    this.leakedEmptyPopPages = 0;
  }

  /** Pages of every unit of a chunk: `pcpu_group_sizes[0] >> PAGE_SHIFT`. */
  chunkPages(): number {
    return this.host.groupSizes[0]! / this.host.constants.PAGE_SIZE;
  }

  /**
   * `pcpu_populate_chunk`: a km chunk is born populated. No-op.
   * @kernel mm/percpu-km.c pcpu_populate_chunk
   * @returns 0.
   */
  pcpuPopulateChunk(_chunk: PcpuChunkView, _s: number, _e: number, _gfp: number): number {
    return 0;
  }

  /** `pcpu_depopulate_chunk`: no-op. @kernel mm/percpu-km.c pcpu_depopulate_chunk */
  pcpuDepopulateChunk(_chunk: PcpuChunkView, _s: number, _e: number): void {}

  /** `pcpu_post_unmap_tlb_flush`: nothing is mapped, nothing to flush. @kernel mm/percpu-km.c pcpu_post_unmap_tlb_flush */
  pcpuPostUnmapTlbFlush(_chunk: PcpuChunkView, _s: number, _e: number): void {}

  /**
   * Counts the chunk's pages as populated the way the kernel does
   * (`pcpu_chunk_populated(chunk, 0, nr_pages)` with nr_pages of every
   * unit) without setting bits past the per-unit bitmap: the call is made
   * on [0, chunk.nr_pages) repeatedly until nr_pages pages are counted.
   * Setting bits is idempotent, so the bitmap ends up exactly full and the
   * counters (chunk and global) rise by nr_pages, as in the kernel.
   */
  private chunkPopulated(chunk: PcpuChunkView, nrPages: number): void {
    const per = chunk.nrPages;
    if (this.fixPopulatedOvercount || nrPages <= per) {
      this.host.pcpuChunkPopulated(chunk, 0, Math.min(per, nrPages));
      return;
    }
    for (let done = 0; done < nrPages; done += per)
      this.host.pcpuChunkPopulated(chunk, 0, Math.min(per, nrPages - done));
  }

  /**
   * `pcpu_create_chunk(gfp)`: a chunk record and one contiguous block of
   * 2^order_base_2(nr_pages) pages for all units, every page pointing back
   * at the chunk, counted populated in full.
   * @kernel mm/percpu-km.c pcpu_create_chunk
   * @context pcpu_alloc_mutex held, pcpu_lock not held; may sleep with a
   *   blocking gfp; takes pcpu_lock to count the pages.
   * @returns the chunk, or null.
   */
  pcpuCreateChunk(gfp: number): PcpuChunkView | null {
    const host = this.host;
    const machine = host.machine;
    const nrPages = this.chunkPages();

    const chunk = host.pcpuAllocChunk(gfp);
    if (chunk === null) return null;

    const order = orderBase2(nrPages);
    const pfn = machine.pageAlloc.allocPages(gfp, order, PCPU_KM_CREATE_CHUNK_CALLER);
    if (pfn < 0) {
      host.pcpuFreeChunk(chunk);
      return null;
    }
    this.blocks++;
    this.blockPages += 2 ** order;

    for (let i = 0; i < nrPages; i++) host.pcpuSetPageChunk(pfn + i, chunk);

    chunk.data = new PcpuKmBlock(pfn, order, nrPages);
    chunk.baseAddr = machine.pageAddress(pfn);

    this.chunkPopulated(chunk, nrPages);

    host.pcpuStatsChunkAlloc();
    host.traceCreateChunk(chunk.baseAddr);
    return chunk;
  }

  /**
   * `pcpu_destroy_chunk(chunk)`: free the page block and the record.
   * NULL-safe.
   * @kernel mm/percpu-km.c pcpu_destroy_chunk
   * @context pcpu_alloc_mutex held, pcpu_lock not held.
   */
  pcpuDestroyChunk(chunk: PcpuChunkView | null): void {
    if (chunk === null) return;
    const host = this.host;
    host.pcpuStatsChunkDealloc();
    host.traceDestroyChunk(chunk.baseAddr);

    /* Whatever the core did not take back stays counted globally. */
    this.leakedNrPopulated += chunk.nrPopulated;
    if (!chunk.isolated) this.leakedEmptyPopPages += chunk.nrEmptyPopPages;

    const block = chunk.data as PcpuKmBlock | null;
    if (block !== null) {
      host.machine.pageAlloc.freePages(block.pfn, block.order);
      this.blocks--;
      this.blockPages -= 2 ** block.order;
    }
    host.pcpuFreeChunk(chunk);
  }

  /**
   * `pcpu_addr_to_page(addr)`: direct translation (virt_to_page).
   * @kernel mm/percpu-km.c pcpu_addr_to_page
   * @returns the pfn, or -1 for an address outside the direct map.
   */
  pcpuAddrToPage(addr: VirtAddr): number {
    const m = this.host.machine;
    if (!m.pgtable.inDirectMap(addr)) return -1;
    return Math.floor(m.__pa(addr) / m.pageSize);
  }

  /**
   * `pcpu_verify_alloc_info(ai)`: refuse more than one unit group
   * (critical message, -EINVAL); warn about the pages a non-power-of-two
   * chunk wastes in its block.
   * @kernel mm/percpu-km.c pcpu_verify_alloc_info
   * @context boot.
   * @returns 0 or -EINVAL.
   */
  pcpuVerifyAllocInfo(ai: PcpuAllocInfo): number {
    const log = this.host.machine.log;
    if (ai.nrGroups !== 1) {
      log.prCrit("percpu: can't handle more than one group");
      return -EINVAL;
    }
    const nrPages = (ai.groups[0]!.nrUnits * ai.unitSize) / this.host.constants.PAGE_SIZE;
    const allocPages = roundupPowOfTwo(nrPages);
    if (allocPages > nrPages) log.prWarn(`percpu: wasting ${allocPages - nrPages} pages per chunk`);
    return 0;
  }

  /** `pcpu_should_reclaim_chunk`: a km chunk is never partly freed. @kernel mm/percpu-km.c pcpu_should_reclaim_chunk */
  /** What destroyed chunks left in the global counters (the kernel's over-count). */
  accountedLeak(): { readonly nrPopulated: number; readonly nrEmptyPopPages: number } {
    return { nrPopulated: this.leakedNrPopulated, nrEmptyPopPages: this.leakedEmptyPopPages };
  }

  pcpuShouldReclaimChunk(_chunk: PcpuChunkView): boolean {
    return false;
  }

  /**
   * The pages this backend reported to pcpu_chunk_populated for a chunk
   * it created: every unit's pages (the kernel's count), or the per-unit
   * pages with `fixPopulatedOvercount`.
   */
  accountedPages(chunk: PcpuChunkView): number {
    const block = chunk.data as PcpuKmBlock | null;
    if (block === null || this.fixPopulatedOvercount) return chunk.nrPages;
    return Math.max(block.nrPages, chunk.nrPages);
  }
}

/**
 * Builds the km population factory.
 * @kernel mm/percpu-km.c
 */
export function createPercpuKm(opts: PercpuKmOptions = {}): PopulationFactory {
  return (host) => new PercpuKm(host, opts);
}

/** The km population backend with the kernel's counts. */
export const percpuKm: PopulationFactory = createPercpuKm();
