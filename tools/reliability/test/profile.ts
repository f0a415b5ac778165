/*
 * The test profile (PCPU_RELIABILITY=long for the long one) and the totals
 * report: each suite adds what its passing runs did, and when
 * PCPU_RELIABILITY_REPORT names a file the totals are written there as JSON
 * (the figures docs/reliability.md records).
 */

import { appendFileSync } from "node:fs";
import { type Profile, type PropertyTotals, profileFromEnv } from "../src/index.js";

export const PROFILE: Profile = profileFromEnv(process.env);

/** `quick` in CI, `long` for the recorded figures. */
export function byProfile<T>(quick: T, long: T): T {
  return PROFILE === "long" ? long : quick;
}

/** Prints a suite's totals and appends them (one JSON line) to $PCPU_RELIABILITY_REPORT. */
export function reportTotals(suite: string, t: PropertyTotals, extra: Record<string, number> = {}): void {
  const line = {
    suite,
    profile: PROFILE,
    runs: t.runs,
    configurations: t.configs.size,
    ...t.report,
    ...extra,
  };
  console.log(`[reliability] ${JSON.stringify(line)}`);
  const file = process.env.PCPU_RELIABILITY_REPORT;
  if (file) appendFileSync(file, `${JSON.stringify(line)}\n`);
}
