/*
 * 32-bit arm as the kernel app boots it: @pcpu/arch-arm's ArmArch, and the
 * app's earlier stand-in: no HAVE_SETUP_PER_CPU_AREA, so
 * mm/percpu.c's generic setup_per_cpu_areas (embed, page atoms, one group,
 * a warn-only distance check), with the CPU's offset kept in TPIDRPRW
 * (arch/arm/include/asm/percpu.h set_my_cpu_offset / __my_cpu_offset),
 * on the v6.x layout of arch/arm/mm/mmu.c (240 MiB vmalloc below 0xff800000).
 */

import { ArmArch } from "@pcpu/arch-arm";
import { PCPU_ERAS, type Percpu } from "@pcpu/percpu";
import type { KernelArchDefinition } from "../api.js";
import {
  type ArchMachineRequest,
  type ArchSetupRequest,
  embedOrPanic,
  GiB,
  MiB,
  placeStaticSectionInImage,
  RegisterPercpuArch,
  standInArch,
} from "./common.js";
import { packageArch } from "./package-arch.js";

/** The default lowmem limit: VMALLOC_END - 240M - VMALLOC_OFFSET - PAGE_OFFSET = 768 MiB. */
const ARM_LOWMEM_MAX = 0x3000_0000;

/** The stand-in used before @pcpu/arch-arm existed. */
export const armStandIn = standInArch({
  name: "arm",
  packageName: "@pcpu/arch-arm",
  bits: 32,
  pageShift: 12,
  nrCpusDefault: 4,
  nrCpusMax: 32,
  numa: false,
  groupsByNode: false,
  firstChunks: ["embed"],
  eras: PCPU_ERAS,
  defaultStaticSize: 0x10000,
  memPerNodeDefault: 256 * MiB,
  memTotalMax: 4 * GiB - 16 * MiB,
  machineConfig(req: ArchMachineRequest) {
    const total = req.nrNodes * req.memPerNode;
    const directMapSize = Math.min(total, ARM_LOWMEM_MAX);
    /* VMALLOC_START = (high_memory + VMALLOC_OFFSET) & ~(VMALLOC_OFFSET - 1) */
    const vmallocStart = Math.floor((0xc000_0000 + directMapSize + 8 * MiB) / (8 * MiB)) * 8 * MiB;
    return {
      pageShift: 12,
      bits: 32,
      vaBits: 32,
      nodes: [{ start: 0, size: total }],
      pageOffset: 0xc000_0000,
      directMapSize,
      vmallocStart,
      vmallocEnd: 0xff80_0000,
      nrCpus: req.cpus,
      cpuToNode: req.cpuToNode,
      seed: req.seed,
    };
  },
  placeStaticSection: placeStaticSectionInImage,
  setupPerCpuAreas(pcpu: Percpu, req: ArchSetupRequest) {
    const k = pcpu.constants;
    embedOrPanic(
      pcpu,
      req.reservedSize ?? k.PERCPU_MODULE_RESERVE,
      req.dynSize ?? k.PERCPU_DYNAMIC_RESERVE,
      req.atomSize ?? k.PAGE_SIZE,
      null,
      null,
      false,
    );
    const arch = new RegisterPercpuArch(pcpu, 32);
    arch.fillOffsets();
    /* smp_prepare_boot_cpu (CPU 0) and cpu_init on each secondary: set_my_cpu_offset. */
    arch.publishAll();
    pcpu.arch = arch;
    return arch;
  },
});

/** arm from @pcpu/arch-arm. */
export const arm: KernelArchDefinition = packageArch({
  name: "arm",
  packageName: "@pcpu/arch-arm",
  def: new ArmArch(),
  groupsByNode: false,
  memTotalMax: 4 * GiB,
});
