import { describe, expect, it } from "vitest";
import { BOOT_LOGS } from "../../../packages/percpu/test/data/boot-logs.js";
import { bootKernel, configFromDmesg, FromDmesgError, parseDmesgPercpu } from "../src/index.js";
import { ALL_DEFINITIONS } from "../src/registry.js";

/** The percpu lines of a text, prefixes and trailing blanks dropped. */
function percpuLines(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    const m = /(setup_percpu: |NR_CPUS:|percpu: |PERCPU: |pcpu-alloc: )/.exec(l);
    if (m) out.push(l.slice(m.index).trimEnd());
  }
  return out;
}

const kindOf = (l: string) =>
  l.includes("NR_CPUS:")
    ? "setup"
    : /pcpu-alloc: s\d/.test(l)
      ? "alloc"
      : l.startsWith("pcpu-alloc: [")
        ? "group"
        : "summary";

const noise = (raw: readonly string[]) =>
  [
    "[    0.000000] Linux version 6.1.0 (builder@host) #1 SMP",
    ...raw,
    "[    0.100000] Dentry cache hash table entries: 65536",
  ].join("\n");

describe("from-dmesg: every real boot log of the golden tests, from the log text alone", () => {
  for (const rec of BOOT_LOGS) {
    if (rec.id === "rpi-up-3.6") continue;
    it(`${rec.id}: boot --config on the derived config prints the log's percpu lines`, () => {
      const r = configFromDmesg(noise(rec.raw), ALL_DEFINITIONS);
      const k = bootKernel(r.config);
      const log = percpuLines(rec.raw);
      const kinds = new Set(log.map(kindOf));
      const mine = percpuLines(k.dmesg()).filter((l) => kinds.has(kindOf(l)));
      const strip = (l: string) => l.replace(/@(.+?) s(\d)/, "@BASE s$2");
      if (r.baseReproduced === false) expect(mine.map(strip)).toEqual(log.map(strip));
      else expect(mine).toEqual(log);
      /* What the log states is in the config, in numbers. */
      if (rec.partial !== "group-lines-only") {
        expect(r.config.staticSize).toBe(rec.inputs.staticSize);
        expect(r.config.reservedSize).toBe(rec.inputs.reservedSize);
      }
      if (rec.inputs.nodes) expect(k.config.nodeCpus).toEqual(rec.inputs.nodes);
      if (rec.inputs.nrCpus !== null && log.some((l) => l.includes("NR_CPUS:")))
        expect(k.config.nrCpus).toBe(rec.inputs.nrCpus);
      if (rec.partial !== "embed-line-only" || log.some((l) => l.includes("NR_CPUS:")))
        expect(k.config.cpus).toBe(rec.inputs.nrPossibleCpus);
    });
  }

  it("places the first chunk at the log's raw base when the memory layout can (i386 @c7652000)", () => {
    const rec = BOOT_LOGS.find((r) => r.id === "i386-kvm-cirros-1cpu")!;
    const r = configFromDmesg(rec.raw.join("\n"), ALL_DEFINITIONS);
    expect(r.baseReproduced).toBe(true);
    expect(r.config.arch).toBe("i386");
    expect(r.config.era).toBe("v3.18");
    expect(bootKernel(r.config).dmesg()).toContain(
      "PERCPU: Embedded 19 pages/cpu @c7652000 s47436 r0 d30388 u77824",
    );
  });

  it("says when the base is a hashed-pointer placeholder it does not print", () => {
    const rec = BOOT_LOGS.find((r) => r.id === "amd-4.16-8cpu")!;
    const r = configFromDmesg(rec.raw.join("\n"), ALL_DEFINITIONS);
    expect(r.baseReproduced).toBe(false);
    expect(r.config.era).toBe("v4.14");
    expect(r.notes.join(" ")).toMatch(/hashed-pointer placeholder/);
  });

  it("reads nodes from the group lines and NR_CPUS / CPUMASK_OFFSTACK from the setup_percpu line", () => {
    const rhel7 = configFromDmesg(
      BOOT_LOGS.find((r) => r.id === "rhel7-24cpu-2node")!.raw.join("\n"),
      ALL_DEFINITIONS,
    );
    expect(rhel7.config.nodes).toBe("0-3,8-11,16,18,20,22;4-7,12-15,17,19,21,23");
    const arch = configFromDmesg(
      BOOT_LOGS.find((r) => r.id === "arch-6.x-4cpu")!.raw.join("\n"),
      ALL_DEFINITIONS,
    );
    expect(arch.config).toMatchObject({
      arch: "x86_64",
      cpus: 4,
      nrCpus: 320,
      cpumaskOffstack: true,
      era: "v6",
    });
  });

  it("refuses the uniprocessor log (the model builds SMP kernels only), with the reason", () => {
    const rec = BOOT_LOGS.find((r) => r.id === "rpi-up-3.6")!;
    expect(() => configFromDmesg(rec.raw.join("\n"), ALL_DEFINITIONS)).toThrow(
      /!CONFIG_SMP.*SMP kernels only/,
    );
  });
});

describe("from-dmesg refusals", () => {
  it("refuses a text without percpu lines, binary input, and two boots' lines", () => {
    expect(() => parseDmesgPercpu("hello\nworld\n")).toThrow(/no percpu lines/);
    expect(() => parseDmesgPercpu("\u0000\u0001percpu: ")).toThrow(/binary/);
    const two = BOOT_LOGS[0]!.raw.concat(BOOT_LOGS[2]!.raw).join("\n");
    expect(() => parseDmesgPercpu(two)).toThrow(/more than one boot/);
  });

  it("refuses lines no modelled kernel prints, naming the line that differs", () => {
    let err: unknown;
    try {
      configFromDmesg("percpu: Embedded 19 pages/cpu s1 r0 d30388 u77824", ALL_DEFINITIONS);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FromDmesgError);
    expect((err as Error).message).toMatch(/log: {3}percpu: Embedded 19 pages\/cpu s1 r0 d30388 u77824/);
  });

  it("refuses group lines that disagree with nr_cpu_ids", () => {
    expect(() =>
      configFromDmesg(
        "setup_percpu: NR_CPUS:64 nr_cpumask_bits:64 nr_cpu_ids:4 nr_node_ids:1\npcpu-alloc: [0] 0 1 ",
        ALL_DEFINITIONS,
      ),
    ).toThrow(/nr_cpu_ids:4 but the pcpu-alloc group lines list 2 CPUs/);
  });
});
