/*
 * Where mm/percpu.c's WARNs are attributed.
 *
 * A distro kernel (CONFIG_DEBUG_BUGVERBOSE) prints a WARN as
 *
 *   WARNING: CPU: 3 PID: 592 at mm/percpu.c:1766 pcpu_alloc_noprof+0x82b/0xeb0
 *
 * the file and line of the WARN in the source, then `%pS` of the trapping
 * instruction: symbol, offset and symbol size. The model has no machine
 * code, so each site carries one representative x86_64 build's numbers:
 * pcpu_alloc_noprof's size (0xeb0) is a real 6.x build's, the illegal-size
 * offset a real report's (6.9: pcpu_alloc+0x82b/0x920); the other offsets
 * lie inside their functions, an offset of 0 or a size of 0 never does.
 * Line numbers are those of mm/percpu.c in v6.16-v6.18 (the illegal-size
 * WARN at 1766 as real reports show; the rest counted from it in the same
 * file). Before 6.10 the allocator was `pcpu_alloc` (no _noprof): the era
 * switch `eraHasAllocHooks` picks the name; the lines stay the v6 file's.
 */

import type { PcpuEra } from "./api.js";

/** One WARN site: line in mm/percpu.c and the `%pS` of its trap. */
export interface PcpuWarnSite {
  readonly line: number;
  /** Function name in v6.10+ (pcpu_alloc_noprof for the allocator). */
  readonly fn: string;
  readonly off: number;
  readonly size: number;
}

/** The WARN sites of mm/percpu.c that the model reproduces. */
export const PCPU_WARN_SITES = {
  /** pcpu_alloc: WARN(do_warn, "illegal size (%zu) or align (%zu) for percpu allocation\n", ...) */
  allocIllegal: { line: 1766, fn: "pcpu_alloc_noprof", off: 0x82b, size: 0xeb0 },
  /** pcpu_alloc: WARN_ON(chunk->immutable) before populating */
  allocImmutable: { line: 1868, fn: "pcpu_alloc_noprof", off: 0x9c4, size: 0xeb0 },
  /** pcpu_balance_free: WARN_ON(chunk->immutable) */
  balanceFreeImmutable: { line: 1954, fn: "pcpu_balance_free", off: 0x1f3, size: 0x2a0 },
  /** pcpu_reclaim_populated: WARN_ON(chunk->immutable) */
  reclaimImmutable: { line: 2107, fn: "pcpu_reclaim_populated", off: 0x35a, size: 0x3d0 },
  /**
   * free_percpu: the model's own misuse check (spec section 13), attributed
   * to the chunk lookup where a kernel handed a bogus pointer goes wrong.
   */
  freeMisuse: { line: 2236, fn: "free_percpu", off: 0x6e, size: 0x4b0 },
} as const satisfies Record<string, PcpuWarnSite>;

/** Whether the era has the 6.10 alloc-hooks split (pcpu_alloc became pcpu_alloc_noprof). */
export function eraHasAllocHooks(era: PcpuEra): boolean {
  return era === "v6";
}

/** `%pS` of an address `off` bytes into a `size`-byte symbol (`[mod]` for a module symbol). */
export function formatSymbol(fn: string, off: number, size: number, mod?: string): string {
  const s = `${fn}+0x${off.toString(16)}/0x${size.toString(16)}`;
  return mod === undefined ? s : `${s} [${mod}]`;
}

/**
 * The `at ...` part of a WARNING line for `site` in `era`:
 * `mm/percpu.c:LINE FN+0xOFF/0xSIZE`.
 */
export function pcpuWarnWhere(era: PcpuEra, site: PcpuWarnSite): string {
  const fn = site.fn === "pcpu_alloc_noprof" && !eraHasAllocHooks(era) ? "pcpu_alloc" : site.fn;
  /* before 6.10, pcpu_alloc was 0x920 bytes (a real 6.9 build) */
  const size = fn === "pcpu_alloc" ? 0x920 : site.size;
  const off = Math.min(site.off, size - 1);
  return `mm/percpu.c:${site.line} ${formatSymbol(fn, off, size)}`;
}
