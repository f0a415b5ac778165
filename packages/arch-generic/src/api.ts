/*
 * @pcpu/arch-generic api: the arch contract a kernel is assembled from.
 * Only types and constants live here.
 *
 * An arch is what arch/<arch>/kernel/setup_percpu.c and asm/percpu.h are to
 * the kernel: the machine parameters it imposes (page size, pointer width,
 * PAGE_OFFSET, vmalloc range, NR_CPUS, NUMA), where the static percpu
 * section sits, which first-chunk allocator setup_per_cpu_areas() picks and
 * with which sizes, and how a CPU finds its own percpu offset. Assembling a
 * kernel with an ArchDefinition goes:
 *
 *   def.resolve(config)            validate, fill defaults (era, NR_CPUS, nodes)
 *   def.machineConfig(cfg)         -> new Machine(...)
 *   def.staticSection(machine,cfg) .data..percpu in real, mapped memory
 *   def.constants(cfg)             include/linux/percpu.h for this build
 *   new Percpu({...})              the core
 *   def.createPercpuArch(pcpu,cfg) __per_cpu_offset[] + the offset register, boot values
 *   def.setupPerCpuAreas(...)      setup_per_cpu_areas() + smp_prepare_boot_cpu()
 *   arch.bringUpCpu(cpu)           each secondary publishes its own offset
 *
 * bootArch() in boot.ts does exactly this.
 */

import type { MachineConfig } from "@pcpu/mm";
import type { PcpuEra, PcpuFc } from "@pcpu/percpu";

/** The arches modelled. `generic` is the asm-generic default the others specialise. */
export type ArchId = "generic" | "x86_64" | "i386" | "arm" | "arm64" | "sparc32" | "s390";

/**
 * The kernel generation an arch reproduces: every core era, plus `v6.14`,
 * a v6 kernel from before the 2025 arch reworks (x86_64 links percpu at 0
 * until 6.15, i386 has NUMA and BIGSMP until 6.15, s390 builds module
 * percpu variables weak until 6.19). `v6` is today's kernel.
 */
export type ArchEra = PcpuEra | "v6.14";

/** The `percpu_alloc=` boot parameter values (`pcpu_fc_names`). */
export type PercpuAllocParam = PcpuFc;

/** `CONFIG_NEED_PER_CPU_EMBED_FIRST_CHUNK` / `CONFIG_NEED_PER_CPU_PAGE_FIRST_CHUNK`. */
export interface ArchFcSupport {
  readonly embed: boolean;
  /** The page allocator is built: a too-sparse embed layout then fails and falls back. */
  readonly page: boolean;
}

/** `CONFIG_NR_CPUS`: the Kconfig default and the largest value the arch accepts. */
export interface ArchNrCpus {
  readonly default: number;
  readonly max: number;
}

/**
 * What a user asks of an arch. Everything but `cpus` has a default; an
 * option the arch does not have (e.g. `vmallocSize` on x86_64) is an error.
 */
export interface ArchConfig {
  /** `nr_cpu_ids` (the highest possible CPU + 1), 1 .. NR_CPUS. */
  readonly cpus: number;
  /**
   * `cpu_possible_mask` as an ascending CPU list with holes allowed
   * (`[0, 1, 2, 3, 8, 9, 10, 11]`); it must hold CPU 0 and lie below
   * `cpus`. It ends at `cpus - 1` unless nr_cpu_ids is forced
   * (CONFIG_FORCE_NR_CPUS: nr_cpu_ids is NR_CPUS). Default: 0 .. cpus-1.
   */
  readonly possibleCpus?: readonly number[];
  /**
   * CPUs of each NUMA node, e.g. `[[0, 1], [2, 3]]`; every possible CPU in
   * exactly one node. Default: one node holding every possible CPU.
   */
  readonly nodes?: readonly (readonly number[])[];
  /** `CONFIG_NUMA`. Default: true when more than one node is given. */
  readonly numa?: boolean;
  /** Bytes of memory per node (page aligned). Default: arch-specific. */
  readonly memPerNode?: number;
  /** Physical start of each node; default: nodes back to back from 0. */
  readonly nodeStarts?: readonly number[];
  /** SLIT distance between nodes; default 10 local, 20 remote. */
  readonly nodeDistance?: (from: number, to: number) => number;
  /** Kernel generation; default the arch's `defaultEra` (v6). */
  readonly era?: ArchEra;
  /** `CONFIG_NR_CPUS`; default max(arch default, cpus). */
  readonly nrCpusConfig?: number;
  /** `__per_cpu_end - __per_cpu_start`; default: arch-specific. */
  readonly staticSize?: number;
  /**
   * Initial bytes of `.data..percpu` (shorter is zero-padded). The arch's
   * own percpu variables (x86 `this_cpu_off`, `cpu_number`) overwrite theirs.
   */
  readonly template?: Uint8Array;
  /** Link address of `.data..percpu` (`__per_cpu_load` on zero-based x86_64); default: arch-specific. */
  readonly sectionAddr?: number;
  /** The `percpu_alloc=` boot parameter, verbatim; default none (auto). */
  readonly percpuAlloc?: string;
  /** The `vmalloc=` boot parameter in bytes, on arches that parse it (i386, arm, s390). */
  readonly vmallocSize?: number;
  /**
   * Bytes of reserved region: replaces the `reserved_size` the arch's
   * setup_per_cpu_areas() passes to pcpu_embed_first_chunk() and
   * pcpu_page_first_chunk() (PERCPU_MODULE_RESERVE, x86's
   * PERCPU_FIRST_CHUNK_RESERVE), as a kernel built with another constant
   * would. A non-negative integer; default: the arch's request.
   */
  readonly reservedSize?: number;
  /**
   * Bytes of dynamic region: replaces the `dyn_size` passed to
   * pcpu_embed_first_chunk() (the page first chunk takes none). A
   * non-negative integer; default: the arch's request.
   */
  readonly dynSize?: number;
  /**
   * Allocation atom in bytes: replaces the `atom_size` passed to
   * pcpu_embed_first_chunk() (PAGE_SIZE, x86_64's PMD_SIZE). A power of
   * two of at least PAGE_SIZE; default: the arch's request.
   */
  readonly atomSize?: number;
  /** `CONFIG_MODULES` (default true). */
  readonly modules?: boolean;
  /**
   * `CONFIG_SMP` (default true). false: a uniprocessor kernel: one CPU,
   * NR_CPUS 1, no NUMA, no static percpu area (percpu variables are plain
   * variables), mm/percpu.c's UP setup_per_cpu_areas in place of the
   * arch's, percpu pointers equal to addresses. Arches that always build
   * SMP (`smpRequired`) refuse it.
   */
  readonly smp?: boolean;
  /** `CONFIG_RANDOM_KMALLOC_CACHES` (v6 only; default false). */
  readonly randomKmallocCaches?: boolean;
  /** x86 only: the CPU has PSE (2.6.32 era atom size); default true. */
  readonly pse?: boolean;
  /** x86 only: `CONFIG_CPUMASK_OFFSTACK`; default true when NR_CPUS > 512 (MAXSMP). */
  readonly cpumaskOffstack?: boolean;
  /** Machine seed (fault injection). */
  readonly seed?: number;
}

/** An ArchConfig with every default filled in and checked against the arch. */
export interface ResolvedArchConfig {
  readonly arch: ArchId;
  readonly era: ArchEra;
  /** The core generation the era runs (`v6.14` -> `v6`). */
  readonly pcpuEra: PcpuEra;
  /** `nr_cpu_ids`. */
  readonly cpus: number;
  /** `CONFIG_SMP`. */
  readonly smp: boolean;
  /** The possible CPUs, ascending (`for_each_possible_cpu`). */
  readonly possibleCpus: readonly number[];
  readonly nodes: readonly (readonly number[])[];
  /** Node of each CPU id below `cpus`; -1 (NUMA_NO_NODE) for an impossible one. */
  readonly cpuToNode: readonly number[];
  readonly numa: boolean;
  readonly memPerNode: number;
  readonly nodeStarts: readonly number[];
  readonly nodeDistance: ((from: number, to: number) => number) | undefined;
  readonly nrCpusConfig: number;
  readonly staticSize: number;
  readonly template: Uint8Array | undefined;
  readonly sectionAddr: number;
  readonly percpuAlloc: string | undefined;
  readonly vmallocSize: number | undefined;
  /** The first-chunk size overrides; undefined keeps the arch's request. */
  readonly reservedSize: number | undefined;
  readonly dynSize: number | undefined;
  readonly atomSize: number | undefined;
  readonly modules: boolean;
  readonly randomKmallocCaches: boolean;
  readonly pse: boolean;
  readonly cpumaskOffstack: boolean;
  readonly seed: number;
}

/** The virtual memory layout an arch computes for a machine (internal addresses). */
export interface ArchLayout {
  /** PAGE_OFFSET: virtual address of physical 0. */
  readonly pageOffset: number;
  /** Bytes of physical memory the direct map covers (lowmem). */
  readonly directMapSize: number;
  /** VMALLOC_START, VMALLOC_END (exclusive). */
  readonly vmallocStart: number;
  readonly vmallocEnd: number;
  /** VMALLOC_TOTAL as the arch defines it (x86_64's VMALLOC_END is inclusive: one less). */
  readonly vmallocTotal: number;
  /** MODULES_VADDR, MODULES_END when the arch has a module area. */
  readonly modulesStart?: number;
  readonly modulesEnd?: number;
  /** Size of the internal virtual address space in bits. */
  readonly vaBits: number;
}

/** The sizes setup_per_cpu_areas() passes to the first-chunk allocator, in bytes. */
export interface ArchFirstChunkSizes {
  /** `reserved_size`. */
  readonly reservedSize: number;
  /** `dyn_size` (embed only). */
  readonly dynSize: number;
  /** `atom_size` (embed only). */
  readonly atomSize: number;
}

/** A percpu variable the arch itself defines in `.data..percpu`. */
export interface ArchPercpuSymbol {
  readonly name: string;
  /** Offset from `__per_cpu_start`. */
  readonly offset: number;
  readonly size: number;
}

/** Where `.data..percpu` is and what the arch put in it. */
export interface ArchStaticSection {
  /** `__per_cpu_start`: the link address, origin of percpu pointers. */
  readonly perCpuStart: number;
  /** `__per_cpu_end - __per_cpu_start`. */
  readonly staticSize: number;
  /** `__per_cpu_load`: where the template bytes are mapped. */
  readonly perCpuLoad: number;
  /** Physical address of the template. */
  readonly phys: number;
  /** The arch's own percpu variables, by name. */
  readonly symbols: Readonly<Record<string, ArchPercpuSymbol>>;
}

/** What setup_per_cpu_areas() did. */
export interface ArchSetupResult {
  /** The first-chunk allocator that built the first chunk ("up": mm/percpu.c's !CONFIG_SMP setup). */
  readonly fc: "embed" | "page" | "up";
  /** `pcpu_chosen_fc` after percpu_alloc= and the arch's own override. */
  readonly chosen: PercpuAllocParam;
  /** Whether embed was tried and failed before page. */
  readonly fellBack: boolean;
  /** The lines setup printed, text only, in order (every level). */
  readonly lines: readonly string[];
}

/** An arch as the kernel app sees it. Implementations: GenericArch and its subclasses. */
export interface ArchDescription {
  readonly id: ArchId;
  readonly bits: 32 | 64;
  readonly pageShift: number;
  readonly littleEndian: boolean;
  readonly eras: readonly ArchEra[];
  readonly defaultEra: ArchEra;
  readonly fcSupport: ArchFcSupport;
  /** `CONFIG_NR_CPUS` limits in `era`. */
  nrCpus(era?: ArchEra): ArchNrCpus;
  /** Whether `CONFIG_NUMA` can be set in `era`. */
  hasNuma(era?: ArchEra): boolean;
  /** The MachineConfig for a (resolved) config. */
  machineConfig(config: ArchConfig): MachineConfig;
  /** An address as the arch prints it (`%px`, no 0x). */
  formatAddr(addr: number): string;
}
