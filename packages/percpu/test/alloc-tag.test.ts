/*
 * CONFIG_MEM_ALLOC_PROFILING for percpu (6.10+): pcpu_alloc records the
 * call site's tag in the object's obj_exts slot and adds its unit size and
 * one call; free_percpu takes them back; the first and reserved chunks have
 * no obj_exts and are never counted; /proc/allocinfo prints
 * `%12lli %8llu file:line [mod] func:name ` lines after its header.
 */
import { describe, expect, it } from "vitest";
import {
  codetagToText,
  type PcpuCodetag,
  pcpuAllocTagAllocHook,
  pcpuAllocTagFreeHook,
  procAllocinfo,
} from "../src/alloc-tag.js";
import { allocPercpu, allocReservedPercpu, freePercpu } from "../src/percpu-api.js";
import { bootTestKernel } from "../src/testing/boot.js";
import { stubBackend } from "./helpers/stub-backend.js";

const BPF: PcpuCodetag = { filename: "include/linux/bpf.h", lineno: 2256, function: "bpf_map_alloc_percpu" };
const MOD: PcpuCodetag = {
  filename: "net/netfilter/nf_conntrack_core.c",
  lineno: 2712,
  function: "nf_conntrack_init_start",
  modname: "nf_conntrack",
};

const boot = (allocProfiling = true) =>
  bootTestKernel({ population: stubBackend, options: { allocProfiling } });

describe("codetagToText (codetag_to_text) and procAllocinfo (allocinfo_show)", () => {
  it("prints the kernel's and a module's tag, widths 12 and 8, a trailing space", () => {
    expect(codetagToText(BPF)).toBe("include/linux/bpf.h:2256 func:bpf_map_alloc_percpu");
    expect(codetagToText(MOD)).toBe(
      "net/netfilter/nf_conntrack_core.c:2712 [nf_conntrack] func:nf_conntrack_init_start",
    );
    const { pcpu } = boot();
    pcpu.allocTags!.register([BPF]);
    expect(procAllocinfo(pcpu.allocTags!.tags)).toBe(
      "allocinfo - version: 1.0\n#     <size>  <calls> <tag info>\n" +
        "           0        0 include/linux/bpf.h:2256 func:bpf_map_alloc_percpu \n",
    );
  });
});

describe("pcpuAllocTagAllocHook / pcpuAllocTagFreeHook (pcpu_alloc_tag_*_hook)", () => {
  it("never counts what the first chunk or the reserved chunk serves (no obj_exts)", () => {
    const { pcpu } = boot();
    const p = allocPercpu(pcpu, 16, 8, { tag: BPF })!;
    const r = allocReservedPercpu(pcpu, 64, 8, { tag: MOD })!;
    expect(p).not.toBeNull();
    expect(r).not.toBeNull();
    expect(pcpu.allocTags!.tags.map((t) => [t.bytes, t.calls])).toEqual([]);
    freePercpu(pcpu, p);
    freePercpu(pcpu, r);
  });

  it("counts unit bytes (size rounded to 4) and live calls in a created chunk, and frees them", () => {
    /* a chunk record that is neither the first nor the reserved chunk has obj_exts */
    const { pcpu } = boot();
    const chunk = pcpu.newChunkRecord(pcpu.unitPages, 0, 0, false);
    const tags = pcpu.allocTags!;
    /* the hooks get pcpu_alloc's rounded size: one unit's bytes, not times the CPUs */
    tags.register([BPF, MOD]);
    pcpuAllocTagAllocHook(pcpu, chunk, 0x40, 16, BPF);
    pcpuAllocTagAllocHook(pcpu, chunk, 0x80, 24, BPF);
    pcpuAllocTagAllocHook(pcpu, chunk, 0xc0, 8, MOD);
    expect(tags.tags.map((t) => [t.bytes, t.calls])).toEqual([
      [40, 2],
      [8, 1],
    ]);
    expect(tags.tagAt(chunk, 0x80)!.ct.function).toBe("bpf_map_alloc_percpu");
    pcpuAllocTagFreeHook(pcpu, chunk, 0x40, 16);
    expect(tags.tags.map((t) => [t.bytes, t.calls])).toEqual([
      [24, 1],
      [8, 1],
    ]);
    /* a second free of the same slot finds no tag and changes nothing */
    pcpuAllocTagFreeHook(pcpu, chunk, 0x40, 16);
    expect(tags.tags[0]!.calls).toBe(1);
    expect(procAllocinfo(tags.tags).split("\n")[2]).toBe(
      "          24        1 include/linux/bpf.h:2256 func:bpf_map_alloc_percpu ",
    );
  });

  it("does nothing with profiling off, and refuses malformed tags", () => {
    const { pcpu } = boot(false);
    expect(pcpu.allocTags).toBeNull();
    expect(allocPercpu(pcpu, 16, 8, { tag: BPF })).not.toBeNull();
    const on = boot().pcpu.allocTags!;
    expect(() => on.tagFor({ filename: "a b.c", lineno: 1, function: "f" })).toThrow(/without spaces/);
    expect(() => on.tagFor({ filename: "a.c", lineno: 0, function: "f" })).toThrow(/positive u32/);
    expect(() => on.tagFor({ filename: "a.c", lineno: 1, function: "f-g" })).toThrow(/C identifier/);
    expect(on.tags).toEqual([]);
  });
});
