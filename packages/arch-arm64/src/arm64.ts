/*
 * arm64: arch/arm64/Kconfig (page size, NR_CPUS, NUMA and the percpu
 * first-chunk switches), drivers/base/arch_numa.c (its
 * setup_per_cpu_areas with NUMA), mm/percpu.c's generic
 * setup_per_cpu_areas (without NUMA), asm/memory.h (layout.ts) and
 * asm/percpu.h (tpidr.ts).
 *
 *   CONFIG_NUMA  setup_per_cpu_areas                         first chunks
 *   n            generic: embed(MODULE_RESERVE,               embed; a failure panics
 *                DYNAMIC_RESERVE, PAGE_SIZE), no distance
 *   y (4.7+)     arch_numa: embed(MODULE_RESERVE,             v4.14, v5.14: embed only,
 *                DYNAMIC_RESERVE, PAGE_SIZE,                  a failure panics
 *                pcpu_cpu_distance, early_cpu_to_node)        v6.14, v6 (5.17+): embed,
 *                                                             then page(MODULE_RESERVE,
 *                                                             early_cpu_to_node)
 *
 * pcpu_cpu_distance(from, to) = node_distance(early_cpu_to_node(from),
 * early_cpu_to_node(to)): the SLIT table (ArchConfig.nodeDistance),
 * LOCAL_DISTANCE 10 / REMOTE_DISTANCE 20 by default. The atom is PAGE_SIZE
 * whatever the page size, so with 16K or 64K pages every constant that is
 * page aligned (PCPU_MIN_UNIT_SIZE, the unit, the bitmap block) grows with
 * the page while PERCPU_MODULE_RESERVE (8K) and PERCPU_DYNAMIC_RESERVE
 * (28K) do not: the page rounding lands in the dynamic region.
 */

import {
  type ArchConfig,
  type ArchEra,
  type ArchFcSupport,
  type ArchLayout,
  type ArchNrCpus,
  type ArchSetupResult,
  type ArchStaticSection,
  archEraAtLeast,
  GenericArch,
  logLinesSince,
  percpuAllocSetup,
  type ResolvedArchConfig,
  type StaticSectionPlacement,
} from "@pcpu/arch-generic";
import { LOGLEVEL_WARNING, type Machine } from "@pcpu/mm";
import {
  LOCAL_DISTANCE,
  type Percpu,
  pcpuEmbedFirstChunk,
  pcpuPageFirstChunk,
  REMOTE_DISTANCE,
} from "@pcpu/percpu";
import {
  ARM64_PAGE_SHIFTS,
  ARM64_PERCPU_IMAGE_OFFSET,
  ARM64_VA_BITS,
  type Arm64PageShift,
  arm64FormatAddr,
  arm64Layout,
} from "./layout.js";
import { Arm64PercpuArch } from "./tpidr.js";

const GiB = 2 ** 30;

/** How an arm64 kernel is built. */
export interface Arm64Options {
  /** PAGE_SIZE in bytes: 4096 (default), 16384 or 65536. */
  readonly pageSize?: number;
  /** The kernel runs at EL2 with VHE (offsets in TPIDR_EL2); default false (EL1, TPIDR_EL1). */
  readonly vhe?: boolean;
}

/** The `pcpu_fc_names[]` text of a `percpu_alloc=` value. */
const FC_NAMES = { auto: "auto", embed: "embed", page: "page" } as const;

/** The fallback warning of arch_numa's setup_per_cpu_areas (pr_fmt "NUMA: "). */
export function arm64FallbackLine(chosen: keyof typeof FC_NAMES, rc: number): string {
  return `NUMA: PERCPU: ${FC_NAMES[chosen]} allocator failed (${rc}), falling back to page size`;
}

/** The arm64 arch with one page size. */
export class Arm64Arch extends GenericArch<Arm64PercpuArch> {
  override readonly id = "arm64" as const;

  /** arch/arm64/Kconfig: `config SMP def_bool y` (arm64 has no uniprocessor build). */
  override smpRequired(_era: ArchEra): boolean {
    return true;
  }

  override readonly bits = 64 as const;
  override readonly pageShift: Arm64PageShift;
  /** arm64 was merged in 3.7; NUMA (and so the modelled setups) from 4.7: v4.14 onwards. */
  override readonly eras: readonly ArchEra[] = ["v4.14", "v5.14", "v6.14", "v6"];
  /** Both first chunks exist in a NUMA v6 build; percpu_alloc= decides (and warns) per config. */
  override readonly fcSupport: ArchFcSupport = { embed: true, page: true };
  /** Without NUMA: the generic setup, no NEED_PER_CPU_* (percpu_alloc= names no allocator). */
  override readonly needFc: ArchFcSupport = { embed: false, page: false };
  override readonly defaultMemPerNode = 4 * GiB;
  /** s91224: the static size of a Raspberry Pi 4 arm64 5.x kernel (a real boot log). */
  override readonly defaultStaticSize = 91224;
  /** Whether the kernel runs at EL2 with VHE. */
  readonly vhe: boolean;

  /**
   * @throws RangeError for a page size arm64 cannot build.
   */
  constructor(options: Arm64Options = {}) {
    super();
    const size = options.pageSize ?? 4096;
    const shift = Math.log2(size);
    if (!(ARM64_PAGE_SHIFTS as readonly number[]).includes(shift))
      throw new RangeError(`arm64: page size must be 4096, 16384 or 65536 bytes (4K, 16K, 64K), got ${size}`);
    this.pageShift = shift as Arm64PageShift;
    this.vhe = options.vhe ?? false;
  }

  /** NR_CPUS range 2..4096; default 64 (4.x), 256 (5.x), 512 (6.x). */
  override nrCpus(era?: ArchEra): ArchNrCpus {
    const e = era ?? this.defaultEra;
    const def = archEraAtLeast(e, "v6.14") ? 512 : e === "v5.14" ? 256 : 64;
    return { default: def, max: 4096 };
  }

  /** CONFIG_NUMA (ARM64 NUMA, 4.7+). */
  override hasNuma(_era?: ArchEra): boolean {
    return true;
  }

  /** The NEED_PER_CPU_*_FIRST_CHUNK switches of a build: none without NUMA, page from 5.17. */
  needFcOf(cfg: ResolvedArchConfig): ArchFcSupport {
    if (!cfg.numa) return { embed: false, page: false };
    return { embed: true, page: archEraAtLeast(cfg.era, "v6.14") };
  }

  protected override defaultSectionAddr(era: ArchEra): number {
    return arm64Layout(era, this.pageShift).kimageVaddr + ARM64_PERCPU_IMAGE_OFFSET;
  }

  /** The layout of layout.ts; memory must fit the 128 TiB linear map. */
  override layout(config: ArchConfig | ResolvedArchConfig): ArchLayout {
    const cfg = this.resolve(config);
    const l = arm64Layout(cfg.era, this.pageShift);
    const physEnd = this.physEnd(cfg);
    if (physEnd > l.linearMapSize)
      throw new RangeError(
        `arm64: physical memory ends at 0x${physEnd.toString(16)}, beyond the 128 TiB linear map of a 48-bit kernel`,
      );
    return {
      pageOffset: l.pageOffset,
      directMapSize: physEnd,
      vmallocStart: l.vmallocStart,
      vmallocEnd: l.vmallocEnd,
      vmallocTotal: l.vmallocEnd - l.vmallocStart,
      modulesStart: l.modulesStart,
      modulesEnd: l.modulesEnd,
      vaBits: ARM64_VA_BITS,
    };
  }

  /** `.data..percpu` in the kernel image at KIMAGE_VADDR (image loaded at physical 0). */
  protected override sectionPlacement(_machine: Machine, cfg: ResolvedArchConfig): StaticSectionPlacement {
    const kimage = arm64Layout(cfg.era, this.pageShift).kimageVaddr;
    return {
      arch: this.id,
      perCpuStart: cfg.sectionAddr,
      perCpuLoad: cfg.sectionAddr,
      phys: cfg.sectionAddr - kimage,
      staticSize: cfg.staticSize,
      template: cfg.template,
      symbols: this.percpuSymbols(cfg),
    };
  }

  /**
   * Registers the kernel image as the first vmalloc area (what
   * declare_kernel_vmas does with vm_area_add_early), then places the section.
   * @throws RangeError when the section is not inside the image mapping.
   */
  override staticSection(machine: Machine, config: ArchConfig | ResolvedArchConfig): ArchStaticSection {
    const cfg = this.resolve(config);
    const kimage = arm64Layout(cfg.era, this.pageShift).kimageVaddr;
    const ps = 2 ** this.pageShift;
    const imageEnd = Math.ceil((cfg.sectionAddr + cfg.staticSize) / ps) * ps;
    if (cfg.sectionAddr < kimage || cfg.sectionAddr % ps !== 0)
      throw new RangeError(
        `arm64: sectionAddr must be a page-aligned address in the kernel image (>= ${arm64FormatAddr(kimage)})`,
      );
    const image = machine.vmalloc.getVmArea(imageEnd - kimage, ps, "paging_init");
    if (image === null || image.addr !== kimage)
      throw new RangeError(`arm64: the kernel image does not fit at KIMAGE_VADDR ${arm64FormatAddr(kimage)}`);
    return super.staticSection(machine, cfg);
  }

  /** TPIDR_EL1, or TPIDR_EL2 for a VHE kernel. */
  override createPercpuArch(pcpu: Percpu, _config: ArchConfig | ResolvedArchConfig): Arm64PercpuArch {
    return new Arm64PercpuArch(pcpu, this.vhe);
  }

  /**
   * `early_cpu_to_node(cpu)`: the node the firmware (ACPI SRAT / DT) put the CPU in.
   * @kernel drivers/base/arch_numa.c early_cpu_to_node
   */
  earlyCpuToNode(cfg: ResolvedArchConfig): (cpu: number) => number {
    const c2n = cfg.cpuToNode;
    return (cpu) => c2n[cpu]!;
  }

  /**
   * `pcpu_cpu_distance(from, to)`: `node_distance()` of the two CPUs' nodes,
   * from the SLIT table (LOCAL_DISTANCE on the diagonal, REMOTE_DISTANCE
   * elsewhere when the firmware gives none).
   * @kernel drivers/base/arch_numa.c pcpu_cpu_distance
   */
  pcpuCpuDistance(cfg: ResolvedArchConfig): (from: number, to: number) => number {
    const node = this.earlyCpuToNode(cfg);
    const table = cfg.nodeDistance;
    return (from, to) => {
      const a = node(from);
      const b = node(to);
      if (table !== undefined) return table(a, b);
      return a === b ? LOCAL_DISTANCE : REMOTE_DISTANCE;
    };
  }

  /**
   * setup_per_cpu_areas(): arch_numa's with CONFIG_NUMA, the generic one
   * without; then smp_prepare_boot_cpu().
   * @kernel drivers/base/arch_numa.c setup_per_cpu_areas
   * @context boot; throws the kernel's panic text when no first chunk can be
   *   built, and percpu-km's #error when km would need a paged first chunk.
   */
  override setupPerCpuAreas(
    pcpu: Percpu,
    arch: Arm64PercpuArch,
    config: ArchConfig | ResolvedArchConfig,
  ): ArchSetupResult {
    const cfg = this.resolve(config);
    if (!cfg.numa) return super.setupPerCpuAreas(pcpu, arch, cfg);
    const m = pcpu.machine;
    const k = pcpu.constants;
    const from = m.log.lines().length;
    const needFc = this.needFcOf(cfg);
    const chosen = percpuAllocSetup(m, cfg.pcpuEra, cfg.percpuAlloc, needFc);
    const sizes = this.firstChunkSizes(cfg, {
      reservedSize: k.PERCPU_MODULE_RESERVE,
      dynSize: k.PERCPU_DYNAMIC_RESERVE,
      atomSize: k.PAGE_SIZE,
    });
    const cpuToNode = this.earlyCpuToNode(cfg);
    let rc = -22;
    let fc: "embed" | "page" = "embed";
    let fellBack = false;
    if (chosen !== "page") {
      rc = pcpuEmbedFirstChunk(
        pcpu,
        sizes.reservedSize,
        sizes.dynSize,
        sizes.atomSize,
        this.pcpuCpuDistance(cfg),
        cpuToNode,
        { pageFirstChunkAvailable: needFc.page, numa: true },
      );
      if (rc < 0 && needFc.page) {
        m.log.printk(LOGLEVEL_WARNING, arm64FallbackLine(chosen, rc));
        fellBack = true;
      }
    }
    if (rc < 0 && needFc.page) {
      if (pcpu.backend.name === "km")
        throw new Error("percpu-km: contiguous percpu allocation is incompatible with paged first chunk");
      fc = "page";
      rc = pcpuPageFirstChunk(pcpu, sizes.reservedSize, cpuToNode, true);
    }
    if (rc < 0) {
      throw new Error(
        needFc.page
          ? `Kernel panic - not syncing: Failed to initialize percpu areas (err=${rc}).`
          : "Kernel panic - not syncing: Failed to initialize percpu areas.",
      );
    }
    arch.fillOffsets();
    pcpu.arch = arch;
    arch.smpPrepareBootCpu();
    return { fc, chosen, fellBack, lines: logLinesSince(m, from) };
  }

  override formatAddr(addr: number): string {
    return arm64FormatAddr(addr);
  }
}
