/*
 * arch/x86/kernel/setup_percpu.c: setup_per_cpu_areas() for both x86_64
 * and i386, and its helpers. Differences from the asm-generic setup:
 *
 *   - prints `setup_percpu: NR_CPUS:.. nr_cpumask_bits:.. nr_cpu_ids:.. nr_node_ids:..`
 *   - honours percpu_alloc=embed|page (x86 selects both NEED_PER_CPU_*)
 *   - i386 with percpu_alloc auto on a NUMA machine goes straight to page
 *   - embed: reserved PERCPU_FIRST_CHUNK_RESERVE (MODULE_RESERVE on x86_64,
 *     0 on i386), dyn MODULE + DYNAMIC - that, atom PMD_SIZE (x86_64) or
 *     PAGE_SIZE (i386; 2.6.32: PMD_SIZE when the CPU has PSE), NUMA
 *     distance and node-local memory; the config's reservedSize / dynSize /
 *     atomSize replace these (reservedSize also for the page first chunk)
 *   - a failed embed (e.g. groups too far apart for the vmalloc space)
 *     falls back to the page first chunk
 *   - then each CPU's this_cpu_off / cpu_number / segment, and the boot
 *     CPU switches to its unit
 */

import {
  type ArchConfig,
  type ArchSetupResult,
  GenericArch,
  logLinesSince,
  type PercpuAllocParam,
  percpuAllocSetup,
  type ResolvedArchConfig,
} from "@pcpu/arch-generic";
import { LOGLEVEL_INFO, LOGLEVEL_WARNING } from "@pcpu/mm";
import {
  LOCAL_DISTANCE,
  type Percpu,
  pcpuEmbedFirstChunk,
  pcpuEraIs26,
  pcpuPageFirstChunk,
  pcpuSetupPercpuLine,
  REMOTE_DISTANCE,
} from "@pcpu/percpu";
import { PCPU_FC_NAMES } from "./api.js";
import type { X86PercpuArch } from "./percpu-segment.js";

/** The text of the fallback warning, per era (pr_fmt "setup_percpu: " since 3.x). */
export function x86FallbackLine(
  era: ResolvedArchConfig["pcpuEra"],
  chosen: PercpuAllocParam,
  rc: number,
): string {
  const prefix = pcpuEraIs26(era) ? "PERCPU: " : "setup_percpu: ";
  return `${prefix}${PCPU_FC_NAMES[chosen]} allocator failed (${rc}), falling back to page size`;
}

/** The x86 arch family; x86_64 and i386 differ only in numbers and the segment. */
export abstract class X86Arch<A extends X86PercpuArch> extends GenericArch<A> {
  /** x86 selects NEED_PER_CPU_EMBED_FIRST_CHUNK and NEED_PER_CPU_PAGE_FIRST_CHUNK. */
  override readonly fcSupport = { embed: true, page: true } as const;
  override readonly needFc = { embed: true, page: true } as const;

  protected override acceptsX86Options(): boolean {
    return true;
  }

  /** `PERCPU_FIRST_CHUNK_RESERVE`. */
  abstract firstChunkReserve(pcpu: Percpu): number;

  /** The embed atom size for this config. */
  abstract atomSize(cfg: ResolvedArchConfig): number;

  /** Whether `auto` is forced to `page` on NUMA (i386 only). */
  protected abstract autoNumaForcesPage(cfg: ResolvedArchConfig): boolean;

  /**
   * `pcpu_need_numa()`: whether the possible CPUs sit on more than one
   * online node.
   * @kernel arch/x86/kernel/setup_percpu.c pcpu_need_numa
   */
  pcpuNeedNuma(cfg: ResolvedArchConfig): boolean {
    if (!cfg.numa) return false;
    let last = -1;
    for (const cpu of cfg.possibleCpus) {
      const node = cfg.cpuToNode[cpu]!;
      if (last >= 0 && last !== node) return true;
      last = node;
    }
    return false;
  }

  /**
   * `pcpu_cpu_distance(from, to)`: LOCAL when both CPUs are on the same node
   * (`early_cpu_to_node`), REMOTE otherwise; always LOCAL without NUMA.
   * @kernel arch/x86/kernel/setup_percpu.c pcpu_cpu_distance
   */
  pcpuCpuDistance(cfg: ResolvedArchConfig): (from: number, to: number) => number {
    if (!cfg.numa) return () => LOCAL_DISTANCE;
    const c2n = cfg.cpuToNode;
    return (from, to) => (c2n[from] === c2n[to] ? LOCAL_DISTANCE : REMOTE_DISTANCE);
  }

  /** `pcpu_cpu_to_node(cpu)`: `early_cpu_to_node(cpu)`. @kernel arch/x86/kernel/setup_percpu.c pcpu_cpu_to_node */
  pcpuCpuToNode(cfg: ResolvedArchConfig): (cpu: number) => number {
    const c2n = cfg.cpuToNode;
    return (cpu) => (cfg.numa ? c2n[cpu]! : 0);
  }

  /**
   * setup_per_cpu_areas() on x86.
   * @kernel arch/x86/kernel/setup_percpu.c setup_per_cpu_areas
   * @context boot; throws the kernel's panic text when neither first chunk
   *   allocator works, and the percpu-km #error when km would need a paged
   *   first chunk.
   */
  override setupPerCpuAreas(pcpu: Percpu, arch: A, config: ArchConfig | ResolvedArchConfig): ArchSetupResult {
    const cfg = this.resolve(config);
    const m = pcpu.machine;
    const k = pcpu.constants;
    const era = cfg.pcpuEra;
    const from = m.log.lines().length;
    let chosen = percpuAllocSetup(m, era, cfg.percpuAlloc, this.needFc);

    m.log.printk(
      LOGLEVEL_INFO,
      pcpuSetupPercpuLine(era, {
        nrCpus: k.NR_CPUS,
        nrCpumaskBits: cfg.cpumaskOffstack ? cfg.cpus : k.NR_CPUS,
        nrCpuIds: cfg.cpus,
        nrNodeIds: cfg.numa ? cfg.nodes.length : 1,
      }),
    );

    /* Embedding gives sparse units on NUMA and 32-bit vmalloc is small. */
    if (chosen === "auto" && this.autoNumaForcesPage(cfg) && this.pcpuNeedNuma(cfg)) chosen = "page";

    const fcReserve = this.firstChunkReserve(pcpu);
    /* The config's size overrides replace these (a kernel built with other constants). */
    const sizes = this.firstChunkSizes(cfg, {
      reservedSize: fcReserve,
      dynSize: k.PERCPU_MODULE_RESERVE + k.PERCPU_DYNAMIC_RESERVE - fcReserve,
      atomSize: this.atomSize(cfg),
    });
    const reserved = sizes.reservedSize;
    const cpuToNode = this.pcpuCpuToNode(cfg);
    let rc = -22;
    let fellBack = false;
    let fc: "embed" | "page" = "embed";
    if (chosen !== "page") {
      rc = pcpuEmbedFirstChunk(
        pcpu,
        reserved,
        sizes.dynSize,
        sizes.atomSize,
        this.pcpuCpuDistance(cfg),
        cpuToNode,
        {
          pageFirstChunkAvailable: true,
          numa: cfg.numa,
        },
      );
      if (rc < 0) {
        m.log.printk(LOGLEVEL_WARNING, x86FallbackLine(era, chosen, rc));
        fellBack = true;
      }
    }
    if (rc < 0) {
      if (pcpu.backend.name === "km") {
        throw new Error("percpu-km: contiguous percpu allocation is incompatible with paged first chunk");
      }
      fc = "page";
      rc = pcpuPageFirstChunk(pcpu, reserved, cpuToNode, cfg.numa);
    }
    if (rc < 0) throw new Error(`Kernel panic - not syncing: cannot initialize percpu area (err=${rc})`);

    /* alrighty, percpu areas up and running */
    arch.fillOffsets();
    for (const cpu of cfg.possibleCpus) {
      arch.initCpuPercpu(cpu);
      if (cpu === 0) arch.switchGdtAndPercpuBase(cpu);
    }
    pcpu.arch = arch;
    arch.smpPrepareBootCpu();
    return { fc, chosen, fellBack, lines: logLinesSince(m, from) };
  }
}
