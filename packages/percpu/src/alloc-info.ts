/*
 * The first-chunk layout: struct pcpu_alloc_info and the three mm/percpu.c
 * helpers around it, pcpu_alloc_alloc_info(), pcpu_build_alloc_info() and
 * pcpu_dump_alloc_info().
 *
 * pcpu_build_alloc_info() decides how big a unit is, how many units share one
 * atom-sized allocation (upa, "units per alloc") and how CPUs are grouped
 * (CPUs that are LOCAL_DISTANCE from each other both ways share a group, and
 * a group is allocated on its node). Picture for 12 CPUs, atom 2 MiB, unit
 * 256 KiB (upa 8), one group:
 *
 *   alloc 0 (2 MiB)                         alloc 1 (2 MiB)
 *   | 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 |       | 8 | 9 |10 |11 | - | - | - | - |
 *                                                            padding units
 *                                                            (cpu_map = NR_CPUS)
 *
 * Two grouping algorithms are modelled (PcpuEra): since ~5.11 the lowest
 * remaining CPU leads a new group and takes every remaining CPU local to it;
 * before, each CPU joined the lowest-numbered group whose earlier members
 * were all local to it. They agree when locality is an equivalence relation
 * (a NUMA node table) and differ otherwise.
 *
 * The kernel keeps its scratch arrays static; the model allocates them per
 * call (no module-level state), which is the same as the kernel clearing them
 * on entry.
 */

import { LOGLEVEL_DEBUG, LOGLEVEL_INFO, type LogLevel } from "@pcpu/mm";
import {
  LOCAL_DISTANCE,
  type PcpuAllocInfo,
  type PcpuConstants,
  type PcpuCpuDistanceFn,
  type PcpuEra,
  type PcpuGroupInfo,
} from "./api.js";
import { PcpuBug } from "./bug.js";
import { pcpuEraIndex, pcpuEraIs26 } from "./constants.js";

/** `INT_MAX`, the kernel's starting value for `last_allocs`. */
const INT_MAX = 0x7fffffff;

/** What the arch passes to pcpu_build_alloc_info(), plus what the model must be told. */
export interface PcpuBuildAllocInfoArgs {
  /** `__per_cpu_end - __per_cpu_start`: the kernel's static percpu bytes. */
  readonly staticSize: number;
  /** Reserved region (module statics) in bytes. */
  readonly reservedSize: number;
  /** Minimum dynamic bytes; the result absorbs page rounding. -1 means "auto" (2.6.3x eras only). */
  readonly dynSize: number;
  /** Allocation atom: PAGE_SIZE, or the large page the first chunk rides on (PMD_SIZE). */
  readonly atomSize: number;
  /** `num_possible_cpus()`; without `possibleCpus` the possible CPUs are 0 .. nrPossibleCpus-1. */
  readonly nrPossibleCpus: number;
  /**
   * `cpu_possible_mask` as an ascending CPU list when it has holes
   * (`[0, 1, 2, 3, 8, 9, 10, 11]`); its length must be nrPossibleCpus.
   * Default: 0 .. nrPossibleCpus-1.
   */
  readonly possibleCpus?: ArrayLike<number>;
  /** `cpu_distance_fn`, or null for one group. */
  readonly cpuDistanceFn: PcpuCpuDistanceFn | null;
  /** Kernel generation (default "v6"); picks the grouping algorithm and dyn-size rule. */
  readonly era?: PcpuEra;
}

function checkCount(what: string, v: number, min: number): void {
  if (!Number.isSafeInteger(v) || v < min)
    throw new RangeError(`${what} must be an integer >= ${min}, got ${v}`);
}

/** `roundup(x, y)`: x rounded up to a multiple of y (y need not be a power of two). */
function roundup(x: number, y: number): number {
  return Math.ceil(x / y) * y;
}

/** Whether the leader-mask grouping (~5.11+) applies to `era`. */
export function pcpuEraGroupsByLeader(era: PcpuEra): boolean {
  return pcpuEraIndex(era) >= pcpuEraIndex("v5.14");
}

/**
 * Allocates an alloc info for `nrGroups` groups and `nrUnits` units. All
 * groups share one cpu map (an Int32Array of `nrUnits` entries, all NR_CPUS),
 * like the kernel's single trailing array: group 0's `cpuMap` views all of it,
 * the other groups get empty views at its end and the caller re-slices them
 * with `subarray` (the kernel's "caller initialises the other cpu_map
 * pointers"). Sizes and offsets start at 0.
 *
 * @kernel mm/percpu.c pcpu_alloc_alloc_info
 * @param nrGroups - number of groups (>= 1)
 * @param nrUnits - number of units over all groups, padding included
 * @param NR_CPUS - the build's CPU limit, the empty-unit sentinel
 * @context boot (memblock); pure in the model
 * @returns the new alloc info (the model's boot memory does not run out, so never null)
 */
export function pcpuAllocAllocInfo(nrGroups: number, nrUnits: number, NR_CPUS: number): PcpuAllocInfo {
  checkCount("pcpuAllocAllocInfo: nrGroups", nrGroups, 1);
  checkCount("pcpuAllocAllocInfo: nrUnits", nrUnits, 0);
  checkCount("pcpuAllocAllocInfo: NR_CPUS", NR_CPUS, 1);
  const cpuMap = new Int32Array(nrUnits).fill(NR_CPUS);
  const groups: PcpuGroupInfo[] = [];
  for (let g = 0; g < nrGroups; g++) {
    groups.push({ nrUnits: 0, baseOffset: 0, cpuMap: g === 0 ? cpuMap : cpuMap.subarray(nrUnits, nrUnits) });
  }
  return {
    staticSize: 0,
    reservedSize: 0,
    dynSize: 0,
    unitSize: 0,
    atomSize: 0,
    allocSize: 0,
    nrGroups,
    groups,
  };
}

/**
 * Groups CPUs the 5.11+ way: the lowest CPU left leads a new group and takes
 * every remaining CPU that is LOCAL_DISTANCE from it both ways. `cpus` are
 * the possible CPUs, ascending (the mask copied from cpu_possible_mask).
 * Fills `groupMap` (by CPU id) and `groupCnt`; returns the number of groups.
 */
function groupByLeader(
  cpus: Int32Array,
  fn: PcpuCpuDistanceFn | null,
  groupMap: Int32Array,
  groupCnt: Int32Array,
): number {
  const n = cpus.length;
  const inMask = new Uint8Array(n).fill(1);
  let remaining = n;
  let first = 0;
  let group = 0;
  for (; remaining > 0; group++) {
    while (inMask[first] === 0) first++;
    const cpu = cpus[first]!;
    groupMap[cpu] = group;
    groupCnt[group]++;
    inMask[first] = 0;
    remaining--;
    for (let t = first + 1; t < n; t++) {
      if (inMask[t] === 0) continue;
      const tcpu = cpus[t]!;
      if (fn === null || (fn(cpu, tcpu) === LOCAL_DISTANCE && fn(tcpu, cpu) === LOCAL_DISTANCE)) {
        groupMap[tcpu] = group;
        groupCnt[group]++;
        inMask[t] = 0;
        remaining--;
      }
    }
  }
  return group;
}

/**
 * Groups CPUs the pre-5.11 way: each CPU, in ascending order, joins the
 * lowest-numbered group none of whose earlier members is farther than
 * LOCAL_DISTANCE from it either way. The kernel rescans all lower CPUs for
 * each candidate group; scanning only that group's members makes the same
 * distance calls in the same order. Returns the number of groups.
 */
function groupByLowestCompatible(
  cpus: Int32Array,
  fn: PcpuCpuDistanceFn | null,
  groupMap: Int32Array,
  groupCnt: Int32Array,
): number {
  let nrGroups = 1;
  const members: number[][] = [[]];
  for (const cpu of cpus) {
    let group = 0;
    if (fn !== null) {
      for (;;) {
        const list = members[group]!;
        let conflict = false;
        for (let i = 0; i < list.length; i++) {
          const tcpu = list[i]!;
          if (fn(cpu, tcpu) > LOCAL_DISTANCE || fn(tcpu, cpu) > LOCAL_DISTANCE) {
            conflict = true;
            break;
          }
        }
        if (!conflict) break;
        group++;
        if (group + 1 > nrGroups) nrGroups = group + 1;
        if (members.length <= group) members.push([]);
      }
    }
    members[group]!.push(cpu);
    groupMap[cpu] = group;
    groupCnt[group]++;
  }
  return nrGroups;
}

/**
 * Builds the first-chunk layout: unit size, units per allocation, CPU groups
 * and each group's cpu map, for the arch's reserve, dynamic request, atom and
 * distance function.
 *
 * 1. `size_sum = PFN_ALIGN(static + reserved + max(dyn, PERCPU_DYNAMIC_EARLY_SIZE))`
 *    and the dynamic size grows to fill the last page (2.6.3x: no early-size
 *    floor, and `dyn = -1` asks for exactly the page rounding).
 * 2. `alloc_size = roundup(max(size_sum, PCPU_MIN_UNIT_SIZE), atom)`; the
 *    largest upa that splits it into page-aligned units is max_upa.
 * 3. Group the CPUs (leader mask, or lowest compatible group before ~5.11).
 * 4. From max_upa down, skip upa values that do not split alloc_size into
 *    page-aligned units or waste more than num_possible_cpus()/3 units;
 *    stop as soon as a smaller upa needs more allocations. The last upa
 *    accepted wins (the largest unit among the fewest allocations).
 * 5. Lay the groups out back to back, each cpu map padded with NR_CPUS to a
 *    multiple of upa.
 *
 * @kernel mm/percpu.c pcpu_build_alloc_info
 * @param k - the kernel's constants (page size, PCPU_MIN_UNIT_SIZE, EARLY_SIZE, NR_CPUS)
 * @param args - sizes, atom, possible CPUs, distance function, era
 * @context boot; calls `cpuDistanceFn`, otherwise pure
 * @returns the alloc info; null only if pcpu_alloc_alloc_info() fails, which
 *   the model's boot memory never does
 * @throws PcpuBug for the kernel's BUG_ON(!best_upa) and for the divide error
 *   the kernel takes when no upa splits alloc_size into page-aligned units
 *   (an atom that is not page aligned); RangeError for impossible arguments
 */
export function pcpuBuildAllocInfo(k: PcpuConstants, args: PcpuBuildAllocInfoArgs): PcpuAllocInfo | null {
  const era: PcpuEra = args.era ?? "v6";
  const old26 = pcpuEraIs26(era);
  const { staticSize, reservedSize, atomSize, nrPossibleCpus: n } = args;
  const fn = args.cpuDistanceFn ?? null;
  checkCount("pcpuBuildAllocInfo: staticSize", staticSize, 0);
  checkCount("pcpuBuildAllocInfo: reservedSize", reservedSize, 0);
  checkCount("pcpuBuildAllocInfo: dynSize", args.dynSize, old26 ? -1 : 0);
  checkCount("pcpuBuildAllocInfo: atomSize", atomSize, 1);
  checkCount("pcpuBuildAllocInfo: nrPossibleCpus", n, 1);
  if (n > k.NR_CPUS) {
    throw new RangeError(`pcpuBuildAllocInfo: nrPossibleCpus ${n} exceeds NR_CPUS ${k.NR_CPUS}`);
  }
  const cpus = pcpuPossibleList(args.possibleCpus, n, k.NR_CPUS);
  if (fn !== null && typeof fn !== "function")
    throw new TypeError("pcpuBuildAllocInfo: cpuDistanceFn must be a function or null");

  const PAGE_SIZE = k.PAGE_SIZE;
  const pfnAlign = (x: number): number => roundup(x, PAGE_SIZE);

  /* 1. size_sum and the dynamic size that absorbs the page rounding */
  let dynSize = args.dynSize;
  let sizeSum: number;
  if (old26) {
    /* pcpu_calc_fc_sizes(): -1 is "auto", 0 stays 0 */
    sizeSum = pfnAlign(staticSize + reservedSize + Math.max(dynSize, 0));
    if (dynSize !== 0) dynSize = sizeSum - staticSize - reservedSize;
  } else {
    sizeSum = pfnAlign(staticSize + reservedSize + Math.max(dynSize, k.PERCPU_DYNAMIC_EARLY_SIZE));
    dynSize = sizeSum - staticSize - reservedSize;
  }

  /* 2. alloc_size and the largest page-aligned units-per-alloc */
  const minUnitSize = Math.max(sizeSum, k.PCPU_MIN_UNIT_SIZE);
  const allocSize = roundup(minUnitSize, atomSize);
  const splits = (upa: number): boolean => allocSize % upa === 0 && (allocSize / upa) % PAGE_SIZE === 0;
  let upa = Math.floor(allocSize / minUnitSize);
  while (upa > 0 && !splits(upa)) upa--;
  if (upa === 0) {
    throw new PcpuBug(
      `divide error in pcpu_build_alloc_info: alloc_size ${allocSize} (atom_size ${atomSize}) has no page-aligned split`,
    );
  }
  const maxUpa = upa;

  /* 3. group CPUs by proximity */
  const groupMap = new Int32Array(cpus[n - 1]! + 1);
  const groupCnt = new Int32Array(n);
  const nrGroups = pcpuEraGroupsByLeader(era)
    ? groupByLeader(cpus, fn, groupMap, groupCnt)
    : groupByLowestCompatible(cpus, fn, groupMap, groupCnt);

  /* 4. pick upa: no more than 1/3 wasted units, then no more allocations */
  let lastAllocs = INT_MAX;
  let bestUpa = 0;
  const maxWaste = Math.floor(n / 3);
  for (upa = maxUpa; upa > 0; upa--) {
    if (!splits(upa)) continue;
    let allocs = 0;
    let wasted = 0;
    for (let g = 0; g < nrGroups; g++) {
      const thisAllocs = Math.ceil(groupCnt[g]! / upa);
      allocs += thisAllocs;
      wasted += thisAllocs * upa - groupCnt[g]!;
    }
    if (wasted > maxWaste) continue;
    if (allocs > lastAllocs) break;
    lastAllocs = allocs;
    bestUpa = upa;
  }
  /*
   * Unreachable for valid input: upa == 1 splits alloc_size (it is page
   * aligned, or max_upa would not exist), wastes nothing, and can only be
   * refused by the early stop after a larger upa was accepted.
   */
  if (bestUpa === 0) throw new PcpuBug("BUG_ON(!best_upa) in pcpu_build_alloc_info");
  upa = bestUpa;

  /* 5. allocate and fill the info */
  let nrUnits = 0;
  for (let g = 0; g < nrGroups; g++) nrUnits += roundup(groupCnt[g]!, upa);
  const ai = pcpuAllocAllocInfo(nrGroups, nrUnits, k.NR_CPUS);
  const shared = ai.groups[0]!.cpuMap;
  ai.staticSize = staticSize;
  ai.reservedSize = reservedSize;
  ai.dynSize = dynSize;
  ai.unitSize = allocSize / upa;
  ai.atomSize = atomSize;
  ai.allocSize = allocSize;

  let unit = 0;
  for (let g = 0; g < nrGroups; g++) {
    const gi = ai.groups[g]!;
    const len = roundup(groupCnt[g]!, upa);
    gi.cpuMap = shared.subarray(unit, unit + len);
    /* back-to-back placeholder; the first-chunk code overwrites it */
    gi.baseOffset = unit * ai.unitSize;
    gi.nrUnits = len;
    unit += len;
  }
  /* possible CPUs in ascending order land in ascending order within each group */
  const fill = new Int32Array(nrGroups);
  for (const cpu of cpus) {
    const g = groupMap[cpu]!;
    ai.groups[g]!.cpuMap[fill[g]!++] = cpu;
  }
  if (unit !== nrUnits) throw new PcpuBug("BUG_ON(unit != nr_units) in pcpu_build_alloc_info");
  return ai;
}

/**
 * The possible CPUs as an ascending list: `list` checked (length `n`,
 * ascending, below NR_CPUS), or 0 .. n-1 when it is absent.
 */
function pcpuPossibleList(list: ArrayLike<number> | undefined, n: number, NR_CPUS: number): Int32Array {
  if (list === undefined) return Int32Array.from({ length: n }, (_, i) => i);
  if (list.length !== n)
    throw new RangeError(
      `pcpuBuildAllocInfo: possibleCpus lists ${list.length} CPUs, nrPossibleCpus is ${n}`,
    );
  const cpus = Int32Array.from(list);
  for (let i = 0; i < n; i++) {
    const cpu = list[i]!;
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= NR_CPUS)
      throw new RangeError(
        `pcpuBuildAllocInfo: possible CPU ${cpu} is outside 0 .. NR_CPUS-1 (${NR_CPUS - 1})`,
      );
    if (i > 0 && cpu <= cpus[i - 1]!)
      throw new RangeError("pcpuBuildAllocInfo: possibleCpus must be ascending without repeats");
  }
  return cpus;
}

/** `rounddown_pow_of_two(x)` for x >= 1. */
function rounddownPowOfTwo(x: number): number {
  return 2 ** Math.floor(Math.log2(x));
}

/** Number of decimal digits the kernel's `while (v /= 10) width++` loop counts. */
function decimalWidth(v: number): number {
  let w = 1;
  while ((v = Math.trunc(v / 10)) !== 0) w++;
  return w;
}

/**
 * The lines pcpu_dump_alloc_info() prints, without level or timestamp:
 *
 *   pcpu-alloc: s%zu r%zu d%zu u%zu alloc=%zu*%zu
 *   pcpu-alloc: [0] 00 01 02 03 04 05 06 07 [0] 08 09 10 11 -- -- -- --
 *
 * Group numbers are zero-padded to the digits of nr_groups, CPU numbers to the
 * digits of num_possible_cpus(), padding units print as that many dashes (at
 * most 8); every allocation, and so every allocation line, ends with a space.
 * Allocations per line: rounddown_pow_of_two(max(60 / width, 1)) with
 * `width = upa * (cpu_width + 1) + group_width + 3`, counted across groups.
 *
 * @kernel mm/percpu.c pcpu_dump_alloc_info
 * @param ai - the alloc info to print
 * @param nrPossibleCpus - `num_possible_cpus()` (decides the CPU column width)
 * @param NR_CPUS - the empty-unit sentinel; when omitted every entry >=
 *   nrPossibleCpus is printed as padding (pass it to print out-of-range
 *   CPU ids the way the kernel's failure dump does)
 * @context boot; pure
 * @returns the lines; print them with pcpuDumpAllocInfoLevel(era)
 * @throws PcpuBug for BUG_ON(gi->nr_units % upa) and the divide errors the
 *   kernel takes on a zero unit or atom size or an alloc smaller than a unit
 */
export function pcpuDumpAllocInfo(ai: PcpuAllocInfo, nrPossibleCpus: number, NR_CPUS?: number): string[] {
  checkCount("pcpuDumpAllocInfo: nrPossibleCpus", nrPossibleCpus, 0);
  if (NR_CPUS !== undefined) checkCount("pcpuDumpAllocInfo: NR_CPUS", NR_CPUS, 1);
  const isEmpty = (cpu: number): boolean => (NR_CPUS === undefined ? cpu >= nrPossibleCpus : cpu === NR_CPUS);

  const groupWidth = decimalWidth(ai.nrGroups);
  const cpuWidth = decimalWidth(nrPossibleCpus);
  const emptyStr = "--------".slice(0, Math.min(cpuWidth, 8));
  if (ai.unitSize === 0) throw new PcpuBug("divide error in pcpu_dump_alloc_info: unit_size is 0");
  if (ai.atomSize === 0) throw new PcpuBug("divide error in pcpu_dump_alloc_info: atom_size is 0");
  const upa = Math.floor(ai.allocSize / ai.unitSize);
  if (upa === 0)
    throw new PcpuBug("divide error in pcpu_dump_alloc_info: alloc_size is smaller than unit_size");
  const width = upa * (cpuWidth + 1) + groupWidth + 3;
  const apl = rounddownPowOfTwo(Math.max(Math.floor(60 / width), 1));

  const lines = [
    `pcpu-alloc: s${ai.staticSize} r${ai.reservedSize} d${ai.dynSize} u${ai.unitSize} alloc=${Math.floor(
      ai.allocSize / ai.atomSize,
    )}*${ai.atomSize}`,
  ];
  let cur: string | null = null;
  let alloc = 0;
  let allocEnd = 0;
  for (let group = 0; group < ai.nrGroups; group++) {
    const gi = ai.groups[group]!;
    if (gi.nrUnits % upa !== 0) throw new PcpuBug("BUG_ON(gi->nr_units % upa) in pcpu_dump_alloc_info");
    const groupStr = `[${String(group).padStart(groupWidth, "0")}] `;
    let unit = 0;
    let unitEnd = 0;
    for (allocEnd += gi.nrUnits / upa; alloc < allocEnd; alloc++) {
      if (alloc % apl === 0) {
        if (cur !== null) lines.push(cur);
        cur = "pcpu-alloc: ";
      }
      cur += groupStr;
      for (unitEnd += upa; unit < unitEnd; unit++) {
        const cpu = gi.cpuMap[unit]!;
        cur += isEmpty(cpu) ? `${emptyStr} ` : `${String(cpu).padStart(cpuWidth, "0")} `;
      }
    }
  }
  if (cur !== null) lines.push(cur);
  return lines;
}

/**
 * The level the first-chunk code prints the dump at: KERN_INFO in the 2.6.3x
 * trees, KERN_DEBUG later (the failure path always uses KERN_EMERG).
 *
 * @kernel mm/percpu.c pcpu_setup_first_chunk (its pcpu_dump_alloc_info call)
 * @param era - kernel generation
 * @context any; pure
 * @returns LOGLEVEL_INFO or LOGLEVEL_DEBUG
 */
export function pcpuDumpAllocInfoLevel(era: PcpuEra): LogLevel {
  return pcpuEraIs26(era) ? LOGLEVEL_INFO : LOGLEVEL_DEBUG;
}
