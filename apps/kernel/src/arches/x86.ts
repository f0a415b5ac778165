/*
 * x86_64 and i386 as the kernel app boots them: @pcpu/arch-x86's X86_64Arch
 * and I386Arch (arch/x86/kernel/setup_percpu.c on the layouts of
 * asm/pgtable_64_types.h and pgtable_32_areas.h), and x86_64 addresses as
 * %px prints them.
 *
 * 64-bit addresses are kept in the model's canonical form (below 2^48):
 * the upper half 0xffff8000_00000000.. maps to 0x8000_0000_0000.. and is
 * printed with the sign extension.
 */

import { I386Arch, X86_64Arch, x86_64FormatAddr, x86_64Internal } from "@pcpu/arch-x86";
import type { KernelArchDefinition } from "../api.js";
import { packageArch } from "./package-arch.js";

const GiB = 2 ** 30;
const TiB = 2 ** 40;

/** `%px` on x86_64: 16 digits, the upper half sign-extended. */
export function formatAddrX86_64(a: number): string {
  return x86_64FormatAddr(a);
}

/** The model's canonical form of a real x86_64 address (hex digits, no 0x); NaN when not canonical. */
export function parseAddrX86_64(hexDigits: string): number {
  const v = BigInt(`0x${hexDigits}`);
  if (v >= 1n << 64n) return Number.NaN;
  try {
    return x86_64Internal(v);
  } catch {
    return Number.NaN;
  }
}

/** x86_64 from @pcpu/arch-x86. */
export const x86_64: KernelArchDefinition = packageArch({
  name: "x86_64",
  packageName: "@pcpu/arch-x86",
  def: new X86_64Arch(),
  groupsByNode: true,
  memTotalMax: 64 * TiB,
});

/** i386 from @pcpu/arch-x86. */
export const i386: KernelArchDefinition = packageArch({
  name: "i386",
  packageName: "@pcpu/arch-x86",
  def: new I386Arch(),
  groupsByNode: true,
  memTotalMax: 64 * GiB,
});
