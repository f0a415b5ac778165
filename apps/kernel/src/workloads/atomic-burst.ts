/*
 * Bursts of atomic percpu allocations from softirq context (network
 * receive paths allocating per-CPU state with GFP_ATOMIC): pcpu_alloc may
 * then only use already populated pages and cannot create chunks; when it
 * runs short it queues the balance work, which kworker runs between bursts
 * to bring the empty populated pages back to PCPU_EMPTY_POP_PAGES_HIGH and
 * to create a spare chunk. Failures show how far a burst outruns that.
 *
 * One op is one burst (on a CPU chosen by the seed), followed by frees of
 * the oldest objects and a workqueue run.
 */

import type { PcpuPtr } from "@pcpu/percpu";
import type { Kernel } from "../kernel.js";
import { type Workload, type WorkloadOptions, type WorkloadResult, workloadParams } from "./workload.js";

const SIZES = [8, 16, 16, 24, 32, 48, 64, 96, 128, 192] as const;

export const atomicBurstWorkload: Workload = {
  name: "atomic-burst",
  description: "GFP_ATOMIC allocation bursts in softirq context, the balance work running between bursts",
  defaultOps: 150,
  run(k: Kernel, o: WorkloadOptions): WorkloadResult {
    const { ops, scale, rng, tick } = workloadParams(k, this, o);
    const ctx = k.machine.ctx;
    const live: PcpuPtr[] = [];
    const maxLive = Math.max(64, Math.round(3000 * scale));
    let attempts = 0;
    let atomicFailures = 0;
    let workRuns = 0;
    for (let op = 1; op <= ops; op++) {
      const cpu = k.config.possibleCpus[rng.int(0, k.config.possibleCpus.length - 1)]!;
      const n = rng.int(1, Math.max(1, Math.round(96 * scale)));
      ctx.runOnCpu(cpu, () => {
        ctx.setTask(0, `ksoftirqd/${cpu}`);
        ctx.enterAtomic("softirq");
        try {
          for (let i = 0; i < n; i++) {
            attempts++;
            const p = k.percpu.alloc(rng.pick(SIZES), 8, "GFP_ATOMIC", {
              callSite: "net_rx_action+0x14b/0x450",
            });
            if (p === null) atomicFailures++;
            else live.push(p);
          }
        } finally {
          ctx.exitAtomic();
        }
      });
      /* Objects die in allocation order; keep the working set bounded. */
      const drop = live.length > maxLive ? live.length - maxLive : rng.int(0, Math.floor(live.length / 2));
      for (const p of live.splice(0, drop)) k.percpu.free(p);
      ctx.setTask(12, "kworker/0:1");
      workRuns += k.runWork();
      tick(op);
    }
    for (const p of live) k.percpu.free(p);
    k.runWork();
    return { workload: "atomic-burst", ops, checks: 0, details: { attempts, atomicFailures, workRuns } };
  },
};
