/*
 * Sweeps: one workload or replayed trace over a matrix of configs (the
 * cartesian product of the values listed per config key, on top of a base
 * config), one result row per config. The matrix file:
 *
 *   { "base": { "cpus": 8 }, "matrix": { "arch": ["x86_64", "arm"], "allocator": ["bitmap", "area-map"] },
 *     "workload": "bpf-map", "ops": 300 }            (or "replay": "trace.txt")
 *
 * Rows are numbered in product order (the last key varies fastest), so
 * shards (`--shard i/n`: every n-th row from the i-th) can be merged back
 * in order and checked for completeness. Running one row is `sweepRow`,
 * what each worker thread does.
 */

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { chunkMapStats, pcpuStatsChunks } from "@pcpu/percpu-stats";
import type { KernelConfig } from "./api.js";
import { CONFIG_KEYS } from "./config.js";
import { bootFromRegistry, type KernelRegistry } from "./definitions.js";
import { parseTraceForReplay, replayTrace } from "./replay.js";
import { runWorkload } from "./report.js";
import { WORKLOAD_NAMES, type WorkloadName } from "./workloads/workload.js";

/** A matrix file that cannot be run. */
export class SweepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SweepError";
  }
}

export interface SweepMatrix {
  readonly base: KernelConfig;
  /** Config key -> values, in file order. */
  readonly matrix: Readonly<Record<string, readonly (string | number | boolean)[]>>;
  readonly workload: WorkloadName | null;
  readonly replay: string | null;
  readonly ops: number | null;
  readonly scale: number | null;
  /** A short hash of the matrix text, so merge can refuse shards of another matrix. */
  readonly id: string;
}

/** One row's job (what a worker receives). */
export interface SweepTask {
  readonly index: number;
  readonly config: KernelConfig;
  readonly workload: WorkloadName | null;
  /** Absolute path of the trace to replay. */
  readonly replayPath: string | null;
  readonly ops: number | null;
  readonly scale: number | null;
}

/** The result columns after the matrix keys. */
export const SWEEP_RESULT_COLUMNS = [
  "allocs",
  "frees",
  "failures",
  "chunks_created",
  "chunks_destroyed",
  "peak_chunks",
  "populated_pages",
  "pcpu_nr_pages",
  "empty_pop_pages",
  "sum_frag",
  "max_frag",
  "error",
] as const;

export type SweepRow = { index: number; matrix: string } & Record<string, string | number | boolean | null>;

/**
 * Reads a matrix file's text.
 * @throws SweepError naming what is wrong
 */
export function parseSweepMatrix(text: string): SweepMatrix {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new SweepError(`the matrix file is not JSON: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== "object" || Array.isArray(v))
    throw new SweepError("the matrix file must hold a JSON object");
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!["base", "matrix", "workload", "replay", "ops", "scale"].includes(k))
      throw new SweepError(`unknown key ${JSON.stringify(k)} (base, matrix, workload, replay, ops, scale)`);
  const base = (o.base ?? {}) as KernelConfig;
  if (typeof base !== "object" || base === null || Array.isArray(base))
    throw new SweepError("base must be a config object");
  const m = o.matrix;
  if (m === null || typeof m !== "object" || Array.isArray(m))
    throw new SweepError(
      'matrix must be an object of config key -> list of values ({"arch": ["x86_64", "arm"]})',
    );
  const matrix = m as Record<string, unknown>;
  if (Object.keys(matrix).length === 0) throw new SweepError("matrix lists no config key");
  for (const [k, vals] of Object.entries(matrix)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(k))
      throw new SweepError(
        `matrix: unknown config key ${JSON.stringify(k)} (known: ${CONFIG_KEYS.join(", ")})`,
      );
    if (!Array.isArray(vals) || vals.length === 0)
      throw new SweepError(`matrix.${k} must be a non-empty list`);
    for (const x of vals)
      if (!["string", "number", "boolean"].includes(typeof x))
        throw new SweepError(`matrix.${k}: ${JSON.stringify(x)} is not a value`);
  }
  const workload = o.workload ?? null;
  const replay = o.replay ?? null;
  if ((workload === null) === (replay === null)) throw new SweepError('give one of "workload" or "replay"');
  if (workload !== null && !(WORKLOAD_NAMES as readonly unknown[]).includes(workload))
    throw new SweepError(`unknown workload ${JSON.stringify(workload)} (${WORKLOAD_NAMES.join(", ")})`);
  if (replay !== null && typeof replay !== "string") throw new SweepError("replay must name a trace file");
  const num = (k: "ops" | "scale"): number | null => {
    const x = o[k];
    if (x === undefined || x === null) return null;
    if (typeof x !== "number" || !(x > 0) || (k === "ops" && !Number.isInteger(x)))
      throw new SweepError(`${k} must be a positive ${k === "ops" ? "integer" : "number"}`);
    return x;
  };
  const id = createHash("sha256").update(JSON.stringify(o)).digest("hex").slice(0, 12);
  return {
    base,
    matrix: matrix as SweepMatrix["matrix"],
    workload: workload as WorkloadName | null,
    replay: replay as string | null,
    ops: num("ops"),
    scale: num("scale"),
    id,
  };
}

/** The number of rows of a matrix. */
export function sweepSize(m: SweepMatrix): number {
  return Object.values(m.matrix).reduce((n, v) => n * v.length, 1);
}

/** The config of row `index` (product order, the last key fastest). */
export function sweepConfig(m: SweepMatrix, index: number): KernelConfig {
  const keys = Object.keys(m.matrix);
  const cell: Record<string, unknown> = {};
  let rest = index;
  for (let i = keys.length - 1; i >= 0; i--) {
    const vals = m.matrix[keys[i]!]!;
    cell[keys[i]!] = vals[rest % vals.length];
    rest = Math.floor(rest / vals.length);
  }
  return { ...m.base, ...cell } as KernelConfig;
}

/** The row indices of shard `i` of `n` (1-based): every n-th row from row i - 1. */
export function shardIndices(total: number, i: number, n: number): number[] {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(i) || i < 1 || i > n)
    throw new SweepError(`shard ${i}/${n}: need 1 <= i <= n`);
  const out: number[] = [];
  for (let x = i - 1; x < total; x += n) out.push(x);
  return out;
}

const traceCache = new Map<string, ReturnType<typeof parseTraceForReplay>>();

/** Runs one row: boots its config, runs the workload or replay, reads the numbers. Errors become the `error` column. */
export function sweepRow(
  task: SweepTask,
  registry: KernelRegistry,
  readTrace: (path: string) => string,
): Record<string, string | number | null> {
  const empty = Object.fromEntries(SWEEP_RESULT_COLUMNS.map((c) => [c, null])) as Record<
    string,
    string | number | null
  >;
  try {
    /* A single-arch build defaults to its own arch and backend, as its CLI does. */
    const own: KernelConfig = {
      ...(registry.arches.length === 1 ? { arch: registry.arches[0]!.name } : {}),
      ...(registry.populations.length === 1 ? { population: registry.populations[0]!.name } : {}),
    };
    const k = bootFromRegistry({ ...own, ...task.config, trace: false }, registry);
    let s: {
      allocs: number;
      frees: number;
      failures: number;
      chunksCreated: number;
      chunksDestroyed: number;
    };
    if (task.workload !== null) {
      s = runWorkload(k, task.workload, { ops: task.ops ?? undefined, scale: task.scale ?? undefined });
    } else {
      const path = task.replayPath!;
      let parsed = traceCache.get(path);
      if (parsed === undefined) {
        parsed = parseTraceForReplay(readTrace(path));
        traceCache.set(path, parsed);
      }
      s = replayTrace(k, parsed).replay;
    }
    const snap = k.snapshot();
    let sumFrag = 0;
    let maxFrag = 0;
    for (const e of pcpuStatsChunks(k.pcpu)) {
      if (e.kind === "reserved") continue;
      const ms = chunkMapStats(k.pcpu.area, e.chunk);
      sumFrag += ms.sumFrag;
      maxFrag = Math.max(maxFrag, ms.maxFrag);
    }
    return {
      allocs: s.allocs,
      frees: s.frees,
      failures: s.failures,
      chunks_created: s.chunksCreated,
      chunks_destroyed: s.chunksDestroyed,
      peak_chunks: snap.peakChunks,
      populated_pages: snap.populatedPages,
      pcpu_nr_pages: snap.pcpuNrPages,
      empty_pop_pages: snap.emptyPopPages,
      sum_frag: sumFrag,
      max_frag: maxFrag,
      error: null,
    };
  } catch (e) {
    return { ...empty, error: `${(e as Error).name}: ${(e as Error).message.split("\n")[0]}` };
  }
}

/** A worker's task function for the kernels a registry carries (a build's own arches only). */
export function sweepWorker(
  registry: KernelRegistry,
): (task: SweepTask) => Record<string, string | number | null> {
  return (task) => sweepRow(task, registry, (p) => readFileSync(p, "utf8"));
}

/** A CSV field, quoted when it needs to be. */
function csvField(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The columns of a sweep's rows: index, matrix id, the matrix keys, the results. */
export function sweepColumns(m: SweepMatrix): string[] {
  return ["index", "matrix", ...Object.keys(m.matrix), ...SWEEP_RESULT_COLUMNS];
}

export function sweepCsv(columns: readonly string[], rows: readonly SweepRow[]): string {
  return `${columns.join(",")}\n${rows.map((r) => columns.map((c) => csvField(r[c])).join(",")).join("\n")}${rows.length > 0 ? "\n" : ""}`;
}

/** Parses CSV as sweepCsv writes it (quoted fields included). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let f = "";
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (q) {
      if (ch === '"' && text[i + 1] === '"') {
        f += '"';
        i++;
      } else if (ch === '"') q = false;
      else f += ch;
    } else if (ch === '"') q = true;
    else if (ch === ",") {
      row.push(f);
      f = "";
    } else if (ch === "\n") {
      row.push(f);
      rows.push(row);
      row = [];
      f = "";
    } else if (ch !== "\r") f += ch;
  }
  if (f !== "" || row.length > 0) {
    row.push(f);
    rows.push(row);
  }
  return rows;
}

/** A shard's output (CSV or JSON), as rows. */
export function readSweepOutput(text: string, name: string): { columns: string[]; rows: SweepRow[] } {
  const t = text.trimStart();
  if (t.startsWith("{")) {
    let v: { columns?: string[]; rows?: SweepRow[] };
    try {
      v = JSON.parse(t);
    } catch (e) {
      throw new SweepError(`${name}: not JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(v.columns) || !Array.isArray(v.rows))
      throw new SweepError(`${name}: not a sweep output (no columns/rows)`);
    return { columns: v.columns, rows: v.rows };
  }
  const csv = parseCsv(text);
  const columns = csv[0];
  if (columns === undefined || columns[0] !== "index" || columns[1] !== "matrix")
    throw new SweepError(`${name}: not a sweep output (the header must start with index,matrix)`);
  const rows = csv.slice(1).map((r, i) => {
    if (r.length !== columns.length)
      throw new SweepError(`${name}: line ${i + 2} has ${r.length} fields, the header ${columns.length}`);
    const o: Record<string, string | number | null> = {};
    columns.forEach((c, j) => {
      const x = r[j]!;
      o[c] = x === "" ? null : /^-?\d+(\.\d+)?$/.test(x) ? Number(x) : x;
    });
    o.matrix = String(o.matrix);
    return o as SweepRow;
  });
  return { columns, rows };
}

/**
 * Merges shard outputs: same matrix and columns, no row twice; the rows in index order.
 * @returns the merged rows and the indices missing below the largest one seen
 */
export function mergeSweeps(parts: readonly { name: string; columns: string[]; rows: SweepRow[] }[]): {
  columns: string[];
  rows: SweepRow[];
  missing: number[];
} {
  if (parts.length === 0) throw new SweepError("nothing to merge");
  const columns = parts[0]!.columns;
  const seen = new Map<number, string>();
  let matrix: string | null = null;
  const rows: SweepRow[] = [];
  for (const p of parts) {
    if (p.columns.join(",") !== columns.join(","))
      throw new SweepError(`${p.name}: its columns differ from ${parts[0]!.name}'s`);
    for (const r of p.rows) {
      const m = String(r.matrix);
      if (matrix === null) matrix = m;
      else if (m !== matrix)
        throw new SweepError(`${p.name}: row ${r.index} is of matrix ${m}, not ${matrix}`);
      const prev = seen.get(r.index);
      if (prev !== undefined) throw new SweepError(`row ${r.index} is in both ${prev} and ${p.name}`);
      seen.set(r.index, p.name);
      rows.push(r);
    }
  }
  rows.sort((a, b) => a.index - b.index);
  const missing: number[] = [];
  const max = rows.length === 0 ? -1 : rows[rows.length - 1]!.index;
  for (let i = 0; i <= max; i++) if (!seen.has(i)) missing.push(i);
  return { columns, rows, missing };
}
