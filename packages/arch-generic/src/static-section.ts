/*
 * The kernel image's `.data..percpu` section in real memory: the template
 * every unit of the first chunk is copied from. The linker script
 * (include/asm-generic/vmlinux.lds.h PERCPU_SECTION / PERCPU_VADDR) decides
 * two addresses:
 *
 *   __per_cpu_start  the link address: origin of every percpu pointer
 *   __per_cpu_load   where the bytes are (equal, except on zero-based x86_64)
 *
 * The model reserves the template's pages in memblock (they are part of the
 * kernel image), maps them at __per_cpu_load when that is not a direct-map
 * address (x86_64 and s390 map their image separately), and writes the
 * template bytes and the arch's own percpu variables.
 */

import type { Machine } from "@pcpu/mm";
import type { ArchPercpuSymbol, ArchStaticSection } from "./api.js";

/** Where and what to place. */
export interface StaticSectionPlacement {
  readonly arch: string;
  /** `__per_cpu_start`. */
  readonly perCpuStart: number;
  /** `__per_cpu_load`: the virtual address of the bytes. */
  readonly perCpuLoad: number;
  /** Physical address of the bytes (page aligned). */
  readonly phys: number;
  readonly staticSize: number;
  readonly template: Uint8Array | undefined;
  readonly symbols: readonly ArchPercpuSymbol[];
}

/**
 * Reserve, map and fill the static percpu template.
 * @context boot, before setup_per_cpu_areas().
 * @returns the section record.
 * @throws RangeError when the machine has no memory there (a user error:
 *   the config's node 0 is too small for the kernel image).
 */
export function placeStaticSection(machine: Machine, p: StaticSectionPlacement): ArchStaticSection {
  const ps = machine.pageSize;
  const size = Math.ceil(p.staticSize / ps) * ps;
  if (!(Number.isInteger(p.staticSize) && p.staticSize > 0)) {
    throw new RangeError(`${p.arch}: staticSize must be a positive integer, got ${p.staticSize}`);
  }
  for (const s of p.symbols) {
    if (s.offset + s.size > p.staticSize) {
      throw new RangeError(
        `${p.arch}: staticSize 0x${p.staticSize.toString(16)} is smaller than the arch's own percpu variable ${s.name} (ends at 0x${(s.offset + s.size).toString(16)})`,
      );
    }
  }
  if (p.template !== undefined && p.template.length > p.staticSize) {
    throw new RangeError(
      `${p.arch}: template is ${p.template.length} bytes, larger than staticSize ${p.staticSize}`,
    );
  }
  if (!machine.phys.isPresent(p.phys) || !machine.phys.isPresent(p.phys + size - 1)) {
    throw new RangeError(
      `${p.arch}: .data..percpu at physical 0x${p.phys.toString(16)}-0x${(p.phys + size - 1).toString(16)} is not in the machine's memory; give node 0 more memory (memPerNode)`,
    );
  }
  machine.memblock.reserve(p.phys, size);
  const direct = p.phys < machine.directMapSize && machine.pageOffset + p.phys === p.perCpuLoad;
  if (!direct) {
    for (let i = 0; i < size / ps; i++) {
      const rc = machine.pgtable.mapPage(p.perCpuLoad + i * ps, p.phys / ps + i);
      if (rc < 0)
        throw new Error(`${p.arch}: cannot map .data..percpu at ${machine.formatAddr(p.perCpuLoad)} (${rc})`);
    }
  }
  if (p.template !== undefined && p.template.length > 0) machine.mem.copyIn(p.perCpuLoad, p.template);
  const symbols: Record<string, ArchPercpuSymbol> = {};
  for (const s of p.symbols) symbols[s.name] = s;
  return {
    perCpuStart: p.perCpuStart,
    staticSize: p.staticSize,
    perCpuLoad: p.perCpuLoad,
    phys: p.phys,
    symbols,
  };
}
