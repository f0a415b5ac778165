// @pcpu/kernel: public exports only.
export * from "./api.js";
export { arm } from "./arches/arm.js";
export { archConfigOf, packageArch } from "./arches/package-arch.js";
export { s390 } from "./arches/s390.js";
export { sparc32 } from "./arches/sparc32.js";
export { formatAddrX86_64, i386, parseAddrX86_64, x86_64 } from "./arches/x86.js";
export * from "./assemble.js";
export * from "./config.js";
export * from "./definitions.js";
export * from "./from-dmesg.js";
export * from "./kconfig.js";
export * from "./kernel.js";
export { kmPopulation } from "./populations/km.js";
export { vmPopulation } from "./populations/vm.js";
export * from "./registry.js";
export * from "./replay.js";
export * from "./report.js";
export * from "./workloads/index.js";
