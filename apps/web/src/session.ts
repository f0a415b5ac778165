/*
 * One kernel as the page drives it: boot from a config, then one action
 * (a workload of the kernel app, or the replay of a percpu trace) reported
 * as frames, one per progress tick of the action and one after it returns.
 *
 * Workloads and replays run synchronously to the end, so the page cannot
 * stop a kernel in the middle and resume it. What it can do, because a
 * kernel and its workloads are deterministic for a config and a seed, is
 * boot the same kernel again and stop the same action at tick N (by
 * throwing out of the progress callback): the kernel is then exactly as it
 * was at frame N, which is how the page reads an allocation's bytes at any
 * frame of a run.
 */

import {
  BootError,
  bootKernel,
  ConfigError,
  formatTable,
  type Kernel,
  type KernelConfig,
  parseTraceForReplay,
  type ReplayReport,
  replayTrace,
  runWorkload,
  summaryTable,
  WORKLOAD_NAMES,
  type WorkloadName,
} from "@pcpu/kernel";
import type { ParsedTrace } from "@pcpu/percpu-stats";
import type { Frame, KernelInfo } from "./frame.js";
import { kernelInfo, takeFrame } from "./snapshot.js";

/** What the page asks a kernel to do after booting. */
export type Action =
  | { readonly kind: "workload"; readonly name: WorkloadName; readonly ops?: number; readonly scale?: number }
  | { readonly kind: "replay"; readonly fileName: string; readonly text: string };

/** How an action ended. */
export interface ActionResult {
  /** Frames emitted, the boot frame included. */
  readonly frames: number;
  /** The kernel app's summary table (workload) or the replay report as a table. */
  readonly summary: string;
  /** True when stopped at the requested tick instead of running to the end. */
  readonly stopped: boolean;
}

/** Thrown out of a progress callback to stop an action at a tick. */
class StopAtTick extends Error {
  constructor() {
    super("stopped at tick");
    this.name = "StopAtTick";
  }
}

/** An error the page shows as text: a config refused, a boot that panicked, a trace that does not parse. */
export interface SessionError {
  readonly kind: "config" | "boot" | "trace" | "run";
  /** The config setting at fault (ConfigError.setting). */
  readonly setting?: string;
  readonly message: string;
  /** The log up to a failed boot. */
  readonly dmesg?: readonly string[];
}

/** A thrown value as a SessionError. */
export function sessionError(e: unknown, kind: SessionError["kind"] = "run"): SessionError {
  if (e instanceof ConfigError) return { kind: "config", setting: e.setting, message: e.message };
  if (e instanceof BootError) return { kind: "boot", message: e.message, dmesg: e.dmesg };
  if (e instanceof Error && e.name === "TraceParseError") return { kind: "trace", message: e.message };
  return { kind, message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
}

/** The replay report as the two-column table the page shows. */
export function replayTable(fileName: string, r: ReplayReport): string {
  const rows: [string, string | number][] = [
    ["trace", fileName],
    ["events", r.events],
    ["skipped lines", r.skipped],
    ["lost events", r.lost],
    ["allocs (trace / here)", `${r.trace.allocs} / ${r.replay.allocs}`],
    ["frees (trace / here)", `${r.trace.frees} / ${r.replay.frees}`],
    ["failures (trace / here)", `${r.trace.failures} / ${r.replay.failures}`],
    ["chunks created (trace / here)", `${r.trace.chunksCreated} / ${r.replay.chunksCreated}`],
    ["chunks destroyed (trace / here)", `${r.trace.chunksDestroyed} / ${r.replay.chunksDestroyed}`],
    ["failed here only", r.failedHereOnly],
    ["succeeded here only", r.succeededHereOnly],
    ["unmatched frees", r.unmatchedFrees],
    ["peak chunks", r.replay.peakChunks],
    ["populated pages", r.replay.populatedPages],
    ["pcpu_nr_pages", r.replay.pcpuNrPages],
    ["empty populated pages", r.replay.emptyPopPages],
  ];
  if (r.fragmentation !== null) {
    rows.push(
      ["free bytes", r.fragmentation.freeBytes],
      ["sum_frag", r.fragmentation.sumFrag],
      ["max_frag", r.fragmentation.maxFrag],
    );
  }
  return formatTable(rows);
}

/** A booted kernel and the action run on it. */
export class Session {
  readonly config: KernelConfig;
  readonly kernel: Kernel;
  readonly info: KernelInfo;
  /** The frame index the kernel is at (0 after boot). */
  at: number;
  /** Whether the action ran to its end. */
  finished: boolean;
  private parsed: ParsedTrace | null;

  /**
   * Boots `config`.
   * @throws ConfigError for a config the kernel app refuses; BootError when setup panics
   */
  constructor(config: KernelConfig) {
    this.config = config;
    this.kernel = bootKernel(config);
    this.info = kernelInfo(this.kernel);
    this.at = 0;
    this.finished = false;
    this.parsed = null;
  }

  /** The kernel now as frame `index`. */
  frame(index: number, label: string): Frame {
    return takeFrame(this.kernel, index, label);
  }

  /**
   * Runs `action` on this (freshly booted) kernel, calling `onFrame` after
   * every progress tick and once at the end. With `stopAt`, stops right
   * after the frame of that index was reached (no frame is taken then
   * unless `onFrame` is given).
   * @throws TraceParseError for a trace that does not parse; RangeError for bad ops/scale
   */
  run(action: Action, onFrame: ((f: Frame) => void) | null, stopAt = Number.POSITIVE_INFINITY): ActionResult {
    if (this.at !== 0) throw new Error("a session runs one action on a freshly booted kernel");
    if (stopAt <= 0) return { frames: 1, summary: "", stopped: true };
    const k = this.kernel;
    const unit = action.kind === "workload" ? "op" : "event";
    const onProgress = (done: number, total: number) => {
      this.at++;
      if (onFrame !== null) onFrame(takeFrame(k, this.at, `${unit} ${done}/${total}`));
      if (this.at >= stopAt) throw new StopAtTick();
    };
    let summary: string;
    try {
      if (action.kind === "workload") {
        if (!WORKLOAD_NAMES.includes(action.name)) throw new RangeError(`unknown workload ${action.name}`);
        const s = runWorkload(k, action.name, { ops: action.ops, scale: action.scale, onProgress });
        summary = summaryTable(s);
      } else {
        this.parsed ??= parseTraceForReplay(action.text);
        summary = replayTable(action.fileName, replayTrace(k, this.parsed, { onProgress }));
      }
    } catch (e) {
      if (e instanceof StopAtTick) return { frames: this.at + 1, summary: "", stopped: true };
      throw e;
    }
    this.at++;
    this.finished = true;
    if (onFrame !== null) onFrame(takeFrame(k, this.at, "done"));
    return { frames: this.at + 1, summary, stopped: false };
  }

  /**
   * The bytes of an allocation on every possible CPU: `per_cpu_ptr(ptr, cpu)`
   * read through the page table.
   */
  bytes(ptr: number, size: number): { cpu: number; addr: string; bytes: Uint8Array }[] {
    const k = this.kernel;
    const out: { cpu: number; addr: string; bytes: Uint8Array }[] = [];
    for (let cpu = 0; cpu < k.config.cpus; cpu++) {
      const addr = k.percpu.perCpuPtr(ptr as never, cpu);
      out.push({ cpu, addr: k.formatAddr(addr), bytes: k.machine.mem.copyOut(addr, size) });
    }
    return out;
  }

  /** The trace file of what this kernel did (the tracing `trace` file). */
  traceText(): string {
    return this.kernel.trace();
  }
}
