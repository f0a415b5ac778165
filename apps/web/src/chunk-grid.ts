/*
 * The chunk map: every chunk as a grid of units (rows) by pages (columns),
 * each cell coloured by the page's state in `chunk->populated` and whether
 * it holds an allocation; the first chunk's static / reserved / dynamic
 * regions marked above its grid. The counts of what is drawn are kept in
 * data attributes so tests can read them.
 */

import { COLORS, PAGE_COLORS, PAGE_NAMES } from "./colors.js";
import { bytesText, formatAddr, hex } from "./format.js";
import {
  type ChunkFrame,
  type Frame,
  type KernelInfo,
  PAGE_EMPTY_POPULATED,
  PAGE_UNPOPULATED,
} from "./frame.js";
import type { Tooltip } from "./tooltip.js";

const LEFT = 44;
const TOP_REGIONS = 14;
const MAX_ROWS = 128;

const REGION_COLORS: Readonly<Record<string, string>> = {
  static: COLORS.static,
  reserved: COLORS.reserved,
  dynamic: COLORS.populated,
};

interface Figure {
  readonly el: HTMLElement;
  readonly caption: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  sig: number;
  selected: boolean;
  width: number;
  chunk: ChunkFrame | null;
  cellW: number;
  rowH: number;
  rows: number;
  top: number;
}

/** The grid of every chunk of one frame. */
export class ChunkGrid {
  readonly el: HTMLElement;
  private readonly figures = new Map<string, Figure>();
  private info: KernelInfo | null = null;
  private selected: string | null = null;
  /** The width to draw in (set by the pane on resize; reading clientWidth here would force a layout per frame). */
  width = 600;
  /** Called when a chunk is clicked, with the page clicked. */
  onSelect: ((key: string, page: number) => void) | null = null;

  constructor(
    doc: Document,
    private readonly tooltip: Tooltip,
  ) {
    this.el = doc.createElement("div");
    this.el.className = "chunk-grid";
  }

  /** Draws `frame`; `selected` is the chunk shown in the bitmap view. */
  render(info: KernelInfo, frame: Frame, selected: string | null): void {
    if (this.info !== info) {
      for (const f of this.figures.values()) f.el.remove();
      this.figures.clear();
      this.info = info;
    }
    this.selected = selected;
    const seen = new Set<string>();
    let populatedPages = 0;
    let emptyPages = 0;
    let unpopulatedPages = 0;
    const width = this.width;
    let prev: HTMLElement | null = null;
    for (const c of frame.chunks) {
      seen.add(c.key);
      populatedPages += c.populatedPages;
      if (!c.isolated) emptyPages += c.emptyPopPages;
      unpopulatedPages += c.nrPages - c.populatedPages;
      let fig = this.figures.get(c.key);
      if (fig === undefined) {
        fig = this.makeFigure(c.key);
        this.figures.set(c.key, fig);
      }
      /* keep figures in frame order */
      if (prev === null ? this.el.firstChild !== fig.el : prev.nextSibling !== fig.el) {
        if (prev === null) this.el.prepend(fig.el);
        else prev.after(fig.el);
      }
      prev = fig.el;
      const isSel = c.key === selected;
      fig.chunk = c;
      fig.caption.textContent = caption(info, c);
      fig.el.classList.toggle("selected", isSel);
      fig.el.dataset.populatedPages = String(c.populatedPages);
      fig.el.dataset.emptyPopPages = String(c.emptyPopPages);
      fig.el.dataset.nrPages = String(c.nrPages);
      fig.el.dataset.kind = c.kind;
      if (fig.sig !== c.sig || fig.width !== width || fig.selected !== isSel) {
        this.draw(fig, c, width);
        fig.sig = c.sig;
        fig.width = width;
        fig.selected = isSel;
      }
    }
    for (const [key, f] of this.figures) {
      if (!seen.has(key)) {
        f.el.remove();
        this.figures.delete(key);
      }
    }
    const units = info.nrUnits;
    const d = this.el.dataset;
    d.chunks = String(frame.chunks.length);
    d.units = String(units);
    d.populatedPages = String(populatedPages);
    d.emptyPopPages = String(emptyPages);
    d.populatedCells = String(populatedPages * units);
    d.emptyCells = String(emptyPages * units);
    d.unpopulatedCells = String(unpopulatedPages * units);
  }

  private makeFigure(key: string): Figure {
    const doc = this.el.ownerDocument;
    const el = doc.createElement("figure");
    el.className = "chunk";
    el.dataset.key = key;
    const caption = doc.createElement("figcaption");
    const canvas = doc.createElement("canvas");
    el.append(caption, canvas);
    const fig: Figure = {
      el,
      caption,
      canvas,
      sig: -1,
      selected: false,
      width: 0,
      chunk: null,
      cellW: 1,
      rowH: 1,
      rows: 1,
      top: 0,
    };
    canvas.addEventListener("mousemove", (ev) => this.hover(fig, ev));
    canvas.addEventListener("mouseleave", () => this.tooltip.hide());
    canvas.addEventListener("click", (ev) => {
      const hit = this.hit(fig, ev);
      if (hit !== null && fig.chunk !== null) this.onSelect?.(fig.chunk.key, hit.page);
    });
    return fig;
  }

  private draw(fig: Figure, c: ChunkFrame, width: number): void {
    const info = this.info!;
    const units = info.nrUnits;
    const rows = Math.min(units, MAX_ROWS);
    const rowH = rows <= 16 ? 9 : rows <= 48 ? 4 : 2;
    const cellW = Math.max(1, Math.min(14, Math.floor((width - LEFT - 6) / c.nrPages)));
    const top = c.regions.length > 0 ? TOP_REGIONS : 2;
    const h = top + rows * rowH + 2;
    const w = LEFT + c.nrPages * cellW + 2;
    const cv = fig.canvas;
    /* labels and the region bar only when the canvas changes size (setting a canvas font costs a style update) */
    let labels = false;
    if (cv.width !== w || cv.height !== h) {
      cv.width = w;
      cv.height = h;
      labels = true;
    }
    Object.assign(fig, { cellW, rowH, rows, top });
    const g = cv.getContext("2d")!;
    g.clearRect(labels ? 0 : LEFT - 2, labels ? 0 : top - 2, w, h);
    if (labels) {
      g.font = "10px ui-monospace, monospace";
      g.textBaseline = "middle";
    }
    /* region bar of the first chunk */
    for (const r of labels ? c.regions : []) {
      const x0 = LEFT + (r.start / info.pageSize) * cellW;
      const x1 = LEFT + (r.end / info.pageSize) * cellW;
      g.fillStyle = REGION_COLORS[r.name]!;
      g.fillRect(x0, 1, Math.max(1, x1 - x0), TOP_REGIONS - 4);
      const label = r.name;
      if (x1 - x0 > g.measureText(label).width + 4) {
        g.fillStyle = "#fff";
        g.fillText(label, x0 + 2, TOP_REGIONS / 2 - 1);
      }
    }
    const per = Math.ceil(units / rows);
    const gridH = rows * rowH;
    /* every unit of a chunk has the same pages populated: one column per page, then the cell lines */
    let p = 0;
    while (p < c.nrPages) {
      const state = c.pages[p]!;
      let q = p + 1;
      while (q < c.nrPages && c.pages[q] === state) q++;
      g.fillStyle = PAGE_COLORS[state]!;
      g.fillRect(LEFT + p * cellW, top, (q - p) * cellW, gridH);
      p = q;
    }
    g.fillStyle = "#fff";
    if (cellW > 3) for (let i = 1; i <= c.nrPages; i++) g.fillRect(LEFT + i * cellW - 1, top, 1, gridH);
    if (rowH > 3)
      for (let row = 1; row <= rows; row++) g.fillRect(LEFT, top + row * rowH - 1, c.nrPages * cellW, 1);
    /* units no CPU uses are dimmed */
    g.fillStyle = "rgba(255,255,255,0.55)";
    for (let row = 0; row < rows; row++) {
      const unit = row * per;
      const cpu = info.unitCpu[unit] ?? -1;
      const y = top + row * rowH;
      if (cpu < 0 && per === 1) g.fillRect(LEFT, y, c.nrPages * cellW, rowH);
    }
    g.fillStyle = "#555";
    for (let row = 0; row < rows; row++) {
      const unit = row * per;
      const cpu = info.unitCpu[unit] ?? -1;
      const y = top + row * rowH;
      if (labels && rowH >= 8 && (rows <= 16 || row % 4 === 0)) {
        g.fillText(per > 1 ? `u${unit}+` : cpu >= 0 ? `cpu${cpu}` : `u${unit}`, 2, y + rowH / 2);
      }
    }
    if (fig.selected || c.key === this.selected) {
      g.strokeStyle = COLORS.selected;
      g.lineWidth = 2;
      g.strokeRect(LEFT - 1, top - 1, c.nrPages * cellW + 1, rows * rowH + 1);
    }
  }

  private hit(fig: Figure, ev: MouseEvent): { unit: number; page: number } | null {
    const c = fig.chunk;
    if (c === null || this.info === null) return null;
    const rect = fig.canvas.getBoundingClientRect();
    const x = ((ev.clientX - rect.left) * fig.canvas.width) / rect.width;
    const y = ((ev.clientY - rect.top) * fig.canvas.height) / rect.height;
    const page = Math.floor((x - LEFT) / fig.cellW);
    const row = Math.floor((y - fig.top) / fig.rowH);
    if (page < 0 || page >= c.nrPages || row < 0 || row >= fig.rows) return null;
    const per = Math.ceil(this.info.nrUnits / fig.rows);
    return { unit: Math.min(this.info.nrUnits - 1, row * per), page };
  }

  private hover(fig: Figure, ev: MouseEvent): void {
    const hit = this.hit(fig, ev);
    const c = fig.chunk;
    const info = this.info;
    if (hit === null || c === null || info === null) {
      this.tooltip.hide();
      return;
    }
    const off = hit.page * info.pageSize;
    const cpu = info.unitCpu[hit.unit] ?? -1;
    const addr = c.baseAddr + info.unitOffsets[hit.unit]! + off;
    const region = c.regions.find((r) => off >= r.start && off < r.end);
    this.tooltip.show(ev, [
      `${c.title} · unit ${hit.unit}${cpu >= 0 ? ` (cpu${cpu})` : " (no cpu)"} · page ${hit.page}`,
      `state: ${PAGE_NAMES[c.pages[hit.page]!]}${region ? ` · ${region.name} region` : ""}`,
      `offset ${hex(off)}-${hex(off + info.pageSize)} · address ${formatAddr(info, addr)}`,
      "click: show this chunk's bitmap",
    ]);
  }
}

function caption(info: KernelInfo, c: ChunkFrame): string {
  const flags = [
    c.kind !== "normal" && c.kind !== "first" ? c.kind : "",
    c.isolated ? "isolated" : "",
  ].filter(Boolean);
  const pop = c.populatedPages;
  const empty = c.pages.reduce((n, s) => n + (s === PAGE_EMPTY_POPULATED ? 1 : 0), 0);
  const unpop = c.pages.reduce((n, s) => n + (s === PAGE_UNPOPULATED ? 1 : 0), 0);
  return (
    `${c.title}${flags.length ? ` (${flags.join(", ")})` : ""} · slot ${c.slot} · ${c.nrPages} pages × ${info.nrUnits} units · ` +
    `${pop} populated, ${empty} empty, ${unpop} unpopulated · ${c.allocOff.length} allocations · free ${bytesText(c.freeBytes)}`
  );
}
