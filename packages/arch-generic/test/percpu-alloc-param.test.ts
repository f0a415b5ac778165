import { LOGLEVEL_WARNING, Machine } from "@pcpu/mm";
import { describe, expect, it } from "vitest";
import { GenericArch, percpuAllocSetup } from "../src/index.js";

function machine(): Machine {
  return new Machine(new GenericArch().machineConfig({ cpus: 1 }));
}

describe("percpuAllocSetup (percpu_alloc_setup)", () => {
  it("accepts embed and page only when the arch selects them", () => {
    const both = { embed: true, page: true };
    const m = machine();
    expect(percpuAllocSetup(m, "v6", undefined, both)).toBe("auto");
    expect(percpuAllocSetup(m, "v6", "embed", both)).toBe("embed");
    expect(percpuAllocSetup(m, "v6", "page", both)).toBe("page");
    expect(m.log.dmesg()).toEqual([]);
    expect(percpuAllocSetup(m, "v6", "page", { embed: true, page: false })).toBe("auto");
    expect(m.log.lines().at(-1)).toMatchObject({
      level: LOGLEVEL_WARNING,
      text: "percpu: unknown allocator page specified",
    });
  });

  it("does not know auto, and prints the 2009 prefix in 2.6.3x eras", () => {
    const m = machine();
    expect(percpuAllocSetup(m, "v2.6.32", "auto", { embed: true, page: true })).toBe("auto");
    expect(m.log.dmesg()).toEqual(["PERCPU: unknown allocator auto specified"]);
  });
});
