/*
 * s390 (64-bit) as the kernel app boots it: @pcpu/arch-s390's S390Arch
 * (arch/s390/mm/init.c setup_per_cpu_areas, the CPU's offset in its
 * lowcore, big-endian, the setup_kernel_memory_layout layout).
 */

import { S390Arch } from "@pcpu/arch-s390";
import type { KernelArchDefinition } from "../api.js";
import { packageArch } from "./package-arch.js";

/** s390 from @pcpu/arch-s390. */
export const s390: KernelArchDefinition = packageArch({
  name: "s390",
  packageName: "@pcpu/arch-s390",
  def: new S390Arch(),
  groupsByNode: false,
  memTotalMax: 2 ** 40,
});
