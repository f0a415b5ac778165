/*
 * The sweep's worker thread: runs one matrix row (see ../sweep.ts) and
 * returns its numbers. Loaded by tinypool; every arch is available.
 */

import { readFileSync } from "node:fs";
import { ALL_DEFINITIONS } from "../registry.js";
import { type SweepTask, sweepRow } from "../sweep.js";

export default function run(task: SweepTask): Record<string, string | number | null> {
  return sweepRow(task, ALL_DEFINITIONS, (p) => readFileSync(p, "utf8"));
}
