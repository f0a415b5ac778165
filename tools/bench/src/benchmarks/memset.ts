/*
 * memset and u32 store throughput through the page table: a vmalloc area
 * backed by non-contiguous pages (as percpu-vm populates chunks), written
 * through @pcpu/mm's virtual memory access, against a plain Uint8Array /
 * DataView of the same size. Measures the cost of the model's translation
 * (one-entry cache, software TLB, page-table walk on a miss) and of sparse
 * backing; one row repeats the memset on SharedArrayBuffer-backed memory.
 */

import { GFP_KERNEL, Machine } from "@pcpu/mm";
import { type Benchmark, type BenchResult, compareNsPerOp, reportOf, rowOf } from "../bench.js";

const PAGE = 0x1000;

function machine(sharedMemory: boolean): Machine {
  return new Machine({
    pageShift: 12,
    bits: 64,
    vaBits: 47,
    nodes: [{ start: 0, size: 0x10000000 }],
    pageOffset: 0x100000000000,
    vmallocStart: 0x200000000000,
    vmallocEnd: 0x210000000000,
    nrCpus: 1,
    sharedMemory,
  });
}

/** A vmalloc range of `pages` pages, each backed by every other pfn (not physically contiguous). */
function mappedRange(m: Machine, pages: number): number {
  const area = m.vmalloc.getVmArea(pages * PAGE, PAGE, "bench")!;
  for (let i = 0; i < pages; i++) {
    const pfn = m.pageAlloc.allocPagesNode(0, GFP_KERNEL, 0);
    m.pageAlloc.allocPagesNode(0, GFP_KERNEL, 0);
    m.pgtable.mapPage(area.addr + i * PAGE, pfn);
  }
  return area.addr;
}

/** Runs the memset / u32 store benchmark. */
export function runMemset(opts: { readonly quick: boolean }): BenchResult {
  const pages = opts.quick ? 32 : 256;
  const runs = opts.quick ? 3 : 9;
  const bytes = pages * PAGE;
  const m = machine(false);
  const base = mappedRange(m, pages);
  const mem = m.mem;
  const shared = machine(true);
  const sbase = mappedRange(shared, pages);
  const smem = shared.mem;
  const plain = new Uint8Array(bytes);
  const dv = new DataView(plain.buffer);

  // Seeded scattered 4-byte-aligned offsets over the whole range.
  const nOffs = 4096;
  const offs = new Float64Array(nOffs);
  let s = 0x2545f491;
  for (let i = 0; i < nOffs; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    offs[i] = ((s >>> 0) % (bytes / 4)) * 4;
  }

  let sink = 0;
  const memsetOurs = (n: number) => {
    for (let i = 0; i < n; i++) mem.memset(base + (i % pages) * PAGE, (i & 0xfe) + 1, PAGE);
  };
  const memsetShared = (n: number) => {
    for (let i = 0; i < n; i++) smem.memset(sbase + (i % pages) * PAGE, (i & 0xfe) + 1, PAGE);
  };
  const memsetBase = (n: number) => {
    for (let i = 0; i < n; i++) {
      const o = (i % pages) * PAGE;
      plain.fill((i & 0xfe) + 1, o, o + PAGE);
    }
  };
  const scatterOurs = (n: number) => {
    for (let i = 0; i < n; i++) mem.write32(base + offs[i & (nOffs - 1)]!, i);
  };
  const scatterBase = (n: number) => {
    for (let i = 0; i < n; i++) dv.setUint32(offs[i & (nOffs - 1)]!, i, true);
  };
  const seqOurs = (n: number) => {
    for (let i = 0; i < n; i++) mem.write32(base + ((i * 4) % bytes), i);
  };
  const seqBase = (n: number) => {
    for (let i = 0; i < n; i++) dv.setUint32((i * 4) % bytes, i, true);
  };
  const readOurs = (n: number) => {
    for (let i = 0; i < n; i++) sink += mem.read32(base + offs[i & (nOffs - 1)]!);
  };
  const readBase = (n: number) => {
    for (let i = 0; i < n; i++) sink += dv.getUint32(offs[i & (nOffs - 1)]!, true);
  };

  const pageIters = opts.quick ? 256 : 16384;
  const storeIters = opts.quick ? 20000 : 2000000;
  const rows = [
    rowOf("memset 4 KiB page", compareNsPerOp(memsetOurs, memsetBase, pageIters, runs), "Uint8Array.fill"),
    rowOf(
      "memset 4 KiB page (SAB)",
      compareNsPerOp(memsetShared, memsetBase, pageIters, runs),
      "Uint8Array.fill",
    ),
    rowOf(
      "u32 store, scattered",
      compareNsPerOp(scatterOurs, scatterBase, storeIters, runs),
      "DataView.setUint32",
    ),
    rowOf("u32 store, sequential", compareNsPerOp(seqOurs, seqBase, storeIters, runs), "DataView.setUint32"),
    rowOf("u32 load, scattered", compareNsPerOp(readOurs, readBase, storeIters, runs), "DataView.getUint32"),
  ];
  // Keep the loads observable so they are not optimised away.
  if (sink === -1) throw new Error("unreachable");
  // The model and the baseline must hold the same bytes at a probe point.
  if (mem.read32(base + offs[7]!) !== dv.getUint32(offs[7]!, true)) throw new Error("memset bench: mismatch");
  return { name: "memset", rows };
}

export const memsetBenchmark: Benchmark = {
  name: "memset",
  description: "memset and u32 loads/stores through the page table vs Uint8Array.fill / DataView",
  run: (ctx) => reportOf(runMemset(ctx)),
};
