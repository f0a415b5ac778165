/*
 * s390: arch/s390/mm/init.c setup_per_cpu_areas() (embed with every CPU
 * LOCAL and on node 0), the lowcore percpu_offset field, the v6 layout
 * (kernel image and modules in one 4 GiB window) and the module percpu
 * addressing rules.
 *
 * Default static 0x20000: size_sum = PFN_ALIGN(0x20000 + 0x2000 + 0x7000) =
 * 0x29000 (41 pages), 64-bit dyn 28K, upa 1.
 */
import { bootArch } from "@pcpu/arch-generic";
import {
  allocPercpu,
  allocReservedPercpu,
  perCpuPtr,
  thisCpuPtr,
  thisCpuRead,
  thisCpuWrite,
} from "@pcpu/percpu";
import { describe, expect, it } from "vitest";
import {
  LARL_MAX,
  S390_MODULES_VADDR,
  S390Arch,
  s390ModulePercpuError,
  s390NeedsWeakPerCpu,
} from "../src/index.js";
import { POPULATIONS, vm } from "./helpers/backends.js";

const s390 = new S390Arch();
const MiB = 2 ** 20;
const GiB = 2 ** 30;

function lines(ls: readonly string[]): string[] {
  return ls.filter((l) => !l.startsWith("percpu: per cpu data for cpu"));
}

describe("setupPerCpuAreas (s390 setup_per_cpu_areas)", () => {
  for (const p of POPULATIONS) {
    const waste = (pages: number) => (p.name === "km" ? [`percpu: wasting ${pages} pages per chunk`] : []);
    it(`boots 1, 2 and 8 CPUs, with and without CONFIG_NUMA (${p.name})`, () => {
      for (const numa of [false, true]) {
        for (const [cpus, dump, w] of [
          [1, "pcpu-alloc: [0] 0 ", 64 - 41],
          [2, "pcpu-alloc: [0] 0 [0] 1 ", 128 - 82],
          [8, "pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 [0] 4 [0] 5 [0] 6 [0] 7 ", 512 - 328],
        ] as const) {
          const k = bootArch(s390, { cpus, numa }, { population: p.factory() });
          expect(lines(k.setup.lines)).toEqual([
            "percpu: Embedded 41 pages/cpu s131072 r8192 d28672 u167936",
            ...waste(w),
            "pcpu-alloc: s131072 r8192 d28672 u167936 alloc=41*4096",
            dump,
          ]);
          /*
           * With NUMA the group is allocated on node 0 (pcpu_cpu_to_node);
           * pcpu_fc_alloc's "per cpu data for cpu%d" line is pr_debug,
           * compiled out, so neither boot prints it.
           */
          expect(k.setup.lines.some((l) => l.startsWith("percpu: per cpu data for cpu0 "))).toBe(false);
          expect(k.config.numa).toBe(numa);
        }
      }
    });
  }

  it("passes the config's reservedSize / dynSize / atomSize in place of its own request", () => {
    /* size_sum = PFN_ALIGN(0x20000 + 0x4000 + 0x7000) = 0x2b000 (43 pages) */
    const k = bootArch(s390, { cpus: 2, reservedSize: 0x4000 }, { population: vm() });
    expect(lines(k.setup.lines)).toEqual([
      "percpu: Embedded 43 pages/cpu s131072 r16384 d28672 u176128",
      "pcpu-alloc: s131072 r16384 d28672 u176128 alloc=43*4096",
      "pcpu-alloc: [0] 0 [0] 1 ",
    ]);
    /* dyn 0x8000 and a 1 MiB atom (_SEGMENT_SIZE): 0x2a000 units, upa floor(0x100000 / 0x2a000) = 6 -> 4 splits, 2 CPUs => upa 2 */
    const seg = bootArch(s390, { cpus: 2, dynSize: 0x8000, atomSize: 0x10_0000 }, { population: vm() });
    expect(lines(seg.setup.lines)).toEqual([
      "percpu: Embedded 42 pages/cpu s131072 r8192 d32768 u524288",
      "pcpu-alloc: s131072 r8192 d32768 u524288 alloc=1*1048576",
      "pcpu-alloc: [0] 0 1 ",
    ]);
    /* 2009: the generic setup takes them too. */
    const old = bootArch(s390, { cpus: 1, era: "v2.6.32", reservedSize: 0x4000 }, { population: vm() });
    expect(old.pcpu.ai!.reservedSize).toBe(0x4000);
  });

  it("boots its maximum, 512 CPUs", () => {
    const k = bootArch(s390, { cpus: 512, nrCpusConfig: 512 }, { population: vm() });
    const l = lines(k.setup.lines);
    /* cpu_width 3, width 8, apl 4: 128 lines */
    expect(l[2]).toBe("pcpu-alloc: [0] 000 [0] 001 [0] 002 [0] 003 ");
    expect(l.at(-1)).toBe("pcpu-alloc: [0] 508 [0] 509 [0] 510 [0] 511 ");
    expect(l).toHaveLength(130);
    k.machine.ctx.setCpu(511);
    expect(k.arch.myCpuOffset()).toBe(k.arch.perCpuOffset(511));
  });

  it("only warns when the units are too far apart for vmalloc (vmalloc=16M)", () => {
    /* 4 x PFN_ALIGN(0x301000 + 0x2000 + 0x7000) = 4 x 0x30a000 = 0xc28000 > 0xc00000 */
    const k = bootArch(s390, { cpus: 4, staticSize: 0x301000, vmallocSize: 16 * MiB }, { population: vm() });
    expect(lines(k.setup.lines).slice(0, 2)).toEqual([
      "percpu: max_distance=0xc28000 too large for vmalloc space 0x1000000",
      "percpu: Embedded 778 pages/cpu s3149824 r8192 d28672 u3186688",
    ]);
    expect(k.setup.fc).toBe("embed");
  });

  it("accepts percpu_alloc=embed silently (NEED_PER_CPU_EMBED_FIRST_CHUNK) but not page", () => {
    expect(bootArch(s390, { cpus: 2, percpuAlloc: "embed" }, { population: vm() }).setup.chosen).toBe(
      "embed",
    );
    const k = bootArch(s390, { cpus: 2, percpuAlloc: "page" }, { population: vm() });
    expect(k.setup.lines[0]).toBe("percpu: unknown allocator page specified");
    expect(k.setup.fc).toBe("embed");
  });

  it("2009 (v2.6.32): the generic setup on the identity-mapped kernel, 1 GiB of vmalloc", () => {
    const k = bootArch(s390, { cpus: 8, era: "v2.6.32" }, { population: vm() });
    /* 2.6.32: dyn 20K, 64K minimum unit: size_sum 0x27000; 8 units top-down below 4 GiB = 0xffec8000 */
    expect(lines(k.setup.lines)).toEqual([
      "PERCPU: Embedded 39 pages/cpu @00000000ffec8000 s131072 r8192 d20480 u159744",
      "pcpu-alloc: s131072 r8192 d20480 u159744 alloc=39*4096",
      "pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 [0] 4 [0] 5 [0] 6 [0] 7 ",
    ]);
    expect(k.section.perCpuStart).toBe(0x200_0000);
    expect(k.machine.vmalloc.total).toBe(GiB);
  });
});

describe("myCpuOffset (s390 __my_cpu_offset: lowcore percpu_offset)", () => {
  it("is stored by smp_prepare_boot_cpu and pcpu_prepare_secondary; 0 before", () => {
    const k = bootArch(s390, { cpus: 4 }, { population: vm(), bringUpSecondaries: false });
    const a = k.arch;
    expect(a.lowcorePercpuOffset[0]).toBe(a.perCpuOffset(0));
    k.machine.ctx.setCpu(3);
    expect(a.myCpuOffset()).toBe(0);
    const p = k.section.perCpuStart + 8;
    expect(thisCpuPtr(k.pcpu, p)).toBe(p);
    a.bringUpCpu(3);
    expect(a.myCpuOffset()).toBe(a.perCpuOffset(3));
    expect(a.mechanism).toBe("get_lowcore()->percpu_offset");
  });

  it("changing the lowcore field changes what this_cpu reads; memory is big-endian", () => {
    const k = bootArch(s390, { cpus: 4 }, { population: vm() });
    const ptr = allocPercpu(k.pcpu, 8, 8)!;
    for (let cpu = 0; cpu < 4; cpu++) k.machine.mem.write32(perCpuPtr(k.pcpu, ptr, cpu), 0x500 + cpu);
    k.machine.ctx.setCpu(2);
    expect(thisCpuRead(k.pcpu, ptr, 4)).toBe(0x502);
    k.arch.writeLowcore(2, k.arch.perCpuOffset(0));
    expect(thisCpuRead(k.pcpu, ptr, 4)).toBe(0x500);
    thisCpuWrite(k.pcpu, ptr, 4, 0xa1b2_c3d4);
    expect(k.machine.mem.read8(perCpuPtr(k.pcpu, ptr, 0))).toBe(0xa1);
  });
});

describe("s390ModulePercpuError (module percpu addressing)", () => {
  it("v6.19+: module statics from the reserved chunk are within larl reach, dynamic percpu memory is not", () => {
    const k = bootArch(s390, { cpus: 2 }, { population: vm() });
    expect(s390NeedsWeakPerCpu("v6")).toBe(false);
    const fmt = (a: number) => s390.formatAddr(a);
    const reserved = allocReservedPercpu(k.pcpu, 0x40, 8)!;
    /* __per_cpu_start = 0x3ffc2000000 + 0x20000 of static data: the reserved area follows. */
    expect(reserved).toBe(0x3ffc_2020_000);
    const code = S390_MODULES_VADDR;
    expect(
      s390ModulePercpuError(
        "v6",
        { name: "m", codeAddr: code, symbols: [{ name: "v", ptr: reserved }] },
        fmt,
      ),
    ).toBeNull();
    /* Fill the first chunk so the next allocation comes from a vmalloc'ed chunk: far from the image. */
    let far = 0;
    for (let i = 0; i < 64 && far === 0; i++) {
      const p = allocPercpu(k.pcpu, 0x1000, 0x1000)!;
      if (k.machine.vmalloc.isVmallocAddr(k.arch.pcpuPtrToAddr(p))) far = p;
    }
    expect(far - code).toBeGreaterThan(LARL_MAX);
    expect(
      s390ModulePercpuError("v6", { name: "m", codeAddr: code, symbols: [{ name: "w", ptr: far }] }, fmt),
    ).toBe(
      `s390: module m: percpu symbol w at ${fmt(far)} is out of larl range (R_390_PC32DBL, +-4 GiB) of the code at 000003ff40000000`,
    );
  });

  it("before 6.19: any distance through the GOT, but weak definitions must be unique and public", () => {
    expect(s390NeedsWeakPerCpu("v6.14")).toBe(true);
    const fmt = (a: number) => s390.formatAddr(a);
    const far = { name: "m", codeAddr: 0, symbols: [{ name: "v", ptr: 0x7ff0_0000_0000 }] };
    expect(s390ModulePercpuError("v6.14", far, fmt)).toBeNull();
    expect(
      s390ModulePercpuError(
        "v6.14",
        {
          name: "m",
          codeAddr: 0,
          symbols: [
            { name: "v", ptr: 0 },
            { name: "v", ptr: 8 },
          ],
        },
        fmt,
      ),
    ).toBe(
      "s390: module m: percpu symbol v defined twice; weak percpu definitions (ARCH_MODULE_NEEDS_WEAK_PER_CPU) must be unique",
    );
    expect(
      s390ModulePercpuError(
        "v2.6.32",
        { name: "m", codeAddr: 0, symbols: [{ name: "c", ptr: 0, functionStatic: true }] },
        fmt,
      ),
    ).toBe(
      "s390: module m: percpu symbol c is a function-local static; weak percpu definitions (ARCH_MODULE_NEEDS_WEAK_PER_CPU) must be public",
    );
  });
});

describe("layout (s390 setup_kernel_memory_layout)", () => {
  it("puts 510 GiB of vmalloc below 2 GiB of modules below the kernel image", () => {
    expect(s390.layout({ cpus: 1 })).toMatchObject({
      pageOffset: 0,
      vmallocEnd: 0x3ff_4000_0000,
      vmallocTotal: 510 * GiB,
      modulesStart: 0x3ff_4000_0000,
      modulesEnd: 0x3ff_c000_0000,
    });
    /* vmalloc= rounds up to a 1 MiB segment */
    expect(s390.layout({ cpus: 1, vmallocSize: 16 * MiB + 1 }).vmallocTotal).toBe(17 * MiB);
  });

  it("rejects what s390 cannot build", () => {
    expect(() => s390.resolve({ cpus: 513 })).toThrow("s390: cpus must be an integer in [1, 512]");
    expect(() => s390.resolve({ cpus: 65, era: "v2.6.32" })).toThrow(
      "s390: cpus must be an integer in [1, 64]",
    );
    expect(() => s390.resolve({ cpus: 2, nodes: [[0], [1]] })).toThrow(
      "s390: numa_setup() puts all memory on node 0",
    );
    expect(() => s390.resolve({ cpus: 2, numa: true, era: "v2.6.32" })).toThrow(
      "s390: CONFIG_NUMA is not available in v2.6.32",
    );
    expect(() => s390.resolve({ cpus: 1, era: "v2.6.32", vmallocSize: 16 * MiB })).toThrow(
      "s390: the v2.6.32 layout has a fixed 1 GiB vmalloc area",
    );
    expect(() => s390.resolve({ cpus: 1, era: "v4.14" })).toThrow('s390: era "v4.14" is not modelled');
  });
});
