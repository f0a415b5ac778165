/*
 * `pcpu-kernel proc FILE`: a /proc file of a booted kernel, optionally
 * after a workload, as `cat /proc/FILE` would show it (meminfo,
 * vmallocinfo), or as JSON with --json.
 */

import type { Kernel } from "../kernel.js";
import { runWorkload } from "../report.js";
import { WORKLOAD_NAMES, type WorkloadName } from "../workloads/workload.js";
import { type FlagSpec, intFlag, type ParsedArgs, UsageError } from "./args.js";

/** The /proc files the model fills. */
export const PROC_FILES = ["meminfo", "vmallocinfo", "allocinfo"] as const;
export type ProcFile = (typeof PROC_FILES)[number];

export const PROC_FLAGS: FlagSpec[] = [
  {
    name: "after",
    kind: "value",
    arg: "WORKLOAD",
    help: `run a workload first (${WORKLOAD_NAMES.join(", ")})`,
  },
  {
    name: "ops",
    kind: "value",
    arg: "N",
    help: "operations of --after's workload (default: the workload's)",
  },
];

/** The file a `proc` command line names (`meminfo` or `/proc/meminfo`). */
export function procFileOf(a: ParsedArgs): ProcFile {
  const arg = a.positionals[0];
  if (arg === undefined) throw new UsageError(`proc needs a file: ${PROC_FILES.join(", ")}`);
  if (a.positionals.length > 1)
    throw new UsageError(
      `unexpected argument ${JSON.stringify(a.positionals[1])} (usage: pcpu-kernel proc FILE)`,
    );
  const name = arg.replace(/^\/proc\//, "");
  if (!(PROC_FILES as readonly string[]).includes(name))
    throw new UsageError(`no /proc file ${JSON.stringify(arg)} in the model (${PROC_FILES.join(", ")})`);
  return name as ProcFile;
}

/** Runs `--after` if given; returns the workload run, or null. */
export function procWorkload(a: ParsedArgs, kernel: Kernel): WorkloadName | null {
  const w = a.flags.after;
  if (w === undefined) {
    if (a.flags.ops !== undefined) throw new UsageError("--ops needs --after WORKLOAD");
    return null;
  }
  if (typeof w !== "string" || !(WORKLOAD_NAMES as readonly string[]).includes(w))
    throw new UsageError(`--after: unknown workload ${JSON.stringify(w)} (${WORKLOAD_NAMES.join(", ")})`);
  runWorkload(kernel, w as WorkloadName, { ops: intFlag(a.flags, "ops") });
  return w as WorkloadName;
}

/** The text of a /proc file. */
export function procText(kernel: Kernel, file: ProcFile): string {
  if (file === "allocinfo") {
    if (kernel.pcpu.allocTags === null)
      throw new UsageError(
        "/proc/allocinfo exists with CONFIG_MEM_ALLOC_PROFILING only: add --alloc-profiling on",
      );
    return kernel.allocinfo();
  }
  return file === "meminfo" ? kernel.meminfo() : kernel.vmallocinfo();
}
