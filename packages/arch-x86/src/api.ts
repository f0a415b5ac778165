/*
 * @pcpu/arch-x86 api: the x86 numbers the model uses. Only constants and
 * types live here.
 *
 * x86_64 addresses are 64-bit canonical addresses (bits 63..47 all equal);
 * the model keeps their low 48 bits, which is lossless for canonical
 * addresses, keeps NULL at 0 and keeps the unsigned order of kernel
 * addresses (all in the upper half, internal [2^47, 2^48)):
 *
 *   canonical 0xffff888000000000  <->  internal 0x888000000000
 *   canonical 0xffffffff82000000  <->  internal 0xffff82000000
 *   canonical 0x0000000000000030  <->  internal 0x30   (a zero-based percpu pointer)
 *
 * Arithmetic is modulo 2^48 and printing sign-extends bit 47
 * (canonical.ts). 5-level paging (57-bit addresses) is not modelled.
 */

/** x86_64 kernel virtual addresses, internal form (see the header). */
export const X86_64_VA_BITS = 48;
/** `PAGE_OFFSET` (4-level, v4.20+): 0xffff888000000000. */
export const X86_64_PAGE_OFFSET = 0x8880_0000_0000;
/** `PAGE_OFFSET` before v4.20 (2.6.27 .. 4.19): 0xffff880000000000. */
export const X86_64_PAGE_OFFSET_OLD = 0x8800_0000_0000;
/** `VMALLOC_START` (v3.x+ 4-level): 0xffffc90000000000. */
export const X86_64_VMALLOC_START = 0xc900_0000_0000;
/** `VMALLOC_START` in 2009 (2.6.27 .. 2.6.3x): 0xffffc20000000000. */
export const X86_64_VMALLOC_START_2009 = 0xc200_0000_0000;
/** `VMALLOC_SIZE_TB` (4-level): 32 TiB; VMALLOC_END = VMALLOC_START + 32 TiB - 1 (inclusive). */
export const X86_64_VMALLOC_SIZE = 2 ** 45;
/** `MAX_PHYSMEM_BITS` direct map limit used by the model: 64 TiB (v3.x+); 2009 layout: 57 TiB. */
export const X86_64_DIRECT_MAP_MAX = 2 ** 46;
export const X86_64_DIRECT_MAP_MAX_2009 = 0x3900_0000_0000;
/** `__START_KERNEL_map`: 0xffffffff80000000, the kernel image mapping of physical 0. */
export const X86_64_START_KERNEL_MAP = 0xffff_8000_0000;
/** `MODULES_VADDR` / `MODULES_END`: 0xffffffffa0000000 .. 0xffffffffff000000. */
export const X86_64_MODULES_VADDR = 0xffff_a000_0000;
export const X86_64_MODULES_END = 0xffff_ff00_0000;
/** Physical address of `.data..percpu` in the model's vmlinux (32 MiB; the image starts at CONFIG_PHYSICAL_START 16 MiB). */
export const X86_64_PERCPU_PHYS = 0x200_0000;

/** i386 (VMSPLIT_3G): `PAGE_OFFSET`. */
export const I386_PAGE_OFFSET = 0xc000_0000;
/**
 * `PKMAP_BASE` with the default fixmap: 0xff800000 (it moves with the
 * fixmap size; the model keeps the common value).
 */
export const I386_PKMAP_BASE = 0xff80_0000;
/** `VMALLOC_OFFSET`: the 8 MiB hole between lowmem and vmalloc. */
export const I386_VMALLOC_OFFSET = 8 * 2 ** 20;
/** `__VMALLOC_RESERVE` default: 128 MiB (vmalloc= sets it to size + VMALLOC_OFFSET). */
export const I386_VMALLOC_RESERVE = 128 * 2 ** 20;
/** Default link address of `.data..percpu` (in the init section of an image loaded at 16 MiB). */
export const I386_PERCPU_ADDR = 0xc1a0_0000;

/** `PMD_SIZE`: 2 MiB on x86_64 and i386 PAE, 4 MiB on i386 without PAE. */
export const PMD_SIZE_2M = 2 * 2 ** 20;
export const PMD_SIZE_4M = 4 * 2 ** 20;

/** `pcpu_fc_names[]`. */
export const PCPU_FC_NAMES = { auto: "auto", embed: "embed", page: "page" } as const;

/**
 * Offsets of the x86 arch's own percpu variables inside `.data..percpu`
 * (the model's vmlinux layout; a real link puts them wherever the linker
 * does, except fixed_percpu_data which must be at 0 on zero-based x86_64).
 */
export const X86_PERCPU_SYMBOLS_ZERO_BASED = [
  /* gs_base[40] + stack_canary: the GCC stack protector reads %gs:40. */
  { name: "fixed_percpu_data", offset: 0x0, size: 0x30 },
  { name: "this_cpu_off", offset: 0x30, size: 8 },
  { name: "cpu_number", offset: 0x38, size: 4 },
] as const;
/** x86_64 v6.15+ (cache-hot percpu data first, no fixed_percpu_data). */
export const X86_64_PERCPU_SYMBOLS = [
  { name: "this_cpu_off", offset: 0x0, size: 8 },
  { name: "cpu_number", offset: 0x8, size: 4 },
] as const;
/** i386: unsigned long is 4 bytes. */
export const I386_PERCPU_SYMBOLS = [
  { name: "this_cpu_off", offset: 0x0, size: 4 },
  { name: "cpu_number", offset: 0x4, size: 4 },
] as const;

/** `GDT_ENTRY_PERCPU` on i386 (the %fs descriptor). */
export const GDT_ENTRY_PERCPU = 27;
/** Its limit: 0xFFFFF pages with G=1, i.e. 4 GiB. */
export const GDT_PERCPU_LIMIT = 0xfffff;
