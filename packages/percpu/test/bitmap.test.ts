import { describe, expect, it } from "vitest";
import {
  BitRange,
  bitmapClear,
  bitmapSet,
  bitmapWeight,
  bitsToWords,
  clearBit,
  ffsBit,
  findLastBit,
  findLastBitInRange,
  findNextBit,
  findNextZeroBit,
  fls,
  nextClearBitRange,
  nextSetBitRange,
  setBit,
  testBit,
} from "../src/bitmap.js";

function mapWith(nbits: number, ...set: number[]): Uint32Array {
  const m = new Uint32Array(bitsToWords(nbits));
  for (const b of set) setBit(m, b);
  return m;
}

describe("fls / ffsBit (fls / __ffs)", () => {
  it("fls is 1-based and fls(0) is 0", () => {
    expect(fls(0)).toBe(0);
    expect(fls(1)).toBe(1);
    expect(fls(0x10)).toBe(5);
    expect(fls(0x7330)).toBe(15);
    expect(fls(0x80000000)).toBe(32);
    expect(fls(0xffffffff)).toBe(32);
  });
  it("ffsBit is 0-based", () => {
    expect(ffsBit(1)).toBe(0);
    expect(ffsBit(0x40)).toBe(6);
    expect(ffsBit(0x64)).toBe(2);
    expect(ffsBit(0x80000000)).toBe(31);
    expect(ffsBit(0)).toBe(-1);
  });
});

describe("testBit / setBit / clearBit (test_bit / __set_bit / __clear_bit)", () => {
  it("bit i is word i>>>5, position i&31", () => {
    const m = new Uint32Array(2);
    setBit(m, 0x1f);
    setBit(m, 0x20);
    expect(m[0]).toBe(0x80000000);
    expect(m[1]).toBe(1);
    expect(testBit(m, 0x1f)).toBe(true);
    expect(testBit(m, 0x1e)).toBe(false);
    clearBit(m, 0x1f);
    expect(m[0]).toBe(0);
    expect(testBit(m, 0x20)).toBe(true);
  });
});

describe("findNextBit (find_next_bit)", () => {
  const m = mapWith(0x80, 0x3, 0x21, 0x7f);
  it("finds the lowest set bit at or after off", () => {
    expect(findNextBit(m, 0x80, 0)).toBe(0x3);
    expect(findNextBit(m, 0x80, 0x3)).toBe(0x3);
    expect(findNextBit(m, 0x80, 0x4)).toBe(0x21);
    expect(findNextBit(m, 0x80, 0x22)).toBe(0x7f);
  });
  it("returns size when none in [off, size)", () => {
    expect(findNextBit(m, 0x7f, 0x22)).toBe(0x7f);
    expect(findNextBit(m, 0x21, 0x4)).toBe(0x21);
    expect(findNextBit(new Uint32Array(4), 0x80, 0)).toBe(0x80);
  });
  it("returns size when off >= size", () => {
    expect(findNextBit(m, 0x80, 0x80)).toBe(0x80);
    expect(findNextBit(m, 0x10, 0x40)).toBe(0x10);
  });
  it("ignores set bits past size in the last word", () => {
    expect(findNextBit(mapWith(0x40, 0x25), 0x24, 0x20)).toBe(0x24);
  });
});

describe("findNextZeroBit (find_next_zero_bit)", () => {
  const m = new Uint32Array([0xffffffff, 0xfffffff7, 0xffffffff]);
  it("finds the lowest clear bit at or after off", () => {
    expect(findNextZeroBit(m, 0x60, 0)).toBe(0x23);
    expect(findNextZeroBit(m, 0x60, 0x23)).toBe(0x23);
  });
  it("returns size when none", () => {
    expect(findNextZeroBit(m, 0x60, 0x24)).toBe(0x60);
    expect(findNextZeroBit(m, 0x23, 0)).toBe(0x23);
    expect(findNextZeroBit(m, 0x5f, 0x24)).toBe(0x5f);
    expect(findNextZeroBit(m, 0x60, 0x61)).toBe(0x60);
  });
});

describe("findLastBit (find_last_bit)", () => {
  it("finds the highest set bit below size", () => {
    const m = mapWith(0x80, 0x5, 0x40, 0x41);
    expect(findLastBit(m, 0x80)).toBe(0x41);
    expect(findLastBit(m, 0x41)).toBe(0x40);
    expect(findLastBit(m, 0x40)).toBe(0x5);
    expect(findLastBit(m, 0x6)).toBe(0x5);
  });
  it("returns size when none (the start value, as chunk_map_stats relies on)", () => {
    const m = mapWith(0x80, 0x5);
    expect(findLastBit(m, 0x5)).toBe(0x5);
    expect(findLastBit(m, 0)).toBe(0);
    expect(findLastBit(new Uint32Array(4), 0x7f)).toBe(0x7f);
  });
  it("findLastBitInRange looks only at [start, size)", () => {
    const m = mapWith(0x800, 0x3ff, 0x405);
    expect(findLastBitInRange(m, 0x400, 0x410)).toBe(0x405);
    expect(findLastBitInRange(m, 0x400, 0x405)).toBe(0x405);
    expect(findLastBitInRange(m, 0x406, 0x410)).toBe(0x410);
    expect(findLastBitInRange(m, 0x400, 0x400)).toBe(0x400);
  });
});

describe("bitmapSet / bitmapClear (bitmap_set / bitmap_clear)", () => {
  it("sets and clears within one word", () => {
    const m = new Uint32Array(2);
    bitmapSet(m, 0x4, 0x8);
    expect(m[0]).toBe(0xff0);
    bitmapClear(m, 0x6, 0x2);
    expect(m[0]).toBe(0xf30);
  });
  it("sets and clears across words", () => {
    const m = new Uint32Array(4);
    bitmapSet(m, 0x1e, 0x24);
    expect(Array.from(m)).toEqual([0xc0000000, 0xffffffff, 0x3, 0]);
    bitmapClear(m, 0x1f, 0x22);
    expect(Array.from(m)).toEqual([0x40000000, 0, 0x2, 0]);
  });
  it("a zero-length range is a no-op", () => {
    const m = new Uint32Array(1);
    bitmapSet(m, 0x3, 0);
    bitmapClear(m, 0x3, 0);
    expect(m[0]).toBe(0);
  });
  it("a full word", () => {
    const m = new Uint32Array(2);
    bitmapSet(m, 0x20, 0x20);
    expect(Array.from(m)).toEqual([0, 0xffffffff]);
  });
});

describe("bitmapWeight (bitmap_weight)", () => {
  it("counts set bits below size", () => {
    const m = new Uint32Array([0xffffffff, 0x8000000f]);
    expect(bitmapWeight(m, 0x40)).toBe(0x25);
    expect(bitmapWeight(m, 0x3f)).toBe(0x24);
    expect(bitmapWeight(m, 0x22)).toBe(0x22);
    expect(bitmapWeight(m, 0x20)).toBe(0x20);
    expect(bitmapWeight(m, 0)).toBe(0);
  });
});

describe("nextClearBitRange (for_each_clear_bitrange_from)", () => {
  it("visits maximal clear runs clipped at size, reusing one BitRange", () => {
    const m = mapWith(0x40, 0x0, 0x1, 0x8, 0x21);
    const r = new BitRange();
    const runs: [number, number][] = [];
    for (let b = 0; nextClearBitRange(m, 0x30, b, r); b = r.end + 1) runs.push([r.start, r.end]);
    expect(runs).toEqual([
      [0x2, 0x8],
      [0x9, 0x21],
      [0x22, 0x30],
    ]);
  });
  it("a run may begin exactly at from, and no run is found past size", () => {
    const m = mapWith(0x40, 0x8);
    const r = new BitRange();
    expect(nextClearBitRange(m, 0x40, 0x5, r)).toBe(true);
    expect([r.start, r.end]).toEqual([0x5, 0x8]);
    expect(nextClearBitRange(m, 0x9, 0x8, r)).toBe(false);
    expect(nextClearBitRange(m, 0x40, 0x40, r)).toBe(false);
  });
  it("nextSetBitRange visits set runs", () => {
    const m = mapWith(0x40, 0x3, 0x4, 0x1f, 0x20, 0x21);
    const r = new BitRange();
    const runs: [number, number][] = [];
    for (let b = 0; nextSetBitRange(m, 0x21, b, r); b = r.end + 1) runs.push([r.start, r.end]);
    expect(runs).toEqual([
      [0x3, 0x5],
      [0x1f, 0x21],
    ]);
  });
});
