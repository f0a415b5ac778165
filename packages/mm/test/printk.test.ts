import { LOGLEVEL_DEBUG, LOGLEVEL_ERR, LOGLEVEL_INFO, LOGLEVEL_WARNING, Printk } from "@pcpu/mm";
import { describe, expect, it } from "vitest";
import { x64 } from "./fixtures.js";

describe("Printk.printk (printk)", () => {
  it("splits multi-line text into lines and drops one trailing newline", () => {
    const log = new Printk();
    log.printk(LOGLEVEL_INFO, "percpu: a\npercpu: b\n");
    log.prErr("x");
    expect(log.lines()).toEqual([
      { seq: 0, level: 6, text: "percpu: a" },
      { seq: 1, level: 6, text: "percpu: b" },
      { seq: 2, level: 3, text: "x" },
    ]);
  });

  it("logs each pr_* helper at its level", () => {
    const log = new Printk();
    log.prEmerg("0");
    log.prAlert("1");
    log.prCrit("2");
    log.prErr("3");
    log.prWarn("4");
    log.prNotice("5");
    log.prInfo("6");
    log.prDebug("7");
    expect(log.lines().map((l) => `${l.level}:${l.text}`)).toEqual([
      "0:0",
      "1:1",
      "2:2",
      "3:3",
      "4:4",
      "5:5",
      "6:6",
      "7:7",
    ]);
  });

  it("dmesg filters by severity and clear keeps counting sequence numbers", () => {
    const log = new Printk();
    log.prErr("err");
    log.prInfo("info");
    log.prDebug("debug");
    expect(log.dmesg()).toEqual(["err", "info", "debug"]);
    expect(log.dmesg(LOGLEVEL_WARNING)).toEqual(["err"]);
    expect(log.dmesg(LOGLEVEL_INFO)).toEqual(["err", "info"]);
    expect(log.dmesg(LOGLEVEL_ERR)).toEqual(["err"]);
    log.clear();
    expect(log.lines()).toEqual([]);
    log.prDebug("again");
    expect(log.lines()[0]!.seq).toBe(3);
    expect(log.dmesg(LOGLEVEL_DEBUG)).toEqual(["again"]);
  });
});

describe("Printk.warn (__warn)", () => {
  it("prints the WARN shape with the current CPU and PID", () => {
    const m = x64();
    m.ctx.setCpu(2);
    m.ctx.setTask(42, "insmod");
    m.log.warn("mm/percpu.c pcpu_alloc", "percpu: illegal size (0) or align (4) for percpu allocation");
    expect(m.log.dmesg()).toEqual([
      "------------[ cut here ]------------",
      "percpu: illegal size (0) or align (4) for percpu allocation",
      "WARNING: CPU: 2 PID: 42 at mm/percpu.c pcpu_alloc",
      "---[ end trace 0000000000000000 ]---",
    ]);
    expect(m.log.lines().every((l) => l.level === LOGLEVEL_WARNING)).toBe(true);
  });

  it("omits the message line for WARN_ON and defaults to CPU 0 PID 0 without a machine", () => {
    const log = new Printk();
    log.warn("mm/vmalloc.c pcpu_get_vm_areas");
    expect(log.dmesg()).toEqual([
      "------------[ cut here ]------------",
      "WARNING: CPU: 0 PID: 0 at mm/vmalloc.c pcpu_get_vm_areas",
      "---[ end trace 0000000000000000 ]---",
    ]);
  });

  it("warnOnce (WARN_ONCE) prints only the first time per key", () => {
    const log = new Printk();
    expect(log.warnOnce("k", "here", "once")).toBe(true);
    expect(log.warnOnce("k", "here", "once")).toBe(false);
    expect(log.warnOnce("k2", "here")).toBe(true);
    expect(log.dmesg().filter((l) => l.startsWith("WARNING:")).length).toBe(2);
  });
});

describe("Printk.ratelimit (___ratelimit)", () => {
  it("allows a burst of 10 per 5 s and reports the suppressed count in the next interval", () => {
    const log = new Printk();
    let printed = 0;
    for (let i = 0; i < 13; i++)
      if (log.printkRatelimited("pcpu_alloc", LOGLEVEL_WARNING, `m${i}`)) printed++;
    expect(printed).toBe(10);
    log.advanceClock(5000); // still inside: the interval ends strictly after begin + 5000
    expect(log.printkRatelimited("pcpu_alloc", LOGLEVEL_WARNING, "late")).toBe(false);
    log.advanceClock(1);
    expect(log.printkRatelimited("pcpu_alloc", LOGLEVEL_WARNING, "next")).toBe(true);
    const d = log.dmesg();
    expect(d.slice(-2)).toEqual(["pcpu_alloc: 4 callbacks suppressed", "next"]);
    expect(d.length).toBe(12);
  });

  it("keeps one state per call site and no suppressed line when nothing was missed", () => {
    const log = new Printk();
    for (let i = 0; i < 10; i++) expect(log.ratelimit("a")).toBe(true);
    expect(log.ratelimit("b")).toBe(true);
    log.advanceClock(6000);
    expect(log.ratelimit("a")).toBe(true);
    expect(log.dmesg()).toEqual([]);
    expect(log.clockMs).toBe(6000);
  });

  it("rejects a negative clock step", () => {
    expect(() => new Printk().advanceClock(-1)).toThrow(RangeError);
  });
});
