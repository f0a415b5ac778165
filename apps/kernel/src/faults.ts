/*
 * Fault injection as a kernel engineer configures it through debugfs
 * (/sys/kernel/debug/fail_page_alloc/, failslab/ and the model's own
 * fail_vmalloc/): `probability` in percent, `interval`, `times` (-1 for no
 * limit; the kernel's default is 1) and `space` (bytes that pass first),
 * written as `probability=10,interval=1,times=-1,space=0`. Turned into
 * rules of the machine's FaultInjector (@pcpu/mm).
 *
 * The model's fail_page_alloc acts as with ignore-gfp-wait=N,
 * ignore-gfp-highmem=N and min-order=0: every page allocation is a
 * candidate (the debugfs defaults would exempt the order-0 GFP_KERNEL
 * pages percpu-vm asks for).
 */

import type { FaultRule, FaultSite } from "@pcpu/mm";
import type { Kernel } from "./kernel.js";

/** The debugfs directory of each site the CLI exposes. */
export const FAULT_ATTRS: Readonly<Record<string, FaultSite>> = {
  fail_page_alloc: "page_alloc",
  fail_vmalloc: "vmalloc",
  failslab: "kmalloc",
};

/** A fault attribute spec the kernel's debugfs would refuse. */
export class FaultSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FaultSpecError";
  }
}

/**
 * Parses `probability=10,interval=1,times=-1,space=0` for the site `attr`
 * (`fail_page_alloc`, `fail_vmalloc`, `failslab`).
 * @throws FaultSpecError naming the bad key
 */
export function parseFaultSpec(attr: string, spec: string): FaultRule {
  const site = FAULT_ATTRS[attr];
  if (site === undefined) throw new FaultSpecError(`unknown fault attribute ${attr}`);
  const v: Record<string, number> = {};
  for (const part of spec.split(",")) {
    const m = /^\s*([a-z-]+)\s*=\s*(-?\d+)\s*$/.exec(part);
    if (!m)
      throw new FaultSpecError(
        `${attr}: ${JSON.stringify(part)} is not key=integer (probability, interval, times, space)`,
      );
    const key = m[1]!;
    if (!["probability", "interval", "times", "space"].includes(key))
      throw new FaultSpecError(`${attr}: unknown attribute ${key} (probability, interval, times, space)`);
    if (key in v) throw new FaultSpecError(`${attr}: ${key} given twice`);
    v[key] = Number(m[2]);
  }
  const p = v.probability;
  if (p === undefined)
    throw new FaultSpecError(
      `${attr}: probability is needed (percent, 0-100; the kernel's default 0 never fails)`,
    );
  if (p < 0 || p > 100) throw new FaultSpecError(`${attr}: probability ${p} is not a percentage (0-100)`);
  const interval = v.interval ?? 1;
  if (interval < 1) throw new FaultSpecError(`${attr}: interval ${interval} must be at least 1`);
  const times = v.times ?? 1;
  if (times === 0 || times < -1)
    throw new FaultSpecError(`${attr}: times ${times} must be -1 (no limit) or at least 1`);
  const space = v.space ?? 0;
  if (space < 0) throw new FaultSpecError(`${attr}: space ${space} must be positive`);
  return {
    site,
    probability: p / 100,
    ...(interval === 1 ? {} : { interval }),
    ...(times === -1 ? {} : { times }),
    ...(space === 0 ? {} : { space }),
  };
}

/** Injected failures and calls per debugfs attribute. */
export type FaultCounts = Record<string, { calls: number; failures: number }>;

/** Installs rules on a booted kernel; returns a function giving the counts since then. */
export function injectFaults(k: Kernel, rules: readonly FaultRule[]): () => FaultCounts {
  const f = k.machine.faults;
  const before = new Map<FaultSite, [number, number]>();
  for (const site of Object.values(FAULT_ATTRS)) before.set(site, [f.calls(site), f.failures(site)]);
  for (const r of rules) f.add(r);
  return () => {
    const out: FaultCounts = {};
    for (const [attr, site] of Object.entries(FAULT_ATTRS)) {
      if (!rules.some((r) => r.site === site)) continue;
      const [c, x] = before.get(site)!;
      out[attr] = { calls: f.calls(site) - c, failures: f.failures(site) - x };
    }
    return out;
  };
}
