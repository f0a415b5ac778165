/*
 * Balance work scenarios with the kernel's numbers, for a lazily
 * populating backend (percpu-vm). The test kernel: 4 CPUs, static 0x24000,
 * reserved 0x2000, dynamic 0x7000, 4 KiB atoms, so
 *
 *   unit = PFN_ALIGN(0x24000 + 0x2000 + 0x7000) = 184320 bytes = 45 pages
 *   dynamic record: 7 pages, no hidden edge, 7 empty populated pages at boot
 *
 * Each scenario spells out the expected counts step by step.
 */

import { GFP_ATOMIC } from "@pcpu/mm";
import { pcpuChunkAddrSearch } from "../addr.js";
import type { PcpuPtr } from "../api.js";
import type { PcpuChunk } from "../chunk.js";
import type { Percpu } from "../percpu.js";
import { allocPercpu, allocPercpuGfp, freePercpu } from "../percpu-api.js";
import type { ConformanceTarget } from "./conformance.js";
import type { SuiteTestApi } from "./test-api.js";

function chunkOf(pcpu: Percpu, ptr: PcpuPtr): PcpuChunk {
  const c = pcpuChunkAddrSearch(pcpu, pcpu.archHooks().pcpuPtrToAddr(ptr));
  if (c === null) throw new Error("no chunk");
  return c;
}

export function describePercpuBalance(t: ConformanceTarget, test: SuiteTestApi): void {
  const { describe, it, expect } = test;
  describe(`pcpuBalanceWorkfn (pcpu_balance_workfn) with ${t.name}`, () => {
    it("is scheduled when the pool drops below LOW and refills it to HIGH in a new chunk", () => {
      const { pcpu, machine } = t.boot({ cpus: 4, nodes: 1, seed: 1 });
      expect(pcpu.unitPages).toBe(45);
      expect(pcpu.nrEmptyPopPages).toBe(7);
      const pages0 = machine.pageAlloc.nrAllocatedPages();
      const first: PcpuPtr[] = [];
      /* 7 pages fill the dynamic record; the pool reaches 1 (< LOW 2) at the 6th. */
      for (let i = 0; i < 7; i++) {
        first.push(allocPercpu(pcpu, 0x1000, 0x1000)!);
        expect(pcpu.nrEmptyPopPages).toBe(6 - i);
        expect(machine.wq.pendingCount()).toBe(i >= 5 ? 1 : 0);
      }
      for (const p of first) expect(chunkOf(pcpu, p)).toBe(pcpu.firstChunk);
      expect(machine.wq.runPending()).toBe(1);
      /* No chunk had unpopulated pages: one was created and HIGH (4) pages populated in it. */
      const chunks = pcpu.allChunks().filter((c) => c !== pcpu.firstChunk);
      expect(chunks.length).toBe(1);
      const c = chunks[0]!;
      expect(c.nrPopulated).toBe(4);
      expect(c.nrEmptyPopPages).toBe(4);
      expect(pcpu.nrEmptyPopPages).toBe(4);
      expect(c.slot).toBe(pcpu.freeSlot);
      expect(machine.pageAlloc.nrAllocatedPages() - pages0).toBe(4 * 4);

      /* Atomic allocations now come from those 4 pages without sleeping. */
      const atomic: PcpuPtr[] = [];
      for (let i = 0; i < 4; i++) {
        const p = allocPercpuGfp(pcpu, 0x1000, 0x1000, GFP_ATOMIC);
        expect(p).not.toBeNull();
        expect(chunkOf(pcpu, p!)).toBe(c);
        atomic.push(p!);
      }
      expect(pcpu.nrEmptyPopPages).toBe(0);
      /* The 5th fails: the flag makes the next run populate a full HIGH. */
      expect(allocPercpuGfp(pcpu, 0x1000, 0x1000, GFP_ATOMIC)).toBeNull();
      expect(pcpu.atomicAllocFailed).toBe(true);
      machine.wq.runPending();
      expect(c.nrPopulated).toBe(8);
      expect(pcpu.nrEmptyPopPages).toBe(4);
      expect(allocPercpuGfp(pcpu, 0x1000, 0x1000, GFP_ATOMIC)).not.toBeNull();
    });

    it("checks the pool at area_found since 6.11, after population before", () => {
      for (const era of ["v6", "v5.14"] as const) {
        const { pcpu, machine } = t.boot({ cpus: 4, nodes: 1, seed: 9, era });
        /* Five pages of the first chunk's seven: the pool is at LOW (2), nothing scheduled. */
        for (let i = 0; i < 5; i++) allocPercpu(pcpu, 0x1000, 0x1000);
        expect(pcpu.nrEmptyPopPages).toBe(2);
        expect(machine.wq.pendingCount()).toBe(0);
        /*
         * Three pages do not fit in the two left: a new chunk, unpopulated.
         * The hint update counts its three empty pages as used (pool -1) and
         * population gives them back (pool 2). 6.11+ looks at -1 and
         * schedules; older kernels look after population, at 2, and do not.
         */
        const p = allocPercpu(pcpu, 0x3000, 0x1000)!;
        expect(chunkOf(pcpu, p)).not.toBe(pcpu.firstChunk);
        expect(pcpu.nrEmptyPopPages).toBe(2);
        expect(machine.wq.pendingCount()).toBe(era === "v6" ? 1 : 0);
      }
    });

    it("frees surplus fully free chunks but keeps one", () => {
      const { pcpu, machine } = t.boot({ cpus: 4, nodes: 1, seed: 2 });
      const ptrs: PcpuPtr[] = [];
      /* 7 pages fill the first chunk, 45 more fill a second chunk, 1 lands in a third. */
      for (let i = 0; i < 7 + 45 + 1; i++) ptrs.push(allocPercpu(pcpu, 0x1000, 0x1000)!);
      machine.wq.runPending();
      const created = pcpu.allChunks().filter((c) => c !== pcpu.firstChunk);
      expect(created.length).toBeGreaterThanOrEqual(2);
      const pagesBefore = machine.pageAlloc.nrAllocatedPages();
      /* Free the second chunk's 45 allocations: it becomes fully free. */
      const second = chunkOf(pcpu, ptrs[7]!);
      for (let i = 7; i < 52; i++) freePercpu(pcpu, ptrs[i]!);
      expect(second.freeBytes).toBe(pcpu.unitSize);
      expect(second.slot).toBe(pcpu.freeSlot);
      /* Free the third chunk's allocation: a second fully free chunk -> balance scheduled. */
      const third = chunkOf(pcpu, ptrs[52]!);
      freePercpu(pcpu, ptrs[52]!);
      expect(third.freeBytes).toBe(pcpu.unitSize);
      expect(machine.wq.pendingCount()).toBe(1);
      const third0 = pcpu.chunksInSlot(pcpu.freeSlot);
      expect(third0.length).toBeGreaterThanOrEqual(2);
      machine.wq.runPending();
      /* Only the head of the free slot survives, with its populated pages. */
      const left = pcpu.chunksInSlot(pcpu.freeSlot);
      expect(left.length).toBe(1);
      expect(left[0]).toBe(third0[0]);
      const destroyedPages = third0.slice(1).reduce((n, c) => n + c.nrPopulated * 4, 0);
      expect(pagesBefore - machine.pageAlloc.nrAllocatedPages()).toBeGreaterThanOrEqual(destroyedPages);
    });

    it("isolates a mostly empty chunk and depopulates its empty pages from the top", () => {
      const { pcpu, machine } = t.boot({ cpus: 4, nodes: 1, seed: 3 });
      const fill: PcpuPtr[] = [];
      for (let i = 0; i < 7; i++) fill.push(allocPercpu(pcpu, 0x1000, 0x1000)!);
      /* Chunk X: 45 page-sized allocations populate all of it. */
      const x: PcpuPtr[] = [];
      for (let i = 0; i < 45; i++) x.push(allocPercpu(pcpu, 0x1000, 0x1000)!);
      const X = chunkOf(pcpu, x[0]!);
      expect(X.nrPopulated).toBe(45);
      /* Chunk Y: holds more than HIGH empty populated pages (populated then freed). */
      const y: PcpuPtr[] = [];
      for (let i = 0; i < 12; i++) y.push(allocPercpu(pcpu, 0x1000, 0x1000)!);
      const Y = chunkOf(pcpu, y[0]!);
      expect(Y).not.toBe(X);
      for (let i = 1; i < 12; i++) freePercpu(pcpu, y[i]!);
      machine.wq.runPending();
      const yEmpty = Y.nrEmptyPopPages;
      expect(yEmpty).toBeGreaterThanOrEqual(11);
      /*
       * Free X's pages from the top, keeping page 0. The kernel isolates X
       * on the free that makes it hold >= nr_pages / 4 = 11 empty pages
       * while the rest of the pool exceeds HIGH + X's empties.
       */
      let isolatedAt = -1;
      for (let i = 44; i >= 1; i--) {
        freePercpu(pcpu, x[i]!);
        if (X.isolated && isolatedAt < 0) isolatedAt = 45 - i;
      }
      expect(isolatedAt).toBe(11);
      expect(X.slot).toBe(pcpu.toDepopulateSlot);
      const flushes = machine.pgtable.flushes.tlbKernelRange;
      const pages = machine.pageAlloc.nrAllocatedPages();
      const emptyX = X.nrEmptyPopPages;
      expect(emptyX).toBe(44);
      machine.wq.runPending();
      /* Pages 1..44 depopulated in one run, one TLB flush for the chunk. */
      expect(X.nrPopulated).toBe(1);
      expect(pages - machine.pageAlloc.nrAllocatedPages()).toBe(44 * 4);
      expect(machine.pgtable.flushes.tlbKernelRange - flushes).toBe(1);
      /* Not fully free and the pool stayed >= HIGH: sidelined, still isolated. */
      expect(X.isolated).toBe(true);
      expect(X.slot).toBe(pcpu.sidelinedSlot);
      /* Freeing the last allocation leaves it isolated with no empty pages to reclaim. */
      freePercpu(pcpu, x[0]!);
      expect(X.freeBytes).toBe(pcpu.unitSize);
    });
  });
}
