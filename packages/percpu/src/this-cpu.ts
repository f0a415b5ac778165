/*
 * this_cpu operations (include/linux/percpu-defs.h this_cpu_read ..
 * this_cpu_cmpxchg) on real memory.
 *
 * Each operation finds the current CPU's copy the arch's way
 * (this_cpu_ptr: %gs/%fs base, TPIDRPRW, lowcore, or the offset array) and
 * then loads or stores through the page table. Arithmetic wraps at the
 * operand width like the C types do; 8-byte values are bigint at this edge.
 *
 * In the kernel these are single instructions (or irq-safe sequences), so
 * they cannot be interrupted by the current CPU; the model is single
 * threaded, which gives the same guarantee.
 */

import { thisCpuPtr } from "./addr.js";
import type { PcpuPtr } from "./api.js";
import type { Percpu } from "./percpu.js";

/** Operand width in bytes. */
export type PcpuWidth = 1 | 2 | 4 | 8;

/** The value type of a width: number for 1, 2 and 4 bytes, bigint for 8. */
export type PcpuValue<W extends PcpuWidth> = W extends 8 ? bigint : number;

const MASK64 = (1n << 64n) - 1n;

function load(pcpu: Percpu, addr: number, width: PcpuWidth): number | bigint {
  const mem = pcpu.machine.mem;
  switch (width) {
    case 1:
      return mem.read8(addr);
    case 2:
      return mem.read16(addr);
    case 4:
      return mem.read32(addr);
    case 8:
      return mem.read64(addr);
  }
}

function store(pcpu: Percpu, addr: number, width: PcpuWidth, v: number | bigint): void {
  const mem = pcpu.machine.mem;
  switch (width) {
    case 1:
      mem.write8(addr, Number(v) & 0xff);
      return;
    case 2:
      mem.write16(addr, Number(v) & 0xffff);
      return;
    case 4:
      mem.write32(addr, Number(v) >>> 0);
      return;
    case 8:
      mem.write64(addr, BigInt.asUintN(64, BigInt(v)));
      return;
  }
}

/** `(a + b)` truncated to the width, as unsigned. */
function wrapAdd(width: PcpuWidth, a: number | bigint, b: number | bigint): number | bigint {
  if (width === 8) return (BigInt(a) + BigInt(b)) & MASK64;
  const sum = Number(a) + Number(b);
  if (width === 4) return sum >>> 0;
  return sum & (width === 2 ? 0xffff : 0xff);
}

function checkWidth(width: number): asserts width is PcpuWidth {
  if (width !== 1 && width !== 2 && width !== 4 && width !== 8) {
    throw new RangeError(`this_cpu: width must be 1, 2, 4 or 8 bytes (got ${width})`);
  }
}

/**
 * The current CPU's address of `ptr` for a `width`-byte access, after the
 * debug check that the pointer is live (a use after free_percpu is
 * reported instead of silently reading recycled memory).
 */
function target(pcpu: Percpu, ptr: PcpuPtr, width: number, op: string): number {
  checkWidth(width);
  if (pcpu.debug !== null) pcpu.debug.checkAccess(pcpu, ptr, width, op);
  return thisCpuPtr(pcpu, ptr);
}

/** `this_cpu_read(*ptr)`. @kernel include/linux/percpu-defs.h this_cpu_read */
export function thisCpuRead<W extends PcpuWidth>(pcpu: Percpu, ptr: PcpuPtr, width: W): PcpuValue<W> {
  return load(pcpu, target(pcpu, ptr, width, "this_cpu_read"), width) as PcpuValue<W>;
}

/** `this_cpu_write(*ptr, v)`. @kernel include/linux/percpu-defs.h this_cpu_write */
export function thisCpuWrite<W extends PcpuWidth>(
  pcpu: Percpu,
  ptr: PcpuPtr,
  width: W,
  v: PcpuValue<W>,
): void {
  store(pcpu, target(pcpu, ptr, width, "this_cpu_write"), width, v);
}

/** `this_cpu_add(*ptr, v)` (negative `v` subtracts, wrapping). @kernel include/linux/percpu-defs.h this_cpu_add */
export function thisCpuAdd<W extends PcpuWidth>(pcpu: Percpu, ptr: PcpuPtr, width: W, v: PcpuValue<W>): void {
  const addr = target(pcpu, ptr, width, "this_cpu_add");
  store(pcpu, addr, width, wrapAdd(width, load(pcpu, addr, width), v));
}

/** `this_cpu_sub(*ptr, v)`. @kernel include/linux/percpu-defs.h this_cpu_sub */
export function thisCpuSub<W extends PcpuWidth>(pcpu: Percpu, ptr: PcpuPtr, width: W, v: PcpuValue<W>): void {
  const addr = target(pcpu, ptr, width, "this_cpu_sub");
  const neg = width === 8 ? -BigInt(v) : -Number(v);
  store(pcpu, addr, width, wrapAdd(width, load(pcpu, addr, width), neg));
}

/** `this_cpu_inc(*ptr)`. @kernel include/linux/percpu-defs.h this_cpu_inc */
export function thisCpuInc(pcpu: Percpu, ptr: PcpuPtr, width: PcpuWidth): void {
  const addr = target(pcpu, ptr, width, "this_cpu_inc");
  store(pcpu, addr, width, wrapAdd(width, load(pcpu, addr, width), width === 8 ? 1n : 1));
}

/** `this_cpu_dec(*ptr)`. @kernel include/linux/percpu-defs.h this_cpu_dec */
export function thisCpuDec(pcpu: Percpu, ptr: PcpuPtr, width: PcpuWidth): void {
  const addr = target(pcpu, ptr, width, "this_cpu_dec");
  store(pcpu, addr, width, wrapAdd(width, load(pcpu, addr, width), width === 8 ? -1n : -1));
}

/** `this_cpu_xchg(*ptr, v)`: store `v`, return the old value. @kernel include/linux/percpu-defs.h this_cpu_xchg */
export function thisCpuXchg<W extends PcpuWidth>(
  pcpu: Percpu,
  ptr: PcpuPtr,
  width: W,
  v: PcpuValue<W>,
): PcpuValue<W> {
  const addr = target(pcpu, ptr, width, "this_cpu_xchg");
  const old = load(pcpu, addr, width);
  store(pcpu, addr, width, v);
  return old as PcpuValue<W>;
}

/**
 * `this_cpu_cmpxchg(*ptr, old, new)`: store `nv` if the value equals `old`
 * (compared at the operand width); return the value found.
 * @kernel include/linux/percpu-defs.h this_cpu_cmpxchg
 */
export function thisCpuCmpxchg<W extends PcpuWidth>(
  pcpu: Percpu,
  ptr: PcpuPtr,
  width: W,
  old: PcpuValue<W>,
  nv: PcpuValue<W>,
): PcpuValue<W> {
  const addr = target(pcpu, ptr, width, "this_cpu_cmpxchg");
  const cur = load(pcpu, addr, width);
  const want = wrapAdd(width, old, width === 8 ? 0n : 0);
  if (cur === want) store(pcpu, addr, width, nv);
  return cur as PcpuValue<W>;
}
