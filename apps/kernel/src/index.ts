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
export { x86_64, i386, x86_64StandIn, i386StandIn, formatAddrX86_64, parseAddrX86_64 } from "./arches/x86.js";
export { arm, armStandIn } from "./arches/arm.js";
export { sparc32, sparc32StandIn } from "./arches/sparc32.js";
export { s390, s390StandIn } from "./arches/s390.js";
export { KernelPanic, RegisterPercpuArch, standInArch } from "./arches/common.js";
export { packageArch, genericSetupWithSizes } from "./arches/package-arch.js";
export { vmPopulation } from "./populations/vm.js";
export { kmPopulation } from "./populations/km.js";
