/*
 * The vm population backend (mm/percpu-vm.c, the default): chunks are
 * congruent vmalloc areas whose pages are populated on demand.
 */

import { createPercpuVm } from "@pcpu/percpu-vm";
import type { KernelPopulationDefinition } from "../api.js";

export const vmPopulation: KernelPopulationDefinition = {
  name: "vm",
  packageName: "@pcpu/percpu-vm",
  factory: () => createPercpuVm(),
};
