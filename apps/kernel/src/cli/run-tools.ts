/*
 * What run and replay take besides their own flags: the time series
 * (`--series FILE.csv|.json`, `--every N`, `--plot[=COLUMN]`) and fault
 * injection in debugfs's vocabulary (`--fail-page-alloc`, `--fail-vmalloc`,
 * `--failslab`, each `probability=P,interval=I,times=T,space=S`).
 */

import type { FaultRule } from "@pcpu/mm";
import { type FaultCounts, FaultSpecError, injectFaults, parseFaultSpec } from "../faults.js";
import type { Kernel } from "../kernel.js";
import { formatTable } from "../report.js";
import {
  SERIES_COLUMNS,
  type SeriesColumn,
  SeriesRecorder,
  seriesCsv,
  seriesJson,
  seriesPlot,
} from "../series.js";
import { type FlagSpec, intFlag, type ParsedArgs, UsageError } from "./args.js";
import { writeUserFile } from "./files.js";
import type { CliContext } from "./run.js";

const FAULT_HELP = "probability=PERCENT[,interval=N][,times=N|-1][,space=BYTES] (debugfs fault_attr)";

export const RUN_TOOL_FLAGS: FlagSpec[] = [
  {
    name: "series",
    kind: "value",
    arg: "FILE",
    help: "record pcpu_nr_pages, populated/empty pages, chunks, live allocations, sum_frag/max_frag over time (.csv or .json; - for stdout)",
  },
  {
    name: "every",
    kind: "value",
    arg: "N",
    help: "a series row every N operations/events (default: 1/200 of the run)",
  },
  {
    name: "plot",
    kind: "switch",
    arg: "COLUMN",
    help: `print a terminal chart of the series (default pcpu_nr_pages; ${SERIES_COLUMNS.slice(1).join(", ")})`,
  },
  { name: "fail-page-alloc", kind: "value", arg: "SPEC", help: `fail page allocations: ${FAULT_HELP}` },
  {
    name: "fail-vmalloc",
    kind: "value",
    arg: "SPEC",
    help: `fail vmalloc / pcpu_get_vm_areas: ${FAULT_HELP}`,
  },
  {
    name: "failslab",
    kind: "value",
    arg: "SPEC",
    help: `fail kmalloc (chunk metadata, page tables): ${FAULT_HELP}`,
  },
];

/** The series and faults of one run, started after boot. */
export interface RunTools {
  /** Per-step callback for the workload / replay. */
  readonly onStep: ((done: number, total: number) => void) | undefined;
  /** Writes the series file; the JSON fields to add to the command's document. */
  finish(): Record<string, unknown>;
  /** The text to print after the summary (fault counts, plot). */
  text(): string;
}

/** Reads the flags, installs fault rules, creates the series recorder. */
export function startRunTools(
  a: ParsedArgs,
  ctx: CliContext,
  kernel: Kernel,
  unit: "op" | "event",
  total: number,
): RunTools {
  const rules: FaultRule[] = [];
  for (const [flag, attr] of [
    ["fail-page-alloc", "fail_page_alloc"],
    ["fail-vmalloc", "fail_vmalloc"],
    ["failslab", "failslab"],
  ] as const) {
    const v = a.flags[flag];
    if (typeof v !== "string") continue;
    try {
      rules.push(parseFaultSpec(attr, v));
    } catch (e) {
      if (e instanceof FaultSpecError) throw new UsageError(`--${flag}: ${e.message}`);
      throw e;
    }
  }
  const seriesFile = typeof a.flags.series === "string" ? a.flags.series : null;
  const plotArg = a.flags.plot;
  const plot: SeriesColumn | null =
    plotArg === undefined || plotArg === false
      ? null
      : plotArg === true
        ? "pcpu_nr_pages"
        : (plotArg as SeriesColumn);
  if (plot !== null && !(SERIES_COLUMNS as readonly string[]).includes(plot))
    throw new UsageError(
      `--plot: unknown column ${JSON.stringify(plotArg)} (${SERIES_COLUMNS.slice(1).join(", ")})`,
    );
  if (plot !== null && a.flags.json === true)
    throw new UsageError("--plot draws text; leave out --json (the series is in --series FILE.json)");
  if (seriesFile === "-" && (plot !== null || a.flags.json !== true))
    throw new UsageError("--series - writes the series to stdout: use it alone with --json");
  if (seriesFile !== null && seriesFile !== "-" && !/\.(csv|json)$/i.test(seriesFile))
    throw new UsageError(`--series: ${seriesFile}: name a .csv or .json file`);
  const every = intFlag(a.flags, "every", 1);
  if (every !== undefined && seriesFile === null && plot === null)
    throw new UsageError("--every needs --series or --plot");
  const counts = rules.length > 0 ? injectFaults(kernel, rules) : null;
  const rec =
    seriesFile !== null || plot !== null
      ? new SeriesRecorder(kernel, every ?? Math.max(1, Math.floor(total / 200)), unit)
      : null;
  let faults: FaultCounts | null = null;
  return {
    onStep: rec === null ? undefined : (done, t) => rec.step(done, t),
    finish() {
      const extra: Record<string, unknown> = {};
      if (counts !== null) extra.faults = faults = counts();
      if (rec !== null && seriesFile !== null) {
        if (seriesFile === "-") extra.series = { unit: rec.unit, every: rec.every, rows: rec.rows };
        else
          writeUserFile(
            ctx.io,
            seriesFile,
            /\.json$/i.test(seriesFile) ? seriesJson(rec) : seriesCsv(rec.rows),
            "series file",
          );
      }
      return extra;
    },
    text() {
      let s = "";
      if (faults !== null) {
        const rows = Object.entries(faults).map(([attr, c]) => [attr, c.calls, c.failures]);
        s += `\n${formatTable(rows, ["fault injection", "calls", "failures injected"])}`;
      }
      if (rec !== null && plot !== null) s += `\n${seriesPlot(rec.rows, plot, rec.unit)}`;
      return s;
    },
  };
}
