// @pcpu/mm: public exports only.
export * from "./api.js";
export * from "./gfp.js";
