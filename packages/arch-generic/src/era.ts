/*
 * Arch eras: the core's kernel generations plus `v6.14`, the last v6 kernel
 * before the 2025 arch reworks. An arch era picks both the arch behaviour
 * (zero-based x86_64 section, i386 NUMA, s390 weak module percpu, layouts)
 * and the core generation it runs.
 */

import { PCPU_ERAS, type PcpuEra } from "@pcpu/percpu";
import type { ArchEra } from "./api.js";

/** Every arch era, oldest first. */
export const ARCH_ERAS: readonly ArchEra[] = ["v2.6.30", "v2.6.32", "v3.18", "v4.14", "v5.14", "v6.14", "v6"];

/** Whether `era` names an arch era. */
export function isArchEra(era: unknown): era is ArchEra {
  return typeof era === "string" && (ARCH_ERAS as readonly string[]).includes(era);
}

/** Position of `era` in ARCH_ERAS (0 = oldest). */
export function archEraIndex(era: ArchEra): number {
  const i = ARCH_ERAS.indexOf(era);
  if (i < 0)
    throw new RangeError(`unknown arch era ${JSON.stringify(era)}; expected one of ${ARCH_ERAS.join(", ")}`);
  return i;
}

/** Whether `era` is `since` or newer. */
export function archEraAtLeast(era: ArchEra, since: ArchEra): boolean {
  return archEraIndex(era) >= archEraIndex(since);
}

/** The core generation an arch era runs: `v6.14` is a v6 core. */
export function archPcpuEra(era: ArchEra): PcpuEra {
  if (era === "v6.14") return "v6";
  if (!(PCPU_ERAS as readonly string[]).includes(era))
    throw new RangeError(`unknown arch era ${JSON.stringify(era)}`);
  return era;
}
