/*
 * The system workqueue as the percpu balance work needs it: queue_work(),
 * work_pending(), and a deterministic runner. Mirrors kernel/workqueue.c
 * (queue_work_on's PENDING bit, the worker loop of process_one_work).
 *
 * Nothing runs on its own: work runs when `runPending()` is called, in
 * process context on the current CPU, as a kworker task. The PENDING bit is
 * cleared before an item runs, so an item may requeue itself.
 */

import type { WorkItem } from "./api.js";
import { KernelBug } from "./bug.js";
import type { ExecContext } from "./context.js";
import type { Printk } from "./printk.js";

/** PID of the kworker that runs work on CPU `cpu` (the model's choice). */
export function kworkerPid(cpu: number): number {
  return 1000 + cpu;
}

/**
 * A FIFO work queue (`system_wq`).
 */
export class Workqueue {
  private readonly queue: WorkItem[] = [];
  private head = 0;
  private readonly pending = new Set<WorkItem>();
  private running = false;

  constructor(
    private readonly ctx: ExecContext,
    private readonly log: Printk,
  ) {}

  /**
   * Queues `item` unless it is already pending.
   * @context any context.
   * @returns false if the item was already pending (it will run once).
   * @kernel kernel/workqueue.c queue_work_on
   */
  queueWork(item: WorkItem): boolean {
    if (this.pending.has(item)) return false;
    this.pending.add(item);
    this.queue.push(item);
    return true;
  }

  /** `work_pending()`. */
  isPending(item: WorkItem): boolean {
    return this.pending.has(item);
  }

  /** Number of items queued and not yet run. */
  pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Removes `item` from the queue if it is pending.
   * @returns whether it was pending.
   * @kernel kernel/workqueue.c cancel_work
   */
  cancelWork(item: WorkItem): boolean {
    if (!this.pending.delete(item)) return false;
    const i = this.queue.indexOf(item, this.head);
    if (i >= 0) this.queue.splice(i, 1);
    return true;
  }

  /**
   * Runs queued work in FIFO order until the queue is empty, including work
   * queued while running. Each item runs in process context as
   * `kworker/<cpu>:1`; an exception from an item propagates after the task
   * is restored (the remaining items stay queued).
   * @context process context (a BUG in atomic context); not re-entrant.
   * @returns how many items ran.
   * @kernel kernel/workqueue.c process_one_work
   */
  runPending(): number {
    if (this.ctx.inAtomic()) {
      const msg = "BUG: workqueue run from atomic context";
      this.log.prErr(msg);
      throw new KernelBug(msg);
    }
    if (this.running) {
      const msg = "BUG: workqueue runPending() called from a work item";
      this.log.prErr(msg);
      throw new KernelBug(msg);
    }
    const savedPid = this.ctx.pid;
    const savedComm = this.ctx.comm;
    const cpu = this.ctx.cpu;
    this.ctx.setTask(kworkerPid(cpu), `kworker/${cpu}:1`);
    this.running = true;
    let ran = 0;
    try {
      while (this.head < this.queue.length) {
        const item = this.queue[this.head++]!;
        this.pending.delete(item);
        ran++;
        item.fn();
        if (this.ctx.inAtomic()) {
          const msg = `BUG: workqueue leaked atomic, lock or RCU: ${this.ctx.comm}[${this.ctx.pid}]`;
          const pc = this.ctx.preemptCount().toString(16).padStart(8, "0");
          this.log.prErr(msg);
          this.log.prErr(`     preempt=0x${pc} lock=0->0 RCU=0->0 workfn=${item.name}`);
          throw new KernelBug(msg);
        }
      }
    } finally {
      this.queue.splice(0, this.head);
      this.head = 0;
      this.running = false;
      this.ctx.setTask(savedPid, savedComm);
    }
    return ran;
  }
}
