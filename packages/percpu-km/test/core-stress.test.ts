// The core's seeded stress test (per-CPU patterns, invariant checker on) on percpu-km with the kernel's counts.
import type { PcpuChunkView } from "@pcpu/percpu";
import { bootTestKernel, describePercpuStress } from "@pcpu/percpu/testing";
import { describe, expect, it } from "vitest";
import { type PcpuKmBlock, percpuKm } from "../src/index.js";

describe("pcpu_alloc / free_percpu stress (percpu-km)", () => {
  describePercpuStress(
    {
      name: "percpu-km",
      boot: (o) => bootTestKernel({ population: percpuKm, ...o }),
      chunkPages: (_, c: PcpuChunkView) => 2 ** (c.data as PcpuKmBlock).order,
    },
    { describe, it, expect },
    { ops: 20_000, cpus: 4 },
  );
});
