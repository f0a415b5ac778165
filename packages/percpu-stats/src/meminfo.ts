/*
 * The `Percpu:` line of /proc/meminfo (fs/proc/meminfo.c): pcpu_nr_pages()
 * in kB, printed by show_val_kb with the label padded to 16 characters and
 * the value right-aligned in 8 columns.
 */

import type { PcpuStatsSource } from "@pcpu/percpu";

/**
 * One /proc/meminfo line: `label` (already padded, as the kernel passes it),
 * then `pages << (PAGE_SHIFT - 10)` right-aligned in 8 columns, then ` kB\n`.
 * A wider value is printed in full.
 *
 * @kernel fs/proc/meminfo.c show_val_kb
 * @param label the label including its padding, e.g. `"Percpu:         "`
 * @param pages a page count
 * @param pageShift PAGE_SHIFT (>= 10)
 * @returns the line with its newline
 */
export function showValKb(label: string, pages: number, pageShift: number): string {
  if (!Number.isSafeInteger(pages) || pages < 0) throw new RangeError(`showValKb: bad page count ${pages}`);
  if (!Number.isInteger(pageShift) || pageShift < 10)
    throw new RangeError(`showValKb: bad PAGE_SHIFT ${pageShift}`);
  const kb = BigInt(pages) << BigInt(pageShift - 10);
  return `${label}${kb.toString().padStart(8)} kB\n`;
}

/**
 * The `Percpu:` line for a number of populated pages over all units
 * (pcpu_nr_pages()), e.g. `Percpu:             3712 kB\n`.
 *
 * @kernel fs/proc/meminfo.c meminfo_proc_show
 * @param nrPages pcpu_nr_pages()
 * @param pageShift PAGE_SHIFT
 * @returns the line with its newline
 */
export function percpuMeminfoLine(nrPages: number, pageShift: number): string {
  return showValKb("Percpu:         ", nrPages, pageShift);
}

/**
 * The `Percpu:` line of a running allocator.
 * @param src the allocator's read-only view
 * @returns the line with its newline
 */
export function percpuMeminfo(src: PcpuStatsSource): string {
  return percpuMeminfoLine(src.pcpuNrPages(), src.constants.PAGE_SHIFT);
}
