/*
 * arch/arm/include/asm/percpu.h: on ARMv6K/v7 SMP kernels a CPU keeps its
 * own percpu offset in the privileged thread ID register TPIDRPRW
 * (cp15 c13, c0, 4):
 *
 *   __my_cpu_offset       mrc p15, 0, r, c13, c0, 4     (read the register)
 *   set_my_cpu_offset(o)  mcr p15, 0, r, c13, c0, 4     (write it)
 *
 *   smp_setup_processor_id()   boot CPU: set_my_cpu_offset(0), very early
 *   smp_prepare_boot_cpu()     boot CPU: set_my_cpu_offset(per_cpu_offset(0)),
 *                              right after setup_per_cpu_areas()
 *   secondary start / resume   set_my_cpu_offset(per_cpu_offset(cpu))
 *
 * The register scheme arrived in 2012; 2009 kernels (the v2.6.32 era) used
 * the asm-generic lookup `__per_cpu_offset[smp_processor_id()]`. A V6
 * kernel without SMP-on-UP has no TPIDRPRW and patches reads to load
 * `__per_cpu_offset[0]` (not modelled: the model is an SMP v7 kernel).
 */

import { ArchPercpu } from "@pcpu/arch-generic";
import type { Percpu } from "@pcpu/percpu";

/** The arm hooks: TPIDRPRW per CPU, 32-bit arithmetic. */
export class ArmPercpuArch extends ArchPercpu {
  /** Each CPU's TPIDRPRW. */
  readonly tpidrprw: Float64Array;
  /** Whether the kernel uses TPIDRPRW (v3.4+) or the asm-generic array (2009). */
  readonly usesTpidrprw: boolean;

  constructor(pcpu: Percpu, usesTpidrprw: boolean) {
    super(
      pcpu,
      "arm",
      32,
      0,
      usesTpidrprw ? "TPIDRPRW (mrc p15, 0, r, c13, c0, 4)" : "__per_cpu_offset[smp_processor_id()]",
    );
    this.usesTpidrprw = usesTpidrprw;
    /* smp_setup_processor_id() clears the boot CPU's; the others hold 0 until they start. */
    this.tpidrprw = new Float64Array(pcpu.nrCpuIds);
  }

  /**
   * `__my_cpu_offset`: read the CPU's TPIDRPRW (2009: the array entry).
   * @kernel arch/arm/include/asm/percpu.h __my_cpu_offset
   */
  override cpuOffsetOf(cpu: number): number {
    return this.usesTpidrprw ? this.tpidrprw[cpu]! : this.perCpuOffsets[cpu]!;
  }

  /**
   * `set_my_cpu_offset(off)` executed on `cpu`.
   * @kernel arch/arm/include/asm/percpu.h set_my_cpu_offset
   */
  setMyCpuOffset(cpu: number, off: number): void {
    this.checkCpu(cpu, "set_my_cpu_offset");
    if (this.usesTpidrprw) this.tpidrprw[cpu] = this.wrap(off);
  }

  /** `smp_prepare_boot_cpu()`: `set_my_cpu_offset(per_cpu_offset(smp_processor_id()))`. @kernel arch/arm/kernel/smp.c smp_prepare_boot_cpu */
  override smpPrepareBootCpu(): void {
    this.setMyCpuOffset(0, this.perCpuOffset(0));
    this.online[0] = 1;
  }

  /** A secondary CPU starts (secondary_start_kernel / cpu_init) and sets its own TPIDRPRW. */
  override bringUpCpu(cpu: number): void {
    super.bringUpCpu(cpu);
    this.setMyCpuOffset(cpu, this.perCpuOffset(cpu));
  }
}
