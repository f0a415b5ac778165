/*
 * A running kernel: the public percpu API (include/linux/percpu.h), memory
 * access through the page table, this_cpu operations on a chosen CPU, the
 * workqueue (kworker), and the files a user reads on a live system: dmesg,
 * debugfs percpu_stats, /proc/meminfo and the tracing `trace` file.
 *
 * The object wraps one assembled Machine + Percpu; the underlying objects
 * stay reachable (`machine`, `pcpu`) for tools that need more.
 */

import { GFP_ATOMIC, GFP_KERNEL, GFP_NOWAIT, LOGLEVEL_DEBUG, type LogLevel, type Machine } from "@pcpu/mm";
import {
  allocPercpuGfp,
  allocReservedPercpu,
  freePercpu,
  type PcpuArchHooks,
  type PcpuPtr,
  type PcpuTraceEvent,
  type PcpuTraceSink,
  type PcpuValue,
  type PcpuWidth,
  type Percpu,
  perCpuPtr,
  thisCpuAdd,
  thisCpuCmpxchg,
  thisCpuDec,
  thisCpuInc,
  thisCpuRead,
  thisCpuSub,
  thisCpuWrite,
  thisCpuXchg,
} from "@pcpu/percpu";
import {
  ftraceFile,
  type PcpuStats,
  type PcpuTraceRecorder,
  type PercpuStatsJson,
  percpuMeminfoLine,
  percpuStatsJson,
  percpuStatsText,
  showValKb,
  type TraceFraming,
} from "@pcpu/percpu-stats";
import type { GfpArg, KernelCounters, ResolvedKernelConfig } from "./api.js";
import { CallSiteTracker } from "./call-sites.js";

/** The `%pS` the core records for a caller that names none. */
const UNNAMED_CALL_SITE = "__alloc_percpu_gfp+0x0/0x0";

/** Options of one allocation (the `%pS` call site the alloc tracepoint prints). */
export interface KernelAllocOpts {
  readonly callSite?: string;
}

/** A misuse of the kernel object by its caller (bad width, unknown debugfs file, ...). */
export class KernelApiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KernelApiError";
  }
}

/** The gfp flags of a GfpArg. */
export function gfpFlags(gfp: GfpArg): number {
  if (typeof gfp === "number") {
    if (!Number.isInteger(gfp) || gfp < 0)
      throw new KernelApiError(`gfp flags must be a non-negative integer, got ${gfp}`);
    return gfp;
  }
  switch (gfp) {
    case "GFP_KERNEL":
      return GFP_KERNEL;
    case "GFP_NOWAIT":
      return GFP_NOWAIT;
    case "GFP_ATOMIC":
      return GFP_ATOMIC;
    default:
      throw new KernelApiError(
        `unknown gfp ${JSON.stringify(gfp)}; use GFP_KERNEL, GFP_NOWAIT or GFP_ATOMIC`,
      );
  }
}

function checkWidth(width: number): asserts width is PcpuWidth {
  if (width !== 1 && width !== 2 && width !== 4 && width !== 8) {
    throw new KernelApiError(`width must be 1, 2, 4 or 8 bytes, got ${width}`);
  }
}

/**
 * The tracepoint sink of a kernel: counts chunk creation and destruction
 * for the summaries and forwards every event to the trace buffer when
 * tracing is on.
 */
export class KernelTraceSink implements PcpuTraceSink {
  readonly counters: KernelCounters;
  readonly recorder: PcpuTraceRecorder | null;

  constructor(counters: KernelCounters, recorder: PcpuTraceRecorder | null) {
    this.counters = counters;
    this.recorder = recorder;
  }

  emit(ev: PcpuTraceEvent): void {
    const c = this.counters;
    if (ev.event === "percpu_create_chunk") {
      c.chunksCreated++;
      c.chunks++;
      if (c.chunks > c.peakChunks) c.peakChunks = c.chunks;
    } else if (ev.event === "percpu_destroy_chunk") {
      c.chunksDestroyed++;
      c.chunks--;
    }
    if (this.recorder !== null) this.recorder.emit(ev);
  }
}

/**
 * The ftrace framing of an event from the machine's context: the current
 * task, the irq-info flags (irqs off, softirq/hardirq, preempt depth) and a
 * trace clock that advances one microsecond per event.
 */
export function kernelTraceFraming(machine: () => Machine | null): (ev: PcpuTraceEvent) => TraceFraming {
  let clockUs = 0;
  return () => {
    const m = machine();
    if (m === null) return { task: "swapper/0", pid: 0, timestampUs: clockUs++, flags: "....." };
    const ctx = m.ctx;
    const reason = ctx.atomicReason();
    const depth = ctx.preemptCount() & 0xff;
    const flags = `${ctx.irqsDisabled() ? "d" : "."}.${reason === "irq" ? "h" : reason === "softirq" ? "s" : "."}${
      depth === 0 ? "." : Math.min(depth, 15).toString(16)
    }.`;
    return { task: ctx.comm, pid: ctx.pid, timestampUs: clockUs++, flags };
  };
}

/** this_cpu operations of the current CPU (inside `onCpu`). */
export interface ThisCpuOps {
  read<W extends PcpuWidth>(ptr: PcpuPtr, width: W): PcpuValue<W>;
  write<W extends PcpuWidth>(ptr: PcpuPtr, width: W, value: PcpuValue<W>): void;
  add<W extends PcpuWidth>(ptr: PcpuPtr, width: W, value: PcpuValue<W>): void;
  sub<W extends PcpuWidth>(ptr: PcpuPtr, width: W, value: PcpuValue<W>): void;
  inc(ptr: PcpuPtr, width: PcpuWidth): void;
  dec(ptr: PcpuPtr, width: PcpuWidth): void;
  xchg<W extends PcpuWidth>(ptr: PcpuPtr, width: W, value: PcpuValue<W>): PcpuValue<W>;
  cmpxchg<W extends PcpuWidth>(ptr: PcpuPtr, width: W, old: PcpuValue<W>, value: PcpuValue<W>): PcpuValue<W>;
}

/** The percpu API of a kernel. */
export interface KernelPercpuApi {
  /** `__alloc_percpu_gfp(size, align, gfp)`: a zeroed area, or null. */
  alloc(size: number, align: number, gfp?: GfpArg, opts?: KernelAllocOpts): PcpuPtr | null;
  /** `__alloc_reserved_percpu(size, align)`: from the reserved chunk, or null. */
  allocReserved(size: number, align: number, opts?: KernelAllocOpts): PcpuPtr | null;
  /** `free_percpu(ptr)`; false when refused as misuse (a WARN is logged). */
  free(ptr: PcpuPtr | null): boolean;
  /** `per_cpu_ptr(ptr, cpu)`: the virtual address of CPU `cpu`'s copy. */
  perCpuPtr(ptr: PcpuPtr, cpu: number): number;
  /** `pcpu_nr_pages()`. */
  nrPages(): number;
}

/** Loads and stores on kernel virtual addresses (through the page table; an unmapped address oopses). */
export interface KernelMemApi {
  read<W extends PcpuWidth>(addr: number, width: W): PcpuValue<W>;
  write<W extends PcpuWidth>(addr: number, width: W, value: PcpuValue<W>): void;
}

/** The numbers summaries report. */
export interface KernelSnapshot {
  readonly allocs: number;
  readonly frees: number;
  readonly failures: number;
  readonly chunksCreated: number;
  readonly chunksDestroyed: number;
  readonly chunks: number;
  readonly peakChunks: number;
  /** Populated pages per unit over every chunk (`pcpu_nr_populated`). */
  readonly populatedPages: number;
  /** `pcpu_nr_pages()`: populated pages times units. */
  readonly pcpuNrPages: number;
  /** `pcpu_nr_empty_pop_pages`. */
  readonly emptyPopPages: number;
}

/** What assembleKernel hands to the Kernel. */
export interface KernelParts {
  readonly config: ResolvedKernelConfig;
  readonly machine: Machine;
  readonly pcpu: Percpu;
  readonly arch: PcpuArchHooks;
  readonly stats: PcpuStats | null;
  readonly recorder: PcpuTraceRecorder | null;
  readonly counters: KernelCounters;
}

/** A booted kernel. */
export class Kernel {
  readonly config: ResolvedKernelConfig;
  /** The machine (memory, page allocator, vmalloc, log, context, workqueue). */
  readonly machine: Machine;
  /** The percpu allocator state (mm/percpu.c globals). */
  readonly pcpu: Percpu;
  /** The arch hooks installed by setup_per_cpu_areas. */
  readonly arch: PcpuArchHooks;
  /** CONFIG_PERCPU_STATS counters; null when stats are off. */
  readonly stats: PcpuStats | null;
  /** The trace buffer; null when tracing is off. */
  readonly recorder: PcpuTraceRecorder | null;
  /** Counts of the API calls and chunk events. */
  readonly counters: KernelCounters;
  readonly percpu: KernelPercpuApi;
  readonly mem: KernelMemApi;
  /** The this_cpu operations; valid for the current CPU (use `onCpu`). */
  readonly thisCpu: ThisCpuOps;
  /** The per-call-site accounting, once `trackCallSites()` turned it on. */
  private readonly tracking: { sites: CallSiteTracker | null } = { sites: null };

  constructor(p: KernelParts) {
    this.config = p.config;
    this.machine = p.machine;
    this.pcpu = p.pcpu;
    this.arch = p.arch;
    this.stats = p.stats;
    this.recorder = p.recorder;
    this.counters = p.counters;
    const pcpu = p.pcpu;
    const counters = p.counters;
    const tracking = this.tracking;
    this.percpu = {
      alloc(size, align, gfp = "GFP_KERNEL", opts) {
        const ptr = allocPercpuGfp(pcpu, size, align, gfpFlags(gfp), opts);
        if (ptr === null) counters.failures++;
        else counters.allocs++;
        if (tracking.sites !== null)
          tracking.sites.alloc(opts?.callSite ?? UNNAMED_CALL_SITE, size, align, false, ptr);
        return ptr;
      },
      allocReserved(size, align, opts) {
        const ptr = allocReservedPercpu(pcpu, size, align, opts);
        if (ptr === null) counters.failures++;
        else counters.allocs++;
        if (tracking.sites !== null)
          tracking.sites.alloc(opts?.callSite ?? UNNAMED_CALL_SITE, size, align, true, ptr);
        return ptr;
      },
      free(ptr) {
        const ok = freePercpu(pcpu, ptr);
        if (ok && ptr !== null) {
          counters.frees++;
          if (tracking.sites !== null) tracking.sites.free(ptr);
        }
        return ok;
      },
      perCpuPtr(ptr, cpu) {
        if (!Number.isInteger(cpu) || cpu < 0 || cpu >= pcpu.nrPossibleCpus) {
          throw new KernelApiError(`cpu ${cpu} is not a possible CPU (0-${pcpu.nrPossibleCpus - 1})`);
        }
        return perCpuPtr(pcpu, ptr, cpu);
      },
      nrPages: () => pcpu.pcpuNrPages(),
    };
    const m = p.machine.mem;
    this.mem = {
      read<W extends PcpuWidth>(addr: number, width: W): PcpuValue<W> {
        checkWidth(width);
        const v =
          width === 1
            ? m.read8(addr)
            : width === 2
              ? m.read16(addr)
              : width === 4
                ? m.read32(addr)
                : m.read64(addr);
        return v as PcpuValue<W>;
      },
      write<W extends PcpuWidth>(addr: number, width: W, value: PcpuValue<W>): void {
        checkWidth(width);
        if (width === 8) m.write64(addr, BigInt.asUintN(64, BigInt(value)));
        else if (width === 4) m.write32(addr, Number(value) >>> 0);
        else if (width === 2) m.write16(addr, Number(value) & 0xffff);
        else m.write8(addr, Number(value) & 0xff);
      },
    };
    this.thisCpu = {
      read: (ptr, width) => thisCpuRead(pcpu, ptr, width),
      write: (ptr, width, v) => thisCpuWrite(pcpu, ptr, width, v),
      add: (ptr, width, v) => thisCpuAdd(pcpu, ptr, width, v),
      sub: (ptr, width, v) => thisCpuSub(pcpu, ptr, width, v),
      inc: (ptr, width) => thisCpuInc(pcpu, ptr, width),
      dec: (ptr, width) => thisCpuDec(pcpu, ptr, width),
      xchg: (ptr, width, v) => thisCpuXchg(pcpu, ptr, width, v),
      cmpxchg: (ptr, width, old, v) => thisCpuCmpxchg(pcpu, ptr, width, old, v),
    };
  }

  /**
   * Runs `fn` on CPU `cpu` in process context (the task migrates there and
   * back), with the this_cpu operations of that CPU.
   */
  onCpu<T>(cpu: number, fn: (thisCpu: ThisCpuOps) => T): T {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.pcpu.nrPossibleCpus) {
      throw new KernelApiError(`cpu ${cpu} is not a possible CPU (0-${this.pcpu.nrPossibleCpus - 1})`);
    }
    return this.machine.ctx.runOnCpu(cpu, () => fn(this.thisCpu));
  }

  /**
   * Turns on per-call-site accounting (allocations, frees, failures, live
   * and peak bytes, leaks) from now on; returns the tracker (the same one
   * when already on).
   */
  trackCallSites(): CallSiteTracker {
    this.tracking.sites ??= new CallSiteTracker(this.pcpu.nrPossibleCpus);
    return this.tracking.sites;
  }

  /** The per-call-site tracker; null until `trackCallSites()`. */
  get callSites(): CallSiteTracker | null {
    return this.tracking.sites;
  }

  /** Runs the pending work items (the percpu balance work); returns how many ran. */
  runWork(): number {
    return this.machine.wq.runPending();
  }

  /** The kernel log as `dmesg -t` shows it, down to `level` (default: debug included). */
  dmesg(level: LogLevel = LOGLEVEL_DEBUG): string[] {
    return this.machine.log.dmesg(level);
  }

  /** A debugfs file; only `percpu_stats` (CONFIG_PERCPU_STATS) exists. */
  debugfs(name: "percpu_stats"): string {
    if (name !== "percpu_stats") throw new KernelApiError(`debugfs: ${name}: No such file or directory`);
    if (this.stats === null) {
      throw new KernelApiError(
        "debugfs: percpu_stats: No such file or directory (CONFIG_PERCPU_STATS is off)",
      );
    }
    return percpuStatsText(this.stats, this.pcpu);
  }

  /** percpu_stats as data; null when stats are off. */
  statsJson(): PercpuStatsJson | null {
    return this.stats === null ? null : percpuStatsJson(this.stats, this.pcpu);
  }

  /** The MemTotal, MemFree and Percpu lines of /proc/meminfo. */
  meminfo(): string {
    const pa = this.machine.pageAlloc;
    const shift = this.machine.pageShift;
    let total = 0;
    for (const n of pa.counters()) total += n.managedPages;
    return (
      showValKb("MemTotal:       ", total, shift) +
      showValKb("MemFree:        ", pa.nrFreePages(), shift) +
      percpuMeminfoLine(this.pcpu.pcpuNrPages(), shift)
    );
  }

  /** The tracing `trace` file of the recorded percpu events (empty buffer when tracing is off). */
  trace(): string {
    const records = this.recorder === null ? [] : this.recorder.records;
    return ftraceFile(records, {
      nrCpus: this.pcpu.nrPossibleCpus,
      written: this.recorder === null ? 0 : this.recorder.written,
      formatPtr: (a) => this.machine.formatAddr(a),
    });
  }

  /** An address as the arch prints it (`%px`, no 0x). */
  formatAddr(addr: number): string {
    return this.machine.formatAddr(addr);
  }

  /** The numbers of the summaries. */
  snapshot(): KernelSnapshot {
    const c = this.counters;
    return {
      allocs: c.allocs,
      frees: c.frees,
      failures: c.failures,
      chunksCreated: c.chunksCreated,
      chunksDestroyed: c.chunksDestroyed,
      chunks: c.chunks,
      peakChunks: c.peakChunks,
      populatedPages: this.pcpu.nrPopulated,
      pcpuNrPages: this.pcpu.pcpuNrPages(),
      emptyPopPages: this.pcpu.nrEmptyPopPages,
    };
  }
}
