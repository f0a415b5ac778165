/*
 * `pcpu-kernel inspect [--chunk N] [--after WORKLOAD|--replay FILE]`: one
 * chunk as a person debugging the allocator looks at it (see ../inspect.ts).
 */

import { inspectChunk, inspectText } from "../inspect.js";
import { KernelApiError } from "../kernel.js";
import { AFTER_FLAGS, bootAndRun } from "./after.js";
import { intFlag, UsageError } from "./args.js";
import { CONFIG_FLAGS, type Command, HELP_FLAG, JSON_FLAG, noPositionals, out } from "./run.js";

export function inspectCommand(): Command {
  return {
    name: "inspect",
    usage: "pcpu-kernel inspect [--chunk N] [--after WORKLOAD|--replay FILE] [flags]",
    summary:
      "one chunk: fields, populated pages, the allocation map per block with its hints, slot lists, live allocations and call sites",
    flags: [
      { name: "chunk", kind: "value", arg: "N", help: "the chunk id (default: the first chunk)" },
      ...AFTER_FLAGS,
      ...CONFIG_FLAGS,
      JSON_FLAG,
      HELP_FLAG,
    ],
    run(a, ctx) {
      noPositionals(a, 0, this.usage);
      const chunk = intFlag(a.flags, "chunk");
      const { kernel, what } = bootAndRun(a, ctx);
      let c: ReturnType<typeof inspectChunk>;
      try {
        c = inspectChunk(kernel, chunk);
      } catch (e) {
        if (e instanceof KernelApiError) throw new UsageError(`--chunk: ${e.message}`);
        throw e;
      }
      if (a.flags.json === true) {
        out(
          ctx.io,
          `${JSON.stringify({ command: "inspect", build: ctx.build, after: what, chunk: c }, null, 2)}\n`,
        );
        return 0;
      }
      out(ctx.io, `after ${what}\n\n${inspectText(c)}`);
      return 0;
    },
  };
}
