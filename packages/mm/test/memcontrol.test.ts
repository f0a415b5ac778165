import {
  __GFP_HIGH,
  ENOMEM,
  GFP_ATOMIC,
  GFP_KERNEL,
  GFP_NOWAIT,
  MEMCG_CHARGE_BATCH,
  PageCounter,
} from "@pcpu/mm";
import { describe, expect, it } from "vitest";
import { x64 } from "./fixtures.js";

describe("PageCounter (mm/page_counter.c)", () => {
  it("charges every ancestor or none, counting failcnt on the counter that hit max", () => {
    const root = new PageCounter(null, 100);
    const a = new PageCounter(root, 10);
    const b = new PageCounter(a, 1000);
    expect(b.tryCharge(8)).toBeNull();
    expect([b.usage, a.usage, root.usage]).toEqual([8, 8, 8]);
    expect(b.tryCharge(3)).toBe(a);
    expect([b.usage, a.usage, root.usage, a.failcnt, b.failcnt]).toEqual([8, 8, 8, 1, 0]);
    b.uncharge(8);
    /* the kernel's watermark keeps the transient 11 of the failed try on b (it is set before a refuses) */
    expect([b.usage, a.usage, root.usage, b.watermark, a.watermark]).toEqual([0, 0, 0, 11, 8]);
  });
});

describe("MemCgroupSubsys obj_cgroup charging (obj_cgroup_charge, the stocks)", () => {
  it("charges whole pages, one batch on the counter, and serves sub-page charges from the obj stock", () => {
    const m = x64({ nrCpus: 2, cpuToNode: [0, 0] });
    const sub = m.memcg;
    const cg = sub.mkdir("/a");
    expect(sub.kmemOnline).toBe(true);
    const objcg = cg.objcg!;
    expect(sub.objCgroupCharge(objcg, GFP_KERNEL, 100)).toBe(0);
    /* 1 page of kmem; the 64-page batch on the counter (63 in the CPU's memcg stock) */
    expect(cg.kmemPages).toBe(1);
    expect(cg.memory.usage).toBe(MEMCG_CHARGE_BATCH);
    expect(sub.objCgroupCharge(objcg, GFP_KERNEL, 3996)).toBe(0); /* exactly the stock's 3996 bytes */
    expect(cg.kmemPages).toBe(1);
    sub.objCgroupUncharge(objcg, 4096);
    /* 4096 bytes in the stock is not more than a page: kept */
    expect(cg.kmemPages).toBe(1);
    sub.objCgroupUncharge(objcg, 4);
    /* 4100 > PAGE_SIZE: one page back to the memcg stock, 4 bytes stay */
    expect(cg.kmemPages).toBe(0);
    expect(cg.memory.usage).toBe(MEMCG_CHARGE_BATCH);
    sub.drainAllStock(cg);
    expect(cg.memory.usage).toBe(0);
    expect(objcg.nrChargedBytes).toBe(4);
  });

  it("drains a remote CPU's stock by work on that CPU", () => {
    const m = x64({ nrCpus: 2, cpuToNode: [0, 0] });
    const sub = m.memcg;
    const cg = sub.mkdir("/a");
    m.ctx.runOnCpu(1, () => sub.objCgroupCharge(cg.objcg!, GFP_KERNEL, 4096));
    expect(cg.memory.usage).toBe(MEMCG_CHARGE_BATCH);
    sub.drainAllStock(cg);
    expect(cg.memory.usage).toBe(MEMCG_CHARGE_BATCH); /* queued, not run */
    m.wq.runPending();
    expect(cg.memory.usage).toBe(1); /* the charged page stays, the 63 stocked pages went back */
  });

  it("over memory.max: -ENOMEM for blocking and GFP_NOWAIT charges, forced for __GFP_HIGH", () => {
    const m = x64({ nrCpus: 1, cpuToNode: [0] });
    const sub = m.memcg;
    const cg = sub.mkdir("/a");
    sub.memoryMaxWrite(cg, "0");
    expect(sub.objCgroupCharge(cg.objcg!, GFP_NOWAIT, 8)).toBe(-ENOMEM);
    expect(cg.eventsMax).toBe(0); /* no reclaim attempt, no event */
    expect(sub.objCgroupCharge(cg.objcg!, GFP_KERNEL, 8)).toBe(-ENOMEM);
    expect(cg.eventsMax).toBe(18);
    expect(cg.eventsOom).toBe(1);
    expect((GFP_ATOMIC & __GFP_HIGH) !== 0).toBe(true);
    expect(sub.objCgroupCharge(cg.objcg!, GFP_ATOMIC, 8)).toBe(0);
    expect(cg.memory.usage).toBe(1);
    expect(cg.eventsMax).toBe(19);
    expect(sub.memoryStat(cg)).toMatch(/^anon 0\nfile 0\nkernel 4096\n/);
  });

  it("parses memory.max like page_counter_memparse and prints max", () => {
    const m = x64({ nrCpus: 1, cpuToNode: [0] });
    const sub = m.memcg;
    const cg = sub.mkdir("/a");
    expect(sub.memoryMaxRead(cg)).toBe("max");
    sub.memoryMaxWrite(cg, "1M");
    expect(sub.memoryMaxRead(cg)).toBe("1048576");
    sub.memoryMaxWrite(cg, "5000");
    expect(sub.memoryMaxRead(cg)).toBe("4096");
    expect(() => sub.memoryMaxWrite(cg, "-1")).toThrow(/invalid value/);
    expect(sub.memoryMaxRead(cg)).toBe("4096");
  });
});
