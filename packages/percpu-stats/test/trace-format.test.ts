import { GFP_KERNEL } from "@pcpu/mm";
import type { PcpuTraceEvent } from "@pcpu/percpu";
import { describe, expect, it } from "vitest";
import {
  formatEvent,
  formatPtr32,
  formatPtr64,
  ftraceFile,
  ftraceHeader,
  ftraceLine,
  ns2usecs,
  traceContext,
} from "../src/trace-format.js";
import { kaddr, x86FormatPtr } from "./trace-arch.js";

const alloc: PcpuTraceEvent = {
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
  gfpFlags: GFP_KERNEL,
};

describe("formatEvent (TP_printk of include/trace/events/percpu.h)", () => {
  it("prints percpu_alloc_percpu in the 5.19+ layout", () => {
    expect(formatEvent(alloc, { formatPtr: x86FormatPtr })).toBe(
      "call_site=pcpu_test+0x1c/0x40 reserved=0 is_atomic=0 size=8 align=8 base_addr=ffffc8fffe200000 " +
        "off=2048 ptr=0000607f81c02800 bytes_alloc=64 gfp_flags=GFP_KERNEL",
    );
    const atomic = {
      ...alloc,
      reserved: true,
      isAtomic: true,
      callSite: "bpf_map_alloc_percpu+0x4a/0xf0 [bpf]",
    };
    expect(formatEvent({ ...atomic, gfpFlags: 0 }, { formatPtr: x86FormatPtr })).toBe(
      "call_site=bpf_map_alloc_percpu+0x4a/0xf0 [bpf] reserved=1 is_atomic=1 size=8 align=8 " +
        "base_addr=ffffc8fffe200000 off=2048 ptr=0000607f81c02800 bytes_alloc=64 gfp_flags=none",
    );
  });

  it("prints percpu_alloc_percpu in the pre-5.19 layout", () => {
    expect(formatEvent(alloc, { formatPtr: x86FormatPtr, allocFormat: "pre-5.19" })).toBe(
      "reserved=0 is_atomic=0 size=8 align=8 base_addr=ffffc8fffe200000 off=2048 ptr=0000607f81c02800",
    );
  });

  it("prints free, fail, create and destroy", () => {
    const p = { formatPtr: formatPtr32 };
    expect(
      formatEvent({ event: "percpu_free_percpu", cpu: 0, baseAddr: 0xf7a00000, off: 16, ptr: 0xc01010 }, p),
    ).toBe("base_addr=f7a00000 off=16 ptr=00c01010");
    expect(
      formatEvent(
        {
          event: "percpu_alloc_percpu_fail",
          cpu: 1,
          reserved: true,
          isAtomic: false,
          size: 0x8000,
          align: 0x1000,
        },
        p,
      ),
    ).toBe("reserved=1 is_atomic=0 size=32768 align=4096");
    expect(formatEvent({ event: "percpu_create_chunk", cpu: 0, baseAddr: 0x1000 })).toBe(
      "base_addr=0000000000001000",
    );
    expect(formatEvent({ event: "percpu_destroy_chunk", cpu: 0, baseAddr: 0xabc000 }, p)).toBe(
      "base_addr=00abc000",
    );
  });

  it("prints a negative off with %d", () => {
    expect(
      formatEvent(
        { event: "percpu_free_percpu", cpu: 0, baseAddr: 0, off: -4, ptr: 0 },
        { formatPtr: formatPtr32 },
      ),
    ).toBe("base_addr=00000000 off=-4 ptr=00000000");
  });
});

describe("formatPtr64 / formatPtr32 (%p with no_hash_pointers)", () => {
  it("pads lowercase hex to the pointer width", () => {
    expect(formatPtr64(0)).toBe("0000000000000000");
    expect(formatPtr64(0x1fffffffffffff)).toBe("001fffffffffffff");
    expect(formatPtr32(0xdeadbeef)).toBe("deadbeef");
    expect(formatPtr32(0x10)).toBe("00000010");
  });

  it("rejects values the width cannot hold", () => {
    expect(() => formatPtr64(-1)).toThrow(RangeError);
    expect(() => formatPtr64(2 ** 53)).toThrow(RangeError);
    expect(() => formatPtr32(2 ** 32)).toThrow(RangeError);
    expect(() => formatPtr32(1.5)).toThrow(RangeError);
  });
});

describe("ftraceLine (trace_print_context + trace_raw_output_prep)", () => {
  it("frames an entry as %16s-%-7d [%03d] flags %5lu.%06lu: name: fields", () => {
    expect(
      ftraceLine(alloc, { task: "bash", pid: 1234, timestampUs: 1234567890 }, { formatPtr: x86FormatPtr }),
    ).toBe(
      "            bash-1234    [003] .....  1234.567890: percpu_alloc_percpu: call_site=pcpu_test+0x1c/0x40 " +
        "reserved=0 is_atomic=0 size=8 align=8 base_addr=ffffc8fffe200000 off=2048 ptr=0000607f81c02800 " +
        "bytes_alloc=64 gfp_flags=GFP_KERNEL",
    );
    const free: PcpuTraceEvent = {
      event: "percpu_free_percpu",
      cpu: 0,
      baseAddr: 0xf7a00000,
      off: 16,
      ptr: 0xc01010,
    };
    expect(
      ftraceLine(
        free,
        { task: "kworker/0:1", pid: 23, timestampUs: 52000, flags: "d..1." },
        { formatPtr: formatPtr32 },
      ),
    ).toBe(
      "     kworker/0:1-23      [000] d..1.     0.052000: percpu_free_percpu: base_addr=f7a00000 off=16 ptr=00c01010",
    );
    const fail: PcpuTraceEvent = {
      event: "percpu_alloc_percpu_fail",
      cpu: 12,
      reserved: true,
      isAtomic: true,
      size: 0x8000,
      align: 0x1000,
    };
    expect(ftraceLine(fail, { task: "<...>", pid: 98765, timestampUs: 99999000001, flags: "...1." })).toBe(
      "           <...>-98765   [012] ...1. 99999.000001: percpu_alloc_percpu_fail: reserved=1 is_atomic=1 size=32768 align=4096",
    );
  });

  it("drops the flags column without irq-info and adds (tgid) with record-tgid", () => {
    const create: PcpuTraceEvent = { event: "percpu_create_chunk", cpu: 0, baseAddr: 0x1000 };
    expect(ftraceLine(create, { task: "swapper", pid: 1, timestampUs: 0 }, { irqInfo: false })).toBe(
      "         swapper-1       [000]      0.000000: percpu_create_chunk: base_addr=0000000000001000",
    );
    expect(traceContext(3, { task: "bash", pid: 1234, timestampUs: 1, tgid: 1200 }, true, true)).toBe(
      "            bash-1234    (   1200) [003] .....     0.000001: ",
    );
    expect(traceContext(3, { task: "bash", pid: 1234, timestampUs: 1, tgid: null }, false, true)).toBe(
      "            bash-1234    (-------) [003]      0.000001: ",
    );
  });

  it("widens fields that overflow their columns (CPU 1000+, pid > 7 digits, long task)", () => {
    expect(
      traceContext(1234, { task: "a-very-long-task-name", pid: 12345678, timestampUs: 123456789000000 }),
    ).toBe("a-very-long-task-name-12345678 [1234] ..... 123456789.000000: ");
  });

  it("rejects a timestamp that is not a non-negative integer", () => {
    expect(() => traceContext(0, { task: "t", pid: 1, timestampUs: -1 })).toThrow(RangeError);
    expect(() => traceContext(0, { task: "t", pid: 1, timestampUs: 0.5 })).toThrow(RangeError);
  });
});

describe("ns2usecs (ns2usecs)", () => {
  it("rounds to the nearest microsecond", () => {
    expect(ns2usecs(1499)).toBe(1);
    expect(ns2usecs(1500)).toBe(2);
    expect(ns2usecs(1234567890499)).toBe(1234567890);
  });
});

describe("ftraceFile (s_show header + entries)", () => {
  it("prints the nop tracer header with the irq-info legend, as 5.18+ kernels do", () => {
    const records = [
      { ev: alloc, framing: { task: "bash", pid: 1234, timestampUs: 1234567890 } },
      {
        ev: { ...alloc, cpu: 1 },
        framing: { task: "bash", pid: 1234, timestampUs: 1234567891, flags: "d..1." },
      },
    ];
    expect(ftraceFile(records, { nrCpus: 4, formatPtr: x86FormatPtr })).toBe(
      "# tracer: nop\n" +
        "#\n" +
        "# entries-in-buffer/entries-written: 2/2   #P:4\n" +
        "#\n" +
        "#                                _-----=> irqs-off/BH-disabled\n" +
        "#                               / _----=> need-resched\n" +
        "#                              | / _---=> hardirq/softirq\n" +
        "#                              || / _--=> preempt-depth\n" +
        "#                              ||| / _-=> migrate-disable\n" +
        "#                              |||| /     delay\n" +
        "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n" +
        "#              | |         |   |||||     |         |\n" +
        "            bash-1234    [003] .....  1234.567890: percpu_alloc_percpu: call_site=pcpu_test+0x1c/0x40 " +
        "reserved=0 is_atomic=0 size=8 align=8 base_addr=ffffc8fffe200000 off=2048 ptr=0000607f81c02800 " +
        "bytes_alloc=64 gfp_flags=GFP_KERNEL\n" +
        "            bash-1234    [001] d..1.  1234.567891: percpu_alloc_percpu: call_site=pcpu_test+0x1c/0x40 " +
        "reserved=0 is_atomic=0 size=8 align=8 base_addr=ffffc8fffe200000 off=2048 ptr=0000607f81c02800 " +
        "bytes_alloc=64 gfp_flags=GFP_KERNEL\n",
    );
  });

  it("prints the legend variants for record-tgid and without irq-info", () => {
    const sp = (n: number) => " ".repeat(n);
    // "#" + 28 spaces + %.*s of 12 spaces + the legend.
    expect(ftraceHeader({ nrCpus: 2, recordTgid: true, entries: 5, written: 9 })).toBe(
      "# tracer: nop\n#\n# entries-in-buffer/entries-written: 5/9   #P:2\n#\n" +
        `#${sp(40)}  _-----=> irqs-off/BH-disabled\n` +
        `#${sp(40)} / _----=> need-resched\n` +
        `#${sp(40)}| / _---=> hardirq/softirq\n` +
        `#${sp(40)}|| / _--=> preempt-depth\n` +
        `#${sp(40)}||| / _-=> migrate-disable\n` +
        `#${sp(40)}|||| /     delay\n` +
        "#           TASK-PID       TGID    CPU#  |||||  TIMESTAMP  FUNCTION\n" +
        "#              | |           |       |   |||||     |         |\n",
    );
    expect(ftraceHeader({ nrCpus: 2, irqInfo: false, tracer: "function" }, 3)).toBe(
      "# tracer: function\n#\n# entries-in-buffer/entries-written: 3/3   #P:2\n#\n" +
        "#           TASK-PID     CPU#     TIMESTAMP  FUNCTION\n" +
        "#              | |         |         |         |\n",
    );
    expect(ftraceHeader({ nrCpus: 2, irqInfo: false, recordTgid: true })).toBe(
      "# tracer: nop\n#\n# entries-in-buffer/entries-written: 0/0   #P:2\n#\n" +
        "#           TASK-PID       TGID    CPU#     TIMESTAMP  FUNCTION\n" +
        "#              | |           |       |         |         |\n",
    );
  });
});
