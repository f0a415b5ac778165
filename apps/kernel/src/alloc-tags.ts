/*
 * The alloc tags (CONFIG_MEM_ALLOC_PROFILING) of the call sites the model's
 * workloads and API use. A kernel's tag names where the allocation macro
 * expands: `file:line`, the module, and `__func__` there, which is not
 * always the `%pS` symbol the tracepoint prints (an inlined helper's
 * `__func__` is its own name: percpu_modalloc() inlined into load_module()).
 *
 * Positions: bpf_map_alloc_percpu's is from a real 6.9 /proc/allocinfo
 * (LKML, Suren Baghdasaryan, 2024-03-21, "Re: [PATCH v6 05/37] fs: Convert
 * alloc_inode_sb() to a macro": `include/linux/bpf.h:2256
 * func:bpf_map_alloc_percpu`); the others are representative positions of
 * v6.18 sources, fixed so output is stable. A module's `<name>_init`
 * allocation is given `<name>.c` at one fixed line (the model has no module
 * sources). An unknown symbol gets `<symbol>.c` the same way; callers that
 * know their position pass `tag` themselves.
 */

import { DEFAULT_CALL_SITE, type PcpuAllocOpts, type PcpuCodetag } from "@pcpu/percpu";

/** The line a module's or an unknown symbol's stand-in tag uses. */
export const STAND_IN_LINENO = 1;

/** Source positions by `%pS` symbol. */
export const CALL_SITE_TAGS: Readonly<Record<string, PcpuCodetag>> = {
  /* bpf-map: __alloc_percpu_gfp in the inline of include/linux/bpf.h */
  bpf_map_alloc_percpu: { filename: "include/linux/bpf.h", lineno: 2256, function: "bpf_map_alloc_percpu" },
  /* counters: the one __alloc_percpu_gfp of lib/percpu_counter.c */
  __percpu_counter_init_many: {
    filename: "lib/percpu_counter.c",
    lineno: 197,
    function: "__percpu_counter_init_many",
  },
  /* atomic-burst: the softirq allocation the workload stands for */
  net_rx_action: { filename: "net/core/dev.c", lineno: 7614, function: "net_rx_action" },
  /* modules: __alloc_reserved_percpu in percpu_modalloc(), inlined into load_module() */
  load_module: { filename: "kernel/module/main.c", lineno: 460, function: "percpu_modalloc" },
  /* the model's own API user (DEFAULT_CALL_SITE) */
  pcpu_model_alloc: {
    filename: "pcpu_model.c",
    lineno: 29,
    function: "pcpu_model_alloc",
    modname: "pcpu_model",
  },
};

const PS_RE = /^([A-Za-z_][A-Za-z0-9_.]*)\+0x[0-9a-f]+\/0x[0-9a-f]+(?: \[([A-Za-z0-9_-]+)\])?$/;

/**
 * The codetag of a `%pS` call site (`bpf_map_alloc_percpu+0x69/0xc0`,
 * `ext4_init+0x2d/0x90 [ext4]`): the table's position for a known symbol,
 * a stand-in `<name>.c` otherwise; the module from the `[module]` suffix.
 * @returns the codetag, or null when the text is not a `%pS` symbol
 */
export function codetagOfCallSite(callSite: string): PcpuCodetag | null {
  const m = PS_RE.exec(callSite);
  if (m === null) return null;
  const sym = m[1]!;
  const mod = m[2];
  const known = CALL_SITE_TAGS[sym];
  if (known !== undefined && (known.modname ?? undefined) === mod) return known;
  const filename = `${mod ?? sym}.c`;
  return mod === undefined
    ? { filename, lineno: STAND_IN_LINENO, function: sym }
    : { filename, lineno: STAND_IN_LINENO, function: sym, modname: mod };
}

/** The tags of the workloads' kernel call sites, declared at boot (they list as `0 0` until used). */
export function builtinCallSiteTags(): PcpuCodetag[] {
  const own = codetagOfCallSite(DEFAULT_CALL_SITE);
  return Object.values(CALL_SITE_TAGS).filter((t) => t.modname === undefined || t === own);
}

/**
 * Adds the call site's tag to an allocation's options (what `alloc_hooks()`
 * does by setting current->alloc_tag), one cached options object per call
 * site so the hot path allocates nothing.
 */
export class AllocTagOpts {
  private readonly cache = new Map<string, PcpuAllocOpts>();

  of(opts: PcpuAllocOpts | undefined): PcpuAllocOpts | undefined {
    if (opts?.tag !== undefined) return opts;
    const named = opts?.callSite;
    /* only { callSite } options are cached: others may carry more per call */
    const plain = opts === undefined || Object.keys(opts).every((k) => k === "callSite");
    const key = named ?? "";
    if (plain) {
      const hit = this.cache.get(key);
      if (hit !== undefined) return hit;
    }
    const tag = codetagOfCallSite(named ?? DEFAULT_CALL_SITE);
    if (tag === null) return opts;
    const o: PcpuAllocOpts = opts === undefined ? { tag } : { ...opts, tag };
    if (plain) this.cache.set(key, o);
    return o;
  }
}
