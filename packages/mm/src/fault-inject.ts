/*
 * Fault injection: make chosen allocations fail, deterministically. Mirrors
 * lib/fault-inject.c (should_fail_ex, fail_dump) and its users
 * fail_page_alloc (mm/fail_page_alloc.c) and failslab (mm/failslab.c); the
 * "vmalloc" and "memblock" sites are the model's own, so the percpu error
 * paths that depend on vm areas and boot memory can be driven too.
 *
 * A rule fails matching calls from its `nth` onwards (1-based), each with
 * `probability` (seeded, default certain), at most `times` times (default 1
 * with `nth`, unlimited with only `probability`). `caller` restricts a rule
 * to calls made with that caller tag.
 */

import type { FaultRule, FaultSite } from "./api.js";
import type { Printk } from "./printk.js";

const SITES: readonly FaultSite[] = ["page_alloc", "vmalloc", "memblock", "kmalloc"];
const SITE_INDEX: Record<FaultSite, number> = { page_alloc: 0, vmalloc: 1, memblock: 2, kmalloc: 3 };
/** The debugfs directory name the kernel prints in fail_dump. */
const SITE_ATTR_NAME = ["fail_page_alloc", "fail_vmalloc", "fail_memblock", "failslab"];

/** A rule with its running state. */
class ActiveRule {
  matched = 0;
  remaining: number;
  /** fault_attr `space` left; `count` of the interval test. */
  spaceLeft: number;
  count = 0;
  constructor(
    readonly rule: FaultRule,
    readonly site: number,
    readonly nth: number,
    readonly probability: number,
  ) {
    this.remaining = rule.times ?? (rule.nth !== undefined ? 1 : -1);
    this.spaceLeft = rule.space ?? 0;
  }
}

/**
 * The fault injector of one machine. Upper layers consult it for their own
 * metadata allocations through `shouldFail("kmalloc", caller)`.
 */
export class FaultInjector {
  /** Whether an injected failure is logged (`FAULT_INJECTION: forcing a failure.`); default true. */
  verbose = true;
  private readonly active: ActiveRule[] = [];
  private readonly nCalls = new Float64Array(4);
  private readonly nFailures = new Float64Array(4);
  private rng: number;

  constructor(
    seed: number,
    private readonly log: Printk,
  ) {
    this.rng = seed >>> 0 || 0x9e3779b9;
  }

  /**
   * Adds a rule. Throws RangeError for a rule that can never fire or is
   * malformed (unknown site, nth < 1, probability outside [0, 1], times < 1).
   */
  add(rule: FaultRule): void {
    const site = SITE_INDEX[rule.site];
    if (site === undefined) throw new RangeError(`fault rule: unknown site ${String(rule.site)}`);
    if (rule.nth === undefined && rule.probability === undefined)
      throw new RangeError("fault rule: needs nth or probability");
    if (rule.nth !== undefined && !(Number.isInteger(rule.nth) && rule.nth >= 1))
      throw new RangeError(`fault rule: nth must be an integer >= 1 (got ${rule.nth})`);
    if (rule.probability !== undefined && !(rule.probability >= 0 && rule.probability <= 1))
      throw new RangeError(`fault rule: probability must be in [0, 1] (got ${rule.probability})`);
    if (rule.times !== undefined && !(Number.isInteger(rule.times) && rule.times >= 1))
      throw new RangeError(`fault rule: times must be an integer >= 1 (got ${rule.times})`);
    if (rule.interval !== undefined && !(Number.isInteger(rule.interval) && rule.interval >= 1))
      throw new RangeError(`fault rule: interval must be an integer >= 1 (got ${rule.interval})`);
    if (rule.space !== undefined && !(Number.isSafeInteger(rule.space) && rule.space >= 0))
      throw new RangeError(`fault rule: space must be an integer >= 0 (got ${rule.space})`);
    this.active.push(new ActiveRule(rule, site, rule.nth ?? 1, rule.probability ?? 1));
  }

  /** Removes every rule (counters are kept). */
  clear(): void {
    this.active.length = 0;
  }

  /** The rules currently installed. */
  rules(): FaultRule[] {
    return this.active.map((a) => a.rule);
  }

  /**
   * Counts one allocation call at `site` and decides whether it fails.
   * Every matching rule counts the call; the first rule that fires wins.
   * @param size bytes the call asks for (the `space` test); default 0
   * @returns true if the caller must fail the allocation.
   * @kernel lib/fault-inject.c should_fail_ex
   */
  shouldFail(site: FaultSite, caller?: string, size = 0): boolean {
    const s = SITE_INDEX[site];
    this.nCalls[s]!++;
    let fire: ActiveRule | null = null;
    for (let i = 0; i < this.active.length; i++) {
      const a = this.active[i]!;
      if (a.site !== s || a.remaining === 0) continue;
      if (a.rule.caller !== undefined && a.rule.caller !== caller) continue;
      a.matched++;
      if (fire !== null || a.matched < a.nth) continue;
      /* should_fail_ex's order: space, then interval, then probability. */
      if (a.spaceLeft > size) {
        a.spaceLeft -= size;
        continue;
      }
      const interval = a.rule.interval ?? 1;
      if (interval > 1 && ++a.count % interval !== 0) continue;
      if (a.probability < 1 && this.random() >= a.probability) continue;
      if (a.remaining > 0) a.remaining--;
      fire = a;
    }
    if (fire === null) return false;
    this.nFailures[s]!++;
    if (this.verbose) {
      const p = Math.round(fire.probability * 100);
      this.log.prNotice("FAULT_INJECTION: forcing a failure.");
      this.log.prNotice(
        `name ${SITE_ATTR_NAME[s]}, interval ${fire.rule.interval ?? 1}, probability ${p}, space ${fire.spaceLeft}, times ${fire.remaining}`,
      );
    }
    return true;
  }

  /** Calls counted at `site` (every shouldFail call). */
  calls(site: FaultSite): number {
    return this.nCalls[SITE_INDEX[site]]!;
  }

  /** Failures injected at `site`. */
  failures(site: FaultSite): number {
    return this.nFailures[SITE_INDEX[site]]!;
  }

  /** The sites, in a fixed order. */
  static readonly sites = SITES;

  /** mulberry32: a small deterministic PRNG in [0, 1). */
  private random(): number {
    this.rng = (this.rng + 0x6d2b79f5) >>> 0;
    let t = this.rng;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
