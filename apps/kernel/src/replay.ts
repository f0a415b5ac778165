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

import { GFP_ATOMIC, GFP_DEFINED_BITS, GFP_KERNEL } from "@pcpu/mm";
import type { PcpuPtr } from "@pcpu/percpu";
import { isTraceCmdReport, type ParsedTrace, parseTrace, parseTraceCmdReport } from "@pcpu/percpu-stats";
import { refuse } from "./boundary.js";
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
  /** percpu events replayed (boot events excluded); entries of other events skipped; events the trace lost. */
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
  /** Trace lines of those frees (the first REPLAY_LIST_MAX). */
  readonly unmatchedFreeLines: readonly number[];
  /**
   * Successful allocations that retried a `percpu_alloc_percpu_fail` of the
   * same task, size, align and kind just before (a caller's retry, often
   * after the balance work populated pages): they count once as a failure
   * and once as an allocation in the trace.
   */
  readonly retries: number;
  /** Trace lines of those allocations (the first REPLAY_LIST_MAX). */
  readonly retryLines: readonly number[];
  /**
   * Events of the traced kernel's own boot, not replayed and not counted:
   * the `percpu_create_chunk` of its first (and reserved) chunk, which the
   * replaying kernel makes at its own boot. Real traces and this model's
   * since tracing starts after boot have none; older model traces have one.
   */
  readonly bootEvents: number;
  /** `#P:` of the capture's header; null when it has none. */
  readonly traceCpus: number | null;
  /** What makes the comparison doubtful (empty capture, another CPU count). */
  readonly warnings: readonly string[];
  /** null when CONFIG_PERCPU_STATS is off in the replaying kernel. */
  readonly fragmentation: ReplayFragmentation | null;
}

/** How many trace lines a report lists per kind. */
export const REPLAY_LIST_MAX = 20;

export interface ReplayOptions {
  readonly onProgress?: (done: number, total: number) => void;
  /** Called after every replayed record (time series). */
  readonly onEvent?: (done: number, total: number) => void;
}

/**
 * Parses a trace for replay, a tracing `trace` file or `trace-cmd report`
 * output (told apart by isTraceCmdReport): pointers are only compared, never placed, so
 * each distinct `%p` text becomes a small id (a real 64-bit address need
 * not fit a JavaScript number).
 * @throws TraceParseError for a malformed trace
 */
export function parseTraceForReplay(text: string): ParsedTrace {
  if (typeof text !== "string") refuse("parseTraceForReplay", "text", "a string (ftrace text)", text);
  const ids = new Map<string, number>();
  const parse = isTraceCmdReport(text) ? parseTraceCmdReport : parseTrace;
  return parse(text, {
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

/** A record stamped 0.000000 by swapper (pid 0): early boot, before anything ran. */
function isBootTimeRecord(f: { readonly pid: number; readonly timestampUs: number }): boolean {
  return f.pid === 0 && f.timestampUs === 0;
}

/** Replays a parsed trace on a kernel. */
export function replayTrace(k: Kernel, trace: ParsedTrace, opts: ReplayOptions = {}): ReplayReport {
  if (trace === null || typeof trace !== "object" || !Array.isArray(trace.records))
    refuse("replayTrace", "trace", "a parsed trace (parseTraceForReplay)", trace);
  if (opts === null || typeof opts !== "object") refuse("replayTrace", "opts", "an object", opts);
  const ctx = k.machine.ctx;
  const cpus = k.config.cpus;
  /* A CPU this kernel does not have runs on the (n % count)-th possible CPU (CPU n % cpus when dense). */
  const possible = k.config.possibleCpus;
  const isPossible = new Uint8Array(cpus);
  for (const c of possible) isPossible[c] = 1;
  const cpuFor = (c: number): number =>
    c < cpus && isPossible[c] === 1 ? c : possible[c % possible.length]!;
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
  const unmatchedFreeLines: number[] = [];
  let retries = 0;
  const retryLines: number[] = [];
  let bootEvents = 0;
  let sawRuntime = false;
  /* The failed requests not yet retried, by "pid size align reserved atomic". */
  const pendingFails = new Map<string, number>();
  const total = trace.records.length;
  const every = Math.max(1, Math.floor(total / 200));
  let done = 0;
  for (const rec of trace.records) {
    const ev = rec.ev;
    if (ev.event === "percpu_create_chunk" && !sawRuntime && isBootTimeRecord(rec.framing)) {
      /*
       * pcpu_setup_first_chunk's tracepoint, from the boot task before
       * anything allocated. A real kernel's tracing starts after
       * setup_per_cpu_areas, so only traces of older versions of this model
       * (stamped 0.000000 by swapper/0) have one.
       */
      bootEvents++;
    } else if (ev.event === "percpu_create_chunk") tCreated++;
    else if (ev.event === "percpu_destroy_chunk") tDestroyed++;
    else {
      ctx.setCpu(cpuFor(ev.cpu));
      ctx.setTask(rec.framing.pid, rec.framing.task);
      if (ev.event === "percpu_alloc_percpu" || ev.event === "percpu_alloc_percpu_fail") {
        sawRuntime = true;
        const ok = ev.event === "percpu_alloc_percpu";
        if (ok) tAllocs++;
        else tFail++;
        const key = `${rec.framing.pid} ${ev.size} ${ev.align} ${ev.reserved ? 1 : 0} ${ev.isAtomic ? 1 : 0}`;
        const pending = pendingFails.get(key) ?? 0;
        if (!ok) pendingFails.set(key, pending + 1);
        else if (pending > 0) {
          retries++;
          if (retryLines.length < REPLAY_LIST_MAX) retryLines.push(rec.line);
          if (pending === 1) pendingFails.delete(key);
          else pendingFails.set(key, pending - 1);
        }
        /* Bits this layout does not define (another kernel's config) are dropped, not refused. */
        const gfp =
          ok && ev.gfpFlags > 0
            ? (ev.gfpFlags & GFP_DEFINED_BITS) >>> 0
            : ev.isAtomic
              ? GFP_ATOMIC
              : GFP_KERNEL;
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
        sawRuntime = true;
        tFrees++;
        const p = map.get(ev.ptr);
        if (p !== undefined) {
          k.percpu.free(p);
          map.delete(ev.ptr);
        } else if (!failedHere.delete(ev.ptr)) {
          unmatchedFrees++;
          if (unmatchedFreeLines.length < REPLAY_LIST_MAX) unmatchedFreeLines.push(rec.line);
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
  const warnings: string[] = [];
  if (total === 0)
    warnings.push(
      trace.skipped > 0
        ? `no percpu events among ${trace.skipped} entries: was events/percpu enabled?`
        : "no percpu events: was events/percpu enabled?",
    );
  const traceCpus = trace.header?.nrCpus ?? null;
  if (traceCpus !== null && traceCpus !== cpus)
    warnings.push(
      `the capture is from a machine with ${traceCpus} CPUs (#P:${traceCpus}), this kernel has ${cpus}: events of CPU n run on CPU n % ${cpus}`,
    );
  const maxCpu = trace.records.reduce((m, r) => Math.max(m, r.ev.cpu), -1);
  if (traceCpus === null && maxCpu >= cpus)
    warnings.push(
      `the capture has events of CPU ${maxCpu}, this kernel has ${cpus} CPUs: events of CPU n run on CPU n % ${cpus}`,
    );
  return {
    events: total - bootEvents,
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
    unmatchedFreeLines,
    retries,
    retryLines,
    bootEvents,
    traceCpus,
    warnings,
    fragmentation,
  };
}
