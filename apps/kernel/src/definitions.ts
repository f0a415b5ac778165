/*
 * A set of definitions a build carries (every arch, or one arch and one
 * backend in a per-build bundle) and booting from such a set. Imports no
 * arch: the sets are built by registry.ts and by generated bundle entries.
 */

import type {
  ArchName,
  KernelArchDefinition,
  KernelConfig,
  KernelDefinitions,
  KernelPopulationDefinition,
  PopulationName,
} from "./api.js";
import { assembleKernel } from "./assemble.js";
import { resolveConfig } from "./config.js";
import type { Kernel } from "./kernel.js";

/** The definitions a build carries. */
export interface KernelRegistry {
  readonly arches: readonly KernelArchDefinition[];
  readonly populations: readonly KernelPopulationDefinition[];
}

/** Looks up the definitions a config needs in a registry (undefined entries are reported by assembleKernel). */
export function definitionsFor(
  reg: KernelRegistry,
  arch: ArchName,
  population: PopulationName,
): KernelDefinitions {
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
