/*
 * The library API under adversarial input (issue 18): a run boots two or
 * more kernels of the matrix with @pcpu/kernel's bootKernel and drives them
 * only through the public Kernel object (percpu.*, mem.*, onCpu + this_cpu,
 * runWork, debugfs, dmesg, ...) with a random mix of valid and invalid
 * calls. Invalid arguments come from a fixed table of garbage (bigints, NaN,
 * non-integers, negatives, values past the C type's range, strings,
 * undefined, objects), so a trace stays plain JSON.
 *
 * Every call is judged by an oracle written from the README's contract, not
 * from the boundary's code: the first argument that is not a value of its C
 * type must be refused with a KernelApiError naming it and carrying the
 * value as given, with the kernel untouched; a well-typed call gets the
 * kernel's behaviour (pcpu_alloc's WARN + NULL for an illegal size or
 * alignment, free_percpu's WARN + false for a pointer it does not own).
 * After every step, on every kernel: no lock or mutex held, the task back
 * on CPU 0 in process context, the invariant checker clean, page counts
 * explained, no overlap, every live allocation's bytes as the shadow says.
 * Each call runs under a step budget (pcpu_lock acquisitions), so a hang is
 * a failure, not a stuck process. At the end everything is freed and the
 * balance work queued and run twice: nothing leaks (checkNoLeak).
 */

import {
  bootKernel,
  type Kernel,
  KernelApiError,
  runWorkload,
  type ThisCpuOps,
  WORKLOAD_NAMES,
  type WorkloadName,
} from "@pcpu/kernel";
import { MAX_PAGE_ORDER } from "@pcpu/mm";
import type { PcpuPtr, PcpuWidth } from "@pcpu/percpu";
import type { AppKernelConfig, ThisCpuFn } from "./api.js";
import { nodeCpulists, type Subject } from "./boot.js";
import { type Baseline, checkAll, checkNoLeak, checkZero, takeBaseline } from "./checks.js";
import { operandValue, patternBytes, ShadowAlloc, shadowLoad, shadowThisCpu } from "./shadow.js";

/** Trace format version of the API fuzz traces. */
export const API_TRACE_VERSION = 1;

/**
 * Values that are not what the API asks for (or are, by chance: 2^31 is a
 * valid size_t, -0 a valid CPU). Ops refer to them by index.
 */
export const GARBAGE: readonly unknown[] = [
  8n,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  1.5,
  -1,
  2 ** 31,
  2 ** 32 + 4,
  2 ** 53,
  2 ** 64,
  "abc",
  "16",
  undefined,
  null,
  {},
  [],
  true,
  -0,
  0x200,
  0xffff_ffff,
  2 ** 40 + 7,
  -(2 ** 31) - 1,
  2 ** 32,
  0xffff_fffd,
  -(2n ** 63n),
  2n ** 64n,
];

/** An argument replaced by garbage: its name and the GARBAGE index. */
export interface Bad {
  readonly arg: string;
  readonly g: number;
}

export type ApiGfp = "GFP_KERNEL" | "GFP_NOWAIT" | "GFP_ATOMIC" | number;
export type ApiQuery =
  | "debugfs"
  | "dmesg"
  | "meminfo"
  | "trace"
  | "snapshot"
  | "statsJson"
  | "nrPages"
  | "perCpuPtr"
  | "formatAddr";

export type ApiOp =
  | {
      readonly op: "alloc";
      readonly k: number;
      readonly size: number;
      readonly align: number;
      readonly gfp: ApiGfp;
      readonly bad?: Bad;
    }
  | {
      readonly op: "alloc-reserved";
      readonly k: number;
      readonly size: number;
      readonly align: number;
      readonly bad?: Bad;
    }
  | { readonly op: "free"; readonly k: number; readonly pick: number; readonly bad?: Bad }
  | {
      readonly op: "free-misuse";
      readonly k: number;
      readonly kind: "double" | "interior" | "wild";
      readonly pick: number;
      readonly value: number;
    }
  | {
      readonly op: "this-cpu";
      readonly k: number;
      readonly pick: number;
      readonly cpu: number;
      readonly fn: ThisCpuFn;
      readonly width: PcpuWidth;
      readonly at: number;
      readonly value: number;
      readonly bad?: Bad;
    }
  | {
      readonly op: "mem";
      readonly k: number;
      readonly pick: number;
      readonly cpu: number;
      readonly write: boolean;
      readonly width: PcpuWidth;
      readonly at: number;
      readonly value: number;
      readonly bad?: Bad;
    }
  | { readonly op: "work"; readonly k: number; readonly kick: boolean }
  | { readonly op: "query"; readonly k: number; readonly what: ApiQuery; readonly bad?: Bad }
  | { readonly op: "throw-in-oncpu"; readonly k: number; readonly cpu: number }
  /** A workload of @pcpu/kernel on the same kernel (it frees what it allocates; ours must keep their bytes). */
  | {
      readonly op: "workload";
      readonly k: number;
      readonly name: WorkloadName;
      readonly ops: number;
      readonly bad?: Bad;
    };

/** A replayable API fuzz run: the kernels alive at once, a seed, the calls. */
export interface ApiTrace {
  readonly version: typeof API_TRACE_VERSION;
  readonly kernels: readonly AppKernelConfig[];
  readonly seed: number;
  readonly ops: readonly ApiOp[];
}

/** What a run did. */
export interface ApiReport {
  calls: number;
  /** Calls refused with a KernelApiError, as the oracle expected. */
  refused: number;
  /** Well-typed allocations the kernel refused with its WARN and NULL (illegal size / align). */
  kernelNull: number;
  /** free_percpu misuse refused with the kernel's WARN (false). */
  freeRefused: number;
  allocs: number;
  atomicFailures: number;
  frees: number;
  thisCpuOps: number;
  memOps: number;
  workRuns: number;
  queries: number;
  callbackThrows: number;
  workloads: number;
  /** Full checks run (every kernel after every step, and at the end). */
  checks: number;
  peakLive: number;
  peakChunks: number;
}

export function emptyApiReport(): ApiReport {
  return {
    calls: 0,
    refused: 0,
    kernelNull: 0,
    freeRefused: 0,
    allocs: 0,
    atomicFailures: 0,
    frees: 0,
    thisCpuOps: 0,
    memOps: 0,
    workRuns: 0,
    queries: 0,
    callbackThrows: 0,
    workloads: 0,
    checks: 0,
    peakLive: 0,
    peakChunks: 0,
  };
}

export function addApiReport(sum: ApiReport, r: ApiReport): void {
  for (const key of Object.keys(sum) as (keyof ApiReport)[]) {
    sum[key] = key.startsWith("peak") ? Math.max(sum[key], r[key]) : sum[key] + r[key];
  }
}

/** A broken promise of the API at `step` (-1: boot; ops.length: the final phase). */
export class ApiViolation extends Error {
  constructor(
    readonly trace: ApiTrace,
    readonly step: number,
    readonly detail: string,
  ) {
    const where =
      step < 0
        ? "boot"
        : step >= trace.ops.length
          ? "final free-everything phase"
          : `step ${step} ${JSON.stringify(trace.ops[step])}`;
    super(`API violation at ${where}: ${detail}\nreplay with runApiTrace(${JSON.stringify(trace)})`);
    this.name = "ApiViolation";
  }
}

/** Pcpu_lock acquisitions one API call may take before it counts as a hang. */
export const STEP_BUDGET = 50_000;

class StepBudgetExceeded extends Error {
  constructor() {
    super(`a single call took pcpu_lock more than ${STEP_BUDGET} times (a hang)`);
    this.name = "StepBudgetExceeded";
  }
}

/* ---------------------------------------------------------------------- */
/* The oracle: the C types of the README's contract.                      */
/* ---------------------------------------------------------------------- */

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const isSizeT = (v: unknown, bits: number) => isInt(v) && v >= 0 && v < 2 ** bits;
const isPtr = (v: unknown, bits: number) => isInt(v) && v >= 0 && v < 2 ** (bits === 32 ? 32 : 53);
const isAddr = (v: unknown, vaBits: number) => isInt(v) && v >= 0 && v < 2 ** vaBits;
const isCpu = (v: unknown, n: number) => isInt(v) && v >= 0 && v < n;
const isWidth = (v: unknown) => v === 1 || v === 2 || v === 4 || v === 8;
/* The GFP bits of include/linux/gfp_types.h (6.x, no KASAN_HW_TAGS/LOCKDEP/SLAB_OBJ_EXT): 24 bits but the unused 0x200. */
/* undefined: the parameter's default, GFP_KERNEL */
const isGfp = (v: unknown) =>
  v === undefined ||
  v === "GFP_KERNEL" ||
  v === "GFP_NOWAIT" ||
  v === "GFP_ATOMIC" ||
  (isInt(v) && v >= 0 && v < 2 ** 24 && Math.floor(v / 0x200) % 2 === 0);
function isValue(width: unknown, v: unknown): boolean {
  if (width === 8) return typeof v === "bigint" && v >= -(2n ** 63n) && v < 2n ** 64n;
  if (!isWidth(width)) return true; /* the width is refused first */
  const bits = (width as number) * 8;
  return isInt(v) && v >= -(2 ** (bits - 1)) && v < 2 ** bits;
}
const GFP_FLAGS: Record<string, number> = { GFP_KERNEL: 0xcc0, GFP_NOWAIT: 0x2800, GFP_ATOMIC: 0x820 };
const gfpNumber = (g: unknown) =>
  g === undefined ? 0xcc0 : typeof g === "string" ? GFP_FLAGS[g]! : (g as number);
const isPow2 = (x: number) => x > 0 && 2 ** Math.round(Math.log2(x)) === x;

/* ---------------------------------------------------------------------- */
/* The run.                                                               */
/* ---------------------------------------------------------------------- */

class KernelUnderTest {
  readonly s: Subject;
  readonly base: Baseline;
  readonly live: ShadowAlloc[] = [];
  readonly freed: PcpuPtr[] = [];
  readonly le: boolean;
  readonly bits: 32 | 64;
  readonly vaBits: number;
  readonly cpus: number;
  /** percpu-km needs every unit in one page block: above MAX_PAGE_ORDER no chunk can be created (the page allocator refuses). */
  readonly kmTooLarge: boolean;
  budget = 0;

  constructor(
    readonly k: Kernel,
    readonly config: AppKernelConfig,
  ) {
    this.s = { machine: k.machine, pcpu: k.pcpu, population: config.population };
    this.le = k.machine.littleEndian;
    this.bits = k.machine.bits;
    this.vaBits = k.machine.config.vaBits;
    this.cpus = k.pcpu.nrPossibleCpus;
    const blockPages = k.pcpu.groupSizes[0]! / k.pcpu.constants.PAGE_SIZE;
    this.kmTooLarge =
      config.population === "km" &&
      Math.ceil(Math.log2(blockPages)) > (k.machine.config.maxPageOrder ?? MAX_PAGE_ORDER);
    /* The step budget: every pcpu_lock acquisition of one call counts. */
    const lock = k.pcpu.lock;
    const take = lock.lock;
    const self = this;
    lock.lock = function (this: typeof lock) {
      if (++self.budget > STEP_BUDGET) throw new StepBudgetExceeded();
      take.call(this);
    };
    for (let i = 0; i < 16 && k.machine.wq.pendingCount() > 0; i++) k.runWork();
    this.base = takeBaseline(this.s);
  }

  /** Allocator and page state a refused call must leave alone. */
  stateKey(): string {
    const p = this.k.pcpu;
    const parts: (number | boolean)[] = [
      p.nrPopulated,
      p.nrEmptyPopPages,
      this.k.machine.pageAlloc.nrAllocatedPages(),
      this.k.machine.wq.pendingCount(),
      this.k.counters.allocs,
      this.k.counters.frees,
    ];
    for (const c of p.allChunks()) parts.push(c.id, c.freeBytes, c.nrPopulated, c.isolated);
    return parts.join(",");
  }
}

/** Picks the kernel, the live allocation and the garbage of an op. */
function garbage(bad: Bad | undefined, arg: string): { hit: boolean; v: unknown } {
  if (bad === undefined || bad.arg !== arg) return { hit: false, v: undefined };
  return { hit: true, v: GARBAGE[bad.g % GARBAGE.length] };
}

class ApiRun {
  readonly kernels: KernelUnderTest[] = [];
  readonly r = emptyApiReport();
  step = -1;

  constructor(readonly trace: ApiTrace) {}

  fail(detail: string): never {
    throw new ApiViolation(this.trace, this.step, detail);
  }

  /**
   * Runs one API call: `refuse` names the argument the oracle expects
   * refused (null: a well-typed call). Returns the result, or undefined when
   * refused as expected.
   */
  call<T>(
    t: KernelUnderTest,
    what: string,
    refuse: { arg: string; value: unknown } | null,
    f: () => T,
  ): T | undefined {
    const before = t.stateKey();
    t.budget = 0;
    this.r.calls++;
    let result: T;
    try {
      result = f();
    } catch (e) {
      if (e instanceof StepBudgetExceeded) this.fail(`${what}: ${e.message}`);
      this.afterCall(t, what);
      if (refuse === null) this.fail(`${what} threw ${(e as Error).name}: ${(e as Error).message}`);
      if (!(e instanceof KernelApiError))
        this.fail(
          `${what} refused ${refuse.arg} with ${(e as Error).name}: ${(e as Error).message} (not KernelApiError)`,
        );
      if (e.argument !== refuse.arg)
        this.fail(`${what}: KernelApiError names ${e.argument}, expected ${refuse.arg}: ${e.message}`);
      if (!Object.is(e.value, refuse.value))
        this.fail(
          `${what}: KernelApiError carries ${String(e.value)}, not the value given (${String(refuse.value)})`,
        );
      if (t.stateKey() !== before)
        this.fail(`${what}: the refused call changed the kernel (${before} -> ${t.stateKey()})`);
      this.r.refused++;
      return undefined;
    }
    this.afterCall(t, what);
    if (refuse !== null)
      this.fail(`${what} accepted ${refuse.arg} = ${String(refuse.value)} (expected a KernelApiError)`);
    return result;
  }

  /** After any call, thrown or not: no lock held, back on CPU 0 in process context. */
  afterCall(t: KernelUnderTest, what: string): void {
    const { pcpu, machine } = t.k;
    if (pcpu.lock.isLocked()) this.fail(`${what}: pcpu_lock still held`);
    if (pcpu.allocMutex.isLocked()) this.fail(`${what}: pcpu_alloc_mutex still held`);
    if (machine.ctx.cpu !== 0) this.fail(`${what}: left the task on CPU ${machine.ctx.cpu}`);
    if (machine.ctx.inAtomic()) this.fail(`${what}: left the task in atomic context`);
  }

  /** A fresh allocation: zero and aligned on every CPU, then every CPU gets its own bytes. */
  adopt(t: KernelUnderTest, ptr: PcpuPtr, size: number, align: number, reserved: boolean): void {
    /* pcpu_alloc rounds to the area allocator's granule: 4 for the bitmap, 2 for the area map */
    const g = t.k.pcpu.area.minAllocSize;
    const rounded = Math.ceil(size / g) * g;
    const a = Math.max(align, g);
    for (let cpu = 0; cpu < t.cpus; cpu++) {
      const addr = t.k.percpu.perCpuPtr(ptr, cpu);
      if (addr % a !== 0) this.fail(`cpu ${cpu}'s copy of a new allocation is not aligned to ${a}`);
    }
    const z = checkZero(t.s, { ptr, size: rounded });
    if (z !== null) this.fail(z);
    const bytes: Uint8Array[] = [];
    for (let cpu = 0; cpu < t.cpus; cpu++) {
      const b = patternBytes(rounded, this.step * 131 + cpu);
      t.k.machine.mem.copyIn(t.k.percpu.perCpuPtr(ptr, cpu), b);
      bytes.push(b);
    }
    t.live.push(new ShadowAlloc(ptr, rounded, a, reserved, this.step, bytes));
  }

  /** The kernel's WARN appeared since `from`. */
  warned(t: KernelUnderTest, from: number, needle: string): boolean {
    return t.k.machine.log
      .lines()
      .slice(from)
      .some((l) => l.text.includes(needle));
  }

  apply(op: ApiOp): void {
    const t = this.kernels[op.k % this.kernels.length]!;
    const k = t.k;
    const pickLive = (pick: number) => (t.live.length === 0 ? null : t.live[pick % t.live.length]!);
    switch (op.op) {
      case "alloc":
      case "alloc-reserved": {
        const g = (arg: string, v: unknown) => {
          const b = garbage(op.bad, arg);
          return b.hit ? b.v : v;
        };
        const size = g("size", op.size);
        const align = g("align", op.align);
        const gfp = op.op === "alloc" ? g("gfp", op.gfp) : "GFP_KERNEL";
        const opts = g("opts", { callSite: "fuzz+0x0/0x0" });
        let refuse: { arg: string; value: unknown } | null = null;
        if (!isSizeT(size, t.bits)) refuse = { arg: "size", value: size };
        else if (!isSizeT(align, t.bits)) refuse = { arg: "align", value: align };
        else if (op.op === "alloc" && !isGfp(gfp)) refuse = { arg: "gfp", value: gfp };
        else if (opts !== undefined && (typeof opts !== "object" || opts === null))
          refuse = { arg: "opts", value: opts };
        const from = k.machine.log.lines().length;
        const before = t.stateKey();
        const ptr = this.call(t, `percpu.${op.op === "alloc" ? "alloc" : "allocReserved"}`, refuse, () =>
          op.op === "alloc"
            ? k.percpu.alloc(size as number, align as number, gfp as ApiGfp, opts as never)
            : k.percpu.allocReserved(size as number, align as number, opts as never),
        );
        if (refuse !== null) return;
        const s = size as number;
        /* pcpu_alloc raises the alignment to the area allocator's granule before checking it */
        const al = Math.max(align as number, k.pcpu.area.minAllocSize);
        const flags = gfpNumber(gfp);
        const illegal =
          s === 0 ||
          s > k.pcpu.constants.PCPU_MIN_UNIT_SIZE ||
          al > k.pcpu.constants.PAGE_SIZE ||
          (k.pcpu.changes.alignPowerOfTwo && !isPow2(al));
        if (illegal) {
          if (ptr !== null)
            this.fail(`alloc(${s}, ${String(align)}) returned a pointer for an illegal size or alignment`);
          if ((flags & 0x2000) === 0 && !this.warned(t, from, "illegal size ("))
            this.fail(`alloc(${s}, ${String(align)}): no "illegal size" WARN`);
          if (t.stateKey() !== before) this.fail("an illegal-size allocation changed the kernel");
          this.r.kernelNull++;
          return;
        }
        if (ptr === null || ptr === undefined) {
          const atomic = (flags & 0x400) === 0;
          if (op.op === "alloc" && !atomic && !t.kmTooLarge)
            this.fail(`sleeping alloc(0x${s.toString(16)}, ${al}) failed with memory to spare`);
          this.r.atomicFailures++;
          return;
        }
        this.r.allocs++;
        this.adopt(t, ptr, s, al, op.op === "alloc-reserved");
        return;
      }
      case "free": {
        const b = garbage(op.bad, "ptr");
        if (b.hit) {
          const refuse = b.v === null || isPtr(b.v, t.bits) ? null : { arg: "ptr", value: b.v };
          if (refuse === null) return; /* a well-typed garbage pointer is free-misuse's business */
          this.call(t, "percpu.free", refuse, () => k.percpu.free(b.v as PcpuPtr));
          return;
        }
        const a = pickLive(op.pick);
        if (a === null) {
          if (this.call(t, "percpu.free(NULL)", null, () => k.percpu.free(null)) !== true)
            this.fail("free(NULL) did not return true");
          return;
        }
        if (this.call(t, "percpu.free", null, () => k.percpu.free(a.ptr)) !== true)
          this.fail(`free_percpu refused the live allocation of step ${a.step}`);
        t.live.splice(t.live.indexOf(a), 1);
        t.freed.push(a.ptr);
        if (t.freed.length > 32) t.freed.shift();
        this.r.frees++;
        return;
      }
      case "free-misuse": {
        let p: number;
        const inside = (q: number) => t.live.some((a) => q >= a.ptr && q < a.ptr + a.size);
        if (op.kind === "double") {
          const c = t.freed.filter((q) => !inside(q));
          if (c.length === 0) return;
          p = c[op.pick % c.length]!;
        } else if (op.kind === "interior") {
          const c = t.live.filter((a) => a.size > 4);
          if (c.length === 0) return;
          const a = c[op.pick % c.length]!;
          p = a.ptr + 4 * (1 + (op.value % (a.size / 4 - 1)));
        } else {
          p = 0x1000 + 4 * (op.value % 0x100);
          if (inside(p)) return;
        }
        const from = k.machine.log.lines().length;
        const before = t.stateKey();
        if (this.call(t, "percpu.free", null, () => k.percpu.free(p as PcpuPtr)) !== false)
          this.fail(`free_percpu accepted ${op.kind} pointer ${k.formatAddr(p)}`);
        if (!this.warned(t, from, "free_percpu: pointer")) this.fail(`free_percpu ${op.kind}: no WARN`);
        if (t.stateKey() !== before) this.fail(`free_percpu ${op.kind} changed the kernel`);
        this.r.freeRefused++;
        return;
      }
      case "this-cpu":
        this.thisCpu(t, op);
        return;
      case "mem":
        this.mem(t, op);
        return;
      case "work":
        if (op.kick) k.pcpu.pcpuScheduleBalanceWork();
        this.call(t, "runWork", null, () => k.runWork());
        this.r.workRuns++;
        return;
      case "query":
        this.query(t, op);
        return;
      case "workload": {
        const g = (arg: string, v: unknown) => {
          const b = garbage(op.bad, arg);
          return b.hit ? b.v : v;
        };
        const name = g("name", op.name);
        const ops = g("opts.ops", op.ops);
        const scale = g("opts.scale", 1);
        const seed = g("opts.seed", op.ops + 1);
        let refuse: { arg: string; value: unknown } | null = null;
        if (typeof name !== "string" || !(WORKLOAD_NAMES as readonly string[]).includes(name))
          refuse = { arg: "name", value: name };
        /* undefined is each option's default (the workload's ops, scale 1, the kernel's seed). */ else if (
          ops !== undefined &&
          !(isInt(ops) && ops >= 0 && ops <= Number.MAX_SAFE_INTEGER)
        )
          refuse = { arg: "opts.ops", value: ops };
        else if (scale !== undefined && !(typeof scale === "number" && scale > 0 && scale <= 1024))
          refuse = { arg: "opts.scale", value: scale };
        else if (seed !== undefined && !(isInt(seed) && Number.isSafeInteger(seed)))
          refuse = { arg: "opts.seed", value: seed };
        /* Well-typed garbage that would make the run long (default or 2^31 operations, scale 512) is not run. */
        if (refuse === null && (ops === undefined || (ops as number) > 64 || ((scale ?? 1) as number) > 2))
          return;
        this.call(t, `runWorkload(${String(name)})`, refuse, () =>
          runWorkload(k, name as WorkloadName, {
            ops: ops as number,
            scale: scale as number,
            seed: seed as number,
          }),
        );
        if (refuse === null) this.r.workloads++;
        return;
      }
      case "throw-in-oncpu": {
        const marker = new Error("the caller's own error");
        let caught: unknown = null;
        try {
          k.onCpu(op.cpu % t.cpus, () => {
            throw marker;
          });
        } catch (e) {
          caught = e;
        }
        this.afterCall(t, "onCpu with a throwing callback");
        if (caught !== marker)
          this.fail(`onCpu did not pass the callback's error through (${String(caught)})`);
        this.r.callbackThrows++;
        return;
      }
    }
  }

  thisCpu(t: KernelUnderTest, op: Extract<ApiOp, { op: "this-cpu" }>): void {
    const cands = t.live.filter((a) => a.size >= op.width);
    if (cands.length === 0) return;
    const a = cands[op.pick % cands.length]!;
    const off = (op.at % Math.floor(a.size / op.width)) * op.width;
    const cpu0 = op.cpu % t.cpus;
    const g = (arg: string, v: unknown) => {
      const b = garbage(op.bad, arg);
      return b.hit ? b.v : v;
    };
    const cpu = g("cpu", cpu0);
    const fnArg = g("fn", null);
    const ptr = g("ptr", a.ptr + off);
    const width = g("width", op.width);
    const v = operandValue(op.width, op.value);
    const value = g("value", v);
    const shadow = a.bytes[cpu0]!;
    const cur = shadowLoad(shadow, off, op.width, t.le);
    const old = op.value & 1 ? cur : op.width === 8 ? BigInt(cur) ^ 0x5an : (Number(cur) ^ 0x5a) >>> 0;
    const takesValue =
      op.fn === "write" || op.fn === "add" || op.fn === "sub" || op.fn === "xchg" || op.fn === "cmpxchg";
    let refuse: { arg: string; value: unknown } | null = null;
    if (!isCpu(cpu, t.cpus)) refuse = { arg: "cpu", value: cpu };
    else if (op.bad?.arg === "fn") refuse = { arg: "fn", value: fnArg };
    else if (!isPtr(ptr, t.bits)) refuse = { arg: "ptr", value: ptr };
    else if (!isWidth(width)) refuse = { arg: "width", value: width };
    else if (takesValue && !isValue(width, value)) refuse = { arg: "value", value };
    if (refuse === null && op.bad !== undefined)
      return; /* well-typed garbage: another arg's garbage is another test */
    const w = width as PcpuWidth;
    const body = (o: ThisCpuOps) => {
      const p = ptr as PcpuPtr;
      switch (op.fn) {
        case "read":
          return o.read(p, w);
        case "write":
          return o.write(p, w, value as never);
        case "add":
          return o.add(p, w, value as never);
        case "sub":
          return o.sub(p, w, value as never);
        case "inc":
          return o.inc(p, w);
        case "dec":
          return o.dec(p, w);
        case "xchg":
          return o.xchg(p, w, value as never);
        case "cmpxchg":
          return o.cmpxchg(p, w, old as never, value as never);
      }
    };
    const got = this.call(t, `onCpu(${String(cpu)}, this_cpu_${op.fn})`, refuse, () =>
      t.k.onCpu(cpu as number, (op.bad?.arg === "fn" ? fnArg : body) as never),
    );
    if (refuse !== null) return;
    const want = shadowThisCpu(shadow, off, op.fn, op.width, t.le, v, old);
    if (got !== want)
      this.fail(`this_cpu_${op.fn} on cpu ${cpu0} returned ${String(got)}, expected ${String(want)}`);
    this.r.thisCpuOps++;
  }

  mem(t: KernelUnderTest, op: Extract<ApiOp, { op: "mem" }>): void {
    const cands = t.live.filter((a) => a.size >= op.width);
    if (cands.length === 0) return;
    const a = cands[op.pick % cands.length]!;
    const off = (op.at % Math.floor(a.size / op.width)) * op.width;
    const cpu = op.cpu % t.cpus;
    const g = (arg: string, v: unknown) => {
      const b = garbage(op.bad, arg);
      return b.hit ? b.v : v;
    };
    const addr = g("addr", t.k.percpu.perCpuPtr(a.ptr, cpu) + off);
    const width = g("width", op.width);
    const v = operandValue(op.width, op.value);
    const value = g("value", v);
    let refuse: { arg: string; value: unknown } | null = null;
    if (!isAddr(addr, t.vaBits)) refuse = { arg: "addr", value: addr };
    else if (!isWidth(width)) refuse = { arg: "width", value: width };
    else if (op.write && !isValue(width, value)) refuse = { arg: "value", value };
    if (refuse === null && op.bad !== undefined) return;
    const shadow = a.bytes[cpu]!;
    if (op.write) {
      this.call(t, "mem.write", refuse, () =>
        t.k.mem.write(addr as number, width as PcpuWidth, value as never),
      );
      if (refuse === null) shadowThisCpu(shadow, off, "write", op.width, t.le, v, 0);
    } else {
      const got = this.call(t, "mem.read", refuse, () => t.k.mem.read(addr as number, width as PcpuWidth));
      if (refuse === null && got !== shadowLoad(shadow, off, op.width, t.le))
        this.fail(
          `mem.read returned ${String(got)}, the shadow says ${String(shadowLoad(shadow, off, op.width, t.le))}`,
        );
    }
    this.r.memOps++;
  }

  query(t: KernelUnderTest, op: Extract<ApiOp, { op: "query" }>): void {
    const k = t.k;
    const b = garbage(op.bad, "arg");
    this.r.queries++;
    switch (op.what) {
      case "debugfs": {
        const name = b.hit ? b.v : "percpu_stats";
        const ok = name === "percpu_stats" && t.config.stats;
        const text = this.call(t, "debugfs", ok ? null : { arg: "name", value: name }, () =>
          k.debugfs(name as never),
        );
        if (ok && !text!.startsWith("Percpu Memory Statistics\n"))
          this.fail("debugfs percpu_stats: unexpected text");
        return;
      }
      case "dmesg": {
        const level = b.hit ? b.v : undefined;
        const ok = level === undefined || (isInt(level) && level >= 0 && level <= 7);
        this.call(t, "dmesg", ok ? null : { arg: "level", value: level }, () => k.dmesg(level as never));
        return;
      }
      case "perCpuPtr":
      case "formatAddr": {
        const a = t.live[0];
        if (op.what === "perCpuPtr") {
          const p = b.hit ? b.v : (a?.ptr ?? 0);
          this.call(t, "percpu.perCpuPtr", isPtr(p, t.bits) ? null : { arg: "ptr", value: p }, () =>
            k.percpu.perCpuPtr(p as PcpuPtr, 0),
          );
        } else {
          const p = b.hit ? b.v : k.pcpu.baseAddr;
          this.call(t, "formatAddr", isAddr(p, t.vaBits) ? null : { arg: "addr", value: p }, () =>
            k.formatAddr(p as number),
          );
        }
        return;
      }
      case "meminfo":
        this.call(t, "meminfo", null, () => k.meminfo());
        return;
      case "trace":
        this.call(t, "trace", null, () => k.trace());
        return;
      case "snapshot": {
        const s = this.call(t, "snapshot", null, () => k.snapshot())!;
        if (s.pcpuNrPages !== k.percpu.nrPages()) this.fail("snapshot disagrees with nrPages()");
        return;
      }
      case "statsJson": {
        const j = this.call(t, "statsJson", null, () => k.statsJson());
        if ((j === null) === t.config.stats) this.fail("statsJson null iff stats are off");
        return;
      }
      case "nrPages":
        this.call(t, "nrPages", null, () => k.percpu.nrPages());
        return;
    }
  }

  /** Every check on every kernel (the kernels share nothing: a byte lost in one shows here). */
  checkAllKernels(): void {
    for (const t of this.kernels) {
      this.r.checks++;
      const v = checkAll(t.s, t.base, t.live);
      if (v !== null) this.fail(`${t.config.arch}: ${v}`);
      this.r.peakLive = Math.max(this.r.peakLive, t.live.length);
      this.r.peakChunks = Math.max(this.r.peakChunks, t.k.counters.chunks);
    }
  }

  finish(): void {
    this.step = this.trace.ops.length;
    for (const t of this.kernels) {
      while (t.live.length > 0) {
        const a = t.live.shift()!;
        if (this.call(t, "percpu.free", null, () => t.k.percpu.free(a.ptr)) !== true)
          this.fail(`free_percpu refused the live allocation of step ${a.step}`);
      }
      for (let i = 0; i < 3; i++) {
        if (i > 0) t.k.pcpu.pcpuScheduleBalanceWork();
        for (let j = 0; j < 16 && t.k.machine.wq.pendingCount() > 0; j++) t.k.runWork();
      }
    }
    this.checkAllKernels();
    for (const t of this.kernels) {
      const v = checkNoLeak(t.s, t.base);
      if (v !== null) this.fail(`${t.config.arch}: ${v}`);
    }
  }
}

/** Boots an AppKernelConfig through the public bootKernel. */
export function bootApiKernel(c: AppKernelConfig, seed: number): Kernel {
  return bootKernel({
    arch: c.arch,
    cpus: c.cpus,
    nodes: nodeCpulists(c.cpus, c.nodes),
    population: c.population,
    percpuAlloc: c.percpuAlloc,
    allocator: c.allocator,
    stats: c.stats,
    trace: c.stats,
    /* the invariant checker needs it; it also checks the allocator after every public call */
    debugChecks: true,
    seed,
  });
}

/**
 * Runs an API fuzz trace with every check after every step.
 * @throws ApiViolation at the first broken promise
 */
export function runApiTrace(trace: ApiTrace): ApiReport {
  const run = new ApiRun(trace);
  try {
    for (let i = 0; i < trace.kernels.length; i++) {
      const c = trace.kernels[i]!;
      run.kernels.push(new KernelUnderTest(bootApiKernel(c, trace.seed + i), c));
    }
    run.checkAllKernels();
    for (run.step = 0; run.step < trace.ops.length; run.step++) {
      run.apply(trace.ops[run.step]!);
      run.checkAllKernels();
    }
    run.finish();
  } catch (e) {
    if (e instanceof ApiViolation) throw e;
    throw new ApiViolation(trace, run.step, `${(e as Error).name}: ${(e as Error).message}`);
  }
  return run.r;
}
