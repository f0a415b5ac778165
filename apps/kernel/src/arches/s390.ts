/*
 * s390 (64-bit) as the kernel app boots it: @pcpu/arch-s390's S390Arch, and
 * the app's earlier stand-in: arch/s390/mm/init.c's
 * setup_per_cpu_areas (embed with the module and dynamic reserves, page
 * atoms, every CPU at LOCAL_DISTANCE so one group, all memory on node 0),
 * the CPU's offset read from its lowcore (`percpu_offset`, stored by
 * smp_prepare_boot_cpu / pcpu_prepare_secondary), big-endian. The identity
 * map base is randomised in v6.x; the model fixes it at 1 TiB and puts the
 * 510 GiB vmalloc area at 2 TiB.
 */

import { S390Arch } from "@pcpu/arch-s390";
import { LOCAL_DISTANCE, PCPU_ERAS, type Percpu } from "@pcpu/percpu";
import type { KernelArchDefinition } from "../api.js";
import {
  type ArchMachineRequest,
  type ArchSetupRequest,
  embedOrPanic,
  GiB,
  placeStaticSectionInImage,
  RegisterPercpuArch,
  standInArch,
  TiB,
} from "./common.js";
import { packageArch } from "./package-arch.js";

/** The stand-in used before @pcpu/arch-s390 existed. */
export const s390StandIn = standInArch({
  name: "s390",
  packageName: "@pcpu/arch-s390",
  bits: 64,
  pageShift: 12,
  nrCpusDefault: 64,
  nrCpusMax: 512,
  numa: false,
  groupsByNode: false,
  firstChunks: ["embed"],
  eras: PCPU_ERAS,
  defaultStaticSize: 0x20000,
  memPerNodeDefault: 1 * GiB,
  memTotalMax: 1 * TiB,
  machineConfig(req: ArchMachineRequest) {
    const total = req.nrNodes * req.memPerNode;
    return {
      pageShift: 12,
      bits: 64,
      vaBits: 48,
      nodes: [{ start: 0, size: total }],
      pageOffset: 1 * TiB,
      vmallocStart: 2 * TiB,
      vmallocEnd: 2 * TiB + 510 * GiB,
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
      () => LOCAL_DISTANCE,
      () => 0,
      false,
    );
    const arch = new RegisterPercpuArch(pcpu, 64);
    arch.fillOffsets();
    /* lowcore->percpu_offset of the boot CPU and of each secondary before it starts. */
    arch.publishAll();
    pcpu.arch = arch;
    return arch;
  },
});

/** s390 from @pcpu/arch-s390. */
export const s390: KernelArchDefinition = packageArch({
  name: "s390",
  packageName: "@pcpu/arch-s390",
  def: new S390Arch(),
  groupsByNode: false,
  memTotalMax: 1 * TiB,
});
