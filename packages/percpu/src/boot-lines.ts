/*
 * The text the percpu first-chunk code prints at boot, per kernel generation:
 * the pcpu_embed_first_chunk() / pcpu_page_first_chunk() summary lines, the
 * embed distance warning, the pcpu_setup_first_chunk() failure lines, and
 * the x86 setup_percpu line. Lines come back without level or timestamp; the
 * caller printk's them.
 *
 * Boot-line history (PcpuEra):
 *
 *   v2.6.30  PERCPU: Embedded %zu pages/cpu @%p s%zu r%zu d%zu u%zu
 *            PERCPU: %d 4k pages/cpu @%p s%zu r%zu          (2.6.31 text)
 *   v2.6.32  PERCPU: Embedded %zu pages/cpu @%p s%zu r%zu d%zu u%zu
 *   v3.18    PERCPU: %d %s pages/cpu @%p s%zu r%zu d%zu
 *   v4.14    percpu: Embedded %zu pages/cpu @%p s%zu r%zu d%zu u%zu   (pr_fmt, ~4.8-5.0)
 *            percpu: %d %s pages/cpu @%p s%zu r%zu d%zu
 *   v5.14    percpu: Embedded %zu pages/cpu s%zu r%zu d%zu u%zu       (address dropped ~5.0,
 *   v6       percpu: %d %s pages/cpu s%zu r%zu d%zu                    also in 4.19.y/4.14.y stable)
 *
 * `%p` is whatever the kernel printed for the base pointer (raw hex in old
 * kernels, "(____ptrval____)" or "        (ptrval)" once pointers were
 * hashed); the caller passes that text. `%zu` is decimal, `%lx` lowercase
 * hex without leading zeros.
 */

import type { PcpuAllocInfo, PcpuConstants, PcpuEra } from "./api.js";
import { pcpuEraIndex, pcpuEraIs26 } from "./constants.js";
import { bitmapString } from "./cpumask.js";

/**
 * The prefix of every mm/percpu.c message: "PERCPU: " written into the
 * format strings until ~4.7, then pr_fmt's "percpu: ".
 *
 * @param era - kernel generation
 * @returns "PERCPU: " or "percpu: "
 */
export function pcpuLogPrefix(era: PcpuEra): string {
  return pcpuEraIndex(era) <= pcpuEraIndex("v3.18") ? "PERCPU: " : "percpu: ";
}

/** Whether the era's summary lines carry the `@%p` base address. */
export function pcpuEraPrintsBase(era: PcpuEra): boolean {
  return pcpuEraIndex(era) <= pcpuEraIndex("v4.14");
}

function baseField(era: PcpuEra, base: string | undefined, fn: string): string {
  if (!pcpuEraPrintsBase(era)) return "";
  if (typeof base !== "string") {
    throw new TypeError(
      `${fn}: era ${era} prints the base address (@%p); pass the text the kernel printed for it`,
    );
  }
  return ` @${base}`;
}

function checkSize(what: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${what} must be an integer >= 0, got ${v}`);
}

/**
 * The summary line pcpu_embed_first_chunk() prints once the groups are
 * placed: pages per CPU is `PFN_DOWN(static + reserved + dyn)`.
 *
 * @kernel mm/percpu.c pcpu_embed_first_chunk (its pr_info)
 * @param k - constants (PAGE_SIZE)
 * @param ai - the alloc info being set up
 * @param era - kernel generation (format)
 * @param base - the `%p` text, required by eras up to v4.14
 * @context boot; pure
 * @returns e.g. "percpu: Embedded 56 pages/cpu s192512 r8192 d28672 u262144"
 */
export function pcpuEmbedLine(k: PcpuConstants, ai: PcpuAllocInfo, era: PcpuEra, base?: string): string {
  const sizeSum = ai.staticSize + ai.reservedSize + ai.dynSize;
  checkSize("pcpuEmbedLine: static + reserved + dyn", sizeSum);
  const pages = Math.floor(sizeSum / k.PAGE_SIZE);
  return (
    `${pcpuLogPrefix(era)}Embedded ${pages} pages/cpu${baseField(era, base, "pcpuEmbedLine")}` +
    ` s${ai.staticSize} r${ai.reservedSize} d${ai.dynSize} u${ai.unitSize}`
  );
}

/**
 * The page-size string pcpu_page_first_chunk() prints: `"%luK"` of
 * `PAGE_SIZE >> 10`.
 *
 * @param k - constants (PAGE_SIZE)
 * @returns e.g. "4K", "16K", "64K"
 */
export function pcpuPageSizeString(k: PcpuConstants): string {
  return `${k.PAGE_SIZE / 1024}K`;
}

/**
 * The summary line pcpu_page_first_chunk() prints after mapping every unit:
 * pages per unit, the page-size string, static, reserved and dynamic sizes.
 * The v2.6.30 profile prints 2.6.31's pcpu_4k_first_chunk() text ("4k", no
 * dynamic size).
 *
 * @kernel mm/percpu.c pcpu_page_first_chunk (its pr_info)
 * @param k - constants (PAGE_SHIFT, PAGE_SIZE)
 * @param ai - the alloc info being set up
 * @param era - kernel generation (format)
 * @param base - the `%p` text of the vm area, required by eras up to v4.14
 * @context boot; pure
 * @returns e.g. "percpu: 56 4K pages/cpu s200000 r8192 d21184"
 */
export function pcpuPageLine(k: PcpuConstants, ai: PcpuAllocInfo, era: PcpuEra, base?: string): string {
  checkSize("pcpuPageLine: unit_size", ai.unitSize);
  const unitPages = Math.floor(ai.unitSize / k.PAGE_SIZE);
  const at = baseField(era, base, "pcpuPageLine");
  if (era === "v2.6.30") {
    return `${pcpuLogPrefix(era)}${unitPages} 4k pages/cpu${at} s${ai.staticSize} r${ai.reservedSize}`;
  }
  return (
    `${pcpuLogPrefix(era)}${unitPages} ${pcpuPageSizeString(k)} pages/cpu${at}` +
    ` s${ai.staticSize} r${ai.reservedSize} d${ai.dynSize}`
  );
}

/** What the x86 setup_per_cpu_areas() reports before building the first chunk. */
export interface SetupPercpuCounts {
  /** `NR_CPUS`. */
  readonly nrCpus: number;
  /** `nr_cpumask_bits` (NR_CPUS, or nr_cpu_ids with CONFIG_CPUMASK_OFFSTACK). */
  readonly nrCpumaskBits: number;
  /** `nr_cpu_ids`. */
  readonly nrCpuIds: number;
  /** `nr_node_ids`. */
  readonly nrNodeIds: number;
}

/**
 * The x86 line `setup_percpu: NR_CPUS:%d nr_cpumask_bits:%d nr_cpu_ids:%u
 * nr_node_ids:%u`. The 2.6.3x profiles print it without the "setup_percpu: "
 * pr_fmt prefix, which the x86 file gained later.
 *
 * @kernel arch/x86/kernel/setup_percpu.c setup_per_cpu_areas (its pr_info)
 * @param era - kernel generation (prefix)
 * @param c - the four counts
 * @context boot; pure
 * @returns the line
 */
export function pcpuSetupPercpuLine(era: PcpuEra, c: SetupPercpuCounts): string {
  for (const [name, v] of [
    ["nrCpus", c.nrCpus],
    ["nrCpumaskBits", c.nrCpumaskBits],
    ["nrCpuIds", c.nrCpuIds],
    ["nrNodeIds", c.nrNodeIds],
  ] as const) {
    checkSize(`pcpuSetupPercpuLine: ${name}`, v);
  }
  const prefix = pcpuEraIs26(era) ? "" : "setup_percpu: ";
  return `${prefix}NR_CPUS:${c.nrCpus} nr_cpumask_bits:${c.nrCpumaskBits} nr_cpu_ids:${c.nrCpuIds} nr_node_ids:${c.nrNodeIds}`;
}

function hex(what: string, v: number | bigint): string {
  if (typeof v === "bigint") {
    if (v < 0n || v >= 1n << 64n) throw new RangeError(`${what} must fit an unsigned long, got ${v}`);
    return v.toString(16);
  }
  checkSize(what, v);
  return v.toString(16);
}

/**
 * The warning pcpu_embed_first_chunk() prints when the groups are spread
 * over more than 3/4 of the vmalloc space (the arch may then fall back to
 * the page first chunk).
 *
 * @kernel mm/percpu.c pcpu_embed_first_chunk (its pr_warn)
 * @param era - kernel generation (prefix)
 * @param maxDistance - `max_distance` in bytes (number or bigint)
 * @param vmallocTotal - `VMALLOC_TOTAL` in bytes (number or bigint; 5-level x86 exceeds 2^53)
 * @context boot; pure
 * @returns e.g. "percpu: max_distance=0x1a0000200000 too large for vmalloc space 0x1fffffffffff"
 */
export function pcpuMaxDistanceLine(
  era: PcpuEra,
  maxDistance: number | bigint,
  vmallocTotal: number | bigint,
): string {
  return `${pcpuLogPrefix(era)}max_distance=0x${hex("maxDistance", maxDistance)} too large for vmalloc space 0x${hex(
    "vmallocTotal",
    vmallocTotal,
  )}`;
}

/**
 * The first line of a PCPU_SETUP_BUG_ON failure: the literal text of the
 * failed condition, e.g. `ai->unit_size < PCPU_MIN_UNIT_SIZE`.
 *
 * @kernel mm/percpu.c pcpu_setup_first_chunk (PCPU_SETUP_BUG_ON)
 * @param era - kernel generation (prefix)
 * @param expr - the condition text
 * @context boot; pure
 * @returns e.g. "percpu: failed to initialize, ai->nr_groups <= 0"
 */
export function pcpuFailedToInitializeLine(era: PcpuEra, expr: string): string {
  if (typeof expr !== "string" || expr === "")
    throw new TypeError("pcpuFailedToInitializeLine: expr must be the condition text");
  return `${pcpuLogPrefix(era)}failed to initialize, ${expr}`;
}

/**
 * The second line of a PCPU_SETUP_BUG_ON failure: cpu_possible_mask in the
 * `%*pb` hex form over `nbits` bits (nr_cpu_ids; the 2.6.3x
 * cpumask_scnprintf printed the same form over nr_cpumask_bits).
 *
 * @kernel mm/percpu.c pcpu_setup_first_chunk (PCPU_SETUP_BUG_ON)
 * @param era - kernel generation (prefix)
 * @param possible - the possible mask
 * @param nbits - printed width
 * @context boot; pure
 * @returns e.g. "percpu: cpu_possible_mask=ff"
 */
export function pcpuCpuPossibleMaskLine(era: PcpuEra, possible: Uint32Array, nbits: number): string {
  return `${pcpuLogPrefix(era)}cpu_possible_mask=${bitmapString(possible, nbits)}`;
}

/**
 * What `percpu_alloc=` prints for a name it does not know (or one whose
 * first-chunk allocator the arch did not build).
 *
 * @kernel mm/percpu.c percpu_alloc_setup (its pr_warn)
 * @param era - kernel generation (prefix)
 * @param name - the value given on the command line
 * @returns e.g. "percpu: unknown allocator lpage specified"
 */
export function pcpuUnknownAllocatorLine(era: PcpuEra, name: string): string {
  return `${pcpuLogPrefix(era)}unknown allocator ${name} specified`;
}

/**
 * What pcpu_page_first_chunk() prints when a page for a unit cannot be had.
 *
 * @kernel mm/percpu.c pcpu_page_first_chunk (its pr_warn)
 * @param k - constants (page-size string)
 * @param era - kernel generation (prefix; v2.6.30 prints "4k")
 * @param cpu - the CPU whose unit was being filled
 * @returns e.g. "percpu: failed to allocate 4K page for cpu3"
 */
export function pcpuFailedToAllocatePageLine(k: PcpuConstants, era: PcpuEra, cpu: number): string {
  checkSize("pcpuFailedToAllocatePageLine: cpu", cpu);
  const psize = era === "v2.6.30" ? "4k" : pcpuPageSizeString(k);
  return `${pcpuLogPrefix(era)}failed to allocate ${psize} page for cpu${cpu}`;
}
