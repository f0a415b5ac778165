/*
 * GFP flags as tracepoints print them: show_gfp_flags() and the
 * __def_gfpflag_names table of include/trace/events/mmflags.h (6.x,
 * built without KASAN hardware tags and without lockdep, matching the bit
 * layout of @pcpu/mm's gfp.ts), printed by __print_flags
 * (kernel/trace/trace_output.c trace_print_flags_seq).
 *
 * The table is matched in order: a name is printed when all its bits are
 * still set, and its bits are then removed, so composite names (most bits
 * first) win over single flags. Whatever is left is printed as `0x%lx`.
 */

import {
  __GFP_ACCOUNT,
  __GFP_COMP,
  __GFP_DIRECT_RECLAIM,
  __GFP_DMA,
  __GFP_DMA32,
  __GFP_FS,
  __GFP_HARDWALL,
  __GFP_HIGH,
  __GFP_HIGHMEM,
  __GFP_IO,
  __GFP_KSWAPD_RECLAIM,
  __GFP_MEMALLOC,
  __GFP_MOVABLE,
  __GFP_NOFAIL,
  __GFP_NOMEMALLOC,
  __GFP_NORETRY,
  __GFP_NOWARN,
  __GFP_RECLAIM,
  __GFP_RECLAIMABLE,
  __GFP_RETRY_MAYFAIL,
  __GFP_THISNODE,
  __GFP_WRITE,
  __GFP_ZERO,
  __GFP_ZEROTAGS,
  GFP_ATOMIC,
  GFP_DMA,
  GFP_DMA32,
  GFP_HIGHUSER,
  GFP_KERNEL,
  GFP_KERNEL_ACCOUNT,
  GFP_NOFS,
  GFP_NOIO,
  GFP_NOWAIT,
  GFP_USER,
} from "@pcpu/mm";

/** A `struct trace_print_flags` entry. */
export interface TracePrintFlag {
  readonly mask: number;
  readonly name: string;
}

/* Composites not defined by @pcpu/mm (include/linux/gfp_types.h). */
const GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE;
const GFP_TRANSHUGE_LIGHT =
  (GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOMEMALLOC | __GFP_NOWARN) & ~__GFP_RECLAIM;
const GFP_TRANSHUGE = GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM;

/**
 * `__def_gfpflag_names`, in the kernel's order.
 * @kernel include/trace/events/mmflags.h __def_gfpflag_names
 */
export const GFPFLAG_NAMES: readonly TracePrintFlag[] = [
  { mask: GFP_TRANSHUGE, name: "GFP_TRANSHUGE" },
  { mask: GFP_TRANSHUGE_LIGHT, name: "GFP_TRANSHUGE_LIGHT" },
  { mask: GFP_HIGHUSER_MOVABLE, name: "GFP_HIGHUSER_MOVABLE" },
  { mask: GFP_HIGHUSER, name: "GFP_HIGHUSER" },
  { mask: GFP_USER, name: "GFP_USER" },
  { mask: GFP_KERNEL_ACCOUNT, name: "GFP_KERNEL_ACCOUNT" },
  { mask: GFP_KERNEL, name: "GFP_KERNEL" },
  { mask: GFP_NOFS, name: "GFP_NOFS" },
  { mask: GFP_ATOMIC, name: "GFP_ATOMIC" },
  { mask: GFP_NOIO, name: "GFP_NOIO" },
  { mask: GFP_NOWAIT, name: "GFP_NOWAIT" },
  { mask: GFP_DMA, name: "GFP_DMA" },
  { mask: GFP_DMA32, name: "GFP_DMA32" },
  { mask: __GFP_RECLAIM, name: "__GFP_RECLAIM" },
  { mask: __GFP_DMA, name: "__GFP_DMA" },
  { mask: __GFP_HIGHMEM, name: "__GFP_HIGHMEM" },
  { mask: __GFP_DMA32, name: "__GFP_DMA32" },
  { mask: __GFP_MOVABLE, name: "__GFP_MOVABLE" },
  { mask: __GFP_RECLAIMABLE, name: "__GFP_RECLAIMABLE" },
  { mask: __GFP_HIGH, name: "__GFP_HIGH" },
  { mask: __GFP_IO, name: "__GFP_IO" },
  { mask: __GFP_FS, name: "__GFP_FS" },
  { mask: __GFP_ZERO, name: "__GFP_ZERO" },
  { mask: __GFP_DIRECT_RECLAIM, name: "__GFP_DIRECT_RECLAIM" },
  { mask: __GFP_KSWAPD_RECLAIM, name: "__GFP_KSWAPD_RECLAIM" },
  { mask: __GFP_WRITE, name: "__GFP_WRITE" },
  { mask: __GFP_NOWARN, name: "__GFP_NOWARN" },
  { mask: __GFP_RETRY_MAYFAIL, name: "__GFP_RETRY_MAYFAIL" },
  { mask: __GFP_NOFAIL, name: "__GFP_NOFAIL" },
  { mask: __GFP_NORETRY, name: "__GFP_NORETRY" },
  { mask: __GFP_MEMALLOC, name: "__GFP_MEMALLOC" },
  { mask: __GFP_COMP, name: "__GFP_COMP" },
  { mask: __GFP_NOMEMALLOC, name: "__GFP_NOMEMALLOC" },
  { mask: __GFP_HARDWALL, name: "__GFP_HARDWALL" },
  { mask: __GFP_THISNODE, name: "__GFP_THISNODE" },
  { mask: __GFP_ACCOUNT, name: "__GFP_ACCOUNT" },
  { mask: __GFP_ZEROTAGS, name: "__GFP_ZEROTAGS" },
];

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
