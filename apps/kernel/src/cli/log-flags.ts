/*
 * The kernel log on the command line: `--dmesg[=LEVEL]` on boot, run and
 * replay (the log down to a level, `dmesg -l` names), and what a failed
 * boot shows: the log lines that led to the panic, as the console would
 * have printed them before the machine stopped.
 */

import { LOGLEVEL_DEBUG, type LogLevel } from "@pcpu/mm";
import { BootError } from "../assemble.js";
import { LOG_LEVEL_NAMES, parseLogLevel } from "../log-level.js";
import { type FlagSpec, type ParsedArgs, UsageError } from "./args.js";

export const DMESG_FLAG: FlagSpec = {
  name: "dmesg",
  kind: "switch",
  arg: "LEVEL",
  help: `include the kernel log (down to LEVEL: ${LOG_LEVEL_NAMES.join(", ")} or 0-7; default debug)`,
};

/** The level `--dmesg` asks for; null when the flag is absent or `--no-dmesg`. */
export function dmesgLevel(a: ParsedArgs): LogLevel | null {
  const v = a.flags.dmesg;
  if (v === undefined || v === false) return null;
  if (v === true) return LOGLEVEL_DEBUG;
  const level = parseLogLevel(v);
  if (level === null)
    throw new UsageError(
      `--dmesg: ${JSON.stringify(v)} is not a log level (${LOG_LEVEL_NAMES.join(", ")} or 0-7)`,
    );
  return level;
}

/** How many log lines before a panic a failed boot shows. */
export const PANIC_CONTEXT_LINES = 20;

/**
 * The stderr text of a failed boot: the last log lines (at most
 * PANIC_CONTEXT_LINES) and the panic line itself when the log does not
 * hold it; empty for any other error and for a boot that failed before
 * anything was logged.
 */
export function bootFailureLog(e: unknown): string {
  if (!(e instanceof BootError) || e.dmesg.length === 0) return "";
  const lines = [...e.dmesg];
  if (!lines.some((l) => l.includes(e.message))) lines.push(e.message);
  const shown = lines.slice(-PANIC_CONTEXT_LINES);
  const cut = lines.length - shown.length;
  return `${cut > 0 ? `[... ${cut} earlier log lines]\n` : ""}${shown.join("\n")}\n`;
}
