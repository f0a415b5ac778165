import { describe, expect, it } from "vitest";
import { pcpuChunkAddrSearch, perCpuPtr } from "../src/addr.js";
import { allocPercpu, allocReservedPercpu, freePercpu } from "../src/percpu-api.js";
import { bootTestKernel, staticTemplateByte } from "../src/testing/boot.js";
import { stubBackend } from "./helpers/stub-backend.js";

/*
 * The spec's worked example (percpu-core.md 4.1, 4.5): 4 CPUs, one node,
 * static 200000, reserved 8192, dyn 28672, atom 2 MiB.
 *   size_sum = PFN_ALIGN(200000 + 8192 + 28672) = 237568 (58 pages)
 *   dyn_size = 237568 - 200000 - 8192 = 29376; upa 4 -> unit_size 524288
 *   reserved record at base+200000: aligned base+196608, start_offset 3392,
 *     region 12288 (3 pages), end_offset 704
 *   dynamic record at base+208192: aligned base+204800, start_offset 3392,
 *     region 32768 (8 pages), end_offset 0, hidden bits [0, 848),
 *     free_bytes 29376, nr_empty_pop_pages 7, contig 7344 bits -> slot 12
 *   slots: sidelined 18, free 19, to_depopulate 20, nr_slots 21;
 *   pcpu_nr_populated 58.
 */
function bootExample() {
  return bootTestKernel({
    population: stubBackend,
    cpus: 4,
    staticSize: 200000,
    reservedSize: 8192,
    dynSize: 28672,
    atomSize: 0x200000,
  });
}

describe("pcpuSetupFirstChunk (pcpu_setup_first_chunk)", () => {
  it("lays out the worked example exactly", () => {
    const { pcpu, machine } = bootExample();
    expect(pcpu.unitSize).toBe(524288);
    expect(pcpu.unitPages).toBe(128);
    expect(pcpu.nrUnits).toBe(4);
    expect(pcpu.atomSize).toBe(0x200000);
    expect([pcpu.sidelinedSlot, pcpu.freeSlot, pcpu.toDepopulateSlot, pcpu.nrSlots]).toEqual([
      18, 19, 20, 21,
    ]);
    expect(Array.from(pcpu.unitOffsets)).toEqual([0, 524288, 1048576, 1572864]);
    expect(Array.from(pcpu.unitMap)).toEqual([0, 1, 2, 3]);
    expect([pcpu.lowUnitCpu, pcpu.highUnitCpu]).toEqual([0, 3]);

    const r = pcpu.reservedChunk!;
    expect(r.baseAddr - pcpu.baseAddr).toBe(196608);
    expect([r.startOffset, r.nrPages, r.endOffset, r.freeBytes]).toEqual([3392, 3, 704, 8192]);
    expect(r.slot).toBe(-1);

    const f = pcpu.firstChunk;
    expect(f.baseAddr - pcpu.baseAddr).toBe(204800);
    expect([f.startOffset, f.nrPages, f.endOffset, f.freeBytes]).toEqual([3392, 8, 0, 29376]);
    expect(f.nrEmptyPopPages).toBe(7);
    expect(pcpu.area.contigBytes(f)).toBe(7344 * 4);
    expect(f.slot).toBe(12);
    expect(pcpu.nrEmptyPopPages).toBe(7);
    expect(pcpu.nrPopulated).toBe(58);
    expect(pcpu.pcpuNrPages()).toBe(58 * 4);

    expect(machine.log.dmesg()).toContain("percpu: Embedded 58 pages/cpu s200000 r8192 d29376 u524288");
    expect(machine.log.dmesg()).toContain("pcpu-alloc: s200000 r8192 d29376 u524288 alloc=1*2097152");
    expect(machine.log.dmesg()).toContain("pcpu-alloc: [0] 0 1 2 3 ");
  });

  it("copies the static template into every unit and frees the unit tails", () => {
    const { pcpu, machine } = bootExample();
    for (let cpu = 0; cpu < 4; cpu++) {
      const unit = pcpu.baseAddr + pcpu.unitOffsets[cpu]!;
      for (const i of [0, 1, 4095, 4096, 199999])
        expect(machine.mem.read8(unit + i)).toBe(staticTemplateByte(i));
    }
    /* 2 MiB taken, then each unit's tail [237568, 524288) given back: 4 * 237568 bytes stay reserved for percpu. */
    const tails = 4 * (524288 - 237568);
    expect(tails).toBe(1146880);
  });

  it("serves dynamic and reserved allocations from the first chunk records", () => {
    const { pcpu } = bootExample();
    const p = allocPercpu(pcpu, 8, 8)!;
    const addr = pcpu.archHooks().pcpuPtrToAddr(p);
    expect(pcpuChunkAddrSearch(pcpu, addr)).toBe(pcpu.firstChunk);
    /* First free byte of the dynamic region: base + 200000 + 8192 = 208192. */
    expect(addr - pcpu.baseAddr).toBe(208192);
    expect(p).toBe(pcpu.section.perCpuStart + 208192);
    const rp = allocReservedPercpu(pcpu, 16, 8)!;
    expect(pcpu.archHooks().pcpuPtrToAddr(rp) - pcpu.baseAddr).toBe(200000);
    for (let cpu = 0; cpu < 4; cpu++)
      expect(perCpuPtr(pcpu, p, cpu)).toBe(pcpu.baseAddr + cpu * 524288 + 208192);
    expect(freePercpu(pcpu, p)).toBe(true);
    expect(freePercpu(pcpu, rp)).toBe(true);
    expect(pcpu.firstChunk.freeBytes).toBe(29376);
  });
});
