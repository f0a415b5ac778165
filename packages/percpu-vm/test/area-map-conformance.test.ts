/*
 * The same conformance suite with the 2009/2014 area-map allocator in place
 * of the bitmap allocator (issue 8: both allocators pass the same suite),
 * in today's core and in the v3.18 era the area map shipped in.
 */
import { createAreaMapAllocator } from "@pcpu/percpu";
import { bootTestKernel, describePercpuConformance } from "@pcpu/percpu/testing";
import { describe, expect, it } from "vitest";
import { createPercpuVm } from "../src/index.js";

for (const era of ["v6", "v3.18"] as const) {
  describePercpuConformance(
    {
      name: `percpu-vm with the area map (${era})`,
      boot: (o) =>
        bootTestKernel({ population: createPercpuVm(), area: createAreaMapAllocator(), era, ...o }),
      chunkPages: (pcpu, c) => c.nrPopulated * pcpu.nrPossibleCpus,
    },
    { describe, it, expect },
  );
}
