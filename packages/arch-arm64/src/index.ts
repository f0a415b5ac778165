// @pcpu/arch-arm64: public exports only.

export * from "./arm64.js";
export * from "./layout.js";
export * from "./tpidr.js";
