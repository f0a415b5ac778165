// @pcpu/percpu-km: public exports only.
export {};
