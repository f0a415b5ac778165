/*
 * The workloads by name (the CLI's `run WORKLOAD`).
 */

import { atomicBurstWorkload } from "./atomic-burst.js";
import { bpfMapWorkload } from "./bpf-map.js";
import { countersWorkload } from "./counters.js";
import { modulesWorkload } from "./modules.js";
import type { Workload, WorkloadName } from "./workload.js";

/** Every workload, by name. */
export const WORKLOADS: Readonly<Record<WorkloadName, Workload>> = {
  "bpf-map": bpfMapWorkload,
  modules: modulesWorkload,
  "atomic-burst": atomicBurstWorkload,
  counters: countersWorkload,
};
