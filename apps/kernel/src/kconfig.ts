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
  sparc32: "CONFIG_SPARC32",
  s390: "CONFIG_S390",
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
    symbol: "CONFIG_MODULES",
    key: "modules",
    type: "bool",
    doc: "PERCPU_MODULE_RESERVE is 8K with modules, 0 without",
  },
  {
    symbol: "CONFIG_CPUMASK_OFFSTACK",
    key: "cpumaskOffstack",
    type: "bool",
    doc: "x86: cpumasks of nr_cpu_ids bits (nr_cpumask_bits in the setup_percpu line)",
  },
  { symbol: "CONFIG_PCPU_CPUS", key: "cpus", type: "int", doc: "possible CPUs of the machine (nr_cpu_ids)" },
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
 * Reads a `.config` text into a config.
 * @throws ConfigError naming the symbol (as setting) on a malformed or unknown line
 */
export function parseKconfig(text: string): KernelConfig {
  const out: Record<string, unknown> = {};
  let numa: boolean | undefined;
  const archSeen: ArchName[] = [];
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
    const arch = (Object.entries(KCONFIG_ARCH_SYMBOLS) as [ArchName, string][]).find(
      ([, s]) => s === symbol,
    )?.[0];
    if (arch !== undefined) {
      if (value === "y") archSeen.push(arch);
      else if (value !== "n")
        throw new ConfigError(symbol, `line ${lineNo}: an arch symbol is y or not set, not ${value}`);
      continue;
    }
    if (symbol === "CONFIG_NUMA") {
      if (value !== "y" && value !== "n")
        throw new ConfigError(symbol, `line ${lineNo}: must be y or not set`);
      numa = value === "y";
      continue;
    }
    if (symbol === "CONFIG_CMDLINE") {
      const fc = percpuAllocFromCmdline(unquote(value, symbol, lineNo));
      if (fc !== undefined) out.percpuAlloc = fc;
      continue;
    }
    if (IGNORED.has(symbol)) continue;
    const sym = KCONFIG_SYMBOLS.find((s) => s.symbol === symbol);
    if (sym === undefined)
      throw new ConfigError(symbol, `line ${lineNo}: unknown symbol (see the Kconfig table in the README)`);
    if (sym.type === "bool") {
      if (value !== "y" && value !== "n")
        throw new ConfigError(symbol, `line ${lineNo}: must be y or not set, not ${value}`);
      out[sym.key] = sym.key === "population" ? (value === "y" ? "km" : "vm") : value === "y";
    } else {
      out[sym.key] = unquote(value, symbol, lineNo);
    }
  }
  if (archSeen.length > 1) {
    throw new ConfigError(
      "arch",
      `several arch symbols are set: ${archSeen.map((a) => KCONFIG_ARCH_SYMBOLS[a]).join(", ")}`,
    );
  }
  if (archSeen.length === 1) out.arch = archSeen[0];
  if (numa === false && typeof out.nodes === "string" && out.nodes.includes(";")) {
    throw new ConfigError("nodes", "CONFIG_PCPU_NODES lists several nodes but CONFIG_NUMA is not set");
  }
  return out as KernelConfig;
}

/** Writes a resolved-or-partial config as `.config` lines (round-trips through parseKconfig). */
export function toKconfig(c: KernelConfig): string {
  const lines: string[] = ["# @pcpu/kernel configuration"];
  if (c.arch !== undefined) {
    if (!(ARCH_NAMES as readonly string[]).includes(c.arch))
      throw new ConfigError("arch", `unknown arch ${c.arch}`);
    lines.push(`${KCONFIG_ARCH_SYMBOLS[c.arch as ArchName]}=y`);
  }
  if (c.percpuAlloc !== undefined) lines.push(`CONFIG_CMDLINE="percpu_alloc=${c.percpuAlloc}"`);
  if (typeof c.nodes === "string")
    lines.push(c.nodes.includes(";") ? "CONFIG_NUMA=y" : "# CONFIG_NUMA is not set");
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
