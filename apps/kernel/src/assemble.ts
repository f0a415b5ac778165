/*
 * Assembling a kernel (init/main.c start_kernel, the percpu part): build
 * the machine the arch describes, place the image's static percpu section,
 * create the allocator state with the chosen area allocator, population
 * backend, stats and tracepoints, run the arch's setup_per_cpu_areas, then
 * enable the async balance work (the percpu_enable_async initcall).
 *
 * assembleKernel takes the arch and population definitions as arguments
 * and imports none: a per-build bundle passes exactly one of each.
 */

import { Machine, MachineConfigError } from "@pcpu/mm";
import * as percpuPackage from "@pcpu/percpu";
import { type AreaAllocatorFactory, createBitmapAllocator, pcpuConstants, Percpu } from "@pcpu/percpu";
import { PcpuStats, PcpuTraceRecorder } from "@pcpu/percpu-stats";
import type { AllocatorName, KernelConfig, KernelCounters, KernelDefinitions, ResolvedKernelConfig } from "./api.js";
import { ConfigError, resolveConfig } from "./config.js";
import { Kernel, KernelTraceSink, kernelTraceFraming } from "./kernel.js";

/** A boot that failed after the config was accepted (panic, BUG in setup); `dmesg` holds the log so far. */
export class BootError extends Error {
  readonly dmesg: readonly string[];
  constructor(message: string, dmesg: readonly string[]) {
    super(message);
    this.name = "BootError";
    this.dmesg = dmesg;
  }
}

function isResolved(c: KernelConfig | ResolvedKernelConfig): c is ResolvedKernelConfig {
  return Array.isArray((c as ResolvedKernelConfig).nodeCpus);
}

/** The area allocator factory of a config (the 2009 area map needs @pcpu/percpu to export createAreaMapAllocator). */
export function areaAllocatorFactory(name: AllocatorName): AreaAllocatorFactory {
  if (name === "bitmap") return createBitmapAllocator();
  const create = (percpuPackage as Record<string, unknown>).createAreaMapAllocator;
  if (typeof create !== "function") {
    throw new ConfigError("allocator", "area-map is not available: @pcpu/percpu does not export createAreaMapAllocator");
  }
  return (create as () => AreaAllocatorFactory)();
}

/**
 * Validates `config` against the given definitions and boots the kernel.
 * @throws ConfigError before anything is built when the config cannot work
 *   (including an arch or population other than the definitions given)
 * @throws BootError when the arch's setup panics
 */
export function assembleKernel(config: KernelConfig | ResolvedKernelConfig, defs: KernelDefinitions): Kernel {
  const c = isResolved(config)
    ? config
    : resolveConfig(config, (name) => (name === defs.arch.name ? defs.arch : undefined));
  if (c.arch !== defs.arch.name) throw new ConfigError("arch", `${c.arch} is not built into this kernel build (it has ${defs.arch.name})`);
  if (c.population !== defs.population.name) {
    throw new ConfigError("population", `${c.population} is not built into this kernel build (it has ${defs.population.name})`);
  }
  const area = areaAllocatorFactory(c.allocator);
  const def = defs.arch;

  let machine: Machine;
  try {
    machine = new Machine(
      def.machineConfig({ cpus: c.cpus, cpuToNode: c.cpuToNode, nrNodes: c.nodeCpus.length, memPerNode: c.memPerNode, seed: c.seed, era: c.era }),
    );
  } catch (e) {
    if (e instanceof MachineConfigError) throw new ConfigError("memPerNode", e.message);
    throw e;
  }
  const constants = pcpuConstants({ pageShift: def.pageShift, bits: def.bits, nrCpus: c.nrCpus, modules: c.modules, era: c.era });
  const counters: KernelCounters = { allocs: 0, frees: 0, failures: 0, chunksCreated: 0, chunksDestroyed: 0, chunks: 0, peakChunks: 0 };
  const stats = c.stats ? new PcpuStats() : null;
  const recorder = c.trace ? new PcpuTraceRecorder(kernelTraceFraming(machine)) : null;

  try {
    const section = def.placeStaticSection(machine, c.staticSize, c.era);
    const pcpu = new Percpu({
      machine,
      constants,
      area,
      population: defs.population.factory(),
      section,
      observer: stats,
      trace: new KernelTraceSink(counters, recorder),
      options: { era: c.era, debugChecks: c.debugChecks },
    });
    const arch = def.setupPerCpuAreas(pcpu, {
      percpuAlloc: c.percpuAlloc,
      reservedSize: c.reservedSize,
      dynSize: c.dynSize,
      atomSize: c.atomSize,
      nrCpus: c.nrCpus,
      numa: c.nodeCpus.length > 1,
      cpuToNode: c.cpuToNode,
    });
    pcpu.enableAsync();
    /* The first chunk is not "created" by the running kernel. */
    counters.chunksCreated = 0;
    return new Kernel({ config: c, machine, pcpu, arch, stats, recorder, counters });
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new BootError(e instanceof Error ? e.message : String(e), machine.log.dmesg());
  }
}
