/*
 * How an x86 CPU finds its percpu data (arch/x86/include/asm/percpu.h,
 * arch/x86/kernel/setup_percpu.c setup_percpu_segment): a segment base.
 *
 *   x86_64  %gs   the kernel GS base MSR holds per_cpu_offset(cpu)
 *                 (before 6.15 the address of the CPU's fixed_percpu_data,
 *                 at offset 0 of the zero-based section: the same value)
 *   i386    %fs   the GDT_ENTRY_PERCPU descriptor of the CPU's own GDT,
 *                 base per_cpu_offset(cpu), limit 0xFFFFF pages (4 GiB);
 *                 the CPU uses the base it loaded into %fs's hidden part
 *
 *   %gs:var  ->  linear address = segment base + &var   (mod 2^64 / 2^32)
 *
 * `__my_cpu_offset` is `this_cpu_read(this_cpu_off)`: a segment-relative
 * load of the CPU's own `this_cpu_off`, which setup_per_cpu_areas() sets to
 * per_cpu_offset(cpu) in every unit. So `this_cpu_*` on CPU n goes through
 * CPU n's segment base and CPU n's copy of this_cpu_off, both separate
 * state from `__per_cpu_offset[]`:
 *
 *   CPU   segment base        this_cpu_off (read via the segment)
 *   boot  BOOT_PERCPU_OFFSET  BOOT_PERCPU_OFFSET in the template
 *         -> per_cpu_offset(0) at switch_gdt_and_percpu_base(0) in setup
 *   AP    0 until it starts   -> per_cpu_offset(cpu) when it comes up
 */

import { ArchPercpu, type ArchPercpuSymbol } from "@pcpu/arch-generic";
import type { Percpu } from "@pcpu/percpu";
import { GDT_PERCPU_LIMIT } from "./api.js";
import { x86_64FormatAddr, x86_64Wrap } from "./canonical.js";

const TWO32 = 2 ** 32;
const TWO47 = 2 ** 47;

/** `&name` as a percpu pointer: __per_cpu_start + the symbol's offset. */
function symbol(pcpu: Percpu, symbols: readonly ArchPercpuSymbol[], name: string): number {
  const s = symbols.find((x) => x.name === name);
  if (s === undefined) throw new Error(`x86: .data..percpu has no ${name}`);
  return pcpu.section.perCpuStart + s.offset;
}

/** The parts x86_64 and i386 share: this_cpu_off, cpu_number, the segment model. */
export abstract class X86PercpuArch extends ArchPercpu {
  /** `&this_cpu_off`, `&cpu_number`: percpu pointers (section coordinates). */
  readonly thisCpuOffPtr: number;
  readonly cpuNumberPtr: number;
  /** The segment base each CPU currently uses (GS base MSR / %fs hidden base). */
  readonly segBase: Float64Array;

  constructor(
    pcpu: Percpu,
    archId: "x86_64" | "i386",
    bits: 32 | 64,
    bootOffset: number,
    symbols: readonly ArchPercpuSymbol[],
    mechanism: string,
  ) {
    super(pcpu, archId, bits, bootOffset, mechanism);
    this.thisCpuOffPtr = this.wrap(symbol(pcpu, symbols, "this_cpu_off"));
    this.cpuNumberPtr = this.wrap(symbol(pcpu, symbols, "cpu_number"));
    /* Only the boot CPU runs before setup; an AP's base is 0 until it starts. */
    this.segBase = new Float64Array(pcpu.nrCpuIds);
    this.segBase[0] = bootOffset;
  }

  /** Load an unsigned long from a linear address. */
  protected abstract loadLong(addr: number): number;
  /** Store an unsigned long (internal form) to a linear address. */
  protected abstract storeLong(addr: number, v: number): void;

  /**
   * `__my_cpu_offset` as CPU `cpu` computes it: `this_cpu_read(this_cpu_off)`,
   * a load from segment base + &this_cpu_off.
   * @kernel arch/x86/include/asm/percpu.h __my_cpu_offset
   */
  override cpuOffsetOf(cpu: number): number {
    return this.loadLong(this.wrap(this.segBase[cpu]! + this.thisCpuOffPtr));
  }

  /** The linear address a `%gs:`/`%fs:`-relative access to percpu pointer `ptr` reaches on `cpu`. */
  segmentAddr(cpu: number, ptr: number): number {
    return this.wrap(this.segBase[cpu]! + ptr);
  }

  /** `per_cpu(this_cpu_off, cpu)` and `per_cpu(cpu_number, cpu)`, read from CPU `cpu`'s unit. */
  perCpuThisCpuOff(cpu: number): number {
    return this.loadLong(this.ptrAdd(this.thisCpuOffPtr, this.perCpuOffset(cpu)));
  }

  perCpuCpuNumber(cpu: number): number {
    return this.machine.mem.read32(this.ptrAdd(this.cpuNumberPtr, this.perCpuOffset(cpu)));
  }

  /**
   * The per-CPU loop of setup_per_cpu_areas(): `per_cpu(this_cpu_off, cpu) =
   * per_cpu_offset(cpu)`, `per_cpu(cpu_number, cpu) = cpu`, then
   * setup_percpu_segment(cpu).
   * @kernel arch/x86/kernel/setup_percpu.c setup_per_cpu_areas
   */
  initCpuPercpu(cpu: number): void {
    const off = this.perCpuOffset(cpu);
    this.storeLong(this.ptrAdd(this.thisCpuOffPtr, off), off);
    this.machine.mem.write32(this.ptrAdd(this.cpuNumberPtr, off), cpu);
    this.setupPercpuSegment(cpu);
  }

  /** i386 writes the CPU's GDT entry; x86_64 has nothing to do. @kernel arch/x86/kernel/setup_percpu.c setup_percpu_segment */
  setupPercpuSegment(_cpu: number): void {}

  /**
   * Make `cpu` use its own unit: reload GS base / %fs.
   * @kernel arch/x86/kernel/cpu/common.c switch_gdt_and_percpu_base
   */
  abstract switchGdtAndPercpuBase(cpu: number): void;

  /** The boot CPU switched in setup already; smp_prepare_boot_cpu() only marks it. */
  override smpPrepareBootCpu(): void {
    this.online[0] = 1;
  }

  /** An AP starts with its segment loaded for its own unit (do_boot_cpu / start_secondary). */
  override bringUpCpu(cpu: number): void {
    super.bringUpCpu(cpu);
    this.switchGdtAndPercpuBase(cpu);
  }
}

/** x86_64: %gs, GS base MSR = per_cpu_offset(cpu), addresses modulo 2^48 (canonical form). */
export class X86_64PercpuArch extends X86PercpuArch {
  constructor(pcpu: Percpu, bootOffset: number, symbols: readonly ArchPercpuSymbol[]) {
    super(pcpu, "x86_64", 64, bootOffset, symbols, "this_cpu_read(this_cpu_off) via %gs (MSR_GS_BASE)");
  }

  /** unsigned long arithmetic on canonical addresses: modulo 2^48 internally. */
  override wrap(v: number): number {
    return x86_64Wrap(v);
  }

  /** `%px`: 16 digits, sign-extended from bit 47. */
  override formatAddr(addr: number): string {
    return x86_64FormatAddr(addr);
  }

  /** A 64-bit little-endian load, canonical -> internal. */
  protected loadLong(addr: number): number {
    const mem = this.machine.mem;
    const lo = mem.read32(addr);
    const hi = mem.read32(addr + 4) & 0xffff;
    return hi * TWO32 + lo;
  }

  /** A 64-bit little-endian store of an internal value, sign-extended to canonical. */
  protected storeLong(addr: number, v: number): void {
    const mem = this.machine.mem;
    const w = this.wrap(v);
    const hi = Math.floor(w / TWO32);
    mem.write32(addr, w - hi * TWO32);
    mem.write32(addr + 4, (w >= TWO47 ? 0xffff0000 | hi : hi) >>> 0);
  }

  /** `wrmsrl(MSR_GS_BASE, v)` on `cpu` (tests use it to show what this_cpu follows). */
  writeGsBase(cpu: number, v: number): void {
    this.checkCpu(cpu, "writeGsBase");
    this.segBase[cpu] = this.wrap(v);
  }

  /** The kernel GS base of `cpu`. */
  gsBase(cpu: number): number {
    return this.segBase[cpu]!;
  }

  /**
   * Load `cpu`'s GS base with its percpu offset (`cpu_kernelmode_gs_base`,
   * 6.15+: per_cpu_offset(cpu) itself).
   * @kernel arch/x86/kernel/cpu/common.c switch_gdt_and_percpu_base
   */
  switchGdtAndPercpuBase(cpu: number): void {
    this.segBase[cpu] = this.perCpuOffset(cpu);
  }
}

/** i386: %fs through each CPU's GDT_ENTRY_PERCPU descriptor, everything modulo 2^32. */
export class I386PercpuArch extends X86PercpuArch {
  /** Each CPU's GDT_ENTRY_PERCPU descriptor: base and limit (in 4 KiB pages, G=1). */
  readonly gdtBase: Float64Array;
  readonly gdtLimit: Uint32Array;

  constructor(pcpu: Percpu, symbols: readonly ArchPercpuSymbol[]) {
    super(pcpu, "i386", 32, 0, symbols, "this_cpu_read(this_cpu_off) via %fs (GDT_ENTRY_PERCPU)");
    /* The template's GDT (early boot) has a flat percpu segment: base 0, 4 GiB. */
    this.gdtBase = new Float64Array(pcpu.nrCpuIds);
    this.gdtLimit = new Uint32Array(pcpu.nrCpuIds).fill(GDT_PERCPU_LIMIT);
  }

  protected loadLong(addr: number): number {
    return this.machine.mem.read32(addr);
  }

  protected storeLong(addr: number, v: number): void {
    this.machine.mem.write32(addr, this.wrap(v));
  }

  /**
   * Write a 32-bit data descriptor with base per_cpu_offset(cpu) and limit
   * 0xFFFFF (4 GiB) into `cpu`'s GDT_ENTRY_PERCPU. The CPU sees it only
   * when it reloads %fs.
   * @kernel arch/x86/kernel/setup_percpu.c setup_percpu_segment
   */
  override setupPercpuSegment(cpu: number): void {
    this.gdtBase[cpu] = this.perCpuOffset(cpu);
    this.gdtLimit[cpu] = GDT_PERCPU_LIMIT;
  }

  /**
   * Reload %fs from the CPU's GDT (its hidden base takes the descriptor's).
   * @kernel arch/x86/kernel/cpu/common.c switch_gdt_and_percpu_base
   */
  switchGdtAndPercpuBase(cpu: number): void {
    this.segBase[cpu] = this.gdtBase[cpu]!;
  }

  /**
   * A %fs-relative linear address, after the limit check (a 4 GiB limit
   * never faults: the sum wraps modulo 2^32).
   */
  override segmentAddr(cpu: number, ptr: number): number {
    const limit = this.gdtLimit[cpu]! * 4096 + 4095;
    if (ptr > limit)
      throw new RangeError(`general protection fault: %fs:0x${ptr.toString(16)} beyond the segment limit`);
    return this.wrap(this.segBase[cpu]! + ptr);
  }

  /** The %fs base `cpu` currently uses (the descriptor cache). */
  fsBase(cpu: number): number {
    return this.segBase[cpu]!;
  }
}
