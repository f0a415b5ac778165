/*
 * The text of the percpu tracepoints (include/trace/events/percpu.h) as
 * /sys/kernel/tracing/trace shows it: the TP_printk text of each event, the
 * generic ftrace line framing (kernel/trace/trace_output.c
 * trace_print_context, trace_print_lat_fmt, trace_print_time) and the file
 * header (kernel/trace/trace.c print_event_info, print_func_help_header_irq).
 *
 * Conversions follow the kernel's format strings: `%d` of a bool prints 0/1,
 * `%zu` an unsigned decimal, `%pS` the call site's symbol (given by the model
 * as text, e.g. `bpf_map_alloc_percpu+0x4a/0xf0`), `%p` the raw address in
 * the `no_hash_pointers` form (the arch's width, lowercase, no 0x; pointer
 * hashing is not modelled), and gfp_flags goes through show_gfp_flags.
 *
 * Header and framing are those of 5.18+ kernels (5-character irq-info
 * column with migrate-disable, `irqs-off/BH-disabled` legend, pid in 7
 * columns).
 */

import type { PcpuTraceEvent } from "@pcpu/percpu";
import type {
  FtraceFileOptions,
  FtraceLineOptions,
  TraceFormatOptions,
  TraceFraming,
  TraceRecord,
} from "./api.js";
import { showGfpFlags } from "./gfp-flags.js";

/**
 * `%p` on a 64-bit kernel with no_hash_pointers: 16 lowercase hex digits.
 * @param addr a non-negative safe integer
 * @returns the digits without 0x
 */
export function formatPtr64(addr: number): string {
  if (!Number.isSafeInteger(addr) || addr < 0) throw new RangeError(`formatPtr64: bad address ${addr}`);
  return addr.toString(16).padStart(16, "0");
}

/**
 * `%p` on a 32-bit kernel with no_hash_pointers: 8 lowercase hex digits.
 * @param addr a value below 2^32
 * @returns the digits without 0x
 */
export function formatPtr32(addr: number): string {
  if (!Number.isInteger(addr) || addr < 0 || addr > 0xffffffff) {
    throw new RangeError(`formatPtr32: bad address ${addr}`);
  }
  return addr.toString(16).padStart(8, "0");
}

/** `%d` of a bool. */
function b01(v: boolean): string {
  return v ? "1" : "0";
}

/**
 * The text of one percpu event after `name: ` (its TP_printk).
 *
 * @kernel include/trace/events/percpu.h TP_printk
 * @param ev the event
 * @param opts pointer formatter and alloc format
 * @returns e.g. `base_addr=ffffc8fffe200000 off=2048 ptr=0000607f81c02800`
 */
export function formatEvent(ev: PcpuTraceEvent, opts: TraceFormatOptions = {}): string {
  const p = opts.formatPtr ?? formatPtr64;
  switch (ev.event) {
    case "percpu_alloc_percpu": {
      const common =
        `reserved=${b01(ev.reserved)} is_atomic=${b01(ev.isAtomic)} size=${ev.size} align=${ev.align} ` +
        `base_addr=${p(ev.baseAddr)} off=${ev.off} ptr=${p(ev.ptr)}`;
      if (opts.allocFormat === "pre-5.19") return common;
      return `call_site=${ev.callSite} ${common} bytes_alloc=${ev.bytesAlloc} gfp_flags=${showGfpFlags(ev.gfpFlags)}`;
    }
    case "percpu_free_percpu":
      return `base_addr=${p(ev.baseAddr)} off=${ev.off} ptr=${p(ev.ptr)}`;
    case "percpu_alloc_percpu_fail":
      return `reserved=${b01(ev.reserved)} is_atomic=${b01(ev.isAtomic)} size=${ev.size} align=${ev.align}`;
    case "percpu_create_chunk":
    case "percpu_destroy_chunk":
      return `base_addr=${p(ev.baseAddr)}`;
  }
}

/**
 * Nanoseconds to microseconds, rounded to nearest as ftrace does before
 * printing a timestamp.
 * @kernel kernel/trace/trace.c ns2usecs
 * @param ns a trace clock value in ns
 * @returns microseconds
 */
export function ns2usecs(ns: number): number {
  return Math.floor((ns + 500) / 1000);
}

/**
 * The framing of one entry up to and including the `: ` before the event
 * name: `%16s-%-7d `, optional `(%7d) ` tgid, `[%03d] `, the irq-info
 * column, then ` %5lu.%06lu: `.
 *
 * @kernel kernel/trace/trace_output.c trace_print_context
 * @param cpu the CPU the entry was recorded on
 * @param f task, pid, timestamp, flags, tgid
 * @param irqInfo whether the irq-info column is printed (default on)
 * @param recordTgid whether the tgid column is printed (default off)
 * @returns the context text
 */
export function traceContext(cpu: number, f: TraceFraming, irqInfo = true, recordTgid = false): string {
  let s = `${f.task.padStart(16)}-${String(f.pid).padEnd(7)} `;
  if (recordTgid) s += f.tgid == null || f.tgid === 0 ? "(-------) " : `(${String(f.tgid).padStart(7)}) `;
  s += `[${String(cpu).padStart(3, "0")}] `;
  if (irqInfo) s += f.flags ?? ".....";
  const us = f.timestampUs;
  if (!Number.isSafeInteger(us) || us < 0) throw new RangeError(`traceContext: bad timestamp ${us}`);
  const secs = Math.floor(us / 1_000_000);
  const rem = us - secs * 1_000_000;
  s += ` ${String(secs).padStart(5)}.${String(rem).padStart(6, "0")}: `;
  return s;
}

/**
 * One line of the `trace` file (without the newline): context, event name,
 * `: `, event text.
 *
 * @kernel kernel/trace/trace_output.c trace_raw_output_prep
 * @param ev the event (its `cpu` goes into the `[cpu]` column)
 * @param framing task, pid, timestamp, flags
 * @param opts formatting options
 * @returns the line
 */
export function ftraceLine(ev: PcpuTraceEvent, framing: TraceFraming, opts: FtraceLineOptions = {}): string {
  return (
    traceContext(ev.cpu, framing, opts.irqInfo ?? true, opts.recordTgid ?? false) +
    `${ev.event}: ${formatEvent(ev, opts)}`
  );
}

/**
 * The header of the `trace` file for the nop tracer: tracer name, the
 * entries line, and the column legend (irq-info or plain, with or without
 * the tgid column).
 *
 * @kernel kernel/trace/trace.c print_func_help_header_irq
 * @param opts header options
 * @param nrRecords the entries count used when `opts.entries` is not given
 * @returns the header lines, each ending in a newline
 */
export function ftraceHeader(opts: FtraceFileOptions, nrRecords = 0): string {
  const entries = opts.entries ?? nrRecords;
  const written = opts.written ?? entries;
  const tgid = opts.recordTgid ?? false;
  let s = `# tracer: ${opts.tracer ?? "nop"}\n#\n`;
  s += `# entries-in-buffer/entries-written: ${entries}/${written}   #P:${opts.nrCpus}\n#\n`;
  if (opts.irqInfo ?? true) {
    const sp = " ".repeat(tgid ? 12 : 2);
    const lead = `#                            ${sp}`;
    s += `${lead}  _-----=> irqs-off/BH-disabled\n`;
    s += `${lead} / _----=> need-resched\n`;
    s += `${lead}| / _---=> hardirq/softirq\n`;
    s += `${lead}|| / _--=> preempt-depth\n`;
    s += `${lead}||| / _-=> migrate-disable\n`;
    s += `${lead}|||| /     delay\n`;
    s += `#           TASK-PID  ${tgid ? "     TGID   " : "  "} CPU#  |||||  TIMESTAMP  FUNCTION\n`;
    s += `#              | |    ${tgid ? "       |    " : "  "}   |   |||||     |         |\n`;
  } else {
    s += `#           TASK-PID    ${tgid ? "   TGID   " : ""} CPU#     TIMESTAMP  FUNCTION\n`;
    s += `#              | |      ${tgid ? "     |    " : ""}   |         |         |\n`;
  }
  return s;
}

/**
 * The whole `/sys/kernel/tracing/trace` file for a list of entries.
 *
 * @kernel kernel/trace/trace.c s_show
 * @param records the entries in buffer order
 * @param opts header and formatting options
 * @returns the file text
 */
export function ftraceFile(records: readonly TraceRecord[], opts: FtraceFileOptions): string {
  let s = ftraceHeader(opts, records.length);
  for (const r of records) s += `${ftraceLine(r.ev, r.framing, opts)}\n`;
  return s;
}
