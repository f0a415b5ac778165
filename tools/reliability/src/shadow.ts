/*
 * The shadow of the live allocations: for every allocation, the bytes each
 * possible CPU's copy must hold, kept beside the kernel and updated by the
 * same operations (stores through per_cpu_ptr, this_cpu arithmetic at the
 * operand width in the machine's byte order). After every step the kernel's
 * memory is compared with it, so a byte lost, moved or shared with another
 * allocation is found at the step that broke it.
 */

import type { PcpuPtr } from "@pcpu/percpu";
import type { ThisCpuFn } from "./api.js";

/** One live allocation and what each CPU's copy holds. */
export class ShadowAlloc {
  constructor(
    readonly ptr: PcpuPtr,
    /** Bytes, rounded up to the area allocator's granule (minAllocSize) as pcpu_alloc does. */
    readonly size: number,
    readonly align: number,
    readonly reserved: boolean,
    /** Step that allocated it. */
    readonly step: number,
    /** Expected bytes per possible CPU. */
    readonly bytes: Uint8Array[],
  ) {}
}

/** Deterministic bytes for a seed (xorshift32), never all zero for size >= 4. */
export function patternBytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 0) | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const MASK64 = (1n << 64n) - 1n;

/** The operand value of a this_cpu step: widths below 8 take the low bits, 8 spreads the value over both halves. */
export function operandValue(width: 1 | 2 | 4 | 8, value: number): number | bigint {
  if (width === 8) return (BigInt(value >>> 0) * 0x1_0000_0001n) & MASK64;
  if (width === 4) return value >>> 0;
  return value & (width === 2 ? 0xffff : 0xff);
}

function load(bytes: Uint8Array, off: number, width: 1 | 2 | 4 | 8, le: boolean): number | bigint {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (width) {
    case 1:
      return dv.getUint8(off);
    case 2:
      return dv.getUint16(off, le);
    case 4:
      return dv.getUint32(off, le);
    case 8:
      return dv.getBigUint64(off, le);
  }
}

function store(bytes: Uint8Array, off: number, width: 1 | 2 | 4 | 8, le: boolean, v: number | bigint): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (width) {
    case 1:
      dv.setUint8(off, Number(v) & 0xff);
      return;
    case 2:
      dv.setUint16(off, Number(v) & 0xffff, le);
      return;
    case 4:
      dv.setUint32(off, Number(v) >>> 0, le);
      return;
    case 8:
      dv.setBigUint64(off, BigInt(v) & MASK64, le);
      return;
  }
}

function add(width: 1 | 2 | 4 | 8, a: number | bigint, b: number | bigint): number | bigint {
  if (width === 8) return (BigInt(a) + BigInt(b)) & MASK64;
  const s = Number(a) + Number(b);
  return width === 4 ? s >>> 0 : s & (width === 2 ? 0xffff : 0xff);
}

/**
 * Applies a this_cpu operation to one CPU's shadow bytes.
 * @returns the value the operation returns in the kernel (read, xchg,
 *   cmpxchg), or undefined for the others; `old` is cmpxchg's expected value.
 */
export function shadowThisCpu(
  bytes: Uint8Array,
  off: number,
  fn: ThisCpuFn,
  width: 1 | 2 | 4 | 8,
  le: boolean,
  v: number | bigint,
  old: number | bigint,
): number | bigint | undefined {
  const cur = load(bytes, off, width, le);
  switch (fn) {
    case "read":
      return cur;
    case "write":
      store(bytes, off, width, le, v);
      return undefined;
    case "add":
      store(bytes, off, width, le, add(width, cur, v));
      return undefined;
    case "sub":
      store(bytes, off, width, le, add(width, cur, width === 8 ? -BigInt(v) : -Number(v)));
      return undefined;
    case "inc":
      store(bytes, off, width, le, add(width, cur, width === 8 ? 1n : 1));
      return undefined;
    case "dec":
      store(bytes, off, width, le, add(width, cur, width === 8 ? -1n : -1));
      return undefined;
    case "xchg":
      store(bytes, off, width, le, v);
      return cur;
    case "cmpxchg":
      if (cur === old) store(bytes, off, width, le, v);
      return cur;
  }
}

/** The current value at `off` of a shadow copy. */
export function shadowLoad(
  bytes: Uint8Array,
  off: number,
  width: 1 | 2 | 4 | 8,
  le: boolean,
): number | bigint {
  return load(bytes, off, width, le);
}
