/*
 * pcpu-kernel under bad input, run as a child process the way a user runs
 * it: every flag with a wrong type or an out-of-range value, missing
 * values, unknown flags and commands, unreadable and malformed config and
 * trace files. Each must end with exit code 2, exactly one line on stderr
 * starting "pcpu-kernel: ", no stack trace, and nothing on stdout (no
 * partial boot).
 *
 * By default the CLI runs from its TypeScript sources through tsx (always
 * the code in the tree). PCPU_RELIABILITY_CLI=dist runs the built
 * apps/kernel/dist/cli/main.js instead (faster; needs `pnpm build`). The
 * quick profile runs one case of each kind, the long profile all of them.
 */

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { PROFILE } from "./profile.js";

const KERNEL_APP = fileURLToPath(new URL("../../../apps/kernel/", import.meta.url));
const USE_DIST = process.env.PCPU_RELIABILITY_CLI === "dist";

function cliCommand(): string[] {
  if (USE_DIST) return [join(KERNEL_APP, "dist/cli/main.js")];
  return [
    "--conditions=@pcpu/source",
    "--import",
    import.meta.resolve("tsx"),
    join(KERNEL_APP, "src/cli/main.ts"),
  ];
}

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runCli(argv: readonly string[], cwd: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cliCommand(), ...argv], {
      cwd,
      env: { ...process.env, INIT_CWD: cwd, PCPU_KERNEL_DEBUG: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const dir = mkdtempSync(join(tmpdir(), "pcpu-reliability-cli-"));
const file = (name: string, text: string | Uint8Array) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
/* Bytes that are neither JSON nor a .config nor a trace. */
const garbage = Uint8Array.from({ length: 300 }, (_, i) => (i * 151 + 7) & 0xff);
const files = {
  truncatedJson: file("truncated.json", '{"cpus": 4,'),
  wrongTypeJson: file("wrong-type.json", '{"cpus": "four"}'),
  unknownKeyJson: file("unknown-key.json", '{"cpuz": 4}'),
  outOfRangeJson: file("out-of-range.json", '{"arch": "arm", "cpus": 64}'),
  badKconfig: file("bad.config", "CONFIG_NR_CPUS=abc\n"),
  unknownSymbol: file("unknown.config", 'CONFIG_PCPU_ALOCATOR="bitmap"\n'),
  garbage: file("garbage.bin", garbage),
  badTrace: file("bad.trace", "# tracer: nop\n  <idle>-0 [000] ..... 1.000: percpu_alloc_percpu: garbage\n"),
  textTrace: file("hello.trace", "hello\n"),
};
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** [argv, what stderr must say, quick?] */
type Case = readonly [argv: string, message: RegExp, quick?: boolean];

const CASES: Record<string, readonly Case[]> = {
  "a flag with a wrong type": [
    ["boot --cpus abc", /^invalid config: cpus \(--cpus\): "abc" is not an integer$/, true],
    ["boot --cpus=", /^invalid config: cpus \(--cpus\): "" is not an integer$/],
    [
      "boot --arch riscv",
      /^invalid config: arch \(--arch\): "riscv" is not one of x86_64, i386, arm, arm64, sparc32, s390, generic$/,
    ],
    ["boot --nodes abc", /^invalid config: nodes \(--nodes\): node 0: cpulist "abc"/],
    ["boot --mem-per-node abc", /^invalid config: memPerNode \(--mem-per-node\): "abc" is not a size/],
    ["boot --population xm", /^invalid config: population \(--population\): "xm" is not one of vm, km$/],
    [
      "boot --percpu-alloc lazy",
      /^invalid config: percpuAlloc \(--percpu-alloc\): "lazy" is not one of auto, embed, page$/,
    ],
    [
      "boot --allocator buddy",
      /^invalid config: allocator \(--allocator\): "buddy" is not one of bitmap, area-map$/,
    ],
    ["boot --static-size abc", /^invalid config: staticSize \(--static-size\): "abc" is not a size/],
    ["boot --reserved-size 12Q", /^invalid config: reservedSize \(--reserved-size\): "12Q" is not a size/],
    ["boot --dyn-size 0x", /^invalid config: dynSize \(--dyn-size\): "0x" is not a size/],
    ["boot --atom-size big", /^invalid config: atomSize \(--atom-size\): "big" is not a size/],
    ["boot --era v9", /^invalid config: era \(--era\): "v9" is not one of /],
    ["boot --nr-cpus many", /^invalid config: nrCpus \(--nr-cpus\): "many" is not an integer$/],
    ["boot --modules maybe", /^invalid config: modules \(--modules\): "maybe" is not on\/off/],
    ["boot --seed 1.5", /^invalid config: seed \(--seed\): "1.5" is not an integer$/],
    ["boot --stats=maybe", /^--stats: "maybe" is not on or off$/, true],
    ["boot --debug-checks=yes", /^option --debug-checks takes no value$/],
    ["boot --json=1", /^option --json takes no value$/],
    ["run counters --ops abc", /^--ops: "abc" is not an integer$/, true],
    ["run counters --scale abc", /^--scale: "abc" is not a positive number$/],
  ],
  "a flag with an out-of-range value": [
    ["boot --cpus 0", /^invalid config: cpus \(--cpus\): 0 must be at least 1$/, true],
    [
      "boot --cpus 100000",
      /^invalid config: cpus \(--cpus\): 100000 possible CPUs exceed the x86_64 NR_CPUS limit of 8192$/,
    ],
    [
      "boot --arch arm --cpus 64",
      /^invalid config: cpus \(--cpus\): 64 possible CPUs exceed the arm NR_CPUS limit of 32$/,
    ],
    [
      "boot --nodes 0-3;9",
      /^invalid config: nodes \(--nodes\): node 1 lists CPU 9 but only CPUs 0-7 are possible$/,
    ],
    ["boot --cpus 4 --nodes 0-1", /^invalid config: nodes \(--nodes\): CPU 2 is in no node/],
    ["boot --arch arm --nodes 0-3;4-7", /^invalid config: nodes \(--nodes\): arm has no CONFIG_NUMA/],
    [
      "boot --mem-per-node 1K",
      /^invalid config: memPerNode \(--mem-per-node\): 1024 bytes is below the 16M minimum per node$/,
    ],
    [
      "boot --atom-size 3",
      /^invalid config: atomSize \(--atom-size\): 3 must be a power of two between the page size 4096 and 1G$/,
      true,
    ],
    [
      "boot --static-size 2G",
      /^invalid config: staticSize \(--static-size\): static \+ reserved \+ dynamic sizes exceed 1G per unit$/,
    ],
    [
      "boot --dyn-size 2G",
      /^invalid config: dynSize \(--dyn-size\): static \+ reserved \+ dynamic sizes exceed 1G per unit$/,
    ],
    ["boot --nr-cpus 0", /^invalid config: nrCpus \(--nr-cpus\): 0 must be at least 1$/],
    [
      "boot --nr-cpus 2 --cpus 4",
      /^invalid config: cpus \(--cpus\): 4 possible CPUs exceed CONFIG_NR_CPUS=2$/,
    ],
    ["boot --seed -1", /^invalid config: seed \(--seed\): -1 must be positive \(at least 0\)$/],
    [
      "boot --arch arm --percpu-alloc page",
      /^invalid config: percpuAlloc \(--percpu-alloc\): arm does not build the page first chunk allocator/,
    ],
    [
      "boot --population km --nodes 0-3;4-7",
      /^invalid config: population \(--population\): km cannot handle more than one group/,
      true,
    ],
    ["run counters --ops -5", /^--ops: -5 must be positive \(an integer >= 0\)$/],
    ["run counters --scale 0", /^--scale: "0" is not a positive number$/],
  ],
  "a missing value, an unknown flag, command or argument": [
    ["boot --cpus", /^option --cpus needs a value \(CPUS\)$/, true],
    ["boot --bogus", /^unknown option --bogus \(see --help\)$/],
    ["boot -x", /^unknown option -x$/],
    ["boot --cpus 4 --cpus 8", /^option --cpus given twice$/],
    ["boot extra", /^unexpected argument "extra"/],
    ["frobnicate", /^unknown command "frobnicate"/, true],
    ["run", /^run needs a workload: /],
    ["run nosuch", /^unknown workload "nosuch"/],
    ["replay", /^replay needs a trace file \(- for stdin\)$/],
  ],
  "an unreadable or malformed config file": [
    [
      `boot --config ${join(dir, "missing.json")}`,
      /^cannot read config file .*missing\.json: ENOENT \(no such file or directory\)$/,
      true,
    ],
    [`boot --config ${dir}`, /^cannot read config file .*: EISDIR \(is a directory\)$/],
    [
      `boot --config ${files.truncatedJson}`,
      /^invalid config: config: .*truncated\.json is not valid JSON/,
      true,
    ],
    [`boot --config ${files.wrongTypeJson}`, /^invalid config: cpus \(--cpus\): "four" is not an integer$/],
    [`boot --config ${files.unknownKeyJson}`, /^invalid config: cpuz: unknown setting/],
    [
      `boot --config ${files.outOfRangeJson}`,
      /^invalid config: cpus \(--cpus\): 64 possible CPUs exceed the arm NR_CPUS limit of 32$/,
    ],
    [`boot --config ${files.badKconfig}`, /^invalid config: nrCpus \(--nr-cpus\): "abc" is not an integer$/],
    [
      `boot --config ${files.unknownSymbol}`,
      /^invalid config: CONFIG_PCPU_ALOCATOR: line 1: unknown model symbol/,
    ],
    [`boot --config ${files.garbage}`, /^invalid config: config: line 1: not a CONFIG_\.\.\.= line: /],
  ],
  "an unreadable or malformed trace file": [
    [
      `replay ${join(dir, "missing.trace")}`,
      /^cannot read trace .*missing\.trace: ENOENT \(no such file or directory\)$/,
      true,
    ],
    [`replay ${dir}`, /^cannot read trace .*: EISDIR \(is a directory\)$/],
    [`replay ${files.badTrace}`, /^malformed trace: line 2: not a trace line/, true],
    [`replay ${files.textTrace}`, /^malformed trace: line 1: not a trace line/],
    [`replay ${files.garbage}`, /^malformed trace: line 1: not a trace line/],
    [
      `run counters --ops 10 --trace ${join(dir, "no/such/dir/t.txt")}`,
      /^cannot write trace file .*t\.txt: ENOENT \(no such file or directory\)$/,
    ],
  ],
};

/** Runs `jobs` with at most `n` at a time. */
async function pool<T>(jobs: (() => Promise<T>)[], n: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, worker));
  return out;
}

describe(`pcpu-kernel CLI under bad input (${USE_DIST ? "dist" : "tsx, sources"}, ${PROFILE} profile)`, () => {
  for (const [kind, cases] of Object.entries(CASES)) {
    const chosen = PROFILE === "long" ? cases : cases.filter((c) => c[2] === true);
    it(`${kind}: exit 2, one line naming the problem, no stack trace, no partial boot (${chosen.length} of ${cases.length} cases)`, async () => {
      /* Arguments are split on spaces; no case needs a space inside one. */
      const results = await pool(
        chosen.map(
          ([argv]) =>
            () =>
              runCli(argv.split(" "), dir),
        ),
        3,
      );
      for (const [i, [argv, message]] of chosen.entries()) {
        const r = results[i]!;
        const ctx = `pcpu-kernel ${argv}\nstderr: ${r.stderr}`;
        expect(r.code, ctx).toBe(2);
        expect(r.stdout, ctx).toBe("");
        const lines = r.stderr.split("\n");
        expect(lines.at(-1), ctx).toBe("");
        expect(lines, ctx).toHaveLength(2);
        expect(lines[0]!.startsWith("pcpu-kernel: "), ctx).toBe(true);
        expect(lines[0]!.slice("pcpu-kernel: ".length), ctx).toMatch(message);
        expect(r.stderr, ctx).not.toMatch(/\n\s+at |Error:/);
      }
    });
  }

  it("still boots with good input (the cases above fail for their own reason)", async () => {
    const r = await runCli(["config", "--cpus", "4", "--nodes", "0-1;2-3"], dir);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ arch: "x86_64", cpus: 4, nodes: "0-1;2-3" });
  });
});
