/*
 * Running a trace: boot its configuration, apply each operation, run every
 * check of checks.ts after each step, then free everything, run the balance
 * work and check that nothing leaked. The first problem stops the run with
 * a ReliabilityViolation that carries the step and the whole trace, so the
 * message is itself the replay:
 *
 *   replay(parseTrace(text))   runs the same steps and fails the same way
 *
 * What counts as a problem:
 *   - any check of checks.ts failing after a step;
 *   - a new allocation that is not zero or not aligned on some CPU;
 *   - a sleeping allocation returning NULL although no fault was injected
 *     during it (atomic ones may fail: they only use populated pages);
 *   - a reserved allocation failing while the reserved chunk had room;
 *   - free_percpu refusing a live pointer;
 *   - a this_cpu operation returning a value the shadow disagrees with;
 *   - misuse that is not caught the kernel's way (NULL / WARN / BUG with
 *     its message) or that changes any allocator or page count;
 *   - any exception escaping the kernel (oops, BUG, invariant error).
 */

import {
  GFP_ATOMIC,
  GFP_KERNEL,
  GFP_NOWAIT,
  MAX_PAGE_ORDER,
  type Machine,
  SleepInAtomicError,
} from "@pcpu/mm";
import {
  allocPercpuGfp,
  allocReservedPercpu,
  freePercpu,
  type PcpuPtr,
  PcpuUseAfterFreeError,
  type PcpuWidth,
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
import { type Op, type OpContext, type ReliabilityTrace, type RunReport, TRACE_VERSION } from "./api.js";
import { bootSubject, createdChunks, type Subject } from "./boot.js";
import { type Baseline, checkAll, checkNoLeak, checkZero, reservedRoom, takeBaseline } from "./checks.js";
import { operandValue, patternBytes, ShadowAlloc, shadowLoad, shadowThisCpu } from "./shadow.js";

/** A broken promise, found at `step` (-1: boot, ops.length: the final free-everything phase). */
export class ReliabilityViolation extends Error {
  readonly step: number;
  readonly detail: string;
  readonly trace: ReliabilityTrace;
  constructor(trace: ReliabilityTrace, step: number, detail: string) {
    const where =
      step < 0
        ? "boot"
        : step >= trace.ops.length
          ? "final free-everything phase"
          : `step ${step} ${JSON.stringify(trace.ops[step])}`;
    super(
      `reliability violation at ${where}: ${detail}\nreplay this trace with replay(parseTrace(<json>)):\n${formatTrace(trace)}`,
    );
    this.name = "ReliabilityViolation";
    this.step = step;
    this.detail = detail;
    this.trace = trace;
  }
}

/** A trace as one line of JSON. */
export function formatTrace(t: ReliabilityTrace): string {
  return JSON.stringify(t);
}

/**
 * Parses a trace printed by a failing run.
 * @throws TypeError when the text is not a trace of this version
 */
export function parseTrace(text: string): ReliabilityTrace {
  let t: unknown;
  try {
    t = JSON.parse(text);
  } catch (e) {
    throw new TypeError(`not a reliability trace: ${(e as Error).message}`);
  }
  const o = t as Partial<ReliabilityTrace> | null;
  if (
    o === null ||
    typeof o !== "object" ||
    o.version !== TRACE_VERSION ||
    typeof o.config !== "object" ||
    !Array.isArray(o.ops)
  ) {
    throw new TypeError(`not a reliability trace of version ${TRACE_VERSION}`);
  }
  if (typeof o.seed !== "number") throw new TypeError("reliability trace: seed must be a number");
  return o as ReliabilityTrace;
}

export function emptyReport(): RunReport {
  return {
    ops: 0,
    allocs: 0,
    atomicAllocs: 0,
    atomicFailures: 0,
    reservedAllocs: 0,
    reservedFailures: 0,
    reservedFitRefusals: 0,
    chunkOrderFailures: 0,
    frees: 0,
    thisCpuOps: 0,
    writes: 0,
    balanceRuns: 0,
    faultsArmed: 0,
    faultsInjected: 0,
    failedByFault: 0,
    misuseCaught: 0,
    checks: 0,
    peakLive: 0,
    peakChunks: 0,
    violations: 0,
  };
}

/** Adds `r` into `sum` (peaks take the maximum). */
export function addReport(sum: RunReport, r: RunReport): void {
  for (const k of Object.keys(sum) as (keyof RunReport)[]) {
    sum[k] = k === "peakLive" || k === "peakChunks" ? Math.max(sum[k], r[k]) : sum[k] + r[k];
  }
}

const FAULT_SITES = ["page_alloc", "vmalloc", "kmalloc", "memblock"] as const;

function injected(m: Machine): number {
  let n = 0;
  for (const s of FAULT_SITES) n += m.faults.failures(s);
  return n;
}

/** Everything a misuse must leave as it was: per-chunk and global counts. */
function stateKey(s: Subject): string {
  const p = s.pcpu;
  const parts: (number | boolean)[] = [
    p.nrPopulated,
    p.nrEmptyPopPages,
    s.machine.pageAlloc.nrAllocatedPages(),
    s.machine.wq.pendingCount(),
  ];
  for (const c of [...p.allChunks(), ...(p.reservedChunk ? [p.reservedChunk] : [])]) {
    parts.push(c.id, c.freeBytes, c.nrPopulated, c.nrEmptyPopPages, c.isolated);
  }
  return parts.join(",");
}

function inContext<T>(s: Subject, cpu: number, ctx: OpContext, fn: () => T): T {
  const c = s.machine.ctx;
  return c.runOnCpu(cpu, () => (ctx === "process" ? fn() : c.runAtomic(ctx, fn)));
}

const GFP = { GFP_KERNEL, GFP_NOWAIT, GFP_ATOMIC } as const;

/** Whether percpu-km's chunk block (every unit, 2^order_base_2 pages) is above the page allocator's largest order. */
function kmChunkTooLarge(s: Subject): boolean {
  if (s.population !== "km") return false;
  const pages = s.pcpu.groupSizes[0]! / s.pcpu.constants.PAGE_SIZE;
  const maxOrder = s.machine.config.maxPageOrder ?? MAX_PAGE_ORDER;
  return Math.ceil(Math.log2(pages)) > maxOrder;
}

/** A run in progress. */
class Run {
  readonly s: Subject;
  readonly base: Baseline;
  readonly live: ShadowAlloc[] = [];
  /** Pointers freed during the run (for double-free and use-after-free misuse), newest last. */
  readonly freed: PcpuPtr[] = [];
  readonly r: RunReport = emptyReport();
  readonly le: boolean;
  readonly cpus: number;

  constructor(
    readonly trace: ReliabilityTrace,
    s: Subject,
  ) {
    this.s = s;
    drain(s.machine);
    this.base = takeBaseline(s);
    this.le = s.machine.littleEndian;
    this.cpus = s.pcpu.nrPossibleCpus;
  }

  fail(step: number, detail: string): never {
    throw new ReliabilityViolation(this.trace, step, detail);
  }

  check(step: number): void {
    this.r.checks++;
    const v = checkAll(this.s, this.base, this.live);
    if (v !== null) this.fail(step, v);
    this.r.peakLive = Math.max(this.r.peakLive, this.live.length);
    this.r.peakChunks = Math.max(this.r.peakChunks, createdChunks(this.s).length);
  }

  /** A freshly returned pointer: zero and aligned on every CPU; then give every CPU its own bytes. */
  adopt(step: number, ptr: PcpuPtr, size: number, align: number, reserved: boolean): void {
    const pcpu = this.s.pcpu;
    /* the area allocator's granule: 4 for the bitmap, 2 for the area map */
    const g = pcpu.area.minAllocSize;
    const rounded = (size + g - 1) & ~(g - 1);
    for (let cpu = 0; cpu < this.cpus; cpu++) {
      const a = perCpuPtr(pcpu, ptr, cpu);
      if (a % align !== 0)
        this.fail(step, `cpu ${cpu}'s copy ${this.s.machine.formatAddr(a)} is not aligned to ${align}`);
    }
    const z = checkZero(this.s, { ptr, size: rounded });
    if (z !== null) this.fail(step, z);
    const bytes: Uint8Array[] = [];
    for (let cpu = 0; cpu < this.cpus; cpu++) {
      const b = patternBytes(rounded, step * 131 + cpu);
      this.s.machine.mem.copyIn(perCpuPtr(pcpu, ptr, cpu), b);
      bytes.push(b);
    }
    this.live.push(new ShadowAlloc(ptr, rounded, align, reserved, step, bytes));
  }

  apply(step: number, op: Op): void {
    const { machine: m, pcpu } = this.s;
    const cpuOf = (c: number) => c % this.cpus;
    switch (op.op) {
      case "alloc": {
        const atomic = op.gfp !== "GFP_KERNEL";
        const ctx: OpContext = atomic ? op.ctx : "process";
        const before = injected(m);
        const ptr = inContext(this.s, cpuOf(op.cpu), ctx, () =>
          allocPercpuGfp(pcpu, op.size, op.align, GFP[op.gfp]),
        );
        if (atomic) this.r.atomicAllocs++;
        if (ptr === null) {
          if (injected(m) > before) this.r.failedByFault++;
          else if (atomic) this.r.atomicFailures++;
          /*
           * percpu-km needs every unit in one page block: when that block is
           * above MAX_PAGE_ORDER the page allocator refuses it (WARN_ON_ONCE)
           * and no chunk can ever be created, as in the kernel.
           */ else if (kmChunkTooLarge(this.s)) this.r.chunkOrderFailures++;
          else
            this.fail(
              step,
              `sleeping allocation of 0x${op.size.toString(16)}/${op.align} failed with no fault injected`,
            );
          return;
        }
        this.r.allocs++;
        this.adopt(step, ptr, op.size, op.align, false);
        return;
      }
      case "alloc-reserved": {
        const rc = pcpu.reservedChunk;
        const room =
          rc === null
            ? Number.POSITIVE_INFINITY
            : reservedRoom(this.s, Math.max(op.align, pcpu.area.minAllocSize));
        const before = injected(m);
        const logFrom = m.log.lines().length;
        const ptr = inContext(this.s, cpuOf(op.cpu), "process", () =>
          allocReservedPercpu(pcpu, op.size, op.align),
        );
        this.r.reservedAllocs++;
        if (ptr === null) {
          const g = pcpu.area.minAllocSize;
          const size = (op.size + g - 1) & ~(g - 1);
          const noFit = () =>
            m.log
              .lines()
              .slice(logFrom)
              .some((l) => l.text.endsWith("alloc from reserved chunk failed"));
          if (injected(m) > before) this.r.failedByFault++;
          else if (room < size) this.r.reservedFailures++;
          /*
           * Room exists but the bitmap allocator's fit refused it: the
           * kernel checks the chunk's contig hint (aligned at the hint's
           * start) before scanning, so an aligned fit elsewhere can be
           * missed. Allowed for the bitmap allocator, which is faithful;
           * the area map scans every free area and must find it.
           */ else if (pcpu.area.name === "bitmap" && noFit()) this.r.reservedFitRefusals++;
          else
            this.fail(
              step,
              `reserved allocation of 0x${op.size.toString(16)}/${op.align} failed with an aligned free run of ${room} bytes`,
            );
          return;
        }
        this.adopt(step, ptr, op.size, op.align, true);
        return;
      }
      case "free": {
        if (this.live.length === 0) return;
        const i = op.pick % this.live.length;
        const a = this.live[i]!;
        const ok = inContext(this.s, cpuOf(op.cpu), op.ctx, () => freePercpu(pcpu, a.ptr));
        if (!ok) this.fail(step, `free_percpu refused the live allocation of step ${a.step}`);
        this.live.splice(i, 1);
        this.freed.push(a.ptr);
        if (this.freed.length > 64) this.freed.shift();
        this.r.frees++;
        return;
      }
      case "write": {
        if (this.live.length === 0) return;
        const a = this.live[op.pick % this.live.length]!;
        const cpu = cpuOf(op.cpu);
        const b = patternBytes(a.size, op.seed);
        m.mem.copyIn(perCpuPtr(pcpu, a.ptr, cpu), b);
        a.bytes[cpu] = b;
        this.r.writes++;
        return;
      }
      case "this-cpu":
        this.thisCpu(step, op);
        return;
      case "balance":
        if (op.kick) pcpu.pcpuScheduleBalanceWork();
        m.wq.runPending();
        this.r.balanceRuns++;
        return;
      case "fault":
        m.faults.add({ site: op.site, nth: op.nth, times: op.times });
        this.r.faultsArmed++;
        return;
      case "misuse":
        this.misuse(step, op);
        return;
    }
  }

  thisCpu(step: number, op: Extract<Op, { op: "this-cpu" }>): void {
    const live = this.live.filter((a) => a.size >= op.width);
    if (live.length === 0) return;
    const a = live[op.pick % live.length]!;
    const w = op.width as PcpuWidth;
    const off = (op.at % Math.floor(a.size / w)) * w;
    const ptr = (a.ptr + off) as PcpuPtr;
    const cpu = op.cpu % this.cpus;
    const v = operandValue(w, op.value);
    const shadow = a.bytes[cpu]!;
    /* cmpxchg: odd values expect the current value (the store happens), even ones a different value. */
    const cur = shadowLoad(shadow, off, w, this.le);
    const old = op.value & 1 ? cur : w === 8 ? BigInt(cur) ^ 0x5an : (Number(cur) ^ 0x5a) >>> 0;
    const pcpu = this.s.pcpu;
    const got = this.s.machine.ctx.runOnCpu(cpu, () => {
      switch (op.fn) {
        case "read":
          return thisCpuRead(pcpu, ptr, w);
        case "write":
          thisCpuWrite(pcpu, ptr, w, v as never);
          return undefined;
        case "add":
          thisCpuAdd(pcpu, ptr, w, v as never);
          return undefined;
        case "sub":
          thisCpuSub(pcpu, ptr, w, v as never);
          return undefined;
        case "inc":
          thisCpuInc(pcpu, ptr, w);
          return undefined;
        case "dec":
          thisCpuDec(pcpu, ptr, w);
          return undefined;
        case "xchg":
          return thisCpuXchg(pcpu, ptr, w, v as never);
        case "cmpxchg":
          return thisCpuCmpxchg(pcpu, ptr, w, old as never, v as never);
      }
    });
    const want = shadowThisCpu(shadow, off, op.fn, w, this.le, v, old);
    if (got !== want)
      this.fail(step, `this_cpu_${op.fn} on cpu ${cpu} returned ${String(got)}, expected ${String(want)}`);
    this.r.thisCpuOps++;
  }

  /** Whether `p` lies inside a live allocation (base view). */
  insideLive(p: number): boolean {
    for (const a of this.live) if (p >= a.ptr && p < a.ptr + a.size) return true;
    return false;
  }

  misuse(step: number, op: Extract<Op, { op: "misuse" }>): void {
    const { machine: m, pcpu } = this.s;
    const k = pcpu.constants;
    const arch = pcpu.archHooks();
    const before = stateKey(this.s);
    const logFrom = m.log.lines().length;
    const expectLog = (needle: string | RegExp) => {
      const lines = m.log.lines().slice(logFrom);
      if (!lines.some((l) => (typeof needle === "string" ? l.text.includes(needle) : needle.test(l.text)))) {
        this.fail(
          step,
          `misuse ${op.kind} was not reported with "${needle}" (log: ${JSON.stringify(lines.map((l) => l.text))})`,
        );
      }
    };
    const refusedFree = (ptr: number, needle: string) => {
      const ok = freePercpu(pcpu, ptr as PcpuPtr);
      if (ok) this.fail(step, `free_percpu accepted ${m.formatAddr(ptr)} (${op.kind})`);
      expectLog(needle);
    };

    switch (op.kind) {
      case "free-interior": {
        const big = this.live.filter((a) => a.size > 4);
        if (big.length === 0) return;
        const a = big[op.pick % big.length]!;
        refusedFree(a.ptr + 4 * (1 + (op.value % (a.size / 4 - 1))), "is not a live percpu allocation");
        break;
      }
      case "free-freed": {
        const cands = this.freed.filter((p) => !this.insideLive(p));
        if (cands.length === 0) return;
        const p = cands[op.pick % cands.length]!;
        freePercpu(pcpu, p) &&
          this.fail(step, `free_percpu accepted the freed pointer ${m.formatAddr(p)} (double free)`);
        const lines = m.log.lines().slice(logFrom);
        if (!lines.some((l) => /is not a live percpu allocation|is not in any percpu chunk/.test(l.text))) {
          this.fail(
            step,
            `double free of ${m.formatAddr(p)} not reported (log: ${JSON.stringify(lines.map((l) => l.text))})`,
          );
        }
        break;
      }
      case "free-static": {
        const off = (op.value % Math.max(1, pcpu.section.staticSize >> 2)) << 2;
        refusedFree(arch.addrToPcpuPtr(pcpu.baseAddr + off), "points into the static percpu area");
        break;
      }
      case "free-wild": {
        /*
         * A page near the vmalloc end. pcpu_get_vm_areas places chunks
         * top-down, so a created chunk may cover it: then it is refused as
         * not a live allocation (skipped if it is one's interior).
         */
        const wild = arch.addrToPcpuPtr(m.config.vmallocEnd - k.PAGE_SIZE * (1 + (op.value % 4)));
        if (this.insideLive(wild)) return;
        if (freePercpu(pcpu, wild))
          this.fail(step, `free_percpu accepted the wild pointer ${m.formatAddr(wild)}`);
        expectLog(/is not in any percpu chunk|is not a live percpu allocation/);
        break;
      }
      case "bad-size":
      case "bad-align": {
        const size =
          op.kind === "bad-align"
            ? 16
            : op.value & 1
              ? 0
              : k.PCPU_MIN_UNIT_SIZE + 4 * (1 + (op.value % 0x400));
        const align =
          op.kind === "bad-size"
            ? 8
            : op.value & 1
              ? k.PAGE_SIZE * 2 ** (1 + (op.value % 3))
              : 12 << (op.value % 4);
        const p = allocPercpuGfp(pcpu, size, align, GFP_KERNEL);
        if (p !== null) this.fail(step, `__alloc_percpu(${size}, ${align}) succeeded`);
        const g = pcpu.area.minAllocSize;
        expectLog(`illegal size (${(size + g - 1) & ~(g - 1)}) or align (${align}) for percpu allocation`);
        break;
      }
      case "sleep-in-atomic": {
        const reason = (["spinlock", "softirq", "irq"] as const)[op.value % 3]!;
        try {
          m.ctx.runAtomic(reason, () => allocPercpuGfp(pcpu, 16, 8, GFP_KERNEL));
          this.fail(step, `GFP_KERNEL allocation in ${reason} context did not BUG`);
        } catch (e) {
          if (!(e instanceof SleepInAtomicError)) throw e;
        }
        expectLog("BUG: sleeping function called from invalid context at kernel/locking/mutex.c");
        break;
      }
      case "use-after-free": {
        const cands = this.freed.filter((p) => !this.insideLive(p));
        if (cands.length === 0) return;
        const p = cands[op.pick % cands.length]!;
        try {
          thisCpuRead(pcpu, p, 4);
          this.fail(step, `this_cpu_read through the freed pointer ${m.formatAddr(p)} was allowed`);
        } catch (e) {
          if (!(e instanceof PcpuUseAfterFreeError)) throw e;
        }
        expectLog("which is not a live percpu allocation");
        break;
      }
    }
    const after = stateKey(this.s);
    if (after !== before)
      this.fail(step, `misuse ${op.kind} changed the allocator's state (${before} -> ${after})`);
    this.r.misuseCaught++;
  }

  /** Free everything (in the trace's own order: oldest first), run the balance work, check for leaks. */
  finish(): void {
    const { machine: m, pcpu } = this.s;
    const step = this.trace.ops.length;
    m.faults.clear();
    while (this.live.length > 0) {
      const a = this.live.shift()!;
      if (!freePercpu(pcpu, a.ptr))
        this.fail(step, `free_percpu refused the live allocation of step ${a.step}`);
      this.r.frees++;
    }
    drain(m);
    for (let i = 0; i < 2; i++) {
      pcpu.pcpuScheduleBalanceWork();
      drain(m);
    }
    this.check(step);
    const v = checkNoLeak(this.s, this.base);
    if (v !== null) this.fail(step, v);
    this.r.faultsInjected = injected(m);
  }
}

/** Run the pending work until none is left (bounded). */
function drain(m: Machine): void {
  for (let i = 0; i < 16 && m.wq.pendingCount() > 0; i++) m.wq.runPending();
}

/** Hooks for looking at the kernel while a trace replays (debugging a failure). */
export interface ReplayOptions {
  /** Called before each step with the booted kernel. */
  readonly beforeStep?: (step: number, op: Op, s: Subject) => void;
}

/**
 * Runs a trace with every check after every step.
 * @throws ReliabilityViolation at the first broken promise
 * @returns what the run did
 */
export function replay(trace: ReliabilityTrace, o: ReplayOptions = {}): RunReport {
  let s: Subject;
  try {
    s = bootSubject(trace.config, trace.seed);
  } catch (e) {
    throw new ReliabilityViolation(trace, -1, `boot failed: ${(e as Error).message}`);
  }
  let run: Run;
  try {
    run = new Run(trace, s);
    run.check(-1);
  } catch (e) {
    if (e instanceof ReliabilityViolation) throw e;
    throw new ReliabilityViolation(trace, -1, `${(e as Error).name}: ${(e as Error).message}`);
  }
  let step = 0;
  try {
    for (; step < trace.ops.length; step++) {
      if (o.beforeStep !== undefined) o.beforeStep(step, trace.ops[step]!, s);
      run.apply(step, trace.ops[step]!);
      run.r.ops++;
      run.check(step);
    }
    run.finish();
  } catch (e) {
    if (e instanceof ReliabilityViolation) throw e;
    throw new ReliabilityViolation(trace, step, `${(e as Error).name}: ${(e as Error).message}`);
  }
  return run.r;
}

/** A trace from its parts. */
export function makeTrace(
  config: ReliabilityTrace["config"],
  seed: number,
  ops: readonly Op[],
): ReliabilityTrace {
  return { version: TRACE_VERSION, config, seed, ops };
}
