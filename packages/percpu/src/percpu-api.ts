/*
 * The public percpu API (include/linux/percpu.h): __alloc_percpu_gfp,
 * __alloc_percpu, __alloc_reserved_percpu, free_percpu and pcpu_nr_pages,
 * plus the debug hook that checks every invariant after each call when a
 * kernel is built with debugChecks.
 */

import { GFP_KERNEL } from "@pcpu/mm";
import { type PcpuAllocOpts, pcpuAlloc } from "./alloc.js";
import type { PcpuPtr } from "./api.js";
import { freePercpu as freePercpuImpl } from "./free.js";
import type { Percpu } from "./percpu.js";

/** 2^BITS_PER_LONG: the first value a size_t cannot hold. */
const SIZE_T_LIMIT_32 = 2 ** 32;
const SIZE_T_LIMIT_64 = 2 ** 64;

/**
 * The arguments are size_t: integers in [0, 2^BITS_PER_LONG). Anything else
 * is a caller's type error (the kernel app refuses it earlier, as a
 * KernelApiError); a size_t the allocator cannot serve gets the kernel's
 * own WARN and NULL in pcpu_alloc.
 */
function checkArgs(pcpu: Percpu, size: number, align: number): void {
  /* constants, not 2 ** bits: Math.pow costs ~100 ns per call on this path */
  const limit = pcpu.machine.bits === 64 ? SIZE_T_LIMIT_64 : SIZE_T_LIMIT_32;
  if (typeof size !== "number" || !Number.isInteger(size) || size < 0 || size >= limit)
    throw new TypeError(
      `percpu: size must be a size_t (an integer in [0, 2^${pcpu.machine.bits})), got ${String(size)}`,
    );
  if (typeof align !== "number" || !Number.isInteger(align) || align < 0 || align >= limit)
    throw new TypeError(
      `percpu: align must be a size_t (an integer in [0, 2^${pcpu.machine.bits})), got ${String(align)}`,
    );
}

/**
 * `__alloc_percpu_gfp(size, align, gfp)`: a zeroed percpu area.
 * @kernel mm/percpu.c __alloc_percpu_gfp
 * @context may sleep unless `gfp` is atomic (GFP_NOWAIT / GFP_ATOMIC).
 * @returns the percpu pointer, or null.
 */
export function allocPercpuGfp(
  pcpu: Percpu,
  size: number,
  align: number,
  gfp: number,
  opts?: PcpuAllocOpts,
): PcpuPtr | null {
  checkArgs(pcpu, size, align);
  const ptr = pcpuAlloc(pcpu, size, align, false, gfp, opts);
  if (pcpu.debug !== null) pcpu.debug.checkOrThrow(pcpu, "__alloc_percpu_gfp");
  return ptr;
}

/** `__alloc_percpu(size, align)`: GFP_KERNEL. @kernel mm/percpu.c __alloc_percpu */
export function allocPercpu(pcpu: Percpu, size: number, align: number, opts?: PcpuAllocOpts): PcpuPtr | null {
  return allocPercpuGfp(pcpu, size, align, GFP_KERNEL, opts);
}

/**
 * `__alloc_reserved_percpu(size, align)`: from the reserved chunk (module
 * static percpu data); from the dynamic chunks when there is none.
 * @kernel mm/percpu.c __alloc_reserved_percpu
 */
export function allocReservedPercpu(
  pcpu: Percpu,
  size: number,
  align: number,
  opts?: PcpuAllocOpts,
): PcpuPtr | null {
  checkArgs(pcpu, size, align);
  const ptr = pcpuAlloc(pcpu, size, align, true, GFP_KERNEL, opts);
  if (pcpu.debug !== null) pcpu.debug.checkOrThrow(pcpu, "__alloc_reserved_percpu");
  return ptr;
}

/**
 * `free_percpu(ptr)`.
 * @kernel mm/percpu.c free_percpu
 * @returns false when the pointer was refused as misuse (WARN logged).
 */
export function freePercpu(pcpu: Percpu, ptr: PcpuPtr | null): boolean {
  const ok = freePercpuImpl(pcpu, ptr);
  if (pcpu.debug !== null) pcpu.debug.checkOrThrow(pcpu, "free_percpu");
  return ok;
}

/** `pcpu_nr_pages()`. @kernel mm/percpu.c pcpu_nr_pages */
export function pcpuNrPages(pcpu: Percpu): number {
  return pcpu.pcpuNrPages();
}
