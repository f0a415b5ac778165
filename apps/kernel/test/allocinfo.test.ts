/*
 * CONFIG_MEM_ALLOC_PROFILING (`allocProfiling`): percpu allocations charged
 * to their call site's alloc tag, /proc/allocinfo in the kernel's format.
 * Numbers are derived by hand: the default kernel's first chunk has
 * d28672 dynamic bytes and no obj_exts, so the first 28672 / 16 = 1792
 * 16-byte allocations are never counted; the rest land in created chunks.
 */
import { describe, expect, it } from "vitest";
import { codetagOfCallSite } from "../src/alloc-tags.js";
import type { KernelConfig } from "../src/api.js";
import { procFileOf, procText } from "../src/cli/proc-cmd.js";
import { ConfigError, resolveConfig } from "../src/config.js";
import { parseKconfig } from "../src/kconfig.js";
import { KernelApiError } from "../src/kernel.js";
import { ALL_DEFINITIONS, bootKernel } from "../src/registry.js";
import { WORKLOADS } from "../src/workloads/index.js";

const HEADER = "allocinfo - version: 1.0\n#     <size>  <calls> <tag info>\n";
const BPF = "bpf_map_alloc_percpu+0x69/0xc0";
const lookup = (name: string) => ALL_DEFINITIONS.arches.find((d) => d.name === name);
const line = (text: string, needle: string) => text.split("\n").find((l) => l.includes(needle));

describe("/proc/allocinfo (lib/alloc_tag.c allocinfo_show)", () => {
  it("lists the built-in call sites at boot with 0 bytes and 0 calls", () => {
    const k = bootKernel({ allocProfiling: true, trace: false });
    expect(k.allocinfo()).toBe(
      `${HEADER}` +
        "           0        0 include/linux/bpf.h:2256 func:bpf_map_alloc_percpu \n" +
        "           0        0 lib/percpu_counter.c:197 func:__percpu_counter_init_many \n" +
        "           0        0 net/core/dev.c:7614 func:net_rx_action \n" +
        "           0        0 kernel/module/main.c:460 func:percpu_modalloc \n" +
        "           0        0 pcpu_model.c:29 [pcpu_model] func:pcpu_model_alloc \n",
    );
  });

  it("counts one unit's bytes per object from created chunks only (3000 x 16 B: 1208 counted)", () => {
    const k = bootKernel({ allocProfiling: true, trace: false });
    const ps = [];
    for (let i = 0; i < 3000; i++) ps.push(k.percpu.alloc(16, 8, "GFP_KERNEL", { callSite: BPF })!);
    expect(k.counters.chunksCreated).toBe(1);
    /* 3000 - 28672 / 16 = 1208 objects, 1208 * 16 = 19328 bytes (not times the 8 CPUs) */
    expect(line(k.allocinfo(), "bpf.h")).toBe(
      "       19328     1208 include/linux/bpf.h:2256 func:bpf_map_alloc_percpu ",
    );
    /* 13 bytes are rounded to PCPU_MIN_ALLOC_SIZE first: 16 */
    const m = k.percpu.alloc(13, 4, "GFP_KERNEL", { callSite: "ext4_init+0x2d/0x90 [ext4]" })!;
    expect(line(k.allocinfo(), "ext4")).toBe("          16        1 ext4.c:1 [ext4] func:ext4_init ");
    for (const p of ps.slice(0, 1800)) k.percpu.free(p);
    /* freeing the first 1792 (first chunk) changes nothing, the next 8 take 128 bytes back */
    expect(line(k.allocinfo(), "bpf.h")).toBe(
      "       19200     1200 include/linux/bpf.h:2256 func:bpf_map_alloc_percpu ",
    );
    k.percpu.free(m);
    expect(line(k.allocinfo(), "ext4")).toBe("           0        0 ext4.c:1 [ext4] func:ext4_init ");
  });

  it("never counts reserved allocations (module static percpu: the reserved chunk has no obj_exts)", () => {
    const k = bootKernel({ allocProfiling: true, trace: false });
    expect(k.percpu.allocReserved(0x1000, 8, { callSite: "load_module+0x1b5d/0x2560" })).not.toBeNull();
    expect(line(k.allocinfo(), "percpu_modalloc")).toBe(
      "           0        0 kernel/module/main.c:460 func:percpu_modalloc ",
    );
  });

  it("tags the workloads' sites and takes an explicit tag; totals match the live objects", () => {
    const k = bootKernel({ allocProfiling: true, trace: false });
    const tag = { filename: "drivers/foo/bar.c", lineno: 42, function: "bar_probe", modname: "foo" };
    const fill = [];
    for (let i = 0; i < 1792; i++) fill.push(k.percpu.alloc(16, 8)!); /* the first chunk's dynamic area */
    const p = k.percpu.alloc(64, 8, "GFP_KERNEL", { tag })!;
    expect(line(k.allocinfo(), "bar.c")).toBe(
      "          64        1 drivers/foo/bar.c:42 [foo] func:bar_probe ",
    );
    k.percpu.free(p);
    WORKLOADS.counters.run(k, { ops: 2000 });
    const counters = line(k.allocinfo(), "percpu_counter.c")!;
    expect(counters).toMatch(/^ {0,11}\d+ +\d+ lib\/percpu_counter\.c:197 func:__percpu_counter_init_many $/);
    expect(() =>
      k.percpu.alloc(8, 8, "GFP_KERNEL", { tag: { filename: "x.c", lineno: 0, function: "f" } as never }),
    ).toThrow(KernelApiError);
  });

  it("does not exist without profiling; proc allocinfo says how to get it", () => {
    const k = bootKernel({ trace: false });
    expect(() => k.allocinfo()).toThrow(/No such file or directory \(CONFIG_MEM_ALLOC_PROFILING is off\)/);
    const a = { positionals: ["/proc/allocinfo"], flags: {}, lists: {} } as never;
    expect(procFileOf(a)).toBe("allocinfo");
    expect(() => procText(k, "allocinfo")).toThrow(/--alloc-profiling on/);
    expect(procText(bootKernel({ allocProfiling: true, trace: false }), "allocinfo").startsWith(HEADER)).toBe(
      true,
    );
  });
});

describe("allocProfiling in the config", () => {
  it("comes from CONFIG_MEM_ALLOC_PROFILING and exists from 6.10 (v6) only", () => {
    expect(resolveConfig(parseKconfig("CONFIG_MEM_ALLOC_PROFILING=y\n"), lookup).allocProfiling).toBe(true);
    expect(resolveConfig({}, lookup).allocProfiling).toBe(false);
    let err: unknown;
    try {
      resolveConfig({ allocProfiling: true, era: "v5.14" } as KernelConfig, lookup);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).setting).toBe("allocProfiling");
  });

  it("maps %pS call sites to codetags", () => {
    expect(codetagOfCallSite(BPF)).toEqual({
      filename: "include/linux/bpf.h",
      lineno: 2256,
      function: "bpf_map_alloc_percpu",
    });
    expect(codetagOfCallSite("load_module+0x1b5d/0x2560")?.function).toBe("percpu_modalloc");
    expect(codetagOfCallSite("not a symbol")).toBeNull();
  });
});
