/*
 * The boundary of the kernel library: every argument of a public entry
 * point of a booted Kernel is checked here, before anything below sees it,
 * in the arithmetic of the modelled arch (size_t and unsigned long of
 * BITS_PER_LONG bits, gfp_t of 32 bits, the machine's address space).
 *
 *   caller ──> [boundary: type, integer, range]  ──> @pcpu/percpu, @pcpu/mm
 *                 │ refused: KernelApiError(fn, argument, value as given)
 *                 └ a size_t the allocator cannot serve (0, > PCPU_MIN_UNIT_SIZE,
 *                   a bad alignment) passes: pcpu_alloc WARNs and returns NULL
 *
 * The checks are typeof tests and integer comparisons on the hot path; the
 * message text is built only when something is refused.
 */

import { GFP_ATOMIC, GFP_DEFINED_BITS, GFP_KERNEL, GFP_KERNEL_ACCOUNT, GFP_NOWAIT } from "@pcpu/mm";
import { bitmapListString, type PcpuWidth } from "@pcpu/percpu";
import type { GfpArg } from "./api.js";

/**
 * A misuse of the kernel object by its caller: a value of the wrong type,
 * not an integer, out of range of the C type it stands for, an unknown
 * name. Nothing in the kernel was touched. `fn` is the entry point
 * (`percpu.alloc`), `argument` the parameter (`size`), `value` what was
 * passed, unchanged.
 */
export class KernelApiError extends Error {
  readonly fn: string;
  readonly argument: string;
  readonly value: unknown;
  constructor(message: string, fn = "", argument = "", value: unknown = undefined) {
    super(message);
    this.name = "KernelApiError";
    this.fn = fn;
    this.argument = argument;
    this.value = value;
  }
}

/** A value as the caller wrote it: `8n` for a bigint, quoted strings, `NaN`, `undefined`, `[object]`. */
export function showValue(v: unknown): string {
  switch (typeof v) {
    case "bigint":
      return `${v}n`;
    case "string":
      return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
    case "number":
      return Object.is(v, -0) ? "-0" : String(v);
    case "undefined":
    case "boolean":
    case "symbol":
      return String(v);
    case "function":
      return "a function";
    default:
      return v === null ? "null" : Array.isArray(v) ? "an array" : "an object";
  }
}

/** Throws the KernelApiError of `fn`'s `argument`: `fn: argument must be <what>, got <value>`. */
export function refuse(fn: string, argument: string, what: string, value: unknown): never {
  throw new KernelApiError(
    `${fn}: ${argument} must be ${what}, got ${showValue(value)}`,
    fn,
    argument,
    value,
  );
}

/*
 * The refusals are out of line so the checks stay small enough for V8 to
 * inline at every call site: the hot path is a few compares.
 */
function badSizeT(fn: string, argument: string, v: unknown, bits: number): never {
  return refuse(fn, argument, `a size_t (an integer in [0, ${pow2(bits)}))`, v);
}
function badAddr(fn: string, argument: string, v: unknown, vaBits: number): never {
  return refuse(fn, argument, `an address of the machine (an integer in [0, ${pow2(vaBits)}))`, v);
}
function badPtr(fn: string, argument: string, v: unknown, ptrBits: number): never {
  return refuse(fn, argument, `a percpu pointer (an integer in [0, ${pow2(ptrBits)}))`, v);
}
function badCpu(fn: string, v: unknown, nrCpus: number, possible: Uint32Array | null): never {
  const list = possible === null ? `0-${nrCpus - 1}` : bitmapListString(possible, nrCpus);
  return refuse(fn, "cpu", `a possible CPU (${list})`, v);
}
function badValue(fn: string, argument: string, v: unknown, width: number): never {
  if (width === 8) return refuse(fn, argument, "a bigint in [-2^63, 2^64) for width 8", v);
  const bits = width * 8;
  return refuse(fn, argument, `an integer in [-2^${bits - 1}, 2^${bits}) for width ${width}`, v);
}

const TWO32 = 2 ** 32;
const TWO53 = 2 ** 53;
const TWO64 = 2 ** 64;

/** `2^bits` for the range text. */
function pow2(bits: number): string {
  return `2^${bits}`;
}

/**
 * A size_t of a `bits`-bit arch: an integer in [0, 2^bits). Sizes the
 * allocator refuses (0, above PCPU_MIN_UNIT_SIZE) are size_t values and
 * pass, so pcpu_alloc gives its own WARN and NULL.
 */
export function checkSizeT(fn: string, argument: string, v: unknown, bits: 32 | 64): asserts v is number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= (bits === 32 ? TWO32 : TWO64)) {
    badSizeT(fn, argument, v, bits);
  }
}

/**
 * An address or percpu pointer of the machine: an integer in
 * [0, 2^vaBits) (32-bit arches: the whole unsigned long; 64-bit arches: the
 * model's internal form, what perCpuPtr and alloc return).
 */
export function checkAddr(
  fn: string,
  argument: string,
  v: unknown,
  vaBits: number,
  end: number,
): asserts v is number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= end) {
    badAddr(fn, argument, v, vaBits);
  }
}

/**
 * A percpu pointer (`void __percpu *`): an unsigned long, an integer in
 * [0, 2^32) on 32-bit arches; on 64-bit arches the model keeps pointers
 * below 2^53 (a percpu pointer is an offset from the static section, not an
 * address, so it need not lie below 2^vaBits: s390's vmalloc chunks give
 * pointers above 2^42). `ptrBits` is 32 or 53.
 */
export function checkPtr(fn: string, argument: string, v: unknown, ptrBits: 32 | 53): asserts v is number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= (ptrBits === 32 ? TWO32 : TWO53)) {
    badPtr(fn, argument, v, ptrBits);
  }
}

/**
 * A possible CPU: an integer in [0, nr_cpu_ids) whose bit is set in
 * `possible` (cpu_possible_mask; null: every CPU below nrCpus).
 */
export function checkCpu(
  fn: string,
  v: unknown,
  nrCpus: number,
  possible: Uint32Array | null = null,
): asserts v is number {
  if (
    typeof v !== "number" ||
    !Number.isInteger(v) ||
    v < 0 ||
    v >= nrCpus ||
    (possible !== null && ((possible[v >>> 5]! >>> (v & 31)) & 1) === 0)
  ) {
    badCpu(fn, v, nrCpus, possible);
  }
}

/** An operand width: 1, 2, 4 or 8 bytes. */
export function checkWidth(fn: string, v: unknown): asserts v is PcpuWidth {
  if (v !== 1 && v !== 2 && v !== 4 && v !== 8) refuse(fn, "width", "1, 2, 4 or 8 (bytes)", v);
}

const U64_END = 1n << 64n;
const S64_MIN = -(1n << 63n);

/**
 * A value of a `width`-byte load or store: widths 1, 2, 4 take an integer
 * number in [-2^(8w-1), 2^(8w)) (the signed and the unsigned reading of the
 * same bits, as a C assignment to a u8/u16/u32 takes both), width 8 a
 * bigint in [-2^63, 2^64). Nothing is truncated silently.
 */
export function checkValue(fn: string, argument: string, width: PcpuWidth, v: unknown): void {
  if (width === 8) {
    if (typeof v !== "bigint" || v < S64_MIN || v >= U64_END) badValue(fn, argument, v, 8);
    return;
  }
  const min = width === 4 ? -0x8000_0000 : width === 2 ? -0x8000 : -0x80;
  const end = width === 4 ? 0x1_0000_0000 : width === 2 ? 0x1_0000 : 0x100;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v >= end) {
    badValue(fn, argument, v, width);
  }
}

/**
 * The gfp flags of a GfpArg: a mode name, or a gfp_t (an integer in
 * [0, 2^32)) with only bits this layout defines (`GFP_DEFINED_BITS`:
 * `__GFP_BITS_MASK` 0xffffff without the unused bit 0x200).
 */
export function gfpFlags(gfp: GfpArg, fn = "percpu.alloc"): number {
  if (typeof gfp === "number") {
    if (!Number.isInteger(gfp) || gfp < 0 || gfp > 0xffff_ffff)
      refuse(fn, "gfp", "a gfp_t (an integer in [0, 2^32)) or GFP_KERNEL, GFP_NOWAIT, GFP_ATOMIC", gfp);
    if ((gfp & ~GFP_DEFINED_BITS) !== 0) {
      const extra = (gfp & ~GFP_DEFINED_BITS) >>> 0;
      throw new KernelApiError(
        `${fn}: gfp ${showValue(gfp)} (0x${gfp.toString(16)}) has bits no GFP flag defines (0x${extra.toString(16)}; defined: 0x${GFP_DEFINED_BITS.toString(16)})`,
        fn,
        "gfp",
        gfp,
      );
    }
    return gfp;
  }
  switch (gfp) {
    case "GFP_KERNEL":
      return GFP_KERNEL;
    case "GFP_KERNEL_ACCOUNT":
      return GFP_KERNEL_ACCOUNT;
    case "GFP_NOWAIT":
      return GFP_NOWAIT;
    case "GFP_ATOMIC":
      return GFP_ATOMIC;
    default:
      return refuse(
        fn,
        "gfp",
        "GFP_KERNEL, GFP_KERNEL_ACCOUNT, GFP_NOWAIT, GFP_ATOMIC or a gfp_t number",
        gfp,
      );
  }
}

/** Allocation options: undefined, or an object whose `callSite` is undefined or a string. */
export function checkAllocOpts(fn: string, opts: unknown): void {
  if (opts === undefined) return;
  if (typeof opts !== "object" || opts === null)
    refuse(fn, "opts", "undefined or { callSite?: string }", opts);
  const cs = (opts as { callSite?: unknown }).callSite;
  if (cs !== undefined && typeof cs !== "string") refuse(fn, "opts.callSite", "a string", cs);
  const tag = (opts as { tag?: unknown }).tag;
  if (tag !== undefined) {
    const t = tag as { filename?: unknown; lineno?: unknown; function?: unknown; modname?: unknown } | null;
    if (
      t === null ||
      typeof t !== "object" ||
      typeof t.filename !== "string" ||
      !/^\S+$/.test(t.filename) ||
      !Number.isInteger(t.lineno) ||
      (t.lineno as number) < 1 ||
      typeof t.function !== "string" ||
      !/^[A-Za-z_][A-Za-z0-9_.]*$/.test(t.function) ||
      (t.modname !== undefined && (typeof t.modname !== "string" || !/^[A-Za-z0-9_-]+$/.test(t.modname)))
    )
      refuse(fn, "opts.tag", "an alloc tag { filename, lineno >= 1, function, modname? }", tag);
  }
}
