/*
 * include/linux/percpu.h's constants for a kernel config on an arch.
 */

import { type PcpuConstantsFull, pcpuConstants } from "@pcpu/percpu";
import type { ResolvedKernelConfig } from "../api.js";

/** The constants of a build (page shift, word size, NR_CPUS, CONFIG_MODULES, era). */
export function archConstantsOf(
  a: { readonly pageShift: number; readonly bits: 32 | 64 },
  c: ResolvedKernelConfig,
): PcpuConstantsFull {
  return pcpuConstants({
    pageShift: a.pageShift,
    bits: a.bits,
    nrCpus: c.nrCpus,
    modules: c.modules,
    era: c.era,
  });
}
