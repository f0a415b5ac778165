/*
 * Boot a kernel on an arch, in start_kernel() order as far as percpu is
 * concerned: the machine (setup_arch: memory, page tables, the kernel image
 * with .data..percpu), the percpu core, setup_per_cpu_areas(),
 * smp_prepare_boot_cpu(), then smp_init() bringing every secondary up (each
 * publishing its own offset). The kernel app composes the same steps with
 * its own options; tests and tools use this directly.
 */

import { Machine } from "@pcpu/mm";
import {
  type AreaAllocatorFactory,
  createBitmapAllocator,
  type PcpuConstantsFull,
  type PcpuObserver,
  type PcpuOptions,
  type PcpuTraceSink,
  Percpu,
  type PopulationFactory,
  setupPerCpuAreasUp,
} from "@pcpu/percpu";
import type { ArchConfig, ArchSetupResult, ArchStaticSection, ResolvedArchConfig } from "./api.js";
import type { ArchPercpu } from "./arch-percpu.js";
import type { GenericArch } from "./generic-arch.js";

/** What to plug into the core. */
export interface ArchBootOptions {
  readonly population: PopulationFactory;
  /** Default: the bitmap allocator. */
  readonly area?: AreaAllocatorFactory;
  readonly observer?: PcpuObserver | null;
  readonly trace?: PcpuTraceSink | null;
  /** Core options (the era comes from the arch config). */
  readonly options?: Omit<PcpuOptions, "era">;
  /** Bring every secondary CPU up after setup (smp_init); default true. */
  readonly bringUpSecondaries?: boolean;
}

/** A booted kernel. */
export interface ArchKernel<A extends ArchPercpu = ArchPercpu> {
  readonly config: ResolvedArchConfig;
  readonly machine: Machine;
  readonly constants: PcpuConstantsFull;
  readonly section: ArchStaticSection;
  readonly pcpu: Percpu;
  readonly arch: A;
  readonly setup: ArchSetupResult;
}

/**
 * Assemble and boot a kernel on `def`.
 * @context creates a machine; throws on configuration errors and on the
 *   kernel's boot panics. An error thrown by setup_per_cpu_areas carries
 *   `dmesg` (non-enumerable): the kernel log up to the panic.
 */
export function bootArch<A extends ArchPercpu>(
  def: GenericArch<A>,
  config: ArchConfig | ResolvedArchConfig,
  o: ArchBootOptions,
): ArchKernel<A> {
  const cfg = def.resolve(config);
  const machine = new Machine(def.machineConfig(cfg));
  const section = def.staticSection(machine, cfg);
  const constants = def.constants(cfg);
  const pcpu = new Percpu({
    machine,
    constants,
    area: o.area ?? createBitmapAllocator(),
    population: o.population,
    section: {
      perCpuStart: section.perCpuStart,
      staticSize: section.staticSize,
      perCpuLoad: section.perCpuLoad,
    },
    observer: o.observer ?? null,
    trace: o.trace ?? null,
    options: { ...o.options, era: cfg.pcpuEra, smp: cfg.smp },
  });
  const arch = def.createPercpuArch(pcpu, cfg);
  let setup: ArchSetupResult;
  try {
    /* The arch's setup_per_cpu_areas is SMP-only code; a UP kernel runs mm/percpu.c's. */
    setup = cfg.smp ? def.setupPerCpuAreas(pcpu, arch, cfg) : setupUp(pcpu, arch);
  } catch (e) {
    /* What the console showed up to the panic, for the caller to print (the machine dies with this frame). */
    if (e instanceof Error && !("dmesg" in e))
      Object.defineProperty(e, "dmesg", { value: machine.log.dmesg(), enumerable: false });
    throw e;
  }
  if (o.bringUpSecondaries ?? true) arch.bringUpSecondaries();
  pcpu.enableAsync();
  return { config: cfg, machine, constants, section, pcpu, arch, setup };
}

/**
 * A uniprocessor kernel's setup: mm/percpu.c's !CONFIG_SMP
 * setup_per_cpu_areas (one unit, all dynamic), the hooks' identity mapping,
 * then the boot CPU is online.
 * @kernel mm/percpu.c setup_per_cpu_areas
 */
function setupUp(pcpu: Percpu, arch: ArchPercpu): ArchSetupResult {
  const m = pcpu.machine;
  const from = m.log.lines().length;
  setupPerCpuAreasUp(pcpu);
  arch.uniprocessor();
  pcpu.arch = arch;
  arch.smpPrepareBootCpu();
  return {
    fc: "up",
    chosen: "auto",
    fellBack: false,
    lines: m.log
      .lines()
      .slice(from)
      .map((l) => l.text),
  };
}
