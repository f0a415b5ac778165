/*
 * The core's conformance suite on x86_64 and i386, with both population
 * strategies. percpu-km needs a single group, so its layouts have one node
 * (and it runs with the populated over-count fixed, as percpu-km's own
 * conformance run does for several units).
 *
 * x86_64 units are 256 KiB .. 2 MiB (2 MiB atoms); the suite grows to three
 * chunks before its churn whatever the unit size. i386 has no reserved
 * chunk (PERCPU_FIRST_CHUNK_RESERVE is 0: the suite checks that reserved
 * requests come from the dynamic area); its v6.14 NUMA layout boots the
 * page first chunk (auto on NUMA is page on 32-bit), which percpu-km cannot
 * serve.
 */
import { bootArch } from "@pcpu/arch-generic";
import type { PcpuChunkView } from "@pcpu/percpu";
import { describePercpuConformance } from "@pcpu/percpu/testing";
import { createPercpuKm, type PcpuKmBlock } from "@pcpu/percpu-km";
import { describe, expect, it } from "vitest";
import { I386Arch, X86_64Arch } from "../src/index.js";
import { vm } from "./helpers/backends.js";

function nodesOf(cpus: number, nodes: number): number[][] {
  return Array.from({ length: nodes }, (_, n) =>
    Array.from({ length: cpus }, (_, c) => c).filter(
      (c) => Math.min(nodes - 1, Math.floor((c * nodes) / cpus)) === n,
    ),
  );
}

const vmPages = (pcpu: { nrPossibleCpus: number }, chunk: PcpuChunkView) =>
  chunk.nrPopulated * pcpu.nrPossibleCpus;
const kmPages = (_: unknown, chunk: PcpuChunkView) => 2 ** (chunk.data as PcpuKmBlock).order;
const km = () => createPercpuKm({ fixPopulatedOvercount: true });

const x86_64 = new X86_64Arch();
describePercpuConformance(
  {
    name: "x86_64, percpu-vm",
    boot: ({ cpus, nodes, seed }) =>
      bootArch(
        x86_64,
        { cpus, nodes: nodesOf(cpus, nodes), seed, memPerNode: 2 ** 30 },
        { population: vm(), options: { debugChecks: true } },
      ),
    chunkPages: vmPages,
    layouts: [
      { cpus: 1, nodes: 1 },
      { cpus: 4, nodes: 1 },
      { cpus: 8, nodes: 1 },
      { cpus: 8, nodes: 2 },
      { cpus: 16, nodes: 1 },
      { cpus: 16, nodes: 2 },
    ],
  },
  { describe, it, expect },
);
describePercpuConformance(
  {
    name: "x86_64, percpu-km",
    boot: ({ cpus, seed }) =>
      bootArch(
        x86_64,
        { cpus, seed, memPerNode: 2 ** 30 },
        { population: km(), options: { debugChecks: true } },
      ),
    chunkPages: kmPages,
    layouts: [
      { cpus: 1, nodes: 1 },
      { cpus: 4, nodes: 1 },
      { cpus: 8, nodes: 1 },
      { cpus: 16, nodes: 1 },
    ],
    faultSites: ["page_alloc", "kmalloc"],
  },
  { describe, it, expect },
);

const i386 = new I386Arch();
describePercpuConformance(
  {
    name: "i386, percpu-vm",
    /* Two nodes only exist before 6.15 (v6.14: NUMA with PAE); auto then builds the page first chunk. */
    boot: ({ cpus, nodes, seed }) =>
      bootArch(
        i386,
        { cpus, nodes: nodesOf(cpus, nodes), seed, ...(nodes > 1 ? { era: "v6.14" } : {}) },
        { population: vm(), options: { debugChecks: true } },
      ),
    chunkPages: vmPages,
    layouts: [
      { cpus: 1, nodes: 1 },
      { cpus: 4, nodes: 1 },
      { cpus: 8, nodes: 1 },
      { cpus: 8, nodes: 2 },
    ],
  },
  { describe, it, expect },
);
describePercpuConformance(
  {
    name: "i386, percpu-km",
    boot: ({ cpus, seed }) =>
      bootArch(i386, { cpus, seed }, { population: km(), options: { debugChecks: true } }),
    chunkPages: kmPages,
    layouts: [
      { cpus: 1, nodes: 1 },
      { cpus: 4, nodes: 1 },
      { cpus: 8, nodes: 1 },
    ],
    faultSites: ["page_alloc", "kmalloc"],
  },
  { describe, it, expect },
);
