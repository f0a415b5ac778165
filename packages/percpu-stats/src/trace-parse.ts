/*
 * Reading ftrace text back into percpu events: the inverse of
 * trace-format.ts, for our own output and for a real machine's
 * /sys/kernel/tracing/trace (or trace_pipe) captured with the percpu events
 * on.
 *
 * What is accepted:
 *  - `#` comment/header lines (the entries line is read and checked against
 *    the number of entries), blank lines, `CPU:n [LOST m EVENTS]` markers and
 *    ` => symbol` stack-trace lines;
 *  - entry lines `task-pid [(tgid)] [cpu] [flags] secs.micros: body`, with or
 *    without the irq-info column and the tgid column;
 *  - bodies `percpu_<event>: fields` in the kernel's TP_printk layout, the
 *    alloc event in its 5.19+ and its older form.
 *
 * Entries of other event systems are normal in a real capture: a text line
 * does not name its event system, so every event whose name does not start
 * with `percpu_` is counted and skipped (or rejected when `skipForeign` is
 * off), as are non-event entries such as function-tracer lines. An unknown
 * `percpu_*` event, a malformed percpu line, any other line that is not a
 * trace line, or a number out of its C type's range is a `TraceParseError`
 * naming the 1-based line number: never a wrong event.
 *
 * Pointers: `%p` values are 8 or 16 hex digits. Hashed pointers (the
 * default without no_hash_pointers) parse as numbers like any other, but a
 * hashed value has no relation to an address: such traces can be counted
 * and matched (equal pointers hash equally within one boot), not placed in
 * the address space. `(____ptrval____)` / `(ptrval)` (printed before the
 * hashing key is ready) parse as -1 and are listed in the record's
 * `ptrval`. Only the default nanosecond trace clocks (`seconds.micros`) are
 * understood.
 */

import type { PcpuTraceEvent } from "@pcpu/percpu";
import type {
  ParsedTrace,
  ParsedTraceRecord,
  PcpuAllocTraceFormat,
  PcpuTracePtrField,
  TraceFileHeader,
  TraceFraming,
  TraceParseOptions,
} from "./api.js";
import { parseGfpFlags } from "./gfp-flags.js";

/** A trace text that cannot be read; `line` is 1-based. */
export class TraceParseError extends Error {
  readonly line: number;
  constructor(line: number, problem: string) {
    super(`line ${line}: ${problem}`);
    this.name = "TraceParseError";
    this.line = line;
  }
}

const CONTEXT_RE =
  /^\s*(.+?)-(\d+)\s+(?:\(\s*(\d+|-------)\)\s+)?\[(\d+)\]\s+(?:(\S{4,7})\s+)?(\d+)\.(\d{6}): (.*)$/;
const EVENT_RE = /^([^\s:]+): (.*)$/;
const ENTRIES_RE = /^# entries-in-buffer\/entries-written: (\d+)\/(\d+)\s+#P:(\d+)$/;
const TRACER_RE = /^# tracer: (\S+)$/;
const LOST_RE = /^CPU:(\d+) \[LOST (\d+) EVENTS\]$/;
const STACK_RE = /^\s*=> /;
const PTR_RE = /^(?:[0-9a-f]{8}|[0-9a-f]{16})$/;
const INT_MAX = 0x7fffffff;

/** A shortened, quoted copy of some text for messages. */
function quote(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s);
}

/** Reads `key=value` fields left to right in the order of a format string. */
class FieldReader {
  private pos: number;
  readonly ptrval: PcpuTracePtrField[];
  private readonly text: string;
  private readonly line: number;
  private readonly event: string;
  private readonly parsePtr: (hex: string) => number;

  constructor(text: string, line: number, event: string, parsePtr: (hex: string) => number) {
    this.pos = 0;
    this.ptrval = [];
    this.text = text;
    this.line = line;
    this.event = event;
    this.parsePtr = parsePtr;
  }

  fail(problem: string): never {
    throw new TraceParseError(this.line, `${this.event}: ${problem}`);
  }

  /**
   * The raw text of field `key`: up to the next space, or to the end for the
   * last field, or (for `untilKey`) up to ` untilKey=` since `%pS` may hold a
   * space (` [module]`).
   */
  raw(key: string, last: boolean, untilKey?: string): string {
    const rest = this.text.slice(this.pos);
    if (!rest.startsWith(`${key}=`)) {
      if (rest.length === 0) this.fail(`line ends before field '${key}' (truncated?)`);
      this.fail(`expected field '${key}=' but found ${quote(rest)}`);
    }
    const start = this.pos + key.length + 1;
    let end: number;
    if (untilKey !== undefined) {
      end = this.text.indexOf(` ${untilKey}=`, start);
      if (end < 0) this.fail(`line ends before field '${untilKey}' (truncated?)`);
    } else if (last) {
      end = this.text.length;
    } else {
      end = this.text.indexOf(" ", start);
      if (end < 0) end = this.text.length;
    }
    const value = this.text.slice(start, end);
    if (last) {
      if (/\s/.test(value)) this.fail(`unexpected text after field '${key}': ${quote(value)}`);
      this.pos = end;
    } else {
      this.pos = end < this.text.length ? end + 1 : end;
    }
    if (value.length === 0 && untilKey === undefined) this.fail(`field '${key}' is empty`);
    return value;
  }

  /** `%d` of a bool: exactly 0 or 1. */
  bool(key: string, last = false): boolean {
    const v = this.raw(key, last);
    if (v !== "0" && v !== "1") this.fail(`field '${key}' must be 0 or 1, got ${quote(v)}`);
    return v === "1";
  }

  /** `%zu`: an unsigned decimal (limited to 2^53-1 in the model). */
  size(key: string, last = false): number {
    const v = this.raw(key, last);
    if (!/^\d+$/.test(v)) this.fail(`field '${key}' is not an unsigned decimal: ${quote(v)}`);
    const n = Number(v);
    if (!Number.isSafeInteger(n)) this.fail(`field '${key}' value ${v} is out of range (above 2^53-1)`);
    return n;
  }

  /** `%d` of an int. */
  int(key: string, last = false): number {
    const v = this.raw(key, last);
    if (!/^-?\d+$/.test(v)) this.fail(`field '${key}' is not a decimal int: ${quote(v)}`);
    const n = Number(v);
    if (n < -INT_MAX - 1 || n > INT_MAX) this.fail(`field '${key}' value ${v} is out of int range`);
    return n;
  }

  /** `%p`: 8 or 16 hex digits, or the early-boot `(____ptrval____)`. */
  ptr(key: string, field: PcpuTracePtrField, last = false): number {
    const v = this.raw(key, last);
    if (v === "(____ptrval____)" || v === "(ptrval)") {
      this.ptrval.push(field);
      return -1;
    }
    if (!PTR_RE.test(v))
      this.fail(`field '${key}' is not a pointer (8 or 16 lowercase hex digits): ${quote(v)}`);
    let n: number;
    try {
      n = this.parsePtr(v);
    } catch (e) {
      this.fail(`field '${key}': ${e instanceof Error ? e.message : String(e)}`);
    }
    return n;
  }

  /** `%s` of show_gfp_flags. */
  gfp(key: string): number {
    const v = this.raw(key, true);
    try {
      return parseGfpFlags(v);
    } catch (e) {
      this.fail(`field '${key}': ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** `%pS`: the symbol text, up to the next field. */
  symbol(key: string, nextKey: string): string {
    return this.raw(key, false, nextKey);
  }
}

/** Default `%p` reader: the value itself, which must be a safe integer. */
function defaultParsePtr(hex: string): number {
  const n = Number.parseInt(hex, 16);
  if (!Number.isSafeInteger(n)) {
    throw new RangeError(`pointer ${hex} is above 2^53-1; pass parsePtr (the arch's inverse of formatAddr)`);
  }
  return n;
}

/** Parse the fields of one percpu event, or throw. */
function parseEvent(
  name: string,
  fields: string,
  cpu: number,
  line: number,
  opts: TraceParseOptions,
): { ev: PcpuTraceEvent; allocFormat?: PcpuAllocTraceFormat; ptrval: PcpuTracePtrField[] } {
  const r = new FieldReader(fields, line, name, opts.parsePtr ?? defaultParsePtr);
  switch (name) {
    case "percpu_alloc_percpu": {
      const format: PcpuAllocTraceFormat = fields.startsWith("call_site=") ? "v5.19" : "pre-5.19";
      const want = opts.allocFormat ?? "auto";
      if (want !== "auto" && want !== format) {
        r.fail(`expected the ${want} alloc format, found the ${format} one`);
      }
      if (format === "v5.19") {
        const callSite = r.symbol("call_site", "reserved");
        const reserved = r.bool("reserved");
        const isAtomic = r.bool("is_atomic");
        const size = r.size("size");
        const align = r.size("align");
        const baseAddr = r.ptr("base_addr", "baseAddr");
        const off = r.int("off");
        const ptr = r.ptr("ptr", "ptr");
        const bytesAlloc = r.size("bytes_alloc");
        const gfpFlags = r.gfp("gfp_flags");
        const ev: PcpuTraceEvent = {
          event: "percpu_alloc_percpu",
          cpu,
          callSite,
          reserved,
          isAtomic,
          size,
          align,
          baseAddr,
          off,
          ptr,
          bytesAlloc,
          gfpFlags,
        };
        return { ev, allocFormat: format, ptrval: r.ptrval };
      }
      const reserved = r.bool("reserved");
      const isAtomic = r.bool("is_atomic");
      const size = r.size("size");
      const align = r.size("align");
      const baseAddr = r.ptr("base_addr", "baseAddr");
      const off = r.int("off");
      const ptr = r.ptr("ptr", "ptr", true);
      const ev: PcpuTraceEvent = {
        event: "percpu_alloc_percpu",
        cpu,
        callSite: "",
        reserved,
        isAtomic,
        size,
        align,
        baseAddr,
        off,
        ptr,
        bytesAlloc: -1,
        gfpFlags: -1,
      };
      return { ev, allocFormat: format, ptrval: r.ptrval };
    }
    case "percpu_free_percpu": {
      const baseAddr = r.ptr("base_addr", "baseAddr");
      const off = r.int("off");
      const ptr = r.ptr("ptr", "ptr", true);
      return { ev: { event: "percpu_free_percpu", cpu, baseAddr, off, ptr }, ptrval: r.ptrval };
    }
    case "percpu_alloc_percpu_fail": {
      const reserved = r.bool("reserved");
      const isAtomic = r.bool("is_atomic");
      const size = r.size("size");
      const align = r.size("align", true);
      return {
        ev: { event: "percpu_alloc_percpu_fail", cpu, reserved, isAtomic, size, align },
        ptrval: r.ptrval,
      };
    }
    case "percpu_create_chunk":
    case "percpu_destroy_chunk": {
      const baseAddr = r.ptr("base_addr", "baseAddr", true);
      return { ev: { event: name, cpu, baseAddr }, ptrval: r.ptrval };
    }
    default:
      throw new TraceParseError(line, `unknown percpu event '${name}'`);
  }
}

/**
 * Read a trace file (ours or a real kernel's) into percpu events with their
 * framing. See the file header for what is accepted and skipped.
 *
 * @param text the whole file (LF or CRLF line ends)
 * @param opts pointer reader, accepted alloc format, strictness
 * @returns the header (if any), the percpu entries in file order, and the
 *   counts of skipped entries and lost events
 * @throws TraceParseError naming the line and the problem
 */
export function parseTrace(text: string, opts: TraceParseOptions = {}): ParsedTrace {
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const records: ParsedTraceRecord[] = [];
  let header: TraceFileHeader | null = null;
  let headerLine = 0;
  let tracer: string | null = null;
  let skipped = 0;
  let lost = 0;
  let entryLines = 0;
  const skipForeign = opts.skipForeign ?? true;

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let s = lines[i]!;
    if (s.endsWith("\r")) s = s.slice(0, -1);
    if (s.trim().length === 0) continue;

    if (s.startsWith("#")) {
      const t = TRACER_RE.exec(s);
      if (t) {
        tracer = t[1]!;
        continue;
      }
      if (s.startsWith("# entries-in-buffer")) {
        const m = ENTRIES_RE.exec(s);
        if (!m) throw new TraceParseError(lineNo, `malformed entries header ${quote(s)}`);
        if (header) throw new TraceParseError(lineNo, "a second entries header (concatenated trace files?)");
        const entries = Number(m[1]);
        const written = Number(m[2]);
        const nrCpus = Number(m[3]);
        if (
          !Number.isSafeInteger(entries) ||
          !Number.isSafeInteger(written) ||
          !Number.isSafeInteger(nrCpus)
        ) {
          throw new TraceParseError(lineNo, "entries header number out of range");
        }
        header = { tracer, entries, written, nrCpus };
        headerLine = lineNo;
      }
      continue;
    }

    const lostM = LOST_RE.exec(s);
    if (lostM) {
      const n = Number(lostM[2]);
      if (!Number.isSafeInteger(n)) throw new TraceParseError(lineNo, "lost-events count out of range");
      lost += n;
      continue;
    }
    if (STACK_RE.test(s)) continue;

    const c = CONTEXT_RE.exec(s);
    if (!c) {
      throw new TraceParseError(
        lineNo,
        `not a trace line (expected "task-pid [cpu] flags secs.micros: event: fields"): ${quote(s)}`,
      );
    }
    entryLines++;
    const [, task, pidText, tgidText, cpuText, flags, secsText, usText, body] = c;
    const pid = Number(pidText);
    const cpu = Number(cpuText);
    const secs = Number(secsText);
    if (pid > INT_MAX) throw new TraceParseError(lineNo, `pid ${pidText} is out of int range`);
    if (cpu > INT_MAX) throw new TraceParseError(lineNo, `cpu ${cpuText} is out of int range`);
    const timestampUs = secs * 1_000_000 + Number(usText);
    if (!Number.isSafeInteger(timestampUs)) {
      throw new TraceParseError(lineNo, `timestamp ${secsText}.${usText} is out of range`);
    }

    const e = EVENT_RE.exec(body!);
    const name = e ? e[1]! : null;
    if (name === null || !name.startsWith("percpu_")) {
      if (!skipForeign) {
        throw new TraceParseError(
          lineNo,
          name === null
            ? `not an event entry: ${quote(body!)} (skipForeign is off)`
            : `event '${name}' is not a percpu event (skipForeign is off)`,
        );
      }
      skipped++;
      continue;
    }

    const parsed = parseEvent(name, e![2]!, cpu, lineNo, opts);
    let framing: TraceFraming = { task: task!, pid, timestampUs };
    if (flags !== undefined) framing = { ...framing, flags };
    if (tgidText !== undefined) {
      const tgid = tgidText === "-------" ? null : Number(tgidText);
      if (tgid !== null && tgid > INT_MAX)
        throw new TraceParseError(lineNo, `tgid ${tgidText} is out of int range`);
      framing = { ...framing, tgid };
    }
    let rec: ParsedTraceRecord = { line: lineNo, ev: parsed.ev, framing };
    if (parsed.allocFormat !== undefined) rec = { ...rec, allocFormat: parsed.allocFormat };
    if (parsed.ptrval.length > 0) rec = { ...rec, ptrval: parsed.ptrval };
    records.push(rec);
  }

  if (header && (opts.checkEntryCount ?? true) && header.entries !== entryLines) {
    throw new TraceParseError(
      headerLine,
      `header announces ${header.entries} entries but the file holds ${entryLines} (truncated?)`,
    );
  }
  return { header, records, skipped, lost };
}
