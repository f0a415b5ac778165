// The workloads: re-exports only.

export * from "./all.js";
export { atomicBurstWorkload } from "./atomic-burst.js";
export {
  BPF_MAP_DEFAULT_CGROUP,
  BPFTOOL_TASK,
  type BpfPercpuMap,
  bpfMapWorkload,
  bpfPercpuArrayCreate,
  bpfPercpuArrayFree,
} from "./bpf-map.js";
export { countersWorkload } from "./counters.js";
export { modulesWorkload } from "./modules.js";
export * from "./workload.js";
