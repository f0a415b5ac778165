// The workloads: re-exports only.

export * from "./all.js";
export { atomicBurstWorkload } from "./atomic-burst.js";
export { bpfMapWorkload } from "./bpf-map.js";
export { countersWorkload } from "./counters.js";
export { modulesWorkload } from "./modules.js";
export * from "./workload.js";
