/*
 * An arch package's definition (a @pcpu/arch-generic GenericArch subclass:
 * X86_64Arch, ArmArch, ...) as the kernel app assembles it. Without size
 * overrides the package boots the kernel itself (bootArch: its machine
 * layout, its .data..percpu, its setup_per_cpu_areas, smp_prepare_boot_cpu
 * and the secondaries' bring-up). With reservedSize / dynSize / atomSize
 * overrides, which the arch contract does not take, the first chunk is
 * built here with the overridden sizes and the package's own hooks, then
 * published the package's way.
 */

import {
  type ArchConfig,
  type ArchPercpu,
  bootArch,
  type GenericArch,
  type ResolvedArchConfig,
} from "@pcpu/arch-generic";
import { Machine } from "@pcpu/mm";
import { PCPU_ERAS, type PcpuEra, Percpu } from "@pcpu/percpu";
import type {
  ArchBooted,
  ArchName,
  KernelArchDefinition,
  KernelCoreParts,
  ResolvedKernelConfig,
} from "../api.js";
import { ConfigError } from "../config.js";
import { embedOrPanic } from "./common.js";

/** The sizes a config overrides (null: the arch's). */
export interface FirstChunkSizes {
  readonly reservedSize: number | null;
  readonly dynSize: number | null;
  readonly atomSize: number | null;
}

/** How an arch builds its first chunk with overridden sizes; installs the hooks in the core. */
export type SetupWithSizes<A extends ArchPercpu> = (
  pcpu: Percpu,
  arch: A,
  cfg: ResolvedArchConfig,
  sizes: FirstChunkSizes,
) => void;

/**
 * The generic setup_per_cpu_areas with overridden sizes: embed, module and
 * dynamic reserves, page atoms by default, warn-only distance check.
 */
export function genericSetupWithSizes(
  pcpu: Percpu,
  arch: ArchPercpu,
  cfg: ResolvedArchConfig,
  s: FirstChunkSizes,
): void {
  const k = pcpu.constants;
  embedOrPanic(
    pcpu,
    s.reservedSize ?? k.PERCPU_MODULE_RESERVE,
    s.dynSize ?? k.PERCPU_DYNAMIC_RESERVE,
    s.atomSize ?? k.PAGE_SIZE,
    null,
    null,
    cfg.numa,
  );
  arch.fillOffsets();
  pcpu.arch = arch;
  arch.smpPrepareBootCpu();
}

/** Which config setting an arch's RangeError is about. */
function settingOf(message: string): string {
  if (/nrCpusConfig|NR_CPUS=/.test(message)) return "nrCpus";
  if (/\bcpus?\b/.test(message) && !/node/.test(message)) return "cpus";
  if (/node|NUMA/.test(message)) return "nodes";
  if (/mem|physical|lowmem|GiB|TiB/.test(message)) return "memPerNode";
  if (/era/.test(message)) return "era";
  if (/staticSize|static/.test(message)) return "staticSize";
  if (/percpu_alloc/.test(message)) return "percpuAlloc";
  return "arch";
}

export interface PackageArchOptions<A extends ArchPercpu> {
  readonly name: ArchName;
  readonly packageName: string;
  readonly def: GenericArch<A>;
  /** Whether embed groups CPUs by node on this arch. */
  readonly groupsByNode: boolean;
  /** Largest total memory the layout accepts (checked again by the package). */
  readonly memTotalMax: number;
  readonly setupWithSizes?: SetupWithSizes<A>;
}

/** A KernelArchDefinition backed by an arch package. */
export function packageArch<A extends ArchPercpu>(o: PackageArchOptions<A>): KernelArchDefinition {
  const def = o.def;
  const limits = def.nrCpus("v6");
  const eras = PCPU_ERAS.filter((e) => (def.eras as readonly string[]).includes(e));
  const fcs: ("embed" | "page")[] = [];
  if (def.fcSupport.embed) fcs.push("embed");
  if (def.fcSupport.page) fcs.push("page");

  const archConfig = (c: ResolvedKernelConfig): ResolvedArchConfig => {
    const ac: ArchConfig = {
      cpus: c.cpus,
      nodes: c.nodeCpus,
      numa: c.nodeCpus.length > 1,
      memPerNode: c.memPerNode,
      era: c.era,
      nrCpusConfig: c.nrCpus,
      staticSize: c.staticSize,
      ...(c.percpuAlloc === "auto" ? {} : { percpuAlloc: c.percpuAlloc }),
      modules: c.modules,
      seed: c.seed,
    };
    try {
      const cfg = def.resolve(ac);
      def.layout(cfg);
      return cfg;
    } catch (e) {
      if (e instanceof RangeError) throw new ConfigError(settingOf(e.message), e.message);
      throw e;
    }
  };

  return {
    name: o.name,
    packageName: o.packageName,
    source: "package",
    bits: def.bits,
    pageShift: def.pageShift,
    nrCpusDefault: limits.default,
    nrCpusMax: limits.max,
    numa: def.hasNuma("v6"),
    groupsByNode: o.groupsByNode,
    firstChunks: fcs,
    eras: eras as PcpuEra[],
    defaultStaticSize: def.defaultStaticSize,
    memPerNodeDefault: def.defaultMemPerNode,
    memTotalMax: o.memTotalMax,
    boot(c: ResolvedKernelConfig, core: KernelCoreParts): ArchBooted {
      const cfg = archConfig(c);
      const { era: _era, ...options } = core.options;
      if (c.reservedSize === null && c.dynSize === null && c.atomSize === null) {
        const k = bootArch(def, cfg, {
          population: core.population,
          area: core.area,
          observer: core.observer,
          trace: core.trace,
          options,
        });
        return { machine: k.machine, pcpu: k.pcpu, arch: k.arch };
      }
      const machine = new Machine(def.machineConfig(cfg));
      const section = def.staticSection(machine, cfg);
      const pcpu = new Percpu({
        machine,
        constants: def.constants(cfg),
        area: core.area,
        population: core.population,
        section: {
          perCpuStart: section.perCpuStart,
          staticSize: section.staticSize,
          perCpuLoad: section.perCpuLoad,
        },
        observer: core.observer,
        trace: core.trace,
        options: { ...options, era: cfg.pcpuEra },
      });
      const arch = def.createPercpuArch(pcpu, cfg);
      const setup = o.setupWithSizes ?? (genericSetupWithSizes as SetupWithSizes<A>);
      setup(pcpu, arch, cfg, { reservedSize: c.reservedSize, dynSize: c.dynSize, atomSize: c.atomSize });
      arch.bringUpSecondaries();
      pcpu.enableAsync();
      return { machine, pcpu, arch };
    },
  };
}
