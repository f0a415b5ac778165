import { KernelBug, type VmArea } from "@pcpu/mm";
import { describe, expect, it } from "vitest";
import { thrown, x64 } from "./fixtures.js";

const S = 0x200000000000;
/** A machine with a 16 MiB vmalloc space at S. */
function small() {
  return x64({ vmallocStart: S, vmallocEnd: S + 0x1000000 });
}

describe("VmallocSpace.getVmArea (get_vm_area / vm_area_register_early)", () => {
  it("first fit bottom-up from VMALLOC_START, page aligned, optional guard page", () => {
    const m = small();
    const v = m.vmalloc;
    expect(v.total).toBe(0x1000000);
    const a = v.getVmArea(0x3000, 0x1000, "pcpu_page_first_chunk")!;
    expect([a.addr, a.size, a.caller]).toEqual([S, 0x3000, "pcpu_page_first_chunk"]);
    const b = v.getVmArea(0x1001, 1, "x", true)!;
    expect([b.addr, b.size]).toEqual([S + 0x3000, 0x3000]); // 2 pages + guard
    const c = v.getVmArea(0x1000, 0x10000, "y")!;
    expect(c.addr).toBe(S + 0x10000);
    v.freeVmArea(a);
    expect(v.getVmArea(0x2000, 0x1000, "z")!.addr).toBe(S);
    expect(v.getVmArea(0x1000, 0x1000, "z")!.addr).toBe(S + 0x2000);
    expect(v.getVmArea(0x1000, 0x1000, "z")!.addr).toBe(S + 0x6000);
    expect(v.getVmArea(0, 0x1000, "z")).toBe(null);
    expect(() => v.getVmArea(0x1000, 3, "z")).toThrow(RangeError);
    expect(v.usedBytes()).toBe(0x2000 + 0x3000 + 0x1000 + 0x1000 + 0x1000);
    expect(v.areas().map((x) => x.addr - S)).toEqual([0x0, 0x2000, 0x3000, 0x6000, 0x10000]);
  });

  it("returns null with the kernel's rate-limited warning when the space is exhausted", () => {
    const m = small();
    expect(m.vmalloc.getVmArea(0xfff000, 0x1000, "big")!.addr).toBe(S);
    expect(m.vmalloc.getVmArea(0x2000, 0x1000, "x")).toBe(null);
    expect(m.vmalloc.getVmArea(0x1000, 0x1000, "x")!.addr).toBe(S + 0xfff000);
    expect(m.log.dmesg()).toEqual([
      "vmap allocation for size 8192 failed: use vmalloc=<size> to increase size",
    ]);
  });

  it("fails where a vmalloc fault rule says so", () => {
    const m = small();
    m.faults.add({ site: "vmalloc", nth: 1 });
    expect(m.vmalloc.getVmArea(0x1000, 0x1000, "x")).toBe(null);
    expect(m.vmalloc.getVmArea(0x1000, 0x1000, "x")!.addr).toBe(S);
  });
});

describe("VmallocSpace.freeVmArea (free_vm_area)", () => {
  it("clears the area's PTEs with a cache flush and BUGs on an unknown area", () => {
    const m = small();
    const a = m.vmalloc.getVmArea(0x2000, 0x1000, "x")!;
    m.pgtable.mapPage(a.addr, 5);
    m.pgtable.mapPage(a.addr + 0x1000, 6);
    m.vmalloc.freeVmArea(a);
    expect(m.pgtable.mappedPages()).toBe(0);
    expect(m.pgtable.flushes.cacheVunmap).toBe(1);
    const e = thrown(() => m.vmalloc.freeVmArea(a));
    expect(e).toBeInstanceOf(KernelBug);
    expect(m.log.dmesg()).toEqual([
      "kernel BUG at mm/vmalloc.c: free_vm_area: unknown vm area 0x200000000000 size 8192",
    ]);
    expect(() => m.vmalloc.freeVmArea({ addr: S, size: 0x1000, caller: "fake" })).toThrow(KernelBug);
  });
});

describe("VmallocSpace.findVmArea / isVmallocAddr (find_vm_area, is_vmalloc_addr)", () => {
  it("finds the area containing an address", () => {
    const m = small();
    const a = m.vmalloc.getVmArea(0x2000, 0x1000, "x")!;
    const b = m.vmalloc.getVmArea(0x1000, 0x1000, "y")!;
    expect(m.vmalloc.findVmArea(S + 0x1fff)).toBe(a);
    expect(m.vmalloc.findVmArea(S + 0x2000)).toBe(b);
    expect(m.vmalloc.findVmArea(S + 0x3000)).toBe(null);
    expect(m.vmalloc.findVmArea(S - 1)).toBe(null);
    expect(m.vmalloc.isVmallocAddr(S)).toBe(true);
    expect(m.vmalloc.isVmallocAddr(S + 0xffffff)).toBe(true);
    expect(m.vmalloc.isVmallocAddr(S + 0x1000000)).toBe(false);
    expect(m.vmalloc.isVmallocAddr(S - 1)).toBe(false);
  });
});

describe("VmallocSpace.getVmAreas (pcpu_get_vm_areas)", () => {
  const offs = [0x0, 0x200000];
  const sizes = [0x100000, 0x100000];

  it("places congruent groups top-down and interleaves later chunks into the holes", () => {
    const m = small();
    const v = m.vmalloc;
    const c1 = v.getVmAreas(offs, sizes, 0x100000, "pcpu_create_chunk")!;
    expect(c1.map((a) => a.addr - S)).toEqual([0xd00000, 0xf00000]);
    const c2 = v.getVmAreas(offs, sizes, 0x100000, "pcpu_create_chunk")!;
    expect(c2.map((a) => a.addr - S)).toEqual([0xc00000, 0xe00000]);
    const c3 = v.getVmAreas(offs, sizes, 0x100000, "pcpu_create_chunk")!;
    expect(c3.map((a) => a.addr - S)).toEqual([0x900000, 0xb00000]);
    expect(c3[1]!.size).toBe(0x100000);
    expect(c3[0]!.caller).toBe("pcpu_create_chunk");
    v.freeVmAreas(c2);
    const c4 = v.getVmAreas(offs, sizes, 0x100000, "pcpu_create_chunk")!;
    expect(c4.map((a) => a.addr - S)).toEqual([0xc00000, 0xe00000]);
    expect(m.log.lines()).toEqual([]);
  });

  it("handles the last group not being the first in the arrays", () => {
    const m = small();
    const r = m.vmalloc.getVmAreas([0x300000, 0x0], [0x100000, 0x200000], 0x100000, "c")!;
    expect(r.map((a) => a.addr - S)).toEqual([0xf00000, 0xc00000]);
  });

  it("WARNs when the span exceeds the vmalloc space and fails silently when exhausted", () => {
    const m = small();
    expect(m.vmalloc.getVmAreas([0, 0x1000000], [0x100000, 0x100000], 0x100000, "c")).toBe(null);
    expect(m.log.dmesg()).toEqual([
      "------------[ cut here ]------------",
      "WARNING: CPU: 0 PID: 0 at mm/vmalloc.c pcpu_get_vm_areas",
      "---[ end trace 0000000000000000 ]---",
    ]);
    m.log.clear();
    let n = 0;
    while (m.vmalloc.getVmAreas(offs, sizes, 0x100000, "c")) n++;
    expect(n).toBe(8); // 16 MiB of 1 MiB slots, two per chunk
    expect(m.log.lines()).toEqual([]);
    expect(m.vmalloc.usedBytes()).toBe(0x1000000);
  });

  it("fails where a vmalloc fault rule says so", () => {
    const m = small();
    m.faults.add({ site: "vmalloc", nth: 1, caller: "pcpu_create_chunk" });
    expect(m.vmalloc.getVmAreas(offs, sizes, 0x100000, "pcpu_create_chunk")).toBe(null);
    expect(m.vmalloc.getVmAreas(offs, sizes, 0x100000, "pcpu_create_chunk")).not.toBe(null);
  });

  it("BUGs on unaligned, overlapping or mismatched arguments", () => {
    const m = small();
    const v = m.vmalloc;
    expect(thrown(() => v.getVmAreas([0x1000], [0x100000], 0x100000, "c"))).toBeInstanceOf(KernelBug);
    expect(m.log.dmesg()).toEqual([
      "kernel BUG at mm/vmalloc.c: pcpu_get_vm_areas: area 0 is not aligned to 1048576",
    ]);
    expect(() => v.getVmAreas([0, 0x100000], [0x200000, 0x100000], 0x100000, "c")).toThrow("overlap");
    expect(() => v.getVmAreas([0], [0x1000], 0x800, "c")).toThrow("page-multiple power of two");
    expect(() => v.getVmAreas([0], [0x3000], 0x3000, "c")).toThrow("page-multiple power of two");
    expect(() => v.getVmAreas([0, 0x1000], [0x1000], 0x1000, "c")).toThrow("one size per offset");
    expect(() => v.getVmAreas([], [], 0x1000, "c")).toThrow("one size per offset");
  });

  it("finds the highest feasible base (checked against brute force, seeded)", () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const pg = 0x1000;
    for (let round = 0; round < 60; round++) {
      const m = x64({ vmallocStart: S, vmallocEnd: S + 0x40 * pg });
      const v = m.vmalloc;
      // Random obstacles, bottom-up and top-down, then free some of them.
      const obstacles: VmArea[] = [];
      for (let i = 0; i < 12; i++) {
        const size = (1 + rnd(6)) * pg;
        const a = rnd(2) ? v.getVmArea(size, pg, "o") : (v.getVmAreas([0], [size], pg, "o")?.[0] ?? null);
        if (a) obstacles.push(a);
      }
      for (const a of obstacles) if (rnd(2)) v.freeVmArea(a);
      const align = pg * 2 ** rnd(3);
      const n = 1 + rnd(3);
      const o: number[] = [];
      const sz: number[] = [];
      let off = 0;
      for (let k = 0; k < n; k++) {
        off += rnd(3) * align;
        o.push(off);
        sz.push((1 + rnd(3)) * align);
        off += sz[k]!;
      }
      if (rnd(2)) {
        o.reverse();
        sz.reverse();
      }
      const busy = v.areas().map((a) => [a.addr, a.addr + a.size] as const);
      const fits = (base: number) =>
        o.every((ok, k) => {
          const s = base + ok;
          const e = s + sz[k]!;
          return e <= S + 0x40 * pg && busy.every(([bs, be]) => e <= bs || s >= be);
        });
      let expected = -1;
      for (let base = S + 0x40 * pg - align; base >= S; base -= align) {
        if (fits(base)) {
          expected = base;
          break;
        }
      }
      const r = v.getVmAreas(o, sz, align, "c");
      if (expected < 0) expect(r).toBe(null);
      else expect(r!.map((a) => a.addr)).toEqual(o.map((x) => expected + x));
    }
  });
});
