/*
 * A !CONFIG_SMP kernel: mm/percpu.c's uniprocessor setup_per_cpu_areas
 * (one unit of roundup_pow_of_two(max(PCPU_MIN_UNIT_SIZE,
 * PERCPU_DYNAMIC_RESERVE)), all dynamic, dumped by pcpu_setup_first_chunk),
 * percpu-km, and percpu pointers that are plain addresses. The golden
 * record is a real Raspberry Pi 3.6 UP boot log.
 */
import { describe, expect, it } from "vitest";
import { BOOT_LOGS } from "../../../packages/percpu/test/data/boot-logs.js";
import {
  bootKernel,
  ConfigError,
  configForFile,
  type KernelConfig,
  parseKconfig,
  resolveConfig,
  toKconfig,
} from "../src/index.js";
import { ALL_DEFINITIONS } from "../src/registry.js";

const lookup = (n: string) => ALL_DEFINITIONS.arches.find((d) => d.name === n);
const percpuLines = (lines: readonly string[]) =>
  lines.filter((l) => /^(percpu|PERCPU|pcpu-alloc|setup_percpu): /.test(l));

describe("a uniprocessor (!CONFIG_SMP) kernel", () => {
  it("prints the rpi-up-3.6 log's lines byte for byte (arm, v3.18)", () => {
    const rec = BOOT_LOGS.find((r) => r.id === "rpi-up-3.6")!;
    const k = bootKernel({ arch: "arm", era: "v3.18", smp: false, trace: false });
    /* the paste kept pcpu_dump_alloc_info's trailing space */
    expect(percpuLines(k.dmesg())).toEqual(rec.raw.map((l) => l.replace(/^\[[^\]]*\] /, "")));
    expect(k.config).toMatchObject({
      cpus: 1,
      nrCpus: 1,
      numa: false,
      population: "km",
      staticSize: 0,
      smp: false,
    });
    expect(k.pcpu.unitSize).toBe(32768);
    expect(k.pcpu.nrUnits).toBe(1);
  });

  it("hands out addresses as percpu pointers (identity mapping) and grows by km chunks of 8 pages", () => {
    const k = bootKernel({ arch: "arm", smp: false, trace: false, stats: false });
    const base = k.pcpu.baseAddr;
    const p = k.percpu.alloc(64, 8)!;
    /* the dynamic area starts at offset 0: no static or reserved region in front */
    expect(p as number).toBe(base);
    expect(k.percpu.perCpuPtr(p, 0)).toBe(p as number);
    k.thisCpu.write(p, 4, 0xdead);
    expect(k.mem.read(base, 4)).toBe(0xdead);
    const pages0 = k.machine.pageAlloc.nrAllocatedPages();
    const ptrs = [];
    /* 32K units: 512 x 64 bytes fill the first chunk, the next allocation creates chunk 2 */
    for (let i = 0; i < 512; i++) ptrs.push(k.percpu.alloc(64, 8)!);
    expect(k.counters.chunks).toBe(2);
    /* percpu-km: one contiguous block of roundup_pow_of_two(8) pages per chunk */
    expect(k.machine.pageAlloc.nrAllocatedPages() - pages0).toBe(8);
    const last = ptrs.at(-1)!;
    expect(k.percpu.perCpuPtr(last, 0)).toBe(last as number);
    expect(k.percpu.free(last)).toBe(true);
  });

  it("puts the all-dynamic first chunk on the free slot: freed empty, pcpu_balance_free WARNs on it", () => {
    /*
     * On UP the first chunk's free bytes are the whole unit, so pcpu_chunk_slot()
     * gives pcpu_free_slot; pcpu_balance_free() checks WARN_ON(chunk->immutable)
     * on every free-slot chunk. A real UP kernel keeps its boot-time allocations,
     * so this takes freeing everything, as here.
     */
    const k = bootKernel({ arch: "arm", smp: false, trace: false, stats: false });
    expect(k.pcpu.firstChunk.slot).toBe(k.pcpu.freeSlot);
    const ptrs = [];
    for (let i = 0; i < 1200; i++) ptrs.push(k.percpu.alloc(64, 8)!);
    expect(k.counters.chunks).toBe(3);
    for (const p of ptrs) k.percpu.free(p);
    k.runWork();
    expect(
      k.dmesg().some((l) => /^WARNING: CPU: 0 PID: \d+ at mm\/percpu\.c:\d+ pcpu_balance_free\+/.test(l)),
    ).toBe(true);
  });

  it("x86_64 !SMP: no setup_percpu line (arch/x86's setup_percpu.c is SMP-only), the same UP dump", () => {
    const k = bootKernel({ arch: "x86_64", smp: false, trace: false });
    expect(percpuLines(k.dmesg())).toEqual([
      "pcpu-alloc: s0 r0 d32768 u32768 alloc=1*32768",
      "pcpu-alloc: [0] 0 ",
    ]);
    /* 64K pages: PCPU_MIN_UNIT_SIZE = PFN_ALIGN(32K) is one 64K page */
    const g = bootKernel({ arch: "generic", pageSize: "64K", smp: false, trace: false });
    expect(percpuLines(g.dmesg())[0]).toBe("pcpu-alloc: s0 r0 d65536 u65536 alloc=1*65536");
  });

  it("refuses what a UP kernel cannot have, naming the setting", () => {
    const bad: [KernelConfig, string, RegExp][] = [
      [{ arch: "arm64", smp: false }, "smp", /arm64 always builds SMP in v6/],
      [{ arch: "s390", smp: false }, "smp", /s390 always builds SMP in v6/],
      [{ arch: "arm", smp: false, cpus: 2 }, "cpus", /exactly one CPU, not 2/],
      [{ arch: "arm", smp: false, nrCpus: 4 }, "nrCpus", /exactly one CPU/],
      [{ arch: "x86_64", smp: false, numa: true }, "numa", /CONFIG_NUMA depends on CONFIG_SMP/],
      [{ arch: "arm", smp: false, population: "vm" }, "population", /runs percpu-km/],
      [{ arch: "arm", smp: false, staticSize: 4096 }, "staticSize", /no static percpu area/],
      [{ arch: "arm", smp: false, dynSize: "20K" }, "dynSize", /takes no first-chunk sizes/],
      [{ arch: "arm", smp: false, percpuAlloc: "page" }, "percpuAlloc", /only in SMP kernels/],
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
    /* s390 offered !SMP until it made SMP mandatory */
    expect(resolveConfig({ arch: "s390", era: "v2.6.32", smp: false }, lookup).smp).toBe(false);
  });

  it("round-trips through .config (# CONFIG_SMP is not set) and the config file", () => {
    const text = toKconfig({ arch: "arm", smp: false, era: "v3.18" });
    expect(text).toMatch(/^# CONFIG_SMP is not set$/m);
    const back = parseKconfig(text);
    expect(back).toMatchObject({ arch: "arm", smp: false, cpus: 1, nrCpus: 1 });
    const file = configForFile(resolveConfig(back, lookup));
    expect(file).toMatchObject({ smp: false, population: "km", staticSize: 0 });
    expect(percpuLines(bootKernel({ ...file, trace: false }).dmesg())).toEqual([
      "pcpu-alloc: s0 r0 d32768 u32768 alloc=1*32768",
      "pcpu-alloc: [0] 0 ",
    ]);
  });
});
