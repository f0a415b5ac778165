/*
 * Per-call-site accounting of percpu allocations: what
 * `perf kmem stat --caller` or
 * `bpftrace -e 'tracepoint:percpu:percpu_alloc_percpu { @[args->call_site] = sum(args->bytes_alloc) }'`
 * give on a real machine, with frees matched to their allocation (by
 * pointer) so live bytes, peaks and leaks come out, and failures counted
 * where the caller asked (the kernel's percpu_alloc_percpu_fail event has
 * no call site, so failures are counted at the API call instead).
 *
 * bytes are `bytes_alloc` as the tracepoint reports them: size times the
 * possible CPUs (every unit holds a copy).
 */

import type { PcpuPtr } from "@pcpu/percpu";

/** The numbers of one call site. */
export interface CallSiteStats {
  /** `%pS` of the caller (`load_module+0x0/0x0`). */
  readonly callSite: string;
  allocs: number;
  frees: number;
  failures: number;
  /** Sum of bytes_alloc over every allocation. */
  bytesAlloc: number;
  /** Allocations still live and their bytes. */
  live: number;
  liveBytes: number;
  /** Largest liveBytes seen. */
  peakBytes: number;
}

/** An allocation still live (a leak candidate when the workload is over). */
export interface LiveAllocation {
  readonly ptr: PcpuPtr;
  readonly callSite: string;
  readonly size: number;
  readonly align: number;
  readonly reserved: boolean;
  readonly bytes: number;
  /** Allocation sequence number since tracking began (1-based). */
  readonly seq: number;
}

/** The per-call-site report. */
export interface CallSiteReport {
  /** Sites, live bytes descending, then bytes allocated, then name. */
  readonly sites: readonly CallSiteStats[];
  readonly totals: Omit<CallSiteStats, "callSite">;
  /** Frees of pointers allocated before tracking began. */
  readonly untrackedFrees: number;
  /** Allocations still live at the end, oldest first. */
  readonly leaks: readonly LiveAllocation[];
}

/** Counts allocations, frees and failures per call site (one per kernel, off unless asked for). */
export class CallSiteTracker {
  private readonly sites = new Map<string, CallSiteStats>();
  private readonly live = new Map<number, LiveAllocation>();
  private seq = 0;
  private liveBytesAll = 0;
  private peakBytesAll = 0;
  untrackedFrees = 0;

  constructor(private readonly nrPossibleCpus: number) {}

  private site(callSite: string): CallSiteStats {
    let s = this.sites.get(callSite);
    if (s === undefined) {
      s = { callSite, allocs: 0, frees: 0, failures: 0, bytesAlloc: 0, live: 0, liveBytes: 0, peakBytes: 0 };
      this.sites.set(callSite, s);
    }
    return s;
  }

  /** One `__alloc_percpu_gfp` / `__alloc_reserved_percpu` call and its result. */
  alloc(callSite: string, size: number, align: number, reserved: boolean, ptr: PcpuPtr | null): void {
    const s = this.site(callSite);
    if (ptr === null) {
      s.failures++;
      return;
    }
    const bytes = size * this.nrPossibleCpus;
    s.allocs++;
    s.bytesAlloc += bytes;
    s.live++;
    s.liveBytes += bytes;
    if (s.liveBytes > s.peakBytes) s.peakBytes = s.liveBytes;
    this.liveBytesAll += bytes;
    if (this.liveBytesAll > this.peakBytesAll) this.peakBytesAll = this.liveBytesAll;
    this.live.set(ptr, { ptr, callSite, size, align, reserved, bytes, seq: ++this.seq });
  }

  /** One successful `free_percpu`. */
  free(ptr: PcpuPtr): void {
    const a = this.live.get(ptr);
    if (a === undefined) {
      this.untrackedFrees++;
      return;
    }
    this.live.delete(ptr);
    const s = this.site(a.callSite);
    s.frees++;
    s.live--;
    s.liveBytes -= a.bytes;
    this.liveBytesAll -= a.bytes;
  }

  /** Live allocations, oldest first. */
  liveAllocations(): LiveAllocation[] {
    return [...this.live.values()];
  }

  /** The live allocation at `ptr`, if tracked. */
  lookup(ptr: number): LiveAllocation | undefined {
    return this.live.get(ptr);
  }

  report(): CallSiteReport {
    const sites = [...this.sites.values()]
      .map((s) => ({ ...s }))
      .sort(
        (a, b) =>
          b.liveBytes - a.liveBytes ||
          b.bytesAlloc - a.bytesAlloc ||
          (a.callSite < b.callSite ? -1 : a.callSite > b.callSite ? 1 : 0),
      );
    const totals = { allocs: 0, frees: 0, failures: 0, bytesAlloc: 0, live: 0, liveBytes: 0, peakBytes: 0 };
    for (const s of sites) {
      totals.allocs += s.allocs;
      totals.frees += s.frees;
      totals.failures += s.failures;
      totals.bytesAlloc += s.bytesAlloc;
      totals.live += s.live;
      totals.liveBytes += s.liveBytes;
    }
    /* The peak of all sites together, not the sum of their peaks. */
    totals.peakBytes = this.peakBytesAll;
    return { sites, totals, untrackedFrees: this.untrackedFrees, leaks: this.liveAllocations() };
  }
}
