import type { PcpuTraceEvent } from "@pcpu/percpu";
import { describe, expect, it } from "vitest";
import type { FtraceFileOptions, TraceFraming, TraceRecord } from "../src/api.js";
import { formatPtr32, ftraceFile } from "../src/trace-format.js";
import { parseTrace } from "../src/trace-parse.js";
import { PcpuTraceRecorder } from "../src/trace-recorder.js";
import { x86FormatPtr, x86ParsePtr } from "./trace-arch.js";

/** mulberry32: a small seeded PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TASKS = ["bash", "kworker/u16:2", "<...>", "Web Content", "systemd-udevd", "swapper/0", "a"];
const CALL_SITES = [
  "",
  "pcpu_test+0x1c/0x40",
  "bpf_map_alloc_percpu+0x4a/0xf0 [bpf]",
  "alloc_vfsmnt+0x9b/0x1e0",
];
const FLAGS = [".....", "d..1.", "dNh2.", "Dnsf1", "b.s..", "X.z.."];

interface Shape {
  bits: 32 | 64;
  preFiveNineteen: boolean;
  irqInfo: boolean;
  recordTgid: boolean;
}

function randomRecords(seed: number, n: number, shape: Shape): TraceRecord[] {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]) => xs[int(0, xs.length - 1)]!;
  // 64-bit: model addresses below 2^48 (kernel half at and above 2^47); 32-bit: below 2^32.
  const addr = () => (shape.bits === 64 ? int(0, 2 ** 48 - 1) : int(0, 0xffffffff));
  const records: TraceRecord[] = [];
  let ts = int(0, 1e6);
  for (let i = 0; i < n; i++) {
    const cpu = int(0, r() < 0.1 ? 4095 : 63);
    let ev: PcpuTraceEvent;
    switch (int(0, 4)) {
      case 0:
        ev = {
          event: "percpu_alloc_percpu",
          cpu,
          callSite: shape.preFiveNineteen ? "" : pick(CALL_SITES),
          reserved: r() < 0.5,
          isAtomic: r() < 0.5,
          size: int(1, 0x8000),
          align: 2 ** int(0, 12),
          baseAddr: addr(),
          off: int(-(2 ** 31), 2 ** 31 - 1),
          ptr: addr(),
          bytesAlloc: shape.preFiveNineteen ? -1 : int(0, 2 ** 40),
          gfpFlags: shape.preFiveNineteen ? -1 : r() < 0.1 ? 0 : int(0, 0xffffffff),
        };
        break;
      case 1:
        ev = { event: "percpu_free_percpu", cpu, baseAddr: addr(), off: int(0, 0x7fffffff), ptr: addr() };
        break;
      case 2:
        ev = {
          event: "percpu_alloc_percpu_fail",
          cpu,
          reserved: r() < 0.5,
          isAtomic: r() < 0.5,
          size: int(0, Number.MAX_SAFE_INTEGER),
          align: int(0, 2 ** 20),
        };
        break;
      case 3:
        ev = { event: "percpu_create_chunk", cpu, baseAddr: addr() };
        break;
      default:
        ev = { event: "percpu_destroy_chunk", cpu, baseAddr: addr() };
    }
    ts += int(0, 5e6);
    let framing: TraceFraming = {
      task: pick(TASKS),
      pid: int(0, r() < 0.1 ? 0x7fffffff : 4194304),
      timestampUs: ts,
    };
    if (shape.irqInfo) framing = { ...framing, flags: pick(FLAGS) };
    if (shape.recordTgid) framing = { ...framing, tgid: r() < 0.2 ? null : int(1, 4194304) };
    records.push({ ev, framing });
  }
  return records;
}

const SHAPES: Shape[] = [
  { bits: 64, preFiveNineteen: false, irqInfo: true, recordTgid: false },
  { bits: 64, preFiveNineteen: true, irqInfo: true, recordTgid: false },
  { bits: 32, preFiveNineteen: false, irqInfo: false, recordTgid: false },
  { bits: 32, preFiveNineteen: true, irqInfo: true, recordTgid: true },
  { bits: 64, preFiveNineteen: false, irqInfo: false, recordTgid: true },
];

describe("ftraceFile -> parseTrace round trip (include/trace/events/percpu.h text)", () => {
  it.each(SHAPES.map((s, i) => [i, s] as const))(
    "gives back the same events and framing (shape %i)",
    (i, shape) => {
      const records = randomRecords(0xc0ffee + i, 400, shape);
      const opts: FtraceFileOptions = {
        nrCpus: 64,
        formatPtr: shape.bits === 64 ? x86FormatPtr : formatPtr32,
        allocFormat: shape.preFiveNineteen ? "pre-5.19" : "v5.19",
        irqInfo: shape.irqInfo,
        recordTgid: shape.recordTgid,
        written: 1000,
      };
      const text = ftraceFile(records, opts);
      const parsed = parseTrace(text, {
        ...(shape.bits === 64 ? { parsePtr: x86ParsePtr } : {}),
        allocFormat: shape.preFiveNineteen ? "pre-5.19" : "v5.19",
        skipForeign: false,
      });
      expect(parsed.header).toEqual({ tracer: "nop", entries: 400, written: 1000, nrCpus: 64 });
      expect(parsed.skipped).toBe(0);
      expect(parsed.records.map(({ ev, framing }) => ({ ev, framing }))).toEqual(records);
      // Entries start after the header (12 lines with irq-info, 6 without).
      expect(parsed.records[0]!.line).toBe(shape.irqInfo ? 13 : 7);
    },
  );
});

describe("PcpuTraceRecorder (the trace ring buffer as a PcpuTraceSink)", () => {
  it("frames events at emission and overwrites the oldest beyond its capacity", () => {
    let now = 1_000_000;
    const rec = new PcpuTraceRecorder(() => ({ task: "insmod", pid: 321, timestampUs: (now += 7) }), 2);
    rec.emit({ event: "percpu_create_chunk", cpu: 1, baseAddr: 0x1000 });
    rec.emit({ event: "percpu_free_percpu", cpu: 1, baseAddr: 0x1000, off: 8, ptr: 0x2008 });
    rec.emit({ event: "percpu_destroy_chunk", cpu: 2, baseAddr: 0x1000 });
    expect(rec.written).toBe(3);
    expect(rec.records.map((r) => [r.ev.event, r.framing.timestampUs])).toEqual([
      ["percpu_free_percpu", 1000014],
      ["percpu_destroy_chunk", 1000021],
    ]);
    const text = ftraceFile(rec.records, { nrCpus: 4, written: rec.written });
    expect(text.split("\n")[2]).toBe("# entries-in-buffer/entries-written: 2/3   #P:4");
    expect(text.split("\n")[12]).toBe(
      "          insmod-321     [001] .....     1.000014: percpu_free_percpu: base_addr=0000000000001000 off=8 ptr=0000000000002008",
    );
    expect(parseTrace(text).records.map((r) => r.ev)).toEqual(rec.records.map((r) => r.ev));
    rec.clear();
    expect([rec.records.length, rec.written]).toEqual([0, 0]);
  });
});
