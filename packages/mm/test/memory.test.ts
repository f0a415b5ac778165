import { GFP_KERNEL, KernelOops, type Machine } from "@pcpu/mm";
import { describe, expect, it } from "vitest";
import { thrown, x64 } from "./fixtures.js";

const V = 0x200000000000;

/** Maps `n` fresh pages at V (deliberately not physically contiguous: every other pfn). */
function mapped(m: Machine, n: number): number[] {
  const pfns: number[] = [];
  for (let i = 0; i < 2 * n; i++) {
    const p = m.pageAlloc.allocPagesNode(0, GFP_KERNEL, 0);
    if (i % 2 === 0) pfns.push(p);
  }
  expect(m.pgtable.mapPages(V, pfns, n)).toBe(0);
  return pfns;
}

describe("KernelMemory loads and stores (readN / writeN)", () => {
  it("stores little-endian by default and reads back unsigned values", () => {
    const m = x64();
    const [p0] = mapped(m, 1);
    m.mem.write32(V + 8, 0xdeadbeef);
    expect(m.mem.read32(V + 8)).toBe(0xdeadbeef);
    expect(m.mem.read8(V + 8)).toBe(0xef);
    expect(m.mem.read16(V + 10)).toBe(0xdead);
    expect(m.phys.physRead32(p0! * 0x1000 + 8)).toBe(0xdeadbeef);
    m.mem.write8(V, 0x1ff);
    expect(m.mem.read8(V)).toBe(0xff);
    m.mem.write16(V + 2, -1);
    expect(m.mem.read16(V + 2)).toBe(0xffff);
    m.mem.write32(V + 4, -2);
    expect(m.mem.read32(V + 4)).toBe(0xfffffffe);
    m.mem.write64(V + 16, 0x0123456789abcdefn);
    expect(m.mem.read64(V + 16)).toBe(0x0123456789abcdefn);
    expect(m.mem.read32(V + 16)).toBe(0x89abcdef);
    m.mem.write64(V + 24, -1n);
    expect(m.mem.read64(V + 24)).toBe(0xffffffffffffffffn);
  });

  it("honours a big-endian machine (sparc32, s390)", () => {
    const m = x64({ littleEndian: false });
    mapped(m, 1);
    m.mem.write32(V, 0xdeadbeef);
    expect(m.mem.read8(V)).toBe(0xde);
    expect(m.mem.read16(V)).toBe(0xdead);
    m.mem.write64(V + 8, 0x0123456789abcdefn);
    expect(m.mem.read32(V + 8)).toBe(0x01234567);
    expect(m.mem.read64(V + 8)).toBe(0x0123456789abcdefn);
    expect(m.phys.physRead32(m.pgtable.translate(V + 8))).toBe(0x01234567);
  });

  it("splits accesses that cross a page boundary, in either byte order", () => {
    for (const le of [true, false]) {
      const m = x64({ littleEndian: le });
      const pfns = mapped(m, 2);
      m.mem.write32(V + 0xffe, 0x11223344);
      expect(m.mem.read32(V + 0xffe)).toBe(0x11223344);
      expect(m.mem.read16(V + 0xfff)).toBe(0x2233);
      m.mem.write16(V + 0xfff, 0xaabb);
      expect(m.mem.read16(V + 0xfff)).toBe(0xaabb);
      m.mem.write64(V + 0xffc, 0x0102030405060708n);
      expect(m.mem.read64(V + 0xffc)).toBe(0x0102030405060708n);
      // The second page's bytes really live in the second (non-adjacent) frame.
      expect(m.phys.physRead8(pfns[1]! * 0x1000)).toBe(le ? 0x04 : 0x05);
    }
  });

  it("reads zeroes from a never-written page without backing it", () => {
    const m = x64();
    mapped(m, 4);
    expect(m.mem.read32(V + 0x2000)).toBe(0);
    expect(m.mem.read64(V + 0x3000)).toBe(0n);
    expect(m.mem.copyOut(V, 0x4000).every((b) => b === 0)).toBe(true);
    expect(m.phys.residentFrames()).toBe(0);
    m.mem.write8(V + 0x2000, 1);
    expect(m.phys.residentFrames()).toBe(1);
    expect(m.mem.read32(V + 0x2000)).toBe(1);
  });
});

describe("KernelMemory faults (page_fault_oops)", () => {
  it("oopses on an unmapped address, naming it the arch's way", () => {
    const m = x64();
    const e = thrown(() => m.mem.read32(V + 0x5000));
    expect(e).toBeInstanceOf(KernelOops);
    expect((e as KernelOops).address).toBe(V + 0x5000);
    expect((e as KernelOops).write).toBe(false);
    expect(e.message).toBe("BUG: unable to handle page fault for address: 0000200000005000");
    expect(m.log.dmesg()).toEqual([
      "BUG: unable to handle page fault for address: 0000200000005000",
      "#PF: supervisor read access in kernel mode",
      "#PF: error_code(0x0000) - not-present page",
    ]);
    m.log.clear();
    expect(() => m.mem.write8(V, 1)).toThrow(KernelOops);
    expect(m.log.dmesg()[1]).toBe("#PF: supervisor write access in kernel mode");
    expect(m.log.dmesg()[2]).toBe("#PF: error_code(0x0002) - not-present page");
    const sx = x64({ formatAddr: (a) => `ffff${a.toString(16).padStart(12, "0")}` });
    expect(() => sx.mem.read16(V)).toThrow("BUG: unable to handle page fault for address: ffff200000000000");
  });

  it("oopses on every access kind and on out-of-range addresses", () => {
    const m = x64();
    const bad = [-1, 2 ** 47, V];
    for (const a of bad) {
      expect(() => m.mem.read8(a)).toThrow(KernelOops);
      expect(() => m.mem.read16(a)).toThrow(KernelOops);
      expect(() => m.mem.read32(a)).toThrow(KernelOops);
      expect(() => m.mem.read64(a)).toThrow(KernelOops);
      expect(() => m.mem.write16(a, 1)).toThrow(KernelOops);
      expect(() => m.mem.write32(a, 1)).toThrow(KernelOops);
      expect(() => m.mem.write64(a, 1n)).toThrow(KernelOops);
      expect(() => m.mem.memset(a, 0, 4)).toThrow(KernelOops);
      expect(() => m.mem.copyIn(a, new Uint8Array(4))).toThrow(KernelOops);
      expect(() => m.mem.copyOut(a, 4)).toThrow(KernelOops);
      expect(() => m.mem.memcpy(a, V + 0x100000, 4)).toThrow(KernelOops);
    }
  });

  it("faults after unmap although the translation was cached, and follows a remap", () => {
    const m = x64();
    const [p0] = mapped(m, 1);
    m.mem.write32(V, 7);
    expect(m.mem.read32(V)).toBe(7);
    expect(m.pgtable.unmapPage(V)).toBe(p0);
    expect(() => m.mem.read32(V)).toThrow(KernelOops);
    expect(() => m.mem.write32(V, 1)).toThrow(KernelOops);
    const q = m.pageAlloc.allocPagesNode(0, GFP_KERNEL, 0);
    m.pgtable.mapPage(V, q);
    expect(m.mem.read32(V)).toBe(0);
    m.pgtable.unmapPage(V);
    m.pgtable.mapPage(V, p0!);
    expect(m.mem.read32(V)).toBe(7);
  });

  it("a cross-page store with the second page unmapped oopses before storing anything", () => {
    const m = x64();
    mapped(m, 1);
    const e = thrown(() => m.mem.write32(V + 0xffe, 0xffffffff));
    expect((e as KernelOops).address).toBe(V + 0x1000);
    expect(m.mem.read16(V + 0xffe)).toBe(0);
    expect(() => m.mem.write64(V + 0xffc, -1n)).toThrow(KernelOops);
    expect(m.mem.read32(V + 0xffc)).toBe(0);
    expect(() => m.mem.read32(V + 0xffe)).toThrow(KernelOops);
  });
});

describe("KernelMemory translation caches (one-entry cache + software TLB)", () => {
  it("sees a write through another alias of a page that was cached as unbacked", () => {
    const m = x64();
    const [p0] = mapped(m, 1);
    const lin = m.__va(p0! * 0x1000);
    expect(m.mem.read32(lin + 0x40)).toBe(0); // cached: zero page
    m.mem.write32(V + 0x40, 0x600d); // first write backs the frame via the vmalloc alias
    expect(m.mem.read32(lin + 0x40)).toBe(0x600d);
  });

  it("stays correct for scattered accesses over pages that collide in the TLB", () => {
    const m = x64();
    const n = 600; // more pages than TLB entries; page i and i + 256 share an entry
    mapped(m, n);
    for (let r = 0; r < 3; r++)
      for (let i = 0; i < n; i++) {
        const p = (i * 257) % n;
        if (r === 0) m.mem.write32(V + p * 0x1000 + ((p * 4) & 0xfff), p);
        else expect(m.mem.read32(V + p * 0x1000 + ((p * 4) & 0xfff))).toBe(p);
      }
    expect(m.pgtable.unmapPage(V + 300 * 0x1000)).not.toBe(-1);
    expect(() => m.mem.read32(V + 300 * 0x1000)).toThrow(KernelOops);
    expect(m.mem.read32(V + 44 * 0x1000 + 44 * 4)).toBe(44); // 44 = 300 - 256: same TLB slot
  });
});

describe("KernelMemory.memset / copyIn / copyOut / memcpy (memset, memcpy)", () => {
  it("fills and copies across pages; zeroing a whole page drops its backing", () => {
    const m = x64();
    mapped(m, 3);
    m.mem.memset(V + 0x800, 0xcc, 0x1000);
    expect(m.mem.read8(V + 0x7ff)).toBe(0);
    expect(m.mem.read8(V + 0x800)).toBe(0xcc);
    expect(m.mem.read8(V + 0x17ff)).toBe(0xcc);
    expect(m.mem.read8(V + 0x1800)).toBe(0);
    expect(m.phys.residentFrames()).toBe(2);
    m.mem.memset(V, 0, 0x1000);
    expect(m.phys.residentFrames()).toBe(1);
    expect(m.mem.read32(V + 0x800)).toBe(0);
    m.mem.memset(V + 0x2000, 0, 0x10); // zero into an unbacked page: still unbacked
    expect(m.phys.residentFrames()).toBe(1);
    const src = Uint8Array.from({ length: 0x1800 }, (_, i) => i & 0xff);
    m.mem.copyIn(V + 0x400, src);
    expect(m.mem.copyOut(V + 0x400, 0x1800)).toEqual(src);
    m.mem.memcpy(V + 0x2100, V + 0x400, 0x100);
    expect(m.mem.copyOut(V + 0x2100, 0x100)).toEqual(src.subarray(0, 0x100));
    m.mem.memcpy(V + 0x2f00, V + 0x0, 0x100); // source page 0 is unbacked: copies zeroes
    expect(m.mem.read32(V + 0x2f00)).toBe(0);
    const dst = new Uint8Array(4);
    m.mem.copyOutTo(V + 0x401, dst);
    expect(Array.from(dst)).toEqual([1, 2, 3, 4]);
  });

  it("memset stops at the first unmapped page after filling the mapped ones", () => {
    const m = x64();
    mapped(m, 1);
    const e = thrown(() => m.mem.memset(V + 0xf00, 0x11, 0x200));
    expect((e as KernelOops).address).toBe(V + 0x1000);
    expect(m.mem.read8(V + 0xfff)).toBe(0x11);
    expect(() => m.mem.copyIn(V + 0xfff, new Uint8Array(2))).toThrow(KernelOops);
    expect(() => m.mem.copyOut(V + 0xfff, 2)).toThrow(KernelOops);
  });

  it("reaches the same bytes through the direct map and a vmalloc mapping", () => {
    const m = x64();
    const [p0] = mapped(m, 1);
    const lin = m.__va(p0! * 0x1000);
    m.mem.write32(lin + 0x10, 0xcafef00d);
    expect(m.mem.read32(V + 0x10)).toBe(0xcafef00d);
    m.mem.write32(V + 0x20, 0x1234);
    expect(m.mem.read32(lin + 0x20)).toBe(0x1234);
    m.mem.translationsChanged();
    expect(m.mem.read32(lin + 0x10)).toBe(0xcafef00d);
  });
});

describe("memcpy of whole pages (copy on write, invisible above phys-mem)", () => {
  it("shares one frame between source and copies until a store, through every write path", () => {
    const m = x64();
    mapped(m, 6);
    // page 0 is the template: a pattern at both ends
    m.mem.write32(V, 0xcafef00d);
    m.mem.write32(V + 0xffc, 0x01020304);
    const before = m.phys.residentFrames();
    for (let i = 1; i <= 5; i++) m.mem.memcpy(V + i * 0x1000, V, 0x1000);
    // five copies cost no host frame
    expect(m.phys.residentFrames()).toBe(before);
    for (let i = 0; i <= 5; i++) {
      expect(m.mem.read32(V + i * 0x1000)).toBe(0xcafef00d);
      expect(m.mem.read32(V + i * 0x1000 + 0xffc)).toBe(0x01020304);
    }
    // each kind of store gives only the page written a frame of its own
    m.mem.write32(V + 0x1000, 1); // cached store
    m.mem.memset(V + 0x2000 + 4, 0xaa, 4); // memset of part of a page
    m.mem.copyIn(V + 0x3000 + 8, new Uint8Array([7, 7]));
    m.mem.write64(V + 0x4000 + 0xffc, 0x1122334455667788n); // crosses into page 5
    expect(m.phys.residentFrames()).toBe(before + 5); // pages 1-5: the 64-bit store wrote two
    expect(m.mem.read32(V)).toBe(0xcafef00d);
    expect(m.mem.read32(V + 0x1000)).toBe(1);
    expect(m.mem.read32(V + 0x1ffc)).toBe(0x01020304);
    expect(m.mem.read32(V + 0x2000)).toBe(0xcafef00d);
    expect(m.mem.read32(V + 0x2004)).toBe(0xaaaaaaaa);
    expect(m.mem.read8(V + 0x3008)).toBe(7);
    expect(m.mem.read32(V + 0x3000)).toBe(0xcafef00d);
    expect(m.mem.read32(V + 0x4ffc)).toBe(0x55667788);
    expect(m.mem.read32(V + 0x5000)).toBe(0x11223344);
    expect(m.mem.read32(V + 0x5ffc)).toBe(0x01020304);
    // the template written after the copies: copies keep the old bytes
    m.mem.write32(V + 0xffc, 0xdeadbeef);
    expect(m.mem.read32(V + 0x5ffc)).toBe(0x01020304);
    expect(m.mem.read32(V + 0xffc)).toBe(0xdeadbeef);
  });

  it("frees a shared frame only with its last page, and zeroing a shared page leaves the others", () => {
    const m = x64();
    const pfns = mapped(m, 3);
    m.mem.memset(V, 0x5a, 0x1000);
    m.mem.memcpy(V + 0x1000, V, 0x2000 - 0x1000);
    m.mem.memcpy(V + 0x2000, V, 0x1000);
    const one = m.phys.residentFrames();
    m.mem.memset(V + 0x1000, 0, 0x1000); // clear_page of one sharer
    expect(m.mem.read8(V + 0x1000)).toBe(0);
    expect(m.mem.read8(V + 0x2000)).toBe(0x5a);
    m.phys.release(pfns[0]!);
    expect(m.mem.read8(V)).toBe(0);
    expect(m.mem.read8(V + 0x2fff)).toBe(0x5a);
    expect(m.phys.residentFrames()).toBe(one);
    m.phys.release(pfns[2]!);
    expect(m.phys.residentFrames()).toBe(one - 1);
    // the frame came back zeroed: a new page written in one byte reads zero elsewhere
    m.mem.write8(V + 0x1000, 1);
    expect(m.mem.read8(V + 0x1001)).toBe(0);
  });

  it("copying a page with no backing leaves the destination unbacked and zero", () => {
    const m = x64();
    mapped(m, 2);
    m.mem.memset(V + 0x1000, 0x33, 0x1000);
    const r = m.phys.residentFrames();
    m.mem.memcpy(V + 0x1000, V, 0x1000);
    expect(m.phys.residentFrames()).toBe(r - 1);
    expect(m.mem.read32(V + 0x1800)).toBe(0);
  });
});
