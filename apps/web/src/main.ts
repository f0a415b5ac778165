/*
 * The page: the run controls (workload, trace replay, player), one kernel
 * pane or two side by side, and the responsiveness footer. Everything runs
 * in the browser: each pane's kernel lives in its own worker.
 */

import { WORKLOAD_NAMES, WORKLOADS, type WorkloadName } from "@pcpu/kernel";
import { Pane } from "./pane.js";
import { FrameMonitor } from "./perf.js";
import { Player } from "./player.js";
import { workloadFrames } from "./run-frames.js";
import type { Action } from "./session.js";
import { Tooltip } from "./tooltip.js";
import "./style.css";

/** Configs of the two panes for each comparison. */
const PRESETS: Readonly<Record<string, readonly [Record<string, string>, Record<string, string>]>> = {
  "bitmap vs area-map": [{ allocator: "bitmap" }, { allocator: "area-map" }],
  "vm vs km": [
    { population: "vm", nodes: "0-7" },
    { population: "km", nodes: "0-7" },
  ],
  "x86_64 vs arm": [{ arch: "x86_64" }, { arch: "arm" }],
  "x86_64 vs i386": [{ arch: "x86_64" }, { arch: "i386" }],
  "embed vs page": [{ percpuAlloc: "embed" }, { percpuAlloc: "page" }],
};

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Record<string, unknown> = {},
  ...kids: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...kids);
  return e;
}

class App {
  readonly tooltip = new Tooltip(document);
  readonly monitor = new FrameMonitor();
  readonly player = new Player(document);
  readonly panes: Pane[] = [];
  readonly paneBox = h("main", { className: "panes" });
  readonly message = h("span", { className: "app-message" });
  readonly workload = h("select");
  readonly ops = h("input", { type: "text", placeholder: "default", size: 6 });
  readonly scale = h("input", { type: "text", placeholder: "1", size: 4 });
  readonly traceFile = h("input", { type: "file", accept: ".txt,.trace,text/plain" });
  readonly compare = h("input", { type: "checkbox" });
  readonly preset = h("select");

  constructor(root: HTMLElement) {
    this.workload.dataset.control = "workload";
    for (const n of WORKLOAD_NAMES) {
      this.workload.append(h("option", { value: n, textContent: n, title: WORKLOADS[n].description }));
    }
    this.ops.dataset.control = "ops";
    this.scale.dataset.control = "scale";
    this.traceFile.dataset.control = "trace-file";
    this.compare.dataset.control = "compare";
    this.preset.dataset.control = "preset";
    for (const name of Object.keys(PRESETS))
      this.preset.append(h("option", { value: name, textContent: name }));
    const runBtn = h("button", { type: "button", textContent: "Run workload" });
    runBtn.dataset.action = "run";
    runBtn.addEventListener("click", () => void this.runWorkload());
    const replayBtn = h("button", { type: "button", textContent: "Replay trace" });
    replayBtn.dataset.action = "replay";
    replayBtn.addEventListener("click", () => void this.replay());
    const applyBtn = h("button", { type: "button", textContent: "Apply and boot both" });
    applyBtn.dataset.action = "preset";
    applyBtn.addEventListener("click", () => void this.applyPreset());
    this.compare.addEventListener("change", () => this.setCompare(this.compare.checked));
    this.player.frameLabel = (i) => this.panes.map((p) => p.label(i)).join(" | ");

    const header = h(
      "header",
      { className: "app-head" },
      h("h1", { textContent: "percpu in the browser" }),
      h("span", {
        className: "subtitle",
        textContent: "Linux mm/percpu.c, modelled in TypeScript, booted in this page",
      }),
    );
    const controls = h(
      "div",
      { className: "controls" },
      h("label", {}, "workload ", this.workload),
      h("label", {}, "ops ", this.ops),
      h("label", {}, "scale ", this.scale),
      runBtn,
      h("span", { className: "sep" }),
      h("label", {}, "trace ", this.traceFile),
      replayBtn,
      h("span", { className: "sep" }),
      h("label", {}, this.compare, " side by side "),
      this.preset,
      applyBtn,
    );
    const footer = h("footer", { className: "app-foot" });
    footer.append(this.message);
    const perf = h("span", { className: "perf" });
    perf.dataset.role = "perf";
    footer.append(perf);
    setInterval(() => {
      const r = this.monitor.report();
      perf.textContent = `frames ${r.frames} · mean ${r.meanMs.toFixed(1)} ms · p99 ${r.p99Ms.toFixed(1)} ms · max ${r.maxMs.toFixed(1)} ms · long tasks ${r.longTasks}`;
    }, 500);
    root.append(
      header,
      controls,
      h("div", { className: "player-bar" }, this.player.el),
      this.paneBox,
      footer,
    );
    this.addPane("A");
    (window as unknown as { pcpuPerf: FrameMonitor }).pcpuPerf = this.monitor;
  }

  private addPane(name: string): Pane {
    const p = new Pane(document, name, this.tooltip);
    p.onFrames = () => this.player.update();
    p.onBoot = () => {
      this.player.load(this.panes, false);
      p.show(0);
    };
    this.panes.push(p);
    this.paneBox.append(p.el);
    this.paneBox.dataset.panes = String(this.panes.length);
    return p;
  }

  private setCompare(on: boolean): void {
    if (on && this.panes.length === 1) {
      const b = this.addPane("B");
      b.form.set(this.panes[0]!.form.config() as Record<string, string>);
    } else if (!on && this.panes.length === 2) {
      const b = this.panes.pop()!;
      b.client.reset();
      b.el.remove();
      this.paneBox.dataset.panes = "1";
    }
    this.player.load(this.panes, false);
  }

  private async applyPreset(): Promise<void> {
    if (!this.compare.checked) {
      this.compare.checked = true;
      this.setCompare(true);
    }
    const [a, b] = PRESETS[this.preset.value]!;
    this.panes[0]!.form.set(a);
    this.panes[1]!.form.set(b);
    await Promise.all(this.panes.map((p) => p.boot()));
    this.player.load(this.panes, false);
  }

  private say(text: string): void {
    this.message.textContent = text;
  }

  private async start(action: Action, expected: number): Promise<void> {
    const runs = this.panes.map((p) => p.run(action, expected));
    this.player.load(this.panes, true);
    const ok = await Promise.all(runs);
    this.player.update();
    this.say(ok.every(Boolean) ? "" : "a pane could not run: see its status");
  }

  private async runWorkload(): Promise<void> {
    const name = this.workload.value as WorkloadName;
    const opsText = this.ops.value.trim();
    const scaleText = this.scale.value.trim();
    const ops = opsText === "" ? undefined : Number(opsText);
    const scale = scaleText === "" ? undefined : Number(scaleText);
    if (ops !== undefined && !(Number.isSafeInteger(ops) && ops >= 0))
      return this.say(`ops must be a non-negative integer, got ${opsText}`);
    if (scale !== undefined && !(scale > 0 && scale <= 1024))
      return this.say(`scale must be in (0, 1024], got ${scaleText}`);
    this.say("");
    await this.start(
      { kind: "workload", name, ops, scale },
      workloadFrames(ops ?? WORKLOADS[name].defaultOps),
    );
  }

  private async replay(): Promise<void> {
    const file = this.traceFile.files?.[0];
    if (file === undefined)
      return this.say("choose a trace file first (ours, or /sys/kernel/tracing/trace of a real machine)");
    const text = await file.text();
    this.say("");
    await this.start({ kind: "replay", fileName: file.name, text }, 2);
  }
}

new App(document.getElementById("app")!);
