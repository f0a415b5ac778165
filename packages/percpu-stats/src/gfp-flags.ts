/*
 * GFP flags as tracepoints print them: show_gfp_flags() and the
 * __def_gfpflag_names table of include/trace/events/mmflags.h (6.x,
 * built without KASAN hardware tags and without lockdep, matching the bit
 * layout of @pcpu/mm's gfp.ts), printed by __print_flags
 * (kernel/trace/trace_output.c trace_print_flags_seq).
 *
 * The table itself lives in @pcpu/mm (the page allocator prints the same
 * names in its failure reports); this file is the tracing side.
 *
 * The table is matched in order: a name is printed when all its bits are
 * still set, and its bits are then removed, so composite names (most bits
 * first) win over single flags. Whatever is left is printed as `0x%lx`.
 */

import { GFPFLAG_NAMES, type TracePrintFlag } from "@pcpu/mm";

export { GFPFLAG_NAMES, type TracePrintFlag };

/**
 * Print a flag word with a flag table: matching names joined by `delim`,
 * then any bits no name took as `0x%lx`. `flags` is a 32-bit value.
 *
 * @kernel kernel/trace/trace_output.c trace_print_flags_seq
 * @param flags the flag word
 * @param delim the separator (`|` for GFP flags)
 * @param table the names, matched in order
 * @returns the text (empty when flags is 0)
 */
export function tracePrintFlags(flags: number, delim: string, table: readonly TracePrintFlag[]): string {
  let rest = flags >>> 0;
  let out = "";
  for (let i = 0; i < table.length && rest !== 0; i++) {
    const mask = table[i]!.mask >>> 0;
    if ((rest & mask) >>> 0 !== mask) continue;
    rest = (rest & ~mask) >>> 0;
    if (out.length > 0) out += delim;
    out += table[i]!.name;
  }
  if (rest !== 0) {
    if (out.length > 0) out += delim;
    out += `0x${rest.toString(16)}`;
  }
  return out;
}

/**
 * GFP flags as tracepoints print them: `none` for 0, otherwise the table
 * names joined by `|` (e.g. `GFP_KERNEL`, `GFP_KERNEL|__GFP_NOWARN`,
 * `GFP_NOWAIT|0x4000000`).
 *
 * @kernel include/trace/events/mmflags.h show_gfp_flags
 * @param flags a gfp_t value (32 bits)
 * @returns the printed text
 */
export function showGfpFlags(flags: number): string {
  return flags >>> 0 === 0 ? "none" : tracePrintFlags(flags, "|", GFPFLAG_NAMES);
}

/**
 * The inverse of `showGfpFlags`: the OR of the named masks and hex leftovers.
 * @param text the printed flags
 * @returns the flag word
 * @throws RangeError naming the first part that is not a flag name or a 32-bit hex value
 */
export function parseGfpFlags(text: string): number {
  if (text === "none") return 0;
  let flags = 0;
  for (const part of text.split("|")) {
    if (/^0x[0-9a-f]+$/.test(part)) {
      const v = Number.parseInt(part.slice(2), 16);
      if (v > 0xffffffff) throw new RangeError(`gfp_flags leftover ${part} does not fit in 32 bits`);
      flags = (flags | v) >>> 0;
      continue;
    }
    const entry = GFPFLAG_NAMES.find((f) => f.name === part);
    if (!entry) throw new RangeError(`unknown GFP flag '${part}'`);
    flags = (flags | entry.mask) >>> 0;
  }
  return flags;
}
