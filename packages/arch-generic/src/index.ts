// @pcpu/arch-generic: public exports only.
export * from "./api.js";
export * from "./arch-percpu.js";
export * from "./boot.js";
export * from "./era.js";
export * from "./generic-arch.js";
export * from "./percpu-alloc-param.js";
export * from "./static-section.js";
