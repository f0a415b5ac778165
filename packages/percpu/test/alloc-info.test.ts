import { LOGLEVEL_DEBUG, LOGLEVEL_INFO } from "@pcpu/mm";
import { describe, expect, it } from "vitest";
import {
  pcpuAllocAllocInfo,
  pcpuBuildAllocInfo,
  pcpuDumpAllocInfo,
  pcpuDumpAllocInfoLevel,
  pcpuEraGroupsByLeader,
} from "../src/alloc-info.js";
import type { PcpuAllocInfo, PcpuCpuDistanceFn, PcpuEra } from "../src/api.js";
import { PcpuBug } from "../src/bug.js";
import { pcpuConstants } from "../src/constants.js";
import { BOOT_LOGS } from "./data/boot-logs.js";
import { nodeDistance, recordAllocInfo, recordConstants, sameAsPasted, stripLine } from "./data/golden.js";

const NR_CPUS = 0x2000;
const k64 = (era: PcpuEra = "v6", nrCpus = NR_CPUS) =>
  pcpuConstants({ pageShift: 12, bits: 64, nrCpus, era });

/* static 0x2f000 + reserved 0x2000 + dyn 0x7000 = 0x38000 (56 pages, no rounding): max_upa 8 with a 2 MiB atom */
const S56 = { staticSize: 0x2f000, reservedSize: 0x2000, dynSize: 0x7000 };
const ATOM_2M = 0x200000;
const ATOM_4K = 0x1000;

function build(
  nrPossibleCpus: number,
  atomSize: number,
  nodes: number[][] | null,
  era: PcpuEra = "v6",
  sizes = S56,
): PcpuAllocInfo {
  const ai = pcpuBuildAllocInfo(k64(era), {
    ...sizes,
    atomSize,
    nrPossibleCpus,
    cpuDistanceFn: nodes ? nodeDistance(nodes, nrPossibleCpus) : null,
    era,
  });
  if (ai === null) throw new Error("null alloc info");
  return ai;
}

/** Nodes of `per` consecutive CPUs. */
function blocks(n: number, per: number): number[][] {
  const out: number[][] = [];
  for (let c = 0; c < n; c += per) out.push(Array.from({ length: Math.min(per, n - c) }, (_, i) => c + i));
  return out;
}

const maps = (ai: PcpuAllocInfo) => ai.groups.map((g) => Array.from(g.cpuMap));
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

describe("pcpuAllocAllocInfo (pcpu_alloc_alloc_info)", () => {
  it("fills one shared cpu map with NR_CPUS and points group 0 at all of it", () => {
    const ai = pcpuAllocAllocInfo(3, 5, 0x40);
    expect(ai.nrGroups).toBe(3);
    expect(ai.groups).toHaveLength(3);
    expect(Array.from(ai.groups[0]!.cpuMap)).toEqual([0x40, 0x40, 0x40, 0x40, 0x40]);
    expect(ai.groups[1]!.cpuMap.length).toBe(0);
    expect(ai.groups[1]!.cpuMap.buffer).toBe(ai.groups[0]!.cpuMap.buffer);
    expect(ai.groups[2]!.cpuMap.buffer).toBe(ai.groups[0]!.cpuMap.buffer);
    expect([ai.staticSize, ai.reservedSize, ai.dynSize, ai.unitSize, ai.atomSize, ai.allocSize]).toEqual([
      0, 0, 0, 0, 0, 0,
    ]);
    expect(ai.groups.map((g) => [g.nrUnits, g.baseOffset])).toEqual([
      [0, 0],
      [0, 0],
      [0, 0],
    ]);
  });

  it("builds the uniprocessor info the !SMP setup uses (one group, one unit)", () => {
    const ai = pcpuAllocAllocInfo(1, 1, 1);
    expect(Array.from(ai.groups[0]!.cpuMap)).toEqual([1]);
  });

  it("rejects impossible sizes", () => {
    expect(() => pcpuAllocAllocInfo(0, 1, 8)).toThrow(RangeError);
    expect(() => pcpuAllocAllocInfo(1, -1, 8)).toThrow(/nrUnits must be an integer >= 0/);
    expect(() => pcpuAllocAllocInfo(1, 1.5, 8)).toThrow(RangeError);
    expect(() => pcpuAllocAllocInfo(1, 1, 0)).toThrow(/NR_CPUS/);
  });
});

describe("pcpuBuildAllocInfo (pcpu_build_alloc_info)", () => {
  it("reproduces the spec's worked example (4 CPUs, s200000 r8192 d28672, 2 MiB atom)", () => {
    const ai = build(4, ATOM_2M, null, "v6", { staticSize: 200000, reservedSize: 0x2000, dynSize: 0x7000 });
    /* size_sum = PFN_ALIGN(236864) = 0x3a000 (58 pages); dyn absorbs 704 bytes */
    expect(ai.dynSize).toBe(29376);
    expect(ai.unitSize).toBe(0x80000);
    expect(ai.allocSize).toBe(ATOM_2M);
    expect(ai.atomSize).toBe(ATOM_2M);
    expect(ai.nrGroups).toBe(1);
    expect(ai.groups[0]!.nrUnits).toBe(4);
    expect(ai.groups[0]!.baseOffset).toBe(0);
    expect(maps(ai)).toEqual([[0, 1, 2, 3]]);
  });

  it("gives 1 CPU the whole 2 MiB atom: every upa above 1 wastes units (1/3 = 0)", () => {
    const ai = build(1, ATOM_2M, null);
    expect(ai.unitSize).toBe(0x200000);
    expect(maps(ai)).toEqual([[0]]);
  });

  it("lets the waste rule refuse the largest upa (2 CPUs: upa 8 and 4 waste units, upa 2 fits)", () => {
    const ai = build(2, ATOM_2M, null);
    expect(ai.unitSize).toBe(0x100000);
    expect(ai.groups[0]!.nrUnits).toBe(2);
    expect(maps(ai)).toEqual([[0, 1]]);
  });

  it("accepts waste equal to num_possible_cpus()/3 (3 CPUs: upa 4 wastes 1 unit)", () => {
    const ai = build(3, ATOM_2M, null);
    expect(ai.unitSize).toBe(0x80000);
    expect(ai.groups[0]!.nrUnits).toBe(4);
    expect(maps(ai)).toEqual([[0, 1, 2, NR_CPUS]]);
  });

  it("stops at the first upa that needs more allocations (8 CPUs, 1 node: upa 8, one allocation)", () => {
    const ai = build(8, ATOM_2M, null);
    expect(ai.unitSize).toBe(0x40000);
    expect(maps(ai)).toEqual([range(0, 8)]);
  });

  it("groups 2 nodes of 4 CPUs with 2 MiB atoms: upa 8 wastes 8 > 2, upa 4 wins", () => {
    const ai = build(8, ATOM_2M, blocks(8, 4));
    expect(ai.nrGroups).toBe(2);
    expect(ai.unitSize).toBe(0x80000);
    expect(maps(ai)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    expect(ai.groups.map((g) => g.baseOffset)).toEqual([0, 0x200000]);
    /* every group views the one shared array, back to back */
    expect(ai.groups[1]!.cpuMap.buffer).toBe(ai.groups[0]!.cpuMap.buffer);
    expect(ai.groups[1]!.cpuMap.byteOffset).toBe(4 * 4);
  });

  it("keeps each group's CPUs in ascending order when nodes interleave", () => {
    const ai = build(8, ATOM_2M, [
      [0, 2, 4, 6],
      [1, 3, 5, 7],
    ]);
    expect(maps(ai)).toEqual([
      [0, 2, 4, 6],
      [1, 3, 5, 7],
    ]);
  });

  it("groups 8 CPUs in 4 nodes: upa 4 wastes 8 > 2, upa 2 gives 4 allocations", () => {
    const ai = build(8, ATOM_2M, blocks(8, 2));
    expect(ai.nrGroups).toBe(4);
    expect(ai.unitSize).toBe(0x100000);
    expect(maps(ai)).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
      [6, 7],
    ]);
    expect(ai.groups.map((g) => g.baseOffset)).toEqual([0, 0x200000, 0x400000, 0x600000]);
  });

  it("falls back to upa 1 for 8 CPUs in 8 nodes (any sharing wastes more than 2 units)", () => {
    const ai = build(8, ATOM_2M, blocks(8, 1));
    expect(ai.nrGroups).toBe(8);
    expect(ai.unitSize).toBe(0x200000);
    expect(ai.groups.map((g) => g.nrUnits)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(ai.groups[7]!.baseOffset).toBe(7 * 0x200000);
  });

  it("lays out 64 CPUs in 4 nodes as 8 full allocations of 256 KiB units", () => {
    const ai = build(64, ATOM_2M, blocks(64, 16));
    expect(ai.unitSize).toBe(0x40000);
    expect(ai.groups.map((g) => g.nrUnits)).toEqual([16, 16, 16, 16]);
    expect(ai.groups.map((g) => g.baseOffset)).toEqual([0, 0x400000, 0x800000, 0xc00000]);
    expect(maps(ai)[3]).toEqual(range(48, 64));
  });

  it("lays out 4096 CPUs in 8 nodes (512 each) with upa 8, and in 1 node with 4 KiB atoms", () => {
    const numa = build(4096, ATOM_2M, blocks(4096, 512));
    expect(numa.nrGroups).toBe(8);
    expect(numa.unitSize).toBe(0x40000);
    expect(numa.groups.map((g) => g.nrUnits)).toEqual(Array(8).fill(512));
    expect(numa.groups[7]!.baseOffset).toBe(7 * 512 * 0x40000);
    expect(Array.from(numa.groups[5]!.cpuMap.subarray(0, 3))).toEqual([2560, 2561, 2562]);

    const flat = build(4096, ATOM_4K, null);
    expect(flat.nrGroups).toBe(1);
    expect(flat.unitSize).toBe(0x38000);
    expect(flat.allocSize).toBe(0x38000);
    expect(flat.groups[0]!.nrUnits).toBe(4096);
    expect(flat.groups[0]!.cpuMap[4095]).toBe(4095);
  });

  it("uses one unit per allocation with 4 KiB atoms, groups back to back per node", () => {
    const ai = build(3, ATOM_4K, [[0, 2], [1]]);
    expect(ai.unitSize).toBe(0x38000);
    expect(ai.allocSize).toBe(0x38000);
    expect(maps(ai)).toEqual([[0, 2], [1]]);
    expect(ai.groups.map((g) => g.baseOffset)).toEqual([0, 2 * 0x38000]);
  });

  it("gives 2 CPUs in 2 nodes a 2 MiB unit each", () => {
    const ai = build(2, ATOM_2M, [[0], [1]]);
    expect(ai.unitSize).toBe(0x200000);
    expect(maps(ai)).toEqual([[0], [1]]);
  });

  it("raises the dynamic size to PERCPU_DYNAMIC_EARLY_SIZE and the unit to PCPU_MIN_UNIT_SIZE", () => {
    const small = { staticSize: 0x1000, reservedSize: 0, dynSize: 0x3000 };
    const v6 = build(2, ATOM_4K, null, "v6", small);
    /* PFN_ALIGN(0x1000 + max(0x3000, 0x5000)) = 0x6000; unit = max(0x6000, 0x8000) */
    expect(v6.dynSize).toBe(0x5000);
    expect(v6.unitSize).toBe(0x8000);
    const v514 = build(2, ATOM_4K, null, "v5.14", small);
    expect(v514.dynSize).toBe(0x3000);
    expect(v514.unitSize).toBe(0x8000);
  });

  it("applies the 2.6.3x rules: no early-size floor, 64 KiB minimum unit, dyn -1 = auto, dyn 0 stays 0", () => {
    const small = build(2, ATOM_4K, null, "v2.6.32", {
      staticSize: 0x3000,
      reservedSize: 0x2000,
      dynSize: 0x3000,
    });
    expect(small.dynSize).toBe(0x3000);
    expect(small.unitSize).toBe(0x10000);
    const auto = build(2, ATOM_4K, null, "v2.6.32", {
      staticSize: 123456,
      reservedSize: 0x2000,
      dynSize: -1,
    });
    /* PFN_ALIGN(131648) = 135168: dyn is just the rounding */
    expect(auto.dynSize).toBe(3520);
    expect(auto.unitSize).toBe(135168);
    const zero = build(2, ATOM_4K, null, "v2.6.32", { staticSize: 123456, reservedSize: 0x2000, dynSize: 0 });
    expect(zero.dynSize).toBe(0);
    expect(zero.unitSize).toBe(135168);
    const v30 = build(1, ATOM_4K, null, "v2.6.30", { staticSize: 0x3000, reservedSize: 0, dynSize: -1 });
    expect(v30.dynSize).toBe(0);
    expect(v30.unitSize).toBe(0x10000);
  });

  it("grows the unit with 64 KiB pages (PFN_ALIGN to the page)", () => {
    const k = pcpuConstants({ pageShift: 16, bits: 64, nrCpus: 64 });
    const ai = pcpuBuildAllocInfo(k, {
      staticSize: 200000,
      reservedSize: 0x2000,
      dynSize: 0,
      atomSize: 0x10000,
      nrPossibleCpus: 4,
      cpuDistanceFn: null,
    })!;
    /* PFN_ALIGN(200000 + 8192 + 20480, 64K) = 0x40000 */
    expect(ai.unitSize).toBe(0x40000);
    expect(ai.dynSize).toBe(0x40000 - 208192);
  });

  describe("grouping algorithms (leader mask since ~5.11, lowest compatible group before)", () => {
    /* 0-1 and 0-2 local, 1-2 remote: not an equivalence relation */
    const nonTransitive: PcpuCpuDistanceFn = (a, b) =>
      (a === 1 && b === 2) || (a === 2 && b === 1) ? 20 : 10;

    it("puts every CPU local to the leader in its group (v6)", () => {
      const ai = pcpuBuildAllocInfo(k64("v6"), {
        ...S56,
        atomSize: ATOM_2M,
        nrPossibleCpus: 3,
        cpuDistanceFn: nonTransitive,
      })!;
      expect(ai.nrGroups).toBe(1);
      expect(ai.unitSize).toBe(0x80000);
      expect(maps(ai)).toEqual([[0, 1, 2, NR_CPUS]]);
    });

    it("needs every earlier group member local before ~5.11 (v4.14): CPU 2 starts group 1", () => {
      const ai = pcpuBuildAllocInfo(k64("v4.14"), {
        ...S56,
        atomSize: ATOM_2M,
        nrPossibleCpus: 3,
        cpuDistanceFn: nonTransitive,
        era: "v4.14",
      })!;
      expect(ai.nrGroups).toBe(2);
      /* groups of 2 and 1: upa 4 wastes 5 > 1, upa 2 wastes 1 */
      expect(ai.unitSize).toBe(0x100000);
      expect(maps(ai)).toEqual([
        [0, 1],
        [2, NR_CPUS],
      ]);
    });

    it("compares with == LOCAL_DISTANCE (new) versus > LOCAL_DISTANCE (old)", () => {
      const closer: PcpuCpuDistanceFn = () => 5;
      const v6 = build(2, ATOM_4K, null, "v6");
      expect(v6.nrGroups).toBe(1);
      const newAlg = pcpuBuildAllocInfo(k64("v6"), {
        ...S56,
        atomSize: ATOM_4K,
        nrPossibleCpus: 2,
        cpuDistanceFn: closer,
      })!;
      expect(maps(newAlg)).toEqual([[0], [1]]);
      const oldAlg = pcpuBuildAllocInfo(k64("v3.18"), {
        ...S56,
        atomSize: ATOM_4K,
        nrPossibleCpus: 2,
        cpuDistanceFn: closer,
        era: "v3.18",
      })!;
      expect(maps(oldAlg)).toEqual([[0, 1]]);
    });

    it("agree on node tables (8 CPUs, 4 interleaved nodes)", () => {
      const nodes = [
        [0, 4],
        [1, 5],
        [2, 6],
        [3, 7],
      ];
      expect(maps(build(8, ATOM_2M, nodes, "v4.14"))).toEqual(maps(build(8, ATOM_2M, nodes, "v6")));
      expect(maps(build(8, ATOM_2M, nodes, "v6"))).toEqual(nodes);
    });

    it("calls the distance function the kernel's way (leader first, reverse only if local)", () => {
      const calls: string[] = [];
      const fn: PcpuCpuDistanceFn = (a, b) => {
        calls.push(`${a}>${b}`);
        return a + b === 2 ? 20 : 10;
      };
      pcpuBuildAllocInfo(k64("v6"), { ...S56, atomSize: ATOM_4K, nrPossibleCpus: 3, cpuDistanceFn: fn });
      expect(calls).toEqual(["0>1", "1>0", "0>2"]);
      calls.length = 0;
      pcpuBuildAllocInfo(k64("v4.14"), {
        ...S56,
        atomSize: ATOM_4K,
        nrPossibleCpus: 3,
        cpuDistanceFn: fn,
        era: "v4.14",
      });
      expect(calls).toEqual(["1>0", "0>1", "2>0"]);
    });

    it("selects the algorithm by era", () => {
      expect(pcpuEraGroupsByLeader("v6")).toBe(true);
      expect(pcpuEraGroupsByLeader("v5.14")).toBe(true);
      expect(pcpuEraGroupsByLeader("v4.14")).toBe(false);
      expect(pcpuEraGroupsByLeader("v2.6.32")).toBe(false);
    });
  });

  it("takes the divide error as a BUG when no upa splits alloc_size into pages", () => {
    /* roundup(0x8000, 3000) = 33000 is not page aligned: upa counts down to 0 */
    expect(() =>
      pcpuBuildAllocInfo(k64(), {
        staticSize: 0x1000,
        reservedSize: 0,
        dynSize: 0,
        atomSize: 3000,
        nrPossibleCpus: 1,
        cpuDistanceFn: null,
      }),
    ).toThrow(PcpuBug);
  });

  it("rejects impossible arguments at the edge", () => {
    const ok = { ...S56, atomSize: ATOM_4K, nrPossibleCpus: 2, cpuDistanceFn: null };
    const k = k64();
    expect(() => pcpuBuildAllocInfo(k, { ...ok, staticSize: -1 })).toThrow(/staticSize/);
    expect(() => pcpuBuildAllocInfo(k, { ...ok, reservedSize: 0.5 })).toThrow(/reservedSize/);
    expect(() => pcpuBuildAllocInfo(k, { ...ok, dynSize: -1 })).toThrow(/dynSize must be an integer >= 0/);
    expect(() => pcpuBuildAllocInfo(k, { ...ok, atomSize: 0 })).toThrow(/atomSize/);
    expect(() => pcpuBuildAllocInfo(k, { ...ok, nrPossibleCpus: 0 })).toThrow(/nrPossibleCpus/);
    expect(() => pcpuBuildAllocInfo(k64("v6", 4), { ...ok, nrPossibleCpus: 5 })).toThrow(/exceeds NR_CPUS 4/);
    expect(() => pcpuBuildAllocInfo(k, { ...ok, cpuDistanceFn: 7 as unknown as PcpuCpuDistanceFn })).toThrow(
      TypeError,
    );
  });
});

describe("pcpuDumpAllocInfo (pcpu_dump_alloc_info)", () => {
  it("prints the worked example as header plus one allocation line ending in a space", () => {
    const ai = build(4, ATOM_2M, null, "v6", { staticSize: 200000, reservedSize: 0x2000, dynSize: 0x7000 });
    expect(pcpuDumpAllocInfo(ai, 4, NR_CPUS)).toEqual([
      "pcpu-alloc: s200000 r8192 d29376 u524288 alloc=1*2097152",
      "pcpu-alloc: [0] 0 1 2 3 ",
    ]);
  });

  it("prints padding units as cpu_width dashes", () => {
    expect(pcpuDumpAllocInfo(build(3, ATOM_2M, null), 3, NR_CPUS)[1]).toBe("pcpu-alloc: [0] 0 1 2 - ");
    const ai = build(12, ATOM_2M, null);
    expect(pcpuDumpAllocInfo(ai, 12, NR_CPUS)[1]).toBe(
      "pcpu-alloc: [0] 00 01 02 03 04 05 06 07 [0] 08 09 10 11 -- -- -- -- ",
    );
  });

  it("runs one allocation counter across groups (24 CPUs in 3 nodes: 2 allocations per line)", () => {
    /* upa 8, width = 8*3 + 1 + 3 = 28, apl = 2: group 1 continues group 0's line */
    expect(pcpuDumpAllocInfo(build(24, ATOM_2M, blocks(24, 8)), 24, NR_CPUS)).toEqual([
      "pcpu-alloc: s192512 r8192 d28672 u262144 alloc=1*2097152",
      "pcpu-alloc: [0] 00 01 02 03 04 05 06 07 [1] 08 09 10 11 12 13 14 15 ",
      "pcpu-alloc: [2] 16 17 18 19 20 21 22 23 ",
    ]);
  });

  it("prints 64 CPUs in 4 nodes as 4 lines of 2 allocations", () => {
    const lines = pcpuDumpAllocInfo(build(64, ATOM_2M, blocks(64, 16)), 64, NR_CPUS);
    expect(lines).toHaveLength(5);
    expect(lines[1]).toBe("pcpu-alloc: [0] 00 01 02 03 04 05 06 07 [0] 08 09 10 11 12 13 14 15 ");
    expect(lines[2]).toBe("pcpu-alloc: [1] 16 17 18 19 20 21 22 23 [1] 24 25 26 27 28 29 30 31 ");
    expect(lines[4]).toBe("pcpu-alloc: [3] 48 49 50 51 52 53 54 55 [3] 56 57 58 59 60 61 62 63 ");
  });

  it("shares a line between groups when the counter says so (8 CPUs, 2 nodes, upa 4: apl 4)", () => {
    expect(pcpuDumpAllocInfo(build(8, ATOM_2M, blocks(8, 4)), 8, NR_CPUS)).toEqual([
      "pcpu-alloc: s192512 r8192 d28672 u524288 alloc=1*2097152",
      "pcpu-alloc: [0] 0 1 2 3 [1] 4 5 6 7 ",
    ]);
  });

  it("zero-pads group numbers to the digits of nr_groups (12 groups)", () => {
    const lines = pcpuDumpAllocInfo(build(12, ATOM_4K, blocks(12, 1)), 12, NR_CPUS);
    /* upa 1: width = 1*3 + 2 + 3 = 8, apl = rounddown_pow_of_two(7) = 4 */
    expect(lines).toEqual([
      "pcpu-alloc: s192512 r8192 d28672 u229376 alloc=56*4096",
      "pcpu-alloc: [00] 00 [01] 01 [02] 02 [03] 03 ",
      "pcpu-alloc: [04] 04 [05] 05 [06] 06 [07] 07 ",
      "pcpu-alloc: [08] 08 [09] 09 [10] 10 [11] 11 ",
    ]);
  });

  it("prints 4096 CPUs at width 4, one allocation per line, and 4 KiB atoms four to a line", () => {
    const numa = pcpuDumpAllocInfo(build(4096, ATOM_2M, blocks(4096, 512)), 4096, NR_CPUS);
    expect(numa).toHaveLength(513);
    expect(numa[1]).toBe("pcpu-alloc: [0] 0000 0001 0002 0003 0004 0005 0006 0007 ");
    expect(numa[512]).toBe("pcpu-alloc: [7] 4088 4089 4090 4091 4092 4093 4094 4095 ");
    const flat = pcpuDumpAllocInfo(build(4096, ATOM_4K, null), 4096, NR_CPUS);
    /* width = 1*5 + 1 + 3 = 9, apl = rounddown_pow_of_two(6) = 4 */
    expect(flat).toHaveLength(1025);
    expect(flat[0]).toBe("pcpu-alloc: s192512 r8192 d28672 u229376 alloc=56*4096");
    expect(flat[1024]).toBe("pcpu-alloc: [0] 4092 [0] 4093 [0] 4094 [0] 4095 ");
  });

  it("caps the dashes at 8 and prints out-of-range CPU ids when given NR_CPUS", () => {
    const ai = pcpuAllocAllocInfo(1, 2, 0x40);
    ai.unitSize = 0x8000;
    ai.allocSize = 0x8000;
    ai.atomSize = 0x1000;
    ai.groups[0]!.nrUnits = 2;
    ai.groups[0]!.cpuMap[0] = 0x3f;
    expect(pcpuDumpAllocInfo(ai, 123456789, 0x40)[1]).toBe("pcpu-alloc: [0] 000000063 [0] -------- ");
    expect(pcpuDumpAllocInfo(ai, 2)[1]).toBe("pcpu-alloc: [0] - [0] - ");
    expect(pcpuDumpAllocInfo(ai, 2, 0x40)[1]).toBe("pcpu-alloc: [0] 63 [0] - ");
  });

  it("prints only the header when no group has units", () => {
    const ai = pcpuAllocAllocInfo(1, 0, 8);
    ai.unitSize = 0x8000;
    ai.allocSize = 0x8000;
    ai.atomSize = 0x8000;
    expect(pcpuDumpAllocInfo(ai, 1)).toEqual(["pcpu-alloc: s0 r0 d0 u32768 alloc=1*32768"]);
  });

  it("BUGs on a group that is not a multiple of upa, and on the kernel's divide errors", () => {
    const ai = build(8, ATOM_2M, null);
    ai.groups[0]!.nrUnits = 7;
    expect(() => pcpuDumpAllocInfo(ai, 8)).toThrow(/BUG_ON\(gi->nr_units % upa\)/);
    const zeroUnit = pcpuAllocAllocInfo(1, 1, 8);
    expect(() => pcpuDumpAllocInfo(zeroUnit, 1)).toThrow(PcpuBug);
    zeroUnit.unitSize = 0x8000;
    expect(() => pcpuDumpAllocInfo(zeroUnit, 1)).toThrow(/atom_size is 0/);
    zeroUnit.atomSize = 0x1000;
    zeroUnit.allocSize = 0x1000;
    expect(() => pcpuDumpAllocInfo(zeroUnit, 1)).toThrow(/smaller than unit_size/);
    expect(() => pcpuDumpAllocInfo(build(1, ATOM_4K, null), -1)).toThrow(RangeError);
    expect(() => pcpuDumpAllocInfo(build(1, ATOM_4K, null), 1, 0)).toThrow(RangeError);
  });

  it("is printed at KERN_INFO by 2.6.3x kernels and KERN_DEBUG later", () => {
    expect(pcpuDumpAllocInfoLevel("v2.6.30")).toBe(LOGLEVEL_INFO);
    expect(pcpuDumpAllocInfoLevel("v2.6.32")).toBe(LOGLEVEL_INFO);
    expect(pcpuDumpAllocInfoLevel("v3.18")).toBe(LOGLEVEL_DEBUG);
    expect(pcpuDumpAllocInfoLevel("v6")).toBe(LOGLEVEL_DEBUG);
  });
});

describe("pcpuBuildAllocInfo + pcpuDumpAllocInfo against real boot logs (golden)", () => {
  const withDump = BOOT_LOGS.filter((r) => r.raw.some((l) => stripLine(l).startsWith("pcpu-alloc:")));

  it("has pcpu-alloc lines from many machines", () => {
    expect(withDump.length).toBeGreaterThanOrEqual(15);
  });

  for (const r of withDump) {
    it(`${r.id} (${r.arch}, ${r.inputs.nrPossibleCpus} CPU${r.inputs.nrPossibleCpus > 1 ? "s" : ""}): ${r.source}`, () => {
      const pasted = r.raw.map(stripLine).filter((l) => l.startsWith("pcpu-alloc:"));
      const check = (ai: PcpuAllocInfo) => {
        const model = pcpuDumpAllocInfo(ai, r.inputs.nrPossibleCpus, recordConstants(r).NR_CPUS);
        const expected = r.partial === "group-lines-only" ? model.slice(1) : model;
        expect(expected).toHaveLength(pasted.length);
        expected.forEach((line, i) => {
          if (i > 0 || r.partial === "group-lines-only") expect(line.endsWith(" ")).toBe(true);
          expect(
            sameAsPasted(line, pasted[i]!),
            `model ${JSON.stringify(line)} vs log ${JSON.stringify(pasted[i])}`,
          ).toBe(true);
        });
      };
      if (r.partial === "group-lines-only") {
        /* the static size is not in the paste: both ends of the range that yields these lines */
        check(recordAllocInfo(r, 0x1000));
        check(recordAllocInfo(r, 102400));
        check(recordAllocInfo(r));
        expect(recordAllocInfo(r, 102401).unitSize).toBe(0x40000);
      } else {
        check(recordAllocInfo(r));
      }
    });
  }
});
