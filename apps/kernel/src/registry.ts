/*
 * Every arch and population definition, and bootKernel() on top of them:
 * the full library. Per-build bundles do not import this file (their
 * generated entry lists only the chosen definitions).
 */

import type { KernelConfig } from "./api.js";
import { arm } from "./arches/arm.js";
import { arm64 } from "./arches/arm64.js";
import { generic } from "./arches/generic.js";
import { s390 } from "./arches/s390.js";
import { sparc32 } from "./arches/sparc32.js";
import { i386, x86_64 } from "./arches/x86.js";
import { bootFromRegistry, type KernelRegistry } from "./definitions.js";
import type { Kernel } from "./kernel.js";
import { kmPopulation } from "./populations/km.js";
import { vmPopulation } from "./populations/vm.js";

/** Every arch and both population backends. */
export const ALL_DEFINITIONS: KernelRegistry = {
  arches: [x86_64, i386, arm, arm64, sparc32, s390, generic],
  populations: [vmPopulation, kmPopulation],
};

/**
 * Boots a kernel from a config, with every arch available.
 * @throws ConfigError before boot for an invalid config; BootError when setup panics
 */
export function bootKernel(config: KernelConfig = {}): Kernel {
  return bootFromRegistry(config, ALL_DEFINITIONS);
}
