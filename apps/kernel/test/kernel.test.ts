import type { PcpuPtr } from "@pcpu/percpu";
import { describe, expect, it } from "vitest";
import { ARCH_NAMES } from "../src/api.js";
import { BootError } from "../src/assemble.js";
import { KernelApiError } from "../src/kernel.js";
import { bootKernel } from "../src/registry.js";
import { parseTraceForReplay, replayTrace } from "../src/replay.js";

describe("bootKernel (start_kernel's percpu part) on the default kernel", () => {
  const k = bootKernel({});
  it("prints the percpu boot lines as Linux does", () => {
    const log = k.dmesg();
    /* size_sum = 0x24000 + 0x2000 + 0x7000 = 0x2d000: 45 pages; 2 nodes of 4 CPUs in 2 MiB atoms: u = 0x200000 / 4 */
    expect(log).toContain("setup_percpu: NR_CPUS:64 nr_cpumask_bits:64 nr_cpu_ids:8 nr_node_ids:2");
    expect(log).toContain("percpu: Embedded 45 pages/cpu s147456 r8192 d28672 u524288");
    expect(log).toContain("pcpu-alloc: s147456 r8192 d28672 u524288 alloc=1*2097152");
    expect(log).toContain("pcpu-alloc: [0] 0 1 2 3 [1] 4 5 6 7 ");
  });
  it("reports the Percpu: line from pcpu_nr_pages", () => {
    /* 45 populated pages per unit x 8 units = 360 pages = 1440 kB */
    expect(k.percpu.nrPages()).toBe(360);
    expect(k.meminfo()).toMatch(
      /^MemTotal: +\d+ kB\nMemFree: +\d+ kB\nVmallocTotal: {3}34359738367 kB\nVmallocUsed: +0 kB\nVmallocChunk: +0 kB\nPercpu: {13}1440 kB\n$/,
    );
  });
  it("allocates zeroed memory behind every CPU's copy and frees it", () => {
    const p = k.percpu.alloc(0x40, 8)!;
    expect(p).not.toBeNull();
    const addrs = new Set<number>();
    for (let cpu = 0; cpu < 8; cpu++) {
      const a = k.percpu.perCpuPtr(p, cpu);
      addrs.add(a);
      expect(k.mem.read(a, 8)).toBe(0n);
      k.mem.write(a, 4, 0x1000 + cpu);
    }
    expect(addrs.size).toBe(8);
    /* CPUs 0 and 4 are in different groups: their units are a group apart, not a unit */
    expect(k.percpu.perCpuPtr(p, 1) - k.percpu.perCpuPtr(p, 0)).toBe(0x80000);
    for (let cpu = 0; cpu < 8; cpu++) expect(k.mem.read(k.percpu.perCpuPtr(p, cpu), 4)).toBe(0x1000 + cpu);
    expect(k.percpu.free(p)).toBe(true);
    expect(k.counters).toMatchObject({ allocs: 1, frees: 1, failures: 0 });
  });
  it("serves allocReserved from the reserved chunk and refuses what does not fit", () => {
    const r = k.percpu.allocReserved(0x1000, 8)!;
    expect(r).not.toBeNull();
    expect(k.percpu.allocReserved(0x2000, 8)).toBeNull();
    k.percpu.free(r);
  });
  it("runs this_cpu ops through the arch's per-CPU base on the chosen CPU", () => {
    const p = k.percpu.alloc(8, 8)!;
    const t = k.onCpu(5, (t) => {
      t.write(p, 4, 10);
      t.add(p, 4, 5);
      t.inc(p, 4);
      t.dec(p, 4);
      t.sub(p, 4, 3);
      expect(t.xchg(p, 4, 100)).toBe(12);
      expect(t.cmpxchg(p, 4, 99, 1)).toBe(100);
      expect(t.cmpxchg(p, 4, 100, 7)).toBe(100);
      t.add(p, 2, -8);
      return t.read(p, 4);
    });
    /* 7 - 8 in the low 16 bits wraps to 0xffff */
    expect(t).toBe(0xffff);
    expect(k.machine.ctx.cpu).toBe(0);
    expect(k.mem.read(k.percpu.perCpuPtr(p, 5), 4)).toBe(0xffff);
    expect(k.mem.read(k.percpu.perCpuPtr(p, 4), 4)).toBe(0);
    k.onCpu(2, (t) => t.write(p, 8, 0xffff_ffff_ffff_ffffn));
    expect(k.mem.read(k.percpu.perCpuPtr(p, 2), 8)).toBe(0xffff_ffff_ffff_ffffn);
    k.percpu.free(p);
  });
  it("records the percpu tracepoints as ftrace text", () => {
    const p = k.percpu.alloc(0x20, 8);
    k.percpu.free(p);
    const trace = k.trace();
    expect(trace).toMatch(/^# tracer: nop\n/);
    expect(trace).toMatch(
      /percpu_alloc_percpu: call_site=pcpu_model_alloc\+0x1d\/0x40 \[pcpu_model\] reserved=0 is_atomic=0 size=32 align=8 base_addr=ffff/,
    );
    expect(trace).toMatch(/percpu_free_percpu: base_addr=ffff[0-9a-f]{12} off=\d+ ptr=/);
  });
  it("shows percpu_stats in debugfs", () => {
    const s = k.debugfs("percpu_stats");
    expect(s).toMatch(/^Percpu Memory Statistics\nAllocation Info:\n/);
    expect(s).toContain("  unit_size           :       524288\n");
  });
  it("refuses misuse with KernelApiError", () => {
    expect(() => k.debugfs("slab" as "percpu_stats")).toThrow(KernelApiError);
    expect(() => k.mem.read(0, 3 as 4)).toThrow(/width must be 1, 2, 4 or 8/);
    expect(() => k.onCpu(8, () => 0)).toThrow("onCpu: cpu must be a possible CPU (0-7), got 8");
    expect(() => k.percpu.alloc(8, 8, "GFP_DMA" as "GFP_KERNEL")).toThrow(
      'percpu.alloc: gfp must be GFP_KERNEL, GFP_KERNEL_ACCOUNT, GFP_NOWAIT, GFP_ATOMIC or a gfp_t number, got "GFP_DMA"',
    );
    expect(() => k.percpu.perCpuPtr(0 as PcpuPtr, -1)).toThrow(KernelApiError);
  });
});

describe("bootKernel configurations", () => {
  it("has no debugfs percpu_stats without CONFIG_PERCPU_STATS", () => {
    const k = bootKernel({ stats: false, trace: false });
    expect(k.stats).toBeNull();
    expect(() => k.debugfs("percpu_stats")).toThrow(/CONFIG_PERCPU_STATS is off/);
    expect(k.trace()).toMatch(/entries-in-buffer\/entries-written: 0\/0 /);
  });
  it("fails GFP_ATOMIC allocations that need a new chunk, until the balance work ran", () => {
    const k = bootKernel({ arch: "arm", cpus: 2, trace: false });
    /* drain the first chunk's dynamic area (20K) with atomic allocations */
    let fails = 0;
    for (let i = 0; i < 0x18; i++) if (k.percpu.alloc(0x400, 8, "GFP_ATOMIC") === null) fails++;
    expect(fails).toBeGreaterThan(0);
    expect(k.runWork()).toBe(1);
    expect(k.counters.chunksCreated).toBe(1);
    expect(k.percpu.alloc(0x400, 8, "GFP_ATOMIC")).not.toBeNull();
  });
  it("honours reserved/dyn/atom overrides on a package arch", () => {
    const k = bootKernel({
      arch: "arm",
      cpus: 2,
      reservedSize: "16K",
      dynSize: "32K",
      staticSize: "0x8000",
      trace: false,
    });
    /* 0x8000 + 0x4000 + 0x8000 = 0x14000: 20 pages */
    expect(k.dmesg()).toContain("percpu: Embedded 20 pages/cpu s32768 r16384 d32768 u81920");
  });
  it("passes size overrides to the x86 package's own setup_per_cpu_areas", () => {
    /* size_sum = 0x24000 + 0x1000 + 0x6000 = 0x2b000; 2 MiB atom, two groups of 4 => upa 4 */
    const k = bootKernel({ reservedSize: "4K", dynSize: "24K", trace: false });
    expect(k.dmesg()).toEqual(
      expect.arrayContaining([
        "setup_percpu: NR_CPUS:64 nr_cpumask_bits:64 nr_cpu_ids:8 nr_node_ids:2",
        "percpu: Embedded 43 pages/cpu s147456 r4096 d24576 u524288",
        "pcpu-alloc: s147456 r4096 d24576 u524288 alloc=1*2097152",
        "pcpu-alloc: [0] 0 1 2 3 [1] 4 5 6 7 ",
      ]),
    );
    /* A page-sized atom instead of PMD_SIZE: one 43-page allocation per CPU. */
    const small = bootKernel({ reservedSize: "4K", dynSize: "24K", atomSize: "4K", trace: false });
    expect(small.dmesg()).toContain("pcpu-alloc: s147456 r4096 d24576 u176128 alloc=43*4096");
    /* percpu_alloc=page takes the reserved size only. */
    const page = bootKernel({ reservedSize: "4K", percpuAlloc: "page", trace: false });
    expect(page.dmesg()).toContain("percpu: 42 4K pages/cpu s147456 r4096 d20480");
  });
  it("falls back to page past 3/4 of x86_64's inclusive VMALLOC_TOTAL (0x17ffffffffff)", () => {
    /*
     * Two nodes of 24 TiB - 2 MiB: the groups' 2 MiB blocks sit at the top
     * of each node, 24 TiB - 2 MiB apart, plus 4 units of 512 KiB:
     * max_distance = 0x180000000000, one past (2^45 - 1) * 3 / 4.
     */
    const k = bootKernel({ memPerNode: `${24 * 1024 * 1024 - 2}M`, trace: false });
    const log = k.dmesg();
    expect(log).toContain("percpu: max_distance=0x180000000000 too large for vmalloc space 0x1fffffffffff");
    expect(log).toContain("setup_percpu: auto allocator failed (-22), falling back to page size");
    expect(log).toContain("percpu: 43 4K pages/cpu s147456 r8192 d20480");
    expect(k.machine.vmalloc.total).toBe(0x1fff_ffff_ffff);
  });
  it("builds the page first chunk with percpu_alloc=page on x86", () => {
    const k = bootKernel({ arch: "i386", percpuAlloc: "page", trace: false });
    expect(k.dmesg().some((l) => /^percpu: \d+ 4K pages\/cpu s\d+ r0 d\d+$/.test(l))).toBe(true);
  });
  it("boots the km backend and every arch", () => {
    for (const arch of ARCH_NAMES) {
      const k = bootKernel({ arch, population: "km", nodes: "0-3", cpus: 4, trace: false });
      expect(k.pcpu.backend.name).toBe("km");
      const p = k.percpu.alloc(0x10, 8)!;
      k.onCpu(3, (t) => t.write(p, 4, 0xdead));
      expect(k.mem.read(k.percpu.perCpuPtr(p, 3), 4)).toBe(0xdead);
    }
  });
  it("boots the 2009 area map allocator", () => {
    const k = bootKernel({ allocator: "area-map", trace: false });
    expect(k.pcpu.area.name).toBe("area-map");
    const p = k.percpu.alloc(0x30, 8)!;
    k.onCpu(6, (t) => t.write(p, 4, 0x1234));
    expect(k.mem.read(k.percpu.perCpuPtr(p, 6), 4)).toBe(0x1234);
    expect(k.percpu.free(p)).toBe(true);
  });
  it("reports a panic at boot as BootError with the log", () => {
    /* 32 units of over 1 MiB do not fit 16 MiB of memory: memblock fails and setup_per_cpu_areas panics */
    let err: unknown;
    try {
      bootKernel({ arch: "sparc32", cpus: 32, memPerNode: "16M", staticSize: "1M", trace: false });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BootError);
  });
});

describe("percpu tracepoints as a running kernel records them", () => {
  it("has no percpu_create_chunk for the first chunk: tracing starts after setup_per_cpu_areas", () => {
    const k = bootKernel({ cpus: 4, nodes: "0-3" });
    expect(k.trace()).not.toMatch(/percpu_create_chunk/);
    /* the counters still know the first chunk */
    expect(k.counters).toMatchObject({ chunks: 1, chunksCreated: 0 });
    /* the first traced event is the first allocation, after boot */
    k.percpu.alloc(8, 8);
    const lines = k
      .trace()
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("#"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ 0\.000001: percpu_alloc_percpu: /);
  });

  it("marks free_percpu's event with irqs off (d..1.): it fires under spin_lock_irqsave(&pcpu_lock)", () => {
    const k = bootKernel({ cpus: 4, nodes: "0-3" });
    const p = k.percpu.alloc(0x10, 8);
    k.percpu.free(p);
    /* created for a 0x8000 area that the first chunk cannot hold: traced outside the lock */
    const q = k.percpu.alloc(0x8000, 0x1000);
    k.percpu.free(q);
    const body = k
      .trace()
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("#"));
    const flagsOf = (ev: string) => body.filter((l) => l.includes(`: ${ev}: `)).map((l) => l.split(/ +/)[3]);
    /* pcpu_alloc traces after spin_unlock_irqrestore: interrupts on, preemption on */
    expect(flagsOf("percpu_alloc_percpu")).toEqual([".....", "....."]);
    /* free_percpu traces with pcpu_lock held by spin_lock_irqsave: d, preempt depth 1 */
    expect(flagsOf("percpu_free_percpu")).toEqual(["d..1.", "d..1."]);
    /* pcpu_create_chunk runs with no lock held */
    expect(flagsOf("percpu_create_chunk")).toEqual(["....."]);
    expect(k.machine.ctx.irqsDisabled()).toBe(false);
  });

  it("replay does not count a boot-time percpu_create_chunk that older traces carry", () => {
    const k = bootKernel({ cpus: 4, nodes: "0-3" });
    const p = k.percpu.alloc(0x8000, 0x1000);
    k.percpu.free(p);
    const text = k.trace();
    expect(text).toContain("entries-in-buffer/entries-written: 3/3 ");
    /* what earlier versions wrote first: the first chunk's event, at time 0 */
    const base = k.pcpu.archHooks().formatAddr(k.pcpu.baseAddr);
    const old = text
      .replace("3/3", "4/4")
      .replace(
        /\n(?=[^#])/,
        `\n       swapper/0-0       [000] .....     0.000000: percpu_create_chunk: base_addr=${base}\n`,
      );
    expect(old).toContain(`0.000000: percpu_create_chunk: base_addr=${base}\n`);
    expect(parseTraceForReplay(old).records).toHaveLength(4);
    for (const t of [text, old]) {
      const r = replayTrace(bootKernel({ cpus: 4, nodes: "0-3" }), parseTraceForReplay(t));
      /* the one chunk the running kernel created */
      expect(r.trace.chunksCreated).toBe(1);
      expect(r.replay.chunksCreated).toBe(1);
    }
  });
});

describe("memcg config key (CONFIG_MEMCG kmem accounting)", () => {
  const bytesAlloc = (memcg?: boolean | string) => {
    const k = bootKernel(memcg === undefined ? {} : { memcg });
    k.percpu.alloc(16, 8);
    return /bytes_alloc=(\d+)/.exec(k.trace())?.[1];
  };
  it("is on by default as in distro kernels: 16 bytes on 8 CPUs trace bytes_alloc=160", () => {
    expect(bootKernel({}).config.memcg).toBe(true);
    expect(bytesAlloc()).toBe("160");
    expect(bytesAlloc("on")).toBe("160");
  });
  it("off (cgroup.memory=nokmem or no CONFIG_MEMCG): bytes_alloc=128", () => {
    expect(bytesAlloc(false)).toBe("128");
    expect(bytesAlloc("off")).toBe("128");
  });
  it("refuses a value that is not on/off", () => {
    expect(() => bootKernel({ memcg: "maybe" })).toThrow(/memcg.*"maybe" is not on\/off/);
  });
});
