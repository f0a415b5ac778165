/*
 * The asm-generic arch: what an architecture gets when it defines nothing
 * (include/asm-generic/percpu.h, the generic setup_per_cpu_areas() of
 * mm/percpu.c), on a plain 64-bit little-endian machine. Every arch package
 * subclasses GenericArch and overrides exactly what its arch code
 * overrides, so the differences read side by side:
 *
 *   method               asm-generic (here)            overridden by
 *   -------------------  ----------------------------  ------------------------
 *   layout()             flat 48-bit map, 32 TiB vm    every arch (its numbers)
 *   sectionPlacement()   in the direct map             x86_64, s390 (own mapping)
 *   createPercpuArch()   ArchPercpu (offset array)     x86, arm, sparc32, s390
 *   setupPerCpuAreas()   embed(MODULE, DYNAMIC, PAGE)  x86 (own), s390 (own)
 *   nrCpus(), hasNuma()  no arch limit                 every arch (its Kconfig)
 *
 * The generic arch itself takes its word size and page size from its
 * constructor (`new GenericArch({ bits: 32, pageShift: 14 })`): that is how
 * an arch without a package of its own (ppc64 with 64 KiB pages, loongarch
 * and mips with 16 KiB) is reproduced from its sizes. A 32-bit generic
 * machine gets a 3G/1G layout (direct map at 0xc0000000, 768 MiB of
 * lowmem, vmalloc 0xf0000000-0xff000000).
 *
 * The sizes a setup passes to pcpu_embed_first_chunk() /
 * pcpu_page_first_chunk() go through firstChunkSizes(), which puts the
 * config's reservedSize / dynSize / atomSize in place of the arch's own
 * request: the kernel that arch would be with other constants.
 *
 * Configuration errors (a CPU count the arch cannot build, NUMA where it
 * has none, an option it does not parse) are thrown as RangeError with the
 * reason, before any machine exists.
 */

import type { Machine, MachineConfig } from "@pcpu/mm";
import {
  type PcpuConstantsFull,
  type PcpuEra,
  type Percpu,
  pcpuConstants,
  pcpuEmbedFirstChunk,
} from "@pcpu/percpu";
import type {
  ArchConfig,
  ArchDescription,
  ArchEra,
  ArchFcSupport,
  ArchFirstChunkSizes,
  ArchId,
  ArchLayout,
  ArchNrCpus,
  ArchPercpuSymbol,
  ArchSetupResult,
  ArchStaticSection,
  ResolvedArchConfig,
} from "./api.js";
import { ArchPercpu } from "./arch-percpu.js";
import { archPcpuEra, isArchEra } from "./era.js";
import { percpuAllocSetup } from "./percpu-alloc-param.js";
import { placeStaticSection, type StaticSectionPlacement } from "./static-section.js";

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const TiB = 2 ** 40;

/** The text lines printed to `machine`'s log since `from` (an index into lines()). */
export function logLinesSince(machine: Machine, from: number): string[] {
  return machine.log
    .lines()
    .slice(from)
    .map((l) => l.text);
}

/** The word and page size of a generic arch (`--arch generic --bits B --page-size S`). */
export interface GenericArchOptions {
  /** BITS_PER_LONG: 32 or 64; default 64. */
  readonly bits?: 32 | 64;
  /** PAGE_SHIFT: 12 (4 KiB) .. 18 (256 KiB); default 12. */
  readonly pageShift?: number;
}

/** 32-bit generic layout: PAGE_OFFSET, the lowmem limit, VMALLOC_START/END. */
export const GENERIC32_PAGE_OFFSET = 0xc000_0000;
export const GENERIC32_LOWMEM_MAX = 0x3000_0000;
export const GENERIC32_VMALLOC_START = 0xf000_0000;
export const GENERIC32_VMALLOC_END = 0xff00_0000;

/** The asm-generic arch; arch packages extend it. */
export class GenericArch<A extends ArchPercpu = ArchPercpu> implements ArchDescription {
  readonly id: ArchId = "generic";
  readonly bits: 32 | 64 = 64;
  readonly pageShift: number = 12;

  /**
   * @param options word and page size of the generic arch (arch packages
   *   fix their own and pass nothing).
   * @throws RangeError for a word size other than 32/64 or a page shift
   *   outside 12..18.
   */
  constructor(options: GenericArchOptions = {}) {
    if (options.bits !== undefined) {
      if (options.bits !== 32 && options.bits !== 64)
        throw new RangeError(`generic: bits must be 32 or 64, got ${options.bits}`);
      this.bits = options.bits;
    }
    if (options.pageShift !== undefined) {
      const ps = options.pageShift;
      if (!(Number.isInteger(ps) && ps >= 12 && ps <= 18))
        throw new RangeError(
          `generic: pageShift must be an integer in [12, 18] (4K .. 256K pages), got ${ps}`,
        );
      this.pageShift = ps;
    }
  }
  readonly littleEndian: boolean = true;
  readonly eras: readonly ArchEra[] = ["v2.6.32", "v3.18", "v4.14", "v5.14", "v6.14", "v6"];
  readonly defaultEra: ArchEra = "v6";
  /** First-chunk allocators the arch can build: the generic setup embeds only. */
  readonly fcSupport: ArchFcSupport = { embed: true, page: false };
  /** The NEED_PER_CPU_*_FIRST_CHUNK switches the arch selects (what percpu_alloc= accepts). */
  readonly needFc: ArchFcSupport = { embed: false, page: false };
  /** Whether the arch parses `vmalloc=`. */
  readonly hasVmallocParam: boolean = false;
  /** Default bytes per node, default static section size. */
  readonly defaultMemPerNode: number = 1 * GiB;
  readonly defaultStaticSize: number = 0x10000;

  /**
   * Whether the arch always builds SMP (its Kconfig's `SMP def_bool y`):
   * asm-generic and most arches let !CONFIG_SMP be chosen.
   */
  smpRequired(_era: ArchEra): boolean {
    return false;
  }

  /** `CONFIG_NR_CPUS` range: no arch limit beyond the core's 8192; model default 64, max 512. */
  nrCpus(_era?: ArchEra): ArchNrCpus {
    return { default: 64, max: 512 };
  }

  /** asm-generic puts no restriction on CONFIG_NUMA. */
  hasNuma(_era?: ArchEra): boolean {
    return true;
  }

  /** Whether the x86-only options (pse, cpumaskOffstack) apply. */
  protected acceptsX86Options(): boolean {
    return false;
  }

  /** Default link address of `.data..percpu` in `era` (a kernel image address). */
  protected defaultSectionAddr(_era: ArchEra): number {
    return (this.bits === 32 ? GENERIC32_PAGE_OFFSET : 0x1000_0000_0000) + 16 * MiB;
  }

  /**
   * Check `config` against the arch and fill in every default.
   * @throws RangeError naming the first problem.
   */
  resolve(config: ArchConfig | ResolvedArchConfig): ResolvedArchConfig {
    if ("arch" in config && "pcpuEra" in config) {
      if (config.arch !== this.id) throw new RangeError(`${this.id}: config was resolved for ${config.arch}`);
      return config;
    }
    const id = this.id;
    const fail = (m: string): never => {
      throw new RangeError(`${id}: ${m}`);
    };
    if (config === null || typeof config !== "object") fail("config object required");
    const era = config.era ?? this.defaultEra;
    if (!isArchEra(era) || !this.eras.includes(era))
      fail(`era ${JSON.stringify(era)} is not modelled; choose one of ${this.eras.join(", ")}`);
    const limits = this.nrCpus(era);
    const cpus = config.cpus;
    const smp = config.smp ?? true;
    if (!smp) {
      if (this.smpRequired(era)) fail(`${id} always builds SMP in ${era} (CONFIG_SMP cannot be turned off)`);
      if (cpus !== 1) fail(`a uniprocessor kernel (smp false) has exactly one CPU, not ${cpus}`);
      if (config.nrCpusConfig !== undefined && config.nrCpusConfig !== 1)
        fail(`nrCpusConfig (CONFIG_NR_CPUS) is 1 without CONFIG_SMP, not ${config.nrCpusConfig}`);
      if (config.numa === true) fail("CONFIG_NUMA depends on CONFIG_SMP");
      if (config.percpuAlloc !== undefined) fail("percpuAlloc: percpu_alloc= exists only in SMP kernels");
      for (const key of ["reservedSize", "dynSize", "atomSize"] as const)
        if (config[key] !== undefined)
          fail(`${key}: the uniprocessor setup_per_cpu_areas takes no first-chunk sizes`);
    }
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > limits.max)
      fail(`cpus must be an integer in [1, ${limits.max}] (NR_CPUS limit in ${era}), got ${cpus}`);
    const nrCpusConfig = config.nrCpusConfig ?? (smp ? Math.max(limits.default, cpus) : 1);
    if (!Number.isInteger(nrCpusConfig) || nrCpusConfig < cpus || nrCpusConfig > limits.max)
      fail(
        `nrCpusConfig (CONFIG_NR_CPUS) must be an integer in [cpus=${cpus}, ${limits.max}], got ${nrCpusConfig}`,
      );

    const possibleCpus = config.possibleCpus ?? Array.from({ length: cpus }, (_, i) => i);
    if (!Array.isArray(possibleCpus) || possibleCpus.length === 0)
      fail("possibleCpus must list at least one CPU");
    const possible = new Uint8Array(cpus);
    possibleCpus.forEach((cpu, i) => {
      if (!(Number.isInteger(cpu) && cpu >= 0 && cpu < cpus))
        fail(`possibleCpus lists cpu ${cpu}, not below nr_cpu_ids ${cpus}`);
      if (i > 0 && cpu <= possibleCpus[i - 1]!) fail("possibleCpus must be ascending without repeats");
      possible[cpu] = 1;
    });
    if (possible[0] !== 1) fail("possibleCpus must hold cpu 0 (the boot CPU)");
    const nodes = config.nodes ?? [possibleCpus];
    if (!Array.isArray(nodes) || nodes.length === 0) fail("nodes must list at least one node");
    const cpuToNode = new Array<number>(cpus).fill(-1);
    nodes.forEach((list, nid) => {
      for (const cpu of list) {
        if (!(Number.isInteger(cpu) && cpu >= 0 && cpu < cpus && possible[cpu] === 1))
          fail(`node ${nid} lists cpu ${cpu}, not a possible CPU`);
        if (cpuToNode[cpu] !== -1) fail(`cpu ${cpu} is in node ${cpuToNode[cpu]} and node ${nid}`);
        cpuToNode[cpu] = nid;
      }
    });
    const missing = possibleCpus.find((cpu) => cpuToNode[cpu] === -1);
    if (missing !== undefined) fail(`cpu ${missing} is in no node`);
    const numa = config.numa ?? nodes.length > 1;
    if (numa && !this.hasNuma(era)) fail(`CONFIG_NUMA is not available in ${era}`);
    if (!numa && nodes.length > 1) fail(`${nodes.length} nodes need CONFIG_NUMA (numa: true)`);

    const memPerNode = config.memPerNode ?? this.defaultMemPerNode;
    const ps = 2 ** this.pageShift;
    if (!Number.isInteger(memPerNode) || memPerNode <= 0 || memPerNode % ps !== 0)
      fail(`memPerNode must be a positive multiple of the page size, got ${memPerNode}`);
    const nodeStarts = config.nodeStarts ?? nodes.map((_, i) => i * memPerNode);
    if (nodeStarts.length !== nodes.length)
      fail(`nodeStarts has ${nodeStarts.length} entries for ${nodes.length} nodes`);

    /* UP: DEFINE_PER_CPU variables are plain .data, the percpu section is empty. */
    const staticSize = smp ? (config.staticSize ?? this.defaultStaticSize) : 0;
    if (smp && (!Number.isInteger(staticSize) || staticSize <= 0))
      fail(`staticSize must be a positive integer, got ${staticSize}`);
    if (config.vmallocSize !== undefined && !this.hasVmallocParam)
      fail("this arch has no vmalloc= parameter");
    if (config.vmallocSize !== undefined && !(Number.isInteger(config.vmallocSize) && config.vmallocSize > 0))
      fail(`vmallocSize must be a positive integer, got ${config.vmallocSize}`);
    for (const key of ["reservedSize", "dynSize"] as const) {
      const v = config[key];
      if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0))
        fail(`${key} must be a non-negative integer, got ${v}`);
    }
    const atom = config.atomSize;
    if (atom !== undefined && !(Number.isSafeInteger(atom) && atom >= ps && (atom & (atom - 1)) === 0))
      fail(`atomSize must be a power of two of at least the page size 0x${ps.toString(16)}, got ${atom}`);
    if (!this.acceptsX86Options() && (config.pse !== undefined || config.cpumaskOffstack !== undefined))
      fail("pse and cpumaskOffstack are x86 options");
    const randomKmallocCaches = config.randomKmallocCaches ?? false;
    const pcpuEra = archPcpuEra(era);
    if (randomKmallocCaches && pcpuEra !== "v6")
      fail("CONFIG_RANDOM_KMALLOC_CACHES only exists in v6 kernels");

    return {
      arch: id,
      era,
      pcpuEra,
      cpus,
      smp,
      possibleCpus,
      nodes,
      cpuToNode,
      numa,
      memPerNode,
      nodeStarts,
      nodeDistance: config.nodeDistance,
      nrCpusConfig,
      staticSize,
      template: config.template,
      sectionAddr: config.sectionAddr ?? this.defaultSectionAddr(era),
      percpuAlloc: config.percpuAlloc,
      vmallocSize: config.vmallocSize,
      reservedSize: config.reservedSize,
      dynSize: config.dynSize,
      atomSize: config.atomSize,
      modules: config.modules ?? true,
      randomKmallocCaches,
      pse: config.pse ?? true,
      cpumaskOffstack: config.cpumaskOffstack ?? nrCpusConfig > 512,
      seed: config.seed ?? 1,
    };
  }

  /** Highest physical address + 1 of the configured memory. */
  protected physEnd(cfg: ResolvedArchConfig): number {
    let end = 0;
    for (const s of cfg.nodeStarts) end = Math.max(end, s + cfg.memPerNode);
    return end;
  }

  /**
   * The virtual layout. asm-generic has none; the model's generic machine:
   * direct map at 0x1000_0000_0000 (up to 32 TiB), vmalloc
   * 0x4000_0000_0000 + 32 TiB, 48-bit internal addresses.
   */
  layout(config: ArchConfig | ResolvedArchConfig): ArchLayout {
    const cfg = this.resolve(config);
    if (this.bits === 32) {
      const physEnd = this.physEnd(cfg);
      if (physEnd > 4 * GiB)
        throw new RangeError(
          `${this.id}: physical memory ends at 0x${physEnd.toString(16)}, beyond the 4 GiB a 32-bit machine addresses`,
        );
      return {
        pageOffset: GENERIC32_PAGE_OFFSET,
        directMapSize: Math.min(physEnd, GENERIC32_LOWMEM_MAX),
        vmallocStart: GENERIC32_VMALLOC_START,
        vmallocEnd: GENERIC32_VMALLOC_END,
        vmallocTotal: GENERIC32_VMALLOC_END - GENERIC32_VMALLOC_START,
        vaBits: 32,
      };
    }
    const directMapSize = this.physEnd(cfg);
    if (directMapSize > 32 * TiB) throw new RangeError(`${this.id}: more than 32 TiB of physical memory`);
    return {
      pageOffset: 0x1000_0000_0000,
      directMapSize,
      vmallocStart: 0x4000_0000_0000,
      vmallocEnd: 0x6000_0000_0000,
      vmallocTotal: 0x2000_0000_0000,
      vaBits: 48,
    };
  }

  /** The MachineConfig for `config`. */
  machineConfig(config: ArchConfig | ResolvedArchConfig): MachineConfig {
    const cfg = this.resolve(config);
    const l = this.layout(cfg);
    return {
      pageShift: this.pageShift,
      bits: this.bits,
      vaBits: l.vaBits,
      nodes: cfg.nodeStarts.map((start) => ({ start, size: cfg.memPerNode })),
      ...(cfg.nodeDistance ? { nodeDistance: cfg.nodeDistance } : {}),
      pageOffset: l.pageOffset,
      directMapSize: l.directMapSize,
      vmallocStart: l.vmallocStart,
      vmallocEnd: l.vmallocEnd,
      /* VMALLOC_TOTAL as the arch defines it (x86_64: 2^45 - 1, VMALLOC_END being inclusive). */
      vmallocTotal: l.vmallocTotal,
      nrCpus: cfg.cpus,
      possibleCpus: cfg.possibleCpus,
      cpuToNode: cfg.cpuToNode,
      seed: cfg.seed,
      littleEndian: this.littleEndian,
      formatAddr: (a: number) => this.formatAddr(a),
    };
  }

  /** include/linux/percpu.h for this build. */
  constants(config: ArchConfig | ResolvedArchConfig): PcpuConstantsFull {
    const cfg = this.resolve(config);
    return pcpuConstants({
      pageShift: this.pageShift,
      bits: this.bits,
      nrCpus: cfg.nrCpusConfig,
      modules: cfg.modules,
      era: cfg.pcpuEra,
      randomKmallocCaches: cfg.randomKmallocCaches,
    });
  }

  /** The arch's own percpu variables in `.data..percpu` (asm-generic: none). */
  percpuSymbols(_cfg: ResolvedArchConfig): readonly ArchPercpuSymbol[] {
    return [];
  }

  /**
   * Where `.data..percpu` goes: asm-generic links it into the kernel image,
   * which lives in the direct map, so `__per_cpu_load == __per_cpu_start`.
   */
  protected sectionPlacement(machine: Machine, cfg: ResolvedArchConfig): StaticSectionPlacement {
    return {
      arch: this.id,
      perCpuStart: cfg.sectionAddr,
      perCpuLoad: cfg.sectionAddr,
      phys: cfg.sectionAddr - machine.pageOffset,
      staticSize: cfg.staticSize,
      template: cfg.template,
      symbols: this.percpuSymbols(cfg),
    };
  }

  /** The arch's own percpu variables' initial values, written into the template. */
  protected initSymbols(_machine: Machine, _section: ArchStaticSection, _cfg: ResolvedArchConfig): void {}

  /**
   * Reserve, map and fill `.data..percpu` on `machine`.
   * @context boot, right after the machine exists (nothing else reserved yet).
   */
  staticSection(machine: Machine, config: ArchConfig | ResolvedArchConfig): ArchStaticSection {
    const cfg = this.resolve(config);
    if (!cfg.smp) {
      /* !CONFIG_SMP: __per_cpu_start == __per_cpu_end, nothing to place. */
      return {
        perCpuStart: cfg.sectionAddr,
        staticSize: 0,
        perCpuLoad: cfg.sectionAddr,
        phys: cfg.sectionAddr - machine.pageOffset,
        symbols: {},
      };
    }
    const section = placeStaticSection(machine, this.sectionPlacement(machine, cfg));
    this.initSymbols(machine, section, cfg);
    return section;
  }

  /**
   * The hooks with their boot values (before setup_per_cpu_areas). Arch
   * subclasses return their own ArchPercpu subclass (the `A` they declare).
   */
  createPercpuArch(pcpu: Percpu, _config: ArchConfig | ResolvedArchConfig): A {
    return new ArchPercpu(pcpu, this.id, this.bits, 0, "__per_cpu_offset[raw_smp_processor_id()]") as A;
  }

  /**
   * The sizes setup_per_cpu_areas() passes to the first-chunk allocator:
   * `request` (the arch's own) with each of the config's reservedSize,
   * dynSize and atomSize that is set in place of its value.
   * @param request what the arch's setup asks for
   * @returns the sizes to pass
   */
  firstChunkSizes(
    config: ArchConfig | ResolvedArchConfig,
    request: ArchFirstChunkSizes,
  ): ArchFirstChunkSizes {
    const cfg = this.resolve(config);
    return {
      reservedSize: cfg.reservedSize ?? request.reservedSize,
      dynSize: cfg.dynSize ?? request.dynSize,
      atomSize: cfg.atomSize ?? request.atomSize,
    };
  }

  /**
   * `setup_per_cpu_areas()` then `smp_prepare_boot_cpu()`; installs the
   * hooks in the core. The generic setup embeds with
   * (PERCPU_MODULE_RESERVE, PERCPU_DYNAMIC_RESERVE, PAGE_SIZE), no distance
   * function and no node lookup, and panics when that fails.
   * @kernel mm/percpu.c setup_per_cpu_areas
   * @context boot; throws the kernel's panic text when the first chunk cannot be built.
   */
  setupPerCpuAreas(pcpu: Percpu, arch: A, config: ArchConfig | ResolvedArchConfig): ArchSetupResult {
    const cfg = this.resolve(config);
    const m = pcpu.machine;
    const k = pcpu.constants;
    const from = m.log.lines().length;
    const chosen = percpuAllocSetup(m, cfg.pcpuEra, cfg.percpuAlloc, this.needFc);
    const s = this.firstChunkSizes(cfg, {
      reservedSize: k.PERCPU_MODULE_RESERVE,
      dynSize: k.PERCPU_DYNAMIC_RESERVE,
      atomSize: k.PAGE_SIZE,
    });
    const rc = pcpuEmbedFirstChunk(pcpu, s.reservedSize, s.dynSize, s.atomSize, null, null, {
      pageFirstChunkAvailable: false,
      numa: cfg.numa,
    });
    if (rc < 0) throw new Error("Kernel panic - not syncing: Failed to initialize percpu areas.");
    arch.fillOffsets();
    pcpu.arch = arch;
    arch.smpPrepareBootCpu();
    return { fc: "embed", chosen, fellBack: false, lines: logLinesSince(m, from) };
  }

  /** `%px`: 16 hex digits. */
  formatAddr(addr: number): string {
    return addr.toString(16).padStart(this.bits / 4, "0");
  }

  /** The core generation `config` runs. */
  pcpuEra(config: ArchConfig | ResolvedArchConfig): PcpuEra {
    return this.resolve(config).pcpuEra;
  }
}
