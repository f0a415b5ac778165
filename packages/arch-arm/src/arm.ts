/*
 * arm (32-bit): arch/arm/mm/mmu.c and arch/arm/include/asm/pgtable.h
 * (layout, vmalloc=), arch/arm/Kconfig (NR_CPUS 2..32 default 4, no NUMA).
 * arm has no setup_per_cpu_areas() of its own and selects no
 * NEED_PER_CPU_*_FIRST_CHUNK: it gets the generic embed
 * (PERCPU_MODULE_RESERVE, PERCPU_DYNAMIC_RESERVE, PAGE_SIZE, no distance),
 * one group, and a 75% distance failure only warns.
 *
 * Layout (v6, 3G/1G, PHYS_OFFSET 0 in the model):
 *
 *   PAGE_OFFSET      0xc0000000
 *   lowmem limit     VMALLOC_END - vmalloc_size - VMALLOC_OFFSET = 0xf0000000
 *   VMALLOC_START    (high_memory + 8 MiB) & ~(8 MiB - 1)
 *   VMALLOC_END      0xff800000
 *   vmalloc_size     240 MiB; vmalloc= is clamped to
 *                    [16 MiB, VMALLOC_END - (PAGE_OFFSET + 32 MiB + 8 MiB)]
 *
 * 2009 (v2.6.32): VMALLOC_END came from mach/vmalloc.h (the model takes
 * realview's PAGE_OFFSET + 0x28000000) and lowmem stopped 128 MiB below it.
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
import { ArmPercpuArch } from "./tpidrprw.js";

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** `PAGE_OFFSET` (VMSPLIT_3G). */
export const ARM_PAGE_OFFSET = 0xc000_0000;
/** `VMALLOC_OFFSET`. */
export const ARM_VMALLOC_OFFSET = 8 * MiB;
/** `VMALLOC_END` (v3.x+). */
export const ARM_VMALLOC_END = 0xff80_0000;
/** The default vmalloc size (v3.x+). */
export const ARM_VMALLOC_DEFAULT = 240 * MiB;
/** 2009: a per-machine VMALLOC_END (realview: PAGE_OFFSET + 0x28000000) and a 128 MiB reserve. */
export const ARM_VMALLOC_END_2009 = 0xe800_0000;
export const ARM_VMALLOC_RESERVE_2009 = 128 * MiB;
/** Default link address of `.data..percpu` (image at 0xc0008000, percpu in the init section). */
export const ARM_PERCPU_ADDR = 0xc0a0_0000;

/** The arm arch. */
export class ArmArch extends GenericArch<ArmPercpuArch> {
  override readonly id = "arm" as const;
  override readonly bits = 32 as const;
  override readonly hasVmallocParam = true;
  override readonly defaultMemPerNode = 1 * GiB;
  override readonly defaultStaticSize = 0xa000;

  /** NR_CPUS 2..32, default 4. */
  override nrCpus(_era?: ArchEra): ArchNrCpus {
    return { default: 4, max: 32 };
  }

  /** arm has no NUMA. */
  override hasNuma(_era?: ArchEra): boolean {
    return false;
  }

  protected override defaultSectionAddr(_era: ArchEra): number {
    return ARM_PERCPU_ADDR;
  }

  /** The layout in the header; `vmalloc=` is clamped like early_vmalloc() does. */
  override layout(config: ArchConfig | ResolvedArchConfig): ArchLayout {
    const cfg = this.resolve(config);
    const physEnd = this.physEnd(cfg);
    if (physEnd > 4 * GiB)
      throw new RangeError(
        `arm: physical memory ends at 0x${physEnd.toString(16)}, beyond 4 GiB (no LPAE in the model)`,
      );
    let vmallocEnd: number;
    let lowmemLimit: number;
    if (cfg.era === "v2.6.32") {
      if (cfg.vmallocSize !== undefined)
        throw new RangeError("arm: the v2.6.32 model has no vmalloc= (per-machine VMALLOC_END)");
      vmallocEnd = ARM_VMALLOC_END_2009;
      lowmemLimit = vmallocEnd - ARM_VMALLOC_RESERVE_2009;
    } else {
      const max = ARM_VMALLOC_END - (ARM_PAGE_OFFSET + 32 * MiB + ARM_VMALLOC_OFFSET);
      const size = Math.min(Math.max(cfg.vmallocSize ?? ARM_VMALLOC_DEFAULT, 16 * MiB), max);
      vmallocEnd = ARM_VMALLOC_END;
      lowmemLimit = ARM_VMALLOC_END - size - ARM_VMALLOC_OFFSET;
    }
    const lowmem = Math.min(physEnd, lowmemLimit - ARM_PAGE_OFFSET);
    const vmallocStart =
      Math.floor((ARM_PAGE_OFFSET + lowmem + ARM_VMALLOC_OFFSET) / ARM_VMALLOC_OFFSET) * ARM_VMALLOC_OFFSET;
    return {
      pageOffset: ARM_PAGE_OFFSET,
      directMapSize: lowmem,
      vmallocStart,
      vmallocEnd,
      vmallocTotal: vmallocEnd - vmallocStart,
      modulesStart: 0xbf00_0000,
      modulesEnd: 0xbfe0_0000,
      vaBits: 32,
    };
  }

  /** TPIDRPRW since 2012; the asm-generic array in 2009. */
  override createPercpuArch(pcpu: Percpu, config: ArchConfig | ResolvedArchConfig): ArmPercpuArch {
    return new ArmPercpuArch(pcpu, this.resolve(config).era !== "v2.6.32");
  }
}
