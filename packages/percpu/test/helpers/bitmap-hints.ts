/*
 * Compact snapshots of pcpu_block_md records for assertions:
 * [scan_hint, scan_hint_start, contig_hint, contig_hint_start, left_free, right_free, first_free].
 */

import { PcpuBlockMd } from "../../src/block-md.js";

export type Hints = [
  scanHint: number,
  scanHintStart: number,
  contigHint: number,
  contigHintStart: number,
  leftFree: number,
  rightFree: number,
  firstFree: number,
];

export function hints(b: PcpuBlockMd): Hints {
  return [b.scanHint, b.scanHintStart, b.contigHint, b.contigHintStart, b.leftFree, b.rightFree, b.firstFree];
}

/** A record with the given snapshot values and `nrBits`. */
export function mdWith(nrBits: number, h: Hints): PcpuBlockMd {
  const b = new PcpuBlockMd(nrBits);
  setHints(b, h);
  return b;
}

export function setHints(b: PcpuBlockMd, h: Hints): void {
  [b.scanHint, b.scanHintStart, b.contigHint, b.contigHintStart, b.leftFree, b.rightFree, b.firstFree] = h;
}
