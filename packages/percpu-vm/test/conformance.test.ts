/*
 * The core's conformance suite against the vm backend: NUMA layouts get one
 * unit group per node, so chunks span several congruent vm areas.
 */
import { bootTestKernel, describePercpuConformance } from "@pcpu/percpu/testing";
import { describe, expect, it } from "vitest";
import { percpuVm } from "../src/index.js";

/* today's bitmap allocator, and its 4.14 form (no scan hints, slots by free bytes, the empty-page recount) */
for (const era of ["v6", "v4.14"] as const) {
  describePercpuConformance(
    {
      name: era === "v6" ? "percpu-vm" : `percpu-vm (${era})`,
      boot: ({ cpus, nodes, seed }) =>
        bootTestKernel({
          population: percpuVm,
          cpus,
          nodes,
          numaGroups: nodes > 1,
          seed,
          era,
        }),
      /* Every populated page of the unit, in every possible CPU's unit. */
      chunkPages: (pcpu, chunk) => chunk.nrPopulated * pcpu.nrPossibleCpus,
    },
    { describe, it, expect },
  );
}

/*
 * The same suite on a cpu_possible_mask with holes: the n CPUs the suite
 * asks for become two runs with 4 impossible CPU ids between them (n = 4:
 * 0-1,6-7; nr_cpu_ids 8). Units exist for possible CPUs only, so a chunk
 * holds its populated pages num_possible_cpus() times.
 */
function sparsePossible(n: number): number[] {
  const half = Math.ceil(n / 2);
  return Array.from({ length: n }, (_, i) => (i < half ? i : i + 4));
}
describePercpuConformance(
  {
    name: "percpu-vm (possible mask with holes)",
    boot: ({ cpus, nodes, seed }) =>
      bootTestKernel({
        population: percpuVm,
        possibleCpus: sparsePossible(cpus),
        nodes,
        numaGroups: nodes > 1,
        seed,
      }),
    chunkPages: (pcpu, chunk) => chunk.nrPopulated * pcpu.nrPossibleCpus,
  },
  { describe, it, expect },
);
