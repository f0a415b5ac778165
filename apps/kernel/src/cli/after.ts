/*
 * What inspect and sites look at: a kernel booted from the command line's
 * config, with call-site tracking on, after a workload (`--after WORKLOAD`)
 * or a replayed trace (`--replay FILE`), or right after boot.
 */

import type { Kernel } from "../kernel.js";
import { parseTraceForReplay, replayTrace } from "../replay.js";
import { runWorkload } from "../report.js";
import { WORKLOAD_NAMES, type WorkloadName } from "../workloads/workload.js";
import { type FlagSpec, intFlag, numberFlag, type ParsedArgs, UsageError } from "./args.js";
import { readUserFile } from "./files.js";
import { boot, type CliContext, configFromArgs } from "./run.js";

export const AFTER_FLAGS: FlagSpec[] = [
  {
    name: "after",
    kind: "value",
    arg: "WORKLOAD",
    help: `look after running a workload (${WORKLOAD_NAMES.join(", ")})`,
  },
  { name: "replay", kind: "value", arg: "FILE", help: "look after replaying a percpu trace (- for stdin)" },
  { name: "ops", kind: "value", arg: "N", help: "operations of the --after workload" },
  { name: "scale", kind: "value", arg: "X", help: "size multiplier of the --after workload" },
];

/** What was run before looking. */
export interface AfterWhat {
  readonly kernel: Kernel;
  /** `workload bpf-map`, `replay FILE`, or `boot`. */
  readonly what: string;
}

/** Boots, turns call-site tracking on, runs the workload or replay the flags name. */
export function bootAndRun(a: ParsedArgs, ctx: CliContext): AfterWhat {
  const after = a.flags.after;
  const replay = a.flags.replay;
  if (after !== undefined && replay !== undefined)
    throw new UsageError("give --after WORKLOAD or --replay FILE, not both");
  if (typeof after === "string" && !(WORKLOAD_NAMES as readonly string[]).includes(after))
    throw new UsageError(`unknown workload ${JSON.stringify(after)} (${WORKLOAD_NAMES.join(", ")})`);
  if (after === undefined && (a.flags.ops !== undefined || a.flags.scale !== undefined))
    throw new UsageError("--ops and --scale need --after WORKLOAD");
  const ops = intFlag(a.flags, "ops");
  const scale = numberFlag(a.flags, "scale");
  const text = typeof replay === "string" ? readUserFile(ctx.io, replay, "trace") : null;
  const parsed = text === null ? null : parseTraceForReplay(text);
  const kernel = boot(ctx, configFromArgs(a, ctx, { trace: false }));
  kernel.trackCallSites();
  if (typeof after === "string") {
    runWorkload(kernel, after as WorkloadName, { ops, scale });
    return { kernel, what: `workload ${after}` };
  }
  if (parsed !== null) {
    replayTrace(kernel, parsed);
    return { kernel, what: `replay ${replay}` };
  }
  return { kernel, what: "boot" };
}
