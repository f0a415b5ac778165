/*
 * The library's boundary (issue 18, items 1-5): every public entry point of
 * a booted Kernel refuses what is not a value of its C type with a
 * KernelApiError naming the argument and the value as given, and leaves the
 * kernel untouched; a size_t the allocator cannot serve gets pcpu_alloc's
 * own WARN and NULL, computed in the arch's size_t arithmetic.
 */

import { KernelOops, SleepInAtomicError } from "@pcpu/mm";
import type { PcpuPtr } from "@pcpu/percpu";
import { allocPercpuGfp } from "@pcpu/percpu";
import { describe, expect, it } from "vitest";
import type { ArchName } from "../src/api.js";
import { ConfigError } from "../src/config.js";
import { KernelApiError } from "../src/kernel.js";
import { bootKernel } from "../src/registry.js";
import { parseTraceForReplay, replayTrace } from "../src/replay.js";
import { runWorkload } from "../src/report.js";

const ARCHES: readonly ArchName[] = ["x86_64", "i386", "arm", "arm64", "sparc32", "s390", "generic"];
/* generic is 64-bit unless --bits says otherwise */
const BITS: Record<ArchName, 32 | 64> = {
  x86_64: 64,
  i386: 32,
  arm: 32,
  arm64: 64,
  sparc32: 32,
  s390: 64,
  generic: 64,
};

function boot(arch: ArchName) {
  return bootKernel({ arch, cpus: 4, nodes: arch === "x86_64" ? "0-1;2-3" : undefined, trace: false });
}

type K = ReturnType<typeof boot>;

/** Everything a refused call must leave as it was. */
function state(k: K): string {
  const p = k.pcpu;
  const parts: (number | boolean)[] = [
    p.pcpuNrPages(),
    p.nrEmptyPopPages,
    k.machine.pageAlloc.nrAllocatedPages(),
    k.machine.wq.pendingCount(),
    k.counters.allocs,
    k.counters.frees,
    k.counters.failures,
    k.dmesg().length,
    k.machine.ctx.cpu,
  ];
  for (const c of p.allChunks()) parts.push(c.id, c.freeBytes, c.nrPopulated);
  return parts.join(",");
}

/** The KernelApiError `f` throws (fails the test when it throws anything else or nothing). */
function apiError(f: () => unknown): KernelApiError {
  try {
    f();
  } catch (e) {
    if (e instanceof KernelApiError) return e;
    throw new Error(`expected KernelApiError, got ${(e as Error).name}: ${(e as Error).message}`);
  }
  throw new Error("expected KernelApiError, nothing was thrown");
}

/** The call throws a KernelApiError naming `argument` and `shown`, and nothing in the kernel changes. */
function refused(k: K, f: () => unknown, argument: string, shown: string): KernelApiError {
  const before = state(k);
  const e = apiError(f);
  expect(e.argument).toBe(argument);
  expect(e.message).toContain(`${argument} must be`);
  expect(e.message).toContain(`got ${shown}`);
  expect(state(k)).toBe(before);
  return e;
}

describe.each(ARCHES)(
  "percpu.alloc size arithmetic in %s's size_t (pcpu_alloc's ALIGN and size check)",
  (arch) => {
    const k = boot(arch);
    const bits = BITS[arch];

    it("item 1: alloc(2^31, 8) returns NULL with the kernel's WARN instead of hanging", () => {
      const lines = k.dmesg().length;
      /*
       * A hang is a synchronous loop no test timeout interrupts: give the call
       * a budget of pcpu_lock acquisitions (the create-chunk-and-restart loop
       * takes it once per turn) so a regression fails instead of hanging.
       */
      const lock = k.pcpu.lock;
      const take = lock.lock;
      let turns = 0;
      lock.lock = function (this: typeof lock) {
        if (++turns > 1000)
          throw new Error("alloc(2^31) took pcpu_lock 1000 times: the restart loop never ends");
        take.call(this);
      };
      let r: unknown;
      try {
        r = k.percpu.alloc(2 ** 31, 8);
      } finally {
        lock.lock = take;
      }
      expect(r).toBeNull();
      /* ALIGN(0x80000000, 4) = 0x80000000 > PCPU_MIN_UNIT_SIZE */
      expect(k.dmesg().slice(lines).join("\n")).toContain(
        "illegal size (2147483648) or align (8) for percpu allocation",
      );
      expect(k.percpu.allocReserved(2 ** 31, 8)).toBeNull();
      /* The core entry point directly, below the boundary: the same NULL. */
      expect(allocPercpuGfp(k.pcpu, 2 ** 31 + 1, 8, 0xcc0)).toBeNull();
    }, 10_000);

    it("item 2: alloc(2^32 + 4, 8) never returns a 4-byte area", () => {
      const lines = k.dmesg().length;
      if (bits === 64) {
        /* A 64-bit size_t holds 0x100000004: larger than PCPU_MIN_UNIT_SIZE, NULL + WARN. */
        expect(k.percpu.alloc(2 ** 32 + 4, 8)).toBeNull();
        expect(k.dmesg().slice(lines).join("\n")).toContain(
          "illegal size (4294967300) or align (8) for percpu allocation",
        );
        /* The largest size_t a number holds, 2^64 - 2048: no wrap, printed exactly. */
        expect(k.percpu.alloc(2 ** 64 - 2048, 8)).toBeNull();
        expect(k.dmesg().join("\n")).toContain("illegal size (18446744073709549568) or align (8)");
      } else {
        /* Not a 32-bit size_t at all: refused at the call, naming the size as given. */
        refused(k, () => k.percpu.alloc(2 ** 32 + 4, 8), "size", "4294967300");
        refused(k, () => k.percpu.allocReserved(2 ** 32 + 4, 8), "size", "4294967300");
        /* 0xfffffffd is a 32-bit size_t; ALIGN(0xfffffffd, 4) wraps to 0 in C: the kernel's WARN prints 0. */
        expect(k.percpu.alloc(0xffff_fffd, 8)).toBeNull();
        expect(k.dmesg().slice(lines).join("\n")).toContain(
          "illegal size (0) or align (8) for percpu allocation",
        );
      }
    });

    it("refuses alignments the kernel refuses with its WARN (above PAGE_SIZE, not a power of two, huge)", () => {
      for (const align of [12, 0x2000, 2 ** 31, 2 ** 31 + 8, 2 ** 32 - 1]) {
        const lines = k.dmesg().length;
        expect(k.percpu.alloc(16, align)).toBeNull();
        expect(k.dmesg().slice(lines).join("\n")).toContain(`illegal size (16) or align (${align})`);
      }
      /* align 0: raised to PCPU_MIN_ALLOC_SIZE as in the kernel. */
      const p = k.percpu.alloc(16, 0);
      expect(p).not.toBeNull();
      k.percpu.free(p);
    });
  },
);

describe.each(ARCHES)(
  "raw JS errors and wrong error types become KernelApiError on %s (items 3, 4)",
  (arch) => {
    const k = boot(arch);
    const p = k.percpu.alloc(16, 8)!;
    const va = k.percpu.perCpuPtr(p, 1);

    it("item 3: free(8n), a garbage free, mem.write of 1.5/NaN/undefined/'abc', this_cpu write of 1.5, gfp 8n", () => {
      refused(k, () => k.percpu.free(8n as never), "ptr", "8n");
      refused(k, () => k.percpu.free("0x1000" as never), "ptr", '"0x1000"');
      refused(k, () => k.percpu.free(-1 as PcpuPtr), "ptr", "-1");
      refused(k, () => k.percpu.free(1.5 as PcpuPtr), "ptr", "1.5");
      refused(k, () => k.percpu.free(undefined as never), "ptr", "undefined");
      for (const [v, shown] of [
        [1.5, "1.5"],
        [Number.NaN, "NaN"],
        [undefined, "undefined"],
        ["abc", '"abc"'],
      ] as const) {
        refused(k, () => k.mem.write(va, 8, v as never), "value", shown);
        refused(k, () => k.mem.write(va, 4, v as never), "value", shown);
      }
      refused(k, () => k.onCpu(1, (t) => t.write(p, 8, 1.5 as never)), "value", "1.5");
      refused(k, () => k.onCpu(1, (t) => t.write(p, 4, 1.5)), "value", "1.5");
      refused(k, () => k.percpu.alloc(16, 8, 8n as never), "gfp", "8n");
    });

    it("a garbage pointer inside the address space is the kernel's WARN and false, on every arch (s390 included)", () => {
      const lines = k.dmesg().length;
      expect(k.percpu.free(0x1234 as PcpuPtr)).toBe(false);
      expect(k.dmesg().slice(lines).join("\n")).toMatch(
        /free_percpu: pointer [0-9a-f]+ is not in any percpu chunk/,
      );
    });

    it("item 4: bad size/align throw KernelApiError (not TypeError); a bad this_cpu width too; 8n is shown as 8n", () => {
      refused(k, () => k.percpu.alloc(1.5, 8), "size", "1.5");
      refused(k, () => k.percpu.alloc(-16, 8), "size", "-16");
      refused(k, () => k.percpu.alloc(Number.NaN, 8), "size", "NaN");
      refused(k, () => k.percpu.alloc(16n as never, 8), "size", "16n");
      const e = refused(k, () => k.percpu.alloc(16, 8n as never), "align", "8n");
      expect(e.message).toBe(
        `percpu.alloc: align must be a size_t (an integer in [0, 2^${BITS[arch]})), got 8n`,
      );
      refused(k, () => k.percpu.allocReserved(16, -8), "align", "-8");
      refused(k, () => k.onCpu(1, (t) => t.read(p, 3 as 4)), "width", "3");
      refused(k, () => k.mem.read(va, 3 as 4), "width", "3");
      refused(k, () => k.onCpu(1, (t) => t.inc(p, 16 as 8)), "width", "16");
    });

    it("the CPU the caller is on is restored after a refused this_cpu call", () => {
      expect(k.machine.ctx.cpu).toBe(0);
      apiError(() => k.onCpu(2, (t) => t.add(p, 4, Number.POSITIVE_INFINITY)));
      expect(k.machine.ctx.cpu).toBe(0);
      expect(k.pcpu.lock.isLocked()).toBe(false);
      expect(k.pcpu.allocMutex.isLocked()).toBe(false);
    });
  },
);

describe.each(ARCHES)("garbage is no longer accepted silently on %s (item 5)", (arch) => {
  const k = boot(arch);
  const p = k.percpu.alloc(16, 8)!;
  const va = k.percpu.perCpuPtr(p, 0);

  it("mem.write refuses what it used to store as 0 or truncate, and the bytes stay", () => {
    k.mem.write(va, 4, 0x1234_5678);
    refused(k, () => k.mem.write(va, 4, "abc" as never), "value", '"abc"');
    refused(k, () => k.mem.write(va, 4, Number.NaN), "value", "NaN");
    refused(k, () => k.mem.write(va, 4, 2 ** 40 + 7), "value", "1099511627783");
    refused(k, () => k.mem.write(va, 2, 0x10000), "value", "65536");
    refused(k, () => k.mem.write(va, 1, -129), "value", "-129");
    refused(k, () => k.mem.write(va, 8, 2n ** 64n), "value", "18446744073709551616n");
    refused(k, () => k.mem.write(va, 8, 5 as never), "value", "5");
    expect(k.mem.read(va, 4)).toBe(0x1234_5678);
    /* The signed and unsigned readings of the same bits are both a C value of the type. */
    k.mem.write(va, 4, -1);
    expect(k.mem.read(va, 4)).toBe(0xffff_ffff);
    k.mem.write(va, 8, -(2n ** 63n));
    expect(k.mem.read(va, 8)).toBe(2n ** 63n);
  });

  it("raw gfp values with bits no GFP flag defines are refused (2^40, 2^53, 0xffffffff, the unused 0x200)", () => {
    refused(k, () => k.percpu.alloc(16, 8, 2 ** 40), "gfp", "1099511627776");
    refused(k, () => k.percpu.alloc(16, 8, 2 ** 53), "gfp", "9007199254740992");
    refused(k, () => k.percpu.alloc(16, 8, -1), "gfp", "-1");
    refused(k, () => k.percpu.alloc(16, 8, 1.5), "gfp", "1.5");
    for (const g of [0xffff_ffff, 0x100_0000, 0x200 | 0xcc0]) {
      const before = state(k);
      const e = apiError(() => k.percpu.alloc(16, 8, g));
      expect(e.argument).toBe("gfp");
      expect(e.message).toMatch(/has bits no GFP flag defines \(0x[0-9a-f]+; defined: 0xfffdff\)/);
      expect(state(k)).toBe(before);
    }
    /* Every defined bit is taken (GFP_KERNEL | __GFP_NOWARN | __GFP_ACCOUNT ...). */
    const q = k.percpu.alloc(16, 8, 0xcc0 | 0x2000 | 0x40_0000);
    expect(q).not.toBeNull();
    k.percpu.free(q);
  });

  it("pointers, CPUs, options and names out of their types are refused too", () => {
    const vaBits = k.machine.config.vaBits;
    const ptrEnd = BITS[arch] === 32 ? 2 ** 32 : 2 ** 53;
    refused(k, () => k.percpu.free(ptrEnd as PcpuPtr), "ptr", String(ptrEnd));
    refused(k, () => k.mem.read(2 ** vaBits, 4), "addr", String(2 ** vaBits));
    refused(k, () => k.percpu.perCpuPtr(p, 4), "cpu", "4");
    refused(k, () => k.percpu.perCpuPtr(p, 0.5), "cpu", "0.5");
    refused(k, () => k.percpu.perCpuPtr(Number.NaN as PcpuPtr, 0), "ptr", "NaN");
    refused(k, () => k.mem.read(-8, 4), "addr", "-8");
    refused(k, () => k.onCpu(1, 7 as never), "fn", "7");
    refused(k, () => k.onCpu(1n as never, () => 0), "cpu", "1n");
    refused(k, () => k.percpu.alloc(16, 8, "GFP_KERNEL", { callSite: 5 as never }), "opts.callSite", "5");
    refused(k, () => k.percpu.alloc(16, 8, "GFP_KERNEL", 5 as never), "opts", "5");
    refused(k, () => k.debugfs(5 as never), "name", "5");
    refused(k, () => k.dmesg(9 as never), "level", "9");
    refused(k, () => k.formatAddr(-1), "addr", "-1");
    apiError(() => k.debugfs("slab" as never));
  });

  it("every pointer alloc returns, in the first and in created chunks, passes the boundary", () => {
    const vaBits = k.machine.config.vaBits;
    const ptrs: PcpuPtr[] = [];
    /* 160 KiB: more than the first chunk's dynamic area on every arch, so a chunk is created */
    for (let i = 0; i < 160; i++) ptrs.push(k.percpu.alloc(0x400, 8)!);
    expect(k.counters.chunksCreated).toBeGreaterThan(0);
    for (const q of ptrs) {
      k.onCpu(3, (t) => t.write(q, 4, 7));
      expect(k.mem.read(k.percpu.perCpuPtr(q, 3), 4)).toBe(7);
      expect(k.percpu.perCpuPtr(q, 3)).toBeLessThan(2 ** vaBits);
      expect(k.percpu.free(q)).toBe(true);
    }
  });
});

describe("the documented throws that are not KernelApiError", () => {
  it("a well-typed address with nothing mapped is the kernel's oops; GFP_KERNEL in atomic context its BUG", () => {
    const k = boot("x86_64");
    expect(() => k.mem.read(0, 4)).toThrow(KernelOops);
    expect(() => k.mem.write(0x1000, 8, 1n)).toThrow(/BUG: unable to handle page fault for address/);
    expect(() => k.machine.ctx.runAtomic("softirq", () => k.percpu.alloc(16, 8))).toThrow(SleepInAtomicError);
    expect(k.dmesg().join("\n")).toContain("BUG: sleeping function called from invalid context");
  });
  it("an error thrown by onCpu's callback passes through unchanged, and the task is back on CPU 0", () => {
    const k = boot("arm");
    const mine = new Error("mine");
    expect(() =>
      k.onCpu(3, () => {
        throw mine;
      }),
    ).toThrow(mine);
    expect(k.machine.ctx.cpu).toBe(0);
    expect(k.pcpu.lock.isLocked()).toBe(false);
  });
});

describe("the other entry points: bootKernel's config, runWorkload, replay", () => {
  it("a config with a bigint, NaN or an array is a ConfigError naming the setting, never a raw TypeError", () => {
    expect(() => bootKernel({ cpus: 8n as never })).toThrow(new ConfigError("cpus", "8n is not an integer"));
    expect(() => bootKernel({ seed: Number.NaN as never })).toThrow(
      new ConfigError("seed", "NaN is not an integer"),
    );
    expect(() => bootKernel([] as never)).toThrow(new ConfigError("config", "must be an object"));
  });
  it("runWorkload refuses a name that is not a workload and options of the wrong type with KernelApiError", () => {
    const k = boot("arm");
    const before = state(k);
    for (const [name, opts, argument] of [
      ["nope", {}, "name"],
      ["toString", {}, "name"],
      [5, {}, "name"],
      ["counters", 5, "opts"],
      ["counters", { ops: -1 }, "opts.ops"],
      ["counters", { ops: 8n }, "opts.ops"],
      ["counters", { scale: Number.NaN }, "opts.scale"],
      ["counters", { scale: null }, "opts.scale"],
      ["counters", { ops: null }, "opts.ops"],
      ["counters", { seed: "x" }, "opts.seed"],
      ["counters", { onProgress: 1 }, "opts.onProgress"],
    ] as const) {
      expect(apiError(() => runWorkload(k, name as never, opts as never)).argument).toBe(argument);
    }
    expect(state(k)).toBe(before);
  });
  it("replay refuses what is not a trace with KernelApiError", () => {
    const k = boot("arm");
    expect(apiError(() => parseTraceForReplay(5 as never)).argument).toBe("text");
    expect(apiError(() => replayTrace(k, {} as never)).argument).toBe("trace");
  });
});
