// @pcpu/percpu/testing: the conformance suite and a minimal test kernel (no test runner imported).

export * from "./balance.js";
export * from "./boot.js";
export * from "./conformance.js";
export * from "./rng.js";
export * from "./stress.js";
export * from "./test-api.js";
