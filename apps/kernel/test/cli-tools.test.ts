/*
 * The tool commands as a user runs them: child processes of the built
 * all-arch bundle, started from another working directory (relative paths
 * are the user's), stdout holding only the result, errors on stderr with a
 * non-zero status.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { BOOT_LOGS } from "../../../packages/percpu/test/data/boot-logs.js";

const app = join(dirname(fileURLToPath(import.meta.url)), "..");
const tmp = mkdtempSync(join(tmpdir(), "pcpu-kernel-tools-"));
const bin = join(tmp, "build", "pcpu-kernel.mjs");
const work = join(tmp, "work");

function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: work,
    encoding: "utf8",
    input,
    env: { ...process.env, INIT_CWD: work },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  const r = spawnSync(
    process.execPath,
    ["scripts/build.mjs", "--arch", "all", "--outdir", join(tmp, "build")],
    {
      cwd: app,
      encoding: "utf8",
    },
  );
  if (r.status !== 0) throw new Error(`build failed: ${r.stderr}`);
  mkdirSync(work);
}, 120_000);

describe("pcpu-kernel from-dmesg", () => {
  it("writes a config whose boot prints the log's lines (file and stdin)", () => {
    const rec = BOOT_LOGS.find((r) => r.id === "i386-kvm-cirros-1cpu")!;
    writeFileSync(
      join(work, "dmesg.txt"),
      `[    0.000000] Linux version 3.2.0\n${rec.raw.join("\n")}\nother line\n`,
    );
    const r = cli(["from-dmesg", "dmesg.txt"]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    const config = JSON.parse(r.out);
    expect(config).toMatchObject({
      arch: "i386",
      era: "v3.18",
      cpus: 1,
      nrCpus: 8,
      staticSize: 47436,
      reservedSize: 0,
    });
    writeFileSync(join(work, "k.json"), r.out);
    const b = cli(["boot", "--config", "k.json"]);
    expect(b.code).toBe(0);
    expect(b.out.split("\n").slice(0, 2)).toEqual([
      "setup_percpu: NR_CPUS:8 nr_cpumask_bits:8 nr_cpu_ids:1 nr_node_ids:1",
      "PERCPU: Embedded 19 pages/cpu @c7652000 s47436 r0 d30388 u77824",
    ]);
    const s = cli(["from-dmesg", "-", "--kconfig"], rec.raw.join("\n"));
    expect(s.code).toBe(0);
    expect(s.out).toMatch(/^CONFIG_X86_32=y$/m);
    expect(s.out).toMatch(/^CONFIG_PCPU_STATIC_SIZE=47436$/m);
  });

  it("reproduces 16K arm64 and 64K ppc64 logs; the notes on stderr say what the log leaves open", () => {
    const rpi5 = BOOT_LOGS.find((r) => r.id === "rpi5-6.18-16k")!;
    writeFileSync(join(work, "rpi5.txt"), `${rpi5.raw.join("\n")}\n`);
    const r = cli(["from-dmesg", "rpi5.txt"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ arch: "arm64", pageSize: "16K", cpus: 4, staticSize: 95512 });
    expect(r.err.trimEnd().split("\n")).toEqual([
      "pcpu-kernel: from-dmesg: note: PAGE_SIZE 16K: the summary line's s+r+d = 147456 bytes are 9 pages/cpu",
      "pcpu-kernel: from-dmesg: note: the percpu lines do not name the arch: arm64 runs the generic embed setup with 16K pages and page-sized atoms and prints them (mips64 and loongarch64 with 16K pages print the same lines)",
      "pcpu-kernel: from-dmesg: note: the dynamic size the arch asked for is not printed: any request of 27369..43752 bytes rounds up to the same 16K pages; the config asks the printed d43752",
    ]);
    expect(cli(["from-dmesg", "rpi5.txt", "--quiet"]).err).toBe("");
    writeFileSync(join(work, "rpi5.json"), r.out);
    const b = cli(["boot", "--config", "rpi5.json"]);
    expect(b.code).toBe(0);
    expect(b.out.split("\n").filter((l) => /^(percpu|pcpu-alloc): /.test(l))).toEqual([
      "percpu: Embedded 9 pages/cpu s95512 r8192 d43752 u147456",
      "pcpu-alloc: s95512 r8192 d43752 u147456 alloc=9*16384",
      "pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 ",
    ]);
    const suse = BOOT_LOGS.find((r) => r.id === "suse-5.2-power9-lpar-64k")!;
    const k = cli(["from-dmesg", "-", "--kconfig", "--quiet"], suse.raw.join("\n"));
    expect(k.code).toBe(0);
    expect(k.out).toMatch(/^CONFIG_PCPU_GENERIC_ARCH=y$/m);
    expect(k.out).toMatch(/^CONFIG_PCPU_BITS=64$/m);
    expect(k.out).toMatch(/^CONFIG_PCPU_PAGE_SIZE=64K$/m);
    writeFileSync(join(work, "suse.config"), k.out);
    const kb = cli(["boot", "--config", "suse.config"]);
    expect(kb.code).toBe(0);
    expect(kb.out.split("\n").filter((l) => /^(percpu|pcpu-alloc): /.test(l))).toEqual([
      "percpu: Embedded 11 pages/cpu s624536 r0 d96360 u1048576",
      "pcpu-alloc: s624536 r0 d96360 u1048576 alloc=1*1048576",
      "pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 [0] 4 [0] 5 [0] 6 [0] 7 ",
    ]);
  });

  it("reproduces a uniprocessor log with smp off, through .config too", () => {
    const up =
      "[    0.000000] pcpu-alloc: s0 r0 d32768 u32768 alloc=1*32768\n[    0.000000] pcpu-alloc: [0] 0 \n";
    const r = cli(["from-dmesg", "-", "--kconfig"], up);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^# CONFIG_SMP is not set$/m);
    expect(r.err).toMatch(/^pcpu-kernel: from-dmesg: note: a uniprocessor \(!CONFIG_SMP\) kernel/);
    writeFileSync(join(work, "up.config"), r.out);
    const b = cli(["boot", "--config", "up.config"]);
    expect(b.code).toBe(0);
    expect(b.out.split("\n").filter((l) => l.startsWith("pcpu-alloc: "))).toEqual([
      "pcpu-alloc: s0 r0 d32768 u32768 alloc=1*32768",
      "pcpu-alloc: [0] 0 ",
    ]);
  });

  it("refuses a log it cannot reproduce, on stderr, status 1", () => {
    const r = cli(["from-dmesg", "-"], "[    0.000000] percpu: Embedded 19 pages/cpu s1 r0 d30388 u77824\n");
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toMatch(
      /^pcpu-kernel: from-dmesg: cannot reproduce -: no kernel this build carries prints these lines; the closest/,
    );
    const none = cli(["from-dmesg", "missing.txt"]);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/cannot read boot log missing\.txt \(tried .*\): ENOENT/);
  });
});

describe("pcpu-kernel inspect and sites", () => {
  beforeAll(() => {
    /* a capture cut short (tracing starts after boot): the allocations of its first 700 events are still live */
    const t = cli(["run", "bpf-map", "--trace", "full.trace"]);
    expect(t.code).toBe(0);
    const lines = readFileSync(join(work, "full.trace"), "utf8")
      .split("\n")
      .filter((l) => !l.startsWith("#"));
    writeFileSync(join(work, "half.trace"), `${lines.slice(0, 700).join("\n")}\n`);
  });

  it("inspect prints the chunk's map with block hints and its live allocations with call sites", () => {
    const r = cli(["inspect", "--replay", "half.trace"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^chunk 1 {2}Chunk: <- First Chunk$/m);
    expect(r.out).toMatch(/^ {2}nr_alloc +299$/m);
    expect(r.out).toMatch(/^0 P #{30}\.{34} +544@480 +0@0 +0 +544 +480$/m);
    expect(r.out).toMatch(/^ +0 +32 {2}ffffffff82026000 {2}bpf_map_alloc_percpu\+0x69\/0xc0$/m);
    const j = cli(["inspect", "--replay", "half.trace", "--json"]);
    const doc = JSON.parse(j.out);
    expect(doc.chunk.allocations).toHaveLength(299);
    expect(doc.chunk.blocks).toHaveLength(7);
    const bad = cli(["inspect", "--chunk", "9"]);
    expect(bad.code).toBe(2);
    expect(bad.out).toBe("");
    expect(bad.err).toMatch(/--chunk: no chunk 9/);
  });

  it("sites sums bytes_alloc per call site and lists the leaks", () => {
    const r = cli(["sites", "--replay", "half.trace", "--json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.sites).toEqual([
      {
        callSite: "bpf_map_alloc_percpu+0x69/0xc0",
        allocs: 499,
        frees: 200,
        failures: 0,
        bytesAlloc: 266560,
        live: 299,
        liveBytes: 184000,
        peakBytes: 229568,
      },
    ]);
    expect(doc.leaks).toHaveLength(299);
    expect(doc.leaks[0]).toMatchObject({
      ptr: "ffffffff82027130",
      size: 8,
      callSite: "bpf_map_alloc_percpu+0x69/0xc0",
    });
    const text = cli(["sites", "--after", "modules", "--cpus", "4"]);
    expect(text.out).toMatch(/^load_module\+0x1b5d\/0x2560 +0 +0 +\d+ +\d+ +\d+ /m);
    expect(cli(["sites", "--after", "nope"]).code).toBe(2);
  });
});

describe("pcpu-kernel run/replay --series, --plot and fault injection", () => {
  it("writes the series as CSV and JSON and plots it", () => {
    const r = cli(["run", "bpf-map", "--series", "s.csv", "--every", "100"]);
    expect(r.code).toBe(0);
    const csv = readFileSync(join(work, "s.csv"), "utf8").trimEnd().split("\n");
    expect(csv[0]).toBe(
      "step,pcpu_nr_pages,populated_pages,empty_pop_pages,chunks,live_allocs,sum_frag,max_frag",
    );
    expect(csv.map((l) => l.split(",")[0])).toEqual(["step", "0", "100", "200", "300"]);
    expect(csv[1]).toBe("0,360,45,7,1,0,0,0");
    const j = cli(["replay", "full.trace", "--series", "s.json", "--every", "1000", "--json"]);
    expect(j.code).toBe(0);
    JSON.parse(j.out);
    const s = JSON.parse(readFileSync(join(work, "s.json"), "utf8"));
    expect(s.unit).toBe("event");
    expect(s.rows[1]).toMatchObject({ step: 1000, chunks: 2, live_allocs: 383 });
    const p = cli(["run", "bpf-map", "--plot"]);
    expect(p.out).toMatch(/^pcpu_nr_pages per op \(max of each column\)$/m);
    expect(p.out).toMatch(/^416 ┤ +\*+$/m);
    const bad = cli(["run", "bpf-map", "--plot", "--json"]);
    expect(bad.code).toBe(2);
    expect(bad.out).toBe("");
  });

  it("injects fail_page_alloc / fail_vmalloc failures in debugfs terms", () => {
    const r = cli(["run", "bpf-map", "--fail-vmalloc", "probability=100,times=-1", "--json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.faults.fail_vmalloc.failures).toBe(doc.faults.fail_vmalloc.calls);
    expect(doc.faults.fail_vmalloc.failures).toBeGreaterThan(0);
    expect(doc.summary.chunksCreated).toBe(0);
    expect(doc.summary.failures).toBeGreaterThan(0);
    const t = cli(["replay", "full.trace", "--fail-page-alloc", "probability=50,interval=2,times=5"]);
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/^fail_page_alloc +\d+ +5$/m);
    const bad = cli(["run", "bpf-map", "--fail-page-alloc", "times=3"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/probability is needed/);
  });
});

describe("pcpu-kernel sweep and sweep-merge", () => {
  it("runs a matrix on worker threads, shards it, and merges the shards back", () => {
    writeFileSync(
      join(work, "m.json"),
      JSON.stringify({
        base: { cpus: 4, nodes: "0-3" },
        matrix: { arch: ["x86_64", "arm"], allocator: ["bitmap", "area-map"], population: ["vm", "km"] },
        workload: "bpf-map",
        ops: 200,
      }),
    );
    const full = cli(["sweep", "--matrix", "m.json", "--threads", "2"]);
    expect(full.code).toBe(0);
    expect(full.err).toBe("");
    const lines = full.out.trimEnd().split("\n");
    expect(lines).toHaveLength(9);
    expect(lines[0]).toBe(
      "index,matrix,arch,allocator,population,allocs,frees,failures,chunks_created,chunks_destroyed,peak_chunks,populated_pages,pcpu_nr_pages,empty_pop_pages,sum_frag,max_frag,error",
    );
    expect(lines[1]).toMatch(/^0,[0-9a-f]{12},x86_64,bitmap,vm,1570,1570,0,1,0,2,52,208,14,0,0,$/);
    expect(lines[6]).toMatch(/^5,[0-9a-f]{12},arm,bitmap,km,1570,1570,0,1,0,2,85,340,73,0,0,$/);
    const a = cli(["sweep", "--matrix", "m.json", "--shard", "1/2"]);
    const b = cli(["sweep", "--matrix", "m.json", "--shard", "2/2", "--json"]);
    writeFileSync(join(work, "a.csv"), a.out);
    writeFileSync(join(work, "b.json"), b.out);
    expect(JSON.parse(b.out).rows.map((r: { index: number }) => r.index)).toEqual([1, 3, 5, 7]);
    const m = cli(["sweep-merge", "a.csv", "b.json"]);
    expect(m.code).toBe(0);
    expect(m.out).toBe(full.out);
    const half = cli(["sweep-merge", "a.csv"]);
    expect(half.code).toBe(1);
    expect(half.err).toMatch(/3 rows missing: 1, 3, 5/);
    const dup = cli(["sweep-merge", "a.csv", "a.csv"]);
    expect(dup.code).toBe(2);
    expect(dup.err).toMatch(/row 0 is in both a\.csv and a\.csv/);
  });

  it("a per-arch bundle sweeps its own arch, with a worker that carries no other arch", () => {
    const out = join(tmp, "arm-km");
    const b = spawnSync(
      process.execPath,
      ["scripts/build.mjs", "--arch", "arm", "--population", "km", "--outdir", out],
      {
        cwd: app,
        encoding: "utf8",
      },
    );
    expect(b.status).toBe(0);
    expect(readFileSync(join(out, "sweep-worker.mjs"), "utf8")).not.toMatch(/X86_64Arch|S390Arch/);
    writeFileSync(
      join(work, "marm.json"),
      JSON.stringify({ matrix: { cpus: [2, 4] }, workload: "counters" }),
    );
    const r = spawnSync(process.execPath, [join(out, "pcpu-kernel.mjs"), "sweep", "--matrix", "marm.json"], {
      cwd: work,
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    /* 17 populated pages per unit in a km chunk of 2 and 4 units */
    expect(
      r.stdout
        .trimEnd()
        .split("\n")
        .slice(1)
        .map((l) => l.split(",").slice(2, 13).join(",")),
    ).toEqual(["2,16,16,0,0,0,1,17,34,5,0", "4,16,16,0,0,0,1,17,68,5,0"]);
  }, 60_000);

  it("refuses a bad matrix and a bad shard with a reason", () => {
    writeFileSync(join(work, "bad.json"), JSON.stringify({ matrix: { cpu: [1, 2] }, workload: "bpf-map" }));
    const r = cli(["sweep", "--matrix", "bad.json"]);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/unknown config key "cpu"/);
    expect(cli(["sweep", "--matrix", "m.json", "--shard", "3/2"]).err).toMatch(
      /shard 3\/2: need 1 <= i <= n/,
    );
  });
});
