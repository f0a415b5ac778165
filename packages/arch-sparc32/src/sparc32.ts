/*
 * sparc32 (SRMMU): arch/sparc/include/asm/pgtable_32.h and vaddrs.h
 * (layout), arch/sparc/Kconfig (NR_CPUS 2..32 default 32, NUMA only on
 * SPARC64). HAVE_SETUP_PER_CPU_AREA and NEED_PER_CPU_*_FIRST_CHUNK are
 * selected only by SPARC64, so sparc32 runs the generic
 * setup_per_cpu_areas(): embed(8K, 20K, PAGE_SIZE), one group, a 75%
 * distance failure only warns. Big-endian.
 *
 *   PAGE_OFFSET (KERNBASE)  0xf0000000
 *   lowmem                  at most SRMMU_MAXMEM = 192 MiB (to 0xfc000000)
 *   vmalloc                 0xfe600000 - 0xffc00000 = 22 MiB, fixed
 *                           (shared with modules since the 2024 execmem work)
 */

import {
  type ArchConfig,
  type ArchEra,
  type ArchLayout,
  type ArchNrCpus,
  GenericArch,
  type ResolvedArchConfig,
} from "@pcpu/arch-generic";
import type { Percpu } from "@pcpu/percpu";
import { Sparc32PercpuArch } from "./thread-info-cpu.js";

const MiB = 2 ** 20;

/** `PAGE_OFFSET` = `KERNBASE`. */
export const SPARC32_PAGE_OFFSET = 0xf000_0000;
/** `SRMMU_MAXMEM`: the most lowmem the SRMMU layout maps. */
export const SRMMU_MAXMEM = 192 * MiB;
/** `VMALLOC_START` / `VMALLOC_END`. */
export const SPARC32_VMALLOC_START = 0xfe60_0000;
export const SPARC32_VMALLOC_END = 0xffc0_0000;
/** Default link address of `.data..percpu` (image at 0xf0004000). */
export const SPARC32_PERCPU_ADDR = 0xf030_0000;

/** The sparc32 arch. */
export class Sparc32Arch extends GenericArch<Sparc32PercpuArch> {
  override readonly id = "sparc32" as const;
  override readonly bits = 32 as const;
  override readonly littleEndian = false;
  override readonly defaultMemPerNode = 256 * MiB;
  override readonly defaultStaticSize = 0x8000;

  /** NR_CPUS 2..32, default 32. */
  override nrCpus(_era?: ArchEra): ArchNrCpus {
    return { default: 32, max: 32 };
  }

  /** NUMA depends on SPARC64. */
  override hasNuma(_era?: ArchEra): boolean {
    return false;
  }

  protected override defaultSectionAddr(_era: ArchEra): number {
    return SPARC32_PERCPU_ADDR;
  }

  /** The fixed SRMMU layout in the header; memory above 192 MiB is highmem. */
  override layout(config: ArchConfig | ResolvedArchConfig): ArchLayout {
    const cfg = this.resolve(config);
    const physEnd = this.physEnd(cfg);
    if (physEnd > 2 ** 36)
      throw new RangeError(
        `sparc32: physical memory ends at 0x${physEnd.toString(16)}, beyond 64 GiB (36-bit SRMMU)`,
      );
    return {
      pageOffset: SPARC32_PAGE_OFFSET,
      directMapSize: Math.min(physEnd, SRMMU_MAXMEM),
      vmallocStart: SPARC32_VMALLOC_START,
      vmallocEnd: SPARC32_VMALLOC_END,
      vmallocTotal: SPARC32_VMALLOC_END - SPARC32_VMALLOC_START,
      modulesStart: SPARC32_VMALLOC_START,
      modulesEnd: SPARC32_VMALLOC_END,
      vaBits: 32,
    };
  }

  override createPercpuArch(pcpu: Percpu, _config: ArchConfig | ResolvedArchConfig): Sparc32PercpuArch {
    return new Sparc32PercpuArch(pcpu);
  }
}
