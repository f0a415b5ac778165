/*
 * Memory cgroups as kmem accounting needs them (mm/memcontrol.c,
 * mm/page_counter.c, the memcg branch of mm/oom_kill.c), cgroup v2.
 *
 *   task ──cgroup.procs──> MemCgroup ──objcg──> ObjCgroup (byte-granular charges)
 *                              │ memory: PageCounter (usage, max, failcnt) ── parent ── ... ── root
 *                              │ vmstats: kernel (MEMCG_KMEM pages), percpu (MEMCG_PERCPU_B bytes)
 *   per CPU: memcg_stock (NR_MEMCG_STOCK cached memcgs with precharged pages)
 *            obj_stock   (one cached objcg with precharged bytes)
 *
 * A kmem user (the percpu allocator) charges an obj_cgroup in bytes
 * (obj_cgroup_charge): whole pages are charged to the page counters of the
 * memcg and every ancestor (try_charge_memcg, which charges a batch of
 * MEMCG_CHARGE_BATCH pages and keeps the surplus in the CPU's memcg stock),
 * and the unused tail of the last page stays in the CPU's obj stock for the
 * next charge. Over memory.max the charge reclaims (nothing is reclaimable
 * in the model), drains the stocks, retries MAX_RECLAIM_RETRIES times and
 * invokes the memcg OOM killer, which finds no killable task (model tasks
 * own no user memory: they have no mm) and reports so; the charge then
 * fails with -ENOMEM (or is forced for __GFP_NOFAIL / __GFP_HIGH).
 *
 * Statistics are read as if the rstat flush had run (the kernel flushes
 * every 2 s, and on read past a threshold): memory.stat shows exact
 * hierarchical values.
 *
 * No module-level state: one MemCgroupSubsys per machine.
 */

import { EINVAL, ENOMEM } from "./api.js";
import type { ExecContext } from "./context.js";
import {
  __GFP_HIGH,
  __GFP_NOFAIL,
  __GFP_NORETRY,
  __GFP_RETRY_MAYFAIL,
  formatGfpFlags,
  GFP_KERNEL,
  gfpflagsAllowBlocking,
} from "./gfp.js";
import type { Printk } from "./printk.js";
import type { Workqueue } from "./workqueue.js";

/** `MEMCG_CHARGE_BATCH`: pages charged at once, the surplus cached per CPU. */
export const MEMCG_CHARGE_BATCH = 64;
/** `NR_MEMCG_STOCK` (6.16+): memcgs one CPU's charge cache holds. */
export const NR_MEMCG_STOCK = 7;
/** `MAX_RECLAIM_RETRIES`. */
export const MAX_RECLAIM_RETRIES = 16;
/** `PAGE_ALLOC_COSTLY_ORDER`. */
export const PAGE_ALLOC_COSTLY_ORDER = 3;

/** The memory.stat items the model accounts (the rest print 0). */
export type MemcgStatItem = "percpu" | "kernel";

/**
 * `struct page_counter`: hierarchical usage in pages, a max, the failure count.
 * @kernel mm/page_counter.c
 */
export class PageCounter {
  usage = 0;
  max: number;
  failcnt = 0;
  watermark = 0;

  constructor(
    readonly parent: PageCounter | null,
    max: number,
  ) {
    this.max = max;
  }

  /** `page_counter_charge()`: charge unconditionally, up to the root. */
  charge(nrPages: number): void {
    for (let c: PageCounter | null = this; c !== null; c = c.parent) {
      c.usage += nrPages;
      if (c.usage > c.watermark) c.watermark = c.usage;
    }
  }

  /**
   * `page_counter_try_charge()`: charge this counter and every ancestor, or
   * none of them.
   * @returns null on success, else the counter that hit its max (its failcnt counted).
   */
  tryCharge(nrPages: number): PageCounter | null {
    for (let c: PageCounter | null = this; c !== null; c = c.parent) {
      const next = c.usage + nrPages;
      if (next > c.max) {
        c.failcnt++;
        for (let u: PageCounter | null = this; u !== c && u !== null; u = u.parent) u.usage -= nrPages;
        return c;
      }
      c.usage = next;
      if (next > c.watermark) c.watermark = next;
    }
    return null;
  }

  /** `page_counter_uncharge()`. A counter going negative is the kernel's WARN_ONCE; here a thrown bug. */
  uncharge(nrPages: number): void {
    for (let c: PageCounter | null = this; c !== null; c = c.parent) {
      c.usage -= nrPages;
      if (c.usage < 0) throw new Error(`page_counter underflow: ${c.usage} nr_pages=${nrPages}`);
    }
  }
}

/**
 * `struct obj_cgroup`: what kmem objects point to; it charges its memcg and
 * keeps the bytes left over by drained stocks (`nr_charged_bytes`).
 */
export class ObjCgroup {
  nrChargedBytes = 0;
  constructor(
    /** Index in MemCgroupSubsys.objcgs (what a chunk's obj_exts array stores). */
    readonly id: number,
    public memcg: MemCgroup,
  ) {}
}

/** `struct mem_cgroup` (the parts kmem accounting uses). */
export class MemCgroup {
  readonly children: MemCgroup[] = [];
  readonly memory: PageCounter;
  readonly swapMax: number;
  /** `memcg->objcg`; null for the root (root charges are not accounted). */
  objcg: ObjCgroup | null = null;
  /** Local (non-hierarchical) state: MEMCG_KMEM pages, MEMCG_PERCPU_B bytes. */
  kmemPages = 0;
  percpuBytes = 0;
  /** `memory_events[]` (hierarchical) and `memory_events_local[]`: max, oom. */
  eventsMax = 0;
  eventsOom = 0;
  eventsLocalMax = 0;
  eventsLocalOom = 0;
  /** PIDs attached through cgroup.procs. */
  readonly tasks = new Set<number>();
  /** `memcg->objcg_list`: its own objcg and those reparented to it from removed descendants. */
  readonly objcgList: ObjCgroup[] = [];
  /**
   * Removed children still holding state (the kernel's dying memcgs): their
   * counters and stats stay part of this memcg's hierarchical values.
   */
  readonly dying: MemCgroup[] = [];
  /** False once removed (css offline). */
  online = true;

  constructor(
    readonly id: number,
    readonly name: string,
    readonly parent: MemCgroup | null,
    pageCounterMax: number,
  ) {
    this.memory = new PageCounter(parent === null ? null : parent.memory, pageCounterMax);
    this.swapMax = pageCounterMax;
  }

  /** The cgroup path as `pr_cont_cgroup_path` prints it: `/`, `/a/b`. */
  get path(): string {
    if (this.parent === null) return "/";
    const p = this.parent.path;
    return p === "/" ? `/${this.name}` : `${p}/${this.name}`;
  }

  /** `mem_cgroup_is_descendant(this, root)`. */
  isDescendant(root: MemCgroup): boolean {
    for (let m: MemCgroup | null = this; m !== null; m = m.parent) if (m === root) return true;
    return false;
  }
}

/** The state items of memory.stat (v6.18, CONFIG_SWAP, ZSWAP, THP, NUMA_BALANCING; no hugetlb accounting). */
const MEMORY_STAT_ITEMS = [
  "anon",
  "file",
  "kernel",
  "kernel_stack",
  "pagetables",
  "sec_pagetables",
  "percpu",
  "sock",
  "vmalloc",
  "shmem",
  "zswap",
  "zswapped",
  "file_mapped",
  "file_dirty",
  "file_writeback",
  "swapcached",
  "anon_thp",
  "file_thp",
  "shmem_thp",
  "inactive_anon",
  "active_anon",
  "inactive_file",
  "active_file",
  "unevictable",
  "slab_reclaimable",
  "slab_unreclaimable",
  "workingset_refault_anon",
  "workingset_refault_file",
  "workingset_activate_anon",
  "workingset_activate_file",
  "workingset_restore_anon",
  "workingset_restore_file",
  "workingset_nodereclaim",
  "pgdemote_kswapd",
  "pgdemote_direct",
  "pgdemote_khugepaged",
  "pgdemote_proactive",
  "pgpromote_success",
] as const;

/** The event lines after the state items (memcg_vm_event_stat, pgscan/pgsteal first). */
const MEMORY_STAT_EVENTS = [
  "pgscan",
  "pgsteal",
  "pswpin",
  "pswpout",
  "pgscan_kswapd",
  "pgscan_direct",
  "pgscan_khugepaged",
  "pgscan_proactive",
  "pgsteal_kswapd",
  "pgsteal_direct",
  "pgsteal_khugepaged",
  "pgsteal_proactive",
  "pgfault",
  "pgmajfault",
  "pgrefill",
  "pgactivate",
  "pgdeactivate",
  "pglazyfree",
  "pglazyfreed",
  "swpin_zero",
  "swpout_zero",
  "zswpin",
  "zswpout",
  "zswpwb",
  "thp_fault_alloc",
  "thp_collapse_alloc",
  "thp_swpout",
  "thp_swpout_fallback",
  "numa_pages_migrated",
  "numa_pte_updates",
  "numa_hint_faults",
] as const;

/** One CPU's `memcg_stock_pcp`. */
class MemcgStockPcp {
  readonly cached: (MemCgroup | null)[] = new Array<MemCgroup | null>(NR_MEMCG_STOCK).fill(null);
  readonly nrPages = new Uint8Array(NR_MEMCG_STOCK);
  flushing = false;
}

/** One CPU's `obj_stock_pcp`. */
class ObjStockPcp {
  cachedObjcg: ObjCgroup | null = null;
  nrBytes = 0;
  flushing = false;
}

/** Where a charge came from, for the OOM report's first line. */
export interface MemcgMachine {
  readonly ctx: ExecContext;
  readonly log: Printk;
  readonly wq: Workqueue;
  readonly nrCpus: number;
  readonly pageShift: number;
  readonly bits: 32 | 64;
  readonly seed: number;
}

/** A cgroup path or file operation the kernel refuses (`-errno` and its text). */
export class CgroupError extends Error {
  constructor(
    message: string,
    readonly errno: number,
  ) {
    super(message);
    this.name = "CgroupError";
  }
}

/**
 * The memory controller of one machine: the cgroup tree, the per-CPU charge
 * caches, kmem charging and the files of cgroup v2's memory controller.
 */
export class MemCgroupSubsys {
  readonly root: MemCgroup;
  /** `PAGE_COUNTER_MAX`: LONG_MAX / PAGE_SIZE (memory.max reads "max"). */
  readonly pageCounterMax: number;
  readonly pageSize: number;
  /** `memcg_kmem_online()`: the static key set when the first non-root memcg goes online. */
  kmemOnline = false;
  /** Every obj_cgroup by id (id 0 unused: a chunk's obj_exts stores 0 for none). */
  readonly objcgs: (ObjCgroup | null)[] = [null];
  private readonly byPath = new Map<string, MemCgroup>();
  private readonly taskMemcg = new Map<number, MemCgroup>();
  /** `current->active_memcg` (set_active_memcg scope). */
  private activeMemcg: MemCgroup | null = null;
  private readonly memcgStock: MemcgStockPcp[];
  private readonly objStock: ObjStockPcp[];
  private readonly drainWork: { readonly name: string; readonly fn: () => void }[];
  private nextId = 1;
  private rnd: number;

  constructor(private readonly m: MemcgMachine) {
    this.pageSize = 2 ** m.pageShift;
    /* LONG_MAX / PAGE_SIZE, exactly (2^63 - 1 is not a double) */
    this.pageCounterMax = Number(((1n << BigInt(m.bits - 1)) - 1n) / BigInt(this.pageSize));
    this.root = new MemCgroup(0, "", null, this.pageCounterMax);
    this.byPath.set("/", this.root);
    this.memcgStock = Array.from({ length: m.nrCpus }, () => new MemcgStockPcp());
    this.objStock = Array.from({ length: m.nrCpus }, () => new ObjStockPcp());
    this.drainWork = Array.from({ length: m.nrCpus }, (_, cpu) => ({
      name: `drain_local_stock/${cpu}`,
      fn: () => this.m.ctx.runOnCpu(cpu, () => this.drainLocalStock(cpu)),
    }));
    this.rnd = m.seed >>> 0 || 1;
  }

  /* ---------------- the tree (cgroupfs) ---------------- */

  /** The memcg at `path` (`/`, `/a/b`), or null. */
  lookup(path: string): MemCgroup | null {
    return this.byPath.get(normalizePath(path)) ?? null;
  }

  /**
   * `mkdir` in cgroupfs: a child memcg under an existing parent, onlined
   * with an obj_cgroup (memcg_online_kmem), which turns kmem accounting on.
   * @throws CgroupError -EEXIST / -ENOENT / -EINVAL as mkdir(2) would fail.
   */
  mkdir(path: string): MemCgroup {
    const p = normalizePath(path);
    if (p === "/" || this.byPath.has(p)) throw new CgroupError(`mkdir: cannot create ${p}: File exists`, 17);
    const cut = p.lastIndexOf("/");
    const parentPath = cut === 0 ? "/" : p.slice(0, cut);
    const name = p.slice(cut + 1);
    const parent = this.byPath.get(parentPath);
    if (parent === undefined)
      throw new CgroupError(`mkdir: cannot create ${p}: No such file or directory`, 2);
    if (name.length > 255 || name.startsWith("memory.") || name.startsWith("cgroup."))
      throw new CgroupError(`mkdir: cannot create ${p}: Invalid argument`, EINVAL);
    const memcg = new MemCgroup(this.nextId++, name, parent, this.pageCounterMax);
    parent.children.push(memcg);
    this.byPath.set(p, memcg);
    /* memcg_online_kmem */
    const objcg = new ObjCgroup(this.objcgs.length, memcg);
    this.objcgs.push(objcg);
    memcg.objcg = objcg;
    memcg.objcgList.push(objcg);
    this.kmemOnline = true;
    return memcg;
  }

  /**
   * `rmdir` in cgroupfs: refused with -EBUSY while the cgroup has tasks or
   * live children. Offlining reparents its obj_cgroups to the parent
   * (memcg_reparent_objcgs: later uncharges of objects it charged go to the
   * parent) and drains the stocks holding its charges; the memcg stays as
   * a dying child of its parent, its charges still counted there.
   * @kernel kernel/cgroup/cgroup.c cgroup_rmdir, mm/memcontrol.c mem_cgroup_css_offline
   */
  rmdir(path: string): void {
    const p = normalizePath(path);
    const memcg = this.byPath.get(p);
    if (memcg === undefined)
      throw new CgroupError(`rmdir: failed to remove ${p}: No such file or directory`, 2);
    const parent = memcg.parent;
    if (parent === null) throw new CgroupError(`rmdir: failed to remove ${p}: Device or resource busy`, 16);
    if (memcg.tasks.size > 0 || memcg.children.length > 0)
      throw new CgroupError(`rmdir: failed to remove ${p}: Device or resource busy`, 16);
    if (this.activeMemcg === memcg)
      throw new CgroupError(`rmdir: failed to remove ${p}: Device or resource busy`, 16);
    this.byPath.delete(p);
    parent.children.splice(parent.children.indexOf(memcg), 1);
    parent.dying.push(memcg);
    memcg.online = false;
    /* memcg_offline_kmem -> memcg_reparent_objcgs */
    for (const objcg of memcg.objcgList) {
      objcg.memcg = parent;
      parent.objcgList.push(objcg);
    }
    memcg.objcgList.length = 0;
    memcg.objcg = null;
    this.drainAllStock(memcg);
  }

  /** Writes `pid` into `memcg`'s cgroup.procs (moves the task; the root takes it back). */
  attachTask(pid: number, memcg: MemCgroup): void {
    const old = this.taskMemcg.get(pid);
    if (old !== undefined) old.tasks.delete(pid);
    if (memcg === this.root) this.taskMemcg.delete(pid);
    else this.taskMemcg.set(pid, memcg);
    memcg.tasks.add(pid);
  }

  /** `mem_cgroup_from_task()`: the memcg of task `pid` (the root unless attached). */
  memcgOfTask(pid: number): MemCgroup {
    return this.taskMemcg.get(pid) ?? this.root;
  }

  /**
   * `set_active_memcg(memcg)`: charge the current task's kmem to `memcg`
   * until restored (bpf charges map memory to the map's memcg this way).
   * @returns the previous active memcg, to restore.
   */
  setActiveMemcg(memcg: MemCgroup | null): MemCgroup | null {
    const old = this.activeMemcg;
    this.activeMemcg = memcg;
    return old;
  }

  /* ---------------- charging ---------------- */

  /**
   * `current_obj_cgroup()`: the obj_cgroup kmem of the current context is
   * charged to: the active memcg's (or its nearest ancestor's with one),
   * else the current task's memcg's; null in interrupt context, for the
   * root and for kernel threads (they stay in the root).
   * @kernel mm/memcontrol.c current_obj_cgroup
   */
  currentObjCgroup(): ObjCgroup | null {
    if (this.m.ctx.inInterrupt()) return null; /* int_active_memcg is not modelled */
    let memcg = this.activeMemcg ?? this.memcgOfTask(this.m.ctx.pid);
    for (; memcg.parent !== null; memcg = memcg.parent) if (memcg.objcg !== null) return memcg.objcg;
    return null;
  }

  /**
   * `obj_cgroup_charge(objcg, gfp, size)`: charge `size` bytes, from the
   * CPU's obj stock when it caches this objcg with enough bytes, else
   * whole pages with the unused tail of the last page left in the stock.
   * @kernel mm/memcontrol.c obj_cgroup_charge_account
   * @returns 0, or -ENOMEM when the charge failed.
   */
  objCgroupCharge(objcg: ObjCgroup, gfp: number, size: number): number {
    const stock = this.objStock[this.m.ctx.cpu]!;
    if (stock.cachedObjcg === objcg && stock.nrBytes >= size) {
      stock.nrBytes -= size;
      return 0;
    }
    let nrPages = Math.floor(size / this.pageSize);
    const nrBytes = size & (this.pageSize - 1);
    if (nrBytes !== 0) nrPages += 1;
    const ret = this.objCgroupChargePages(objcg, gfp, nrPages);
    if (ret === 0 && nrBytes !== 0) this.refillObjStock(objcg, this.pageSize - nrBytes, false);
    return ret;
  }

  /**
   * `obj_cgroup_uncharge(objcg, size)`: the bytes go back to the CPU's obj stock.
   * @kernel mm/memcontrol.c obj_cgroup_uncharge
   */
  objCgroupUncharge(objcg: ObjCgroup, size: number): void {
    this.refillObjStock(objcg, size, true);
  }

  /**
   * `mod_memcg_state(memcg, idx, val)` for the items kmem users update.
   * @kernel mm/memcontrol.c mod_memcg_state
   */
  modMemcgState(memcg: MemCgroup, item: MemcgStatItem, val: number): void {
    if (item === "percpu") memcg.percpuBytes += val;
    else memcg.kmemPages += val;
  }

  /** `obj_cgroup_charge_pages()`. */
  private objCgroupChargePages(objcg: ObjCgroup, gfp: number, nrPages: number): number {
    const memcg = objcg.memcg;
    const ret = this.tryChargeMemcg(memcg, gfp, nrPages);
    if (ret === 0) memcg.kmemPages += nrPages;
    return ret;
  }

  /** `obj_cgroup_uncharge_pages()`: the pages go to the CPU's memcg stock. */
  private objCgroupUnchargePages(objcg: ObjCgroup, nrPages: number): void {
    const memcg = objcg.memcg;
    memcg.kmemPages -= nrPages;
    if (memcg.parent !== null) this.refillStock(memcg, nrPages);
  }

  /** `refill_obj_stock()`. */
  private refillObjStock(objcg: ObjCgroup, nrBytes: number, allowUncharge: boolean): void {
    const stock = this.objStock[this.m.ctx.cpu]!;
    let nrPages = 0;
    if (stock.cachedObjcg !== objcg) {
      this.drainObjStock(stock);
      stock.nrBytes = objcg.nrChargedBytes;
      objcg.nrChargedBytes = 0;
      stock.cachedObjcg = objcg;
      allowUncharge = true;
    }
    stock.nrBytes += nrBytes;
    if (allowUncharge && stock.nrBytes > this.pageSize) {
      nrPages = Math.floor(stock.nrBytes / this.pageSize);
      stock.nrBytes &= this.pageSize - 1;
    }
    if (nrPages !== 0) this.objCgroupUnchargePages(objcg, nrPages);
  }

  /** `drain_obj_stock()`: whole pages uncharged, the byte tail parked on the objcg. */
  private drainObjStock(stock: ObjStockPcp): void {
    const old = stock.cachedObjcg;
    if (old === null) return;
    if (stock.nrBytes !== 0) {
      const nrPages = Math.floor(stock.nrBytes / this.pageSize);
      const nrBytes = stock.nrBytes & (this.pageSize - 1);
      if (nrPages !== 0) {
        const memcg = old.memcg;
        memcg.kmemPages -= nrPages;
        if (memcg.parent !== null) memcg.memory.uncharge(nrPages);
      }
      old.nrChargedBytes += nrBytes;
      stock.nrBytes = 0;
    }
    stock.cachedObjcg = null;
  }

  /** `consume_stock()`. */
  private consumeStock(memcg: MemCgroup, nrPages: number): boolean {
    if (nrPages > MEMCG_CHARGE_BATCH) return false;
    const stock = this.memcgStock[this.m.ctx.cpu]!;
    for (let i = 0; i < NR_MEMCG_STOCK; i++) {
      if (stock.cached[i] !== memcg) continue;
      if (stock.nrPages[i]! >= nrPages) {
        stock.nrPages[i] = stock.nrPages[i]! - nrPages;
        return true;
      }
      return false;
    }
    return false;
  }

  /** `drain_stock()`: slot `i`'s pages uncharged, the slot emptied. */
  private drainStock(stock: MemcgStockPcp, i: number): void {
    const old = stock.cached[i];
    if (old == null) return;
    if (stock.nrPages[i] !== 0) {
      old.memory.uncharge(stock.nrPages[i]!);
      stock.nrPages[i] = 0;
    }
    stock.cached[i] = null;
  }

  /** `refill_stock()`: cache `nrPages` precharged pages of `memcg` on this CPU. */
  private refillStock(memcg: MemCgroup, nrPages: number): void {
    if (nrPages > MEMCG_CHARGE_BATCH) {
      memcg.memory.uncharge(nrPages);
      return;
    }
    const stock = this.memcgStock[this.m.ctx.cpu]!;
    let empty = -1;
    for (let i = 0; i < NR_MEMCG_STOCK; i++) {
      const cached = stock.cached[i];
      if (cached === null && empty === -1) empty = i;
      if (cached === memcg) {
        const pages = stock.nrPages[i]! + nrPages;
        stock.nrPages[i] = pages;
        if (pages > MEMCG_CHARGE_BATCH) this.drainStock(stock, i);
        return;
      }
    }
    let i = empty;
    if (i === -1) {
      i = this.randomBelow(NR_MEMCG_STOCK);
      this.drainStock(stock, i);
    }
    stock.cached[i] = memcg;
    stock.nrPages[i] = nrPages;
  }

  /** `drain_local_memcg_stock` + `drain_local_obj_stock` of `cpu` (the drain work). */
  private drainLocalStock(cpu: number): void {
    const ms = this.memcgStock[cpu]!;
    for (let i = 0; i < NR_MEMCG_STOCK; i++) this.drainStock(ms, i);
    ms.flushing = false;
    const os = this.objStock[cpu]!;
    this.drainObjStock(os);
    os.flushing = false;
  }

  /**
   * `drain_all_stock(root)`: the current CPU's caches holding charges of
   * `root`'s subtree are drained at once, the other CPUs' by work queued
   * on them (it runs when the workqueue runs).
   * @kernel mm/memcontrol.c drain_all_stock
   */
  drainAllStock(root: MemCgroup): void {
    const cur = this.m.ctx.cpu;
    for (let cpu = 0; cpu < this.m.nrCpus; cpu++) {
      const ms = this.memcgStock[cpu]!;
      const os = this.objStock[cpu]!;
      let need = false;
      if (!ms.flushing)
        for (let i = 0; i < NR_MEMCG_STOCK; i++) {
          const c = ms.cached[i];
          if (c != null && ms.nrPages[i] !== 0 && c.isDescendant(root)) need = true;
        }
      if (!os.flushing && os.cachedObjcg !== null && os.cachedObjcg.memcg.isDescendant(root)) need = true;
      if (!need) continue;
      if (cpu === cur) this.drainLocalStock(cpu);
      else {
        ms.flushing = true;
        os.flushing = true;
        this.m.wq.queueWork(this.drainWork[cpu]!);
      }
    }
  }

  /**
   * `try_charge_memcg(memcg, gfp, nr_pages)`: charge from the CPU's stock,
   * else a batch (the surplus stocked), else exactly `nr_pages`; over the
   * limit: MEMCG_MAX event, reclaim (none in the model), drain the stocks,
   * retry, then the memcg OOM killer; -ENOMEM unless __GFP_NOFAIL or
   * __GFP_HIGH force the charge over the limit.
   * @kernel mm/memcontrol.c try_charge_memcg
   */
  tryChargeMemcg(memcg: MemCgroup, gfp: number, nrPages: number): number {
    if (memcg.parent === null) return 0; /* try_charge: the root is not charged */
    let batch = Math.max(MEMCG_CHARGE_BATCH, nrPages);
    let nrRetries = MAX_RECLAIM_RETRIES;
    let drained = false;
    let raisedMax = false;
    let passedOom = false;
    let overLimit: MemCgroup = memcg;
    for (;;) {
      /* retry: */
      if (this.consumeStock(memcg, nrPages)) return 0;
      const counter = memcg.memory.tryCharge(batch);
      if (counter === null) {
        if (batch > nrPages) this.refillStock(memcg, batch - nrPages);
        return 0;
      }
      overLimit = this.memcgOfCounter(memcg, counter);
      if (batch > nrPages) {
        batch = nrPages;
        continue;
      }
      if (!gfpflagsAllowBlocking(gfp)) break; /* nomem */
      this.memcgMemoryEvent(overLimit, "max");
      raisedMax = true;
      /* try_to_free_mem_cgroup_pages: nothing on the model's LRUs */
      const nrReclaimed = 0;
      if (this.mem_cgroup_margin(overLimit) >= nrPages) continue;
      if (!drained) {
        this.drainAllStock(overLimit);
        drained = true;
        continue;
      }
      if ((gfp & __GFP_NORETRY) !== 0) break;
      if (nrReclaimed !== 0 && nrPages <= 1 << PAGE_ALLOC_COSTLY_ORDER) continue;
      if (nrRetries-- > 0) continue;
      if ((gfp & __GFP_RETRY_MAYFAIL) !== 0) break;
      if (passedOom) break; /* task_is_dying() after an OOM kill */
      if (this.memCgroupOom(overLimit, gfp, getOrder(nrPages))) {
        passedOom = true;
        nrRetries = MAX_RECLAIM_RETRIES;
        continue;
      }
      break;
    }
    /* nomem: */
    if ((gfp & (__GFP_NOFAIL | __GFP_HIGH)) === 0) return -ENOMEM;
    /* force: */
    if (!raisedMax) this.memcgMemoryEvent(overLimit, "max");
    memcg.memory.charge(nrPages);
    return 0;
  }

  /** `mem_cgroup_from_counter()`: the memcg owning `counter` on `memcg`'s path to the root. */
  private memcgOfCounter(memcg: MemCgroup, counter: PageCounter): MemCgroup {
    for (let m: MemCgroup | null = memcg; m !== null; m = m.parent) if (m.memory === counter) return m;
    return memcg;
  }

  /** `mem_cgroup_margin()`: pages chargeable before memory.max. */
  private mem_cgroup_margin(memcg: MemCgroup): number {
    const c = memcg.memory;
    return c.usage < c.max ? c.max - c.usage : 0;
  }

  /** `memcg_memory_event()`: local count, and the hierarchical count up to (not into) the root. */
  private memcgMemoryEvent(memcg: MemCgroup, ev: "max" | "oom"): void {
    if (ev === "max") memcg.eventsLocalMax++;
    else memcg.eventsLocalOom++;
    for (let m: MemCgroup | null = memcg; m !== null && m.parent !== null; m = m.parent) {
      if (ev === "max") m.eventsMax++;
      else m.eventsOom++;
    }
  }

  /**
   * `mem_cgroup_oom()` -> `mem_cgroup_out_of_memory()` -> `out_of_memory()`:
   * the OOM event, then victim selection among the cgroup's tasks. Model
   * tasks own no mm, so none is killable: the report (dump_header) and
   * "Out of memory and no killable processes..." are printed and no
   * progress is made.
   * @returns whether a victim was killed (never in the model).
   */
  private memCgroupOom(memcg: MemCgroup, gfp: number, order: number): boolean {
    if (order > PAGE_ALLOC_COSTLY_ORDER) return false;
    this.memcgMemoryEvent(memcg, "oom");
    if (this.mem_cgroup_margin(memcg) >= 1 << order) return true;
    this.oomDumpHeader(memcg, gfp, order);
    this.m.log.prWarn("Out of memory and no killable processes...");
    return false;
  }

  /** `dump_header()` of a memcg OOM: the trigger line, the stack, the memcg's usage and stats, the task table. */
  private oomDumpHeader(memcg: MemCgroup, gfp: number, order: number): void {
    const ctx = this.m.ctx;
    const log = this.m.log;
    log.prWarn(
      `${ctx.comm} invoked oom-killer: gfp_mask=0x${gfp.toString(16)}(${formatGfpFlags(gfp)}), order=${order}, oom_score_adj=0`,
    );
    log.prWarn(`CPU: ${ctx.cpu} PID: ${ctx.pid} Comm: ${ctx.comm}`);
    log.prWarn("Call Trace:");
    for (const f of [" dump_header", " out_of_memory", " mem_cgroup_out_of_memory", " try_charge_memcg"])
      log.prWarn(f);
    this.printOomMeminfo(memcg);
    log.prInfo("Tasks state (memory values in pages):");
    log.prInfo(
      "[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name",
    );
  }

  /**
   * `mem_cgroup_print_oom_meminfo()`: usage, limit and failcnt (the max
   * events) of memory and swap in kB, then the cgroup's memory.stat.
   */
  private printOomMeminfo(memcg: MemCgroup): void {
    const log = this.m.log;
    const k = (pages: number) => pages * (this.pageSize / 1024);
    log.prInfo(
      `memory: usage ${k(memcg.memory.usage)}kB, limit ${k(memcg.memory.max)}kB, failcnt ${memcg.eventsMax}`,
    );
    log.prInfo(`swap: usage 0kB, limit ${k(memcg.swapMax)}kB, failcnt 0`);
    log.prInfo(`Memory cgroup stats for ${memcg.path}:`);
    for (const line of this.memoryStat(memcg).split("\n")) if (line !== "") log.prInfo(line);
  }

  /** A seeded `get_random_u32_below(n)` (the stock slot to evict). */
  private randomBelow(n: number): number {
    let x = this.rnd;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rnd = x >>> 0;
    return this.rnd % n;
  }

  /* ---------------- the cgroup v2 files ---------------- */

  /** Sum of a local value over `memcg`'s subtree (what rstat flushing aggregates). */
  private subtree(memcg: MemCgroup, f: (m: MemCgroup) => number): number {
    let s = f(memcg);
    for (const c of memcg.children) s += this.subtree(c, f);
    for (const c of memcg.dying) s += this.subtree(c, f);
    return s;
  }

  /**
   * `memory.stat` (cgroup v2): every item of the kernel's list in its
   * order, hierarchical; `kernel` is MEMCG_KMEM pages in bytes and
   * `percpu` MEMCG_PERCPU_B, the rest are not modelled and read 0.
   * @kernel mm/memcontrol.c memcg_stat_format
   */
  memoryStat(memcg: MemCgroup): string {
    const percpu = Math.max(
      0,
      this.subtree(memcg, (m) => m.percpuBytes),
    );
    const kernel =
      Math.max(
        0,
        this.subtree(memcg, (m) => m.kmemPages),
      ) * this.pageSize;
    let out = "";
    for (const name of MEMORY_STAT_ITEMS) {
      const v = name === "percpu" ? percpu : name === "kernel" ? kernel : 0;
      out += `${name} ${v}\n`;
      if (name === "slab_unreclaimable") out += "slab 0\n";
    }
    for (const name of MEMORY_STAT_EVENTS) out += `${name} 0\n`;
    return out;
  }

  /** `memory.current`: the page counter's usage in bytes (stocked pages included). */
  memoryCurrent(memcg: MemCgroup): number {
    return memcg.memory.usage * this.pageSize;
  }

  /** `memory.max` as read: bytes, or `max`. */
  memoryMaxRead(memcg: MemCgroup): string {
    return memcg.memory.max === this.pageCounterMax ? "max" : String(memcg.memory.max * this.pageSize);
  }

  /** `memory.events` (v6.18: sock_throttled last). */
  memoryEvents(memcg: MemCgroup, local = false): string {
    const max = local ? memcg.eventsLocalMax : memcg.eventsMax;
    const oom = local ? memcg.eventsLocalOom : memcg.eventsOom;
    return `low 0\nhigh 0\nmax ${max}\noom ${oom}\noom_kill 0\noom_group_kill 0\nsock_throttled 0\n`;
  }

  /**
   * Writes `memory.max` (`max` or bytes with an optional K/M/G/T suffix,
   * rounded down to pages, as page_counter_memparse does). Lowering it
   * below the usage drains the stocks; if still over, reclaim finds
   * nothing and the memcg OOM killer reports and finds no victim: the new
   * limit stays and the usage stays above it.
   * @kernel mm/memcontrol.c memory_max_write
   * @throws CgroupError -EINVAL for an unparsable value or the root's file (it has none).
   */
  memoryMaxWrite(memcg: MemCgroup, value: string): void {
    if (memcg.parent === null) throw new CgroupError("memory.max: No such file or directory (the root)", 2);
    const pages = this.pageCounterMemparse(value);
    memcg.memory.max = pages;
    let drained = false;
    let nrReclaims = MAX_RECLAIM_RETRIES;
    for (;;) {
      if (memcg.memory.usage <= pages) break;
      if (!drained) {
        drained = true;
        this.drainAllStock(memcg);
        continue;
      }
      if (nrReclaims > 0) {
        nrReclaims--; /* try_to_free_mem_cgroup_pages: nothing to reclaim */
        continue;
      }
      this.memcgMemoryEvent(memcg, "oom");
      this.oomDumpHeader(memcg, GFP_KERNEL, 0);
      this.m.log.prWarn("Out of memory and no killable processes...");
      break;
    }
  }

  /** `page_counter_memparse()`: "max" or memparse() bytes -> pages (rounded down). */
  pageCounterMemparse(value: string): number {
    const v = value.trim();
    if (v === "max") return this.pageCounterMax;
    const m = /^(\d+)([kKmMgGtTpPeE]?)$/.exec(v);
    if (m === null) throw new CgroupError(`memory.max: invalid value ${JSON.stringify(value)}`, EINVAL);
    const shift = { "": 0, k: 10, m: 20, g: 30, t: 40, p: 50, e: 60 }[m[2]!.toLowerCase()]!;
    const bytes = Number(m[1]) * 2 ** shift;
    return Math.min(Math.floor(bytes / this.pageSize), this.pageCounterMax);
  }
}

/** `get_order(nr_pages * PAGE_SIZE)` in pages. */
function getOrder(nrPages: number): number {
  let order = 0;
  while (1 << order < nrPages) order++;
  return order;
}

/** `/a//b/` -> `/a/b`; relative paths are taken from the root. */
function normalizePath(path: string): string {
  const parts = path.split("/").filter((s) => s !== "" && s !== ".");
  return `/${parts.join("/")}`;
}
