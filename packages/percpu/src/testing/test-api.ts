/*
 * The test framework the suites run under, passed in by the caller: the
 * suites import no test runner, so the published package peers none.
 * vitest's and jest's `describe`, `it` and `expect` fit these shapes:
 *
 *   import { describe, expect, it } from "vitest";
 *   describePercpuConformance(target, { describe, it, expect });
 */

/** The assertions the suites make. */
export interface SuiteMatchers {
  toBe(expected: unknown): void;
  toBeNull(): void;
  toBeGreaterThan(n: number): void;
  toBeGreaterThanOrEqual(n: number): void;
  toBeLessThanOrEqual(n: number): void;
  readonly not: SuiteMatchers;
}

/** `describe`, `it` and `expect` of the caller's test runner. */
export interface SuiteTestApi {
  describe(name: string, fn: () => void): unknown;
  it(name: string, fn: () => void): unknown;
  expect(actual: unknown, message?: string): SuiteMatchers;
}
