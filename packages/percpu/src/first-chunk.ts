/*
 * Setting up the first chunk (mm/percpu.c pcpu_alloc_first_chunk,
 * pcpu_setup_first_chunk).
 *
 * The first chunk holds the kernel's static percpu variables. Each unit:
 *
 *   | <- static -> | <- reserved -> | <- dynamic -> | unused tail |
 *   ^ base_addr + unit_offsets[cpu]
 *
 * Only the reserved and dynamic regions are managed, each by its own chunk
 * record whose range is page aligned; the bytes that alignment drags in at
 * either end (start_offset, end_offset) are hidden as permanent
 * allocations. The records are immutable: always fully populated.
 *
 *   region:  [aligned_addr ........................... +region_size)
 *             |<-start_offset->|<----- map_size ----->|<-end_offset->|
 *                              ^ tmp_addr
 */

import { LOGLEVEL_DEBUG, LOGLEVEL_EMERG, LOGLEVEL_INFO } from "@pcpu/mm";
import { pcpuDumpAllocInfo } from "./alloc-info.js";
import { PCPU_MIN_ALLOC_SIZE, type PcpuAllocInfo } from "./api.js";
import { eraHasReclaim } from "./balance.js";
import { bitmapSet } from "./bitmap.js";
import { pcpuCpuPossibleMaskLine, pcpuFailedToInitializeLine } from "./boot-lines.js";
import { PcpuBug } from "./bug.js";
import type { PcpuChunk } from "./chunk.js";
import type { Percpu } from "./percpu.js";
import { __pcpuSizeToSlot, pcpuChunkRelocate } from "./slots.js";

/**
 * `pcpu_alloc_first_chunk(tmp_addr, map_size)`: a chunk record serving
 * `[tmp_addr, tmp_addr + map_size)` of every unit of the first chunk.
 * @kernel mm/percpu.c pcpu_alloc_first_chunk
 * @context boot.
 */
export function pcpuAllocFirstChunk(pcpu: Percpu, tmpAddr: number, mapSize: number): PcpuChunk {
  const pageSize = pcpu.constants.PAGE_SIZE;
  const alignedAddr = tmpAddr - (tmpAddr % pageSize);
  const startOffset = tmpAddr - alignedAddr;
  const regionSize = Math.ceil((startOffset + mapSize) / pageSize) * pageSize;
  const nrPages = regionSize / pageSize;
  const endOffset = regionSize - startOffset - mapSize;

  const chunk = pcpu.newChunkRecord(nrPages, startOffset, endOffset, true);
  chunk.baseAddr = alignedAddr;
  /* The first chunk is always fully populated and its pages start empty. */
  bitmapSet(chunk.populated, 0, nrPages);
  chunk.nrPopulated = nrPages;
  chunk.nrEmptyPopPages = nrPages;
  chunk.freeBytes = mapSize;
  /*
   * Build the metadata from boot memory (memblock_alloc_or_panic: it cannot
   * fail) and hide the alignment slop at both ends (updates the empty-page
   * counts).
   */
  pcpu.area.initFirstChunk(chunk);
  return chunk;
}

/** The `PCPU_SETUP_BUG_ON(cond)` report: the failed condition, the possible mask, the info dump, BUG. */
function setupBug(pcpu: Percpu, ai: PcpuAllocInfo, cond: string): never {
  const log = pcpu.machine.log;
  log.printk(LOGLEVEL_EMERG, pcpuFailedToInitializeLine(pcpu.era, cond));
  /* cpumask_pr_args(cpu_possible_mask): nr_cpu_ids bits */
  log.printk(LOGLEVEL_EMERG, pcpuCpuPossibleMaskLine(pcpu.era, pcpu.cpuPossibleMask, pcpu.nrCpuIds));
  for (const line of pcpuDumpAllocInfo(ai, pcpu.nrPossibleCpus, pcpu.constants.NR_CPUS))
    log.printk(LOGLEVEL_EMERG, line);
  throw new PcpuBug(`percpu: failed to initialize, ${cond}`);
}

const UINT_MAX = -1;

/**
 * `pcpu_setup_first_chunk(ai, base_addr)`: validate the layout, build the
 * unit map and offsets, the slot lists and the first chunk's records.
 * @kernel mm/percpu.c pcpu_setup_first_chunk
 * @context boot, once per kernel; a layout that breaks a rule prints the
 *   kernel's "failed to initialize" report and throws PcpuBug.
 */
export function pcpuSetupFirstChunk(pcpu: Percpu, ai: PcpuAllocInfo, baseAddr: number): void {
  const k = pcpu.constants;
  const pageSize = k.PAGE_SIZE;
  const sizeSum = ai.staticSize + ai.reservedSize + ai.dynSize;
  const nrCpuIds = pcpu.nrCpuIds;
  const possibleMask = pcpu.cpuPossibleMask;
  const bug = (cond: boolean, text: string): void => {
    if (cond) setupBug(pcpu, ai, text);
  };

  /* sanity checks */
  bug(ai.nrGroups <= 0, "ai->nr_groups <= 0");
  if (pcpu.options.smp) {
    /* #ifdef CONFIG_SMP: a UP kernel has no static percpu area. */
    bug(!ai.staticSize, "!ai->static_size");
    bug(pcpu.section.perCpuStart % pageSize !== 0, "offset_in_page(__per_cpu_start)");
  }
  bug(!baseAddr, "!base_addr");
  bug(baseAddr % pageSize !== 0, "offset_in_page(base_addr)");
  bug(ai.unitSize < sizeSum, "ai->unit_size < size_sum");
  bug(ai.unitSize % pageSize !== 0, "offset_in_page(ai->unit_size)");
  bug(ai.unitSize < k.PCPU_MIN_UNIT_SIZE, "ai->unit_size < PCPU_MIN_UNIT_SIZE");
  bug(ai.unitSize % k.PCPU_BITMAP_BLOCK_SIZE !== 0, "!IS_ALIGNED(ai->unit_size, PCPU_BITMAP_BLOCK_SIZE)");
  bug(ai.dynSize < k.PERCPU_DYNAMIC_EARLY_SIZE, "ai->dyn_size < PERCPU_DYNAMIC_EARLY_SIZE");
  bug(ai.reservedSize % PCPU_MIN_ALLOC_SIZE !== 0, "!IS_ALIGNED(ai->reserved_size, PCPU_MIN_ALLOC_SIZE)");
  bug(
    !(k.PCPU_BITMAP_BLOCK_SIZE % pageSize === 0 || pageSize % k.PCPU_BITMAP_BLOCK_SIZE === 0),
    "!(IS_ALIGNED(PCPU_BITMAP_BLOCK_SIZE, PAGE_SIZE) || IS_ALIGNED(PAGE_SIZE, PCPU_BITMAP_BLOCK_SIZE))",
  );
  bug(pcpu.backend.pcpuVerifyAllocInfo(ai) < 0, "pcpu_verify_alloc_info(ai) < 0");

  /* process group information and build config tables accordingly */
  const unitMap = new Int32Array(nrCpuIds).fill(UINT_MAX);
  const unitOff = new Float64Array(nrCpuIds);
  const groupOffsets: number[] = [];
  const groupSizes: number[] = [];
  let lowUnitCpu = -1;
  let highUnitCpu = -1;
  let unit = 0;
  for (let group = 0; group < ai.nrGroups; group++) {
    const gi = ai.groups[group]!;
    groupOffsets[group] = gi.baseOffset;
    groupSizes[group] = gi.nrUnits * ai.unitSize;
    for (let i = 0; i < gi.nrUnits; i++) {
      const cpu = gi.cpuMap[i]!;
      if (cpu === k.NR_CPUS) continue;
      bug(cpu >= nrCpuIds, "cpu >= nr_cpu_ids");
      bug(cpu < 0 || ((possibleMask[cpu >>> 5]! >>> (cpu & 31)) & 1) === 0, "!cpu_possible(cpu)");
      bug(unitMap[cpu] !== UINT_MAX, "unit_map[cpu] != UINT_MAX");
      unitMap[cpu] = unit + i;
      unitOff[cpu] = gi.baseOffset + i * ai.unitSize;
      /* determine low/high unit_cpu */
      if (lowUnitCpu === -1 || unitOff[cpu]! < unitOff[lowUnitCpu]!) lowUnitCpu = cpu;
      if (highUnitCpu === -1 || unitOff[cpu]! > unitOff[highUnitCpu]!) highUnitCpu = cpu;
    }
    unit += gi.nrUnits;
  }
  for (const cpu of pcpu.possibleCpus) bug(unitMap[cpu] === UINT_MAX, "unit_map[cpu] == UINT_MAX");

  /* we're ready, commit */
  const dumpLevel = pcpu.era === "v2.6.32" || pcpu.era === "v2.6.30" ? LOGLEVEL_INFO : LOGLEVEL_DEBUG;
  for (const line of pcpuDumpAllocInfo(ai, pcpu.nrPossibleCpus, k.NR_CPUS))
    pcpu.machine.log.printk(dumpLevel, line);

  pcpu.nrUnits = unit;
  pcpu.nrGroups = ai.nrGroups;
  pcpu.groupOffsets = groupOffsets;
  pcpu.groupSizes = groupSizes;
  pcpu.unitMap = unitMap;
  pcpu.unitOffsets = unitOff;
  pcpu.lowUnitCpu = lowUnitCpu;
  pcpu.highUnitCpu = highUnitCpu;

  /* determine low-level allocator parameters */
  pcpu.unitPages = Math.floor(ai.unitSize / pageSize);
  pcpu.unitSize = pcpu.unitPages * pageSize;
  pcpu.atomSize = ai.atomSize;
  pcpu.ai = ai;
  if (pcpu.observer !== null) pcpu.observer.saveAi(ai);

  /* Allocate chunk slots: size slots, then sidelined, free, to_depopulate. */
  if (eraHasReclaim(pcpu)) {
    pcpu.sidelinedSlot = __pcpuSizeToSlot(pcpu.unitSize) + 1;
    pcpu.freeSlot = pcpu.sidelinedSlot + 1;
    pcpu.toDepopulateSlot = pcpu.freeSlot + 1;
    pcpu.nrSlots = pcpu.toDepopulateSlot + 1;
  } else {
    pcpu.freeSlot = __pcpuSizeToSlot(pcpu.unitSize) + 1;
    pcpu.sidelinedSlot = -1;
    pcpu.toDepopulateSlot = -1;
    pcpu.nrSlots = pcpu.freeSlot + 1;
  }
  pcpu.slotHeads = new Array(pcpu.nrSlots).fill(null);
  pcpu.slotTails = new Array(pcpu.nrSlots).fill(null);

  /*
   * The end of the static region must be aligned to the minimum allocation
   * size; the dynamic region gives up what that alignment takes.
   */
  const staticSize = Math.ceil(ai.staticSize / PCPU_MIN_ALLOC_SIZE) * PCPU_MIN_ALLOC_SIZE;
  const dynSize = ai.dynSize - (staticSize - ai.staticSize);

  if (ai.reservedSize) pcpu.reservedChunk = pcpuAllocFirstChunk(pcpu, baseAddr + staticSize, ai.reservedSize);
  pcpu.firstChunk = pcpuAllocFirstChunk(pcpu, baseAddr + staticSize + ai.reservedSize, dynSize);
  /* An assignment: what building the reserved record subtracted is dropped. */
  pcpu.nrEmptyPopPages = pcpu.firstChunk.nrEmptyPopPages;
  pcpuChunkRelocate(pcpu, pcpu.firstChunk, -1);

  /* include all regions of the first chunk */
  pcpu.nrPopulated += Math.floor(sizeSum / pageSize);

  pcpu.pcpuStatsChunkAlloc();
  pcpu.traceCreateChunk(baseAddr);

  /* we're done */
  pcpu.baseAddr = baseAddr;
}
