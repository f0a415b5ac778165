/*
 * The core's conformance suite on arm64 with 16 KiB and 64 KiB pages and
 * both population strategies: chunk sizes, page counts, populate and
 * depopulate in big pages, stats, km's page blocks.
 */
import { bootArch } from "@pcpu/arch-generic";
import type { PcpuChunkView } from "@pcpu/percpu";
import { describePercpuConformance } from "@pcpu/percpu/testing";
import { createPercpuKm, type PcpuKmBlock } from "@pcpu/percpu-km";
import { describe, expect, it } from "vitest";
import { Arm64Arch } from "../src/index.js";
import { vm } from "./helpers/backends.js";

const layouts = [
  { cpus: 1, nodes: 1 },
  { cpus: 4, nodes: 1 },
  { cpus: 8, nodes: 2 },
];

for (const pageSize of [16384, 65536]) {
  const arm64 = new Arm64Arch({ pageSize });
  const nodesOf = (cpus: number, n: number) =>
    n === 1
      ? undefined
      : Array.from({ length: n }, (_, i) => Array.from({ length: cpus / n }, (_, j) => i * (cpus / n) + j));
  describePercpuConformance(
    {
      name: `arm64 ${pageSize / 1024}K, percpu-vm`,
      boot: ({ cpus, nodes, seed }) =>
        bootArch(
          arm64,
          { cpus, seed, nodes: nodesOf(cpus, nodes) },
          { population: vm(), options: { debugChecks: true } },
        ),
      chunkPages: (pcpu, chunk) => chunk.nrPopulated * pcpu.nrPossibleCpus,
      layouts,
    },
    { describe, it, expect },
  );
  describePercpuConformance(
    {
      name: `arm64 ${pageSize / 1024}K, percpu-km`,
      boot: ({ cpus, seed }) =>
        bootArch(
          arm64,
          { cpus, seed },
          { population: createPercpuKm({ fixPopulatedOvercount: true }), options: { debugChecks: true } },
        ),
      chunkPages: (_: unknown, chunk: PcpuChunkView) => 2 ** (chunk.data as PcpuKmBlock).order,
      layouts: layouts.filter((l) => l.nodes === 1),
      faultSites: ["page_alloc", "kmalloc"],
    },
    { describe, it, expect },
  );
}
