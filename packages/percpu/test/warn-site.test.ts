import { describe, expect, it } from "vitest";
import { DEFAULT_CALL_SITE } from "../src/alloc.js";
import { allocPercpu, freePercpu } from "../src/percpu-api.js";
import { bootTestKernel } from "../src/testing/boot.js";
import { formatSymbol, PCPU_WARN_SITES, pcpuWarnWhere } from "../src/warn-site.js";
import { stubBackend } from "./helpers/stub-backend.js";

/* `%pS` of a trap or return address: a symbol, an offset inside it and its size. */
const PS = /^[A-Za-z_][\w.]*\+0x[1-9a-f][0-9a-f]*\/0x[1-9a-f][0-9a-f]*( \[\w+\])?$/;

describe("pcpuWarnWhere (the WARNING line of __warn with CONFIG_DEBUG_BUGVERBOSE)", () => {
  it("prints file:line and %pS for pcpu_alloc's illegal-size WARN as a 6.16+ kernel does", () => {
    const { pcpu, machine } = bootTestKernel({ population: stubBackend, cpus: 4 });
    const n = machine.log.dmesg().length;
    expect(allocPercpu(pcpu, 0x10, 0x2000)).toBeNull();
    expect(machine.log.dmesg().slice(n)).toEqual([
      "------------[ cut here ]------------",
      "illegal size (16) or align (8192) for percpu allocation",
      "WARNING: CPU: 0 PID: 0 at mm/percpu.c:1766 pcpu_alloc_noprof+0x82b/0xeb0",
      "---[ end trace 0000000000000000 ]---",
    ]);
  });

  it("names pcpu_alloc before the 6.10 alloc-hooks split (a real 6.9 build: pcpu_alloc+0x82b/0x920)", () => {
    const { pcpu, machine } = bootTestKernel({ population: stubBackend, cpus: 4, era: "v5.14" });
    const n = machine.log.dmesg().length;
    expect(allocPercpu(pcpu, 0, 8)).toBeNull();
    expect(machine.log.dmesg()[n + 2]).toBe(
      "WARNING: CPU: 0 PID: 0 at mm/percpu.c:1766 pcpu_alloc+0x82b/0x920",
    );
  });

  it("attributes the free_percpu misuse WARN to the chunk lookup in free_percpu", () => {
    const { pcpu, machine } = bootTestKernel({ population: stubBackend, cpus: 4 });
    const p = allocPercpu(pcpu, 8, 8)!;
    expect(freePercpu(pcpu, p)).toBe(true);
    const n = machine.log.dmesg().length;
    expect(freePercpu(pcpu, p)).toBe(false);
    expect(machine.log.dmesg()[n + 2]).toBe(
      "WARNING: CPU: 0 PID: 0 at mm/percpu.c:2236 free_percpu+0x6e/0x4b0",
    );
  });

  it("gives every site a line and an offset inside a non-empty symbol, in every era", () => {
    for (const era of ["v6", "v5.14", "v4.14", "v3.18", "v2.6.32", "v2.6.30"] as const) {
      for (const site of Object.values(PCPU_WARN_SITES)) {
        const [file, sym] = pcpuWarnWhere(era, site).split(" ");
        expect(file).toMatch(/^mm\/percpu\.c:\d+$/);
        expect(sym).toMatch(PS);
        const [off, size] = sym!
          .split("+")[1]!
          .split("/")
          .map((h) => Number.parseInt(h, 16));
        expect(off!).toBeLessThan(size!);
      }
    }
  });
});

describe("DEFAULT_CALL_SITE (the alloc tracepoint's call_site when the caller names none)", () => {
  it("is a %pS a kernel can print: a caller's symbol+off/size, never +0x0/0x0", () => {
    expect(DEFAULT_CALL_SITE).toBe("pcpu_model_alloc+0x1d/0x40 [pcpu_model]");
    expect(DEFAULT_CALL_SITE).toMatch(PS);
    expect(formatSymbol("bpf_map_alloc_percpu", 0x69, 0xc0)).toBe("bpf_map_alloc_percpu+0x69/0xc0");
  });
});
