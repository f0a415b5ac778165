/*
 * Percpu pointer arithmetic as C does it on the arch: `p + off` on a
 * `void __percpu *`, wrapping modulo 2^32 on 32-bit arches (where percpu
 * pointers are offsets that may wrap below the static area) and staying
 * in the model's canonical number form on 64-bit ones.
 */

import type { PcpuPtr } from "@pcpu/percpu";

/**
 * `ptr + off` in the arch's pointer arithmetic.
 * @param bits the arch's word size (Kernel.ptrAdd passes its own)
 * @throws RangeError when off is not an integer or a 64-bit sum leaves the safe range
 */
export function ptrAdd(ptr: PcpuPtr, off: number, bits: 32 | 64 = 64): PcpuPtr {
  if (!Number.isSafeInteger(off)) throw new RangeError(`ptrAdd: offset ${off} is not an integer`);
  if (bits === 32) return ((ptr + off) >>> 0) as PcpuPtr;
  const v = ptr + off;
  if (!Number.isSafeInteger(v) || v < 0)
    throw new RangeError(`ptrAdd: ${ptr} + ${off} leaves the 64-bit address model`);
  return v as PcpuPtr;
}
