/*
 * @pcpu/percpu-km api: types and constants of the kernel-memory population
 * backend (mm/percpu-km.c). Only types and constants live here.
 */

/** Backend name reported by `PopulationBackend.name`. */
export const PERCPU_KM_NAME = "km";

/** Fault-injection caller tag of a chunk's page block (site "page_alloc"). */
export const PCPU_KM_CREATE_CHUNK_CALLER = "pcpu_create_chunk";

/** Options of the km backend (spec section 13, item 3). */
export interface PercpuKmOptions {
  /**
   * The kernel passes the page count of the whole chunk (every unit) to
   * pcpu_chunk_populated, while the chunk's counters and populated bitmap
   * are per unit; with several units it over-counts `nr_populated`,
   * `nr_empty_pop_pages` and the global `pcpu_nr_populated` /
   * `pcpu_nr_empty_pop_pages` by `(nr_units - 1) * unit_pages` per chunk.
   * Default false: reproduce the kernel's counts (without writing bits past
   * the bitmap, which in C is memory corruption). True: count per-unit pages.
   */
  readonly fixPopulatedOvercount?: boolean;
}
