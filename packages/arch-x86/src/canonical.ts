/*
 * x86_64 canonical addresses and the model's internal form: the low 48
 * bits. Canonical addresses sign-extend bit 47, so dropping bits 63..48 is
 * lossless for them; printing puts them back (`%px` prints 16 digits).
 * bigint appears only here, at the edge (parsing and printing).
 */

import { X86_64_VA_BITS } from "./api.js";

const VA = 2 ** X86_64_VA_BITS;
const HALF = 2 ** (X86_64_VA_BITS - 1);

/** An address or unsigned long reduced modulo 2^48 (x86_64 pointer arithmetic in internal form). */
export function x86_64Wrap(v: number): number {
  return v >= 0 && v < VA ? v : ((v % VA) + VA) % VA;
}

/**
 * The internal form of a canonical 64-bit address.
 * @throws RangeError for a non-canonical address (bits 63..47 not all equal).
 */
export function x86_64Internal(canonical: bigint): number {
  const v = BigInt.asUintN(64, canonical);
  const top = v >> 47n;
  if (top !== 0n && top !== 0x1ffffn)
    throw new RangeError(`0x${v.toString(16)} is not a canonical x86_64 address`);
  return Number(v & ((1n << 48n) - 1n));
}

/** The canonical 64-bit value of an internal address (sign-extends bit 47). */
export function x86_64Canonical(internal: number): bigint {
  const v = BigInt(x86_64Wrap(internal));
  return v >= BigInt(HALF) ? v | (0xffffn << 48n) : v;
}

/** `%px` / `%016lx` on x86_64: 16 hex digits, sign-extended. */
export function x86_64FormatAddr(a: number): string {
  const v = x86_64Wrap(a);
  return (v >= HALF ? "ffff" : "0000") + v.toString(16).padStart(12, "0");
}
