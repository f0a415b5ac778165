/*
 * Shared pieces of the kernel app's arch definitions: the kernel image's
 * static percpu section (`.data..percpu`, placed in boot memory like the
 * image's data) and a per-CPU register file for arches that keep their
 * percpu offset in CPU state (x86 segment base, arm TPIDRPRW, s390 lowcore).
 *
 * These definitions are the seam between the kernel app and the arch
 * packages: each arch file imports its @pcpu/arch-* package, and the
 * arch-specific facts it needs are taken from docs/arch-layer (spec
 * sections 2-3) until that package exports them.
 */

import { Machine, type MachineConfig } from "@pcpu/mm";
import {
  GenericPercpuArch,
  LOCAL_DISTANCE,
  type PcpuArchHooks,
  type PcpuCpuDistanceFn,
  type PcpuEra,
  type PcpuFc,
  type PcpuStaticSection,
  Percpu,
  pcpuEmbedFirstChunk,
} from "@pcpu/percpu";
import type { ArchBooted, KernelArchDefinition, KernelCoreParts, ResolvedKernelConfig } from "../api.js";
import { archConstantsOf } from "./constants.js";

/**
 * Boot memory for the kernel image's `.data..percpu` template, page
 * aligned on node 0; `__per_cpu_start` is its direct-map address. The
 * template holds the image's initialised percpu data: zero here except for
 * a recognisable word per page, so copies into units can be checked.
 */
export function placeStaticSectionInImage(
  machine: Machine,
  staticSize: number,
  _era: PcpuEra,
): PcpuStaticSection {
  const ps = machine.pageSize;
  const phys = machine.memblock.allocTryNid(Math.ceil(staticSize / ps) * ps, ps, 0, "vmlinux .data..percpu");
  if (phys < 0) throw new Error("Kernel panic - not syncing: no memory for the kernel image's .data..percpu");
  const perCpuStart = machine.__va(phys);
  for (let off = 0; off + 4 <= staticSize; off += ps)
    machine.mem.write32(perCpuStart + off, 0x70637075 ^ off);
  return { perCpuStart, staticSize, perCpuLoad: perCpuStart };
}

/**
 * Percpu hooks whose `__my_cpu_offset` comes from per-CPU state written
 * when the CPU comes up (a segment base, a system register, a lowcore
 * field) rather than from the `__per_cpu_offset[]` array: reading it
 * before it was published gives the boot value, not the array entry.
 */
export class RegisterPercpuArch extends GenericPercpuArch {
  /** The per-CPU register or field holding the CPU's offset. */
  readonly cpuReg: Float64Array;

  constructor(pcpu: Percpu, bits: 32 | 64, bootOffset = 0) {
    super(pcpu, bits, bootOffset);
    this.cpuReg = new Float64Array(pcpu.nrPossibleCpus).fill(bootOffset);
  }

  /** Publish CPU `cpu`'s offset into its register (set_my_cpu_offset, wrgsbase, lowcore store). */
  publish(cpu: number): void {
    this.cpuReg[cpu] = this.perCpuOffsets[cpu]!;
  }

  /** Publish every possible CPU's offset (boot CPU after setup, secondaries at bring-up). */
  publishAll(): void {
    for (let cpu = 0; cpu < this.pcpu.nrPossibleCpus; cpu++) this.publish(cpu);
  }

  /** `__my_cpu_offset`: the current CPU's register. */
  override myCpuOffset(): number {
    return this.cpuReg[this.pcpu.machine.ctx.cpu]!;
  }
}

/** `cpu_distance_fn` grouping CPUs of one node (x86 pcpu_cpu_distance). */
export function nodeDistanceFn(cpuToNode: readonly number[], remote: number): PcpuCpuDistanceFn {
  return (a, b) => (cpuToNode[a] === cpuToNode[b] ? LOCAL_DISTANCE : remote);
}

/**
 * The generic embed used by arm, sparc32 and s390 (and mm/percpu.c's
 * setup_per_cpu_areas): the module and dynamic reserves with page atoms,
 * warn-only distance check; panic on failure.
 */
export function embedOrPanic(
  pcpu: Percpu,
  reserved: number,
  dyn: number,
  atom: number,
  dist: PcpuCpuDistanceFn | null,
  cpuToNode: ((cpu: number) => number) | null,
  numa: boolean,
): void {
  const rc = pcpuEmbedFirstChunk(pcpu, reserved, dyn, atom, dist, cpuToNode, {
    pageFirstChunkAvailable: false,
    numa,
  });
  if (rc < 0) throw new KernelPanic("Failed to initialize percpu areas.");
}

/** A boot that cannot continue (`panic()`): the message after "Kernel panic - not syncing: ". */
export class KernelPanic extends Error {
  constructor(why: string) {
    super(`Kernel panic - not syncing: ${why}`);
    this.name = "KernelPanic";
  }
}

/** `0x` hex. */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** MiB, GiB in bytes. */
export const MiB = 2 ** 20;
export const GiB = 2 ** 30;
export const TiB = 2 ** 40;

/** What a stand-in arch is asked when the machine is built. */
export interface ArchMachineRequest {
  readonly cpus: number;
  readonly cpuToNode: readonly number[];
  readonly nrNodes: number;
  readonly memPerNode: number;
  readonly seed: number;
  readonly era: PcpuEra;
}

/** What a stand-in arch's setup_per_cpu_areas is told. */
export interface ArchSetupRequest {
  readonly percpuAlloc: PcpuFc;
  /** Overrides of the arch's own reserved/dyn/atom request; null keeps the arch's. */
  readonly reservedSize: number | null;
  readonly dynSize: number | null;
  readonly atomSize: number | null;
  /** CONFIG_NR_CPUS. */
  readonly nrCpus: number;
  /** CONFIG_NUMA with more than one node. */
  readonly numa: boolean;
  readonly cpuToNode: readonly number[];
}

/** A stand-in arch: the steps of its boot, written in this app. */
export interface StandInArchSpec extends Omit<KernelArchDefinition, "boot" | "source"> {
  machineConfig(req: ArchMachineRequest): MachineConfig;
  placeStaticSection(machine: Machine, staticSize: number, era: PcpuEra): PcpuStaticSection;
  setupPerCpuAreas(pcpu: Percpu, req: ArchSetupRequest): PcpuArchHooks;
}

/** A definition from a stand-in's steps: machine, section, core, setup. */
export function standInArch(spec: StandInArchSpec): KernelArchDefinition & StandInArchSpec {
  return {
    ...spec,
    source: "stand-in",
    boot(c: ResolvedKernelConfig, core: KernelCoreParts): ArchBooted {
      const machine = new Machine(
        spec.machineConfig({
          cpus: c.cpus,
          cpuToNode: c.cpuToNode,
          nrNodes: c.nodeCpus.length,
          memPerNode: c.memPerNode,
          seed: c.seed,
          era: c.era,
        }),
      );
      const section = spec.placeStaticSection(machine, c.staticSize, c.era);
      const pcpu = new Percpu({ machine, constants: archConstantsOf(spec, c), section, ...core });
      const arch = spec.setupPerCpuAreas(pcpu, {
        percpuAlloc: c.percpuAlloc,
        reservedSize: c.reservedSize,
        dynSize: c.dynSize,
        atomSize: c.atomSize,
        nrCpus: c.nrCpus,
        numa: c.nodeCpus.length > 1,
        cpuToNode: c.cpuToNode,
      });
      return { machine, pcpu, arch };
    },
  };
}
