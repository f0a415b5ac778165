/*
 * Kconfig-style `.config` files for the kernel config: `CONFIG_FOO=value`
 * lines, `# CONFIG_FOO is not set` for a switch turned off, comments and
 * blank lines ignored. Real symbols are used where the kernel has one
 * (CONFIG_NR_CPUS, CONFIG_NEED_PER_CPU_KM, CONFIG_PERCPU_STATS, CONFIG_NUMA,
 * CONFIG_MODULES, the arch symbols, percpu_alloc= in CONFIG_CMDLINE); what
 * describes the simulated machine rather than the build has the model's own
 * CONFIG_PCPU_ prefix.
 */

import { ARCH_NAMES, type ArchName, type KernelConfig } from "./api.js";
import { ConfigError } from "./config.js";

/** One row of the Kconfig mapping (documented in the README). */
export interface KconfigSymbol {
  readonly symbol: string;
  /** The config key it sets. */
  readonly key: keyof KernelConfig;
  /** `bool` symbols are y / not set; the others carry a value. */
  readonly type: "bool" | "int" | "string" | "size";
  readonly doc: string;
}

/** The arch selection symbols (the most specific one wins: X86_64 over X86). */
export const KCONFIG_ARCH_SYMBOLS: Readonly<Record<ArchName, string>> = {
  x86_64: "CONFIG_X86_64",
  i386: "CONFIG_X86_32",
  arm: "CONFIG_ARM",
  arm64: "CONFIG_ARM64",
  sparc32: "CONFIG_SPARC32",
  s390: "CONFIG_S390",
  generic: "CONFIG_PCPU_GENERIC_ARCH",
};

/** Every value symbol and the key it sets. */
export const KCONFIG_SYMBOLS: readonly KconfigSymbol[] = [
  { symbol: "CONFIG_NR_CPUS", key: "nrCpus", type: "int", doc: "the build's CPU limit (NR_CPUS)" },
  {
    symbol: "CONFIG_NEED_PER_CPU_KM",
    key: "population",
    type: "bool",
    doc: "y: mm/percpu-km.c, not set: mm/percpu-vm.c",
  },
  { symbol: "CONFIG_PERCPU_STATS", key: "stats", type: "bool", doc: "debugfs percpu_stats" },
  {
    symbol: "CONFIG_FORCE_NR_CPUS",
    key: "forceNrCpus",
    type: "bool",
    doc: "nr_cpu_ids is NR_CPUS, however few CPUs are possible (6.0+)",
  },
  {
    symbol: "CONFIG_MODULES",
    key: "modules",
    type: "bool",
    doc: "PERCPU_MODULE_RESERVE is 8K with modules, 0 without",
  },
  {
    symbol: "CONFIG_PCPU_PAGE_SIZE",
    key: "pageSize",
    type: "size",
    doc: "PAGE_SIZE (arm64: 4K/16K/64K; generic)",
  },
  {
    symbol: "CONFIG_PCPU_BITS",
    key: "bits",
    type: "int",
    doc: "BITS_PER_LONG of the generic arch (32 or 64)",
  },
  {
    symbol: "CONFIG_CPUMASK_OFFSTACK",
    key: "cpumaskOffstack",
    type: "bool",
    doc: "x86: cpumasks of nr_cpu_ids bits (nr_cpumask_bits in the setup_percpu line)",
  },
  { symbol: "CONFIG_PCPU_CPUS", key: "cpus", type: "int", doc: "nr_cpu_ids: possible CPUs 0..N-1" },
  {
    symbol: "CONFIG_PCPU_POSSIBLE",
    key: "possible",
    type: "string",
    doc: 'cpu_possible_mask with holes, e.g. "0-3,8-11" (nr_cpu_ids: its last CPU + 1)',
  },
  { symbol: "CONFIG_PCPU_NODES", key: "nodes", type: "string", doc: 'CPUs per NUMA node, e.g. "0-3;4-7"' },
  { symbol: "CONFIG_PCPU_MEM_PER_NODE", key: "memPerNode", type: "size", doc: "memory per node" },
  { symbol: "CONFIG_PCPU_ALLOCATOR", key: "allocator", type: "string", doc: '"bitmap" or "area-map"' },
  { symbol: "CONFIG_PCPU_STATIC_SIZE", key: "staticSize", type: "size", doc: "kernel static percpu bytes" },
  {
    symbol: "CONFIG_PCPU_RESERVED_SIZE",
    key: "reservedSize",
    type: "size",
    doc: "override of the arch's reserved size",
  },
  {
    symbol: "CONFIG_PCPU_DYN_SIZE",
    key: "dynSize",
    type: "size",
    doc: "override of the arch's dynamic size",
  },
  { symbol: "CONFIG_PCPU_ATOM_SIZE", key: "atomSize", type: "size", doc: "override of the arch's atom size" },
  { symbol: "CONFIG_PCPU_ERA", key: "era", type: "string", doc: 'kernel generation, e.g. "v6"' },
  { symbol: "CONFIG_PCPU_SEED", key: "seed", type: "int", doc: "seed of the machine and workloads" },
  { symbol: "CONFIG_PCPU_TRACE", key: "trace", type: "bool", doc: "record the percpu tracepoints" },
  {
    symbol: "CONFIG_PCPU_DEBUG_CHECKS",
    key: "debugChecks",
    type: "bool",
    doc: "invariant checker after every call",
  },
  { symbol: "CONFIG_MEMCG", key: "memcg", type: "bool", doc: "memory cgroups with kmem accounting" },
  {
    symbol: "CONFIG_MEM_ALLOC_PROFILING",
    key: "allocProfiling",
    type: "bool",
    doc: "allocation profiling: percpu call sites in /proc/allocinfo (6.10+)",
  },
  {
    symbol: "CONFIG_PCPU_FIX_FREE_HINT_QUIRK",
    key: "fixFreeHintQuirk",
    type: "bool",
    doc: "policy: fix the bitmap free-path chunk-hint quirk",
  },
  {
    symbol: "CONFIG_PCPU_FIX_POPULATED_OVERCOUNT",
    key: "fixPopulatedOvercount",
    type: "bool",
    doc: "policy: count km populated pages per unit",
  },
  {
    symbol: "CONFIG_PCPU_CHECK_FREE",
    key: "checkFree",
    type: "bool",
    doc: "validate free_percpu pointers (WARN on misuse)",
  },
];

/** Symbols accepted and ignored (they appear in real .config files and change nothing here). */
const IGNORED = new Set([
  "CONFIG_X86",
  "CONFIG_SPARC",
  "CONFIG_64BIT",
  "CONFIG_SMP",
  "CONFIG_NODES_SHIFT",
  "CONFIG_CMDLINE_BOOL",
]);

const LINE_RE = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/;
const NOT_SET_RE = /^#\s*(CONFIG_[A-Za-z0-9_]+) is not set\s*$/;

function unquote(v: string, symbol: string, line: number): string {
  const t = v.trim();
  if (!t.startsWith('"')) return t;
  if (t.length < 2 || !t.endsWith('"'))
    throw new ConfigError(symbol, `line ${line}: unterminated string ${t}`);
  return t.slice(1, -1).replace(/\\(["\\])/g, "$1");
}

/** `percpu_alloc=` from a kernel command line; undefined when absent. */
export function percpuAllocFromCmdline(cmdline: string): string | undefined {
  let found: string | undefined;
  for (const word of cmdline.split(/\s+/))
    if (word.startsWith("percpu_alloc=")) found = word.slice("percpu_alloc=".length);
  return found;
}

/**
 * `possible_cpus=N` from a kernel command line (x86 and s390: the possible
 * mask becomes CPUs 0..N-1, whatever the firmware listed); undefined when absent.
 * @throws ConfigError when N is not a positive decimal number
 */
export function possibleCpusFromCmdline(cmdline: string): number | undefined {
  let found: number | undefined;
  for (const word of cmdline.split(/\s+/)) {
    if (!word.startsWith("possible_cpus=")) continue;
    const v = word.slice("possible_cpus=".length);
    if (!/^[0-9]+$/.test(v) || Number(v) < 1)
      throw new ConfigError("cpus", `possible_cpus=${v} in CONFIG_CMDLINE is not a CPU count`);
    found = Number(v);
  }
  return found;
}

/** The arches whose setup code reads `possible_cpus=`. */
const POSSIBLE_CPUS_ARCHES: readonly ArchName[] = ["x86_64", "i386", "s390"];

/**
 * Real kernel symbols about percpu or the machine's layout that the model
 * reads but does not model; a summary names the ones a file sets.
 */
export const KCONFIG_NOT_MODELLED: Readonly<Record<string, string>> = {
  CONFIG_X86_5LEVEL: "the model places x86_64 areas with 4-level paging",
  CONFIG_NODES_SHIFT: "nodes come from CONFIG_PCPU_NODES",
  CONFIG_PCPU_DEV_REFCNT: "a networking switch, not the allocator",
  CONFIG_PERCPU_TEST: "the percpu test module is not modelled",
};

/** Percpu-relevant symbols that only select what the arch already selects. */
const SELECTED_BY_ARCH = new Set([
  "CONFIG_HAVE_SETUP_PER_CPU_AREA",
  "CONFIG_USE_PERCPU_NUMA_NODE_ID",
  "CONFIG_64BIT",
]);

/** What reading a `.config` found, for the one summary line the CLI prints. */
export interface KconfigReadReport {
  readonly config: KernelConfig;
  /** The percpu-relevant symbols used, as `SYMBOL=value` (`# SYMBOL is not set` as `SYMBOL=n`). */
  readonly used: readonly string[];
  /** Known percpu-relevant symbols set in the file that the model does not model. */
  readonly notModelled: readonly string[];
  /** How many other symbols were ignored (drivers, filesystems, ...). */
  readonly ignored: number;
  /** Ignored symbols whose names mention percpu (a typo of ours, or a newer kernel's). */
  readonly ignoredPercpu: readonly string[];
  /** `CONFIG_NEED_PER_CPU_{EMBED,PAGE}_FIRST_CHUNK` as the file set them, when it did. */
  readonly firstChunks: { readonly embed?: boolean; readonly page?: boolean };
}

/**
 * Reads a `.config` text, a real distro's or one of ours: symbols that
 * decide the percpu allocator (the arch, CONFIG_SMP, CONFIG_NR_CPUS,
 * CONFIG_NUMA, CONFIG_NEED_PER_CPU_*, CONFIG_PERCPU_STATS, CONFIG_MODULES,
 * percpu_alloc= in CONFIG_CMDLINE, the model's CONFIG_PCPU_*) are used, the
 * thousands of others are counted and ignored. An unknown symbol with the
 * model's own CONFIG_PCPU_ prefix is refused (a typo would otherwise be
 * silently ignored).
 * @throws ConfigError naming the symbol (as setting) on a malformed line
 */
export function readKconfig(text: string): KconfigReadReport {
  const out: Record<string, unknown> = {};
  let numa: boolean | undefined;
  let smp: boolean | undefined;
  const firstChunks: { embed?: boolean; page?: boolean } = {};
  const used: string[] = [];
  const notModelled: string[] = [];
  const ignoredPercpu: string[] = [];
  let ignored = 0;
  const archSeen: ArchName[] = [];
  let possibleCpusParam: number | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!.trim();
    if (raw === "") continue;
    let symbol: string;
    let value: string;
    const ns = NOT_SET_RE.exec(raw);
    if (ns) {
      symbol = ns[1]!;
      value = "n";
    } else if (raw.startsWith("#")) {
      continue;
    } else {
      const m = LINE_RE.exec(raw);
      if (!m) {
        const shown = JSON.stringify(raw.length > 60 ? `${raw.slice(0, 60)}...` : raw);
        throw new ConfigError("config", `line ${lineNo}: not a CONFIG_...= line: ${shown}`);
      }
      symbol = m[1]!;
      value = m[2]!;
    }
    const use = () => used.push(`${symbol}=${value}`);
    const arch = (Object.entries(KCONFIG_ARCH_SYMBOLS) as [ArchName, string][]).find(
      ([, s]) => s === symbol,
    )?.[0];
    if (arch !== undefined) {
      if (value === "y") archSeen.push(arch);
      else if (value !== "n")
        throw new ConfigError(symbol, `line ${lineNo}: an arch symbol is y or not set, not ${value}`);
      use();
      continue;
    }
    if (symbol === "CONFIG_NUMA" || symbol === "CONFIG_SMP") {
      if (value !== "y" && value !== "n")
        throw new ConfigError(symbol, `line ${lineNo}: must be y or not set`);
      if (symbol === "CONFIG_NUMA") numa = value === "y";
      else smp = value === "y";
      use();
      continue;
    }
    if (
      symbol === "CONFIG_NEED_PER_CPU_EMBED_FIRST_CHUNK" ||
      symbol === "CONFIG_NEED_PER_CPU_PAGE_FIRST_CHUNK"
    ) {
      if (value !== "y" && value !== "n")
        throw new ConfigError(symbol, `line ${lineNo}: must be y or not set`);
      firstChunks[symbol.includes("EMBED") ? "embed" : "page"] = value === "y";
      use();
      continue;
    }
    if (symbol === "CONFIG_CMDLINE") {
      const cmdline = unquote(value, symbol, lineNo);
      const fc = percpuAllocFromCmdline(cmdline);
      if (fc !== undefined) {
        out.percpuAlloc = fc;
        used.push(`${symbol}="...percpu_alloc=${fc}..."`);
      }
      possibleCpusParam = possibleCpusFromCmdline(cmdline) ?? possibleCpusParam;
      continue;
    }
    if (IGNORED.has(symbol) || SELECTED_BY_ARCH.has(symbol)) {
      ignored++;
      continue;
    }
    if (symbol in KCONFIG_NOT_MODELLED) {
      if (value !== "n") notModelled.push(symbol);
      continue;
    }
    const sym = KCONFIG_SYMBOLS.find((s) => s.symbol === symbol);
    if (sym === undefined) {
      if (symbol.startsWith("CONFIG_PCPU_"))
        throw new ConfigError(
          symbol,
          `line ${lineNo}: unknown model symbol (the CONFIG_PCPU_ symbols are listed in the README)`,
        );
      ignored++;
      if (/PERCPU|PER_CPU|PCPU/.test(symbol)) ignoredPercpu.push(symbol);
      continue;
    }
    if (sym.type === "bool") {
      if (value !== "y" && value !== "n")
        throw new ConfigError(symbol, `line ${lineNo}: must be y or not set, not ${value}`);
      out[sym.key] = sym.key === "population" ? (value === "y" ? "km" : "vm") : value === "y";
    } else {
      out[sym.key] = unquote(value, symbol, lineNo);
    }
    use();
  }
  if (archSeen.length > 1) {
    throw new ConfigError(
      "arch",
      `several arch symbols are set: ${archSeen.map((a) => KCONFIG_ARCH_SYMBOLS[a]).join(", ")}`,
    );
  }
  if (archSeen.length === 1) out.arch = archSeen[0];
  if (possibleCpusParam !== undefined) {
    /* possible_cpus=N: CPUs 0..N-1 are possible, in place of the machine's own mask */
    const arch = (out.arch as ArchName | undefined) ?? "x86_64";
    if (!POSSIBLE_CPUS_ARCHES.includes(arch))
      throw new ConfigError(
        "cpus",
        `possible_cpus= in CONFIG_CMDLINE is read by x86 and s390 only, not ${arch}`,
      );
    delete out.possible;
    out.cpus = String(possibleCpusParam);
    used.push(`CONFIG_CMDLINE="...possible_cpus=${possibleCpusParam}..."`);
  }
  if (numa !== undefined) out.numa = numa;
  if (numa === false && typeof out.nodes === "string" && out.nodes.includes(";")) {
    throw new ConfigError("nodes", "CONFIG_PCPU_NODES lists several nodes but CONFIG_NUMA is not set");
  }
  if (smp === false) {
    /* A UP kernel: NR_CPUS is 1 and so is every cpumask. */
    if (
      (out.cpus !== undefined && String(out.cpus) !== "1") ||
      (out.nrCpus !== undefined && String(out.nrCpus) !== "1")
    )
      throw new ConfigError("cpus", "CONFIG_SMP is not set: a uniprocessor kernel has exactly one CPU");
    out.cpus = 1;
    out.nrCpus = 1;
    out.numa ??= false;
    out.smp = false;
  }
  if (
    smp !== false &&
    firstChunks.embed === false &&
    firstChunks.page === false &&
    out.percpuAlloc === undefined
  ) {
    /* Neither NEED_PER_CPU_*_FIRST_CHUNK: the generic setup_per_cpu_areas, an embedding one. */
    out.percpuAlloc = "embed";
  }
  for (const fc of ["embed", "page"] as const) {
    if (out.percpuAlloc === fc && firstChunks[fc] === false && (firstChunks.embed || firstChunks.page))
      throw new ConfigError(
        "percpuAlloc",
        `percpu_alloc=${fc} but CONFIG_NEED_PER_CPU_${fc.toUpperCase()}_FIRST_CHUNK is not set`,
      );
  }
  return { config: out as KernelConfig, used, notModelled, ignored, ignoredPercpu, firstChunks };
}

/**
 * Reads a `.config` text into a config (see readKconfig).
 * @throws ConfigError naming the symbol (as setting) on a malformed line
 */
export function parseKconfig(text: string): KernelConfig {
  return readKconfig(text).config;
}

/** The one line that tells what a `.config` file gave (`name`: the file). */
export function kconfigSummary(name: string, r: KconfigReadReport): string {
  let s = `${name}: used ${r.used.length} percpu symbol${r.used.length === 1 ? "" : "s"}`;
  if (r.used.length > 0) s += ` (${r.used.join(", ")})`;
  s += `; ignored ${r.ignored} other${r.ignored === 1 ? "" : "s"}`;
  if (r.ignoredPercpu.length > 0) s += ` (percpu-looking: ${r.ignoredPercpu.join(", ")})`;
  if (r.notModelled.length > 0) s += `; not modelled: ${r.notModelled.join(", ")}`;
  return s;
}

/** Writes a resolved-or-partial config as `.config` lines (round-trips through parseKconfig). */
export function toKconfig(c: KernelConfig): string {
  const lines: string[] = ["# @pcpu/kernel configuration"];
  if (c.arch !== undefined) {
    if (!(ARCH_NAMES as readonly string[]).includes(c.arch))
      throw new ConfigError("arch", `unknown arch ${c.arch}`);
    lines.push(`${KCONFIG_ARCH_SYMBOLS[c.arch as ArchName]}=y`);
  }
  if (c.smp !== undefined) {
    const on = c.smp === true || c.smp === "y" || c.smp === "on" || c.smp === "true";
    lines.push(on ? "CONFIG_SMP=y" : "# CONFIG_SMP is not set");
  }
  if (c.percpuAlloc !== undefined && !(c.smp === false && c.percpuAlloc === "auto"))
    lines.push(`CONFIG_CMDLINE="percpu_alloc=${c.percpuAlloc}"`);
  const numa =
    c.numa === undefined ? (typeof c.nodes === "string" ? c.nodes.includes(";") : undefined) : c.numa;
  if (numa !== undefined)
    lines.push(
      numa === true || numa === "y" || numa === "on" || numa === "true"
        ? "CONFIG_NUMA=y"
        : "# CONFIG_NUMA is not set",
    );
  for (const s of KCONFIG_SYMBOLS) {
    const v = c[s.key];
    if (v === undefined || v === null) continue;
    if (s.type === "bool") {
      const on = s.key === "population" ? v === "km" : v === true || v === "y" || v === "on" || v === "true";
      lines.push(on ? `${s.symbol}=y` : `# ${s.symbol} is not set`);
    } else if (s.type === "string") {
      lines.push(`${s.symbol}="${String(v)}"`);
    } else {
      lines.push(`${s.symbol}=${String(v)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Reads a config file's text: JSON when it starts with `{`, `.config`
 * lines otherwise.
 * @throws ConfigError for malformed JSON or lines
 */
export function parseConfigText(text: string, name = "config"): KernelConfig {
  const t = text.trimStart();
  if (t.startsWith("{")) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch (e) {
      throw new ConfigError("config", `${name} is not valid JSON: ${(e as Error).message}`);
    }
    if (v === null || typeof v !== "object" || Array.isArray(v))
      throw new ConfigError("config", `${name} must hold a JSON object`);
    return v as KernelConfig;
  }
  return parseKconfig(text);
}
