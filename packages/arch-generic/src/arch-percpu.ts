/*
 * The arch hooks of one kernel as include/asm-generic/percpu.h defines them,
 * built so that each arch overrides only what its asm/percpu.h overrides:
 *
 *   __per_cpu_offset[]      the array setup_per_cpu_areas() fills (inherited
 *                           from the core's GenericPercpuArch)
 *   __my_cpu_offset         how the *current* CPU finds its own offset:
 *                           asm-generic indexes the array with the CPU number;
 *                           x86 reads through a segment base, arm a
 *                           coprocessor register, s390 its lowcore
 *   publication             when that per-CPU mechanism learns the offset:
 *                           smp_prepare_boot_cpu() for the boot CPU, the
 *                           secondary bring-up for the others (a no-op here,
 *                           the array is the mechanism)
 *   pointer arithmetic      unsigned, modulo 2^BITS (RELOC_HIDE is a plain
 *                           add); `wrap()` is the one place that knows the width
 *   %px                     `formatAddr()`
 *
 * The per-CPU mechanism is separate state on purpose: a CPU that reads its
 * offset before it was published gets whatever its register held (0 or the
 * boot value), never the array entry it should have had.
 */

import type { Machine } from "@pcpu/mm";
import { GenericPercpuArch, type PcpuPtr, type Percpu } from "@pcpu/percpu";
import type { ArchId } from "./api.js";

const TWO32 = 2 ** 32;

/** The asm-generic hooks; arch packages subclass this. */
export class ArchPercpu extends GenericPercpuArch {
  readonly archId: ArchId;
  /** The value every `__per_cpu_offset[]` entry and offset register holds before setup. */
  readonly bootOffset: number;
  /** How `__my_cpu_offset` is found, for READMEs and dumps. */
  readonly mechanism: string;
  /** CPUs that have published their offset (boot CPU after smp_prepare_boot_cpu, secondaries once up). */
  readonly online: Uint8Array;
  protected readonly machine: Machine;

  constructor(pcpu: Percpu, archId: ArchId, bits: 32 | 64, bootOffset: number, mechanism: string) {
    super(pcpu, bits, bootOffset);
    this.archId = archId;
    this.bootOffset = bootOffset;
    this.mechanism = mechanism;
    this.machine = pcpu.machine;
    this.online = new Uint8Array(pcpu.nrCpuIds);
  }

  /** An unsigned long result: modulo 2^32 on 32-bit arches. Subclasses with another width override. */
  wrap(v: number): number {
    if (this.bits === 32) return v >= 0 && v < TWO32 ? v : ((v % TWO32) + TWO32) % TWO32;
    return v;
  }

  /** `SHIFT_PERCPU_PTR(p, off)`: `p + off` in unsigned long arithmetic. @kernel include/linux/percpu-defs.h SHIFT_PERCPU_PTR */
  override ptrAdd(p: number, off: number): number {
    return this.wrap(p + off);
  }

  /**
   * `__addr_to_pcpu_ptr(addr)`; the identity on a uniprocessor kernel.
   * @kernel mm/percpu.c __addr_to_pcpu_ptr
   */
  override addrToPcpuPtr(addr: number): PcpuPtr {
    if (!this.smp) return this.wrap(addr) as PcpuPtr;
    return this.wrap(addr - this.pcpu.baseAddr + this.pcpu.section.perCpuStart) as PcpuPtr;
  }

  /**
   * `__pcpu_ptr_to_addr(ptr)`; the identity on a uniprocessor kernel.
   * @kernel mm/percpu.c __pcpu_ptr_to_addr
   */
  override pcpuPtrToAddr(ptr: PcpuPtr): number {
    if (!this.smp) return this.wrap(ptr);
    return this.wrap(ptr + this.pcpu.baseAddr - this.pcpu.section.perCpuStart);
  }

  /** `CONFIG_SMP`: false once `uniprocessor()` ran. */
  get smp(): boolean {
    return this.pcpu.options.smp;
  }

  /**
   * A !CONFIG_SMP kernel: `per_cpu_ptr(p, cpu)` and `this_cpu_ptr(p)` are
   * `p` itself (include/linux/percpu-defs.h), so every offset is 0 and no
   * CPU has a mechanism to publish one.
   */
  uniprocessor(): void {
    this.perCpuOffsets.fill(0);
  }

  /**
   * The tail of setup_per_cpu_areas(): `__per_cpu_offset[cpu] =
   * (pcpu_base_addr - __per_cpu_start) + pcpu_unit_offsets[cpu]` for every
   * possible CPU, unsigned.
   * @kernel mm/percpu.c setup_per_cpu_areas
   */
  override fillOffsets(): void {
    const delta = this.pcpu.baseAddr - this.pcpu.section.perCpuStart;
    for (const cpu of this.pcpu.possibleCpus) {
      this.perCpuOffsets[cpu] = this.wrap(delta + this.pcpu.unitOffsets[cpu]!);
    }
  }

  /**
   * The offset CPU `cpu`'s own mechanism yields right now, i.e. what
   * `__my_cpu_offset` evaluates to when `cpu` runs it. asm-generic:
   * `per_cpu_offset(raw_smp_processor_id())`.
   * @kernel include/asm-generic/percpu.h __my_cpu_offset
   */
  cpuOffsetOf(cpu: number): number {
    return this.perCpuOffsets[cpu]!;
  }

  /** `__my_cpu_offset` of the current CPU, through the arch's mechanism (0 on UP: no offsets). */
  override myCpuOffset(): number {
    if (!this.smp) return 0;
    return this.cpuOffsetOf(this.machine.ctx.cpu);
  }

  /**
   * `smp_prepare_boot_cpu()`'s percpu part: the boot CPU starts using its
   * unit. asm-generic has nothing to publish.
   * @context boot, right after setup_per_cpu_areas().
   */
  smpPrepareBootCpu(): void {
    this.online[0] = 1;
  }

  /**
   * A secondary CPU comes up (`__cpu_up` .. `secondary_start_kernel`) and
   * publishes its offset in its own mechanism.
   * @context boot or CPU hotplug, after setup_per_cpu_areas().
   */
  bringUpCpu(cpu: number): void {
    this.checkCpu(cpu, "bringUpCpu");
    this.online[cpu] = 1;
  }

  /** Every possible secondary CPU comes up (smp_init). */
  bringUpSecondaries(): void {
    for (const cpu of this.pcpu.possibleCpus) if (cpu !== 0) this.bringUpCpu(cpu);
  }

  /** `%px`: zero-padded lowercase hex of the pointer width, after wrapping. */
  override formatAddr(addr: number): string {
    return this.wrap(addr)
      .toString(16)
      .padStart(this.bits / 4, "0");
  }

  protected checkCpu(cpu: number, what: string): void {
    if (!(Number.isInteger(cpu) && cpu >= 0 && cpu < this.pcpu.nrCpuIds)) {
      throw new RangeError(`${what}: cpu ${cpu} is not a possible CPU (nr_cpu_ids ${this.pcpu.nrCpuIds})`);
    }
    if (((this.pcpu.cpuPossibleMask[cpu >>> 5]! >>> (cpu & 31)) & 1) === 0)
      throw new RangeError(`${what}: cpu ${cpu} is not a possible CPU (a hole in cpu_possible_mask)`);
  }
}
