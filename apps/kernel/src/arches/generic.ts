/*
 * The generic arch as the kernel app boots it: @pcpu/arch-generic's
 * GenericArch (include/asm-generic/percpu.h, mm/percpu.c's generic
 * setup_per_cpu_areas) with the config's word and page size, for arches
 * without a package of their own (ppc64 with 64 KiB pages, loongarch and
 * mips with 16 KiB): their boot lines follow from the sizes and the
 * config's reservedSize / dynSize / atomSize.
 */

import { GenericArch } from "@pcpu/arch-generic";
import type { KernelArchDefinition } from "../api.js";
import { packageArch } from "./package-arch.js";

/** generic from @pcpu/arch-generic: 32 or 64 bits, 4K .. 256K pages. */
export const generic: KernelArchDefinition = packageArch({
  name: "generic",
  packageName: "@pcpu/arch-generic",
  def: new GenericArch(),
  variant: (pageShift, bits) => new GenericArch({ pageShift, bits }),
  pageShifts: [12, 13, 14, 15, 16, 17, 18],
  bitsChoices: [64, 32],
  groupsByNode: false,
  memTotalMax: 32 * 2 ** 40,
});
