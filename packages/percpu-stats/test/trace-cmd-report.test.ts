/*
 * trace-cmd report text as replay input. The fixture has trace-cmd
 * report's real framing (the `version = 6`, `CPU n is empty` and `cpus=N`
 * header, entry lines without the irq-info column, as in the report output
 * kept in ARM-software/bart's tests/trace.txt) and percpu event bodies as
 * libtraceevent prints the kernel's TP_printk formats (`%p` as 0x-prefixed
 * hex), with the sizes and offsets of a real arm64 capture posted to LKML
 * (Masami Hiramatsu, 2020-10, "trace_event=percpu:*" on a Xen dom0).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  isTraceCmdReport,
  parseTrace,
  parseTraceCmdReport,
  TraceParseError,
  traceCmdReportToFtrace,
} from "../src/index.js";

const fixture = readFileSync(
  join(dirname(fileURLToPath(import.meta.url)), "fixtures/trace-cmd-report.txt"),
  "utf8",
);
/* Pointers compared, not placed: each distinct text becomes its own number. */
const ids = new Map<string, number>();
const parsePtr = (hex: string) => {
  if (!ids.has(hex)) ids.set(hex, ids.size + 1);
  return ids.get(hex)!;
};

describe("parseTraceCmdReport (trace-cmd report text)", () => {
  it("tells trace-cmd report from a tracing trace file", () => {
    expect(isTraceCmdReport(fixture)).toBe(true);
    expect(isTraceCmdReport("# tracer: nop\n#\n")).toBe(false);
    expect(isTraceCmdReport("  systemd-1 [000] 0.5: percpu_create_chunk: base_addr=ffff800011000000\n")).toBe(
      false,
    );
    /* no header, but libtraceevent's 0x pointers */
    expect(
      isTraceCmdReport("  systemd-1 [000] 0.568931: percpu_create_chunk: base_addr=0xffff800011000000\n"),
    ).toBe(true);
  });
  it("reads the golden report: header, percpu events, foreign entries skipped", () => {
    const t = parseTraceCmdReport(fixture, { parsePtr });
    expect(t.header).toEqual({ tracer: null, entries: 7, written: 7, nrCpus: 4 });
    expect(t.skipped).toBe(2);
    expect(t.records.map((r) => [r.line, r.ev.event, r.ev.cpu, r.framing.task, r.framing.pid])).toEqual([
      [5, "percpu_create_chunk", 0, "<idle>", 0],
      [6, "percpu_alloc_percpu", 0, "systemd", 1],
      [9, "percpu_alloc_percpu_fail", 1, "kworker/1:2", 97],
      [10, "percpu_alloc_percpu", 1, "kworker/1:2", 97],
      [11, "percpu_free_percpu", 0, "systemd", 1],
    ]);
    const alloc = t.records[1]!.ev;
    expect(alloc).toMatchObject({ reserved: false, isAtomic: false, size: 48, align: 8, off: 32672 });
    const free = t.records[4]!.ev;
    /* the free names the pointer the alloc returned, and the chunk it came from */
    expect(free).toMatchObject({ off: 32672 });
    if (alloc.event === "percpu_alloc_percpu" && free.event === "percpu_free_percpu") {
      expect(free.ptr).toBe(alloc.ptr);
      expect(free.baseAddr).toBe(alloc.baseAddr);
    }
    expect(t.records[0]!.framing.timestampUs).toBe(543208);
    expect(t.records[4]!.framing.timestampUs).toBe(106439_675698);
  });
  it("pads libtraceevent's pointers to the kernel's %p width", () => {
    const ftrace = traceCmdReportToFtrace(fixture).split("\n");
    expect(ftrace[3]).toBe("# entries-in-buffer/entries-written: 7/7   #P:4");
    expect(ftrace[5]).toBe(
      "       systemd-1     [000]     0.568931: percpu_alloc_percpu: reserved=0 is_atomic=0 size=48 align=8 base_addr=ffff800011000000 off=32672 ptr=0000000000007fa0",
    );
    /* the same text read as ftrace gives the same events */
    expect(parseTrace(traceCmdReportToFtrace(fixture), { parsePtr }).records).toEqual(
      parseTraceCmdReport(fixture, { parsePtr }).records,
    );
  });
  it("reads report -t nanosecond timestamps and (nil)", () => {
    const t = parseTraceCmdReport(
      "cpus=2\n  swapper/0-0  [001] 12.345678901: percpu_destroy_chunk: base_addr=(nil)\n",
      { parsePtr },
    );
    expect(t.records[0]!.framing.timestampUs).toBe(12_345678);
    expect(t.records[0]!.ev.cpu).toBe(1);
  });
  it("names the report's own line on a malformed percpu entry", () => {
    const bad = fixture.replace("size=48", "size=forty-eight");
    expect(() => parseTraceCmdReport(bad, { parsePtr })).toThrow(TraceParseError);
    expect(() => parseTraceCmdReport(bad, { parsePtr })).toThrow(
      /^line 6: percpu_alloc_percpu: field 'size'/,
    );
  });
});
