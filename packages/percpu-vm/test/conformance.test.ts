/*
 * The core's conformance suite against the vm backend: NUMA layouts get one
 * unit group per node, so chunks span several congruent vm areas.
 */
import { bootTestKernel, describePercpuConformance } from "@pcpu/percpu/testing";
import { percpuVm } from "../src/index.js";

describePercpuConformance({
  name: "percpu-vm",
  boot: ({ cpus, nodes, seed }) =>
    bootTestKernel({
      population: percpuVm,
      cpus,
      nodes,
      numaGroups: nodes > 1,
      seed,
    }),
  /* Every populated page of the unit, in every possible CPU's unit. */
  chunkPages: (pcpu, chunk) => chunk.nrPopulated * pcpu.nrPossibleCpus,
});
