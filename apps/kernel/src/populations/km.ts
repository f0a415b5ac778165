/*
 * The km population backend (mm/percpu-km.c, CONFIG_NEED_PER_CPU_KM): each
 * chunk is one contiguous block of pages, fully populated at creation.
 */

import { createPercpuKm } from "@pcpu/percpu-km";
import type { KernelPopulationDefinition } from "../api.js";

export const kmPopulation: KernelPopulationDefinition = {
  name: "km",
  packageName: "@pcpu/percpu-km",
  factory: (opts = {}) => createPercpuKm({ fixPopulatedOvercount: opts.fixPopulatedOvercount === true }),
};
