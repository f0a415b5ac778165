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

/**
 * The arches a kernel can be built for (`ARCH=` plus the word size).
 * `generic` is the asm-generic arch with the word and page size the config
 * gives (`bits`, `pageSize`): arches without a package of their own.
 */
export type ArchName = "x86_64" | "i386" | "arm" | "arm64" | "sparc32" | "s390" | "generic";
/** Every arch name, in documentation order. */
export const ARCH_NAMES: readonly ArchName[] = [
  "x86_64",
  "i386",
  "arm",
  "arm64",
  "sparc32",
  "s390",
  "generic",
];

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
  /**
   * Arch to build: x86_64, i386, arm, arm64, sparc32, s390, generic. Default
   * x86_64. A string read from a file is checked at run time (ConfigError).
   */
  readonly arch?: ArchName;
  /**
   * PAGE_SIZE in bytes or with a K suffix (`16K`, `16384`): 4K, 16K or 64K
   * on arm64, 4K .. 256K on the generic arch; the other arches have 4K only.
   * Default: the arch's (4K).
   */
  readonly pageSize?: number | string;
  /** BITS_PER_LONG of the generic arch: 32 or 64 (default 64); the other arches have their own. */
  readonly bits?: number | string;
  /**
   * `nr_cpu_ids`: the highest possible CPU + 1. Default 8, or the last CPU
   * of `possible` + 1 (giving both, they must agree).
   */
  readonly cpus?: number | string;
  /**
   * `cpu_possible_mask` as a cpulist, with holes where a machine has
   * hot-plug slots or disabled cores (`0-3,8-11`). It must hold CPU 0 (the
   * boot CPU); nr_cpu_ids is its last CPU + 1, as setup_nr_cpu_ids() sets
   * it. Default: `0-(cpus-1)`.
   */
  readonly possible?: string;
  /**
   * The CPUs of each NUMA node in cpulist syntax, nodes separated by `;`
   * (`0-3;4-7`). Default: two halves on NUMA arches (x86_64) with population
   * vm; one node otherwise (population km serves one group only).
   */
  readonly nodes?: string;
  /**
   * CONFIG_NUMA: off gives one node by default and refuses several. Default:
   * on where the arch has CONFIG_NUMA (x86_64), off elsewhere.
   */
  readonly numa?: boolean | string;
  /** Memory per node (bytes; K/M/G/hex accepted). Default: the arch's. */
  readonly memPerNode?: number | string;
  /** Population backend: vm or km. Default vm. */
  readonly population?: PopulationName;
  /** `percpu_alloc=`: auto, embed or page. Default auto. */
  readonly percpuAlloc?: PcpuFc;
  /** Area allocator: bitmap or area-map. Default bitmap. */
  readonly allocator?: AllocatorName;
  /** CONFIG_PERCPU_STATS (debugfs percpu_stats). Default on. */
  readonly stats?: boolean | string;
  /** Kernel static percpu bytes (`__per_cpu_end - __per_cpu_start`). Default: the arch's. */
  readonly staticSize?: number | string;
  /** Reserved region size, overriding the arch's request (null: the arch's, as `config` prints it). */
  readonly reservedSize?: number | string | null;
  /** Dynamic region size, overriding the arch's request. */
  readonly dynSize?: number | string | null;
  /** First-chunk atom size, overriding the arch's (power of two, >= PAGE_SIZE). */
  readonly atomSize?: number | string | null;
  /** Kernel generation (v6, v5.14, ...) where the arch models several. Default v6. */
  readonly era?: PcpuEra;
  /** CONFIG_NR_CPUS: the build limit. Default: max(arch default, cpus). */
  readonly nrCpus?: number | string;
  /** CONFIG_MODULES (the 8K module reserve). Default on. */
  readonly modules?: boolean | string;
  /**
   * CONFIG_SMP. Default on. Off: a uniprocessor kernel (one CPU, NR_CPUS 1,
   * no NUMA, percpu-km, no static percpu area) whose setup_per_cpu_areas
   * is mm/percpu.c's UP one: one unit of roundup_pow_of_two(max(32K,
   * PERCPU_DYNAMIC_RESERVE)), all dynamic, percpu pointers equal to addresses.
   */
  readonly smp?: boolean | string;
  /**
   * CONFIG_FORCE_NR_CPUS (6.0+): nr_cpu_ids is the constant NR_CPUS
   * (`nrCpus`), however few CPUs are possible; the kernel WARNs in
   * setup_nr_cpu_ids() when the last possible CPU + 1 differs. Default off.
   */
  readonly forceNrCpus?: boolean | string;
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
  /**
   * CONFIG_MEMCG with kmem accounting on, as distro kernels boot (off:
   * `cgroup.memory=nokmem` or no CONFIG_MEMCG). It adds each object's share
   * of the per-chunk obj_cgroup array to pcpu_obj_full_size(), which the
   * alloc tracepoint's bytes_alloc shows. Default on.
   */
  readonly memcg?: boolean | string;
  /**
   * CONFIG_MEM_ALLOC_PROFILING with profiling on (6.10+, v6 only): percpu
   * allocations are charged to their call site's alloc tag and
   * `/proc/allocinfo` lists them (`pcpu-kernel proc allocinfo`). Default off.
   */
  readonly allocProfiling?: boolean | string;
  /**
   * Policy switch: fix the bitmap allocator's free-path chunk-hint quirk of
   * pcpu_block_update_hint_free (bitmap allocator only). Default off: faithful.
   */
  readonly fixFreeHintQuirk?: boolean | string;
  /**
   * Policy switch: count a km chunk's populated pages per unit instead of
   * the kernel's whole-chunk over-count (population km only). Default off: faithful.
   */
  readonly fixPopulatedOvercount?: boolean | string;
  /** Validate free_percpu pointers and WARN on misuse instead of trusting the caller. Default on. */
  readonly checkFree?: boolean | string;
}

/** A validated config: every key set, sizes in bytes, nodes parsed. */
export interface ResolvedKernelConfig {
  readonly arch: ArchName;
  /** PAGE_SIZE in bytes. */
  readonly pageSize: number;
  /** BITS_PER_LONG. */
  readonly bits: 32 | 64;
  /** The last possible CPU + 1: `nr_cpu_ids`, unless forceNrCpus. */
  readonly cpus: number;
  /** `nr_cpu_ids`: `cpus`, or NR_CPUS (`nrCpus`) with forceNrCpus. */
  readonly nrCpuIds: number;
  readonly forceNrCpus: boolean;
  /** `cpu_possible_mask` as a cpulist (normalised: `0-3,8-11`). */
  readonly possible: string;
  /** The possible CPUs, ascending (what `for_each_possible_cpu` visits). */
  readonly possibleCpus: readonly number[];
  /** The nodes as written (normalised: `0-3;4-7`). */
  readonly nodes: string;
  /** CONFIG_NUMA (always false on an arch without it). */
  readonly numa: boolean;
  /** CPU lists per node. */
  readonly nodeCpus: readonly (readonly number[])[];
  /** `cpu_to_node()` of every CPU id below `cpus`; -1 (NUMA_NO_NODE) for an impossible one. */
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
  /** CONFIG_SMP. */
  readonly smp: boolean;
  /** null: the arch decides (x86: NR_CPUS > 512). */
  readonly cpumaskOffstack: boolean | null;
  readonly seed: number;
  readonly trace: boolean;
  readonly debugChecks: boolean;
  readonly memcg: boolean;
  readonly allocProfiling: boolean;
  readonly fixFreeHintQuirk: boolean;
  readonly fixPopulatedOvercount: boolean;
  readonly checkFree: boolean;
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
  /** The default word and page size. */
  readonly bits: 32 | 64;
  readonly pageShift: number;
  /** Every word size and page shift the arch builds (the config's `bits` and `pageSize` pick one). */
  readonly bitsChoices: readonly (32 | 64)[];
  readonly pageShifts: readonly number[];
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
  /** The eras in which the arch builds a uniprocessor (!CONFIG_SMP) kernel. */
  readonly upEras: readonly PcpuEra[];
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

/** The policy switches a population backend takes. */
export interface PopulationOptions {
  /** km only: see KernelConfig.fixPopulatedOvercount. */
  readonly fixPopulatedOvercount?: boolean;
}

/** A population backend as the kernel app assembles it. */
export interface KernelPopulationDefinition {
  readonly name: PopulationName;
  readonly packageName: string;
  factory(opts?: PopulationOptions): PopulationFactory;
}

/** The definitions one kernel is assembled from. */
export interface KernelDefinitions {
  readonly arch: KernelArchDefinition;
  readonly population: KernelPopulationDefinition;
}

/** GFP argument of `percpu.alloc`: a mode name or raw gfp flags. */
export type GfpArg = "GFP_KERNEL" | "GFP_KERNEL_ACCOUNT" | "GFP_NOWAIT" | "GFP_ATOMIC" | number;

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
