/*
 * Misuse the kernel catches, caught the same way with the kernel's text:
 * free_percpu of a bad pointer (WARN, refused), sizes and alignments out of
 * range (WARN, NULL), a sleeping allocation in atomic context (the
 * might_sleep BUG report), and this_cpu access through a freed pointer
 * (reported by the model's debug mode). After each, every live allocation
 * holds its bytes and no count moved.
 */

import { bootKernel } from "@pcpu/kernel";
import { __GFP_NOWARN, GFP_ATOMIC, GFP_KERNEL, type Machine, SleepInAtomicError } from "@pcpu/mm";
import {
  allocPercpu,
  allocPercpuGfp,
  checkPercpuInvariants,
  freePercpu,
  type PcpuPtr,
  PcpuUseAfterFreeError,
  type Percpu,
  perCpuPtr,
  thisCpuAdd,
  thisCpuRead,
  thisCpuWrite,
} from "@pcpu/percpu";
import { bootTestKernel } from "@pcpu/percpu/testing";
import { percpuVm } from "@pcpu/percpu-vm";
import { describe, expect, it } from "vitest";
import { patternBytes } from "../src/index.js";

interface Target {
  readonly name: string;
  boot(): { machine: Machine; pcpu: Percpu };
}

const TARGETS: Target[] = [
  {
    name: "test kernel, generic 64-bit, vm, 4 CPUs",
    boot: () => bootTestKernel({ population: percpuVm, cpus: 4 }),
  },
  {
    name: "x86_64 kernel, 8 CPUs in 2 nodes, embed (@pcpu/kernel)",
    boot: () => bootKernel({ arch: "x86_64", cpus: 8, trace: false, debugChecks: true }),
  },
  {
    name: "sparc32 kernel, 4 CPUs, big-endian 32-bit (@pcpu/kernel)",
    boot: () => bootKernel({ arch: "sparc32", cpus: 4, trace: false, debugChecks: true }),
  },
];

/** A kernel with three live allocations holding per-CPU bytes, and a way to prove nothing changed. */
function setup(t: Target) {
  const { machine, pcpu } = t.boot();
  const live: { ptr: PcpuPtr; size: number }[] = [];
  for (const size of [0x10, 0x100, 0x2000]) {
    const ptr = allocPercpu(pcpu, size, 8)!;
    for (let cpu = 0; cpu < pcpu.nrPossibleCpus; cpu++)
      machine.mem.copyIn(perCpuPtr(pcpu, ptr, cpu), patternBytes(size, size + cpu));
    live.push({ ptr, size });
  }
  const freed = allocPercpu(pcpu, 0x40, 8)!;
  freePercpu(pcpu, freed);
  const key = () =>
    [
      pcpu.nrPopulated,
      pcpu.nrEmptyPopPages,
      machine.pageAlloc.nrAllocatedPages(),
      ...pcpu.allChunks().map((c) => `${c.id}:${c.freeBytes}`),
    ].join(",");
  const before = key();
  machine.log.clear();
  /** Everything as it was: invariants, bytes of every live allocation on every CPU, counts. */
  const unchanged = () => {
    expect(checkPercpuInvariants(pcpu)).toBeNull();
    for (const a of live) {
      for (let cpu = 0; cpu < pcpu.nrPossibleCpus; cpu++) {
        expect(machine.mem.copyOut(perCpuPtr(pcpu, a.ptr, cpu), a.size)).toEqual(
          patternBytes(a.size, a.size + cpu),
        );
      }
    }
    expect(key()).toBe(before);
  };
  const fmt = (p: number) => pcpu.archHooks().formatAddr(p);
  return { machine, pcpu, live, freed, unchanged, fmt, dmesg: () => machine.log.dmesg() };
}

/** The WARN block the kernel prints: cut here, the text, the WARNING line, the end marker. */
function warnBlock(text: string, where: string): string[] {
  return [
    "------------[ cut here ]------------",
    text,
    `WARNING: CPU: 0 PID: 0 at ${where}`,
    "---[ end trace 0000000000000000 ]---",
  ];
}

for (const t of TARGETS) {
  describe(`misuse caught by freePercpu (free_percpu) on ${t.name}`, () => {
    it("refuses a pointer that was never allocated (inside a live allocation) with a WARN", () => {
      const k = setup(t);
      const p = (k.live[1]!.ptr + 0x10) as PcpuPtr;
      expect(freePercpu(k.pcpu, p)).toBe(false);
      expect(k.dmesg()).toEqual(
        warnBlock(
          `percpu: free_percpu: pointer ${k.fmt(p)} is not a live percpu allocation (never allocated or already freed)`,
          "mm/percpu.c:2236 free_percpu+0x6e/0x4b0",
        ),
      );
      k.unchanged();
    });

    it("refuses a pointer freed before (double free) with a WARN", () => {
      const k = setup(t);
      expect(freePercpu(k.pcpu, k.freed)).toBe(false);
      expect(k.dmesg()[1]).toBe(
        `percpu: free_percpu: pointer ${k.fmt(k.freed)} is not a live percpu allocation (never allocated or already freed)`,
      );
      k.unchanged();
    });

    it("refuses a pointer into the static percpu area with a WARN", () => {
      const k = setup(t);
      const p = k.pcpu.archHooks().addrToPcpuPtr(k.pcpu.baseAddr + 0x100);
      expect(freePercpu(k.pcpu, p)).toBe(false);
      expect(k.dmesg()).toEqual(
        warnBlock(
          `percpu: free_percpu: pointer ${k.fmt(p)} points into the static percpu area`,
          "mm/percpu.c:2236 free_percpu+0x6e/0x4b0",
        ),
      );
      k.unchanged();
    });

    it("refuses a pointer outside every chunk with a WARN, and free_percpu(NULL) is a no-op", () => {
      const k = setup(t);
      const p = k.pcpu.archHooks().addrToPcpuPtr(k.machine.config.vmallocEnd - k.pcpu.constants.PAGE_SIZE);
      expect(freePercpu(k.pcpu, p)).toBe(false);
      expect(k.dmesg()[1]).toBe(`percpu: free_percpu: pointer ${k.fmt(p)} is not in any percpu chunk`);
      expect(freePercpu(k.pcpu, null)).toBe(true);
      expect(k.dmesg()).toHaveLength(4);
      k.unchanged();
    });
  });

  describe(`sizes and alignments out of range in pcpuAlloc (pcpu_alloc) on ${t.name}`, () => {
    const cases: [size: number, align: number, printedSize: number, printedAlign: number][] = [
      [0, 8, 0, 8],
      /* PCPU_MIN_UNIT_SIZE (0x8000) is the largest legal size; sizes are rounded to 4 before the check. */
      [0x8001, 8, 0x8004, 8],
      [0x10000, 4, 0x10000, 4],
      /* Alignment above PAGE_SIZE, or not a power of two; below 4 it is raised to 4 first. */
      [0x10, 0x2000, 0x10, 0x2000],
      [0x10, 12, 0x10, 12],
      [0x10, 0x30, 0x10, 0x30],
    ];
    for (const [size, align, ps, pa] of cases) {
      it(`__alloc_percpu(0x${size.toString(16)}, 0x${align.toString(16)}) returns NULL with the kernel's WARN`, () => {
        const k = setup(t);
        expect(allocPercpu(k.pcpu, size, align)).toBeNull();
        expect(k.dmesg()).toEqual(
          warnBlock(
            `illegal size (${ps}) or align (${pa}) for percpu allocation`,
            "mm/percpu.c:1766 pcpu_alloc_noprof+0x82b/0xeb0",
          ),
        );
        k.unchanged();
      });
    }

    it("stays silent with __GFP_NOWARN and still returns NULL", () => {
      const k = setup(t);
      expect(allocPercpuGfp(k.pcpu, 0, 8, GFP_KERNEL | __GFP_NOWARN)).toBeNull();
      expect(k.dmesg()).toEqual([]);
      k.unchanged();
    });

    it("refuses sizes that are not integers at the API edge (a TypeError, not a kernel path)", () => {
      const k = setup(t);
      expect(() => allocPercpu(k.pcpu, -1, 8)).toThrow(
        /^percpu: size must be a size_t \(an integer in \[0, 2\^(32|64)\)\), got -1$/,
      );
      expect(() => allocPercpu(k.pcpu, 1.5, 8)).toThrow(
        /^percpu: size must be a size_t \(an integer in \[0, 2\^(32|64)\)\), got 1\.5$/,
      );
      expect(() => allocPercpu(k.pcpu, 2 ** 64, 8)).toThrow(/size must be a size_t/);
      expect(() => allocPercpu(k.pcpu, 8, Number.NaN)).toThrow(
        /^percpu: align must be a size_t \(an integer in \[0, 2\^(32|64)\)\), got NaN$/,
      );
      k.unchanged();
    });
  });

  describe(`sleeping allocation from atomic context (might_sleep in mutex_lock) on ${t.name}`, () => {
    const reasons: [reason: "spinlock" | "softirq" | "irq", irqsDisabled: number, preemptCount: string][] = [
      ["spinlock", 0, "1"],
      ["softirq", 0, "100"],
      ["irq", 1, "10000"],
    ];
    for (const [reason, irqs, count] of reasons) {
      it(`is a BUG in ${reason} context with the kernel's report, and nothing changes`, () => {
        const k = setup(t);
        expect(() => k.machine.ctx.runAtomic(reason, () => allocPercpu(k.pcpu, 0x10, 8))).toThrow(
          SleepInAtomicError,
        );
        expect(k.dmesg()).toEqual([
          "BUG: sleeping function called from invalid context at kernel/locking/mutex.c:283",
          `in_atomic(): 1, irqs_disabled(): ${irqs}, non_block: 0, pid: 0, name: swapper/0`,
          `preempt_count: ${count}, expected: 0`,
          "RCU nest depth: 0, expected: 0",
        ]);
        k.unchanged();
        /* The allocator is still usable: atomic allocations in that context, sleeping ones outside. */
        const a = k.machine.ctx.runAtomic(reason, () => allocPercpuGfp(k.pcpu, 0x10, 8, GFP_ATOMIC));
        expect(a).not.toBeNull();
        expect(allocPercpu(k.pcpu, 0x10, 8)).not.toBeNull();
      });
    }
  });

  describe(`this_cpu access through a freed pointer (debug mode) on ${t.name}`, () => {
    it("this_cpu_read, this_cpu_write and this_cpu_add are reported, not silently allowed", () => {
      const k = setup(t);
      const p = k.fmt(k.freed);
      expect(() => thisCpuRead(k.pcpu, k.freed, 4)).toThrow(PcpuUseAfterFreeError);
      expect(() => thisCpuWrite(k.pcpu, k.freed, 4, 1)).toThrow(
        `this_cpu_write: ${p} is not a live percpu allocation (use after free_percpu?)`,
      );
      expect(() => thisCpuAdd(k.pcpu, k.freed, 8, 1n)).toThrow(PcpuUseAfterFreeError);
      expect(k.dmesg().filter((l) => l.startsWith("percpu:"))).toEqual([
        `percpu: this_cpu_read through ${p}, which is not a live percpu allocation`,
        `percpu: this_cpu_write through ${p}, which is not a live percpu allocation`,
        `percpu: this_cpu_add through ${p}, which is not a live percpu allocation`,
      ]);
      k.unchanged();
      /* A live pointer, and the static area, are fine. */
      expect(thisCpuRead(k.pcpu, k.live[0]!.ptr, 4)).toBe(
        new DataView(patternBytes(0x10, 0x10).buffer).getUint32(0, k.machine.littleEndian),
      );
    });
  });
}
