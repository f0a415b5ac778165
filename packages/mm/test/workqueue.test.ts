import { KernelBug, kworkerPid, type WorkItem } from "@pcpu/mm";
import { describe, expect, it } from "vitest";
import { thrown, x64 } from "./fixtures.js";

describe("Workqueue.queueWork (queue_work_on)", () => {
  it("runs an item queued twice while pending once, and nothing before runPending", () => {
    const m = x64();
    let runs = 0;
    const w: WorkItem = { name: "pcpu_balance_workfn", fn: () => runs++ };
    expect(m.wq.queueWork(w)).toBe(true);
    expect(m.wq.queueWork(w)).toBe(false);
    expect(m.wq.isPending(w)).toBe(true);
    expect(m.wq.pendingCount()).toBe(1);
    expect(runs).toBe(0);
    expect(m.wq.runPending()).toBe(1);
    expect(runs).toBe(1);
    expect(m.wq.isPending(w)).toBe(false);
    expect(m.wq.runPending()).toBe(0);
  });

  it("runs FIFO, including items queued while running and an item requeueing itself", () => {
    const m = x64();
    const order: string[] = [];
    let again = true;
    const c: WorkItem = { name: "c", fn: () => order.push("c") };
    const self: WorkItem = {
      name: "self",
      fn: () => {
        order.push("self");
        if (again) {
          again = false;
          expect(m.wq.queueWork(self)).toBe(true); // PENDING was cleared before running
        }
      },
    };
    const a: WorkItem = {
      name: "a",
      fn: () => {
        order.push("a");
        m.wq.queueWork(c);
      },
    };
    const b: WorkItem = { name: "b", fn: () => order.push("b") };
    m.wq.queueWork(a);
    m.wq.queueWork(self);
    m.wq.queueWork(b);
    expect(m.wq.runPending()).toBe(5);
    expect(order).toEqual(["a", "self", "b", "c", "self"]);
    expect(m.wq.pendingCount()).toBe(0);
  });

  it("runs items in process context as kworker/<cpu>:1 and restores the task", () => {
    const m = x64();
    m.ctx.setCpu(2);
    m.ctx.setTask(5, "insmod");
    let seen = "";
    m.wq.queueWork({
      name: "w",
      fn: () => {
        seen = `${m.ctx.comm} ${m.ctx.pid} ${m.ctx.inAtomic()}`;
      },
    });
    m.wq.runPending();
    expect(seen).toBe(`kworker/2:1 ${kworkerPid(2)} false`);
    expect(kworkerPid(2)).toBe(1002);
    expect([m.ctx.comm, m.ctx.pid]).toEqual(["insmod", 5]);
  });

  it("cancelWork removes a pending item", () => {
    const m = x64();
    let runs = 0;
    const w: WorkItem = { name: "w", fn: () => runs++ };
    const v: WorkItem = { name: "v", fn: () => runs++ };
    m.wq.queueWork(w);
    m.wq.queueWork(v);
    expect(m.wq.cancelWork(w)).toBe(true);
    expect(m.wq.cancelWork(w)).toBe(false);
    expect(m.wq.runPending()).toBe(1);
    expect(runs).toBe(1);
  });
});

describe("Workqueue.runPending (process_one_work)", () => {
  it("is a BUG in atomic context and from inside a work item", () => {
    const m = x64();
    m.ctx.enterAtomic("softirq");
    expect(thrown(() => m.wq.runPending())).toBeInstanceOf(KernelBug);
    expect(m.log.dmesg()).toEqual(["BUG: workqueue run from atomic context"]);
    m.ctx.exitAtomic();
    m.wq.queueWork({ name: "nested", fn: () => m.wq.runPending() });
    expect(() => m.wq.runPending()).toThrow("BUG: workqueue runPending() called from a work item");
    expect(m.wq.runPending()).toBe(0);
  });

  it("reports an item that returns in atomic context", () => {
    const m = x64();
    m.wq.queueWork({ name: "pcpu_balance_workfn", fn: () => m.ctx.enterAtomic("spinlock") });
    expect(thrown(() => m.wq.runPending())).toBeInstanceOf(KernelBug);
    expect(m.log.dmesg()).toEqual([
      "BUG: workqueue leaked atomic, lock or RCU: kworker/0:1[1000]",
      "     preempt=0x00000001 lock=0->0 RCU=0->0 workfn=pcpu_balance_workfn",
    ]);
  });

  it("propagates an exception and keeps the remaining items queued", () => {
    const m = x64();
    let ran = 0;
    m.wq.queueWork({
      name: "bad",
      fn: () => {
        throw new Error("bad work");
      },
    });
    m.wq.queueWork({ name: "good", fn: () => ran++ });
    expect(() => m.wq.runPending()).toThrow("bad work");
    expect(m.ctx.comm).toBe("swapper/0");
    expect(m.wq.pendingCount()).toBe(1);
    expect(m.wq.runPending()).toBe(1);
    expect(ran).toBe(1);
  });
});
