// @pcpu/mm: public exports only.
export * from "./api.js";
export * from "./bug.js";
export * from "./context.js";
export * from "./fault-inject.js";
export * from "./gfp.js";
export * from "./machine.js";
export * from "./memblock.js";
export * from "./memcontrol.js";
export * from "./memory.js";
export * from "./page-alloc.js";
export * from "./pgtable.js";
export * from "./phys-mem.js";
export * from "./printk.js";
export * from "./range-set.js";
export * from "./vmalloc.js";
export * from "./workqueue.js";
