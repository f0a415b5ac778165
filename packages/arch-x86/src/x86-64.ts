/*
 * x86_64: arch/x86/include/asm/pgtable_64_types.h (layout),
 * arch/x86/kernel/vmlinux.lds.S (where .data..percpu is linked), the
 * x86_64 side of arch/x86/kernel/setup_percpu.c, and Kconfig (NR_CPUS,
 * NUMA). Addresses are in the internal 48-bit form (api.ts).
 *
 *   era      __per_cpu_start        __per_cpu_load   BOOT_PERCPU_OFFSET
 *   v6       0xffffffff82000000     (same)           0
 *   <=v6.14  0 (zero-based)         0xffffffff82000000  __per_cpu_load
 *
 * Zero-based: `PERCPU_VADDR(INTERNODE_CACHE_BYTES, 0, :percpu)` links the
 * section at 0 so that `%gs:sym` works with a 32-bit displacement;
 * fixed_percpu_data (the stack canary at %gs:40) must be at offset 0.
 * 6.15 ("x86/percpu/64: Use relative percpu offsets") links it normally and
 * zero-initialises __per_cpu_offset[].
 */

import {
  type ArchConfig,
  type ArchEra,
  type ArchLayout,
  type ArchNrCpus,
  type ArchPercpuSymbol,
  type ArchStaticSection,
  archEraAtLeast,
  type ResolvedArchConfig,
  type StaticSectionPlacement,
} from "@pcpu/arch-generic";
import type { Machine } from "@pcpu/mm";
import type { Percpu } from "@pcpu/percpu";
import {
  PMD_SIZE_2M,
  X86_64_DIRECT_MAP_MAX,
  X86_64_DIRECT_MAP_MAX_2009,
  X86_64_MODULES_END,
  X86_64_MODULES_VADDR,
  X86_64_PAGE_OFFSET,
  X86_64_PAGE_OFFSET_OLD,
  X86_64_PERCPU_PHYS,
  X86_64_PERCPU_SYMBOLS,
  X86_64_START_KERNEL_MAP,
  X86_64_VA_BITS,
  X86_64_VMALLOC_SIZE,
  X86_64_VMALLOC_START,
  X86_64_VMALLOC_START_2009,
  X86_PERCPU_SYMBOLS_ZERO_BASED,
} from "./api.js";
import { x86_64FormatAddr } from "./canonical.js";
import { X86_64PercpuArch } from "./percpu-segment.js";
import { X86Arch } from "./setup-percpu.js";

const GiB = 2 ** 30;

/** Whether `era` links x86_64 percpu at 0 (everything before 6.15). */
export function x86_64ZeroBased(era: ArchEra): boolean {
  return era !== "v6";
}

/** The x86_64 arch. */
export class X86_64Arch extends X86Arch<X86_64PercpuArch> {
  override readonly id = "x86_64" as const;
  override readonly bits = 64 as const;
  /** 2.6.30 x86 had its own lpage/embed/4k setup, not modelled. */
  override readonly eras: readonly ArchEra[] = ["v2.6.32", "v3.18", "v4.14", "v5.14", "v6.14", "v6"];
  override readonly defaultMemPerNode = 4 * GiB;
  /** s147456: the static size of a v6.5 distro kernel's boot log (spec arch 3.1). */
  override readonly defaultStaticSize = 0x24000;

  /** NR_CPUS 2..512 default 64; MAXSMP (CPUMASK_OFFSTACK) allows 8192. */
  override nrCpus(_era?: ArchEra): ArchNrCpus {
    return { default: 64, max: 8192 };
  }

  protected override defaultSectionAddr(_era: ArchEra): number {
    return X86_64_START_KERNEL_MAP + X86_64_PERCPU_PHYS;
  }

  /**
   * The 4-level layout: direct map at PAGE_OFFSET (0xffff888000000000 since
   * 4.20, 0xffff880000000000 before), vmalloc 32 TiB from 0xffffc90000000000
   * (0xffffc20000000000 in 2009) with VMALLOC_END inclusive, so
   * VMALLOC_TOTAL = 2^45 - 1. KASLR (randomized bases) is off.
   */
  override layout(config: ArchConfig | ResolvedArchConfig): ArchLayout {
    const cfg = this.resolve(config);
    const old = !archEraAtLeast(cfg.era, "v5.14");
    const y2009 = cfg.era === "v2.6.32";
    const physEnd = this.physEnd(cfg);
    const max = y2009 ? X86_64_DIRECT_MAP_MAX_2009 : X86_64_DIRECT_MAP_MAX;
    if (physEnd > max) {
      throw new RangeError(
        `x86_64: physical memory ends at 0x${physEnd.toString(16)}, beyond the direct map (0x${max.toString(16)})`,
      );
    }
    const vmallocStart = y2009 ? X86_64_VMALLOC_START_2009 : X86_64_VMALLOC_START;
    return {
      pageOffset: old ? X86_64_PAGE_OFFSET_OLD : X86_64_PAGE_OFFSET,
      directMapSize: physEnd,
      vmallocStart,
      vmallocEnd: vmallocStart + X86_64_VMALLOC_SIZE,
      vmallocTotal: X86_64_VMALLOC_SIZE - 1,
      modulesStart: X86_64_MODULES_VADDR,
      modulesEnd: X86_64_MODULES_END,
      vaBits: X86_64_VA_BITS,
    };
  }

  /** `PMD_SIZE` (2.6.32 .. 3.0: only when the CPU has PSE). */
  atomSize(cfg: ResolvedArchConfig): number {
    if (cfg.era === "v2.6.32" && !cfg.pse) return 2 ** this.pageShift;
    return PMD_SIZE_2M;
  }

  /** `PERCPU_FIRST_CHUNK_RESERVE = PERCPU_MODULE_RESERVE`: module statics stay reachable from %gs with 32-bit relocations. */
  firstChunkReserve(pcpu: Percpu): number {
    return pcpu.constants.PERCPU_MODULE_RESERVE;
  }

  protected autoNumaForcesPage(_cfg: ResolvedArchConfig): boolean {
    return false;
  }

  /** The section lives in the kernel image mapping (__START_KERNEL_map + phys), mapped here page by page. */
  protected override sectionPlacement(_machine: Machine, cfg: ResolvedArchConfig): StaticSectionPlacement {
    const zero = x86_64ZeroBased(cfg.era);
    return {
      arch: this.id,
      perCpuStart: zero ? 0 : cfg.sectionAddr,
      perCpuLoad: cfg.sectionAddr,
      phys: cfg.sectionAddr - X86_64_START_KERNEL_MAP,
      staticSize: cfg.staticSize,
      template: cfg.template,
      symbols: this.percpuSymbols(cfg),
    };
  }

  /** `DEFINE_PER_CPU(unsigned long, this_cpu_off) = BOOT_PERCPU_OFFSET` (0 since 6.15). */
  protected override initSymbols(
    machine: Machine,
    section: ArchStaticSection,
    cfg: ResolvedArchConfig,
  ): void {
    const boot = x86_64ZeroBased(cfg.era) ? section.perCpuLoad : 0;
    const a = section.perCpuLoad + section.symbols.this_cpu_off!.offset;
    machine.mem.write32(a, boot % 2 ** 32);
    machine.mem.write32(a + 4, (Math.floor(boot / 2 ** 32) | (boot >= 2 ** 47 ? 0xffff0000 : 0)) >>> 0);
  }

  /** `__per_cpu_offset[]` and GS base start at BOOT_PERCPU_OFFSET (`__per_cpu_load` when zero-based, else 0). */
  override createPercpuArch(pcpu: Percpu, config: ArchConfig | ResolvedArchConfig): X86_64PercpuArch {
    const cfg = this.resolve(config);
    const boot = x86_64ZeroBased(cfg.era) ? pcpu.section.perCpuLoad : 0;
    return new X86_64PercpuArch(pcpu, boot, this.percpuSymbols(cfg));
  }

  /** x86_64's own percpu variables: fixed_percpu_data first while zero-based. */
  override percpuSymbols(cfg: ResolvedArchConfig): readonly ArchPercpuSymbol[] {
    return x86_64ZeroBased(cfg.era) ? X86_PERCPU_SYMBOLS_ZERO_BASED : X86_64_PERCPU_SYMBOLS;
  }

  override formatAddr(addr: number): string {
    return x86_64FormatAddr(addr);
  }
}
