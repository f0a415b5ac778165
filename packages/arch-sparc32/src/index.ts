// @pcpu/arch-sparc32: public exports only.

export * from "./sparc32.js";
export * from "./thread-info-cpu.js";
