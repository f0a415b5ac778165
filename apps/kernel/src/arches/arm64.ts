/*
 * arm64 as the kernel app boots it: @pcpu/arch-arm64's Arm64Arch with the
 * config's page size (4K, 16K, 64K): drivers/base/arch_numa.c's
 * setup_per_cpu_areas on NUMA (node distance, page fallback from 5.17), the
 * generic one without, the CPU's offset in TPIDR_EL1, a 48-bit VA layout.
 */

import { Arm64Arch } from "@pcpu/arch-arm64";
import type { KernelArchDefinition } from "../api.js";
import { packageArch } from "./package-arch.js";

/** arm64 from @pcpu/arch-arm64. */
export const arm64: KernelArchDefinition = packageArch({
  name: "arm64",
  packageName: "@pcpu/arch-arm64",
  def: new Arm64Arch(),
  variant: (pageShift) => new Arm64Arch({ pageSize: 2 ** pageShift }),
  pageShifts: [12, 14, 16],
  groupsByNode: true,
  memTotalMax: 2 ** 47,
});
