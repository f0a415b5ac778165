/*
 * `pcpu-kernel cgroup PATH FILE`: a file of a memory cgroup of the booted
 * kernel, as `cat /sys/fs/cgroup/PATH/FILE` shows it, optionally after a
 * workload run in that cgroup (`--after bpf-map` charges its maps there)
 * with `--memory-max` written first. Needs memcg on (the default).
 */

import { CGROUP_READ_FILES, type CgroupReadFile } from "../cgroup.js";
import type { Kernel } from "../kernel.js";
import { runWorkload } from "../report.js";
import { WORKLOAD_NAMES, type WorkloadName } from "../workloads/workload.js";
import { type FlagSpec, intFlag, type ParsedArgs, UsageError } from "./args.js";

export const CGROUP_FLAGS: FlagSpec[] = [
  {
    name: "after",
    kind: "value",
    arg: "WORKLOAD",
    help: `run a workload in the cgroup first (${WORKLOAD_NAMES.join(", ")}; bpf-map charges its maps there)`,
  },
  {
    name: "ops",
    kind: "value",
    arg: "N",
    help: "operations of --after's workload (default: the workload's)",
  },
  {
    name: "memory-max",
    kind: "value",
    arg: "SIZE",
    help: "write memory.max of the cgroup before the workload (max, bytes, 64K, 1M)",
  },
];

/** The cgroup path and file of a `cgroup` command line. */
export function cgroupArgsOf(a: ParsedArgs): { path: string; file: CgroupReadFile } {
  const [path, file, extra] = a.positionals;
  if (path === undefined || file === undefined)
    throw new UsageError(
      `cgroup needs a path and a file: pcpu-kernel cgroup PATH ${CGROUP_READ_FILES.join("|")}`,
    );
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`);
  const p = path.replace(/^\/sys\/fs\/cgroup(?=\/|$)/, "") || "/";
  if (!p.startsWith("/")) throw new UsageError(`cgroup path ${JSON.stringify(path)} must be absolute (/a/b)`);
  if (!(CGROUP_READ_FILES as readonly string[]).includes(file))
    throw new UsageError(
      `no cgroup file ${JSON.stringify(file)} in the model (${CGROUP_READ_FILES.join(", ")})`,
    );
  return { path: p, file: file as CgroupReadFile };
}

/** Creates the cgroup if missing, writes --memory-max, runs --after in it; returns the workload run, or null. */
export function cgroupPrepare(a: ParsedArgs, kernel: Kernel, path: string): WorkloadName | null {
  if (!kernel.config.memcg) throw new UsageError("cgroup needs the memory controller (--memcg on)");
  if (path !== "/" && !kernel.cgroup.exists(path)) kernel.cgroup.create(path);
  const max = a.flags["memory-max"];
  if (typeof max === "string") {
    if (path === "/") throw new UsageError("--memory-max: the root cgroup has no memory.max");
    kernel.cgroup.write(path, "memory.max", max);
  }
  const w = a.flags.after;
  if (w === undefined) {
    if (a.flags.ops !== undefined) throw new UsageError("--ops needs --after WORKLOAD");
    return null;
  }
  if (typeof w !== "string" || !(WORKLOAD_NAMES as readonly string[]).includes(w))
    throw new UsageError(`--after: unknown workload ${JSON.stringify(w)} (${WORKLOAD_NAMES.join(", ")})`);
  if (path === "/") throw new UsageError("--after: a workload runs in a cgroup of its own, not the root");
  runWorkload(kernel, w as WorkloadName, { ops: intFlag(a.flags, "ops"), cgroup: path });
  return w as WorkloadName;
}
