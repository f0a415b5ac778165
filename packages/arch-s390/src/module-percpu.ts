/*
 * s390's addressing limit for module percpu variables, as far as percpu
 * pointers are concerned (arch/s390/include/asm/percpu.h, the weak
 * definitions of include/linux/percpu-defs.h).
 *
 * A module's code reaches a percpu symbol with a PC-relative `larl`
 * (signed 32-bit halfword offset: -4 GiB .. +4 GiB - 2) and then adds its
 * lowcore offset. The symbol's address is a percpu pointer: for module
 * statics, a reserved-chunk pointer, which lies just after the kernel's
 * static section.
 *
 *   < 6.19  ARCH_MODULE_NEEDS_WEAK_PER_CPU (ARCH_NEEDS_WEAK_PER_CPU from
 *           2.6.32): modules were too far from the kernel for larl, so
 *           module percpu variables are defined weak and reached through
 *           the GOT, at any distance. The price: percpu symbols must be
 *           globally unique and cannot be function-local statics.
 *   6.19    the kernel image and the modules share one 4 GiB window, larl
 *           reaches every module static, the weak definitions go.
 *
 * The model checks a module description against the rule of its era; the
 * kernel would fail at build (weak rules) or at relocation (larl range).
 */

import { type ArchEra, archEraAtLeast } from "@pcpu/arch-generic";

/** larl's reach: a signed 32-bit count of halfwords. */
export const LARL_MIN = -(2 ** 32);
export const LARL_MAX = 2 ** 32 - 2;

/** A module's percpu symbol. */
export interface S390ModulePercpuSymbol {
  readonly name: string;
  /** Its percpu pointer (__per_cpu_start coordinates, e.g. from __alloc_reserved_percpu). */
  readonly ptr: number;
  /** Defined `static DEFINE_PER_CPU` inside a function. */
  readonly functionStatic?: boolean;
}

/** What the check needs of a module. */
export interface S390ModulePercpu {
  readonly name: string;
  /** Address of the module code that references the symbols. */
  readonly codeAddr: number;
  readonly symbols: readonly S390ModulePercpuSymbol[];
}

/** Whether `era` still builds module percpu variables weak (ARCH_MODULE_NEEDS_WEAK_PER_CPU). */
export function s390NeedsWeakPerCpu(era: ArchEra): boolean {
  return !archEraAtLeast(era, "v6");
}

/**
 * Whether a module can address its percpu symbols on s390 in `era`.
 * @param format - how the arch prints an address (S390Arch.formatAddr)
 * @returns null when it can, else the reason.
 */
export function s390ModulePercpuError(
  era: ArchEra,
  mod: S390ModulePercpu,
  format: (a: number) => string,
): string | null {
  if (s390NeedsWeakPerCpu(era)) {
    const seen = new Set<string>();
    for (const s of mod.symbols) {
      if (s.functionStatic) {
        return `s390: module ${mod.name}: percpu symbol ${s.name} is a function-local static; weak percpu definitions (ARCH_MODULE_NEEDS_WEAK_PER_CPU) must be public`;
      }
      if (seen.has(s.name)) {
        return `s390: module ${mod.name}: percpu symbol ${s.name} defined twice; weak percpu definitions (ARCH_MODULE_NEEDS_WEAK_PER_CPU) must be unique`;
      }
      seen.add(s.name);
    }
    return null;
  }
  for (const s of mod.symbols) {
    const d = s.ptr - mod.codeAddr;
    if (d < LARL_MIN || d > LARL_MAX) {
      return `s390: module ${mod.name}: percpu symbol ${s.name} at ${format(s.ptr)} is out of larl range (R_390_PC32DBL, +-4 GiB) of the code at ${format(mod.codeAddr)}`;
    }
  }
  return null;
}
