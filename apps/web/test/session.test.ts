/*
 * Sessions: a run reported as frames, a run stopped at a frame giving the
 * same kernel as the full run had there (how the page reads an
 * allocation's bytes at any frame), replays, and the errors the page shows.
 */

import { spawnSync } from "node:child_process";
import { bootKernel, type KernelConfig, runWorkload } from "@pcpu/kernel";
import { describe, expect, it } from "vitest";
import { checkConfig } from "../src/config-form.js";
import { configErrorLine, formatAddr, hexBytes, ptrAdd } from "../src/format.js";
import type { Frame } from "../src/frame.js";
import { workloadFrames } from "../src/run-frames.js";
import { Session, sessionError } from "../src/session.js";
import { WEB_DIR } from "./support/paths.js";

describe("Session.run (a workload as frames)", () => {
  it("gives one frame per progress tick plus boot and done, stops at a frame, and reads the same bytes there", () => {
    const full = new Session({});
    const frames: Frame[] = [];
    const r = full.run({ kind: "workload", name: "bpf-map" }, (f) => frames.push(f));
    expect(r.frames).toBe(workloadFrames(300));
    expect(r.frames).toBe(302);
    expect(frames.map((f) => f.index)).toEqual(Array.from({ length: 301 }, (_, i) => i + 1));
    expect(frames[0]!.label).toBe("op 1/300");
    expect(frames.at(-1)!.label).toBe("done");
    expect(r.summary).toMatch(/^workload\s+bpf-map\n/);

    /* frame 150 again, by booting the same config and stopping the same run there */
    const at = new Session({});
    const stop = at.run({ kind: "workload", name: "bpf-map" }, null, 150);
    expect(stop).toEqual({ frames: 151, summary: "", stopped: true });
    const again = at.frame(150, "op 150/300");
    const seen = frames[149]!;
    expect(again.metrics).toEqual(seen.metrics);
    expect(again.chunks.map((c) => c.sig)).toEqual(seen.chunks.map((c) => c.sig));

    /* an element of a live map: bpf-map wrote value + cpu * 64 + off into every CPU's copy */
    const c = seen.chunks.find((x) => x.allocOff.length > 0)!;
    const off = c.allocOff[c.allocOff.length - 1]!;
    const size = c.allocSize[c.allocOff.length - 1]!;
    const ptr = ptrAdd(at.info, c.ptrBase, off);
    const bytes = at.bytes(ptr, size);
    expect(bytes.map((b) => b.cpu)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const b of bytes) {
      expect(b.bytes.length).toBe(size);
      expect(b.addr).toBe(formatAddr(at.info, at.kernel.percpu.perCpuPtr(ptr as never, b.cpu)));
      expect([...b.bytes]).toEqual([
        ...at.kernel.machine.mem.copyOut(at.kernel.percpu.perCpuPtr(ptr as never, b.cpu), size),
      ]);
    }
  });

  it("replays our own trace of a run and reports it", () => {
    const k = bootKernel({});
    runWorkload(k, "counters", { ops: 40 });
    const text = k.trace();
    const s = new Session({});
    const frames: Frame[] = [];
    const r = s.run({ kind: "replay", fileName: "counters.txt", text }, (f) => frames.push(f));
    expect(r.stopped).toBe(false);
    expect(frames.at(-1)!.metrics.pcpuNrPages).toBe(k.pcpu.pcpuNrPages());
    expect(frames.at(-1)!.metrics.live).toBe(0);
    expect(frames[0]!.label).toMatch(/^event \d+\/\d+$/);
    expect(r.summary).toMatch(/^trace\s+counters\.txt\n/);
    expect(r.summary).toMatch(/\nfailed here only\s+0\n/);
  });

  it("replays a capture in a real 6.x machine's format: other events and lost events skipped, hashed pointers matched", () => {
    const header = "# tracer: nop\n#\n# entries-in-buffer/entries-written: 5/23   #P:4\n#\n";
    const line = (task: string, cpu: number, ts: string, body: string) =>
      `${task.padStart(16)} [00${cpu}] .....  ${ts}: ${body}\n`;
    const alloc = (off: number, ptr: string, size: number) =>
      `percpu_alloc_percpu: call_site=bpf_map_alloc_percpu+0x4a/0xf0 [bpf] reserved=0 is_atomic=0 size=${size} align=8 ` +
      `base_addr=00000000a1b2c3d4 off=${off} ptr=${ptr} bytes_alloc=${size * 4} gfp_flags=GFP_KERNEL`;
    const text =
      header +
      line("bash-1234", 3, "1234.567890", alloc(2048, "000000005e6f7081", 8)) +
      line(
        "bash-1234",
        3,
        "1234.567901",
        "kmalloc: call_site=x+0x3a/0x90 ptr=00000000deadbeef bytes_req=64 bytes_alloc=64 gfp_flags=GFP_KERNEL node=-1 accounted=false",
      ) +
      "CPU:2 [LOST 17 EVENTS]\n" +
      line("bash-1234", 1, "1234.600000", alloc(4096, "000000001234abcd", 16)) +
      line(
        "kworker/2:1-77",
        2,
        "1235.100000",
        "percpu_free_percpu: base_addr=00000000a1b2c3d4 off=2048 ptr=000000005e6f7081",
      ) +
      line(
        "kworker/2:1-77",
        2,
        "1235.100001",
        "percpu_free_percpu: base_addr=00000000a1b2c3d4 off=8192 ptr=00000000ffff0000",
      );
    const s = new Session({});
    const frames: Frame[] = [];
    const r = s.run({ kind: "replay", fileName: "capture.txt", text }, (f) => frames.push(f));
    /* 4 percpu events, each a progress tick, then done */
    expect(r.frames).toBe(6);
    expect(frames.map((f) => f.metrics.live)).toEqual([1, 2, 1, 1, 1]);
    expect(r.summary).toMatch(/\nlost events\s+17\n/);
    expect(r.summary).toMatch(/\nunmatched frees\s+1\n/);
    expect(r.summary).toMatch(/\nallocs \(trace \/ here\)\s+2 \/ 2\n/);
  });

  it("refuses a trace that does not parse with the parser's message", () => {
    const s = new Session({});
    let err: unknown;
    try {
      s.run(
        {
          kind: "replay",
          fileName: "bad.txt",
          text: "          <idle>-0       [000] d..1.   1.000000: percpu_alloc_percpu: nonsense\n",
        },
        null,
      );
    } catch (e) {
      err = e;
    }
    const se = sessionError(err);
    expect(se.kind).toBe("trace");
    expect(se.message.length).toBeGreaterThan(0);
  });

  it("runs a session once: a second action needs a fresh boot", () => {
    const s = new Session({});
    s.run({ kind: "workload", name: "counters", ops: 2 }, null);
    expect(() => s.run({ kind: "workload", name: "counters", ops: 2 }, null)).toThrow(/freshly booted/);
    expect(() => new Session({}).run({ kind: "workload", name: "nope" as never }, null)).toThrow(
      /unknown workload nope/,
    );
  });
});

describe("checkConfig / configErrorLine (resolveConfig, the CLI's `invalid config:` line)", () => {
  it("accepts the default config", () => {
    const s = checkConfig({});
    expect(s.ok).toBe(true);
    if (s.ok) expect([s.resolved.arch, s.resolved.cpus, s.resolved.nodes]).toEqual(["x86_64", 8, "0-3;4-7"]);
  });

  it("refuses bad configs with the setting at fault and the CLI's text", () => {
    /* one CLI run (each costs seconds): a refusal that depends on two settings */
    const cases: [Record<string, string>, string, string[]][] = [
      [
        { population: "km", percpuAlloc: "page" },
        "population",
        ["boot", "--population", "km", "--percpu-alloc", "page"],
      ],
    ];
    for (const [config, setting, argv] of cases) {
      const s = checkConfig(config);
      expect(s.ok).toBe(false);
      if (s.ok) continue;
      expect(s.setting).toBe(setting);
      /* what `pnpm kernel` prints for the same flags, program name aside */
      const cli = spawnSync("pnpm", ["--silent", "kernel", ...argv], {
        cwd: `${WEB_DIR}../..`,
        encoding: "utf8",
      });
      expect(cli.status).toBe(2);
      expect(cli.stderr.trim()).toBe(`pcpu-kernel: ${s.line}`);
    }
    const s = checkConfig({ cpus: "lots" });
    expect(!s.ok && s.line).toBe('invalid config: cpus (--cpus): "lots" is not an integer');
  });

  it("names the setting of a ConfigError thrown at boot", () => {
    let err: unknown;
    try {
      new Session({ arch: "mips" } as unknown as KernelConfig);
    } catch (e) {
      err = e;
    }
    const se = sessionError(err);
    expect(se).toEqual({
      kind: "config",
      setting: "arch",
      message: 'arch: "mips" is not one of x86_64, i386, arm, arm64, sparc32, s390, generic',
    });
    expect(configErrorLine({ setting: se.setting!, message: se.message })).toBe(
      'invalid config: arch (--arch): "mips" is not one of x86_64, i386, arm, arm64, sparc32, s390, generic',
    );
    expect(hexBytes(new Uint8Array([0, 0xab, 7]))).toBe("00 ab 07");
  });
});
