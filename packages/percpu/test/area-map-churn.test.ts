import { describe, expect, it } from "vitest";
import type { PcpuChunkView } from "../src/api.js";
import type { PcpuAreaMapAllocator } from "../src/area-map-allocator.js";
import {
  depopulate,
  type FakeHost,
  isPopulated,
  makeAllocator,
  makeChunk,
  mapOf,
  PAGE_SHIFT,
  PAGE_SIZE,
  populate,
} from "./helpers/area-map-fake.js";

/** mulberry32: a small seeded PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One chunk under test with a 4-byte-granule shadow of what is allocated. */
class Shadow {
  readonly busy: Uint8Array;
  readonly live = new Map<number, number>();
  constructor(readonly chunk: PcpuChunkView) {
    const end = chunk.nrPages * PAGE_SIZE;
    this.busy = new Uint8Array(end >> 2);
    this.busy.fill(1, 0, chunk.startOffset >> 2);
    this.busy.fill(1, (end - chunk.endOffset) >> 2);
  }

  /** The lowest offset an exact first fit gives (pcpu_alloc_area's answer), or -1. */
  firstFit(size: number, align: number, popOnly: boolean): number {
    const n = this.busy.length;
    const g = size >> 2;
    const a = align >> 2;
    let o = 0;
    for (;;) {
      o = Math.ceil(o / a) * a;
      if (o + g > n) return -1;
      let b = o;
      while (b < o + g && this.busy[b] === 0) b++;
      if (b < o + g) {
        o = b + 1;
        continue;
      }
      if (popOnly) {
        const pe = ((o + g) * 4 + PAGE_SIZE - 1) >> PAGE_SHIFT;
        let p = (o * 4) >> PAGE_SHIFT;
        while (p < pe && isPopulated(this.chunk, p)) p++;
        if (p < pe) {
          o = ((p + 1) * PAGE_SIZE) >> 2;
          continue;
        }
      }
      return o * 4;
    }
  }

  mark(off: number, size: number, v: 0 | 1): void {
    this.busy.fill(v, off >> 2, (off + size) >> 2);
  }

  pageEmpty(p: number): boolean {
    const g = PAGE_SIZE >> 2;
    for (let i = p * g; i < (p + 1) * g; i++) if (this.busy[i] !== 0) return false;
    return true;
  }
}

function pickSize(r: () => number): number {
  const x = r();
  if (x < 0.6) return 4 * (1 + Math.floor(r() * 16));
  if (x < 0.9) return 4 * (1 + Math.floor(r() * 256));
  return 4 * (1 + Math.floor(r() * 2048));
}

function pickAlign(r: () => number): number {
  const x = r();
  if (x < 0.7) return 4;
  if (x < 0.95) return 4 << Math.floor(r() * 5);
  return 4 << Math.floor(r() * 11);
}

function runChurn(
  seed: number,
  steps: number,
  atomicRatio: number,
  balanceRatio: number,
): { allocs: number; fails: number; frees: number; skips: number; maxUsed: number } {
  const r = rng(seed);
  const { host, am } = makeAllocator(16);
  const normal = makeChunk(1, 16, { populated: [0, 1, 2, 5, 8, 9, 10, 11] });
  expect(am.initChunk(normal)).toBe(true);
  host.nrEmptyPopPages += normal.nrEmptyPopPages;
  host.pcpuChunkRelocate(normal, -1);
  const first = makeChunk(0, 8, { startOffset: 0xd40, endOffset: 0x2c0 });
  am.initChunk(first);
  host.nrEmptyPopPages += first.nrEmptyPopPages;
  am.initFirstChunk(first);
  const shadows = [new Shadow(normal), new Shadow(first)];
  const stats = { allocs: 0, fails: 0, frees: 0, skips: 0, maxUsed: 0 };

  const check = (step: number, what: string) => {
    for (const s of shadows) {
      const live = [...s.live].map(([off, size]) => ({ off, size }));
      const err = am.checkChunk(s.chunk, live);
      if (err !== null) throw new Error(`seed ${seed} step ${step} (${what}): ${err}`);
      for (let p = 0; p < s.chunk.nrPages; p++) {
        if (am.pageIsEmpty(s.chunk, p) !== s.pageEmpty(p)) {
          throw new Error(`seed ${seed} step ${step} (${what}): pageIsEmpty(${p}) disagrees`);
        }
      }
    }
    expect(host.slotOf.get(1)).toBe(am.chunkSlot(normal));
  };

  for (let step = 0; step < steps; step++) {
    const s = shadows[r() < 0.7 ? 0 : 1]!;
    const x = r();
    let what: string;
    if (x < 0.5) {
      const size = pickSize(r);
      const align = pickAlign(r);
      const atomic = r() < atomicRatio;
      what = `alloc ${size} align ${align}${atomic ? " atomic" : ""}`;
      const want = s.firstFit(size, align, atomic);
      const off = am.findFit(s.chunk, size, align, atomic);
      if (off >= 0 && !am.prepareChunk(s.chunk, atomic)) {
        expect(atomic).toBe(true);
        stats.skips++;
      } else {
        const got = off < 0 ? -1 : am.allocArea(s.chunk, size, align, off);
        if (got !== want)
          throw new Error(`seed ${seed} step ${step} (${what}): got ${got}, first fit ${want}`);
        if (got < 0) {
          stats.fails++;
        } else {
          stats.allocs++;
          stats.maxUsed = Math.max(stats.maxUsed, mapOf(s.chunk).mapUsed);
          s.mark(got, size, 1);
          s.live.set(got, size);
          if (!atomic) {
            const pe = (got + size + PAGE_SIZE - 1) >> PAGE_SHIFT;
            for (let p = got >> PAGE_SHIFT; p < pe; p++) {
              if (!isPopulated(s.chunk, p)) populate(host, s.chunk, p, p + 1);
            }
          }
        }
      }
    } else if (x < 0.9) {
      what = "free";
      if (s.live.size !== 0) {
        const offs = [...s.live.keys()];
        const off = offs[Math.floor(r() * offs.length)]!;
        const size = s.live.get(off)!;
        expect(am.freeArea(s.chunk, off)).toBe(size);
        s.live.delete(off);
        s.mark(off, size, 0);
        stats.frees++;
        if (r() < 0.05) expect(() => am.freeArea(s.chunk, off)).toThrow(/BUG/);
      }
    } else if (x < 0.9 + balanceRatio) {
      what = "balance";
      am.balance();
    } else {
      what = "reclaim";
      if (s.chunk === normal) {
        for (let p = 0; p < normal.nrPages; p++) {
          if (isPopulated(normal, p) && am.pageIsEmpty(normal, p) && r() < 0.5)
            depopulate(host, normal, p, p + 1);
        }
      }
    }
    check(step, what);
  }

  /* drain: everything freed gives the initial state back */
  for (const s of shadows) {
    for (const [off, size] of s.live) {
      expect(am.freeArea(s.chunk, off)).toBe(size);
      s.mark(off, size, 0);
    }
    s.live.clear();
  }
  check(steps, "drain");
  expect(normal.freeBytes).toBe(0x10000);
  expect(first.freeBytes).toBe(0x8000 - 0xd40 - 0x2c0);
  expect(host.nrEmptyPopPages).toBe(normal.nrPopulated + first.nrEmptyPopPages);
  expect(first.nrEmptyPopPages).toBe(6);
  expectIdle(host, am, normal);
  return stats;
}

function expectIdle(host: FakeHost, am: PcpuAreaMapAllocator, normal: PcpuChunkView): void {
  expect(am.chunkSlot(normal)).toBe(host.freeSlot);
  expect(am.contigBytes(normal)).toBe(0x10000);
}

describe("area map churn (pcpu_alloc_area / pcpu_free_area against an exact first fit)", () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: every step keeps the invariants and matches first fit`, () => {
      const st = runChurn(seed, 2500, 0.3, 0.05);
      expect(st.allocs).toBeGreaterThan(300);
      expect(st.frees).toBeGreaterThan(300);
      expect(st.fails).toBeGreaterThan(0);
      /* maps grew past 128 and 256 entries on the way */
      expect(st.maxUsed).toBeGreaterThan(200);
    });
  }

  it("seed 4, atomic only: chunks are skipped until balance() extends their maps", () => {
    const st = runChurn(4, 2500, 1, 0.002);
    expect(st.skips).toBeGreaterThan(0);
    expect(st.allocs).toBeGreaterThan(300);
  });
});
