// The core's seeded stress test (10^5 operations, per-CPU patterns, invariant checker on) on percpu-vm.
import { bootTestKernel, describePercpuStress } from "@pcpu/percpu/testing";
import { describe, expect, it } from "vitest";
import { createPercpuVm } from "../src/index.js";

describe("pcpu_alloc / free_percpu stress (percpu-vm)", () => {
  describePercpuStress(
    {
      name: "percpu-vm",
      boot: (o) => bootTestKernel({ population: createPercpuVm(), ...o }),
      chunkPages: (pcpu, c) => c.nrPopulated * pcpu.nrPossibleCpus,
    },
    { describe, it, expect },
    { ops: 100_000, cpus: 4 },
  );
});
