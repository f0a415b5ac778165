import { Machine, type MachineConfig } from "@pcpu/mm";

/** Two 64 MiB nodes, 4 CPUs (0-1 on node 0, 2-3 on node 1), 4 KiB pages, 47-bit internal addresses. */
export const X64: MachineConfig = {
  pageShift: 12,
  bits: 64,
  vaBits: 47,
  nodes: [
    { start: 0x0, size: 0x4000000 },
    { start: 0x4000000, size: 0x4000000 },
  ],
  pageOffset: 0x100000000000,
  vmallocStart: 0x200000000000,
  vmallocEnd: 0x210000000000,
  nrCpus: 4,
  cpuToNode: [0, 0, 1, 1],
};

/** i386-like: 1 GiB on one node, 896 MiB of lowmem at 0xc0000000, vmalloc 0xf8800000-0xff800000. */
export const I386: MachineConfig = {
  pageShift: 12,
  bits: 32,
  vaBits: 32,
  nodes: [{ start: 0x0, size: 0x40000000 }],
  pageOffset: 0xc0000000,
  directMapSize: 0x38000000,
  vmallocStart: 0xf8800000,
  vmallocEnd: 0xff800000,
  nrCpus: 2,
};

export function x64(over: Partial<MachineConfig> = {}): Machine {
  return new Machine({ ...X64, ...over });
}

export function i386(over: Partial<MachineConfig> = {}): Machine {
  return new Machine({ ...I386, ...over });
}

/** Catches the error thrown by fn (fails the test if nothing is thrown). */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an exception");
}
