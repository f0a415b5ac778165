/*
 * s390 (64-bit): arch/s390/boot/startup.c setup_kernel_memory_layout and
 * asm/pgtable.h (layout, vmalloc=), arch/s390/mm/init.c
 * setup_per_cpu_areas(), arch/s390/Kconfig (NR_CPUS 2..512 default 64;
 * NUMA with NODES_SHIFT 1 but numa_setup() puts everything on node 0).
 * Big-endian.
 *
 * Layout of the model (v6, KASLR off, 3-level paging: 4 TiB):
 *
 *   0                  identity (direct) map of all memory, PAGE_OFFSET 0
 *   VMALLOC_START      VMALLOC_END - vmalloc_size (default 512 GiB - MODULES_LEN)
 *   VMALLOC_END        = MODULES_VADDR = 0x3ff40000000
 *   MODULES_END        = kernel image start = 0x3ffc0000000 (MODULES_LEN 2 GiB)
 *   kernel image       0x3ffc0000000 .. : .data..percpu mapped here
 *
 * Modules and the kernel image share one 4 GiB window, which is what lets
 * 6.19 drop the weak module percpu definitions (module-percpu.ts).
 *
 * 2009 (v2.6.32, s390x): the kernel is identity mapped (.data..percpu at
 * its physical address), vmalloc is 1 GiB at 0x3e000000000-0x3e040000000,
 * modules are vmalloc'ed, and the generic setup_per_cpu_areas() runs.
 */

import {
  type ArchConfig,
  type ArchEra,
  type ArchLayout,
  type ArchNrCpus,
  type ArchSetupResult,
  GenericArch,
  logLinesSince,
  percpuAllocSetup,
  type ResolvedArchConfig,
  type StaticSectionPlacement,
} from "@pcpu/arch-generic";
import type { Machine } from "@pcpu/mm";
import { LOCAL_DISTANCE, type Percpu, pcpuEmbedFirstChunk } from "@pcpu/percpu";
import { S390PercpuArch } from "./lowcore.js";

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const TiB = 2 ** 40;

/** The model's address space top: 3-level paging (region-second table), 4 TiB. */
export const S390_VMAX = 4 * TiB;
/** `MODULES_LEN`. */
export const S390_MODULES_LEN = 2 * GiB;
/** Kernel image virtual start (KASLR off: near the top). */
export const S390_KERNEL_START = S390_VMAX - 1 * GiB;
export const S390_MODULES_END = S390_KERNEL_START;
export const S390_MODULES_VADDR = S390_MODULES_END - S390_MODULES_LEN;
/** `VMALLOC_DEFAULT_SIZE`: 512 GiB - MODULES_LEN = 510 GiB. */
export const S390_VMALLOC_DEFAULT_SIZE = 512 * GiB - S390_MODULES_LEN;
/** `_SEGMENT_SIZE` (PMD): 1 MiB; vmalloc= is rounded up to it. */
export const S390_SEGMENT_SIZE = 1 * MiB;
/** Physical address of .data..percpu in the model's image. */
export const S390_PERCPU_PHYS = 0x200_0000;
/** 2009 s390x: VMALLOC_START / VMALLOC_END. */
export const S390_VMALLOC_START_2009 = 0x3e0_0000_0000;
export const S390_VMALLOC_END_2009 = 0x3e0_4000_0000;

/** The s390 arch. */
export class S390Arch extends GenericArch<S390PercpuArch> {
  override readonly id = "s390" as const;

  /** arch/s390/Kconfig: `config SMP def_bool y` in today's kernels; 2.6.32 still offered !SMP. */
  override smpRequired(era: ArchEra): boolean {
    return era !== "v2.6.32";
  }

  override readonly bits = 64 as const;
  override readonly littleEndian = false;
  override readonly eras: readonly ArchEra[] = ["v2.6.32", "v6.14", "v6"];
  override readonly hasVmallocParam = true;
  /** s390 selects NEED_PER_CPU_EMBED_FIRST_CHUNK (and HAVE_SETUP_PER_CPU_AREA), no page. */
  override readonly needFc = { embed: true, page: false } as const;
  override readonly defaultMemPerNode = 4 * GiB;
  override readonly defaultStaticSize = 0x20000;

  /** NR_CPUS 2..512 default 64 (2009: 2..64 default 32). */
  override nrCpus(era?: ArchEra): ArchNrCpus {
    return (era ?? this.defaultEra) === "v2.6.32" ? { default: 32, max: 64 } : { default: 64, max: 512 };
  }

  /** CONFIG_NUMA exists (since 4.8), with a single node. */
  override hasNuma(era?: ArchEra): boolean {
    return (era ?? this.defaultEra) !== "v2.6.32";
  }

  /** numa_setup() puts all memory and every CPU on node 0. */
  override resolve(config: ArchConfig | ResolvedArchConfig): ResolvedArchConfig {
    const cfg = super.resolve(config);
    if (cfg.nodes.length > 1)
      throw new RangeError("s390: numa_setup() puts all memory on node 0; give a single node");
    if (cfg.era === "v2.6.32" && cfg.vmallocSize !== undefined)
      throw new RangeError("s390: the v2.6.32 layout has a fixed 1 GiB vmalloc area");
    return cfg;
  }

  protected override defaultSectionAddr(era: ArchEra): number {
    return era === "v2.6.32" ? S390_PERCPU_PHYS : S390_KERNEL_START + S390_PERCPU_PHYS;
  }

  /** The layout in the header. */
  override layout(config: ArchConfig | ResolvedArchConfig): ArchLayout {
    const cfg = this.resolve(config);
    const physEnd = this.physEnd(cfg);
    if (cfg.era === "v2.6.32") {
      if (physEnd > S390_VMALLOC_START_2009)
        throw new RangeError("s390: memory overlaps the 2009 vmalloc area");
      return {
        pageOffset: 0,
        directMapSize: physEnd,
        vmallocStart: S390_VMALLOC_START_2009,
        vmallocEnd: S390_VMALLOC_END_2009,
        vmallocTotal: S390_VMALLOC_END_2009 - S390_VMALLOC_START_2009,
        vaBits: 42,
      };
    }
    const size =
      Math.ceil((cfg.vmallocSize ?? S390_VMALLOC_DEFAULT_SIZE) / S390_SEGMENT_SIZE) * S390_SEGMENT_SIZE;
    const vmallocEnd = S390_MODULES_VADDR;
    const vmallocStart = vmallocEnd - size;
    if (physEnd > vmallocStart)
      throw new RangeError(
        `s390: ${physEnd} bytes of memory do not fit below VMALLOC_START in the 3-level layout`,
      );
    return {
      pageOffset: 0,
      directMapSize: physEnd,
      vmallocStart,
      vmallocEnd,
      vmallocTotal: size,
      modulesStart: S390_MODULES_VADDR,
      modulesEnd: S390_MODULES_END,
      vaBits: 42,
    };
  }

  /** v6: .data..percpu lives in the separately mapped kernel image; 2009: identity mapped. */
  protected override sectionPlacement(machine: Machine, cfg: ResolvedArchConfig): StaticSectionPlacement {
    if (cfg.era === "v2.6.32") return super.sectionPlacement(machine, cfg);
    return {
      arch: this.id,
      perCpuStart: cfg.sectionAddr,
      perCpuLoad: cfg.sectionAddr,
      phys: cfg.sectionAddr - S390_KERNEL_START,
      staticSize: cfg.staticSize,
      template: cfg.template,
      symbols: this.percpuSymbols(cfg),
    };
  }

  override createPercpuArch(pcpu: Percpu, _config: ArchConfig | ResolvedArchConfig): S390PercpuArch {
    return new S390PercpuArch(pcpu);
  }

  /** `pcpu_cpu_distance()`: every CPU is LOCAL_DISTANCE from every other. @kernel arch/s390/mm/init.c pcpu_cpu_distance */
  pcpuCpuDistance(_from: number, _to: number): number {
    return LOCAL_DISTANCE;
  }

  /** `pcpu_cpu_to_node()`: node 0. @kernel arch/s390/mm/init.c pcpu_cpu_to_node */
  pcpuCpuToNode(_cpu: number): number {
    return 0;
  }

  /**
   * s390's setup_per_cpu_areas(): embed(MODULE, DYNAMIC, PAGE_SIZE), or
   * the config's size overrides, with the two callbacks above, panic on
   * failure, fill the offsets; then
   * smp_prepare_boot_cpu() stores the boot CPU's in its lowcore. 2009
   * kernels used the generic setup_per_cpu_areas().
   * @kernel arch/s390/mm/init.c setup_per_cpu_areas
   * @context boot; throws the panic text when the first chunk cannot be built.
   */
  override setupPerCpuAreas(
    pcpu: Percpu,
    arch: S390PercpuArch,
    config: ArchConfig | ResolvedArchConfig,
  ): ArchSetupResult {
    const cfg = this.resolve(config);
    if (cfg.era === "v2.6.32") return super.setupPerCpuAreas(pcpu, arch, cfg);
    const m = pcpu.machine;
    const k = pcpu.constants;
    const from = m.log.lines().length;
    const chosen = percpuAllocSetup(m, cfg.pcpuEra, cfg.percpuAlloc, this.needFc);
    const s = this.firstChunkSizes(cfg, {
      reservedSize: k.PERCPU_MODULE_RESERVE,
      dynSize: k.PERCPU_DYNAMIC_RESERVE,
      atomSize: k.PAGE_SIZE,
    });
    const rc = pcpuEmbedFirstChunk(
      pcpu,
      s.reservedSize,
      s.dynSize,
      s.atomSize,
      (a, b) => this.pcpuCpuDistance(a, b),
      (cpu) => this.pcpuCpuToNode(cpu),
      { pageFirstChunkAvailable: false, numa: cfg.numa },
    );
    if (rc < 0) throw new Error("Kernel panic - not syncing: Failed to initialize percpu areas.");
    arch.fillOffsets();
    pcpu.arch = arch;
    arch.smpPrepareBootCpu();
    return { fc: "embed", chosen, fellBack: false, lines: logLinesSince(m, from) };
  }
}
