/*
 * The kernel log: printk and its level helpers, WARN()'s text, WARN_ONCE,
 * and printk_ratelimited. Mirrors kernel/printk/printk.c (the ring buffer as
 * dmesg reads it), kernel/panic.c (__warn) and lib/ratelimit.c (___ratelimit).
 *
 * One log per machine. Time is a virtual clock in milliseconds that only
 * moves when a test advances it, so rate limiting is deterministic.
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
  type LogLine,
} from "./api.js";

/** `DEFAULT_RATELIMIT_INTERVAL` (5 * HZ) in milliseconds of the virtual clock. */
export const DEFAULT_RATELIMIT_INTERVAL_MS = 5000;
/** `DEFAULT_RATELIMIT_BURST`. */
export const DEFAULT_RATELIMIT_BURST = 10;

/** What the log needs to know about the running task for WARN's header. */
export interface PrintkTaskInfo {
  readonly cpu: number;
  readonly pid: number;
}

/** `struct ratelimit_state` of one call site. */
class RatelimitState {
  begin = 0;
  printed = 0;
  missed = 0;
  started = false;
}

/**
 * The kernel log of one machine.
 */
export class Printk {
  /** Virtual clock (ms) used by rate limiting; advance it with `advanceClock`. */
  clockMs = 0;
  private readonly buf: LogLine[] = [];
  private seq = 0;
  private readonly warned = new Set<string>();
  private readonly ratelimits = new Map<string, RatelimitState>();
  private task: PrintkTaskInfo | null = null;

  /** Tells the log where to read the current CPU and PID (WARN's header). Called by Machine. */
  attachTask(task: PrintkTaskInfo): void {
    this.task = task;
  }

  /**
   * Appends `text` at `level`; a multi-line text becomes one log line per
   * line (a single trailing newline is dropped, as printk formats end in one).
   * @kernel kernel/printk/printk.c printk
   */
  printk(level: LogLevel, text: string): void {
    const body = text.endsWith("\n") ? text.slice(0, -1) : text;
    if (body.indexOf("\n") < 0) {
      this.buf.push({ seq: this.seq++, level, text: body });
      return;
    }
    for (const line of body.split("\n")) this.buf.push({ seq: this.seq++, level, text: line });
  }

  /** @kernel include/linux/printk.h pr_emerg */
  prEmerg(text: string): void {
    this.printk(LOGLEVEL_EMERG, text);
  }
  /** @kernel include/linux/printk.h pr_alert */
  prAlert(text: string): void {
    this.printk(LOGLEVEL_ALERT, text);
  }
  /** @kernel include/linux/printk.h pr_crit */
  prCrit(text: string): void {
    this.printk(LOGLEVEL_CRIT, text);
  }
  /** @kernel include/linux/printk.h pr_err */
  prErr(text: string): void {
    this.printk(LOGLEVEL_ERR, text);
  }
  /** @kernel include/linux/printk.h pr_warn */
  prWarn(text: string): void {
    this.printk(LOGLEVEL_WARNING, text);
  }
  /** @kernel include/linux/printk.h pr_notice */
  prNotice(text: string): void {
    this.printk(LOGLEVEL_NOTICE, text);
  }
  /** @kernel include/linux/printk.h pr_info */
  prInfo(text: string): void {
    this.printk(LOGLEVEL_INFO, text);
  }
  /** @kernel include/linux/printk.h pr_debug (as if DEBUG were defined: always logged at KERN_DEBUG) */
  prDebug(text: string): void {
    this.printk(LOGLEVEL_DEBUG, text);
  }

  /**
   * Prints WARN()'s report: the cut-here line, the message if any, the
   * `WARNING: CPU: c PID: p at <where>` line and the end-of-trace marker.
   * `where` is the code location as the caller names it (e.g.
   * `mm/vmalloc.c pcpu_get_vm_areas`). Registers, modules and the stack
   * dump are not modelled.
   * @kernel kernel/panic.c __warn
   */
  warn(where: string, text?: string): void {
    const cpu = this.task ? this.task.cpu : 0;
    const pid = this.task ? this.task.pid : 0;
    this.prWarn("------------[ cut here ]------------");
    if (text !== undefined && text !== "") this.prWarn(text);
    this.prWarn(`WARNING: CPU: ${cpu} PID: ${pid} at ${where}`);
    this.prWarn("---[ end trace 0000000000000000 ]---");
  }

  /**
   * WARN_ONCE: like `warn` but only the first time for `key` (a call site).
   * @returns whether it printed.
   * @kernel include/asm-generic/bug.h WARN_ONCE
   */
  warnOnce(key: string, where: string, text?: string): boolean {
    if (this.warned.has(key)) return false;
    this.warned.add(key);
    this.warn(where, text);
    return true;
  }

  /**
   * `__ratelimit(rs)` for the state named `func` (one per call site, like the
   * kernel's static ratelimit_state): at most `burst` messages per
   * `intervalMs` of the virtual clock. When a new interval starts after
   * suppressions, prints `<func>: N callbacks suppressed` first.
   * @returns whether the caller may print.
   * @kernel lib/ratelimit.c ___ratelimit
   */
  ratelimit(
    func: string,
    intervalMs = DEFAULT_RATELIMIT_INTERVAL_MS,
    burst = DEFAULT_RATELIMIT_BURST,
  ): boolean {
    let rs = this.ratelimits.get(func);
    if (rs === undefined) {
      rs = new RatelimitState();
      this.ratelimits.set(func, rs);
    }
    if (!rs.started) {
      rs.started = true;
      rs.begin = this.clockMs;
    }
    if (this.clockMs > rs.begin + intervalMs) {
      if (rs.missed) {
        this.prWarn(`${func}: ${rs.missed} callbacks suppressed`);
        rs.missed = 0;
      }
      rs.begin = this.clockMs;
      rs.printed = 0;
    }
    if (burst > rs.printed) {
      rs.printed++;
      return true;
    }
    rs.missed++;
    return false;
  }

  /**
   * printk_ratelimited: printk through the rate limit state `func`.
   * @returns whether it printed.
   * @kernel include/linux/printk.h printk_ratelimited
   */
  printkRatelimited(func: string, level: LogLevel, text: string): boolean {
    if (!this.ratelimit(func)) return false;
    this.printk(level, text);
    return true;
  }

  /** Moves the virtual clock forward by `ms` milliseconds. */
  advanceClock(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`advanceClock: ms must be >= 0 (got ${ms})`);
    this.clockMs += ms;
  }

  /** Every line logged since the last `clear()`, oldest first. */
  lines(): LogLine[] {
    return this.buf.slice();
  }

  /**
   * The text of every line at least as severe as `minLevel` (numerically
   * `level <= minLevel`; default: everything), oldest first.
   */
  dmesg(minLevel: LogLevel = LOGLEVEL_DEBUG): string[] {
    const out: string[] = [];
    for (const l of this.buf) if (l.level <= minLevel) out.push(l.text);
    return out;
  }

  /** Empties the log (`dmesg -C`); sequence numbers keep counting. */
  clear(): void {
    this.buf.length = 0;
  }
}
