/*
 * The core's conformance suite against the km backend. km needs a single
 * unit group, so NUMA layouts boot without per-node grouping (as a no-MMU
 * SMP kernel would). Both the kernel's populated over-count with several
 * units (see the README; the checker knows it through accountedPages and
 * accountedLeak) and the fixPopulatedOvercount option run on every layout.
 */
import type { PcpuChunkView } from "@pcpu/percpu";
import { bootTestKernel, describePercpuConformance } from "@pcpu/percpu/testing";
import { describe, expect, it } from "vitest";
import { createPercpuKm, type PcpuKmBlock, percpuKm } from "../src/index.js";

/* The whole 2^order block, wasted tail included. */
const blockPages = (_: unknown, chunk: PcpuChunkView) => 2 ** (chunk.data as PcpuKmBlock).order;

describePercpuConformance(
  {
    name: "percpu-km (kernel counts)",
    boot: ({ cpus, nodes, seed }) => bootTestKernel({ population: percpuKm, cpus, nodes, seed }),
    chunkPages: blockPages,
    faultSites: ["page_alloc", "kmalloc"],
  },
  { describe, it, expect },
);

describePercpuConformance(
  {
    name: "percpu-km (fixPopulatedOvercount)",
    boot: ({ cpus, nodes, seed }) =>
      bootTestKernel({ population: createPercpuKm({ fixPopulatedOvercount: true }), cpus, nodes, seed }),
    chunkPages: blockPages,
    faultSites: ["page_alloc", "kmalloc"],
  },
  { describe, it, expect },
);

/*
 * A cpu_possible_mask with holes (n CPUs as two runs with 4 impossible ids
 * between them): the one group holds units of possible CPUs only, so the
 * chunk's block is sized by num_possible_cpus(), not nr_cpu_ids.
 */
function sparsePossible(n: number): number[] {
  const half = Math.ceil(n / 2);
  return Array.from({ length: n }, (_, i) => (i < half ? i : i + 4));
}
describePercpuConformance(
  {
    name: "percpu-km (possible mask with holes)",
    boot: ({ cpus, nodes, seed }) =>
      bootTestKernel({ population: percpuKm, possibleCpus: sparsePossible(cpus), nodes, seed }),
    chunkPages: blockPages,
    faultSites: ["page_alloc", "kmalloc"],
  },
  { describe, it, expect },
);
