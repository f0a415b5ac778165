// @pcpu/arch-sparc32: public exports only.
export {};
