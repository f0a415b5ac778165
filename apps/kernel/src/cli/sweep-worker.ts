/*
 * The sweep's worker thread of the full build: runs one matrix row (see
 * ../sweep.ts) with every arch. Loaded by tinypool; per-arch bundles
 * generate their own with only their arch (scripts/build.mjs).
 */

import { ALL_DEFINITIONS } from "../registry.js";
import { sweepWorker } from "../sweep.js";

export default sweepWorker(ALL_DEFINITIONS);
