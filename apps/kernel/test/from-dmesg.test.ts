import { describe, expect, it } from "vitest";
import { BOOT_LOGS, type BootLogRecord } from "../../../packages/percpu/test/data/boot-logs.js";
import {
  bootKernel,
  configFromDmesg,
  dmesgArchHint,
  FromDmesgError,
  parseDmesgPercpu,
} from "../src/index.js";
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

/**
 * The arch a kernel engineer picks for a log whose lines say no more than
 * the golden record's: arm64 for arm64, the generic arch with the word size
 * for ppc64 and 64-bit mips (no package), arm for a bare 32-bit 4K mips log
 * (the lines are the same bytes; another line of the log must name mips).
 */
function expectedArch(rec: BootLogRecord): { arch: string; bits: 32 | 64 } {
  if (rec.arch === "ppc64" || (rec.arch === "mips" && rec.inputs.bits === 64))
    return { arch: "generic", bits: rec.inputs.bits };
  if (rec.arch === "mips") return { arch: "arm", bits: 32 };
  return { arch: rec.arch, bits: rec.inputs.bits };
}

describe("from-dmesg: every real boot log of the golden tests, from the log text alone", () => {
  for (const rec of BOOT_LOGS) {
    it(`${rec.id}: boot --config on the derived config prints the log's percpu lines`, () => {
      const r = configFromDmesg(noise(rec.raw), ALL_DEFINITIONS);
      const k = bootKernel(r.config);
      const want = expectedArch(rec);
      expect([r.config.arch, k.machine.bits]).toEqual([want.arch, want.bits]);
      expect(k.machine.pageSize).toBe(2 ** rec.inputs.pageShift);
      const log = percpuLines(rec.raw);
      const kinds = new Set(log.map(kindOf));
      const mine = percpuLines(k.dmesg()).filter((l) => kinds.has(kindOf(l)));
      const strip = (l: string) => l.replace(/@(.+?) s(\d)/, "@BASE s$2");
      if (r.baseReproduced === false) expect(mine.map(strip)).toEqual(log.map(strip));
      else expect(mine).toEqual(log);
      /* What the log states is in the config, in numbers. */
      /* A !CONFIG_SMP kernel: no static area; the config says smp off, the kernel has one CPU. */
      expect(k.config.smp).toBe(rec.id !== "rpi-up-3.6");
      if (!k.config.smp) expect(k.config.staticSize).toBe(rec.inputs.staticSize);
      else if (rec.partial !== "group-lines-only") {
        expect(r.config.staticSize).toBe(rec.inputs.staticSize);
        expect(r.config.reservedSize).toBe(rec.inputs.reservedSize);
      }
      /* A node without CPUs (suse-5.2's memoryless node 0) leaves no trace in the lines. */
      if (rec.inputs.nodes)
        expect(k.config.nodeCpus.filter((n) => n.length > 0)).toEqual(
          rec.inputs.nodes.filter((n) => n.length > 0),
        );
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

  it("infers PAGE_SIZE from s+r+d and the pages/cpu count, and says what the log leaves open (asahi 16K)", () => {
    const rec = BOOT_LOGS.find((r) => r.id === "asahi-m1-mini-5.11-16k")!;
    const r = configFromDmesg(rec.raw.join("\n"), ALL_DEFINITIONS);
    expect(r.config).toMatchObject({
      arch: "arm64",
      pageSize: "16K",
      cpus: 8,
      staticSize: 57888,
      reservedSize: 0,
    });
    expect(r.notes).toEqual([
      "PAGE_SIZE 16K: the summary line's s+r+d = 98304 bytes are 6 pages/cpu",
      "the percpu lines do not name the arch: arm64 runs the generic embed setup with 16K pages and page-sized atoms and prints them (mips64 and loongarch64 with 16K pages print the same lines)",
      /* PFN_ALIGN(57888 + dyn) = 98304 for every dyn in 24033..40416 */
      "the dynamic size the arch asked for is not printed: any request of 24033..40416 bytes rounds up to the same 16K pages; the config asks the printed d40416",
    ]);
  });

  it("takes ppc64 from a 1M atom with 64K pages, and mips64 / ppc64 from the base's address range", () => {
    const suse = configFromDmesg(
      BOOT_LOGS.find((r) => r.id === "suse-5.2-power9-lpar-64k")!.raw.join("\n"),
      ALL_DEFINITIONS,
    );
    expect(suse.config).toMatchObject({ arch: "generic", bits: 64, pageSize: "64K", atomSize: 1048576 });
    expect(suse.notes.join(" ")).toMatch(/a 1M atom with 64K pages is ppc64's setup_per_cpu_areas/);
    const ip27 = configFromDmesg(
      BOOT_LOGS.find((r) => r.id === "sgi-ip27-mips64-16k")!.raw.join("\n"),
      ALL_DEFINITIONS,
    );
    expect(ip27.config).toMatchObject({ arch: "generic", bits: 64, pageSize: "16K", era: "v3.18" });
    expect(ip27.baseReproduced).toBe(false);
    expect(ip27.notes.join(" ")).toMatch(/@a800000002010000 is in mips64's XKPHYS: mips64 has no package/);
    const fedora = configFromDmesg(
      BOOT_LOGS.find((r) => r.id === "fedora24-ppc64le-4.5-64k")!.raw.join("\n"),
      ALL_DEFINITIONS,
    );
    expect(fedora.notes.join(" ")).toMatch(/@c00000013fe00000 is in ppc64's linear map/);
  });

  it("follows an arch the rest of the log names: a 32-bit 4K mips log is the generic arch, not arm", () => {
    const rec = BOOT_LOGS.find((r) => r.id === "openwrt-mt7621-4cpu")!;
    const bare = configFromDmesg(rec.raw.join("\n"), ALL_DEFINITIONS);
    expect(bare.config.arch).toBe("arm");
    expect(bare.notes.join(" ")).toMatch(/32-bit mips prints the same lines/);
    const log = ["[    0.000000] CPU0 revision is: 0001992f (MIPS 1004Kc)", ...rec.raw].join("\n");
    const r = configFromDmesg(log, ALL_DEFINITIONS);
    expect(r.config).toMatchObject({ arch: "generic", bits: 32, era: "v6", staticSize: 43344 });
    expect(r.notes[0]).toBe(
      "the log names the arch (\"CPU0 revision is: 0001992f (MIPS 1004Kc)\"): mips has no package: the generic arch (32-bit, 4K pages, mm/percpu.c's embed setup) with the log's sizes stands in for it",
    );
    expect(percpuLines(bootKernel(r.config).dmesg())).toEqual(percpuLines(rec.raw).map((l) => l.trimEnd()));
    expect(dmesgArchHint("Linux version 5.10.0-8-arm64 (debian-kernel@lists.debian.org)")?.arch).toBe(
      "arm64",
    );
    expect(dmesgArchHint("Linux version 4.5.5-300.fc24.ppc64le (mockbuild@host)")).toMatchObject({
      arch: "ppc64",
      bits: 64,
    });
    expect(dmesgArchHint("[    0.000000] percpu: Embedded 6 pages/cpu s57888 r0 d40416 u98304")).toBeNull();
  });

  it("reads the page size of a dump-only log from a page-sized atom (16K)", () => {
    const r = configFromDmesg(
      "pcpu-alloc: s20864 r0 d44672 u65536 alloc=4*16384\npcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 ",
      ALL_DEFINITIONS,
    );
    expect(r.config).toMatchObject({ arch: "arm64", pageSize: "16K", cpus: 4, staticSize: 20864 });
    expect(r.notes[0]).toMatch(/the atom 16K is the generic setup's PAGE_SIZE/);
  });

  it("reproduces the uniprocessor log with a !CONFIG_SMP kernel, and says what the lines leave open", () => {
    const rec = BOOT_LOGS.find((r) => r.id === "rpi-up-3.6")!;
    const r = configFromDmesg(rec.raw.join("\n"), ALL_DEFINITIONS);
    expect(r.config).toEqual({ arch: "arm", era: "v6", smp: false });
    expect(r.notes).toEqual([
      /* roundup_pow_of_two(max(32K, 20K)) */
      "a uniprocessor (!CONFIG_SMP) kernel: mm/percpu.c's UP setup_per_cpu_areas built one unit of roundup_pow_of_two(max(PCPU_MIN_UNIT_SIZE, PERCPU_DYNAMIC_RESERVE)) = 32768 bytes, all dynamic (s0 r0)",
      "the lines name neither the arch nor the word size (every arch's UP kernel runs this setup): arm, the commonest uniprocessor build, prints them",
      "PAGE_SIZE is open up to 32K (the unit is PCPU_MIN_UNIT_SIZE whatever the page): 4K assumed",
      "the era is open (the dump lines are the same in every era): v6 assumed",
    ]);
    expect(r.bootLines).toEqual(["pcpu-alloc: s0 r0 d32768 u32768 alloc=1*32768", "pcpu-alloc: [0] 0"]);
    /* A UP log of an arch the rest of the log names: the i386 UP kernel prints the same two lines. */
    const i386 = configFromDmesg(
      ["Linux version 3.6.0 (root@host) (gcc version 4.7 (i686-pc-linux-gnu))", ...rec.raw].join("\n"),
      ALL_DEFINITIONS,
    );
    expect(i386.config).toMatchObject({ arch: "i386", smp: false });
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
