/*
 * arch/arm64/include/asm/percpu.h: a CPU keeps its own percpu offset in a
 * thread ID register of the exception level the kernel runs at:
 *
 *   kernel at EL1            TPIDR_EL1   (mrs x, tpidr_el1 / msr tpidr_el1, x)
 *   VHE kernel at EL2        TPIDR_EL2   (the same instruction patched by the
 *                                         ARM64_HAS_VIRT_HOST_EXTN alternative)
 *
 *   __my_cpu_offset          read the register
 *   set_my_cpu_offset(off)   write it
 *
 *   smp_setup_processor_id() boot CPU: set_my_cpu_offset(0), very early
 *   smp_prepare_boot_cpu()   boot CPU: set_my_cpu_offset(per_cpu_offset(0)),
 *                            right after setup_per_cpu_areas()
 *   secondary start          each CPU loads its __per_cpu_offset[] entry
 *                            into its register before entering C
 *                            (init_cpu_task / secondary_start_kernel)
 *
 * Which register a kernel uses is decided once at boot for every CPU (VHE
 * needs ARMv8.1 hardware and a kernel entered at EL2; guests run at EL1).
 */

import { ArchPercpu } from "@pcpu/arch-generic";
import type { Percpu } from "@pcpu/percpu";
import { arm64FormatAddr } from "./layout.js";

/** The arm64 hooks: TPIDR_EL1 or TPIDR_EL2 per CPU, 64-bit arithmetic in the internal 48-bit form. */
export class Arm64PercpuArch extends ArchPercpu {
  /** Each CPU's TPIDR_EL1 (the offset register of an EL1 kernel). */
  readonly tpidrEl1: Float64Array;
  /** Each CPU's TPIDR_EL2 (the offset register of a VHE kernel at EL2). */
  readonly tpidrEl2: Float64Array;
  /** Whether the kernel runs at EL2 with VHE (offsets in TPIDR_EL2). */
  readonly vhe: boolean;

  constructor(pcpu: Percpu, vhe: boolean) {
    super(
      pcpu,
      "arm64",
      64,
      0,
      vhe ? "TPIDR_EL2 (mrs x, tpidr_el2; VHE at EL2)" : "TPIDR_EL1 (mrs x, tpidr_el1)",
    );
    this.vhe = vhe;
    /* smp_setup_processor_id() clears the boot CPU's; the others hold 0 until they start. */
    this.tpidrEl1 = new Float64Array(pcpu.nrCpuIds);
    this.tpidrEl2 = new Float64Array(pcpu.nrCpuIds);
  }

  /** The register this kernel keeps offsets in. */
  private get register(): Float64Array {
    return this.vhe ? this.tpidrEl2 : this.tpidrEl1;
  }

  /** Pointer arithmetic modulo 2^48: the internal form of the upper-half kernel addresses. */
  override wrap(v: number): number {
    const VA = 2 ** 48;
    return v >= 0 && v < VA ? v : ((v % VA) + VA) % VA;
  }

  /**
   * `__my_cpu_offset`: read the CPU's TPIDR_EL1 (TPIDR_EL2 with VHE).
   * @kernel arch/arm64/include/asm/percpu.h __kern_my_cpu_offset
   */
  override cpuOffsetOf(cpu: number): number {
    return this.register[cpu]!;
  }

  /**
   * `set_my_cpu_offset(off)` executed on `cpu`.
   * @kernel arch/arm64/include/asm/percpu.h set_my_cpu_offset
   */
  setMyCpuOffset(cpu: number, off: number): void {
    this.checkCpu(cpu, "set_my_cpu_offset");
    this.register[cpu] = this.wrap(off);
  }

  /** `smp_prepare_boot_cpu()`: `set_my_cpu_offset(per_cpu_offset(smp_processor_id()))`. @kernel arch/arm64/kernel/smp.c smp_prepare_boot_cpu */
  override smpPrepareBootCpu(): void {
    this.setMyCpuOffset(0, this.perCpuOffset(0));
    this.online[0] = 1;
  }

  /** A secondary CPU starts and loads its own offset into its register. @kernel arch/arm64/kernel/smp.c secondary_start_kernel */
  override bringUpCpu(cpu: number): void {
    super.bringUpCpu(cpu);
    this.setMyCpuOffset(cpu, this.perCpuOffset(cpu));
  }

  /** `%px`: 16 digits, the kernel half 0xffff... */
  override formatAddr(addr: number): string {
    return arm64FormatAddr(this.wrap(addr));
  }
}
