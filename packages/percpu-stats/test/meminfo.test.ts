import { describe, expect, it } from "vitest";
import { percpuMeminfo, percpuMeminfoLine, showValKb } from "../src/meminfo.js";
import { buildScenario } from "./scenario.js";

describe("percpuMeminfoLine (meminfo_proc_show Percpu:)", () => {
  it("prints pages in kB right-aligned in 8 columns after a 16-column label", () => {
    // 928 pages * 4 KiB = 3712 kB.
    expect(percpuMeminfoLine(928, 12)).toBe("Percpu:             3712 kB\n");
    expect(percpuMeminfoLine(0, 12)).toBe("Percpu:                0 kB\n");
    expect(percpuMeminfoLine(1, 12)).toBe("Percpu:                4 kB\n");
    // 64 KiB pages (arm64/ppc64): 0xa pages = 640 kB.
    expect(percpuMeminfoLine(0xa, 16)).toBe("Percpu:              640 kB\n");
    // 8 KiB pages (sparc64): 0x3 pages = 24 kB.
    expect(percpuMeminfoLine(0x3, 13)).toBe("Percpu:               24 kB\n");
  });

  it("widens past 8 digits instead of cutting (seq_put_decimal_ull_width)", () => {
    // 24999999 pages = 99999996 kB (8 digits); 25000000 pages = 100000000 kB (9).
    expect(percpuMeminfoLine(24999999, 12)).toBe("Percpu:         99999996 kB\n");
    expect(percpuMeminfoLine(25000000, 12)).toBe("Percpu:         100000000 kB\n");
    // Beyond 2^53 kB the shift is exact: 2^50 pages of 64 KiB = 2^56 kB.
    expect(percpuMeminfoLine(2 ** 50, 16)).toBe("Percpu:         72057594037927936 kB\n");
  });

  it("reads pcpu_nr_pages() and PAGE_SHIFT from the allocator", () => {
    // Populated per unit: 3 + 5 + 2 + 1 + 8 + 0 + 4 = 23 pages, 4 units = 92 pages = 368 kB.
    const { src } = buildScenario();
    expect(percpuMeminfo(src)).toBe("Percpu:              368 kB\n");
  });
});

describe("showValKb (show_val_kb)", () => {
  it("rejects a bad page count or page shift", () => {
    expect(() => showValKb("Percpu:         ", -1, 12)).toThrow(RangeError);
    expect(() => showValKb("Percpu:         ", 0.5, 12)).toThrow(RangeError);
    expect(() => showValKb("Percpu:         ", 1, 9)).toThrow(RangeError);
  });
});
