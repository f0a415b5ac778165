/*
 * The stats and tracepoint text against the real core: a test kernel from
 * @pcpu/percpu/testing with this package's observer and recorder plugged
 * in. The backend can create no chunk, so the workload stays in the first
 * and reserved chunks; the numbers below are worked out by hand from
 * pcpu_build_alloc_info, pcpu_alloc_first_chunk and chunk_map_stats.
 */

import { __GFP_NOWARN, GFP_KERNEL } from "@pcpu/mm";
import {
  allocPercpu,
  allocPercpuGfp,
  allocReservedPercpu,
  freePercpu,
  type PcpuBackendHost,
  type PopulationBackend,
  type PopulationFactory,
} from "@pcpu/percpu";
import { bootTestKernel } from "@pcpu/percpu/testing";
import { describe, expect, it } from "vitest";
import { percpuStatsJson } from "../src/json.js";
import { percpuMeminfo } from "../src/meminfo.js";
import { PcpuStats } from "../src/stats.js";
import { percpuStatsText } from "../src/stats-text.js";
import { ftraceFile } from "../src/trace-format.js";
import { parseTrace } from "../src/trace-parse.js";
import { PcpuTraceRecorder } from "../src/trace-recorder.js";

/** A backend that cannot grow the allocator (the first chunk needs none). */
const noChunks: PopulationFactory = (host: PcpuBackendHost): PopulationBackend => ({
  name: "none",
  pcpuPopulateChunk: () => -12,
  pcpuDepopulateChunk: () => {},
  pcpuPostUnmapTlbFlush: () => {},
  pcpuCreateChunk: () => null,
  pcpuDestroyChunk: () => {},
  pcpuAddrToPage: (addr) => {
    const phys = host.machine.pgtable.translate(addr);
    return phys < 0 ? -1 : Math.floor(phys / host.constants.PAGE_SIZE);
  },
  pcpuVerifyAllocInfo: () => 0,
  pcpuShouldReclaimChunk: () => false,
});

function boot() {
  const stats = new PcpuStats();
  let t = 5_000_000;
  const trace = new PcpuTraceRecorder(() => ({
    task: "insmod",
    pid: 200,
    timestampUs: (t += 10),
    flags: ".....",
  }));
  // static 0x3000 + reserved 0x2000 + dyn 0x5000 (= PERCPU_DYNAMIC_EARLY_SIZE) = 0xa000:
  // one unit of 0xa000 per CPU (above PCPU_MIN_UNIT_SIZE), 4 CPUs, atom = page.
  const k = bootTestKernel({
    population: noChunks,
    cpus: 4,
    staticSize: 0x3000,
    reservedSize: 0x2000,
    dynSize: 0x5000,
    atomSize: 0x1000,
    observer: stats,
    trace,
  });
  return { ...k, stats, trace };
}

describe("percpuStatsText with the real core (percpu_stats_show)", () => {
  it("prints what the kernel prints after a small workload", () => {
    const { pcpu, stats } = boot();
    const a = allocPercpu(pcpu, 8, 8);
    const b = allocPercpu(pcpu, 8, 8);
    const c = allocPercpuGfp(pcpu, 5, 4, GFP_KERNEL | __GFP_NOWARN);
    const r = allocReservedPercpu(pcpu, 0x10, 0x10);
    expect([a, b, c, r].every((p) => p !== null)).toBe(true);
    freePercpu(pcpu, b);

    // Dynamic chunk (the first chunk): start_offset 0x5000 & 0xfff = 0, 5 pages.
    // a at 0, b at 8 (freed), c rounded to 8 at 16: runs +8 -8 +8 -> [-8, 8, 8].
    // Reserved chunk: 2 pages, one 0x10 area at 0.
    const text = percpuStatsText(stats, pcpu);
    expect(text).toBe(
      "Percpu Memory Statistics\n" +
        "Allocation Info:\n" +
        "----------------------------------------\n" +
        "  unit_size           :        40960\n" +
        "  static_size         :        12288\n" +
        "  reserved_size       :         8192\n" +
        "  dyn_size            :        20480\n" +
        "  atom_size           :         4096\n" +
        "  alloc_size          :        40960\n" +
        "\n" +
        "Global Stats:\n" +
        "----------------------------------------\n" +
        "  nr_alloc            :            4\n" +
        "  nr_dealloc          :            1\n" +
        "  nr_cur_alloc        :            3\n" +
        "  nr_max_alloc        :            4\n" +
        "  nr_chunks           :            1\n" +
        "  nr_max_chunks       :            1\n" +
        "  min_alloc_size      :            8\n" +
        "  max_alloc_size      :           16\n" +
        "  empty_pop_pages     :            4\n" +
        "\n" +
        "Per Chunk Stats:\n" +
        "----------------------------------------\n" +
        "Chunk: <- Reserved Chunk\n" +
        "  nr_alloc            :            1\n" +
        "  max_alloc_size      :           16\n" +
        "  empty_pop_pages     :            1\n" +
        "  first_bit           :            4\n" +
        "  free_bytes          :         8176\n" +
        "  contig_bytes        :         8176\n" +
        "  sum_frag            :            0\n" +
        "  max_frag            :            0\n" +
        "  cur_min_alloc       :           16\n" +
        "  cur_med_alloc       :           16\n" +
        "  cur_max_alloc       :           16\n" +
        "\n" +
        "Chunk: <- First Chunk\n" +
        "  nr_alloc            :            2\n" +
        "  max_alloc_size      :            8\n" +
        "  empty_pop_pages     :            4\n" +
        "  first_bit           :            2\n" +
        "  free_bytes          :        20464\n" +
        "  contig_bytes        :        20456\n" +
        "  sum_frag            :            8\n" +
        "  max_frag            :            8\n" +
        "  cur_min_alloc       :            8\n" +
        "  cur_med_alloc       :            8\n" +
        "  cur_max_alloc       :            8\n" +
        "\n",
    );
    // pcpu_setup_first_chunk counts the whole first chunk, static area
    // included: PFN_DOWN(0x3000 + 0x2000 + 0x5000) = 10 pages per unit,
    // 4 units = 40 pages = 160 kB.
    expect(percpuMeminfo(pcpu)).toBe("Percpu:              160 kB\n");
  });

  it("keeps the global and per-chunk counters consistent over a random workload", () => {
    const { pcpu, stats } = boot();
    let x = 12345;
    const rand = (n: number) => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x % n;
    };
    const live: NonNullable<ReturnType<typeof allocPercpu>>[] = [];
    let allocs = 0;
    let frees = 0;
    for (let i = 0; i < 600; i++) {
      if (live.length > 0 && rand(3) === 0) {
        const p = live.splice(rand(live.length), 1)[0]!;
        freePercpu(pcpu, p);
        frees++;
      } else {
        const p =
          rand(8) === 0
            ? allocReservedPercpu(pcpu, 4 << rand(5), 4)
            : allocPercpu(pcpu, 4 << rand(6), 4 << rand(3));
        if (p !== null) {
          live.push(p);
          allocs++;
        }
      }
    }
    const j = percpuStatsJson(stats, pcpu);
    expect([j.globalStats.nrAlloc, j.globalStats.nrDealloc, j.globalStats.nrCurAlloc]).toEqual([
      allocs,
      frees,
      live.length,
    ]);
    expect(j.chunks.reduce((n, c) => n + c.nrAlloc, 0)).toBe(live.length);
    for (const c of j.chunks) {
      // Every live byte is in an allocation run or past the end of the walk.
      expect(c.freeBytes).toBeGreaterThanOrEqual(c.sumFrag);
      expect(c.maxFrag).toBeLessThanOrEqual(c.contigBytes);
      if (c.nrAlloc > 0) expect(c.curMinAlloc).toBeGreaterThan(0);
    }
    expect(j.globalStats.emptyPopPages).toBe(pcpu.nrEmptyPopPages);
  });
});

describe("percpu tracepoints from the real core (include/trace/events/percpu.h)", () => {
  it("records create/alloc/free/fail and round-trips them through the trace file", () => {
    const { pcpu, trace } = boot();
    const a = allocPercpu(pcpu, 8, 8, { callSite: "pcpu_test+0x1c/0x40" });
    freePercpu(pcpu, a);
    // Larger than the reserved chunk: the reserved path fails.
    expect(allocReservedPercpu(pcpu, 0x3000, 4)).toBeNull();
    const events = trace.records.map((r) => r.ev.event);
    expect(events).toEqual([
      "percpu_create_chunk",
      "percpu_alloc_percpu",
      "percpu_free_percpu",
      "percpu_alloc_percpu_fail",
    ]);
    const alloc = trace.records[1]!.ev;
    expect(alloc).toMatchObject({
      callSite: "pcpu_test+0x1c/0x40",
      reserved: false,
      isAtomic: false,
      size: 8,
      align: 8,
      off: 0,
      bytesAlloc: 32,
      gfpFlags: GFP_KERNEL,
    });
    const arch = pcpu.archHooks();
    const text = ftraceFile(trace.records, { nrCpus: 4, formatPtr: (p) => arch.formatAddr(p) });
    const line = text.split("\n")[13]!;
    expect(line).toMatch(
      /^ {10}insmod-200 {5}\[000\] \.{5} {5}5\.000020: percpu_alloc_percpu: call_site=pcpu_test\+0x1c\/0x40 reserved=0 is_atomic=0 size=8 align=8 base_addr=[0-9a-f]{16} off=0 ptr=[0-9a-f]{16} bytes_alloc=32 gfp_flags=GFP_KERNEL$/,
    );
    expect(text.split("\n")[15]).toMatch(
      /percpu_alloc_percpu_fail: reserved=1 is_atomic=0 size=12288 align=4$/,
    );
    const parsed = parseTrace(text, { skipForeign: false });
    expect(parsed.records.map(({ ev, framing }) => ({ ev, framing }))).toEqual(trace.records);
  });
});
