/*
 * The core's conformance suite on the asm-generic arch, with both
 * population strategies (km with its populated over-count fixed, as the
 * percpu-km package runs it, for multi-unit layouts).
 */
import type { PcpuChunkView } from "@pcpu/percpu";
import { describePercpuConformance } from "@pcpu/percpu/testing";
import { createPercpuKm, type PcpuKmBlock } from "@pcpu/percpu-km";
import { describe, expect, it } from "vitest";
import { bootArch, GenericArch } from "../src/index.js";
import { vm } from "./helpers/backends.js";

const generic = new GenericArch();

function nodesOf(cpus: number, nodes: number): number[][] {
  return Array.from({ length: nodes }, (_, n) =>
    Array.from({ length: cpus }, (_, c) => c).filter(
      (c) => Math.min(nodes - 1, Math.floor((c * nodes) / cpus)) === n,
    ),
  );
}

describePercpuConformance(
  {
    name: "arch-generic, percpu-vm",
    boot: ({ cpus, nodes, seed }) =>
      bootArch(
        generic,
        { cpus, nodes: nodesOf(cpus, nodes), seed, staticSize: 0x24000 },
        { population: vm(), options: { debugChecks: true } },
      ),
    chunkPages: (pcpu, chunk) => chunk.nrPopulated * pcpu.nrPossibleCpus,
  },
  { describe, it, expect },
);

describePercpuConformance(
  {
    name: "arch-generic, percpu-km",
    boot: ({ cpus, nodes, seed }) =>
      bootArch(
        generic,
        { cpus, nodes: nodesOf(cpus, nodes), seed, staticSize: 0x24000 },
        { population: createPercpuKm({ fixPopulatedOvercount: true }), options: { debugChecks: true } },
      ),
    chunkPages: (_: unknown, chunk: PcpuChunkView) => 2 ** (chunk.data as PcpuKmBlock).order,
    faultSites: ["page_alloc", "kmalloc"],
  },
  { describe, it, expect },
);
