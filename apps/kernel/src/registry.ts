/*
 * Every arch and population definition, and bootKernel() on top of them:
 * the full library. Per-build bundles do not import this file (their
 * generated entry lists only the chosen definitions).
 */

import type {
  ArchName,
  KernelArchDefinition,
  KernelConfig,
  KernelDefinitions,
  KernelPopulationDefinition,
  PopulationName,
} from "./api.js";
import { arm } from "./arches/arm.js";
import { s390 } from "./arches/s390.js";
import { sparc32 } from "./arches/sparc32.js";
import { i386, x86_64 } from "./arches/x86.js";
import { assembleKernel } from "./assemble.js";
import { resolveConfig } from "./config.js";
import type { Kernel } from "./kernel.js";
import { kmPopulation } from "./populations/km.js";
import { vmPopulation } from "./populations/vm.js";

/** The definitions a build carries. */
export interface KernelRegistry {
  readonly arches: readonly KernelArchDefinition[];
  readonly populations: readonly KernelPopulationDefinition[];
}

/** Every arch and both population backends. */
export const ALL_DEFINITIONS: KernelRegistry = {
  arches: [x86_64, i386, arm, sparc32, s390],
  populations: [vmPopulation, kmPopulation],
};

/** Looks up the definitions a config needs in a registry (undefined entries are reported by assembleKernel). */
export function definitionsFor(reg: KernelRegistry, arch: ArchName, population: PopulationName): KernelDefinitions {
  const a = reg.arches.find((d) => d.name === arch) ?? reg.arches[0]!;
  const p = reg.populations.find((d) => d.name === population) ?? reg.populations[0]!;
  return { arch: a, population: p };
}

/**
 * Validates a config against a registry and boots it.
 * @throws ConfigError / BootError as assembleKernel
 */
export function bootFromRegistry(config: KernelConfig, reg: KernelRegistry): Kernel {
  const c = resolveConfig(config, (name) => reg.arches.find((d) => d.name === name));
  return assembleKernel(c, definitionsFor(reg, c.arch, c.population));
}

/**
 * Boots a kernel from a config, with every arch available.
 * @throws ConfigError before boot for an invalid config; BootError when setup panics
 */
export function bootKernel(config: KernelConfig = {}): Kernel {
  return bootFromRegistry(config, ALL_DEFINITIONS);
}
