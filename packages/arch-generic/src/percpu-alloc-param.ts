/*
 * The `percpu_alloc=` early parameter (mm/percpu.c percpu_alloc_setup):
 * `embed` and `page` are accepted only when the arch selects
 * CONFIG_NEED_PER_CPU_EMBED_FIRST_CHUNK / CONFIG_NEED_PER_CPU_PAGE_FIRST_CHUNK;
 * anything else (including `auto`) is reported and leaves the choice at
 * auto. Arches using the generic setup_per_cpu_areas() select neither, so
 * the parameter never changes anything there.
 */

import { LOGLEVEL_WARNING, type Machine } from "@pcpu/mm";
import { type PcpuEra, pcpuUnknownAllocatorLine } from "@pcpu/percpu";
import type { ArchFcSupport, PercpuAllocParam } from "./api.js";

/**
 * Parse `percpu_alloc=<str>` into `pcpu_chosen_fc`.
 * @kernel mm/percpu.c percpu_alloc_setup
 * @param str - the parameter value, or undefined when absent
 * @param need - the NEED_PER_CPU_*_FIRST_CHUNK switches the arch selects
 * @context early boot (parse_early_param)
 * @returns the chosen first-chunk allocator (`auto` when absent or unknown)
 */
export function percpuAllocSetup(
  machine: Machine,
  era: PcpuEra,
  str: string | undefined,
  need: ArchFcSupport,
): PercpuAllocParam {
  if (str === undefined) return "auto";
  if (need.embed && str === "embed") return "embed";
  if (need.page && str === "page") return "page";
  machine.log.printk(LOGLEVEL_WARNING, pcpuUnknownAllocatorLine(era, str));
  return "auto";
}
