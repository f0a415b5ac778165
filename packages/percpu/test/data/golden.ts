/*
 * Shared helpers for the boot-log golden tests: strip a pasted line down to
 * the kernel's text, compare it with the model's line, and turn a record's
 * implied inputs into the model's constants, distance function and alloc info.
 */

import type { PcpuAllocInfo, PcpuCpuDistanceFn } from "../../src/api.js";
import { LOCAL_DISTANCE, REMOTE_DISTANCE } from "../../src/api.js";
import { pcpuAllocAllocInfo, pcpuBuildAllocInfo } from "../../src/alloc-info.js";
import { type PcpuConstantsFull, pcpuConstants } from "../../src/constants.js";
import type { BootLogRecord } from "./boot-logs.js";

/** NR_CPUS used when a paste does not show it; it never appears in the golden lines. */
export const NR_CPUS_WHEN_UNKNOWN = 256;

/**
 * The kernel's text of a pasted line: drops a syslog prefix and the printk
 * timestamp, or the `Mon DD HH:MM:SS host kernel: ` prefix of journalctl
 * lines that have no timestamp.
 */
export function stripLine(raw: string): string {
  if (/\[\s*\d+\.\d+\]\s/.test(raw)) return raw.replace(/^.*?\[\s*\d+\.\d+\]\s/, "");
  return raw.replace(/^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ kernel: /, "");
}

/**
 * Whether the model's line equals the pasted one. Pastes often lose the
 * trailing space of a pcpu-alloc allocation line; then the model's line must
 * be the pasted text plus exactly that space.
 */
export function sameAsPasted(model: string, pasted: string): boolean {
  return model === pasted || (model.endsWith(" ") && !pasted.endsWith(" ") && model.slice(0, -1) === pasted);
}

/** A node-table distance function from the CPUs of each node. */
export function nodeDistance(nodes: readonly (readonly number[])[], nrPossibleCpus: number): PcpuCpuDistanceFn {
  const nodeOf = new Int32Array(nrPossibleCpus).fill(-1);
  nodes.forEach((cpus, node) => {
    for (const cpu of cpus) nodeOf[cpu] = node;
  });
  return (a, b) => (nodeOf[a] === nodeOf[b] ? LOCAL_DISTANCE : REMOTE_DISTANCE);
}

export function recordConstants(r: BootLogRecord): PcpuConstantsFull {
  const i = r.inputs;
  return pcpuConstants({ pageShift: i.pageShift, bits: i.bits, nrCpus: i.nrCpus ?? NR_CPUS_WHEN_UNKNOWN, era: r.era });
}

/** Builds the record's alloc info the way its kernel did (the UP record the way the !SMP setup does). */
export function recordAllocInfo(r: BootLogRecord, staticSize = r.inputs.staticSize): PcpuAllocInfo {
  const i = r.inputs;
  const k = recordConstants(r);
  if (r.id === "rpi-up-3.6") {
    /* setup_per_cpu_areas() for !CONFIG_SMP: one unit of roundup_pow_of_two(max(MIN_UNIT, DYNAMIC_RESERVE)) */
    const unitSize = 2 ** Math.ceil(Math.log2(Math.max(k.PCPU_MIN_UNIT_SIZE, k.PERCPU_DYNAMIC_RESERVE)));
    const ai = pcpuAllocAllocInfo(1, 1, k.NR_CPUS);
    ai.dynSize = unitSize;
    ai.unitSize = unitSize;
    ai.atomSize = unitSize;
    ai.allocSize = unitSize;
    ai.groups[0]!.nrUnits = 1;
    ai.groups[0]!.cpuMap[0] = 0;
    return ai;
  }
  const ai = pcpuBuildAllocInfo(k, {
    staticSize,
    reservedSize: i.reservedSize,
    dynSize: i.dynSize,
    atomSize: i.atomSize,
    nrPossibleCpus: i.nrPossibleCpus,
    cpuDistanceFn: i.nodes ? nodeDistance(i.nodes, i.nrPossibleCpus) : null,
    era: r.era,
  });
  if (ai === null) throw new Error(`${r.id}: pcpuBuildAllocInfo returned null`);
  return ai;
}
