// @pcpu/percpu-stats: public exports only.
export {};
