/*
 * From a real machine's boot log to the config that reproduces its percpu
 * layout. Reads the lines setup_per_cpu_areas() and the first-chunk
 * allocators print (x86's `setup_percpu: NR_CPUS:...`, pcpu_embed_first_chunk's
 * `percpu: Embedded N pages/cpu ...`, pcpu_page_first_chunk's `N 4K
 * pages/cpu`, percpu-km's `wasting N pages per chunk`, and
 * pcpu_dump_alloc_info's `pcpu-alloc:` lines) out of any dmesg, syslog or
 * journal text (timestamps and prefixes are skipped), derives arch, CPUs,
 * nodes (the group lines), sizes and era, then boots candidate kernels and
 * keeps the first one whose own lines are the log's.
 *
 * PAGE_SIZE follows from the summary line: the embed line prints
 * PFN_DOWN(size_sum) pages for s + r + d = size_sum bytes, the page line
 * names it. The percpu lines do not name the arch: the generic
 * setup_per_cpu_areas (arm, arm64, mips, riscv, ...) prints the same lines
 * on every arch that uses it. The arch is taken, in this order, from the
 * rest of the log (the `Linux version` toolchain triplet or release, lines
 * only one arch prints such as mips' `CPU0 revision is:`), from the `@%p`
 * base's address range (ppc64's linear map at 0xc000..., mips64's XKPHYS,
 * s390's 1:1 map), from ppc64's 1M atom with 64K pages, from x86's
 * setup_percpu line and 2M atom, and otherwise the most common arch with
 * that word and page size (arm64, arm). ppc64 and mips have no package: the
 * generic arch with the word and page size stands in. The `@%p` base of the
 * older formats is matched by sizing the machine's memory when it is a raw
 * address the model's layout can reach; a hashed-pointer placeholder
 * (`(ptrval)`) or an address outside the model's direct map is reported as
 * not reproduced. Each guess is a note.
 */

import type { KernelConfig } from "./api.js";
import { bootFromRegistry, type KernelRegistry } from "./definitions.js";

/** A log whose percpu lines no kernel the build carries reproduces. */
export class FromDmesgError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FromDmesgError";
  }
}

/** The kinds of percpu boot line, in print order. */
export type DmesgLineKind = "setup" | "summary" | "waste" | "alloc" | "group" | "other";

/** One percpu line of a log, without its timestamp or syslog prefix. */
export interface DmesgPercpuLine {
  readonly kind: DmesgLineKind;
  readonly text: string;
  /** 1-based line number in the input. */
  readonly lineNo: number;
}

/** What the percpu lines of a log say. */
export interface DmesgPercpuFacts {
  readonly lines: readonly DmesgPercpuLine[];
  /** `PERCPU: ` (3.x and older) or `percpu: `; null when no summary line. */
  readonly prefix: "PERCPU: " | "percpu: " | null;
  readonly setup: {
    readonly nrCpus: number;
    readonly nrCpumaskBits: number;
    readonly nrCpuIds: number;
    readonly nrNodeIds: number;
    /** Printed with the `setup_percpu: ` prefix (2.6.33+). */
    readonly prefixed: boolean;
  } | null;
  /** The first chunk allocator of the summary line. */
  readonly fc: "embed" | "page" | null;
  /** The `N pages/cpu` count of the summary line. */
  readonly pagesPerCpu: number | null;
  /** The page size the page first chunk's line names (`N 16K pages/cpu`), in bytes. */
  readonly namedPageSize: number | null;
  /** The `@%p` text, when the summary line has one. */
  readonly base: string | null;
  readonly staticSize: number | null;
  readonly reservedSize: number | null;
  readonly dynSize: number | null;
  readonly unitSize: number | null;
  readonly atomSize: number | null;
  /** percpu-km's `wasting N pages per chunk` line seen. */
  readonly km: boolean;
  /** CPUs of each group of the `pcpu-alloc: [g]` lines (group id order), null without them. */
  readonly groups: readonly (readonly number[])[] | null;
  /** Units of each allocation of the group lines (CPUs and `--` padding). */
  readonly unitsPerAlloc: number | null;
}

const MARKERS = ["setup_percpu: ", "NR_CPUS:", "percpu: ", "PERCPU: ", "pcpu-alloc: "];
const SETUP_RE = /^(setup_percpu: )?NR_CPUS:(\d+) nr_cpumask_bits:(\d+) nr_cpu_ids:(\d+) nr_node_ids:(\d+)$/;
const EMBED_RE = /^(percpu|PERCPU): Embedded (\d+) pages\/cpu (?:@(.+?) )?s(\d+) r(\d+) d(\d+) u(\d+)$/;
const PAGE_RE = /^(percpu|PERCPU): (\d+) (\d+[kKMG]) pages\/cpu (?:@(.+?) )?s(\d+) r(\d+)(?: d(\d+))?$/;
const WASTE_RE = /^(percpu|PERCPU): wasting (\d+) pages per chunk$/;
const ALLOC_RE = /^pcpu-alloc: s(\d+) r(\d+) d(\d+) u(\d+) alloc=(\d+)\*(\d+)$/;
const GROUP_RE = /^pcpu-alloc: (\[\d+\].*)$/;

/** `4K`, `16K`, `64K`, `1M` (the `%luK` of pcpu_page_first_chunk's line) in bytes. */
function sizeToken(t: string): number {
  const n = Number(t.slice(0, -1));
  const unit = t.slice(-1).toUpperCase();
  return n * (unit === "K" ? 1024 : unit === "M" ? 2 ** 20 : 2 ** 30);
}

/** The percpu line in a raw log line (after any timestamp / syslog prefix), or null. */
function percpuText(raw: string): string | null {
  let best = -1;
  for (const m of MARKERS) {
    const i = raw.indexOf(m);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  if (best < 0) return null;
  /* pcpu_dump_alloc_info ends its lines with a space; pastes often lose it. */
  return raw.slice(best).replace(/\r$/, "").trimEnd();
}

function kindOf(text: string): DmesgLineKind {
  if (SETUP_RE.test(text)) return "setup";
  if (EMBED_RE.test(text) || PAGE_RE.test(text)) return "summary";
  if (WASTE_RE.test(text)) return "waste";
  if (ALLOC_RE.test(text)) return "alloc";
  if (GROUP_RE.test(text)) return "group";
  return "other";
}

/** The percpu lines of a boot log, in order. */
export function dmesgPercpuLines(text: string): DmesgPercpuLine[] {
  const out: DmesgPercpuLine[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const t = percpuText(lines[i]!);
    if (t === null) continue;
    out.push({ kind: kindOf(t), text: t, lineNo: i + 1 });
  }
  return out;
}

/**
 * Reads the percpu lines of a boot log.
 * @throws FromDmesgError when the text holds none, or two boots' worth
 */
export function parseDmesgPercpu(text: string): DmesgPercpuFacts {
  if (text.includes("\u0000")) throw new FromDmesgError("the input is binary, not a boot log");
  const lines = dmesgPercpuLines(text);
  if (lines.length === 0)
    throw new FromDmesgError(
      "no percpu lines in the log (looked for setup_percpu:, percpu:/PERCPU: Embedded, pcpu-alloc:)",
    );
  for (const kind of ["setup", "summary", "alloc"] as const) {
    const n = lines.filter((l) => l.kind === kind).length;
    if (n > 1)
      throw new FromDmesgError(
        `the log holds ${n} ${kind} lines: more than one boot? give the lines of one boot`,
      );
  }
  let setup: DmesgPercpuFacts["setup"] = null;
  let prefix: DmesgPercpuFacts["prefix"] = null;
  let fc: DmesgPercpuFacts["fc"] = null;
  let pagesPerCpu: number | null = null;
  let namedPageSize: number | null = null;
  let base: string | null = null;
  let s: number | null = null;
  let r: number | null = null;
  let d: number | null = null;
  let u: number | null = null;
  let atom: number | null = null;
  let km = false;
  const groupMap = new Map<number, number[]>();
  let unitsPerAlloc: number | null = null;
  const seenCpus = new Set<number>();
  for (const l of lines) {
    const t = l.text;
    let m: RegExpExecArray | null;
    if ((m = SETUP_RE.exec(t))) {
      setup = {
        prefixed: m[1] !== undefined,
        nrCpus: Number(m[2]),
        nrCpumaskBits: Number(m[3]),
        nrCpuIds: Number(m[4]),
        nrNodeIds: Number(m[5]),
      };
    } else if ((m = EMBED_RE.exec(t))) {
      prefix = m[1] === "PERCPU" ? "PERCPU: " : "percpu: ";
      fc = "embed";
      pagesPerCpu = Number(m[2]);
      base = m[3] ?? null;
      s = Number(m[4]);
      r = Number(m[5]);
      d = Number(m[6]);
      u = Number(m[7]);
    } else if ((m = PAGE_RE.exec(t))) {
      prefix = m[1] === "PERCPU" ? "PERCPU: " : "percpu: ";
      fc = "page";
      pagesPerCpu = Number(m[2]);
      namedPageSize = sizeToken(m[3]!);
      base = m[4] ?? null;
      s = Number(m[5]);
      r = Number(m[6]);
      if (m[7] !== undefined) d = Number(m[7]);
    } else if (WASTE_RE.test(t)) {
      km = true;
    } else if ((m = ALLOC_RE.exec(t))) {
      const [as, ar, ad, au] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
      if ((s !== null && s !== as) || (r !== null && r !== ar) || (u !== null && u !== au))
        throw new FromDmesgError(`line ${l.lineNo}: the pcpu-alloc sizes disagree with the summary line`);
      s = as;
      r = ar;
      d = ad;
      u = au;
      atom = Number(m[6]);
    } else if ((m = GROUP_RE.exec(t))) {
      /* "[g] c c c [g] c c -- --": each [g] starts one allocation of the group. */
      let group = -1;
      let units = 0;
      for (const tok of m[1]!.trim().split(/\s+/)) {
        const gm = /^\[(\d+)\]$/.exec(tok);
        if (gm) {
          if (group >= 0) unitsPerAlloc ??= units;
          group = Number(gm[1]);
          units = 0;
          if (!groupMap.has(group)) groupMap.set(group, []);
        } else if (tok === "--") {
          units++;
        } else if (/^\d+$/.test(tok) && group >= 0) {
          units++;
          const cpu = Number(tok);
          if (seenCpus.has(cpu)) throw new FromDmesgError(`line ${l.lineNo}: CPU ${cpu} is listed twice`);
          seenCpus.add(cpu);
          groupMap.get(group)!.push(cpu);
        } else {
          throw new FromDmesgError(
            `line ${l.lineNo}: cannot read the group line token ${JSON.stringify(tok)}`,
          );
        }
      }
      if (group >= 0) unitsPerAlloc ??= units;
    }
  }
  const ids = [...groupMap.keys()].sort((a, b) => a - b);
  const groups = ids.length === 0 ? null : ids.map((g) => groupMap.get(g)!.sort((a, b) => a - b));
  return {
    lines,
    prefix,
    setup,
    fc,
    pagesPerCpu,
    namedPageSize,
    base,
    staticSize: s,
    reservedSize: r,
    dynSize: d,
    unitSize: u,
    atomSize: atom,
    km,
    groups,
    unitsPerAlloc,
  };
}

/** What `configFromDmesg` found. */
export interface DmesgReproduction {
  /** The config that reproduces the log (only the keys the log decides). */
  readonly config: KernelConfig;
  /** The log's percpu lines and the reproducing kernel's lines of the same kinds. */
  readonly logLines: readonly string[];
  readonly bootLines: readonly string[];
  /** What the config assumes or cannot show (one sentence each). */
  readonly notes: readonly string[];
  /** Whether the `@%p` base of the log was reproduced too (null: the log prints none). */
  readonly baseReproduced: boolean | null;
}

const BASE_RE = /@(.+?) s\d+ r\d+/;

function baseOf(line: string): string | null {
  return BASE_RE.exec(line)?.[1] ?? null;
}

function withoutBase(line: string): string {
  return line.replace(BASE_RE, (m, b: string) => m.replace(`@${b} `, "@BASE "));
}

function cpulist(list: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < list.length; ) {
    let j = i;
    while (j + 1 < list.length && list[j + 1] === list[j]! + 1) j++;
    out.push(j > i ? `${list[i]}-${list[j]}` : `${list[i]}`);
    i = j + 1;
  }
  return out.join(",");
}

/** The boot lines of a kernel, by kind. */
function bootLinesByKind(dmesg: readonly string[]): Map<DmesgLineKind, string[]> {
  const m = new Map<DmesgLineKind, string[]>();
  for (const raw of dmesg) {
    const t = percpuText(raw);
    if (t === null) continue;
    const k = kindOf(t);
    if (!m.has(k)) m.set(k, []);
    m.get(k)!.push(t);
  }
  return m;
}

interface Attempt {
  readonly config: KernelConfig;
  readonly bootLines: string[];
  /** First differing line pair, or null when equal (bases aside). */
  readonly diff: { log: string; boot: string } | null;
  readonly baseEqual: boolean;
  readonly bootBase: string | null;
  readonly memPerNode: number;
  readonly ownLines: Map<DmesgLineKind, string[]>;
}

function attempt(
  config: KernelConfig,
  facts: DmesgPercpuFacts,
  registry: KernelRegistry,
): Attempt | { error: string } {
  let k: ReturnType<typeof bootFromRegistry>;
  try {
    k = bootFromRegistry({ ...config, stats: false, trace: false }, registry);
  } catch (e) {
    return { error: (e as Error).message.split("\n")[0]! };
  }
  const own = bootLinesByKind(k.dmesg());
  const kinds = new Set(facts.lines.map((l) => l.kind));
  const bootLines: string[] = [];
  for (const kind of ["setup", "summary", "waste", "alloc", "group", "other"] as const)
    if (kinds.has(kind)) bootLines.push(...(own.get(kind) ?? []));
  const logLines = facts.lines.map((l) => l.text);
  let diff: Attempt["diff"] = null;
  for (let i = 0; i < Math.max(logLines.length, bootLines.length); i++) {
    const a = logLines[i] ?? "(none)";
    const b = bootLines[i] ?? "(none)";
    if (withoutBase(a) !== withoutBase(b)) {
      diff = { log: a, boot: b };
      break;
    }
  }
  const summary = bootLines.find((l) => kindOf(l) === "summary");
  const bootBase = summary === undefined ? null : baseOf(summary);
  return {
    config,
    bootLines,
    diff,
    baseEqual: facts.base === null || facts.base === bootBase,
    bootBase,
    memPerNode: k.config.memPerNode,
    ownLines: own,
  };
}

/** Word size a `@%p` text implies, or null. */
function bitsOfBase(base: string | null): 32 | 64 | null {
  if (base === null) return null;
  if (/^[0-9a-f]{16}$/i.test(base) || base === "(____ptrval____)" || base === "        (ptrval)") return 64;
  if (/^[0-9a-f]{8}$/i.test(base) || base === "(ptrval)") return 32;
  return null;
}

/** The eras whose summary-line format the log shows, most recent first. */
function eraCandidates(f: DmesgPercpuFacts): string[] {
  if (f.prefix === "PERCPU: ") return ["v3.18", "v2.6.32", "v2.6.30"];
  if (f.prefix === "percpu: ") return f.base !== null ? ["v4.14"] : ["v6", "v5.14", "v6.14"];
  if (f.setup !== null && !f.setup.prefixed) return ["v2.6.32", "v2.6.30"];
  return ["v6", "v5.14", "v4.14", "v3.18", "v2.6.32"];
}

/**
 * PAGE_SIZE as the log shows it, most likely first. pcpu_embed_first_chunk
 * prints `PFN_DOWN(size_sum)` pages for s + r + d = size_sum bytes (page
 * aligned), so the page is (s + r + d) / N; pcpu_page_first_chunk's line
 * names it. A log without a summary line shows only the atom: the generic
 * setup's atom is PAGE_SIZE, so a 8K .. 256K atom is tried as the page too.
 */
function pageSizeCandidates(f: DmesgPercpuFacts): { sizes: number[]; how: string | null } {
  if (f.fc === "page" && f.namedPageSize !== null) return { sizes: [f.namedPageSize], how: null };
  if (f.fc === "embed" && f.pagesPerCpu !== null && f.pagesPerCpu > 0 && f.dynSize !== null) {
    const sum = f.staticSize! + f.reservedSize! + f.dynSize;
    const page = sum / f.pagesPerCpu;
    if (Number.isInteger(page) && page >= 4096 && page <= 2 ** 18 && (page & (page - 1)) === 0)
      return {
        sizes: [page],
        how:
          page === 4096
            ? null
            : `PAGE_SIZE ${page / 1024}K: the summary line's s+r+d = ${sum} bytes are ${f.pagesPerCpu} pages/cpu`,
      };
    /* Not a whole number of pages: no kernel prints it; the attempts name the line. */
    return { sizes: [4096], how: null };
  }
  const atom = f.atomSize;
  if (f.fc === null && atom !== null && atom > 4096 && atom <= 2 ** 18)
    return {
      sizes: [atom, 4096],
      how: `the log does not print PAGE_SIZE (no summary line): the atom ${atom / 1024}K is the generic setup's PAGE_SIZE`,
    };
  return { sizes: [4096], how: null };
}

/**
 * The arch an `@%p` base address belongs to, when its layout names one:
 * ppc64's linear map starts at 0xc000000000000000, mips64's XKPHYS spans
 * 0x8000000000000000 .. 0xbfffffffffffffff, s390 maps memory 1:1 from 0,
 * arm64 and x86_64 live in the top 0xffff... half.
 */
function baseArch(base: string | null): "ppc64" | "mips64" | "s390" | "ffff" | null {
  if (base === null || !/^[0-9a-f]{16}$/i.test(base)) return null;
  const top = Number.parseInt(base[0]!, 16);
  if (top === 0xc) return "ppc64";
  if (top >= 8 && top <= 0xb) return "mips64";
  if (/^ffff/i.test(base)) return "ffff";
  if (/^00000/.test(base)) return "s390";
  return null;
}

/** An arch the non-percpu lines of the log name, with the word size when they give it. */
export interface DmesgArchHint {
  /** The kernel's arch (`mips` and `ppc64` have no package: the generic arch stands in). */
  readonly arch:
    | "x86_64"
    | "i386"
    | "arm"
    | "arm64"
    | "s390"
    | "sparc32"
    | "mips"
    | "ppc64"
    | "riscv64"
    | "loongarch64";
  readonly bits: 32 | 64 | null;
  /** The line that names it (prefix dropped), for the notes. */
  readonly line: string;
}

const HINTS: readonly [RegExp, DmesgArchHint["arch"], 32 | 64 | null][] = [
  /* The toolchain triplet or release suffix of `Linux version ...`, most specific first. */
  [/Linux version .*\b(?:aarch64|arm64)\b/i, "arm64", 64],
  [/Linux version .*\b(?:mips64(?:el)?|mipsisa64\w*)\b/i, "mips", 64],
  [/Linux version .*\bmips(?:el)?\b/i, "mips", null],
  [/Linux version .*\b(?:powerpc64(?:le)?|ppc64(?:le)?)\b/i, "ppc64", 64],
  [/Linux version .*\briscv64\b/i, "riscv64", 64],
  [/Linux version .*\bloongarch64\b/i, "loongarch64", 64],
  [/Linux version .*\bs390x?\b/i, "s390", 64],
  [/Linux version .*\b(?:x86_64|amd64)\b/i, "x86_64", 64],
  [/Linux version .*\bi[3-6]86\b/i, "i386", 32],
  [/Linux version .*\b(?:arm(?:v[4-7]\w*)?-|armhf|armel|gnueabi)/i, "arm", 32],
  /* Lines only one arch prints. */
  [/CPU0 revision is: /, "mips", null],
  [/CPU: ARMv[4-7]/, "arm", 32],
  [/CPU features: detected: /, "arm64", 64],
  [/Using (?:PowerNV|pSeries) machine description/, "ppc64", 64],
];

/** The arch the rest of the log names (`Linux version` triplet, arch-only lines), or null. */
export function dmesgArchHint(text: string): DmesgArchHint | null {
  for (const raw of text.split("\n")) {
    if (percpuText(raw) !== null) continue;
    for (const [re, arch, bits] of HINTS) {
      const m = re.exec(raw);
      if (m) {
        const at = raw.search(/Linux version|CPU0 revision|CPU: ARM|CPU features|Using /);
        return { arch, bits, line: raw.slice(Math.max(0, at)).trim().slice(0, 100) };
      }
    }
  }
  return null;
}

/** A kernel to try: an arch of the build with the page and word size the log implies. */
interface ArchCandidate {
  readonly arch: string;
  readonly pageSize: number;
  readonly bits: 32 | 64;
  /** Why this arch, for the notes; null when the lines name it (x86's setup_percpu line). */
  readonly why: string | null;
}

const kib = (n: number) => `${n / 1024}K`;

/** The arches to try, most likely first. */
function archCandidates(
  f: DmesgPercpuFacts,
  registry: KernelRegistry,
  pageSize: number,
  hint: DmesgArchHint | null,
): ArchCandidate[] {
  const out: ArchCandidate[] = [];
  const add = (arch: string, bits: 32 | 64, why: string | null) => {
    const d = registry.arches.find((a) => a.name === arch);
    if (d === undefined || !d.bitsChoices.includes(bits) || !d.pageShifts.includes(Math.log2(pageSize)))
      return;
    if (out.some((c) => c.arch === arch && c.bits === bits)) return;
    out.push({ arch, pageSize, bits, why });
  };
  const where = baseArch(f.base);
  const bits = bitsOfBase(f.base);
  const page = kib(pageSize);
  /* The generic setup asks PERCPU_DYNAMIC_RESERVE: 20K on 32-bit, 28K on 64-bit; with 4K pages d is that plus the page rounding. */
  const d = f.dynSize;
  const is32 =
    bits === 32 || (bits === null && pageSize === 4096 && d !== null && d >= 20480 && d < 20480 + 4096);
  const generic = (b: 32 | 64, why: string) => add("generic", b, why);
  const stands = (arch: string, b: 32 | 64) =>
    `${arch} has no package: the generic arch (${b}-bit, ${page} pages, mm/percpu.c's embed setup) with the log's sizes stands in for it`;
  const same = (arch: string) =>
    `the percpu lines do not name the arch: ${arch} runs the generic embed setup with ${page} pages and page-sized atoms and prints them`;
  if (hint !== null) {
    const named = `the log names the arch (${JSON.stringify(hint.line)})`;
    if (
      hint.arch === "mips" ||
      hint.arch === "ppc64" ||
      hint.arch === "riscv64" ||
      hint.arch === "loongarch64"
    ) {
      const b = hint.bits ?? bits ?? (is32 ? 32 : 64);
      generic(b, `${named}: ${stands(hint.arch, b)}`);
    } else {
      add(hint.arch, hint.arch === "arm" || hint.arch === "i386" || hint.arch === "sparc32" ? 32 : 64, named);
    }
  }
  if (where === "ppc64")
    generic(
      64,
      `the base @${f.base} is in ppc64's linear map (PAGE_OFFSET 0xc000000000000000): ${stands("ppc64", 64)}`,
    );
  if (where === "mips64") generic(64, `the base @${f.base} is in mips64's XKPHYS: ${stands("mips64", 64)}`);
  if (f.atomSize !== null && f.atomSize === 2 ** 20 && pageSize === 65536)
    generic(
      64,
      `a 1M atom with 64K pages is ppc64's setup_per_cpu_areas (hash MMU, 16M linear pages, no reserved region): ${stands("ppc64", 64)}`,
    );
  if (pageSize === 4096) {
    const x86 = f.setup !== null || (f.atomSize !== null && f.atomSize >= 2 ** 21);
    if (x86) {
      for (const a of bits === 32 ? ["i386", "x86_64"] : ["x86_64", "i386"])
        add(a, a === "i386" ? 32 : 64, null);
    }
    const sixtyFour = [...(where === "s390" ? ["s390", "arm64"] : ["arm64", "s390"]), "x86_64"];
    const thirtyTwo = ["arm", "sparc32", "i386"];
    for (const a of is32 ? [...thirtyTwo, ...sixtyFour] : [...sixtyFour, ...thirtyTwo]) {
      const b = a === "arm" || a === "sparc32" || a === "i386" ? 32 : 64;
      add(
        a,
        b,
        a === "arm"
          ? `${same("arm")} (32-bit mips prints the same lines)`
          : a === "arm64"
            ? `${same("arm64")} (riscv64, loongarch64 and mips64 with 4K pages print the same lines)`
            : a === "s390" || a === "sparc32"
              ? same(a)
              : null,
      );
    }
    generic(
      is32 ? 32 : 64,
      `no arch of the build with ${page} pages prints these lines: the generic arch does`,
    );
    generic(
      is32 ? 64 : 32,
      `no arch of the build with ${page} pages prints these lines: the generic arch does`,
    );
    return out;
  }
  if (bits !== 32)
    add(
      "arm64",
      64,
      `${same("arm64")} (${pageSize === 16384 ? "mips64 and loongarch64 with 16K pages print" : "ppc64 with a 4K linear map prints"} the same lines)`,
    );
  const noArch = `the generic arch with ${page} pages prints these lines (no arch of the build with ${page} pages does in this era)`;
  generic(bits ?? 64, noArch);
  generic(bits === 64 ? 32 : bits === 32 ? 64 : 32, noArch);
  return out;
}

/**
 * A uniprocessor log: mm/percpu.c's !CONFIG_SMP setup_per_cpu_areas built
 * one unit of roundup_pow_of_two(max(PCPU_MIN_UNIT_SIZE,
 * PERCPU_DYNAMIC_RESERVE)) bytes, all dynamic, and pcpu_setup_first_chunk
 * dumped it. Every arch's UP kernel runs that code, so the lines name
 * neither the arch nor the word size: the arch the log names, else arm
 * (the commonest uniprocessor build), then the others that build !SMP.
 */
function upFromDmesg(f: DmesgPercpuFacts, text: string, registry: KernelRegistry): DmesgReproduction {
  const unit = f.unitSize!;
  /* PCPU_MIN_UNIT_SIZE is PFN_ALIGN(32K): a unit above 32K is one page of a bigger size. */
  const pageSize = unit > 32768 ? unit : 4096;
  const hint = dmesgArchHint(text);
  const order: [string, 32 | 64][] = [];
  if (hint !== null) {
    const generic = ["mips", "ppc64", "riscv64", "loongarch64"].includes(hint.arch);
    order.push(
      generic
        ? ["generic", hint.bits ?? 32]
        : [hint.arch, hint.arch === "arm" || hint.arch === "i386" || hint.arch === "sparc32" ? 32 : 64],
    );
  }
  order.push(["arm", 32], ["i386", 32], ["sparc32", 32], ["x86_64", 64], ["generic", 32], ["generic", 64]);
  const eras = eraCandidates(f);
  let closest: Attempt | null = null;
  for (const [arch, bits] of order) {
    const def = registry.arches.find((a) => a.name === arch);
    if (def === undefined || !def.bitsChoices.includes(bits) || !def.pageShifts.includes(Math.log2(pageSize)))
      continue;
    for (const era of eras.filter((e) => (def.upEras as readonly string[]).includes(e))) {
      const config: Record<string, unknown> = { arch, era, smp: false };
      if (def.bitsChoices.length > 1) config.bits = bits;
      if (def.pageShifts.length > 1 && (pageSize !== 2 ** def.pageShift || arch === "generic"))
        config.pageSize = kib(pageSize);
      const a = attempt(config as KernelConfig, f, registry);
      if ("error" in a) continue;
      if (a.diff !== null) {
        closest ??= a;
        continue;
      }
      const notes = [
        `a uniprocessor (!CONFIG_SMP) kernel: mm/percpu.c's UP setup_per_cpu_areas built one unit of roundup_pow_of_two(max(PCPU_MIN_UNIT_SIZE, PERCPU_DYNAMIC_RESERVE)) = ${unit} bytes, all dynamic (s0 r0)`,
        hint !== null && order[0]![0] === arch
          ? `the log names the arch (${JSON.stringify(hint.line)})`
          : `the lines name neither the arch nor the word size (every arch's UP kernel runs this setup): ${arch}${arch === "generic" ? ` (${bits}-bit)` : ""}, ${arch === "arm" ? "the commonest uniprocessor build, " : ""}prints them`,
      ];
      if (pageSize === 4096)
        notes.push(
          "PAGE_SIZE is open up to 32K (the unit is PCPU_MIN_UNIT_SIZE whatever the page): 4K assumed",
        );
      if (f.prefix === null && f.setup === null && eras.length > 1)
        notes.push(`the era is open (the dump lines are the same in every era): ${era} assumed`);
      return {
        config: a.config,
        logLines: f.lines.map((l) => l.text),
        bootLines: a.bootLines,
        notes,
        baseReproduced: null,
      };
    }
  }
  if (closest !== null)
    throw new FromDmesgError(
      `no uniprocessor kernel this build carries prints these lines; the closest (${closest.config.arch} ${closest.config.era}) differs at\n  log:   ${closest.diff!.log}\n  model: ${closest.diff!.boot}`,
    );
  throw new FromDmesgError("no arch of this build builds a uniprocessor kernel with these sizes");
}

/**
 * The config that reproduces a boot log's percpu lines.
 * @throws FromDmesgError when no kernel of the registry reproduces them (the message says why)
 */
export function configFromDmesg(text: string, registry: KernelRegistry): DmesgReproduction {
  const f = parseDmesgPercpu(text);
  const notes: string[] = [];
  /* mm/percpu.c's !CONFIG_SMP setup: one unit, all dynamic, no summary line (no embed or page first chunk). */
  const up =
    f.fc === null &&
    f.staticSize === 0 &&
    f.reservedSize === 0 &&
    f.unitSize === f.atomSize &&
    f.unitSize === f.dynSize &&
    f.unitsPerAlloc === 1;
  if (up) return upFromDmesg(f, text, registry);
  /* CPUs: nr_cpu_ids, else the group lines, else unknown. */
  const groupCpus = f.groups === null ? null : f.groups.reduce((n, g) => n + g.length, 0);
  if (f.setup !== null && groupCpus !== null && groupCpus !== f.setup.nrCpuIds)
    throw new FromDmesgError(
      `nr_cpu_ids:${f.setup.nrCpuIds} but the pcpu-alloc group lines list ${groupCpus} CPUs`,
    );
  let cpus = f.setup?.nrCpuIds ?? groupCpus;
  if (cpus === null) {
    cpus = 1;
    notes.push("the log does not give the CPU count (no setup_percpu or group lines): 1 CPU assumed");
  }
  let nodes: string | undefined;
  const nrNodes = f.setup?.nrNodeIds ?? null;
  if (f.groups !== null && f.groups.length > 1) {
    nodes = f.groups.map(cpulist).join(";");
  } else if (nrNodes !== null && nrNodes > 1) {
    const per = Math.ceil(cpus / nrNodes);
    const parts: string[] = [];
    for (let n = 0; n < nrNodes; n++) {
      const lo = n * per;
      const hi = Math.min(cpus, lo + per) - 1;
      parts.push(hi >= lo ? (hi > lo ? `${lo}-${hi}` : `${lo}`) : "");
    }
    nodes = parts.join(";");
    notes.push(
      `nr_node_ids:${nrNodes} without group lines: the CPUs are split evenly over the nodes (${nodes})`,
    );
  } else {
    nodes = cpulist(Array.from({ length: cpus }, (_, i) => i));
  }
  const sizesKnown = f.staticSize !== null;
  if (!sizesKnown)
    notes.push(
      "the log has no sizes (group lines only): the static size is chosen to give the printed units per allocation; any static size in the range prints the same lines",
    );

  const eras = eraCandidates(f);
  let closest: Attempt | null = null;
  const refusals: string[] = [];
  const pages = pageSizeCandidates(f);
  const hint = dmesgArchHint(text);
  const candidates = pages.sizes.flatMap((p) => archCandidates(f, registry, p, hint));
  for (const cand of candidates) {
    const arch = cand.arch;
    const def = registry.arches.find((a) => a.name === arch)!;
    for (const era of eras.filter((e) => (def.eras as readonly string[]).includes(e))) {
      const base: Record<string, unknown> = { arch, era, cpus, nodes };
      if (def.bitsChoices.length > 1) base.bits = cand.bits;
      if (def.pageShifts.length > 1 && (cand.pageSize !== 2 ** def.pageShift || arch === "generic"))
        base.pageSize = kib(cand.pageSize);
      if (f.setup !== null) {
        base.nrCpus = f.setup.nrCpus;
        if (arch === "x86_64" || arch === "i386")
          base.cpumaskOffstack =
            f.setup.nrCpumaskBits === f.setup.nrCpuIds && f.setup.nrCpus !== f.setup.nrCpuIds;
      } else if (def.nrCpusMax < cpus) {
        continue;
      }
      if (f.km) base.population = "km";
      if (f.fc === "page") base.percpuAlloc = "page";
      if (sizesKnown) {
        base.staticSize = f.staticSize;
        base.reservedSize = f.reservedSize;
        if (f.fc !== "page" && f.dynSize !== null) base.dynSize = f.dynSize;
        if (f.atomSize !== null) base.atomSize = f.atomSize;
      }
      let a = attempt(base as KernelConfig, f, registry);
      if ("error" in a) {
        refusals.push(`${arch} ${era}: ${a.error}`);
        continue;
      }
      if (!sizesKnown && a.diff !== null && f.unitsPerAlloc !== null) {
        /* Size the static area so that the unit is atom / units per allocation. */
        const al = a.ownLines.get("alloc")?.[0];
        const m = al === undefined ? null : ALLOC_RE.exec(al);
        if (m) {
          const [r, d, atom] = [Number(m[2]), Number(m[3]), Number(m[6])];
          const target = atom / f.unitsPerAlloc;
          const st = target - r - d;
          if (Number.isInteger(target) && st > 0) {
            const b = attempt({ ...base, staticSize: st } as KernelConfig, f, registry);
            if (!("error" in b)) a = b;
          }
        }
      }
      if (a.diff === null && !a.baseEqual && a.bootBase !== null && /^[0-9a-f]+$/i.test(f.base ?? "")) {
        /* Size memory so the first chunk lands where the log's did (memblock allocates it top-down). */
        const want = Number.parseInt(f.base!, 16);
        let cur = a;
        /* Up to three steps: the first may only bring the memory below the top of the direct map. */
        for (let step = 0; step < 3 && cur.bootBase !== null; step++) {
          const got = Number.parseInt(cur.bootBase, 16);
          const mem = cur.memPerNode + (want - got);
          if (!Number.isSafeInteger(want) || !Number.isSafeInteger(got) || mem <= 0) break;
          const b = attempt({ ...a.config, memPerNode: mem }, f, registry);
          if ("error" in b || b.diff !== null) break;
          cur = b;
          if (b.baseEqual) {
            a = b;
            break;
          }
        }
      }
      if (a.diff === null) {
        const baseReproduced = f.base === null ? null : a.baseEqual;
        if (pages.how !== null && (pages.sizes.length === 1 || cand.pageSize !== 4096)) notes.push(pages.how);
        if (cand.why !== null) notes.push(cand.why);
        if (f.dynSize !== null && f.fc === "embed" && cand.pageSize > 4096) {
          /* size_sum = PFN_ALIGN(s + r + dyn): every request in the last page prints the same d. */
          const lowest = Math.max(0, f.dynSize - cand.pageSize + 1);
          notes.push(
            `the dynamic size the arch asked for is not printed: any request of ${lowest}..${f.dynSize} bytes rounds up to the same ${kib(cand.pageSize)} pages; the config asks the printed d${f.dynSize}`,
          );
        }
        if (baseReproduced === false)
          notes.push(
            /^[0-9a-f]+$/i.test(f.base!)
              ? `the log's base @${f.base} is outside what the model's ${arch} memory layout can place; the model prints @${a.bootBase}`
              : `the log's base @${f.base} is a hashed-pointer placeholder (%p before the random pool is ready, 4.15-4.20); the model prints the raw @${a.bootBase}`,
          );
        return {
          config: a.config,
          logLines: f.lines.map((l) => l.text),
          bootLines: a.bootLines,
          notes,
          baseReproduced,
        };
      }
      if (closest === null) closest = a;
    }
  }
  if (closest !== null)
    throw new FromDmesgError(
      `no kernel this build carries prints these lines; the closest (${closest.config.arch} ${closest.config.era}) differs at\n  log:   ${closest.diff!.log}\n  model: ${closest.diff!.boot}`,
    );
  throw new FromDmesgError(
    `no kernel this build carries accepts the layout: ${refusals.slice(0, 3).join("; ") || "no arch with these eras"}`,
  );
}
