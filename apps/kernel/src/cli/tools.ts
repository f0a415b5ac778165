/*
 * The debugging and analysis commands (from-dmesg, inspect, sites, sweep,
 * merge), each in its own file, listed here for run.ts. Built on call, so
 * the flag lists run.ts exports are initialised by then.
 */

import { fromDmesgCommand } from "./from-dmesg.js";
import { inspectCommand } from "./inspect.js";
import type { Command } from "./run.js";
import { sitesCommand } from "./sites.js";
import { sweepCommand, sweepMergeCommand } from "./sweep.js";

/** The tool commands, in help order. */
export function toolCommands(): Command[] {
  return [fromDmesgCommand(), inspectCommand(), sitesCommand(), sweepCommand(), sweepMergeCommand()];
}
