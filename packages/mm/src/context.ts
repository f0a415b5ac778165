/*
 * Execution context: which CPU the code runs on, which task, and whether it
 * may sleep. Mirrors the preempt count of include/linux/preempt.h, the
 * might_sleep() check of kernel/sched/core.c (__might_resched), and the
 * sleeping/spinning lock rules of kernel/locking (mutex, spinlock debug).
 *
 * The model runs one thread; kernel locking becomes rules that are checked.
 * Entering atomic context raises the preempt count the way the kernel does
 * (spinlock/preempt: +1, softirq: +SOFTIRQ_OFFSET, hardirq: +HARDIRQ_OFFSET
 * and interrupts off); a sleeping call while it is raised is a logged BUG
 * and a thrown SleepInAtomicError.
 */

import type { AtomicReason } from "./api.js";
import { KernelBug } from "./bug.js";
import type { Printk } from "./printk.js";

/** `PREEMPT_OFFSET`, `SOFTIRQ_OFFSET`, `HARDIRQ_OFFSET` (include/linux/preempt.h). */
export const PREEMPT_OFFSET = 0x1;
export const SOFTIRQ_OFFSET = 0x100;
export const HARDIRQ_OFFSET = 0x10000;

/** Where the allocators' and the mutex's might_sleep() report from (6.x source locations). */
export const MIGHT_ALLOC_WHERE = "include/linux/sched/mm.h:321";
export const MUTEX_LOCK_WHERE = "kernel/locking/mutex.c:283";

const REASON_CODE: Record<AtomicReason, number> = { spinlock: 0, irq: 1, softirq: 2, preempt: 3 };
const REASON_NAME: readonly AtomicReason[] = ["spinlock", "irq", "softirq", "preempt"];
const REASON_OFFSET = [PREEMPT_OFFSET, HARDIRQ_OFFSET, SOFTIRQ_OFFSET, PREEMPT_OFFSET];
const MAX_ATOMIC_DEPTH = 64;

/** A sleeping function was called from atomic context (the kernel's "BUG: sleeping function called from invalid context"). */
export class SleepInAtomicError extends KernelBug {
  constructor(
    message: string,
    readonly where: string,
  ) {
    super(message);
    this.name = "SleepInAtomicError";
  }
}

/**
 * The execution context of one machine: current CPU and task, the preempt
 * count and the interrupt-disable depth.
 */
export class ExecContext {
  private curCpu = 0;
  /** PID of the current task (`current->pid`); boot runs as PID 0. */
  pid = 0;
  /** Name of the current task (`current->comm`). */
  comm = "swapper/0";
  private readonly stack = new Uint8Array(MAX_ATOMIC_DEPTH);
  private depth = 0;
  private preempt = 0;
  private irqOff = 0;

  constructor(
    readonly nrCpus: number,
    private readonly log: Printk,
    /** `cpu_possible_mask`; null: every CPU below nrCpus. */
    private readonly possibleMask: Uint32Array | null = null,
  ) {}

  /** The current CPU (`smp_processor_id()`). */
  get cpu(): number {
    return this.curCpu;
  }

  /**
   * Moves the current task to `cpu`. A task cannot migrate while preemption
   * is disabled, so this is a BUG in atomic context.
   */
  setCpu(cpu: number): void {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.nrCpus)
      throw new RangeError(`setCpu: cpu ${cpu} is not a possible CPU (nr_cpu_ids ${this.nrCpus})`);
    if (this.possibleMask !== null && ((this.possibleMask[cpu >>> 5]! >>> (cpu & 31)) & 1) === 0)
      throw new RangeError(`setCpu: cpu ${cpu} is not a possible CPU (a hole in cpu_possible_mask)`);
    if (cpu === this.curCpu) return;
    if (this.depth > 0 || this.irqOff > 0) {
      const msg = `BUG: migrating ${this.comm}/${this.pid} from CPU#${this.curCpu} to CPU#${cpu} in atomic context`;
      this.log.prErr(msg);
      throw new KernelBug(msg);
    }
    this.curCpu = cpu;
  }

  /** Sets the current task's PID and name. */
  setTask(pid: number, comm: string): void {
    this.pid = pid;
    this.comm = comm;
  }

  /**
   * Raises the preempt count for `reason` (spin_lock, preempt_disable,
   * local_bh_disable / softirq entry, hardirq entry; hardirq also disables
   * interrupts).
   * @kernel include/linux/preempt.h preempt_count_add
   */
  enterAtomic(reason: AtomicReason): void {
    // spin_lock is by far the most frequent entry: no table lookup for it
    const code = reason === "spinlock" ? 0 : REASON_CODE[reason];
    if (code === undefined) throw new RangeError(`enterAtomic: unknown reason ${String(reason)}`);
    if (this.depth === MAX_ATOMIC_DEPTH) {
      const msg = `BUG: preempt count overflow on CPU#${this.curCpu} (${MAX_ATOMIC_DEPTH} nested atomic sections)`;
      this.log.prErr(msg);
      throw new KernelBug(msg);
    }
    this.stack[this.depth++] = code;
    this.preempt += REASON_OFFSET[code]!;
    if (code === 1) this.irqOff++;
  }

  /**
   * Leaves the innermost atomic section. Leaving when none is open is the
   * preempt count underflow the kernel warns about; here it is a BUG.
   * @kernel include/linux/preempt.h preempt_count_sub
   */
  exitAtomic(): void {
    if (this.depth === 0) {
      const msg = `BUG: preempt count underflow on CPU#${this.curCpu}: exitAtomic() outside atomic context`;
      this.log.prErr(msg);
      throw new KernelBug(msg);
    }
    const code = this.stack[--this.depth]!;
    this.preempt -= REASON_OFFSET[code]!;
    if (code === 1) this.irqOff--;
  }

  /** The reason of the innermost atomic section, or null in process context. */
  atomicReason(): AtomicReason | null {
    return this.depth === 0 ? null : REASON_NAME[this.stack[this.depth - 1]!]!;
  }

  /** `in_atomic()`: preempt count non-zero, or interrupts disabled. */
  inAtomic(): boolean {
    return this.preempt !== 0 || this.irqOff !== 0;
  }

  /** `preempt_count()`. */
  preemptCount(): number {
    return this.preempt;
  }

  /** `irqs_disabled()`. */
  irqsDisabled(): boolean {
    return this.irqOff !== 0;
  }

  /** `in_interrupt()`: in hardirq or softirq context. */
  inInterrupt(): boolean {
    return (this.preempt & ((HARDIRQ_OFFSET * 0xf) | (SOFTIRQ_OFFSET * 0xff))) !== 0;
  }

  /** `local_irq_save()`: disable interrupts (nests). */
  localIrqSave(): void {
    this.irqOff++;
  }

  /** `local_irq_restore()`: undo one `localIrqSave`. */
  localIrqRestore(): void {
    if (this.irqOff === 0) {
      const msg = `BUG: local_irq_restore() with interrupts enabled on CPU#${this.curCpu}`;
      this.log.prErr(msg);
      throw new KernelBug(msg);
    }
    this.irqOff--;
  }

  /**
   * Runs `fn` inside an atomic section for `reason`; the section is left
   * even if `fn` throws.
   */
  runAtomic<T>(reason: AtomicReason, fn: () => T): T {
    this.enterAtomic(reason);
    try {
      return fn();
    } finally {
      this.exitAtomic();
    }
  }

  /** Runs `fn` on `cpu` (process context required), then returns to the previous CPU. */
  runOnCpu<T>(cpu: number, fn: () => T): T {
    const saved = this.curCpu;
    this.setCpu(cpu);
    try {
      return fn();
    } finally {
      this.curCpu = saved;
    }
  }

  /**
   * `might_sleep()`: in atomic context logs the kernel's report and throws
   * SleepInAtomicError; otherwise does nothing.
   * @param where the source location the report names (e.g. `kernel/locking/mutex.c:283`)
   * @kernel kernel/sched/core.c __might_resched
   */
  mightSleep(where: string): void {
    if (this.preempt === 0 && this.irqOff === 0) return;
    const first = `BUG: sleeping function called from invalid context at ${where}`;
    const inAtomic = this.preempt !== 0 ? 1 : 0;
    this.log.prErr(first);
    this.log.prErr(
      `in_atomic(): ${inAtomic}, irqs_disabled(): ${this.irqOff !== 0 ? 1 : 0}, non_block: 0, pid: ${this.pid}, name: ${this.comm}`,
    );
    this.log.prErr(`preempt_count: ${this.preempt.toString(16)}, expected: 0`);
    this.log.prErr("RCU nest depth: 0, expected: 0");
    throw new SleepInAtomicError(first, where);
  }
}

/**
 * A kernel mutex: may sleep, so taking it in atomic context is a BUG.
 * There is one thread, so taking a held mutex can never succeed: it is
 * reported the way lockdep reports recursive locking and thrown.
 * @kernel kernel/locking/mutex.c mutex_lock
 */
export class Mutex {
  private locked = false;
  private ownerPid = -1;

  constructor(
    readonly name: string,
    private readonly ctx: ExecContext,
    private readonly log: Printk,
  ) {}

  /** `mutex_lock()`. @context process context; may sleep. */
  lock(): void {
    this.ctx.mightSleep(MUTEX_LOCK_WHERE);
    if (this.locked) {
      const msg = "WARNING: possible recursive locking detected";
      this.log.prWarn(msg);
      this.log.prWarn(`${this.ctx.comm}/${this.ctx.pid} is trying to acquire lock:`);
      this.log.prWarn(`(${this.name}) but task is already holding lock`);
      throw new KernelBug(`${msg}: ${this.name}`);
    }
    this.locked = true;
    this.ownerPid = this.ctx.pid;
  }

  /** `mutex_unlock()`; unlocking a mutex that is not held is a BUG. */
  unlock(): void {
    if (!this.locked) {
      const msg = `BUG: unlocking mutex ${this.name} that is not locked`;
      this.log.prErr(msg);
      throw new KernelBug(msg);
    }
    this.locked = false;
    this.ownerPid = -1;
  }

  /** `mutex_is_locked()`. */
  isLocked(): boolean {
    return this.locked;
  }

  /** PID of the holder, or -1. */
  owner(): number {
    return this.ownerPid;
  }
}

/**
 * A kernel spinlock: holding it is atomic context ("spinlock"). Recursion
 * and unlocking an unlocked lock are reported the way CONFIG_DEBUG_SPINLOCK
 * does and thrown.
 * @kernel kernel/locking/spinlock_debug.c do_raw_spin_lock
 */
export class SpinLock {
  private locked = false;
  private ownerCpu = -1;
  private irqsave = false;

  constructor(
    readonly name: string,
    private readonly ctx: ExecContext,
    private readonly log: Printk,
  ) {}

  private bug(msg: string): never {
    const owner = this.locked ? `${this.ctx.comm}/${this.ctx.pid}` : "<none>";
    const line = `BUG: spinlock ${msg} on CPU#${this.ctx.cpu}, ${this.ctx.comm}/${this.ctx.pid}`;
    this.log.prEmerg(line);
    this.log.prEmerg(` lock: ${this.name}, .magic: dead4ead, .owner: ${owner}, .owner_cpu: ${this.ownerCpu}`);
    throw new KernelBug(line);
  }

  /** `spin_lock()`: enters atomic context. */
  lock(): void {
    if (this.locked) this.bug("recursion");
    this.ctx.enterAtomic("spinlock");
    this.locked = true;
    this.irqsave = false;
    this.ownerCpu = this.ctx.cpu;
  }

  /** `spin_lock_irqsave()`: disables interrupts, then takes the lock. */
  lockIrqsave(): void {
    if (this.locked) this.bug("recursion");
    this.ctx.localIrqSave();
    this.ctx.enterAtomic("spinlock");
    this.locked = true;
    this.irqsave = true;
    this.ownerCpu = this.ctx.cpu;
  }

  /**
   * `spin_lock_irq()`: disables interrupts, then takes the lock. The model
   * keeps one irq-off count, so this is spin_lock_irqsave for code that
   * never nests it inside interrupts-off sections (the kernel's rule for
   * the _irq variants).
   */
  lockIrq(): void {
    this.lockIrqsave();
  }

  /** `spin_unlock_irq()`: releases the lock, then enables interrupts. */
  unlockIrq(): void {
    this.unlockIrqrestore();
  }

  /** `spin_unlock()`. */
  unlock(): void {
    if (!this.locked) this.bug("already unlocked");
    if (this.irqsave) this.bug("unlocked without restoring interrupts (taken with irqsave)");
    this.locked = false;
    this.ownerCpu = -1;
    this.ctx.exitAtomic();
  }

  /** `spin_unlock_irqrestore()`. */
  unlockIrqrestore(): void {
    if (!this.locked) this.bug("already unlocked");
    if (!this.irqsave) this.bug("irqrestore without irqsave");
    this.locked = false;
    this.irqsave = false;
    this.ownerCpu = -1;
    this.ctx.exitAtomic();
    this.ctx.localIrqRestore();
  }

  /** `spin_is_locked()`. */
  isLocked(): boolean {
    return this.locked;
  }
}
