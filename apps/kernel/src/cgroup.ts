/*
 * The cgroup v2 memory controller of a booted kernel, as a user drives it
 * through /sys/fs/cgroup: mkdir a cgroup, write memory.max and
 * cgroup.procs, read memory.stat / memory.current / memory.max /
 * memory.events; and run work as a task inside a cgroup (what `echo $$ >
 * cgroup.procs; cmd` does). The controller itself is @pcpu/mm's
 * MemCgroupSubsys (mm/memcontrol.c); this file only checks arguments and
 * maps file names to it.
 *
 * With `memcg: false` (CONFIG_MEMCG off) there is no memory controller:
 * every call is refused.
 */

import { CgroupError, type Machine, type MemCgroup } from "@pcpu/mm";
import { KernelApiError, refuse } from "./boundary.js";

/** The files of a memory cgroup the model reads. */
export const CGROUP_READ_FILES = [
  "memory.stat",
  "memory.current",
  "memory.max",
  "memory.peak",
  "memory.events",
  "memory.events.local",
  "cgroup.procs",
] as const;
export type CgroupReadFile = (typeof CGROUP_READ_FILES)[number];

/** The files a user writes. */
export const CGROUP_WRITE_FILES = ["memory.max", "cgroup.procs"] as const;
export type CgroupWriteFile = (typeof CGROUP_WRITE_FILES)[number];

/** A task to run work as: PID and comm. */
export interface CgroupTask {
  readonly pid: number;
  readonly comm: string;
}

/** The memory cgroup API of a kernel. */
export interface KernelCgroupApi {
  /** `mkdir /sys/fs/cgroup/PATH` (the parent must exist). */
  create(path: string): void;
  /** `rmdir /sys/fs/cgroup/PATH` (refused while it has tasks or children; its charges move to the parent). */
  remove(path: string): void;
  /** Whether PATH exists. */
  exists(path: string): boolean;
  /** `cat /sys/fs/cgroup/PATH/FILE`. */
  read(path: string, file: CgroupReadFile): string;
  /** `echo VALUE > /sys/fs/cgroup/PATH/FILE` (memory.max: `max` or bytes with K/M/G; cgroup.procs: a PID). */
  write(path: string, file: CgroupWriteFile, value: string | number): void;
  /**
   * Runs `fn` as `task` (default the current task) attached to PATH, then
   * puts the task back where it was: the task's __GFP_ACCOUNT allocations
   * inside are charged to PATH.
   */
  run<T>(path: string, fn: () => T, task?: CgroupTask): T;
  /**
   * `set_active_memcg()` scope: runs `fn` with kmem charged to PATH
   * whatever the task's own cgroup (what bpf does around map allocations).
   */
  withActiveMemcg<T>(path: string, fn: () => T): T;
}

/** The cgroup API over a machine's memory controller; `enabled` false refuses every call. */
export function kernelCgroupApi(machine: Machine, enabled: boolean): KernelCgroupApi {
  const sub = machine.memcg;
  const ctx = machine.ctx;
  const checkOn = (fn: string): void => {
    if (!enabled)
      throw new KernelApiError(`cgroup.${fn}: no memory controller (CONFIG_MEMCG is off)`, `cgroup.${fn}`);
  };
  const cg = (fn: string, path: unknown): MemCgroup => {
    checkOn(fn);
    if (typeof path !== "string" || !path.startsWith("/"))
      refuse(`cgroup.${fn}`, "path", "an absolute cgroup path (/, /a/b)", path);
    const m = sub.lookup(path as string);
    if (m === null)
      throw new KernelApiError(
        `cgroup.${fn}: ${path as string}: No such file or directory`,
        `cgroup.${fn}`,
        "path",
        path,
      );
    return m;
  };
  const wrap = <T>(fn: string, arg: string, value: unknown, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof CgroupError)
        throw new KernelApiError(`cgroup.${fn}: ${e.message}`, `cgroup.${fn}`, arg, value);
      throw e;
    }
  };
  return {
    create(path) {
      checkOn("create");
      if (typeof path !== "string" || !path.startsWith("/"))
        refuse("cgroup.create", "path", "an absolute cgroup path (/a/b)", path);
      wrap("create", "path", path, () => sub.mkdir(path));
    },
    remove(path) {
      checkOn("remove");
      if (typeof path !== "string" || !path.startsWith("/"))
        refuse("cgroup.remove", "path", "an absolute cgroup path (/a/b)", path);
      wrap("remove", "path", path, () => sub.rmdir(path));
    },
    exists(path) {
      checkOn("exists");
      if (typeof path !== "string") refuse("cgroup.exists", "path", "a cgroup path", path);
      return sub.lookup(path) !== null;
    },
    read(path, file) {
      const m = cg("read", path);
      const root = m.parent === null;
      switch (file) {
        case "memory.stat":
          return sub.memoryStat(m);
        case "cgroup.procs":
          return [...m.tasks]
            .sort((a, b) => a - b)
            .map((p) => `${p}\n`)
            .join("");
        default:
          if (root || !(CGROUP_READ_FILES as readonly string[]).includes(file as string))
            throw new KernelApiError(
              `cgroup.read: ${path}/${String(file)}: No such file or directory`,
              "cgroup.read",
              "file",
              file,
            );
      }
      if (file === "memory.current") return `${sub.memoryCurrent(m)}\n`;
      if (file === "memory.peak") return `${m.memory.watermark * sub.pageSize}\n`;
      if (file === "memory.max") return `${sub.memoryMaxRead(m)}\n`;
      return sub.memoryEvents(m, file === "memory.events.local");
    },
    write(path, file, value) {
      const m = cg("write", path);
      if (file === "memory.max") {
        if (
          typeof value !== "string" &&
          !(typeof value === "number" && Number.isSafeInteger(value) && value >= 0)
        )
          refuse(
            "cgroup.write",
            "value",
            "max, or bytes (a non-negative integer, K/M/G suffix allowed)",
            value,
          );
        wrap("write", "value", value, () => sub.memoryMaxWrite(m, String(value)));
        return;
      }
      if (file === "cgroup.procs") {
        const pid = typeof value === "string" ? Number(value.trim()) : value;
        if (!Number.isSafeInteger(pid) || pid <= 0)
          refuse("cgroup.write", "value", "a PID (a positive integer)", value);
        sub.attachTask(pid, m);
        return;
      }
      refuse("cgroup.write", "file", `one of ${CGROUP_WRITE_FILES.join(", ")}`, file);
    },
    run(path, fn, task) {
      const m = cg("run", path);
      if (typeof fn !== "function") refuse("cgroup.run", "fn", "a function", fn);
      if (
        task !== undefined &&
        (typeof task !== "object" ||
          task === null ||
          !Number.isSafeInteger(task.pid) ||
          task.pid <= 0 ||
          typeof task.comm !== "string")
      )
        refuse("cgroup.run", "task", "{ pid: a positive integer, comm: a string }", task);
      const savedPid = ctx.pid;
      const savedComm = ctx.comm;
      const pid = task?.pid ?? savedPid;
      const before = sub.memcgOfTask(pid);
      if (task !== undefined) ctx.setTask(task.pid, task.comm);
      sub.attachTask(pid, m);
      try {
        return fn();
      } finally {
        sub.attachTask(pid, before);
        if (before === sub.root) sub.root.tasks.delete(pid);
        ctx.setTask(savedPid, savedComm);
      }
    },
    withActiveMemcg(path, fn) {
      const m = cg("withActiveMemcg", path);
      if (typeof fn !== "function") refuse("cgroup.withActiveMemcg", "fn", "a function", fn);
      const old = sub.setActiveMemcg(m);
      try {
        return fn();
      } finally {
        sub.setActiveMemcg(old);
      }
    },
  };
}
