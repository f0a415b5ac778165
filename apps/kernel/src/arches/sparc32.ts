/*
 * sparc32 as the kernel app boots it: @pcpu/arch-sparc32's Sparc32Arch
 * (asm-generic percpu through current_thread_info()->cpu, mm/percpu.c's
 * generic setup_per_cpu_areas, big-endian, the SRMMU layout).
 */

import { Sparc32Arch } from "@pcpu/arch-sparc32";
import type { KernelArchDefinition } from "../api.js";
import { packageArch } from "./package-arch.js";

/** sparc32 from @pcpu/arch-sparc32. */
export const sparc32: KernelArchDefinition = packageArch({
  name: "sparc32",
  packageName: "@pcpu/arch-sparc32",
  def: new Sparc32Arch(),
  groupsByNode: false,
  memTotalMax: 4 * 2 ** 30,
});
