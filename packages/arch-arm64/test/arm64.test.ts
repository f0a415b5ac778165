/*
 * arm64: three page sizes, the generic setup without NUMA and
 * drivers/base/arch_numa.c's with it, TPIDR_EL1/TPIDR_EL2, the 48-bit layout.
 *
 * Default static s91224 (a Raspberry Pi 4 5.x log): size_sum =
 * 91224 + 8K + 28K = 128088 -> 32 x 4K, 8 x 16K or 2 x 64K pages, always
 * 131072 bytes: d31656 whatever the page size; the atom is PAGE_SIZE.
 */
import { bootArch } from "@pcpu/arch-generic";
import { allocPercpu, perCpuPtr } from "@pcpu/percpu";
import { describe, expect, it } from "vitest";
import { Arm64Arch, arm64FallbackLine, arm64Internal, arm64Layout, arm64PudSize } from "../src/index.js";
import { km, POPULATIONS, vm } from "./helpers/backends.js";

const hex = (internal: number) => `0xffff${internal.toString(16).padStart(12, "0")}`;

describe("Arm64Arch construction", () => {
  it("builds 4K, 16K and 64K pages and refuses anything else", () => {
    expect([4096, 16384, 65536].map((pageSize) => new Arm64Arch({ pageSize }).pageShift)).toEqual([
      12, 14, 16,
    ]);
    expect(new Arm64Arch().pageShift).toBe(12);
    for (const bad of [8192, 32768, 2 ** 20, 4095])
      expect(() => new Arm64Arch({ pageSize: bad })).toThrow(/page size must be 4096, 16384 or 65536/);
  });
});

describe("layout (asm/memory.h, 48-bit VA)", () => {
  it("puts vmalloc between MODULES_END and -PUD_SIZE - VMEMMAP_SIZE - 64K", () => {
    expect([12, 14, 16].map((s) => arm64PudSize(s as 12 | 14 | 16))).toEqual([2 ** 30, 2 ** 36, 2 ** 42]);
    const v6 = [12, 14, 16].map((s) => arm64Layout("v6", s as 12 | 14 | 16));
    expect(v6.map((l) => [hex(l.pageOffset), hex(l.vmallocStart), hex(l.vmallocEnd)])).toEqual([
      ["0xffff000000000000", "0xffff800080000000", "0xfffffdffbfff0000"],
      ["0xffff000000000000", "0xffff800080000000", "0xffffff6fffff0000"],
      ["0xffff000000000000", "0xffff800080000000", "0xfffffbdfffff0000"],
    ]);
    /* 5.x: 128M BPF JIT region, then 128M of modules (a 5.4 boot log's layout) */
    const v5 = arm64Layout("v5.14", 12);
    expect([hex(v5.modulesStart), hex(v5.modulesEnd), hex(v5.vmallocEnd)]).toEqual([
      "0xffff800008000000",
      "0xffff800010000000",
      "0xfffffdffbfff0000",
    ]);
    /* 4.x: the linear map in the upper half */
    const v4 = arm64Layout("v4.14", 12);
    expect([hex(v4.pageOffset), hex(v4.vmallocStart), hex(v4.vmallocEnd)]).toEqual([
      "0xffff800000000000",
      "0xffff000008000000",
      "0xffff7dffbfff0000",
    ]);
  });

  it("links .data..percpu in the kernel image, the first vmalloc area", () => {
    const k = bootArch(new Arm64Arch({ pageSize: 16384 }), { cpus: 2 }, { population: vm() });
    expect(k.machine.formatAddr(k.section.perCpuStart)).toBe("ffff800082000000");
    const areas = k.machine.vmalloc.areas();
    expect(areas[0]!.addr).toBe(arm64Layout("v6", 14).kimageVaddr);
    expect(areas[0]!.caller).toBe("paging_init");
    expect(arm64Internal(0xffff800082000000n)).toBe(k.section.perCpuStart);
    expect(() => arm64Internal(0x0000800082000000n)).toThrow(/not an arm64 kernel address/);
  });

  it("refuses more memory than the 128 TiB linear map", () => {
    expect(() => new Arm64Arch().layout({ cpus: 1, memPerNode: 2 ** 47 + 2 ** 30 })).toThrow(
      /128 TiB linear map/,
    );
  });
});

describe("setupPerCpuAreas", () => {
  for (const p of POPULATIONS) {
    it(`embeds with the generic setup on one node, any page size (${p.name})`, () => {
      for (const [pageSize, pages] of [
        [4096, 32],
        [16384, 8],
        [65536, 2],
      ] as const) {
        const k = bootArch(new Arm64Arch({ pageSize }), { cpus: 4 }, { population: p.factory() });
        const lines = k.setup.lines.filter((l) => !l.startsWith("percpu: wasting"));
        expect(lines).toEqual([
          `percpu: Embedded ${pages} pages/cpu s91224 r8192 d31656 u131072`,
          `pcpu-alloc: s91224 r8192 d31656 u131072 alloc=${pages}*${pageSize}`,
          "pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 ",
        ]);
        expect(k.pcpu.constants.PCPU_BITMAP_BLOCK_SIZE).toBe(pageSize);
        expect(k.pcpu.constants.PCPU_MIN_UNIT_SIZE).toBe(Math.max(32768, pageSize));
      }
    });
  }

  it("groups CPUs by node with node_distance(early_cpu_to_node(a), early_cpu_to_node(b))", () => {
    const a = new Arm64Arch({ pageSize: 65536 });
    const nodes = [
      [0, 1],
      [2, 3],
    ];
    const k = bootArch(a, { cpus: 4, nodes }, { population: vm() });
    expect(k.setup.lines.at(-1)).toBe("pcpu-alloc: [0] 0 [0] 1 [1] 2 [1] 3 ");
    const cfg = a.resolve({ cpus: 4, nodes });
    expect([a.pcpuCpuDistance(cfg)(0, 1), a.pcpuCpuDistance(cfg)(1, 2)]).toEqual([10, 20]);
    /* the SLIT decides, not the node numbers: a far pair of nodes still splits, and only the distance table is asked */
    const asked: [number, number][] = [];
    const slit = a.resolve({
      cpus: 4,
      nodes,
      nodeDistance: (x, y) => {
        asked.push([x, y]);
        return x === y ? 10 : 40;
      },
    });
    expect([a.pcpuCpuDistance(slit)(0, 3), a.pcpuCpuDistance(slit)(2, 3)]).toEqual([40, 10]);
    expect(asked).toEqual([
      [0, 1],
      [1, 1],
    ]);
    /* node-local units: each group's memory comes from its node (nodes are 4 GiB, back to back) */
    const nodeOf = (cpu: number) =>
      Math.floor(k.machine.__pa(k.arch.wrap(k.arch.perCpuOffset(cpu) + k.section.perCpuStart)) / 2 ** 32);
    expect([0, 1, 2, 3].map(nodeOf)).toEqual([0, 0, 1, 1]);
  });

  it("builds the page first chunk on NUMA from 5.17 (v6.14, v6), not before", () => {
    const a = new Arm64Arch({ pageSize: 65536 });
    const nodes = [
      [0, 1],
      [2, 3],
    ];
    const page = bootArch(a, { cpus: 4, nodes, percpuAlloc: "page" }, { population: vm() });
    expect(page.setup.fc).toBe("page");
    /* pcpu_page_first_chunk: PFN_ALIGN(91224 + 8K + PERCPU_DYNAMIC_EARLY_SIZE 20K) = 2 x 64K */
    expect(page.setup.lines).toEqual([
      "percpu: 2 64K pages/cpu s91224 r8192 d31656",
      "pcpu-alloc: s91224 r8192 d31656 u131072 alloc=2*65536",
      "pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 ",
    ]);
    const old = bootArch(a, { cpus: 4, nodes, percpuAlloc: "page", era: "v5.14" }, { population: vm() });
    expect(old.setup.fc).toBe("embed");
    expect(old.setup.lines[0]).toBe("percpu: unknown allocator page specified");
    const flat = bootArch(a, { cpus: 4, percpuAlloc: "page" }, { population: vm() });
    expect([flat.setup.fc, flat.setup.lines[0]]).toEqual([
      "embed",
      "percpu: unknown allocator page specified",
    ]);
    expect(() => bootArch(a, { cpus: 4, nodes, percpuAlloc: "page" }, { population: km() })).toThrow(
      /incompatible with paged first chunk/,
    );
    expect(arm64FallbackLine("auto", -22)).toBe(
      "NUMA: PERCPU: auto allocator failed (-22), falling back to page size",
    );
  });
});

describe("TPIDR_EL1 / TPIDR_EL2", () => {
  it("holds 0 until the CPU publishes its offset, then __per_cpu_offset[cpu]", () => {
    const k = bootArch(
      new Arm64Arch({ pageSize: 16384 }),
      { cpus: 4 },
      { population: vm(), bringUpSecondaries: false },
    );
    expect(k.arch.mechanism).toBe("TPIDR_EL1 (mrs x, tpidr_el1)");
    expect(k.arch.tpidrEl1[0]).toBe(k.arch.perCpuOffset(0));
    expect(k.arch.tpidrEl1[2]).toBe(0);
    k.arch.bringUpCpu(2);
    expect(k.arch.cpuOffsetOf(2)).toBe(k.arch.perCpuOffset(2));
    expect([...k.arch.tpidrEl2]).toEqual([0, 0, 0, 0]);
    expect(() => k.arch.setMyCpuOffset(4, 0)).toThrow(/not a possible CPU/);
  });

  it("uses TPIDR_EL2 in a VHE kernel, and this_cpu_ptr finds the CPU's copy", () => {
    const k = bootArch(new Arm64Arch({ pageSize: 65536, vhe: true }), { cpus: 2 }, { population: vm() });
    expect(k.arch.mechanism).toMatch(/^TPIDR_EL2/);
    expect([...k.arch.tpidrEl2]).toEqual([k.arch.perCpuOffset(0), k.arch.perCpuOffset(1)]);
    expect([...k.arch.tpidrEl1]).toEqual([0, 0]);
    const p = allocPercpu(k.pcpu, 8, 8)!;
    const a1 = perCpuPtr(k.pcpu, p, 1);
    expect(k.arch.formatAddr(a1)).toMatch(/^ffff[0-9a-f]{12}$/);
    /* unit 1 is one unit (u131072 = 2 x 64K) above unit 0 */
    expect(a1 - perCpuPtr(k.pcpu, p, 0)).toBe(131072);
  });
});
