// @pcpu/arch-arm: public exports only.

export * from "./arm.js";
export * from "./tpidrprw.js";
