import { describe, expect, it } from "vitest";
import { bootArch, GenericArch } from "../src/index.js";
import { vm } from "./helpers/backends.js";
describe("smoke", () => {
  it("boots", () => {
    const k = bootArch(new GenericArch(), { cpus: 2 }, { population: vm() });
    console.log(k.setup.lines);
  });
});
