/*
 * The boot-time constants of include/linux/percpu.h that depend on the page
 * size, the word size, the build (CONFIG_MODULES, CONFIG_RANDOM_KMALLOC_CACHES,
 * NR_CPUS) and the kernel generation. The kernel has them as macros; the model
 * computes them once per kernel with pcpuConstants() and hands the frozen
 * record to everything else (no module-level state: many kernels, many
 * configurations, one process).
 *
 * Values per era (PcpuEra), read from public trees:
 *
 *   constant                    v2.6.30/v2.6.32   v3.18/v4.14/v5.14   v6
 *   PCPU_MIN_UNIT_SIZE          PFN_ALIGN(64K)    PFN_ALIGN(32K)      PFN_ALIGN(32K)
 *   PERCPU_DYNAMIC_EARLY_SIZE   0 (none yet)      12K                 20 << SHIFT
 *   PERCPU_DYNAMIC_RESERVE      20K / 12K         28K / 20K           28 << SHIFT / 20 << SHIFT
 *   (64-bit / 32-bit)
 *   PERCPU_MODULE_RESERVE       8K with CONFIG_MODULES, else 0, in every era
 *   PERCPU_DYNAMIC_SIZE_SHIFT   10; 12 with CONFIG_RANDOM_KMALLOC_CACHES (v6 only)
 *
 * Notes on the choices:
 * - 2.6.32 trees still define PCPU_MIN_UNIT_SIZE as PFN_ALIGN(64 << 10); the
 *   32K value appears in later 2.6.3x trees and is in every 3.x tree.
 * - PERCPU_DYNAMIC_EARLY_SIZE did not exist before ~2.6.38 (the early
 *   allocation support). Modelling it as 0 for the 2.6.3x eras makes
 *   `max(dyn, EARLY_SIZE)` and the `dyn < EARLY_SIZE` setup check no-ops,
 *   which is what those kernels did (they had neither).
 * - PERCPU_DYNAMIC_RESERVE was 20K/12K in 2.6.3x through 3.10 trees and
 *   28K/20K from 3.18-era trees on; the v3.18 profile uses the later values.
 * - The newest trees use shift 13 with RANDOM_KMALLOC_CACHES + LOCKDEP on
 *   non-4K pages; that combination is not modelled.
 */

import { PCPU_MIN_ALLOC_SHIFT, type PcpuConstants, type PcpuEra } from "./api.js";

/** `PERCPU_DYNAMIC_SIZE_SHIFT` without CONFIG_RANDOM_KMALLOC_CACHES. */
export const PERCPU_DYNAMIC_SIZE_SHIFT_DEFAULT = 10;
/** `PERCPU_DYNAMIC_SIZE_SHIFT` with CONFIG_RANDOM_KMALLOC_CACHES (6.6+). */
export const PERCPU_DYNAMIC_SIZE_SHIFT_RANDOM_KMALLOC = 12;
/** The largest `CONFIG_NR_CPUS` any arch's Kconfig accepts (x86 MAXSMP, powerpc). */
export const NR_CPUS_LIMIT = 8192;
/** Page shifts the model accepts: 4 KiB (12) .. 256 KiB (18) pages. */
export const PAGE_SHIFT_MIN = 12;
export const PAGE_SHIFT_MAX = 18;

/** Every era, oldest first; `v6` is the default. */
export const PCPU_ERAS: readonly PcpuEra[] = ["v2.6.30", "v2.6.32", "v3.18", "v4.14", "v5.14", "v6"];

/** Build options that decide the constants (the arch and Kconfig side). */
export interface PcpuConstantsOptions {
  /** log2 of the page size (12 for 4 KiB, 14 for 16 KiB, 16 for 64 KiB). */
  readonly pageShift: number;
  /** `BITS_PER_LONG`. */
  readonly bits: 32 | 64;
  /** `CONFIG_NR_CPUS`. */
  readonly nrCpus: number;
  /** `CONFIG_MODULES` (default true). */
  readonly modules?: boolean;
  /** Kernel generation (default "v6"). */
  readonly era?: PcpuEra;
  /** `CONFIG_RANDOM_KMALLOC_CACHES` (v6 only; default false). */
  readonly randomKmallocCaches?: boolean;
}

/** PcpuConstants plus the shift the dynamic sizes were derived from. */
export interface PcpuConstantsFull extends PcpuConstants {
  /** `PERCPU_DYNAMIC_SIZE_SHIFT` (10, or 12 with CONFIG_RANDOM_KMALLOC_CACHES). */
  readonly PERCPU_DYNAMIC_SIZE_SHIFT: number;
}

/** Whether `era` is one of the modelled kernel generations. */
export function isPcpuEra(era: unknown): era is PcpuEra {
  return typeof era === "string" && (PCPU_ERAS as readonly string[]).includes(era);
}

/** Position of `era` in PCPU_ERAS (0 = oldest); lets callers compare eras. */
export function pcpuEraIndex(era: PcpuEra): number {
  const i = PCPU_ERAS.indexOf(era);
  if (i < 0)
    throw new RangeError(
      `unknown percpu era ${JSON.stringify(era)}; expected one of ${PCPU_ERAS.join(", ")}`,
    );
  return i;
}

/** Whether `era` is a 2.6.3x profile (no early-size floor, 64K minimum unit, `PERCPU:` prefix). */
export function pcpuEraIs26(era: PcpuEra): boolean {
  return pcpuEraIndex(era) <= 1;
}

/**
 * Computes the include/linux/percpu.h constants for one kernel build.
 *
 * @kernel include/linux/percpu.h PCPU_MIN_UNIT_SIZE, PERCPU_MODULE_RESERVE,
 *   PERCPU_DYNAMIC_SIZE_SHIFT, PERCPU_DYNAMIC_EARLY_SIZE, PERCPU_DYNAMIC_RESERVE,
 *   PCPU_BITMAP_BLOCK_SIZE, PCPU_BITMAP_BLOCK_BITS
 * @param opts - page shift, word size, NR_CPUS and the Kconfig switches
 * @context boot, before any allocator exists; pure
 * @returns a frozen constants record
 * @throws RangeError / TypeError on an impossible configuration (user error at the edge)
 */
export function pcpuConstants(opts: PcpuConstantsOptions): PcpuConstantsFull {
  if (opts === null || typeof opts !== "object")
    throw new TypeError("pcpuConstants: options object required");
  const { pageShift, bits, nrCpus } = opts;
  const modules = opts.modules ?? true;
  const era: PcpuEra = opts.era ?? "v6";
  const randomKmallocCaches = opts.randomKmallocCaches ?? false;

  if (!Number.isInteger(pageShift) || pageShift < PAGE_SHIFT_MIN || pageShift > PAGE_SHIFT_MAX) {
    throw new RangeError(
      `pcpuConstants: pageShift must be an integer in [${PAGE_SHIFT_MIN}, ${PAGE_SHIFT_MAX}] (4 KiB .. 256 KiB pages), got ${pageShift}`,
    );
  }
  if (bits !== 32 && bits !== 64) throw new RangeError(`pcpuConstants: bits must be 32 or 64, got ${bits}`);
  if (!Number.isInteger(nrCpus) || nrCpus < 1 || nrCpus > NR_CPUS_LIMIT) {
    throw new RangeError(
      `pcpuConstants: nrCpus (CONFIG_NR_CPUS) must be an integer in [1, ${NR_CPUS_LIMIT}], got ${nrCpus}`,
    );
  }
  if (typeof modules !== "boolean") throw new TypeError("pcpuConstants: modules must be a boolean");
  if (typeof randomKmallocCaches !== "boolean")
    throw new TypeError("pcpuConstants: randomKmallocCaches must be a boolean");
  if (!isPcpuEra(era)) {
    throw new RangeError(
      `pcpuConstants: unknown era ${JSON.stringify(era)}; expected one of ${PCPU_ERAS.join(", ")}`,
    );
  }
  if (randomKmallocCaches && era !== "v6") {
    throw new RangeError(
      `pcpuConstants: CONFIG_RANDOM_KMALLOC_CACHES only exists in v6 kernels (6.6+), not in era ${era}`,
    );
  }

  const PAGE_SIZE = 2 ** pageShift;
  const pfnAlign = (x: number): number => Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;
  const old26 = pcpuEraIs26(era);
  const shift = randomKmallocCaches
    ? PERCPU_DYNAMIC_SIZE_SHIFT_RANDOM_KMALLOC
    : PERCPU_DYNAMIC_SIZE_SHIFT_DEFAULT;

  let early: number;
  let reserve: number;
  if (era === "v6") {
    early = 20 * 2 ** shift;
    reserve = (bits === 64 ? 28 : 20) * 2 ** shift;
  } else if (old26) {
    early = 0;
    reserve = (bits === 64 ? 20 : 12) * 1024;
  } else {
    early = 12 * 1024;
    reserve = (bits === 64 ? 28 : 20) * 1024;
  }

  return Object.freeze({
    PAGE_SHIFT: pageShift,
    PAGE_SIZE,
    PCPU_BITMAP_BLOCK_SIZE: PAGE_SIZE,
    PCPU_BITMAP_BLOCK_BITS: PAGE_SIZE >> PCPU_MIN_ALLOC_SHIFT,
    PCPU_MIN_UNIT_SIZE: pfnAlign((old26 ? 64 : 32) * 1024),
    PERCPU_MODULE_RESERVE: modules ? 8 * 1024 : 0,
    PERCPU_DYNAMIC_SIZE_SHIFT: shift,
    PERCPU_DYNAMIC_EARLY_SIZE: early,
    PERCPU_DYNAMIC_RESERVE: reserve,
    NR_CPUS: nrCpus,
  });
}
