// @pcpu/mm: public exports only.
export {};
