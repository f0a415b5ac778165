// @pcpu/percpu-vm: public exports only.
export {};
