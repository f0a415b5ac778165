/*
 * Number formatting for the page: hex sizes and offsets as the kernel
 * prints them, percpu pointers and addresses as the arch prints `%px`.
 */

import { CONFIG_KEYS, type ConfigError, formatAddrX86_64 } from "@pcpu/kernel";
import type { KernelInfo } from "./frame.js";

/** `0x1f40`. */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** A byte count with its hex: `32 (0x20)`. */
export function bytesText(n: number): string {
  return n < 10 ? String(n) : `${n} (${hex(n)})`;
}

/** An address as the kernel's arch prints it with `%px` (no 0x). */
export function formatAddr(info: KernelInfo, a: number): string {
  if (info.config.arch === "x86_64") return formatAddrX86_64(a);
  return (info.bits === 32 ? a >>> 0 : a).toString(16).padStart(info.bits / 4, "0");
}

/** `p + off` in the arch's pointer arithmetic (32-bit arches wrap). */
export function ptrAdd(info: KernelInfo, p: number, off: number): number {
  return info.bits === 32 ? (p + off) >>> 0 : p + off;
}

/** camelCase -> kebab-case, as the CLI names the flags (`memPerNode` -> `mem-per-node`). */
export function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * The line the kernel app's CLI prints for a refused config
 * (apps/kernel/src/cli/run.ts classify):
 * `invalid config: cpus (--cpus): "lots" is not an integer`.
 */
export function configErrorLine(e: Pick<ConfigError, "setting" | "message">): string {
  const flag = (CONFIG_KEYS as readonly string[]).includes(e.setting) ? ` (--${kebab(e.setting)})` : "";
  return `invalid config: ${e.setting}${flag}: ${e.message.slice(e.setting.length + 2)}`;
}

/** Bytes as a hex dump line: `00 11 22 ...`. */
export function hexBytes(b: Uint8Array, max = b.length): string {
  const out: string[] = [];
  for (let i = 0; i < Math.min(max, b.length); i++) out.push(b[i]!.toString(16).padStart(2, "0"));
  return out.join(" ");
}
