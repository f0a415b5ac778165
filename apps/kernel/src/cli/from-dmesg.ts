/*
 * `pcpu-kernel from-dmesg FILE|-`: the config that reproduces a real boot
 * log's percpu layout, as JSON (or .config lines), ready for
 * `boot --config`. Notes (what the log leaves open) go to stderr; a log no
 * kernel of the build reproduces is refused with the first differing line.
 */

import { configFromDmesg, FromDmesgError } from "../from-dmesg.js";
import { toKconfig } from "../kconfig.js";
import { UsageError } from "./args.js";
import { readUserFile } from "./files.js";
import { type Command, HELP_FLAG, JSON_FLAG, noPositionals, out } from "./run.js";

export function fromDmesgCommand(): Command {
  return {
    name: "from-dmesg",
    usage: "pcpu-kernel from-dmesg FILE|- [--json|--kconfig]",
    summary: "the config that reproduces the percpu lines of a real boot log (dmesg, syslog, journal)",
    flags: [
      { name: "kconfig", kind: "switch", help: "print .config lines instead of JSON" },
      {
        name: "quiet",
        kind: "switch",
        help: "no notes on stderr about what the log leaves open",
      },
      JSON_FLAG,
      HELP_FLAG,
    ],
    run(a, ctx) {
      const file = a.positionals[0];
      if (file === undefined) throw new UsageError("from-dmesg needs a boot log file (or - for stdin)");
      noPositionals(a, 1, this.usage);
      const text = readUserFile(ctx.io, file, "boot log");
      let r: ReturnType<typeof configFromDmesg>;
      try {
        r = configFromDmesg(text, ctx.registry);
      } catch (e) {
        if (!(e instanceof FromDmesgError)) throw e;
        ctx.io.stderr.write(`pcpu-kernel: from-dmesg: cannot reproduce ${file}: ${e.message}\n`);
        return 1;
      }
      if (a.flags.json === true) {
        out(
          ctx.io,
          `${JSON.stringify({ command: "from-dmesg", build: ctx.build, config: r.config, logLines: r.logLines, bootLines: r.bootLines, baseReproduced: r.baseReproduced, notes: r.notes }, null, 2)}\n`,
        );
        return 0;
      }
      if (a.flags.quiet !== true)
        for (const n of r.notes) ctx.io.stderr.write(`pcpu-kernel: from-dmesg: note: ${n}\n`);
      out(ctx.io, a.flags.kconfig === true ? toKconfig(r.config) : `${JSON.stringify(r.config, null, 2)}\n`);
      return 0;
    },
  };
}
