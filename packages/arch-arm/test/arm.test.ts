/*
 * arm: the generic setup_per_cpu_areas() (no HAVE_SETUP_PER_CPU_AREA),
 * TPIDRPRW as the offset register, the 3G/1G layout.
 *
 * Default static 0xa000: size_sum = PFN_ALIGN(0xa000 + 0x2000 + 0x5000) =
 * 0x11000 (17 pages); 32-bit: PERCPU_DYNAMIC_RESERVE 20K; atom 4 KiB, upa 1.
 */
import { bootArch } from "@pcpu/arch-generic";
import { perCpuPtr, thisCpuPtr, thisCpuRead } from "@pcpu/percpu";
import { describe, expect, it } from "vitest";
import { ArmArch } from "../src/index.js";
import { POPULATIONS, vm } from "./helpers/backends.js";

const arm = new ArmArch();
const MiB = 2 ** 20;

function lines(ls: readonly string[]): string[] {
  return ls.filter((l) => !l.startsWith("percpu: per cpu data for cpu"));
}

describe("setupPerCpuAreas (generic setup_per_cpu_areas on arm)", () => {
  for (const p of POPULATIONS) {
    const waste = (pages: number) => (p.name === "km" ? [`percpu: wasting ${pages} pages per chunk`] : []);
    it(`boots 1, 2, 8 and 32 (its maximum) CPUs with the kernel's boot lines (${p.name})`, () => {
      for (const [cpus, dump, w] of [
        [1, ["pcpu-alloc: [0] 0 "], 32 - 17],
        [2, ["pcpu-alloc: [0] 0 [0] 1 "], 64 - 34],
        [8, ["pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 [0] 4 [0] 5 [0] 6 [0] 7 "], 256 - 136],
        /* cpu_width 2, width 7, apl 8 */
        [
          32,
          [0, 8, 16, 24].map(
            (b) =>
              `pcpu-alloc: ${[0, 1, 2, 3, 4, 5, 6, 7].map((i) => `[0] ${String(b + i).padStart(2, "0")} `).join("")}`,
          ),
          1024 - 544,
        ],
      ] as const) {
        expect(lines(bootArch(arm, { cpus }, { population: p.factory() }).setup.lines)).toEqual([
          "percpu: Embedded 17 pages/cpu s40960 r8192 d20480 u69632",
          ...waste(w),
          "pcpu-alloc: s40960 r8192 d20480 u69632 alloc=17*4096",
          ...dump,
        ]);
      }
    });
  }

  it("only warns when the units are too far apart for vmalloc (no page first chunk to fall back to)", () => {
    /* vmalloc=16M: VMALLOC_TOTAL 0x1000000; 4 x PFN_ALIGN(0x301000 + 0x2000 + 0x5000) = 0xc20000 > 0xc00000 */
    const k = bootArch(arm, { cpus: 4, staticSize: 0x301000, vmallocSize: 16 * MiB }, { population: vm() });
    expect(lines(k.setup.lines)).toEqual([
      "percpu: max_distance=0xc20000 too large for vmalloc space 0x1000000",
      "percpu: Embedded 776 pages/cpu s3149824 r8192 d20480 u3178496",
      "pcpu-alloc: s3149824 r8192 d20480 u3178496 alloc=776*4096",
      "pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 ",
    ]);
    expect(k.setup.fc).toBe("embed");
    /* The default 240 MiB: 32 CPUs x 0x607000 = 0xc0e0000 > 0xb400000. */
    const big = bootArch(arm, { cpus: 32, staticSize: 0x600000 }, { population: vm() });
    expect(big.setup.lines[0]).toBe("percpu: max_distance=0xc0e0000 too large for vmalloc space 0xf000000");
    expect(big.setup.fc).toBe("embed");
  });

  it("ignores percpu_alloc= (arm selects no NEED_PER_CPU_*_FIRST_CHUNK)", () => {
    const k = bootArch(arm, { cpus: 2, percpuAlloc: "page" }, { population: vm() });
    expect(k.setup.lines[0]).toBe("percpu: unknown allocator page specified");
    expect(k.setup.fc).toBe("embed");
  });
});

describe("myCpuOffset (arm __my_cpu_offset: TPIDRPRW)", () => {
  it("each CPU reads its own TPIDRPRW, written by smp_prepare_boot_cpu and at secondary start", () => {
    const k = bootArch(arm, { cpus: 4 }, { population: vm(), bringUpSecondaries: false });
    const a = k.arch;
    expect(a.tpidrprw[0]).toBe(a.perCpuOffset(0));
    /* CPU 2 has not started: its register still holds 0, not __per_cpu_offset[2]. */
    k.machine.ctx.setCpu(2);
    expect(a.myCpuOffset()).toBe(0);
    expect(thisCpuPtr(k.pcpu, k.section.perCpuStart + 0x10)).toBe(k.section.perCpuStart + 0x10);
    a.bringUpCpu(2);
    expect(a.myCpuOffset()).toBe(a.perCpuOffset(2));
    expect(a.mechanism).toBe("TPIDRPRW (mrc p15, 0, r, c13, c0, 4)");
  });

  it("changing TPIDRPRW changes what this_cpu reads", () => {
    const template = Uint8Array.from({ length: 0x10 }, (_, i) => i);
    const k = bootArch(arm, { cpus: 4, template }, { population: vm() });
    const p = k.section.perCpuStart + 4;
    for (let cpu = 0; cpu < 4; cpu++) k.machine.mem.write8(perCpuPtr(k.pcpu, p, cpu), 0x40 + cpu);
    k.machine.ctx.setCpu(1);
    expect(thisCpuRead(k.pcpu, p as never, 1)).toBe(0x41);
    k.arch.setMyCpuOffset(1, k.arch.perCpuOffset(3));
    expect(thisCpuRead(k.pcpu, p as never, 1)).toBe(0x43);
  });

  it("2009 kernels look the offset up in __per_cpu_offset[]", () => {
    const k = bootArch(arm, { cpus: 2, era: "v2.6.32" }, { population: vm(), bringUpSecondaries: false });
    expect(k.arch.usesTpidrprw).toBe(false);
    k.machine.ctx.setCpu(1);
    expect(k.arch.myCpuOffset()).toBe(k.arch.perCpuOffset(1));
    expect(k.arch.mechanism).toBe("__per_cpu_offset[smp_processor_id()]");
    /* 2009: 2.6.32 constants (DYNAMIC_RESERVE 12K, 64K minimum unit) */
    expect(lines(k.setup.lines)[0]).toBe(
      `PERCPU: Embedded 15 pages/cpu @${k.arch.formatAddr(k.pcpu.baseAddr)} s40960 r8192 d12288 u65536`,
    );
  });
});

describe("layout (arch/arm/mm/mmu.c)", () => {
  it("gives 768 MiB of lowmem and 240 MiB of vmalloc by default", () => {
    expect(arm.layout({ cpus: 1 })).toMatchObject({
      pageOffset: 0xc000_0000,
      directMapSize: 0x3000_0000,
      vmallocStart: 0xf080_0000,
      vmallocEnd: 0xff80_0000,
      vmallocTotal: 0x0f00_0000,
    });
  });

  it("moves VMALLOC_START with less RAM and clamps vmalloc=", () => {
    expect(arm.layout({ cpus: 1, memPerNode: 256 * MiB })).toMatchObject({
      directMapSize: 0x1000_0000,
      vmallocStart: 0xd080_0000,
    });
    expect(arm.layout({ cpus: 1, vmallocSize: 4 * MiB }).vmallocTotal).toBe(16 * MiB);
    /* max = 0xff800000 - (0xc0000000 + 32M + 8M): lowmem limit 0xc2000000 */
    expect(arm.layout({ cpus: 1, vmallocSize: 2048 * MiB })).toMatchObject({
      directMapSize: 0x0200_0000,
      vmallocStart: 0xc280_0000,
    });
    /* 2009: realview VMALLOC_END 0xe8000000, lowmem 128 MiB below it */
    expect(arm.layout({ cpus: 1, era: "v2.6.32" })).toMatchObject({
      directMapSize: 0x2000_0000,
      vmallocStart: 0xe080_0000,
      vmallocTotal: 0x0780_0000,
    });
  });

  it("rejects what arm cannot build", () => {
    expect(() => arm.resolve({ cpus: 33 })).toThrow("arm: cpus must be an integer in [1, 32]");
    expect(() => arm.resolve({ cpus: 2, nodes: [[0], [1]] })).toThrow(
      "arm: CONFIG_NUMA is not available in v6",
    );
    expect(() => arm.layout({ cpus: 1, era: "v2.6.32", vmallocSize: 64 * MiB })).toThrow(
      "arm: the v2.6.32 model has no vmalloc=",
    );
    expect(() => arm.layout({ cpus: 1, memPerNode: 8192 * MiB })).toThrow(
      "beyond 4 GiB (no LPAE in the model)",
    );
  });
});
