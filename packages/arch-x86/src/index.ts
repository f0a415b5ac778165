// @pcpu/arch-x86: public exports only.
export {};
