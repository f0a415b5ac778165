import { describe, expect, it } from "vitest";
import { bootKernel } from "../src/registry.js";
import { parseTraceForReplay, replayTrace } from "../src/replay.js";
import { runWorkload } from "../src/report.js";
import { WORKLOAD_NAMES } from "../src/workloads/workload.js";

const small = { cpus: 4, nodes: "0-1;2-3", trace: false } as const;

describe("workloads (real users of percpu memory)", () => {
  it.each(WORKLOAD_NAMES)("%s is deterministic and frees everything it allocated", (name) => {
    const a = runWorkload(bootKernel(small), name, { ops: 120, seed: 7 });
    const b = runWorkload(bootKernel(small), name, { ops: 120, seed: 7 });
    const { timeMs: _ta, ...ra } = a;
    const { timeMs: _tb, ...rb } = b;
    expect(ra).toEqual(rb);
    expect(a.ops).toBe(120);
    expect(a.allocs).toBeGreaterThan(0);
    expect(a.frees).toBe(a.allocs);
    /* nothing live: the first chunk's dynamic area is empty again */
    expect(a.pcpuNrPages).toBe(a.populatedPages * 4);
  });
  it("a different seed makes different choices", () => {
    const a = runWorkload(bootKernel(small), "bpf-map", { ops: 120, seed: 7 });
    const b = runWorkload(bootKernel(small), "bpf-map", { ops: 120, seed: 8 });
    expect(a.allocs).not.toBe(b.allocs);
  });
  it("modules: a full reserved region fails the load with the kernel's message", () => {
    const k = bootKernel({ ...small, reservedSize: "0x100" });
    const s = runWorkload(k, "modules", { ops: 60, seed: 3 });
    expect(s.details.loadFailures).toBeGreaterThan(0);
    expect(k.dmesg().some((l) => /^[a-z0-9_]+: Could not allocate \d+ bytes percpu data$/.test(l))).toBe(
      true,
    );
  });
  it("atomic-burst: bursts outrun the populated pages; the balance work catches up", () => {
    const s = runWorkload(bootKernel({ arch: "arm", cpus: 2, trace: false }), "atomic-burst", {
      ops: 40,
      seed: 1,
      scale: 4,
    });
    expect(s.details.atomicFailures).toBeGreaterThan(0);
    expect(s.details.workRuns).toBeGreaterThan(0);
    expect(s.chunksCreated).toBeGreaterThan(0);
    expect(s.failures).toBe(s.details.atomicFailures);
  });
  it("counters: sums over per_cpu_ptr match what was added", () => {
    const s = runWorkload(bootKernel(small), "counters", { ops: 3000, seed: 5 });
    /* 16 counters checked 8 times during the run and once at the end */
    expect(s.checks).toBe(16 * 9);
    expect(s.details.batch).toBe(32);
    expect(s.details.folds).toBeGreaterThan(0);
  });
  it("reports progress up to the total", () => {
    const seen: number[] = [];
    runWorkload(bootKernel(small), "counters", { ops: 400, onProgress: (d, t) => seen.push(d / t) });
    expect(seen.at(-1)).toBe(1);
  });
});

describe("replayTrace (a percpu trace against any kernel)", () => {
  it("replays our own trace on the same config with the same numbers", () => {
    const k = bootKernel({ ...small, trace: true });
    runWorkload(k, "bpf-map", { ops: 80, seed: 2 });
    const text = k.trace();
    const r = replayTrace(bootKernel(small), parseTraceForReplay(text));
    expect(r.trace.allocs).toBe(k.counters.allocs);
    expect(r.replay.allocs).toBe(r.trace.allocs);
    expect(r.replay.frees).toBe(r.trace.frees);
    expect(r.failedHereOnly).toBe(0);
    expect(r.unmatchedFrees).toBe(0);
    /* no boot-time creation in the trace (tracing starts after setup_per_cpu_areas): the counts match */
    expect(r.bootEvents).toBe(0);
    expect(r.trace.chunksCreated).toBe(k.counters.chunksCreated);
    expect(r.replay.chunksCreated).toBe(r.trace.chunksCreated);
    expect(r.events).toBe(
      k.counters.allocs + k.counters.frees + k.counters.chunksCreated + k.counters.chunksDestroyed,
    );
    expect(r.warnings).toEqual([]);
    expect(r.fragmentation).not.toBeNull();
  });
  it("reports allocations that fail on a smaller kernel", () => {
    const k = bootKernel({ ...small, trace: true });
    runWorkload(k, "modules", { ops: 80, seed: 2 });
    const r = replayTrace(
      bootKernel({ arch: "arm", cpus: 2, reservedSize: "0x200", trace: false }),
      parseTraceForReplay(k.trace()),
    );
    expect(r.failedHereOnly).toBeGreaterThan(0);
    expect(r.replay.failures).toBe(r.failedHereOnly + (r.trace.failures - r.succeededHereOnly));
  });
  it("refuses a malformed trace", () => {
    expect(() => parseTraceForReplay("bash-1 [000] ..... 1.000000: percpu_alloc_percpu: nonsense\n")).toThrow(
      /line 1/,
    );
  });
});
