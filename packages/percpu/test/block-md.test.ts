import { describe, expect, it } from "vitest";
import { bitmapSet } from "../src/bitmap.js";
import {
  type PcpuBlockMaps,
  PcpuBlockMd,
  pcpuBlockRefreshHint,
  pcpuBlockUpdate,
  pcpuBlockUpdateScan,
  pcpuCheckBlockHint,
  pcpuInitMdBlock,
  pcpuNextHint,
} from "../src/block-md.js";
import { type Hints, hints, mdWith, setHints } from "./helpers/bitmap-hints.js";

/* Snapshots are [scan, scan_start, contig, contig_start, left_free, right_free, first_free]. */

const BB = 0x400;

/** Two blocks of BB bits over one alloc map; tests work on block 1 (base 0x400). */
function twoBlocks(): PcpuBlockMaps & { mdBlocks: PcpuBlockMd[] } {
  return {
    allocMap: new Uint32Array((2 * BB) / 32),
    mdBlocks: [new PcpuBlockMd(BB), new PcpuBlockMd(BB)],
    blockBits: BB,
  };
}

describe("PcpuBlockMd / pcpuInitMdBlock (struct pcpu_block_md / pcpu_init_md_block)", () => {
  it("a new record is all free", () => {
    const b = new PcpuBlockMd(BB);
    expect(hints(b)).toEqual([0, 0, BB, 0, BB, BB, 0]);
    expect(b.nrBits).toBe(BB);
  });
  it("init resets the hints but leaves the two start fields as they were", () => {
    const b = mdWith(0x10, [0x3, 0x5, 0x8, 0x9, 0x1, 0x2, 0x4]);
    pcpuInitMdBlock(b, BB);
    expect(hints(b)).toEqual([0, 0x5, BB, 0x9, BB, BB, 0]);
    expect(b.nrBits).toBe(BB);
  });
});

describe("pcpuBlockUpdate (pcpu_block_update)", () => {
  function upd(h: Hints, start: number, end: number): Hints {
    const b = mdWith(BB, h);
    pcpuBlockUpdate(b, start, end);
    return hints(b);
  }

  it("first_free is lowered to start, never raised", () => {
    expect(upd([0, 0, 0xa, 0x64, 0, 0, 0x1f4], 0xc8, 0xd2)[6]).toBe(0xc8);
    expect(upd([0, 0, 0xa, 0x64, 0, 0, 0x10], 0xc8, 0xd2)[6]).toBe(0x10);
  });
  it("a run at 0 sets left_free, a run reaching nr_bits sets right_free", () => {
    expect(upd([0, 0, 0, 0, 0, 0, 0x400], 0, 0x8)).toEqual([0, 0, 0x8, 0, 0x8, 0, 0]);
    expect(upd([0, 0, 0x8, 0, 0x8, 0, 0], 0x3e8, 0x400)).toEqual([0x8, 0, 0x18, 0x3e8, 0x8, 0x18, 0]);
    expect(upd([0, 0, 0, 0, 0, 0, 0x400], 0, 0x400)).toEqual([0, 0, 0x400, 0, 0x400, 0x400, 0]);
  });
  it("larger, after the contig run, old contig > scan: the old contig becomes the scan hint", () => {
    expect(upd([0, 0, 0xa, 0x64, 0, 0, 0x1f4], 0xc8, 0xfa)).toEqual([0xa, 0x64, 0x32, 0xc8, 0, 0, 0xc8]);
  });
  it("larger, after the contig run, old contig == scan and start before the scan run: scan dropped", () => {
    expect(upd([0xa, 0x12c, 0xa, 0x64, 0, 0, 0], 0xc8, 0xe6)).toEqual([0, 0x12c, 0x1e, 0xc8, 0, 0, 0]);
  });
  it("larger, after the contig run, old contig == scan and start past the scan run: scan kept", () => {
    expect(upd([0xa, 0x96, 0xa, 0x64, 0, 0, 0], 0xc8, 0xe6)).toEqual([0xa, 0x96, 0x1e, 0xc8, 0, 0, 0]);
  });
  it("larger, at or before the contig run: scan dropped", () => {
    expect(upd([0x5, 0x14, 0xa, 0x64, 0, 0, 0], 0x32, 0x50)).toEqual([0, 0x14, 0x1e, 0x32, 0, 0, 0]);
    expect(upd([0x5, 0x14, 0xa, 0x64, 0, 0, 0], 0x64, 0x82)).toEqual([0, 0x14, 0x1e, 0x64, 0, 0, 0]);
  });
  it("equal, better aligned start: contig moves, the old run is dropped", () => {
    /* __ffs(0x40) = 6 > __ffs(0x64) = 2 */
    expect(upd([0, 0, 0x10, 0x64, 0, 0, 0], 0x40, 0x50)).toEqual([0, 0, 0x10, 0x40, 0, 0, 0]);
  });
  it("equal, better aligned start before a smaller scan run: scan dropped", () => {
    expect(upd([0x8, 0x50, 0x10, 0x64, 0, 0, 0], 0x40, 0x50)).toEqual([0, 0x50, 0x10, 0x40, 0, 0, 0]);
  });
  it("equal, better aligned start before an equal scan run: scan kept", () => {
    expect(upd([0x10, 0x80, 0x10, 0x64, 0, 0, 0], 0x40, 0x50)).toEqual([0x10, 0x80, 0x10, 0x40, 0, 0, 0]);
  });
  it("equal, start 0 always wins when contig_start != 0", () => {
    expect(upd([0, 0, 0x10, 0x64, 0, 0, 0x5], 0, 0x10)).toEqual([0, 0, 0x10, 0, 0x10, 0, 0]);
  });
  it("equal, contig at 0 is never moved; a later run becomes the scan hint", () => {
    expect(upd([0, 0, 0x10, 0, 0x10, 0, 0], 0x40, 0x50)).toEqual([0x10, 0x40, 0x10, 0, 0x10, 0, 0]);
  });
  it("equal, worse aligned, contig > scan: the run becomes the scan hint (after the contig)", () => {
    expect(upd([0x4, 0xa, 0x10, 0x40, 0, 0, 0], 0x64, 0x74)).toEqual([0x10, 0x64, 0x10, 0x40, 0, 0, 0]);
  });
  it("equal, worse aligned, start before an equal scan run: nothing changes", () => {
    expect(upd([0x10, 0xc8, 0x10, 0x40, 0, 0, 0], 0x64, 0x74)).toEqual([0x10, 0xc8, 0x10, 0x40, 0, 0, 0]);
  });
  it("smaller, before the contig run and larger than the scan: new scan hint", () => {
    expect(upd([0x5, 0xa, 0x32, 0x1f4, 0, 0, 0], 0x64, 0x78)).toEqual([0x14, 0x64, 0x32, 0x1f4, 0, 0, 0]);
  });
  it("smaller, equal to the scan and farther: scan moves", () => {
    expect(upd([0x14, 0x64, 0x32, 0x1f4, 0, 0, 0], 0xc8, 0xdc)).toEqual([0x14, 0xc8, 0x32, 0x1f4, 0, 0, 0]);
  });
  it("smaller, equal to the scan but nearer, or after the contig run: nothing", () => {
    expect(upd([0x14, 0x64, 0x32, 0x1f4, 0, 0, 0], 0x32, 0x46)).toEqual([0x14, 0x64, 0x32, 0x1f4, 0, 0, 0]);
    expect(upd([0x14, 0x64, 0x32, 0x1f4, 0, 0, 0], 0x258, 0x280)).toEqual([0x14, 0x64, 0x32, 0x1f4, 0, 0, 0]);
  });
  it("a negative length (the free-path quirk) only lowers first_free", () => {
    expect(upd([0x14, 0x64, 0x32, 0x1f4, 0x4, 0x6, 0x800], 0x600, 0x200)).toEqual([
      0x14, 0x64, 0x32, 0x1f4, 0x4, 0x6, 0x600,
    ]);
  });
});

describe("pcpuBlockRefreshHint (pcpu_block_refresh_hint)", () => {
  it("without a scan hint: rescans from first_free; right_free reset, left_free kept", () => {
    const c = twoBlocks();
    /* block 1 bits [0, 0xa), [0x14, 0x1e), [0x64, 0x400) allocated */
    bitmapSet(c.allocMap, 0x400, 0xa);
    bitmapSet(c.allocMap, 0x414, 0xa);
    bitmapSet(c.allocMap, 0x464, 0x39c);
    setHints(c.mdBlocks[1], [0, 0, 0x3e7, 0, 0x309, 0x80, 0]);
    pcpuBlockRefreshHint(c, 1);
    expect(hints(c.mdBlocks[1])).toEqual([0xa, 0xa, 0x46, 0x1e, 0x309, 0, 0]);
    expect(hints(c.mdBlocks[0])).toEqual([0, 0, BB, 0, BB, BB, 0]);

    /* break the contig run: the scan hint is promoted and the scan resumes after it */
    bitmapSet(c.allocMap, 0x41e, 0xa);
    pcpuBlockRefreshHint(c, 1);
    expect(hints(c.mdBlocks[1])).toEqual([0xa, 0xa, 0x3c, 0x28, 0x309, 0, 0]);
  });
  it("a run reaching the block end sets right_free", () => {
    const c = twoBlocks();
    bitmapSet(c.allocMap, 0x400, 0x300);
    setHints(c.mdBlocks[1], [0, 0, 0, 0, 0, 0, 0x300]);
    pcpuBlockRefreshHint(c, 1);
    expect(hints(c.mdBlocks[1])).toEqual([0, 0, 0x100, 0x300, 0, 0x100, 0x300]);
  });
  it("a full block ends with no contig hint", () => {
    const c = twoBlocks();
    bitmapSet(c.allocMap, 0x400, 0x400);
    setHints(c.mdBlocks[1], [0, 0, 0x10, 0x20, 0, 0x10, 0x20]);
    pcpuBlockRefreshHint(c, 1);
    expect(hints(c.mdBlocks[1])).toEqual([0, 0, 0, 0x20, 0, 0, 0x20]);
  });
});

describe("pcpuBlockUpdateScan (pcpu_block_update_scan)", () => {
  it("extends the remembered run back to just after the last set bit", () => {
    const c = twoBlocks();
    bitmapSet(c.allocMap, 0x410, 0x1);
    bitmapSet(c.allocMap, 0x430, 0x10);
    setHints(c.mdBlocks[1], [0, 0, 0x3c0, 0x40, 0x10, 0x3c0, 0]);
    pcpuBlockUpdateScan(c, 0x420, 0x10);
    expect(hints(c.mdBlocks[1])).toEqual([0x1f, 0x11, 0x3c0, 0x40, 0x10, 0x3c0, 0]);
  });
  it("with no set bit before the run it starts at 0", () => {
    const c = twoBlocks();
    bitmapSet(c.allocMap, 0x430, 0x10);
    setHints(c.mdBlocks[1], [0, 0, 0x3c0, 0x40, 0x30, 0x3c0, 0]);
    pcpuBlockUpdateScan(c, 0x420, 0x10);
    expect(hints(c.mdBlocks[1])).toEqual([0x30, 0, 0x3c0, 0x40, 0x30, 0x3c0, 0]);
  });
  it("a run that would end past its block is ignored", () => {
    const c = twoBlocks();
    setHints(c.mdBlocks[0], [0, 0, 0x5, 0x3, 0, 0, 0x3]);
    pcpuBlockUpdateScan(c, 0x3f0, 0x20);
    expect(hints(c.mdBlocks[0])).toEqual([0, 0, 0x5, 0x3, 0, 0, 0x3]);
    expect(hints(c.mdBlocks[1])).toEqual([0, 0, BB, 0, BB, BB, 0]);
  });
});

describe("pcpuNextHint (pcpu_next_hint)", () => {
  it("skips a scan run before the contig run that cannot hold the request", () => {
    const b = mdWith(BB, [0x10, 0x20, 0x80, 0x100, 0, 0, 0x4]);
    expect(pcpuNextHint(b, 0x11)).toBe(0x30);
    expect(pcpuNextHint(b, 0x10)).toBe(0x4);
  });
  it("uses first_free without a scan hint or when the scan run is after the contig run", () => {
    expect(pcpuNextHint(mdWith(BB, [0, 0x20, 0x80, 0x100, 0, 0, 0x4]), 0x40)).toBe(0x4);
    expect(pcpuNextHint(mdWith(BB, [0x80, 0x200, 0x80, 0x100, 0, 0, 0x4]), 0x90)).toBe(0x4);
  });
});

describe("pcpuCheckBlockHint (pcpu_check_block_hint)", () => {
  it("counts the alignment padding of the contig run", () => {
    const b = mdWith(BB, [0, 0, 0x80, 0x104, 0, 0, 0]);
    expect(pcpuCheckBlockHint(b, 0x7c, 0x8)).toBe(true);
    expect(pcpuCheckBlockHint(b, 0x7d, 0x8)).toBe(false);
    expect(pcpuCheckBlockHint(b, 0x80, 0x1)).toBe(true);
    expect(pcpuCheckBlockHint(b, 0x81, 0x1)).toBe(false);
  });
});
