import { describe, expect, it } from "vitest";
import type { PcpuEra } from "../src/api.js";
import { isPcpuEra, PCPU_ERAS, pcpuConstants, pcpuEraIndex, pcpuEraIs26 } from "../src/constants.js";

describe("pcpuConstants (include/linux/percpu.h)", () => {
  it("gives the v6 x86_64 values with 4 KiB pages", () => {
    expect(pcpuConstants({ pageShift: 12, bits: 64, nrCpus: 8192 })).toEqual({
      PAGE_SHIFT: 12,
      PAGE_SIZE: 0x1000,
      PCPU_BITMAP_BLOCK_SIZE: 0x1000,
      PCPU_BITMAP_BLOCK_BITS: 0x400,
      PCPU_MIN_UNIT_SIZE: 0x8000,
      PERCPU_MODULE_RESERVE: 0x2000,
      PERCPU_DYNAMIC_SIZE_SHIFT: 10,
      PERCPU_DYNAMIC_EARLY_SIZE: 0x5000,
      PERCPU_DYNAMIC_RESERVE: 0x7000,
      NR_CPUS: 8192,
    });
  });

  it("uses the 32-bit dynamic reserve and drops the module reserve without CONFIG_MODULES", () => {
    const k = pcpuConstants({ pageShift: 12, bits: 32, nrCpus: 8, modules: false });
    expect(k.PERCPU_DYNAMIC_RESERVE).toBe(0x5000);
    expect(k.PERCPU_MODULE_RESERVE).toBe(0);
    expect(k.PERCPU_DYNAMIC_EARLY_SIZE).toBe(0x5000);
  });

  it("quadruples the dynamic sizes with CONFIG_RANDOM_KMALLOC_CACHES (shift 12)", () => {
    const k = pcpuConstants({ pageShift: 12, bits: 64, nrCpus: 64, randomKmallocCaches: true });
    expect(k.PERCPU_DYNAMIC_SIZE_SHIFT).toBe(12);
    expect(k.PERCPU_DYNAMIC_EARLY_SIZE).toBe(0x14000);
    expect(k.PERCPU_DYNAMIC_RESERVE).toBe(0x1c000);
    expect(
      pcpuConstants({ pageShift: 12, bits: 32, nrCpus: 8, randomKmallocCaches: true }).PERCPU_DYNAMIC_RESERVE,
    ).toBe(0x14000);
  });

  it("page-aligns PCPU_MIN_UNIT_SIZE and sizes blocks to the page", () => {
    const k64k = pcpuConstants({ pageShift: 16, bits: 64, nrCpus: 64 });
    expect(k64k.PCPU_MIN_UNIT_SIZE).toBe(0x10000);
    expect(k64k.PCPU_BITMAP_BLOCK_BITS).toBe(0x4000);
    expect(pcpuConstants({ pageShift: 14, bits: 64, nrCpus: 64 }).PCPU_MIN_UNIT_SIZE).toBe(0x8000);
    expect(pcpuConstants({ pageShift: 18, bits: 64, nrCpus: 64 }).PCPU_MIN_UNIT_SIZE).toBe(0x40000);
  });

  it("follows the era table", () => {
    const at = (era: PcpuEra, bits: 32 | 64) => {
      const k = pcpuConstants({ pageShift: 12, bits, nrCpus: 4, era });
      return [k.PCPU_MIN_UNIT_SIZE, k.PERCPU_DYNAMIC_EARLY_SIZE, k.PERCPU_DYNAMIC_RESERVE];
    };
    expect(at("v5.14", 64)).toEqual([0x8000, 0x3000, 0x7000]);
    expect(at("v4.14", 32)).toEqual([0x8000, 0x3000, 0x5000]);
    expect(at("v3.18", 64)).toEqual([0x8000, 0x3000, 0x7000]);
    expect(at("v2.6.32", 64)).toEqual([0x10000, 0, 0x5000]);
    expect(at("v2.6.30", 32)).toEqual([0x10000, 0, 0x3000]);
  });

  it("returns a frozen record", () => {
    const k = pcpuConstants({ pageShift: 12, bits: 64, nrCpus: 4 });
    expect(Object.isFrozen(k)).toBe(true);
  });

  it("rejects impossible configurations with clear errors", () => {
    const ok = { pageShift: 12, bits: 64 as const, nrCpus: 4 };
    expect(() => pcpuConstants({ ...ok, pageShift: 11 })).toThrow(
      /pageShift must be an integer in \[12, 18\]/,
    );
    expect(() => pcpuConstants({ ...ok, pageShift: 19 })).toThrow(RangeError);
    expect(() => pcpuConstants({ ...ok, pageShift: 12.5 })).toThrow(RangeError);
    expect(() => pcpuConstants({ ...ok, bits: 16 as 32 })).toThrow(/bits must be 32 or 64/);
    expect(() => pcpuConstants({ ...ok, nrCpus: 0 })).toThrow(/CONFIG_NR_CPUS/);
    expect(() => pcpuConstants({ ...ok, nrCpus: 8193 })).toThrow(RangeError);
    expect(() => pcpuConstants({ ...ok, nrCpus: 1.5 })).toThrow(RangeError);
    expect(() => pcpuConstants({ ...ok, era: "v7" as PcpuEra })).toThrow(/unknown era "v7"/);
    expect(() => pcpuConstants({ ...ok, era: "v5.14", randomKmallocCaches: true })).toThrow(
      /only exists in v6/,
    );
    expect(() => pcpuConstants({ ...ok, modules: "yes" as unknown as boolean })).toThrow(TypeError);
    expect(() => pcpuConstants({ ...ok, randomKmallocCaches: 1 as unknown as boolean })).toThrow(TypeError);
    expect(() => pcpuConstants(null as unknown as typeof ok)).toThrow(TypeError);
  });
});

describe("pcpuEraIndex / isPcpuEra / pcpuEraIs26", () => {
  it("orders the eras oldest first", () => {
    expect(PCPU_ERAS.map(pcpuEraIndex)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(isPcpuEra("v3.18")).toBe(true);
    expect(isPcpuEra("3.18")).toBe(false);
    expect(pcpuEraIs26("v2.6.32")).toBe(true);
    expect(pcpuEraIs26("v3.18")).toBe(false);
    expect(() => pcpuEraIndex("v1" as PcpuEra)).toThrow(RangeError);
  });
});
