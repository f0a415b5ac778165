/*
 * Memory cgroup accounting of percpu memory (mm/percpu.c
 * pcpu_memcg_pre_alloc_hook, pcpu_memcg_post_alloc_hook,
 * pcpu_memcg_free_hook; the obj_cgroup side is @pcpu/mm's memcontrol).
 *
 *   pcpu_alloc:  [pre: charge objcg pcpu_obj_full_size] ... area found, populated
 *                [post: chunk->obj_exts[off >> 2] = objcg, memory.stat percpu += full size]
 *                (fail, or a chunk without obj_exts: the charge is returned)
 *   free_percpu: [free: obj_exts[off >> 2] cleared, uncharged, percpu -= full size]
 *
 * Only __GFP_ACCOUNT allocations are charged, to the current task's memcg
 * (or the active memcg a caller set, as bpf does for map memory). Every
 * chunk the running kernel creates carries the obj_exts array (one slot per
 * PCPU_MIN_ALLOC_SIZE bytes of a unit); the first chunk has none, so
 * accounted allocations served from it are uncharged again and never show
 * in memory.stat.
 *
 * Cost when off: pcpu_alloc tests `gfp & pcpu.memcgAccountMask`, which is
 * 0 without memcg kmem accounting (one branch for memcg-off and for every
 * allocation without __GFP_ACCOUNT).
 */

import { pcpuObjFullSize } from "./alloc.js";
import { PCPU_MIN_ALLOC_SHIFT } from "./api.js";
import type { PcpuChunk } from "./chunk.js";
import type { Percpu } from "./percpu.js";

/**
 * `pcpu_memcg_pre_alloc_hook(size, gfp, &objcg)`: charge the current
 * obj_cgroup `pcpu_obj_full_size(size)` bytes before any allocator state
 * changes. Called only for `gfp & __GFP_ACCOUNT` with accounting built in.
 * @context process or atomic context, before pcpu_alloc_mutex / pcpu_lock.
 * @returns the charged objcg's id, 0 when nothing was charged (kmem not
 *   online, no objcg for the context), -1 when the charge failed (the
 *   allocation fails without a percpu warning).
 */
export function pcpuMemcgPreAllocHook(pcpu: Percpu, size: number, gfp: number): number {
  const memcg = pcpu.machine.memcg;
  if (!memcg.kmemOnline) return 0;
  const objcg = memcg.currentObjCgroup();
  if (objcg === null) return 0;
  if (memcg.objCgroupCharge(objcg, gfp, pcpuObjFullSize(pcpu, size)) !== 0) return -1;
  return objcg.id;
}

/**
 * `pcpu_memcg_post_alloc_hook(objcg, chunk, off, size)`: record the objcg
 * in the chunk's obj_exts slot of the area and count the bytes in the
 * memcg's `percpu` stat; on the failure path (`chunk` null) or for a chunk
 * without obj_exts (the first chunk), give the charge back.
 */
export function pcpuMemcgPostAllocHook(
  pcpu: Percpu,
  objcgId: number,
  chunk: PcpuChunk | null,
  off: number,
  size: number,
): void {
  if (objcgId === 0) return;
  const memcg = pcpu.machine.memcg;
  const objcg = memcg.objcgs[objcgId]!;
  const full = pcpuObjFullSize(pcpu, size);
  if (chunk !== null && chunk.objExts !== null) {
    chunk.objExts[off >>> PCPU_MIN_ALLOC_SHIFT] = objcgId;
    memcg.modMemcgState(objcg.memcg, "percpu", full);
  } else {
    memcg.objCgroupUncharge(objcg, full);
  }
}

/**
 * `pcpu_memcg_free_hook(chunk, off, size)`: uncharge the area freed at
 * `off` if it was charged, and take it out of the `percpu` stat.
 * @context pcpu_lock held (free_percpu).
 */
export function pcpuMemcgFreeHook(pcpu: Percpu, chunk: PcpuChunk, off: number, size: number): void {
  const exts = chunk.objExts;
  if (exts === null) return;
  const i = off >>> PCPU_MIN_ALLOC_SHIFT;
  const objcgId = exts[i]!;
  if (objcgId === 0) return;
  exts[i] = 0;
  const memcg = pcpu.machine.memcg;
  const objcg = memcg.objcgs[objcgId]!;
  const full = pcpuObjFullSize(pcpu, size);
  memcg.objCgroupUncharge(objcg, full);
  memcg.modMemcgState(objcg.memcg, "percpu", -full);
}
