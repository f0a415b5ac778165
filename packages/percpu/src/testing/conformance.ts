/*
 * The percpu conformance suite: what every kernel must show whatever its
 * population backend, area allocator or arch. Each package that plugs into
 * the core runs it from one of its test files:
 *
 *   import { describePercpuConformance } from "@pcpu/percpu/testing";
 *   import { describe, expect, it } from "vitest";
 *   describePercpuConformance(
 *     { name: "percpu-vm", boot: (o) => ..., chunkPages: ... },
 *     { describe, it, expect },
 *   );
 *
 * The suite imports no test runner: the caller hands in its own (vitest,
 * jest), so the package peers none.
 *
 * Every kernel booted by the suite runs with the invariant checker on.
 * What legitimately differs between strategies (pages a chunk holds) comes
 * from the target; everything else is asserted identically.
 */

import { type FaultSite, GFP_ATOMIC, type Machine } from "@pcpu/mm";
import { pcpuChunkAddrSearch, perCpuPtr, perCpuPtrToPhys } from "../addr.js";
import { PCPU_EMPTY_POP_PAGES_HIGH, type PcpuChunkView, type PcpuEra, type PcpuPtr } from "../api.js";
import type { Percpu } from "../percpu.js";
import { allocPercpu, allocPercpuGfp, allocReservedPercpu, freePercpu } from "../percpu-api.js";
import { thisCpuAdd, thisCpuRead } from "../this-cpu.js";
import { Rng } from "./rng.js";
import type { SuiteTestApi } from "./test-api.js";

/** What the suite boots and how it accounts for a strategy's pages. */
export interface ConformanceTarget {
  /** Name shown in the describe block. */
  readonly name: string;
  /**
   * Boot a kernel with `cpus` possible CPUs over `nodes` nodes, invariant
   * checker on (a backend may spread them over a possible mask with holes;
   * the suite walks `pcpu.possibleCpus`).
   */
  boot(o: { cpus: number; nodes: number; seed: number; era?: PcpuEra }): { machine: Machine; pcpu: Percpu };
  /**
   * Pages the page allocator holds for a backend-created chunk (vm: its
   * populated pages in every possible CPU's unit; km: the whole block).
   */
  chunkPages(pcpu: Percpu, chunk: PcpuChunkView): number;
  /** CPU/node layouts to run on (default: 1 CPU, 4 CPUs/1 node, 8 CPUs/2 nodes). */
  readonly layouts?: readonly { cpus: number; nodes: number }[];
  /** Fault sites whose failure the target can meet while growing (default all four). */
  readonly faultSites?: readonly FaultSite[];
}

/** Pages held by backend-created chunks, according to the target. */
function expectedChunkPages(t: ConformanceTarget, pcpu: Percpu): number {
  let n = 0;
  for (const c of pcpu.allChunks()) if (c !== pcpu.firstChunk) n += t.chunkPages(pcpu, c);
  return n;
}

function fillPattern(cpu: number, i: number): number {
  return (Math.imul(cpu + 1, 0x9e3779b1) ^ Math.imul(i, 0x85ebca6b)) >>> 0;
}

/** Write a per-CPU pattern into every unit's copy of [ptr, ptr+size). */
export function writePattern(pcpu: Percpu, ptr: PcpuPtr, size: number, salt: number): void {
  const mem = pcpu.machine.mem;
  for (const cpu of pcpu.possibleCpus) {
    const a = perCpuPtr(pcpu, ptr, cpu);
    for (let i = 0; i < size; i += 4) mem.write32(a + i, fillPattern(cpu + salt, i));
  }
}

/** Whether every unit's copy still holds the pattern (first mismatch as text, or null). */
export function checkPattern(pcpu: Percpu, ptr: PcpuPtr, size: number, salt: number): string | null {
  const mem = pcpu.machine.mem;
  for (const cpu of pcpu.possibleCpus) {
    const a = perCpuPtr(pcpu, ptr, cpu);
    for (let i = 0; i < size; i += 4) {
      const v = mem.read32(a + i);
      if (v !== fillPattern(cpu + salt, i)) return `cpu ${cpu} +${i}: ${v.toString(16)}`;
    }
  }
  return null;
}

/** Whether every unit's copy is zero (first non-zero as text, or null). */
export function checkZero(pcpu: Percpu, ptr: PcpuPtr, size: number): string | null {
  const mem = pcpu.machine.mem;
  for (const cpu of pcpu.possibleCpus) {
    const a = perCpuPtr(pcpu, ptr, cpu);
    for (let i = 0; i < size; i++) if (mem.read8(a + i) !== 0) return `cpu ${cpu} +${i} is not zero`;
  }
  return null;
}

/** Free everything, run the balance work until nothing is pending. */
function drain(machine: Machine): void {
  for (let i = 0; i < 8 && machine.wq.pendingCount() > 0; i++) machine.wq.runPending();
}

export function describePercpuConformance(t: ConformanceTarget, test: SuiteTestApi): void {
  const { describe, it, expect } = test;
  const layouts = t.layouts ?? [
    { cpus: 1, nodes: 1 },
    { cpus: 4, nodes: 1 },
    { cpus: 8, nodes: 2 },
  ];
  const sites = t.faultSites ?? (["page_alloc", "vmalloc", "kmalloc"] as const);

  describe(`percpu conformance: ${t.name}`, () => {
    for (const layout of layouts) {
      const tag = `${layout.cpus} CPUs, ${layout.nodes} node(s)`;

      it(`allocations are zeroed, usable and isolated on every CPU (${tag})`, () => {
        const { pcpu } = t.boot({ ...layout, seed: 1 });
        const sizes = [4, 8, 0x40, 0x100, 0x1000, 0x2000, 0x8000];
        const ptrs: PcpuPtr[] = [];
        for (const [i, size] of sizes.entries()) {
          const ptr = allocPercpu(pcpu, size, Math.min(size, pcpu.constants.PAGE_SIZE));
          expect(ptr, `alloc ${size}`).not.toBeNull();
          expect(checkZero(pcpu, ptr!, size)).toBeNull();
          writePattern(pcpu, ptr!, size, i);
          ptrs.push(ptr!);
        }
        for (const [i, ptr] of ptrs.entries()) expect(checkPattern(pcpu, ptr, sizes[i]!, i)).toBeNull();
        /* Free one, reallocate the same size: zero again, others intact. */
        freePercpu(pcpu, ptrs[3]!);
        const again = allocPercpu(pcpu, sizes[3]!, sizes[3]!);
        expect(checkZero(pcpu, again!, sizes[3]!)).toBeNull();
        for (const [i, ptr] of ptrs.entries())
          if (i !== 3) expect(checkPattern(pcpu, ptr, sizes[i]!, i)).toBeNull();
      });

      it(`this_cpu operations reach each CPU's own copy (${tag})`, () => {
        const { pcpu, machine } = t.boot({ ...layout, seed: 2 });
        const ptr = allocPercpu(pcpu, 8, 8)!;
        for (const cpu of pcpu.possibleCpus) {
          machine.ctx.setCpu(cpu);
          thisCpuAdd(pcpu, ptr, 4, cpu + 1);
          thisCpuAdd(pcpu, ptr, 4, 0x10);
        }
        for (const cpu of pcpu.possibleCpus) {
          expect(machine.mem.read32(perCpuPtr(pcpu, ptr, cpu))).toBe(cpu + 1 + 0x10);
          machine.ctx.setCpu(cpu);
          expect(thisCpuRead(pcpu, ptr, 4)).toBe(cpu + 1 + 0x10);
        }
        machine.ctx.setCpu(0);
      });

      it(`per_cpu_ptr_to_phys agrees with the page tables (${tag})`, () => {
        const { pcpu, machine } = t.boot({ ...layout, seed: 3 });
        const first = allocPercpu(pcpu, 0x40, 8)!;
        /* Fill the first chunk so later allocations land in a created chunk. */
        const more: PcpuPtr[] = [];
        for (let i = 0; i < 16; i++) more.push(allocPercpu(pcpu, 0x8000, 0x1000)!);
        for (const ptr of [first, ...more]) {
          for (const cpu of pcpu.possibleCpus) {
            const addr = perCpuPtr(pcpu, ptr, cpu) + 4;
            expect(perCpuPtrToPhys(pcpu, addr)).toBe(machine.pgtable.translate(addr));
          }
        }
      });

      it(`pcpu_nr_pages and the page allocator agree through chunk churn (${tag})`, () => {
        const { pcpu, machine } = t.boot({ ...layout, seed: 4 });
        drain(machine);
        const base = machine.pageAlloc.nrAllocatedPages() - expectedChunkPages(t, pcpu);
        const rng = new Rng(0x5eed + layout.cpus);
        const live: { ptr: PcpuPtr; size: number; salt: number }[] = [];
        /* Whatever the unit size, first grow to three chunks so the churn crosses chunk boundaries. */
        for (let i = 0; i < 10_000 && pcpu.allChunks().length < 3; i++) {
          const ptr = allocPercpu(pcpu, 0x8000, 0x1000)!;
          writePattern(pcpu, ptr, 0x8000, -1 - i);
          live.push({ ptr, size: 0x8000, salt: -1 - i });
        }
        expect(pcpu.allChunks().length).toBeGreaterThanOrEqual(3);
        let created = 0;
        for (let step = 0; step < 600; step++) {
          const r = rng.next();
          if (r < 0.55 || live.length === 0) {
            const size = rng.pick([4, 12, 64, 200, 0x400, 0x1000, 0x3000, 0x8000]);
            const align = rng.pick([4, 8, 64, 0x1000]);
            const ptr = allocPercpu(pcpu, size, align);
            expect(ptr).not.toBeNull();
            expect(checkZero(pcpu, ptr!, size)).toBeNull();
            writePattern(pcpu, ptr!, size, step);
            live.push({ ptr: ptr!, size, salt: step });
          } else {
            const i = rng.int(live.length);
            const a = live[i]!;
            expect(checkPattern(pcpu, a.ptr, a.size, a.salt)).toBeNull();
            freePercpu(pcpu, a.ptr);
            live.splice(i, 1);
          }
          if (step % 50 === 0) drain(machine);
          created = Math.max(created, pcpu.allChunks().length);
          expect(machine.pageAlloc.nrAllocatedPages() - base).toBe(expectedChunkPages(t, pcpu));
        }
        expect(created).toBeGreaterThan(2);
        for (const a of live) {
          expect(checkPattern(pcpu, a.ptr, a.size, a.salt)).toBeNull();
          freePercpu(pcpu, a.ptr);
        }
        drain(machine);
        /*
         * One balance run may leave a depopulated chunk at the head of the
         * free slot and a populated empty one behind it (balance_free(true)
         * spares chunks with pages); the next run's balance_free(false)
         * frees all but the head. Then the first chunk survives, plus the
         * empty chunks pcpu_balance_populated keeps populated to reach
         * PCPU_EMPTY_POP_PAGES_HIGH (4) empty pages: one with 4K or 16K
         * pages, two when a unit is only 2 pages (64K pages).
         */
        machine.wq.queueWork(pcpu.balanceWork);
        drain(machine);
        const spares = Math.max(1, Math.ceil(PCPU_EMPTY_POP_PAGES_HIGH / pcpu.unitPages));
        expect(pcpu.allChunks().length).toBeLessThanOrEqual(1 + spares);
        expect(machine.pageAlloc.nrAllocatedPages() - base).toBe(expectedChunkPages(t, pcpu));
      });

      it(`reserved allocations come from the reserved chunk (${tag})`, () => {
        const { pcpu } = t.boot({ ...layout, seed: 5 });
        const r = pcpu.reservedChunk;
        if (pcpu.ai!.reservedSize === 0) {
          /* No reserved region (i386): pcpu_alloc serves reserved requests from the dynamic chunks. */
          expect(r).toBeNull();
          const p = allocReservedPercpu(pcpu, 0x100, 8)!;
          expect(pcpuChunkAddrSearch(pcpu, pcpu.archHooks().pcpuPtrToAddr(p))).toBe(pcpu.firstChunk);
          freePercpu(pcpu, p);
          return;
        }
        expect(r).not.toBeNull();
        const ptr = allocReservedPercpu(pcpu, 0x100, 8)!;
        expect(pcpuChunkAddrSearch(pcpu, pcpu.archHooks().pcpuPtrToAddr(ptr))).toBe(r);
        /* Exhaust it: the next reserved allocation fails, the dynamic chunks are not used. */
        const rest: PcpuPtr[] = [];
        for (;;) {
          const p = allocReservedPercpu(pcpu, 0x100, 8);
          if (p === null) break;
          rest.push(p);
        }
        expect(
          pcpu.machine.log.dmesg().some((l: string) => l.includes("alloc from reserved chunk failed")),
        ).toBe(true);
        expect(rest.length).toBeGreaterThan(0);
        for (const p of rest) freePercpu(pcpu, p);
        freePercpu(pcpu, ptr);
        expect(r!.freeBytes).toBe(pcpu.ai!.reservedSize);
      });
    }

    it("atomic allocations use only populated pages and succeed after the balance work", () => {
      const { pcpu, machine } = t.boot({ cpus: 4, nodes: 1, seed: 6 });
      drain(machine);
      const got: PcpuPtr[] = [];
      /* Consume populated space without sleeping. */
      for (let i = 0; i < 4096; i++) {
        const p = allocPercpuGfp(pcpu, 0x1000, 0x1000, GFP_ATOMIC);
        if (p === null) break;
        got.push(p);
      }
      /* Atomic failures warn since 6.x; older kernels only flag them for the balance work. */
      const warned = machine.log
        .dmesg()
        .some((l: string) => l.includes("atomic alloc failed, no space left"));
      expect(warned).toBe(pcpu.era === "v6");
      expect(pcpu.atomicAllocFailed).toBe(true);
      expect(machine.wq.pendingCount()).toBe(1);
      machine.wq.runPending();
      expect(pcpu.atomicAllocFailed).toBe(false);
      const after = allocPercpuGfp(pcpu, 0x1000, 0x1000, GFP_ATOMIC);
      expect(after).not.toBeNull();
      expect(checkZero(pcpu, after!, 0x1000)).toBeNull();
      for (const p of got) freePercpu(pcpu, p);
      freePercpu(pcpu, after);
    });

    for (const site of sites) {
      it(`a failure injected at every ${site} call while growing unwinds completely`, () => {
        for (let nth = 1; nth <= 40; nth++) {
          const { pcpu, machine } = t.boot({ cpus: 4, nodes: 1, seed: 7 });
          const base = machine.pageAlloc.nrAllocatedPages() - expectedChunkPages(t, pcpu);
          /* Fill the first chunk so the next allocations create and populate a chunk. */
          const keep: PcpuPtr[] = [];
          for (let i = 0; i < 8; i++) keep.push(allocPercpu(pcpu, 0x8000, 0x1000)!);
          for (const p of keep) writePattern(pcpu, p, 0x8000, 9);
          machine.faults.add({ site, nth });
          const ptr = allocPercpu(pcpu, 0x8000, 0x1000);
          machine.faults.clear();
          /* Conservation: every page allocated is held by a live chunk (or was before boot). */
          expect(machine.pageAlloc.nrAllocatedPages() - base).toBe(expectedChunkPages(t, pcpu));
          if (ptr === null) {
            /* "PERCPU: " in kernels before pr_fmt (v3.18 and older) */
            expect(
              machine.log.dmesg().some((l: string) => l.toLowerCase().includes("percpu: allocation failed")),
            ).toBe(true);
          } else {
            expect(checkZero(pcpu, ptr, 0x8000)).toBeNull();
          }
          for (const p of keep) expect(checkPattern(pcpu, p, 0x8000, 9)).toBeNull();
          /* The kernel still works afterwards. */
          const later = allocPercpu(pcpu, 0x8000, 0x1000);
          expect(later).not.toBeNull();
        }
      });
    }
  });
}
