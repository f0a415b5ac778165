/*
 * Command-line parsing for pcpu-kernel: `--flag value`, `--flag=value`,
 * boolean switches, `--no-<switch>`, positional arguments. Every mistake is
 * a UsageError with one line naming the flag; the CLI exits 2 on it.
 */

/** Bad command-line usage (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The words an on/off switch takes as its next argument (parseBool's). */
const ON_OFF_WORDS = new Set(["on", "off", "y", "n", "yes", "no", "true", "false"]);

/** A flag: `value` takes an argument, `switch` does not, `list` takes one argument each time it is given. */
export interface FlagSpec {
  readonly name: string;
  readonly kind: "value" | "switch" | "list";
  readonly help: string;
  readonly arg?: string;
}

export interface ParsedArgs {
  readonly flags: Readonly<Record<string, string | boolean>>;
  readonly positionals: readonly string[];
  /** The values of `list` flags, in command-line order. */
  readonly lists?: Readonly<Record<string, readonly string[]>>;
}

/** Parses argv against the flags a command accepts. */
export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const flags: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  const lists: Record<string, string[]> = {};
  const byName = new Map(specs.map((s) => [s.name, s]));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a === "-h") {
      flags.help = true;
      continue;
    }
    if (!a.startsWith("--") || a === "-") {
      if (a.startsWith("-") && a !== "-") throw new UsageError(`unknown option ${a}`);
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    let name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    let value: string | undefined = eq < 0 ? undefined : a.slice(eq + 1);
    let spec = byName.get(name);
    if (
      spec === undefined &&
      name.startsWith("no-") &&
      byName.get(name.slice(3))?.kind === "switch" &&
      value === undefined
    ) {
      name = name.slice(3);
      spec = byName.get(name)!;
      flags[name] = false;
      continue;
    }
    if (spec === undefined) throw new UsageError(`unknown option --${name} (see --help)`);
    if (spec.kind === "switch") {
      if (value !== undefined && spec.arg === undefined)
        throw new UsageError(`option --${name} takes no value`);
      /* An on/off switch also takes its word as the next argument (`--memcg off`). */
      const next = argv[i + 1];
      if (value === undefined && spec.arg === "on|off" && next !== undefined && ON_OFF_WORDS.has(next)) {
        value = next;
        i++;
      }
      flags[name] = value ?? true;
      continue;
    }
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined || (value.startsWith("--") && value.length > 2))
        throw new UsageError(`option --${name} needs a value (${spec.arg ?? "VALUE"})`);
      i++;
    }
    if (spec.kind === "list") {
      (lists[name] ??= []).push(value);
      continue;
    }
    if (name in flags) throw new UsageError(`option --${name} given twice`);
    flags[name] = value;
  }
  return { flags, positionals, lists };
}

/** A non-negative integer flag value. */
export function intFlag(flags: ParsedArgs["flags"], name: string, min = 0): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  if (typeof v === "string" && /^-\s*(0x[0-9a-f]+|[0-9]+)$/i.test(v.trim()))
    throw new UsageError(`--${name}: ${v} must be positive (an integer >= ${min})`);
  if (typeof v !== "string" || !/^(0x[0-9a-f]+|[0-9]+)$/i.test(v))
    throw new UsageError(`--${name}: ${JSON.stringify(v)} is not an integer`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min)
    throw new UsageError(`--${name}: ${v} must be an integer >= ${min}`);
  return n;
}

/** A positive number flag value. */
export function numberFlag(flags: ParsedArgs["flags"], name: string): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  const n = typeof v === "string" && /^[0-9]*\.?[0-9]+$/.test(v) ? Number(v) : Number.NaN;
  if (!(n > 0)) throw new UsageError(`--${name}: ${JSON.stringify(v)} is not a positive number`);
  return n;
}

/** camelCase -> kebab-case (`memPerNode` -> `mem-per-node`). */
export function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** kebab-case -> camelCase. */
export function camel(s: string): string {
  return s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The help lines of a flag list. */
export function flagHelp(specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => [
    `--${s.name}${s.kind !== "switch" ? ` ${s.arg ?? "VALUE"}` : s.arg ? `[=${s.arg}]` : ""}`,
    s.help,
  ]);
  const w = Math.max(...rows.map((r) => r[0]!.length));
  return rows.map(([a, h]) => `  ${a!.padEnd(w)}  ${h}`).join("\n");
}
