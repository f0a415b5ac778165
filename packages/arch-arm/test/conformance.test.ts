/*
 * The core's conformance suite on arm, with both population strategies
 * (one node: arm has no NUMA).
 */
import { bootArch } from "@pcpu/arch-generic";
import type { PcpuChunkView } from "@pcpu/percpu";
import { describePercpuConformance } from "@pcpu/percpu/testing";
import { createPercpuKm, type PcpuKmBlock } from "@pcpu/percpu-km";
import { describe, expect, it } from "vitest";
import { ArmArch } from "../src/index.js";
import { vm } from "./helpers/backends.js";

const arm = new ArmArch();
const layouts = [
  { cpus: 1, nodes: 1 },
  { cpus: 4, nodes: 1 },
  { cpus: 8, nodes: 1 },
];

describePercpuConformance(
  {
    name: "arm, percpu-vm",
    boot: ({ cpus, seed }) =>
      bootArch(arm, { cpus, seed }, { population: vm(), options: { debugChecks: true } }),
    chunkPages: (pcpu, chunk) => chunk.nrPopulated * pcpu.nrPossibleCpus,
    layouts,
  },
  { describe, it, expect },
);
describePercpuConformance(
  {
    name: "arm, percpu-km",
    boot: ({ cpus, seed }) =>
      bootArch(
        arm,
        { cpus, seed },
        { population: createPercpuKm({ fixPopulatedOvercount: true }), options: { debugChecks: true } },
      ),
    chunkPages: (_: unknown, chunk: PcpuChunkView) => 2 ** (chunk.data as PcpuKmBlock).order,
    layouts,
    faultSites: ["page_alloc", "kmalloc"],
  },
  { describe, it, expect },
);
