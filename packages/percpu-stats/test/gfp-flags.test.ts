import {
  __GFP_ACCOUNT,
  __GFP_HIGH,
  __GFP_NORETRY,
  __GFP_NOWARN,
  __GFP_ZERO,
  GFP_ATOMIC,
  GFP_KERNEL,
  GFP_KERNEL_ACCOUNT,
  GFP_NOWAIT,
} from "@pcpu/mm";
import { describe, expect, it } from "vitest";
import { GFPFLAG_NAMES, parseGfpFlags, showGfpFlags, tracePrintFlags } from "../src/gfp-flags.js";

describe("showGfpFlags (show_gfp_flags)", () => {
  it("prints none for 0 and composite names before single flags", () => {
    expect(showGfpFlags(0)).toBe("none");
    expect(showGfpFlags(GFP_KERNEL)).toBe("GFP_KERNEL");
    expect(showGfpFlags(0xcc0)).toBe("GFP_KERNEL");
    expect(showGfpFlags(GFP_KERNEL | __GFP_NOWARN)).toBe("GFP_KERNEL|__GFP_NOWARN");
    expect(showGfpFlags(GFP_KERNEL_ACCOUNT)).toBe("GFP_KERNEL_ACCOUNT");
    expect(showGfpFlags(GFP_KERNEL | __GFP_ACCOUNT | __GFP_ZERO)).toBe("GFP_KERNEL_ACCOUNT|__GFP_ZERO");
    expect(showGfpFlags(GFP_ATOMIC)).toBe("GFP_ATOMIC");
    expect(showGfpFlags(0x820)).toBe("GFP_ATOMIC");
    // GFP_NOWAIT = __GFP_KSWAPD_RECLAIM | __GFP_NOWARN (0x2800).
    expect(showGfpFlags(GFP_NOWAIT)).toBe("GFP_NOWAIT");
    expect(showGfpFlags(GFP_NOWAIT | __GFP_NORETRY)).toBe("GFP_NOWAIT|__GFP_NORETRY");
    // GFP_ATOMIC takes __GFP_KSWAPD_RECLAIM first, so GFP_NOWAIT no longer matches.
    expect(showGfpFlags(GFP_ATOMIC | __GFP_NOWARN)).toBe("GFP_ATOMIC|__GFP_NOWARN");
    expect(showGfpFlags(__GFP_HIGH)).toBe("__GFP_HIGH");
    // __GFP_RECLAIM (0xc00) without IO/FS is GFP_NOIO, which comes first.
    expect(showGfpFlags(0xc00)).toBe("GFP_NOIO");
    // GFP_TRANSHUGE: ((0x100cca | 0x40000 | 0x80000 | 0x2000) & ~0xc00) | 0x400.
    expect(showGfpFlags(0x1c24ca)).toBe("GFP_TRANSHUGE");
    expect(showGfpFlags(0x1c20ca)).toBe("GFP_TRANSHUGE_LIGHT");
  });

  it("prints bits no name covers as one 0x%lx at the end", () => {
    expect(showGfpFlags(GFP_KERNEL | 0x4000000)).toBe("GFP_KERNEL|0x4000000");
    expect(showGfpFlags(0x1000000)).toBe("0x1000000");
    // Bit 9 is unused in 6.x.
    expect(showGfpFlags(0x200 | 0x80000000)).toBe("0x80000200");
  });

  it("has the mmflags.h table: 14 composites then the 23 single bits", () => {
    expect(GFPFLAG_NAMES.length).toBe(37);
    expect(GFPFLAG_NAMES.slice(0, 14).map((f) => f.name)).toEqual([
      "GFP_TRANSHUGE",
      "GFP_TRANSHUGE_LIGHT",
      "GFP_HIGHUSER_MOVABLE",
      "GFP_HIGHUSER",
      "GFP_USER",
      "GFP_KERNEL_ACCOUNT",
      "GFP_KERNEL",
      "GFP_NOFS",
      "GFP_ATOMIC",
      "GFP_NOIO",
      "GFP_NOWAIT",
      "GFP_DMA",
      "GFP_DMA32",
      "__GFP_RECLAIM",
    ]);
    expect(GFPFLAG_NAMES.slice(14).map((f) => f.mask)).toEqual([
      0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80, 0x100, 0x400, 0x800, 0x1000, 0x2000, 0x4000, 0x8000,
      0x10000, 0x20000, 0x40000, 0x80000, 0x100000, 0x200000, 0x400000, 0x800000,
    ]);
  });
});

describe("tracePrintFlags (trace_print_flags_seq)", () => {
  it("joins with the delimiter and prints nothing for 0", () => {
    const table = [
      { mask: 0x3, name: "AB" },
      { mask: 0x1, name: "A" },
      { mask: 0x4, name: "C" },
    ];
    expect(tracePrintFlags(0, ",", table)).toBe("");
    expect(tracePrintFlags(0x7, ",", table)).toBe("AB,C");
    expect(tracePrintFlags(0x5, ",", table)).toBe("A,C");
    expect(tracePrintFlags(0x19, ",", table)).toBe("A,0x18");
  });
});

describe("parseGfpFlags (inverse of show_gfp_flags)", () => {
  it("ORs the named masks and hex leftovers", () => {
    expect(parseGfpFlags("none")).toBe(0);
    expect(parseGfpFlags("GFP_KERNEL")).toBe(0xcc0);
    expect(parseGfpFlags("GFP_KERNEL|__GFP_NOWARN")).toBe(0x2cc0);
    expect(parseGfpFlags("GFP_NOWAIT|0x4000000")).toBe(0x4002800);
    expect(parseGfpFlags("0x80000200")).toBe(0x80000200);
  });

  it("round-trips every 32-bit value it prints", () => {
    let x = 0x12345678;
    for (let i = 0; i < 2000; i++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      const v = i % 3 === 0 ? x & 0xffffff : x;
      expect(parseGfpFlags(showGfpFlags(v))).toBe(v >>> 0);
    }
  });

  it("rejects unknown names, empty parts and leftovers wider than 32 bits", () => {
    expect(() => parseGfpFlags("GFP_KERNL")).toThrow("unknown GFP flag 'GFP_KERNL'");
    expect(() => parseGfpFlags("")).toThrow("unknown GFP flag ''");
    expect(() => parseGfpFlags("GFP_KERNEL||__GFP_NOWARN")).toThrow("unknown GFP flag ''");
    expect(() => parseGfpFlags("0x100000000")).toThrow("does not fit in 32 bits");
    expect(() => parseGfpFlags("0X10")).toThrow("unknown GFP flag '0X10'");
  });
});
