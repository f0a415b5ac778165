import { __GFP_ACCOUNT, GFP_ATOMIC, GFP_KERNEL_ACCOUNT, GFP_NOWAIT } from "@pcpu/mm";
import { checkPercpuInvariants, type PcpuPtr } from "@pcpu/percpu";
import { describe, expect, it } from "vitest";
import { KernelApiError } from "../src/boundary.js";
import { runCli } from "../src/cli/run.js";
import type { Kernel } from "../src/kernel.js";
import { ALL_DEFINITIONS, bootKernel } from "../src/registry.js";
import { runWorkload } from "../src/report.js";
import { BPFTOOL_TASK, bpfPercpuArrayCreate, bpfPercpuArrayFree } from "../src/workloads/bpf-map.js";

/** The last line of the trace naming `what`. */
function lastTraceLine(k: Kernel, what: string): string {
  const lines = k
    .trace()
    .split("\n")
    .filter((l) => l.includes(what));
  return lines[lines.length - 1] ?? "";
}

/** A memory.stat line's value. */
function stat(k: Kernel, path: string, item: string): number {
  const line = k.cgroup
    .read(path, "memory.stat")
    .split("\n")
    .find((l) => l.startsWith(`${item} `));
  if (line === undefined) throw new Error(`no ${item} in memory.stat`);
  return Number(line.slice(item.length + 1));
}

/** Fills the first chunk with unaccounted 8-byte areas until the kernel creates a chunk; returns them. */
function fillFirstChunk(k: Kernel): PcpuPtr[] {
  const out: PcpuPtr[] = [];
  const before = k.counters.chunksCreated;
  while (k.counters.chunksCreated === before) out.push(k.percpu.alloc(8, 8)!);
  return out;
}

/**
 * The charged bytes memory.stat must show, derived independently from the
 * trace: every __GFP_ACCOUNT allocation outside the first chunk (which has
 * no obj_exts array) adds its bytes_alloc, its free takes it away.
 */
function chargedFromTrace(k: Kernel): number {
  const first = k.pcpu.firstChunk.baseAddr;
  const live = new Map<number, number>();
  let sum = 0;
  for (const { ev } of k.recorder!.records) {
    if (ev.event === "percpu_alloc_percpu" && (ev.gfpFlags & __GFP_ACCOUNT) !== 0 && ev.baseAddr !== first) {
      live.set(ev.ptr, ev.bytesAlloc);
      sum += ev.bytesAlloc;
    } else if (ev.event === "percpu_free_percpu") {
      const b = live.get(ev.ptr);
      if (b !== undefined) {
        sum -= b;
        live.delete(ev.ptr);
      }
    }
  }
  return sum;
}

describe("memcg accounting of percpu memory (pcpu_memcg_*_hook, obj_cgroup_charge)", () => {
  it("charges a bpf map's elements to its cgroup: percpu = n * pcpu_obj_full_size, bytes_alloc 160", () => {
    const k = bootKernel({ cpus: 8, trace: true });
    const keep = fillFirstChunk(k);
    k.cgroup.create("/bpf");
    const map = k.cgroup.run("/bpf", () => bpfPercpuArrayCreate(k, 1, 100, 16), BPFTOOL_TASK)!;
    expect(map.memcg).toBe("/bpf");
    /* 16 B on 8 CPUs plus 16 / 4 obj_cgroup pointers of 8 B: 160 bytes each */
    expect(stat(k, "/bpf", "percpu")).toBe(100 * 160);
    expect(stat(k, "/", "percpu")).toBe(100 * 160); /* hierarchical */
    expect(k.trace()).toContain("size=16 align=8 base_addr=" /* the rest of the line is checked below */);
    const line = lastTraceLine(k, "bpf_map_alloc_percpu");
    expect(line).toMatch(/bytes_alloc=160 gfp_flags=GFP_USER\|__GFP_NOWARN\|__GFP_ACCOUNT$/);
    /* 16000 bytes: 4 pages charged as kmem, 64 (one batch) on the page counter, 3 cached in the CPU's stock */
    expect(stat(k, "/bpf", "kernel")).toBe(4 * 4096);
    expect(k.cgroup.read("/bpf", "memory.current")).toBe(`${64 * 4096}\n`);
    bpfPercpuArrayFree(k, map);
    expect(stat(k, "/bpf", "percpu")).toBe(0);
    for (const p of keep) k.percpu.free(p);
  });

  it("without memcg kmem accounting bytes_alloc is 128 and nothing is charged", () => {
    const k = bootKernel({ cpus: 8, trace: true, memcg: false });
    fillFirstChunk(k);
    const p = k.percpu.alloc(16, 8, GFP_KERNEL_ACCOUNT)!;
    expect(p).not.toBeNull();
    expect(lastTraceLine(k, "percpu_alloc_percpu")).toContain("bytes_alloc=128 ");
    expect(() => k.cgroup.create("/x")).toThrow(/CONFIG_MEMCG is off/);
  });

  it("the debug checker catches an obj_exts slot without a live allocation (a leaked charge)", () => {
    const k = bootKernel({ cpus: 2, debugChecks: true });
    fillFirstChunk(k);
    const chunk = k.pcpu.allChunks().find((c) => c.objExts !== null)!;
    /* pcpu_chunk_map_bits(chunk) slots: one per PCPU_MIN_ALLOC_SIZE bytes of a unit */
    expect(chunk.objExts!.length).toBe(k.pcpu.unitSize / 4);
    expect(checkPercpuInvariants(k.pcpu)).toBeNull();
    chunk.objExts![chunk.objExts!.length - 1] = 1;
    expect(checkPercpuInvariants(k.pcpu)).toMatch(
      /obj_exts\[\d+\] holds obj_cgroup 1 but no live allocation/,
    );
  });

  it("eras before v5.9 (percpuMemcgAccounting off) charge nothing and add no obj_cgroup share", () => {
    const k = bootKernel({ cpus: 8, era: "v4.14", trace: true });
    k.cgroup.create("/old");
    fillFirstChunk(k);
    k.cgroup.run("/old", () => k.percpu.alloc(16, 8, "GFP_KERNEL_ACCOUNT"));
    expect(stat(k, "/old", "kernel")).toBe(0);
    expect(k.cgroup.read("/old", "memory.current")).toBe("0\n");
    expect(lastTraceLine(k, "percpu_alloc_percpu")).toContain("bytes_alloc=128 ");
  });

  it("an accounted allocation served by the first chunk is charged and given back (no obj_exts there)", () => {
    const k = bootKernel({ cpus: 8 });
    k.cgroup.create("/a");
    const p = k.cgroup.run("/a", () => k.percpu.alloc(16, 8, "GFP_KERNEL_ACCOUNT"))!;
    expect(k.pcpu.firstChunk.objExts).toBeNull();
    expect(stat(k, "/a", "percpu")).toBe(0);
    /* the page charged for 160 bytes stays charged: its bytes wait in the CPU's obj stock */
    expect(stat(k, "/a", "kernel")).toBe(4096);
    k.percpu.free(p);
  });

  it("runs the bpf-map workload in a cgroup: memory.stat percpu follows the trace at every step", () => {
    const k = bootKernel({ cpus: 8, trace: true, seed: 7, debugChecks: true });
    const keep = fillFirstChunk(k);
    const seen: number[] = [];
    const res = runWorkload(k, "bpf-map", {
      ops: 120,
      onStep: () => {
        const want = chargedFromTrace(k);
        expect(stat(k, "/bpf-map", "percpu")).toBe(want);
        seen.push(want);
      },
    });
    expect(Math.max(...seen)).toBeGreaterThan(0);
    expect(res.details.memcgPercpuPeak).toBe(Math.max(...seen));
    expect(k.cgroup.read("/bpf-map", "cgroup.procs")).toBe(`${BPFTOOL_TASK.pid}\n`);
    /* every map destroyed: nothing charged, every page back from the stocks once drained */
    expect(stat(k, "/bpf-map", "percpu")).toBe(0);
    for (const p of keep) k.percpu.free(p);
  });

  it("fails a bpf map at memory.max with the memcg OOM report, leaking nothing", () => {
    const k = bootKernel({ cpus: 8 });
    fillFirstChunk(k);
    k.cgroup.create("/bpf");
    /* one page: a 160-byte element charges a page, the 64-page batch no longer fits */
    k.cgroup.write("/bpf", "memory.max", "4K");
    expect(k.cgroup.read("/bpf", "memory.max")).toBe("4096\n");
    const pagesBefore = k.pcpu.nrPopulated;
    const chunksBefore = k.counters.chunksCreated;
    const map = k.cgroup.run("/bpf", () => bpfPercpuArrayCreate(k, 1, 40, 16), BPFTOOL_TASK);
    /* 25 elements of 160 bytes fit the page; the 26th needs a second page */
    expect(map).toBeNull();
    expect(stat(k, "/bpf", "percpu")).toBe(0);
    expect(k.pcpu.nrPopulated).toBe(pagesBefore);
    expect(k.counters.chunksCreated).toBe(chunksBefore);
    const dmesg = k.dmesg().join("\n");
    expect(dmesg).toContain(
      "bpftool invoked oom-killer: gfp_mask=0x502cc0(GFP_USER|__GFP_NOWARN|__GFP_ACCOUNT), order=0, oom_score_adj=0",
    );
    /* one max event, one after draining, then MAX_RECLAIM_RETRIES (16) */
    expect(dmesg).toContain("memory: usage 4kB, limit 4kB, failcnt 18");
    expect(dmesg).toContain("swap: usage 0kB, limit 9007199254740988kB, failcnt 0");
    expect(dmesg).toContain("Memory cgroup stats for /bpf:");
    expect(dmesg).toContain("Out of memory and no killable processes...");
    /* __GFP_NOWARN and a refused charge: pcpu_alloc prints nothing of its own */
    expect(dmesg).not.toContain("allocation failed");
    expect(k.cgroup.read("/bpf", "memory.events")).toBe(
      "low 0\nhigh 0\nmax 18\noom 1\noom_kill 0\noom_group_kill 0\nsock_throttled 0\n",
    );
    /* the partial map went back: its page is in the obj stock, the counter holds exactly it */
    expect(k.cgroup.read("/bpf", "memory.current")).toBe("4096\n");
    expect(stat(k, "/bpf", "kernel")).toBe(4096);
  });

  it("atomic charges over memory.max: GFP_NOWAIT fails quietly, GFP_ATOMIC (__GFP_HIGH) is forced over the limit", () => {
    const k = bootKernel({ cpus: 8, trace: true });
    fillFirstChunk(k);
    k.cgroup.create("/a");
    k.cgroup.write("/a", "memory.max", "0");
    const [nowait, atomic] = k.cgroup.run("/a", () => [
      k.percpu.alloc(16, 8, GFP_NOWAIT | __GFP_ACCOUNT),
      k.percpu.alloc(16, 8, GFP_ATOMIC | __GFP_ACCOUNT),
    ]);
    expect(nowait).toBeNull();
    expect(atomic).not.toBeNull();
    /* no reclaim for a non-blocking charge: no OOM report, no percpu_alloc_percpu_fail (the hook refused first) */
    expect(k.dmesg().join("\n")).not.toContain("oom-killer");
    expect(k.trace()).not.toContain("percpu_alloc_percpu_fail");
    expect(k.cgroup.read("/a", "memory.events")).toContain("max 1\n"); /* the forced charge's event */
    expect(stat(k, "/a", "percpu")).toBe(160);
    expect(k.cgroup.read("/a", "memory.current")).toBe("4096\n");
  });

  it("rmdir: refused while a task is in the cgroup; after it, the charges stay counted in the parent until freed", () => {
    const k = bootKernel({ cpus: 8 });
    const keep = fillFirstChunk(k);
    k.cgroup.create("/a");
    k.cgroup.create("/a/b");
    const map = k.cgroup.run(
      "/a/b",
      () => {
        expect(() => k.cgroup.remove("/a/b")).toThrow(/Device or resource busy/);
        return bpfPercpuArrayCreate(k, 1, 10, 16)!;
      },
      BPFTOOL_TASK,
    );
    expect(() => k.cgroup.remove("/a")).toThrow(/Device or resource busy/);
    k.cgroup.remove("/a/b");
    expect(k.cgroup.exists("/a/b")).toBe(false);
    /* the dying child's 1600 bytes are still /a's (memcg_reparent_objcgs) */
    expect(stat(k, "/a", "percpu")).toBe(10 * 160);
    bpfPercpuArrayFree(k, map);
    expect(stat(k, "/a", "percpu")).toBe(0);
    expect(stat(k, "/", "percpu")).toBe(0);
    for (const p of keep) k.percpu.free(p);
  });

  it("refuses bad cgroup arguments with the kernel's errors, changing nothing", () => {
    const k = bootKernel({ cpus: 2 });
    expect(() => k.cgroup.create("/a/b")).toThrow(/No such file or directory/);
    k.cgroup.create("/a");
    expect(() => k.cgroup.create("/a")).toThrow(/File exists/);
    expect(() => k.cgroup.write("/a", "memory.max", "lots")).toThrow(KernelApiError);
    expect(k.cgroup.read("/a", "memory.max")).toBe("max\n");
    expect(() => k.cgroup.read("/", "memory.max")).toThrow(/No such file/);
    expect(() => k.cgroup.read("/nope", "memory.stat")).toThrow(/No such file/);
  });
});

describe("pcpu-kernel cgroup PATH FILE", () => {
  function cli(argv: string[]) {
    let stdout = "";
    let stderr = "";
    const io = {
      stdout: {
        write: (s: string) => {
          stdout += s;
          return true;
        },
      },
      stderr: {
        write: (s: string) => {
          stderr += s;
          return true;
        },
      },
      cwd: process.cwd(),
      readStdin: () => Buffer.alloc(0),
    };
    const code = runCli(argv, ALL_DEFINITIONS, io as never);
    return { code, stdout, stderr };
  }

  it("prints memory.events after bpf-map ran into memory.max, as cat shows it", () => {
    const r = cli([
      "cgroup",
      "/sys/fs/cgroup/bpf",
      "memory.events",
      "--after",
      "bpf-map",
      "--memory-max",
      "64K",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("low 0\nhigh 0\nmax 18\noom 1\noom_kill 0\noom_group_kill 0\nsock_throttled 0\n");
  });

  it("refuses a kernel without the memory controller and unknown files (exit 2)", () => {
    expect(cli(["cgroup", "/x", "memory.stat", "--memcg", "off"]).code).toBe(2);
    const r = cli(["cgroup", "/x", "memory.swap"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
  });
});
