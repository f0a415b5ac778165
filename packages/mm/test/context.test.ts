import {
  HARDIRQ_OFFSET,
  KernelBug,
  MIGHT_ALLOC_WHERE,
  MUTEX_LOCK_WHERE,
  Mutex,
  SleepInAtomicError,
  SOFTIRQ_OFFSET,
  SpinLock,
} from "@pcpu/mm";
import { describe, expect, it } from "vitest";
import { thrown, x64 } from "./fixtures.js";

describe("ExecContext.setCpu / runOnCpu (smp_processor_id)", () => {
  it("switches the current CPU and restores it after runOnCpu, even on throw", () => {
    const m = x64();
    expect(m.ctx.cpu).toBe(0);
    m.ctx.setCpu(3);
    expect(m.ctx.cpu).toBe(3);
    expect(m.ctx.runOnCpu(1, () => m.ctx.cpu)).toBe(1);
    expect(m.ctx.cpu).toBe(3);
    expect(() =>
      m.ctx.runOnCpu(2, () => {
        throw new Error("x");
      }),
    ).toThrow("x");
    expect(m.ctx.cpu).toBe(3);
  });

  it("rejects an impossible CPU and migration in atomic context", () => {
    const m = x64();
    expect(() => m.ctx.setCpu(4)).toThrow(RangeError);
    expect(() => m.ctx.setCpu(-1)).toThrow(RangeError);
    m.ctx.enterAtomic("preempt");
    m.ctx.setCpu(0); // staying put is fine
    const e = thrown(() => m.ctx.setCpu(1));
    expect(e).toBeInstanceOf(KernelBug);
    expect(m.log.dmesg()).toEqual(["BUG: migrating swapper/0/0 from CPU#0 to CPU#1 in atomic context"]);
  });
});

describe("ExecContext.enterAtomic / exitAtomic (preempt_count_add / preempt_count_sub)", () => {
  it("raises the preempt count the kernel's way per reason", () => {
    const m = x64();
    const c = m.ctx;
    expect(c.inAtomic()).toBe(false);
    expect(c.atomicReason()).toBe(null);
    c.enterAtomic("spinlock");
    expect(c.preemptCount()).toBe(0x1);
    c.enterAtomic("softirq");
    expect(c.preemptCount()).toBe(0x101);
    expect(c.inInterrupt()).toBe(true);
    c.enterAtomic("irq");
    expect(c.preemptCount()).toBe(0x10101);
    expect(c.irqsDisabled()).toBe(true);
    expect(c.atomicReason()).toBe("irq");
    c.exitAtomic();
    expect(c.irqsDisabled()).toBe(false);
    c.exitAtomic();
    expect(c.inInterrupt()).toBe(false);
    c.enterAtomic("preempt");
    expect(c.preemptCount()).toBe(2);
    c.exitAtomic();
    c.exitAtomic();
    expect(c.inAtomic()).toBe(false);
    expect(SOFTIRQ_OFFSET).toBe(0x100);
    expect(HARDIRQ_OFFSET).toBe(0x10000);
  });

  it("reports underflow, overflow and unknown reasons", () => {
    const m = x64();
    expect(thrown(() => m.ctx.exitAtomic())).toBeInstanceOf(KernelBug);
    expect(m.log.dmesg()).toEqual([
      "BUG: preempt count underflow on CPU#0: exitAtomic() outside atomic context",
    ]);
    expect(() => m.ctx.enterAtomic("bogus" as "irq")).toThrow(RangeError);
    for (let i = 0; i < 64; i++) m.ctx.enterAtomic("preempt");
    expect(thrown(() => m.ctx.enterAtomic("preempt"))).toBeInstanceOf(KernelBug);
    expect(m.ctx.preemptCount()).toBe(64);
  });

  it("runAtomic leaves the section even when fn throws", () => {
    const m = x64();
    expect(m.ctx.runAtomic("softirq", () => m.ctx.preemptCount())).toBe(0x100);
    expect(() =>
      m.ctx.runAtomic("irq", () => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(m.ctx.inAtomic()).toBe(false);
  });

  it("local_irq_save/restore nest and an unbalanced restore is a BUG", () => {
    const m = x64();
    m.ctx.localIrqSave();
    expect(m.ctx.inAtomic()).toBe(true);
    expect(m.ctx.preemptCount()).toBe(0);
    m.ctx.localIrqRestore();
    expect(thrown(() => m.ctx.localIrqRestore())).toBeInstanceOf(KernelBug);
  });
});

describe("ExecContext.mightSleep (__might_resched)", () => {
  it("does nothing in process context", () => {
    const m = x64();
    m.ctx.mightSleep(MIGHT_ALLOC_WHERE);
    expect(m.log.lines()).toEqual([]);
  });

  it("logs the kernel's report and throws SleepInAtomicError in atomic context", () => {
    const m = x64();
    m.ctx.setCpu(1);
    m.ctx.setTask(77, "kworker/1:2");
    m.ctx.enterAtomic("spinlock");
    const e = thrown(() => m.ctx.mightSleep("kernel/locking/mutex.c:283"));
    expect(e).toBeInstanceOf(SleepInAtomicError);
    expect((e as SleepInAtomicError).where).toBe("kernel/locking/mutex.c:283");
    expect(e.message).toBe(
      "BUG: sleeping function called from invalid context at kernel/locking/mutex.c:283",
    );
    expect(m.log.dmesg()).toEqual([
      "BUG: sleeping function called from invalid context at kernel/locking/mutex.c:283",
      "in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 77, name: kworker/1:2",
      "preempt_count: 1, expected: 0",
      "RCU nest depth: 0, expected: 0",
    ]);
  });

  it("reports irqs_disabled() 1 with in_atomic() 0 when only interrupts are off", () => {
    const m = x64();
    m.ctx.localIrqSave();
    expect(() => m.ctx.mightSleep("x.c:1")).toThrow(SleepInAtomicError);
    expect(m.log.dmesg()[1]).toBe(
      "in_atomic(): 0, irqs_disabled(): 1, non_block: 0, pid: 0, name: swapper/0",
    );
  });
});

describe("Mutex (mutex_lock)", () => {
  it("locks and unlocks in process context", () => {
    const m = x64();
    const mu = new Mutex("pcpu_alloc_mutex", m.ctx, m.log);
    expect(mu.isLocked()).toBe(false);
    mu.lock();
    expect(mu.isLocked()).toBe(true);
    expect(mu.owner()).toBe(0);
    mu.unlock();
    expect(mu.isLocked()).toBe(false);
    expect(mu.owner()).toBe(-1);
  });

  it("cannot be taken in atomic context (might_sleep at mutex.c)", () => {
    const m = x64();
    const mu = new Mutex("pcpu_alloc_mutex", m.ctx, m.log);
    const e = m.ctx.runAtomic("irq", () => thrown(() => mu.lock()));
    expect(e).toBeInstanceOf(SleepInAtomicError);
    expect((e as SleepInAtomicError).where).toBe(MUTEX_LOCK_WHERE);
    expect(mu.isLocked()).toBe(false);
  });

  it("reports recursive locking and unlocking an unlocked mutex", () => {
    const m = x64();
    const mu = new Mutex("pcpu_alloc_mutex", m.ctx, m.log);
    mu.lock();
    expect(thrown(() => mu.lock())).toBeInstanceOf(KernelBug);
    expect(m.log.dmesg()).toEqual([
      "WARNING: possible recursive locking detected",
      "swapper/0/0 is trying to acquire lock:",
      "(pcpu_alloc_mutex) but task is already holding lock",
    ]);
    mu.unlock();
    expect(thrown(() => mu.unlock()).message).toBe(
      "BUG: unlocking mutex pcpu_alloc_mutex that is not locked",
    );
  });
});

describe("SpinLock (spin_lock)", () => {
  it("enters atomic context while held; irqsave also disables interrupts", () => {
    const m = x64();
    const l = new SpinLock("pcpu_lock", m.ctx, m.log);
    l.lock();
    expect(l.isLocked()).toBe(true);
    expect(m.ctx.preemptCount()).toBe(1);
    expect(m.ctx.irqsDisabled()).toBe(false);
    l.unlock();
    expect(m.ctx.inAtomic()).toBe(false);
    l.lockIrqsave();
    expect(m.ctx.irqsDisabled()).toBe(true);
    expect(m.ctx.preemptCount()).toBe(1);
    l.unlockIrqrestore();
    expect(m.ctx.inAtomic()).toBe(false);
    expect(l.isLocked()).toBe(false);
  });

  it("reports recursion the way spinlock debugging does", () => {
    const m = x64();
    const l = new SpinLock("pcpu_lock", m.ctx, m.log);
    l.lock();
    const e = thrown(() => l.lock());
    expect(e).toBeInstanceOf(KernelBug);
    expect(m.log.dmesg()).toEqual([
      "BUG: spinlock recursion on CPU#0, swapper/0/0",
      " lock: pcpu_lock, .magic: dead4ead, .owner: swapper/0/0, .owner_cpu: 0",
    ]);
    expect(m.ctx.preemptCount()).toBe(1);
    expect(() => l.lockIrqsave()).toThrow("BUG: spinlock recursion");
  });

  it("reports unlocking an unlocked lock and mismatched irqsave/irqrestore", () => {
    const m = x64();
    const l = new SpinLock("pcpu_lock", m.ctx, m.log);
    expect(() => l.unlock()).toThrow("BUG: spinlock already unlocked on CPU#0, swapper/0/0");
    expect(() => l.unlockIrqrestore()).toThrow("BUG: spinlock already unlocked");
    l.lock();
    expect(() => l.unlockIrqrestore()).toThrow("irqrestore without irqsave");
    l.unlock();
    l.lockIrqsave();
    expect(() => l.unlock()).toThrow("unlocked without restoring interrupts");
    l.unlockIrqrestore();
  });
});
