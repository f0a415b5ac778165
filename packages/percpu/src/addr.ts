/*
 * Address helpers of mm/percpu.c and include/linux/percpu-defs.h: which
 * chunk an address belongs to, percpu pointer <-> address, per_cpu_ptr,
 * this_cpu_ptr, per_cpu_ptr_to_phys and is_kernel_percpu_address.
 *
 * A percpu pointer is an address in the static section's coordinates; the
 * arch turns it into CPU n's copy by adding __per_cpu_offset[n] in its own
 * pointer arithmetic (wrapping modulo 2^32 on 32-bit arches):
 *
 *   ptr ──__pcpu_ptr_to_addr──> chunk.base_addr + off      (the base view)
 *   per_cpu_ptr(ptr, n) = ptr + __per_cpu_offset[n]
 *                       = chunk.base_addr + pcpu_unit_offsets[n] + off
 */

import type { PcpuChunkView, PcpuPtr } from "./api.js";
import { PcpuChunk } from "./chunk.js";
import type { Percpu } from "./percpu.js";

/**
 * `pcpu_addr_in_chunk(chunk, addr)`: whether `addr` (base view) lies in the
 * part of the chunk its allocator manages.
 * @kernel mm/percpu.c pcpu_addr_in_chunk
 */
export function pcpuAddrInChunk(pcpu: Percpu, chunk: PcpuChunkView | null, addr: number): boolean {
  if (chunk === null) return false;
  const start = chunk.baseAddr + chunk.startOffset;
  const end = chunk.baseAddr + chunk.nrPages * pcpu.constants.PAGE_SIZE - chunk.endOffset;
  return addr >= start && addr < end;
}

/**
 * `pcpu_chunk_addr_search(addr)`: the chunk containing base-view address
 * `addr`: the first or reserved chunk by range, any other chunk through
 * the back pointer of the page backing the current CPU's copy.
 * @kernel mm/percpu.c pcpu_chunk_addr_search
 * @returns the chunk, or null when the address belongs to no chunk (the
 *   kernel would dereference garbage here).
 */
export function pcpuChunkAddrSearch(pcpu: Percpu, addr: number): PcpuChunk | null {
  if (pcpuAddrInChunk(pcpu, pcpu.firstChunk, addr)) return pcpu.firstChunk;
  if (pcpuAddrInChunk(pcpu, pcpu.reservedChunk, addr)) return pcpu.reservedChunk;
  /* Any possible CPU's copy works; the kernel uses the current one. */
  const real = addr + pcpu.unitOffsets[pcpu.machine.ctx.cpu]!;
  const pfn = pcpu.backend.pcpuAddrToPage(real);
  if (pfn < 0) return null;
  const chunk = pcpu.machine.pageAlloc.pagePrivate(pfn);
  return chunk instanceof PcpuChunk ? chunk : null;
}

/** `per_cpu_ptr(ptr, cpu)`: CPU `cpu`'s copy. @kernel include/linux/percpu-defs.h per_cpu_ptr */
export function perCpuPtr(pcpu: Percpu, ptr: number, cpu: number): number {
  const arch = pcpu.archHooks();
  return arch.ptrAdd(ptr, arch.perCpuOffset(cpu));
}

/** `this_cpu_ptr(ptr)`: the current CPU's copy, found the arch's way. @kernel include/linux/percpu-defs.h this_cpu_ptr */
export function thisCpuPtr(pcpu: Percpu, ptr: number): number {
  const arch = pcpu.archHooks();
  return arch.ptrAdd(ptr, arch.myCpuOffset());
}

/**
 * `__is_kernel_percpu_address(addr, &can_addr)`: whether `addr` lies in
 * some CPU's copy of the kernel's static percpu area.
 * @kernel mm/percpu.c __is_kernel_percpu_address
 * @returns the canonical address (the boot CPU's copy), or -1 when not.
 */
export function __isKernelPercpuAddress(pcpu: Percpu, addr: number): number {
  const start0 = pcpu.section.perCpuStart;
  const size = pcpu.section.staticSize;
  for (const cpu of pcpu.possibleCpus) {
    const start = perCpuPtr(pcpu, start0, cpu);
    if (addr >= start && addr < start + size) return addr - start + perCpuPtr(pcpu, start0, 0);
  }
  return -1;
}

/** `is_kernel_percpu_address(addr)`. @kernel mm/percpu.c is_kernel_percpu_address */
export function isKernelPercpuAddress(pcpu: Percpu, addr: number): boolean {
  return __isKernelPercpuAddress(pcpu, addr) >= 0;
}

/**
 * `per_cpu_ptr_to_phys(addr)`: the physical address of a percpu copy's
 * byte: the linear map for an embedded first chunk, the page tables for
 * vmalloc'd memory, the backend's addr_to_page for other chunks.
 * @kernel mm/percpu.c per_cpu_ptr_to_phys
 * @returns the physical address, or -1 when no page backs it.
 */
export function perCpuPtrToPhys(pcpu: Percpu, addr: number): number {
  const m = pcpu.machine;
  const pageSize = pcpu.constants.PAGE_SIZE;
  const firstLow = pcpu.baseAddr + pcpu.unitOffsets[pcpu.lowUnitCpu]!;
  const firstHigh = pcpu.baseAddr + pcpu.unitOffsets[pcpu.highUnitCpu]! + pcpu.unitPages * pageSize;
  let inFirstChunk = false;
  if (addr >= firstLow && addr < firstHigh) {
    for (const cpu of pcpu.possibleCpus) {
      const start = pcpu.baseAddr + pcpu.unitOffsets[cpu]!;
      if (addr >= start && addr < start + pcpu.unitSize) {
        inFirstChunk = true;
        break;
      }
    }
  }
  const inPage = addr % pageSize;
  if (inFirstChunk) {
    if (!m.vmalloc.isVmallocAddr(addr)) return m.__pa(addr);
    return m.pgtable.translate(addr);
  }
  const pfn = pcpu.backend.pcpuAddrToPage(addr);
  if (pfn < 0) return -1;
  return pfn * pageSize + inPage;
}

/** `__addr_to_pcpu_ptr(addr)`. */
export function addrToPcpuPtr(pcpu: Percpu, addr: number): PcpuPtr {
  return pcpu.archHooks().addrToPcpuPtr(addr);
}
