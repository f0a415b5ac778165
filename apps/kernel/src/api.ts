/*
 * @pcpu/kernel api: the types of the kernel app (no code).
 *
 * A kernel is assembled from a config (what a .config plus the boot command
 * line decide: arch, NR_CPUS, NUMA layout, population backend, percpu_alloc=,
 * CONFIG_PERCPU_STATS, ...) and two definitions picked by that config: one
 * arch definition (arch/<arch>/kernel/setup_percpu.c and its machine) and
 * one population definition (mm/percpu-vm.c or mm/percpu-km.c). Passing the
 * definitions in, instead of looking them up, is what lets a per-build
 * bundle carry only the chosen arch and backend (init/main.c links exactly
 * one arch).
 */

import type { Machine } from "@pcpu/mm";
import type {
  AreaAllocatorFactory,
  PcpuArchHooks,
  PcpuEra,
  PcpuFc,
  PcpuObserver,
  PcpuOptions,
  PcpuTraceSink,
  Percpu,
  PopulationFactory,
} from "@pcpu/percpu";

/** The arches a kernel can be built for (`ARCH=` plus the word size). */
export type ArchName = "x86_64" | "i386" | "arm" | "sparc32" | "s390";
/** Every arch name, in documentation order. */
export const ARCH_NAMES: readonly ArchName[] = ["x86_64", "i386", "arm", "sparc32", "s390"];

/** Population backends: mm/percpu-vm.c (default) or mm/percpu-km.c (CONFIG_NEED_PER_CPU_KM). */
export type PopulationName = "vm" | "km";
export const POPULATION_NAMES: readonly PopulationName[] = ["vm", "km"];

/** The area allocator: the bitmap allocator (4.14+) or the 2009 area map. */
export type AllocatorName = "bitmap" | "area-map";
export const ALLOCATOR_NAMES: readonly AllocatorName[] = ["bitmap", "area-map"];

/** `percpu_alloc=` (mm/percpu.c percpu_alloc_setup): auto, embed or page. */
export const PERCPU_ALLOC_NAMES: readonly PcpuFc[] = ["auto", "embed", "page"];

/**
 * A kernel config as a user writes it (kernel.config.json, library calls):
 * every key optional, sizes as numbers or strings with K/M/G suffixes or hex.
 * CLI flags are the same keys in kebab-case (`--mem-per-node`).
 */
export interface KernelConfig {
  /** Arch to build: x86_64, i386, arm, sparc32, s390. Default x86_64. */
  readonly arch?: string;
  /** Possible CPUs (`nr_cpu_ids`). Default 8. */
  readonly cpus?: number | string;
  /**
   * The CPUs of each NUMA node in cpulist syntax, nodes separated by `;`
   * (`0-3;4-7`). Default: two halves on NUMA arches (x86_64), one node
   * otherwise.
   */
  readonly nodes?: string;
  /** Memory per node (bytes; K/M/G/hex accepted). Default: the arch's. */
  readonly memPerNode?: number | string;
  /** Population backend: vm or km. Default vm. */
  readonly population?: string;
  /** `percpu_alloc=`: auto, embed or page. Default auto. */
  readonly percpuAlloc?: string;
  /** Area allocator: bitmap or area-map. Default bitmap. */
  readonly allocator?: string;
  /** CONFIG_PERCPU_STATS (debugfs percpu_stats). Default on. */
  readonly stats?: boolean | string;
  /** Kernel static percpu bytes (`__per_cpu_end - __per_cpu_start`). Default: the arch's. */
  readonly staticSize?: number | string;
  /** Reserved region size, overriding the arch's request. */
  readonly reservedSize?: number | string;
  /** Dynamic region size, overriding the arch's request. */
  readonly dynSize?: number | string;
  /** First-chunk atom size, overriding the arch's (power of two, >= PAGE_SIZE). */
  readonly atomSize?: number | string;
  /** Kernel generation (v6, v5.14, ...) where the arch models several. Default v6. */
  readonly era?: string;
  /** CONFIG_NR_CPUS: the build limit. Default: max(arch default, cpus). */
  readonly nrCpus?: number | string;
  /** CONFIG_MODULES (the 8K module reserve). Default on. */
  readonly modules?: boolean | string;
  /**
   * x86 CONFIG_CPUMASK_OFFSTACK: cpumasks sized by nr_cpu_ids (the
   * `nr_cpumask_bits:` of the setup_percpu line). Default: on when NR_CPUS > 512 (MAXSMP).
   */
  readonly cpumaskOffstack?: boolean | string;
  /** Seed of the machine's random source and of the workloads. Default 1. */
  readonly seed?: number | string;
  /** Record the percpu tracepoints (`trace()`). Default on. */
  readonly trace?: boolean | string;
  /** Run the allocator's invariant checker after every operation (slow). Default off. */
  readonly debugChecks?: boolean | string;
}

/** A validated config: every key set, sizes in bytes, nodes parsed. */
export interface ResolvedKernelConfig {
  readonly arch: ArchName;
  readonly cpus: number;
  /** The nodes as written (normalised: `0-3;4-7`). */
  readonly nodes: string;
  /** CPU lists per node. */
  readonly nodeCpus: readonly (readonly number[])[];
  /** `cpu_to_node()` of every possible CPU. */
  readonly cpuToNode: readonly number[];
  readonly memPerNode: number;
  readonly population: PopulationName;
  readonly percpuAlloc: PcpuFc;
  readonly allocator: AllocatorName;
  readonly stats: boolean;
  readonly staticSize: number;
  /** null: the arch decides. */
  readonly reservedSize: number | null;
  readonly dynSize: number | null;
  readonly atomSize: number | null;
  readonly era: PcpuEra;
  readonly nrCpus: number;
  readonly modules: boolean;
  /** null: the arch decides (x86: NR_CPUS > 512). */
  readonly cpumaskOffstack: boolean | null;
  readonly seed: number;
  readonly trace: boolean;
  readonly debugChecks: boolean;
}

/** What the core is built with, besides the arch's own parts. */
export interface KernelCoreParts {
  readonly area: AreaAllocatorFactory;
  readonly population: PopulationFactory;
  readonly observer: PcpuObserver | null;
  readonly trace: PcpuTraceSink | null;
  readonly options: PcpuOptions;
}

/** What an arch's boot produced. */
export interface ArchBooted {
  readonly machine: Machine;
  readonly pcpu: Percpu;
  /** The hooks installed by setup_per_cpu_areas. */
  readonly arch: PcpuArchHooks;
}

/**
 * The arch contract the kernel app assembles against: its limits (checked
 * before boot) and `boot`, which builds the machine, places `.data..percpu`,
 * creates the core from `core` and runs the arch's setup_per_cpu_areas and
 * CPU bring-up, honouring the config's size overrides.
 */
export interface KernelArchDefinition {
  readonly name: ArchName;
  /** The package that implements it (`@pcpu/arch-x86`). */
  readonly packageName: string;
  readonly bits: 32 | 64;
  readonly pageShift: number;
  /** CONFIG_NR_CPUS default and maximum of the arch's Kconfig. */
  readonly nrCpusDefault: number;
  readonly nrCpusMax: number;
  /** Whether CONFIG_NUMA exists for the arch (several nodes allowed). */
  readonly numa: boolean;
  /** Whether embed groups CPUs by node (a cpu_distance_fn is passed). */
  readonly groupsByNode: boolean;
  /** First-chunk allocators built in (NEED_PER_CPU_EMBED/PAGE_FIRST_CHUNK). */
  readonly firstChunks: readonly ("embed" | "page")[];
  readonly eras: readonly PcpuEra[];
  readonly defaultStaticSize: number;
  readonly memPerNodeDefault: number;
  /** Largest memPerNode x nodes the machine layout accepts. */
  readonly memTotalMax: number;
  /**
   * Boot: machine, static section, core, setup_per_cpu_areas, bring-up.
   * Throws a ConfigError-worthy RangeError for a layout the arch refuses,
   * and the kernel's panic text when no first chunk can be built.
   */
  boot(config: ResolvedKernelConfig, core: KernelCoreParts): ArchBooted;
}

/** A population backend as the kernel app assembles it. */
export interface KernelPopulationDefinition {
  readonly name: PopulationName;
  readonly packageName: string;
  factory(): PopulationFactory;
}

/** The definitions one kernel is assembled from. */
export interface KernelDefinitions {
  readonly arch: KernelArchDefinition;
  readonly population: KernelPopulationDefinition;
}

/** GFP argument of `percpu.alloc`: a mode name or raw gfp flags. */
export type GfpArg = "GFP_KERNEL" | "GFP_NOWAIT" | "GFP_ATOMIC" | number;

/** Counters the kernel app keeps of the public API calls. */
export interface KernelCounters {
  allocs: number;
  frees: number;
  failures: number;
  /** Chunks created and destroyed since boot (the first chunk is not counted). */
  chunksCreated: number;
  chunksDestroyed: number;
  /** Live chunks (first chunk included, reserved not) and their peak. */
  chunks: number;
  peakChunks: number;
}
