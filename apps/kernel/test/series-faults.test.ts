import { describe, expect, it } from "vitest";
import {
  bootKernel,
  FaultSpecError,
  injectFaults,
  parseFaultSpec,
  runWorkload,
  SeriesRecorder,
  seriesCsv,
  seriesPlot,
} from "../src/index.js";

describe("time series", () => {
  it("records the kernel's numbers every N operations, from boot to the last step", () => {
    const k = bootKernel({ cpus: 4, nodes: "0-3" });
    const rec = new SeriesRecorder(k, 50, "op");
    let at120 = { nrPages: 0, populated: 0, live: 0 };
    runWorkload(k, "bpf-map", {
      ops: 120,
      onStep: (d, t) => {
        rec.step(d, t);
        if (d === 120)
          at120 = {
            nrPages: k.percpu.nrPages(),
            populated: k.pcpu.nrPopulated,
            live: k.counters.allocs - k.counters.frees,
          };
      },
    });
    expect(rec.rows.map((r) => r.step)).toEqual([0, 50, 100, 120]);
    const last = rec.rows[3]!;
    /* the row of op 120 is the kernel as it was after op 120 (the maps not yet torn down) */
    expect(last.pcpu_nr_pages).toBe(at120.nrPages);
    expect(last.populated_pages).toBe(at120.populated);
    expect(last.pcpu_nr_pages).toBe(last.populated_pages * 4);
    expect(last.live_allocs).toBe(at120.live);
    expect(last.live_allocs).toBeGreaterThan(0);
    expect(rec.rows[0]).toMatchObject({ step: 0, live_allocs: 0, sum_frag: 0, max_frag: 0, chunks: 1 });
    expect(seriesCsv(rec.rows).split("\n")[0]).toBe(
      "step,pcpu_nr_pages,populated_pages,empty_pop_pages,chunks,live_allocs,sum_frag,max_frag",
    );
    expect(seriesCsv(rec.rows).trimEnd().split("\n")).toHaveLength(5);
  });

  it("plots a column with its minimum and maximum on the y axis", () => {
    const rows = [0, 1, 2, 3].map((i) => ({
      step: i * 10,
      pcpu_nr_pages: [8, 8, 16, 12][i]!,
      populated_pages: 0,
      empty_pop_pages: 0,
      chunks: 1,
      live_allocs: 0,
      sum_frag: 0,
      max_frag: 0,
    }));
    const p = seriesPlot(rows, "pcpu_nr_pages", "op", 64, 3).split("\n");
    expect(p[0]).toBe("pcpu_nr_pages per op (max of each column)");
    expect(p[1]).toBe("16 ┤  *");
    expect(p[2]).toBe("   ┤  |*");
    expect(p[3]).toBe(" 8 ┤**||");
    expect(p[5]).toBe("    0 30");
  });
});

describe("fault injection in debugfs fault_attr terms", () => {
  it("parses probability (percent), interval, times (-1 = no limit) and space", () => {
    expect(parseFaultSpec("fail_page_alloc", "probability=10")).toEqual({
      site: "page_alloc",
      probability: 0.1,
      times: 1,
    });
    expect(parseFaultSpec("fail_vmalloc", "probability=100,interval=3,times=-1,space=4096")).toEqual({
      site: "vmalloc",
      probability: 1,
      interval: 3,
      space: 4096,
    });
    expect(() => parseFaultSpec("fail_page_alloc", "times=2")).toThrow(/probability is needed/);
    expect(() => parseFaultSpec("fail_page_alloc", "probability=101")).toThrow(FaultSpecError);
    expect(() => parseFaultSpec("fail_page_alloc", "probability=5,times=0")).toThrow(/times 0/);
    expect(() => parseFaultSpec("fail_page_alloc", "probability=5,verbose=1")).toThrow(
      /unknown attribute verbose/,
    );
  });

  it("makes chunk creation fail where the kernel would, counted per attribute", () => {
    const k = bootKernel({ cpus: 4, nodes: "0-3" });
    const counts = injectFaults(k, [parseFaultSpec("fail_vmalloc", "probability=100,times=-1")]);
    const s = runWorkload(k, "bpf-map", { ops: 300 });
    const c = counts().fail_vmalloc!;
    /* every pcpu_create_chunk needs pcpu_get_vm_areas: none is created, the allocations that needed one fail */
    expect(s.chunksCreated).toBe(0);
    expect(c.failures).toBe(c.calls);
    expect(c.failures).toBeGreaterThan(0);
    expect(s.failures).toBeGreaterThan(0);
    expect(k.dmesg().join("\n")).toMatch(/name fail_vmalloc, interval 1, probability 100, space 0, times -1/);
  });
});
