/*
 * BPF per-CPU maps (kernel/bpf/arraymap.c, hashtab.c): a BPF_MAP_TYPE_
 * PERCPU_ARRAY allocates one percpu area per element at map creation
 * (bpf_array_alloc_percpu: round_up(value_size, 8) bytes, align 8,
 * GFP_USER | __GFP_NOWARN), an update from user space copies the value into
 * every possible CPU's copy (bpf_percpu_copy / copy_map_value), a lookup
 * sums or reads them back, and map destruction frees every element in bulk
 * (bpf_array_free_percpu). Churning maps of many small elements is the
 * workload the bitmap allocator's block hints were written for.
 *
 * One op is a map create, update or destroy.
 */

import { __GFP_NOWARN, GFP_USER } from "@pcpu/mm";
import type { PcpuPtr } from "@pcpu/percpu";
import type { Kernel } from "../kernel.js";
import {
  type Workload,
  WorkloadCheckError,
  type WorkloadOptions,
  type WorkloadResult,
  workloadParams,
} from "./workload.js";

const VALUE_SIZES = [4, 8, 12, 16, 24, 32, 48, 64, 128, 256] as const;
/* the return address after bpf_map_alloc_percpu's call, as a real 6.x x86_64 backtrace shows it */
const CALL_SITE = "bpf_map_alloc_percpu+0x69/0xc0";

interface BpfPercpuMap {
  readonly id: number;
  readonly elemSize: number;
  readonly elems: PcpuPtr[];
  /** Last value written per element (the same on every CPU), as a 64-bit seed. */
  readonly values: bigint[];
}

function createMap(k: Kernel, id: number, maxEntries: number, valueSize: number): BpfPercpuMap | null {
  const elemSize = Math.ceil(valueSize / 8) * 8;
  const elems: PcpuPtr[] = [];
  for (let i = 0; i < maxEntries; i++) {
    const p = k.percpu.alloc(elemSize, 8, GFP_USER | __GFP_NOWARN, { callSite: CALL_SITE });
    if (p === null) {
      /* bpf_array_free_percpu on the partial map; the syscall fails with -ENOMEM. */
      for (const q of elems) k.percpu.free(q);
      return null;
    }
    elems.push(p);
  }
  return { id, elemSize, elems, values: new Array<bigint>(maxEntries).fill(0n) };
}

function updateElem(k: Kernel, map: BpfPercpuMap, i: number, value: bigint): void {
  const p = map.elems[i]!;
  for (const cpu of k.config.possibleCpus) {
    const addr = k.percpu.perCpuPtr(p, cpu);
    for (let off = 0; off < map.elemSize; off += 8)
      k.mem.write(addr + off, 8, value + BigInt(cpu * 64 + off));
  }
  map.values[i] = value;
}

function lookupElem(k: Kernel, map: BpfPercpuMap, i: number): number {
  const p = map.elems[i]!;
  let checks = 0;
  for (const cpu of k.config.possibleCpus) {
    const addr = k.percpu.perCpuPtr(p, cpu);
    for (let off = 0; off < map.elemSize; off += 8) {
      const want = map.values[i] === 0n ? 0n : BigInt.asUintN(64, map.values[i]! + BigInt(cpu * 64 + off));
      const got = k.mem.read(addr + off, 8);
      if (got !== want) {
        throw new WorkloadCheckError(
          `bpf-map: map ${map.id} element ${i} cpu ${cpu} offset ${off}: read 0x${got.toString(16)}, wrote 0x${want.toString(16)}`,
        );
      }
      checks++;
    }
  }
  return checks;
}

function destroyMap(k: Kernel, map: BpfPercpuMap): void {
  for (const p of map.elems) k.percpu.free(p);
}

export const bpfMapWorkload: Workload = {
  name: "bpf-map",
  description:
    "BPF per-CPU array maps: create (one percpu element each), update/lookup on every CPU, destroy in bulk",
  defaultOps: 300,
  run(k: Kernel, o: WorkloadOptions): WorkloadResult {
    const { ops, scale, rng, tick } = workloadParams(k, this, o);
    k.machine.ctx.setTask(4242, "bpftool");
    const maxLive = Math.max(2, Math.round(6 * scale));
    const live: BpfPercpuMap[] = [];
    let created = 0;
    let failed = 0;
    let destroyed = 0;
    let updates = 0;
    let checks = 0;
    let nextId = 1;
    for (let op = 1; op <= ops; op++) {
      const r = rng.next();
      if (live.length === 0 || (live.length < maxLive && r < 0.35)) {
        const entries = rng.int(1, Math.max(1, Math.round(96 * scale)));
        const map = createMap(k, nextId++, entries, rng.pick(VALUE_SIZES));
        if (map === null) failed++;
        else {
          created++;
          live.push(map);
        }
      } else if (r < 0.8) {
        const map = rng.pick(live);
        const i = rng.int(0, map.elems.length - 1);
        updateElem(k, map, i, BigInt(rng.int(1, 0x7fffffff)) << 16n);
        checks += lookupElem(k, map, i);
        updates++;
      } else {
        const map = live.splice(rng.int(0, live.length - 1), 1)[0]!;
        destroyMap(k, map);
        destroyed++;
        /* The map's percpu memory goes back; kworker runs the balance work it queued. */
        k.runWork();
      }
      tick(op);
    }
    for (const map of live) {
      for (let i = 0; i < map.elems.length; i++) checks += lookupElem(k, map, i);
      destroyMap(k, map);
      destroyed++;
    }
    k.runWork();
    return {
      workload: "bpf-map",
      ops,
      checks,
      details: { mapsCreated: created, mapCreateFailures: failed, mapsDestroyed: destroyed, updates },
    };
  },
};
