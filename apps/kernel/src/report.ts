/*
 * Running a workload and reporting it: the summary numbers (the kernel's
 * counters, pcpu_nr_pages, the empty populated pages, time) and the plain
 * text tables the CLI prints.
 */

import { refuse } from "./boundary.js";
import type { Kernel, KernelSnapshot } from "./kernel.js";
import { WORKLOADS } from "./workloads/all.js";
import type { WorkloadName, WorkloadOptions, WorkloadResult } from "./workloads/workload.js";

/** A workload run's summary. */
export interface RunSummary extends KernelSnapshot {
  readonly workload: WorkloadName;
  readonly ops: number;
  readonly checks: number;
  readonly details: Readonly<Record<string, number>>;
  /** Wall-clock milliseconds of the run (not deterministic). */
  readonly timeMs: number;
}

/** Runs a workload on a kernel; the counters count from the kernel's state before the run. */
export function runWorkload(kernel: Kernel, name: WorkloadName, opts: WorkloadOptions = {}): RunSummary {
  if (typeof name !== "string" || !Object.hasOwn(WORKLOADS, name))
    refuse("runWorkload", "name", `one of ${Object.keys(WORKLOADS).join(", ")}`, name);
  const w = WORKLOADS[name];
  const t0 = performance.now();
  const before = kernel.snapshot();
  const r: WorkloadResult = w.run(kernel, opts);
  const timeMs = performance.now() - t0;
  const after = kernel.snapshot();
  return {
    ...after,
    allocs: after.allocs - before.allocs,
    frees: after.frees - before.frees,
    failures: after.failures - before.failures,
    chunksCreated: after.chunksCreated - before.chunksCreated,
    chunksDestroyed: after.chunksDestroyed - before.chunksDestroyed,
    workload: name,
    ops: r.ops,
    checks: r.checks,
    details: r.details,
    timeMs,
  };
}

/** A two-or-more column table: the first column left-aligned, the others right-aligned. */
export function formatTable(
  rows: readonly (readonly (string | number)[])[],
  header?: readonly string[],
): string {
  const all = header ? [header, ...rows] : rows;
  const cols = Math.max(...all.map((r) => r.length));
  const width = Array.from({ length: cols }, (_, i) =>
    Math.max(...all.map((r) => String(r[i] ?? "").length)),
  );
  const line = (r: readonly (string | number)[]) =>
    r
      .map((v, i) => (i === 0 ? String(v).padEnd(width[i]!) : String(v).padStart(width[i]!)))
      .join("  ")
      .trimEnd();
  const out = all.map(line);
  if (header) out.splice(1, 0, width.map((w) => "-".repeat(w)).join("  "));
  return `${out.join("\n")}\n`;
}

/** The summary table of a run. */
export function summaryTable(s: RunSummary): string {
  const rows: [string, string | number][] = [
    ["workload", s.workload],
    ["ops", s.ops],
    ["allocs", s.allocs],
    ["frees", s.frees],
    ["failures", s.failures],
    ["chunks created", s.chunksCreated],
    ["chunks destroyed", s.chunksDestroyed],
    ["peak chunks", s.peakChunks],
    ["populated pages", s.populatedPages],
    ["pcpu_nr_pages", s.pcpuNrPages],
    ["empty populated pages", s.emptyPopPages],
    ["values checked", s.checks],
  ];
  for (const [k, v] of Object.entries(s.details)) rows.push([k, v]);
  rows.push(["time", `${s.timeMs.toFixed(1)} ms`]);
  return formatTable(rows);
}
