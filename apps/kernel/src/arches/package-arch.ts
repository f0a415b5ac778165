/*
 * An arch package's definition (a @pcpu/arch-generic GenericArch subclass:
 * X86_64Arch, ArmArch, ...) as the kernel app assembles it. The package
 * boots the kernel itself through bootArch: its machine layout, its
 * .data..percpu, its setup_per_cpu_areas (with the config's reservedSize /
 * dynSize / atomSize in place of its own request, which the arch contract
 * takes), smp_prepare_boot_cpu and the secondaries' bring-up. The app only
 * translates its config and reports the package's refusals as ConfigError.
 * An arch built in several page or word sizes (arm64, generic) gives a
 * `variant` that makes the package's arch for the config's sizes.
 */

import {
  type ArchConfig,
  type ArchPercpu,
  bootArch,
  type GenericArch,
  type ResolvedArchConfig,
} from "@pcpu/arch-generic";
import { PCPU_ERAS, type PcpuEra } from "@pcpu/percpu";
import type {
  ArchBooted,
  ArchName,
  KernelArchDefinition,
  KernelCoreParts,
  ResolvedKernelConfig,
} from "../api.js";
import { ConfigError } from "../config.js";

/** Which config setting an arch's RangeError is about. */
function settingOf(message: string): string {
  const key = /\b(reservedSize|dynSize|atomSize|staticSize)\b/.exec(message);
  if (key) return key[1]!;
  if (/nrCpusConfig|NR_CPUS=/.test(message)) return "nrCpus";
  if (/\bcpus?\b/.test(message) && !/node/.test(message)) return "cpus";
  if (/node|NUMA/.test(message)) return "nodes";
  if (/mem|physical|lowmem|GiB|TiB/.test(message)) return "memPerNode";
  if (/era/.test(message)) return "era";
  if (/static/.test(message)) return "staticSize";
  if (/percpu_alloc/.test(message)) return "percpuAlloc";
  return "arch";
}

export interface PackageArchOptions<A extends ArchPercpu> {
  readonly name: ArchName;
  readonly packageName: string;
  /** The arch with its default sizes (its limits are the definition's). */
  readonly def: GenericArch<A>;
  /**
   * The arch for another page shift / word size, when it builds several;
   * `pageShifts` and `bitsChoices` list what it accepts (default: def's only).
   */
  readonly variant?: (pageShift: number, bits: 32 | 64) => GenericArch<A>;
  readonly pageShifts?: readonly number[];
  readonly bitsChoices?: readonly (32 | 64)[];
  /** Whether embed groups CPUs by node on this arch. */
  readonly groupsByNode: boolean;
  /** Largest total memory the layout accepts (checked again by the package). */
  readonly memTotalMax: number;
}

/** The arch package's config for a kernel config (null size overrides: the arch's request). */
export function archConfigOf(c: ResolvedKernelConfig): ArchConfig {
  return {
    cpus: c.nrCpuIds,
    possibleCpus: c.possibleCpus,
    nodes: c.nodeCpus,
    numa: c.nodeCpus.length > 1,
    memPerNode: c.memPerNode,
    era: c.era,
    nrCpusConfig: c.nrCpus,
    staticSize: c.staticSize,
    ...(c.percpuAlloc === "auto" ? {} : { percpuAlloc: c.percpuAlloc }),
    ...(c.reservedSize === null ? {} : { reservedSize: c.reservedSize }),
    ...(c.dynSize === null ? {} : { dynSize: c.dynSize }),
    ...(c.atomSize === null ? {} : { atomSize: c.atomSize }),
    modules: c.modules,
    smp: c.smp,
    ...(c.cpumaskOffstack === null ? {} : { cpumaskOffstack: c.cpumaskOffstack }),
    seed: c.seed,
  };
}

/** A KernelArchDefinition backed by an arch package. */
export function packageArch<A extends ArchPercpu>(o: PackageArchOptions<A>): KernelArchDefinition {
  const def = o.def;
  const limits = def.nrCpus("v6");
  const eras = PCPU_ERAS.filter((e) => (def.eras as readonly string[]).includes(e));
  const fcs: ("embed" | "page")[] = [];
  if (def.fcSupport.embed) fcs.push("embed");
  if (def.fcSupport.page) fcs.push("page");

  /* One arch object per size, made once: a definition serves many kernels. */
  const variants = new Map<string, GenericArch<A>>();
  const defFor = (c: ResolvedKernelConfig): GenericArch<A> => {
    const shift = Math.log2(c.pageSize);
    if (shift === def.pageShift && c.bits === def.bits) return def;
    const key = `${shift}/${c.bits}`;
    let d = variants.get(key);
    if (d === undefined) {
      if (o.variant === undefined)
        throw new ConfigError("pageSize", `${o.name} has no ${c.pageSize}-byte pages or ${c.bits}-bit build`);
      d = o.variant(shift, c.bits);
      variants.set(key, d);
    }
    return d;
  };

  const resolve = (c: ResolvedKernelConfig): { d: GenericArch<A>; cfg: ResolvedArchConfig } => {
    try {
      const d = defFor(c);
      const cfg = d.resolve(archConfigOf(c));
      d.layout(cfg);
      return { d, cfg };
    } catch (e) {
      if (e instanceof RangeError) throw new ConfigError(settingOf(e.message), e.message);
      throw e;
    }
  };

  return {
    name: o.name,
    packageName: o.packageName,
    bits: def.bits,
    pageShift: def.pageShift,
    bitsChoices: o.bitsChoices ?? [def.bits],
    pageShifts: o.pageShifts ?? [def.pageShift],
    nrCpusDefault: limits.default,
    nrCpusMax: limits.max,
    numa: def.hasNuma("v6"),
    groupsByNode: o.groupsByNode,
    firstChunks: fcs,
    eras: eras as PcpuEra[],
    upEras: eras.filter((e) => !def.smpRequired(e)) as PcpuEra[],
    defaultStaticSize: def.defaultStaticSize,
    memPerNodeDefault: def.defaultMemPerNode,
    memTotalMax: o.memTotalMax,
    boot(c: ResolvedKernelConfig, core: KernelCoreParts): ArchBooted {
      const { era: _era, ...options } = core.options;
      const { d, cfg } = resolve(c);
      const k = bootArch(d, cfg, {
        population: core.population,
        area: core.area,
        observer: core.observer,
        trace: core.trace,
        options,
      });
      return { machine: k.machine, pcpu: k.pcpu, arch: k.arch };
    },
  };
}
