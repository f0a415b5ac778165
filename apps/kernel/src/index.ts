// @pcpu/kernel: public exports only.
export * from "./api.js";
export { arm, armStandIn } from "./arches/arm.js";
export { KernelPanic, RegisterPercpuArch, standInArch } from "./arches/common.js";
export { genericSetupWithSizes, packageArch } from "./arches/package-arch.js";
export { s390, s390StandIn } from "./arches/s390.js";
export { sparc32, sparc32StandIn } from "./arches/sparc32.js";
export { formatAddrX86_64, i386, i386StandIn, parseAddrX86_64, x86_64, x86_64StandIn } from "./arches/x86.js";
export * from "./assemble.js";
export * from "./config.js";
export * from "./definitions.js";
export * from "./kconfig.js";
export * from "./kernel.js";
export { kmPopulation } from "./populations/km.js";
export { vmPopulation } from "./populations/vm.js";
export * from "./registry.js";
export * from "./replay.js";
export * from "./report.js";
export * from "./workloads/index.js";
