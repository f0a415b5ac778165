/*
 * A test stand-in for an x86_64 arch's `%p` printing: model addresses at or
 * above 2^47 stand for the kernel half (0xffff800000000000 + (a - 2^47)),
 * lower ones print as they are. The inverse is the parser's parsePtr.
 */

const HALF = 2n ** 47n;
const KERNEL_BASE = 0xffff800000000000n;

export function x86FormatPtr(a: number): string {
  const v = BigInt(a);
  return (v >= HALF ? v - HALF + KERNEL_BASE : v).toString(16).padStart(16, "0");
}

export function x86ParsePtr(hex: string): number {
  const v = BigInt(`0x${hex}`);
  if (v >= KERNEL_BASE) return Number(v - KERNEL_BASE + HALF);
  if (v >= HALF) throw new RangeError(`non-canonical address ${hex}`);
  return Number(v);
}

/** The model address of a printed kernel-half address. */
export function kaddr(hex: string): number {
  return x86ParsePtr(hex);
}
