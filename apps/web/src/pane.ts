/*
 * One kernel on the page: its config panel and boot button, the boot log,
 * the chunk map (grid and bitmap), the bytes of a picked allocation, the
 * plots, and percpu_stats / meminfo of the frame shown. The kernel itself
 * lives in the pane's worker (KernelClient); the pane keeps every frame of
 * the current run so the player can go back and forth.
 *
 * The numbers of the frame shown are mirrored in data attributes of the
 * pane's root element for tests.
 */

import type { PickedAllocation } from "./bitmap-view.js";
import { BitmapView } from "./bitmap-view.js";
import { ChunkGrid } from "./chunk-grid.js";
import { ConfigForm } from "./config-form.js";
import { bytesText, configErrorLine, formatAddr, hexBytes } from "./format.js";
import type { Frame, KernelInfo } from "./frame.js";
import { KernelClient, KernelRequestError } from "./kernel-client.js";
import type { PlayerTrack } from "./player.js";
import { Plots } from "./plots.js";
import type { Action } from "./session.js";
import type { Tooltip } from "./tooltip.js";

export type PaneState = "idle" | "booting" | "booted" | "running" | "done" | "error";

const BYTES_SHOWN = 64;

function el<K extends keyof HTMLElementTagNameMap>(
  doc: Document,
  tag: K,
  cls?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = doc.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function section(doc: Document, title: string, open = true): { det: HTMLDetailsElement; body: HTMLElement } {
  const det = el(doc, "details", "section");
  det.open = open;
  det.append(el(doc, "summary", undefined, title));
  const body = el(doc, "div", "section-body");
  det.append(body);
  return { det, body };
}

export class Pane implements PlayerTrack {
  readonly el: HTMLElement;
  readonly form: ConfigForm;
  readonly client: KernelClient;
  private readonly bootBtn: HTMLButtonElement;
  private readonly status: HTMLElement;
  private readonly dmesg: HTMLPreElement;
  private readonly summary: HTMLPreElement;
  private readonly grid: ChunkGrid;
  private readonly bitmap: BitmapView;
  private readonly chunkSelect: HTMLSelectElement;
  private readonly bytesPanel: HTMLElement;
  private readonly plots: Plots;
  private readonly statsPre: HTMLPreElement;
  private readonly meminfoPre: HTMLPreElement;
  private readonly traceBtn: HTMLButtonElement;
  info: KernelInfo | null = null;
  /** The config the worker booted last (JSON), to boot again when the form changed. */
  private booted = "";
  frames: Frame[] = [];
  private done = true;
  private shown = -1;
  private selectedKey: string | null = "first";
  private state: PaneState = "idle";
  /** Bumped by every boot and run: replies of an older one are dropped. */
  private generation = 0;
  /** Called when the pane has new frames (the player extends its range). */
  onFrames: (() => void) | null = null;
  /** Called after a boot: the pane holds only the boot frame. */
  onBoot: (() => void) | null = null;

  constructor(
    doc: Document,
    readonly name: string,
    tooltip: Tooltip,
  ) {
    this.el = el(doc, "section", "pane");
    this.el.dataset.pane = name;
    const head = el(doc, "header", "pane-head");
    head.append(el(doc, "h2", undefined, `kernel ${name}`));
    this.bootBtn = el(doc, "button", "boot", "Boot");
    this.bootBtn.type = "button";
    this.bootBtn.dataset.action = "boot";
    this.bootBtn.addEventListener("click", () => void this.boot());
    this.status = el(doc, "span", "pane-status", "not booted");
    head.append(this.bootBtn, this.status);

    this.form = new ConfigForm(doc, `cfg-${name}`);
    this.form.onChange = (s) => {
      this.bootBtn.disabled = !s.ok;
    };
    const cfg = section(doc, "config");
    cfg.body.append(this.form.el);

    const log = section(doc, "dmesg (boot log)", false);
    this.dmesg = el(doc, "pre", "dmesg");
    log.body.append(this.dmesg);

    const sum = section(doc, "run summary");
    this.summary = el(doc, "pre", "summary", "no run yet");
    this.traceBtn = el(doc, "button", "trace-download", "download this run's trace");
    this.traceBtn.type = "button";
    this.traceBtn.disabled = true;
    this.traceBtn.addEventListener("click", () => void this.downloadTrace());
    sum.body.append(this.summary, this.traceBtn);

    const map = section(doc, "chunk map");
    const legend = el(doc, "div", "legend");
    for (const [cls, text] of [
      ["populated", "populated"],
      ["empty", "empty populated"],
      ["unpopulated", "unpopulated"],
      ["static", "static"],
      ["reserved", "reserved"],
    ] as const) {
      const item = el(doc, "span", `key key-${cls}`, text);
      legend.append(item);
    }
    this.grid = new ChunkGrid(doc, tooltip);
    this.grid.onSelect = (key, page) => {
      this.selectedKey = key;
      this.redraw();
      this.bitmap.scrollToPage(page);
    };
    map.body.append(legend, this.grid.el);

    const bm = section(doc, "allocation bitmap (4-byte bits, block hints)");
    const bmBar = el(doc, "div", "bitmap-bar");
    this.chunkSelect = el(doc, "select");
    this.chunkSelect.dataset.control = "chunk";
    this.chunkSelect.addEventListener("change", () => {
      this.selectedKey = this.chunkSelect.value;
      this.redraw();
    });
    const bmLegend = el(doc, "div", "legend");
    for (const [cls, text] of [
      ["alloc", "allocations"],
      ["free", "free"],
      ["freeunpop", "free, unpopulated"],
      ["hidden", "hidden"],
      ["contig", "contig_hint"],
      ["scan", "scan_hint"],
      ["edge", "left/right_free"],
      ["first", "first_free"],
    ] as const) {
      bmLegend.append(el(doc, "span", `key key-${cls}`, text));
    }
    bmBar.append(el(doc, "label", undefined, "chunk "), this.chunkSelect, bmLegend);
    this.bitmap = new BitmapView(doc, tooltip);
    this.bitmap.onPick = (a) => void this.showBytes(a);
    this.bytesPanel = el(doc, "div", "bytes");
    bm.body.append(bmBar, this.bitmap.el, this.bytesPanel);

    const pl = section(doc, "plots");
    this.plots = new Plots(doc, "pcpu");
    pl.body.append(this.plots.el);

    const st = section(doc, "percpu_stats and meminfo of this frame", false);
    this.statsPre = el(doc, "pre", "percpu-stats");
    this.meminfoPre = el(doc, "pre", "meminfo");
    st.body.append(this.meminfoPre, this.statsPre);

    this.el.append(head, cfg.det, log.det, sum.det, map.det, bm.det, pl.det, st.det);
    this.client = new KernelClient();
    this.client.onFrame = (f) => this.addFrame(f);
    this.clearBytes();
    let width = -1;
    new ResizeObserver((entries) => {
      const w = Math.round(entries[0]!.contentRect.width);
      if (w === width) return;
      width = w;
      this.plots.resize(w);
      this.grid.width = Math.max(240, w - 8);
      if (this.shown >= 0) this.redraw();
    }).observe(this.el);
    this.setState("idle", "not booted");
  }

  private setState(s: PaneState, text: string): void {
    this.state = s;
    this.el.dataset.state = s;
    this.status.textContent = text;
  }

  get busy(): boolean {
    return this.state === "booting" || this.state === "running";
  }

  /** Boots the form's config; frame 0 becomes the only frame. `forRun`: a run follows (the player keeps playing). */
  async boot(forRun = false): Promise<boolean> {
    const s = this.form.state;
    if (!s.ok) {
      this.setState("error", s.line);
      return false;
    }
    const gen = ++this.generation;
    if (this.busy) this.client.reset();
    this.setState("booting", "booting…");
    this.bootBtn.disabled = true;
    try {
      const r = await this.client.boot(s.config);
      if (gen !== this.generation) return false;
      this.info = r.info;
      this.booted = JSON.stringify(s.config);
      this.dmesg.textContent = r.info.dmesg.join("\n");
      this.frames = [r.frame];
      this.done = true;
      this.summary.textContent = "no run yet";
      this.clearBytes();
      this.traceBtn.disabled = true;
      this.plots.clear();
      this.plots.add(r.frame);
      this.shown = -1;
      this.setState(
        "booted",
        `booted: ${r.info.config.arch}, ${r.info.config.cpus} CPUs, ${r.info.nrUnits} units, ${r.info.config.allocator}, ${r.info.config.population}`,
      );
      if (!forRun) this.onBoot?.();
      this.onFrames?.();
      return true;
    } catch (e) {
      if (gen !== this.generation) return false;
      this.fail(e);
      return false;
    } finally {
      if (gen === this.generation) this.bootBtn.disabled = !this.form.state.ok;
    }
  }

  private clearBytes(): void {
    this.bytesPanel.textContent = "click an allocation to see its bytes on every CPU";
    this.bytesPanel.dataset.state = "";
  }

  private fail(e: unknown): void {
    if (e instanceof KernelRequestError) {
      const err = e.error;
      if (err.kind === "config" && err.setting !== undefined) {
        const line = configErrorLine({ setting: err.setting, message: err.message });
        this.form.showError(err.setting, line);
        this.setState("error", line);
        return;
      }
      if (err.dmesg) this.dmesg.textContent = err.dmesg.join("\n");
      const prefix = err.kind === "boot" ? "boot failed: " : err.kind === "trace" ? "malformed trace: " : "";
      this.setState("error", `${prefix}${err.message}`);
      return;
    }
    this.setState("error", e instanceof Error ? e.message : String(e));
  }

  /**
   * Runs `action` on a fresh boot of the pane's config; frames stream in.
   * @param expected frames the run is expected to have (sizes the plots' x axis)
   */
  async run(action: Action, expected: number): Promise<boolean> {
    /* a run uses the config in the form: boot it first when it is not the one booted */
    if (
      (this.info === null || this.booted !== JSON.stringify(this.form.config())) &&
      !(await this.boot(true))
    )
      return false;
    const gen = ++this.generation;
    if (this.busy) this.client.reset();
    this.frames = [];
    this.done = false;
    this.shown = -1;
    this.plots.clear();
    this.plots.setExpected(expected);
    this.summary.textContent = "running…";
    this.clearBytes();
    this.traceBtn.disabled = true;
    this.setState(
      "running",
      action.kind === "workload" ? `running ${action.name}…` : `replaying ${action.fileName}…`,
    );
    try {
      const r = await this.client.run(action);
      if (gen !== this.generation) return false;
      this.info = r.info;
      this.summary.textContent = r.result.summary;
      this.done = true;
      this.traceBtn.disabled = !r.info.config.trace;
      this.setState(
        "done",
        `${action.kind === "workload" ? action.name : action.fileName}: ${r.result.frames} frames`,
      );
      this.onFrames?.();
      return true;
    } catch (e) {
      if (gen !== this.generation) return false;
      this.done = true;
      this.summary.textContent = "";
      this.fail(e);
      this.onFrames?.();
      return false;
    }
  }

  private addFrame(f: Frame): void {
    if (this.state !== "running") return;
    this.frames[f.index] = f;
    this.plots.add(f);
    this.onFrames?.();
  }

  /* PlayerTrack */
  available(): number {
    return this.frames.length;
  }

  finished(): boolean {
    return this.done;
  }

  failed(): boolean {
    return this.state === "error";
  }

  show(index: number): void {
    const i = Math.min(index, this.frames.length - 1);
    if (i < 0 || this.info === null) return;
    this.shown = i;
    this.redraw();
  }

  /** The label of frame `i` ("op 12/300"). */
  label(i: number): string {
    return this.frames[Math.min(i, this.frames.length - 1)]?.label ?? "";
  }

  private redraw(): void {
    const f = this.frames[this.shown];
    const info = this.info;
    if (f === undefined || info === null) return;
    if (!f.chunks.some((c) => c.key === this.selectedKey)) this.selectedKey = f.chunks[0]?.key ?? null;
    this.grid.render(info, f, this.selectedKey);
    const keys = f.chunks.map((c) => c.key).join("|");
    if (this.chunkSelect.dataset.keys !== keys) {
      this.chunkSelect.replaceChildren(
        ...f.chunks.map((c) => {
          const o = this.el.ownerDocument.createElement("option");
          o.value = c.key;
          o.textContent = c.title;
          return o;
        }),
      );
      this.chunkSelect.dataset.keys = keys;
    }
    this.chunkSelect.value = this.selectedKey ?? "";
    this.bitmap.render(info, f.chunks.find((c) => c.key === this.selectedKey) ?? null);
    this.plots.show(f.index);
    this.statsPre.textContent = f.statsText ?? "CONFIG_PERCPU_STATS is off: no debugfs percpu_stats";
    this.meminfoPre.textContent = f.meminfo;
    const m = f.metrics;
    const d = this.el.dataset;
    d.frame = String(f.index);
    d.frames = String(this.frames.length);
    d.frameLabel = f.label;
    d.live = String(m.live);
    d.chunks = String(m.chunks);
    d.populatedPages = String(m.populatedPages);
    d.emptyPopPages = String(m.emptyPopPages);
    d.pcpuNrPages = String(m.pcpuNrPages);
    d.fragBytes = String(m.fragBytes);
    d.units = String(info.nrUnits);
  }

  private async showBytes(a: PickedAllocation): Promise<void> {
    const frame = this.shown;
    const info = this.info;
    if (info === null) return;
    const doc = this.el.ownerDocument;
    this.bytesPanel.textContent = "reading…";
    this.bytesPanel.dataset.state = "loading";
    try {
      const gen = this.generation;
      const cpus = await this.client.bytes(frame, a.ptr, a.size);
      if (gen !== this.generation) return;
      const title = el(
        doc,
        "div",
        "bytes-title",
        `${a.chunkKey} offset 0x${a.off.toString(16)}, ${bytesText(a.size)} bytes, percpu pointer ${formatAddr(info, a.ptr)}, at frame ${frame}${
          a.size > BYTES_SHOWN ? ` (first ${BYTES_SHOWN} bytes shown)` : ""
        }`,
      );
      const table = el(doc, "table", "bytes-table");
      const head = el(doc, "tr");
      head.append(
        el(doc, "th", undefined, "cpu"),
        el(doc, "th", undefined, "per_cpu_ptr"),
        el(doc, "th", undefined, "bytes"),
      );
      table.append(head);
      for (const c of cpus) {
        const tr = el(doc, "tr");
        tr.dataset.cpu = String(c.cpu);
        tr.append(
          el(doc, "td", undefined, String(c.cpu)),
          el(doc, "td", undefined, c.addr),
          el(doc, "td", "hex", hexBytes(c.bytes, BYTES_SHOWN)),
        );
        table.append(tr);
      }
      this.bytesPanel.replaceChildren(title, table);
      const d = this.bytesPanel.dataset;
      d.state = "ready";
      d.ptr = String(a.ptr);
      d.off = String(a.off);
      d.size = String(a.size);
      d.frame = String(frame);
      d.cpus = String(cpus.length);
    } catch (e) {
      this.bytesPanel.textContent = e instanceof Error ? e.message : String(e);
      this.bytesPanel.dataset.state = "error";
    }
  }

  private async downloadTrace(): Promise<void> {
    const text = await this.client.trace();
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    const a = this.el.ownerDocument.createElement("a");
    a.href = url;
    a.download = `percpu-trace-${this.name}.txt`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}
