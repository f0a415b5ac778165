/*
 * The seeded stress test of the core: random sleeping and atomic
 * allocations of 4 B .. PCPU_MIN_UNIT_SIZE at alignments 4 B .. PAGE_SIZE,
 * frees in random order, balance-work runs, each allocation's bytes written
 * with a per-CPU pattern and verified before it is freed, with the
 * invariant checker on after every operation. Run by every backend.
 */

import { GFP_KERNEL, GFP_NOWAIT } from "@pcpu/mm";
import { perCpuPtr } from "../addr.js";
import type { PcpuPtr } from "../api.js";
import type { Percpu } from "../percpu.js";
import { allocPercpuGfp, freePercpu } from "../percpu-api.js";
import type { ConformanceTarget } from "./conformance.js";
import { Rng } from "./rng.js";
import type { SuiteTestApi } from "./test-api.js";

/** Counts of one stress run, for reports. */
export interface StressReport {
  ops: number;
  allocs: number;
  atomicAllocs: number;
  atomicFailures: number;
  frees: number;
  balanceRuns: number;
  peakChunks: number;
  peakLive: number;
  checks: number;
}

/** A per-CPU byte pattern for one allocation. */
function pattern(size: number, cpu: number, salt: number): Uint8Array {
  const b = new Uint8Array(size);
  let x = (Math.imul(salt + 1, 0x9e3779b1) ^ Math.imul(cpu + 1, 0x85ebca6b)) >>> 0;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Run `ops` random operations on a booted kernel; throws (via expect) on the
 * first lost byte, non-zero new allocation or invariant violation (plain
 * errors: the loop is hot, vitest's expect is kept for the summary).
 */
export function runPercpuStress(pcpu: Percpu, ops: number, seed: number): StressReport {
  const rng = new Rng(seed);
  const mem = pcpu.machine.mem;
  const cpus = pcpu.possibleCpus;
  const maxSize = pcpu.constants.PCPU_MIN_UNIT_SIZE;
  const pageSize = pcpu.constants.PAGE_SIZE;
  const live: { ptr: PcpuPtr; size: number; salt: number }[] = [];
  const r: StressReport = {
    ops,
    allocs: 0,
    atomicAllocs: 0,
    atomicFailures: 0,
    frees: 0,
    balanceRuns: 0,
    peakChunks: 0,
    peakLive: 0,
    checks: 0,
  };
  for (let op = 0; op < ops; op++) {
    const roll = rng.next();
    if (roll < 0.52 || live.length === 0) {
      /* Sizes skewed small like real users: mostly < 256 B, some up to the unit limit. */
      const k = rng.next();
      const size = k < 0.7 ? 4 + rng.int(256) : k < 0.95 ? 4 + rng.int(0x1000) : 4 + rng.int(maxSize - 3);
      let align = 4 << rng.int(Math.log2(pageSize) - 1);
      if (align > pageSize) align = pageSize;
      const atomic = rng.next() < 0.2;
      const ptr = allocPercpuGfp(pcpu, size, align, atomic ? GFP_NOWAIT : GFP_KERNEL);
      if (atomic) r.atomicAllocs++;
      if (ptr === null) {
        if (!atomic) throw new Error(`stress: sleeping allocation of ${size}/${align} failed at op ${op}`);
        r.atomicFailures++;
        continue;
      }
      r.allocs++;
      const rounded = (size + 3) & ~3;
      for (const cpu of cpus) {
        const a = perCpuPtr(pcpu, ptr, cpu);
        const got = mem.copyOut(a, rounded);
        for (let i = 0; i < rounded; i++)
          if (got[i] !== 0)
            throw new Error(`stress: op ${op}: new allocation not zero on cpu ${cpu} at +${i}`);
        if (a % align !== 0) throw new Error(`stress: op ${op}: ${a} not aligned to ${align}`);
        mem.copyIn(a, pattern(rounded, cpu, op));
      }
      live.push({ ptr, size: rounded, salt: op });
    } else if (roll < 0.995) {
      const i = rng.int(live.length);
      const a = live[i]!;
      for (const cpu of cpus) {
        if (!sameBytes(mem.copyOut(perCpuPtr(pcpu, a.ptr, cpu), a.size), pattern(a.size, cpu, a.salt))) {
          throw new Error(`stress: op ${op}: allocation from op ${a.salt} lost its bytes on cpu ${cpu}`);
        }
      }
      if (!freePercpu(pcpu, a.ptr)) throw new Error(`stress: op ${op}: free of a live allocation refused`);
      live[i] = live[live.length - 1]!;
      live.pop();
      r.frees++;
    } else {
      pcpu.machine.wq.runPending();
      r.balanceRuns++;
    }
    r.peakLive = Math.max(r.peakLive, live.length);
    r.peakChunks = Math.max(r.peakChunks, pcpu.allChunks().length);
  }
  for (const a of live) if (!freePercpu(pcpu, a.ptr)) throw new Error("stress: final free refused");
  pcpu.machine.wq.runPending();
  r.checks = pcpu.debug?.checks ?? 0;
  return r;
}

/** Register the stress test for a target (default 10^5 operations on 4 CPUs). */
export function describePercpuStress(
  t: ConformanceTarget,
  test: SuiteTestApi,
  o: { ops?: number; cpus?: number; nodes?: number } = {},
): void {
  const { it, expect } = test;
  const ops = o.ops ?? 100_000;
  const cpus = o.cpus ?? 4;
  const nodes = o.nodes ?? 1;
  it(`survives ${ops} random operations with the invariant checker on (${t.name}, ${cpus} CPUs)`, () => {
    const { pcpu } = t.boot({ cpus, nodes, seed: 0xabc });
    const r = runPercpuStress(pcpu, ops, 0x5eed);
    expect(r.allocs).toBeGreaterThan(ops / 3);
    expect(r.frees).toBeGreaterThan(ops / 3);
    expect(r.peakChunks).toBeGreaterThan(1);
    expect(r.checks).toBeGreaterThanOrEqual(r.allocs + r.frees);
    /* Everything freed: every chunk's allocator is back to empty. */
    for (const c of pcpu.allChunks()) {
      const managed = c.nrPages * pcpu.constants.PAGE_SIZE - c.startOffset - c.endOffset;
      expect(c.freeBytes).toBe(managed);
    }
  });
}
