/*
 * How responsive the page is: the time between animation frames
 * (requestAnimationFrame deltas) and the long tasks the browser reports,
 * collected all the time, shown in the footer and readable by tests as
 * `window.pcpuPerf`.
 */

/** What was measured since the last reset. */
export interface PerfReport {
  readonly frames: number;
  readonly meanMs: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Frames that took 100 ms or more. */
  readonly over100: number;
  readonly longTasks: number;
  readonly longestTaskMs: number;
}

export class FrameMonitor {
  private deltas: number[] = [];
  private last = 0;
  private longTasks = 0;
  private longestTask = 0;

  constructor() {
    const loop = (t: number) => {
      if (this.last !== 0) this.deltas.push(t - this.last);
      this.last = t;
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
    try {
      const obs = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          this.longTasks++;
          this.longestTask = Math.max(this.longestTask, e.duration);
        }
      });
      obs.observe({ type: "longtask", buffered: false });
    } catch {
      /* no long task API: rAF deltas only */
    }
  }

  reset(): void {
    this.deltas = [];
    this.last = 0;
    this.longTasks = 0;
    this.longestTask = 0;
  }

  report(): PerfReport {
    const d = [...this.deltas].sort((a, b) => a - b);
    const n = d.length;
    const sum = d.reduce((a, b) => a + b, 0);
    return {
      frames: n,
      meanMs: n ? sum / n : 0,
      p99Ms: n ? d[Math.min(n - 1, Math.floor(n * 0.99))]! : 0,
      maxMs: n ? d[n - 1]! : 0,
      over100: d.filter((x) => x >= 100).length,
      longTasks: this.longTasks,
      longestTaskMs: this.longestTask,
    };
  }
}
