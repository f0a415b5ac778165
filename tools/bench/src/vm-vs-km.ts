/*
 * percpu-vm against percpu-km: the same seeded churn of percpu
 * allocations and frees (with the balance work run regularly, as the
 * kernel's workqueue would) on a kernel with each population strategy, on
 * a UP machine and on a 4-CPU one. Reports time per operation and what
 * each strategy costs the machine: pages held by the page allocator (peak
 * and after everything is freed), pages percpu says it uses (pcpu_nr_pages,
 * the `Percpu:` line of /proc/meminfo), chunks, vm areas, flushes and the
 * host memory behind touched frames.
 *
 * The strategies are passed in to `vmVsKmReport` (the registered
 * `vmVsKmBenchmark` compares percpu-vm, the baseline, with percpu-km).
 */

import type { Machine } from "@pcpu/mm";
import { allocPercpu, freePercpu, type PcpuPtr, type PopulationFactory, perCpuPtr } from "@pcpu/percpu";
import { bootTestKernel, Rng } from "@pcpu/percpu/testing";
import { percpuKm } from "@pcpu/percpu-km";
import { percpuVm } from "@pcpu/percpu-vm";
import type { Benchmark } from "./bench.js";

/** How much to run: `quick` is the CI-sized configuration. */
export interface VmVsKmOptions {
  readonly quick: boolean;
  /** Timed runs per strategy and machine (best is kept); default 3, 1 with quick. */
  readonly runs?: number;
  /** Progress lines (stderr in the runner). */
  readonly progress?: (line: string) => void;
}

/** A population strategy to compare. */
export interface PopulationStrategy {
  readonly name: string;
  readonly factory: PopulationFactory;
}

/** What one strategy did on one machine. */
export interface VmVsKmRow {
  readonly strategy: string;
  readonly cpus: number;
  readonly ops: number;
  /** Wall time per allocation or free, balance work included. */
  readonly nsPerOp: number;
  /** Pages the page allocator held for percpu chunks: at the peak, and after freeing everything. */
  readonly peakPages: number;
  readonly finalPages: number;
  /** pcpu_nr_pages() at the peak (what /proc/meminfo's `Percpu:` line reports). */
  readonly peakNrPages: number;
  /** Live bytes at the peak, all CPUs (size * possible CPUs). */
  readonly peakLiveBytes: number;
  readonly chunksCreated: number;
  /** Backend populate calls that allocated pages (vm) / 0 (km). */
  readonly pageAllocCalls: number;
  /** Cache + TLB flushes issued on the kernel page table. */
  readonly flushes: number;
  /** Host memory behind touched frames (resident frames * page size). */
  readonly hostBytes: number;
}

const SIZES = [4, 8, 16, 64, 0x100, 0x400, 0x1000, 0x2000] as const;

function drain(m: Machine): void {
  for (let i = 0; i < 8 && m.wq.pendingCount() > 0; i++) m.wq.runPending();
}

/** Runs the churn on one kernel and measures it. */
export function churn(s: PopulationStrategy, cpus: number, ops: number, seed: number): VmVsKmRow {
  const { machine, pcpu } = bootTestKernel({
    population: s.factory,
    cpus,
    seed,
    options: { debugChecks: false },
  });
  const pa = machine.pageAlloc;
  const pt = machine.pgtable;
  drain(machine);
  const basePages = pa.nrAllocatedPages();
  const flush0 = pt.flushes.cacheVmap + pt.flushes.cacheVunmap + pt.flushes.tlbKernelRange;
  const calls0 = machine.faults.calls("page_alloc");
  const firstId = pcpu.allChunks().reduce((m, c) => Math.max(m, c.id), 0);

  const rng = new Rng(seed);
  const live: PcpuPtr[] = [];
  const liveSize: number[] = [];
  let liveBytes = 0;
  let peakPages = 0;
  let peakNrPages = 0;
  let peakLiveBytes = 0;
  let maxId = firstId;

  const t0 = performance.now();
  for (let op = 0; op < ops; op++) {
    /* Grow for the first half, shrink for the second: the pool fills and drains. */
    const pAlloc = op < ops / 2 ? 0.6 : 0.4;
    if (live.length === 0 || rng.next() < pAlloc) {
      const size = SIZES[rng.int(SIZES.length)]!;
      const ptr = allocPercpu(pcpu, size, Math.min(size, 8));
      if (ptr !== null) {
        /* Each CPU touches its copy, as this_cpu users would. */
        for (let cpu = 0; cpu < cpus; cpu++) machine.mem.write32(perCpuPtr(pcpu, ptr, cpu), op);
        live.push(ptr);
        liveSize.push(size);
        liveBytes += size;
      }
    } else {
      const i = rng.int(live.length);
      freePercpu(pcpu, live[i]!);
      liveBytes -= liveSize[i]!;
      live[i] = live[live.length - 1]!;
      liveSize[i] = liveSize[liveSize.length - 1]!;
      live.pop();
      liveSize.pop();
    }
    if ((op & 63) === 63) drain(machine);
    if ((op & 15) === 0) {
      const held = pa.nrAllocatedPages() - basePages;
      if (held > peakPages) peakPages = held;
      if (pcpu.pcpuNrPages() > peakNrPages) peakNrPages = pcpu.pcpuNrPages();
      if (liveBytes > peakLiveBytes) peakLiveBytes = liveBytes;
      for (const c of pcpu.allChunks()) if (c.id > maxId) maxId = c.id;
    }
  }
  for (const p of live) freePercpu(pcpu, p);
  drain(machine);
  const ms = performance.now() - t0;

  return {
    strategy: s.name,
    cpus,
    ops,
    nsPerOp: (ms * 1e6) / ops,
    peakPages,
    finalPages: pa.nrAllocatedPages() - basePages,
    peakNrPages,
    peakLiveBytes: peakLiveBytes * cpus,
    chunksCreated: maxId - firstId,
    pageAllocCalls: machine.faults.calls("page_alloc") - calls0,
    flushes: pt.flushes.cacheVmap + pt.flushes.cacheVunmap + pt.flushes.tlbKernelRange - flush0,
    hostBytes: machine.phys.residentFrames() * machine.pageSize,
  };
}

/** Runs every strategy on a UP and a 4-CPU machine, best of `runs` for time. */
export function runVmVsKm(opts: VmVsKmOptions, strategies: readonly PopulationStrategy[]): VmVsKmRow[] {
  const ops = opts.quick ? 2000 : 20000;
  const runs = opts.runs ?? (opts.quick ? 1 : 3);
  const out: VmVsKmRow[] = [];
  /* Warm the JIT on every strategy first, so the first one timed is not penalised. */
  for (const s of strategies) churn(s, 4, ops, 0x5eed);
  for (const cpus of [1, 4]) {
    for (const s of strategies) {
      opts.progress?.(`vm-vs-km: ${s.name}, ${cpus} CPU(s), ${ops} operations x ${runs}`);
      let best: VmVsKmRow | null = null;
      for (let r = 0; r < runs; r++) {
        const x = churn(s, cpus, ops, 0x5eed);
        if (best === null || x.nsPerOp < best.nsPerOp) best = x;
      }
      out.push(best!);
    }
  }
  return out;
}

/** The comparison as a fixed-width table. */
export function formatVmVsKmTable(rows: readonly VmVsKmRow[]): string[] {
  const head = [
    "strategy",
    "cpus",
    "ns/op",
    "peak pages",
    "final pages",
    "peak Percpu: pages",
    "peak live KiB",
    "chunks",
    "page allocs",
    "flushes",
    "host KiB",
  ];
  const cells = rows.map((r) => [
    r.strategy,
    String(r.cpus),
    r.nsPerOp.toFixed(0),
    String(r.peakPages),
    String(r.finalPages),
    String(r.peakNrPages),
    (r.peakLiveBytes / 1024).toFixed(0),
    String(r.chunksCreated),
    String(r.pageAllocCalls),
    String(r.flushes),
    String(r.hostBytes / 1024),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) =>
    c.map((x, i) => (i === 0 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join("  ");
  return [line(head), ...cells.map(line)];
}

/**
 * The benchmark's report as the runner prints it: the table, then each
 * strategy's time per operation as a ratio to the first strategy's
 * (the baseline, percpu-vm) on the same machine.
 */
export function vmVsKmReport(
  opts: VmVsKmOptions,
  strategies: readonly PopulationStrategy[],
): { text: string; json: { rows: VmVsKmRow[] } } {
  const rows = runVmVsKm(opts, strategies);
  const base = strategies[0]!.name;
  const lines = ["vm-vs-km: the same churn on each population strategy", ...formatVmVsKmTable(rows)];
  for (const r of rows) {
    if (r.strategy === base) continue;
    const b = rows.find((x) => x.strategy === base && x.cpus === r.cpus)!;
    lines.push(
      `  ${r.strategy}, ${r.cpus} CPU(s): time per operation ${(r.nsPerOp / b.nsPerOp).toFixed(2)} x ${base}`,
    );
  }
  return { text: lines.join("\n"), json: { rows } };
}

/** The registered benchmark: percpu-vm (the baseline) against percpu-km with the kernel's counts. */
export const vmVsKmBenchmark: Benchmark = {
  name: "vm-vs-km",
  description:
    "the same churn on percpu-vm and percpu-km: time, pages held, Percpu: pages, page-allocator calls, flushes",
  run: (ctx) =>
    vmVsKmReport({ quick: ctx.quick, runs: ctx.runs, progress: ctx.progress }, [
      { name: "percpu-vm", factory: percpuVm },
      { name: "percpu-km", factory: percpuKm },
    ]),
};
