/*
 * @pcpu/percpu-vm api: types and constants of the vmalloc population
 * backend (mm/percpu-vm.c). Only types and constants live here.
 */

import type { VmArea } from "@pcpu/mm";
import type { PcpuBackendHost, PcpuChunkView } from "@pcpu/percpu";

/** Backend name reported by `PopulationBackend.name`. */
export const PERCPU_VM_NAME = "vm";

/** Fault-injection caller tag of the per-page allocations (site "page_alloc"). */
export const PCPU_ALLOC_PAGES_CALLER = "pcpu_alloc_pages";
/** Fault-injection caller tag of the temp page array (site "kmalloc"; `pcpu_mem_zalloc` in pcpu_get_pages). */
export const PCPU_GET_PAGES_CALLER = "pcpu_get_pages";
/** Fault-injection and /proc/vmallocinfo caller tag of a chunk's vm areas (site "vmalloc"). */
export const PCPU_GET_VM_AREAS_CALLER = "pcpu_get_vm_areas";

/** A vm chunk's backend data (`chunk->data`): one vm area per unit group, congruent. */
export type PcpuVmChunkData = readonly VmArea[];

/**
 * The globals of mm/percpu.c that pcpu_should_reclaim_chunk reads
 * (`pcpu_first_chunk`, `pcpu_reserved_chunk`, `pcpu_nr_empty_pop_pages`).
 * The core's `Percpu` has them; PcpuBackendHost does not list them yet, so
 * the backend reads them through this view (see the README).
 */
export interface PcpuReclaimView {
  readonly firstChunk: PcpuChunkView;
  readonly reservedChunk: PcpuChunkView | null;
  readonly nrEmptyPopPages: number;
}

/** The host as the vm backend uses it. */
export type PcpuVmHost = PcpuBackendHost & Partial<PcpuReclaimView>;

/** Counters of one vm backend: what it asked of the machine (benchmarks, tests). */
export interface PcpuVmCounters {
  /** Pages allocated by pcpu_alloc_pages and not yet freed by this backend. */
  pagesAllocated: number;
  /** Successful populate and depopulate calls. */
  populateCalls: number;
  depopulateCalls: number;
  /** Failed populate calls (each unwound completely). */
  populateFailures: number;
  /** Chunks created and destroyed. */
  chunksCreated: number;
  chunksDestroyed: number;
}
