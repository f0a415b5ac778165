/*
 * The /proc files about percpu memory that the model can fill:
 * /proc/vmallocinfo (mm/vmalloc.c s_show) for the areas percpu chunks live
 * in, and /proc/meminfo (fs/proc/meminfo.c meminfo_proc_show) with the lines
 * whose numbers the model has, in the kernel's order and layout.
 *
 * vmallocinfo, as root with kptr_restrict=1 (the usual distro setting, so
 * %pK prints the real address): one line per vm area,
 *   0xffffe8ffffc00000-0xffffe8ffffe00000 2097152 pcpu_get_vm_areas+0x0/0x1a40 vmalloc
 * The areas pcpu_get_vm_areas makes for a chunk carry that function as
 * their caller (`%pS` of the function itself: +0x0, and its size in the
 * build: 0x1a40 is an x86_64 6.x build's); they have no `pages=` (percpu
 * maps its own pages, vm->nr_pages stays 0) and so no `N<node>=` counts. The
 * page first chunk's early area (vm_area_register_early) has no caller.
 * The model's vmalloc space holds only percpu's areas, so the file holds
 * only these lines.
 */

import type { Machine } from "@pcpu/mm";
import { PCPU_ERAS, type PcpuEra } from "@pcpu/percpu";
import { showValKb } from "@pcpu/percpu-stats";

/** `%pS` of pcpu_get_vm_areas as an x86_64 6.x build prints it (the symbol's size is the build's). */
export const PCPU_GET_VM_AREAS_SYMBOL = "pcpu_get_vm_areas+0x0/0x1a40";

function eraAtLeast(era: PcpuEra, since: PcpuEra): boolean {
  return PCPU_ERAS.indexOf(era) >= PCPU_ERAS.indexOf(since);
}

/**
 * Whether /proc/meminfo has the `Percpu:` line (3.18, "add percpu
 * populated pages count").
 */
export function meminfoHasPercpu(era: PcpuEra): boolean {
  return eraAtLeast(era, "v3.18");
}

/**
 * Whether VmallocUsed and VmallocChunk are computed from the vmap areas
 * (get_vmalloc_info, removed in 4.4: both print 0 since). From 5.3
 * VmallocUsed counts vmalloc'd pages again, which percpu areas never are.
 */
export function meminfoCountsVmallocAreas(era: PcpuEra): boolean {
  return !eraAtLeast(era, "v4.14");
}

/**
 * /proc/vmallocinfo of a machine: one line per vmalloc area, lowest address
 * first.
 * @kernel mm/vmalloc.c s_show
 */
export function vmallocinfo(machine: Machine): string {
  let out = "";
  for (const a of machine.vmalloc.areas()) {
    const range = `0x${machine.formatAddr(a.addr)}-0x${machine.formatAddr(a.addr + a.size)}`;
    const caller = a.caller === "pcpu_get_vm_areas" ? ` ${PCPU_GET_VM_AREAS_SYMBOL}` : "";
    out += `${range} ${String(a.size).padStart(7)}${caller} vmalloc\n`;
  }
  return out;
}

/** `seq_printf(m, "%s%8lu kB\n")` of a value already in kB. */
function kbLine(label: string, kb: number): string {
  return `${label}${String(kb).padStart(8)} kB\n`;
}

/**
 * The /proc/meminfo lines the model can fill, in the kernel's order:
 * MemTotal, MemFree, VmallocTotal, VmallocUsed, VmallocChunk and (3.18+)
 * Percpu. The lines about caches, swap, slab, page tables and the rest
 * have nothing behind them in the model and are left out rather than
 * printed as 0.
 * @kernel fs/proc/meminfo.c meminfo_proc_show
 * @param nrPages pcpu_nr_pages()
 */
export function meminfo(machine: Machine, era: PcpuEra, nrPages: number): string {
  const pa = machine.pageAlloc;
  const shift = machine.pageShift;
  let total = 0;
  for (const n of pa.counters()) total += n.managedPages;
  let s =
    showValKb("MemTotal:       ", total, shift) + showValKb("MemFree:        ", pa.nrFreePages(), shift);
  const vm = machine.vmalloc;
  let used = 0;
  let chunk = 0;
  if (meminfoCountsVmallocAreas(era)) {
    /* get_vmalloc_info: the bytes of every area, and the largest gap between them. */
    let prevEnd = vm.start;
    for (const a of vm.areas()) {
      used += a.size;
      chunk = Math.max(chunk, a.addr - prevEnd);
      prevEnd = a.addr + a.size;
    }
    chunk = Math.max(chunk, vm.start + vm.total - prevEnd);
  }
  s += kbLine("VmallocTotal:   ", Math.floor(vm.total / 1024));
  s += kbLine("VmallocUsed:    ", Math.floor(used / 1024));
  s += kbLine("VmallocChunk:   ", Math.floor(chunk / 1024));
  if (meminfoHasPercpu(era)) s += showValKb("Percpu:         ", nrPages, shift);
  return s;
}
