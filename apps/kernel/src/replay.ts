/*
 * Replaying a percpu trace (ours, or /sys/kernel/tracing/trace captured on
 * a real machine with the percpu events on) against any kernel: every
 * percpu_alloc_percpu becomes the same __alloc_percpu_gfp /
 * __alloc_reserved_percpu call (size, align, reserved, atomic gfp) on the
 * same CPU, every percpu_free_percpu frees the allocation the trace's ptr
 * named (trace pointers come from another machine: they are mapped to
 * ours), a percpu_alloc_percpu_fail is tried too; the balance work runs
 * after each event as a prompt kworker would. The report sets what the
 * trace saw against what this kernel did.
 */

import { GFP_ATOMIC, GFP_KERNEL } from "@pcpu/mm";
import type { PcpuPtr } from "@pcpu/percpu";
import { type ParsedTrace, parseTrace } from "@pcpu/percpu-stats";
import type { Kernel } from "./kernel.js";

/** Alloc/free/chunk counts of one side. */
export interface ReplaySide {
  readonly allocs: number;
  readonly frees: number;
  readonly failures: number;
  readonly chunksCreated: number;
  readonly chunksDestroyed: number;
}

/** Fragmentation of the dynamic chunks after the replay (percpu_stats numbers summed). */
export interface ReplayFragmentation {
  readonly freeBytes: number;
  readonly sumFrag: number;
  readonly maxFrag: number;
  readonly chunks: number;
}

export interface ReplayReport {
  /** percpu events replayed; entries of other events skipped; events the trace lost. */
  readonly events: number;
  readonly skipped: number;
  readonly lost: number;
  readonly trace: ReplaySide;
  readonly replay: ReplaySide & {
    readonly peakChunks: number;
    readonly populatedPages: number;
    readonly pcpuNrPages: number;
    readonly emptyPopPages: number;
  };
  /** Allocations that succeeded in the trace and failed here. */
  readonly failedHereOnly: number;
  /** Allocations that failed in the trace and succeeded here (freed again at once). */
  readonly succeededHereOnly: number;
  /** Frees of pointers the trace never allocated (allocated before the capture started). */
  readonly unmatchedFrees: number;
  /** null when CONFIG_PERCPU_STATS is off in the replaying kernel. */
  readonly fragmentation: ReplayFragmentation | null;
}

export interface ReplayOptions {
  readonly onProgress?: (done: number, total: number) => void;
  /** Called after every replayed record (time series). */
  readonly onEvent?: (done: number, total: number) => void;
}

/**
 * Parses a trace for replay: pointers are only compared, never placed, so
 * each distinct `%p` text becomes a small id (a real 64-bit address need
 * not fit a JavaScript number).
 * @throws TraceParseError for a malformed trace
 */
export function parseTraceForReplay(text: string): ParsedTrace {
  const ids = new Map<string, number>();
  return parseTrace(text, {
    parsePtr: (hex) => {
      const key = hex.toLowerCase().replace(/^0+(?=.)/, "");
      let id = ids.get(key);
      if (id === undefined) {
        id = ids.size + 1;
        ids.set(key, id);
      }
      return id;
    },
  });
}

/** Replays a parsed trace on a kernel. */
export function replayTrace(k: Kernel, trace: ParsedTrace, opts: ReplayOptions = {}): ReplayReport {
  const ctx = k.machine.ctx;
  const cpus = k.config.cpus;
  const before = k.snapshot();
  const map = new Map<number, PcpuPtr>();
  const failedHere = new Set<number>();
  let tAllocs = 0;
  let tFrees = 0;
  let tFail = 0;
  let tCreated = 0;
  let tDestroyed = 0;
  let failedHereOnly = 0;
  let succeededHereOnly = 0;
  let unmatchedFrees = 0;
  const total = trace.records.length;
  const every = Math.max(1, Math.floor(total / 200));
  let done = 0;
  for (const rec of trace.records) {
    const ev = rec.ev;
    if (ev.event === "percpu_create_chunk") tCreated++;
    else if (ev.event === "percpu_destroy_chunk") tDestroyed++;
    else {
      ctx.setCpu(ev.cpu % cpus);
      ctx.setTask(rec.framing.pid, rec.framing.task);
      if (ev.event === "percpu_alloc_percpu" || ev.event === "percpu_alloc_percpu_fail") {
        const ok = ev.event === "percpu_alloc_percpu";
        if (ok) tAllocs++;
        else tFail++;
        const gfp = ok && ev.gfpFlags > 0 ? ev.gfpFlags : ev.isAtomic ? GFP_ATOMIC : GFP_KERNEL;
        const callSite = ok ? ev.callSite : undefined;
        const p = ev.reserved
          ? k.percpu.allocReserved(ev.size, ev.align, { callSite })
          : k.percpu.alloc(ev.size, ev.align, gfp, { callSite });
        if (ok) {
          if (p === null) {
            failedHereOnly++;
            failedHere.add(ev.ptr);
          } else {
            const stale = map.get(ev.ptr);
            /* A trace that lost the free of a reused pointer: drop ours too. */
            if (stale !== undefined) k.percpu.free(stale);
            map.set(ev.ptr, p);
            failedHere.delete(ev.ptr);
          }
        } else if (p !== null) {
          succeededHereOnly++;
          k.percpu.free(p);
        }
      } else if (ev.event === "percpu_free_percpu") {
        tFrees++;
        const p = map.get(ev.ptr);
        if (p !== undefined) {
          k.percpu.free(p);
          map.delete(ev.ptr);
        } else if (!failedHere.delete(ev.ptr)) {
          unmatchedFrees++;
        }
      }
      k.runWork();
    }
    done++;
    if (opts.onEvent) opts.onEvent(done, total);
    if (opts.onProgress && (done % every === 0 || done === total)) opts.onProgress(done, total);
  }
  ctx.setCpu(0);
  const after = k.snapshot();
  const stats = k.statsJson();
  let fragmentation: ReplayFragmentation | null = null;
  if (stats !== null) {
    let freeBytes = 0;
    let sumFrag = 0;
    let maxFrag = 0;
    let chunks = 0;
    for (const c of stats.chunks) {
      if (c.kind === "reserved") continue;
      chunks++;
      freeBytes += c.freeBytes;
      sumFrag += c.sumFrag;
      maxFrag = Math.max(maxFrag, c.maxFrag);
    }
    fragmentation = { freeBytes, sumFrag, maxFrag, chunks };
  }
  return {
    events: total,
    skipped: trace.skipped,
    lost: trace.lost,
    trace: {
      allocs: tAllocs,
      frees: tFrees,
      failures: tFail,
      chunksCreated: tCreated,
      chunksDestroyed: tDestroyed,
    },
    replay: {
      allocs: after.allocs - before.allocs,
      frees: after.frees - before.frees,
      failures: after.failures - before.failures,
      chunksCreated: after.chunksCreated - before.chunksCreated,
      chunksDestroyed: after.chunksDestroyed - before.chunksDestroyed,
      peakChunks: after.peakChunks,
      populatedPages: after.populatedPages,
      pcpuNrPages: after.pcpuNrPages,
      emptyPopPages: after.emptyPopPages,
    },
    failedHereOnly,
    succeededHereOnly,
    unmatchedFrees,
    fragmentation,
  };
}
