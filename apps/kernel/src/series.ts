/*
 * Time series of a run or a replay: every N steps (workload operations or
 * replayed events) the numbers a person watches over time on a real
 * machine (the Percpu: line of /proc/meminfo is pcpu_nr_pages; debugfs
 * percpu_stats gives the rest): pcpu_nr_pages, populated and empty
 * populated pages, chunks, live allocations, and sum_frag / max_frag over
 * the dynamic chunks (chunk_map_stats). CSV or JSON, and a terminal chart.
 */

import { chunkMapStats, pcpuStatsChunks } from "@pcpu/percpu-stats";
import type { Kernel } from "./kernel.js";

export const SERIES_COLUMNS = [
  "step",
  "pcpu_nr_pages",
  "populated_pages",
  "empty_pop_pages",
  "chunks",
  "live_allocs",
  "sum_frag",
  "max_frag",
] as const;
export type SeriesColumn = (typeof SERIES_COLUMNS)[number];
export type SeriesRow = Record<SeriesColumn, number>;

/** Records a row every `every` steps (and at step 0 and the last step). */
export class SeriesRecorder {
  readonly rows: SeriesRow[] = [];
  constructor(
    private readonly k: Kernel,
    readonly every: number,
    /** "op" for workloads, "event" for replays. */
    readonly unit: "op" | "event",
  ) {
    if (!Number.isInteger(every) || every < 1)
      throw new RangeError(`every must be an integer >= 1, got ${every}`);
    this.sample(0);
  }

  /** Called after each step; records on multiples of `every` and on the last step. */
  step(done: number, total: number): void {
    if (done % this.every === 0 || done === total) this.sample(done);
  }

  /** Records the kernel's numbers now, as step `step`. */
  sample(step: number): void {
    const last = this.rows[this.rows.length - 1];
    if (last !== undefined && last.step === step) return;
    const k = this.k;
    const c = k.counters;
    let sumFrag = 0;
    let maxFrag = 0;
    for (const e of pcpuStatsChunks(k.pcpu)) {
      if (e.kind === "reserved") continue;
      const m = chunkMapStats(k.pcpu.area, e.chunk);
      sumFrag += m.sumFrag;
      if (m.maxFrag > maxFrag) maxFrag = m.maxFrag;
    }
    this.rows.push({
      step,
      pcpu_nr_pages: k.pcpu.pcpuNrPages(),
      populated_pages: k.pcpu.nrPopulated,
      empty_pop_pages: k.pcpu.nrEmptyPopPages,
      chunks: c.chunks,
      /* allocations made through the API since boot and not freed */
      live_allocs: c.allocs - c.frees,
      sum_frag: sumFrag,
      max_frag: maxFrag,
    });
  }
}

/** The series as CSV (a header line, one line per row). */
export function seriesCsv(rows: readonly SeriesRow[]): string {
  return `${SERIES_COLUMNS.join(",")}\n${rows.map((r) => SERIES_COLUMNS.map((c) => r[c]).join(",")).join("\n")}\n`;
}

/** The series as JSON: `{ unit, every, rows: [{ step, pcpu_nr_pages, ... }] }`. */
export function seriesJson(s: SeriesRecorder): string {
  return `${JSON.stringify({ unit: s.unit, every: s.every, columns: SERIES_COLUMNS, rows: s.rows }, null, 2)}\n`;
}

/**
 * A terminal chart of one column over the steps: `height` rows, at most
 * `width` columns (each the maximum of the rows it covers), a y axis with
 * the minimum and maximum and an x axis with the first and last step.
 */
export function seriesPlot(
  rows: readonly SeriesRow[],
  column: SeriesColumn,
  unit: string,
  width = 64,
  height = 12,
): string {
  if (rows.length === 0) return `${column}: no samples\n`;
  const n = Math.min(width, rows.length);
  const cols: number[] = [];
  for (let i = 0; i < n; i++) {
    const lo = Math.floor((i * rows.length) / n);
    const hi = Math.max(lo + 1, Math.floor(((i + 1) * rows.length) / n));
    let v = Number.NEGATIVE_INFINITY;
    for (let j = lo; j < hi; j++) v = Math.max(v, rows[j]![column]);
    cols.push(v);
  }
  const min = Math.min(...cols);
  const max = Math.max(...cols);
  const span = max - min;
  const level = (v: number) => (span === 0 ? 0 : Math.round(((v - min) / span) * (height - 1)));
  const lw = Math.max(String(max).length, String(min).length);
  let s = `${column} per ${unit} (max of each column)\n`;
  for (let r = height - 1; r >= 0; r--) {
    const label = r === height - 1 ? String(max) : r === 0 ? String(min) : "";
    let line = "";
    for (const v of cols) line += level(v) === r ? "*" : level(v) > r ? "|" : " ";
    s += `${label.padStart(lw)} ┤${line.trimEnd()}\n`;
  }
  const first = String(rows[0]!.step);
  const last = String(rows[rows.length - 1]!.step);
  s += `${" ".repeat(lw)} └${"─".repeat(n)}\n`;
  s += `${" ".repeat(lw + 2)}${first}${last.padStart(Math.max(1, n - first.length))}\n`;
  return s;
}
