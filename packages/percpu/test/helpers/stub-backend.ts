/*
 * A population backend for core-only tests: the first chunk never needs
 * one, so every call that would grow the allocator fails like an exhausted
 * machine would (no chunk can be created). Backend behaviour itself is
 * tested in @pcpu/percpu-vm and @pcpu/percpu-km.
 */
import type { PcpuBackendHost, PopulationBackend, PopulationFactory } from "../../src/api.js";

export const stubBackend: PopulationFactory = (host: PcpuBackendHost): PopulationBackend => ({
  name: "stub",
  pcpuPopulateChunk: () => -12,
  pcpuDepopulateChunk: () => {},
  pcpuPostUnmapTlbFlush: () => {},
  pcpuCreateChunk: () => null,
  pcpuDestroyChunk: () => {},
  pcpuAddrToPage: (addr) => {
    const phys = host.machine.pgtable.translate(addr);
    return phys < 0 ? -1 : Math.floor(phys / host.constants.PAGE_SIZE);
  },
  pcpuVerifyAllocInfo: () => 0,
  pcpuShouldReclaimChunk: () => false,
});
