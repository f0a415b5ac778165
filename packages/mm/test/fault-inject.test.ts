import { FaultInjector, Printk } from "@pcpu/mm";
import { describe, expect, it } from "vitest";

function calls(f: FaultInjector, n: number, caller?: string): string {
  let s = "";
  for (let i = 0; i < n; i++) s += f.shouldFail("page_alloc", caller) ? "x" : ".";
  return s;
}

describe("FaultInjector.shouldFail (should_fail_ex)", () => {
  it("fails the nth matching call once by default, or `times` calls from the nth", () => {
    const f = new FaultInjector(1, new Printk());
    f.add({ site: "page_alloc", nth: 3 });
    expect(calls(f, 6)).toBe("..x...");
    f.clear();
    f.add({ site: "page_alloc", nth: 2, times: 3 });
    expect(calls(f, 6)).toBe(".xxx..");
    expect(f.calls("page_alloc")).toBe(12);
    expect(f.failures("page_alloc")).toBe(4);
    expect(f.calls("vmalloc")).toBe(0);
  });

  it("matches only its site and, when given, its caller tag", () => {
    const f = new FaultInjector(1, new Printk());
    f.add({ site: "kmalloc", nth: 1, caller: "pte_alloc" });
    expect(f.shouldFail("page_alloc")).toBe(false);
    expect(f.shouldFail("kmalloc", "pcpu_alloc_chunk")).toBe(false);
    expect(f.shouldFail("kmalloc")).toBe(false);
    expect(f.shouldFail("kmalloc", "pte_alloc")).toBe(true);
    expect(f.shouldFail("kmalloc", "pte_alloc")).toBe(false);
    expect(f.failures("kmalloc")).toBe(1);
    expect(f.calls("kmalloc")).toBe(4);
    expect(f.rules()).toEqual([{ site: "kmalloc", nth: 1, caller: "pte_alloc" }]);
  });

  it("fails with a seeded probability, reproducibly, bounded by times", () => {
    const a = new FaultInjector(1234, new Printk());
    const b = new FaultInjector(1234, new Printk());
    const c = new FaultInjector(99, new Printk());
    for (const f of [a, b, c]) f.add({ site: "page_alloc", probability: 0.25 });
    const sa = calls(a, 400);
    expect(calls(b, 400)).toBe(sa);
    expect(calls(c, 400)).not.toBe(sa);
    const n = a.failures("page_alloc");
    expect(n).toBeGreaterThan(70);
    expect(n).toBeLessThan(130);
    const d = new FaultInjector(1234, new Printk());
    d.add({ site: "page_alloc", probability: 1, times: 2 });
    expect(calls(d, 4)).toBe("xx..");
    const z = new FaultInjector(1234, new Printk());
    z.add({ site: "page_alloc", probability: 0 });
    expect(calls(z, 50)).toBe(".".repeat(50));
  });

  it("logs fail_dump's lines unless quiet", () => {
    const log = new Printk();
    const f = new FaultInjector(1, log);
    f.add({ site: "page_alloc", nth: 1, times: 2 });
    f.shouldFail("page_alloc");
    expect(log.dmesg()).toEqual([
      "FAULT_INJECTION: forcing a failure.",
      "name fail_page_alloc, interval 1, probability 100, space 0, times 1",
    ]);
    f.verbose = false;
    expect(f.shouldFail("page_alloc")).toBe(true);
    expect(log.dmesg().length).toBe(2);
  });

  it("rejects malformed rules", () => {
    const f = new FaultInjector(1, new Printk());
    expect(() => f.add({ site: "slab" as "kmalloc", nth: 1 })).toThrow(RangeError);
    expect(() => f.add({ site: "kmalloc" })).toThrow("needs nth or probability");
    expect(() => f.add({ site: "kmalloc", nth: 0 })).toThrow("nth must be");
    expect(() => f.add({ site: "kmalloc", nth: 1.5 })).toThrow("nth must be");
    expect(() => f.add({ site: "kmalloc", probability: 1.5 })).toThrow("probability must be");
    expect(() => f.add({ site: "kmalloc", nth: 1, times: 0 })).toThrow("times must be");
    expect(f.rules()).toEqual([]);
    expect(FaultInjector.sites).toEqual(["page_alloc", "vmalloc", "memblock", "kmalloc"]);
  });
});

describe("FaultInjector fault_attr interval and space", () => {
  it("lets only every interval-th call fail, and the first `space` bytes pass", () => {
    const f = new FaultInjector(1, new Printk());
    f.add({ site: "page_alloc", probability: 1, interval: 3, times: 2 });
    expect(calls(f, 9)).toBe("..x..x...");
    const g = new FaultInjector(1, new Printk());
    g.add({ site: "vmalloc", probability: 1, space: 10000, times: 1 });
    /* 4096 + 4096 pass (space 10000 -> 1808); 8192 > 1808 fails */
    expect(g.shouldFail("vmalloc", undefined, 4096)).toBe(false);
    expect(g.shouldFail("vmalloc", undefined, 4096)).toBe(false);
    expect(g.shouldFail("vmalloc", undefined, 8192)).toBe(true);
    expect(() => g.add({ site: "vmalloc", probability: 1, interval: 0 })).toThrow(/interval/);
    expect(() => g.add({ site: "vmalloc", probability: 1, space: -1 })).toThrow(/space/);
  });

  it("prints the rule's interval and remaining space in fail_dump", () => {
    const log = new Printk();
    const f = new FaultInjector(1, log);
    f.add({ site: "page_alloc", probability: 1, interval: 2, times: 1 });
    calls(f, 2);
    expect(log.dmesg()).toContain("name fail_page_alloc, interval 2, probability 100, space 0, times 0");
  });
});
