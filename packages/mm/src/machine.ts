/*
 * The machine: one booted kernel's memory world. Owns the log, execution
 * context, workqueue, fault injector, physical memory, page allocator,
 * memblock, page table, vmalloc space and virtual memory access, all built
 * from one MachineConfig that the arch layer fills in. Mirrors the boot-time
 * facts of a real machine: the NUMA layout (arch/x86/mm/numa.c's
 * `NUMA: Node ...` lines), the zones (mm/mm_init.c's `Zone ranges:`), the
 * direct map (__va / __pa, virt_addr_valid), and the virtual memory layout
 * some arches print from mem_init.
 *
 * Many machines may live in one process: there is no module-level state.
 */

import { MAX_PAGE_ORDER, type MachineConfig, type PhysAddr, type VirtAddr } from "./api.js";
import { KernelBug } from "./bug.js";
import { ExecContext } from "./context.js";
import { FaultInjector } from "./fault-inject.js";
import { Memblock } from "./memblock.js";
import { MemCgroupSubsys } from "./memcontrol.js";
import { KernelMemory } from "./memory.js";
import { PageAllocator } from "./page-alloc.js";
import { PageTable } from "./pgtable.js";
import { PhysMemory, sharedMemoryAvailable } from "./phys-mem.js";
import { Printk } from "./printk.js";
import { VmallocSpace } from "./vmalloc.js";
import { Workqueue } from "./workqueue.js";

/** A MachineConfig that cannot describe a machine. */
export class MachineConfigError extends Error {
  constructor(message: string) {
    super(`invalid MachineConfig: ${message}`);
    this.name = "MachineConfigError";
  }
}

/** `0x` + hex zero-padded to `digits`. */
function hexPad(a: number, digits: number): string {
  return `0x${a.toString(16).padStart(digits, "0")}`;
}

/** Checks a config; throws MachineConfigError naming the first problem. */
export function validateMachineConfig(c: MachineConfig): void {
  const fail = (m: string): never => {
    throw new MachineConfigError(m);
  };
  if (!Number.isInteger(c.pageShift) || c.pageShift < 12 || c.pageShift > 16)
    fail(`pageShift ${c.pageShift} must be an integer in [12, 16]`);
  if (c.bits !== 32 && c.bits !== 64) fail(`bits ${String(c.bits)} must be 32 or 64`);
  if (c.bits === 32 && c.vaBits !== 32) fail(`vaBits ${c.vaBits} must be 32 on a 32-bit machine`);
  if (c.bits === 64 && !(Number.isInteger(c.vaBits) && c.vaBits >= 32 && c.vaBits <= 52))
    fail(`vaBits ${c.vaBits} must be an integer in [32, 52] on a 64-bit machine`);
  const ps = 2 ** c.pageShift;
  const va = 2 ** c.vaBits;
  if (!Number.isInteger(c.nrCpus) || c.nrCpus < 1) fail(`nrCpus ${c.nrCpus} must be >= 1`);
  if (!Array.isArray(c.nodes) || c.nodes.length === 0) fail("nodes must list at least one node");
  const physLimit = 2 ** 52;
  c.nodes.forEach((n, i) => {
    if (!Number.isInteger(n.start) || n.start < 0 || n.start % ps !== 0)
      fail(`node ${i}: start ${n.start} is not page aligned (page size 0x${ps.toString(16)})`);
    if (!Number.isInteger(n.size) || n.size <= 0 || n.size % ps !== 0)
      fail(`node ${i}: size ${n.size} is not a positive multiple of the page size 0x${ps.toString(16)}`);
    if (n.start + n.size > physLimit) fail(`node ${i}: ends above 2^52`);
  });
  const sorted = c.nodes.map((n, i) => ({ n, i })).sort((a, b) => a.n.start - b.n.start);
  for (let k = 1; k < sorted.length; k++) {
    const p = sorted[k - 1]!;
    const q = sorted[k]!;
    if (p.n.start + p.n.size > q.n.start) fail(`node ${p.i} and node ${q.i} overlap`);
  }
  if (!Number.isInteger(c.pageOffset) || c.pageOffset < 0 || c.pageOffset % ps !== 0 || c.pageOffset >= va)
    fail(
      `pageOffset 0x${c.pageOffset.toString(16)} must be page aligned and inside the 2^${c.vaBits} address space`,
    );
  const physEnd = Math.max(...c.nodes.map((n) => n.start + n.size));
  const dms = c.directMapSize ?? physEnd;
  if (!Number.isInteger(dms) || dms < 0 || dms % ps !== 0) fail(`directMapSize ${dms} must be page aligned`);
  if (c.pageOffset + dms > va) fail(`the direct map [pageOffset, +directMapSize) leaves the address space`);
  const vs = c.vmallocStart;
  const ve = c.vmallocEnd;
  if (!Number.isInteger(vs) || !Number.isInteger(ve) || vs % ps !== 0 || ve % ps !== 0)
    fail("vmallocStart and vmallocEnd must be page aligned");
  if (!(vs >= 0 && vs < ve && ve <= va))
    fail(
      `vmalloc range 0x${vs.toString(16)}-0x${ve.toString(16)} must be non-empty and inside the address space`,
    );
  if (vs < c.pageOffset + dms && c.pageOffset < ve) fail("the vmalloc range overlaps the direct map");
  if (c.possibleCpus !== undefined) {
    const l = c.possibleCpus;
    if (!Array.isArray(l) || l.length === 0) fail("possibleCpus must list at least one CPU");
    l.forEach((cpu, i) => {
      if (!(Number.isInteger(cpu) && cpu >= 0 && cpu < c.nrCpus))
        fail(`possibleCpus[${i}] = ${cpu} is not a CPU id below nr_cpu_ids ${c.nrCpus}`);
      if (i > 0 && cpu <= l[i - 1]!)
        fail(`possibleCpus must be ascending without repeats (${l[i - 1]}, ${cpu})`);
    });
    if (l[0] !== 0) fail(`possibleCpus must hold CPU 0, the boot CPU (first is ${l[0]})`);
  }
  if (c.cpuToNode !== undefined) {
    if (c.cpuToNode.length !== c.nrCpus)
      fail(`cpuToNode has ${c.cpuToNode.length} entries for ${c.nrCpus} CPUs`);
    const possible = c.possibleCpus === undefined ? null : new Set(c.possibleCpus);
    c.cpuToNode.forEach((nid, cpu) => {
      /* an impossible CPU has no node (NUMA_NO_NODE) */
      if (possible !== null && !possible.has(cpu) && nid === -1) return;
      if (!(Number.isInteger(nid) && nid >= 0 && nid < c.nodes.length))
        fail(`cpuToNode[${cpu}] = ${nid} is not a node (0..${c.nodes.length - 1})`);
    });
  }
  if (c.nodeDistance !== undefined) {
    for (let a = 0; a < c.nodes.length; a++)
      for (let b = 0; b < c.nodes.length; b++) {
        const d = c.nodeDistance(a, b);
        if (!(Number.isInteger(d) && d >= 10 && d <= 255))
          fail(`nodeDistance(${a}, ${b}) = ${d} is not in [10, 255]`);
        if ((a === b) !== (d === 10)) fail(`nodeDistance(${a}, ${b}) = ${d}: only a node to itself is at 10`);
      }
  }
  if (
    c.maxPageOrder !== undefined &&
    !(Number.isInteger(c.maxPageOrder) && c.maxPageOrder >= 0 && c.maxPageOrder <= 20)
  )
    fail(`maxPageOrder ${c.maxPageOrder} must be an integer in [0, 20]`);
  if (c.seed !== undefined && !Number.isInteger(c.seed)) fail(`seed ${c.seed} must be an integer`);
  if (c.sharedMemory && !sharedMemoryAvailable()) fail("sharedMemory: this host has no SharedArrayBuffer");
}

/** One machine: everything the percpu allocator runs on. */
export class Machine {
  readonly config: MachineConfig;
  readonly log: Printk;
  readonly ctx: ExecContext;
  readonly wq: Workqueue;
  readonly faults: FaultInjector;
  readonly phys: PhysMemory;
  readonly pageAlloc: PageAllocator;
  readonly memblock: Memblock;
  readonly pgtable: PageTable;
  readonly vmalloc: VmallocSpace;
  readonly mem: KernelMemory;
  /** The memory controller (cgroup v2 memcg, kmem accounting). */
  readonly memcg: MemCgroupSubsys;
  /** PAGE_SIZE, PAGE_SHIFT. */
  readonly pageSize: number;
  readonly pageShift: number;
  readonly bits: 32 | 64;
  readonly vaBits: number;
  /** `nr_cpu_ids`: the highest possible CPU + 1. */
  readonly nrCpus: number;
  /** `cpu_possible_mask` (nrCpus bits). */
  readonly cpuPossibleMask: Uint32Array;
  /** The possible CPUs in ascending order: what `for_each_possible_cpu` visits. */
  readonly possibleCpus: Int32Array;
  /** `num_possible_cpus()`. */
  readonly numPossibleCpus: number;
  readonly nrNodes: number;
  readonly littleEndian: boolean;
  /** `cpu_to_node()` of every possible CPU. */
  readonly cpuToNode: Int32Array;
  /** PAGE_OFFSET and the direct map's size. */
  readonly pageOffset: VirtAddr;
  readonly directMapSize: number;
  private readonly distances: Int32Array;
  private readonly fmt: (a: number) => string;

  constructor(config: MachineConfig) {
    validateMachineConfig(config);
    this.config = config;
    this.pageShift = config.pageShift;
    this.pageSize = 2 ** config.pageShift;
    this.bits = config.bits;
    this.vaBits = config.vaBits;
    this.nrCpus = config.nrCpus;
    this.possibleCpus =
      config.possibleCpus !== undefined
        ? Int32Array.from(config.possibleCpus)
        : Int32Array.from({ length: config.nrCpus }, (_, i) => i);
    this.numPossibleCpus = this.possibleCpus.length;
    this.cpuPossibleMask = new Uint32Array(Math.ceil(config.nrCpus / 32));
    for (const cpu of this.possibleCpus) this.cpuPossibleMask[cpu >>> 5]! |= 1 << (cpu & 31);
    this.nrNodes = config.nodes.length;
    this.littleEndian = config.littleEndian ?? true;
    this.pageOffset = config.pageOffset;
    this.directMapSize = config.directMapSize ?? Math.max(...config.nodes.map((n) => n.start + n.size));
    this.cpuToNode = config.cpuToNode ? Int32Array.from(config.cpuToNode) : new Int32Array(config.nrCpus);
    const nn = this.nrNodes;
    this.distances = new Int32Array(nn * nn);
    for (let a = 0; a < nn; a++)
      for (let b = 0; b < nn; b++)
        this.distances[a * nn + b] = config.nodeDistance ? config.nodeDistance(a, b) : a === b ? 10 : 20;
    const digits = this.bits / 4;
    this.fmt = config.formatAddr ?? ((a: number) => a.toString(16).padStart(digits, "0"));

    this.log = new Printk();
    this.ctx = new ExecContext(this.nrCpus, this.log, this.cpuPossibleMask);
    this.log.attachTask(this.ctx);
    this.wq = new Workqueue(this.ctx, this.log);
    this.faults = new FaultInjector(config.seed ?? 1, this.log);
    this.phys = new PhysMemory(
      this.pageShift,
      config.nodes,
      this.littleEndian,
      config.sharedMemory ?? false,
      config.copyOnWrite ?? true,
    );
    this.pageAlloc = new PageAllocator(
      config.nodes,
      this.pageSize,
      this.directMapSize,
      config.maxPageOrder ?? MAX_PAGE_ORDER,
      (a, b) => this.nodeDistance(a, b),
      this.cpuToNode,
      this.phys,
      this.ctx,
      this.log,
      this.faults,
    );
    this.memblock = new Memblock(
      this.pageSize,
      this.directMapSize,
      this.pageAlloc,
      this.phys,
      this.faults,
      this.log,
    );
    this.pgtable = new PageTable(
      this.pageShift,
      this.bits,
      this.vaBits,
      this.pageOffset,
      this.directMapSize,
      this.phys,
      this.faults,
      this.log,
    );
    this.vmalloc = new VmallocSpace(
      config.vmallocStart,
      config.vmallocEnd,
      this.pageSize,
      this.pgtable,
      this.faults,
      this.log,
      config.vmallocTotal,
    );
    this.mem = new KernelMemory(this.pgtable, this.phys, this.log, this.fmt);
    this.memcg = new MemCgroupSubsys({
      ctx: this.ctx,
      log: this.log,
      wq: this.wq,
      nrCpus: this.nrCpus,
      pageShift: this.pageShift,
      bits: this.bits,
      seed: config.seed ?? 1,
    });
  }

  /** `node_distance(a, b)` (SLIT): 10 to itself, 20 elsewhere unless configured. */
  nodeDistance(a: number, b: number): number {
    if (!(a >= 0 && a < this.nrNodes && b >= 0 && b < this.nrNodes))
      throw new RangeError(`nodeDistance: no node ${a} or ${b}`);
    return this.distances[a * this.nrNodes + b]!;
  }

  /** An address as the arch prints it (no 0x). */
  formatAddr(a: number): string {
    return this.fmt(a);
  }

  /**
   * The direct-map address of physical `phys`; a BUG for memory the direct
   * map does not cover (highmem or beyond).
   * @kernel arch/x86/include/asm/page.h __va
   */
  __va(phys: PhysAddr): VirtAddr {
    if (!(Number.isInteger(phys) && phys >= 0 && phys < this.directMapSize))
      throw new KernelBug(`BUG: __va(0x${Number(phys).toString(16)}): not in the direct map`);
    return this.pageOffset + phys;
  }

  /**
   * The physical address of a direct-map address; a BUG for any other
   * address (CONFIG_DEBUG_VIRTUAL's check).
   * @kernel arch/x86/include/asm/page.h __pa
   */
  __pa(virt: VirtAddr): PhysAddr {
    if (!(virt >= this.pageOffset && virt < this.pageOffset + this.directMapSize))
      throw new KernelBug(`BUG: __pa(${this.fmt(virt)}): not a direct-map address`);
    return virt - this.pageOffset;
  }

  /** `virt_addr_valid()`: a direct-map address of existing memory. @kernel include/linux/mm.h virt_addr_valid */
  virtAddrValid(virt: VirtAddr): boolean {
    return (
      virt >= this.pageOffset &&
      virt < this.pageOffset + this.directMapSize &&
      this.phys.isPresent(virt - this.pageOffset)
    );
  }

  /** `page_address()` of a lowmem pfn (its direct-map address); -1 for highmem. */
  pageAddress(pfn: number): VirtAddr {
    const phys = pfn * this.pageSize;
    return phys < this.directMapSize ? this.pageOffset + phys : -1;
  }

  /**
   * The boot-time memory map the kernel prints: NUMA node ranges, zone
   * ranges, early node ranges, `Memory:` totals and the virtual layout.
   */
  memoryMapLines(): string[] {
    const physDigits =
      this.bits === 64 || Math.max(...this.config.nodes.map((n) => n.start + n.size)) > 2 ** 32 ? 16 : 8;
    const mem = (s: number, e: number) => `[mem ${hexPad(s, physDigits)}-${hexPad(e - 1, physDigits)}]`;
    const out: string[] = [];
    const nodes = this.config.nodes;
    for (let nid = 0; nid < nodes.length; nid++) {
      const n = nodes[nid]!;
      out.push(`NUMA: Node ${nid} ${mem(n.start, n.start + n.size)}`);
    }
    const physEnd = Math.max(...nodes.map((n) => n.start + n.size));
    const physStart = Math.min(...nodes.map((n) => n.start));
    out.push("Zone ranges:");
    const low = Math.min(this.directMapSize, physEnd);
    out.push(`  Normal   ${low > physStart ? mem(physStart, low) : "empty"}`);
    if (this.bits === 32)
      out.push(`  HighMem  ${physEnd > low ? mem(Math.max(low, physStart), physEnd) : "empty"}`);
    out.push("Movable zone start for each node");
    out.push("Early memory node ranges");
    for (let nid = 0; nid < nodes.length; nid++) {
      const n = nodes[nid]!;
      out.push(`  node ${String(nid).padStart(3)}: ${mem(n.start, n.start + n.size)}`);
    }
    for (let nid = 0; nid < nodes.length; nid++) {
      const n = nodes[nid]!;
      out.push(`Initmem setup node ${nid} ${mem(n.start, n.start + n.size)}`);
    }
    const totalK = nodes.reduce((t, n) => t + n.size, 0) / 1024;
    const freeK = (this.pageAlloc.nrFreePages() * this.pageSize) / 1024;
    out.push(`Memory: ${freeK}K/${totalK}K available (${totalK - freeK}K reserved)`);
    const f = (a: number) => `0x${this.fmt(a)}`;
    const mb = (s: number, e: number) => String(Math.floor((e - s) / 2 ** 20)).padStart(4);
    out.push("Virtual kernel memory layout:");
    out.push(
      `    vmalloc : ${f(this.vmalloc.start)} - ${f(this.vmalloc.end)}   (${mb(this.vmalloc.start, this.vmalloc.end)} MB)`,
    );
    const lowEnd = this.pageOffset + low;
    out.push(`    lowmem  : ${f(this.pageOffset)} - ${f(lowEnd)}   (${mb(this.pageOffset, lowEnd)} MB)`);
    return out;
  }
}
