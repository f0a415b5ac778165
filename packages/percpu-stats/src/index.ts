// @pcpu/percpu-stats: public exports only.
export * from "./api.js";
export * from "./chunk-stats.js";
export * from "./gfp-flags.js";
export * from "./json.js";
export * from "./meminfo.js";
export * from "./stats.js";
export * from "./stats-text.js";
export * from "./trace-cmd-report.js";
export * from "./trace-format.js";
export * from "./trace-parse.js";
export * from "./trace-recorder.js";
