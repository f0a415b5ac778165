/*
 * i386: the 32-bit side of arch/x86/kernel/setup_percpu.c on the 3G/1G
 * layout. PERCPU_FIRST_CHUNK_RESERVE is 0, dyn = 8K + 20K, atom PAGE_SIZE.
 *
 * Default static 0x14000: size_sum = PFN_ALIGN(0x14000 + 0 + 0x7000) =
 * 0x1b000 (27 pages), upa 1. Page first chunk: dyn 0 -> EARLY 20K,
 * size_sum = 0x19000 (25 pages).
 */
import { bootArch } from "@pcpu/arch-generic";
import { allocReservedPercpu, pcpuChunkAddrSearch, perCpuPtr, thisCpuPtr, thisCpuRead } from "@pcpu/percpu";
import { describe, expect, it } from "vitest";
import { GDT_PERCPU_LIMIT, I386Arch } from "../src/index.js";
import { POPULATIONS, vm } from "./helpers/backends.js";

const i386 = new I386Arch();
const MiB = 2 ** 20;

function lines(ls: readonly string[]): string[] {
  return ls.filter((l) => !l.startsWith("percpu: per cpu data for cpu"));
}

describe("setupPerCpuAreas (x86 setup_per_cpu_areas, i386)", () => {
  for (const p of POPULATIONS) {
    const waste = (pages: number) => (p.name === "km" ? [`percpu: wasting ${pages} pages per chunk`] : []);
    it(`boots 1, 2 and 8 (its v6 maximum) CPUs with the kernel's boot lines (${p.name})`, () => {
      for (const [cpus, dump, w] of [
        [1, "pcpu-alloc: [0] 0 ", 32 - 27],
        [2, "pcpu-alloc: [0] 0 [0] 1 ", 64 - 54],
        [8, "pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 [0] 4 [0] 5 [0] 6 [0] 7 ", 256 - 216],
      ] as const) {
        expect(lines(bootArch(i386, { cpus }, { population: p.factory() }).setup.lines)).toEqual([
          `setup_percpu: NR_CPUS:8 nr_cpumask_bits:8 nr_cpu_ids:${cpus} nr_node_ids:1`,
          "percpu: Embedded 27 pages/cpu s81920 r0 d28672 u110592",
          ...waste(w),
          "pcpu-alloc: s81920 r0 d28672 u110592 alloc=27*4096",
          dump,
        ]);
      }
    });
  }

  it("has no reserved chunk: __alloc_reserved_percpu is served by the dynamic area", () => {
    const k = bootArch(i386, { cpus: 2 }, { population: vm() });
    expect(k.pcpu.reservedChunk).toBeNull();
    expect(k.pcpu.ai!.reservedSize).toBe(0);
    const ptr = allocReservedPercpu(k.pcpu, 0x100, 8)!;
    /* The first dynamic byte: __per_cpu_start + static size. */
    expect(ptr).toBe(0xc1a0_0000 + 0x14000);
    expect(pcpuChunkAddrSearch(k.pcpu, k.arch.pcpuPtrToAddr(ptr))).toBe(k.pcpu.firstChunk);
  });

  it("gets a reserved chunk when the config's reservedSize replaces PERCPU_FIRST_CHUNK_RESERVE", () => {
    /* size_sum = PFN_ALIGN(0x14000 + 0x2000 + 0x7000) = 0x1d000 (29 pages) */
    const k = bootArch(i386, { cpus: 2, reservedSize: 0x2000 }, { population: vm() });
    expect(lines(k.setup.lines).slice(1)).toEqual([
      "percpu: Embedded 29 pages/cpu s81920 r8192 d28672 u118784",
      "pcpu-alloc: s81920 r8192 d28672 u118784 alloc=29*4096",
      "pcpu-alloc: [0] 0 [0] 1 ",
    ]);
    const ptr = allocReservedPercpu(k.pcpu, 0x100, 8)!;
    expect(pcpuChunkAddrSearch(k.pcpu, k.arch.pcpuPtrToAddr(ptr))).toBe(k.pcpu.reservedChunk);
    /* auto on NUMA goes to page, which takes the reserved size too: PFN_ALIGN(0x14000 + 0x2000 + 0x5000) */
    const numa = bootArch(
      i386,
      { cpus: 2, era: "v6.14", nodes: [[0], [1]], reservedSize: 0x2000 },
      { population: vm() },
    );
    expect(lines(numa.setup.lines)[1]).toBe("percpu: 27 4K pages/cpu s81920 r8192 d20480");
  });

  it("boots 64 CPUs with BIGSMP before 6.15, and refuses more than 8 in v6", () => {
    const k = bootArch(i386, { cpus: 64, era: "v6.14" }, { population: vm() });
    const l = lines(k.setup.lines);
    expect(l[0]).toBe("setup_percpu: NR_CPUS:64 nr_cpumask_bits:64 nr_cpu_ids:64 nr_node_ids:1");
    /* cpu_width 2, width 7, apl 8: eight lines of eight */
    expect(l[3]).toBe("pcpu-alloc: [0] 00 [0] 01 [0] 02 [0] 03 [0] 04 [0] 05 [0] 06 [0] 07 ");
    expect(l).toHaveLength(3 + 8);
    expect(() => i386.resolve({ cpus: 9 })).toThrow(
      "i386: cpus must be an integer in [1, 8] (NR_CPUS limit in v6)",
    );
    expect(() => i386.resolve({ cpus: 2, nodes: [[0], [1]] })).toThrow(
      "i386: CONFIG_NUMA is not available in v6",
    );
  });

  it("auto on a NUMA machine (<= 6.14) goes straight to page; percpu_alloc=embed tries and falls back", () => {
    const cfg = {
      cpus: 4,
      era: "v6.14" as const,
      nodes: [
        [0, 1],
        [2, 3],
      ],
      memPerNode: 512 * MiB,
    };
    const auto = bootArch(i386, cfg, { population: vm() });
    expect(lines(auto.setup.lines)).toEqual([
      "setup_percpu: NR_CPUS:8 nr_cpumask_bits:8 nr_cpu_ids:4 nr_node_ids:2",
      "percpu: 25 4K pages/cpu s81920 r0 d20480",
      "pcpu-alloc: s81920 r0 d20480 u102400 alloc=25*4096",
      "pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 ",
    ]);
    expect(auto.setup).toMatchObject({ fc: "page", chosen: "page", fellBack: false });
    /*
     * embed: two groups of 2 x 0x1b000. Group 0 at the top of node 0
     * (0x1ffca000), group 1 at the top of lowmem in node 1 (MAXMEM
     * 0x377fe000 - 0x36000 = 0x377c8000):
     *   max_distance = 0x377c8000 - 0x1ffca000 + 2 * 0x1b000 = 0x17834000 > 0x7800000 * 3/4
     */
    const embed = bootArch(i386, { ...cfg, percpuAlloc: "embed" }, { population: vm() });
    expect(lines(embed.setup.lines)).toEqual([
      "setup_percpu: NR_CPUS:8 nr_cpumask_bits:8 nr_cpu_ids:4 nr_node_ids:2",
      "percpu: max_distance=0x17834000 too large for vmalloc space 0x7800000",
      "setup_percpu: embed allocator failed (-22), falling back to page size",
      "percpu: 25 4K pages/cpu s81920 r0 d20480",
      "pcpu-alloc: s81920 r0 d20480 u102400 alloc=25*4096",
      "pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 ",
    ]);
    expect(embed.setup).toMatchObject({ fc: "page", chosen: "embed", fellBack: true });
  });

  it("falls back to page where arm, sparc32 and s390 only warn (same sizes, vmalloc=16M)", () => {
    /*
     * vmalloc=16M: MAXMEM = 0xff7fe000 - 0xc0000000 - 24 MiB, VMALLOC_TOTAL
     * 0x1000000, limit 0xc00000. size_sum = PFN_ALIGN(0x301000 + 0x7000) =
     * 0x308000; one group of four: max_distance = 0xc20000.
     */
    const k = bootArch(i386, { cpus: 4, staticSize: 0x301000, vmallocSize: 16 * MiB }, { population: vm() });
    expect(lines(k.setup.lines).slice(1, 4)).toEqual([
      "percpu: max_distance=0xc20000 too large for vmalloc space 0x1000000",
      "setup_percpu: auto allocator failed (-22), falling back to page size",
      /* page: dyn 0 -> EARLY 0x5000, PFN_ALIGN(0x301000 + 0x5000) = 0x306000 */
      "percpu: 774 4K pages/cpu s3149824 r0 d20480",
    ]);
    expect(k.setup.fc).toBe("page");
  });

  it("honours percpu_alloc=page", () => {
    const k = bootArch(i386, { cpus: 2, percpuAlloc: "page" }, { population: vm() });
    expect(lines(k.setup.lines).slice(1)).toEqual([
      "percpu: 25 4K pages/cpu s81920 r0 d20480",
      "pcpu-alloc: s81920 r0 d20480 u102400 alloc=25*4096",
      "pcpu-alloc: [0] 0 [0] 1 ",
    ]);
    expect(k.machine.vmalloc.isVmallocAddr(k.pcpu.baseAddr)).toBe(true);
  });

  it("2.6.32 era: atom PMD_SIZE (4 MiB without PAE) with PSE", () => {
    const k = bootArch(i386, { cpus: 4, era: "v2.6.32" }, { population: vm() });
    /* 2.6.32: dyn 8K + 12K = 0x5000, size_sum 0x19000, 4 MiB atom: max_upa 32, upa 4 => u1048576 */
    expect(lines(k.setup.lines)).toEqual([
      "NR_CPUS:8 nr_cpumask_bits:8 nr_cpu_ids:4 nr_node_ids:1",
      "PERCPU: Embedded 25 pages/cpu @f7000000 s81920 r0 d20480 u1048576",
      "pcpu-alloc: s81920 r0 d20480 u1048576 alloc=1*4194304",
      "pcpu-alloc: [0] 0 1 2 3 ",
    ]);
  });
});

describe("per_cpu_ptr wraparound (i386, unsigned long modulo 2^32)", () => {
  /*
   * Spec arch 4.3 item 2: __per_cpu_start 0xc1a00000, first chunk at
   * 0xc1000000. RAM ends right after the 0x4f9000-byte template, so the
   * 2 x 0x500000 group lands top-down at phys 0x1000000:
   *   size_sum = PFN_ALIGN(0x4f9000 + 0 + 0x7000) = 0x500000
   *   __per_cpu_offset[0] = 0xc1000000 - 0xc1a00000 = -0xa00000 = 0xff600000
   */
  const cfg = { cpus: 2, staticSize: 0x4f9000, memPerNode: 0x1a0_0000 + 0x4f9000 };

  it("gives per_cpu_ptr(0xc1a00010, 0) = 0xc1000010, carry out of bit 31 dropped", () => {
    const template = Uint8Array.from({ length: 0x20 }, (_, i) => 0xa0 + i);
    const k = bootArch(i386, { ...cfg, template }, { population: vm() });
    expect(lines(k.setup.lines)[1]).toBe("percpu: Embedded 1280 pages/cpu s5214208 r0 d28672 u5242880");
    expect(k.section.perCpuStart).toBe(0xc1a0_0000);
    expect(k.pcpu.baseAddr).toBe(0xc100_0000);
    expect(k.arch.perCpuOffset(0)).toBe(0xff60_0000);
    expect(k.arch.perCpuOffset(1)).toBe(0xffb0_0000);
    expect(perCpuPtr(k.pcpu, 0xc1a0_0010, 0)).toBe(0xc100_0010);
    expect(perCpuPtr(k.pcpu, 0xc1a0_0010, 1)).toBe(0xc150_0010);
    expect(k.machine.mem.read8(0xc100_0010)).toBe(0xb0);
    expect(k.arch.formatAddr(k.arch.perCpuOffset(0))).toBe("ff600000");
  });

  it("a %fs-relative access with the same base reaches the same byte", () => {
    const template = Uint8Array.from({ length: 0x20 }, (_, i) => 0xa0 + i);
    const k = bootArch(i386, { ...cfg, template }, { population: vm() });
    for (let cpu = 0; cpu < 2; cpu++) {
      expect(k.arch.fsBase(cpu)).toBe(k.arch.perCpuOffset(cpu));
      expect(k.arch.gdtLimit[cpu]).toBe(GDT_PERCPU_LIMIT);
      expect(k.arch.segmentAddr(cpu, 0xc1a0_0010)).toBe(perCpuPtr(k.pcpu, 0xc1a0_0010, cpu));
      k.machine.ctx.setCpu(cpu);
      expect(thisCpuPtr(k.pcpu, 0xc1a0_0010)).toBe(perCpuPtr(k.pcpu, 0xc1a0_0010, cpu));
      expect(thisCpuRead(k.pcpu, (0xc1a0_0010 + 4) as never, 1)).toBe(0xb4);
    }
  });
});

describe("myCpuOffset (i386 __my_cpu_offset: this_cpu_off through %fs)", () => {
  it("reads each CPU's this_cpu_off through its %fs base; the GDT entry alone changes nothing", () => {
    const k = bootArch(i386, { cpus: 4 }, { population: vm(), bringUpSecondaries: false });
    const a = k.arch;
    /* setup wrote every CPU's GDT_ENTRY_PERCPU, only CPU 0 reloaded %fs. */
    expect(a.gdtBase[2]).toBe(a.perCpuOffset(2));
    expect(a.fsBase(2)).toBe(0);
    k.machine.ctx.setCpu(2);
    /* %fs base 0: this_cpu_off of the template (0). */
    expect(a.myCpuOffset()).toBe(0);
    expect(thisCpuRead(k.pcpu, a.cpuNumberPtr as never, 4)).toBe(0);
    a.bringUpCpu(2);
    expect(a.fsBase(2)).toBe(a.perCpuOffset(2));
    expect(a.myCpuOffset()).toBe(a.perCpuOffset(2));
    expect(thisCpuRead(k.pcpu, a.cpuNumberPtr as never, 4)).toBe(2);
    expect(a.mechanism).toBe("this_cpu_read(this_cpu_off) via %fs (GDT_ENTRY_PERCPU)");
  });

  it("changing a CPU's %fs base changes what this_cpu reads on it", () => {
    const k = bootArch(i386, { cpus: 4 }, { population: vm() });
    k.machine.ctx.setCpu(3);
    expect(thisCpuRead(k.pcpu, k.arch.cpuNumberPtr as never, 4)).toBe(3);
    k.arch.gdtBase[3] = k.arch.perCpuOffset(1);
    k.arch.switchGdtAndPercpuBase(3);
    expect(thisCpuRead(k.pcpu, k.arch.cpuNumberPtr as never, 4)).toBe(1);
  });
});

describe("layout (i386 pgtable_32_areas.h)", () => {
  it("gives 887 MiB of lowmem and 120 MiB of vmalloc with >= 896 MiB of RAM", () => {
    const l = i386.layout({ cpus: 1 });
    expect(l).toMatchObject({
      pageOffset: 0xc000_0000,
      directMapSize: 0x377f_e000,
      vmallocStart: 0xf7ff_e000,
      vmallocEnd: 0xff7f_e000,
    });
    expect(l.vmallocTotal).toBe(0x780_0000);
  });

  it("moves VMALLOC_START with less RAM and with vmalloc=", () => {
    expect(i386.layout({ cpus: 1, memPerNode: 512 * MiB })).toMatchObject({
      directMapSize: 0x2000_0000,
      vmallocStart: 0xe080_0000,
    });
    const v = i386.layout({ cpus: 1, vmallocSize: 256 * MiB });
    expect(v).toMatchObject({
      directMapSize: 0x2eff_e000,
      vmallocStart: 0xef7f_e000,
      vmallocTotal: 0x1000_0000,
    });
    expect(() => i386.layout({ cpus: 1, vmallocSize: 1024 * MiB })).toThrow(
      "i386: vmalloc=1073741824 leaves no page-aligned lowmem",
    );
    expect(() => i386.layout({ cpus: 1, era: "v6.14", numa: true, memPerNode: 65 * 1024 * MiB })).toThrow(
      "beyond what PAE addresses (64 GiB)",
    );
  });
});
