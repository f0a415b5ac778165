/*
 * percpu_counter (lib/percpu_counter.c): an s32 per CPU from alloc_percpu
 * plus a shared s64 count. percpu_counter_add_batch adds on the current
 * CPU with this_cpu operations and folds the local value into the shared
 * count once it reaches the batch (percpu_counter_batch = max(32,
 * 2 * nr_cpus)); percpu_counter_sum adds every possible CPU's s32 through
 * per_cpu_ptr to the shared count, which must equal what was added.
 *
 * One op is one add on a random CPU; every counter is summed and checked
 * periodically and at the end.
 */

import type { PcpuPtr } from "@pcpu/percpu";
import type { Kernel } from "../kernel.js";
import {
  type Workload,
  WorkloadCheckError,
  type WorkloadOptions,
  type WorkloadResult,
  workloadParams,
} from "./workload.js";

interface PercpuCounter {
  /** `fbc->count`. */
  count: number;
  /** `fbc->counters`: s32 per CPU. */
  readonly counters: PcpuPtr;
  /** What was added, for the check. */
  expected: number;
}

/** `percpu_counter_add_batch(fbc, amount, batch)` on the current CPU. */
function addBatch(k: Kernel, fbc: PercpuCounter, amount: number, batch: number): void {
  const t = k.thisCpu;
  const count = (t.read(fbc.counters, 4) | 0) + amount;
  if (Math.abs(count) >= batch) {
    /* under fbc->lock with irqs off */
    k.machine.ctx.localIrqSave();
    fbc.count += count;
    t.sub(fbc.counters, 4, count - amount);
    k.machine.ctx.localIrqRestore();
  } else {
    t.add(fbc.counters, 4, amount);
  }
}

/** `percpu_counter_sum(fbc)`: the shared count plus every possible CPU's s32. */
function counterSum(k: Kernel, fbc: PercpuCounter): number {
  let ret = fbc.count;
  for (const cpu of k.config.possibleCpus) ret += k.mem.read(k.percpu.perCpuPtr(fbc.counters, cpu), 4) | 0;
  return ret;
}

function check(k: Kernel, fbcs: readonly PercpuCounter[]): number {
  fbcs.forEach((fbc, i) => {
    const sum = counterSum(k, fbc);
    if (sum !== fbc.expected)
      throw new WorkloadCheckError(`counters: counter ${i} sums to ${sum}, expected ${fbc.expected}`);
  });
  return fbcs.length;
}

export const countersWorkload: Workload = {
  name: "counters",
  description:
    "percpu_counter: this_cpu_add on random CPUs with batch folding, sums over per_cpu_ptr checked",
  defaultOps: 20000,
  run(k: Kernel, o: WorkloadOptions): WorkloadResult {
    const { ops, scale, rng, tick } = workloadParams(k, this, o);
    const batch = Math.max(32, 2 * k.config.possibleCpus.length);
    const n = Math.max(1, Math.round(16 * scale));
    const fbcs: PercpuCounter[] = [];
    k.machine.ctx.setTask(1, "systemd");
    for (let i = 0; i < n; i++) {
      /* percpu_counter_init: alloc_percpu_gfp(s32, gfp) */
      const p = k.percpu.alloc(4, 4, "GFP_KERNEL", { callSite: "__percpu_counter_init_many+0x8e/0x360" });
      if (p === null) throw new WorkloadCheckError(`counters: percpu_counter_init ${i} failed (-ENOMEM)`);
      fbcs.push({ count: 0, counters: p, expected: 0 });
    }
    let checks = 0;
    let folds = 0;
    const checkEvery = Math.max(1, Math.floor(ops / 8));
    for (let op = 1; op <= ops; op++) {
      const fbc = fbcs[rng.int(0, n - 1)]!;
      const amount = rng.int(-8, 24);
      const before = fbc.count;
      k.onCpu(k.config.possibleCpus[rng.int(0, k.config.possibleCpus.length - 1)]!, () =>
        addBatch(k, fbc, amount, batch),
      );
      if (fbc.count !== before) folds++;
      fbc.expected += amount;
      if (op % checkEvery === 0) checks += check(k, fbcs);
      tick(op);
    }
    checks += check(k, fbcs);
    for (const fbc of fbcs) k.percpu.free(fbc.counters);
    k.runWork();
    return { workload: "counters", ops, checks, details: { counters: n, batch, folds } };
  },
};
