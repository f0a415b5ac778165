/*
 * The asm-generic arch: the generic setup_per_cpu_areas() (embed with
 * PERCPU_MODULE_RESERVE, PERCPU_DYNAMIC_RESERVE, PAGE_SIZE atoms, no
 * distance function), __per_cpu_offset[] and __my_cpu_offset through the
 * CPU number, on the model's generic 64-bit machine.
 *
 * Numbers (v6, 64-bit, 4 KiB pages, default static 0x10000):
 *   size_sum = PFN_ALIGN(0x10000 + 0x2000 + max(0x7000, 0x5000)) = 0x19000 (25 pages)
 *   dyn = 0x7000, atom 4 KiB => alloc_size = unit_size = 0x19000, upa 1
 */
import { LOGLEVEL_INFO, Machine } from "@pcpu/mm";
import { createBitmapAllocator, Percpu, perCpuPtr, thisCpuPtr } from "@pcpu/percpu";
import { describe, expect, it } from "vitest";
import { ArchPercpu, bootArch, GenericArch } from "../src/index.js";
import { km, POPULATIONS, vm } from "./helpers/backends.js";

const generic = new GenericArch();

/** The setup lines without the pr_debug "per cpu data" lines (the kernel compiles pr_debug out). */
function lines(ls: readonly string[]): string[] {
  return ls.filter((l) => !l.startsWith("percpu: per cpu data for cpu"));
}

describe("setupPerCpuAreas (setup_per_cpu_areas, mm/percpu.c generic)", () => {
  for (const p of POPULATIONS) {
    /* percpu-km's pcpu_verify_alloc_info() reports the roundup_pow_of_two waste of its blocks. */
    const waste = (pages: number) => (p.name === "km" ? [`percpu: wasting ${pages} pages per chunk`] : []);
    it(`boots 1, 2 and 8 CPUs with the kernel's boot lines (${p.name})`, () => {
      expect(lines(bootArch(generic, { cpus: 1 }, { population: p.factory() }).setup.lines)).toEqual([
        "percpu: Embedded 25 pages/cpu s65536 r8192 d28672 u102400",
        ...waste(32 - 25),
        "pcpu-alloc: s65536 r8192 d28672 u102400 alloc=25*4096",
        "pcpu-alloc: [0] 0 ",
      ]);
      expect(lines(bootArch(generic, { cpus: 2 }, { population: p.factory() }).setup.lines)).toEqual([
        "percpu: Embedded 25 pages/cpu s65536 r8192 d28672 u102400",
        ...waste(64 - 50),
        "pcpu-alloc: s65536 r8192 d28672 u102400 alloc=25*4096",
        "pcpu-alloc: [0] 0 [0] 1 ",
      ]);
      /* cpu_width 1, width = 1*2 + 1 + 3 = 6, apl = rounddown_pow_of_two(60 / 6) = 8: one line. */
      expect(lines(bootArch(generic, { cpus: 8 }, { population: p.factory() }).setup.lines)).toEqual([
        "percpu: Embedded 25 pages/cpu s65536 r8192 d28672 u102400",
        ...waste(256 - 200),
        "pcpu-alloc: s65536 r8192 d28672 u102400 alloc=25*4096",
        "pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 [0] 4 [0] 5 [0] 6 [0] 7 ",
      ]);
    });
  }

  it("passes the config's reservedSize / dynSize / atomSize in place of its own request", () => {
    /*
     * size_sum = PFN_ALIGN(0x10000 + 0x4000 + 0x8000) = 0x1c000 (28 pages);
     * atom 4 KiB: unit 0x1c000. Atom 64 KiB: alloc_size = roundup(0x1c000,
     * 0x10000) = 0x20000, upa 1: 128 KiB units of two 64 KiB atoms
     * (the dump prints alloc_size / atom_size * atom_size).
     */
    const sizes = { reservedSize: 0x4000, dynSize: 0x8000 };
    expect(lines(bootArch(generic, { cpus: 2, ...sizes }, { population: vm() }).setup.lines)).toEqual([
      "percpu: Embedded 28 pages/cpu s65536 r16384 d32768 u114688",
      "pcpu-alloc: s65536 r16384 d32768 u114688 alloc=28*4096",
      "pcpu-alloc: [0] 0 [0] 1 ",
    ]);
    const big = bootArch(generic, { cpus: 2, ...sizes, atomSize: 0x10000 }, { population: vm() });
    expect(lines(big.setup.lines)).toEqual([
      "percpu: Embedded 28 pages/cpu s65536 r16384 d32768 u131072",
      "pcpu-alloc: s65536 r16384 d32768 u131072 alloc=2*65536",
      "pcpu-alloc: [0] 0 [0] 1 ",
    ]);
    expect(big.pcpu.reservedChunk).not.toBeNull();
    /* A reserved size of 0: no reserved chunk; only the dyn size given: reserved stays 8K. */
    const none = bootArch(generic, { cpus: 1, reservedSize: 0 }, { population: vm() });
    expect(lines(none.setup.lines)[0]).toBe("percpu: Embedded 23 pages/cpu s65536 r0 d28672 u94208");
    expect(none.pcpu.reservedChunk).toBeNull();
    const dyn = bootArch(generic, { cpus: 1, dynSize: 0x6000 }, { population: vm() });
    expect(lines(dyn.setup.lines)[0]).toBe("percpu: Embedded 24 pages/cpu s65536 r8192 d24576 u98304");
    expect(
      generic.firstChunkSizes({ cpus: 1, atomSize: 0x2000 }, { reservedSize: 1, dynSize: 2, atomSize: 3 }),
    ).toEqual({ reservedSize: 1, dynSize: 2, atomSize: 0x2000 });
  });

  it("boots its maximum, 512 CPUs: 4 allocations per dump line", () => {
    const k = bootArch(generic, { cpus: 512, staticSize: 0x3000 }, { population: vm() });
    /* size_sum = PFN_ALIGN(0x3000 + 0x2000 + 0x7000) = 0xc000; width = 4 + 1 + 3 = 8, apl 4 => 128 lines. */
    const l = lines(k.setup.lines);
    expect(l[0]).toBe("percpu: Embedded 12 pages/cpu s12288 r8192 d28672 u49152");
    expect(l[1]).toBe("pcpu-alloc: s12288 r8192 d28672 u49152 alloc=12*4096");
    expect(l[2]).toBe("pcpu-alloc: [0] 000 [0] 001 [0] 002 [0] 003 ");
    expect(l[129]).toBe("pcpu-alloc: [0] 508 [0] 509 [0] 510 [0] 511 ");
    expect(l).toHaveLength(130);
    expect(k.constants.NR_CPUS).toBe(512);
  });

  it("fills __per_cpu_offset[] with pcpu_base_addr - __per_cpu_start + pcpu_unit_offsets[cpu]", () => {
    const k = bootArch(generic, { cpus: 2 }, { population: vm() });
    /*
     * Node 0 is [0, 1 GiB); the group takes 2 * 0x19000 top-down: phys
     * 0x3ffce000, base 0x1000_0000_0000 + that. __per_cpu_start is
     * 0x1000_0000_0000 + 16 MiB.
     */
    expect(k.pcpu.baseAddr).toBe(0x1000_3ffc_e000);
    expect(k.section.perCpuStart).toBe(0x1000_0100_0000);
    expect(k.arch.perCpuOffset(0)).toBe(0x3efc_e000);
    expect(k.arch.perCpuOffset(1)).toBe(0x3efe_7000);
    expect(k.arch.formatAddr(k.arch.perCpuOffset(1))).toBe("000000003efe7000");
    expect(generic.formatAddr(0x1000_3ffc_e000)).toBe("000010003ffce000");
  });

  it("copies the static template into every unit", () => {
    const template = Uint8Array.from({ length: 0x100 }, (_, i) => (i * 7 + 3) & 0xff);
    const k = bootArch(generic, { cpus: 4, template }, { population: vm() });
    for (let cpu = 0; cpu < 4; cpu++) {
      for (const i of [0, 0x7f, 0xff])
        expect(k.machine.mem.read8(perCpuPtr(k.pcpu, k.section.perCpuStart + i, cpu))).toBe(template[i]);
    }
  });

  it("with CONFIG_NUMA and no cpu_to_node callback, reports the unknown node once per group", () => {
    const k = bootArch(
      generic,
      {
        cpus: 4,
        nodes: [
          [0, 1],
          [2, 3],
        ],
      },
      { population: vm() },
    );
    expect(k.machine.log.dmesg(LOGLEVEL_INFO)).toContain("percpu: cpu 0 has no node -1 or node-local memory");
    /* No distance function: one group of four. */
    expect(k.pcpu.nrGroups).toBe(1);
  });

  it("percpu_alloc= is unknown on an arch that selects no NEED_PER_CPU_*_FIRST_CHUNK", () => {
    const k = bootArch(generic, { cpus: 2, percpuAlloc: "embed" }, { population: vm() });
    expect(k.setup.lines[0]).toBe("percpu: unknown allocator embed specified");
    expect(k.setup.chosen).toBe("auto");
    expect(k.setup.fc).toBe("embed");
  });

  it("panics with the kernel's text when the embed allocation fails", () => {
    const cfg = generic.resolve({ cpus: 2 });
    const machine = new Machine(generic.machineConfig(cfg));
    const section = generic.staticSection(machine, cfg);
    const pcpu = new Percpu({
      machine,
      constants: generic.constants(cfg),
      area: createBitmapAllocator(),
      population: vm(),
      section,
    });
    machine.faults.add({ site: "memblock", nth: 1, caller: "pcpu_fc_alloc" });
    expect(() => generic.setupPerCpuAreas(pcpu, generic.createPercpuArch(pcpu, cfg), cfg)).toThrow(
      "Kernel panic - not syncing: Failed to initialize percpu areas.",
    );
  });
});

describe("myCpuOffset (__my_cpu_offset, asm-generic)", () => {
  it("indexes __per_cpu_offset[] with the current CPU number", () => {
    const k = bootArch(generic, { cpus: 4 }, { population: km() });
    const p = k.section.perCpuStart + 0x40;
    for (let cpu = 0; cpu < 4; cpu++) {
      k.machine.ctx.setCpu(cpu);
      expect(k.arch.myCpuOffset()).toBe(k.arch.perCpuOffset(cpu));
      expect(thisCpuPtr(k.pcpu, p)).toBe(perCpuPtr(k.pcpu, p, cpu));
    }
    /* The array is the mechanism: changing the entry changes what CPU 3 reads. */
    k.arch.perCpuOffsets[3] = k.arch.perCpuOffset(1);
    expect(thisCpuPtr(k.pcpu, p)).toBe(perCpuPtr(k.pcpu, p, 1));
    expect(k.arch.mechanism).toBe("__per_cpu_offset[raw_smp_processor_id()]");
  });
});

describe("ArchPercpu (asm-generic pointer arithmetic)", () => {
  it("round-trips __addr_to_pcpu_ptr and __pcpu_ptr_to_addr", () => {
    const k = bootArch(generic, { cpus: 2 }, { population: vm() });
    const a = k.pcpu.baseAddr + 0x12344;
    const ptr = k.arch.addrToPcpuPtr(a);
    expect(ptr).toBe(k.section.perCpuStart + 0x12344);
    expect(k.arch.pcpuPtrToAddr(ptr)).toBe(a);
  });

  it("wraps modulo 2^32 when the arch is 32-bit", () => {
    const k = bootArch(generic, { cpus: 1 }, { population: vm() });
    const a32 = new ArchPercpu(k.pcpu, "generic", 32, 0, "test");
    expect(a32.ptrAdd(0xc1a0_0010, 0xff60_0000)).toBe(0xc100_0010);
    expect(a32.wrap(-0xa0_0000)).toBe(0xff60_0000);
    expect(a32.formatAddr(-1)).toBe("ffffffff");
    expect(() => a32.bringUpCpu(1)).toThrow("bringUpCpu: cpu 1 is not a possible CPU (nr_cpu_ids 1)");
  });
});

describe("resolve (configuration checks)", () => {
  const bad: [string, object, string][] = [
    ["no CPU", { cpus: 0 }, "generic: cpus must be an integer in [1, 512]"],
    ["too many CPUs", { cpus: 513 }, "generic: cpus must be an integer in [1, 512]"],
    ["an unknown era", { cpus: 1, era: "v2.6.30" }, 'generic: era "v2.6.30" is not modelled'],
    [
      "NR_CPUS below cpus",
      { cpus: 8, nrCpusConfig: 4 },
      "generic: nrCpusConfig (CONFIG_NR_CPUS) must be an integer in [cpus=8, 512]",
    ],
    ["a CPU in two nodes", { cpus: 2, nodes: [[0, 1], [1]] }, "generic: cpu 1 is in node 0 and node 1"],
    ["a CPU in no node", { cpus: 3, nodes: [[0], [1]] }, "generic: cpu 2 is in no node"],
    [
      "an impossible CPU",
      { cpus: 2, nodes: [[0, 5], [1]] },
      "generic: node 0 lists cpu 5, not a possible CPU",
    ],
    ["nodes without NUMA", { cpus: 2, nodes: [[0], [1]], numa: false }, "generic: 2 nodes need CONFIG_NUMA"],
    [
      "unaligned memory",
      { cpus: 1, memPerNode: 0x1001 },
      "generic: memPerNode must be a positive multiple of the page size",
    ],
    [
      "node starts mismatch",
      { cpus: 1, nodeStarts: [0, 1 << 30] },
      "generic: nodeStarts has 2 entries for 1 nodes",
    ],
    ["vmalloc=", { cpus: 1, vmallocSize: 1 << 26 }, "generic: this arch has no vmalloc= parameter"],
    ["x86 options", { cpus: 1, pse: false }, "generic: pse and cpumaskOffstack are x86 options"],
    [
      "random kmalloc caches in 2009",
      { cpus: 1, era: "v2.6.32", randomKmallocCaches: true },
      "CONFIG_RANDOM_KMALLOC_CACHES only exists in v6",
    ],
    ["a zero static size", { cpus: 1, staticSize: 0 }, "generic: staticSize must be a positive integer"],
    [
      "a negative reserved size",
      { cpus: 1, reservedSize: -4 },
      "generic: reservedSize must be a non-negative integer, got -4",
    ],
    ["a fractional dyn size", { cpus: 1, dynSize: 16.5 }, "generic: dynSize must be a non-negative integer"],
    [
      "an atom size below a page",
      { cpus: 1, atomSize: 0x800 },
      "generic: atomSize must be a power of two of at least the page size 0x1000, got 2048",
    ],
    [
      "an atom size that is no power of two",
      { cpus: 1, atomSize: 0x3000 },
      "generic: atomSize must be a power of two of at least the page size 0x1000, got 12288",
    ],
  ];
  for (const [what, cfg, msg] of bad) {
    it(`rejects ${what}`, () => {
      expect(() => generic.resolve(cfg as never)).toThrow(msg);
    });
  }

  it("fills the defaults: v6, NR_CPUS max(default, cpus), one node, no NUMA", () => {
    const cfg = generic.resolve({ cpus: 100 });
    expect(cfg.era).toBe("v6");
    expect(cfg.pcpuEra).toBe("v6");
    expect(cfg.nrCpusConfig).toBe(100);
    expect(cfg.numa).toBe(false);
    expect(cfg.nodes).toHaveLength(1);
    expect(generic.resolve({ cpus: 2 }).nrCpusConfig).toBe(64);
    expect(generic.resolve({ cpus: 2, era: "v6.14" }).pcpuEra).toBe("v6");
  });

  it("reports a static section the machine has no memory for", () => {
    const cfg = generic.resolve({ cpus: 1, memPerNode: 0x100_0000 });
    const machine = new Machine(generic.machineConfig(cfg));
    expect(() => generic.staticSection(machine, cfg)).toThrow(
      "generic: .data..percpu at physical 0x1000000-0x100ffff is not in the machine's memory; give node 0 more memory (memPerNode)",
    );
  });

  it("refuses a template larger than the section", () => {
    const cfg = generic.resolve({ cpus: 1, staticSize: 0x10, template: new Uint8Array(0x20) });
    const machine = new Machine(generic.machineConfig(cfg));
    expect(() => generic.staticSection(machine, cfg)).toThrow(
      "generic: template is 32 bytes, larger than staticSize 16",
    );
  });
});
