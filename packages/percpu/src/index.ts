// @pcpu/percpu: public exports only.
export {};
