/*
 * A running kernel: the public percpu API (include/linux/percpu.h), memory
 * access through the page table, this_cpu operations on a chosen CPU, the
 * workqueue (kworker), and the files a user reads on a live system: dmesg,
 * debugfs percpu_stats, /proc/meminfo and the tracing `trace` file.
 *
 * The object wraps one assembled Machine + Percpu; the underlying objects
 * stay reachable (`machine`, `pcpu`) for tools that need more.
 */

import { LOGLEVEL_DEBUG, type LogLevel, type Machine } from "@pcpu/mm";
import {
  allocPercpuGfp,
  allocReservedPercpu,
  DEFAULT_CALL_SITE,
  freePercpu,
  type PcpuArchHooks,
  type PcpuCodetag,
  type PcpuPtr,
  type PcpuTraceEvent,
  type PcpuTraceSink,
  type PcpuValue,
  type PcpuWidth,
  type Percpu,
  perCpuPtr,
  procAllocinfo,
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
  percpuStatsJson,
  percpuStatsText,
  type TraceFraming,
} from "@pcpu/percpu-stats";
import { AllocTagOpts, builtinCallSiteTags } from "./alloc-tags.js";
import type { GfpArg, KernelCounters, ResolvedKernelConfig } from "./api.js";
import {
  checkAddr,
  checkAllocOpts,
  checkCpu,
  checkPtr,
  checkSizeT,
  checkValue,
  checkWidth,
  gfpFlags,
  KernelApiError,
  refuse,
} from "./boundary.js";
import { CallSiteTracker } from "./call-sites.js";
import { type KernelCgroupApi, kernelCgroupApi } from "./cgroup.js";
import { LOG_LEVEL_NAMES, type LogLevelName, parseLogLevel } from "./log-level.js";
import { meminfo as procMeminfo, vmallocinfo as procVmallocinfo } from "./proc.js";
import { ptrAdd } from "./ptr.js";

export { gfpFlags, KernelApiError } from "./boundary.js";

/** The `%pS` the core records for a caller that names none. */
const UNNAMED_CALL_SITE = DEFAULT_CALL_SITE;

/** Options of one allocation (the `%pS` call site the alloc tracepoint prints). */
export interface KernelAllocOpts {
  readonly callSite?: string;
  /**
   * The call site's alloc tag for CONFIG_MEM_ALLOC_PROFILING (default: the
   * one `callSite` maps to, see alloc-tags.ts).
   */
  readonly tag?: PcpuCodetag;
}

/**
 * The tracepoint sink of a kernel: counts chunk creation and destruction
 * for the summaries and forwards every event to the trace buffer when
 * tracing is on.
 *
 * Tracing starts after boot: setup_per_cpu_areas runs long before the
 * tracing subsystem is initialised (even `trace_event=` on the command line
 * takes effect later), so the first chunk's `percpu_create_chunk` reaches
 * no trace buffer. `tracing` stays false until assembly has booted the
 * kernel; the counters see every event.
 */
export class KernelTraceSink implements PcpuTraceSink {
  readonly counters: KernelCounters;
  readonly recorder: PcpuTraceRecorder | null;
  /** Whether events reach the trace buffer (false during early boot). */
  tracing = false;

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
    if (this.recorder !== null && this.tracing) this.recorder.emit(ev);
  }
}

/**
 * The ftrace framing of an event from the machine's context: the current
 * task, the irq-info flags (irqs off, softirq/hardirq, preempt depth) and a
 * trace clock that advances one microsecond per event. The clock starts at
 * 1 us: 0.000000 is early boot, before any trace buffer exists, and only
 * the boot-time event of older traces carries it (see replayTrace).
 */
export function kernelTraceFraming(machine: () => Machine | null): (ev: PcpuTraceEvent) => TraceFraming {
  let clockUs = 1;
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
  /** The cgroup v2 memory controller (refused when `memcg` is off). */
  readonly cgroup: KernelCgroupApi;
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
    this.cgroup = kernelCgroupApi(p.machine, p.config.memcg);
    const pcpu = p.pcpu;
    const counters = p.counters;
    /* size_t and unsigned long width, and the machine's address space (see boundary.ts). */
    const bits = pcpu.machine.bits;
    const vaBits = p.machine.config.vaBits;
    const vaEnd = 2 ** vaBits;
    const ptrBits = bits === 32 ? 32 : 53;
    const nrCpus = pcpu.nrCpuIds;
    const possibleMask = pcpu.cpuPossibleMask;
    const tracking = this.tracking;
    /* CONFIG_MEM_ALLOC_PROFILING: alloc_hooks() tags every call site; the built-in ones exist from boot */
    const tagOpts = pcpu.allocTags === null ? null : new AllocTagOpts();
    if (pcpu.allocTags !== null) pcpu.allocTags.register(builtinCallSiteTags());
    this.percpu = {
      alloc(size, align, gfp = "GFP_KERNEL", opts) {
        checkSizeT("percpu.alloc", "size", size, bits);
        checkSizeT("percpu.alloc", "align", align, bits);
        const flags = gfpFlags(gfp, "percpu.alloc");
        checkAllocOpts("percpu.alloc", opts);
        const ptr = allocPercpuGfp(pcpu, size, align, flags, tagOpts === null ? opts : tagOpts.of(opts));
        if (ptr === null) counters.failures++;
        else counters.allocs++;
        if (tracking.sites !== null)
          tracking.sites.alloc(opts?.callSite ?? UNNAMED_CALL_SITE, size, align, false, ptr);
        return ptr;
      },
      allocReserved(size, align, opts) {
        checkSizeT("percpu.allocReserved", "size", size, bits);
        checkSizeT("percpu.allocReserved", "align", align, bits);
        checkAllocOpts("percpu.allocReserved", opts);
        const ptr = allocReservedPercpu(pcpu, size, align, tagOpts === null ? opts : tagOpts.of(opts));
        if (ptr === null) counters.failures++;
        else counters.allocs++;
        if (tracking.sites !== null)
          tracking.sites.alloc(opts?.callSite ?? UNNAMED_CALL_SITE, size, align, true, ptr);
        return ptr;
      },
      free(ptr) {
        if (ptr !== null) checkPtr("percpu.free", "ptr", ptr, ptrBits);
        const ok = freePercpu(pcpu, ptr);
        if (ok && ptr !== null && ptr !== 0) {
          counters.frees++;
          if (tracking.sites !== null) tracking.sites.free(ptr);
        }
        return ok;
      },
      perCpuPtr(ptr, cpu) {
        checkPtr("percpu.perCpuPtr", "ptr", ptr, ptrBits);
        checkCpu("percpu.perCpuPtr", cpu, nrCpus, possibleMask);
        return perCpuPtr(pcpu, ptr, cpu);
      },
      nrPages: () => pcpu.pcpuNrPages(),
    };
    const m = p.machine.mem;
    this.mem = {
      read<W extends PcpuWidth>(addr: number, width: W): PcpuValue<W> {
        checkAddr("mem.read", "addr", addr, vaBits, vaEnd);
        checkWidth("mem.read", width);
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
        checkAddr("mem.write", "addr", addr, vaBits, vaEnd);
        checkWidth("mem.write", width);
        checkValue("mem.write", "value", width, value);
        if (width === 8) m.write64(addr, BigInt.asUintN(64, value as bigint));
        else if (width === 4) m.write32(addr, (value as number) >>> 0);
        else if (width === 2) m.write16(addr, (value as number) & 0xffff);
        else m.write8(addr, (value as number) & 0xff);
      },
    };
    /* this_cpu_*(ptr, width[, value]): the pointer, the width and every value checked first. */
    const op = (fn: string, ptr: unknown, width: unknown): void => {
      checkPtr(fn, "ptr", ptr, ptrBits);
      checkWidth(fn, width);
    };
    this.thisCpu = {
      read(ptr, width) {
        op("thisCpu.read", ptr, width);
        return thisCpuRead(pcpu, ptr, width);
      },
      write(ptr, width, v) {
        op("thisCpu.write", ptr, width);
        checkValue("thisCpu.write", "value", width, v);
        thisCpuWrite(pcpu, ptr, width, v);
      },
      add(ptr, width, v) {
        op("thisCpu.add", ptr, width);
        checkValue("thisCpu.add", "value", width, v);
        thisCpuAdd(pcpu, ptr, width, v);
      },
      sub(ptr, width, v) {
        op("thisCpu.sub", ptr, width);
        checkValue("thisCpu.sub", "value", width, v);
        thisCpuSub(pcpu, ptr, width, v);
      },
      inc(ptr, width) {
        op("thisCpu.inc", ptr, width);
        thisCpuInc(pcpu, ptr, width);
      },
      dec(ptr, width) {
        op("thisCpu.dec", ptr, width);
        thisCpuDec(pcpu, ptr, width);
      },
      xchg(ptr, width, v) {
        op("thisCpu.xchg", ptr, width);
        checkValue("thisCpu.xchg", "value", width, v);
        return thisCpuXchg(pcpu, ptr, width, v);
      },
      cmpxchg(ptr, width, old, v) {
        op("thisCpu.cmpxchg", ptr, width);
        checkValue("thisCpu.cmpxchg", "old", width, old);
        checkValue("thisCpu.cmpxchg", "value", width, v);
        return thisCpuCmpxchg(pcpu, ptr, width, old, v);
      },
    };
  }

  /**
   * Runs `fn` on CPU `cpu` in process context (the task migrates there and
   * back), with the this_cpu operations of that CPU.
   */
  onCpu<T>(cpu: number, fn: (thisCpu: ThisCpuOps) => T): T {
    checkCpu("onCpu", cpu, this.pcpu.nrCpuIds, this.pcpu.cpuPossibleMask);
    if (typeof fn !== "function") refuse("onCpu", "fn", "a function", fn);
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

  /**
   * The kernel log as `dmesg -t` shows it, down to `level` (default: debug
   * included): a number 0-7 or a name (`"info"`, `"warn"`, `"KERN_ERR"`).
   */
  dmesg(level: LogLevel | LogLevelName = LOGLEVEL_DEBUG): string[] {
    const l = parseLogLevel(level);
    if (l === null) refuse("dmesg", "level", `a log level (${LOG_LEVEL_NAMES.join(", ")} or 0-7)`, level);
    return this.machine.log.dmesg(l);
  }

  /** A debugfs file; only `percpu_stats` (CONFIG_PERCPU_STATS) exists. */
  debugfs(name: "percpu_stats"): string {
    if (typeof name !== "string") refuse("debugfs", "name", "a file name (string)", name);
    if (name !== "percpu_stats")
      throw new KernelApiError(`debugfs: ${name}: No such file or directory`, "debugfs", "name", name);
    if (this.stats === null) {
      throw new KernelApiError(
        "debugfs: percpu_stats: No such file or directory (CONFIG_PERCPU_STATS is off)",
        "debugfs",
        "name",
        name,
      );
    }
    return percpuStatsText(this.stats, this.pcpu);
  }

  /** percpu_stats as data; null when stats are off. */
  statsJson(): PercpuStatsJson | null {
    return this.stats === null ? null : percpuStatsJson(this.stats, this.pcpu);
  }

  /**
   * /proc/meminfo as far as the model fills it: MemTotal, MemFree,
   * VmallocTotal, VmallocUsed, VmallocChunk and Percpu (3.18+), in the
   * kernel's order and layout.
   */
  meminfo(): string {
    return procMeminfo(this.machine, this.config.era, this.pcpu.pcpuNrPages());
  }

  /**
   * /proc/allocinfo (CONFIG_MEM_ALLOC_PROFILING): the header, then every
   * percpu call site's live bytes (one unit's worth per object) and calls.
   * The file does not exist without profiling.
   */
  allocinfo(): string {
    if (this.pcpu.allocTags === null)
      throw new KernelApiError(
        "/proc/allocinfo: No such file or directory (CONFIG_MEM_ALLOC_PROFILING is off)",
        "allocinfo",
        "config",
        this.config.allocProfiling,
      );
    return procAllocinfo(this.pcpu.allocTags.tags);
  }

  /** /proc/vmallocinfo: the vmalloc areas of the percpu chunks. */
  vmallocinfo(): string {
    return procVmallocinfo(this.machine);
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

  /** An address as the arch prints it (`%px`, no 0x): `ffffffff82026000` on x86_64. */
  formatAddr(addr: number): string {
    checkAddr("formatAddr", "addr", addr, this.machine.config.vaBits, 2 ** this.machine.config.vaBits);
    return this.machine.formatAddr(addr);
  }

  /** `ptr + off` as C computes it on this kernel's arch (32-bit arches wrap). */
  ptrAdd(ptr: PcpuPtr, off: number): PcpuPtr {
    return ptrAdd(ptr, off, this.machine.bits);
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
