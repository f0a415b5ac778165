/*
 * The pcpu-kernel command line: `start`, `boot`, `run WORKLOAD`,
 * `replay TRACE`, `config`. Takes the definitions the build carries as an
 * argument (the full CLI passes every arch; a per-build bundle passes one
 * arch and one population backend), so this file imports no arch.
 *
 * Exit codes: 0 success, 1 runtime failure (panic at boot, a value read
 * back wrong, an oops), 2 usage or config error. User errors print one line
 * on stderr, never a stack trace.
 */

import { readFileSync } from "node:fs";
import { TraceParseError } from "@pcpu/percpu-stats";
import type { KernelConfig } from "../api.js";
import { assembleKernel, BootError } from "../assemble.js";
import {
  CONFIG_KEYS,
  ConfigError,
  configForFile,
  defaultNodes,
  mergeConfigs,
  parseBool,
  resolveConfig,
} from "../config.js";
import { definitionsFor, type KernelRegistry } from "../definitions.js";
import { kconfigSummary, parseConfigText, readKconfig, toKconfig } from "../kconfig.js";
import type { Kernel } from "../kernel.js";
import { parseTraceForReplay, type ReplayReport, replayTrace } from "../replay.js";
import { formatTable, runWorkload, summaryTable } from "../report.js";
import { WORKLOADS } from "../workloads/all.js";
import { WORKLOAD_NAMES, type WorkloadName } from "../workloads/workload.js";
import {
  type FlagSpec,
  flagHelp,
  intFlag,
  kebab,
  numberFlag,
  type ParsedArgs,
  parseArgs,
  UsageError,
} from "./args.js";
import { CGROUP_FLAGS, cgroupArgsOf, cgroupPrepare } from "./cgroup-cmd.js";
import { readUserFile, writeUserFile } from "./files.js";
import { bootFailureLog, DMESG_FLAG, dmesgLevel } from "./log-flags.js";
import { PROC_FLAGS, procFileOf, procText, procWorkload } from "./proc-cmd.js";
import { quietOnClosedPipe, userCwd } from "./process-io.js";
import { createProgress, type ProgressStream } from "./progress.js";
import { RUN_TOOL_FLAGS, startRunTools } from "./run-tools.js";
import { toolCommands } from "./tools.js";

/** Where the CLI writes and which directory relative paths start from. */
export interface CliIo {
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
  /** The directory the user ran the command in. */
  readonly cwd: string;
  /** All of stdin, for a file named `-`. */
  readonly readStdin?: () => Buffer;
}

/** On/off settings: switches (`--stats`, `--stats=off`, `--stats off`, `--no-stats`). */
const BOOL_CONFIG_KEYS = [
  "smp",
  "numa",
  "modules",
  "forceNrCpus",
  "cpumaskOffstack",
  "stats",
  "debugChecks",
  "memcg",
  "allocProfiling",
  "fixFreeHintQuirk",
  "fixPopulatedOvercount",
  "checkFree",
] as const satisfies readonly (typeof CONFIG_KEYS)[number][];
const VALUE_CONFIG_KEYS = CONFIG_KEYS.filter(
  (k) => k !== "trace" && !(BOOL_CONFIG_KEYS as readonly string[]).includes(k),
);

/** The config flags; with a registry, their help shows the defaults of the arch the build boots by default. */
function configFlags(reg: KernelRegistry | null): FlagSpec[] {
  return [
    {
      name: "config",
      kind: "value",
      arg: "FILE",
      help: "kernel.config.json or Kconfig-style .config to start from",
    },
    ...VALUE_CONFIG_KEYS.map(
      (k): FlagSpec => ({
        name: kebab(k),
        kind: "value",
        arg:
          k.endsWith("Size") || k === "memPerNode" ? "SIZE" : k === "possible" ? "CPULIST" : k.toUpperCase(),
        help: reg === null ? "" : configHelp(k, reg),
      }),
    ),
    NODE_FLAG,
    ...BOOL_CONFIG_KEYS.map(
      (k): FlagSpec => ({
        name: kebab(k),
        kind: "switch",
        arg: "on|off",
        help: reg === null ? "" : configHelp(k, reg),
      }),
    ),
  ];
}

function configHelp(k: string, reg: KernelRegistry): string {
  const def = reg.arches.find((d) => d.name === "x86_64") ?? reg.arches[0]!;
  const pops = reg.populations.map((p) => p.name);
  const pop = pops.includes("vm") ? "vm" : pops[0]!;
  const only = reg.arches.length === 1;
  const hex = (n: number) => `0x${n.toString(16)}`;
  const h: Record<string, string> = {
    arch: only
      ? `${def.name} (the only arch of this build)`
      : `${reg.arches.map((d) => (d === def ? `${d.name} (default)` : d.name)).join(", ")}`,
    pageSize: "PAGE_SIZE: 4K (default); arm64 4K/16K/64K, generic 4K..256K (bytes accepted)",
    bits: "word size of --arch generic: 64 (default) or 32",
    cpus: "nr_cpu_ids: possible CPUs 0..N-1 (default 8; with --possible, its last CPU + 1)",
    possible: "cpu_possible_mask with holes, e.g. 0-3,8-11 (hot-plug slots, disabled cores); must hold CPU 0",
    nodes: `CPUs per NUMA node, cpulists separated by ";", quoted in a shell (default ${defaultNodes(8, def.numa && def.groupsByNode && pop !== "km")} on ${def.name}${pop === "vm" && def.numa && def.groupsByNode ? ", one node with km" : ""})`,
    memPerNode: `memory per node (K/M/G suffixes, hex; default ${hex(def.memPerNodeDefault)} on ${def.name})`,
    population: pops.length === 1 ? `${pop} (the only backend of this build)` : "vm (default) or km",
    percpuAlloc: `percpu_alloc=: auto (default), ${def.firstChunks.join(", ")}`,
    allocator: "bitmap (default) or area-map",
    staticSize: `kernel static percpu size (default ${hex(def.defaultStaticSize)} on ${def.name})`,
    reservedSize: "reserved region size (overrides the arch)",
    dynSize: "dynamic region size (overrides the arch)",
    atomSize: "first-chunk atom size (overrides the arch)",
    era: `kernel generation: ${def.eras.map((e) => (e === "v6" ? "v6 (default)" : e)).join(", ")}${only ? "" : ` on ${def.name}`}`,
    nrCpus: `CONFIG_NR_CPUS (default ${def.nrCpusDefault} on ${def.name}, at least --cpus; at most ${def.nrCpusMax})`,
    modules: "CONFIG_MODULES on|off (default on)",
    smp: "CONFIG_SMP on|off (default on); off: a uniprocessor kernel (1 CPU, percpu-km, mm/percpu.c's UP setup)",
    forceNrCpus: "CONFIG_FORCE_NR_CPUS on|off (default off): nr_cpu_ids is NR_CPUS (--nr-cpus)",
    numa: `CONFIG_NUMA (default ${def.numa ? "on" : "off"} on ${def.name}); off gives one node`,
    seed: "seed of the machine and the workload (default 1)",
    memcg: "CONFIG_MEMCG kmem accounting on|off (default on): bytes_alloc = pcpu_obj_full_size",
    allocProfiling:
      "CONFIG_MEM_ALLOC_PROFILING on|off (default off): call sites in /proc/allocinfo (proc allocinfo)",
    stats: "print percpu_stats; --stats=off (--no-stats) builds without CONFIG_PERCPU_STATS",
    debugChecks: "run the allocator's invariant checker after every call (slow)",
    fixFreeHintQuirk: "policy: fix the bitmap allocator's free-path chunk-hint quirk (default off: faithful)",
    fixPopulatedOvercount: "policy: count km populated pages per unit (default off: faithful)",
    checkFree: "validate free_percpu pointers, WARN on misuse (default on)",
  };
  return h[k] ?? k;
}

const NODE_FLAG: FlagSpec = {
  name: "node",
  kind: "list",
  arg: "CPULIST",
  help: "the CPUs of one NUMA node, once per node in order (--node 0-3 --node 4-7); instead of --nodes",
};

/** The config flags as parsed (help filled in per build by commandHelp). */
export const CONFIG_FLAGS = configFlags(null);

export const JSON_FLAG: FlagSpec = {
  name: "json",
  kind: "switch",
  help: "one JSON document on stdout instead of text",
};
export const HELP_FLAG: FlagSpec = { name: "help", kind: "switch", help: "this help" };
export const TRACE_FLAG: FlagSpec = {
  name: "trace",
  kind: "value",
  arg: "FILE",
  help: "write the percpu tracepoints (ftrace text) to FILE",
};
export const RUN_FLAGS: FlagSpec[] = [
  { name: "ops", kind: "value", arg: "N", help: "operations to run (default: the workload's)" },
  {
    name: "scale",
    kind: "value",
    arg: "X",
    help: "size multiplier of the workload's structures (default 1)",
  },
  TRACE_FLAG,
  ...RUN_TOOL_FLAGS,
];

export interface Command {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  readonly flags: readonly FlagSpec[];
  /** The exit code; a promise for commands that wait (sweep's worker threads). */
  run(args: ParsedArgs, ctx: CliContext): number | Promise<number>;
}

export interface CliContext {
  readonly io: CliIo;
  readonly registry: KernelRegistry;
  readonly build: string;
}

export function out(io: CliIo, s: string): void {
  io.stdout.write(s);
}

/** The config of a command line: file, then flags. */
export function configFromArgs(a: ParsedArgs, ctx: CliContext, extra: KernelConfig = {}): KernelConfig {
  const io = ctx.io;
  /* A single-arch build defaults to its own arch and backend. */
  const reg = ctx.registry;
  const base: KernelConfig = {
    ...(reg.arches.length === 1 ? { arch: reg.arches[0]!.name } : {}),
    ...(reg.populations.length === 1 ? { population: reg.populations[0]!.name } : {}),
  };
  let file: KernelConfig = {};
  if (typeof a.flags.config === "string") {
    const text = readUserFile(io, a.flags.config, "config file");
    if (text.trimStart().startsWith("{")) file = parseConfigText(text, a.flags.config);
    else {
      /* A .config, perhaps a distro's: say in one line what was used and what was ignored. */
      const r = readKconfig(text);
      if (r.ignored > 0 || r.notModelled.length > 0)
        io.stderr.write(`pcpu-kernel: ${kconfigSummary(a.flags.config, r)}\n`);
      file = r.config;
    }
  }
  const fromFlags: Record<string, unknown> = {};
  for (const k of VALUE_CONFIG_KEYS) {
    const v = a.flags[kebab(k)];
    if (v !== undefined) fromFlags[k] = v;
  }
  for (const k of BOOL_CONFIG_KEYS) {
    const v = a.flags[kebab(k)];
    if (v === undefined) continue;
    const b = parseBool(v);
    if (b === null) throw new UsageError(`--${kebab(k)}: ${JSON.stringify(v)} is not on or off`);
    fromFlags[k] = b;
  }
  const nodeList = a.lists?.node;
  if (nodeList !== undefined) {
    if (a.flags.nodes !== undefined) throw new UsageError("give either --nodes or --node, not both");
    for (const [i, n] of nodeList.entries())
      if (n.includes(";"))
        throw new UsageError(`--node ${JSON.stringify(n)}: one node per --node (node ${i}); no ";"`);
    fromFlags.nodes = nodeList.join(";");
  }
  return mergeConfigs(base, file, fromFlags as KernelConfig, extra);
}

export function boot(ctx: CliContext, config: KernelConfig): Kernel {
  const c = resolveConfig(config, (name) => ctx.registry.arches.find((d) => d.name === name));
  return assembleKernel(c, definitionsFor(ctx.registry, c.arch, c.population));
}

/**
 * Where the report goes: stdout, or stderr when `--trace -` makes the
 * trace the command's output (as `tar -cvf -` lists on stderr).
 */
function reportStream(a: ParsedArgs, io: CliIo): ProgressStream {
  if (a.flags.trace !== "-") return io.stdout;
  if (a.flags.json === true)
    throw new UsageError("--trace - and --json both write to stdout: write the trace to a file");
  return io.stderr;
}

export function wantsStats(a: ParsedArgs): boolean {
  return a.flags.stats === true || a.flags.stats === "on";
}

export function noPositionals(a: ParsedArgs, n: number, usage: string): void {
  if (a.positionals.length > n)
    throw new UsageError(`unexpected argument ${JSON.stringify(a.positionals[n])} (usage: ${usage})`);
}

function runAndReport(
  a: ParsedArgs,
  ctx: CliContext,
  name: WorkloadName,
  kernel: Kernel,
  bootLines: boolean,
): number {
  const io = ctx.io;
  const ops = intFlag(a.flags, "ops");
  const scale = numberFlag(a.flags, "scale");
  const level = dmesgLevel(a);
  const rep = reportStream(a, io);
  const progress = createProgress(name, io.stderr);
  const tools = startRunTools(a, ctx, kernel, "op", ops ?? WORKLOADS[name].defaultOps);
  const s = runWorkload(kernel, name, { ops, scale, onProgress: progress.update, onStep: tools.onStep });
  progress.finish();
  const extra = tools.finish();
  if (typeof a.flags.trace === "string") writeUserFile(io, a.flags.trace, kernel.trace(), "trace file");
  if (a.flags.json === true) {
    const dmesg = level === null ? {} : { dmesg: kernel.dmesg(level) };
    out(
      io,
      `${JSON.stringify({ command: "run", build: ctx.build, config: kernel.config, ...dmesg, summary: s, percpuStats: kernel.statsJson(), ...extra }, null, 2)}\n`,
    );
    return 0;
  }
  if (bootLines || level !== null) rep.write(`${kernel.dmesg(level ?? undefined).join("\n")}\n\n`);
  rep.write(summaryTable(s));
  rep.write(tools.text());
  if (bootLines || wantsStats(a)) rep.write(`\n${kernel.debugfs("percpu_stats")}`);
  return 0;
}

const COMMANDS: Command[] = [
  {
    name: "start",
    usage: "pcpu-kernel start [flags]",
    summary:
      "boot the default kernel (x86_64, 8 CPUs in 2 nodes, vm, embed, bitmap, stats), run bpf-map, print boot lines, summary and percpu_stats",
    flags: [...CONFIG_FLAGS, ...RUN_FLAGS, DMESG_FLAG, JSON_FLAG, HELP_FLAG],
    run(a, ctx) {
      noPositionals(a, 0, this.usage);
      const kernel = boot(ctx, configFromArgs(a, ctx, { trace: typeof a.flags.trace === "string" }));
      return runAndReport(a, ctx, "bpf-map", kernel, true);
    },
  },
  {
    name: "boot",
    usage: "pcpu-kernel boot [flags]",
    summary: "boot a kernel and print its log (dmesg, debug lines included)",
    flags: [...CONFIG_FLAGS, DMESG_FLAG, JSON_FLAG, HELP_FLAG],
    run(a, ctx) {
      noPositionals(a, 0, this.usage);
      const level = dmesgLevel(a) ?? undefined;
      const kernel = boot(ctx, configFromArgs(a, ctx, { trace: false }));
      if (a.flags.json === true) {
        out(
          ctx.io,
          `${JSON.stringify({ command: "boot", build: ctx.build, config: kernel.config, dmesg: kernel.dmesg(level), meminfo: kernel.meminfo(), vmallocinfo: kernel.vmallocinfo(), percpuStats: kernel.statsJson() }, null, 2)}\n`,
        );
        return 0;
      }
      const lines = kernel.dmesg(level);
      if (lines.length > 0) out(ctx.io, `${lines.join("\n")}\n`);
      if (wantsStats(a)) out(ctx.io, `\n${kernel.debugfs("percpu_stats")}`);
      return 0;
    },
  },
  {
    name: "run",
    usage: "pcpu-kernel run WORKLOAD [flags]",
    summary: `run a workload (${WORKLOAD_NAMES.join(", ")}) and print a summary`,
    flags: [...CONFIG_FLAGS, ...RUN_FLAGS, DMESG_FLAG, JSON_FLAG, HELP_FLAG],
    run(a, ctx) {
      const name = a.positionals[0];
      if (name === undefined) throw new UsageError(`run needs a workload: ${WORKLOAD_NAMES.join(", ")}`);
      if (!(WORKLOAD_NAMES as readonly string[]).includes(name)) {
        throw new UsageError(`unknown workload ${JSON.stringify(name)} (${WORKLOAD_NAMES.join(", ")})`);
      }
      noPositionals(a, 1, this.usage);
      const kernel = boot(ctx, configFromArgs(a, ctx, { trace: typeof a.flags.trace === "string" }));
      if (name === "modules" && !kernel.config.modules)
        throw new UsageError(
          "the modules workload loads modules into the reserved chunk: it needs CONFIG_MODULES (--modules on)",
        );
      return runAndReport(a, ctx, name as WorkloadName, kernel, false);
    },
  },
  {
    name: "replay",
    usage: "pcpu-kernel replay TRACE [flags]",
    summary:
      "replay a percpu trace (ftrace text or trace-cmd report output, ours or a real machine's) and report what differs",
    flags: [...CONFIG_FLAGS, TRACE_FLAG, ...RUN_TOOL_FLAGS, DMESG_FLAG, JSON_FLAG, HELP_FLAG],
    run(a, ctx) {
      const file = a.positionals[0];
      if (file === undefined) throw new UsageError("replay needs a trace file (- for stdin)");
      noPositionals(a, 1, this.usage);
      const level = dmesgLevel(a);
      const rep = reportStream(a, ctx.io);
      const config = configFromArgs(a, ctx, { trace: typeof a.flags.trace === "string" });
      const text = readUserFile(ctx.io, file, "trace");
      const parsed = parseTraceForReplay(text);
      const kernel = boot(ctx, config);
      const progress = createProgress("replay", ctx.io.stderr);
      const tools = startRunTools(a, ctx, kernel, "event", parsed.records.length);
      const r = replayTrace(kernel, parsed, { onProgress: progress.update, onEvent: tools.onStep });
      progress.finish();
      const extra = tools.finish();
      for (const w of r.warnings) ctx.io.stderr.write(`pcpu-kernel: warning: ${file}: ${w}\n`);
      if (typeof a.flags.trace === "string")
        writeUserFile(ctx.io, a.flags.trace, kernel.trace(), "trace file");
      if (a.flags.json === true) {
        const dmesg = level === null ? {} : { dmesg: kernel.dmesg(level) };
        out(
          ctx.io,
          `${JSON.stringify({ command: "replay", build: ctx.build, config: kernel.config, ...dmesg, report: r, percpuStats: kernel.statsJson(), ...extra }, null, 2)}\n`,
        );
        return 0;
      }
      if (level !== null) rep.write(`${kernel.dmesg(level).join("\n")}\n\n`);
      rep.write(replayTable(r));
      rep.write(tools.text());
      if (wantsStats(a)) rep.write(`\n${kernel.debugfs("percpu_stats")}`);
      return 0;
    },
  },
  {
    name: "proc",
    usage: "pcpu-kernel proc meminfo|vmallocinfo|allocinfo [--after WORKLOAD] [flags]",
    summary: "print a /proc file of the booted kernel (optionally after a workload)",
    flags: [...CONFIG_FLAGS, ...PROC_FLAGS, JSON_FLAG, HELP_FLAG],
    run(a, ctx) {
      const file = procFileOf(a);
      const kernel = boot(ctx, configFromArgs(a, ctx, { trace: false }));
      const after = procWorkload(a, kernel);
      const text = procText(kernel, file);
      if (a.flags.json === true) {
        const lines = text.split("\n").slice(0, -1);
        out(
          ctx.io,
          `${JSON.stringify({ command: "proc", build: ctx.build, file: `/proc/${file}`, after, lines }, null, 2)}\n`,
        );
      } else out(ctx.io, text);
      return 0;
    },
  },
  {
    name: "cgroup",
    usage: "pcpu-kernel cgroup PATH FILE [--after WORKLOAD] [--memory-max SIZE] [flags]",
    summary:
      "print a memory cgroup file (memory.stat, memory.current, memory.events, ...), optionally after a workload in it",
    flags: [...CONFIG_FLAGS, ...CGROUP_FLAGS, DMESG_FLAG, JSON_FLAG, HELP_FLAG],
    run(a, ctx) {
      const { path, file } = cgroupArgsOf(a);
      const level = dmesgLevel(a);
      const kernel = boot(ctx, configFromArgs(a, ctx, { trace: false }));
      const after = cgroupPrepare(a, kernel, path);
      const text = kernel.cgroup.read(path, file);
      if (a.flags.json === true) {
        const lines = text.split("\n").slice(0, -1);
        const dmesg = level === null ? {} : { dmesg: kernel.dmesg(level) };
        out(
          ctx.io,
          `${JSON.stringify({ command: "cgroup", build: ctx.build, path, file, after, lines, ...dmesg }, null, 2)}\n`,
        );
        return 0;
      }
      out(ctx.io, level === null ? text : `${kernel.dmesg(level).join("\n")}\n\n${text}`);
      return 0;
    },
  },
  {
    name: "config",
    usage: "pcpu-kernel config [flags] [--kconfig]",
    summary: "print the resolved config as JSON, or as .config lines with --kconfig",
    flags: [
      ...CONFIG_FLAGS,
      { name: "kconfig", kind: "switch", help: "print Kconfig-style .config lines" },
      { ...JSON_FLAG, help: "print JSON (the default)" },
      HELP_FLAG,
    ],
    run(a, ctx) {
      noPositionals(a, 0, this.usage);
      const c = resolveConfig(configFromArgs(a, ctx), (name) =>
        ctx.registry.arches.find((d) => d.name === name),
      );
      if (a.flags.kconfig === true && a.flags.json === true)
        throw new UsageError("--kconfig and --json ask for two formats: give one");
      const file = configForFile(c);
      if (a.flags.kconfig === true) {
        const k: Record<string, unknown> = {};
        for (const [key, v] of Object.entries(file)) if (v !== null) k[key] = v;
        out(ctx.io, toKconfig(k as KernelConfig));
      } else {
        /* What `boot --config` reads back: the keys derived from nodes are left out. */
        out(ctx.io, `${JSON.stringify(file, null, 2)}\n`);
      }
      return 0;
    },
  },
  ...toolCommands(),
];

/** ` (lines 3, 9, ...)`: where in the trace the counted entries are. */
function lines(n: number, at: readonly number[]): string {
  if (n === 0) return "";
  return ` (line${at.length > 1 ? "s" : ""} ${at.join(", ")}${n > at.length ? ", ..." : ""})`;
}

/** The replay report as a table. */
export function replayTable(r: ReplayReport): string {
  const d = (a: number, b: number) => (b - a === 0 ? "" : b - a > 0 ? `+${b - a}` : String(b - a));
  const rows: (string | number)[][] = [
    ["allocs", r.trace.allocs, r.replay.allocs, d(r.trace.allocs, r.replay.allocs)],
    ["frees", r.trace.frees, r.replay.frees, d(r.trace.frees, r.replay.frees)],
    ["failures", r.trace.failures, r.replay.failures, d(r.trace.failures, r.replay.failures)],
    [
      "chunks created",
      r.trace.chunksCreated,
      r.replay.chunksCreated,
      d(r.trace.chunksCreated, r.replay.chunksCreated),
    ],
    [
      "chunks destroyed",
      r.trace.chunksDestroyed,
      r.replay.chunksDestroyed,
      d(r.trace.chunksDestroyed, r.replay.chunksDestroyed),
    ],
  ];
  let s = `replayed ${r.events} percpu events (${r.skipped} other entries skipped, ${r.lost} lost${r.bootEvents > 0 ? `, ${r.bootEvents} of the traced kernel's boot not replayed` : ""})\n\n`;
  s += formatTable(rows, ["", "trace", "replay", "diff"]);
  const more: (string | number)[][] = [
    ["failed here, succeeded in trace", r.failedHereOnly],
    ["succeeded here, failed in trace", r.succeededHereOnly],
    ["frees of unknown pointers", `${r.unmatchedFrees}${lines(r.unmatchedFrees, r.unmatchedFreeLines)}`],
    ["allocs retrying a failure", `${r.retries}${lines(r.retries, r.retryLines)}`],
    ["peak chunks", r.replay.peakChunks],
    ["populated pages", r.replay.populatedPages],
    ["pcpu_nr_pages", r.replay.pcpuNrPages],
    ["empty populated pages", r.replay.emptyPopPages],
  ];
  if (r.fragmentation !== null) {
    more.push(["free bytes (dynamic chunks)", r.fragmentation.freeBytes]);
    more.push(["sum_frag", r.fragmentation.sumFrag]);
    more.push(["max_frag", r.fragmentation.maxFrag]);
  }
  return `${s}\n${formatTable(more)}`;
}

function mainHelp(build: string): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return (
    `pcpu-kernel: assemble, boot and drive a percpu kernel (build: ${build})\n\n` +
    "usage: pcpu-kernel <command> [flags]\n\n" +
    `${COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`).join("\n")}\n\n` +
    "Run pcpu-kernel <command> --help for its flags.\n"
  );
}

function commandHelp(c: Command, reg: KernelRegistry): string {
  const helps = new Map(configFlags(reg).map((f) => [f.name, f.help]));
  const flags = c.flags.map((f) => (f.help === "" ? { ...f, help: helps.get(f.name) ?? "" } : f));
  let s = `usage: ${c.usage}\n\n${c.summary}\n\n`;
  if (c.name === "run") {
    s += `workloads:\n${WORKLOAD_NAMES.map((n) => `  ${n.padEnd(12)}  ${WORKLOADS[n].description}`).join("\n")}\n\n`;
  }
  return `${s}flags:\n${flagHelp(flags)}\n`;
}

/** The exit code for an error, and its one-line message. */
function classify(e: unknown): { code: number; message: string } {
  if (e instanceof UsageError) return { code: 2, message: e.message };
  if (e instanceof ConfigError) {
    const flag = (CONFIG_KEYS as readonly string[]).includes(e.setting) ? ` (--${kebab(e.setting)})` : "";
    return {
      code: 2,
      message: `invalid config: ${e.setting}${flag}: ${e.message.slice(e.setting.length + 2)}`,
    };
  }
  if (e instanceof TraceParseError) return { code: 2, message: `malformed trace: ${e.message}` };
  if (e instanceof BootError) return { code: 1, message: `boot failed: ${e.message}` };
  if (e instanceof Error)
    return { code: 1, message: `${e.name === "Error" ? "" : `${e.name}: `}${e.message.split("\n")[0]}` };
  return { code: 1, message: String(e) };
}

/**
 * Runs one command line.
 * @returns the exit code
 */
export function runCli(
  argv: readonly string[],
  registry: KernelRegistry,
  io: CliIo,
  build = "full",
): number | Promise<number> {
  /* `pnpm kernel -- boot ...` passes the separator on. */
  const [cmdName, ...rest] = argv[0] === "--" ? argv.slice(1) : argv;
  try {
    if (cmdName === undefined || cmdName === "--help" || cmdName === "-h" || cmdName === "help") {
      out(io, mainHelp(build));
      return cmdName === undefined ? 2 : 0;
    }
    const cmd = COMMANDS.find((c) => c.name === cmdName);
    if (cmd === undefined)
      throw new UsageError(
        `unknown command ${JSON.stringify(cmdName)} (${COMMANDS.map((c) => c.name).join(", ")})`,
      );
    const args = parseArgs(rest, cmd.flags);
    if (args.flags.help === true) {
      out(io, commandHelp(cmd, registry));
      return 0;
    }
    const r = cmd.run(args, { io, registry, build });
    return typeof r === "number" ? r : r.catch((e: unknown) => failed(e, io));
  } catch (e) {
    return failed(e, io);
  }
}

/** Reports an error on stderr; returns its exit code. */
function failed(e: unknown, io: CliIo): number {
  const { code, message } = classify(e);
  io.stderr.write(`${bootFailureLog(e)}pcpu-kernel: ${message}\n`);
  if (code === 1 && process.env.PCPU_KERNEL_DEBUG && e instanceof Error) io.stderr.write(`${e.stack}\n`);
  return code;
}

/** The process entry: argv from the process, output to its streams, the exit code set. */
export function runCliMain(registry: KernelRegistry, build = "full"): void {
  const cwd = userCwd(process.env, process.cwd());
  quietOnClosedPipe(process.stdout, process.stderr, (code) => process.exit(code));
  const code = runCli(
    process.argv.slice(2),
    registry,
    { stdout: process.stdout, stderr: process.stderr, cwd, readStdin: () => readFileSync(0) },
    build,
  );
  if (typeof code === "number") process.exitCode = code;
  else
    void code.then((c) => {
      process.exitCode = c;
    });
}
