/*
 * Kernels with 16 KiB and 64 KiB pages, booted the way a user does: arm64
 * with `--page-size`, and the generic arch with `--bits` / `--page-size`
 * for arches without a package (ppc64, mips). Each case is a real boot log
 * (the same lines as @pcpu/percpu's golden records, sources cited there and
 * here); the kernel's percpu lines must come out byte for byte (the `@%p`
 * base older kernels print is the model's address, so only that token is
 * compared loosely).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { bootKernel, ConfigError, type KernelConfig, resolveConfig } from "../src/index.js";
import { ALL_DEFINITIONS } from "../src/registry.js";

interface Case {
  readonly id: string;
  readonly source: string;
  readonly config: KernelConfig;
  /** The log's percpu lines, printk prefix removed. */
  readonly lines: readonly string[];
}

const CASES: readonly Case[] = [
  {
    id: "asahi-m1-mini-5.11-16k",
    source: "https://github.com/AsahiLinux/docs/blob/main/Developer-Quickstart.md",
    config: {
      arch: "arm64",
      pageSize: "16K",
      era: "v5.14",
      cpus: 8,
      nodes: "0-7",
      modules: false,
      staticSize: 57888,
    },
    lines: [
      "percpu: Embedded 6 pages/cpu s57888 r0 d40416 u98304",
      "pcpu-alloc: s57888 r0 d40416 u98304 alloc=6*16384",
      "pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 [0] 4 [0] 5 [0] 6 [0] 7 ",
    ],
  },
  {
    id: "fedora-asahi-m1pro-16k",
    source: "https://github.com/leifliddy/asahi-fedora-builder/issues/27",
    config: { arch: "arm64", pageSize: 16384, cpus: 8, nodes: "0-7", staticSize: 188648 },
    lines: [
      "percpu: Embedded 14 pages/cpu s188648 r8192 d32536 u229376",
      "pcpu-alloc: s188648 r8192 d32536 u229376 alloc=14*16384",
      "pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 [0] 4 [0] 5 [0] 6 [0] 7 ",
    ],
  },
  {
    id: "rpi5-6.18-16k",
    source: "https://github.com/naterjlao/pi-dogdoor/blob/main/README.md",
    config: { arch: "arm64", pageSize: "16K", cpus: 4, nodes: "0-3", staticSize: 95512 },
    lines: [
      "percpu: Embedded 9 pages/cpu s95512 r8192 d43752 u147456",
      "pcpu-alloc: s95512 r8192 d43752 u147456 alloc=9*16384",
      "pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 ",
    ],
  },
  {
    id: "fedora24-ppc64le-4.5-64k",
    source: "https://github.com/workhorsy/py-cpuinfo/blob/master/tests/test_linux_fedora_24_ppc64le.py",
    config: {
      arch: "generic",
      pageSize: "64K",
      era: "v3.18",
      cpus: 2,
      staticSize: 128792,
      reservedSize: 0,
      dynSize: 36864,
      atomSize: "1M",
    },
    lines: [
      "PERCPU: Embedded 3 pages/cpu @c00000013fe00000 s128792 r0 d67816 u524288",
      "pcpu-alloc: s128792 r0 d67816 u524288 alloc=1*1048576",
      "pcpu-alloc: [0] 0 1 ",
    ],
  },
  {
    id: "debian8-ppc64le-3.16-64k",
    source: "https://github.com/workhorsy/py-cpuinfo/blob/master/tests/test_linux_debian_8_7_1_ppc64le.py",
    config: {
      arch: "generic",
      pageSize: 65536,
      era: "v3.18",
      cpus: 2,
      staticSize: 102400,
      reservedSize: 0,
      dynSize: 28672,
      atomSize: "1M",
    },
    lines: [
      "PERCPU: Embedded 2 pages/cpu @c000000000e00000 s102400 r0 d28672 u524288",
      "pcpu-alloc: s102400 r0 d28672 u524288 alloc=1*1048576",
      "pcpu-alloc: [0] 0 1 ",
    ],
  },
  {
    id: "suse-5.2-power9-lpar-64k",
    source: "LKML: dmesg.txt of 5.2.0-rc6-13.g21111ce-default (linux-mailinglist-archives mirror)",
    config: {
      arch: "generic",
      pageSize: "64K",
      era: "v5.14",
      cpus: 8,
      staticSize: 624536,
      reservedSize: 0,
      dynSize: 36864,
      atomSize: "1M",
    },
    lines: [
      "percpu: Embedded 11 pages/cpu s624536 r0 d96360 u1048576",
      "pcpu-alloc: s624536 r0 d96360 u1048576 alloc=1*1048576",
      "pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 [0] 4 [0] 5 [0] 6 [0] 7 ",
    ],
  },
  {
    id: "powernv-5.8-24cpu-64k",
    source: "linuxppc-dev: 5.8.0-rc5 PowerNV boot log (linux-mailinglist-archives mirror)",
    config: {
      arch: "generic",
      pageSize: "64K",
      era: "v5.14",
      cpus: 24,
      memPerNode: "2G",
      staticSize: 632984,
      reservedSize: 0,
      dynSize: 36864,
      atomSize: "1M",
    },
    lines: [
      "percpu: Embedded 11 pages/cpu s632984 r0 d87912 u1048576",
      "pcpu-alloc: s632984 r0 d87912 u1048576 alloc=1*1048576",
      "pcpu-alloc: [0] 00 [0] 01 [0] 02 [0] 03 [0] 04 [0] 05 [0] 06 [0] 07 ",
      "pcpu-alloc: [0] 08 [0] 09 [0] 10 [0] 11 [0] 12 [0] 13 [0] 14 [0] 15 ",
      "pcpu-alloc: [0] 16 [0] 17 [0] 18 [0] 19 [0] 20 [0] 21 [0] 22 [0] 23 ",
    ],
  },
  {
    id: "openpower-160cpu-64k",
    source: "https://github.com/open-power/occ/issues/13",
    config: {
      arch: "generic",
      pageSize: "64K",
      era: "v3.18",
      cpus: 160,
      memPerNode: "2G",
      staticSize: 43672,
      reservedSize: 0,
      dynSize: 36864,
      atomSize: "1M",
    },
    /* only the summary line is in the paste */
    lines: ["PERCPU: Embedded 2 pages/cpu @c000001ffc000000 s43672 r0 d87400 u131072"],
  },
  {
    id: "sgi-ip27-mips64-16k",
    source: "linux-mm: Joshua Kinard's SGI IP27 boot log, PAGE_SIZE 16K (linux-mailinglist-archives mirror)",
    config: { arch: "generic", pageSize: "16K", era: "v3.18", cpus: 4, modules: false, staticSize: 20864 },
    lines: [
      "PERCPU: Embedded 4 pages/cpu @a800000002010000 s20864 r0 d44672 u65536",
      "pcpu-alloc: s20864 r0 d44672 u65536 alloc=4*16384",
      "pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 ",
    ],
  },
  {
    id: "octeon-2.6.32-mips64-16k",
    source: "a public GitHub copy of a Cavium Octeon+ SDK 2.2 boot log (2.6.32.27)",
    config: { arch: "generic", pageSize: "16K", era: "v2.6.32", cpus: 2, staticSize: 10112 },
    lines: [
      "PERCPU: Embedded 3 pages/cpu @a8000000037e0000 s10112 r8192 d30848 u65536",
      "pcpu-alloc: s10112 r8192 d30848 u65536 alloc=4*16384",
      "pcpu-alloc: [0] 0 [0] 1 ",
    ],
  },
];

/** The percpu lines of a dmesg, with an `@%p` base replaced by a marker. */
function percpuLines(lines: readonly string[], n: number): string[] {
  return lines
    .filter((l) => /^(percpu|PERCPU|pcpu-alloc): /.test(l))
    .slice(0, n)
    .map(normBase);
}

function normBase(l: string): string {
  return l.replace(/ @[0-9a-f]{8,16} /, " @BASE ");
}

/* Pasted dump lines lost their trailing space; the kernel prints one (see @pcpu/percpu's golden notes). */
const expected = (c: Case) => c.lines.map(normBase);

describe("bootKernel: real 16K / 64K boot logs, byte for byte", () => {
  for (const c of CASES) {
    it(`${c.id} (${c.config.arch}, ${c.config.pageSize}): ${c.source}`, () => {
      const k = bootKernel({ ...c.config, trace: false });
      expect(percpuLines(k.dmesg(), c.lines.length)).toEqual(expected(c));
      expect(k.machine.pageSize).toBe(
        resolveConfig(c.config, (n) => ALL_DEFINITIONS.arches.find((d) => d.name === n)).pageSize,
      );
    });
  }
});

describe("page size and word size in the config", () => {
  const lookup = (n: string) => ALL_DEFINITIONS.arches.find((d) => d.name === n);
  it("accepts 4K/16K/64K (or bytes) on arm64 and 4K..256K, 32 or 64 bits on generic", () => {
    expect(resolveConfig({ arch: "arm64" }, lookup).pageSize).toBe(4096);
    expect(resolveConfig({ arch: "arm64", pageSize: "64K" }, lookup).pageSize).toBe(65536);
    expect(resolveConfig({ arch: "arm64", pageSize: "16384" }, lookup).pageSize).toBe(16384);
    const g = resolveConfig({ arch: "generic", bits: "32", pageSize: "256K" }, lookup);
    expect([g.bits, g.pageSize]).toEqual([32, 262144]);
    expect(resolveConfig({ arch: "x86_64" }, lookup)).toMatchObject({ pageSize: 4096, bits: 64 });
  });
  it("refuses a page size or word size the arch does not build, naming the setting", () => {
    const bad: [KernelConfig, string, RegExp][] = [
      [{ arch: "x86_64", pageSize: "16K" }, "pageSize", /x86_64 builds 4K pages, not 16384 bytes/],
      [{ arch: "arm64", pageSize: "8K" }, "pageSize", /arm64 builds 4K, 16K, 64K pages/],
      [{ arch: "arm64", pageSize: "16k!" }, "pageSize", /is not a size/],
      [
        { arch: "generic", pageSize: "2K" },
        "pageSize",
        /generic builds 4K, 8K, 16K, 32K, 64K, 128K, 256K pages/,
      ],
      [{ arch: "arm64", bits: 32 }, "bits", /arm64 is 64-bit, not 32-bit/],
      [{ arch: "generic", bits: "16" }, "bits", /generic is 64 or 32-bit, not 16-bit/],
      [
        { arch: "arm64", pageSize: "64K", memPerNode: "16400K" },
        "memPerNode",
        /not a multiple of the page size 65536/,
      ],
      [{ arch: "arm64", pageSize: "64K", atomSize: "16K" }, "atomSize", /between the page size 65536 and 1G/],
    ];
    for (const [config, setting, re] of bad) {
      let err: unknown;
      try {
        resolveConfig(config, lookup);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(config)).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).setting).toBe(setting);
      expect((err as ConfigError).message).toMatch(re);
    }
  });
  it("boots a 32-bit generic kernel with 16K pages in the 3G/1G layout", () => {
    const k = bootKernel({ arch: "generic", bits: 32, pageSize: "16K", cpus: 4, trace: false });
    expect(k.machine.bits).toBe(32);
    /* 32-bit: PERCPU_DYNAMIC_RESERVE 20K; PFN_ALIGN(0x10000 + 8K + 20K) = 6 x 16K */
    expect(k.dmesg()).toContain("percpu: Embedded 6 pages/cpu s65536 r8192 d24576 u98304");
    const p = k.percpu.alloc(16, 8);
    expect(p).not.toBeNull();
    expect(p! >>> 0).toBe(p);
  });
});

describe("pcpu-kernel CLI bundles for arm64 and generic", () => {
  const app = join(dirname(fileURLToPath(import.meta.url)), "..");
  const tmp = mkdtempSync(join(tmpdir(), "pcpu-kernel-non4k-"));
  const bundle = (name: string) => join(tmp, name, "pcpu-kernel.mjs");
  const run = (name: string, args: string[]) =>
    spawnSync(process.execPath, [bundle(name), ...args], { cwd: tmp, encoding: "utf8" });

  beforeAll(() => {
    for (const arch of ["arm64", "generic"]) {
      const r = spawnSync(
        process.execPath,
        ["scripts/build.mjs", "--arch", arch, "--population", "vm", "--outdir", join(tmp, `${arch}-vm`)],
        { cwd: app, encoding: "utf8" },
      );
      if (r.status !== 0) throw new Error(`build ${arch} failed: ${r.stderr}`);
    }
  }, 120_000);

  it("boots arm64 with --page-size 4K, 16K and 64K (bytes accepted)", () => {
    const want: Record<string, string> = {
      "4K": "percpu: Embedded 32 pages/cpu s91224 r8192 d31656 u131072",
      "16384": "percpu: Embedded 8 pages/cpu s91224 r8192 d31656 u131072",
      "64K": "percpu: Embedded 2 pages/cpu s91224 r8192 d31656 u131072",
    };
    for (const [size, line] of Object.entries(want)) {
      const r = run("arm64-vm", ["boot", "--page-size", size, "--cpus", "4", "--nodes", "0-3"]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.split("\n")).toContain(line);
    }
  });

  it("boots the generic arch from its sizes: a ppc64 64K log and a 16K mips log", () => {
    const ppc = CASES.find((c) => c.id === "fedora24-ppc64le-4.5-64k")!;
    const r = run("generic-vm", [
      "boot",
      "--bits",
      "64",
      "--page-size",
      "64K",
      "--era",
      "v3.18",
      "--cpus",
      "2",
      "--static-size",
      "128792",
      "--reserved-size",
      "0",
      "--dyn-size",
      "36864",
      "--atom-size",
      "1M",
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(percpuLines(r.stdout.split("\n"), 3)).toEqual(expected(ppc));
    const mips = CASES.find((c) => c.id === "sgi-ip27-mips64-16k")!;
    const m = run("generic-vm", [
      "boot",
      "--page-size",
      "16K",
      "--era",
      "v3.18",
      "--cpus",
      "4",
      "--modules",
      "off",
      "--static-size",
      "20864",
    ]);
    expect(m.status, m.stderr).toBe(0);
    expect(percpuLines(m.stdout.split("\n"), 3)).toEqual(expected(mips));
  });

  it("refuses a bad page size with one line on stderr and exit 2", () => {
    const r = run("arm64-vm", ["boot", "--page-size", "32K"]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trimEnd().split("\n")).toEqual([
      "pcpu-kernel: invalid config: pageSize (--page-size): arm64 builds 4K, 16K, 64K pages, not 32768 bytes",
    ]);
  });
});
