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
export { dumpStack, type PcpuAllocOpts } from "./alloc.js";
export * from "./setup-generic.js";
export * from "./constants.js";
export * from "./alloc-info.js";
export * from "./boot-lines.js";
export * from "./cpumask.js";
export * from "./bug.js";
export { createBitmapAllocator } from "./bitmap-allocator.js";
export { createAreaMapAllocator, PcpuAreaMapAllocator, type AreaMapAllocatorOptions } from "./area-map-allocator.js";
export { PcpuAreaMap, PERCPU_DYNAMIC_EARLY_SLOTS, pcpuAreaMapOf } from "./area-map.js";
export { pcpuAreaMapCheck, pcpuAreaMapAudit } from "./area-map-check.js";
export {
  PcpuBitmapAllocator,
  PcpuBitmapArea,
  type BitmapAllocatorOptions,
  pcpuBitmapArea,
  pcpuCheckBitmapChunk,
  pcpuAuditBitmapChunk,
} from "./bitmap-allocator.js";
export { PcpuBlockMd } from "./block-md.js";
