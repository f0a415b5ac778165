/*
 * cpu_possible_mask with holes (hot-plug slots, disabled cores): the
 * kernel's nr_cpu_ids is the last possible CPU + 1, pcpu_build_alloc_info()
 * gives units to possible CPUs only, pcpu_dump_alloc_info() prints the CPU
 * ids with the width of num_possible_cpus() (so 10 and 11 overflow a
 * one-digit column), pcpu_setup_first_chunk() sizes unit_map and
 * unit_offsets by nr_cpu_ids and leaves impossible CPUs at UINT_MAX, and
 * every for_each_possible_cpu loop skips the holes. Every number below is
 * worked out by hand from mm/percpu.c.
 */
import { Machine, MachineConfigError } from "@pcpu/mm";
import { describe, expect, it } from "vitest";
import { perCpuPtr } from "../src/addr.js";
import { pcpuBuildAllocInfo, pcpuDumpAllocInfo } from "../src/alloc-info.js";
import type { PcpuAllocInfo } from "../src/api.js";
import { PcpuBug } from "../src/bug.js";
import { pcpuConstants } from "../src/constants.js";
import { pcpuSetupFirstChunk } from "../src/first-chunk.js";
import { allocPercpu, freePercpu } from "../src/percpu-api.js";
import { bootTestKernel } from "../src/testing/boot.js";
import { stubBackend } from "./helpers/stub-backend.js";

const k64 = pcpuConstants({ pageShift: 12, bits: 64, nrCpus: 64, era: "v6" });
/* static 0x2f000 + reserved 0x2000 + dyn 0x7000 = 0x38000: max_upa 8 with a 2 MiB atom */
const S56 = { staticSize: 0x2f000, reservedSize: 0x2000, dynSize: 0x7000 };
const HOLES = [0, 1, 2, 3, 8, 9, 10, 11];
const LOCAL = 10;
const byNode = (nodeOf: (cpu: number) => number) => (a: number, b: number) =>
  nodeOf(a) === nodeOf(b) ? LOCAL : 20;

function build(
  possible: number[],
  atomSize: number,
  dist: ((a: number, b: number) => number) | null,
  sizes = S56,
) {
  const ai = pcpuBuildAllocInfo(k64, {
    ...sizes,
    atomSize,
    nrPossibleCpus: possible.length,
    possibleCpus: possible,
    cpuDistanceFn: dist,
  });
  if (ai === null) throw new Error("null alloc info");
  return ai;
}
const maps = (ai: PcpuAllocInfo) => ai.groups.map((g) => Array.from(g.cpuMap));

describe("pcpuBuildAllocInfo (pcpu_build_alloc_info) over a possible mask with holes", () => {
  it("gives 0-3,8-11 eight units in one 2 MiB allocation, no units for CPUs 4-7", () => {
    /* one group of 8: upa 8 (unit 0x40000) wastes 0 and needs 1 allocation */
    const ai = build(HOLES, 0x200000, null);
    expect(ai.unitSize).toBe(0x40000);
    expect(ai.allocSize).toBe(0x200000);
    expect(maps(ai)).toEqual([HOLES]);
    /* cpu_width is that of num_possible_cpus() = 8: one digit, and 10, 11 print wider */
    expect(pcpuDumpAllocInfo(ai, 8, 64)).toEqual([
      "pcpu-alloc: s192512 r8192 d28672 u262144 alloc=1*2097152",
      "pcpu-alloc: [0] 0 1 2 3 8 9 10 11 ",
    ]);
  });

  it("prints two allocations of one group as `[0] 0 1 2 3 [0] 8 9 10 11` (upa 4)", () => {
    /* size_sum 0x59000: max_upa 4 (0x80000 units); 8 CPUs, 1 group -> 2 allocations */
    const ai = build(HOLES, 0x200000, null, { staticSize: 0x50000, reservedSize: 0x2000, dynSize: 0x7000 });
    expect(ai.unitSize).toBe(0x80000);
    expect(ai.groups[0]!.nrUnits).toBe(8);
    /* width 4*(1+1)+1+3 = 12: 60/12 = 5 -> 4 allocations per line */
    expect(pcpuDumpAllocInfo(ai, 8, 64)).toEqual([
      "pcpu-alloc: s327680 r8192 d28672 u524288 alloc=1*2097152",
      "pcpu-alloc: [0] 0 1 2 3 [0] 8 9 10 11 ",
    ]);
  });

  it("groups the possible CPUs by node: 0-3 and 8-11 in two nodes, upa 4", () => {
    /* upa 8 wastes 4 + 4 = 8 > 8/3 = 2; upa 4 wastes nothing in 2 allocations */
    const ai = build(
      HOLES,
      0x200000,
      byNode((c) => (c < 8 ? 0 : 1)),
    );
    expect(ai.nrGroups).toBe(2);
    expect(ai.unitSize).toBe(0x80000);
    expect(maps(ai)).toEqual([
      [0, 1, 2, 3],
      [8, 9, 10, 11],
    ]);
    expect(pcpuDumpAllocInfo(ai, 8, 64)[1]).toBe("pcpu-alloc: [0] 0 1 2 3 [1] 8 9 10 11 ");
  });

  it("measures waste against num_possible_cpus(), not nr_cpu_ids (0,63: upa 2 wastes nothing)", () => {
    /* 2 possible CPUs: max waste 2/3 = 0, so only an exact fit is taken */
    const ai = build([0, 63], 0x200000, null);
    expect(ai.unitSize).toBe(0x100000);
    expect(maps(ai)).toEqual([[0, 63]]);
    expect(pcpuDumpAllocInfo(ai, 2, 64)[1]).toBe("pcpu-alloc: [0] 0 63 ");
  });

  it("refuses a possible list that is not ascending, too long or beyond NR_CPUS", () => {
    const args = { ...S56, atomSize: 0x1000, cpuDistanceFn: null };
    expect(() => pcpuBuildAllocInfo(k64, { ...args, nrPossibleCpus: 2, possibleCpus: [3, 1] })).toThrow(
      /ascending/,
    );
    expect(() => pcpuBuildAllocInfo(k64, { ...args, nrPossibleCpus: 3, possibleCpus: [0, 1] })).toThrow(
      /lists 2 CPUs, nrPossibleCpus is 3/,
    );
    expect(() => pcpuBuildAllocInfo(k64, { ...args, nrPossibleCpus: 2, possibleCpus: [0, 64] })).toThrow(
      /outside 0 .. NR_CPUS-1/,
    );
  });
});

describe("pcpuSetupFirstChunk (pcpu_setup_first_chunk) over a possible mask with holes", () => {
  const boot = () =>
    bootTestKernel({
      population: stubBackend,
      possibleCpus: HOLES,
      staticSize: 0x2f000,
      reservedSize: 0x2000,
      dynSize: 0x7000,
      atomSize: 0x200000,
    });

  it("sizes the maps by nr_cpu_ids and leaves impossible CPUs at UINT_MAX", () => {
    const { pcpu, machine } = boot();
    expect(pcpu.nrCpuIds).toBe(12);
    expect(pcpu.nrPossibleCpus).toBe(8);
    expect(pcpu.nrUnits).toBe(8);
    expect(Array.from(pcpu.unitMap)).toEqual([0, 1, 2, 3, -1, -1, -1, -1, 4, 5, 6, 7]);
    expect(Array.from(pcpu.unitOffsets)).toEqual([
      0, 0x40000, 0x80000, 0xc0000, 0, 0, 0, 0, 0x100000, 0x140000, 0x180000, 0x1c0000,
    ]);
    expect([pcpu.lowUnitCpu, pcpu.highUnitCpu]).toEqual([0, 11]);
    expect(
      machine.log
        .lines()
        .filter((l) => l.text.startsWith("pcpu-alloc:"))
        .map((l) => l.text),
    ).toEqual([
      "pcpu-alloc: s192512 r8192 d28672 u262144 alloc=1*2097152",
      "pcpu-alloc: [0] 0 1 2 3 8 9 10 11 ",
    ]);
  });

  it("zeroes and serves every possible CPU's copy; CPU 8 is unit 4", () => {
    const { pcpu, machine } = boot();
    const p = allocPercpu(pcpu, 16, 8)!;
    const copies = HOLES.map((cpu) => perCpuPtr(pcpu, p, cpu));
    /* consecutive units: CPU 8's copy is one unit above CPU 3's */
    expect(copies[4]! - copies[3]!).toBe(0x40000);
    for (const a of copies) machine.mem.write32(a, 0xdeadbeef);
    expect(freePercpu(pcpu, p)).toBe(true);
    const q = allocPercpu(pcpu, 16, 8)!;
    expect(q).toBe(p);
    for (const cpu of HOLES) expect(machine.mem.read32(perCpuPtr(pcpu, q, cpu))).toBe(0);
  });

  it("BUGs on a unit for an impossible CPU, printing the mask over nr_cpu_ids bits", () => {
    const { pcpu, machine } = boot();
    const ai = build(HOLES, 0x200000, null);
    ai.groups[0]!.cpuMap[4] = 5; /* CPU 5 is a hole */
    const from = machine.log.lines().length;
    expect(() => pcpuSetupFirstChunk(pcpu, ai, pcpu.baseAddr)).toThrow(PcpuBug);
    const text = machine.log
      .lines()
      .slice(from)
      .map((l) => l.text);
    expect(text[0]).toBe("percpu: failed to initialize, !cpu_possible(cpu)");
    /* bits 0-3 and 8-11 of 12: %*pb prints 3 hex digits */
    expect(text[1]).toBe("percpu: cpu_possible_mask=f0f");
    expect(text[3]).toBe("pcpu-alloc: [0] 0 1 2 3 5 9 10 11 ");
  });

  it("BUGs when a possible CPU has no unit (unit_map[cpu] == UINT_MAX)", () => {
    const { pcpu, machine } = boot();
    const ai = build(HOLES, 0x200000, null);
    ai.groups[0]!.cpuMap[5] = 64; /* CPU 9's unit becomes padding (NR_CPUS) */
    const from = machine.log.lines().length;
    expect(() => pcpuSetupFirstChunk(pcpu, ai, pcpu.baseAddr)).toThrow(/unit_map\[cpu\] == UINT_MAX/);
    expect(machine.log.lines()[from + 3]!.text).toBe("pcpu-alloc: [0] 0 1 2 3 8 - 10 11 ");
  });
});

describe("Machine: cpu_possible_mask", () => {
  const base = {
    pageShift: 12,
    bits: 64 as const,
    vaBits: 48,
    nodes: [{ start: 0, size: 64 << 20 }],
    pageOffset: 0x1000_0000_0000,
    vmallocStart: 0x4000_0000_0000,
    vmallocEnd: 0x6000_0000_0000,
  };

  it("keeps the list, the mask and num_possible_cpus(); a task cannot run on a hole", () => {
    const m = new Machine({ ...base, nrCpus: 12, possibleCpus: HOLES });
    expect(Array.from(m.possibleCpus)).toEqual(HOLES);
    expect(m.numPossibleCpus).toBe(8);
    expect(Array.from(m.cpuPossibleMask)).toEqual([0xf0f]);
    m.ctx.setCpu(8);
    expect(m.ctx.cpu).toBe(8);
    expect(() => m.ctx.setCpu(5)).toThrow(/hole in cpu_possible_mask/);
    expect(m.ctx.cpu).toBe(8);
  });

  it("refuses a mask without CPU 0, out of order, or beyond nr_cpu_ids", () => {
    expect(() => new Machine({ ...base, nrCpus: 4, possibleCpus: [1, 2, 3] })).toThrow(/must hold CPU 0/);
    expect(() => new Machine({ ...base, nrCpus: 4, possibleCpus: [0, 3, 2] })).toThrow(/ascending/);
    expect(() => new Machine({ ...base, nrCpus: 4, possibleCpus: [0, 4] })).toThrow(MachineConfigError);
    expect(() => new Machine({ ...base, nrCpus: 4, possibleCpus: [0, 4] })).toThrow(/below nr_cpu_ids 4/);
    /* CONFIG_FORCE_NR_CPUS: nr_cpu_ids is NR_CPUS even past the last possible CPU */
    expect(new Machine({ ...base, nrCpus: 64, possibleCpus: [0] }).numPossibleCpus).toBe(1);
  });
});
