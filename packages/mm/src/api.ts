/*
 * @pcpu/mm api: the types and constants of the machine the percpu allocator
 * runs on. Only types and constants live here; every other file in src/ is
 * one kernel concept (page-alloc.ts, memblock.ts, vmalloc.ts, pgtable.ts,
 * memory.ts, workqueue.ts, printk.ts, context.ts, fault-inject.ts, gfp.ts,
 * machine.ts).
 *
 * Addresses are plain numbers (safe integers below 2^53), never bigint on hot
 * paths. The machine knows nothing of percpu; it is configured by an arch
 * layer (page size, address width, PAGE_OFFSET, vmalloc range, NUMA layout).
 */

/** A physical address in bytes. */
export type PhysAddr = number;
/** A kernel virtual address in the machine's internal (canonical) form. */
export type VirtAddr = number;
/** A page frame number: PhysAddr >> PAGE_SHIFT. */
export type Pfn = number;

/** Kernel errno values used across the model (returned negated, like the kernel). */
export const ENOMEM = 12;
export const EINVAL = 22;
export const EBUSY = 16;
export const EINTR = 4;

/** printk levels, `KERN_EMERG` (0) .. `KERN_DEBUG` (7); `KERN_DEFAULT` logs at 4. */
export const LOGLEVEL_EMERG = 0;
export const LOGLEVEL_ALERT = 1;
export const LOGLEVEL_CRIT = 2;
export const LOGLEVEL_ERR = 3;
export const LOGLEVEL_WARNING = 4;
export const LOGLEVEL_NOTICE = 5;
export const LOGLEVEL_INFO = 6;
export const LOGLEVEL_DEBUG = 7;
export type LogLevel = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;

/** One line of the kernel log as `dmesg` would show it. */
export interface LogLine {
  /** Monotonic sequence number (0-based). */
  readonly seq: number;
  readonly level: LogLevel;
  /** The text without level or timestamp, e.g. `percpu: Embedded 45 pages/cpu s147456 r8192 d28672 u262144`. */
  readonly text: string;
}

/** One NUMA node of the machine: a contiguous physical range. */
export interface NodeConfig {
  /** First physical address of the node (page aligned). */
  readonly start: PhysAddr;
  /** Bytes of memory on the node (page aligned). */
  readonly size: number;
}

/**
 * Everything the arch layer decides about the machine. The page allocator,
 * memblock and the direct map cover the nodes' physical ranges; the vmalloc
 * range is `[vmallocStart, vmallocEnd)`.
 */
export interface MachineConfig {
  /** log2 of the page size: 12 for 4 KiB pages. */
  readonly pageShift: number;
  /** Width of a pointer in bits (32 or 64); the arch wraps pointer arithmetic to it. */
  readonly bits: 32 | 64;
  /**
   * Size of the internal virtual address space in bits: every VirtAddr is in
   * `[0, 2^vaBits)`. 32 for 32-bit arches; at most 52 for 64-bit ones.
   */
  readonly vaBits: number;
  readonly nodes: readonly NodeConfig[];
  /** SLIT-style distance between nodes; default: 10 on the diagonal, 20 elsewhere. */
  readonly nodeDistance?: (from: number, to: number) => number;
  /** Virtual address of physical address 0 in the direct (linear) map: PAGE_OFFSET. */
  readonly pageOffset: VirtAddr;
  /** Bytes of physical memory the direct map covers from physical 0 (lowmem); default: all of it. */
  readonly directMapSize?: number;
  readonly vmallocStart: VirtAddr;
  readonly vmallocEnd: VirtAddr;
  /**
   * `VMALLOC_TOTAL` when it is not `vmallocEnd - vmallocStart`: x86_64
   * defines VMALLOC_END inclusively, so its total is one byte short of the
   * range (2^45 - 1 with 4-level paging). Default: the range size.
   */
  readonly vmallocTotal?: number;
  /** `nr_cpu_ids`: one more than the highest possible CPU id. */
  readonly nrCpus: number;
  /**
   * `cpu_possible_mask` as an ascending list of CPU ids, which may have holes
   * (`[0, 1, 2, 3, 8, 9, 10, 11]`: hot-plug slots or disabled cores), every
   * CPU below nrCpus. It must hold CPU 0 (the boot CPU). The kernel derives
   * nr_cpu_ids from the last possible CPU; only a CONFIG_FORCE_NR_CPUS
   * kernel has CPU ids beyond it. Default: 0 .. nrCpus-1.
   */
  readonly possibleCpus?: readonly number[];
  /**
   * NUMA node of each CPU id below nrCpus (`cpu_to_node`); entries of
   * impossible CPUs are not read. Default: all on node 0.
   */
  readonly cpuToNode?: readonly number[];
  /** Seed of the machine's deterministic random source (fault injection). */
  readonly seed?: number;
  /** Byte order of multi-byte loads and stores; default true (sparc32 and s390 are big-endian). */
  readonly littleEndian?: boolean;
  /**
   * How the arch prints an address (`%px`/`%lx`: width, sign extension),
   * without `0x`; default: hex zero-padded to `bits / 4` digits.
   */
  readonly formatAddr?: (a: number) => string;
  /**
   * Back physical memory with SharedArrayBuffer slabs (so worker threads
   * could act as CPUs on the same memory); default false: ArrayBuffer,
   * because V8's TypedArray fill/set on shared memory is several times
   * slower. Throws at boot if the host has no SharedArrayBuffer.
   */
  readonly sharedMemory?: boolean;
  /** Largest buddy order (`MAX_PAGE_ORDER`); default 10. */
  readonly maxPageOrder?: number;
  /**
   * A whole-page memcpy shares the source's host frame until either page is
   * written (default true). Invisible to the kernel model; false copies the
   * bytes at once (the host memory the model spent before copy on write,
   * kept as the baseline of `pnpm bench scale`).
   */
  readonly copyOnWrite?: boolean;
}

/** `NUMA_NO_NODE`: "the current CPU's node" for allocations, "any node" for memblock. */
export const NUMA_NO_NODE = -1;
/** `MAX_PAGE_ORDER` (6.x; `MAX_ORDER - 1` before 6.4): the largest buddy block is 2^10 pages. */
export const MAX_PAGE_ORDER = 10;
/** `SMP_CACHE_BYTES`: memblock's alignment when a caller passes 0. */
export const SMP_CACHE_BYTES = 64;

/** Why the current CPU is in atomic context (what raised the preempt count). */
export type AtomicReason = "spinlock" | "irq" | "softirq" | "preempt";

/** Which allocator a fault is injected into. */
export type FaultSite = "page_alloc" | "vmalloc" | "memblock" | "kmalloc";

/**
 * A fault injection rule, like the kernel's fail_page_alloc / failslab:
 * fail the `nth` matching call (1-based) or each matching call with
 * `probability` (seeded); `times` bounds how many failures are injected
 * (default: 1 for `nth`, unlimited for `probability`); `caller`, when given,
 * restricts the rule to calls whose caller tag matches. `interval` and
 * `space` are fault_attr's: every interval-th call is a candidate, and the
 * first `space` bytes of calls pass.
 */
export interface FaultRule {
  readonly site: FaultSite;
  readonly nth?: number;
  readonly probability?: number;
  readonly times?: number;
  readonly caller?: string;
  /** fault_attr `interval`: only every interval-th matching call may fail (default 1). */
  readonly interval?: number;
  /** fault_attr `space`: bytes of matching calls that pass before any may fail (default 0). */
  readonly space?: number;
}

/** A reserved range of the vmalloc space (`struct vm_struct`). */
export interface VmArea {
  readonly addr: VirtAddr;
  readonly size: number;
  /** Caller tag for /proc/vmallocinfo-style listings. */
  readonly caller: string;
}

/** Counters of the kernel page table's flush operations. */
export interface FlushCounters {
  tlbKernelRange: number;
  cacheVmap: number;
  cacheVunmap: number;
}

/** Per-node page allocator counters. */
export interface NodeCounters {
  readonly nid: number;
  /** Pages managed by the buddy allocator on this node. */
  readonly managedPages: number;
  /** Pages currently free. */
  readonly freePages: number;
  /** Pages held by memblock (boot-time reservations not yet released). */
  readonly memblockPages: number;
}

/** A deferred work item (`struct work_struct`). */
export interface WorkItem {
  readonly name: string;
  readonly fn: () => void;
}
