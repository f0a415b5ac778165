import { GFP_KERNEL, KernelBug, Machine, type MachineConfig, MachineConfigError, PhysMemory } from "@pcpu/mm";
import { describe, expect, it } from "vitest";
import { i386, thrown, X64, x64 } from "./fixtures.js";

describe("validateMachineConfig", () => {
  const bad: [string, Partial<MachineConfig>, string][] = [
    ["page shift", { pageShift: 11 }, "pageShift 11"],
    ["bits", { bits: 16 as 32 }, "bits 16"],
    ["vaBits on 64-bit", { vaBits: 53 }, "vaBits 53"],
    ["vaBits on 32-bit", { bits: 32, vaBits: 33 }, "vaBits 33 must be 32"],
    ["CPUs", { nrCpus: 0 }, "nrCpus 0"],
    ["no nodes", { nodes: [] }, "at least one node"],
    [
      "unaligned node start",
      { nodes: [{ start: 0x800, size: 0x1000 }] },
      "node 0: start 2048 is not page aligned",
    ],
    ["unaligned node size", { nodes: [{ start: 0, size: 0x1800 }] }, "node 0: size 6144"],
    ["node above 2^52", { nodes: [{ start: 2 ** 52, size: 0x1000 }] }, "ends above 2^52"],
    [
      "overlapping nodes",
      {
        nodes: [
          { start: 0x100000, size: 0x200000 },
          { start: 0x0, size: 0x200000 },
        ],
      },
      "node 1 and node 0 overlap",
    ],
    ["page offset", { pageOffset: 0x123 }, "pageOffset 0x123"],
    ["direct map size", { directMapSize: 0x800 }, "directMapSize 2048"],
    ["direct map too big", { pageOffset: 2 ** 47 - 0x1000 }, "leaves the address space"],
    ["unaligned vmalloc", { vmallocStart: 0x200000000800 }, "must be page aligned"],
    ["empty vmalloc", { vmallocEnd: 0x200000000000 }, "must be non-empty"],
    ["vmalloc outside", { vmallocEnd: 2 ** 48 }, "inside the address space"],
    ["vmalloc over the direct map", { vmallocStart: 0x100000000000 }, "overlaps the direct map"],
    ["cpuToNode length", { cpuToNode: [0, 0] }, "cpuToNode has 2 entries for 4 CPUs"],
    ["cpuToNode entry", { cpuToNode: [0, 0, 1, 2] }, "cpuToNode[3] = 2 is not a node (0..1)"],
    ["distance range", { nodeDistance: (a, b) => (a === b ? 10 : 300) }, "nodeDistance(0, 1) = 300"],
    ["distance to self", { nodeDistance: () => 20 }, "only a node to itself is at 10"],
    ["max order", { maxPageOrder: 30 }, "maxPageOrder 30"],
    ["seed", { seed: 1.5 }, "seed 1.5"],
  ];
  for (const [what, over, msg] of bad) {
    it(`rejects a bad ${what}`, () => {
      const e = thrown(() => new Machine({ ...X64, ...over }));
      expect(e).toBeInstanceOf(MachineConfigError);
      expect(e.message).toContain(msg);
    });
  }
});

describe("Machine (boot-time facts)", () => {
  it("exposes the configuration the arch layer chose", () => {
    const m = x64();
    expect([m.pageSize, m.pageShift, m.bits, m.vaBits, m.nrCpus, m.nrNodes]).toEqual([
      0x1000, 12, 64, 47, 4, 2,
    ]);
    expect(Array.from(m.cpuToNode)).toEqual([0, 0, 1, 1]);
    expect(m.littleEndian).toBe(true);
    expect(m.directMapSize).toBe(0x8000000);
    expect(m.nodeDistance(0, 0)).toBe(10);
    expect(m.nodeDistance(0, 1)).toBe(20);
    expect(() => m.nodeDistance(0, 2)).toThrow(RangeError);
    expect(Array.from(x64({ cpuToNode: undefined }).cpuToNode)).toEqual([0, 0, 0, 0]);
    expect(m.formatAddr(0x1234)).toBe("0000000000001234");
    expect(i386().formatAddr(0xc0000000)).toBe("c0000000");
  });

  it("__va / __pa / virtAddrValid (the direct map)", () => {
    const m = i386();
    expect(m.__va(0x1000)).toBe(0xc0001000);
    expect(m.__pa(0xc0001000)).toBe(0x1000);
    expect(m.virtAddrValid(0xc0001000)).toBe(true);
    expect(m.virtAddrValid(0xf8000000)).toBe(false);
    expect(m.virtAddrValid(0xbfffffff)).toBe(false);
    expect(thrown(() => m.__va(0x38000000))).toBeInstanceOf(KernelBug);
    expect(() => m.__va(-1)).toThrow("not in the direct map");
    expect(() => m.__pa(0xf8800000)).toThrow("BUG: __pa(f8800000): not a direct-map address");
    const holes = x64({
      nodes: [
        { start: 0x0, size: 0x1000000 },
        { start: 0x2000000, size: 0x1000000 },
      ],
    });
    expect(holes.virtAddrValid(0x100000000000 + 0x1800000)).toBe(false);
    expect(holes.virtAddrValid(0x100000000000 + 0x2000000)).toBe(true);
  });

  it("prints the boot memory map the kernel way", () => {
    const m = i386();
    m.memblock.allocTryNid(0x2000, 0x1000, 0);
    expect(m.memoryMapLines()).toEqual([
      "NUMA: Node 0 [mem 0x00000000-0x3fffffff]",
      "Zone ranges:",
      "  Normal   [mem 0x00000000-0x37ffffff]",
      "  HighMem  [mem 0x38000000-0x3fffffff]",
      "Movable zone start for each node",
      "Early memory node ranges",
      "  node   0: [mem 0x00000000-0x3fffffff]",
      "Initmem setup node 0 [mem 0x00000000-0x3fffffff]",
      "Memory: 1048568K/1048576K available (8K reserved)",
      "Virtual kernel memory layout:",
      "    vmalloc : 0xf8800000 - 0xff800000   ( 112 MB)",
      "    lowmem  : 0xc0000000 - 0xf8000000   ( 896 MB)",
    ]);
    const x = x64();
    expect(x.memoryMapLines().slice(0, 4)).toEqual([
      "NUMA: Node 0 [mem 0x0000000000000000-0x0000000003ffffff]",
      "NUMA: Node 1 [mem 0x0000000004000000-0x0000000007ffffff]",
      "Zone ranges:",
      "  Normal   [mem 0x0000000000000000-0x0000000007ffffff]",
    ]);
    expect(x.memoryMapLines().slice(-2)).toEqual([
      "    vmalloc : 0x0000200000000000 - 0x0000210000000000   (1048576 MB)",
      "    lowmem  : 0x0000100000000000 - 0x0000100008000000   ( 128 MB)",
    ]);
  });

  it("runs with 64 KiB pages", () => {
    const m = x64({ pageShift: 16 });
    expect(m.pageSize).toBe(0x10000);
    expect(m.pageAlloc.nodeCounters(0).freePages).toBe(0x400);
    const pfn = m.pageAlloc.allocPagesNode(0, GFP_KERNEL, 1);
    expect(pfn).toBe(0);
    const area = m.vmalloc.getVmArea(0x20000, 0x10000, "t")!;
    expect(m.pgtable.mapPages(area.addr, [pfn, pfn + 1], 2)).toBe(0);
    m.mem.write32(area.addr + 0xfffe, 0xa1b2c3d4);
    expect(m.mem.read32(area.addr + 0xfffe)).toBe(0xa1b2c3d4);
    expect(m.phys.physRead8(0x10000)).toBe(0xb2);
    expect(m.memblock.allocTryNid(0x100, 0x100, 1)).toBe(0x7ffff00);
    expect(m.pageAlloc.nodeCounters(1).memblockPages).toBe(1);
  });

  it("refuses shared memory on a host without SharedArrayBuffer", () => {
    const g = globalThis as { SharedArrayBuffer?: unknown };
    const saved = g.SharedArrayBuffer;
    delete g.SharedArrayBuffer;
    try {
      expect(() => x64({ sharedMemory: true })).toThrow("sharedMemory: this host has no SharedArrayBuffer");
      expect(x64().phys.shared).toBe(false);
      expect(() => new PhysMemory(12, [{ start: 0, size: 0x1000 }], true, true)).toThrow(RangeError);
    } finally {
      g.SharedArrayBuffer = saved;
    }
  });

  it("keeps machines in one process independent", () => {
    const a = x64();
    const b = x64();
    a.pageAlloc.allocPagesNode(0, GFP_KERNEL, 0);
    a.log.prInfo("a");
    a.ctx.setCpu(3);
    expect(b.pageAlloc.nrAllocatedPages()).toBe(0);
    expect(b.log.lines()).toEqual([]);
    expect(b.ctx.cpu).toBe(0);
    expect(b.pageAlloc.allocPagesNode(0, GFP_KERNEL, 0)).toBe(0);
  });

  it("carves frames from ArrayBuffer slabs, or SharedArrayBuffer ones on request", () => {
    const a = x64();
    a.phys.physWrite8(0x0, 1);
    expect(a.phys.slabs[0]!.buffer).toBeInstanceOf(ArrayBuffer);
    expect(a.phys.shared).toBe(false);
    const m = x64({ sharedMemory: true });
    m.phys.physWrite32(0x5000, 1);
    expect(m.phys.slabs.length).toBe(1);
    expect(m.phys.slabs[0]!.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(m.phys.backingBytes()).toBe(m.phys.slabPages * 0x1000);
    expect(m.phys.slabPages).toBe(64);
    expect(x64({ pageShift: 16 }).phys.slabPages).toBe(4);
    expect(m.phys.physRead64(0x5000)).toBe(1n);
    m.phys.physWrite64(0x5ffc, 0x1122334455667788n);
    expect(m.phys.physRead64(0x5ffc)).toBe(0x1122334455667788n);
    m.phys.physWrite8(0x6000, 0x99);
    expect(m.phys.physRead8(0x6000)).toBe(0x99);
    expect(m.phys.residentFrames()).toBe(2);
    expect(() => m.phys.physRead8(0x8000000)).toThrow("non-existent memory");
    expect(() => m.phys.physMemset(0x7fff000, 1, 0x2000)).toThrow(KernelBug);
    expect(m.phys.pfnValid(1.5)).toBe(false);
  });
});

describe("Machine sparse backing (SPARSEMEM-like)", () => {
  it("boots 4096 CPUs and 1 TiB on 8 nodes for a few MB, spending memory only on touched pages", () => {
    const gib = 2 ** 30;
    const before = process.memoryUsage();
    const m = new Machine({
      pageShift: 12,
      bits: 64,
      vaBits: 52,
      nodes: Array.from({ length: 8 }, (_, i) => ({ start: i * 128 * gib, size: 128 * gib })),
      pageOffset: 2 ** 48,
      vmallocStart: 2 ** 49,
      vmallocEnd: 2 ** 49 + 2 ** 45,
      nrCpus: 4096,
      cpuToNode: Array.from({ length: 4096 }, (_, c) => c >> 9),
    });
    expect(m.pageAlloc.nrFreePages()).toBe(2 ** 28);
    // Touch 512 pages spread over every node: page allocator, memblock and vmalloc mappings.
    let touched = 0;
    for (let nid = 0; nid < 8; nid++) {
      const mb = m.memblock.allocTryNid(0x40000, 0x200000, nid);
      expect(mb).toBe((nid + 1) * 128 * gib - 0x200000);
      m.phys.physMemset(mb, 0x11, 0x40000);
      touched += 0x40;
      for (let i = 0; i < 32; i++) {
        const pfn = m.pageAlloc.allocPagesNode(nid, GFP_KERNEL, 0);
        expect(pfn).toBe(nid * 128 * 0x40000 + i);
        m.mem.write32(m.__va(pfn * 0x1000) + 0x10, nid);
        touched++;
      }
    }
    const vms = m.vmalloc.getVmAreas([0, 2 ** 40], [0x100000, 0x100000], 0x100000, "pcpu")!;
    expect(vms[1]!.addr).toBe(2 ** 49 + 2 ** 45 - 0x100000);
    for (let i = 0; i < 0x100; i++) {
      const pfn = m.pageAlloc.allocPagesNode(-1, GFP_KERNEL, 0);
      expect(m.pgtable.mapPage(vms[0]!.addr + i * 0x1000, pfn)).toBe(0);
      m.mem.write8(vms[0]!.addr + i * 0x1000, i);
      touched++;
    }
    expect(m.phys.residentFrames()).toBe(touched);
    expect(m.mem.read32(m.__va(7 * 128 * gib) + 0x10)).toBe(7);
    expect(m.mem.read8(vms[0]!.addr + 0xff000)).toBe(0xff);
    const after = process.memoryUsage();
    const grown = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
    expect(m.phys.backingBytes()).toBeLessThan(8 * 2 ** 20);
    expect(grown).toBeLessThan(16 * 2 ** 20);
    expect(m.pageAlloc.nrAllocatedPages()).toBe(8 * 32 + 0x100);
    expect(m.memblock.reservedBytes()).toBe(8 * 0x40000);
  });
});
