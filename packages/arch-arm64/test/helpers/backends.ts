/*
 * The two population strategies the tests boot with (mm/percpu-vm.c and
 * mm/percpu-km.c), test-only devDependencies of this package.
 */
import type { PopulationFactory } from "@pcpu/percpu";
import { createPercpuKm } from "@pcpu/percpu-km";
import { createPercpuVm } from "@pcpu/percpu-vm";

export const POPULATIONS: readonly {
  readonly name: "vm" | "km";
  readonly factory: () => PopulationFactory;
}[] = [
  { name: "vm", factory: () => createPercpuVm() },
  { name: "km", factory: () => createPercpuKm() },
];

export function vm(): PopulationFactory {
  return createPercpuVm();
}

export function km(): PopulationFactory {
  return createPercpuKm();
}
