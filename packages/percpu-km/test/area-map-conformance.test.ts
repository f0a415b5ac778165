/*
 * The conformance suite with the area-map allocator on percpu-km (issue 8:
 * both allocators pass the same suite).
 */
import { createAreaMapAllocator, type PcpuChunkView } from "@pcpu/percpu";
import { bootTestKernel, describePercpuConformance } from "@pcpu/percpu/testing";
import { describe, expect, it } from "vitest";
import { type PcpuKmBlock, percpuKm } from "../src/index.js";

describePercpuConformance(
  {
    name: "percpu-km with the area map",
    boot: (o) => bootTestKernel({ population: percpuKm, area: createAreaMapAllocator(), ...o }),
    chunkPages: (_: unknown, c: PcpuChunkView) => 2 ** (c.data as PcpuKmBlock).order,
    faultSites: ["page_alloc", "kmalloc"],
  },
  { describe, it, expect },
);
