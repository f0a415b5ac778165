/*
 * CPU masks as the kernel prints and parses them: the `%*pb` hex bitmap form
 * (lib/vsprintf.c bitmap_string, also what cpumask_scnprintf printed in the
 * 2.6.3x trees), the `%*pbl` list form (bitmap_list_string), and the list
 * parser behind cpulist_parse() (lib/bitmap-str.c bitmap_parselist).
 *
 * A mask is a Uint32Array: bit i lives in word i >> 5 at position i & 31, the
 * kernel's layout on a little-endian machine. `nbits` is the printed width
 * (`cpumask_pr_args()` passes nr_cpu_ids).
 *
 *   bits 0-3 and 8 set, nbits 12:   %*pb  -> "10f"        %*pbl -> "0-3,8"
 *   bits 0 and 40 set, nbits 48:    %*pb  -> "0100,00000001"
 */

import { EINVAL } from "@pcpu/mm";

/** `ERANGE`: a bit number too large for the mask. */
export const ERANGE = 34;
/** `EOVERFLOW`: a number that does not fit 32 bits. */
export const EOVERFLOW = 75;

const CHUNKSZ = 32;
const UINT_MAX = 0xffffffff;

function checkNbits(nbits: number, bitmap: Uint32Array): void {
  if (!Number.isSafeInteger(nbits) || nbits < 0)
    throw new RangeError(`bitmap width must be an integer >= 0, got ${nbits}`);
  if (bitmap.length * 32 < nbits) {
    throw new RangeError(`bitmap of ${bitmap.length} words cannot hold ${nbits} bits`);
  }
}

/** Words needed for `nbits` bits (`BITS_TO_U32`). */
export function bitmapWords(nbits: number): number {
  return Math.ceil(nbits / 32);
}

/**
 * A mask of `nbits` bits with the given bits set (a test and config helper,
 * the model's `cpumask_set_cpu` loop).
 *
 * @param bits - bit numbers to set, each in [0, nbits)
 * @param nbits - mask width
 * @context any; pure
 * @returns the new mask
 */
export function bitmapFromBits(bits: Iterable<number>, nbits: number): Uint32Array {
  if (!Number.isSafeInteger(nbits) || nbits < 0)
    throw new RangeError(`bitmap width must be an integer >= 0, got ${nbits}`);
  const map = new Uint32Array(bitmapWords(nbits));
  for (const b of bits) {
    if (!Number.isInteger(b) || b < 0 || b >= nbits)
      throw new RangeError(`bit ${b} is outside a mask of ${nbits} bits`);
    map[b >>> 5]! |= 1 << (b & 31);
  }
  return map;
}

/** Whether bit `bit` is set (`test_bit`). */
export function bitmapTestBit(bitmap: Uint32Array, bit: number): boolean {
  return ((bitmap[bit >>> 5]! >>> (bit & 31)) & 1) === 1;
}

/**
 * The `%*pb` form: 32-bit chunks, most significant first, comma separated,
 * lowercase hex, every chunk zero-padded to 8 digits except the first, which
 * is padded to the digits of its own bit count (`nbits % 32`, or 32). Zero
 * bits print as the empty string.
 *
 * @kernel lib/vsprintf.c bitmap_string
 * @param bitmap - the mask
 * @param nbits - printed width (`cpumask_pr_args`: nr_cpu_ids)
 * @context any; pure
 * @returns the hex text
 */
export function bitmapString(bitmap: Uint32Array, nbits: number): string {
  checkNbits(nbits, bitmap);
  let chunksz = nbits & (CHUNKSZ - 1);
  if (chunksz === 0) chunksz = CHUNKSZ;
  let out = "";
  for (let i = Math.ceil(nbits / CHUNKSZ) * CHUNKSZ - CHUNKSZ; i >= 0; i -= CHUNKSZ) {
    const word = bitmap[i >>> 5]!;
    const val = chunksz === 32 ? word : word & (0xffffffff >>> (32 - chunksz));
    if (out !== "") out += ",";
    out += (val >>> 0).toString(16).padStart(Math.ceil(chunksz / 4), "0");
    chunksz = CHUNKSZ;
  }
  return out;
}

/**
 * The `%*pbl` form: runs of set bits as decimal `a-b`, single bits as `a`,
 * comma separated, ascending ("0-3,8"). An empty mask prints nothing.
 *
 * @kernel lib/vsprintf.c bitmap_list_string
 * @param bitmap - the mask
 * @param nbits - width to scan
 * @context any; pure
 * @returns the list text
 */
export function bitmapListString(bitmap: Uint32Array, nbits: number): string {
  checkNbits(nbits, bitmap);
  let out = "";
  let bit = 0;
  while (bit < nbits) {
    if (!bitmapTestBit(bitmap, bit)) {
      bit++;
      continue;
    }
    const rbot = bit;
    while (bit < nbits && bitmapTestBit(bitmap, bit)) bit++;
    if (out !== "") out += ",";
    out += bit === rbot + 1 ? `${rbot}` : `${rbot}-${bit - 1}`;
  }
  return out;
}

/* ---------------------------------------------------------------------- */
/* bitmap_parselist                                                        */
/* ---------------------------------------------------------------------- */

/** `isspace()` of the kernel's Latin-1 ctype table (includes NBSP 0xa0). */
function isSpace(c: string): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\v" || c === "\f" || c === "\r" || c === "\u00a0";
}
/** `end_of_str()`: NUL (or the end of the JS string) and newline end the input. */
function endOfStr(c: string): boolean {
  return c === "" || c === "\0" || c === "\n";
}
function endOfRegionNoStr(c: string): boolean {
  return isSpace(c) || c === ",";
}
function endOfRegion(c: string): boolean {
  return endOfRegionNoStr(c) || endOfStr(c);
}

/** A parse failure: negative errno and the offset where it was found. */
interface ParseFail {
  err: number;
  at: number;
}

/** Region under construction (`struct region`). */
class Region {
  start = 0;
  off = 0;
  groupLen = 0;
  end = 0;
  constructor(readonly nbits: number) {}
}

/** `bitmap_getnum()`: a decimal number or `N` (the last bit). Returns the next offset, or a failure. */
function getnum(s: string, i: number, lastbit: number, set: (n: number) => void): number | ParseFail {
  if (s.charAt(i) === "N") {
    set(lastbit);
    return i + 1;
  }
  let j = i;
  let n = 0;
  let overflow = false;
  while (j < s.length && s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57) {
    n = n * 10 + (s.charCodeAt(j) - 48);
    if (n > UINT_MAX) overflow = true;
    j++;
  }
  if (j === i) return { err: -EINVAL, at: i };
  if (overflow) return { err: -EOVERFLOW, at: i };
  set(n);
  return j;
}

/**
 * `bitmap_parse_region()`: parses one region at `i`. Returns the offset to go
 * on from, -1 for "input ended" (the kernel's NULL), or a failure.
 */
function parseRegion(s: string, i: number, r: Region): number | ParseFail {
  const lastbit = r.nbits - 1;
  let p: number | ParseFail;
  if (s.slice(i, i + 3).toLowerCase() === "all") {
    r.start = 0;
    r.end = lastbit;
    p = i + 3;
  } else {
    p = getnum(s, i, lastbit, (n) => {
      r.start = n;
    });
    if (typeof p !== "number") return p;
    if (endOfRegion(s.charAt(p))) {
      r.end = r.start;
      r.off = r.end + 1;
      r.groupLen = r.end + 1;
      return endOfStr(s.charAt(p)) ? -1 : p;
    }
    if (s.charAt(p) !== "-") return { err: -EINVAL, at: p };
    p = getnum(s, p + 1, lastbit, (n) => {
      r.end = n;
    });
    if (typeof p !== "number") return p;
  }
  /* check_pattern */
  if (!endOfRegion(s.charAt(p))) {
    if (s.charAt(p) !== ":") return { err: -EINVAL, at: p };
    p = getnum(s, p + 1, lastbit, (n) => {
      r.off = n;
    });
    if (typeof p !== "number") return p;
    if (s.charAt(p) !== "/") return { err: -EINVAL, at: p };
    return getnum(s, p + 1, lastbit, (n) => {
      r.groupLen = n;
    });
  }
  r.off = r.end + 1;
  r.groupLen = r.end + 1;
  return endOfStr(s.charAt(p)) ? -1 : p;
}

function parselist(buf: string, maskp: Uint32Array, nmaskbits: number): ParseFail | null {
  maskp.fill(0, 0, bitmapWords(nmaskbits));
  const r = new Region(nmaskbits);
  let i = 0;
  for (;;) {
    /* bitmap_find_region(): commas and spaces may lead a region */
    while (endOfRegionNoStr(buf.charAt(i))) i++;
    if (endOfStr(buf.charAt(i))) return null;
    const at = i;
    const next = parseRegion(buf, i, r);
    if (typeof next !== "number") return next;
    /* bitmap_check_region() */
    if (r.start > r.end || r.groupLen === 0 || r.off > r.groupLen) return { err: -EINVAL, at };
    if (r.end >= r.nbits) return { err: -ERANGE, at };
    /* bitmap_set_region() */
    for (let start = r.start; start <= r.end; start += r.groupLen) {
      const len = Math.min(r.end - start + 1, r.off);
      for (let b = start; b < start + len; b++) maskp[b >>> 5]! |= 1 << (b & 31);
    }
    if (next < 0) return null;
    i = next;
  }
}

/**
 * Parses a list like "0-3,8-11", "0-1023:2/256", "N" (the last bit) or "all"
 * into `maskp` (cleared first). Commas and whitespace may lead a region; a
 * newline or NUL ends the input.
 *
 * @kernel lib/bitmap-str.c bitmap_parselist
 * @param buf - the text
 * @param maskp - destination, at least `nmaskbits` bits
 * @param nmaskbits - mask width (>= 1)
 * @context any; pure
 * @returns 0, or -EINVAL (bad format or character), -ERANGE (bit too large
 *   for the mask) or -EOVERFLOW (number above 2^32-1), as the kernel does
 */
export function bitmapParselist(buf: string, maskp: Uint32Array, nmaskbits: number): number {
  if (!Number.isSafeInteger(nmaskbits) || nmaskbits < 1) {
    throw new RangeError(`bitmapParselist: mask width must be an integer >= 1, got ${nmaskbits}`);
  }
  checkNbits(nmaskbits, maskp);
  const fail = parselist(buf, maskp, nmaskbits);
  return fail === null ? 0 : fail.err;
}

/** A cpulist that cpulist_parse() refuses; `errno` is the kernel's negative errno. */
export class CpulistParseError extends Error {
  constructor(
    message: string,
    readonly errno: number,
    readonly offset: number,
  ) {
    super(message);
    this.name = "CpulistParseError";
  }
}

/**
 * Parses a CPU list ("0-3,8", "0-7:2/4", "all", "N") into a new mask of
 * `nbits` bits, for configuration at the edge (the kernel app's `nodes`).
 *
 * @kernel include/linux/cpumask.h cpulist_parse
 * @param str - the list
 * @param nbits - mask width (`nr_cpumask_bits`)
 * @context any; pure
 * @returns the mask
 * @throws CpulistParseError naming the offset, the text there and the errno
 */
export function cpulistParse(str: string, nbits: number): Uint32Array {
  if (typeof str !== "string") throw new TypeError("cpulistParse: the list must be a string");
  if (!Number.isSafeInteger(nbits) || nbits < 1) {
    throw new RangeError(`cpulistParse: mask width must be an integer >= 1, got ${nbits}`);
  }
  const mask = new Uint32Array(bitmapWords(nbits));
  const fail = parselist(str, mask, nbits);
  if (fail === null) return mask;
  const near = JSON.stringify(str.slice(fail.at, fail.at + 12));
  const why =
    fail.err === -ERANGE
      ? `CPU number too large for a mask of ${nbits} bits (-ERANGE)`
      : fail.err === -EOVERFLOW
        ? "number does not fit 32 bits (-EOVERFLOW)"
        : "wrong region format or invalid character; expected N, N-M or N-M:used/group (-EINVAL)";
  throw new CpulistParseError(
    `cpulist ${JSON.stringify(str)} at offset ${fail.at} (${near}): ${why}`,
    fail.err,
    fail.at,
  );
}
