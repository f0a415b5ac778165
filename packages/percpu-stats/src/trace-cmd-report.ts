/*
 * `trace-cmd report` text, the form people share a `trace-cmd record -e
 * percpu` capture in, read as the ftrace text trace-parse.ts understands.
 *
 * trace-cmd report differs from /sys/kernel/tracing/trace in its framing
 * and in how libtraceevent prints the fields of the event format:
 *  - a header of `version = N`, `CPU n is empty` and `cpus=N` lines instead
 *    of the `# entries-in-buffer/... #P:N` comment block;
 *  - entry lines without the irq-info column (unless `report -l`), and
 *    nine-digit nanosecond timestamps with `report -t`;
 *  - `%p` printed by the C library: `0x` and no zero padding
 *    (`base_addr=0xffffc8ffffc00000`), `(nil)` for NULL.
 *
 * Each line maps to exactly one ftrace line, so a TraceParseError names the
 * line of the report. The `cpus=N` line becomes the entries header with the
 * report's entry count and `#P:N`.
 */

import type { ParsedTrace, TraceParseOptions } from "./api.js";
import { parseTrace } from "./trace-parse.js";

const VERSION_RE = /^version = \d+$/;
const CPUS_RE = /^cpus=(\d+)$/;
const EMPTY_CPU_RE = /^CPU \d+ is empty$/;
/* task-pid [cpu] [latency flags] secs.frac: body (trace-cmd prints 6 digits, or 9 with -t). */
const ENTRY_RE = /^(\s*.+?-\d+\s+\[\d+\]\s+(?:\S{4,7}\s+)?\d+)\.(\d{6})(\d{3})?: (.*)$/;
const PCPU_PTR_RE = /\b(base_addr|ptr)=(?:0x([0-9a-fA-F]+)|\(nil\))/g;

/**
 * Whether a text is `trace-cmd report` output rather than a tracing `trace`
 * file: it has trace-cmd's header lines, or percpu fields printed with `0x`.
 */
export function isTraceCmdReport(text: string): boolean {
  const head = text.slice(0, 4096).split("\n", 20);
  for (const l of head) {
    const s = l.trim();
    if (VERSION_RE.test(s) || CPUS_RE.test(s) || EMPTY_CPU_RE.test(s)) return true;
    if (s !== "" && !s.startsWith("#")) break;
  }
  return /: percpu_[a-z_]+: .*\b(?:base_addr|ptr)=(?:0x|\(nil\))/.test(text);
}

/** A `%p` value as the kernel prints it: 16 hex digits on a 64-bit capture, 8 on a 32-bit one. */
function kernelPtr(hex: string | undefined, wide: boolean): string {
  const h = (hex ?? "0").toLowerCase();
  return h.padStart(wide || h.length > 8 ? 16 : 8, "0");
}

/**
 * Rewrites `trace-cmd report` text as tracing `trace` text, line for line.
 * Lines it does not recognise are passed through for the ftrace parser to
 * accept or reject with their line number.
 */
export function traceCmdReportToFtrace(text: string): string {
  const lines = text.split("\n");
  /* 64-bit when any percpu pointer needs more than 8 hex digits. */
  const wide = /\b(?:base_addr|ptr)=0x[0-9a-fA-F]{9,}/.test(text);
  let entries = 0;
  for (const l of lines) if (ENTRY_RE.test(l.endsWith("\r") ? l.slice(0, -1) : l)) entries++;
  return lines
    .map((raw) => {
      const l = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      const s = l.trim();
      const cpus = CPUS_RE.exec(s);
      if (cpus) return `# entries-in-buffer/entries-written: ${entries}/${entries}   #P:${cpus[1]}`;
      if (VERSION_RE.test(s) || EMPTY_CPU_RE.test(s)) return `# ${s}`;
      const m = ENTRY_RE.exec(l);
      if (!m) return l;
      const body = m[4]!.startsWith("percpu_")
        ? m[4]!.replace(PCPU_PTR_RE, (_all, key: string, hex?: string) => `${key}=${kernelPtr(hex, wide)}`)
        : m[4]!;
      return `${m[1]}.${m[2]}: ${body}`;
    })
    .join("\n");
}

/**
 * Parses `trace-cmd report` text into percpu events (see parseTrace for the
 * options and the errors).
 * @throws TraceParseError naming the report's line
 */
export function parseTraceCmdReport(text: string, opts: TraceParseOptions = {}): ParsedTrace {
  return parseTrace(traceCmdReportToFtrace(text), opts);
}
