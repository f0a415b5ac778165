import { describe, expect, it } from "vitest";
import { ARCH_ERAS, archEraAtLeast, archEraIndex, archPcpuEra, isArchEra } from "../src/index.js";

describe("archPcpuEra (arch eras -> core generations)", () => {
  it("runs v6.14 on the v6 core and every other era on itself", () => {
    expect(archPcpuEra("v6.14")).toBe("v6");
    for (const e of ["v2.6.30", "v2.6.32", "v3.18", "v4.14", "v5.14", "v6"] as const)
      expect(archPcpuEra(e)).toBe(e);
  });

  it("orders eras and rejects unknown ones", () => {
    expect(ARCH_ERAS.at(-1)).toBe("v6");
    expect(archEraAtLeast("v6.14", "v5.14")).toBe(true);
    expect(archEraAtLeast("v6.14", "v6")).toBe(false);
    expect(isArchEra("v6.15")).toBe(false);
    expect(() => archEraIndex("v7" as never)).toThrow('unknown arch era "v7"');
    expect(() => archPcpuEra("v7" as never)).toThrow('unknown arch era "v7"');
  });
});
