/*
 * sparc32 finds its percpu offset the asm-generic way
 * (arch/sparc/include/asm/percpu_32.h only includes asm-generic/percpu.h):
 *
 *   __my_cpu_offset = __per_cpu_offset[raw_smp_processor_id()]
 *   raw_smp_processor_id() = current_thread_info()->cpu     (asm/smp_32.h)
 *
 * So the per-CPU state is the `cpu` field of the thread_info of the task
 * running on the CPU, not the CPU itself. The boot CPU runs init_task
 * (cpu 0); a secondary runs its idle task, whose thread_info gets the CPU
 * number in init_idle() before the CPU starts. A CPU without its idle task
 * set up reads entry 0: the boot CPU's offset, not its own.
 */

import { ArchPercpu } from "@pcpu/arch-generic";
import type { Percpu } from "@pcpu/percpu";

/** The sparc32 hooks: the generic array indexed by current_thread_info()->cpu, 32-bit, big-endian. */
export class Sparc32PercpuArch extends ArchPercpu {
  /** `current_thread_info()->cpu` of the task each CPU runs. */
  readonly threadInfoCpu: Int32Array;

  constructor(pcpu: Percpu) {
    super(pcpu, "sparc32", 32, 0, "__per_cpu_offset[current_thread_info()->cpu]");
    this.threadInfoCpu = new Int32Array(pcpu.nrCpuIds);
  }

  /**
   * `__my_cpu_offset`: the array entry of the CPU number in the current
   * thread_info.
   * @kernel include/asm-generic/percpu.h __my_cpu_offset
   */
  override cpuOffsetOf(cpu: number): number {
    return this.perCpuOffsets[this.threadInfoCpu[cpu]!]!;
  }

  /**
   * The secondary's idle task gets `ti->cpu = cpu` (init_idle) and the CPU
   * starts running it.
   * @kernel kernel/sched/core.c init_idle
   */
  override bringUpCpu(cpu: number): void {
    super.bringUpCpu(cpu);
    this.threadInfoCpu[cpu] = cpu;
  }

  /** Run a task whose thread_info says `tiCpu` on `cpu` (tests: what the lookup follows). */
  setThreadInfoCpu(cpu: number, tiCpu: number): void {
    this.checkCpu(cpu, "setThreadInfoCpu");
    this.checkCpu(tiCpu, "setThreadInfoCpu");
    this.threadInfoCpu[cpu] = tiCpu;
  }
}
