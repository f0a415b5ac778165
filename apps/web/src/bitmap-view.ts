/*
 * One chunk's allocation map at 4-byte resolution (PCPU_MIN_ALLOC_SIZE:
 * one alloc_map bit per pixel), one block (== one page, 5.1+) per band,
 * with the block's hints of `struct pcpu_block_md` drawn under it:
 *
 *   +--------------------------------------------+
 *   | bits 0 .. 511 of the block                 |  alloc_map: allocations
 *   | bits 512 .. 1023                           |  alternate two blues
 *   +--------------------------------------------+
 *   | contig_hint  [start, start + len)          |  green
 *   | scan_hint    [start, start + len)          |  purple
 *   | left_free | ... | right_free, first_free   |  orange, red tick
 *   +--------------------------------------------+
 *
 * Free bits are white on populated pages and grey-beige on unpopulated
 * ones; bits hidden from the allocator (the static area, start_offset,
 * end_offset) are grey. Hover names the offset, the allocation, its percpu
 * pointer and the block's hints; a click picks the allocation.
 */

import { COLORS, rgbaWord } from "./colors.js";
import { bytesText, formatAddr, hex, ptrAdd } from "./format.js";
import {
  type ChunkFrame,
  type ChunkRecordFrame,
  HINT_CONTIG,
  HINT_CONTIG_START,
  HINT_FIRST_FREE,
  HINT_LEFT_FREE,
  HINT_RIGHT_FREE,
  HINT_SCAN,
  HINT_SCAN_START,
  HINT_STRIDE,
  type KernelInfo,
  PAGE_UNPOPULATED,
} from "./frame.js";
import type { Tooltip } from "./tooltip.js";

const LEFT = 46;
const BIT_H = 5;
const STRIP_H = 2;
const GAP = 3;
const MAX_ROW_BITS = 512;

const C_FREE = 0;
const C_HIDDEN = 1;
const C_ALLOC_A = 2;
const C_ALLOC_B = 3;
const C_UNPOP = 4;
const C_STATIC = 5;

/** An allocation picked with a click. */
export interface PickedAllocation {
  readonly chunkKey: string;
  readonly off: number;
  readonly size: number;
  readonly ptr: number;
}

/** The geometry of the drawing (also published as data attributes for tests). */
export interface BitmapLayout {
  readonly left: number;
  readonly rowBits: number;
  readonly rowsPerBlock: number;
  readonly bitH: number;
  readonly blockH: number;
  readonly blockBits: number;
  /** The first page drawn: the first chunk's whole static pages are left out. */
  readonly firstPage: number;
}

/** The index of the allocation containing byte `off`, or -1 (binary search over the sorted offsets). */
export function allocationAt(c: ChunkFrame, off: number): number {
  let lo = 0;
  let hi = c.allocOff.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const s = c.allocOff[mid]!;
    if (off < s) hi = mid - 1;
    else if (off >= s + c.allocSize[mid]!) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** The record a drawn page belongs to (the last one that covers it) and its block index there. */
function recordOfPage(
  info: KernelInfo,
  c: ChunkFrame,
  page: number,
): { rec: ChunkRecordFrame; block: number } | null {
  let out: { rec: ChunkRecordFrame; block: number } | null = null;
  for (const r of c.records) {
    const first = r.viewStart / info.pageSize;
    if (page >= first && page < first + r.nrPages) out = { rec: r, block: page - first };
  }
  return out;
}

export class BitmapView {
  readonly el: HTMLElement;
  private readonly head: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly overlay: HTMLCanvasElement;
  private info: KernelInfo | null = null;
  private chunk: ChunkFrame | null = null;
  private drawnSig = -1;
  private drawnInfo: KernelInfo | null = null;
  private layout: BitmapLayout | null = null;
  private hoverIdx = -1;
  /* reused between draws */
  private cls = new Uint8Array(0);
  private img: ImageData | null = null;
  private labelsKey = "";
  /** The picked allocation's offset in the shown chunk, or -1. */
  private pickedOff = -1;
  onPick: ((a: PickedAllocation) => void) | null = null;

  constructor(
    doc: Document,
    private readonly tooltip: Tooltip,
  ) {
    this.el = doc.createElement("div");
    this.el.className = "bitmap-view";
    this.head = doc.createElement("div");
    this.head.className = "bitmap-head";
    this.scroller = doc.createElement("div");
    this.scroller.className = "bitmap-scroll";
    const stack = doc.createElement("div");
    stack.className = "bitmap-stack";
    this.canvas = doc.createElement("canvas");
    this.canvas.className = "bitmap";
    this.overlay = doc.createElement("canvas");
    this.overlay.className = "bitmap-overlay";
    stack.append(this.canvas, this.overlay);
    this.scroller.append(stack);
    this.el.append(this.head, this.scroller);
    this.overlay.addEventListener("mousemove", (ev) => this.hover(ev));
    this.overlay.addEventListener("mouseleave", () => {
      this.tooltip.hide();
      this.hoverIdx = -1;
      this.drawOverlay();
    });
    this.overlay.addEventListener("click", (ev) => this.click(ev));
  }

  /** The canvas that takes the pointer (tests click it). */
  get target(): HTMLCanvasElement {
    return this.overlay;
  }

  /** Scrolls so that `page` is at the top. */
  scrollToPage(page: number): void {
    if (this.layout !== null)
      this.scroller.scrollTop = Math.max(0, page - this.layout.firstPage) * this.layout.blockH;
  }

  /** Draws chunk `c` (null: nothing to show). */
  render(info: KernelInfo, c: ChunkFrame | null): void {
    const changedChunk = this.chunk?.key !== c?.key;
    this.info = info;
    this.chunk = c;
    if (c === null) {
      this.head.textContent = "no chunk";
      this.el.dataset.chunk = "";
      return;
    }
    if (changedChunk) this.pickedOff = -1;
    if (this.pickedOff >= 0) {
      const i = allocationAt(c, this.pickedOff);
      if (i < 0 || c.allocOff[i] !== this.pickedOff) this.pickedOff = -1;
    }
    this.head.textContent = headText(info, c);
    const d = this.el.dataset;
    d.chunk = c.key;
    d.allocations = String(c.allocOff.length);
    if (c.sig !== this.drawnSig || info !== this.drawnInfo || changedChunk) {
      this.draw(info, c);
      this.drawnSig = c.sig;
      this.drawnInfo = info;
    }
    this.hoverIdx = -1;
    this.drawOverlay();
  }

  private draw(info: KernelInfo, c: ChunkFrame): void {
    const blockBits = info.pageSize >>> 2;
    const rowBits = Math.min(MAX_ROW_BITS, blockBits);
    const rowsPerBlock = Math.ceil(blockBits / rowBits);
    const blockH = rowsPerBlock * BIT_H + 3 * STRIP_H + GAP;
    const staticRegion = c.regions.find((r) => r.name === "static");
    const firstPage =
      staticRegion === undefined ? 0 : Math.min(c.nrPages - 1, Math.floor(staticRegion.end / info.pageSize));
    const layout: BitmapLayout = {
      left: LEFT,
      rowBits,
      rowsPerBlock,
      bitH: BIT_H,
      blockH,
      blockBits,
      firstPage,
    };
    this.layout = layout;
    const w = LEFT + rowBits + 4;
    const h = (c.nrPages - firstPage) * blockH;
    for (const cv of [this.canvas, this.overlay]) {
      if (cv.width !== w) cv.width = w;
      if (cv.height !== h) cv.height = h;
    }
    const td = this.overlay.dataset;
    td.left = String(LEFT);
    td.rowBits = String(rowBits);
    td.rowsPerBlock = String(rowsPerBlock);
    td.bitH = String(BIT_H);
    td.blockH = String(blockH);
    td.blockBits = String(blockBits);
    td.firstPage = String(firstPage);

    /* the class of every 4-byte bit */
    const nbits = c.nrPages * blockBits;
    if (this.cls.length < nbits) this.cls = new Uint8Array(nbits);
    const cls = this.cls;
    cls.fill(C_FREE, 0, nbits);
    for (let p = 0; p < c.nrPages; p++)
      if (c.pages[p] === PAGE_UNPOPULATED) cls.fill(C_UNPOP, p * blockBits, (p + 1) * blockBits);
    for (let i = 0; i + 1 < c.hidden.length; i += 2) {
      const staticPart = c.regions.length > 0 && i === 0;
      cls.fill(
        staticPart ? C_STATIC : C_HIDDEN,
        c.hidden[i]! >>> 2,
        Math.min(nbits, Math.ceil(c.hidden[i + 1]! / 4)),
      );
    }
    for (let i = 0; i < c.allocOff.length; i++) {
      const s = c.allocOff[i]! >>> 2;
      cls.fill(i & 1 ? C_ALLOC_B : C_ALLOC_A, s, Math.min(nbits, s + Math.ceil(c.allocSize[i]! / 4)));
    }
    const palette = new Uint32Array(6);
    palette[C_FREE] = rgbaWord(COLORS.freePopulated);
    palette[C_HIDDEN] = rgbaWord(COLORS.hidden);
    palette[C_ALLOC_A] = rgbaWord(COLORS.allocA);
    palette[C_ALLOC_B] = rgbaWord(COLORS.allocB);
    palette[C_UNPOP] = rgbaWord(COLORS.freeUnpopulated);
    palette[C_STATIC] = rgbaWord(COLORS.static);
    const contig = rgbaWord(COLORS.contig);
    const scan = rgbaWord(COLORS.scan);
    const edge = rgbaWord(COLORS.edgeFree);
    const first = rgbaWord(COLORS.firstFree);
    const sep = rgbaWord(COLORS.grid);

    const g = this.canvas.getContext("2d")!;
    if (this.img === null || this.img.width !== w || this.img.height !== h)
      this.img = g.createImageData(w, h);
    const img = this.img;
    new Uint32Array(img.data.buffer).fill(0);
    const px = new Uint32Array(img.data.buffer);
    const strip = (y0: number, from: number, to: number, color: number) => {
      /* a hint range in bits of the block, squeezed to the row width */
      const x0 = LEFT + Math.floor((from * rowBits) / blockBits);
      const x1 =
        LEFT + Math.max(Math.ceil((to * rowBits) / blockBits), Math.floor((from * rowBits) / blockBits) + 1);
      for (let y = y0; y < y0 + STRIP_H; y++)
        px.fill(color, y * w + x0, y * w + Math.min(x1, LEFT + rowBits));
    };
    for (let p = firstPage; p < c.nrPages; p++) {
      const yBlock = (p - firstPage) * blockH;
      for (let r = 0; r < rowsPerBlock; r++) {
        const bit0 = p * blockBits + r * rowBits;
        for (let y = 0; y < BIT_H - (r === rowsPerBlock - 1 ? 1 : 0); y++) {
          const row = (yBlock + r * BIT_H + y) * w + LEFT;
          for (let x = 0; x < rowBits; x++) px[row + x] = palette[cls[bit0 + x]!]!;
        }
      }
      const hy = yBlock + rowsPerBlock * BIT_H;
      if (c.hints !== null) {
        const o = p * HINT_STRIDE;
        if (c.hints[o + HINT_CONTIG]! >= 0) {
          const cs = c.hints[o + HINT_CONTIG_START]!;
          const ch = c.hints[o + HINT_CONTIG]!;
          if (ch > 0) strip(hy, cs, cs + ch, contig);
          const ss = c.hints[o + HINT_SCAN_START]!;
          const sh = c.hints[o + HINT_SCAN]!;
          if (sh > 0) strip(hy + STRIP_H, ss, ss + sh, scan);
          const lf = c.hints[o + HINT_LEFT_FREE]!;
          const rf = c.hints[o + HINT_RIGHT_FREE]!;
          if (lf > 0) strip(hy + 2 * STRIP_H, 0, lf, edge);
          if (rf > 0) strip(hy + 2 * STRIP_H, blockBits - rf, blockBits, edge);
          const ff = c.hints[o + HINT_FIRST_FREE]!;
          if (ff < blockBits) {
            const x = LEFT + Math.floor((ff * rowBits) / blockBits);
            for (let y = hy; y < hy + 3 * STRIP_H; y++) px[y * w + x] = first;
          }
        }
      }
      px.fill(sep, (yBlock + blockH - 1) * w + LEFT, (yBlock + blockH - 1) * w + LEFT + rowBits);
    }
    g.putImageData(img, 0, 0, LEFT, 0, w - LEFT, h);
    /* page labels and the first chunk's region bar: only when the layout changed (setting a canvas font costs a style update) */
    const labelsKey = `${c.key}|${w}|${h}|${firstPage}`;
    if (labelsKey !== this.labelsKey) {
      this.labelsKey = labelsKey;
      g.clearRect(0, 0, LEFT, h);
      g.font = "9px ui-monospace, monospace";
      g.textBaseline = "top";
      for (let p = firstPage; p < c.nrPages; p++) {
        const y = (p - firstPage) * blockH;
        const off = p * info.pageSize;
        const reg = c.regions.find((r) => off >= r.start && off < r.end);
        if (reg !== undefined) {
          g.fillStyle =
            reg.name === "static"
              ? COLORS.static
              : reg.name === "reserved"
                ? COLORS.reserved
                : COLORS.populated;
          g.fillRect(LEFT - 5, y, 3, blockH - GAP);
        }
        g.fillStyle = "#555";
        g.fillText(`p${p}`, 2, y + 1);
      }
    }
  }

  /** Rectangles covering bits [from, to) in the drawing. */
  private spanRects(from: number, to: number): [number, number, number, number][] {
    const L = this.layout!;
    const out: [number, number, number, number][] = [];
    let b = from;
    while (b < to) {
      const block = Math.floor(b / L.blockBits);
      const inBlock = b - block * L.blockBits;
      const row = Math.floor(inBlock / L.rowBits);
      const x = inBlock - row * L.rowBits;
      const n = Math.min(to - b, L.rowBits - x);
      if (block >= L.firstPage)
        out.push([L.left + x, (block - L.firstPage) * L.blockH + row * L.bitH, n, L.bitH]);
      b += n;
    }
    return out;
  }

  private drawOverlay(): void {
    const g = this.overlay.getContext("2d")!;
    g.clearRect(0, 0, this.overlay.width, this.overlay.height);
    const c = this.chunk;
    if (c === null || this.layout === null) return;
    const mark = (i: number, color: string, fill: string) => {
      const from = c.allocOff[i]! >>> 2;
      const to = from + Math.ceil(c.allocSize[i]! / 4);
      for (const [x, y, w, h] of this.spanRects(from, to)) {
        g.fillStyle = fill;
        g.fillRect(x, y, w, h);
        g.strokeStyle = color;
        g.lineWidth = 1;
        g.strokeRect(x - 0.5, y - 0.5, w + 1, h + 1);
      }
    };
    if (this.hoverIdx >= 0) mark(this.hoverIdx, "#222", "rgba(255,230,80,0.55)");
    if (this.pickedOff >= 0) {
      const i = allocationAt(c, this.pickedOff);
      if (i >= 0) mark(i, COLORS.selected, "rgba(255,140,26,0.6)");
    }
  }

  /** The byte offset and page under the pointer; null in the margins. */
  private offsetAt(ev: MouseEvent): { off: number; page: number; inHints: boolean } | null {
    const L = this.layout;
    const c = this.chunk;
    if (L === null || c === null) return null;
    const rect = this.overlay.getBoundingClientRect();
    const x = ((ev.clientX - rect.left) * this.overlay.width) / rect.width;
    const y = ((ev.clientY - rect.top) * this.overlay.height) / rect.height;
    const band = Math.floor(y / L.blockH);
    const page = band + L.firstPage;
    if (band < 0 || page >= c.nrPages) return null;
    const yy = y - band * L.blockH;
    const inHints = yy >= L.rowsPerBlock * L.bitH;
    const row = inHints ? 0 : Math.floor(yy / L.bitH);
    const xb = Math.floor(x - L.left);
    if (xb < 0 || xb >= L.rowBits) return { off: page * L.blockBits * 4, page, inHints: true };
    const bit = page * L.blockBits + row * L.rowBits + xb;
    return { off: bit * 4, page, inHints };
  }

  private hover(ev: MouseEvent): void {
    const at = this.offsetAt(ev);
    const c = this.chunk;
    const info = this.info;
    if (at === null || c === null || info === null) {
      this.tooltip.hide();
      return;
    }
    const lines: string[] = [];
    const i = at.inHints ? -1 : allocationAt(c, at.off);
    if (!at.inHints) {
      lines.push(`${c.title} · offset ${hex(at.off)} (bit ${hex(at.off >>> 2)}) · page ${at.page}`);
      if (i >= 0) {
        const off = c.allocOff[i]!;
        const size = c.allocSize[i]!;
        lines.push(`allocation [${hex(off)}, ${hex(off + size)}) · ${bytesText(size)} bytes`);
        lines.push(
          `percpu pointer ${formatAddr(info, ptrAdd(info, c.ptrBase, off))} · click: bytes on every CPU`,
        );
      } else {
        const region = c.regions.find((r) => at.off >= r.start && at.off < r.end);
        const hidden = isHidden(c, at.off);
        lines.push(
          region?.name === "static"
            ? "static percpu area (the kernel image's DEFINE_PER_CPU variables)"
            : hidden
              ? "hidden from the allocator (start_offset / end_offset)"
              : c.pages[at.page] === PAGE_UNPOPULATED
                ? "free, page not populated"
                : "free, page populated",
        );
      }
    }
    const rb = recordOfPage(info, c, at.page);
    if (rb !== null) {
      lines.push(
        `${rb.rec.role === "dynamic" ? "" : `${rb.rec.role} chunk record, `}block ${rb.block}: ${blockHintText(c, at.page)}`,
      );
    } else if (c.regions.length > 0) {
      lines.push("no allocator block (static area)");
    }
    this.tooltip.show(ev, lines);
    if (i !== this.hoverIdx) {
      this.hoverIdx = i;
      this.drawOverlay();
    }
  }

  private click(ev: MouseEvent): void {
    const at = this.offsetAt(ev);
    const c = this.chunk;
    const info = this.info;
    if (at === null || c === null || info === null || at.inHints) return;
    const i = allocationAt(c, at.off);
    if (i < 0) return;
    const off = c.allocOff[i]!;
    this.pickedOff = off;
    this.drawOverlay();
    this.onPick?.({ chunkKey: c.key, off, size: c.allocSize[i]!, ptr: ptrAdd(info, c.ptrBase, off) });
  }
}

function isHidden(c: ChunkFrame, off: number): boolean {
  for (let i = 0; i + 1 < c.hidden.length; i += 2)
    if (off >= c.hidden[i]! && off < c.hidden[i + 1]!) return true;
  return false;
}

function blockHintText(c: ChunkFrame, page: number): string {
  if (c.hints === null) return "(area map: no block hints)";
  const o = page * HINT_STRIDE;
  const h = c.hints;
  if (h[o + HINT_CONTIG]! < 0) return "no block";
  return (
    `contig_hint ${hex(h[o + HINT_CONTIG]!)}@${hex(h[o + HINT_CONTIG_START]!)} ` +
    `scan_hint ${hex(h[o + HINT_SCAN]!)}@${hex(h[o + HINT_SCAN_START]!)} ` +
    `left_free ${hex(h[o + HINT_LEFT_FREE]!)} right_free ${hex(h[o + HINT_RIGHT_FREE]!)} first_free ${hex(h[o + HINT_FIRST_FREE]!)} (bits)`
  );
}

function headText(info: KernelInfo, c: ChunkFrame): string {
  const parts = [
    `${c.title}: ${c.allocOff.length} allocations, sum_frag ${bytesText(c.sumFrag)}, max_frag ${bytesText(c.maxFrag)}`,
  ];
  for (const r of c.records) {
    const who = r.role === "dynamic" ? "" : `${r.role} record (id ${r.id}, at ${hex(r.viewStart)}): `;
    let md = `free_bytes ${bytesText(r.freeBytes)}, contig_bytes ${bytesText(r.contigBytes)}, first_bit ${r.firstBit}`;
    if (r.chunkMd !== null) {
      md += ` · chunk_md contig_hint ${hex(r.chunkMd[HINT_CONTIG]!)}@${hex(r.chunkMd[HINT_CONTIG_START]!)} scan_hint ${hex(
        r.chunkMd[HINT_SCAN]!,
      )}@${hex(r.chunkMd[HINT_SCAN_START]!)} first_free ${hex(r.chunkMd[HINT_FIRST_FREE]!)}`;
    }
    parts.push(`${who}${md}`);
  }
  const st = c.regions.find((r) => r.name === "static");
  if (st !== undefined && st.end >= info.pageSize) {
    parts.push(
      `static area [0, ${hex(st.end)}): the kernel image's percpu variables, no allocator; its ${Math.floor(st.end / info.pageSize)} whole pages are not drawn`,
    );
  }
  parts.push(
    `base ${formatAddr(info, c.baseAddr)} · percpu pointer of offset 0: ${formatAddr(info, c.ptrBase)}`,
  );
  return parts.join("\n");
}
