/*
 * Bitmap helpers with the kernel's semantics (include/linux/bitmap.h,
 * include/linux/find.h, include/linux/bitops.h), on Uint32Array words.
 *
 * Bit i lives in word i >>> 5 at position i & 31:
 *
 *   word:     0                       1
 *   bit:      31 ............... 0    63 .............. 32
 *
 * The bitmap allocator depends on the exact "not found" values: the find
 * helpers return `size` when nothing is found (also when `off >= size`), and
 * `findLastBit` returns `size` too. Everything scans a word at a time with
 * Math.clz32 and allocates nothing, so it is usable on the allocation hot
 * path. Ranges are half-open.
 */

/** Count trailing zeros of a non-zero 32-bit word. */
function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Mask of bits [b, 31] of a word (b in [0, 31]). */
function maskFrom(b: number): number {
  return 0xffffffff << b;
}

/** Mask of bits [0, b] of a word (b in [0, 31]). */
function maskTo(b: number): number {
  return 0xffffffff >>> (31 - b);
}

/**
 * `fls(x)`: 1-based index of the most significant set bit; `fls(0) = 0`.
 * @kernel include/asm-generic/bitops/fls.h fls
 * @returns 0..32.
 */
export function fls(x: number): number {
  return 32 - Math.clz32(x);
}

/**
 * `__ffs(x)`: 0-based index of the least significant set bit. Undefined for
 * 0 in the kernel; here it returns -1 so a misuse stands out.
 * @kernel include/asm-generic/bitops/__ffs.h __ffs
 */
export function ffsBit(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/**
 * `test_bit(nr, map)`.
 * @kernel include/linux/bitops.h test_bit
 */
export function testBit(map: Uint32Array, nr: number): boolean {
  return ((map[nr >>> 5] >>> (nr & 31)) & 1) !== 0;
}

/**
 * `__set_bit(nr, map)`.
 * @kernel include/linux/bitops.h __set_bit
 */
export function setBit(map: Uint32Array, nr: number): void {
  map[nr >>> 5] |= 1 << (nr & 31);
}

/**
 * `__clear_bit(nr, map)`.
 * @kernel include/linux/bitops.h __clear_bit
 */
export function clearBit(map: Uint32Array, nr: number): void {
  map[nr >>> 5] &= ~(1 << (nr & 31));
}

/**
 * `find_next_bit(map, size, off)`: the lowest set bit in `[off, size)`.
 * @kernel include/linux/find.h find_next_bit
 * @returns the bit index, or `size` if none (also when `off >= size`).
 */
export function findNextBit(map: Uint32Array, size: number, off: number): number {
  if (off >= size) return size;
  let w = off >>> 5;
  const last = (size - 1) >>> 5;
  let word = map[w] & maskFrom(off & 31);
  for (;;) {
    if (word !== 0) {
      const r = (w << 5) + ctz32(word);
      return Math.min(r, size);
    }
    /* skip empty words four at a time (a free block is 32 of them), never past the array */
    while (
      w + 4 <= last &&
      w + 4 < map.length &&
      (map[w + 1]! | map[w + 2]! | map[w + 3]! | map[w + 4]!) === 0
    )
      w += 4;
    if (++w > last) return size;
    word = map[w];
  }
}

/**
 * `find_next_zero_bit(map, size, off)`: the lowest clear bit in `[off, size)`.
 * @kernel include/linux/find.h find_next_zero_bit
 * @returns the bit index, or `size` if none (also when `off >= size`).
 */
export function findNextZeroBit(map: Uint32Array, size: number, off: number): number {
  if (off >= size) return size;
  let w = off >>> 5;
  const last = (size - 1) >>> 5;
  let word = ~map[w] & maskFrom(off & 31);
  for (;;) {
    if (word !== 0) {
      const r = (w << 5) + ctz32(word);
      return Math.min(r, size);
    }
    /* skip full words four at a time, never past the array */
    while (
      w + 4 <= last &&
      w + 4 < map.length &&
      (map[w + 1]! & map[w + 2]! & map[w + 3]! & map[w + 4]!) === -1
    )
      w += 4;
    if (++w > last) return size;
    word = ~map[w];
  }
}

/**
 * The highest set bit in `[start, size)`, or `size` if none: `find_last_bit`
 * on a bitmap that begins at bit `start` (the kernel passes a pointer into
 * the middle of a bitmap, e.g. `pcpu_index_alloc_map()`); the result stays
 * in absolute bit numbers.
 * @kernel include/linux/find.h find_last_bit
 */
export function findLastBitInRange(map: Uint32Array, start: number, size: number): number {
  if (size <= start) return size;
  const first = start >>> 5;
  let w = (size - 1) >>> 5;
  let word = map[w] & maskTo((size - 1) & 31);
  for (;;) {
    if (word !== 0) {
      const r = (w << 5) + 31 - Math.clz32(word);
      return r >= start ? r : size;
    }
    if (--w < first) return size;
    word = map[w];
  }
}

/**
 * `find_last_bit(map, size)`: the highest set bit in `[0, size)`.
 * @kernel include/linux/find.h find_last_bit
 * @returns the bit index, or `size` if none.
 */
export function findLastBit(map: Uint32Array, size: number): number {
  return findLastBitInRange(map, 0, size);
}

/**
 * `bitmap_set(map, start, nr)`: set bits `[start, start + nr)`.
 * @kernel lib/bitmap.c __bitmap_set
 */
export function bitmapSet(map: Uint32Array, start: number, nr: number): void {
  if (nr <= 0) return;
  const endBit = start + nr - 1;
  let w = start >>> 5;
  const ew = endBit >>> 5;
  if (w === ew) {
    map[w] |= maskFrom(start & 31) & maskTo(endBit & 31);
    return;
  }
  map[w++] |= maskFrom(start & 31);
  while (w < ew) map[w++] = 0xffffffff;
  map[ew] |= maskTo(endBit & 31);
}

/**
 * `bitmap_clear(map, start, nr)`: clear bits `[start, start + nr)`.
 * @kernel lib/bitmap.c __bitmap_clear
 */
export function bitmapClear(map: Uint32Array, start: number, nr: number): void {
  if (nr <= 0) return;
  const endBit = start + nr - 1;
  let w = start >>> 5;
  const ew = endBit >>> 5;
  if (w === ew) {
    map[w] &= ~(maskFrom(start & 31) & maskTo(endBit & 31));
    return;
  }
  map[w++] &= ~maskFrom(start & 31);
  while (w < ew) map[w++] = 0;
  map[ew] &= ~maskTo(endBit & 31);
}

/** Population count of a 32-bit word. */
function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * `bitmap_weight(map, size)`: the number of set bits in `[0, size)`.
 * @kernel include/linux/bitmap.h bitmap_weight
 */
export function bitmapWeight(map: Uint32Array, size: number): number {
  if (size <= 0) return 0;
  const full = size >>> 5;
  let n = 0;
  for (let w = 0; w < full; w++) n += popcount32(map[w]);
  if (size & 31) n += popcount32(map[full] & maskTo((size & 31) - 1));
  return n;
}

/**
 * The run a range iterator produced: `[start, end)`. One instance is reused
 * for a whole walk so iterating allocates nothing.
 */
export class BitRange {
  start: number;
  end: number;
  constructor() {
    this.start = 0;
    this.end = 0;
  }
}

/**
 * One step of `for_each_clear_bitrange_from(rs, re, map, size)`: the next
 * maximal run of clear bits beginning at or after `from`, clipped at `size`.
 * Continue a walk with `from = range.end + 1` (bit `end` is set, or `end` is
 * `size`).
 *
 *     const r = new BitRange();
 *     for (let b = from; nextClearBitRange(map, size, b, r); b = r.end + 1) use(r.start, r.end);
 *
 * @kernel include/linux/find.h for_each_clear_bitrange_from
 * @returns false when no clear bit is left in `[from, size)`.
 */
export function nextClearBitRange(map: Uint32Array, size: number, from: number, out: BitRange): boolean {
  const rs = findNextZeroBit(map, size, from);
  if (rs >= size) return false;
  out.start = rs;
  out.end = findNextBit(map, size, rs + 1);
  return true;
}

/**
 * One step of `for_each_set_bitrange_from(rs, re, map, size)`: the next
 * maximal run of set bits beginning at or after `from`, clipped at `size`.
 * @kernel include/linux/find.h for_each_set_bitrange_from
 * @returns false when no set bit is left in `[from, size)`.
 */
export function nextSetBitRange(map: Uint32Array, size: number, from: number, out: BitRange): boolean {
  const rs = findNextBit(map, size, from);
  if (rs >= size) return false;
  out.start = rs;
  out.end = findNextZeroBit(map, size, rs + 1);
  return true;
}

/**
 * `BITS_TO_LONGS(nr)` in 32-bit words: the words a bitmap of `nr` bits needs.
 */
export function bitsToWords(nr: number): number {
  return (nr + 31) >>> 5;
}
