/*
 * The colours of the chunk map, shared by the grid, the bitmap view and
 * the legend (CSS variables carry the same values).
 */

import {
  PAGE_EMPTY_POPULATED,
  PAGE_POPULATED,
  PAGE_RESERVED,
  PAGE_STATIC,
  PAGE_UNPOPULATED,
} from "./frame.js";

export const COLORS = {
  unpopulated: "#ecebe6",
  populated: "#3867c8",
  emptyPopulated: "#8fcf8a",
  static: "#7d8196",
  reserved: "#9b63c9",
  allocA: "#2f5fbf",
  allocB: "#5d8ae6",
  freePopulated: "#ffffff",
  freeUnpopulated: "#e4e1d8",
  hidden: "#b9b6ad",
  contig: "#2e9d4f",
  scan: "#8a4fd0",
  edgeFree: "#e59a2b",
  firstFree: "#d43c3c",
  selected: "#ff8c1a",
  grid: "#c9c6bc",
} as const;

/** The fill of a page state in the grid. */
export const PAGE_COLORS: Readonly<Record<number, string>> = {
  [PAGE_UNPOPULATED]: COLORS.unpopulated,
  [PAGE_POPULATED]: COLORS.populated,
  [PAGE_EMPTY_POPULATED]: COLORS.emptyPopulated,
  [PAGE_STATIC]: COLORS.static,
  [PAGE_RESERVED]: COLORS.reserved,
};

/** What a page state means, for hovers and the legend. */
export const PAGE_NAMES: Readonly<Record<number, string>> = {
  [PAGE_UNPOPULATED]: "unpopulated",
  [PAGE_POPULATED]: "populated",
  [PAGE_EMPTY_POPULATED]: "empty populated",
  [PAGE_STATIC]: "static (populated)",
  [PAGE_RESERVED]: "reserved chunk (populated)",
};

/** `#rrggbb` as the little-endian RGBA word ImageData's Uint32Array view expects. */
export function rgbaWord(hex: string): number {
  const v = Number.parseInt(hex.slice(1), 16);
  const r = (v >> 16) & 0xff;
  const g = (v >> 8) & 0xff;
  const b = v & 0xff;
  return ((0xff << 24) | (b << 16) | (g << 8) | r) >>> 0;
}
