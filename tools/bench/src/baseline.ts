/*
 * The lower bound of the 2017 workload: only the work no percpu allocator
 * can avoid. Objects are placed by a bump pointer in chunks created and
 * populated through the same population backend (percpu-vm: vm areas,
 * alloc_pages on each CPU's node, page table mappings) as the allocator's
 * chunks, one page range at a time as the pointer crosses pages, and each
 * object is zeroed in every possible CPU's unit through the same machine
 * memory, exactly as pcpu_alloc does. Freeing a bump allocation is nothing;
 * its free phase only walks the pointers, so the allocator's free time is
 * measured against (almost) zero.
 */

import { GFP_KERNEL } from "@pcpu/mm";
import type { PcpuChunkView } from "@pcpu/percpu";
import { cpuMs } from "./stats.js";
import { type BenchKernelOptions, bootBenchKernel } from "./x86-64-kernel.js";

/** Times of one baseline run. */
export interface BaselineTimes {
  readonly allocMs: number;
  readonly freeMs: number;
  /** Process CPU time of the two phases (ms). */
  readonly allocCpuMs: number;
  readonly freeCpuMs: number;
  /** Chunks the bump pointer used. */
  readonly chunks: number;
}

/**
 * Place `objects` objects of `size` bytes (aligned to `align`) with a bump
 * pointer and zero each in every unit; then "free" them.
 * @param ptrs scratch of at least `objects` entries (reused across runs).
 * @returns the two phase times in milliseconds.
 */
export function runBaselineOnce(
  objects: number,
  size: number,
  align: number,
  ptrs: Float64Array,
  kopts?: BenchKernelOptions,
): BaselineTimes {
  const k = bootBenchKernel("bitmap", kopts);
  const pcpu = k.pcpu;
  const mem = k.machine.mem;
  const backend = pcpu.backend;
  const unitOffsets = pcpu.unitOffsets;
  const nrCpus = pcpu.nrPossibleCpus;
  const unitSize = pcpu.unitSize;
  const pageShift = pcpu.constants.PAGE_SHIFT;
  const pageSize = pcpu.constants.PAGE_SIZE;

  let chunk: PcpuChunkView | null = null;
  let chunks = 0;
  let base = 0;
  let off = unitSize; /* forces a chunk on the first object */
  let popEnd = 0; /* pages [0, popEnd) of the current chunk are populated */

  const c0 = cpuMs();
  const t0 = performance.now();
  for (let i = 0; i < objects; i++) {
    off = (off + align - 1) & ~(align - 1);
    if (off + size > unitSize) {
      chunk = backend.pcpuCreateChunk(GFP_KERNEL);
      if (chunk === null) throw new Error("baseline: pcpu_create_chunk failed");
      chunks++;
      base = chunk.baseAddr;
      off = 0;
      popEnd = 0;
    }
    const end = (off + size + pageSize - 1) >> pageShift;
    if (end > popEnd) {
      if (backend.pcpuPopulateChunk(chunk as PcpuChunkView, popEnd, end, GFP_KERNEL) !== 0) {
        throw new Error("baseline: pcpu_populate_chunk failed");
      }
      popEnd = end;
    }
    const addr = base + off;
    for (let cpu = 0; cpu < nrCpus; cpu++) mem.memset(addr + unitOffsets[cpu]!, 0, size);
    ptrs[i] = addr;
    off += size;
  }
  const t1 = performance.now();
  const c1 = cpuMs();
  let sink = 0;
  for (let i = 0; i < objects; i++) sink += ptrs[i]! > 0 ? 1 : 0;
  const t2 = performance.now();
  const c2 = cpuMs();
  if (sink !== objects) throw new Error("baseline: lost a pointer");
  return { allocMs: t1 - t0, freeMs: t2 - t1, allocCpuMs: c1 - c0, freeCpuMs: c2 - c1, chunks };
}
