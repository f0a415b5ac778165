// @pcpu/arch-s390: public exports only.
export {};
