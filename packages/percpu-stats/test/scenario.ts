/*
 * The synthetic allocator state behind test/golden/percpu_stats.txt. The
 * expected numbers were worked out by hand from mm/percpu-stats.c (see the
 * comments at each chunk); the golden file renders them with C printf.
 *
 * Layout (4 KiB pages): unit 0x8000, static 0x1200, reserved 0x2000,
 * dyn 0x4e00, atom 0x1000. __pcpu_size_to_slot(0x8000) = 13, so sidelined
 * = 14, free = 15, to_depopulate = 16, nr_slots = 17.
 */

import type { PcpuAllocInfo } from "@pcpu/percpu";
import { PcpuStats } from "../src/stats.js";
import { FakeChunk, FakeSource } from "./fake-source.js";

export const scenarioAi: PcpuAllocInfo = {
  staticSize: 0x1200,
  reservedSize: 0x2000,
  dynSize: 0x4e00,
  unitSize: 0x8000,
  atomSize: 0x1000,
  allocSize: 0x8000,
  nrGroups: 1,
  groups: [{ nrUnits: 4, baseOffset: 0, cpuMap: Int32Array.from([0, 1, 2, 3]) }],
};

export interface Scenario {
  stats: PcpuStats;
  src: FakeSource;
  reserved: FakeChunk;
  first: FakeChunk;
  dyn1: FakeChunk;
  dyn2: FakeChunk;
  sidelined: FakeChunk;
  empty: FakeChunk;
  toDep: FakeChunk;
}

export function buildScenario(): Scenario {
  const stats = new PcpuStats();
  stats.saveAi(scenarioAi);

  // Reserved record: start_offset = 0x1200 & 0xfff = 0x200, region
  // ALIGN(0x2200) = 0x3000 (3 pages), end_offset 0xe00.
  const reserved = new FakeChunk(1, 3, 0x200, 0xe00);
  // Dynamic record: start 0x3200 & 0xfff = 0x200, region ALIGN(0x5000) = 5 pages, end 0.
  const first = new FakeChunk(0, 5, 0x200, 0);
  stats.chunkAlloc(); // pcpu_setup_first_chunk

  // Reserved: A [0x200,+0x40) B [0x240,+0x100) C [0x340,+0x8), A freed.
  // Runs -64 +256 +8 -> sorted [-64, 8, 256]: sum/max frag 64, min=med=8, max 256.
  reserved.alloc(stats, 0x200, 0x40);
  reserved.alloc(stats, 0x240, 0x100);
  reserved.alloc(stats, 0x340, 0x8);
  reserved.free(stats, 0x200);

  // First: D 0x10, E 0x20, F 0x10, G 0x8, H 0x40 packed from 0x200; E and G freed.
  // Runs +16 -32 +16 -8 +64 -> [-32,-8,16,16,64]: sum 40, max 32, min 16, med a[3]=16, max 64.
  first.alloc(stats, 0x200, 0x10);
  first.alloc(stats, 0x210, 0x20);
  first.alloc(stats, 0x230, 0x10);
  first.alloc(stats, 0x240, 0x8);
  first.alloc(stats, 0x248, 0x40);
  first.free(stats, 0x210);
  first.free(stats, 0x240);

  // Dynamic chunk 1 (2 of 8 pages populated): I 0x1000 at 0, J 4, K 0xc, no hole.
  // Runs [4, 12, 4096]: no frag, min 4, med a[1]=12, max 4096.
  const dyn1 = new FakeChunk(2, 8, 0, 0, 2);
  stats.chunkAlloc();
  dyn1.alloc(stats, 0x0, 0x1000);
  dyn1.alloc(stats, 0x1000, 0x4);
  dyn1.alloc(stats, 0x1004, 0xc);

  // Dynamic chunk 2 (1 page populated): P 0x30, Q 0x30, R 0x60, S 0x10; Q freed.
  // Runs +48 -48 +96 +16 -> [-48,16,48,96]: sum/max 48, min 16, med a[2]=48, max 96.
  const dyn2 = new FakeChunk(3, 8, 0, 0, 1);
  stats.chunkAlloc();
  dyn2.alloc(stats, 0x0, 0x30);
  dyn2.alloc(stats, 0x30, 0x30);
  dyn2.alloc(stats, 0x60, 0x60);
  dyn2.alloc(stats, 0xc0, 0x10);
  dyn2.free(stats, 0x30);

  // Never used, nothing populated: all zero but free/contig 0x8000.
  const empty = new FakeChunk(4, 8, 0, 0, 0);
  stats.chunkAlloc();

  // to_depopulate (4 pages populated): L 0x20 at 0x2000 (freed), M 0x100 at 0x3000.
  // Runs -12288 +256: sum/max 12288, min=med=max 256; pages 0,1,2 empty.
  const toDep = new FakeChunk(5, 8, 0, 0, 4);
  stats.chunkAlloc();
  toDep.alloc(stats, 0x2000, 0x20);
  toDep.alloc(stats, 0x3000, 0x100);
  toDep.free(stats, 0x2000);
  toDep.isolated = true;

  // Sidelined (all populated): O 4 bytes at 0, N 4 bytes at 0x7ffc (the last
  // usable bit). find_last_bit's window stops before bit 8191, so the walk
  // ends after O: runs [4] only, the tail allocation is not seen.
  const sidelined = new FakeChunk(6, 8, 0, 0, 8);
  stats.chunkAlloc();
  sidelined.alloc(stats, 0x0, 0x4);
  sidelined.alloc(stats, 0x7ffc, 0x4);
  sidelined.isolated = true;

  // A chunk created and destroyed again: nr_max_chunks 7, nr_chunks 6.
  stats.chunkAlloc();
  stats.chunkDealloc();

  const src = new FakeSource(first, reserved, 13);
  src.slots[11]!.push(first);
  src.slots[12]!.push(dyn1, dyn2);
  src.slots[14]!.push(sidelined);
  src.slots[15]!.push(empty);
  src.slots[16]!.push(toDep);
  // pcpu_nr_empty_pop_pages: not reserved, not isolated: first 4 + dyn1 0 + dyn2 0 + empty 0.
  src.nrEmptyPopPages = 4;
  return { stats, src, reserved, first, dyn1, dyn2, sidelined, empty, toDep };
}
