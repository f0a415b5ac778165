import { EINVAL } from "@pcpu/mm";
import { describe, expect, it } from "vitest";
import {
  bitmapFromBits,
  bitmapListString,
  bitmapParselist,
  bitmapString,
  bitmapTestBit,
  bitmapWords,
  CpulistParseError,
  cpulistParse,
  EOVERFLOW,
  ERANGE,
} from "../src/cpumask.js";

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

describe("bitmapString (lib/vsprintf.c bitmap_string, %*pb)", () => {
  it("pads the first chunk to its own bit count's hex width and later chunks to 8 digits", () => {
    expect(bitmapString(bitmapFromBits([0, 1, 2, 3, 8], 12), 12)).toBe("10f");
    expect(bitmapString(bitmapFromBits([0, 40], 48), 48)).toBe("0100,00000001");
    expect(bitmapString(bitmapFromBits(range(0, 32), 32), 32)).toBe("ffffffff");
    expect(bitmapString(bitmapFromBits(range(0, 33), 33), 33)).toBe("1,ffffffff");
    expect(bitmapString(bitmapFromBits([0], 1), 1)).toBe("1");
    expect(bitmapString(bitmapFromBits([], 5), 5)).toBe("00");
    expect(bitmapString(bitmapFromBits([63], 64), 64)).toBe("80000000,00000000");
    expect(bitmapString(bitmapFromBits([0, 1, 2, 3], 4096), 4096)).toMatch(/^(00000000,){127}0000000f$/);
  });

  it("prints nothing for a zero-width mask and masks bits beyond the width", () => {
    expect(bitmapString(new Uint32Array(1).fill(0xff), 0)).toBe("");
    expect(bitmapString(new Uint32Array(1).fill(0xff), 4)).toBe("f");
  });

  it("rejects a width the array cannot hold", () => {
    expect(() => bitmapString(new Uint32Array(1), 33)).toThrow(/cannot hold 33 bits/);
    expect(() => bitmapString(new Uint32Array(1), -1)).toThrow(RangeError);
  });
});

describe("bitmapListString (lib/vsprintf.c bitmap_list_string, %*pbl)", () => {
  it("prints runs as a-b and single bits as a", () => {
    expect(bitmapListString(bitmapFromBits([0, 1, 2, 3, 8], 12), 12)).toBe("0-3,8");
    expect(bitmapListString(bitmapFromBits([0, 2, 4], 8), 8)).toBe("0,2,4");
    expect(bitmapListString(bitmapFromBits(range(0, 64), 64), 64)).toBe("0-63");
    expect(bitmapListString(bitmapFromBits([31, 32, 33, 100], 128), 128)).toBe("31-33,100");
    expect(bitmapListString(bitmapFromBits([], 8), 8)).toBe("");
  });

  it("stops at the width", () => {
    expect(bitmapListString(new Uint32Array(1).fill(0xff), 4)).toBe("0-3");
  });
});

describe("bitmapFromBits / bitmapTestBit / bitmapWords", () => {
  it("sets the named bits in 32-bit words", () => {
    const m = bitmapFromBits([0, 33], 64);
    expect(Array.from(m)).toEqual([1, 2]);
    expect(bitmapTestBit(m, 33)).toBe(true);
    expect(bitmapTestBit(m, 32)).toBe(false);
    expect(bitmapWords(0)).toBe(0);
    expect(bitmapWords(33)).toBe(2);
  });

  it("rejects bits outside the mask", () => {
    expect(() => bitmapFromBits([8], 8)).toThrow(/outside a mask of 8 bits/);
    expect(() => bitmapFromBits([-1], 8)).toThrow(RangeError);
    expect(() => bitmapFromBits([], -2)).toThrow(RangeError);
  });
});

describe("bitmapParselist (lib/bitmap-str.c bitmap_parselist)", () => {
  const parse = (s: string, nbits = 16): string | number => {
    const m = new Uint32Array(bitmapWords(nbits)).fill(0xffffffff);
    const rc = bitmapParselist(s, m, nbits);
    return rc === 0 ? bitmapListString(m, nbits) : rc;
  };

  it("parses numbers, ranges and group patterns", () => {
    expect(parse("0-3,8-11")).toBe("0-3,8-11");
    expect(parse("5")).toBe("5");
    expect(parse("0-7:2/4")).toBe("0-1,4-5");
    expect(parse("0-15:1/8")).toBe("0,8");
    expect(parse("2-6:3/4")).toBe("2-4,6");
    expect(parse("")).toBe("");
  });

  it("knows N (the last bit) and all, case-insensitive", () => {
    expect(parse("N", 8)).toBe("7");
    expect(parse("4-N", 8)).toBe("4-7");
    expect(parse("all", 8)).toBe("0-7");
    expect(parse("ALL:1/2", 8)).toBe("0,2,4,6");
  });

  it("skips commas and whitespace before a region; a newline or NUL ends the input", () => {
    expect(parse(" ,0-1, 3\t,,5")).toBe("0-1,3,5");
    expect(parse("0-3\n4")).toBe("0-3");
    expect(parse("0-3,\n4")).toBe("0-4");
    expect(parse("1\u00002")).toBe("1");
  });

  it("returns the kernel's errno for bad input", () => {
    expect(parse("3-1")).toBe(-EINVAL);
    expect(parse("a")).toBe(-EINVAL);
    expect(parse("1-")).toBe(-EINVAL);
    expect(parse("0x3")).toBe(-EINVAL);
    expect(parse("0-7:2")).toBe(-EINVAL);
    expect(parse("0-7:0/0")).toBe(-EINVAL);
    expect(parse("0-7:5/4")).toBe(-EINVAL);
    expect(parse("0-7:2/4x")).toBe(-EINVAL);
    expect(parse("0-16")).toBe(-ERANGE);
    expect(parse("4294967295")).toBe(-ERANGE);
    expect(parse("4294967296")).toBe(-EOVERFLOW);
    expect(parse("1-99999999999999999999")).toBe(-EOVERFLOW);
  });

  it("rejects a mask width below 1 or beyond the array", () => {
    expect(() => bitmapParselist("0", new Uint32Array(1), 0)).toThrow(RangeError);
    expect(() => bitmapParselist("0", new Uint32Array(1), 64)).toThrow(RangeError);
  });
});

describe("cpulistParse (cpulist_parse)", () => {
  it("returns a new mask for node lists like 0-3 and 4-7", () => {
    const nodes = "0-3;4-7".split(";").map((s) => cpulistParse(s, 8));
    expect(nodes.map((m) => bitmapListString(m, 8))).toEqual(["0-3", "4-7"]);
    expect(bitmapString(nodes[1]!, 8)).toBe("f0");
  });

  it("throws CpulistParseError naming the offset and errno", () => {
    expect(() => cpulistParse("0-3,x", 8)).toThrow(CpulistParseError);
    try {
      cpulistParse("0-3,x", 8);
    } catch (e) {
      expect(e).toBeInstanceOf(CpulistParseError);
      const err = e as CpulistParseError;
      expect(err.errno).toBe(-EINVAL);
      expect(err.offset).toBe(4);
      expect(err.message).toBe(
        'cpulist "0-3,x" at offset 4 ("x"): wrong region format or invalid character; expected N, N-M or N-M:used/group (-EINVAL)',
      );
    }
    expect(() => cpulistParse("0-8", 8)).toThrow(/CPU number too large for a mask of 8 bits \(-ERANGE\)/);
    expect(() => cpulistParse("9999999999", 8)).toThrow(/-EOVERFLOW/);
    expect(() => cpulistParse("0", 0)).toThrow(RangeError);
    expect(() => cpulistParse(3 as unknown as string, 8)).toThrow(TypeError);
  });
});
