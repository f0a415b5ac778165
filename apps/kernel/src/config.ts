/*
 * The kernel config: defaults, parsing of the values a user writes (sizes
 * with K/M/G suffixes or hex, on/off switches, the nodes' cpulists) and the
 * checks that refuse an impossible kernel before anything boots, each with
 * one message naming the setting (the way Kconfig refuses a symbol out of
 * range instead of building a kernel that panics).
 */

import {
  CpulistParseError,
  cpulistParse,
  isPcpuEra,
  PCPU_ERAS,
  type PcpuEra,
  type PcpuFc,
} from "@pcpu/percpu";
import {
  ALLOCATOR_NAMES,
  type AllocatorName,
  ARCH_NAMES,
  type ArchName,
  type KernelArchDefinition,
  type KernelConfig,
  PERCPU_ALLOC_NAMES,
  POPULATION_NAMES,
  type PopulationName,
  type ResolvedKernelConfig,
} from "./api.js";

/** A config the kernel cannot be built from; `setting` is the camelCase key at fault. */
export class ConfigError extends Error {
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(`${setting}: ${message}`);
    this.name = "ConfigError";
    this.setting = setting;
  }
}

/** Every config key, camelCase, in documentation order. */
export const CONFIG_KEYS = [
  "arch",
  "pageSize",
  "bits",
  "cpus",
  "possible",
  "nodes",
  "numa",
  "memPerNode",
  "population",
  "percpuAlloc",
  "allocator",
  "stats",
  "staticSize",
  "reservedSize",
  "dynSize",
  "atomSize",
  "era",
  "nrCpus",
  "forceNrCpus",
  "modules",
  "smp",
  "cpumaskOffstack",
  "seed",
  "trace",
  "debugChecks",
  "memcg",
  "allocProfiling",
  "fixFreeHintQuirk",
  "fixPopulatedOvercount",
  "checkFree",
] as const satisfies readonly (keyof KernelConfig)[];

/** The default kernel: x86_64, 8 CPUs in 2 nodes, vm, auto (embed), bitmap, stats on. */
export const DEFAULT_CONFIG = {
  arch: "x86_64",
  cpus: 8,
  population: "vm",
  percpuAlloc: "auto",
  allocator: "bitmap",
  stats: true,
  era: "v6",
  modules: true,
  forceNrCpus: false,
  seed: 1,
  trace: true,
  debugChecks: false,
  memcg: true,
  allocProfiling: false,
  fixFreeHintQuirk: false,
  fixPopulatedOvercount: false,
  checkFree: true,
} as const satisfies KernelConfig;

const SIZE_RE = /^(0[xX][0-9a-fA-F]+|[0-9]+)\s*([kKmMgG]?)$/;

/**
 * A size as users write it: `4096`, `0x1000`, `32K`, `1M`, `2G` (binary
 * multiples, like the kernel's memparse).
 * @returns the bytes, or null when the text is not a size
 */
export function parseSize(v: unknown): number | null {
  if (typeof v === "number") return Number.isSafeInteger(v) && v >= 0 ? v : null;
  if (typeof v !== "string") return null;
  const m = SIZE_RE.exec(v.trim());
  if (!m) return null;
  const base = Number(m[1]);
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase()]!;
  const n = base * mult;
  return Number.isSafeInteger(n) ? n : null;
}

/** An on/off switch: true/false, on/off, yes/no, y/n, 1/0. Null when none. */
export function parseBool(v: unknown): boolean | null {
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v === 1 ? true : v === 0 ? false : null;
  if (typeof v !== "string") return null;
  const s = v.trim().toLowerCase();
  if (["true", "on", "yes", "y", "1"].includes(s)) return true;
  if (["false", "off", "no", "n", "0"].includes(s)) return false;
  return null;
}

/** A value as the user gave it, for a message: never throws (bigints print as `8n`, NaN as NaN). */
function shown(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "number" || v === undefined || typeof v === "symbol" || typeof v === "function")
    return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/** A minus sign before a number a user wrote (`-3`, `-0x10`, `-4K`). */
function isNegative(v: unknown): boolean {
  return (typeof v === "number" && v < 0) || (typeof v === "string" && /^\s*-\s*[0-9]/.test(v));
}

/** A size with a message naming the setting when it is not one. */
function sizeOf(setting: string, v: unknown): number {
  if (isNegative(v)) throw new ConfigError(setting, `${String(v).trim()} must be positive`);
  const n = parseSize(v);
  if (n === null) {
    throw new ConfigError(
      setting,
      `${shown(v)} is not a size (use a number, hex, or a K/M/G suffix: 4096, 0x1000, 32K)`,
    );
  }
  return n;
}

function intOf(setting: string, v: unknown, min: number): number {
  if (isNegative(v)) throw new ConfigError(setting, `${String(v).trim()} must be positive (at least ${min})`);
  const n = parseSize(v);
  if (n === null || /[kKmMgG]$/.test(String(v).trim())) {
    throw new ConfigError(setting, `${shown(v)} is not an integer`);
  }
  if (n < min) throw new ConfigError(setting, `${n} must be at least ${min}`);
  return n;
}

function boolOf(setting: string, v: unknown): boolean {
  const b = parseBool(v);
  if (b === null) throw new ConfigError(setting, `${shown(v)} is not on/off (true, false, on, off, y, n)`);
  return b;
}

function oneOf<T extends string>(setting: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v === "string" && (allowed as readonly string[]).includes(v)) return v as T;
  throw new ConfigError(setting, `${shown(v)} is not one of ${allowed.join(", ")}`);
}

/**
 * Parses the nodes' CPU lists: `0-3;4-7` gives node 0 = CPUs 0-3, node 1 =
 * CPUs 4-7; each part is a kernel cpulist (`0-3,8`, `0-7:2/4`). The nodes
 * must cover the possible CPUs exactly once. An empty part (`0-3;;4-7`, a
 * trailing `;`) and spaces inside or between lists are refused: both are
 * far more often a typo or a shell's word splitting than a CPU-less node.
 */
export function parseNodes(
  text: string,
  cpus: number,
  possible?: readonly number[],
): { nodeCpus: number[][]; cpuToNode: number[] } {
  const isPossible = new Uint8Array(cpus);
  for (const cpu of possible ?? Array.from({ length: cpus }, (_, i) => i)) isPossible[cpu] = 1;
  const possibleText = possible === undefined ? `0-${cpus - 1}` : formatCpulist(possible);
  if (typeof text !== "string" || text.trim() === "")
    throw new ConfigError("nodes", "must list the CPUs of at least one node");
  const parts = text.split(";").map((s) => s.trim());
  if (parts.length === 1 && /\S\s+\S/.test(parts[0]!)) {
    throw new ConfigError(
      "nodes",
      `${JSON.stringify(text)}: separate nodes with ";" (quoted in a shell: --nodes '0-3;4-7') or give one --node per node, not spaces`,
    );
  }
  const cpuToNode: number[] = new Array(cpus).fill(-1);
  const nodeCpus: number[][] = [];
  /* Wide enough that a CPU beyond the possible ones is reported as such, not as a parse error. */
  const nbits = Math.max(cpus, 65536);
  parts.forEach((part, nid) => {
    const list: number[] = [];
    if (part === "")
      throw new ConfigError(
        "nodes",
        `node ${nid} of ${JSON.stringify(text)} is empty (a stray ";"?): every node lists its CPUs`,
      );
    if (/\s/.test(part))
      throw new ConfigError(
        "nodes",
        `node ${nid}: ${JSON.stringify(part)} has spaces: a cpulist is "0-3,8" and nodes are separated by ";"`,
      );
    let mask: Uint32Array;
    try {
      mask = cpulistParse(part, nbits);
    } catch (e) {
      if (e instanceof CpulistParseError) throw new ConfigError("nodes", `node ${nid}: ${e.message}`);
      throw e;
    }
    for (let w = 0; w < mask.length; w++) {
      let word = mask[w]!;
      while (word !== 0) {
        const bit = 31 - Math.clz32(word & -word);
        word &= word - 1;
        list.push(w * 32 + bit);
      }
    }
    list.sort((a, b) => a - b);
    for (const cpu of list) {
      if (cpu >= cpus || isPossible[cpu] === 0)
        throw new ConfigError(
          "nodes",
          `node ${nid} lists CPU ${cpu} but only CPUs ${possibleText} are possible`,
        );
      if (cpuToNode[cpu] !== -1)
        throw new ConfigError("nodes", `CPU ${cpu} is in node ${cpuToNode[cpu]} and node ${nid}`);
      cpuToNode[cpu] = nid;
    }
    nodeCpus.push(list);
  });
  const missing = cpuToNode.findIndex((nid, cpu) => nid === -1 && isPossible[cpu] === 1);
  if (missing >= 0)
    throw new ConfigError(
      "nodes",
      `CPU ${missing} is in no node (the nodes must cover CPUs ${possibleText})`,
    );
  return { nodeCpus, cpuToNode };
}

/** The cpulist of a sorted CPU list (`0-3,8`). */
export function formatCpulist(list: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < list.length; ) {
    let j = i;
    while (j + 1 < list.length && list[j + 1] === list[j]! + 1) j++;
    out.push(j > i ? `${list[i]}-${list[j]}` : `${list[i]}`);
    i = j + 1;
  }
  return out.join(",");
}

/**
 * The default nodes: the possible CPUs in halves on NUMA arches (x86_64
 * default: 0-3;4-7; possible 0-3,8-11: 0-3;8-11), one node otherwise.
 */
export function defaultNodes(cpus: number, numa: boolean, possible?: readonly number[]): string {
  const list = possible ?? Array.from({ length: cpus }, (_, i) => i);
  if (!numa || list.length < 2) return formatCpulist(list);
  const half = Math.ceil(list.length / 2);
  return `${formatCpulist(list.slice(0, half))};${formatCpulist(list.slice(half))}`;
}

/**
 * Parses `possible` (a cpulist) against the arch's NR_CPUS limit.
 * @returns the possible CPUs, ascending
 * @throws ConfigError for a bad list, a list without CPU 0, or CPUs beyond the limit
 */
export function parsePossible(text: unknown, nrCpusMax: number): number[] {
  if (typeof text !== "string" || text.trim() === "")
    throw new ConfigError("possible", "must be a cpulist such as 0-3,8-11");
  if (/\s/.test(text.trim()))
    throw new ConfigError("possible", `${JSON.stringify(text)} has spaces: a cpulist is "0-3,8-11"`);
  let mask: Uint32Array;
  const nbits = Math.max(nrCpusMax, 65536);
  try {
    mask = cpulistParse(text.trim(), nbits);
  } catch (e) {
    if (e instanceof CpulistParseError) throw new ConfigError("possible", e.message);
    throw e;
  }
  const list: number[] = [];
  for (let w = 0; w < mask.length; w++) {
    let word = mask[w]!;
    while (word !== 0) {
      const bit = 31 - Math.clz32(word & -word);
      word &= word - 1;
      list.push(w * 32 + bit);
    }
  }
  if (list.length === 0) throw new ConfigError("possible", "lists no CPU");
  if (list[0] !== 0)
    throw new ConfigError("possible", `${JSON.stringify(text)} must hold CPU 0, the boot CPU`);
  const last = list[list.length - 1]!;
  if (last >= nrCpusMax)
    throw new ConfigError(
      "possible",
      `CPU ${last} needs nr_cpu_ids ${last + 1}, beyond the NR_CPUS limit of ${nrCpusMax}`,
    );
  return list;
}

/** `4K`, `16K`, `64K` for a page size in bytes. */
function pageSizeName(bytes: number): string {
  return `${bytes / 1024}K`;
}

/**
 * The config's page size and word size, checked against what the arch
 * builds (arm64: 4K/16K/64K; generic: 4K..256K, 32 or 64 bits; the others
 * their one size).
 */
function pageSizeAndBits(c: KernelConfig, def: KernelArchDefinition): { pageSize: number; bits: 32 | 64 } {
  const sizes = def.pageShifts.map((s) => 2 ** s);
  let pageSize = 2 ** def.pageShift;
  if (c.pageSize !== undefined) {
    pageSize = sizeOf("pageSize", c.pageSize);
    if (!sizes.includes(pageSize)) {
      throw new ConfigError(
        "pageSize",
        `${def.name} builds ${sizes.map(pageSizeName).join(", ")} pages, not ${pageSize} bytes`,
      );
    }
  }
  let bits = def.bits;
  if (c.bits !== undefined) {
    const b = intOf("bits", c.bits, 1);
    if (!(def.bitsChoices as readonly number[]).includes(b)) {
      throw new ConfigError(
        "bits",
        `${def.name} is ${def.bitsChoices.join(" or ")}-bit, not ${b}-bit (--bits applies to --arch generic)`,
      );
    }
    bits = b as 32 | 64;
  }
  return { pageSize, bits };
}

/** Looks an arch up among the definitions a build carries. */
export type ArchLookup = (name: ArchName) => KernelArchDefinition | undefined;

/** Merges configs left to right; undefined values do not override. */
export function mergeConfigs(...layers: readonly KernelConfig[]): KernelConfig {
  const out: Record<string, unknown> = {};
  for (const layer of layers) for (const [k, v] of Object.entries(layer)) if (v !== undefined) out[k] = v;
  return out as KernelConfig;
}

/**
 * Checks a config against the arch that will run it and fills in every
 * default.
 * @throws ConfigError naming the first setting that cannot work
 */
export function resolveConfig(input: KernelConfig, lookup: ArchLookup): ResolvedKernelConfig {
  if (input === null || typeof input !== "object" || Array.isArray(input))
    throw new ConfigError("config", "must be an object");
  for (const k of Object.keys(input)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(k))
      throw new ConfigError(k, `unknown setting (known: ${CONFIG_KEYS.join(", ")})`);
  }
  const c = mergeConfigs(DEFAULT_CONFIG, input);

  const arch = oneOf<ArchName>("arch", c.arch, ARCH_NAMES);
  const def = lookup(arch);
  if (def === undefined) throw new ConfigError("arch", `${arch} is not built into this kernel build`);
  const smp = c.smp === undefined ? true : boolOf("smp", c.smp);
  if (!smp) return resolveUp(input, c, def);

  let cpus: number;
  let possibleCpus: number[];
  if (c.possible !== undefined && c.possible !== null) {
    possibleCpus = parsePossible(c.possible, def.nrCpusMax);
    cpus = possibleCpus[possibleCpus.length - 1]! + 1;
    /* setup_nr_cpu_ids(): nr_cpu_ids is the last possible CPU + 1 */
    if (input.cpus !== undefined && intOf("cpus", input.cpus, 1) !== cpus)
      throw new ConfigError(
        "cpus",
        `${shown(input.cpus)} is not nr_cpu_ids ${cpus} (the last CPU of possible ${formatCpulist(possibleCpus)} + 1); leave cpus out`,
      );
  } else {
    cpus = intOf("cpus", c.cpus, 1);
    possibleCpus = Array.from({ length: Math.min(cpus, def.nrCpusMax) }, (_, i) => i);
  }
  if (cpus > def.nrCpusMax) {
    throw new ConfigError(
      "cpus",
      `${cpus} possible CPUs exceed the ${arch} NR_CPUS limit of ${def.nrCpusMax}`,
    );
  }
  const nrCpus = c.nrCpus === undefined ? Math.max(def.nrCpusDefault, cpus) : intOf("nrCpus", c.nrCpus, 1);
  if (nrCpus > def.nrCpusMax)
    throw new ConfigError("nrCpus", `NR_CPUS=${nrCpus} exceeds the ${arch} maximum of ${def.nrCpusMax}`);
  if (cpus > nrCpus) throw new ConfigError("cpus", `${cpus} possible CPUs exceed CONFIG_NR_CPUS=${nrCpus}`);

  /* percpu-km serves one group only: its default machine is one node (a page first chunk has one group anyway). */
  const kmDefault = c.population === "km" && c.percpuAlloc !== "page";
  const numa = c.numa === undefined ? def.numa : boolOf("numa", c.numa);
  if (numa && !def.numa) throw new ConfigError("numa", `${arch} has no CONFIG_NUMA`);
  const nodesText =
    c.nodes === undefined
      ? defaultNodes(cpus, numa && def.groupsByNode && !kmDefault, possibleCpus)
      : c.nodes;
  if (typeof nodesText !== "string") throw new ConfigError("nodes", "must be a string such as 0-3;4-7");
  const { nodeCpus, cpuToNode } = parseNodes(nodesText, cpus, possibleCpus);
  if (nodeCpus.length > 1 && !numa) {
    throw new ConfigError(
      "nodes",
      `${def.numa ? "CONFIG_NUMA is off" : `${arch} has no CONFIG_NUMA`}: give one node (e.g. ${formatCpulist(possibleCpus)}), not ${nodeCpus.length}`,
    );
  }

  const { pageSize, bits } = pageSizeAndBits(c, def);
  const memPerNode = c.memPerNode === undefined ? def.memPerNodeDefault : sizeOf("memPerNode", c.memPerNode);
  if (memPerNode < 16 * 2 ** 20)
    throw new ConfigError("memPerNode", `${memPerNode} bytes is below the 16M minimum per node`);
  if (memPerNode % pageSize !== 0)
    throw new ConfigError("memPerNode", `${memPerNode} is not a multiple of the page size ${pageSize}`);
  if (memPerNode * nodeCpus.length > def.memTotalMax) {
    throw new ConfigError(
      "memPerNode",
      `${nodeCpus.length} x ${memPerNode} bytes exceed what a ${arch} machine can hold (0x${def.memTotalMax.toString(16)} bytes)`,
    );
  }

  const population = oneOf<PopulationName>("population", c.population, POPULATION_NAMES);
  const percpuAlloc = oneOf<PcpuFc>("percpuAlloc", c.percpuAlloc, PERCPU_ALLOC_NAMES);
  if (percpuAlloc !== "auto" && !def.firstChunks.includes(percpuAlloc)) {
    throw new ConfigError(
      "percpuAlloc",
      `${arch} does not build the ${percpuAlloc} first chunk allocator (it has ${def.firstChunks.join(", ")})`,
    );
  }
  const allocator = oneOf<AllocatorName>("allocator", c.allocator, ALLOCATOR_NAMES);
  const stats = boolOf("stats", c.stats);
  const forceNrCpus = boolOf("forceNrCpus", c.forceNrCpus);
  const modules = boolOf("modules", c.modules);
  const cpumaskOffstack =
    c.cpumaskOffstack === undefined ? null : boolOf("cpumaskOffstack", c.cpumaskOffstack);
  const trace = boolOf("trace", c.trace);
  const debugChecks = boolOf("debugChecks", c.debugChecks);
  const memcg = boolOf("memcg", c.memcg);
  const allocProfiling = boolOf("allocProfiling", c.allocProfiling);
  const fixFreeHintQuirk = boolOf("fixFreeHintQuirk", c.fixFreeHintQuirk);
  const fixPopulatedOvercount = boolOf("fixPopulatedOvercount", c.fixPopulatedOvercount);
  const checkFree = boolOf("checkFree", c.checkFree);
  const seed = intOf("seed", c.seed, 0);

  if (!isPcpuEra(c.era))
    throw new ConfigError("era", `${shown(c.era)} is not one of ${PCPU_ERAS.join(", ")}`);
  const era: PcpuEra = c.era;
  if (!def.eras.includes(era))
    throw new ConfigError("era", `${arch} models the eras ${def.eras.join(", ")}, not ${era}`);
  if (allocProfiling && era !== "v6")
    throw new ConfigError("allocProfiling", `CONFIG_MEM_ALLOC_PROFILING came with 6.10, not in ${era}`);
  if (forceNrCpus && era !== "v6")
    throw new ConfigError("forceNrCpus", `CONFIG_FORCE_NR_CPUS came with 6.0, not in ${era}`);
  /* CONFIG_FORCE_NR_CPUS: nr_cpu_ids is NR_CPUS, not the last possible CPU + 1 */
  const nrCpuIds = forceNrCpus ? nrCpus : cpus;
  for (let cpu = cpus; cpu < nrCpuIds; cpu++) cpuToNode.push(-1);

  const staticSize = c.staticSize === undefined ? def.defaultStaticSize : sizeOf("staticSize", c.staticSize);
  if (staticSize === 0)
    throw new ConfigError("staticSize", "must be above 0 (the kernel always has static percpu variables)");
  const opt = (k: "reservedSize" | "dynSize" | "atomSize"): number | null =>
    c[k] === undefined || c[k] === null ? null : sizeOf(k, c[k]);
  const reservedSize = opt("reservedSize");
  const dynSize = opt("dynSize");
  const atomSize = opt("atomSize");
  if (reservedSize !== null && reservedSize % 4 !== 0) {
    throw new ConfigError("reservedSize", `${reservedSize} is not a multiple of PCPU_MIN_ALLOC_SIZE (4)`);
  }
  if (atomSize !== null && (atomSize < pageSize || (atomSize & (atomSize - 1)) !== 0 || atomSize > 2 ** 30)) {
    throw new ConfigError(
      "atomSize",
      `${atomSize} must be a power of two between the page size ${pageSize} and 1G`,
    );
  }
  const maxUnit = 2 ** 30;
  if (staticSize + (reservedSize ?? 0) + (dynSize ?? 0) > maxUnit) {
    /* Blame the largest of the sizes that add up (the one the user most likely got wrong). */
    const parts: [string, number][] = [
      ["staticSize", staticSize],
      ["reservedSize", reservedSize ?? 0],
      ["dynSize", dynSize ?? 0],
    ];
    const [setting] = parts.reduce((a, b) => (b[1] > a[1] ? b : a));
    throw new ConfigError(setting, "static + reserved + dynamic sizes exceed 1G per unit");
  }

  /* percpu-km serves a chunk from one contiguous page block: one group only (pcpu_verify_alloc_info). */
  const groups = def.groupsByNode && percpuAlloc !== "page" ? nodeCpus.filter((l) => l.length > 0).length : 1;
  if (population === "km" && groups > 1) {
    throw new ConfigError(
      "population",
      `km cannot handle more than one group: ${arch} groups the first chunk by NUMA node and the nodes give ${groups}; use one node, percpuAlloc page, or population vm`,
    );
  }

  if (fixFreeHintQuirk && allocator !== "bitmap")
    throw new ConfigError(
      "fixFreeHintQuirk",
      `fixes a quirk of the bitmap allocator; the ${allocator} allocator has no such free path`,
    );
  if (fixPopulatedOvercount && population !== "km")
    throw new ConfigError(
      "fixPopulatedOvercount",
      `fixes a count of mm/percpu-km.c; population ${population} populates page by page and has no over-count`,
    );

  if (population === "km" && percpuAlloc === "page") {
    /* mm/percpu-km.c refuses to build with a page first chunk. */
    throw new ConfigError(
      "population",
      "km cannot back a page first chunk (percpuAlloc page): contiguous percpu allocation is incompatible with paged first chunk",
    );
  }

  return {
    arch,
    pageSize,
    bits,
    cpus,
    nrCpuIds,
    forceNrCpus,
    possible: formatCpulist(possibleCpus),
    possibleCpus,
    nodes: nodeCpus.map(formatCpulist).join(";"),
    numa,
    nodeCpus,
    cpuToNode,
    memPerNode,
    population,
    percpuAlloc,
    allocator,
    stats,
    staticSize,
    reservedSize,
    dynSize,
    atomSize,
    era,
    nrCpus,
    modules,
    smp: true,
    cpumaskOffstack,
    seed,
    trace,
    debugChecks,
    memcg,
    allocProfiling,
    fixFreeHintQuirk,
    fixPopulatedOvercount,
    checkFree,
  };
}

/**
 * A uniprocessor (!CONFIG_SMP) config: one CPU, NR_CPUS 1, no NUMA,
 * percpu-km (CONFIG_NEED_PER_CPU_KM), no static percpu area, and none of
 * the first-chunk knobs the UP setup_per_cpu_areas does not take.
 * @throws ConfigError naming a setting a UP kernel cannot have
 */
function resolveUp(input: KernelConfig, c: KernelConfig, def: KernelArchDefinition): ResolvedKernelConfig {
  const arch = def.name;
  const era = c.era;
  if (!isPcpuEra(era)) throw new ConfigError("era", `${shown(era)} is not one of ${PCPU_ERAS.join(", ")}`);
  if (!def.eras.includes(era))
    throw new ConfigError("era", `${arch} models the eras ${def.eras.join(", ")}, not ${era}`);
  if (!def.upEras.includes(era))
    throw new ConfigError("smp", `${arch} always builds SMP in ${era} (its Kconfig has SMP def_bool y)`);
  const one = (k: "cpus" | "nrCpus") => {
    if (input[k] !== undefined && intOf(k, input[k], 1) !== 1)
      throw new ConfigError(
        k,
        `a uniprocessor kernel (smp off) has exactly one CPU, not ${String(input[k])}`,
      );
  };
  one("cpus");
  one("nrCpus");
  if (input.numa !== undefined && boolOf("numa", input.numa))
    throw new ConfigError("numa", "CONFIG_NUMA depends on CONFIG_SMP");
  if (input.nodes !== undefined && input.nodes !== "0")
    throw new ConfigError(
      "nodes",
      `a uniprocessor kernel has one node with CPU 0, not ${shown(input.nodes)}`,
    );
  const population = oneOf<PopulationName>("population", input.population ?? "km", POPULATION_NAMES);
  if (population !== "km")
    throw new ConfigError(
      "population",
      "a uniprocessor kernel runs percpu-km (CONFIG_NEED_PER_CPU_KM depends on !SMP)",
    );
  if (input.percpuAlloc !== undefined && input.percpuAlloc !== "auto")
    throw new ConfigError("percpuAlloc", "percpu_alloc= exists only in SMP kernels");
  for (const k of ["staticSize", "reservedSize", "dynSize", "atomSize"] as const) {
    const v = input[k];
    if (v !== undefined && v !== null && sizeOf(k, v) !== 0)
      throw new ConfigError(
        k,
        k === "staticSize"
          ? "a uniprocessor kernel has no static percpu area (DEFINE_PER_CPU variables are ordinary variables)"
          : "the uniprocessor setup_per_cpu_areas takes no first-chunk sizes",
      );
  }
  const smpOnly = {
    ...c,
    cpus: 1,
    nrCpus: 1,
    numa: false,
    nodes: "0",
    population,
    percpuAlloc: "auto",
    smp: true,
  };
  for (const k of ["staticSize", "reservedSize", "dynSize", "atomSize"] as const)
    delete (smpOnly as Record<string, unknown>)[k];
  /* Everything else (page size, memory, allocator, switches) is checked as for an SMP kernel. */
  const r = resolveConfig(smpOnly as KernelConfig, (n) => (n === arch ? def : undefined));
  return { ...r, smp: false, staticSize: 0 };
}

/**
 * A resolved config as a config file holds it: every setting, without the
 * keys derived from `nodes` (nodeCpus, cpuToNode), so that what
 * `pcpu-kernel config` prints boots the same kernel when read back.
 */
export function configForFile(c: ResolvedKernelConfig): KernelConfig {
  const dense = c.possibleCpus.length === c.cpus;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) {
    if (k === "nodeCpus" || k === "cpuToNode" || k === "possibleCpus" || k === "nrCpuIds") continue;
    /* A mask with holes is written as `possible` (cpus follows from it); 0..cpus-1 as `cpus`. */
    if ((k === "possible" && dense) || (k === "cpus" && !dense)) continue;
    /* null: the arch decides (x86: NR_CPUS > 512), which an absent key also means */
    if (k === "cpumaskOffstack" && v === null) continue;
    out[k] = v;
  }
  return out as KernelConfig;
}
