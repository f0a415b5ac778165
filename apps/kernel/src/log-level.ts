/*
 * Log level names: the kernel's KERN_* levels by the names `dmesg --level`
 * takes (emerg, alert, crit, err, warn, notice, info, debug), for
 * `kernel.dmesg("info")` and the CLI's `--dmesg=info`.
 */

import {
  LOGLEVEL_ALERT,
  LOGLEVEL_CRIT,
  LOGLEVEL_DEBUG,
  LOGLEVEL_EMERG,
  LOGLEVEL_ERR,
  LOGLEVEL_INFO,
  LOGLEVEL_NOTICE,
  LOGLEVEL_WARNING,
  type LogLevel,
} from "@pcpu/mm";

/** A log level by name, as `dmesg --level` names it. */
export type LogLevelName = "emerg" | "alert" | "crit" | "err" | "warn" | "notice" | "info" | "debug";

/** The level names, most severe first (index = level). */
export const LOG_LEVEL_NAMES: readonly LogLevelName[] = [
  "emerg",
  "alert",
  "crit",
  "err",
  "warn",
  "notice",
  "info",
  "debug",
];

const BY_NAME: Readonly<Record<string, LogLevel>> = {
  emerg: LOGLEVEL_EMERG,
  alert: LOGLEVEL_ALERT,
  crit: LOGLEVEL_CRIT,
  err: LOGLEVEL_ERR,
  warn: LOGLEVEL_WARNING,
  warning: LOGLEVEL_WARNING,
  notice: LOGLEVEL_NOTICE,
  info: LOGLEVEL_INFO,
  debug: LOGLEVEL_DEBUG,
};

/**
 * A level from a number 0-7, a name (`info`, `warning`), or a KERN_ name
 * (`KERN_INFO`), case-insensitive.
 * @returns the level, or null when the value names none
 */
export function parseLogLevel(v: unknown): LogLevel | null {
  if (typeof v === "number") return Number.isInteger(v) && v >= 0 && v <= 7 ? (v as LogLevel) : null;
  if (typeof v !== "string") return null;
  const s = v.trim().toLowerCase();
  if (/^[0-7]$/.test(s)) return Number(s) as LogLevel;
  return BY_NAME[s.startsWith("kern_") ? s.slice(5) : s] ?? null;
}
