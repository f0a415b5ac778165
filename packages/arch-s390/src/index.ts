// @pcpu/arch-s390: public exports only.
export * from "./lowcore.js";
export * from "./module-percpu.js";
export * from "./s390.js";
