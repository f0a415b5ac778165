// @pcpu/percpu: public exports only.
export * from "./api.js";
export * from "./percpu.js";
export * from "./chunk.js";
export * from "./percpu-api.js";
export * from "./this-cpu.js";
export * from "./embed.js";
export * from "./first-chunk.js";
export {
  perCpuPtr,
  thisCpuPtr,
  perCpuPtrToPhys,
  isKernelPercpuAddress,
  __isKernelPercpuAddress,
  pcpuChunkAddrSearch,
  pcpuAddrInChunk,
} from "./addr.js";
export { pcpuBalanceWorkfn, eraHasReclaim } from "./balance.js";
export { __pcpuSizeToSlot, pcpuSizeToSlot } from "./slots.js";
export { checkPercpuInvariants, PcpuInvariantError, PcpuUseAfterFreeError } from "./debug.js";
export { dumpStack } from "./alloc.js";
