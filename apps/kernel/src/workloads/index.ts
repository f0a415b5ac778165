// The workloads: re-exports only.
export * from "./workload.js";
export * from "./all.js";
export { atomicBurstWorkload } from "./atomic-burst.js";
export { bpfMapWorkload } from "./bpf-map.js";
export { countersWorkload } from "./counters.js";
export { modulesWorkload } from "./modules.js";
