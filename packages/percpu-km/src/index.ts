// @pcpu/percpu-km: public exports only.
export * from "./api.js";
export * from "./percpu-km.js";
