/*
 * A set of disjoint half-open integer ranges kept sorted in typed arrays.
 * Not a kernel structure: it is the free-space bookkeeping behind the page
 * allocator's per-node free pool (page-alloc.ts) and memblock's reserved
 * regions (memblock.ts), chosen so a 1 TiB node costs two numbers until it
 * is used. Adjacent ranges are always merged (like memblock_merge_regions).
 */

/** Sorted, merged, disjoint ranges `[start, end)` of integers below 2^53. */
export class RangeSet {
  private starts: Float64Array;
  private ends: Float64Array;
  private n = 0;

  constructor(capacity = 16) {
    this.starts = new Float64Array(capacity);
    this.ends = new Float64Array(capacity);
  }

  /** Number of ranges. */
  get count(): number {
    return this.n;
  }

  /** Start of range `i` (0 <= i < count). */
  startAt(i: number): number {
    return this.starts[i]!;
  }

  /** End of range `i`. */
  endAt(i: number): number {
    return this.ends[i]!;
  }

  /** Sum of the lengths of all ranges. */
  total(): number {
    let t = 0;
    for (let i = 0; i < this.n; i++) t += this.ends[i]! - this.starts[i]!;
    return t;
  }

  /** Index of the first range whose end is > x (n if none). */
  firstEndingAfter(x: number): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ends[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Index of the range containing x, or -1. */
  find(x: number): number {
    const i = this.firstEndingAfter(x);
    return i < this.n && this.starts[i]! <= x ? i : -1;
  }

  /** Whether `[start, end)` lies entirely inside one range. */
  containsRange(start: number, end: number): boolean {
    const i = this.find(start);
    return i >= 0 && this.ends[i]! >= end;
  }

  /** Whether any point of `[start, end)` is in the set. */
  intersects(start: number, end: number): boolean {
    const i = this.firstEndingAfter(start);
    return i < this.n && this.starts[i]! < end;
  }

  /** Bytes (units) of `[start, end)` covered by the set. */
  coveredIn(start: number, end: number): number {
    let t = 0;
    for (let i = this.firstEndingAfter(start); i < this.n && this.starts[i]! < end; i++)
      t += Math.min(end, this.ends[i]!) - Math.max(start, this.starts[i]!);
    return t;
  }

  private grow(): void {
    const cap = this.starts.length * 2;
    const s = new Float64Array(cap);
    const e = new Float64Array(cap);
    s.set(this.starts);
    e.set(this.ends);
    this.starts = s;
    this.ends = e;
  }

  /**
   * Adds `[start, end)`, which must not intersect the set (checked: returns
   * false and changes nothing if it does). Merges with touching neighbours.
   */
  add(start: number, end: number): boolean {
    if (end <= start) return true;
    const i = this.firstEndingAfter(start);
    // Range i (if any) ends after start; it must begin at or after end.
    if (i < this.n && this.starts[i]! < end) return false;
    const mergePrev = i > 0 && this.ends[i - 1]! === start;
    const mergeNext = i < this.n && this.starts[i]! === end;
    if (mergePrev && mergeNext) {
      this.ends[i - 1] = this.ends[i]!;
      this.starts.copyWithin(i, i + 1, this.n);
      this.ends.copyWithin(i, i + 1, this.n);
      this.n--;
    } else if (mergePrev) {
      this.ends[i - 1] = end;
    } else if (mergeNext) {
      this.starts[i] = start;
    } else {
      if (this.n === this.starts.length) this.grow();
      this.starts.copyWithin(i + 1, i, this.n);
      this.ends.copyWithin(i + 1, i, this.n);
      this.starts[i] = start;
      this.ends[i] = end;
      this.n++;
    }
    return true;
  }

  /**
   * Removes `[start, end)`, which must lie inside one range (checked:
   * returns false and changes nothing otherwise).
   */
  remove(start: number, end: number): boolean {
    if (end <= start) return true;
    const i = this.find(start);
    if (i < 0 || this.ends[i]! < end) return false;
    const s = this.starts[i]!;
    const e = this.ends[i]!;
    if (s === start && e === end) {
      this.starts.copyWithin(i, i + 1, this.n);
      this.ends.copyWithin(i, i + 1, this.n);
      this.n--;
    } else if (s === start) {
      this.starts[i] = end;
    } else if (e === end) {
      this.ends[i] = start;
    } else {
      if (this.n === this.starts.length) this.grow();
      this.starts.copyWithin(i + 2, i + 1, this.n);
      this.ends.copyWithin(i + 2, i + 1, this.n);
      this.ends[i] = start;
      this.starts[i + 1] = end;
      this.ends[i + 1] = e;
      this.n++;
    }
    return true;
  }

  /** Removes every part of `[start, end)` that is in the set (any overlap). */
  removeAny(start: number, end: number): void {
    let i = this.firstEndingAfter(start);
    while (i < this.n && this.starts[i]! < end) {
      const s = Math.max(start, this.starts[i]!);
      const e = Math.min(end, this.ends[i]!);
      const before = this.n;
      this.remove(s, e);
      // A split adds a range after i; a full removal shifts the next one to i.
      if (this.n > before) i += 2;
      else if (this.n === before) i++;
    }
  }
}
