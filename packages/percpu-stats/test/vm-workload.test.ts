/*
 * The whole percpu_stats dump of a real kernel: the core with percpu-vm and
 * this package's observer, the generic setup_per_cpu_areas (static 0x24000,
 * reserved 0x2000, dyn 0x7000, 4 KiB atom: unit 0x2d000 = 45 pages, slots
 * sidelined 16 / free 17 / to_depopulate 18), then a scripted workload whose
 * every number was worked out by hand from mm/percpu.c, mm/percpu-vm.c and
 * mm/percpu-stats.c. The derivation, step by step, is in
 * test/golden/percpu_stats-vm.md beside the two golden files; the comments
 * below only name what each step is for.
 *
 * The balance work runs whenever it is pending after a step, as a kworker
 * would as soon as the allocating task returns; the test checks when the
 * kernel scheduled it.
 */

import { readFileSync } from "node:fs";
import { allocPercpu, allocReservedPercpu, freePercpu, type PcpuPtr } from "@pcpu/percpu";
import { bootTestKernel } from "@pcpu/percpu/testing";
import { createPercpuVm } from "@pcpu/percpu-vm";
import { describe, expect, it } from "vitest";
import { percpuStatsJson } from "../src/json.js";
import { percpuMeminfo } from "../src/meminfo.js";
import { PcpuStats } from "../src/stats.js";
import { percpuStatsText } from "../src/stats-text.js";

const golden = (name: string) => readFileSync(new URL(`./golden/${name}`, import.meta.url), "utf8");

function boot() {
  const stats = new PcpuStats();
  const k = bootTestKernel({ population: createPercpuVm(), cpus: 4, observer: stats });
  return { ...k, stats };
}

type Kernel = ReturnType<typeof boot>;

/** A non-null pointer (every allocation of the script succeeds). */
function ok(p: PcpuPtr | null): PcpuPtr {
  expect(p).not.toBeNull();
  return p!;
}

/** Byte offset of `p` in the chunk that serves it. */
function offIn(k: Kernel, p: PcpuPtr, chunk: { baseAddr: number }): number {
  return k.pcpu.archHooks().pcpuPtrToAddr(p) - chunk.baseAddr;
}

/** Slot and id of every chunk on a slot list, in print order. */
function placement(k: Kernel): [number | null, number][] {
  return percpuStatsJson(k.stats, k.pcpu).chunks.map((c) => [c.slot, c.id]);
}

/** Whether the balance work was scheduled by the last step; then run it, as the kworker would. */
function balanceWasScheduled(k: Kernel): boolean {
  const pending = k.machine.wq.pendingCount() > 0;
  k.machine.wq.runPending();
  return pending;
}

describe("percpuStatsText on a percpu-vm kernel (percpu_stats_show)", () => {
  it("prints the hand-derived dump before and after a balance-work run", () => {
    const k = boot();
    const { pcpu, stats } = k;
    const reserved = pcpu.reservedChunk!;
    const first = pcpu.firstChunk;
    expect([pcpu.unitSize, pcpu.sidelinedSlot, pcpu.freeSlot, pcpu.toDepopulateSlot]).toEqual([
      0x2d000, 16, 17, 18,
    ]);
    expect([reserved.nrPages, first.nrPages, first.startOffset, first.endOffset]).toEqual([2, 7, 0, 0]);
    expect(placement(k)).toEqual([
      [null, reserved.id],
      [12, first.id],
    ]);

    /* Reserved chunk: a 0x40 hole between two allocations. */
    const r1 = ok(allocReservedPercpu(pcpu, 0x100, 4));
    const r2 = ok(allocReservedPercpu(pcpu, 0x40, 0x40));
    const r3 = ok(allocReservedPercpu(pcpu, 0x800, 8));
    expect([r1, r2, r3].map((p) => offIn(k, p, reserved))).toEqual([0x0, 0x100, 0x140]);
    freePercpu(pcpu, r2);

    /* First chunk: page-sized and small allocations, an alignment gap and a freed hole. */
    const d1 = ok(allocPercpu(pcpu, 0x1000, 0x1000));
    const d2 = ok(allocPercpu(pcpu, 0x8, 8));
    const d3 = ok(allocPercpu(pcpu, 0x1000, 0x1000));
    const d4 = ok(allocPercpu(pcpu, 0x20, 0x20));
    const d5 = ok(allocPercpu(pcpu, 0x4, 4));
    expect([d1, d2, d3, d4, d5].map((p) => offIn(k, p, first))).toEqual([
      0x0, 0x1000, 0x2000, 0x1020, 0x1008,
    ]);
    freePercpu(pcpu, d2);
    /* The first chunk kept 4 empty pages throughout: nothing scheduled the work. */
    expect(balanceWasScheduled(k)).toBe(false);
    expect(pcpu.nrEmptyPopPages).toBe(4);

    /* Five 0x8000 areas create the second chunk and leave it 5 free pages (slot 12). */
    const b: PcpuPtr[] = [];
    for (let i = 0; i < 5; i++) {
      b.push(ok(allocPercpu(pcpu, 0x8000, 0x1000)));
      /* area_found saw 4 - 8 empty pages before the population: scheduled. */
      expect(balanceWasScheduled(k)).toBe(true);
    }
    const second = pcpu.allChunks().find((c) => c !== first)!;
    expect(b.map((p) => offIn(k, p, second))).toEqual([0x0, 0x8000, 0x10000, 0x18000, 0x20000]);
    expect(placement(k)).toEqual([
      [null, reserved.id],
      [12, first.id],
      [12, second.id],
    ]);

    /* A sixth one needs a third chunk; freeing it leaves that chunk empty on the free slot. */
    const b6 = ok(allocPercpu(pcpu, 0x8000, 0x1000));
    expect(balanceWasScheduled(k)).toBe(true);
    const third = pcpu.allChunks().find((c) => c !== first && c !== second)!;
    expect(offIn(k, b6, third)).toBe(0);
    freePercpu(pcpu, b6);
    expect(balanceWasScheduled(k)).toBe(false);

    /* Two holes in the second chunk: the second free isolates it for reclaim. */
    freePercpu(pcpu, b[1]!);
    expect(placement(k)).toEqual([
      [null, reserved.id],
      [12, first.id],
      [13, second.id],
      [17, third.id],
    ]);
    freePercpu(pcpu, b[2]!);
    expect(second.isolated).toBe(true);
    expect(placement(k)).toEqual([
      [null, reserved.id],
      [12, first.id],
      [17, third.id],
      [18, second.id],
    ]);
    expect(percpuStatsText(stats, pcpu)).toBe(golden("percpu_stats-vm-before-balance.txt"));
    expect(percpuMeminfo(pcpu)).toBe("Percpu:             1488 kB\n");

    /* The balance work depopulates pages 8..24 of the second chunk and sidelines it. */
    expect(balanceWasScheduled(k)).toBe(true);
    expect(placement(k)).toEqual([
      [null, reserved.id],
      [12, first.id],
      [16, second.id],
      [17, third.id],
    ]);
    expect(second.nrPopulated).toBe(40 - 16);
    expect(percpuStatsText(stats, pcpu)).toBe(golden("percpu_stats-vm.txt"));
    expect(percpuMeminfo(pcpu)).toBe("Percpu:             1232 kB\n");
  });
});
