// @pcpu/kernel: public exports only.
export * from "./api.js";
export * from "./assemble.js";
export * from "./config.js";
export * from "./kconfig.js";
export * from "./kernel.js";
export * from "./definitions.js";
export * from "./registry.js";
export * from "./report.js";
export * from "./replay.js";
export * from "./workloads/index.js";
export { x86_64, i386, formatAddrX86_64, parseAddrX86_64 } from "./arches/x86.js";
export { arm } from "./arches/arm.js";
export { sparc32 } from "./arches/sparc32.js";
export { s390 } from "./arches/s390.js";
export { KernelPanic, RegisterPercpuArch } from "./arches/common.js";
export { vmPopulation } from "./populations/vm.js";
export { kmPopulation } from "./populations/km.js";
