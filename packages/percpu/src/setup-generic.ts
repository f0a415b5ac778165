/*
 * The generic arch side of percpu: asm-generic/percpu.h (the
 * __per_cpu_offset[] array, __my_cpu_offset through the CPU number,
 * SHIFT_PERCPU_PTR arithmetic) and the generic setup_per_cpu_areas() of
 * mm/percpu.c for arches without HAVE_SETUP_PER_CPU_AREA.
 *
 * Arch packages specialise these: x86 finds its offset through a segment
 * base, arm through TPIDRPRW, s390 through the lowcore; sparc32 keeps the
 * generic lookup. Everything an arch overrides is a method here, so the
 * differences stay readable side by side.
 */

import { NUMA_NO_NODE } from "@pcpu/mm";
import { pcpuAllocAllocInfo } from "./alloc-info.js";
import type { PcpuArchHooks, PcpuPtr } from "./api.js";
import { pcpuEmbedFirstChunk } from "./embed.js";
import { pcpuSetupFirstChunk } from "./first-chunk.js";
import type { Percpu } from "./percpu.js";

/**
 * asm-generic percpu hooks: `__per_cpu_offset[]` indexed by the current
 * CPU number, pointer arithmetic in the arch's width, the generic
 * `__addr_to_pcpu_ptr` / `__pcpu_ptr_to_addr`.
 */
export class GenericPercpuArch implements PcpuArchHooks {
  readonly bits: 32 | 64;
  /** `__per_cpu_offset[NR_CPUS]`: filled by setup_per_cpu_areas. */
  readonly perCpuOffsets: Float64Array;
  protected readonly pcpu: Percpu;

  constructor(pcpu: Percpu, bits: 32 | 64, bootOffset = 0) {
    this.pcpu = pcpu;
    this.bits = bits;
    this.perCpuOffsets = new Float64Array(pcpu.nrCpuIds).fill(bootOffset);
  }

  /** `SHIFT_PERCPU_PTR`: a plain add, modulo 2^32 on 32-bit arches. */
  ptrAdd(p: number, off: number): number {
    return this.bits === 32 ? (p + off) >>> 0 : p + off;
  }

  /** `per_cpu_offset(cpu)`. @kernel include/asm-generic/percpu.h per_cpu_offset */
  perCpuOffset(cpu: number): number {
    return this.perCpuOffsets[cpu]!;
  }

  /** `__my_cpu_offset`: `per_cpu_offset(raw_smp_processor_id())`. @kernel include/asm-generic/percpu.h __my_cpu_offset */
  myCpuOffset(): number {
    return this.perCpuOffsets[this.pcpu.machine.ctx.cpu]!;
  }

  /** `__addr_to_pcpu_ptr(addr)`: `addr - pcpu_base_addr + __per_cpu_start`. @kernel mm/percpu.c __addr_to_pcpu_ptr */
  addrToPcpuPtr(addr: number): PcpuPtr {
    const p = addr - this.pcpu.baseAddr + this.pcpu.section.perCpuStart;
    return (this.bits === 32 ? p >>> 0 : p) as PcpuPtr;
  }

  /** `__pcpu_ptr_to_addr(ptr)`: the inverse. @kernel mm/percpu.c __pcpu_ptr_to_addr */
  pcpuPtrToAddr(ptr: PcpuPtr): number {
    const a = ptr + this.pcpu.baseAddr - this.pcpu.section.perCpuStart;
    return this.bits === 32 ? a >>> 0 : a;
  }

  /** `%px`: zero-padded lowercase hex of the pointer width. */
  formatAddr(addr: number): string {
    return addr.toString(16).padStart(this.bits / 4, "0");
  }

  /**
   * Fill `__per_cpu_offset[]` after the first chunk is set up:
   * `pcpu_base_addr - __per_cpu_start + pcpu_unit_offsets[cpu]`, wrapped,
   * for each possible CPU (an impossible CPU keeps its boot value).
   */
  fillOffsets(): void {
    const delta = this.pcpu.baseAddr - this.pcpu.section.perCpuStart;
    for (const cpu of this.pcpu.possibleCpus) {
      const off = delta + this.pcpu.unitOffsets[cpu]!;
      this.perCpuOffsets[cpu] = this.bits === 32 ? off >>> 0 : off;
    }
  }
}

/**
 * The generic `setup_per_cpu_areas()`: embed with the module reserve, the
 * dynamic reserve and page-sized atoms, no NUMA distance; panic on failure;
 * then the offsets.
 * @kernel mm/percpu.c setup_per_cpu_areas
 * @context boot.
 */
export function setupPerCpuAreasGeneric(pcpu: Percpu, arch: GenericPercpuArch, numa = false): void {
  const k = pcpu.constants;
  const rc = pcpuEmbedFirstChunk(
    pcpu,
    k.PERCPU_MODULE_RESERVE,
    k.PERCPU_DYNAMIC_RESERVE,
    k.PAGE_SIZE,
    null,
    null,
    {
      pageFirstChunkAvailable: false,
      numa,
    },
  );
  if (rc < 0) throw new Error("Kernel panic - not syncing: Failed to initialize percpu areas.");
  arch.fillOffsets();
  pcpu.arch = arch;
}

/**
 * The uniprocessor `setup_per_cpu_areas()` (mm/percpu.c, !CONFIG_SMP): one
 * unit of roundup_pow_of_two(max(PCPU_MIN_UNIT_SIZE,
 * PERCPU_DYNAMIC_RESERVE)) bytes of boot memory, all of it dynamic (static
 * percpu variables are ordinary variables on UP), handed to
 * pcpu_setup_first_chunk as a one-group, one-unit layout. Percpu pointers
 * are plain addresses on UP (the arch hooks' identity mapping), and the
 * kernel runs percpu-km. Every arch's UP kernel runs this one: the arch
 * setup code is SMP-only.
 * @kernel mm/percpu.c setup_per_cpu_areas
 * @context boot; throws the kernel's panic text when boot memory runs out.
 */
export function setupPerCpuAreasUp(pcpu: Percpu): void {
  const k = pcpu.constants;
  const m = pcpu.machine;
  const unitSize = 2 ** Math.ceil(Math.log2(Math.max(k.PCPU_MIN_UNIT_SIZE, k.PERCPU_DYNAMIC_RESERVE)));
  const ai = pcpuAllocAllocInfo(1, 1, k.NR_CPUS);
  /* memblock_alloc_from(unit_size, PAGE_SIZE, __pa(MAX_DMA_ADDRESS)): top-down, far above the DMA zone. */
  const phys = m.memblock.allocTryNid(unitSize, k.PAGE_SIZE, NUMA_NO_NODE, "setup_per_cpu_areas");
  if (phys < 0) throw new Error("Kernel panic - not syncing: Failed to allocate memory for percpu areas.");
  ai.dynSize = unitSize;
  ai.unitSize = unitSize;
  ai.atomSize = unitSize;
  ai.allocSize = unitSize;
  ai.groups[0]!.nrUnits = 1;
  ai.groups[0]!.cpuMap[0] = 0;
  pcpuSetupFirstChunk(pcpu, ai, m.__va(phys));
}
