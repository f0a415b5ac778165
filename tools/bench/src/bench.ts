/*
 * What a benchmark is for the runner (main.ts): a name, a one-line
 * description, and a run function returning text and JSON. Also the helpers
 * for the common shape of result: rows measuring our model against a
 * plain-JavaScript baseline in the same process, as ratios (ours / baseline
 * time; 1.00 = as fast as the baseline, higher = slower). Ratios, not
 * absolute times, are what the README records, so numbers from different
 * hosts stay comparable.
 */

/** What the runner passes to every benchmark. */
export interface BenchContext {
  /** --quick: small sizes and few repetitions (tests, CI, smoke runs). */
  readonly quick: boolean;
  /** --runs N, when given. */
  readonly runs: number | undefined;
  /** Progress lines (the runner sends them to stderr). */
  readonly progress: (line: string) => void;
}

/** One benchmark's output: the text the runner prints and the value --json emits. */
export interface BenchReport {
  readonly text: string;
  readonly json: unknown;
}

/** A registered benchmark (registry.ts lists them). */
export interface Benchmark {
  /** Name used on the command line (`pnpm bench <name>` or `--only <name>`). */
  readonly name: string;
  readonly description: string;
  run(ctx: BenchContext): BenchReport;
}

/** One measured operation. */
export interface BenchRow {
  /** What was measured, e.g. `memset 4 KiB page`. */
  readonly metric: string;
  /** Nanoseconds per operation through the model. */
  readonly oursNs: number;
  /** Nanoseconds per operation of the baseline. */
  readonly baselineNs: number;
  /** oursNs / baselineNs. */
  readonly ratio: number;
  /** What the baseline is, e.g. `Uint8Array.fill`. */
  readonly baseline: string;
}

/** A result made of ours-vs-baseline rows. */
export interface BenchResult {
  readonly name: string;
  readonly rows: readonly BenchRow[];
}

/** Nanoseconds per call of `fn(iters)`, median of `runs` timed runs after one warm-up. */
export function timeNsPerOp(fn: (iters: number) => void, iters: number, runs: number): number {
  fn(iters);
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn(iters);
    samples.push(((performance.now() - t0) * 1e6) / iters);
  }
  samples.sort((a, b) => a - b);
  return Math.max(samples[samples.length >> 1]!, 1e-3);
}

/**
 * Nanoseconds per operation of `ours(iters)` and `baseline(iters)`: one
 * warm-up each, then `runs` alternating timed runs, median of each. Runs
 * alternate so load from other processes hits both sides alike.
 */
export function compareNsPerOp(
  ours: (iters: number) => void,
  baseline: (iters: number) => void,
  iters: number,
  runs: number,
): [number, number] {
  ours(iters);
  baseline(iters);
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < runs; r++) {
    let t0 = performance.now();
    ours(iters);
    a.push(((performance.now() - t0) * 1e6) / iters);
    t0 = performance.now();
    baseline(iters);
    b.push(((performance.now() - t0) * 1e6) / iters);
  }
  const med = (x: number[]) => Math.max(x.sort((p, q) => p - q)[x.length >> 1]!, 1e-3);
  return [med(a), med(b)];
}

/** Builds a row from the two timings. */
export function row(metric: string, oursNs: number, baselineNs: number, baseline: string): BenchRow {
  return { metric, oursNs, baselineNs, ratio: oursNs / baselineNs, baseline };
}

/** Builds a row from a compareNsPerOp result. */
export function rowOf(metric: string, [oursNs, baselineNs]: [number, number], baseline: string): BenchRow {
  return row(metric, oursNs, baselineNs, baseline);
}

/** A row-based result as the runner prints it: one line per row, and the result itself as JSON. */
export function reportOf(r: BenchResult): { text: string; json: BenchResult } {
  const lines = [`${r.name}: ours / baseline time (ratio 1.00 = as fast as the baseline)`];
  for (const x of r.rows) {
    lines.push(
      `  ${x.metric.padEnd(26)} ours ${x.oursNs.toFixed(1).padStart(9)} ns/op   ${x.baseline.padEnd(20)}${x.baselineNs
        .toFixed(1)
        .padStart(9)} ns/op   ratio ${x.ratio.toFixed(2)}`,
    );
  }
  return { text: lines.join("\n"), json: r };
}
