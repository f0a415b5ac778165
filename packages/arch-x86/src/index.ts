// @pcpu/arch-x86: public exports only.
export * from "./api.js";
export * from "./canonical.js";
export * from "./i386.js";
export * from "./percpu-segment.js";
export * from "./setup-percpu.js";
export * from "./x86-64.js";
