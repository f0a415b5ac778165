/*
 * sparc32: the generic setup_per_cpu_areas(), the offset array indexed by
 * current_thread_info()->cpu, the fixed SRMMU layout, big-endian memory.
 *
 * Default static 0x8000: size_sum = PFN_ALIGN(0x8000 + 0x2000 + 0x5000) =
 * 0xf000 (15 pages), upa 1.
 */
import { bootArch } from "@pcpu/arch-generic";
import { allocPercpu, perCpuPtr, thisCpuPtr, thisCpuRead, thisCpuWrite } from "@pcpu/percpu";
import { describe, expect, it } from "vitest";
import { Sparc32Arch } from "../src/index.js";
import { POPULATIONS, vm } from "./helpers/backends.js";

const sparc32 = new Sparc32Arch();
const MiB = 2 ** 20;

function lines(ls: readonly string[]): string[] {
  return ls.filter((l) => !l.startsWith("percpu: per cpu data for cpu"));
}

describe("setupPerCpuAreas (generic setup_per_cpu_areas on sparc32)", () => {
  for (const p of POPULATIONS) {
    const waste = (pages: number) => (p.name === "km" ? [`percpu: wasting ${pages} pages per chunk`] : []);
    it(`boots 1, 2, 8 and 32 (its maximum) CPUs with the kernel's boot lines (${p.name})`, () => {
      for (const [cpus, dump, w] of [
        [1, ["pcpu-alloc: [0] 0 "], 16 - 15],
        [2, ["pcpu-alloc: [0] 0 [0] 1 "], 32 - 30],
        [8, ["pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 [0] 4 [0] 5 [0] 6 [0] 7 "], 128 - 120],
        [
          32,
          [0, 8, 16, 24].map(
            (b) =>
              `pcpu-alloc: ${[0, 1, 2, 3, 4, 5, 6, 7].map((i) => `[0] ${String(b + i).padStart(2, "0")} `).join("")}`,
          ),
          512 - 480,
        ],
      ] as const) {
        expect(lines(bootArch(sparc32, { cpus }, { population: p.factory() }).setup.lines)).toEqual([
          "percpu: Embedded 15 pages/cpu s32768 r8192 d20480 u61440",
          ...waste(w),
          "pcpu-alloc: s32768 r8192 d20480 u61440 alloc=15*4096",
          ...dump,
        ]);
      }
    });
  }

  it("only warns once 32 units exceed 3/4 of the 22 MiB vmalloc space", () => {
    /* 32 x PFN_ALIGN(0x80000 + 0x2000 + 0x5000) = 32 x 0x87000 = 0x10e0000 > 0x1080000 */
    const k = bootArch(sparc32, { cpus: 32, staticSize: 0x80000 }, { population: vm() });
    expect(lines(k.setup.lines).slice(0, 2)).toEqual([
      "percpu: max_distance=0x10e0000 too large for vmalloc space 0x1600000",
      "percpu: Embedded 135 pages/cpu s524288 r8192 d20480 u552960",
    ]);
    expect(k.setup.fc).toBe("embed");
    /* 0x10000 of static data: 32 x 0x17000 = 0x2e0000, no warning */
    const ok = bootArch(sparc32, { cpus: 32, staticSize: 0x10000 }, { population: vm() });
    expect(ok.setup.lines[0]).toBe("percpu: Embedded 23 pages/cpu s65536 r8192 d20480 u94208");
  });
});

describe("myCpuOffset (sparc32: __per_cpu_offset[current_thread_info()->cpu])", () => {
  it("follows the CPU number in the running task's thread_info", () => {
    const k = bootArch(sparc32, { cpus: 4 }, { population: vm(), bringUpSecondaries: false });
    const a = k.arch;
    const p = k.section.perCpuStart + 0x20;
    /* CPU 2 without its idle task: ti->cpu is 0, it uses CPU 0's unit. */
    k.machine.ctx.setCpu(2);
    expect(a.myCpuOffset()).toBe(a.perCpuOffset(0));
    expect(thisCpuPtr(k.pcpu, p)).toBe(perCpuPtr(k.pcpu, p, 0));
    a.bringUpCpu(2);
    expect(a.threadInfoCpu[2]).toBe(2);
    expect(thisCpuPtr(k.pcpu, p)).toBe(perCpuPtr(k.pcpu, p, 2));
    /* A task whose thread_info says 3 makes CPU 2 use CPU 3's copy. */
    a.setThreadInfoCpu(2, 3);
    expect(thisCpuPtr(k.pcpu, p)).toBe(perCpuPtr(k.pcpu, p, 3));
    expect(a.mechanism).toBe("__per_cpu_offset[current_thread_info()->cpu]");
    expect(() => a.setThreadInfoCpu(2, 4)).toThrow(
      "setThreadInfoCpu: cpu 4 is not a possible CPU (nr_cpu_ids 4)",
    );
  });

  it("stores big-endian", () => {
    const k = bootArch(sparc32, { cpus: 2 }, { population: vm() });
    const ptr = allocPercpu(k.pcpu, 4, 4)!;
    k.machine.ctx.setCpu(1);
    thisCpuWrite(k.pcpu, ptr, 4, 0x1122_3344);
    expect(k.machine.mem.read8(perCpuPtr(k.pcpu, ptr, 1))).toBe(0x11);
    expect(thisCpuRead(k.pcpu, ptr, 4)).toBe(0x1122_3344);
  });
});

describe("layout (SRMMU, pgtable_32.h / vaddrs.h)", () => {
  it("maps at most 192 MiB of lowmem at 0xf0000000 and has a fixed 22 MiB vmalloc", () => {
    expect(sparc32.layout({ cpus: 1 })).toMatchObject({
      pageOffset: 0xf000_0000,
      directMapSize: 0x0c00_0000,
      vmallocStart: 0xfe60_0000,
      vmallocEnd: 0xffc0_0000,
      vmallocTotal: 0x0160_0000,
    });
    expect(sparc32.layout({ cpus: 1, memPerNode: 64 * MiB }).directMapSize).toBe(64 * MiB);
    expect(sparc32.formatAddr(0xf030_0000)).toBe("f0300000");
  });

  it("rejects what sparc32 cannot build", () => {
    expect(() => sparc32.resolve({ cpus: 33 })).toThrow("sparc32: cpus must be an integer in [1, 32]");
    expect(() => sparc32.resolve({ cpus: 2, nodes: [[0], [1]] })).toThrow(
      "sparc32: CONFIG_NUMA is not available in v6",
    );
    expect(() => sparc32.resolve({ cpus: 2, vmallocSize: 32 * MiB })).toThrow(
      "sparc32: this arch has no vmalloc= parameter",
    );
  });
});
