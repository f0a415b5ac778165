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

const GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE;
const GFP_TRANSHUGE_LIGHT =
  (GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOMEMALLOC | __GFP_NOWARN) & ~__GFP_RECLAIM;
const GFP_TRANSHUGE = GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM;

/**
 * The names `%pGg` and the tracepoints' show_gfp_flags() match, in their
 * order: composite masks first (most bits first), then single bits in bit
 * order (include/trace/events/mmflags.h, 6.10+ layout).
 */
const GFP_NAMES: readonly (readonly [number, string])[] = [
  [GFP_TRANSHUGE, "GFP_TRANSHUGE"],
  [GFP_TRANSHUGE_LIGHT, "GFP_TRANSHUGE_LIGHT"],
  [GFP_HIGHUSER_MOVABLE, "GFP_HIGHUSER_MOVABLE"],
  [GFP_HIGHUSER, "GFP_HIGHUSER"],
  [GFP_USER, "GFP_USER"],
  [GFP_KERNEL_ACCOUNT, "GFP_KERNEL_ACCOUNT"],
  [GFP_KERNEL, "GFP_KERNEL"],
  [GFP_NOFS, "GFP_NOFS"],
  [GFP_ATOMIC, "GFP_ATOMIC"],
  [GFP_NOIO, "GFP_NOIO"],
  [GFP_NOWAIT, "GFP_NOWAIT"],
  [GFP_DMA, "GFP_DMA"],
  [GFP_DMA32, "GFP_DMA32"],
  [__GFP_RECLAIM, "__GFP_RECLAIM"],
  [__GFP_DMA, "__GFP_DMA"],
  [__GFP_HIGHMEM, "__GFP_HIGHMEM"],
  [__GFP_DMA32, "__GFP_DMA32"],
  [__GFP_MOVABLE, "__GFP_MOVABLE"],
  [__GFP_RECLAIMABLE, "__GFP_RECLAIMABLE"],
  [__GFP_HIGH, "__GFP_HIGH"],
  [__GFP_IO, "__GFP_IO"],
  [__GFP_FS, "__GFP_FS"],
  [__GFP_ZERO, "__GFP_ZERO"],
  [__GFP_DIRECT_RECLAIM, "__GFP_DIRECT_RECLAIM"],
  [__GFP_KSWAPD_RECLAIM, "__GFP_KSWAPD_RECLAIM"],
  [__GFP_WRITE, "__GFP_WRITE"],
  [__GFP_NOWARN, "__GFP_NOWARN"],
  [__GFP_RETRY_MAYFAIL, "__GFP_RETRY_MAYFAIL"],
  [__GFP_NOFAIL, "__GFP_NOFAIL"],
  [__GFP_NORETRY, "__GFP_NORETRY"],
  [__GFP_MEMALLOC, "__GFP_MEMALLOC"],
  [__GFP_COMP, "__GFP_COMP"],
  [__GFP_NOMEMALLOC, "__GFP_NOMEMALLOC"],
  [__GFP_HARDWALL, "__GFP_HARDWALL"],
  [__GFP_THISNODE, "__GFP_THISNODE"],
  [__GFP_ACCOUNT, "__GFP_ACCOUNT"],
  [__GFP_ZEROTAGS, "__GFP_ZEROTAGS"],
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
  for (const [mask, name] of GFP_NAMES) {
    if (left === 0) break;
    if ((left & mask) === mask) {
      out.push(name);
      left &= ~mask;
    }
  }
  if (left !== 0) out.push(`0x${left.toString(16)}`);
  return out.join("|");
}
