import { bootArch } from "@pcpu/arch-generic";
import { describe, it } from "vitest";
import { I386Arch, X86_64Arch } from "../src/index.js";
import { vm } from "./helpers/backends.js";
describe("smoke", () => {
  it("boots", () => {
    for (const era of ["v6", "v6.14"] as const) {
      const k = bootArch(new X86_64Arch(), { cpus: 4, era }, { population: vm() });
      console.log(k.setup.lines, k.arch.formatAddr(k.arch.perCpuOffset(0)), k.arch.formatAddr(k.arch.myCpuOffset()));
    }
    const t = Date.now();
    const k = bootArch(new X86_64Arch(), { cpus: 4, nodes: [[0, 1], [2, 3]], nodeStarts: [0, 25 * 2 ** 40], memPerNode: 2 ** 30 }, { population: vm() });
    console.log(k.setup.lines.filter((l) => !l.includes("per cpu data")), Date.now() - t);
    const i = bootArch(new I386Arch(), { cpus: 2, staticSize: 0x4f9000, memPerNode: 0x1ef9000 }, { population: vm() });
    console.log(i.setup.lines, i.arch.formatAddr(i.arch.perCpuOffset(0)), i.arch.formatAddr(i.arch.perCpuOffset(1)));
  });
});
