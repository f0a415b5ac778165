// @pcpu/kernel: public exports only.
export {};
