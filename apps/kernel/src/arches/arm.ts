/*
 * 32-bit arm as the kernel app boots it: @pcpu/arch-arm's ArmArch (no
 * HAVE_SETUP_PER_CPU_AREA: mm/percpu.c's generic setup_per_cpu_areas, the
 * CPU's offset in TPIDRPRW, the arch/arm/mm/mmu.c layout).
 */

import { ArmArch } from "@pcpu/arch-arm";
import type { KernelArchDefinition } from "../api.js";
import { packageArch } from "./package-arch.js";

/** arm from @pcpu/arch-arm. */
export const arm: KernelArchDefinition = packageArch({
  name: "arm",
  packageName: "@pcpu/arch-arm",
  def: new ArmArch(),
  groupsByNode: false,
  memTotalMax: 4 * 2 ** 30,
});
