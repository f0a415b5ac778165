/*
 * What is checked after every step of a run. Each check returns the first
 * problem as one line of text, or null:
 *
 *   invariants   the core's checker over every chunk (checkPercpuInvariants,
 *                full, not the debug mode's sampled one)
 *   bytes        every live allocation holds, on every possible CPU, the
 *                bytes last written to it (the shadow)
 *   overlap      no two live allocations, and no allocation and the static
 *                area, share a byte in any CPU's unit
 *   pages        pcpu_nr_pages() = pcpu_nr_populated * units; the page
 *                allocator's allocated pages minus the post-boot baseline
 *                equal the pages held by backend-created chunks; the node
 *                counters add up; with percpu-vm the page table maps exactly
 *                the populated pages of every possible CPU's unit
 */

import { checkPercpuInvariants, perCpuPtr } from "@pcpu/percpu";
import { createdChunks, heldChunkPages, type Subject } from "./boot.js";
import type { ShadowAlloc } from "./shadow.js";

/** The counts a run starts from, taken right after boot and a first balance run. */
export interface Baseline {
  /** Allocated pages not held by backend-created chunks (the boot's own). */
  readonly pages: number;
  /** PTEs mapped outside backend-created chunks (vm: page first chunk, other vmalloc users). */
  readonly mapped: number;
  /** Free bytes of the first-chunk dynamic record and the reserved chunk after boot. */
  readonly firstFree: number;
  readonly reservedFree: number;
}

/** Pages the page table maps for backend-created chunks (percpu-vm: populated pages of every possible CPU's unit). */
function createdMapped(s: Subject): number {
  if (s.population !== "vm") return 0;
  let n = 0;
  for (const c of createdChunks(s)) n += c.nrPopulated * s.pcpu.nrPossibleCpus;
  return n;
}

export function takeBaseline(s: Subject): Baseline {
  const m = s.machine;
  return {
    pages: m.pageAlloc.nrAllocatedPages() - heldChunkPages(s),
    mapped: m.pgtable.mappedPages() - createdMapped(s),
    firstFree: s.pcpu.firstChunk.freeBytes,
    reservedFree: s.pcpu.reservedChunk?.freeBytes ?? 0,
  };
}

export function checkInvariants(s: Subject): string | null {
  const v = checkPercpuInvariants(s.pcpu);
  return v === null ? null : `invariant checker: ${v}`;
}

export function checkBytes(s: Subject, live: readonly ShadowAlloc[]): string | null {
  const mem = s.machine.mem;
  const cpus = s.pcpu.nrPossibleCpus;
  for (const a of live) {
    for (let cpu = 0; cpu < cpus; cpu++) {
      const got = mem.copyOut(perCpuPtr(s.pcpu, a.ptr, cpu), a.size);
      const want = a.bytes[cpu]!;
      for (let i = 0; i < a.size; i++) {
        if (got[i] !== want[i]) {
          return `allocation of step ${a.step} (${a.size} B) lost its bytes on cpu ${cpu} at +0x${i.toString(16)}: 0x${got[i]!.toString(16)} != 0x${want[i]!.toString(16)}`;
        }
      }
    }
  }
  return null;
}

/** Whether every possible CPU's copy of [ptr, ptr+size) is zero (the first non-zero byte as text). */
export function checkZero(s: Subject, a: { ptr: number; size: number }): string | null {
  const mem = s.machine.mem;
  for (let cpu = 0; cpu < s.pcpu.nrPossibleCpus; cpu++) {
    const got = mem.copyOut(perCpuPtr(s.pcpu, a.ptr, cpu), a.size);
    for (let i = 0; i < a.size; i++)
      if (got[i] !== 0) return `new allocation not zero on cpu ${cpu} at +0x${i.toString(16)}`;
  }
  return null;
}

export function checkOverlap(s: Subject, live: readonly ShadowAlloc[]): string | null {
  const pcpu = s.pcpu;
  const cpus = pcpu.nrPossibleCpus;
  const n = (live.length + 1) * cpus;
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  const owner = new Int32Array(n);
  let k = 0;
  const staticPtr = pcpu.archHooks().addrToPcpuPtr(pcpu.baseAddr);
  for (let cpu = 0; cpu < cpus; cpu++) {
    start[k] = perCpuPtr(pcpu, staticPtr, cpu);
    end[k] = start[k]! + pcpu.section.staticSize;
    owner[k++] = -1;
  }
  for (let i = 0; i < live.length; i++) {
    for (let cpu = 0; cpu < cpus; cpu++) {
      start[k] = perCpuPtr(pcpu, live[i]!.ptr, cpu);
      end[k] = start[k]! + live[i]!.size;
      owner[k++] = i;
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => start[a]! - start[b]!);
  for (let j = 1; j < n; j++) {
    const p = order[j - 1]!;
    const q = order[j]!;
    if (start[q]! < end[p]!) {
      const name = (o: number) => (o < 0 ? "the static area" : `the allocation of step ${live[o]!.step}`);
      return `${name(owner[p]!)} and ${name(owner[q]!)} overlap at ${s.machine.formatAddr(start[q]!)}`;
    }
  }
  return null;
}

export function checkPages(s: Subject, base: Baseline): string | null {
  const { machine: m, pcpu } = s;
  if (pcpu.pcpuNrPages() !== pcpu.nrPopulated * pcpu.nrUnits) {
    return `pcpu_nr_pages ${pcpu.pcpuNrPages()} != pcpu_nr_populated ${pcpu.nrPopulated} * ${pcpu.nrUnits} units`;
  }
  const allocated = m.pageAlloc.nrAllocatedPages();
  const held = heldChunkPages(s);
  if (allocated - base.pages !== held) {
    return `page allocator: ${allocated} pages allocated, ${base.pages} at boot + ${held} held by created chunks`;
  }
  let free = 0;
  let used = 0;
  for (const c of m.pageAlloc.counters()) {
    free += c.freePages;
    used += c.managedPages - c.freePages;
  }
  if (free !== m.pageAlloc.nrFreePages())
    return `page allocator: nr_free_pages ${m.pageAlloc.nrFreePages()} != ${free} over nodes`;
  if (used !== allocated)
    return `page allocator: node counters say ${used} pages in use, nrAllocatedPages ${allocated}`;
  if (s.population === "vm") {
    const mapped = m.pgtable.mappedPages() - base.mapped;
    const want = createdMapped(s);
    if (mapped !== want) return `page table: ${mapped} pages mapped for created chunks, ${want} populated`;
  }
  return null;
}

/** Every per-step check, in order; the first problem. */
export function checkAll(s: Subject, base: Baseline, live: readonly ShadowAlloc[]): string | null {
  return checkInvariants(s) ?? checkPages(s, base) ?? checkOverlap(s, live) ?? checkBytes(s, live);
}

/**
 * After everything was freed and the balance work ran: the first chunk and
 * the reserved chunk are as empty as after boot, at most one created chunk
 * survives (pcpu_balance_free spares the first free chunk on purpose) and it
 * is completely free, and the page allocator holds exactly the boot's pages
 * plus that spare chunk's.
 */
export function checkNoLeak(s: Subject, base: Baseline): string | null {
  const pcpu = s.pcpu;
  if (pcpu.firstChunk.freeBytes !== base.firstFree)
    return `first chunk: ${pcpu.firstChunk.freeBytes} B free, ${base.firstFree} after boot`;
  if ((pcpu.reservedChunk?.freeBytes ?? 0) !== base.reservedFree) {
    return `reserved chunk: ${pcpu.reservedChunk?.freeBytes} B free, ${base.reservedFree} after boot`;
  }
  const created = createdChunks(s);
  if (created.length > 1)
    return `${created.length} created chunks survive freeing everything and two balance runs (at most 1 spare)`;
  for (const c of created) {
    if (c.freeBytes !== pcpu.unitSize)
      return `chunk ${c.id} survives with ${pcpu.unitSize - c.freeBytes} B still allocated`;
  }
  const leaked = s.machine.pageAlloc.nrAllocatedPages() - base.pages - heldChunkPages(s);
  if (leaked !== 0) return `${leaked} pages leaked after freeing everything`;
  return null;
}

/**
 * The largest request (bytes) that fits, aligned to `align`, in a free run
 * of the reserved chunk, from the allocator's exact layout (not its hints,
 * which the area map keeps as an upper bound).
 */
export function reservedRoom(s: Subject, align: number): number {
  const pcpu = s.pcpu;
  const chunk = pcpu.reservedChunk;
  if (chunk === null) return 0;
  const end = chunk.nrPages * pcpu.constants.PAGE_SIZE - chunk.endOffset;
  let pos = chunk.startOffset;
  let best = 0;
  const free = (from: number, to: number) => {
    const start = Math.ceil(from / align) * align;
    if (to - start > best) best = to - start;
  };
  pcpu.area.forEachRun(chunk, (signed) => {
    const len = Math.abs(signed);
    if (signed < 0) free(pos, pos + len);
    pos += len;
  });
  free(pos, end);
  return best;
}
