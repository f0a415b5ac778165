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

import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { TraceParseError } from "@pcpu/percpu-stats";
import type { KernelConfig } from "../api.js";
import { assembleKernel, BootError } from "../assemble.js";
import { CONFIG_KEYS, ConfigError, mergeConfigs, resolveConfig } from "../config.js";
import { definitionsFor, type KernelRegistry } from "../definitions.js";
import { parseConfigText, toKconfig } from "../kconfig.js";
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
import { createProgress, type ProgressStream } from "./progress.js";
import { RUN_TOOL_FLAGS, startRunTools } from "./run-tools.js";
import { toolCommands } from "./tools.js";

/** Where the CLI writes and which directory relative paths start from. */
export interface CliIo {
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
  /** The directory the user ran the command in. */
  readonly cwd: string;
}

const VALUE_CONFIG_KEYS = CONFIG_KEYS.filter((k) => k !== "stats" && k !== "trace" && k !== "debugChecks");

export const CONFIG_FLAGS: FlagSpec[] = [
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
      arg: k.endsWith("Size") || k === "memPerNode" ? "SIZE" : k.toUpperCase(),
      help: configHelp(k),
    }),
  ),
  {
    name: "stats",
    kind: "switch",
    arg: "on|off",
    help: "print percpu_stats; --stats=off (--no-stats) builds without CONFIG_PERCPU_STATS",
  },
  {
    name: "debug-checks",
    kind: "switch",
    help: "run the allocator's invariant checker after every call (slow)",
  },
];

function configHelp(k: string): string {
  const h: Record<string, string> = {
    arch: "x86_64 (default), i386, arm, sparc32, s390",
    cpus: "possible CPUs (default 8)",
    nodes: 'CPUs per NUMA node, cpulists separated by ";" (default 0-3;4-7 on x86_64)',
    memPerNode: "memory per node (K/M/G suffixes, hex)",
    population: "vm (default) or km",
    percpuAlloc: "percpu_alloc=: auto (default), embed, page",
    allocator: "bitmap (default) or area-map",
    staticSize: "kernel static percpu size",
    reservedSize: "reserved region size (overrides the arch)",
    dynSize: "dynamic region size (overrides the arch)",
    atomSize: "first-chunk atom size (overrides the arch)",
    era: "kernel generation: v6 (default), v5.14, v4.14, v3.18, v2.6.32, v2.6.30",
    nrCpus: "CONFIG_NR_CPUS (default: the arch's, at least --cpus)",
    modules: "CONFIG_MODULES on|off (default on)",
    seed: "seed of the machine and the workload (default 1)",
  };
  return h[k] ?? k;
}

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

export function readUserFile(io: CliIo, path: string, what: string): string {
  try {
    return readFileSync(resolve(io.cwd, path), "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new UsageError(`cannot read ${what} ${path}: ${code}`);
  }
}

export function writeUserFile(io: CliIo, path: string, text: string, what: string): void {
  try {
    writeFileSync(resolve(io.cwd, path), text);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new UsageError(`cannot write ${what} ${path}: ${code}`);
  }
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
  const file =
    typeof a.flags.config === "string"
      ? parseConfigText(readUserFile(io, a.flags.config, "config file"), a.flags.config)
      : {};
  const fromFlags: Record<string, unknown> = {};
  for (const k of VALUE_CONFIG_KEYS) {
    const v = a.flags[kebab(k)];
    if (v !== undefined) fromFlags[k] = v;
  }
  const st = a.flags.stats;
  if (st === false || st === "off") fromFlags.stats = false;
  else if (st === "on" || st === true) fromFlags.stats = true;
  else if (st !== undefined) throw new UsageError(`--stats: ${JSON.stringify(st)} is not on or off`);
  if (a.flags["debug-checks"] !== undefined) fromFlags.debugChecks = a.flags["debug-checks"];
  return mergeConfigs(base, file, fromFlags as KernelConfig, extra);
}

export function boot(ctx: CliContext, config: KernelConfig): Kernel {
  const c = resolveConfig(config, (name) => ctx.registry.arches.find((d) => d.name === name));
  return assembleKernel(c, definitionsFor(ctx.registry, c.arch, c.population));
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
  const progress = createProgress(name, io.stderr);
  const tools = startRunTools(a, ctx, kernel, "op", ops ?? WORKLOADS[name].defaultOps);
  const s = runWorkload(kernel, name, { ops, scale, onProgress: progress.update, onStep: tools.onStep });
  progress.finish();
  const extra = tools.finish();
  if (typeof a.flags.trace === "string") writeUserFile(io, a.flags.trace, kernel.trace(), "trace file");
  if (a.flags.json === true) {
    out(
      io,
      `${JSON.stringify({ command: "run", build: ctx.build, config: kernel.config, summary: s, percpuStats: kernel.statsJson(), ...extra }, null, 2)}\n`,
    );
    return 0;
  }
  if (bootLines) out(io, `${kernel.dmesg().join("\n")}\n\n`);
  out(io, summaryTable(s));
  out(io, tools.text());
  if (bootLines || wantsStats(a)) out(io, `\n${kernel.debugfs("percpu_stats")}`);
  return 0;
}

const COMMANDS: Command[] = [
  {
    name: "start",
    usage: "pcpu-kernel start [flags]",
    summary:
      "boot the default kernel (x86_64, 8 CPUs in 2 nodes, vm, embed, bitmap, stats), run bpf-map, print boot lines, summary and percpu_stats",
    flags: [...CONFIG_FLAGS, ...RUN_FLAGS, JSON_FLAG, HELP_FLAG],
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
    flags: [...CONFIG_FLAGS, JSON_FLAG, HELP_FLAG],
    run(a, ctx) {
      noPositionals(a, 0, this.usage);
      const kernel = boot(ctx, configFromArgs(a, ctx, { trace: false }));
      if (a.flags.json === true) {
        out(
          ctx.io,
          `${JSON.stringify({ command: "boot", build: ctx.build, config: kernel.config, dmesg: kernel.dmesg(), meminfo: kernel.meminfo(), percpuStats: kernel.statsJson() }, null, 2)}\n`,
        );
        return 0;
      }
      out(ctx.io, `${kernel.dmesg().join("\n")}\n`);
      if (wantsStats(a)) out(ctx.io, `\n${kernel.debugfs("percpu_stats")}`);
      return 0;
    },
  },
  {
    name: "run",
    usage: "pcpu-kernel run WORKLOAD [flags]",
    summary: `run a workload (${WORKLOAD_NAMES.join(", ")}) and print a summary`,
    flags: [...CONFIG_FLAGS, ...RUN_FLAGS, JSON_FLAG, HELP_FLAG],
    run(a, ctx) {
      const name = a.positionals[0];
      if (name === undefined) throw new UsageError(`run needs a workload: ${WORKLOAD_NAMES.join(", ")}`);
      if (!(WORKLOAD_NAMES as readonly string[]).includes(name)) {
        throw new UsageError(`unknown workload ${JSON.stringify(name)} (${WORKLOAD_NAMES.join(", ")})`);
      }
      noPositionals(a, 1, this.usage);
      const kernel = boot(ctx, configFromArgs(a, ctx, { trace: typeof a.flags.trace === "string" }));
      return runAndReport(a, ctx, name as WorkloadName, kernel, false);
    },
  },
  {
    name: "replay",
    usage: "pcpu-kernel replay TRACE [flags]",
    summary: "replay a percpu trace (ftrace text, ours or a real machine's) and report what differs",
    flags: [...CONFIG_FLAGS, TRACE_FLAG, ...RUN_TOOL_FLAGS, JSON_FLAG, HELP_FLAG],
    run(a, ctx) {
      const file = a.positionals[0];
      if (file === undefined) throw new UsageError("replay needs a trace file");
      noPositionals(a, 1, this.usage);
      const config = configFromArgs(a, ctx, { trace: typeof a.flags.trace === "string" });
      const text = readUserFile(ctx.io, file, "trace");
      const parsed = parseTraceForReplay(text);
      const kernel = boot(ctx, config);
      const progress = createProgress("replay", ctx.io.stderr);
      const tools = startRunTools(a, ctx, kernel, "event", parsed.records.length);
      const r = replayTrace(kernel, parsed, { onProgress: progress.update, onEvent: tools.onStep });
      progress.finish();
      const extra = tools.finish();
      if (typeof a.flags.trace === "string")
        writeUserFile(ctx.io, a.flags.trace, kernel.trace(), "trace file");
      if (a.flags.json === true) {
        out(
          ctx.io,
          `${JSON.stringify({ command: "replay", build: ctx.build, config: kernel.config, report: r, percpuStats: kernel.statsJson(), ...extra }, null, 2)}\n`,
        );
        return 0;
      }
      out(ctx.io, replayTable(r));
      out(ctx.io, tools.text());
      if (wantsStats(a)) out(ctx.io, `\n${kernel.debugfs("percpu_stats")}`);
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
      HELP_FLAG,
    ],
    run(a, ctx) {
      noPositionals(a, 0, this.usage);
      const c = resolveConfig(configFromArgs(a, ctx), (name) =>
        ctx.registry.arches.find((d) => d.name === name),
      );
      if (a.flags.kconfig === true) {
        const { nodeCpus: _n, cpuToNode: _c, ...rest } = c;
        const k: Record<string, unknown> = {};
        for (const [key, v] of Object.entries(rest)) if (v !== null) k[key] = v;
        out(ctx.io, toKconfig(k as KernelConfig));
      } else {
        out(ctx.io, `${JSON.stringify(c, null, 2)}\n`);
      }
      return 0;
    },
  },
  ...toolCommands(),
];

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
  let s = `replayed ${r.events} percpu events (${r.skipped} other entries skipped, ${r.lost} lost)\n\n`;
  s += formatTable(rows, ["", "trace", "replay", "diff"]);
  const more: (string | number)[][] = [
    ["failed here, succeeded in trace", r.failedHereOnly],
    ["succeeded here, failed in trace", r.succeededHereOnly],
    ["frees of unknown pointers", r.unmatchedFrees],
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

function commandHelp(c: Command): string {
  let s = `usage: ${c.usage}\n\n${c.summary}\n\n`;
  if (c.name === "run") {
    s += `workloads:\n${WORKLOAD_NAMES.map((n) => `  ${n.padEnd(12)}  ${WORKLOADS[n].description}`).join("\n")}\n\n`;
  }
  return `${s}flags:\n${flagHelp(c.flags)}\n`;
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
  const [cmdName, ...rest] = argv;
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
      out(io, commandHelp(cmd));
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
  io.stderr.write(`pcpu-kernel: ${message}\n`);
  if (code === 1 && process.env.PCPU_KERNEL_DEBUG && e instanceof Error) io.stderr.write(`${e.stack}\n`);
  return code;
}

/** The process entry: argv from the process, output to its streams, the exit code set. */
export function runCliMain(registry: KernelRegistry, build = "full"): void {
  const cwd = process.env.INIT_CWD ?? process.cwd();
  const code = runCli(
    process.argv.slice(2),
    registry,
    { stdout: process.stdout, stderr: process.stderr, cwd },
    build,
  );
  if (typeof code === "number") process.exitCode = code;
  else
    void code.then((c) => {
      process.exitCode = c;
    });
}
