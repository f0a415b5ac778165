// @pcpu/arch-arm: public exports only.
export {};
