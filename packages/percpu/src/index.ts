// @pcpu/percpu: public exports only.

export {
  __isKernelPercpuAddress,
  isKernelPercpuAddress,
  pcpuAddrInChunk,
  pcpuChunkAddrSearch,
  perCpuPtr,
  perCpuPtrToPhys,
  thisCpuPtr,
} from "./addr.js";
export {
  DEFAULT_CALL_SITE,
  dumpStack,
  eraHasPercpuMemcg,
  type PcpuAllocOpts,
  pcpuObjFullSize,
} from "./alloc.js";
export * from "./alloc-info.js";
export {
  codetagToText,
  PcpuAllocTag,
  PcpuAllocTags,
  type PcpuCodetag,
  pcpuAllocTagAllocHook,
  pcpuAllocTagFreeHook,
  procAllocinfo,
} from "./alloc-tag.js";
export * from "./api.js";
export { PcpuAreaMap, PERCPU_DYNAMIC_EARLY_SLOTS, pcpuAreaMapOf } from "./area-map.js";
export {
  type AreaMapAllocatorOptions,
  createAreaMapAllocator,
  PcpuAreaMapAllocator,
} from "./area-map-allocator.js";
export { pcpuAreaMapAudit, pcpuAreaMapCheck } from "./area-map-check.js";
export { eraHasReclaim, pcpuBalanceWorkfn } from "./balance.js";
export {
  type BitmapAllocatorOptions,
  createBitmapAllocator,
  PcpuBitmapAllocator,
  PcpuBitmapArea,
  pcpuAuditBitmapChunk,
  pcpuBitmapArea,
  pcpuCheckBitmapChunk,
} from "./bitmap-allocator.js";
export { PcpuBlockMd } from "./block-md.js";
export * from "./boot-lines.js";
export * from "./bug.js";
export * from "./chunk.js";
export * from "./constants.js";
export * from "./cpumask.js";
export { checkPercpuInvariants, PcpuInvariantError, PcpuUseAfterFreeError } from "./debug.js";
export * from "./embed.js";
export * from "./first-chunk.js";
export { type PcpuKernelChanges, pcpuKernelChanges } from "./kernel-changes.js";
export { pcpuMemcgFreeHook, pcpuMemcgPostAllocHook, pcpuMemcgPreAllocHook } from "./memcg.js";
export * from "./percpu.js";
export * from "./percpu-api.js";
export * from "./setup-generic.js";
export { __pcpuSizeToSlot, pcpuSizeToSlot } from "./slots.js";
export * from "./this-cpu.js";
export * from "./warn-site.js";
