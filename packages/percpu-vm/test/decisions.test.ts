/*
 * Allocation decisions, pinned: a seeded mixed churn (sizes 4 B .. 8 KiB,
 * alignments up to a page, sleeping and atomic allocations, the reserved
 * chunk, frees in random order, the balance work run every few hundred
 * operations) through the whole path on percpu-vm, for both area
 * allocators. Every result is hashed as (chunk, offset): the chunk's base
 * address and the offset pcpu_alloc chose, or a marker for NULL. The hashes
 * are pinned so that a speed-up of either allocator, of pcpu_alloc or of the
 * backend cannot change a single decision without failing here.
 */

import { GFP_KERNEL, GFP_NOWAIT } from "@pcpu/mm";
import {
  allocPercpuGfp,
  allocReservedPercpu,
  createAreaMapAllocator,
  createBitmapAllocator,
  freePercpu,
  type PcpuPtr,
  pcpuChunkAddrSearch,
} from "@pcpu/percpu";
import { bootTestKernel, Rng } from "@pcpu/percpu/testing";
import { createPercpuVm } from "@pcpu/percpu-vm";
import { describe, expect, it } from "vitest";

const SIZES = [4, 4, 4, 8, 8, 12, 16, 16, 24, 32, 48, 64, 64, 128, 200, 256, 512, 1024, 0x1000, 0x2000];
const ALIGNS = [4, 4, 8, 8, 8, 16, 64, 0x1000];

/** FNV-1a over 32-bit words. */
class Fnv {
  h = 0x811c9dc5;
  word(x: number): void {
    for (let s = 0; s < 32; s += 8) {
      this.h ^= (x >>> s) & 0xff;
      this.h = Math.imul(this.h, 0x01000193) >>> 0;
    }
  }
  /** A non-negative integer below 2^53, low word first. */
  num(x: number): void {
    this.word(x >>> 0);
    this.word(Math.floor(x / 2 ** 32) >>> 0);
  }
}

interface ChurnResult {
  readonly hash: string;
  readonly allocs: number;
  readonly nulls: number;
  readonly chunks: number;
}

/** The churn: `ops` operations from `seed` on a fresh 8-CPU kernel with `area`. */
function churn(area: "bitmap" | "area-map", seed: number, ops: number): ChurnResult {
  const { pcpu, machine } = bootTestKernel({
    population: createPercpuVm(),
    area: area === "bitmap" ? createBitmapAllocator() : createAreaMapAllocator(),
    cpus: 8,
    nodes: 2,
    numaGroups: true,
    options: { debugChecks: false },
  });
  const rng = new Rng(seed);
  const live: PcpuPtr[] = [];
  const h = new Fnv();
  let allocs = 0;
  let nulls = 0;
  const chunks = new Set<number>();
  const record = (p: PcpuPtr): void => {
    const addr = pcpu.archHooks().pcpuPtrToAddr(p);
    const chunk = pcpuChunkAddrSearch(pcpu, addr)!;
    chunks.add(chunk.baseAddr);
    h.num(chunk.baseAddr);
    h.word(addr - chunk.baseAddr);
  };

  for (let i = 0; i < ops; i++) {
    const x = rng.next();
    if (live.length > 0 && x < 0.42) {
      const j = rng.int(live.length);
      const p = live[j]!;
      live[j] = live[live.length - 1]!;
      live.pop();
      freePercpu(pcpu, p);
      continue;
    }
    const size = rng.pick(SIZES);
    const align = rng.pick(ALIGNS);
    let p: PcpuPtr | null;
    if (x > 0.99) p = allocReservedPercpu(pcpu, size, align);
    else p = allocPercpuGfp(pcpu, size, align, x > 0.9 ? GFP_NOWAIT : GFP_KERNEL);
    allocs++;
    if (p === null) {
      nulls++;
      h.word(0xffffffff);
    } else {
      record(p);
      live.push(p);
    }
    /* the balance work: populates, depopulates and frees chunks between the allocations */
    if (i % 311 === 310) machine.wq.runPending();
  }

  /* the 2017 evaluation's shape: a long fill of small objects, every other freed, a refill */
  const fill: PcpuPtr[] = [];
  for (let i = 0; i < ops * 2; i++) {
    const p = allocPercpuGfp(pcpu, i % 7 === 0 ? 16 : 4, 4, GFP_KERNEL);
    allocs++;
    if (p === null) {
      nulls++;
      h.word(0xffffffff);
      continue;
    }
    record(p);
    fill.push(p);
  }
  for (let i = 0; i < fill.length; i += 2) freePercpu(pcpu, fill[i]!);
  machine.wq.runPending();
  for (let i = 0; i < ops; i++) {
    const p = allocPercpuGfp(pcpu, 4 << rng.int(3), 4, GFP_KERNEL);
    allocs++;
    if (p === null) {
      nulls++;
      h.word(0xffffffff);
    } else record(p);
  }
  return { hash: h.h.toString(16).padStart(8, "0"), allocs, nulls, chunks: chunks.size };
}

describe("allocation decisions (pcpu_alloc + both area allocators + percpu-vm), pinned", () => {
  it("bitmap: the seeded churn hashes to the same (chunk, offset) sequence", () => {
    expect(churn("bitmap", 2017, 20000)).toEqual({ hash: "ccf9b556", allocs: 71549, nulls: 137, chunks: 20 });
  });

  it("area map: the seeded churn hashes to the same (chunk, offset) sequence", () => {
    expect(churn("area-map", 2017, 20000)).toEqual({
      hash: "32f20274",
      allocs: 71549,
      nulls: 88,
      chunks: 19,
    });
  });

  it("the hash sees a changed decision", () => {
    const a = churn("bitmap", 7, 3000);
    expect(churn("bitmap", 7, 3000)).toEqual(a);
    expect(churn("bitmap", 8, 3000).hash).not.toBe(a.hash);
    expect(churn("area-map", 7, 3000).hash).not.toBe(a.hash);
  });
});
