/*
 * pcpu-kernel as a Unix tool, run the way people run it: the `pcpu-kernel`
 * bin (the package's launcher in front of a build of the CLI), from another
 * working directory, in pipes, with their own files; plus `pnpm --silent
 * kernel` and `pnpm exec pcpu-kernel` as the README shows them.
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const app = join(dirname(fileURLToPath(import.meta.url)), "..");
const repo = join(app, "../..");
const tmp = mkdtempSync(join(tmpdir(), "pcpu-kernel-unix-"));
/* A package laid out as published: bin/pcpu-kernel.mjs in front of dist/cli/main.js. */
const pkg = join(tmp, "pkg");
const bin = join(pkg, "bin/pcpu-kernel.mjs");
/* Where the user stands: not the repository, not the package. */
const home = join(tmp, "home");
const fixture = (name: string) => join(app, "test/fixtures", name);

function build(args: string[], outdir: string): void {
  const r = spawnSync(process.execPath, ["scripts/build.mjs", ...args, "--outdir", outdir], {
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

/** The bin, run from `cwd` (default: the user's home), with no package-manager variables. */
function cli(args: string[], cwd = home, input?: string | Buffer): Run {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k === "INIT_CWD" || k.startsWith("npm_")) delete env[k];
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, env, encoding: "utf8", input });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function bundleCli(name: string, args: string[]): Run {
  const r = spawnSync(process.execPath, [join(tmp, name, "pcpu-kernel.mjs"), ...args], {
    cwd: home,
    encoding: "utf8",
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function pnpm(args: string[], cwd: string): Run {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k === "INIT_CWD" || k.startsWith("npm_")) delete env[k];
  const r = spawnSync("pnpm", args, { cwd, env, encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function ok(r: Run): Run {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.err}`);
  expect(r.err).toBe("");
  return r;
}

beforeAll(() => {
  build(["--arch", "all"], join(tmp, "all"));
  build(["--arch", "arm", "--population", "km"], join(tmp, "arm-km"));
  build(["--arch", "x86_64", "--population", "km"], join(tmp, "x86_64-km"));
  mkdirSync(join(pkg, "bin"), { recursive: true });
  mkdirSync(join(pkg, "dist/cli"), { recursive: true });
  copyFileSync(join(app, "bin/pcpu-kernel.mjs"), bin);
  copyFileSync(join(tmp, "all/pcpu-kernel.mjs"), join(pkg, "dist/cli/main.js"));
  mkdirSync(join(home, "sub"), { recursive: true });
}, 120_000);

describe("1. stdout holds only the result", () => {
  it("the bin's --json output is one JSON document", () => {
    const j = JSON.parse(ok(cli(["boot", "--json"])).out);
    expect(j.config.arch).toBe("x86_64");
    expect(j.dmesg).toContain("percpu: Embedded 45 pages/cpu s147456 r8192 d28672 u524288");
  });
  it("pnpm --silent kernel, from the repository and from elsewhere with --dir, prints only the JSON", () => {
    const a = pnpm(["--silent", "kernel", "config", "--json", "--cpus", "2"], repo);
    expect(a.code).toBe(0);
    expect(JSON.parse(a.out).cpus).toBe(2);
    const b = pnpm(["--silent", "--dir", repo, "kernel", "boot", "--json", "--arch", "arm"], home);
    expect(b.code).toBe(0);
    expect(JSON.parse(b.out).config.arch).toBe("arm");
  });
  it("pnpm exec pcpu-kernel runs the workspace's bin", () => {
    const r = pnpm(["exec", "pcpu-kernel", "config", "--json", "--arch", "s390"], repo);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).arch).toBe("s390");
  });
  it("the README documents only silent commands", () => {
    const readme = readFileSync(join(repo, "README.md"), "utf8");
    const cmds =
      readme.match(/^pnpm (?!install|test|--silent|exec|build|typecheck|lint|bench)\S+.*$/gm) ?? [];
    expect(cmds).toEqual([]);
    expect(readme).toContain("pnpm --silent kernel boot --json | jq");
  });
});

describe("2. a closed pipe ends quietly", () => {
  it("exits 0 with nothing on stderr when the reader goes after the first line", async () => {
    const child = spawn(process.execPath, [bin, "run", "bpf-map", "--ops", "20000", "--trace", "-"], {
      cwd: home,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    let first = "";
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.stdout.once("data", (d: Buffer) => {
      first = d.toString().split("\n")[0]!;
      child.stdout.destroy();
    });
    const code = await new Promise<number | null>((res) => child.on("close", (c) => res(c)));
    expect(first).toBe("# tracer: nop");
    expect(code).toBe(0);
    /* --trace - sends the report to stderr: that, and nothing about the closed pipe */
    expect(err).toMatch(/^workload +bpf-map\n/);
    expect(err).not.toMatch(/EPIPE|Error|\n\s+at /);
  });
});

describe("3. paths from where the user stands", () => {
  it("reads and writes relative to the working directory, and names the path tried", () => {
    const sub = join(home, "sub");
    writeFileSync(join(sub, "k.json"), JSON.stringify({ arch: "arm", cpus: 2 }));
    expect(ok(cli(["boot", "--config", "k.json"], sub)).out).toContain("pcpu-alloc: [0] 0 [0] 1 \n");
    ok(cli(["run", "counters", "--ops", "5", "--trace", "t.txt"], sub));
    expect(readFileSync(join(sub, "t.txt"), "utf8")).toMatch(/^# tracer: nop\n/);
    const r = cli(["boot", "--config", "nope.json"], sub);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toBe(
      `pcpu-kernel: cannot read config file nope.json (tried ${join(sub, "nope.json")}): ENOENT (no such file or directory)\n`,
    );
  });
  it("resolves from the user's directory under pnpm --dir and in a subdirectory of the repository", () => {
    const sub = join(home, "sub");
    writeFileSync(join(sub, "k2.json"), JSON.stringify({ arch: "sparc32", cpus: 2 }));
    const r = pnpm(["--silent", "--dir", repo, "kernel", "boot", "--config", "k2.json", "--json"], sub);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).config.arch).toBe("sparc32");
    const missing = pnpm(["--silent", "kernel", "boot", "--config", "nope.json"], join(repo, "apps"));
    expect(missing.code).toBe(2);
    expect(missing.err).toContain(`(tried ${join(repo, "apps", "nope.json")})`);
  });
});

describe("4. config > k.json && boot --config k.json", () => {
  it("round-trips, JSON and .config", () => {
    const flags = ["--cpus", "4", "--nodes", "0-1;2-3", "--reserved-size", "16K", "--era", "v5.14"];
    writeFileSync(join(home, "k.json"), ok(cli(["config", ...flags])).out);
    writeFileSync(join(home, "k.config"), ok(cli(["config", "--kconfig", ...flags])).out);
    const direct = ok(cli(["boot", ...flags])).out;
    expect(direct).toContain("percpu: Embedded 47 pages/cpu s147456 r16384 d28672 u1048576\n");
    expect(ok(cli(["boot", "--config", "k.json"])).out).toBe(direct);
    expect(ok(cli(["boot", "--config", "k.config"])).out).toBe(direct);
    expect(JSON.parse(ok(cli(["config", "--config", "k.json"])).out)).toEqual(
      JSON.parse(readFileSync(join(home, "k.json"), "utf8")),
    );
  });
});

describe("5. a real distro .config", () => {
  it("boots Fedora's x86_64 config: NR_CPUS=8192, NUMA, no PERCPU_STATS, one summary line", () => {
    const r = cli(["boot", "--config", fixture("fedora-x86_64.config"), "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.config).toMatchObject({ arch: "x86_64", nrCpus: 8192, numa: true, stats: false, modules: true });
    expect(j.dmesg[0]).toBe("setup_percpu: NR_CPUS:8192 nr_cpumask_bits:8 nr_cpu_ids:8 nr_node_ids:2");
    expect(j.percpuStats).toBeNull();
    expect(r.err.split("\n")).toHaveLength(2);
    expect(r.err).toMatch(
      /^pcpu-kernel: .*fedora-x86_64\.config: used 4 percpu symbols \(CONFIG_MODULES=y, CONFIG_NR_CPUS=8192, CONFIG_NUMA=y, CONFIG_PERCPU_STATS=n\); ignored 30 others; not modelled: CONFIG_PCPU_DEV_REFCNT, CONFIG_X86_5LEVEL\n$/,
    );
  });
  it("honours CONFIG_SMP, CONFIG_NUMA and CONFIG_NEED_PER_CPU_* off", () => {
    writeFileSync(join(home, "up.config"), "CONFIG_X86_64=y\n# CONFIG_SMP is not set\nCONFIG_FOO=y\n");
    const up = JSON.parse(cli(["config", "--config", "up.config"]).out);
    expect(up).toMatchObject({ cpus: 1, nrCpus: 1, numa: false, nodes: "0" });
    writeFileSync(join(home, "nonuma.config"), "CONFIG_X86_64=y\n# CONFIG_NUMA is not set\n");
    expect(JSON.parse(cli(["config", "--config", "nonuma.config"]).out).nodes).toBe("0-7");
    writeFileSync(
      join(home, "embedonly.config"),
      'CONFIG_NEED_PER_CPU_EMBED_FIRST_CHUNK=y\n# CONFIG_NEED_PER_CPU_PAGE_FIRST_CHUNK is not set\nCONFIG_CMDLINE="quiet percpu_alloc=page"\n',
    );
    const r = cli(["boot", "--config", "embedonly.config"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/percpu_alloc=page but CONFIG_NEED_PER_CPU_PAGE_FIRST_CHUNK is not set/);
    writeFileSync(join(home, "typo.config"), "CONFIG_PCPU_CPU=4\n");
    expect(cli(["boot", "--config", "typo.config"]).err).toMatch(
      /CONFIG_PCPU_CPU: line 1: unknown model symbol/,
    );
  });
});

describe("6. replay tells the truth", () => {
  it("excludes the traced kernel's boot event and reports no false chunk difference", () => {
    ok(cli(["run", "bpf-map", "--ops", "300", "--trace", "own.txt"]));
    const j = JSON.parse(ok(cli(["replay", "own.txt", "--json"])).out);
    /* tracing starts after boot: no boot-time chunk creation in our own traces */
    expect(j.report.bootEvents).toBe(0);
    expect(j.report.trace.chunksCreated).toBe(j.report.replay.chunksCreated);
    expect(j.report.warnings).toEqual([]);
    expect(ok(cli(["replay", "own.txt"])).out).toMatch(
      /^replayed \d+ percpu events \(0 other entries skipped, 0 lost\)/,
    );
  });
  it("names unmatched frees and retried failures by line, warns on an empty capture and another #P", () => {
    const trace = [
      "# tracer: nop",
      "#",
      "# entries-in-buffer/entries-written: 4/4   #P:16",
      "#",
      "       systemd-1     [003] .....     1.000001: percpu_free_percpu: base_addr=ffffc90000000000 off=64 ptr=0000000000001040",
      "   kworker/3:1-88    [003] .....     1.000002: percpu_alloc_percpu_fail: reserved=0 is_atomic=1 size=4096 align=4096",
      "   kworker/3:1-88    [003] .....     1.000003: percpu_alloc_percpu: reserved=0 is_atomic=1 size=4096 align=4096 base_addr=ffffc90000000000 off=8192 ptr=0000000000002000",
      "   kworker/3:1-88    [003] .....     1.000004: percpu_free_percpu: base_addr=ffffc90000000000 off=8192 ptr=0000000000002000",
      "",
    ].join("\n");
    writeFileSync(join(home, "real.txt"), trace);
    const r = cli(["replay", "real.txt"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^frees of unknown pointers +1 \(line 5\)$/m);
    expect(r.out).toMatch(/^allocs retrying a failure +1 \(line 7\)$/m);
    expect(r.err).toBe(
      "pcpu-kernel: warning: real.txt: the capture is from a machine with 16 CPUs (#P:16), this kernel has 8: events of CPU n run on CPU n % 8\n",
    );
    writeFileSync(
      join(home, "empty.txt"),
      "# tracer: nop\n#\n# entries-in-buffer/entries-written: 0/0   #P:8\n",
    );
    const e = cli(["replay", "empty.txt", "--json"]);
    expect(e.code).toBe(0);
    expect(JSON.parse(e.out).report.events).toBe(0);
    expect(e.err).toBe("pcpu-kernel: warning: empty.txt: no percpu events: was events/percpu enabled?\n");
  });
});

describe("7. the kernel log when it matters", () => {
  it("--dmesg on boot, run and replay, text and JSON, with a level", () => {
    expect(ok(cli(["boot", "--dmesg=err"])).out).toBe("");
    const run = JSON.parse(ok(cli(["run", "counters", "--ops", "5", "--dmesg", "--json"])).out);
    expect(run.dmesg).toContain("pcpu-alloc: s147456 r8192 d28672 u524288 alloc=1*2097152");
    const text = ok(cli(["run", "counters", "--ops", "5", "--dmesg=info"])).out;
    expect(text).toMatch(/^setup_percpu: NR_CPUS:64 .*\n(.*\n)*\nworkload +counters\n/);
    ok(cli(["run", "counters", "--ops", "5", "--trace", "c.txt"]));
    expect(JSON.parse(ok(cli(["replay", "c.txt", "--dmesg", "--json"])).out).dmesg.length).toBeGreaterThan(3);
    const bad = cli(["boot", "--dmesg=loud"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(
      /--dmesg: "loud" is not a log level \(emerg, alert, crit, err, warn, notice, info, debug or 0-7\)/,
    );
  });
  it("a failed boot prints the log lines leading to the panic", () => {
    const r = cli([
      "boot",
      "--cpus",
      "64",
      "--nodes",
      "0-63",
      "--mem-per-node",
      "48M",
      "--static-size",
      "760K",
    ]);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err.split("\n").slice(-5)).toEqual([
      "setup_percpu: auto allocator failed (-12), falling back to page size",
      "percpu: failed to allocate 4K page for cpu61",
      "Kernel panic - not syncing: cannot initialize percpu area (err=-12)",
      "pcpu-kernel: boot failed: Kernel panic - not syncing: cannot initialize percpu area (err=-12)",
      "",
    ]);
    expect(r.err).toMatch(/^setup_percpu: NR_CPUS:64 nr_cpumask_bits:64 nr_cpu_ids:64 nr_node_ids:1\n/);
  });
});

describe("9. --nodes and --node", () => {
  it("refuses an empty node and a space-separated list, accepts one --node per node", () => {
    const empty = cli(["boot", "--nodes", "0-3;"]);
    expect(empty.code).toBe(2);
    expect(empty.err).toMatch(/node 1 of "0-3;" is empty/);
    const spaced = cli(["boot", "--nodes", "0-3 4-7"]);
    expect(spaced.code).toBe(2);
    expect(spaced.err).toMatch(
      /separate nodes with ";" \(quoted in a shell: --nodes '0-3;4-7'\) or give one --node per node/,
    );
    const two = JSON.parse(ok(cli(["boot", "--node", "0-2,7", "--node", "3-6", "--json"])).out);
    expect(two.config.nodes).toBe("0-2,7;3-6");
    expect(two.dmesg).toContain("pcpu-alloc: [0] 0 1 2 7 [1] 3 4 5 6 ");
    expect(cli(["boot", "--node", "0-3", "--nodes", "4-7"]).err).toMatch(/either --nodes or --node/);
  });
});

describe("10. the smaller ones", () => {
  it("--trace - writes the trace to stdout and the report to stderr", () => {
    const r = cli(["run", "counters", "--ops", "5", "--trace", "-"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^# tracer: nop\n/);
    expect(r.err).toMatch(/^workload +counters$/m);
    expect(cli(["run", "counters", "--trace", "-", "--json"]).err).toMatch(/both write to stdout/);
  });
  it("reads a trace from stdin with -", () => {
    const trace = cli(["run", "counters", "--ops", "5", "--trace", "-"]).out;
    expect(ok(cli(["replay", "-"], home, trace)).out).toMatch(/^replayed /);
  });
  it("says negative numbers must be positive", () => {
    expect(cli(["run", "counters", "--ops", "-3"]).err).toBe(
      "pcpu-kernel: --ops: -3 must be positive (an integer >= 0)\n",
    );
    expect(cli(["boot", "--cpus", "-2"]).err).toBe(
      "pcpu-kernel: invalid config: cpus (--cpus): -2 must be positive (at least 1)\n",
    );
  });
  it("refuses binary input without echoing it", () => {
    writeFileSync(
      join(home, "blob.bin"),
      Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 0x1b, 0x5b, 0x32, 0x4a]),
    );
    for (const args of [
      ["replay", "blob.bin"],
      ["boot", "--config", "blob.bin"],
    ]) {
      const r = cli(args);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/blob\.bin is a binary file, not text \(11 bytes\)\n$/);
      /* no control bytes of the file on the terminal */
      expect([...r.err].filter((c) => c !== "\n" && c < " ")).toEqual([]);
    }
  });
  it("a per-arch bundle's help shows its own arch's defaults; x86_64-km boots by default", () => {
    const help = bundleCli("arm-km", ["boot", "--help"]).out;
    expect(help).toMatch(/--arch ARCH +arm \(the only arch of this build\)/);
    expect(help).toMatch(/--population POPULATION +km \(the only backend of this build\)/);
    expect(help).toMatch(
      /--nr-cpus NRCPUS +CONFIG_NR_CPUS \(default 4 on arm, at least --cpus; at most 32\)/,
    );
    expect(help).toMatch(/--static-size SIZE +kernel static percpu size \(default 0xa000 on arm\)/);
    expect(help).toMatch(/--nodes NODES +.*\(default 0-7 on arm\)/);
    expect(help).not.toMatch(/x86_64/);
    const km = bundleCli("x86_64-km", ["boot"]);
    expect(km.code).toBe(0);
    expect(km.out).toContain("pcpu-alloc: [0] 0 1 2 3 4 5 6 7 \n");
  });
  it("run modules --modules off refuses", () => {
    const r = cli(["run", "modules", "--modules", "off"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/needs CONFIG_MODULES \(--modules on\)/);
  });
  it("policy switches are reachable from the CLI", () => {
    const j = JSON.parse(ok(cli(["boot", "--fix-free-hint-quirk", "--no-check-free", "--json"])).out);
    expect(j.config).toMatchObject({
      fixFreeHintQuirk: true,
      checkFree: false,
      fixPopulatedOvercount: false,
    });
    const km = ["run", "bpf-map", "--ops", "500", "--population", "km", "--cpus", "4", "--json"];
    const fixed = JSON.parse(ok(cli([...km, "--fix-populated-overcount"])).out).summary;
    const faithful = JSON.parse(ok(cli(km)).out).summary;
    /* one km chunk of 4 units: the kernel counts its 4 x 128 pages per unit, the fix 128 */
    expect(faithful.chunksCreated).toBe(1);
    expect(faithful.populatedPages - fixed.populatedPages).toBe(384);
    expect(cli(["boot", "--fix-populated-overcount"]).err).toMatch(/population vm populates page by page/);
  });
});

describe("16. /proc files", () => {
  it("vmallocinfo shows the chunks' pcpu_get_vm_areas areas as the kernel prints them", () => {
    const r = ok(cli(["proc", "/proc/vmallocinfo", "--after", "bpf-map", "--ops", "3000"]));
    /* the line a real x86_64 machine shows for its first dynamic chunk's top group */
    expect(r.out.split("\n")).toContain(
      "0xffffe8ffffc00000-0xffffe8ffffe00000 2097152 pcpu_get_vm_areas+0x0/0x1a40 vmalloc",
    );
    expect(ok(cli(["proc", "vmallocinfo"])).out).toBe("");
    expect(ok(cli(["proc", "vmallocinfo", "--percpu-alloc", "page"])).out).toBe(
      /* the page first chunk's early area: 8 units of 43 pages, no caller */
      "0xffffc90000000000-0xffffc90000158000 1409024 vmalloc\n",
    );
  });
  it("meminfo has the lines the model fills, in the kernel's layout and era", () => {
    const m = ok(cli(["proc", "meminfo"])).out;
    expect(m).toMatch(
      /^MemTotal: +\d+ kB\nMemFree: +\d+ kB\nVmallocTotal: {3}34359738367 kB\nVmallocUsed: {11}0 kB\nVmallocChunk: {10}0 kB\nPercpu: {13}1440 kB\n$/,
    );
    const old = JSON.parse(
      ok(cli(["proc", "meminfo", "--era", "v2.6.32", "--percpu-alloc", "page", "--json"])).out,
    );
    expect(old.lines.slice(2)).toEqual([
      "VmallocTotal:   34359738367 kB",
      "VmallocUsed:        1216 kB",
      "VmallocChunk:   34359737151 kB",
    ]);
    expect(cli(["proc", "slabinfo"]).err).toMatch(/no \/proc file "slabinfo" in the model/);
  });
});

describe("17. trace-cmd report as replay input", () => {
  it("replays trace-cmd report text like a tracing trace file", () => {
    const r = cli([
      "replay",
      join(repo, "packages/percpu-stats/test/fixtures/trace-cmd-report.txt"),
      "--json",
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out).report;
    /*
     * The chunk created at 0.543208 by <idle>-0 is a running kernel's (the
     * first chunk's tracepoint fires in setup_per_cpu_areas, before tracing
     * exists): it is counted, not taken for the boot's.
     */
    expect(j).toMatchObject({
      events: 5,
      skipped: 2,
      bootEvents: 0,
      traceCpus: 4,
      unmatchedFrees: 0,
      retries: 1,
    });
    expect(j.trace).toMatchObject({ allocs: 2, frees: 1, failures: 1 });
    expect(r.err).toMatch(/this kernel has 8/);
  });
});
