/*
 * The long soak of issue 9: 10^7 mixed operations on a 64-CPU, 4-node
 * kernel (generic 64-bit arch, embed first chunk grouped by node, percpu-vm,
 * bitmap allocator), invariant checker off on the hot path, with a full
 * check every 10^5 operations: the core's checker over every chunk, every
 * live allocation's stamp on every CPU, the 64 this_cpu counters against
 * their shadow, and page conservation (page allocator pages beyond boot =
 * populated pages of created chunks x 64 CPUs).
 *
 * The mix per operation: ~40% allocations (1 in 5 atomic, GFP_NOWAIT),
 * ~40% frees of a random live allocation, ~19% this_cpu_add on a random
 * CPU's copy of one of 64 long-lived counters, ~1% balance-work runs; the
 * live set is kept between 1024 and 4096 allocations of 4 B .. 4 KiB.
 *
 * Measured per window of 10^6 operations: wall time, operations per
 * second, V8 heap after a forced GC, RSS, live allocations, chunks and
 * pcpu_nr_pages. "Memory flat after warm-up": the heap after GC of every
 * window after the first stays within 10% + 8 MiB of the first window's.
 * The budget (SOAK_BUDGET_S) is documented in the README.
 */

import v8 from "node:v8";
import vm from "node:vm";
import { GFP_KERNEL, GFP_NOWAIT } from "@pcpu/mm";
import {
  allocPercpuGfp,
  checkPercpuInvariants,
  freePercpu,
  type PcpuChunk,
  type PcpuPtr,
  type Percpu,
  pcpuChunkAddrSearch,
  perCpuPtr,
  thisCpuAdd,
} from "@pcpu/percpu";
import { bootTestKernel, Rng } from "@pcpu/percpu/testing";
import { percpuVm } from "@pcpu/percpu-vm";
import type { BenchContext, Benchmark, BenchReport } from "../bench.js";

/** Wall-clock budget of the full soak (10^7 operations), seconds, on the README's reference host. */
export const SOAK_BUDGET_S = 900;
const FULL = { ops: 10_000_000, window: 1_000_000, checkEvery: 100_000 };
const QUICK = { ops: 200_000, window: 25_000, checkEvery: 25_000 };
const CPUS = 64;
const NODES = 4;
const TARGET_LIVE = 2048;
const COUNTERS = 64;
const MiB = 2 ** 20;

/** One window's figures. */
export interface SoakWindow {
  readonly window: number;
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSecond: number;
  readonly heapMiB: number;
  readonly rssMiB: number;
  readonly live: number;
  readonly chunks: number;
  readonly pcpuNrPages: number;
}

export interface SoakResult {
  readonly kernel: string;
  readonly ops: number;
  readonly seconds: number;
  readonly budgetSeconds: number | null;
  readonly withinBudget: boolean | null;
  readonly checks: number;
  readonly allocs: number;
  readonly atomicFailures: number;
  readonly frees: number;
  readonly thisCpuOps: number;
  readonly balanceRuns: number;
  readonly peakChunks: number;
  readonly violations: number;
  readonly memoryFlat: boolean;
  readonly windows: readonly SoakWindow[];
}

/** A forced GC between windows (never on the measured path). */
function gcFunction(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === "function") return g;
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

/** The 4-byte stamp CPU `cpu`'s copy of allocation `id` holds. */
function stamp(id: number, cpu: number): number {
  return Math.imul(id + 1, 0x9e3779b1) ^ cpu;
}

class Soak {
  readonly pcpu: Percpu;
  readonly rng = new Rng(0x50a4);
  /* Live allocations: parallel arrays, swap-remove. */
  readonly ptrs = new Float64Array(TARGET_LIVE * 4);
  readonly ids = new Int32Array(TARGET_LIVE * 4);
  readonly sizes = new Int32Array(TARGET_LIVE * 4);
  nLive = 0;
  nextId = 0;
  readonly counters: PcpuPtr[] = [];
  /** Shadow of the counters: [counter * CPUS + cpu]. */
  readonly counterShadow = new Uint32Array(COUNTERS * CPUS);
  basePages = 0;
  allocs = 0;
  atomicFailures = 0;
  frees = 0;
  thisCpuOps = 0;
  balanceRuns = 0;
  checks = 0;
  peakChunks = 0;
  /** The debug bookkeeping the core's checker reads (see check()). */
  readonly debug: NonNullable<Percpu["debug"]>;

  constructor() {
    /*
     * Booted with debugChecks for its live-allocation record, then switched
     * off for the hot path: checkPercpuInvariants compares every chunk
     * against that record and refuses to run without one. check() refills
     * the record from the soak's own list before each full check.
     */
    const { pcpu } = bootTestKernel({
      population: percpuVm,
      cpus: CPUS,
      nodes: NODES,
      numaGroups: true,
      memPerNode: 8 * 2 ** 30,
      options: { debugChecks: true, checkFree: false },
    });
    this.pcpu = pcpu;
    this.debug = pcpu.debug!;
    (pcpu as { debug: Percpu["debug"] }).debug = null;
    pcpu.machine.wq.runPending();
    this.basePages = pcpu.machine.pageAlloc.nrAllocatedPages() - this.chunkPages();
    for (let i = 0; i < COUNTERS; i++) this.counters.push(allocPercpuGfp(pcpu, 8, 8, GFP_KERNEL)!);
  }

  chunkPages(): number {
    let n = 0;
    for (const c of this.pcpu.allChunks()) if (c !== this.pcpu.firstChunk) n += c.nrPopulated * CPUS;
    return n;
  }

  alloc(): void {
    const rng = this.rng;
    const k = rng.next();
    const size = k < 0.8 ? 4 + rng.int(124) : k < 0.97 ? 4 + rng.int(1020) : 4 + rng.int(4092);
    const align = 4 << rng.int(5);
    const atomic = rng.next() < 0.2;
    const ptr = allocPercpuGfp(this.pcpu, size, align, atomic ? GFP_NOWAIT : GFP_KERNEL);
    if (ptr === null) {
      if (!atomic) throw new Error(`soak: sleeping allocation of ${size}/${align} failed`);
      this.atomicFailures++;
      return;
    }
    const id = this.nextId++;
    const mem = this.pcpu.machine.mem;
    for (let cpu = 0; cpu < CPUS; cpu++) mem.write32(perCpuPtr(this.pcpu, ptr, cpu), stamp(id, cpu));
    const i = this.nLive++;
    this.ptrs[i] = ptr;
    this.ids[i] = id;
    this.sizes[i] = (size + 3) & ~3;
    this.allocs++;
  }

  free(): void {
    const i = this.rng.int(this.nLive);
    if (!freePercpu(this.pcpu, this.ptrs[i]! as PcpuPtr))
      throw new Error("soak: free_percpu refused a live pointer");
    const last = --this.nLive;
    this.ptrs[i] = this.ptrs[last]!;
    this.ids[i] = this.ids[last]!;
    this.sizes[i] = this.sizes[last]!;
    this.frees++;
  }

  thisCpu(): void {
    const c = this.rng.int(COUNTERS);
    const cpu = this.rng.int(CPUS);
    const v = 1 + this.rng.int(1000);
    const ctx = this.pcpu.machine.ctx;
    ctx.setCpu(cpu);
    thisCpuAdd(this.pcpu, this.counters[c]!, 4, v);
    ctx.setCpu(0);
    this.counterShadow[c * CPUS + cpu] = (this.counterShadow[c * CPUS + cpu]! + v) >>> 0;
    this.thisCpuOps++;
  }

  step(): void {
    const r = this.rng.next();
    if (r < 0.01) {
      this.pcpu.machine.wq.runPending();
      this.balanceRuns++;
    } else if (r < 0.2) {
      this.thisCpu();
    } else if (
      this.nLive === 0 ||
      (r < 0.6 && this.nLive < TARGET_LIVE * 2) ||
      this.nLive < TARGET_LIVE / 2
    ) {
      this.alloc();
    } else {
      this.free();
    }
  }

  /** The full check; throws on the first violation. */
  check(): void {
    const pcpu = this.pcpu;
    const mem = pcpu.machine.mem;
    this.checks++;
    /* The live record the core's checker compares against. */
    const dbg = this.debug;
    dbg.live.clear();
    for (const [chunk, off, size] of this.liveAreas()) dbg.remember(chunk, off, size);
    for (let i = 0; i < COUNTERS; i++) {
      const [chunk, off] = this.locate(this.counters[i]!);
      dbg.remember(chunk, off, 8);
    }
    (pcpu as { debug: Percpu["debug"] }).debug = dbg;
    const v = checkPercpuInvariants(pcpu);
    (pcpu as { debug: Percpu["debug"] }).debug = null;
    if (v !== null) throw new Error(`soak: invariant violated: ${v}`);
    for (let i = 0; i < this.nLive; i++) {
      for (let cpu = 0; cpu < CPUS; cpu++) {
        const got = mem.read32(perCpuPtr(pcpu, this.ptrs[i]!, cpu));
        if (got !== stamp(this.ids[i]!, cpu) >>> 0)
          throw new Error(`soak: allocation ${this.ids[i]} lost its stamp on cpu ${cpu}`);
      }
    }
    for (let c = 0; c < COUNTERS; c++) {
      for (let cpu = 0; cpu < CPUS; cpu++) {
        if (mem.read32(perCpuPtr(pcpu, this.counters[c]!, cpu)) !== this.counterShadow[c * CPUS + cpu]) {
          throw new Error(`soak: counter ${c} wrong on cpu ${cpu}`);
        }
      }
    }
    const pages = pcpu.machine.pageAlloc.nrAllocatedPages() - this.basePages;
    if (pages !== this.chunkPages())
      throw new Error(`soak: ${pages} pages allocated beyond boot, chunks hold ${this.chunkPages()}`);
    this.peakChunks = Math.max(this.peakChunks, pcpu.allChunks().length);
  }

  locate(ptr: number): [PcpuChunk, number] {
    const addr = this.pcpu.archHooks().pcpuPtrToAddr(ptr as PcpuPtr);
    const chunk = pcpuChunkAddrSearch(this.pcpu, addr);
    if (chunk === null) throw new Error(`soak: live pointer ${ptr} is in no chunk`);
    return [chunk, addr - chunk.baseAddr];
  }

  *liveAreas(): Generator<[PcpuChunk, number, number]> {
    for (let i = 0; i < this.nLive; i++) {
      const [chunk, off] = this.locate(this.ptrs[i]!);
      yield [chunk, off, this.sizes[i]!];
    }
  }
}

/** Runs the soak: `quick` runs 2*10^5 operations in windows of 2.5*10^4. */
export function runSoak(ctx: BenchContext): SoakResult {
  const p = ctx.quick ? QUICK : FULL;
  const gc = gcFunction();
  const s = new Soak();
  const windows: SoakWindow[] = [];
  const t0 = performance.now();
  let tw = t0;
  for (let op = 1; op <= p.ops; op++) {
    s.step();
    if (op % p.checkEvery === 0) s.check();
    if (op % p.window === 0) {
      const now = performance.now();
      s.pcpu.machine.log.clear();
      gc();
      const m = process.memoryUsage();
      const w: SoakWindow = {
        window: windows.length + 1,
        ops: op,
        seconds: (now - tw) / 1000,
        opsPerSecond: p.window / ((now - tw) / 1000),
        heapMiB: m.heapUsed / MiB,
        rssMiB: m.rss / MiB,
        live: s.nLive,
        chunks: s.pcpu.allChunks().length,
        pcpuNrPages: s.pcpu.pcpuNrPages(),
      };
      windows.push(w);
      ctx.progress(
        `soak: ${op} ops, ${w.opsPerSecond.toFixed(0)} ops/s, heap ${w.heapMiB.toFixed(1)} MiB, ${w.chunks} chunks`,
      );
      tw = performance.now();
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const first = windows[0]!;
  const memoryFlat = windows.slice(1).every((w) => w.heapMiB <= first.heapMiB * 1.1 + 8);
  return {
    kernel: `generic 64-bit, ${CPUS} CPUs, ${NODES} nodes grouped by node (embed), percpu-vm, bitmap`,
    ops: p.ops,
    seconds,
    budgetSeconds: ctx.quick ? null : SOAK_BUDGET_S,
    withinBudget: ctx.quick ? null : seconds <= SOAK_BUDGET_S,
    checks: s.checks,
    allocs: s.allocs,
    atomicFailures: s.atomicFailures,
    frees: s.frees,
    thisCpuOps: s.thisCpuOps,
    balanceRuns: s.balanceRuns,
    peakChunks: s.peakChunks,
    violations: 0,
    memoryFlat,
    windows,
  };
}

function text(r: SoakResult): string {
  const rows = r.windows.map(
    (w) =>
      `  ${String(w.window).padStart(3)} ${String(w.ops).padStart(9)} ${w.seconds.toFixed(1).padStart(7)} ${w.opsPerSecond.toFixed(0).padStart(8)} ${w.heapMiB
        .toFixed(1)
        .padStart(
          8,
        )} ${w.rssMiB.toFixed(0).padStart(6)} ${String(w.live).padStart(5)} ${String(w.chunks).padStart(6)} ${String(w.pcpuNrPages).padStart(7)}`,
  );
  const budget =
    r.budgetSeconds === null
      ? "quick run: no budget"
      : `budget ${r.budgetSeconds} s: ${r.withinBudget ? "within" : "EXCEEDED"}`;
  return [
    `kernel: ${r.kernel}`,
    `${r.ops} ops in ${r.seconds.toFixed(1)} s (${budget}); ${r.checks} full checks, ${r.violations} violations`,
    `allocs ${r.allocs} (atomic failures ${r.atomicFailures}), frees ${r.frees}, this_cpu ${r.thisCpuOps}, balance runs ${r.balanceRuns}, peak chunks ${r.peakChunks}`,
    `memory flat after warm-up: ${r.memoryFlat ? "yes" : "NO"}`,
    "  win       ops       s    ops/s heap MiB    RSS  live chunks   pages",
    ...rows,
  ].join("\n");
}

export const soakBenchmark: Benchmark = {
  name: "soak",
  description:
    "10^7 mixed operations on a 64-CPU, 4-node kernel with a full check every 10^5; time and host memory per 10^6",
  run(ctx: BenchContext): BenchReport {
    const r = runSoak(ctx);
    return { text: text(r), json: r };
  },
};
