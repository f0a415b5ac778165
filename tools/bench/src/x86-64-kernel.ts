/*
 * The kernel the 2017 evaluation runs on: the issue's default x86_64
 * machine, built with the generic test kernel of @pcpu/percpu/testing
 * because @pcpu/arch-x86 does not export a kernel builder yet. It carries
 * x86_64's percpu numbers: 8 possible CPUs on 2 NUMA nodes grouped by node
 * (pcpu_embed_first_chunk with a distance function), a 2 MiB atom
 * (PMD_SIZE), PERCPU_MODULE_RESERVE 8 KiB, PERCPU_DYNAMIC_RESERVE 28 KiB and
 * a ~0x2e000-byte static area, on 4 KiB pages, vmalloc population.
 *
 * The kernel's own free_percpu trusts its callers, so the benchmark kernels
 * are built without the model's free-pointer validation (checkFree: false)
 * and without the invariant checker (debugChecks: false).
 */

import type { AreaAllocatorFactory } from "@pcpu/percpu";
import { createAreaMapAllocator, createBitmapAllocator } from "@pcpu/percpu";
import { bootTestKernel, type TestKernel } from "@pcpu/percpu/testing";
import { createPercpuVm } from "@pcpu/percpu-vm";

/** The two area allocators compared. */
export type AllocatorName = "bitmap" | "area-map";
export const ALLOCATORS: readonly AllocatorName[] = ["bitmap", "area-map"];

/** x86_64 defaults of the issue. */
export const X86_64 = {
  cpus: 8,
  nodes: 2,
  atomSize: 2 << 20,
  reservedSize: 8 << 10,
  dynSize: 28 << 10,
  staticSize: 0x2e000,
  pageShift: 12,
} as const;

/** How the benchmark kernel is described in every report. */
export const X86_64_KERNEL_NOTE =
  "generic test kernel with x86_64's numbers (@pcpu/arch-x86 exports no kernel builder yet): " +
  "8 CPUs, 2 NUMA nodes grouped by node, atom 2 MiB, reserved 8 KiB, dyn 28 KiB, static 0x2e000, " +
  "4 KiB pages, percpu-vm population";

export interface BenchKernelOptions {
  /** Possible CPUs (default 8). */
  readonly cpus?: number;
  /** NUMA nodes (default 2; 1 when there is a single CPU). */
  readonly nodes?: number;
  /** Physical memory per node in bytes (sparse: only written pages cost host memory). Default 8 GiB. */
  readonly memPerNode?: number;
  /** The machine's copy-on-write page frames (default true). */
  readonly copyOnWrite?: boolean;
}

function areaFactory(name: AllocatorName): AreaAllocatorFactory {
  return name === "bitmap" ? createBitmapAllocator() : createAreaMapAllocator();
}

/**
 * Boot the benchmark kernel with area allocator `area`.
 * @returns the booted kernel (machine, percpu state, arch hooks).
 */
export function bootBenchKernel(area: AllocatorName, o: BenchKernelOptions = {}): TestKernel {
  const cpus = o.cpus ?? X86_64.cpus;
  const nodes = o.nodes ?? Math.min(X86_64.nodes, cpus);
  return bootTestKernel({
    population: createPercpuVm(),
    area: areaFactory(area),
    cpus,
    nodes,
    numaGroups: nodes > 1,
    atomSize: X86_64.atomSize,
    reservedSize: X86_64.reservedSize,
    dynSize: X86_64.dynSize,
    staticSize: X86_64.staticSize,
    pageShift: X86_64.pageShift,
    memPerNode: o.memPerNode ?? 8 * 2 ** 30,
    copyOnWrite: o.copyOnWrite ?? true,
    options: { debugChecks: false, checkFree: false },
  });
}
