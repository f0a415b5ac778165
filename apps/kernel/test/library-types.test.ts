/*
 * The library as a TypeScript caller uses it: every type it handles comes
 * from @pcpu/kernel, config names are string-literal unions (a typo fails
 * to compile; a string from a file is still checked at run time), log
 * levels by name, and pointer arithmetic in the arch's width.
 */
import { describe, expect, it } from "vitest";
import {
  bootKernel,
  ConfigError,
  KernelApiError,
  type KernelConfig,
  type LogLevel,
  type LogLevelName,
  type PcpuPtr,
  parseConfigText,
  parseLogLevel,
  ptrAdd,
} from "../src/index.js";

describe("config names as string-literal unions", () => {
  it("refuses an unknown arch at compile time and a file's at run time", () => {
    // @ts-expect-error: "mips" is not an ArchName
    const bad: KernelConfig = { arch: "mips" };
    expect(() => bootKernel(bad)).toThrow(ConfigError);
    // @ts-expect-error: "slab" is not an AllocatorName
    const badAlloc: KernelConfig = { allocator: "slab" };
    expect(() => bootKernel(badAlloc)).toThrow(/allocator: "slab" is not one of bitmap, area-map/);
    const fromFile = parseConfigText('{ "era": "v7" }');
    expect(() => bootKernel(fromFile)).toThrow(/era: "v7" is not one of/);
    const good: KernelConfig = {
      arch: "arm",
      population: "km",
      allocator: "area-map",
      era: "v4.14",
      percpuAlloc: "embed",
    };
    expect(bootKernel({ ...good, trace: false }).config.era).toBe("v4.14");
  });
});

describe("log levels by name (dmesg --level)", () => {
  const k = bootKernel({ trace: false });
  it("reads names, KERN_ names and numbers alike", () => {
    const names: [LogLevelName, LogLevel][] = [
      ["emerg", 0],
      ["err", 3],
      ["warn", 4],
      ["info", 6],
      ["debug", 7],
    ];
    for (const [n, l] of names) {
      expect(parseLogLevel(n)).toBe(l);
      expect(k.dmesg(n)).toEqual(k.dmesg(l));
    }
    expect(parseLogLevel("KERN_WARNING")).toBe(4);
    expect(k.dmesg("info").length).toBeLessThan(k.dmesg("debug").length);
    expect(k.dmesg("info")).toContain("percpu: Embedded 45 pages/cpu s147456 r8192 d28672 u524288");
  });
  it("refuses a level that is none", () => {
    // @ts-expect-error: not a level name
    expect(() => k.dmesg("loud")).toThrow(KernelApiError);
    expect(parseLogLevel(8)).toBeNull();
  });
});

describe("ptrAdd (void __percpu * arithmetic)", () => {
  it("wraps modulo 2^32 on 32-bit arches and prints the kernel's way on x86_64", () => {
    const arm = bootKernel({ arch: "arm", trace: false });
    const p = arm.percpu.alloc(0x40, 8)!;
    expect(arm.ptrAdd(p, 0x10) - p).toBe(0x10);
    expect(ptrAdd(0xfffffff0 as PcpuPtr, 0x20, 32)).toBe(0x10);
    const x = bootKernel({ trace: false });
    const q = x.percpu.alloc(0x40, 8)!;
    expect(x.formatAddr(x.ptrAdd(q, 4))).toBe("ffffffff82026004");
    expect(() => ptrAdd(q, 0.5)).toThrow(RangeError);
    /* a pointer off the start of an allocation is still refused by free_percpu */
    expect(x.percpu.free(x.ptrAdd(q, 4))).toBe(false);
    expect(x.percpu.free(q)).toBe(true);
  });
});
