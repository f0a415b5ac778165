/*
 * Kernels whose cpu_possible_mask has holes (`possible: "0-3,8-11"`, CLI
 * `--possible`): nr_cpu_ids is the last possible CPU + 1 (setup_nr_cpu_ids),
 * the setup_percpu line prints it, units exist for possible CPUs only, the
 * default NUMA halves split the possible CPUs, and the API refuses the holes.
 * Expected lines are worked out by hand from mm/percpu.c and
 * arch/x86/kernel/setup_percpu.c.
 */
import { describe, expect, it } from "vitest";
import type { KernelConfig } from "../src/api.js";
import { ConfigError, configForFile, resolveConfig } from "../src/config.js";
import { parseKconfig, toKconfig } from "../src/kconfig.js";
import { KernelApiError } from "../src/kernel.js";
import { ALL_DEFINITIONS, bootKernel } from "../src/registry.js";
import { WORKLOADS } from "../src/workloads/index.js";

const lookup = (name: string) => ALL_DEFINITIONS.arches.find((d) => d.name === name);
const resolve = (c: KernelConfig) => resolveConfig(c, lookup);

function refused(c: Record<string, unknown>, setting: string, re: RegExp): void {
  let err: unknown;
  try {
    resolve(c as KernelConfig);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).setting).toBe(setting);
  expect((err as ConfigError).message).toMatch(re);
}

describe("possible: cpu_possible_mask with holes (x86_64, 0-3,8-11)", () => {
  const k = bootKernel({ possible: "0-3,8-11" });

  it("prints nr_cpu_ids 12 and units for the 8 possible CPUs only, grouped by node", () => {
    /* default nodes: the possible CPUs in halves, 0-3 and 8-11; 2 MiB atoms, u = 0x200000 / 4 */
    const log = k.dmesg();
    expect(log).toContain("setup_percpu: NR_CPUS:64 nr_cpumask_bits:64 nr_cpu_ids:12 nr_node_ids:2");
    expect(log).toContain("percpu: Embedded 45 pages/cpu s147456 r8192 d28672 u524288");
    expect(log).toContain("pcpu-alloc: s147456 r8192 d28672 u524288 alloc=1*2097152");
    expect(log).toContain("pcpu-alloc: [0] 0 1 2 3 [1] 8 9 10 11 ");
  });

  it("counts 8 units in pcpu_nr_pages (45 pages x 8, not x 12)", () => {
    expect(k.percpu.nrPages()).toBe(360);
    expect(k.meminfo()).toMatch(/\nPercpu: {13}1440 kB\n$/);
  });

  it("serves every possible CPU and refuses the holes at the API", () => {
    const p = k.percpu.alloc(0x40, 8)!;
    for (const cpu of [0, 1, 2, 3, 8, 9, 10, 11]) expect(k.mem.read(k.percpu.perCpuPtr(p, cpu), 8)).toBe(0n);
    /* CPU 8 leads group 1: a group apart from CPU 3 */
    expect(k.percpu.perCpuPtr(p, 9) - k.percpu.perCpuPtr(p, 8)).toBe(0x80000);
    expect(() => k.percpu.perCpuPtr(p, 5)).toThrow(KernelApiError);
    expect(() => k.percpu.perCpuPtr(p, 5)).toThrow(/a possible CPU \(0-3,8-11\)/);
    expect(() => k.onCpu(4, () => 0)).toThrow(/a possible CPU \(0-3,8-11\)/);
    expect(k.onCpu(11, (t) => t.read(p, 4))).toBe(0);
    expect(k.percpu.free(p)).toBe(true);
  });

  it("runs the workloads on the possible CPUs with the invariant checker on", () => {
    for (const w of ["bpf-map", "modules", "atomic-burst", "counters"] as const) {
      const kw = bootKernel({ possible: "0-3,8-11", debugChecks: true });
      const r = WORKLOADS[w].run(kw, { ops: 300 });
      expect(r.workload).toBe(w);
      /* values written per CPU were read back (atomic-burst checks through the debug checker only) */
      if (w !== "atomic-burst") expect(r.checks).toBeGreaterThan(0);
    }
  });

  it("takes the page first chunk as one group of 8 units", () => {
    const kp = bootKernel({ possible: "0-3,8-11", percpuAlloc: "page" });
    expect(kp.dmesg()).toContain("pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 [0] 8 [0] 9 [0] 10 [0] 11 ");
  });

  it("prints nr_cpumask_bits as nr_cpu_ids with CONFIG_CPUMASK_OFFSTACK", () => {
    const ko = bootKernel({ possible: "0-1,6-7", cpumaskOffstack: true, nodes: "0-1,6-7" });
    expect(ko.dmesg()).toContain("setup_percpu: NR_CPUS:64 nr_cpumask_bits:8 nr_cpu_ids:8 nr_node_ids:1");
    /* one node of 4: upa 8 wastes 4 > 4/3 = 1, upa 4 fits one 2 MiB allocation */
    expect(ko.dmesg()).toContain("pcpu-alloc: s147456 r8192 d28672 u524288 alloc=1*2097152");
    expect(ko.dmesg()).toContain("pcpu-alloc: [0] 0 1 6 7 ");
  });
});

/*
 * A real boot log whose nr_cpu_ids is far above its possible CPUs: Linux
 * 6.1.12 built with CONFIG_FORCE_NR_CPUS (NR_CPUS 64) in a KVM guest where
 * only CPU 0 is possible ("smpboot: Allowing 1 CPUs, 0 hotplug CPUs"), so
 * setup_nr_cpu_ids() WARNs and nr_cpu_ids stays 64. The setup_percpu line
 * prints 64, but pcpu_build_alloc_info() gives a unit to CPU 0 only: one
 * unit takes the whole 2 MiB atom (any upa > 1 wastes more than 1/3 = 0
 * units) and the dump's column is one digit wide (num_possible_cpus() = 1).
 * Source: LKML, Martin Mokrejs, 2023-02-22, "linux-6.1.12: WARNING: CPU: 0
 * PID: 0 at include/linux/cpumask.h:47 prefill_possible_map+0xff/0x145",
 * https://lore.kernel.org/lkml/92809acb-6fb8-2d15-fc8d-433b2751a0c4@gmail.com/
 * (the paste lost the dump line's trailing space).
 */
describe("a real log: nr_cpu_ids 64 with one possible CPU (CONFIG_FORCE_NR_CPUS, 6.1.12)", () => {
  const raw = [
    "[    0.028260] setup_percpu: NR_CPUS:64 nr_cpumask_bits:64 nr_cpu_ids:64 nr_node_ids:1",
    "[    0.030597] percpu: Embedded 44 pages/cpu s140904 r8192 d31128 u2097152",
    "[    0.030612] pcpu-alloc: s140904 r8192 d31128 u2097152 alloc=1*2097152",
    "[    0.030617] pcpu-alloc: [0] 0",
  ];
  const config: KernelConfig = {
    arch: "x86_64",
    possible: "0",
    forceNrCpus: true,
    nrCpus: 64,
    numa: false,
    staticSize: 140904,
  };

  it("reproduces the percpu lines byte for byte", () => {
    const k = bootKernel({ ...config, trace: false });
    const got = k.dmesg().filter((l) => /^(setup_percpu|percpu|pcpu-alloc):/.test(l));
    const want = raw.map((l) => l.replace(/^\[\s*\d+\.\d+\] /, ""));
    want[3] += " ";
    expect(got).toEqual(want);
    expect(k.pcpu.nrCpuIds).toBe(64);
    expect(k.pcpu.nrPossibleCpus).toBe(1);
    expect(k.pcpu.unitMap.length).toBe(64);
    expect(k.pcpu.unitMap[63]).toBe(-1);
  });

  it("without CONFIG_FORCE_NR_CPUS the same machine has nr_cpu_ids 1", () => {
    const k = bootKernel({ ...config, forceNrCpus: false, trace: false });
    expect(k.dmesg()).toContain("setup_percpu: NR_CPUS:64 nr_cpumask_bits:64 nr_cpu_ids:1 nr_node_ids:1");
  });

  it("keeps forceNrCpus through the config file and .config, and refuses it before 6.0", () => {
    const c = resolve(config);
    expect([c.cpus, c.nrCpuIds]).toEqual([1, 64]);
    expect(resolve(configForFile(c))).toEqual(c);
    expect(toKconfig(configForFile(c))).toContain("CONFIG_FORCE_NR_CPUS=y");
    expect(resolve(parseKconfig(toKconfig(configForFile(c))))).toEqual(c);
    refused({ ...config, era: "v5.14" }, "forceNrCpus", /came with 6.0/);
  });
});

describe("possible on the other arches", () => {
  it("gives arm64 (one node per half) and s390 units for 0-1,6-7 only", () => {
    expect(bootKernel({ arch: "arm64", possible: "0-1,6-7" }).dmesg()).toContain(
      "pcpu-alloc: [0] 0 [0] 1 [1] 6 [1] 7 ",
    );
    expect(bootKernel({ arch: "s390", possible: "0-1,6-7" }).dmesg()).toContain(
      "pcpu-alloc: [0] 0 [0] 1 [0] 6 [0] 7 ",
    );
  });
});

describe("possible in the config", () => {
  it("derives cpus (nr_cpu_ids) and the possible list", () => {
    const c = resolve({ possible: "0-3,8-11" });
    expect(c.cpus).toBe(12);
    expect(c.possibleCpus).toEqual([0, 1, 2, 3, 8, 9, 10, 11]);
    expect(c.nodes).toBe("0-3;8-11");
    expect(c.cpuToNode).toEqual([0, 0, 0, 0, -1, -1, -1, -1, 1, 1, 1, 1]);
    expect(resolve({ cpus: 4 }).possible).toBe("0-3");
  });

  it("refuses a mask without CPU 0, a cpus that disagrees, bad lists and nodes on holes", () => {
    refused({ possible: "1-3" }, "possible", /must hold CPU 0, the boot CPU/);
    refused({ possible: "0-3,8-11", cpus: 8 }, "cpus", /is not nr_cpu_ids 12/);
    refused({ possible: "0-3,x" }, "possible", /-EINVAL/);
    refused({ possible: "" }, "possible", /must be a cpulist/);
    refused(
      { possible: "0,8192" },
      "possible",
      /CPU 8192 needs nr_cpu_ids 8193, beyond the NR_CPUS limit of 8192/,
    );
    refused({ possible: "0-3,8-11", nodes: "0-5;6-11" }, "nodes", /lists CPU 4 but only CPUs 0-3,8-11/);
    refused({ possible: "0-3,8-11", nodes: "0-3;8-10" }, "nodes", /CPU 11 is in no node/);
  });

  it("writes a mask with holes as possible and reads it back, in JSON and as .config", () => {
    const c = resolve({ possible: "0-3,8-11" });
    const file = configForFile(c);
    expect(file.possible).toBe("0-3,8-11");
    expect(file.cpus).toBeUndefined();
    expect(resolve(file)).toEqual(c);
    expect(toKconfig(file)).toContain('CONFIG_PCPU_POSSIBLE="0-3,8-11"');
    expect(resolve(parseKconfig(toKconfig(file)))).toEqual(c);
    /* a dense mask stays `cpus` */
    const dense = configForFile(resolve({ cpus: 8 }));
    expect(dense.cpus).toBe(8);
    expect(dense.possible).toBeUndefined();
  });

  it("reads possible_cpus=N from CONFIG_CMDLINE on x86 (CPUs 0..N-1, over CONFIG_PCPU_POSSIBLE)", () => {
    const text = 'CONFIG_X86_64=y\nCONFIG_PCPU_POSSIBLE="0-3,8-11"\nCONFIG_CMDLINE="quiet possible_cpus=6"\n';
    const c = resolve(parseKconfig(text));
    expect(c.cpus).toBe(6);
    expect(c.possible).toBe("0-5");
    expect(() => parseKconfig('CONFIG_ARM64=y\nCONFIG_CMDLINE="possible_cpus=4"')).toThrow(
      /x86 and s390 only/,
    );
    expect(() => parseKconfig('CONFIG_CMDLINE="possible_cpus=x"')).toThrow(/not a CPU count/);
  });
});
