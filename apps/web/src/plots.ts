/*
 * The plots over time of one pane, drawn with uPlot: live allocations,
 * chunks, populated and empty populated pages, pcpu_nr_pages and
 * fragmentation (percpu_stats sum_frag). The x axis is the frame index;
 * each plot shows the frames up to the one the player is on. The last
 * values drawn are kept in data attributes for tests.
 */

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { COLORS } from "./colors.js";
import type { Frame, FrameMetrics } from "./frame.js";

interface SeriesSpec {
  readonly label: string;
  readonly metric: keyof FrameMetrics;
  readonly color: string;
}

interface PlotSpec {
  readonly id: string;
  readonly title: string;
  readonly series: readonly SeriesSpec[];
}

export const PLOTS: readonly PlotSpec[] = [
  {
    id: "live",
    title: "live allocations",
    series: [{ label: "live", metric: "live", color: COLORS.allocA }],
  },
  { id: "chunks", title: "chunks", series: [{ label: "chunks", metric: "chunks", color: "#444" }] },
  {
    id: "pages",
    title: "pages per unit",
    series: [
      { label: "populated", metric: "populatedPages", color: COLORS.populated },
      { label: "empty populated", metric: "emptyPopPages", color: COLORS.contig },
    ],
  },
  {
    id: "nr-pages",
    title: "pcpu_nr_pages",
    series: [{ label: "pcpu_nr_pages", metric: "pcpuNrPages", color: COLORS.reserved }],
  },
  {
    id: "frag",
    title: "fragmentation (sum_frag bytes)",
    series: [{ label: "sum_frag", metric: "fragBytes", color: COLORS.firstFree }],
  },
];

/** 12000 -> "12k", 3500000 -> "3.5M". */
function compact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  return String(+v.toFixed(2));
}

interface Plot {
  readonly spec: PlotSpec;
  readonly el: HTMLElement;
  readonly u: uPlot;
}

/** Growable columns of the metrics, one row per frame. */
class Columns {
  x = new Float64Array(512);
  cols: Float64Array[] = [];
  n = 0;

  constructor(nCols: number) {
    for (let i = 0; i < nCols; i++) this.cols.push(new Float64Array(512));
  }

  set(row: number, values: readonly number[]): void {
    if (row >= this.x.length) {
      const grow = (a: Float64Array) => {
        const b = new Float64Array(Math.max(row + 1, a.length * 2));
        b.set(a);
        return b;
      };
      this.x = grow(this.x);
      this.cols = this.cols.map(grow);
    }
    this.x[row] = row;
    for (let i = 0; i < values.length; i++) this.cols[i]![row] = values[i]!;
    this.n = Math.max(this.n, row + 1);
  }
}

export class Plots {
  readonly el: HTMLElement;
  private readonly plots: Plot[] = [];
  private readonly data: Columns;
  private readonly metrics: (keyof FrameMetrics)[];
  private shown = -1;
  private xMax = 1;

  constructor(doc: Document, syncKey: string) {
    this.el = doc.createElement("div");
    this.el.className = "plots";
    this.metrics = PLOTS.flatMap((p) => p.series.map((s) => s.metric));
    this.data = new Columns(this.metrics.length);
    for (const spec of PLOTS) {
      const el = doc.createElement("div");
      el.className = "plot";
      el.dataset.plot = spec.id;
      this.el.append(el);
      const opts: uPlot.Options = {
        title: spec.title,
        width: 300,
        height: 120,
        legend: { live: true },
        cursor: { sync: { key: syncKey }, drag: { x: false, y: false } },
        scales: {
          x: { time: false, range: () => [0, this.xMax] },
          y: { range: (_u, min, max) => [Math.min(0, min), Math.max(1, max * 1.08)] },
        },
        axes: [{ size: 28 }, { size: 52, values: (_u, vals) => vals.map(compact) }],
        series: [
          { label: "frame" },
          ...spec.series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 1.5,
            points: { show: false },
          })),
        ],
      };
      const u = new uPlot(opts, [new Float64Array(0), ...spec.series.map(() => new Float64Array(0))], el);
      this.plots.push({ spec, el, u });
    }
  }

  /** Forgets every frame (a new boot or run). */
  clear(): void {
    this.data.n = 0;
    this.shown = -1;
    this.xMax = 1;
  }

  /** Records the metrics of a frame (frames may arrive before they are shown). */
  add(frame: Frame): void {
    this.data.set(
      frame.index,
      this.metrics.map((m) => frame.metrics[m]),
    );
  }

  /** The x range: at least `frames` frames, so a run's plots fill in from left to right. */
  setExpected(frames: number): void {
    this.xMax = Math.max(1, frames - 1);
  }

  /** Shows frames 0..`index`. */
  show(index: number): void {
    const n = Math.min(index + 1, this.data.n);
    if (n === this.shown) return;
    this.shown = n;
    this.xMax = Math.max(this.xMax, n - 1);
    let col = 0;
    for (const p of this.plots) {
      const ys = p.spec.series.map(() => this.data.cols[col++]!.subarray(0, n));
      p.u.setData([this.data.x.subarray(0, n), ...ys] as unknown as uPlot.AlignedData);
      p.el.dataset.points = String(n);
      p.el.dataset.last = JSON.stringify(
        Object.fromEntries(p.spec.series.map((s, i) => [s.metric, n > 0 ? ys[i]![n - 1] : null])),
      );
    }
  }

  /** Fits the plots to the pane's width. */
  resize(width: number): void {
    const cols = width > 900 ? 3 : width > 560 ? 2 : 1;
    const w = Math.floor((width - 12 * cols) / cols);
    for (const p of this.plots) p.u.setSize({ width: Math.max(200, w), height: 120 });
  }
}
