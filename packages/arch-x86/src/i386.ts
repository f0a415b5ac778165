/*
 * i386 (x86_32): arch/x86/include/asm/pgtable_32_areas.h and
 * arch/x86/mm/pgtable_32.c (layout, vmalloc=), the 32-bit side of
 * arch/x86/kernel/setup_percpu.c, and Kconfig.
 *
 *   PAGE_OFFSET    0xc0000000 (VMSPLIT_3G)
 *   VMALLOC_END    PKMAP_BASE - 2 pages              = 0xff7fe000
 *   MAXMEM         VMALLOC_END - PAGE_OFFSET - __VMALLOC_RESERVE
 *   lowmem         min(RAM, MAXMEM); the rest is highmem (no direct map)
 *   VMALLOC_START  high_memory + VMALLOC_OFFSET (8 MiB)
 *
 * With >= 896 MiB of RAM: lowmem 0xc0000000-0xf77fe000, vmalloc
 * 0xf7ffe000-0xff7fe000 (120 MiB), so embed's 75% limit is 90 MiB.
 *
 * Percpu: %fs, BOOT_PERCPU_OFFSET 0, PERCPU_FIRST_CHUNK_RESERVE 0 (any
 * 32-bit address is reachable, module statics come from the dynamic
 * area), atom PAGE_SIZE, and auto on NUMA means page. NUMA (with PAE) and
 * BIGSMP are gone in 6.15; the `v6.14` and older eras keep them.
 */

import type {
  ArchConfig,
  ArchEra,
  ArchLayout,
  ArchNrCpus,
  ArchPercpuSymbol,
  ResolvedArchConfig,
} from "@pcpu/arch-generic";
import type { Percpu } from "@pcpu/percpu";
import {
  I386_PAGE_OFFSET,
  I386_PERCPU_ADDR,
  I386_PERCPU_SYMBOLS,
  I386_PKMAP_BASE,
  I386_VMALLOC_OFFSET,
  I386_VMALLOC_RESERVE,
  PMD_SIZE_2M,
  PMD_SIZE_4M,
} from "./api.js";
import { I386PercpuArch } from "./percpu-segment.js";
import { X86Arch } from "./setup-percpu.js";

const GiB = 2 ** 30;

/** The i386 arch. */
export class I386Arch extends X86Arch<I386PercpuArch> {
  override readonly id = "i386" as const;
  override readonly bits = 32 as const;
  override readonly eras: readonly ArchEra[] = ["v2.6.32", "v3.18", "v4.14", "v5.14", "v6.14", "v6"];
  override readonly hasVmallocParam = true;
  override readonly defaultMemPerNode = 1 * GiB;
  override readonly defaultStaticSize = 0x14000;

  /** v6.15+: 2..8 (no BIGSMP). Before: 8 by default, up to 64 with X86_BIGSMP. */
  override nrCpus(era?: ArchEra): ArchNrCpus {
    return (era ?? this.defaultEra) === "v6" ? { default: 8, max: 8 } : { default: 8, max: 64 };
  }

  /** NUMA needed HIGHMEM64G (PAE); it depends on X86_64 since 6.15. */
  override hasNuma(era?: ArchEra): boolean {
    return (era ?? this.defaultEra) !== "v6";
  }

  protected override defaultSectionAddr(_era: ArchEra): number {
    return I386_PERCPU_ADDR;
  }

  /** PAE: needed for NUMA and for memory above 4 GiB (then PMD_SIZE is 2 MiB). */
  pae(cfg: ResolvedArchConfig): boolean {
    return cfg.numa || this.physEnd(cfg) > 4 * GiB;
  }

  /** The 3G/1G layout (header). `vmalloc=` sets __VMALLOC_RESERVE to size + 8 MiB. */
  override layout(config: ArchConfig | ResolvedArchConfig): ArchLayout {
    const cfg = this.resolve(config);
    const ps = 2 ** this.pageShift;
    const physEnd = this.physEnd(cfg);
    if (physEnd > (this.pae(cfg) ? 64 * GiB : 4 * GiB)) {
      throw new RangeError(
        `i386: physical memory ends at 0x${physEnd.toString(16)}, beyond what PAE addresses (64 GiB)`,
      );
    }
    const vmallocEnd = I386_PKMAP_BASE - 2 * ps;
    const reserve =
      cfg.vmallocSize !== undefined ? cfg.vmallocSize + I386_VMALLOC_OFFSET : I386_VMALLOC_RESERVE;
    const maxmem = vmallocEnd - I386_PAGE_OFFSET - reserve;
    if (maxmem <= 0 || maxmem % ps !== 0) {
      throw new RangeError(`i386: vmalloc=${cfg.vmallocSize} leaves no page-aligned lowmem`);
    }
    const lowmem = Math.min(physEnd, maxmem);
    return {
      pageOffset: I386_PAGE_OFFSET,
      directMapSize: lowmem,
      vmallocStart: I386_PAGE_OFFSET + lowmem + I386_VMALLOC_OFFSET,
      vmallocEnd,
      vmallocTotal: vmallocEnd - (I386_PAGE_OFFSET + lowmem + I386_VMALLOC_OFFSET),
      vaBits: 32,
    };
  }

  /** `PAGE_SIZE` (2.6.32 .. 3.0: PMD_SIZE when the CPU has PSE). */
  atomSize(cfg: ResolvedArchConfig): number {
    if (cfg.era === "v2.6.32" && cfg.pse) return this.pae(cfg) ? PMD_SIZE_2M : PMD_SIZE_4M;
    return 2 ** this.pageShift;
  }

  /** `PERCPU_FIRST_CHUNK_RESERVE = 0`. */
  firstChunkReserve(_pcpu: Percpu): number {
    return 0;
  }

  /** Auto on a NUMA machine is page (`#ifdef CONFIG_X86_32`; dead since 6.15, which has no i386 NUMA). */
  protected autoNumaForcesPage(_cfg: ResolvedArchConfig): boolean {
    return true;
  }

  override percpuSymbols(_cfg: ResolvedArchConfig): readonly ArchPercpuSymbol[] {
    return I386_PERCPU_SYMBOLS;
  }

  /** BOOT_PERCPU_OFFSET is 0 on i386: offsets, GDT bases and this_cpu_off all start at 0. */
  override createPercpuArch(pcpu: Percpu, config: ArchConfig | ResolvedArchConfig): I386PercpuArch {
    return new I386PercpuArch(pcpu, this.percpuSymbols(this.resolve(config)));
  }
}
