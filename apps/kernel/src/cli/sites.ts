/*
 * `pcpu-kernel sites [--after WORKLOAD|--replay FILE] [--leaks]`: the
 * per-call-site report (perf kmem stat --caller / bpftrace
 * @[call_site] = sum(bytes_alloc)) and the allocations still live at the end.
 */

import type { CallSiteReport } from "../call-sites.js";
import type { Kernel } from "../kernel.js";
import { formatTable } from "../report.js";
import { AFTER_FLAGS, bootAndRun } from "./after.js";
import { intFlag } from "./args.js";
import { CONFIG_FLAGS, type Command, HELP_FLAG, JSON_FLAG, noPositionals, out } from "./run.js";

/** The report as text: one row per call site, then the leak list (at most `maxLeaks` rows). */
export function sitesText(r: CallSiteReport, k: Kernel, maxLeaks: number): string {
  const rows = r.sites.map((s) => [
    s.callSite,
    s.liveBytes,
    s.live,
    s.allocs,
    s.frees,
    s.failures,
    s.peakBytes,
    s.bytesAlloc,
  ]);
  const t = r.totals;
  rows.push(["total", t.liveBytes, t.live, t.allocs, t.frees, t.failures, t.peakBytes, t.bytesAlloc]);
  let s = formatTable(rows, [
    "call site",
    "live bytes",
    "live",
    "allocs",
    "frees",
    "failures",
    "peak bytes",
    "bytes alloc",
  ]);
  s +=
    "\n(bytes are bytes_alloc: size x possible CPUs; peak of the total row is the peak of all sites together)\n";
  if (r.untrackedFrees > 0) s += `${r.untrackedFrees} frees of pointers allocated before tracking began\n`;
  s += `\nleaks: ${r.leaks.length} allocation${r.leaks.length === 1 ? "" : "s"} still live`;
  if (r.leaks.length === 0) return `${s}\n`;
  s += maxLeaks < r.leaks.length ? ` (first ${maxLeaks}; --leaks N for more)\n` : "\n";
  const leakRows = r.leaks
    .slice(0, maxLeaks)
    .map((l) => [k.formatAddr(l.ptr), l.size, l.align, l.reserved ? "reserved" : "", l.seq, l.callSite]);
  return s + formatTable(leakRows, ["ptr", "size", "align", "", "seq", "call site"]);
}

export function sitesCommand(): Command {
  return {
    name: "sites",
    usage: "pcpu-kernel sites [--after WORKLOAD|--replay FILE] [--leaks N] [flags]",
    summary: "per-call-site live bytes, allocations, frees, failures and peak, and the leak list",
    flags: [
      ...AFTER_FLAGS,
      { name: "leaks", kind: "value", arg: "N", help: "leak rows to print (default 20; JSON has all)" },
      ...CONFIG_FLAGS,
      JSON_FLAG,
      HELP_FLAG,
    ],
    run(a, ctx) {
      noPositionals(a, 0, this.usage);
      const maxLeaks = intFlag(a.flags, "leaks") ?? 20;
      const { kernel, what } = bootAndRun(a, ctx);
      const r = kernel.callSites!.report();
      if (a.flags.json === true) {
        const leaks = r.leaks.map((l) => ({ ...l, ptr: kernel.formatAddr(l.ptr) }));
        out(
          ctx.io,
          `${JSON.stringify({ command: "sites", build: ctx.build, after: what, ...r, leaks }, null, 2)}\n`,
        );
        return 0;
      }
      out(ctx.io, `after ${what}\n\n${sitesText(r, kernel, maxLeaks)}`);
      return 0;
    },
  };
}
