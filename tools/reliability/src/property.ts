/*
 * Running a property over the matrix: fast-check generates traces, each is
 * replayed with every check, and a failure is shrunk to the smallest trace
 * that still fails and reported as that trace's JSON (plus fast-check's seed
 * and path, which regenerate it). Two profiles: `quick` for CI (the whole
 * suite in about two minutes on two cores) and `long`
 * (PCPU_RELIABILITY=long), the figures the README records.
 */

import fc from "fast-check";
import type { ReliabilityTrace, RunReport } from "./api.js";
import { configName } from "./boot.js";
import { addReport, emptyReport, formatTrace, ReliabilityViolation, replay } from "./run.js";

/** The profile chosen by PCPU_RELIABILITY (`long`, anything else: `quick`). */
export type Profile = "quick" | "long";

export function profileFromEnv(env: Readonly<Record<string, string | undefined>>): Profile {
  return env.PCPU_RELIABILITY === "long" ? "long" : "quick";
}

/** Totals of a property run, for the README. */
export interface PropertyTotals {
  runs: number;
  readonly configs: Set<string>;
  readonly report: RunReport;
}

export function emptyTotals(): PropertyTotals {
  return { runs: 0, configs: new Set(), report: emptyReport() };
}

/** How many runs, which seed, and what to report while running. */
export interface CheckOptions {
  readonly numRuns: number;
  readonly seed?: number;
  readonly path?: string;
  readonly endOnFailure?: boolean;
  /**
   * Stop generating new runs after this many milliseconds (the runs done
   * count; a failure found is still shrunk within the limit and reported).
   */
  readonly timeLimitMs?: number;
  /** Called every 50 passing runs. */
  readonly onProgress?: (runs: number) => void;
  /** Called with the first failing trace, before shrinking starts. */
  readonly onFirstFailure?: (trace: ReliabilityTrace, error: unknown) => void;
}

/** A failure after shrinking. */
export interface PropertyFailure {
  /** The smallest failing trace. */
  readonly trace: ReliabilityTrace | null;
  /** The violation (or other error) it fails with. */
  readonly message: string;
  readonly seed: number;
  readonly path: string | undefined;
  readonly numShrinks: number;
}

/**
 * Checks that every generated trace replays cleanly; adds what passing runs
 * did to `totals` (counted on the first pass only, not while shrinking).
 * @returns null, or the shrunk failure
 */
export function checkReliable(
  arb: fc.Arbitrary<ReliabilityTrace>,
  o: CheckOptions,
  totals: PropertyTotals = emptyTotals(),
): PropertyFailure | null {
  let shrinking = false;
  const details = fc.check(
    fc.property(arb, (t) => {
      try {
        const r = replay(t);
        if (!shrinking) {
          totals.runs++;
          totals.configs.add(configName(t.config));
          addReport(totals.report, r);
          if (o.onProgress !== undefined && totals.runs % 50 === 0) o.onProgress(totals.runs);
        }
      } catch (e) {
        /* The first failure, before shrinking (which may take long on a big trace). */
        if (!shrinking && o.onFirstFailure !== undefined) o.onFirstFailure(t, e);
        shrinking = true;
        throw e;
      }
    }),
    {
      numRuns: o.numRuns,
      seed: o.seed,
      path: o.path,
      endOnFailure: o.endOnFailure,
      ...(o.timeLimitMs !== undefined
        ? { interruptAfterTimeLimit: o.timeLimitMs, markInterruptAsFailure: false }
        : {}),
    },
  );
  if (!details.failed) return null;
  totals.report.violations++;
  const trace = details.counterexample?.[0] ?? null;
  const err = details.errorInstance;
  const message =
    err instanceof ReliabilityViolation
      ? err.message
      : err instanceof Error
        ? `${err.name}: ${err.message}`
        : String(err);
  return {
    trace,
    message,
    seed: details.seed,
    path: details.counterexamplePath ?? undefined,
    numShrinks: details.numShrinks,
  };
}

/** The failure as the text a test prints: the violation, then the replayable trace. */
export function formatFailure(f: PropertyFailure): string {
  const head = `fast-check seed ${f.seed}, path ${f.path ?? "-"}, ${f.numShrinks} shrinks`;
  const trace = f.trace === null ? "(no counterexample)" : formatTrace(f.trace);
  return `${head}\n${f.message.split("\nreplay this trace")[0]}\nminimal failing trace (replay(parseTrace(...))):\n${trace}`;
}

/**
 * Like checkReliable, throwing an Error whose message is the shrunk,
 * replayable trace.
 */
export function assertReliable(
  arb: fc.Arbitrary<ReliabilityTrace>,
  o: CheckOptions,
  totals?: PropertyTotals,
): void {
  const f = checkReliable(arb, o, totals);
  if (f !== null) throw new Error(formatFailure(f));
}
