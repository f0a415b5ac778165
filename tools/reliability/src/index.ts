// @pcpu/reliability: public exports only.
export * from "./api.js";
export * from "./api-fuzz.js";
export * from "./api-fuzz-arb.js";
export * from "./arbitraries.js";
export * from "./boot.js";
export * from "./checks.js";
export * from "./property.js";
export * from "./run.js";
export * from "./shadow.js";
