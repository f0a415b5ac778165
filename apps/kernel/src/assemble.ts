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

import { type Machine, MachineConfigError } from "@pcpu/mm";
import { type AreaAllocatorFactory, createAreaMapAllocator, createBitmapAllocator } from "@pcpu/percpu";
import { PcpuStats, PcpuTraceRecorder } from "@pcpu/percpu-stats";
import type {
  AllocatorName,
  KernelConfig,
  KernelCounters,
  KernelDefinitions,
  ResolvedKernelConfig,
} from "./api.js";
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

/** The area allocator factory of a config: the bitmap allocator (4.14+) or the 2009 area map. */
export function areaAllocatorFactory(name: AllocatorName, fixFreeHintQuirk = false): AreaAllocatorFactory {
  return name === "bitmap" ? createBitmapAllocator({ fixFreeHintQuirk }) : createAreaMapAllocator();
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
  if (c.arch !== defs.arch.name)
    throw new ConfigError("arch", `${c.arch} is not built into this kernel build (it has ${defs.arch.name})`);
  if (c.population !== defs.population.name) {
    throw new ConfigError(
      "population",
      `${c.population} is not built into this kernel build (it has ${defs.population.name})`,
    );
  }
  if (c.population === "km" && c.percpuAlloc === "page") {
    /* mm/percpu-km.c: #error "contiguous percpu allocation is incompatible with paged first chunk" */
    throw new ConfigError(
      "population",
      "km cannot serve a page first chunk (percpuAlloc page): contiguous percpu allocation is incompatible with paged first chunk",
    );
  }
  const area = areaAllocatorFactory(c.allocator, c.fixFreeHintQuirk);
  const population = defs.population.factory({ fixPopulatedOvercount: c.fixPopulatedOvercount });
  const counters: KernelCounters = {
    allocs: 0,
    frees: 0,
    failures: 0,
    chunksCreated: 0,
    chunksDestroyed: 0,
    chunks: 0,
    peakChunks: 0,
  };
  const stats = c.stats ? new PcpuStats() : null;
  /* The machine is built inside the arch's boot; the backend factory is the first to see it. */
  let machineRef: Machine | null = null;
  const recorder = c.trace ? new PcpuTraceRecorder(kernelTraceFraming(() => machineRef)) : null;
  const sink = new KernelTraceSink(counters, recorder);
  try {
    const { machine, pcpu, arch } = defs.arch.boot(c, {
      area,
      population: (host) => {
        machineRef = host.machine;
        return population(host);
      },
      observer: stats,
      trace: sink,
      options: {
        era: c.era,
        debugChecks: c.debugChecks,
        memcgKmem: c.memcg,
        allocProfiling: c.allocProfiling,
        fixFreeHintQuirk: c.fixFreeHintQuirk,
        checkFree: c.checkFree,
      },
    });
    pcpu.enableAsync();
    /* The first chunk is not "created" by the running kernel. */
    counters.chunksCreated = 0;
    /* Tracing comes up long after setup_per_cpu_areas. */
    sink.tracing = true;
    return new Kernel({ config: c, machine, pcpu, arch, stats, recorder, counters });
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    if (e instanceof MachineConfigError) throw new ConfigError("memPerNode", e.message);
    const m = machineRef as Machine | null;
    /* The arch's boot hands the log up to the panic on the error when the backend never saw the machine. */
    const carried = (e as { dmesg?: unknown } | null)?.dmesg;
    const log = m !== null ? m.log.dmesg() : Array.isArray(carried) ? (carried as string[]) : [];
    throw new BootError(e instanceof Error ? e.message : String(e), log);
  }
}
