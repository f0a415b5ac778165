/*
 * The frames the page draws, read from real kernels: every number checked
 * against the kernel's own counters (pcpu_nr_populated, pcpu_nr_pages(),
 * pcpu_nr_empty_pop_pages) or worked out from the default x86_64 layout
 * (s147456 r8192 d28672: static 0x24000, reserved 0x2000, dynamic 0x7000,
 * 45 pages per unit, 8 units).
 */

import { bootKernel, type Kernel, runWorkload } from "@pcpu/kernel";
import { describe, expect, it } from "vitest";
import {
  type Frame,
  HINT_CONTIG,
  HINT_CONTIG_START,
  HINT_FIRST_FREE,
  HINT_LEFT_FREE,
  HINT_RIGHT_FREE,
  HINT_STRIDE,
  PAGE_EMPTY_POPULATED,
  PAGE_POPULATED,
  PAGE_RESERVED,
  PAGE_STATIC,
} from "../src/frame.js";
import { firstChunkFrame, kernelInfo, takeFrame } from "../src/snapshot.js";

/** The frame's pictures agree with the kernel's counters. */
function expectConsistent(k: Kernel, f: Frame): void {
  let populated = 0;
  let empty = 0;
  let allocs = 0;
  let frag = 0;
  for (const c of f.chunks) {
    populated += c.populatedPages;
    if (!c.isolated) empty += c.emptyPopPages;
    allocs += c.allocOff.length;
    frag += c.sumFrag;
    for (let i = 1; i < c.allocOff.length; i++)
      expect(c.allocOff[i]!).toBeGreaterThanOrEqual(c.allocOff[i - 1]! + c.allocSize[i - 1]!);
  }
  expect(populated).toBe(k.pcpu.nrPopulated);
  expect(populated * k.pcpu.nrUnits).toBe(k.pcpu.pcpuNrPages());
  expect(empty).toBe(k.pcpu.nrEmptyPopPages);
  expect(f.metrics.populatedPages).toBe(k.pcpu.nrPopulated);
  expect(f.metrics.pcpuNrPages).toBe(k.pcpu.pcpuNrPages());
  expect(f.metrics.emptyPopPages).toBe(k.pcpu.nrEmptyPopPages);
  const st = k.statsJson()!;
  expect(allocs).toBe(st.globalStats.nrCurAlloc);
  expect(frag).toBe(st.chunks.filter((c) => c.kind !== "reserved").reduce((n, c) => n + c.sumFrag, 0));
  expect(f.metrics.chunks).toBe(st.chunks.filter((c) => c.kind !== "reserved").length);
}

describe("firstChunkFrame (pcpu_setup_first_chunk layout: <Static | Reserved | Dynamic>)", () => {
  it("draws the default x86_64 first chunk as one unit of 45 pages with its three regions", () => {
    const k = bootKernel({});
    const info = kernelInfo(k);
    expect([info.staticSize, info.reservedSize, info.dynSize]).toEqual([0x24000, 0x2000, 0x7000]);
    expect(info.nrUnits).toBe(8);
    expect([...info.unitCpu]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const c = firstChunkFrame(k);
    expect(c.nrPages).toBe(0x2d000 / 0x1000);
    expect(c.regions).toEqual([
      { name: "static", start: 0, end: 0x24000 },
      { name: "reserved", start: 0x24000, end: 0x26000 },
      { name: "dynamic", start: 0x26000, end: 0x2d000 },
    ]);
    expect(c.records.map((r) => [r.role, r.viewStart, r.nrPages])).toEqual([
      ["reserved", 0x24000, 2],
      ["first", 0x26000, 7],
    ]);
    expect([...c.hidden]).toEqual([0, 0x24000]);
    expect([...c.pages.slice(0, 36)].every((s) => s === PAGE_STATIC)).toBe(true);
    expect([...c.pages.slice(36, 38)]).toEqual([PAGE_RESERVED, PAGE_RESERVED]);
    expect([...c.pages.slice(38)].every((s) => s === PAGE_EMPTY_POPULATED)).toBe(true);
    expect(c.populatedPages).toBe(45);
    expect(c.emptyPopPages).toBe(7);
    expect(c.allocOff.length).toBe(0);
    expectConsistent(k, takeFrame(k, 0, "boot"));
  });

  it("places a dynamic and a reserved allocation at their offsets, with their percpu pointers and block hints", () => {
    const k = bootKernel({});
    const p = k.percpu.alloc(0x20, 8)!;
    const r = k.percpu.allocReserved(0x10, 4)!;
    const c = firstChunkFrame(k);
    expect([...c.allocOff]).toEqual([0x24000, 0x26000]);
    expect([...c.allocSize]).toEqual([0x10, 0x20]);
    /* the frame's pointer arithmetic gives the kernel's pointers */
    expect(c.ptrBase + 0x26000).toBe(p as unknown as number);
    expect(c.ptrBase + 0x24000).toBe(r as unknown as number);
    expect(c.pages[38]).toBe(PAGE_POPULATED);
    expect(c.pages[36]).toBe(PAGE_RESERVED);
    expect(c.emptyPopPages).toBe(6);
    /* block 0 of the first chunk record: 8 bits taken at its start out of PCPU_BITMAP_BLOCK_BITS 0x400 */
    const h = c.hints!.subarray(38 * HINT_STRIDE, 39 * HINT_STRIDE);
    expect(h[HINT_CONTIG]).toBe(0x3f8);
    expect(h[HINT_CONTIG_START]).toBe(8);
    expect(h[HINT_FIRST_FREE]).toBe(8);
    expect(h[HINT_LEFT_FREE]).toBe(0);
    expect(h[HINT_RIGHT_FREE]).toBe(0x3f8);
    /* a static page has no block */
    expect(c.hints![0]).toBe(-1);
    expectConsistent(k, takeFrame(k, 1, "x"));
  });
});

describe("takeFrame (pcpu_chunk_lists, chunk->populated, pcpu_nr_pages)", () => {
  it("agrees with the kernel's counters at every tick of bpf-map on the default kernel", () => {
    const k = bootKernel({});
    let n = 0;
    let created = 0;
    const s = runWorkload(k, "bpf-map", {
      onProgress: (done) => {
        const f = takeFrame(k, ++n, `op ${done}`);
        expectConsistent(k, f);
        created = Math.max(created, f.chunks.length - 1);
        const live = f.chunks.reduce((a, c) => a + c.allocOff.length, 0);
        expect(f.metrics.live).toBe(live);
      },
    });
    expect(n).toBe(300);
    const last = takeFrame(k, n + 1, "done");
    expectConsistent(k, last);
    expect(last.metrics.pcpuNrPages).toBe(s.pcpuNrPages);
    expect(last.metrics.live).toBe(0);
    expect(created).toBe(s.chunksCreated);
    /* a dynamic chunk is drawn over the whole unit: pcpu_unit_pages = 0x80000 / 0x1000 */
    expect(last.chunks[1]!.nrPages).toBe(0x80);
    expect(last.chunks[1]!.records[0]!.role).toBe("dynamic");
  });

  it("draws the area map without block hints, consistently", () => {
    const k = bootKernel({ allocator: "area-map" });
    let n = 0;
    runWorkload(k, "modules", {
      ops: 60,
      onProgress: () => {
        const f = takeFrame(k, ++n, "x");
        expectConsistent(k, f);
        for (const c of f.chunks) expect(c.hints).toBeNull();
      },
    });
    expect(n).toBe(60);
  });

  it("wraps 32-bit percpu pointers and keeps the counts on i386", () => {
    const k = bootKernel({ arch: "i386", cpus: 4 });
    const info = kernelInfo(k);
    expect(info.bits).toBe(32);
    const p = k.percpu.alloc(0x40, 0x40)!;
    const f = takeFrame(k, 0, "boot");
    expectConsistent(k, f);
    const c = f.chunks[0]!;
    const i = c.allocOff.indexOf(c.allocOff.find((o) => (c.ptrBase + o) >>> 0 === (p as unknown as number))!);
    expect(i).toBeGreaterThanOrEqual(0);
    expect(c.allocSize[i]).toBe(0x40);
  });
});
