import { GFP_ATOMIC } from "@pcpu/mm";
import { describe, expect, it } from "vitest";
import { pcpuChunkAddrSearch } from "../src/addr.js";
import type { PcpuAreaMap } from "../src/area-map.js";
import { createAreaMapAllocator, type PcpuAreaMapAllocator } from "../src/area-map-allocator.js";
import { allocPercpu, allocPercpuGfp, allocReservedPercpu, freePercpu } from "../src/percpu-api.js";
import { bootTestKernel } from "../src/testing/boot.js";
import { stubBackend } from "./helpers/stub-backend.js";

/*
 * The area map inside the real core, on the spec's worked example (static
 * 200000, reserved 8192, dyn 28672, 4 CPUs, atom 2 MiB): the dynamic record
 * is [base + 204800, +8 pages) with start_offset 0xd40, the reserved record
 * [base + 196608, +3 pages) with start_offset 0xd40 and end_offset 0x2c0.
 * The stub backend cannot create chunks, so everything stays in the first
 * chunk; the core's invariant checker runs after every call.
 */
function boot() {
  return bootTestKernel({
    population: stubBackend,
    area: createAreaMapAllocator(),
    era: "v3.18",
    cpus: 4,
    staticSize: 200000,
    reservedSize: 8192,
    dynSize: 28672,
    atomSize: 0x200000,
  });
}

function mapOf(chunk: { area: unknown }): number[] {
  const m = chunk.area as PcpuAreaMap;
  return Array.from(m.map.subarray(0, m.mapUsed + 1));
}

describe("area map in the core (pcpu_setup_first_chunk / pcpu_alloc / free_percpu)", () => {
  it("sets up the first-chunk records as the 2014 maps", () => {
    const { pcpu } = boot();
    const dyn = pcpu.firstChunk;
    const res = pcpu.reservedChunk!;
    expect(pcpu.area.name).toBe("area-map");
    expect(mapOf(dyn)).toEqual([1, 0xd40, 0x8001]);
    expect(mapOf(res)).toEqual([1, 0xd40, 0x2d41, 0x3001]);
    expect([dyn.freeBytes, dyn.nrEmptyPopPages, res.freeBytes, res.nrEmptyPopPages]).toEqual([
      29376, 7, 8192, 1,
    ]);
    expect(pcpu.nrEmptyPopPages).toBe(7);
    expect(pcpu.area.chunkSlot(dyn)).toBe(12);
  });

  it("allocates first fit, frees with merging, and keeps the accounting", () => {
    const { pcpu } = boot();
    const dyn = pcpu.firstChunk;
    const a = allocPercpu(pcpu, 0x10, 4)!;
    const b = allocPercpu(pcpu, 0x1000, 0x1000)!;
    const c = allocPercpu(pcpu, 0x20, 0x20)!;
    expect([a, b, c].every((p) => p !== null)).toBe(true);
    expect(pcpuChunkAddrSearch(pcpu, pcpu.arch!.pcpuPtrToAddr(a))).toBe(dyn);
    /* offsets in the dynamic record: 0xd40, 0x1000, 0xd60 (0xd50 aligned up) */
    expect(mapOf(dyn)).toEqual([1, 0xd41, 0xd50, 0xd61, 0xd80, 0x1001, 0x2000, 0x8001]);
    expect(dyn.nrEmptyPopPages).toBe(6);
    expect(pcpu.nrEmptyPopPages).toBe(6);
    freePercpu(pcpu, a);
    freePercpu(pcpu, c);
    expect(mapOf(dyn)).toEqual([1, 0xd40, 0x1001, 0x2000, 0x8001]);
    freePercpu(pcpu, b);
    expect(mapOf(dyn)).toEqual([1, 0xd40, 0x8001]);
    expect([dyn.freeBytes, dyn.nrEmptyPopPages, pcpu.nrEmptyPopPages]).toEqual([29376, 7, 7]);
  });

  it("serves reserved and atomic allocations; the balance work extends queued maps", () => {
    const { pcpu, machine } = boot();
    const r = allocReservedPercpu(pcpu, 0x100, 8);
    expect(r).not.toBeNull();
    expect(mapOf(pcpu.reservedChunk!)).toEqual([1, 0xd41, 0xe40, 0x2d41, 0x3001]);
    expect(pcpu.nrEmptyPopPages).toBe(7);

    /* 128-entry map: atomic callers queue it once fewer than 32 spare remain */
    const am = pcpu.area as PcpuAreaMapAllocator;
    const ptrs = [];
    for (let i = 0; i < 100; i++) {
      const p = allocPercpuGfp(pcpu, 4, 4, GFP_ATOMIC);
      expect(p).not.toBeNull();
      ptrs.push(p!);
    }
    const m = pcpu.firstChunk.area as PcpuAreaMap;
    expect(m.mapUsed).toBe(102);
    expect(m.mapAlloc).toBe(128);
    expect(am.extendList).toEqual([pcpu.firstChunk]);
    expect(machine.wq.runPending()).toBe(1);
    expect(m.mapAlloc).toBe(256);
    expect(am.extendList).toEqual([]);
    for (const p of ptrs) freePercpu(pcpu, p);
    expect(m.mapUsed).toBe(2);
  });

  it("a failed sleeping map extension fails the allocation with the kernel's message", () => {
    const { pcpu, machine } = boot();
    const m = pcpu.firstChunk.area as PcpuAreaMap;
    for (let i = 0; i < 63; i++) expect(allocPercpu(pcpu, 4, 4)).not.toBeNull();
    expect([m.mapUsed, m.mapAlloc]).toEqual([65, 128]);
    machine.faults.add({ site: "kmalloc", caller: "pcpu_extend_area_map", nth: 1 });
    machine.log.clear();
    expect(allocPercpu(pcpu, 4, 4)).toBeNull();
    /* 3.18 wrote "PERCPU: " into the message (no pr_fmt yet) */
    expect(machine.log.dmesg().join("\n")).toContain(
      "PERCPU: allocation failed, size=4 align=4 atomic=0, failed to extend area map",
    );
    expect([m.mapUsed, m.mapAlloc]).toEqual([65, 128]);
    /* the rule fired once: the next sleeping caller grows the map to 256 */
    expect(allocPercpu(pcpu, 4, 4)).not.toBeNull();
    expect([m.mapUsed, m.mapAlloc]).toEqual([66, 256]);
  });
});
