// @pcpu/percpu-vm: public exports only.
export * from "./api.js";
export * from "./percpu-vm.js";
