import { __GFP_NORETRY, __GFP_NOWARN, GFP_KERNEL, GFP_NOWAIT } from "@pcpu/mm";
import type { PcpuTraceEvent } from "@pcpu/percpu";
import { describe, expect, it } from "vitest";
import type { TraceParseOptions } from "../src/api.js";
import { parseTrace, TraceParseError } from "../src/trace-parse.js";
import { kaddr, x86ParsePtr } from "./trace-arch.js";

const HEADER =
  "# tracer: nop\n" +
  "#\n" +
  "# entries-in-buffer/entries-written: 9/26   #P:8\n" +
  "#\n" +
  "#                                _-----=> irqs-off/BH-disabled\n" +
  "#                               / _----=> need-resched\n" +
  "#                              | / _---=> hardirq/softirq\n" +
  "#                              || / _--=> preempt-depth\n" +
  "#                              ||| / _-=> migrate-disable\n" +
  "#                              |||| /     delay\n" +
  "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n" +
  "#              | |         |   |||||     |         |\n";

/** A capture as a 6.x machine prints it, pointers hashed, mixed with other events. */
const REAL =
  HEADER +
  "         swapper-1       [000] .....     0.021001: percpu_create_chunk: base_addr=(____ptrval____)\n" +
  "            bash-1234    [003] .....  1234.567890: percpu_alloc_percpu: call_site=pcpu_test+0x1c/0x40 " +
  "reserved=0 is_atomic=0 size=8 align=8 base_addr=00000000a1b2c3d4 off=2048 ptr=000000005e6f7081 " +
  "bytes_alloc=64 gfp_flags=GFP_KERNEL\n" +
  "            bash-1234    [003] .....  1234.567901: kmalloc: call_site=bpf_map_area_alloc+0x3a/0x90 " +
  "ptr=00000000deadbeef bytes_req=64 bytes_alloc=64 gfp_flags=GFP_KERNEL node=-1 accounted=false\n" +
  "            bash-1234    [003] .....  1234.567910: pcpu_alloc <-__alloc_percpu_gfp\n" +
  "            bash-1234    [003] .....  1234.567920: <stack trace>\n" +
  " => pcpu_alloc_noprof\n" +
  " => bpf_map_alloc_percpu\n" +
  "CPU:2 [LOST 17 EVENTS]\n" +
  "   systemd-udevd-412     [002] d..1.  1235.000100: percpu_alloc_percpu: " +
  "call_site=bpf_map_alloc_percpu+0x4a/0xf0 [bpf] reserved=0 is_atomic=1 size=16 align=8 " +
  "base_addr=00000000a1b2c3d4 off=4096 ptr=000000001234abcd bytes_alloc=128 gfp_flags=GFP_NOWAIT|__GFP_NORETRY\n" +
  "   systemd-udevd-412     [002] d..1.  1235.000200: percpu_alloc_percpu_fail: reserved=0 is_atomic=1 size=16 align=8\n" +
  "     kworker/2:1-77      [002] .....  1235.100000: percpu_free_percpu: base_addr=00000000a1b2c3d4 off=2048 " +
  "ptr=000000005e6f7081\n" +
  "     kworker/2:1-77      [002] .....  1235.100001: percpu_destroy_chunk: base_addr=00000000a1b2c3d4\n";

describe("parseTrace (reading /sys/kernel/tracing/trace)", () => {
  it("reads a real 6.x capture: percpu events kept, others skipped, lost events counted", () => {
    const t = parseTrace(REAL);
    expect(t.header).toEqual({ tracer: "nop", entries: 9, written: 26, nrCpus: 8 });
    expect(t.skipped).toBe(3);
    expect(t.lost).toBe(17);
    expect(t.records).toEqual([
      {
        line: 13,
        ev: { event: "percpu_create_chunk", cpu: 0, baseAddr: -1 },
        framing: { task: "swapper", pid: 1, timestampUs: 21001, flags: "....." },
        ptrval: ["baseAddr"],
      },
      {
        line: 14,
        ev: {
          event: "percpu_alloc_percpu",
          cpu: 3,
          callSite: "pcpu_test+0x1c/0x40",
          reserved: false,
          isAtomic: false,
          size: 8,
          align: 8,
          baseAddr: 0xa1b2c3d4,
          off: 2048,
          ptr: 0x5e6f7081,
          bytesAlloc: 64,
          gfpFlags: GFP_KERNEL,
        },
        framing: { task: "bash", pid: 1234, timestampUs: 1234567890, flags: "....." },
        allocFormat: "v5.19",
      },
      {
        line: 21,
        ev: {
          event: "percpu_alloc_percpu",
          cpu: 2,
          callSite: "bpf_map_alloc_percpu+0x4a/0xf0 [bpf]",
          reserved: false,
          isAtomic: true,
          size: 16,
          align: 8,
          baseAddr: 0xa1b2c3d4,
          off: 4096,
          ptr: 0x1234abcd,
          bytesAlloc: 128,
          gfpFlags: GFP_NOWAIT | __GFP_NORETRY,
        },
        framing: { task: "systemd-udevd", pid: 412, timestampUs: 1235000100, flags: "d..1." },
        allocFormat: "v5.19",
      },
      {
        line: 22,
        ev: {
          event: "percpu_alloc_percpu_fail",
          cpu: 2,
          reserved: false,
          isAtomic: true,
          size: 16,
          align: 8,
        },
        framing: { task: "systemd-udevd", pid: 412, timestampUs: 1235000200, flags: "d..1." },
      },
      {
        line: 23,
        ev: { event: "percpu_free_percpu", cpu: 2, baseAddr: 0xa1b2c3d4, off: 2048, ptr: 0x5e6f7081 },
        framing: { task: "kworker/2:1", pid: 77, timestampUs: 1235100000, flags: "....." },
      },
      {
        line: 24,
        ev: { event: "percpu_destroy_chunk", cpu: 2, baseAddr: 0xa1b2c3d4 },
        framing: { task: "kworker/2:1", pid: 77, timestampUs: 1235100001, flags: "....." },
      },
    ]);
  });

  it("reads the line the kernel's format strings produce with raw 64-bit pointers through the arch's parser", () => {
    const line =
      "            bash-1234    [003] .....  1234.567890: percpu_alloc_percpu: call_site=pcpu_test+0x1c/0x40 " +
      "reserved=0 is_atomic=0 size=8 align=8 base_addr=ffffc8fffe200000 off=2048 ptr=0000607f81c02800 " +
      "bytes_alloc=64 gfp_flags=GFP_KERNEL|__GFP_NOWARN\n";
    const t = parseTrace(line, { parsePtr: x86ParsePtr });
    expect(t.header).toBeNull();
    expect(t.records[0]!.ev).toEqual({
      event: "percpu_alloc_percpu",
      cpu: 3,
      callSite: "pcpu_test+0x1c/0x40",
      reserved: false,
      isAtomic: false,
      size: 8,
      align: 8,
      baseAddr: kaddr("ffffc8fffe200000"),
      off: 2048,
      ptr: 0x607f81c02800,
      bytesAlloc: 64,
      gfpFlags: GFP_KERNEL | __GFP_NOWARN,
    });
  });

  it("reads the pre-5.19 alloc format, 4-column flags, 5-column pids and CRLF ends", () => {
    const text =
      "            bash-1234  [003] ....   123.000004: percpu_alloc_percpu: reserved=1 is_atomic=0 size=32 " +
      "align=16 base_addr=ffffe8ffffc00000 off=64 ptr=00000000000160a8\r\n" +
      "            bash-1234  [003] ....   123.000005: percpu_free_percpu: base_addr=ffffe8ffffc00000 off=64 " +
      "ptr=00000000000160a8\r\n";
    const t = parseTrace(text, { parsePtr: x86ParsePtr });
    const ev: PcpuTraceEvent = {
      event: "percpu_alloc_percpu",
      cpu: 3,
      callSite: "",
      reserved: true,
      isAtomic: false,
      size: 32,
      align: 16,
      baseAddr: kaddr("ffffe8ffffc00000"),
      off: 64,
      ptr: 0x160a8,
      bytesAlloc: -1,
      gfpFlags: -1,
    };
    expect(t.records[0]).toEqual({
      line: 1,
      ev,
      framing: { task: "bash", pid: 1234, timestampUs: 123000004, flags: "...." },
      allocFormat: "pre-5.19",
    });
    expect(t.records[1]!.ev).toEqual({
      event: "percpu_free_percpu",
      cpu: 3,
      baseAddr: kaddr("ffffe8ffffc00000"),
      off: 64,
      ptr: 0x160a8,
    });
  });

  it("reads 32-bit pointers, (ptrval), trace_pipe text without irq-info, and the tgid column", () => {
    const text =
      "         swapper-1       [000]      0.000000: percpu_create_chunk: base_addr=(ptrval)\n" +
      "     kworker/0:1-23      (     20) [000] d..1.     0.052000: percpu_free_percpu: base_addr=f7a00000 off=16 " +
      "ptr=00c01010\n" +
      "     kworker/0:1-23      (-------) [001] d..1.     0.052001: percpu_free_percpu: base_addr=f7a00000 off=-16 " +
      "ptr=(ptrval)\n";
    const t = parseTrace(text);
    expect(t.records.map((r) => [r.ev, r.framing, r.ptrval])).toEqual([
      [
        { event: "percpu_create_chunk", cpu: 0, baseAddr: -1 },
        { task: "swapper", pid: 1, timestampUs: 0 },
        ["baseAddr"],
      ],
      [
        { event: "percpu_free_percpu", cpu: 0, baseAddr: 0xf7a00000, off: 16, ptr: 0xc01010 },
        { task: "kworker/0:1", pid: 23, timestampUs: 52000, flags: "d..1.", tgid: 20 },
        undefined,
      ],
      [
        { event: "percpu_free_percpu", cpu: 1, baseAddr: 0xf7a00000, off: -16, ptr: -1 },
        { task: "kworker/0:1", pid: 23, timestampUs: 52001, flags: "d..1.", tgid: null },
        ["ptr"],
      ],
    ]);
  });

  it("reads task names holding spaces and dashes", () => {
    const t = parseTrace(
      "     Web Content-5150    [001] .....    10.000000: percpu_create_chunk: base_addr=0000000000001000\n" +
        "   a-b-1-2-3-4-5-6       [001] .....    10.000001: percpu_create_chunk: base_addr=0000000000001000\n",
    );
    expect(t.records.map((r) => [r.framing.task, r.framing.pid])).toEqual([
      ["Web Content", 5150],
      ["a-b-1-2-3-4-5", 6],
    ]);
  });

  it("accepts only the requested alloc format when told", () => {
    const pre =
      "            bash-1234    [003] .....  1.000000: percpu_alloc_percpu: reserved=0 is_atomic=0 size=8 align=8 " +
      "base_addr=0000000000001000 off=0 ptr=0000000000002000\n";
    expect(parseTrace(pre, { allocFormat: "pre-5.19" }).records.length).toBe(1);
    expectError(pre, 1, "percpu_alloc_percpu: expected the v5.19 alloc format, found the pre-5.19 one", {
      allocFormat: "v5.19",
    });
  });

  it("leaves the entry count unchecked when told", () => {
    const text = REAL.replace("9/26", "10/26");
    expect(parseTrace(text, { checkEntryCount: false }).records.length).toBe(6);
  });
});

function expectError(text: string, line: number, message: string, opts: TraceParseOptions = {}): void {
  let err: unknown;
  try {
    parseTrace(text, opts);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TraceParseError);
  expect((err as TraceParseError).line).toBe(line);
  expect((err as TraceParseError).message).toBe(`line ${line}: ${message}`);
}

const CTX = "            bash-1234    [003] .....  1234.567890: ";
const A = "call_site=f+0x1/0x2 reserved=0 is_atomic=0 size=8 align=8 base_addr=0000000000001000 off=0 ";
const OK_ALLOC = `${CTX}percpu_alloc_percpu: ${A}ptr=0000000000002000 bytes_alloc=64 gfp_flags=GFP_KERNEL`;

describe("parseTrace errors (TraceParseError with the line number)", () => {
  it("rejects garbage and truncated framing", () => {
    expectError(
      `${OK_ALLOC}\nhello world\n`,
      2,
      'not a trace line (expected "task-pid [cpu] flags secs.micros: event: fields"): "hello world"',
    );
    expectError(
      `${OK_ALLOC}\n            bash-1234    [003] ....\n`,
      2,
      'not a trace line (expected "task-pid [cpu] flags secs.micros: event: fields"): "            bash-1234    [003] ...."',
    );
    // A timestamp with 4 fraction digits is not ftrace's %06lu.
    expectError(
      `${CTX.replace("567890", "5678")}percpu_create_chunk: base_addr=0000000000001000\n`,
      1,
      'not a trace line (expected "task-pid [cpu] flags secs.micros: event: fields"): "            bash-1234    [003] .....  1234.5678: percpu_c..."',
    );
  });

  it("rejects an unknown percpu event", () => {
    expectError(`\n${CTX}percpu_frob: x=1\n`, 2, "unknown percpu event 'percpu_frob'");
  });

  it("rejects truncated, missing, reordered and extra fields", () => {
    expectError(
      `${CTX}percpu_alloc_percpu_fail: reserved=0 is_atomic=0 size=8 al\n`,
      1,
      `percpu_alloc_percpu_fail: expected field 'align=' but found "al"`,
    );
    expectError(
      `${CTX}percpu_alloc_percpu_fail: reserved=0 is_atomic=0 size=8\n`,
      1,
      "percpu_alloc_percpu_fail: line ends before field 'align' (truncated?)",
    );
    expectError(
      `${CTX}percpu_free_percpu: off=0 base_addr=0000000000001000 ptr=0000000000002000\n`,
      1,
      `percpu_free_percpu: expected field 'base_addr=' but found "off=0 base_addr=0000000000001000 ptr=0000000000002000"`,
    );
    expectError(
      `${CTX}percpu_create_chunk: base_addr=0000000000001000 extra=1\n`,
      1,
      `percpu_create_chunk: unexpected text after field 'base_addr': "0000000000001000 extra=1"`,
    );
    expectError(
      `${CTX}percpu_alloc_percpu: call_site=f+0x1/0x2 size=8\n`,
      1,
      "percpu_alloc_percpu: line ends before field 'reserved' (truncated?)",
    );
    expectError(
      `${CTX}percpu_alloc_percpu_fail: reserved=0 is_atomic=0 size= align=8\n`,
      1,
      "percpu_alloc_percpu_fail: field 'size' is empty",
    );
    expectError(
      `${OK_ALLOC.replace(" gfp_flags=GFP_KERNEL", "")}\n`,
      1,
      "percpu_alloc_percpu: line ends before field 'gfp_flags' (truncated?)",
    );
    expectError(
      `${CTX}percpu_create_chunk: \n`,
      1,
      "percpu_create_chunk: line ends before field 'base_addr' (truncated?)",
    );
  });

  it("rejects values that are not of the field's C type or out of its range", () => {
    expectError(
      `${CTX}percpu_alloc_percpu_fail: reserved=2 is_atomic=0 size=8 align=8\n`,
      1,
      `percpu_alloc_percpu_fail: field 'reserved' must be 0 or 1, got "2"`,
    );
    expectError(
      `${CTX}percpu_alloc_percpu_fail: reserved=0 is_atomic=true size=8 align=8\n`,
      1,
      `percpu_alloc_percpu_fail: field 'is_atomic' must be 0 or 1, got "true"`,
    );
    expectError(
      `${CTX}percpu_alloc_percpu_fail: reserved=0 is_atomic=0 size=-8 align=8\n`,
      1,
      `percpu_alloc_percpu_fail: field 'size' is not an unsigned decimal: "-8"`,
    );
    expectError(
      `${CTX}percpu_alloc_percpu_fail: reserved=0 is_atomic=0 size=8 align=0x8\n`,
      1,
      `percpu_alloc_percpu_fail: field 'align' is not an unsigned decimal: "0x8"`,
    );
    expectError(
      `${CTX}percpu_alloc_percpu_fail: reserved=0 is_atomic=0 size=18446744073709551615 align=8\n`,
      1,
      "percpu_alloc_percpu_fail: field 'size' value 18446744073709551615 is out of range (above 2^53-1)",
    );
    expectError(
      `${CTX}percpu_free_percpu: base_addr=0000000000001000 off=2147483648 ptr=0000000000002000\n`,
      1,
      "percpu_free_percpu: field 'off' value 2147483648 is out of int range",
    );
    expectError(
      `${CTX}percpu_free_percpu: base_addr=0000000000001000 off=-2147483649 ptr=0000000000002000\n`,
      1,
      "percpu_free_percpu: field 'off' value -2147483649 is out of int range",
    );
    expectError(
      `${CTX}percpu_free_percpu: base_addr=0000000000001000 off=1.5 ptr=0000000000002000\n`,
      1,
      `percpu_free_percpu: field 'off' is not a decimal int: "1.5"`,
    );
    expectError(
      `${OK_ALLOC.replace("bytes_alloc=64", "bytes_alloc=x")}\n`,
      1,
      `percpu_alloc_percpu: field 'bytes_alloc' is not an unsigned decimal: "x"`,
    );
  });

  it("rejects malformed and out-of-range pointers", () => {
    expectError(
      `${CTX}percpu_create_chunk: base_addr=0000607f81c0\n`,
      1,
      `percpu_create_chunk: field 'base_addr' is not a pointer (8 or 16 lowercase hex digits): "0000607f81c0"`,
    );
    expectError(
      `${CTX}percpu_create_chunk: base_addr=0000607F81C02800\n`,
      1,
      `percpu_create_chunk: field 'base_addr' is not a pointer (8 or 16 lowercase hex digits): "0000607F81C02800"`,
    );
    expectError(
      `${CTX}percpu_create_chunk: base_addr=0x607f81c02800\n`,
      1,
      `percpu_create_chunk: field 'base_addr' is not a pointer (8 or 16 lowercase hex digits): "0x607f81c02800"`,
    );
    expectError(
      `${CTX}percpu_create_chunk: base_addr=ffffc8fffe200000\n`,
      1,
      "percpu_create_chunk: field 'base_addr': pointer ffffc8fffe200000 is above 2^53-1; pass parsePtr (the arch's inverse of formatAddr)",
    );
    expectError(
      `${CTX}percpu_create_chunk: base_addr=0000900000000000\n`,
      1,
      "percpu_create_chunk: field 'base_addr': non-canonical address 0000900000000000",
      { parsePtr: x86ParsePtr },
    );
  });

  it("rejects bad gfp_flags", () => {
    expectError(
      `${OK_ALLOC}_ACCOUNT_X\n`,
      1,
      "percpu_alloc_percpu: field 'gfp_flags': unknown GFP flag 'GFP_KERNEL_ACCOUNT_X'",
    );
    expectError(
      `${OK_ALLOC}|0x100000000\n`,
      1,
      "percpu_alloc_percpu: field 'gfp_flags': gfp_flags leftover 0x100000000 does not fit in 32 bits",
    );
    expectError(
      `${OK_ALLOC.replace("GFP_KERNEL", "GFP_KER")}\n`,
      1,
      "percpu_alloc_percpu: field 'gfp_flags': unknown GFP flag 'GFP_KER'",
    );
  });

  it("rejects framing numbers out of range", () => {
    const create = "percpu_create_chunk: base_addr=0000000000001000\n";
    expectError(
      `            bash-2147483648 [003] .....  1.000000: ${create}`,
      1,
      "pid 2147483648 is out of int range",
    );
    expectError(
      `            bash-1 [2147483648] .....  1.000000: ${create}`,
      1,
      "cpu 2147483648 is out of int range",
    );
    expectError(
      `            bash-1 [003] .....  9007199254.740992: ${create}`,
      1,
      "timestamp 9007199254.740992 is out of range",
    );
    expectError(
      `            bash-1 (2147483648) [003] .....  1.000000: ${create}`,
      1,
      "tgid 2147483648 is out of int range",
    );
    expectError("CPU:1 [LOST 99999999999999999999 EVENTS]\n", 1, "lost-events count out of range");
  });

  it("rejects a malformed, repeated or disagreeing header", () => {
    expectError(
      "# tracer: nop\n# entries-in-buffer/entries-written: 1/x   #P:8\n",
      2,
      `malformed entries header "# entries-in-buffer/entries-written: 1/x   #P:8"`,
    );
    expectError(
      "# entries-in-buffer/entries-written: 0/0   #P:8\n# entries-in-buffer/entries-written: 0/0   #P:8\n",
      2,
      "a second entries header (concatenated trace files?)",
    );
    // A file cut after 8 of its 9 entries.
    const cut = REAL.split("\n").slice(0, -2).join("\n");
    expectError(cut, 3, "header announces 9 entries but the file holds 8 (truncated?)");
    expectError(
      "# entries-in-buffer/entries-written: 99999999999999999999/0   #P:8\n",
      1,
      "entries header number out of range",
    );
  });

  it("rejects foreign entries when skipForeign is off", () => {
    expectError(REAL, 15, "event 'kmalloc' is not a percpu event (skipForeign is off)", {
      skipForeign: false,
    });
    expectError(
      `${CTX}pcpu_alloc <-__alloc_percpu_gfp\n`,
      1,
      `not an event entry: "pcpu_alloc <-__alloc_percpu_gfp" (skipForeign is off)`,
      { skipForeign: false },
    );
  });
});
