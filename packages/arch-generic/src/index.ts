// @pcpu/arch-generic: public exports only.
export {};
