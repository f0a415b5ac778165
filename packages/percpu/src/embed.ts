/*
 * The two first-chunk allocators arch code chooses between
 * (mm/percpu.c pcpu_embed_first_chunk, pcpu_page_first_chunk, pcpu_fc_alloc).
 *
 * embed: one node-local boot-memory block per group, used in place through
 *        the linear map; unused unit tails go back to memblock. Cheap (large
 *        pages), but the groups may sit far apart, and every later chunk
 *        needs congruent vm areas spanning the same distance, hence the
 *        check against 3/4 of the vmalloc space.
 *
 *          group 0 block           group 1 block
 *        [u0|u1|u2|u3] ...gap... [u4|u5|u6|u7]       (units of unit_size,
 *         ^base                                        tails freed)
 *
 * page:  every unit page by page from its CPU's node, mapped side by side
 *        into one early vm area. Always possible; 4K mappings.
 */

import { EINVAL, ENOMEM, LOGLEVEL_INFO, LOGLEVEL_WARNING } from "@pcpu/mm";
import { pcpuBuildAllocInfo } from "./alloc-info.js";
import type { PcpuAllocInfo, PcpuCpuDistanceFn, PcpuCpuToNodeFn } from "./api.js";
import {
  pcpuEmbedLine,
  pcpuEraPrintsBase,
  pcpuFailedToAllocatePageLine,
  pcpuMaxDistanceLine,
  pcpuPageLine,
} from "./boot-lines.js";
import { pcpuSetupFirstChunk } from "./first-chunk.js";
import type { Percpu } from "./percpu.js";

const NUMA_NO_NODE = -1;

/** The arch's first-chunk build options (CONFIG_NEED_PER_CPU_PAGE_FIRST_CHUNK). */
export interface PcpuEmbedOpts {
  /**
   * Whether the arch also builds the page first chunk allocator: then a
   * too-sparse embed layout fails with -EINVAL so the arch can fall back;
   * otherwise it only warns and continues.
   */
  readonly pageFirstChunkAvailable: boolean;
  /** CONFIG_NUMA: boot memory is asked for per node (and a CPU without one is reported). */
  readonly numa: boolean;
}

/**
 * `pcpu_fc_alloc(cpu, size, align, cpu_to_nd_fn)`: boot memory for a CPU's
 * units, node-local when the node is known and has memory.
 * @kernel mm/percpu.c pcpu_fc_alloc
 * @returns the physical address, or -1.
 */
export function pcpuFcAlloc(
  pcpu: Percpu,
  cpu: number,
  size: number,
  align: number,
  cpuToNdFn: PcpuCpuToNodeFn | null,
  numa: boolean,
): number {
  const m = pcpu.machine;
  if (!numa) return m.memblock.allocTryNid(size, align, NUMA_NO_NODE, "pcpu_fc_alloc");
  const node = cpuToNdFn !== null ? cpuToNdFn(cpu) : NUMA_NO_NODE;
  const online = node >= 0 && node < m.nrNodes && m.config.nodes[node]!.size > 0;
  /* (The kernel's "per cpu data for cpu%d" lines are pr_debug: compiled out without DEBUG.) */
  if (!online) {
    const phys = m.memblock.allocTryNid(size, align, NUMA_NO_NODE, "pcpu_fc_alloc");
    m.log.printk(LOGLEVEL_INFO, `percpu: cpu ${cpu} has no node ${node} or node-local memory`);
    return phys;
  }
  return m.memblock.allocTryNid(size, align, node, "pcpu_fc_alloc");
}

/** `pcpu_fc_free(ptr, size)`: give boot memory back. @kernel mm/percpu.c pcpu_fc_free */
export function pcpuFcFree(pcpu: Percpu, phys: number, size: number): void {
  if (size > 0) pcpu.machine.memblock.free(phys, size);
}

/**
 * The `@%p` base older boot lines print, as the machine prints addresses
 * (the arch hooks are not installed yet while the first chunk is built).
 */
function basePtr(pcpu: Percpu, addr: number): string | undefined {
  if (!pcpuEraPrintsBase(pcpu.era)) return undefined;
  const fmt = pcpu.machine.config.formatAddr;
  return fmt !== undefined ? fmt(addr) : addr.toString(16).padStart(pcpu.machine.bits / 4, "0");
}

/** Copy the static percpu template (`__per_cpu_load`) to a unit at `dst` (the kernel's memcpy). */
function copyStaticImage(pcpu: Percpu, dst: number, staticSize: number): void {
  pcpu.machine.mem.memcpy(dst, pcpu.section.perCpuLoad, staticSize);
}

/**
 * `pcpu_embed_first_chunk(reserved_size, dyn_size, atom_size, cpu_distance_fn, cpu_to_nd_fn)`.
 * @kernel mm/percpu.c pcpu_embed_first_chunk
 * @context boot.
 * @returns 0, -ENOMEM, or -EINVAL when the groups are too far apart for the
 *   vmalloc space and the arch can fall back to the page allocator.
 */
export function pcpuEmbedFirstChunk(
  pcpu: Percpu,
  reservedSize: number,
  dynSize: number,
  atomSize: number,
  cpuDistanceFn: PcpuCpuDistanceFn | null,
  cpuToNdFn: PcpuCpuToNodeFn | null,
  opts: PcpuEmbedOpts,
): number {
  const m = pcpu.machine;
  const k = pcpu.constants;
  const ai = pcpuBuildAllocInfo(k, {
    staticSize: pcpu.section.staticSize,
    reservedSize,
    dynSize,
    atomSize,
    nrPossibleCpus: pcpu.nrPossibleCpus,
    possibleCpus: pcpu.possibleCpus,
    cpuDistanceFn,
    era: pcpu.era,
  });
  if (ai === null) return -EINVAL;

  const sizeSum = ai.staticSize + ai.reservedSize + ai.dynSize;
  const areas: number[] = new Array(ai.nrGroups).fill(-1);
  let base = Number.POSITIVE_INFINITY;
  let highestGroup = 0;
  let rc = 0;

  // biome-ignore lint/suspicious/noConfusingLabels: the block mirrors the kernel's `goto out_free_areas` unwinding
  out: {
    /* allocate, copy and determine base address & max_distance */
    for (let group = 0; group < ai.nrGroups; group++) {
      const gi = ai.groups[group]!;
      let i = 0;
      while (i < gi.nrUnits && gi.cpuMap[i] === k.NR_CPUS) i++;
      const cpu = gi.cpuMap[i]!;
      const phys = pcpuFcAlloc(pcpu, cpu, gi.nrUnits * ai.unitSize, atomSize, cpuToNdFn, opts.numa);
      if (phys < 0) {
        rc = -ENOMEM;
        break out;
      }
      const ptr = m.__va(phys);
      areas[group] = ptr;
      base = Math.min(ptr, base);
      if (ptr > areas[highestGroup]!) highestGroup = group;
    }

    let maxDistance: number;
    if (pcpu.era === "v2.6.32" || pcpu.era === "v2.6.30") {
      /* 2.6.3x: the highest group's offset plus one unit (under-estimates). */
      maxDistance = 0;
      for (let group = 0; group < ai.nrGroups; group++)
        maxDistance = Math.max(maxDistance, areas[group]! - base);
      maxDistance += ai.unitSize;
    } else {
      maxDistance = areas[highestGroup]! - base + ai.unitSize * ai.groups[highestGroup]!.nrUnits;
    }

    /* warn if maximum distance is further than 75% of vmalloc space */
    const vmallocTotal = m.vmalloc.total;
    if (maxDistance > Math.floor((vmallocTotal * 3) / 4)) {
      m.log.printk(LOGLEVEL_WARNING, pcpuMaxDistanceLine(pcpu.era, maxDistance, vmallocTotal));
      if (opts.pageFirstChunkAvailable) {
        /* and fail if we have fallback */
        rc = -EINVAL;
        break out;
      }
    }

    /*
     * Copy data and free unused parts. This should happen after all
     * allocations are complete; otherwise, we may end up with overlapping
     * groups.
     */
    for (let group = 0; group < ai.nrGroups; group++) {
      const gi = ai.groups[group]!;
      let ptr = areas[group]!;
      for (let i = 0; i < gi.nrUnits; i++, ptr += ai.unitSize) {
        if (gi.cpuMap[i] === k.NR_CPUS) {
          /* unused unit, free whole */
          pcpuFcFree(pcpu, m.__pa(ptr), ai.unitSize);
          continue;
        }
        /* copy and return the unused part */
        copyStaticImage(pcpu, ptr, ai.staticSize);
        if (ai.unitSize > sizeSum) pcpuFcFree(pcpu, m.__pa(ptr + sizeSum), ai.unitSize - sizeSum);
      }
    }

    /* base address is now known, determine group base offsets */
    for (let group = 0; group < ai.nrGroups; group++) ai.groups[group]!.baseOffset = areas[group]! - base;

    m.log.printk(LOGLEVEL_INFO, pcpuEmbedLine(k, ai, pcpu.era, basePtr(pcpu, base)));
    pcpuSetupFirstChunk(pcpu, ai, base);
    return 0;
  }

  /* out_free_areas: */
  for (let group = 0; group < ai.nrGroups; group++) {
    if (areas[group]! >= 0) pcpuFcFree(pcpu, m.__pa(areas[group]!), ai.groups[group]!.nrUnits * ai.unitSize);
  }
  return rc;
}

/**
 * `pcpu_page_first_chunk(reserved_size, cpu_to_nd_fn)`.
 * @kernel mm/percpu.c pcpu_page_first_chunk
 * @context boot.
 * @returns 0, -ENOMEM when a page cannot be allocated (all freed), -EINVAL.
 */
export function pcpuPageFirstChunk(
  pcpu: Percpu,
  reservedSize: number,
  cpuToNdFn: PcpuCpuToNodeFn | null,
  numa: boolean,
): number {
  const m = pcpu.machine;
  const k = pcpu.constants;
  const pageSize = k.PAGE_SIZE;

  const ai: PcpuAllocInfo | null = pcpuBuildAllocInfo(k, {
    staticSize: pcpu.section.staticSize,
    reservedSize,
    dynSize: 0,
    atomSize: pageSize,
    nrPossibleCpus: pcpu.nrPossibleCpus,
    possibleCpus: pcpu.possibleCpus,
    cpuDistanceFn: null,
    era: pcpu.era,
  });
  if (ai === null) return -EINVAL;
  if (ai.nrGroups !== 1) throw new Error("percpu: BUG: pcpu_page_first_chunk: ai->nr_groups != 1");

  const nrCpus = pcpu.nrPossibleCpus;
  const upa = ai.allocSize / ai.unitSize;
  const nrG0Units = Math.ceil(nrCpus / upa) * upa;
  if (ai.groups[0]!.nrUnits !== nrG0Units) {
    m.log.warn("mm/percpu.c pcpu_page_first_chunk");
    return -EINVAL;
  }
  const unitPages = ai.unitSize / pageSize;

  /* unaligned allocations can't be freed, round up to page size */
  const pages: number[] = [];
  for (let unit = 0; unit < nrCpus; unit++) {
    const cpu = ai.groups[0]!.cpuMap[unit]!;
    for (let i = 0; i < unitPages; i++) {
      const phys = pcpuFcAlloc(pcpu, cpu, pageSize, pageSize, cpuToNdFn, numa);
      if (phys < 0) {
        m.log.printk(LOGLEVEL_WARNING, pcpuFailedToAllocatePageLine(k, pcpu.era, cpu));
        for (let j = pages.length - 1; j >= 0; j--) pcpuFcFree(pcpu, pages[j]!, pageSize);
        return -ENOMEM;
      }
      pages.push(phys);
    }
  }

  /* allocate vm area, map the pages and copy static data */
  const vm = m.vmalloc.getVmArea(nrCpus * ai.unitSize, pageSize, "pcpu_page_first_chunk");
  if (vm === null) throw new Error("percpu: vm_area_register_early: no vmalloc space for the first chunk");
  for (let unit = 0; unit < nrCpus; unit++) {
    const unitAddr = vm.addr + unit * ai.unitSize;
    for (let i = 0; i < unitPages; i++) {
      const rc = m.pgtable.mapPage(
        unitAddr + i * pageSize,
        Math.floor(pages[unit * unitPages + i]! / pageSize),
      );
      if (rc < 0) throw new Error(`percpu: failed to map percpu area, err=${rc}`);
    }
    m.pgtable.flushCacheVmap(unitAddr, unitAddr + ai.unitSize);
    copyStaticImage(pcpu, unitAddr, ai.staticSize);
  }

  /* we're ready, commit */
  m.log.printk(LOGLEVEL_INFO, pcpuPageLine(k, ai, pcpu.era, basePtr(pcpu, vm.addr)));
  pcpuSetupFirstChunk(pcpu, ai, vm.addr);
  return 0;
}
