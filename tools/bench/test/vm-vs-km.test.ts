import { percpuVm } from "@pcpu/percpu-vm";
import { describe, expect, it } from "vitest";
import { churn, formatVmVsKmTable, runVmVsKm, vmVsKmReport } from "../src/vm-vs-km.js";

const vm = { name: "percpu-vm", factory: percpuVm };

describe("vm-vs-km benchmark (runVmVsKm)", () => {
  it("accounts percpu-vm pages page by page, CPU by CPU", () => {
    const r = churn(vm, 4, 600, 0x5eed);
    /* every page the allocator handed out went to a unit: 4 per populated page */
    expect(r.pageAllocCalls % 4).toBe(0);
    expect(r.peakPages % 4).toBe(0);
    expect(r.peakPages).toBeLessThanOrEqual(r.pageAllocCalls);
    /* Percpu: counts the first chunk's 0x2d pages per unit on top of the chunks' pages */
    expect(r.peakNrPages).toBeGreaterThanOrEqual(r.peakPages + 0x2d * 4);
    /* After everything is freed, one spare chunk survives, with at most a unit's pages per CPU. */
    expect(r.finalPages).toBeLessThanOrEqual(0x2d * 4);
    expect(r.flushes).toBeGreaterThan(0);
  });

  it("runs every strategy on 1 and 4 CPUs and reports time ratios against the first", () => {
    const rows = runVmVsKm({ quick: true }, [vm, { name: "vm again", factory: percpuVm }]);
    expect(rows.map((x) => [x.strategy, x.cpus])).toEqual([
      ["percpu-vm", 1],
      ["vm again", 1],
      ["percpu-vm", 4],
      ["vm again", 4],
    ]);
    /* Same workload, same seed: the same pages. */
    expect(rows[1]!.peakPages).toBe(rows[0]!.peakPages);
    expect(formatVmVsKmTable(rows)).toHaveLength(5);
    const rep = vmVsKmReport({ quick: true, runs: 1 }, [vm, { name: "vm again", factory: percpuVm }]);
    const lines = rep.text.split("\n");
    expect(lines).toHaveLength(1 + 5 + 2);
    expect(lines[6]).toMatch(/^ {2}vm again, 1 CPU\(s\): time per operation \d+\.\d\d x percpu-vm$/);
    expect(rep.json.rows).toHaveLength(4);
  });
});
