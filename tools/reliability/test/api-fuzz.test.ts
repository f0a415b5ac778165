/*
 * The library API under adversarial input (issue 18), property-based: 2..3
 * kernels of the matrix alive at once, driven only through bootKernel's
 * Kernel object with a random mix of valid and invalid calls, every check
 * of src/api-fuzz.ts after every step. A failure is shrunk and printed as a
 * replayable trace (runApiTrace(JSON.parse(...))).
 *
 * Quick profile (pnpm test): a fixed number of runs from a fixed seed.
 * Long profile (PCPU_RELIABILITY=long): runs for PCPU_RELIABILITY_MINUTES.
 */

import { appendFileSync } from "node:fs";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { ApiViolation, addApiReport, apiTraceArb, emptyApiReport, runApiTrace } from "../src/index.js";
import { byProfile, PROFILE } from "./profile.js";

const SEED = Number(process.env.PCPU_RELIABILITY_SEED ?? 0x5eed) + 18;
const MINUTES = Number(process.env.PCPU_RELIABILITY_MINUTES ?? 6);

describe(`library API under adversarial input (${PROFILE} profile)`, () => {
  const totals = { runs: 0, kernels: 0, configs: new Set<string>(), report: emptyApiReport() };
  afterAll(() => {
    const line = {
      suite: "api-fuzz",
      profile: PROFILE,
      runs: totals.runs,
      kernels: totals.kernels,
      configurations: totals.configs.size,
      ...totals.report,
    };
    console.log(`[reliability] ${JSON.stringify(line)}`);
    const file = process.env.PCPU_RELIABILITY_REPORT;
    if (file) appendFileSync(file, `${JSON.stringify(line)}\n`);
  });

  it(
    "refuses every ill-typed argument with KernelApiError and nothing else, keeps every byte, never hangs, never leaks",
    () => {
      let shrinking = false;
      const details = fc.check(
        fc.property(apiTraceArb({ maxOps: byProfile(250, 400) }), (t) => {
          try {
            const r = runApiTrace(t);
            if (!shrinking) {
              totals.runs++;
              totals.kernels += t.kernels.length;
              for (const c of t.kernels) totals.configs.add(JSON.stringify(c));
              addApiReport(totals.report, r);
              if (PROFILE === "long" && totals.runs % 50 === 0)
                console.error(`[reliability] api-fuzz: ${totals.runs} runs`);
            }
          } catch (e) {
            if (!shrinking && PROFILE === "long")
              console.error(`[reliability] api-fuzz FAILURE: ${(e as Error).message}`);
            shrinking = true;
            throw e;
          }
        }),
        PROFILE === "quick"
          ? { numRuns: 300, seed: SEED }
          : {
              numRuns: 10_000_000,
              seed: SEED,
              interruptAfterTimeLimit: MINUTES * 60_000,
              markInterruptAsFailure: false,
            },
      );
      if (details.failed) {
        const e = details.errorInstance;
        const msg = e instanceof ApiViolation ? e.message : String(e);
        throw new Error(
          `fast-check seed ${details.seed}, path ${details.counterexamplePath}, ${details.numShrinks} shrinks\n${msg}`,
        );
      }
      expect(totals.runs).toBeGreaterThanOrEqual(byProfile(300, 1));
      /* The mix really exercised both sides of the boundary. */
      expect(totals.report.refused).toBeGreaterThan(0);
      expect(totals.report.kernelNull).toBeGreaterThan(0);
      expect(totals.report.allocs).toBeGreaterThan(0);
    },
    byProfile(120_000, (MINUTES + 10) * 60_000),
  );
});
