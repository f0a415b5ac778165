/*
 * s390 finds its percpu offset in its lowcore, the per-CPU prefix page
 * (arch/s390/include/asm/percpu.h, asm/lowcore.h):
 *
 *   __my_cpu_offset = get_lowcore()->percpu_offset   (one `ag` in arch_raw_cpu_ptr)
 *
 *   smp_prepare_boot_cpu()    boot lowcore.percpu_offset = __per_cpu_offset[0]
 *   pcpu_prepare_secondary()  new lowcore.percpu_offset = __per_cpu_offset[cpu],
 *                             before the SIGP restart that starts the CPU
 *
 * A CPU reading the field before it was stored gets 0 (a fresh lowcore),
 * i.e. the template itself.
 */

import { ArchPercpu } from "@pcpu/arch-generic";
import type { Percpu } from "@pcpu/percpu";

/** The s390 hooks: the lowcore field per CPU, 64-bit, big-endian. */
export class S390PercpuArch extends ArchPercpu {
  /** `lowcore.percpu_offset` of each CPU's prefix page. */
  readonly lowcorePercpuOffset: Float64Array;

  constructor(pcpu: Percpu) {
    super(pcpu, "s390", 64, 0, "get_lowcore()->percpu_offset");
    this.lowcorePercpuOffset = new Float64Array(pcpu.nrCpuIds);
  }

  /**
   * `__my_cpu_offset`: the CPU's lowcore field.
   * @kernel arch/s390/include/asm/percpu.h __my_cpu_offset
   */
  override cpuOffsetOf(cpu: number): number {
    return this.lowcorePercpuOffset[cpu]!;
  }

  /** `smp_prepare_boot_cpu()`: store `__per_cpu_offset[0]` in the boot lowcore. @kernel arch/s390/kernel/smp.c smp_prepare_boot_cpu */
  override smpPrepareBootCpu(): void {
    this.lowcorePercpuOffset[0] = this.perCpuOffset(0);
    this.online[0] = 1;
  }

  /**
   * `pcpu_prepare_secondary()`'s store into the new CPU's lowcore, then
   * the CPU starts.
   * @kernel arch/s390/kernel/smp.c pcpu_prepare_secondary
   */
  override bringUpCpu(cpu: number): void {
    super.bringUpCpu(cpu);
    this.lowcorePercpuOffset[cpu] = this.perCpuOffset(cpu);
  }

  /** Overwrite `cpu`'s lowcore field (tests: what this_cpu follows). */
  writeLowcore(cpu: number, off: number): void {
    this.checkCpu(cpu, "writeLowcore");
    this.lowcorePercpuOffset[cpu] = off;
  }
}
