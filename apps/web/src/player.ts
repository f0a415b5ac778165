/*
 * Play / pause / step over the frames of a run, for one pane or two side by
 * side in lockstep. The kernels run ahead in their workers; the player
 * walks the frames they sent at the chosen speed, and never past a frame
 * that some pane does not have yet.
 */

/** What the player drives: a pane with its frames. */
export interface PlayerTrack {
  /** Frames received so far. */
  available(): number;
  /** Whether no more frames will come. */
  finished(): boolean;
  /** Shows frame `index` (clamped to what the track has). */
  show(index: number): void;
  /** Whether the track's run failed (it then holds back no other track). */
  failed(): boolean;
}

export type PlayerState = "idle" | "playing" | "paused" | "ended";

const SPEEDS = [10, 30, 60, 120, 600] as const;

export class Player {
  readonly el: HTMLElement;
  private tracks: PlayerTrack[] = [];
  pos = 0;
  private state: PlayerState = "idle";
  private fps = 60;
  private acc = 0;
  private last = 0;
  private readonly slider: HTMLInputElement;
  private readonly label: HTMLElement;
  private readonly playBtn: HTMLButtonElement;
  private readonly pauseBtn: HTMLButtonElement;
  private readonly stepBtn: HTMLButtonElement;
  private readonly backBtn: HTMLButtonElement;
  private readonly rewindBtn: HTMLButtonElement;
  /** A label for the frame shown, e.g. "op 12/300". */
  frameLabel: (index: number) => string = () => "";

  constructor(doc: Document) {
    this.el = doc.createElement("div");
    this.el.className = "player";
    const button = (text: string, action: string, title: string) => {
      const b = doc.createElement("button");
      b.type = "button";
      b.textContent = text;
      b.dataset.action = action;
      b.title = title;
      this.el.append(b);
      return b;
    };
    this.rewindBtn = button("« start", "rewind", "back to the boot frame");
    this.backBtn = button("◂", "back", "one frame back");
    this.playBtn = button("▶ play", "play", "play the frames");
    this.pauseBtn = button("pause", "pause", "pause");
    this.stepBtn = button("step ▸", "step", "one frame forward");
    const speed = doc.createElement("select");
    speed.title = "frames per second";
    speed.dataset.control = "speed";
    for (const s of SPEEDS) {
      const o = doc.createElement("option");
      o.value = String(s);
      o.textContent = `${s} fps`;
      o.selected = s === this.fps;
      speed.append(o);
    }
    speed.addEventListener("change", () => {
      this.fps = Number(speed.value);
    });
    this.slider = doc.createElement("input");
    this.slider.type = "range";
    this.slider.min = "0";
    this.slider.max = "0";
    this.slider.value = "0";
    this.slider.dataset.control = "position";
    this.slider.addEventListener("input", () => {
      const to = Number(this.slider.value);
      this.pause();
      this.seek(to);
    });
    this.label = doc.createElement("span");
    this.label.className = "player-label";
    this.el.append(speed, this.slider, this.label);
    this.playBtn.addEventListener("click", () => this.play());
    this.pauseBtn.addEventListener("click", () => this.pause());
    this.stepBtn.addEventListener("click", () => {
      this.pause();
      this.seek(this.pos + 1);
    });
    this.backBtn.addEventListener("click", () => {
      this.pause();
      this.seek(this.pos - 1);
    });
    this.rewindBtn.addEventListener("click", () => {
      this.pause();
      this.seek(0);
    });
    const loop = (t: number) => {
      this.tick(t);
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
    this.paint();
  }

  /** Frames every track has. */
  private available(): number {
    const live = this.tracks.filter((t) => !t.failed());
    if (live.length === 0) return 0;
    return Math.min(...live.map((t) => t.available()));
  }

  private allFinished(): boolean {
    return this.tracks.length > 0 && this.tracks.every((t) => t.finished() || t.failed());
  }

  /** Drives `tracks` from frame 0; plays when `autoplay`. */
  load(tracks: PlayerTrack[], autoplay: boolean): void {
    this.tracks = tracks;
    this.pos = 0;
    this.acc = 0;
    this.state = autoplay ? "playing" : "paused";
    for (const t of tracks) t.show(0);
    this.paint();
  }

  /** New frames arrived: extends the slider. */
  update(): void {
    this.paint();
  }

  play(): void {
    if (this.tracks.length === 0) return;
    if (this.allFinished() && this.pos >= this.available() - 1) this.seek(0);
    this.state = "playing";
    this.acc = 0;
    this.paint();
  }

  pause(): void {
    if (this.state === "playing" || this.state === "ended") this.state = "paused";
    this.paint();
  }

  /** Shows frame `i` (clamped to the frames every track has). */
  seek(i: number): void {
    const max = this.available() - 1;
    const to = Math.max(0, Math.min(i, max));
    if (max < 0) return;
    this.pos = to;
    for (const t of this.tracks) t.show(to);
    if (this.state !== "playing") this.state = this.allFinished() && to === max ? "ended" : "paused";
    this.paint();
  }

  private tick(t: number): void {
    const dt = this.last === 0 ? 16 : Math.min(100, t - this.last);
    this.last = t;
    if (this.state !== "playing") return;
    this.acc += (dt * this.fps) / 1000;
    const n = Math.floor(this.acc);
    if (n <= 0) return;
    this.acc -= n;
    const max = this.available() - 1;
    const to = Math.min(this.pos + n, max);
    if (to !== this.pos) {
      this.pos = to;
      for (const tr of this.tracks) tr.show(to);
    }
    if (to === max && this.allFinished()) this.state = "ended";
    this.paint();
  }

  private paint(): void {
    const avail = this.available();
    const d = this.el.dataset;
    d.state = this.tracks.length === 0 ? "idle" : this.state;
    d.pos = String(this.pos);
    d.available = String(avail);
    d.finished = String(this.allFinished());
    this.slider.max = String(Math.max(0, avail - 1));
    this.slider.value = String(this.pos);
    const none = this.tracks.length === 0;
    this.playBtn.disabled = none || this.state === "playing";
    this.pauseBtn.disabled = none || this.state !== "playing";
    this.stepBtn.disabled = none || this.pos >= avail - 1;
    this.backBtn.disabled = none || this.pos <= 0;
    this.rewindBtn.disabled = none || this.pos <= 0;
    this.label.textContent = none
      ? "no run"
      : `frame ${this.pos} / ${Math.max(0, avail - 1)}${this.allFinished() ? "" : "+"} · ${this.frameLabel(this.pos)}`;
  }
}
