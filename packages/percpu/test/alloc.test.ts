import { GFP_ATOMIC, GFP_KERNEL, GFP_NOWAIT, SleepInAtomicError } from "@pcpu/mm";
import { describe, expect, it } from "vitest";
import { pcpuObjFullSize } from "../src/alloc.js";
import type { PcpuTraceEvent } from "../src/api.js";
import { allocPercpu, allocPercpuGfp, freePercpu } from "../src/percpu-api.js";
import { __pcpuSizeToSlot, pcpuSizeToSlot } from "../src/slots.js";
import { bootTestKernel } from "../src/testing/boot.js";
import { stubBackend } from "./helpers/stub-backend.js";

const boot = () => bootTestKernel({ population: stubBackend, cpus: 4 });

describe("__pcpuSizeToSlot (__pcpu_size_to_slot)", () => {
  it("maps sizes to slots by fls", () => {
    /* max(fls(size) - 5 + 2, 1): 1..15 -> 1, 16..31 -> 2, 32..63 -> 3, 0x1000 -> 10 */
    expect([1, 4, 15, 16, 31, 32, 63, 64].map(__pcpuSizeToSlot)).toEqual([1, 1, 1, 2, 2, 3, 3, 4]);
    expect(__pcpuSizeToSlot(0x1000)).toBe(10);
    expect(__pcpuSizeToSlot(0x8000)).toBe(13);
    expect(__pcpuSizeToSlot(0x40000)).toBe(16);
  });

  it("puts a whole unit in the free slot (pcpu_size_to_slot)", () => {
    const { pcpu } = boot();
    /* static 0x24000 + reserved 0x2000 + dyn 0x7000 = 184320 (45 pages), atom 4K: one unit per allocation. */
    expect(pcpu.unitSize).toBe(184320);
    /* fls(184320) = 18 -> slot 15; sidelined 16, free 17, to_depopulate 18. */
    expect([pcpu.sidelinedSlot, pcpu.freeSlot, pcpu.toDepopulateSlot, pcpu.nrSlots]).toEqual([
      16, 17, 18, 19,
    ]);
    expect(pcpuSizeToSlot(pcpu, pcpu.unitSize)).toBe(pcpu.freeSlot);
    expect(pcpuSizeToSlot(pcpu, pcpu.unitSize - 4)).toBe(__pcpuSizeToSlot(pcpu.unitSize - 4));
  });
});

describe("pcpuAlloc (pcpu_alloc_noprof) argument checks", () => {
  it.each([
    [0, 4, 0, 4],
    [0x8001, 4, 0x8004, 4],
    [8, 0x2000, 8, 0x2000],
    [8, 12, 8, 12],
    [3, 2, 4, 4],
  ])("size %d align %d: WARN with the adjusted size %d and align %d", (size, align, wsize, walign) => {
    const { pcpu, machine } = boot();
    const before = pcpu.firstChunk.freeBytes;
    const ptr = allocPercpu(pcpu, size, align);
    if (wsize === 4 && walign === 4) {
      /* 3 bytes aligned to 2 is legal: rounded up to 4/4. */
      expect(ptr).not.toBeNull();
      return;
    }
    expect(ptr).toBeNull();
    const log = machine.log.dmesg();
    expect(log).toContain(`illegal size (${wsize}) or align (${walign}) for percpu allocation`);
    expect(log.some((l) => l.startsWith("WARNING: CPU: 0 PID:") && l.includes("mm/percpu.c"))).toBe(true);
    expect(pcpu.firstChunk.freeBytes).toBe(before);
  });

  it("__GFP_NOWARN silences the illegal-argument warning", () => {
    const { pcpu, machine } = boot();
    expect(allocPercpuGfp(pcpu, 0, 4, GFP_NOWAIT)).toBeNull();
    expect(machine.log.dmesg().some((l) => l.includes("illegal size"))).toBe(false);
  });

  it("rejects non-integer sizes at the API edge", () => {
    const { pcpu } = boot();
    expect(() => allocPercpu(pcpu, 1.5, 4)).toThrow(/size must be a size_t .*, got 1\.5/);
    expect(() => allocPercpu(pcpu, 8, -1)).toThrow(/align must be a size_t .*, got -1/);
  });
});

describe("pcpuAlloc (pcpu_alloc_noprof) failures", () => {
  it("warns ten times, then says the limit is reached", () => {
    const { pcpu, machine } = boot();
    /* The stub cannot create chunks: a request larger than the first chunk's free space fails. */
    for (let i = 0; i < 12; i++) expect(allocPercpu(pcpu, 0x8000, 4)).toBeNull();
    const log = machine.log.dmesg();
    const warns = log.filter(
      (l) => l === "percpu: allocation failed, size=32768 align=4 atomic=0, failed to allocate new chunk",
    );
    expect(warns.length).toBe(10);
    expect(log.filter((l) => l === "percpu: limit reached, disable warning").length).toBe(1);
    expect(pcpu.warnLimit).toBe(0);
  });

  it("an atomic failure warns, flags the balance work and schedules it", () => {
    const { pcpu, machine } = boot();
    expect(allocPercpuGfp(pcpu, 0x8000, 4, GFP_ATOMIC)).toBeNull();
    expect(machine.log.dmesg()).toContain(
      "percpu: allocation failed, size=32768 align=4 atomic=1, atomic alloc failed, no space left",
    );
    expect(pcpu.atomicAllocFailed).toBe(true);
    expect(machine.wq.pendingCount()).toBe(1);
  });

  it("before 6.x atomic failures did not warn", () => {
    const { pcpu, machine } = bootTestKernel({ population: stubBackend, cpus: 2, era: "v5.14" });
    expect(allocPercpuGfp(pcpu, 0x8000, 4, GFP_ATOMIC)).toBeNull();
    expect(machine.log.dmesg().some((l) => l.includes("allocation failed"))).toBe(false);
  });

  it("a sleeping allocation in atomic context is a BUG and leaves the allocator intact", () => {
    const { pcpu, machine } = boot();
    const before = pcpu.firstChunk.freeBytes;
    machine.ctx.enterAtomic("softirq");
    expect(() => allocPercpuGfp(pcpu, 8, 8, GFP_KERNEL)).toThrow(SleepInAtomicError);
    /* An atomic allocation from the same context works. */
    const p = allocPercpuGfp(pcpu, 8, 8, GFP_ATOMIC);
    machine.ctx.exitAtomic();
    expect(p).not.toBeNull();
    expect(
      machine.log.dmesg().some((l) => l.startsWith("BUG: sleeping function called from invalid context")),
    ).toBe(true);
    expect(pcpu.firstChunk.freeBytes).toBe(before - 8);
    expect(pcpu.allocMutex.isLocked()).toBe(false);
    expect(pcpu.lock.isLocked()).toBe(false);
  });
});

describe("freePercpu (free_percpu) misuse", () => {
  it("NULL is a no-op", () => {
    const { pcpu } = boot();
    expect(freePercpu(pcpu, null)).toBe(true);
  });

  it("double free, a never-allocated pointer and a static pointer are refused with a WARN", () => {
    const { pcpu, machine } = boot();
    const p = allocPercpu(pcpu, 16, 8)!;
    const q = allocPercpu(pcpu, 16, 8)!;
    expect(freePercpu(pcpu, p)).toBe(true);
    const free = pcpu.firstChunk.freeBytes;
    expect(freePercpu(pcpu, p)).toBe(false);
    expect(freePercpu(pcpu, (q + 4) as typeof q)).toBe(false);
    expect(freePercpu(pcpu, (pcpu.section.perCpuStart + 64) as typeof q)).toBe(false);
    const log = machine.log.dmesg();
    expect(log.filter((l) => l.includes("not a live percpu allocation")).length).toBe(2);
    expect(log.some((l) => l.includes("points into the static percpu area"))).toBe(true);
    expect(pcpu.firstChunk.freeBytes).toBe(free);
    expect(freePercpu(pcpu, q)).toBe(true);
  });
});

describe("pcpuObjFullSize (pcpu_obj_full_size)", () => {
  const full = (o: { cpus: number; memcgKmem: boolean; era?: "v6" | "v5.14" | "v4.14" }, size: number) => {
    const { pcpu } = bootTestKernel({
      population: stubBackend,
      cpus: o.cpus,
      era: o.era ?? "v6",
      options: { memcgKmem: o.memcgKmem },
    });
    return pcpuObjFullSize(pcpu, size);
  };
  it("is 160 for 16 bytes on 8 CPUs with memcg kmem accounting, 128 without", () => {
    /* 16 * 8 units + 16 / 4 obj_cgroup pointers of 8 bytes */
    expect(full({ cpus: 8, memcgKmem: true }, 16)).toBe(160);
    expect(full({ cpus: 8, memcgKmem: false }, 16)).toBe(128);
    /* 5.14-6.x too; 4.14 had no percpu memcg accounting */
    expect(full({ cpus: 8, memcgKmem: true, era: "v5.14" }, 16)).toBe(160);
    expect(full({ cpus: 8, memcgKmem: true, era: "v4.14" }, 16)).toBe(128);
    /* 0x1000 on 4 CPUs: 0x4000 + 0x400 pointers * 8 */
    expect(full({ cpus: 4, memcgKmem: true }, 0x1000)).toBe(0x4000 + 0x2000);
  });

  it("is what the alloc tracepoint's bytes_alloc shows", () => {
    const events: PcpuTraceEvent[] = [];
    const { pcpu } = bootTestKernel({
      population: stubBackend,
      cpus: 8,
      options: { memcgKmem: true },
      trace: { emit: (e) => events.push(e) },
    });
    expect(allocPercpu(pcpu, 16, 8)).not.toBeNull();
    const ev = events.find((e) => e.event === "percpu_alloc_percpu");
    expect(ev).toMatchObject({ size: 16, bytesAlloc: 160 });
  });
});
