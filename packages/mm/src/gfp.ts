/*
 * GFP flags (include/linux/gfp_types.h, 6.x bit layout without KASAN
 * hardware tags or lockdep). The values matter where they are printed: the
 * percpu tracepoints show leftover bits in hex after the named flags.
 */

export const __GFP_DMA = 0x01;
export const __GFP_HIGHMEM = 0x02;
export const __GFP_DMA32 = 0x04;
export const __GFP_MOVABLE = 0x08;
export const __GFP_RECLAIMABLE = 0x10;
export const __GFP_HIGH = 0x20;
export const __GFP_IO = 0x40;
export const __GFP_FS = 0x80;
export const __GFP_ZERO = 0x100;
export const __GFP_DIRECT_RECLAIM = 0x400;
export const __GFP_KSWAPD_RECLAIM = 0x800;
export const __GFP_WRITE = 0x1000;
export const __GFP_NOWARN = 0x2000;
export const __GFP_RETRY_MAYFAIL = 0x4000;
export const __GFP_NOFAIL = 0x8000;
export const __GFP_NORETRY = 0x10000;
export const __GFP_MEMALLOC = 0x20000;
export const __GFP_COMP = 0x40000;
export const __GFP_NOMEMALLOC = 0x80000;
export const __GFP_HARDWALL = 0x100000;
export const __GFP_THISNODE = 0x200000;
export const __GFP_ACCOUNT = 0x400000;
export const __GFP_ZEROTAGS = 0x800000;

export const __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;

/**
 * `__GFP_BITS_SHIFT` / `__GFP_BITS_MASK`: the flag bits of this layout
 * (___GFP_LAST_BIT without CONFIG_KASAN_HW_TAGS, CONFIG_LOCKDEP or
 * CONFIG_SLAB_OBJ_EXT). Bit 0x200 inside the mask is `___GFP_UNUSED_BIT`.
 * @kernel include/linux/gfp_types.h __GFP_BITS_MASK
 */
export const __GFP_BITS_SHIFT = 24;
export const __GFP_BITS_MASK = (1 << __GFP_BITS_SHIFT) - 1;
/** `___GFP_UNUSED_BIT` (0x200): inside __GFP_BITS_MASK, but no flag. */
export const ___GFP_UNUSED = 0x200;
/** Every bit that names a flag in this layout: `__GFP_BITS_MASK` without the unused bit. */
export const GFP_DEFINED_BITS = __GFP_BITS_MASK & ~___GFP_UNUSED;

export const GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM;
export const GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS;
export const GFP_KERNEL_ACCOUNT = GFP_KERNEL | __GFP_ACCOUNT;
export const GFP_NOWAIT = __GFP_KSWAPD_RECLAIM | __GFP_NOWARN;
export const GFP_NOIO = __GFP_RECLAIM;
export const GFP_NOFS = __GFP_RECLAIM | __GFP_IO;
export const GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL;
export const GFP_DMA = __GFP_DMA;
export const GFP_DMA32 = __GFP_DMA32;
export const GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM;

/**
 * `gfpflags_allow_blocking`: whether an allocation with these flags may
 * sleep (it may enter direct reclaim).
 * @kernel include/linux/gfp.h gfpflags_allow_blocking
 */
export function gfpflagsAllowBlocking(gfp: number): boolean {
  return (gfp & __GFP_DIRECT_RECLAIM) !== 0;
}

export const GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE;
export const GFP_TRANSHUGE_LIGHT =
  (GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOMEMALLOC | __GFP_NOWARN) & ~__GFP_RECLAIM;
export const GFP_TRANSHUGE = GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM;

/**
 * The names `%pGg` and the tracepoints' show_gfp_flags() match, in their
 * order: composite masks first (most bits first), then single bits in bit
 * order (include/trace/events/mmflags.h, 6.10+ layout). The tracepoint
 * printer of @pcpu/percpu-stats uses the same table.
 * @kernel include/trace/events/mmflags.h __def_gfpflag_names
 */
/** A `struct trace_print_flags` entry: a mask and the name printed for it. */
export interface TracePrintFlag {
  readonly mask: number;
  readonly name: string;
}

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
 * GFP flags as the kernel prints them (`%pGg`, show_gfp_flags): matching
 * names joined by `|`, leftover bits as hex, `none` for 0.
 * @kernel include/trace/events/mmflags.h show_gfp_flags
 */
export function formatGfpFlags(gfp: number): string {
  if (gfp === 0) return "none";
  const out: string[] = [];
  let left = gfp;
  for (const { mask, name } of GFPFLAG_NAMES) {
    if (left === 0) break;
    if ((left & mask) === mask) {
      out.push(name);
      left &= ~mask;
    }
  }
  if (left !== 0) out.push(`0x${left.toString(16)}`);
  return out.join("|");
}
