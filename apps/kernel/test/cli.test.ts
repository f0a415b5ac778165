/*
 * The CLI as a user runs it: child processes of the real esbuild bundles
 * (built once here: the full build and two per-arch builds), plus one run
 * through `pnpm kernel` (tsx on the sources) as the README shows.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const app = join(dirname(fileURLToPath(import.meta.url)), "..");
const tmp = mkdtempSync(join(tmpdir(), "pcpu-kernel-cli-"));
const bundle = (name: string) => join(tmp, name, "pcpu-kernel.mjs");

function build(args: string[], name: string): void {
  const r = spawnSync(process.execPath, ["scripts/build.mjs", ...args, "--outdir", join(tmp, name)], {
    cwd: app,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`build ${args.join(" ")} failed: ${r.stderr}`);
}

interface Run {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

function cli(args: string[], name = "all"): Run {
  const r = spawnSync(process.execPath, [bundle(name), ...args], {
    cwd: tmp,
    encoding: "utf8",
    env: { ...process.env, INIT_CWD: tmp },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A user error: exit 2, one line on stderr naming the problem, nothing on stdout. */
function usage(r: Run, re: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.out).toBe("");
  expect(r.err).toMatch(re);
  expect(r.err.trimEnd().split("\n")).toHaveLength(1);
  expect(r.err).not.toMatch(/\n\s+at /);
}

beforeAll(() => {
  build(["--arch", "all"], "all");
  build(["--arch", "x86_64", "--population", "vm"], "x86_64-vm");
  build(["--arch", "arm", "--population", "km"], "arm-km");
});

const ARCHES = ["x86_64", "i386", "arm", "sparc32", "s390"] as const;

describe("pcpu-kernel boot (the boot log)", () => {
  for (const arch of ARCHES) {
    for (const population of ["vm", "km"] as const) {
      it(`${arch} ${population}`, () => {
        const r = cli([
          "boot",
          "--arch",
          arch,
          "--population",
          population,
          "--cpus",
          "4",
          ...(arch === "x86_64" && population === "km" ? ["--nodes", "0-3"] : []),
        ]);
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/^percpu: Embedded \d+ pages\/cpu s\d+ r\d+ d\d+ u\d+$/m);
        expect(r.out).toMatch(/^pcpu-alloc: s\d+ r\d+ d\d+ u\d+ alloc=\d+\*\d+$/m);
        expect(r.out).toMatch(/^pcpu-alloc: \[0\] 0 /m);
      });
    }
  }
  it("both first-chunk allocators on x86 (embed, page)", () => {
    const embed = cli(["boot", "--percpu-alloc", "embed"]);
    expect(embed.out).toContain("percpu: Embedded 45 pages/cpu s147456 r8192 d28672 u524288\n");
    const page = cli(["boot", "--percpu-alloc", "page", "--arch", "i386"]);
    expect(page.code).toBe(0);
    expect(page.out).toMatch(/^percpu: \d+ 4K pages\/cpu s\d+ r0 d\d+$/m);
  });
  it("prints percpu_stats with --stats and JSON with --json", () => {
    expect(cli(["boot", "--stats"]).out).toContain("Percpu Memory Statistics\n");
    const j = JSON.parse(cli(["boot", "--json", "--arch", "s390"]).out);
    expect(j.config.arch).toBe("s390");
    expect(j.dmesg).toContain("percpu: Embedded 41 pages/cpu s131072 r8192 d28672 u167936");
  });
  it("reads a .config and a kernel.config.json, flags overriding", () => {
    writeFileSync(
      join(tmp, ".config"),
      "CONFIG_ARM=y\nCONFIG_PCPU_CPUS=2\n# CONFIG_PERCPU_STATS is not set\n",
    );
    const r = cli(["boot", "--config", ".config", "--cpus", "3"]);
    expect(r.out).toContain("pcpu-alloc: [0] 0 [0] 1 [0] 2 \n");
    writeFileSync(join(tmp, "kernel.config.json"), JSON.stringify({ arch: "sparc32", cpus: 2 }));
    expect(cli(["boot", "--config", "kernel.config.json"]).out).toContain(
      "percpu: Embedded 15 pages/cpu s32768 r8192 d20480 u61440\n",
    );
  });
});

describe("pcpu-kernel run / start / replay", () => {
  it("start: boot lines, summary and percpu_stats", () => {
    const r = cli(["start", "--ops", "50"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^setup_percpu: NR_CPUS:64 nr_cpumask_bits:64 nr_cpu_ids:8 nr_node_ids:2\n/);
    expect(r.out).toMatch(/\nworkload +bpf-map\nops +50\n/);
    expect(r.out).toContain("\nPercpu Memory Statistics\n");
  });
  it.each(["bpf-map", "modules", "atomic-burst", "counters"])("run %s --json", (w) => {
    const r = cli(["run", w, "--ops", "40", "--json", "--cpus", "4"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.summary).toMatchObject({ workload: w, ops: 40 });
    expect(j.summary.frees).toBe(j.summary.allocs);
    expect(j.percpuStats.globalStats.nrCurAlloc).toBe(0);
  });
  it("runs on the 2009 area map allocator", () => {
    const j = JSON.parse(cli(["run", "modules", "--allocator", "area-map", "--ops", "60", "--json"]).out);
    expect(j.config.allocator).toBe("area-map");
    expect(j.summary.frees).toBe(j.summary.allocs);
  });
  it("--memcg off traces bytes_alloc without the obj_cgroup share", () => {
    expect(cli(["run", "counters", "--ops", "5", "--cpus", "8", "--trace", "on.txt"]).code).toBe(0);
    expect(
      cli(["run", "counters", "--ops", "5", "--cpus", "8", "--memcg", "off", "--trace", "off.txt"]).code,
    ).toBe(0);
    /* __percpu_counter_init_many: 4 bytes on 8 CPUs, plus one 8-byte obj_cgroup pointer with memcg */
    expect(readFileSync(join(tmp, "on.txt"), "utf8")).toMatch(/ size=4 .* bytes_alloc=40 /);
    expect(readFileSync(join(tmp, "off.txt"), "utf8")).toMatch(/ size=4 .* bytes_alloc=32 /);
  });
  it("run writes a trace that replay reads back with the same numbers", () => {
    const r = cli(["run", "bpf-map", "--ops", "60", "--trace", "t.txt", "--stats", "--seed", "4"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("Percpu Memory Statistics");
    expect(readFileSync(join(tmp, "t.txt"), "utf8")).toMatch(/^# tracer: nop\n/);
    const j = JSON.parse(cli(["replay", "t.txt", "--json"]).out).report;
    expect(j.replay.allocs).toBe(j.trace.allocs);
    expect(j.failedHereOnly).toBe(0);
    const table = cli(["replay", "t.txt", "--arch", "arm", "--population", "km"]);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^replayed \d+ percpu events/);
    expect(table.out).toMatch(/\nallocs +\d+ +\d+/);
  });
});

describe("pcpu-kernel errors and help", () => {
  it("refuses bad input with exit 2 and one line", () => {
    usage(cli(["boot", "--bogus"]), /unknown option --bogus/);
    usage(cli(["boot", "--cpus", "abc"]), /invalid config: cpus \(--cpus\): "abc" is not an integer/);
    usage(cli(["boot", "--arch", "mips"]), /arch \(--arch\)/);
    usage(cli(["boot", "--population", "km", "--nodes", "0-3;4-7"]), /km cannot handle more than one group/);
    usage(cli(["boot", "--arch", "arm", "--cpus", "64"]), /NR_CPUS limit of 32/);
    usage(cli(["boot", "--nodes", "0-2;4-7"]), /CPU 3 is in no node/);
    usage(cli(["boot", "--static-size", "big"]), /staticSize \(--static-size\): "big" is not a size/);
    usage(cli(["boot", "--cpus"]), /--cpus needs a value/);
    usage(cli(["boot", "--memcg=maybe"]), /--memcg: "maybe" is not on or off/);
    /* an on/off switch takes only on/off words as its next argument */
    usage(cli(["boot", "--memcg", "maybe"]), /unexpected argument "maybe"/);
    usage(cli(["run"]), /run needs a workload/);
    usage(cli(["run", "fork-bomb"]), /unknown workload "fork-bomb"/);
    usage(cli(["run", "counters", "--ops", "-3"]), /--ops: -3 must be positive/);
    usage(
      cli(["replay", "missing.txt"]),
      /cannot read trace missing.txt \(tried \/.*\/missing.txt\): ENOENT \(no such file or directory\)/,
    );
    writeFileSync(join(tmp, "bad.txt"), "garbage line\n");
    usage(cli(["replay", "bad.txt"]), /malformed trace: line 1/);
    usage(cli(["boot", "--config", "nope.json"]), /cannot read config file nope.json/);
    writeFileSync(join(tmp, "broken.json"), "{ arch: ");
    usage(cli(["boot", "--config", "broken.json"]), /not valid JSON/);
    usage(cli(["frobnicate"]), /unknown command "frobnicate"/);
  });
  it("exits 1 on a runtime failure (a panic at boot)", () => {
    const r = cli([
      "boot",
      "--arch",
      "sparc32",
      "--cpus",
      "32",
      "--mem-per-node",
      "16M",
      "--static-size",
      "1M",
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^pcpu-kernel: boot failed: /);
    expect(r.err.trimEnd().split("\n")).toHaveLength(1);
  });
  it.each(["start", "boot", "run", "replay", "config"])("%s --help", (c) => {
    const r = cli([c, "--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`^usage: pcpu-kernel ${c}`));
  });
  it("config prints the resolved config and Kconfig lines", () => {
    expect(JSON.parse(cli(["config", "--arch", "arm"]).out).nodes).toBe("0-7");
    expect(cli(["config", "--arch", "arm", "--kconfig"]).out).toContain("CONFIG_ARM=y\n");
  });
});

describe("per-build bundles (one arch, one backend)", () => {
  it("contain only their own arch package", () => {
    const x86 = readFileSync(bundle("x86_64-vm"), "utf8");
    const arm = readFileSync(bundle("arm-km"), "utf8");
    const pkgs = (s: string) =>
      [...new Set(s.match(/packages\/(arch-[a-z0-9]+|percpu-[a-z]+)\/src/g))].sort();
    expect(pkgs(x86)).toEqual([
      "packages/arch-generic/src",
      "packages/arch-x86/src",
      "packages/percpu-stats/src",
      "packages/percpu-vm/src",
    ]);
    expect(pkgs(arm)).toEqual([
      "packages/arch-arm/src",
      "packages/arch-generic/src",
      "packages/percpu-km/src",
      "packages/percpu-stats/src",
    ]);
  });
  it("boot their own arch by default and refuse others", () => {
    const r = cli(["boot"], "arm-km");
    expect(r.code).toBe(0);
    expect(r.out).toContain("percpu: Embedded 17 pages/cpu s40960 r8192 d20480 u69632\n");
    usage(cli(["boot", "--arch", "x86_64"], "arm-km"), /x86_64 is not built into this kernel build/);
    usage(cli(["boot", "--population", "km"], "x86_64-vm"), /population/);
  });
});

describe("pnpm kernel (tsx on the sources, as the README runs it)", () => {
  it("boots from the repository root", () => {
    const r = spawnSync("pnpm", ["--silent", "kernel", "boot", "--arch", "arm", "--cpus", "2"], {
      cwd: join(app, "../.."),
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("pcpu-alloc: [0] 0 [0] 1 \n");
  });
});
