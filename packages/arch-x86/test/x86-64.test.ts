/*
 * x86_64: arch/x86/kernel/setup_percpu.c on the 4-level layout.
 *
 * Numbers for the default static size s147456 (0x24000, a v6.5 distro
 * kernel's): reserved 8K (PERCPU_FIRST_CHUNK_RESERVE), dyn 28K, atom 2 MiB.
 *   size_sum = PFN_ALIGN(0x24000 + 0x2000 + 0x7000) = 0x2d000 (45 pages)
 *   alloc_size = 2 MiB, max_upa = 8 (256 KiB units)
 *   1 CPU: only upa 1 wastes <= 0 => u2097152; 2: upa 2 => u1048576;
 *   4: upa 4 => u524288; 8 and 16: upa 8 => u262144
 * Page first chunk: dyn 0 -> EARLY 20K: size_sum = 0x2b000 (43 pages).
 */
import { bootArch } from "@pcpu/arch-generic";
import { KernelOops, LOGLEVEL_WARNING, Machine } from "@pcpu/mm";
import {
  allocPercpu,
  createBitmapAllocator,
  isKernelPercpuAddress,
  Percpu,
  perCpuPtr,
  thisCpuPtr,
  thisCpuRead,
} from "@pcpu/percpu";
import { describe, expect, it } from "vitest";
import { X86_64Arch, x86_64Canonical, x86_64FormatAddr, x86_64Internal } from "../src/index.js";
import { km, POPULATIONS, vm } from "./helpers/backends.js";

const x86_64 = new X86_64Arch();
const TiB = 2 ** 40;
const GiB = 2 ** 30;

/** The lines setup printed, without pr_debug's "per cpu data" lines (compiled out in the kernel). */
function lines(ls: readonly string[]): string[] {
  return ls.filter((l) => !l.startsWith("percpu: per cpu data for cpu"));
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

describe("setupPerCpuAreas (x86 setup_per_cpu_areas, x86_64)", () => {
  for (const p of POPULATIONS) {
    /* percpu-km wastes nothing here: every chunk is 512 pages, a power of two. */
    it(`boots 1, 2 and 8 CPUs with the kernel's boot lines (${p.name})`, () => {
      expect(lines(bootArch(x86_64, { cpus: 1 }, { population: p.factory() }).setup.lines)).toEqual([
        "setup_percpu: NR_CPUS:64 nr_cpumask_bits:64 nr_cpu_ids:1 nr_node_ids:1",
        "percpu: Embedded 45 pages/cpu s147456 r8192 d28672 u2097152",
        "pcpu-alloc: s147456 r8192 d28672 u2097152 alloc=1*2097152",
        "pcpu-alloc: [0] 0 ",
      ]);
      expect(lines(bootArch(x86_64, { cpus: 2 }, { population: p.factory() }).setup.lines)).toEqual([
        "setup_percpu: NR_CPUS:64 nr_cpumask_bits:64 nr_cpu_ids:2 nr_node_ids:1",
        "percpu: Embedded 45 pages/cpu s147456 r8192 d28672 u1048576",
        "pcpu-alloc: s147456 r8192 d28672 u1048576 alloc=1*2097152",
        "pcpu-alloc: [0] 0 1 ",
      ]);
      expect(lines(bootArch(x86_64, { cpus: 8 }, { population: p.factory() }).setup.lines)).toEqual([
        "setup_percpu: NR_CPUS:64 nr_cpumask_bits:64 nr_cpu_ids:8 nr_node_ids:1",
        "percpu: Embedded 45 pages/cpu s147456 r8192 d28672 u262144",
        "pcpu-alloc: s147456 r8192 d28672 u262144 alloc=1*2097152",
        "pcpu-alloc: [0] 0 1 2 3 4 5 6 7 ",
      ]);
    });
  }

  it("reproduces a real 16-CPU MAXSMP boot (NR_CPUS 8192, cpumask offstack)", () => {
    const k = bootArch(x86_64, { cpus: 16, nrCpusConfig: 8192 }, { population: vm() });
    expect(lines(k.setup.lines)).toEqual([
      "setup_percpu: NR_CPUS:8192 nr_cpumask_bits:16 nr_cpu_ids:16 nr_node_ids:1",
      "percpu: Embedded 45 pages/cpu s147456 r8192 d28672 u262144",
      "pcpu-alloc: s147456 r8192 d28672 u262144 alloc=1*2097152",
      /* cpu_width 2, width = 8*3 + 1 + 3 = 28, apl = rounddown_pow_of_two(60/28) = 2 */
      "pcpu-alloc: [0] 00 01 02 03 04 05 06 07 [0] 08 09 10 11 12 13 14 15 ",
    ]);
    /* Without OFFSTACK the mask is NR_CPUS bits wide. */
    const k2 = bootArch(
      x86_64,
      { cpus: 16, nrCpusConfig: 8192, cpumaskOffstack: false },
      { population: vm() },
    );
    expect(k2.setup.lines[0]).toBe(
      "setup_percpu: NR_CPUS:8192 nr_cpumask_bits:8192 nr_cpu_ids:16 nr_node_ids:1",
    );
  });

  it("groups 8 nodes x 4 CPUs by node (pcpu_cpu_distance), as a real 8-node boot", () => {
    const nodes = range(0, 8).map((n) => range(n * 4, n * 4 + 4));
    const k = bootArch(x86_64, { cpus: 32, nodes, memPerNode: GiB / 4 }, { population: vm() });
    /* upa 8 wastes 32 > 32/3; upa 4: 8 allocations, no waste => u524288 */
    expect(lines(k.setup.lines)).toEqual([
      "setup_percpu: NR_CPUS:64 nr_cpumask_bits:64 nr_cpu_ids:32 nr_node_ids:8",
      "percpu: Embedded 45 pages/cpu s147456 r8192 d28672 u524288",
      "pcpu-alloc: s147456 r8192 d28672 u524288 alloc=1*2097152",
      "pcpu-alloc: [0] 00 01 02 03 [1] 04 05 06 07 ",
      "pcpu-alloc: [2] 08 09 10 11 [3] 12 13 14 15 ",
      "pcpu-alloc: [4] 16 17 18 19 [5] 20 21 22 23 ",
      "pcpu-alloc: [6] 24 25 26 27 [7] 28 29 30 31 ",
    ]);
    /* Each group sits on its node: node n's memory is [n/4 GiB, (n+1)/4 GiB). */
    for (let cpu = 0; cpu < 32; cpu++) {
      const phys = k.machine.__pa(perCpuPtr(k.pcpu, k.section.perCpuStart, cpu));
      expect(Math.floor(phys / (GiB / 4))).toBe(Math.floor(cpu / 4));
    }
  });

  it("boots its maximum, 8192 CPUs (MAXSMP), with and without NUMA, embed and page", () => {
    /* static 0x2000: size_sum = 0xb000, max_upa 32 (64 KiB units), 256 allocations of 32 */
    const flat = bootArch(x86_64, { cpus: 8192, staticSize: 0x2000 }, { population: vm() });
    const l = lines(flat.setup.lines);
    expect(l.slice(0, 3)).toEqual([
      "setup_percpu: NR_CPUS:8192 nr_cpumask_bits:8192 nr_cpu_ids:8192 nr_node_ids:1",
      "percpu: Embedded 11 pages/cpu s8192 r8192 d28672 u65536",
      "pcpu-alloc: s8192 r8192 d28672 u65536 alloc=1*2097152",
    ]);
    expect(l[3]).toBe(
      `pcpu-alloc: [0] ${range(0, 32)
        .map((c) => String(c).padStart(4, "0"))
        .join(" ")} `,
    );
    expect(l).toHaveLength(3 + 256);
    expect(l.at(-1)).toBe(`pcpu-alloc: [0] ${range(8160, 8192).join(" ")} `);
    flat.machine.ctx.setCpu(8191);
    expect(thisCpuRead(flat.pcpu, flat.arch.cpuNumberPtr as never, 4)).toBe(8191);

    const nodes = range(0, 4).map((n) => range(n * 2048, (n + 1) * 2048));
    const numa = bootArch(x86_64, { cpus: 8192, staticSize: 0x2000, nodes }, { population: vm() });
    expect(lines(numa.setup.lines)[0]).toBe(
      "setup_percpu: NR_CPUS:8192 nr_cpumask_bits:8192 nr_cpu_ids:8192 nr_node_ids:4",
    );
    expect(numa.pcpu.nrGroups).toBe(4);

    /* Page: dyn 0 -> size_sum PFN_ALIGN(0x2000 + 0x2000 + 0x5000) = 0x9000 */
    const page = bootArch(
      x86_64,
      { cpus: 8192, staticSize: 0x2000, percpuAlloc: "page" },
      { population: vm() },
    );
    expect(lines(page.setup.lines).slice(0, 4)).toEqual([
      "setup_percpu: NR_CPUS:8192 nr_cpumask_bits:8192 nr_cpu_ids:8192 nr_node_ids:1",
      "percpu: 9 4K pages/cpu s8192 r8192 d20480",
      "pcpu-alloc: s8192 r8192 d20480 u36864 alloc=9*4096",
      "pcpu-alloc: [0] 0000 [0] 0001 [0] 0002 [0] 0003 ",
    ]);
  });

  it("falls back from embed to page when the NUMA groups are too far apart for vmalloc", () => {
    /*
     * Nodes at 0 and 25 TiB. Two groups of two: upa 2 (waste 0) => u1048576,
     * each group one 2 MiB block at the top of its node.
     *   max_distance = (25 TiB + 1 GiB - 2 MiB) - (1 GiB - 2 MiB) + 2 * 1 MiB = 0x190000200000
     *   VMALLOC_TOTAL * 3 / 4 = 0x17ffffffffff  =>  -EINVAL, page first chunk.
     */
    const k = bootArch(
      x86_64,
      {
        cpus: 4,
        nodes: [
          [0, 1],
          [2, 3],
        ],
        nodeStarts: [0, 25 * TiB],
        memPerNode: GiB,
      },
      { population: vm() },
    );
    expect(lines(k.setup.lines)).toEqual([
      "setup_percpu: NR_CPUS:64 nr_cpumask_bits:64 nr_cpu_ids:4 nr_node_ids:2",
      /* VMALLOC_TOTAL is 2^45 - 1 (VMALLOC_END is inclusive), as the kernel prints it. */
      "percpu: max_distance=0x190000200000 too large for vmalloc space 0x1fffffffffff",
      "setup_percpu: auto allocator failed (-22), falling back to page size",
      "percpu: 43 4K pages/cpu s147456 r8192 d20480",
      "pcpu-alloc: s147456 r8192 d20480 u176128 alloc=43*4096",
      "pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 ",
    ]);
    expect(k.machine.log.lines().find((l) => l.text.includes("falling back"))?.level).toBe(LOGLEVEL_WARNING);
    expect(k.setup).toMatchObject({ fc: "page", chosen: "auto", fellBack: true });
    /* The page first chunk lives in vmalloc space, its pages node-local. */
    expect(k.machine.vmalloc.isVmallocAddr(k.pcpu.baseAddr)).toBe(true);
    expect(k.machine.pgtable.translate(perCpuPtr(k.pcpu, k.section.perCpuStart, 3))).toBeGreaterThanOrEqual(
      25 * TiB,
    );
    /* The same machine with nodes 1 GiB apart embeds. */
    const near = bootArch(
      x86_64,
      {
        cpus: 4,
        nodes: [
          [0, 1],
          [2, 3],
        ],
        memPerNode: GiB,
      },
      { population: vm() },
    );
    expect(near.setup.fc).toBe("embed");
    expect(lines(near.setup.lines)[1]).toBe("percpu: Embedded 45 pages/cpu s147456 r8192 d28672 u1048576");
  });

  it("checks max_distance against 3/4 of the inclusive VMALLOC_TOTAL: 0x17ffffffffff", () => {
    /*
     * Node 1 starts at 24 TiB - 2 MiB and ends 2 MiB-aligned, so its group's
     * 2 MiB block sits at 24 TiB + 1 GiB - 4 MiB, node 0's at 1 GiB - 2 MiB:
     *   max_distance = (24 TiB - 2 MiB) + 2 * 1 MiB = 0x180000000000
     * One more than (2^45 - 1) * 3 / 4 = 0x17ffffffffff: embed fails where a
     * 2^45 total (limit 0x180000000000) would have let it through. 2 MiB
     * nearer, it embeds.
     */
    const at = (start1: number) =>
      bootArch(
        x86_64,
        {
          cpus: 4,
          nodes: [
            [0, 1],
            [2, 3],
          ],
          nodeStarts: [0, start1],
          memPerNode: GiB,
        },
        { population: vm() },
      );
    const MiB = 2 ** 20;
    const edge = at(24 * TiB - 2 * MiB);
    expect(edge.machine.vmalloc.total).toBe(0x1fff_ffff_ffff);
    expect(lines(edge.setup.lines).slice(1, 3)).toEqual([
      "percpu: max_distance=0x180000000000 too large for vmalloc space 0x1fffffffffff",
      "setup_percpu: auto allocator failed (-22), falling back to page size",
    ]);
    expect(edge.setup.fc).toBe("page");
    const inside = at(24 * TiB - 4 * MiB);
    expect(inside.setup.fc).toBe("embed");
    expect(lines(inside.setup.lines)[1]).toBe("percpu: Embedded 45 pages/cpu s147456 r8192 d28672 u1048576");
  });

  it("passes the config's reservedSize / dynSize / atomSize in place of its own (embed and page)", () => {
    /*
     * reserved 0x1000, dyn 0x6000: size_sum = 0x24000 + 0x1000 + 0x6000 =
     * 0x2b000 (43 pages); 2 MiB atom, max_upa 8, 4 CPUs => upa 4, u524288.
     */
    const sizes = { cpus: 4, reservedSize: 0x1000, dynSize: 0x6000 };
    const k = bootArch(x86_64, sizes, { population: vm() });
    expect(lines(k.setup.lines)).toEqual([
      "setup_percpu: NR_CPUS:64 nr_cpumask_bits:64 nr_cpu_ids:4 nr_node_ids:1",
      "percpu: Embedded 43 pages/cpu s147456 r4096 d24576 u524288",
      "pcpu-alloc: s147456 r4096 d24576 u524288 alloc=1*2097152",
      "pcpu-alloc: [0] 0 1 2 3 ",
    ]);
    expect(k.arch.perCpuOffset(1) - k.arch.perCpuOffset(0)).toBe(0x80000);
    /* A 4 KiB atom instead of PMD_SIZE: one 43-page unit per CPU. */
    expect(lines(bootArch(x86_64, { ...sizes, atomSize: 0x1000 }, { population: vm() }).setup.lines)).toEqual(
      [
        "setup_percpu: NR_CPUS:64 nr_cpumask_bits:64 nr_cpu_ids:4 nr_node_ids:1",
        "percpu: Embedded 43 pages/cpu s147456 r4096 d24576 u176128",
        "pcpu-alloc: s147456 r4096 d24576 u176128 alloc=43*4096",
        "pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 ",
      ],
    );
    /* dyn below PERCPU_DYNAMIC_EARLY_SIZE is raised to it (0x5000). */
    expect(lines(bootArch(x86_64, { cpus: 1, dynSize: 0x1000 }, { population: vm() }).setup.lines)[1]).toBe(
      "percpu: Embedded 43 pages/cpu s147456 r8192 d20480 u2097152",
    );
    /* The page first chunk takes the reserved size only: dyn 0 -> 0x5000, 0x2a000. */
    const page = bootArch(x86_64, { ...sizes, percpuAlloc: "page" }, { population: vm() });
    expect(lines(page.setup.lines)[1]).toBe("percpu: 42 4K pages/cpu s147456 r4096 d20480");
    expect(page.pcpu.reservedChunk).not.toBeNull();
  });

  it("honours percpu_alloc=page and percpu_alloc=embed", () => {
    const page = bootArch(x86_64, { cpus: 4, percpuAlloc: "page" }, { population: vm() });
    expect(lines(page.setup.lines)).toEqual([
      "setup_percpu: NR_CPUS:64 nr_cpumask_bits:64 nr_cpu_ids:4 nr_node_ids:1",
      "percpu: 43 4K pages/cpu s147456 r8192 d20480",
      "pcpu-alloc: s147456 r8192 d20480 u176128 alloc=43*4096",
      "pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 ",
    ]);
    expect(page.setup).toMatchObject({ fc: "page", chosen: "page", fellBack: false });
    const far = {
      cpus: 4,
      nodes: [
        [0, 1],
        [2, 3],
      ],
      nodeStarts: [0, 25 * TiB],
      memPerNode: GiB,
    };
    const embed = bootArch(x86_64, { ...far, percpuAlloc: "embed" }, { population: vm() });
    expect(lines(embed.setup.lines)[2]).toBe(
      "setup_percpu: embed allocator failed (-22), falling back to page size",
    );
    const unknown = bootArch(x86_64, { cpus: 2, percpuAlloc: "lpage" }, { population: vm() });
    expect(unknown.setup.lines[0]).toBe("percpu: unknown allocator lpage specified");
    expect(unknown.setup.fc).toBe("embed");
  });

  it("percpu-km: one group only, and never a paged first chunk", () => {
    expect(() =>
      bootArch(
        x86_64,
        {
          cpus: 4,
          nodes: [
            [0, 1],
            [2, 3],
          ],
        },
        { population: km() },
      ),
    ).toThrow("percpu: failed to initialize, pcpu_verify_alloc_info(ai) < 0");
    expect(() => bootArch(x86_64, { cpus: 4, percpuAlloc: "page" }, { population: km() })).toThrow(
      "percpu-km: contiguous percpu allocation is incompatible with paged first chunk",
    );
  });

  it("panics when neither first chunk can be built", () => {
    const cfg = x86_64.resolve({ cpus: 2 });
    const machine = new Machine(x86_64.machineConfig(cfg));
    const section = x86_64.staticSection(machine, cfg);
    const pcpu = new Percpu({
      machine,
      constants: x86_64.constants(cfg),
      area: createBitmapAllocator(),
      population: vm(),
      section,
    });
    machine.faults.add({ site: "memblock", probability: 1, caller: "pcpu_fc_alloc" });
    expect(() => x86_64.setupPerCpuAreas(pcpu, x86_64.createPercpuArch(pcpu, cfg), cfg)).toThrow(
      "Kernel panic - not syncing: cannot initialize percpu area (err=-12)",
    );
    expect(machine.log.dmesg()).toContain(
      "setup_percpu: auto allocator failed (-12), falling back to page size",
    );
    expect(machine.log.dmesg()).toContain("percpu: failed to allocate 4K page for cpu0");
  });
});

describe("myCpuOffset (x86_64 __my_cpu_offset: this_cpu_off through %gs)", () => {
  it("each CPU reads its own this_cpu_off through its own GS base", () => {
    const k = bootArch(x86_64, { cpus: 4 }, { population: vm() });
    const a = k.arch;
    for (let cpu = 0; cpu < 4; cpu++) {
      expect(a.gsBase(cpu)).toBe(a.perCpuOffset(cpu));
      expect(a.perCpuThisCpuOff(cpu)).toBe(a.perCpuOffset(cpu));
      expect(a.perCpuCpuNumber(cpu)).toBe(cpu);
      k.machine.ctx.setCpu(cpu);
      expect(a.myCpuOffset()).toBe(a.perCpuOffset(cpu));
      expect(thisCpuRead(k.pcpu, a.cpuNumberPtr as never, 4)).toBe(cpu);
    }
    /* Node 0 is [0, 4 GiB): the 2 MiB group sits at its top; __per_cpu_start is 0xffffffff82000000. */
    expect(x86_64FormatAddr(k.pcpu.baseAddr)).toBe("ffff8880ffe00000");
    expect(x86_64FormatAddr(a.perCpuOffset(0))).toBe("ffff88817de00000");
    expect(x86_64FormatAddr(a.perCpuOffset(3))).toBe("ffff88817df80000");
    /* The stored this_cpu_off is the canonical 64-bit value. */
    const at = perCpuPtr(k.pcpu, a.thisCpuOffPtr, 3);
    expect(k.machine.mem.read32(at + 4)).toBe(0xffff8881);
  });

  it("changing a CPU's GS base changes what this_cpu reads on it", () => {
    const k = bootArch(x86_64, { cpus: 4 }, { population: vm() });
    const ptr = allocPercpu(k.pcpu, 8, 8)!;
    for (let cpu = 0; cpu < 4; cpu++) k.machine.mem.write32(perCpuPtr(k.pcpu, ptr, cpu), 0x100 + cpu);
    k.machine.ctx.setCpu(1);
    expect(thisCpuRead(k.pcpu, ptr, 4)).toBe(0x101);
    k.arch.writeGsBase(1, k.arch.perCpuOffset(2));
    expect(thisCpuRead(k.pcpu, ptr, 4)).toBe(0x102);
    expect(thisCpuPtr(k.pcpu, ptr)).toBe(perCpuPtr(k.pcpu, ptr, 2));
    /* The array did not change. */
    expect(k.arch.perCpuOffset(1)).not.toBe(k.arch.perCpuOffset(2));
  });

  it("a CPU not yet up reads through GS base 0, not its array entry", () => {
    const k = bootArch(x86_64, { cpus: 4 }, { population: vm(), bringUpSecondaries: false });
    k.machine.ctx.setCpu(3);
    /* v6.15+: %gs:&this_cpu_off with base 0 is the template's this_cpu_off (0). */
    expect(k.arch.myCpuOffset()).toBe(0);
    expect(thisCpuPtr(k.pcpu, k.arch.cpuNumberPtr)).toBe(k.arch.cpuNumberPtr);
    k.arch.bringUpCpu(3);
    expect(k.arch.myCpuOffset()).toBe(k.arch.perCpuOffset(3));
    /* Zero-based (<= 6.14): %gs:0x30 with base 0 is address 0x30, unmapped. */
    const z = bootArch(x86_64, { cpus: 4, era: "v6.14" }, { population: vm(), bringUpSecondaries: false });
    z.machine.ctx.setCpu(3);
    expect(() => z.arch.myCpuOffset()).toThrow(KernelOops);
    expect(z.machine.log.dmesg()).toContain("BUG: unable to handle page fault for address: 0000000000000030");
  });

  it("the boot CPU runs on BOOT_PERCPU_OFFSET before setup", () => {
    for (const era of ["v6", "v6.14"] as const) {
      const cfg = x86_64.resolve({ cpus: 2, era });
      const machine = new Machine(x86_64.machineConfig(cfg));
      const section = x86_64.staticSection(machine, cfg);
      const pcpu = new Percpu({
        machine,
        constants: x86_64.constants(cfg),
        area: createBitmapAllocator(),
        population: vm(),
        section,
      });
      const arch = x86_64.createPercpuArch(pcpu, cfg);
      const boot = era === "v6" ? 0 : section.perCpuLoad;
      expect(arch.perCpuOffset(1)).toBe(boot);
      expect(arch.myCpuOffset()).toBe(boot);
      /* this_cpu_ptr(&cpu_number) is the template's copy, at __per_cpu_load. */
      expect(arch.ptrAdd(arch.cpuNumberPtr, arch.myCpuOffset())).toBe(
        section.perCpuLoad + section.symbols.cpu_number!.offset,
      );
    }
  });
});

describe("zero-based x86_64 percpu section (<= v6.14)", () => {
  it("links .data..percpu at 0 and loads it at 0xffffffff82000000", () => {
    const k = bootArch(x86_64, { cpus: 2, era: "v6.14" }, { population: vm() });
    expect(k.section.perCpuStart).toBe(0);
    expect(x86_64FormatAddr(k.section.perCpuLoad)).toBe("ffffffff82000000");
    expect(k.section.symbols.fixed_percpu_data).toEqual({ name: "fixed_percpu_data", offset: 0, size: 0x30 });
    /* Offsets are the units' addresses themselves. */
    expect(x86_64FormatAddr(k.arch.perCpuOffset(0))).toBe("ffff8880ffe00000");
    expect(k.arch.perCpuOffset(0)).toBe(k.pcpu.baseAddr);
  });

  it("a NULL percpu pointer is valid (each CPU's fixed_percpu_data) only while zero-based", () => {
    const z = bootArch(x86_64, { cpus: 2, era: "v6.14" }, { population: vm() });
    for (let cpu = 0; cpu < 2; cpu++) {
      const a = perCpuPtr(z.pcpu, 0, cpu);
      expect(a).toBe(z.pcpu.baseAddr + z.pcpu.unitOffsets[cpu]!);
      expect(isKernelPercpuAddress(z.pcpu, a)).toBe(true);
    }
    /* 6.15: per_cpu_ptr(NULL, cpu) is 0 + (base - __per_cpu_start): not percpu memory. */
    const r = bootArch(x86_64, { cpus: 2 }, { population: vm() });
    for (let cpu = 0; cpu < 2; cpu++) {
      const a = perCpuPtr(r.pcpu, 0, cpu);
      expect(x86_64FormatAddr(a)).toBe(x86_64FormatAddr(r.arch.perCpuOffset(cpu)));
      expect(isKernelPercpuAddress(r.pcpu, a)).toBe(false);
    }
  });

  it("2.6.32 era: 2009 layout, atom PMD_SIZE only with PSE", () => {
    const pse = bootArch(x86_64, { cpus: 4, era: "v2.6.32" }, { population: vm() });
    /* 2.6.32: dyn 8K + 20K - 8K = 20K, no early floor, 64K minimum unit. */
    expect(lines(pse.setup.lines)).toEqual([
      "NR_CPUS:64 nr_cpumask_bits:64 nr_cpu_ids:4 nr_node_ids:1",
      "PERCPU: Embedded 43 pages/cpu @ffff8800ffe00000 s147456 r8192 d20480 u524288",
      "pcpu-alloc: s147456 r8192 d20480 u524288 alloc=1*2097152",
      "pcpu-alloc: [0] 0 1 2 3 ",
    ]);
    const nopse = bootArch(x86_64, { cpus: 4, era: "v2.6.32", pse: false }, { population: vm() });
    /* 4 * 0x2b000 = 0xac000 below 4 GiB */
    expect(lines(nopse.setup.lines).slice(1)).toEqual([
      "PERCPU: Embedded 43 pages/cpu @ffff8800fff54000 s147456 r8192 d20480 u176128",
      "pcpu-alloc: s147456 r8192 d20480 u176128 alloc=43*4096",
      "pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 ",
    ]);
  });
});

describe("layout (x86_64 pgtable_64_types.h)", () => {
  it("uses the 4-level numbers per era", () => {
    const l = x86_64.layout({ cpus: 1 });
    expect(x86_64FormatAddr(l.pageOffset)).toBe("ffff888000000000");
    expect(x86_64FormatAddr(l.vmallocStart)).toBe("ffffc90000000000");
    expect(l.vmallocTotal).toBe(0x1fff_ffff_ffff);
    expect(x86_64FormatAddr(x86_64.layout({ cpus: 1, era: "v4.14" }).pageOffset)).toBe("ffff880000000000");
    expect(x86_64FormatAddr(x86_64.layout({ cpus: 1, era: "v2.6.32" }).vmallocStart)).toBe(
      "ffffc20000000000",
    );
    expect(() => x86_64.layout({ cpus: 1, nodeStarts: [64 * TiB] })).toThrow(
      "x86_64: physical memory ends at 0x400100000000, beyond the direct map (0x400000000000)",
    );
    expect(() => x86_64.resolve({ cpus: 1, vmallocSize: 1 << 27 })).toThrow(
      "x86_64: this arch has no vmalloc= parameter",
    );
    expect(() => x86_64.resolve({ cpus: 8193 })).toThrow("x86_64: cpus must be an integer in [1, 8192]");
    expect(() => x86_64.resolve({ cpus: 1, era: "v2.6.30" })).toThrow(
      'x86_64: era "v2.6.30" is not modelled',
    );
  });

  it("converts between canonical addresses and the internal 48-bit form", () => {
    expect(x86_64Internal(0xffff_8880_0000_0000n)).toBe(0x8880_0000_0000);
    expect(x86_64Internal(0x30n)).toBe(0x30);
    expect(x86_64Canonical(0xffff_8200_0000)).toBe(0xffff_ffff_8200_0000n);
    expect(x86_64Canonical(-0x10)).toBe(0xffff_ffff_ffff_fff0n);
    expect(x86_64FormatAddr(0x4080_0000_0000)).toBe("0000408000000000");
    expect(() => x86_64Internal(0x0001_0000_0000_0000n)).toThrow(
      "0x1000000000000 is not a canonical x86_64 address",
    );
  });
});
