import { describe, expect, it } from "vitest";
import type { KernelConfig } from "../src/api.js";
import { ConfigError, defaultNodes, parseNodes, parseSize, resolveConfig } from "../src/config.js";
import { parseConfigText, parseKconfig, toKconfig } from "../src/kconfig.js";
import { ALL_DEFINITIONS } from "../src/registry.js";

const lookup = (name: string) => ALL_DEFINITIONS.arches.find((d) => d.name === name);
const resolve = (c: KernelConfig) => resolveConfig(c, lookup);

/* Untyped on purpose: the strings a file or a command line brings are checked at run time. */
function refused(c: Record<string, unknown> | KernelConfig, setting: string, re: RegExp): void {
  let err: unknown;
  try {
    resolve(c as KernelConfig);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).setting).toBe(setting);
  expect((err as ConfigError).message).toMatch(re);
}

describe("parseSize (memparse-style sizes)", () => {
  it("reads plain, hex and K/M/G sizes", () => {
    expect(parseSize("4096")).toBe(0x1000);
    expect(parseSize("0x8000")).toBe(0x8000);
    expect(parseSize("32K")).toBe(0x8000);
    expect(parseSize("2m")).toBe(0x200000);
    expect(parseSize("1G")).toBe(0x40000000);
    expect(parseSize(0x2000)).toBe(0x2000);
  });
  it("refuses what is not a size", () => {
    for (const v of ["", "12Q", "-4", "0x", "1.5K", "K", -1, 1.5, null]) expect(parseSize(v)).toBeNull();
  });
});

describe("parseNodes (cpulist per NUMA node)", () => {
  it("maps CPUs to nodes with the kernel's cpulist syntax", () => {
    const { nodeCpus, cpuToNode } = parseNodes("0-2,6;3-5,7", 8);
    expect(nodeCpus).toEqual([
      [0, 1, 2, 6],
      [3, 4, 5, 7],
    ]);
    expect(cpuToNode).toEqual([0, 0, 0, 1, 1, 1, 0, 1]);
    expect(parseNodes("0-7:2/4;2-3,6-7", 8).nodeCpus).toEqual([
      [0, 1, 4, 5],
      [2, 3, 6, 7],
    ]);
  });
  it("defaults to halves on NUMA arches and one node otherwise", () => {
    expect(defaultNodes(8, true)).toBe("0-3;4-7");
    expect(defaultNodes(5, true)).toBe("0-2;3-4");
    expect(defaultNodes(8, false)).toBe("0-7");
    expect(defaultNodes(1, true)).toBe("0");
  });
});

describe("resolveConfig (the checks made before boot)", () => {
  it("fills the default kernel: x86_64, 8 CPUs in 2 nodes, vm, auto, bitmap, stats", () => {
    const c = resolve({});
    expect(c).toMatchObject({
      arch: "x86_64",
      cpus: 8,
      nodes: "0-3;4-7",
      population: "vm",
      percpuAlloc: "auto",
      allocator: "bitmap",
      stats: true,
      era: "v6",
      nrCpus: 64,
    });
    expect(c.staticSize).toBe(0x24000);
  });
  it("accepts strings for numbers and switches", () => {
    const c = resolve({
      arch: "arm",
      cpus: "4",
      stats: "off",
      reservedSize: "0x1000",
      dynSize: "24K",
      memPerNode: "512M",
    });
    expect(c).toMatchObject({
      cpus: 4,
      stats: false,
      reservedSize: 0x1000,
      dynSize: 0x6000,
      memPerNode: 0x20000000,
      nodes: "0-3",
    });
  });
  it("refuses every impossible kernel with the setting named", () => {
    refused({ arch: "mips" }, "arch", /not one of x86_64, i386, arm, arm64, sparc32, s390, generic/);
    refused({ arch: "arm", cpus: 33 }, "cpus", /exceed the arm NR_CPUS limit of 32/);
    refused({ arch: "i386", cpus: 9 }, "cpus", /NR_CPUS limit of 8/);
    refused({ cpus: 16, nrCpus: 8 }, "cpus", /exceed CONFIG_NR_CPUS=8/);
    refused({ cpus: "eight" }, "cpus", /not an integer/);
    refused({ staticSize: "lots" }, "staticSize", /not a size/);
    refused({ dynSize: "12Q" }, "dynSize", /not a size/);
    refused({ nodes: "0-3;5-7" }, "nodes", /CPU 4 is in no node/);
    refused({ nodes: "0-4;4-7" }, "nodes", /CPU 4 is in node 0 and node 1/);
    refused({ nodes: "0-8" }, "nodes", /CPU 8 but only CPUs 0-7/);
    refused({ nodes: "0-x" }, "nodes", /node 0: cpulist/);
    refused({ arch: "arm", nodes: "0-3;4-7" }, "nodes", /arm has no CONFIG_NUMA/);
    refused({ population: "km", nodes: "0-3;4-7" }, "population", /km cannot handle more than one group/);
    refused({ nodes: "0-3;" }, "nodes", /node 1 of "0-3;" is empty/);
    refused({ nodes: "0-3;;4-7" }, "nodes", /node 1 of "0-3;;4-7" is empty/);
    refused({ nodes: "0-3 4-7" }, "nodes", /separate nodes with ";"/);
    refused({ nodes: "0-3;4 - 7" }, "nodes", /node 1: "4 - 7" has spaces/);
    refused({ cpus: -4 }, "cpus", /-4 must be positive/);
    refused({ cpus: "-4" }, "cpus", /-4 must be positive/);
    refused({ dynSize: "-8K" }, "dynSize", /-8K must be positive/);
    refused({ numa: false, nodes: "0-3;4-7" }, "nodes", /CONFIG_NUMA is off: give one node/);
    refused({ arch: "arm", numa: true }, "numa", /arm has no CONFIG_NUMA/);
    refused({ fixFreeHintQuirk: true, allocator: "area-map" }, "fixFreeHintQuirk", /bitmap allocator/);
    refused({ fixPopulatedOvercount: true }, "fixPopulatedOvercount", /population vm/);
    refused(
      { population: "km", nodes: "0-7", percpuAlloc: "page" },
      "population",
      /incompatible with paged first chunk/,
    );
    refused({ arch: "arm", percpuAlloc: "page" }, "percpuAlloc", /arm does not build the page first chunk/);
    refused({ percpuAlloc: "lpage" }, "percpuAlloc", /not one of auto, embed, page/);
    refused({ allocator: "slab" }, "allocator", /not one of bitmap, area-map/);
    refused({ reservedSize: 6 }, "reservedSize", /PCPU_MIN_ALLOC_SIZE/);
    refused({ atomSize: 0x3000 }, "atomSize", /power of two/);
    refused({ memPerNode: "1M" }, "memPerNode", /below the 16M minimum/);
    refused({ era: "v7" }, "era", /not one of/);
    refused({ stats: "maybe" }, "stats", /not on\/off/);
    refused({ staticSize: 0 }, "staticSize", /above 0/);
    refused({ bogus: 1 } as KernelConfig, "bogus", /unknown setting/);
  });
  it("accepts km with several nodes when the first chunk has one group (page)", () => {
    expect(resolve({ arch: "i386", population: "km" }).population).toBe("km");
    expect(resolve({ population: "km", nodes: "0-7" }).nodeCpus).toHaveLength(1);
  });
});

describe("parseKconfig (.config lines)", () => {
  const text = [
    "# a comment",
    "CONFIG_ARM=y",
    "CONFIG_NR_CPUS=16",
    "CONFIG_PCPU_CPUS=4",
    "CONFIG_NEED_PER_CPU_KM=y",
    "# CONFIG_PERCPU_STATS is not set",
    'CONFIG_CMDLINE="console=ttyS0 percpu_alloc=embed"',
    "CONFIG_PCPU_DYN_SIZE=0x6000",
    'CONFIG_PCPU_ALLOCATOR="bitmap"',
    "CONFIG_SMP=y",
    "",
  ].join("\n");
  it("maps the symbols to config keys", () => {
    expect(parseKconfig(text)).toEqual({
      arch: "arm",
      nrCpus: "16",
      cpus: "4",
      population: "km",
      stats: false,
      percpuAlloc: "embed",
      dynSize: "0x6000",
      allocator: "bitmap",
    });
    expect(resolve(parseKconfig(text))).toMatchObject({
      arch: "arm",
      nrCpus: 16,
      cpus: 4,
      population: "km",
      dynSize: 0x6000,
    });
  });
  it("round-trips through toKconfig", () => {
    const c: KernelConfig = {
      arch: "x86_64",
      cpus: 8,
      nodes: "0-3;4-7",
      population: "vm",
      stats: true,
      percpuAlloc: "page",
      reservedSize: "8K",
    };
    expect(parseKconfig(toKconfig(c))).toEqual({ ...c, cpus: "8", numa: true });
    expect(resolve(parseKconfig(toKconfig(c)))).toEqual(resolve(c));
  });
  it("refuses unknown symbols, bad lines and conflicting arches", () => {
    expect(parseKconfig("CONFIG_FOO=y")).toEqual({});
    expect(() => parseKconfig("CONFIG_PCPU_CPU=4")).toThrow(/CONFIG_PCPU_CPU: line 1: unknown model symbol/);
    expect(() => parseKconfig("NR_CPUS=4")).toThrow(/line 1: not a CONFIG_/);
    expect(() => parseKconfig("CONFIG_ARM=y\nCONFIG_S390=y")).toThrow(/several arch symbols/);
    expect(() => parseKconfig("CONFIG_PERCPU_STATS=m")).toThrow(/must be y or not set/);
    expect(() => parseKconfig('# CONFIG_NUMA is not set\nCONFIG_PCPU_NODES="0-3;4-7"')).toThrow(
      /CONFIG_NUMA is not set/,
    );
  });
  it("parseConfigText reads JSON or .config", () => {
    expect(parseConfigText('{ "arch": "s390", "cpus": 4 }')).toEqual({ arch: "s390", cpus: 4 });
    expect(parseConfigText("CONFIG_S390=y\n")).toEqual({ arch: "s390" });
    expect(() => parseConfigText("{ arch: s390 }")).toThrow(ConfigError);
    expect(() => parseConfigText("[1]")).toThrow(/not a CONFIG_/);
  });
});
