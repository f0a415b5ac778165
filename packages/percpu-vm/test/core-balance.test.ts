// The core's balance-work scenarios (numbers for a lazily populating backend) run on percpu-vm.
import { bootTestKernel, describePercpuBalance } from "@pcpu/percpu/testing";
import { createPercpuVm } from "@pcpu/percpu-vm";
import { describe, expect, it } from "vitest";

describePercpuBalance(
  {
    name: "vm",
    boot: (o) => bootTestKernel({ population: createPercpuVm(), ...o }),
    chunkPages: (pcpu, c) => c.nrPopulated * pcpu.nrPossibleCpus,
  },
  { describe, it, expect },
);
