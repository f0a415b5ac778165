/*
 * `pnpm bench [name...] [--quick] [--json] [--only name[,name]] [--runs N]`:
 * runs the named (default: every registered) benchmark of registry.ts in one
 * process and prints its report, headed by the date and the host; progress
 * goes to stderr so --json output stays parseable.
 */

import os from "node:os";
import { BENCHMARKS, type BenchContext } from "./registry.js";

interface Args {
  quick: boolean;
  json: boolean;
  only: string[] | null;
  runs: number | undefined;
}

function usage(): string {
  return (
    `usage: pnpm bench [name...] [--quick] [--json] [--only name[,name]] [--runs N]\n` +
    BENCHMARKS.map((b) => `  ${b.name}: ${b.description}\n`).join("")
  );
}

function parseArgs(argv: readonly string[]): Args | null {
  const a: Args = { quick: false, json: false, only: null, runs: undefined };
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i]!;
    if (s === "--") continue;
    if (s === "--quick") a.quick = true;
    else if (s === "--json") a.json = true;
    else if (s === "--only")
      a.only = [...(a.only ?? []), ...(argv[++i] ?? "").split(",").filter((x) => x !== "")];
    else if (s === "--runs") {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error("bench: --runs needs a positive integer");
      a.runs = n;
    } else if (s === "--help" || s === "-h") return null;
    else if (!s.startsWith("-")) a.only = [...(a.only ?? []), s];
    else throw new Error(`bench: unknown argument ${s}\n${usage()}`);
  }
  return a;
}

/** The host, as the README records it next to the numbers. */
export function machineLine(): string {
  const cpus = os.cpus();
  const load = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
  return `${cpus[0]?.model ?? "unknown CPU"} x${cpus.length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}, load ${load}`;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  if (args === null) {
    process.stdout.write(usage());
    return;
  }
  const chosen = args.only === null ? BENCHMARKS : BENCHMARKS.filter((b) => args.only!.includes(b.name));
  if (args.only !== null && chosen.length !== new Set(args.only).size) {
    const unknown = args.only.filter((n) => !BENCHMARKS.some((b) => b.name === n));
    throw new Error(`bench: unknown benchmark ${unknown.join(", ")}\n${usage()}`);
  }
  const ctx: BenchContext = {
    quick: args.quick,
    runs: args.runs,
    progress: (line) => process.stderr.write(`${line}\n`),
  };
  const date = new Date().toISOString();
  const machine = machineLine();
  const json: Record<string, unknown> = {};
  if (!args.json)
    process.stdout.write(`# pcpu bench ${args.quick ? "(quick) " : ""}${date}\n# ${machine}\n\n`);
  for (const b of chosen) {
    const t0 = performance.now();
    const rep = b.run(ctx);
    const secs = (performance.now() - t0) / 1000;
    if (args.json) json[b.name] = rep.json;
    else process.stdout.write(`${rep.text}\n  (${b.name}: ${secs.toFixed(1)} s)\n\n`);
  }
  if (args.json)
    process.stdout.write(
      `${JSON.stringify({ date, machine, quick: args.quick, benchmarks: json }, null, 2)}\n`,
    );
}

main();
