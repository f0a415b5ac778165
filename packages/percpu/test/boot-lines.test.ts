import { describe, expect, it } from "vitest";
import { pcpuBuildAllocInfo } from "../src/alloc-info.js";
import type { PcpuAllocInfo, PcpuEra } from "../src/api.js";
import {
  pcpuCpuPossibleMaskLine,
  pcpuEmbedLine,
  pcpuEraPrintsBase,
  pcpuFailedToAllocatePageLine,
  pcpuFailedToInitializeLine,
  pcpuLogPrefix,
  pcpuMaxDistanceLine,
  pcpuPageLine,
  pcpuPageSizeString,
  pcpuSetupPercpuLine,
  pcpuUnknownAllocatorLine,
} from "../src/boot-lines.js";
import { PCPU_ERAS, pcpuConstants } from "../src/constants.js";
import { bitmapFromBits } from "../src/cpumask.js";
import { BOOT_LOGS } from "./data/boot-logs.js";
import { recordAllocInfo, recordConstants, stripLine } from "./data/golden.js";

const k4k = (era: PcpuEra = "v6") => pcpuConstants({ pageShift: 12, bits: 64, nrCpus: 64, era });

/** The spec's worked example: 4 CPUs, s200000 r8192 d28672, 2 MiB atom -> d29376 u524288, 58 pages. */
function workedExample(): PcpuAllocInfo {
  return pcpuBuildAllocInfo(k4k(), {
    staticSize: 200000,
    reservedSize: 0x2000,
    dynSize: 0x7000,
    atomSize: 0x200000,
    nrPossibleCpus: 4,
    cpuDistanceFn: null,
  })!;
}

/** What pcpu_page_first_chunk() builds: dyn 0 (2.6.3x: -1), atom PAGE_SIZE, no distance function. */
function pageInfo(era: PcpuEra, pageShift = 12): PcpuAllocInfo {
  const k = pcpuConstants({ pageShift, bits: 64, nrCpus: 64, era });
  return pcpuBuildAllocInfo(k, {
    staticSize: 200000,
    reservedSize: 0x2000,
    dynSize: era === "v2.6.32" || era === "v2.6.30" ? -1 : 0,
    atomSize: k.PAGE_SIZE,
    nrPossibleCpus: 4,
    cpuDistanceFn: null,
    era,
  })!;
}

describe("pcpuLogPrefix (pr_fmt of mm/percpu.c)", () => {
  it("is PERCPU: until the 3.x profiles and percpu: from v4.14", () => {
    expect(PCPU_ERAS.map(pcpuLogPrefix)).toEqual([
      "PERCPU: ",
      "PERCPU: ",
      "PERCPU: ",
      "percpu: ",
      "percpu: ",
      "percpu: ",
    ]);
    expect(PCPU_ERAS.map(pcpuEraPrintsBase)).toEqual([true, true, true, true, false, false]);
  });
});

describe("pcpuEmbedLine (pcpu_embed_first_chunk pr_info)", () => {
  it("prints pages/cpu as PFN_DOWN(static + reserved + dyn) and the sizes in decimal", () => {
    const ai = workedExample();
    expect(pcpuEmbedLine(k4k(), ai, "v6")).toBe("percpu: Embedded 58 pages/cpu s200000 r8192 d29376 u524288");
    expect(pcpuEmbedLine(k4k(), ai, "v5.14")).toBe(
      "percpu: Embedded 58 pages/cpu s200000 r8192 d29376 u524288",
    );
  });

  it("adds the @%p text the caller passes in the older formats", () => {
    const ai = workedExample();
    expect(pcpuEmbedLine(k4k(), ai, "v4.14", "(____ptrval____)")).toBe(
      "percpu: Embedded 58 pages/cpu @(____ptrval____) s200000 r8192 d29376 u524288",
    );
    for (const era of ["v3.18", "v2.6.32", "v2.6.30"] as const) {
      expect(pcpuEmbedLine(k4k(), ai, era, "ffff88003fc00000")).toBe(
        "PERCPU: Embedded 58 pages/cpu @ffff88003fc00000 s200000 r8192 d29376 u524288",
      );
    }
    /* eras without the address ignore it */
    expect(pcpuEmbedLine(k4k(), ai, "v6", "ffff88003fc00000")).toBe(
      "percpu: Embedded 58 pages/cpu s200000 r8192 d29376 u524288",
    );
  });

  it("insists on the address text where the format has one", () => {
    expect(() => pcpuEmbedLine(k4k(), workedExample(), "v4.14")).toThrow(/prints the base address/);
    const bad = workedExample();
    bad.dynSize = -300000;
    expect(() => pcpuEmbedLine(k4k(), bad, "v6")).toThrow(RangeError);
  });
});

describe("pcpuPageLine (pcpu_page_first_chunk pr_info)", () => {
  it("prints unit pages, the page-size string and s/r/d per era", () => {
    /* v6: PFN_ALIGN(200000 + 8192 + 20480) = 56 pages, dyn 21184 */
    expect(pcpuPageLine(k4k(), pageInfo("v6"), "v6")).toBe("percpu: 56 4K pages/cpu s200000 r8192 d21184");
    /* v4.14: early size 12K -> 54 pages, dyn 12992 */
    expect(pcpuPageLine(k4k("v4.14"), pageInfo("v4.14"), "v4.14", "ffffc90000000000")).toBe(
      "percpu: 54 4K pages/cpu @ffffc90000000000 s200000 r8192 d12992",
    );
    expect(pcpuPageLine(k4k("v3.18"), pageInfo("v3.18"), "v3.18", "ffffc90000000000")).toBe(
      "PERCPU: 54 4K pages/cpu @ffffc90000000000 s200000 r8192 d12992",
    );
    /* 2.6.32: dyn -1 is just the page rounding: 51 pages, dyn 704 */
    expect(pcpuPageLine(k4k("v2.6.32"), pageInfo("v2.6.32"), "v2.6.32", "ffffc90000000000")).toBe(
      "PERCPU: 51 4K pages/cpu @ffffc90000000000 s200000 r8192 d704",
    );
    expect(pcpuPageLine(k4k("v2.6.30"), pageInfo("v2.6.30"), "v2.6.30", "ffffc90000000000")).toBe(
      "PERCPU: 51 4k pages/cpu @ffffc90000000000 s200000 r8192",
    );
  });

  it("names 16K and 64K pages", () => {
    const k64k = pcpuConstants({ pageShift: 16, bits: 64, nrCpus: 64 });
    /* PFN_ALIGN(228672, 64K) = 0x40000: 4 pages, dyn 53952 */
    expect(pcpuPageLine(k64k, pageInfo("v6", 16), "v6")).toBe("percpu: 4 64K pages/cpu s200000 r8192 d53952");
    expect(pcpuPageSizeString(pcpuConstants({ pageShift: 14, bits: 64, nrCpus: 4 }))).toBe("16K");
    expect(pcpuPageSizeString(k4k())).toBe("4K");
  });

  it("insists on the address text where the format has one", () => {
    expect(() => pcpuPageLine(k4k("v3.18"), pageInfo("v3.18"), "v3.18")).toThrow(TypeError);
  });
});

describe("pcpuSetupPercpuLine (x86 setup_per_cpu_areas pr_info)", () => {
  it("prints the four counts, with the setup_percpu: prefix after 2.6.3x", () => {
    const c = { nrCpus: 8192, nrCpumaskBits: 8, nrCpuIds: 8, nrNodeIds: 1 };
    expect(pcpuSetupPercpuLine("v6", c)).toBe(
      "setup_percpu: NR_CPUS:8192 nr_cpumask_bits:8 nr_cpu_ids:8 nr_node_ids:1",
    );
    expect(pcpuSetupPercpuLine("v2.6.32", { nrCpus: 64, nrCpumaskBits: 64, nrCpuIds: 2, nrNodeIds: 1 })).toBe(
      "NR_CPUS:64 nr_cpumask_bits:64 nr_cpu_ids:2 nr_node_ids:1",
    );
    expect(() => pcpuSetupPercpuLine("v6", { ...c, nrNodeIds: -1 })).toThrow(/nrNodeIds/);
  });
});

describe("pcpuMaxDistanceLine (pcpu_embed_first_chunk pr_warn)", () => {
  it("prints both sizes in lowercase hex, bigint included (5-level paging exceeds 2^53)", () => {
    expect(pcpuMaxDistanceLine("v6", 0x1a0000200000, 0x1fffffffffff)).toBe(
      "percpu: max_distance=0x1a0000200000 too large for vmalloc space 0x1fffffffffff",
    );
    expect(pcpuMaxDistanceLine("v6", (10000n << 40n) + 0x200000n, 12800n << 40n)).toBe(
      "percpu: max_distance=0x27100000200000 too large for vmalloc space 0x32000000000000",
    );
    expect(pcpuMaxDistanceLine("v2.6.32", 0x5c00000, 0x7800000)).toBe(
      "PERCPU: max_distance=0x5c00000 too large for vmalloc space 0x7800000",
    );
  });

  it("rejects values an unsigned long cannot hold", () => {
    expect(() => pcpuMaxDistanceLine("v6", -1, 1)).toThrow(RangeError);
    expect(() => pcpuMaxDistanceLine("v6", 1, 1n << 64n)).toThrow(RangeError);
    expect(() => pcpuMaxDistanceLine("v6", -1n, 1)).toThrow(RangeError);
  });
});

describe("pcpuFailedToInitializeLine and pcpuCpuPossibleMaskLine (PCPU_SETUP_BUG_ON)", () => {
  it("prints the condition text and the possible mask in %*pb form", () => {
    expect(pcpuFailedToInitializeLine("v6", "ai->unit_size < PCPU_MIN_UNIT_SIZE")).toBe(
      "percpu: failed to initialize, ai->unit_size < PCPU_MIN_UNIT_SIZE",
    );
    expect(pcpuFailedToInitializeLine("v3.18", "!base_addr")).toBe(
      "PERCPU: failed to initialize, !base_addr",
    );
    expect(pcpuCpuPossibleMaskLine("v6", bitmapFromBits([0, 1, 2, 3, 4, 5, 6, 7], 8), 8)).toBe(
      "percpu: cpu_possible_mask=ff",
    );
    const forty = bitmapFromBits(
      Array.from({ length: 40 }, (_, i) => i),
      40,
    );
    expect(pcpuCpuPossibleMaskLine("v6", forty, 40)).toBe("percpu: cpu_possible_mask=ff,ffffffff");
    expect(pcpuCpuPossibleMaskLine("v2.6.32", bitmapFromBits([0, 1, 2, 3], 64), 64)).toBe(
      "PERCPU: cpu_possible_mask=00000000,0000000f",
    );
    expect(() => pcpuFailedToInitializeLine("v6", "")).toThrow(TypeError);
  });
});

describe("pcpuUnknownAllocatorLine and pcpuFailedToAllocatePageLine", () => {
  it("prints the percpu_alloc= and page-allocation warnings", () => {
    expect(pcpuUnknownAllocatorLine("v6", "lpage")).toBe("percpu: unknown allocator lpage specified");
    expect(pcpuUnknownAllocatorLine("v2.6.32", "4k")).toBe("PERCPU: unknown allocator 4k specified");
    expect(pcpuFailedToAllocatePageLine(k4k(), "v6", 3)).toBe("percpu: failed to allocate 4K page for cpu3");
    expect(pcpuFailedToAllocatePageLine(k4k(), "v2.6.30", 0)).toBe(
      "PERCPU: failed to allocate 4k page for cpu0",
    );
    expect(() => pcpuFailedToAllocatePageLine(k4k(), "v6", -1)).toThrow(RangeError);
  });
});

describe("pcpuEmbedLine and pcpuSetupPercpuLine against real boot logs (golden)", () => {
  const embedded = BOOT_LOGS.filter((r) => r.raw.some((l) => /(percpu|PERCPU): Embedded/.test(stripLine(l))));

  it("has Embedded lines from many machines", () => {
    expect(embedded.length).toBeGreaterThanOrEqual(15);
  });

  for (const r of embedded) {
    it(`${r.id} (${r.arch}, ${r.inputs.nrPossibleCpus} CPU${r.inputs.nrPossibleCpus > 1 ? "s" : ""}): ${r.source}`, () => {
      const pasted = r.raw.map(stripLine).find((l) => /(percpu|PERCPU): Embedded/.test(l))!;
      expect(pcpuEmbedLine(recordConstants(r), recordAllocInfo(r), r.lineEra, r.base)).toBe(pasted);
    });
  }

  const setup = BOOT_LOGS.filter((r) => r.raw.some((l) => stripLine(l).startsWith("setup_percpu:")));
  for (const r of setup) {
    it(`setup_percpu line of ${r.id}`, () => {
      const pasted = r.raw.map(stripLine).find((l) => l.startsWith("setup_percpu:"))!;
      /* nr_cpumask_bits is NR_CPUS or nr_cpu_ids depending on CONFIG_CPUMASK_OFFSTACK: read it from the line */
      const nrCpumaskBits = Number(/nr_cpumask_bits:(\d+)/.exec(pasted)![1]);
      expect([r.inputs.nrCpus, r.inputs.nrPossibleCpus]).toContain(nrCpumaskBits);
      const line = pcpuSetupPercpuLine(r.lineEra, {
        nrCpus: r.inputs.nrCpus!,
        nrCpumaskBits,
        nrCpuIds: r.inputs.nrPossibleCpus,
        nrNodeIds: r.inputs.nodes?.length ?? 1,
      });
      expect(line).toBe(pasted);
    });
  }
});
