/*
 * `pcpu-kernel sweep --matrix FILE [--shard i/n] [--threads N] [--json]`:
 * every config of the matrix (see ../sweep.ts) on worker threads
 * (tinypool), one row per config, CSV (or JSON) on stdout.
 * `pcpu-kernel sweep-merge FILE...`: the shards' outputs as one.
 */

import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Tinypool } from "tinypool";
import {
  mergeSweeps,
  parseSweepMatrix,
  readSweepOutput,
  SweepError,
  type SweepRow,
  type SweepTask,
  shardIndices,
  sweepColumns,
  sweepConfig,
  sweepCsv,
  sweepSize,
} from "../sweep.js";
import { intFlag, UsageError } from "./args.js";
import { readUserFile } from "./files.js";
import { createProgress } from "./progress.js";
import { type Command, HELP_FLAG, JSON_FLAG, out } from "./run.js";

/** The worker file next to this module: the tsc build's .js, a bundle's .mjs, or the .ts source under tsx. */
function workerFile(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const name of ["sweep-worker.js", "sweep-worker.mjs", "sweep-worker.ts"]) {
    const f = resolve(here, name);
    if (existsSync(f)) return f;
  }
  throw new Error(`the sweep worker is missing next to ${here} (sweep-worker.js)`);
}

function usage(e: unknown): never {
  if (e instanceof SweepError) throw new UsageError(e.message);
  throw e;
}

function emit(json: boolean, id: string | null, columns: string[], rows: SweepRow[]): string {
  return json
    ? `${JSON.stringify({ command: "sweep", matrix: id, columns, rows }, null, 2)}\n`
    : sweepCsv(columns, rows);
}

export function sweepCommand(): Command {
  return {
    name: "sweep",
    usage: "pcpu-kernel sweep --matrix FILE [--shard i/n] [--threads N] [--json]",
    summary:
      "run a workload or a replay over a matrix of configs on worker threads, one CSV/JSON row per config",
    flags: [
      {
        name: "matrix",
        kind: "value",
        arg: "FILE",
        help: 'JSON: {"base": {...}, "matrix": {"arch": [...], ...}, "workload": NAME | "replay": FILE, "ops": N}',
      },
      {
        name: "shard",
        kind: "value",
        arg: "i/n",
        help: "run every n-th row from row i (1-based), for CI matrices and job arrays",
      },
      { name: "threads", kind: "value", arg: "N", help: "worker threads (default: every core)" },
      JSON_FLAG,
      HELP_FLAG,
    ],
    async run(a, ctx) {
      if (a.positionals.length > 0)
        throw new UsageError(
          `unexpected argument ${JSON.stringify(a.positionals[0])} (usage: ${this.usage})`,
        );
      const file = a.flags.matrix;
      if (typeof file !== "string") throw new UsageError("sweep needs --matrix FILE");
      let m: ReturnType<typeof parseSweepMatrix>;
      try {
        m = parseSweepMatrix(readUserFile(ctx.io, file, "matrix file"));
      } catch (e) {
        usage(e);
      }
      const total = sweepSize(m);
      let indices: number[];
      const shard = a.flags.shard;
      if (typeof shard === "string") {
        const sm = /^(\d+)\/(\d+)$/.exec(shard);
        if (!sm) throw new UsageError(`--shard: ${JSON.stringify(shard)} is not i/n (1/4)`);
        try {
          indices = shardIndices(total, Number(sm[1]), Number(sm[2]));
        } catch (e) {
          usage(e);
        }
      } else indices = Array.from({ length: total }, (_, i) => i);
      const threads = intFlag(a.flags, "threads", 1) ?? availableParallelism();
      /* A replay path in the matrix file is relative to the file. */
      const replayPath = m.replay === null ? null : resolve(dirname(resolve(ctx.io.cwd, file)), m.replay);
      if (replayPath !== null) readUserFile(ctx.io, replayPath, "trace");
      const columns = sweepColumns(m);
      const keys = Object.keys(m.matrix);
      const filename = workerFile();
      /*
       * From the TypeScript sources (pnpm kernel through tsx) Node 20 cannot
       * load a .ts worker: the rows then run here, one after the other.
       */
      const inProcess = filename.endsWith(".ts");
      if (inProcess)
        ctx.io.stderr.write(
          "pcpu-kernel: sweep: running from the TypeScript sources, on one thread (the built pcpu-kernel uses every core)\n",
        );
      const pool = inProcess
        ? null
        : new Tinypool({
            filename,
            minThreads: 1,
            maxThreads: Math.min(threads, Math.max(1, indices.length)),
          });
      const runTask: (t: SweepTask) => Promise<unknown> =
        pool !== null
          ? (t) => pool.run(t)
          : async (t) =>
              (
                (await import(pathToFileURL(filename).href)) as { default: (t: SweepTask) => unknown }
              ).default(t);
      const progress = createProgress("sweep", ctx.io.stderr);
      let done = 0;
      try {
        const rows = await Promise.all(
          indices.map(async (index) => {
            const config = sweepConfig(m, index);
            const task: SweepTask = {
              index,
              config,
              workload: m.workload,
              replayPath,
              ops: m.ops,
              scale: m.scale,
            };
            const r = (await runTask(task)) as Record<string, string | number | null>;
            progress.update(++done, indices.length);
            const cell = Object.fromEntries(
              keys.map((k) => [k, (config as Record<string, unknown>)[k] as string | number | boolean]),
            );
            return { index, matrix: m.id, ...cell, ...r } as SweepRow;
          }),
        );
        progress.finish();
        out(ctx.io, emit(a.flags.json === true, m.id, columns, rows));
        return rows.some((r) => r.error !== null) ? 1 : 0;
      } finally {
        if (pool !== null) await pool.destroy();
      }
    },
  };
}

export function sweepMergeCommand(): Command {
  return {
    name: "sweep-merge",
    usage: "pcpu-kernel sweep-merge FILE... [--json] [--allow-missing]",
    summary: "merge the outputs of sweep shards (CSV or JSON) into one, in row order",
    flags: [
      { name: "allow-missing", kind: "switch", help: "merge even when rows are missing (listed on stderr)" },
      JSON_FLAG,
      HELP_FLAG,
    ],
    run(a, ctx) {
      if (a.positionals.length === 0) throw new UsageError("sweep-merge needs the shard output files");
      let merged: ReturnType<typeof mergeSweeps>;
      try {
        merged = mergeSweeps(
          a.positionals.map((f) => ({
            name: f,
            ...readSweepOutput(readUserFile(ctx.io, f, "sweep output"), f),
          })),
        );
      } catch (e) {
        usage(e);
      }
      if (merged.missing.length > 0) {
        const list = merged.missing.slice(0, 20).join(", ") + (merged.missing.length > 20 ? ", ..." : "");
        ctx.io.stderr.write(`pcpu-kernel: sweep-merge: ${merged.missing.length} rows missing: ${list}\n`);
        if (a.flags["allow-missing"] !== true) return 1;
      }
      const id = merged.rows.length > 0 ? String(merged.rows[0]!.matrix) : null;
      out(ctx.io, emit(a.flags.json === true, id, merged.columns, merged.rows));
      return 0;
    },
  };
}
