/*
 * sparc32 as the kernel app boots it: @pcpu/arch-sparc32's Sparc32Arch, and
 * the app's earlier stand-in: asm-generic percpu (the offset is
 * `__per_cpu_offset[current_thread_info()->cpu]`), the generic
 * setup_per_cpu_areas of mm/percpu.c, big-endian, on the SRMMU layout
 * (PAGE_OFFSET 0xf0000000, at most 192 MiB of lowmem, 22 MiB of vmalloc at
 * 0xfe600000, arch/sparc/include/asm/pgtable_32.h).
 */

import { Sparc32Arch } from "@pcpu/arch-sparc32";
import { GenericPercpuArch, PCPU_ERAS, type Percpu } from "@pcpu/percpu";
import type { KernelArchDefinition } from "../api.js";
import {
  type ArchMachineRequest,
  type ArchSetupRequest,
  embedOrPanic,
  GiB,
  MiB,
  placeStaticSectionInImage,
  standInArch,
} from "./common.js";
import { packageArch } from "./package-arch.js";

/** SRMMU_MAXMEM. */
const SPARC32_LOWMEM_MAX = 0x0c00_0000;

/** The stand-in used before @pcpu/arch-sparc32 existed. */
export const sparc32StandIn = standInArch({
  name: "sparc32",
  packageName: "@pcpu/arch-sparc32",
  bits: 32,
  pageShift: 12,
  nrCpusDefault: 32,
  nrCpusMax: 32,
  numa: false,
  groupsByNode: false,
  firstChunks: ["embed"],
  eras: PCPU_ERAS,
  defaultStaticSize: 0x8000,
  memPerNodeDefault: 128 * MiB,
  memTotalMax: 1 * GiB,
  machineConfig(req: ArchMachineRequest) {
    const total = req.nrNodes * req.memPerNode;
    return {
      pageShift: 12,
      bits: 32,
      vaBits: 32,
      nodes: [{ start: 0, size: total }],
      pageOffset: 0xf000_0000,
      directMapSize: Math.min(total, SPARC32_LOWMEM_MAX),
      vmallocStart: 0xfe60_0000,
      vmallocEnd: 0xffc0_0000,
      nrCpus: req.cpus,
      cpuToNode: req.cpuToNode,
      seed: req.seed,
      littleEndian: false,
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
    const arch = new GenericPercpuArch(pcpu, 32);
    arch.fillOffsets();
    pcpu.arch = arch;
    return arch;
  },
});

/** sparc32 from @pcpu/arch-sparc32. */
export const sparc32: KernelArchDefinition = packageArch({
  name: "sparc32",
  packageName: "@pcpu/arch-sparc32",
  def: new Sparc32Arch(),
  groupsByNode: false,
  memTotalMax: 4 * GiB,
});
