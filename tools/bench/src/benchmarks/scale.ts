/*
 * Big machines in little host memory: boot the x86_64 benchmark kernel with
 * thousands of possible CPUs and allocate from it, once on the machine as
 * it is (copy-on-write page frames: the static image memcpy'd into every
 * unit shares the template's frames until a unit writes them) and once with
 * copyOnWrite off, which copies the bytes into every unit as the model did
 * before (the baseline). Both runs happen in this process, alternately;
 * the report gives CPU time (process.cpuUsage, so load from other
 * processes does not count), wall time, and the host memory behind the
 * machine's frames (resident frames x page size), as ours / baseline.
 * The kernel's answers must be the same: the first and last percpu
 * pointer and a probe of the static image on the last CPU are compared.
 */

import { allocPercpu, freePercpu, type PcpuPtr, perCpuPtr } from "@pcpu/percpu";
import type { Benchmark } from "../bench.js";
import { bytes, collectGarbage, median, ms, ratio } from "../stats.js";
import { bootBenchKernel } from "../x86-64-kernel.js";

export interface ScaleSide {
  /** CPU milliseconds (user + system) to boot, and to run the allocations. */
  readonly bootCpuMs: number;
  readonly allocCpuMs: number;
  readonly bootWallMs: number;
  /** Host bytes behind the machine's frames after boot and after the allocations. */
  readonly bootHostBytes: number;
  readonly allocHostBytes: number;
}

export interface ScaleRow {
  readonly cpus: number;
  readonly nodes: number;
  readonly allocs: number;
  readonly ours: ScaleSide;
  readonly baseline: ScaleSide;
}

function cpuMs(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

/** One boot + `allocs` allocations of 8..64 bytes, then frees; `probe` collects what the kernel answered. */
function runSide(
  cpus: number,
  nodes: number,
  allocs: number,
  copyOnWrite: boolean,
  probe: number[],
): ScaleSide {
  collectGarbage();
  const w0 = performance.now();
  const c0 = process.cpuUsage();
  const k = bootBenchKernel("bitmap", { cpus, nodes, copyOnWrite });
  const bootCpuMs = cpuMs(c0);
  const bootWallMs = performance.now() - w0;
  const ps = k.machine.pageSize;
  const bootHostBytes = k.machine.phys.residentFrames() * ps;
  const c1 = process.cpuUsage();
  const ptrs: PcpuPtr[] = [];
  for (let i = 0; i < allocs; i++) {
    const p = allocPercpu(k.pcpu, 8 << (i & 3), 8);
    if (p === null) throw new Error(`scale: allocation ${i} failed on ${cpus} CPUs`);
    k.machine.mem.write32(perCpuPtr(k.pcpu, p, i % cpus), i);
    ptrs.push(p);
  }
  const allocHostBytes = k.machine.phys.residentFrames() * ps;
  probe.push(ptrs[0]!, ptrs[ptrs.length - 1]!, k.machine.mem.read32(perCpuPtr(k.pcpu, ptrs[0]!, 0)));
  probe.push(
    k.machine.mem.read32(perCpuPtr(k.pcpu, k.pcpu.section.perCpuStart as PcpuPtr, cpus - 1) + 0x100),
  );
  for (const p of ptrs) freePercpu(k.pcpu, p);
  return { bootCpuMs, allocCpuMs: cpuMs(c1), bootWallMs, bootHostBytes, allocHostBytes };
}

function medianSide(xs: readonly ScaleSide[]): ScaleSide {
  const m = (f: (s: ScaleSide) => number) => median(xs.map(f));
  return {
    bootCpuMs: m((s) => s.bootCpuMs),
    allocCpuMs: m((s) => s.allocCpuMs),
    bootWallMs: m((s) => s.bootWallMs),
    bootHostBytes: m((s) => s.bootHostBytes),
    allocHostBytes: m((s) => s.allocHostBytes),
  };
}

/** Runs the scale benchmark: for each machine, `runs` alternating rounds of ours and the baseline. */
export function runScale(opts: { readonly quick: boolean; readonly runs?: number }): ScaleRow[] {
  const machines = opts.quick
    ? [{ cpus: 512, nodes: 4 }]
    : [
        { cpus: 4096, nodes: 8 },
        { cpus: 8192, nodes: 8 },
      ];
  const runs = opts.runs ?? (opts.quick ? 1 : 3);
  const allocs = opts.quick ? 64 : 512;
  const rows: ScaleRow[] = [];
  for (const { cpus, nodes } of machines) {
    const ours: ScaleSide[] = [];
    const base: ScaleSide[] = [];
    for (let r = 0; r < runs; r++) {
      const a: number[] = [];
      const b: number[] = [];
      ours.push(runSide(cpus, nodes, allocs, true, a));
      base.push(runSide(cpus, nodes, allocs, false, b));
      if (a.join() !== b.join()) throw new Error(`scale: the kernels answered differently (${a} vs ${b})`);
    }
    rows.push({ cpus, nodes, allocs, ours: medianSide(ours), baseline: medianSide(base) });
  }
  return rows;
}

/** A ratio that stays readable far below 1 ("0.0021x"). */
function smallRatio(x: number): string {
  return x >= 0.1 ? ratio(x) : `${x.toPrecision(2)}x`;
}

function textOf(rows: readonly ScaleRow[]): string {
  const out = [
    "x86_64 benchmark kernel, bitmap allocator, percpu-vm; ours = copy-on-write frames, baseline = bytes copied into every unit",
    "",
    "| CPUs | nodes | boot CPU ms (ours / base) | ratio | boot host memory (ours / base) | ratio | allocs | alloc CPU ms (ours / base) | host memory after (ours / base) |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const o = r.ours;
    const b = r.baseline;
    out.push(
      `| ${r.cpus} | ${r.nodes} | ${ms(o.bootCpuMs)} / ${ms(b.bootCpuMs)} | ${smallRatio(o.bootCpuMs / b.bootCpuMs)} | ` +
        `${bytes(o.bootHostBytes)} / ${bytes(b.bootHostBytes)} | ${smallRatio(o.bootHostBytes / b.bootHostBytes)} | ` +
        `${r.allocs} | ${ms(o.allocCpuMs)} / ${ms(b.allocCpuMs)} | ${bytes(o.allocHostBytes)} / ${bytes(b.allocHostBytes)} |`,
    );
  }
  return out.join("\n");
}

export const scaleBenchmark: Benchmark = {
  name: "scale",
  description:
    "boot and allocate on 4096 and 8192 CPUs: CPU time and host memory, copy-on-write frames vs copied bytes",
  run: (ctx) => {
    const rows = runScale({ quick: ctx.quick, runs: ctx.runs });
    return { text: textOf(rows), json: { rows } };
  },
};
