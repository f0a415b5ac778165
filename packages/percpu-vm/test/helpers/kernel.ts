/*
 * Test kernels for the vm backend: the core's test kernel with the vm
 * backend, a recording trace sink and stats observer, and NUMA layouts
 * grouped by node with 2 MiB atoms (x86_64's embed setup).
 */

import type { PcpuObserver, PcpuTraceEvent, PcpuTraceSink } from "@pcpu/percpu";
import { bootTestKernel, type TestKernel } from "@pcpu/percpu/testing";
import { type PercpuVm, percpuVm } from "../../src/index.js";

export class Recorder implements PcpuTraceSink, PcpuObserver {
  readonly events: PcpuTraceEvent[] = [];
  chunks = 0;
  emit(ev: PcpuTraceEvent): void {
    this.events.push(ev);
  }
  saveAi(): void {}
  areaAlloc(): void {}
  areaDealloc(): void {}
  chunkAlloc(): void {
    this.chunks++;
  }
  chunkDealloc(): void {
    this.chunks--;
  }
}

export interface VmKernel extends TestKernel {
  readonly vm: PercpuVm;
  readonly rec: Recorder;
}

/** A kernel of `cpus` CPUs over `nodes` nodes, one unit group per node, 2 MiB atoms. */
export function bootVm(cpus: number, nodes: number, seed = 1): VmKernel {
  const rec = new Recorder();
  const k = bootTestKernel({
    population: percpuVm,
    cpus,
    nodes,
    numaGroups: nodes > 1,
    atomSize: 0x200000,
    observer: rec,
    trace: rec,
    seed,
  });
  return { ...k, vm: k.pcpu.backend as PercpuVm, rec };
}
