/*
 * arch/arm64/include/asm/memory.h and pgtable-hwdef.h for a 48-bit VA
 * kernel (CONFIG_ARM64_VA_BITS_48) with 4 KiB, 16 KiB or 64 KiB pages,
 * KASAN and KASLR off.
 *
 * Every kernel address lies in the upper 2^48 bytes (0xffff000000000000 ..);
 * the model keeps the low 48 bits (internal = address - 0xffff000000000000)
 * and prints them back with the 0xffff prefix.
 *
 *                      v5.14 .. v6 (5.4+: linear map      v4.14 (linear map in the
 *                      in the lower half)                  upper half)
 *   PAGE_OFFSET        0xffff000000000000                  0xffff800000000000
 *   linear map         128 TiB                             128 TiB
 *   MODULES_VADDR      v6, v6.14: 0xffff800000000000 (2G)  0xffff000000000000 (128M)
 *                      v5.14: 0xffff800008000000 (128M,
 *                      after the 128M BPF JIT region)
 *   VMALLOC_START      MODULES_END (= KIMAGE_VADDR)        MODULES_END
 *   VMALLOC_END        -PUD_SIZE - VMEMMAP_SIZE - 64K      PAGE_OFFSET - PUD_SIZE - VMEMMAP_SIZE - 64K
 *
 *   page size   levels  PUD_SIZE          VMEMMAP_SIZE (struct page 64 B)
 *   4 KiB       4       1 GiB             2 TiB
 *   16 KiB      4       64 GiB            512 GiB
 *   64 KiB      3       4 TiB (PGDIR)     128 GiB
 *
 * The kernel image sits at KIMAGE_VADDR = VMALLOC_START and is registered
 * as the first vmalloc areas (vm_area_add_early), so `.data..percpu` has a
 * kernel-image address and the vmalloc allocator never hands that range out.
 * Newer trees moved VMALLOC_END below a fixed 256 MiB gap under vmemmap;
 * the model keeps the 5.4 .. 6.x formula above (see the README).
 */

import type { ArchEra } from "@pcpu/arch-generic";

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** CONFIG_ARM64_VA_BITS. */
export const ARM64_VA_BITS = 48;
/** The page shifts arm64 builds: ARM64_4K_PAGES, ARM64_16K_PAGES, ARM64_64K_PAGES. */
export const ARM64_PAGE_SHIFTS = [12, 14, 16] as const;
export type Arm64PageShift = (typeof ARM64_PAGE_SHIFTS)[number];

/** `STRUCT_PAGE_MAX_SHIFT`: log2 of sizeof(struct page) rounded up (64 bytes). */
export const ARM64_STRUCT_PAGE_MAX_SHIFT = 6;
/** The model's physical address of `.data..percpu` inside the kernel image (image loaded at phys 0). */
export const ARM64_PERCPU_IMAGE_OFFSET = 0x200_0000;

const VA = 2 ** ARM64_VA_BITS;
const HALF = 2 ** (ARM64_VA_BITS - 1);

/** `%px` on arm64: the upper-half kernel address of an internal one, 16 digits. */
export function arm64FormatAddr(internal: number): string {
  return `ffff${internal.toString(16).padStart(12, "0")}`;
}

/**
 * The internal form of a real arm64 kernel address (bits 63..48 all ones).
 * @throws RangeError for an address outside the kernel half.
 */
export function arm64Internal(addr: bigint): number {
  const v = BigInt.asUintN(64, addr);
  if (v >> 48n !== 0xffffn) throw new RangeError(`0x${v.toString(16)} is not an arm64 kernel address`);
  return Number(v & ((1n << 48n) - 1n));
}

/** `PUD_SIZE` of a 48-bit kernel: 1 GiB (4K), 64 GiB (16K), 4 TiB = PGDIR_SIZE (64K, 3 levels, PUD folded). */
export function arm64PudSize(pageShift: Arm64PageShift): number {
  /*
   * Each level resolves PAGE_SHIFT - 3 bits; the PUD maps what two levels
   * below it map. With 64K pages 48 bits need only 3 levels: the PUD is
   * folded into the PGD, whose entries map that same 2^42.
   */
  return 2 ** (pageShift + 2 * (pageShift - 3));
}

/** `VMEMMAP_SIZE`: a struct page for every page of the 128 TiB linear map. */
export function arm64VmemmapSize(pageShift: Arm64PageShift): number {
  return HALF / 2 ** (pageShift - ARM64_STRUCT_PAGE_MAX_SHIFT);
}

/** The arm64 virtual layout of an era and page size, in internal addresses. */
export interface Arm64Layout {
  readonly pageOffset: number;
  /** Bytes the linear map can cover. */
  readonly linearMapSize: number;
  readonly modulesStart: number;
  readonly modulesEnd: number;
  /** `KIMAGE_VADDR` = VMALLOC_START. */
  readonly kimageVaddr: number;
  readonly vmallocStart: number;
  readonly vmallocEnd: number;
}

/** The layout of `era` with pages of 2^`pageShift` bytes. */
export function arm64Layout(era: ArchEra, pageShift: Arm64PageShift): Arm64Layout {
  const pud = arm64PudSize(pageShift);
  const vmemmap = arm64VmemmapSize(pageShift);
  if (era === "v4.14") {
    /* VA_START = 0xffff000000000000: modules then vmalloc below the upper-half linear map. */
    const modulesStart = 0;
    const modulesEnd = modulesStart + 128 * MiB;
    return {
      pageOffset: HALF,
      linearMapSize: HALF,
      modulesStart,
      modulesEnd,
      kimageVaddr: modulesEnd,
      vmallocStart: modulesEnd,
      vmallocEnd: HALF - pud - vmemmap - 64 * 1024,
    };
  }
  /* 5.4+: PAGE_OFFSET at the bottom, _PAGE_END(VA_BITS) = 0xffff800000000000. */
  const modulesStart = era === "v5.14" ? HALF + 128 * MiB : HALF;
  const modulesEnd = modulesStart + (era === "v5.14" ? 128 * MiB : 2 * GiB);
  return {
    pageOffset: 0,
    linearMapSize: HALF,
    modulesStart,
    modulesEnd,
    kimageVaddr: modulesEnd,
    vmallocStart: modulesEnd,
    vmallocEnd: VA - pud - vmemmap - 64 * 1024,
  };
}
