/*
 * The per-kernel state of mm/percpu.c. Every global of the kernel file
 * (pcpu_unit_size, pcpu_chunk_lists, pcpu_nr_empty_pop_pages, pcpu_lock, ...)
 * is a field of one `Percpu` object created when a kernel is assembled, so
 * many kernels can live in one process.
 *
 * The functions of mm/percpu.c live beside this file, one concept per file
 * (slots.ts, alloc.ts, free.ts, balance.ts, first-chunk.ts, embed.ts,
 * addr.ts, this-cpu.ts) and take the state as their first argument; the
 * class only wires them to the contracts of api.ts so the backend, the area
 * allocator and the stats reader see exactly the view they are entitled to.
 *
 *   Percpu ──implements──> AreaAllocatorHost   (bitmap / area map call back)
 *          ──implements──> PcpuBackendHost     (percpu-vm / percpu-km call back)
 *          ──implements──> PcpuStatsSource     (percpu-stats reads)
 */

import { __GFP_ACCOUNT, type Machine, Mutex, SpinLock } from "@pcpu/mm";
import { PcpuAllocTags } from "./alloc-tag.js";
import type {
  AreaAllocator,
  AreaAllocatorFactory,
  AreaAllocatorHost,
  PcpuAllocInfo,
  PcpuArchHooks,
  PcpuBackendHost,
  PcpuChunkView,
  PcpuConstants,
  PcpuEra,
  PcpuObserver,
  PcpuStatsSource,
  PcpuTraceSink,
  PopulationBackend,
  PopulationFactory,
} from "./api.js";
import { PCPU_MIN_ALLOC_SHIFT } from "./api.js";
import { pcpuBalanceWorkfn } from "./balance.js";
import { PcpuChunk, pcpuChunkMarkDepopulated, pcpuChunkMarkPopulated } from "./chunk.js";
import { PcpuDebug } from "./debug.js";
import { type PcpuKernelChanges, pcpuKernelChanges } from "./kernel-changes.js";
import { pcpuChunkRelocate, pcpuSizeToSlot, pcpuUpdateEmptyPages } from "./slots.js";

/** Behaviour switches of one kernel (spec section 13). */
export interface PcpuOptions {
  /** Kernel generation reproduced; default "v6". */
  readonly era?: PcpuEra;
  /**
   * Fix the free-path chunk-hint quirk of pcpu_block_update_hint_free
   * (spec 5.8). Default false: faithful. Read by the bitmap allocator factory.
   */
  readonly fixFreeHintQuirk?: boolean;
  /** Run the invariant checker after every public operation and throw on the first violation. */
  readonly debugChecks?: boolean;
  /**
   * Validate `free_percpu` pointers (never-allocated, already freed, static
   * area) and WARN instead of corrupting state. Default true; the kernel
   * itself trusts its callers (spec 5.9), which `false` reproduces only in
   * the sense that no check is made.
   */
  readonly checkFree?: boolean;
  /**
   * CONFIG_MEMCG with kmem accounting on (`!mem_cgroup_kmem_disabled()`,
   * as distro kernels boot): every dynamic chunk carries a per-chunk
   * obj_cgroup pointer array, and pcpu_obj_full_size() counts each
   * object's share of it. Default false (no memcg) in the core; the
   * assembled kernel's `memcg` config key turns it on by default.
   */
  readonly memcgKmem?: boolean;
  /**
   * CONFIG_SMP. Default true. false: a uniprocessor kernel, whose
   * setup_per_cpu_areas() is mm/percpu.c's UP one (`setupPerCpuAreasUp`):
   * static percpu variables are ordinary variables (no static area,
   * pcpu_setup_first_chunk skips its SMP-only checks) and percpu pointers
   * are addresses.
   */
  readonly smp?: boolean;
  /**
   * CONFIG_MEM_ALLOC_PROFILING with profiling enabled (6.10+): pcpu_alloc
   * charges each object to its call site's alloc tag (`PcpuAllocOpts.tag`)
   * and /proc/allocinfo lists them (alloc-tag.ts). Default false.
   */
  readonly allocProfiling?: boolean;
}

/** The kernel image's static percpu section (`.data..percpu`). */
export interface PcpuStaticSection {
  /** `__per_cpu_start`: link address of the section (the percpu pointer origin). */
  readonly perCpuStart: number;
  /** `__per_cpu_end - __per_cpu_start`. */
  readonly staticSize: number;
  /** `__per_cpu_load`: where the template bytes are mapped (== perCpuStart except x86_64 <= 6.14). */
  readonly perCpuLoad: number;
}

/** Everything needed to create the percpu state of one kernel. */
export interface PercpuInit {
  readonly machine: Machine;
  readonly constants: PcpuConstants;
  readonly area: AreaAllocatorFactory;
  readonly population: PopulationFactory;
  readonly section: PcpuStaticSection;
  readonly observer?: PcpuObserver | null;
  readonly trace?: PcpuTraceSink | null;
  readonly options?: PcpuOptions;
}

export class Percpu implements AreaAllocatorHost, PcpuBackendHost, PcpuStatsSource {
  readonly machine: Machine;
  readonly constants: PcpuConstants;
  /** 1 / PAGE_SIZE (a power of two, so `x * invPageSize` is exactly `x / PAGE_SIZE`). */
  readonly invPageSize: number;
  readonly era: PcpuEra;
  /** The kernel changes of `era`, one switch each (kernel-changes.ts). */
  readonly changes: PcpuKernelChanges;
  readonly options: Required<PcpuOptions>;
  /**
   * `__GFP_ACCOUNT` with memcg kmem accounting in an era that charges
   * percpu memory, else 0: pcpu_alloc's one test `gfp & memcgAccountMask`
   * decides whether the memcg hooks run.
   */
  readonly memcgAccountMask: number;
  readonly section: PcpuStaticSection;
  readonly area: AreaAllocator;
  readonly backend: PopulationBackend;
  /** CONFIG_PERCPU_STATS hooks; null when stats are off (the hooks then cost one null check). */
  readonly observer: PcpuObserver | null;
  /** Tracepoint sink; null when the percpu events are off. */
  trace: PcpuTraceSink | null;
  /** Arch hooks, installed by the arch's setup_per_cpu_areas. */
  arch: PcpuArchHooks | null;

  /* Boot-time layout (pcpu_setup_first_chunk). */
  unitPages = 0;
  unitSize = 0;
  nrUnits = 0;
  atomSize = 0;
  nrGroups = 0;
  nrSlots = 0;
  sidelinedSlot = 0;
  freeSlot = 0;
  toDepopulateSlot = 0;
  lowUnitCpu = 0;
  highUnitCpu = 0;
  /** `pcpu_base_addr`: the first chunk's base (the static area's start). */
  baseAddr = 0;
  unitMap: Int32Array = new Int32Array(0);
  unitOffsets: Float64Array = new Float64Array(0);
  groupOffsets: number[] = [];
  groupSizes: number[] = [];
  /** The alloc info the first chunk was set up with (kept for dumps and stats). */
  ai: PcpuAllocInfo | null = null;
  /** `num_possible_cpus()`. */
  readonly nrPossibleCpus: number;
  /** `nr_cpu_ids`: the highest possible CPU + 1; CPU-indexed arrays have this length. */
  readonly nrCpuIds: number;
  /** The possible CPUs, ascending: what `for_each_possible_cpu` visits (the machine's mask may have holes). */
  readonly possibleCpus: Int32Array;
  /** `cpu_possible_mask` (nrCpuIds bits). */
  readonly cpuPossibleMask: Uint32Array;

  /* Chunks. */
  firstChunk!: PcpuChunk;
  reservedChunk: PcpuChunk | null = null;
  /** `pcpu_chunk_lists[slot]`: head of each slot list (intrusive list, see chunk.ts). */
  slotHeads: (PcpuChunk | null)[] = [];
  slotTails: (PcpuChunk | null)[] = [];

  /* Counters. */
  nrEmptyPopPages = 0;
  nrPopulated = 0;
  asyncEnabled = false;
  atomicAllocFailed = false;
  /** pcpu_alloc's function-static warn_limit. */
  warnLimit = 10;

  readonly lock: SpinLock;
  readonly allocMutex: Mutex;
  readonly balanceWork: { readonly name: string; readonly fn: () => void };
  /** CONFIG_MEM_ALLOC_PROFILING's alloc tags; null when profiling is off. */
  readonly allocTags: PcpuAllocTags | null;
  /** Debug bookkeeping (live allocations) and the invariant checker; null when off. */
  readonly debug: PcpuDebug | null;

  private nextChunkId = 0;

  constructor(init: PercpuInit) {
    this.machine = init.machine;
    this.constants = init.constants;
    this.invPageSize = 1 / init.constants.PAGE_SIZE;
    const o = init.options ?? {};
    this.options = {
      era: o.era ?? "v6",
      fixFreeHintQuirk: o.fixFreeHintQuirk ?? false,
      debugChecks: o.debugChecks ?? false,
      checkFree: o.checkFree ?? true,
      memcgKmem: o.memcgKmem ?? false,
      smp: o.smp ?? true,
      allocProfiling: o.allocProfiling ?? false,
    };
    this.era = this.options.era;
    this.changes = pcpuKernelChanges(this.era);
    this.memcgAccountMask = this.options.memcgKmem && this.changes.percpuMemcgAccounting ? __GFP_ACCOUNT : 0;
    this.section = init.section;
    this.observer = init.observer ?? null;
    this.trace = init.trace ?? null;
    this.arch = null;
    this.nrCpuIds = init.machine.nrCpus;
    this.possibleCpus = init.machine.possibleCpus;
    this.nrPossibleCpus = init.machine.numPossibleCpus;
    this.cpuPossibleMask = init.machine.cpuPossibleMask;
    this.lock = new SpinLock("pcpu_lock", init.machine.ctx, init.machine.log);
    this.allocMutex = new Mutex("pcpu_alloc_mutex", init.machine.ctx, init.machine.log);
    this.balanceWork = { name: "pcpu_balance_workfn", fn: () => pcpuBalanceWorkfn(this) };
    this.debug = this.options.debugChecks ? new PcpuDebug() : null;
    this.allocTags = this.options.allocProfiling ? new PcpuAllocTags() : null;
    this.area = init.area(this);
    this.backend = init.population(this);
  }

  /** A new chunk record of `nrPages` pages per unit with fresh id (no metadata yet). */
  newChunkRecord(nrPages: number, startOffset: number, endOffset: number, immutable: boolean): PcpuChunk {
    return new PcpuChunk(
      this.nextChunkId++,
      nrPages,
      startOffset,
      endOffset,
      immutable,
      this.constants.PAGE_SIZE,
    );
  }

  /* ---------------- AreaAllocatorHost ---------------- */

  pcpuUpdateEmptyPages(chunk: PcpuChunkView, nr: number): void {
    pcpuUpdateEmptyPages(this, chunk as PcpuChunk, nr);
  }

  pcpuChunkRelocate(chunk: PcpuChunkView, oslot: number): void {
    pcpuChunkRelocate(this, chunk as PcpuChunk, oslot);
  }

  pcpuSizeToSlot(size: number): number {
    return pcpuSizeToSlot(this, size);
  }

  isReservedChunk(chunk: PcpuChunkView): boolean {
    return chunk === this.reservedChunk;
  }

  /**
   * `pcpu_schedule_balance_work()`: queue the balance work, only once async
   * work is enabled (a subsys initcall late in boot).
   */
  pcpuScheduleBalanceWork(): void {
    if (this.asyncEnabled) this.machine.wq.queueWork(this.balanceWork);
  }

  metadataAllocFails(caller: string): boolean {
    return this.machine.faults.shouldFail("kmalloc", caller);
  }

  /* ---------------- PcpuBackendHost ---------------- */

  /**
   * `pcpu_alloc_chunk(gfp)`: a zeroed chunk record of `pcpu_unit_pages`
   * pages with fresh area metadata, not populated. Null when the metadata
   * allocation fails. With memcg kmem accounting (`need_pcpuobj_ext()`) the
   * chunk gets its obj_exts array, one slot per PCPU_MIN_ALLOC_SIZE bytes
   * of a unit.
   * @kernel mm/percpu.c pcpu_alloc_chunk
   * @context may sleep with a blocking gfp.
   */
  pcpuAllocChunk(_gfp: number): PcpuChunkView | null {
    const chunk = this.newChunkRecord(this.unitPages, 0, 0, false);
    if (!this.area.initChunk(chunk)) return null;
    if (this.memcgAccountMask !== 0) chunk.objExts = new Int32Array(this.unitSize >>> PCPU_MIN_ALLOC_SHIFT);
    return chunk;
  }

  /** `pcpu_free_chunk(chunk)`. @kernel mm/percpu.c pcpu_free_chunk */
  pcpuFreeChunk(chunk: PcpuChunkView | null): void {
    if (!chunk) return;
    this.area.freeChunk(chunk);
  }

  /**
   * `pcpu_chunk_populated(chunk, s, e)`: pages [s, e) became populated;
   * they are assumed empty.
   *
   * `forAlloc` is pcpu_alloc populating for the area it just allocated.
   * The 4.14 bitmap allocator (its `recountsEmptyPages`) took a `for_alloc`
   * argument here and then left the empty-page counts alone: its chunk
   * refresh recounts them. The area map before it and the bitmap since
   * "percpu: set PCPU_BITMAP_BLOCK_SIZE to PAGE_SIZE" (v5.1) count the
   * pages empty here, the allocation having subtracted what it occupies.
   * @kernel mm/percpu.c pcpu_chunk_populated
   * @context takes pcpu_lock when the caller does not hold it.
   */
  pcpuChunkPopulated(chunk: PcpuChunkView, s: number, e: number, forAlloc = false): void {
    const held = this.lock.isLocked();
    if (!held) this.lock.lockIrqsave();
    pcpuChunkMarkPopulated(chunk, s, e);
    if (this.debug !== null) this.debug.touch(chunk as PcpuChunk);
    this.nrPopulated += e - s;
    if (!forAlloc || !this.area.recountsEmptyPages) pcpuUpdateEmptyPages(this, chunk as PcpuChunk, e - s);
    if (!held) this.lock.unlockIrqrestore();
  }

  /**
   * `pcpu_chunk_depopulated(chunk, s, e)`: the exact inverse.
   * @kernel mm/percpu.c pcpu_chunk_depopulated
   * @context pcpu_lock held.
   */
  pcpuChunkDepopulated(chunk: PcpuChunkView, s: number, e: number): void {
    pcpuChunkMarkDepopulated(chunk, s, e);
    if (this.debug !== null) this.debug.touch(chunk as PcpuChunk);
    this.nrPopulated -= e - s;
    pcpuUpdateEmptyPages(this, chunk as PcpuChunk, -(e - s));
  }

  pcpuStatsChunkAlloc(): void {
    if (this.observer !== null) this.observer.chunkAlloc();
  }

  pcpuStatsChunkDealloc(): void {
    if (this.observer !== null) this.observer.chunkDealloc();
  }

  traceCreateChunk(baseAddr: number): void {
    if (this.trace !== null)
      this.trace.emit({ event: "percpu_create_chunk", cpu: this.machine.ctx.cpu, baseAddr });
  }

  traceDestroyChunk(baseAddr: number): void {
    if (this.trace !== null)
      this.trace.emit({ event: "percpu_destroy_chunk", cpu: this.machine.ctx.cpu, baseAddr });
  }

  pcpuSetPageChunk(pfn: number, chunk: PcpuChunkView): void {
    this.machine.pageAlloc.setPagePrivate(pfn, chunk);
  }

  /* ---------------- PcpuStatsSource ---------------- */

  chunksInSlot(slot: number): PcpuChunkView[] {
    const out: PcpuChunkView[] = [];
    for (let c = this.slotHeads[slot] ?? null; c !== null; c = c.next) out.push(c);
    return out;
  }

  /**
   * `pcpu_nr_pages()`: pages used by percpu memory, all units, metadata excluded.
   * @kernel mm/percpu.c pcpu_nr_pages
   */
  pcpuNrPages(): number {
    return this.nrPopulated * this.nrUnits;
  }

  /** Every chunk on a slot list, slot 0 upward, head to tail (debugging, stats, tests). */
  allChunks(): PcpuChunk[] {
    const out: PcpuChunk[] = [];
    for (let s = 0; s < this.nrSlots; s++)
      for (let c = this.slotHeads[s] ?? null; c !== null; c = c.next) out.push(c);
    return out;
  }

  /** `pcpu_async_enabled = true` (the percpu_enable_async subsys initcall). */
  enableAsync(): void {
    this.asyncEnabled = true;
  }

  /** The arch hooks; a BUG to use them before setup_per_cpu_areas installed them. */
  archHooks(): PcpuArchHooks {
    const a = this.arch;
    if (a === null) throw new Error("percpu: arch hooks used before setup_per_cpu_areas()");
    return a;
  }
}
