import type { PcpuPtr } from "@pcpu/percpu";
import { describe, expect, it } from "vitest";
import { bootKernel } from "../src/index.js";
import { inspectChunk, inspectText } from "../src/inspect.js";

function threeAllocsMiddleFreed(allocator: "bitmap" | "area-map") {
  const k = bootKernel({ cpus: 4, nodes: "0-3", allocator });
  k.trackCallSites();
  k.percpu.alloc(64, 8, "GFP_KERNEL", { callSite: "a_init+0x10/0x40" });
  const b = k.percpu.alloc(64, 8, "GFP_KERNEL", { callSite: "b_init+0x10/0x40" })!;
  k.percpu.alloc(64, 8, "GFP_KERNEL", { callSite: "a_init+0x10/0x40" });
  k.percpu.free(b);
  return k;
}

describe("inspect: one chunk as a debugger sees it", () => {
  it("shows the bitmap allocator's map per block with the pcpu_block_md hints, in bits", () => {
    const c = inspectChunk(threeAllocsMiddleFreed("bitmap"));
    expect(c.kind).toBe("first");
    expect(c.nrAlloc).toBe(2);
    expect(c.freeBytes).toBe(7 * 4096 - 128);
    /* 64-byte areas at 0 and 128, a 64-byte hole at 64: 16-bit runs of 4-byte units */
    const b0 = c.blocks[0]!;
    expect(b0.map.slice(0, 4)).toBe("#.#.");
    expect(b0).toMatchObject({ starts: 2, firstFree: 16, scanHint: 16, scanHintStart: 16 });
    expect(b0).toMatchObject({ contigHint: 1024 - 48, contigHintStart: 48, leftFree: 0, rightFree: 976 });
    expect(c.blocks[1]).toMatchObject({ contigHint: 1024, leftFree: 1024, rightFree: 1024, firstFree: 0 });
    expect(c.sumFrag).toBe(64);
    expect(c.populatedPages).toBe("0-6");
    expect(c.allocations).toEqual([
      { off: 0, size: 64, ptr: "ffffffff82026000", callSite: "a_init+0x10/0x40", reserved: false },
      { off: 128, size: 64, ptr: "ffffffff82026080", callSite: "a_init+0x10/0x40", reserved: false },
    ]);
    expect(c.slots).toEqual([
      { slot: c.slot, name: null, chunks: [{ id: c.id, freeBytes: c.freeBytes, contigBytes: 28480 }] },
    ]);
    const text = inspectText(c);
    expect(text).toMatch(/^0 P #\.#\.\.+ +976@48 +16@16 +0 +976 +16$/m);
    expect(text).toMatch(/^ +128 +64 {2}ffffffff82026080 {2}a_init\+0x10\/0x40$/m);
  });

  it("shows the 2014 area map's entries", () => {
    const c = inspectChunk(threeAllocsMiddleFreed("area-map"));
    expect(c.allocator).toBe("area-map");
    expect(c.areas).toEqual([
      { off: 0, size: 64, inUse: true },
      { off: 64, size: 64, inUse: false },
      { off: 128, size: 64, inUse: true },
      { off: 192, size: 7 * 4096 - 192, inUse: false },
    ]);
    expect(c.allocations.map((a) => a.off)).toEqual([0, 128]);
  });

  it("lists every chunk and refuses an id no list holds", () => {
    const k = threeAllocsMiddleFreed("bitmap");
    const c = inspectChunk(k);
    expect(c.chunks.map((x) => x.title)).toEqual(["Chunk: <- Reserved Chunk", "Chunk: <- First Chunk"]);
    expect(inspectChunk(k, c.chunks[0]!.id).kind).toBe("reserved");
    expect(() => inspectChunk(k, 99)).toThrow(/no chunk 99 \(chunks: 0, 1\)/);
  });
});

describe("per-call-site report", () => {
  it("counts allocations, frees, failures, live and peak bytes per call site, and the leaks", () => {
    const k = bootKernel({ cpus: 4, nodes: "0-3" });
    const early = k.percpu.alloc(8, 8)!;
    const t = k.trackCallSites();
    const a1 = k.percpu.alloc(16, 8, "GFP_KERNEL", { callSite: "a+0x1/0x2" })!;
    const a2 = k.percpu.alloc(8, 8, "GFP_KERNEL", { callSite: "a+0x1/0x2" })!;
    const b = k.percpu.alloc(32, 8, "GFP_KERNEL", { callSite: "b+0x1/0x2" })!;
    /* larger than a unit: __alloc_percpu_gfp refuses it */
    expect(k.percpu.alloc(1 << 22, 8, "GFP_KERNEL", { callSite: "c+0x1/0x2" })).toBeNull();
    k.percpu.free(a1);
    k.percpu.free(early);
    const r = t.report();
    expect(r.sites).toEqual([
      {
        callSite: "b+0x1/0x2",
        allocs: 1,
        frees: 0,
        failures: 0,
        bytesAlloc: 128,
        live: 1,
        liveBytes: 128,
        peakBytes: 128,
      },
      {
        callSite: "a+0x1/0x2",
        allocs: 2,
        frees: 1,
        failures: 0,
        bytesAlloc: 96,
        live: 1,
        liveBytes: 32,
        peakBytes: 96,
      },
      {
        callSite: "c+0x1/0x2",
        allocs: 0,
        frees: 0,
        failures: 1,
        bytesAlloc: 0,
        live: 0,
        liveBytes: 0,
        peakBytes: 0,
      },
    ]);
    expect(r.totals).toEqual({
      allocs: 3,
      frees: 1,
      failures: 1,
      bytesAlloc: 224,
      live: 2,
      liveBytes: 160,
      peakBytes: 224,
    });
    expect(r.untrackedFrees).toBe(1);
    expect(r.leaks.map((l) => [l.ptr, l.callSite, l.size, l.bytes, l.seq])).toEqual([
      [a2, "a+0x1/0x2", 8, 32, 2],
      [b, "b+0x1/0x2", 32, 128, 3],
    ]);
    expect(k.trackCallSites()).toBe(t);
    expect(t.lookup(a1 as PcpuPtr)).toBeUndefined();
  });
});
