/*
 * PcpuBug: the percpu core's BUG(). The kernel stops when mm/percpu.c finds
 * itself in a state it cannot continue from (BUG_ON(!best_upa) in
 * pcpu_build_alloc_info, BUG_ON(gi->nr_units % upa) in pcpu_dump_alloc_info,
 * the BUG() at the end of PCPU_SETUP_BUG_ON...). The model throws this typed
 * error instead, so a test can tell a checked misuse from an ordinary failure,
 * which stays a return value (null, -1, -errno) as in the kernel.
 *
 * Mirrors include/asm-generic/bug.h (BUG, BUG_ON) for the percpu files.
 */

/**
 * A percpu BUG: misuse or an impossible state the kernel would stop on.
 * `message` names the kernel condition that fired, e.g. `BUG_ON(!best_upa)`.
 */
export class PcpuBug extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PcpuBug";
  }
}
