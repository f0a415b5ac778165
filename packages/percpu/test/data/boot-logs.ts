/*
 * Real boot-log lines from public bug reports, for the golden tests of
 * pcpuBuildAllocInfo / pcpuDumpAllocInfo / the boot-line formatters.
 *
 * Every `raw` line is copied verbatim from the cited thread (timestamps and
 * syslog prefixes included). Many pastes lost the trailing space every
 * pcpu-alloc allocation line ends with; the test accepts a paste without it
 * and checks that the model's line has it.
 *
 * `inputs` are what the lines imply, worked out by hand:
 * - staticSize is the printed s, reservedSize the printed r;
 * - dynSize is what the arch asked for: x86_64 asks 28672 (8K module reserve +
 *   28K dynamic reserve - 8K first-chunk reserve), x86_64 without modules
 *   asks 28672 with r0, the generic setup (arm, arm64, mips) asks
 *   PERCPU_DYNAMIC_RESERVE: 28672 on 64-bit, 20480 on 32-bit. The printed d
 *   is that request plus the page rounding;
 * - atomSize is the second number of alloc=N*ATOM; nrPossibleCpus is the
 *   number of CPUs the group lines list (or nr_cpu_ids / "CPUs=" in the paste);
 * - nodes (NUMA only) lists the CPUs the group lines put on each node.
 *
 * `era` is the algorithm/constants profile closest to the kernel that printed
 * the log; `lineEra` the profile whose summary-line format it shows (stable
 * and vendor kernels dropped the "@%p" before their base version did).
 *
 * NON_4K_BOOT_LOGS (at the end) are machines with 16 KiB and 64 KiB pages:
 * Apple M1 and Raspberry Pi 5 arm64 kernels (16K), ppc64 distro kernels
 * (64K) and 64-bit MIPS (16K). Their dyn is what the arch asked for:
 * arm64 and the generic setup PERCPU_DYNAMIC_RESERVE, ppc64
 * (arch/powerpc/kernel/setup_64.c) PERCPU_MODULE_RESERVE +
 * PERCPU_DYNAMIC_RESERVE with reserved 0 and a 1 MiB atom on hash-MMU
 * machines whose linear map uses 16 MiB pages. With big pages the page
 * rounding of size_sum is up to a page, so d is far above the request.
 */

import type { PcpuEra } from "../../src/api.js";

export interface BootLogInputs {
  readonly pageShift: number;
  readonly bits: 32 | 64;
  /** CONFIG_NR_CPUS when the paste shows it; null when it does not (it does not change these lines). */
  readonly nrCpus: number | null;
  readonly staticSize: number;
  readonly reservedSize: number;
  readonly dynSize: number;
  readonly atomSize: number;
  readonly nrPossibleCpus: number;
  /** CPUs of each NUMA node, for a distance function; absent = one node. */
  readonly nodes?: readonly (readonly number[])[];
}

export interface BootLogRecord {
  readonly id: string;
  readonly source: string;
  readonly arch: "x86_64" | "i386" | "arm" | "arm64" | "mips" | "ppc64";
  readonly kernel: string;
  readonly era: PcpuEra;
  readonly lineEra: PcpuEra;
  /** The text printed for @%p, when the line has one. */
  readonly base?: string;
  readonly raw: readonly string[];
  readonly inputs: BootLogInputs;
  /** Only some lines were in the paste (see notes). */
  readonly partial?: "embed-line-only" | "dump-only" | "group-lines-only";
  readonly notes: string;
}

export const BOOT_LOGS: readonly BootLogRecord[] = [
  {
    id: "wsl2-12cpu",
    source: "https://github.com/microsoft/WSL2-Linux-Kernel/issues/91",
    arch: "x86_64",
    kernel: "WSL2 kernel (version not in the excerpt; no @%p in the line)",
    era: "v5.14",
    lineEra: "v5.14",
    raw: [
      "[    0.490560] setup_percpu: NR_CPUS:256 nr_cpumask_bits:256 nr_cpu_ids:12 nr_node_ids:1",
      "[    0.493419] percpu: Embedded 42 pages/cpu s133400 r8192 d30440 u262144",
      "[    0.493437] pcpu-alloc: s133400 r8192 d30440 u262144 alloc=1*2097152",
      "[    0.493440] pcpu-alloc: [0] 00 01 02 03 04 05 06 07 [0] 08 09 10 11 -- -- -- --",
    ],
    inputs: { pageShift: 12, bits: 64, nrCpus: 256, staticSize: 133400, reservedSize: 8192, dynSize: 28672, atomSize: 0x200000, nrPossibleCpus: 12 },
    notes: "upa 8 wastes 4 units = 12/3, accepted (the test is >); 2 allocs of 8 units, the second half padding.",
  },
  {
    id: "openwrt-mt7621-4cpu",
    source: "https://github.com/openwrt/mt76/issues/440",
    arch: "mips",
    kernel: "OpenWrt 2020 (5.4 series)",
    era: "v4.14",
    lineEra: "v5.14",
    raw: [
      "Fri Aug 28 09:44:32 2020 kern.info kernel: [    0.000000] percpu: Embedded 18 pages/cpu s43344 r8192 d22192 u73728",
      "Fri Aug 28 09:44:32 2020 kern.debug kernel: [    0.000000] pcpu-alloc: s43344 r8192 d22192 u73728 alloc=18*4096",
      "Fri Aug 28 09:44:32 2020 kern.debug kernel: [    0.000000] pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3",
    ],
    inputs: { pageShift: 12, bits: 32, nrCpus: null, staticSize: 43344, reservedSize: 8192, dynSize: 20480, atomSize: 4096, nrPossibleCpus: 4 },
    notes: "Generic setup (atom PAGE_SIZE): upa 1, 8 allocations per line. The syslog shows the dump at kern.debug, the summary at kern.info.",
  },
  {
    id: "ubuntu-5.8-2cpu",
    source: "https://github.com/morrownr/88x2bu/issues/1",
    arch: "x86_64",
    kernel: "5.8.0-18-generic",
    era: "v4.14",
    lineEra: "v5.14",
    raw: [
      "[    0.075154] setup_percpu: NR_CPUS:8192 nr_cpumask_bits:2 nr_cpu_ids:2 nr_node_ids:1",
      "[    0.075440] percpu: Embedded 56 pages/cpu s192512 r8192 d28672 u1048576",
      "[    0.075454] pcpu-alloc: s192512 r8192 d28672 u1048576 alloc=1*2097152",
      "[    0.075455] pcpu-alloc: [0] 0 1 ",
    ],
    inputs: { pageShift: 12, bits: 64, nrCpus: 8192, staticSize: 192512, reservedSize: 8192, dynSize: 28672, atomSize: 0x200000, nrPossibleCpus: 2 },
    notes: "The waste rule at work: max_upa 8 wastes 6 > 2/3 = 0 and upa 4 wastes 2, both refused; upa 2 gives u1048576.",
  },
  {
    id: "arch-6.x-4cpu",
    source: "https://github.com/lwfinger/rtw89/issues/242",
    arch: "x86_64",
    kernel: "Arch Linux 6.x",
    era: "v6",
    lineEra: "v6",
    raw: [
      "[    0.003333] setup_percpu: NR_CPUS:320 nr_cpumask_bits:4 nr_cpu_ids:4 nr_node_ids:1",
      "[    0.003333] percpu: Embedded 64 pages/cpu s225280 r8192 d28672 u524288",
      "[    0.003333] pcpu-alloc: s225280 r8192 d28672 u524288 alloc=1*2097152",
      "[    0.003333] pcpu-alloc: [0] 0 1 2 3 ",
    ],
    inputs: { pageShift: 12, bits: 64, nrCpus: 320, staticSize: 225280, reservedSize: 8192, dynSize: 28672, atomSize: 0x200000, nrPossibleCpus: 4 },
    notes: "s+r+d is exactly 64 pages: no rounding. upa 4, one allocation.",
  },
  {
    id: "openwrt-ipq806x-2cpu-a",
    source: "https://github.com/openwrt/openwrt/pull/4036",
    arch: "arm",
    kernel: "OpenWrt ipq806x (5.x)",
    era: "v4.14",
    lineEra: "v5.14",
    raw: [
      "[    0.000000] percpu: Embedded 15 pages/cpu s31244 r8192 d22004 u61440",
      "[    0.000000] pcpu-alloc: s31244 r8192 d22004 u61440 alloc=15*4096",
      "[    0.000000] pcpu-alloc: [0] 0 [0] 1 ",
    ],
    inputs: { pageShift: 12, bits: 32, nrCpus: null, staticSize: 31244, reservedSize: 8192, dynSize: 20480, atomSize: 4096, nrPossibleCpus: 2 },
    notes: "32-bit generic setup: dyn request 20K, 1524 bytes of page rounding go to d.",
  },
  {
    id: "amd-4.16-8cpu",
    source: "https://github.com/ROCm/legacy-rocm-build/issues/361",
    arch: "x86_64",
    kernel: "4.16.15-amd",
    era: "v4.14",
    lineEra: "v4.14",
    base: "        (ptrval)",
    raw: [
      "[    0.000000] setup_percpu: NR_CPUS:64 nr_cpumask_bits:64 nr_cpu_ids:8 nr_node_ids:1",
      "[    0.000000] percpu: Embedded 46 pages/cpu @        (ptrval) s151552 r8192 d28672 u262144",
      "[    0.000000] pcpu-alloc: s151552 r8192 d28672 u262144 alloc=1*2097152",
      "[    0.000000] pcpu-alloc: [0] 0 1 2 3 4 5 6 7 ",
    ],
    inputs: { pageShift: 12, bits: 64, nrCpus: 64, staticSize: 151552, reservedSize: 8192, dynSize: 28672, atomSize: 0x200000, nrPossibleCpus: 8 },
    notes: "The 4.15-4.20 hashed-pointer placeholder, space padded to 16 columns, in the @%p slot.",
  },
  {
    id: "cloud-hv-1cpu",
    source: "https://github.com/cloud-hypervisor/cloud-hypervisor/issues/1342",
    arch: "x86_64",
    kernel: "4.19-4.20 era guest kernel",
    era: "v4.14",
    lineEra: "v4.14",
    base: "(____ptrval____)",
    partial: "embed-line-only",
    raw: [
      "[    0.112265] setup_percpu: NR_CPUS:64 nr_cpumask_bits:64 nr_cpu_ids:1 nr_node_ids:1",
      "[    0.113532] percpu: Embedded 40 pages/cpu @(____ptrval____) s124952 r8192 d30696 u2097152",
    ],
    inputs: { pageShift: 12, bits: 64, nrCpus: 64, staticSize: 124952, reservedSize: 8192, dynSize: 28672, atomSize: 0x200000, nrPossibleCpus: 1 },
    notes: "One CPU: every upa above 1 wastes units (1/3 = 0), so the unit is the whole 2 MiB atom. The paste has no pcpu-alloc lines (debug level filtered).",
  },
  {
    id: "cloud-hv-8cpu",
    source: "https://github.com/cloud-hypervisor/cloud-hypervisor/issues/6147",
    arch: "x86_64",
    kernel: "Ubuntu 6.x (casper live image)",
    era: "v6",
    lineEra: "v6",
    raw: [
      "[    0.012856] percpu: Embedded 61 pages/cpu s212992 r8192 d28672 u262144",
      "[    0.012860] pcpu-alloc: s212992 r8192 d28672 u262144 alloc=1*2097152",
      "[    0.012861] pcpu-alloc: [0] 0 1 2 3 4 5 6 7 ",
    ],
    inputs: { pageShift: 12, bits: 64, nrCpus: null, staticSize: 212992, reservedSize: 8192, dynSize: 28672, atomSize: 0x200000, nrPossibleCpus: 8 },
    notes: "upa 8, one full allocation.",
  },
  {
    id: "cloud-hv-22cpu-nomodules",
    source: "https://github.com/cloud-hypervisor/cloud-hypervisor/issues/1767",
    arch: "x86_64",
    kernel: "2020 guest kernel without modules (5.x)",
    era: "v4.14",
    lineEra: "v5.14",
    raw: [
      "[    0.040289] percpu: Embedded 42 pages/cpu s143360 r0 d28672 u262144",
      "[    0.040302] pcpu-alloc: s143360 r0 d28672 u262144 alloc=1*2097152",
      "[    0.040303] pcpu-alloc: [0] 00 01 02 03 04 05 06 07 [0] 08 09 10 11 12 13 14 15 ",
      "[    0.040306] pcpu-alloc: [0] 16 17 18 19 20 21 -- -- ",
    ],
    inputs: { pageShift: 12, bits: 64, nrCpus: null, staticSize: 143360, reservedSize: 0, dynSize: 28672, atomSize: 0x200000, nrPossibleCpus: 22 },
    notes: "CONFIG_MODULES=n: x86's first-chunk reserve is 0. 3 allocations, 2 per line, 2 padding units.",
  },
  {
    id: "rhel8-8cpu",
    source: "https://github.com/slimbootloader/slimbootloader/issues/1502",
    arch: "x86_64",
    kernel: "4.18.0-305.19.1.el8_4",
    era: "v4.14",
    lineEra: "v5.14",
    raw: [
      "[    0.000000] setup_percpu: NR_CPUS:8192 nr_cpumask_bits:8 nr_cpu_ids:8 nr_node_ids:1",
      "[    0.000000] percpu: Embedded 54 pages/cpu s184320 r8192 d28672 u262144",
      "[    0.000000] pcpu-alloc: s184320 r8192 d28672 u262144 alloc=1*2097152",
      "[    0.000000] pcpu-alloc: [0] 0 1 2 3 4 5 6 7",
    ],
    inputs: { pageShift: 12, bits: 64, nrCpus: 8192, staticSize: 184320, reservedSize: 8192, dynSize: 28672, atomSize: 0x200000, nrPossibleCpus: 8 },
    notes: "RHEL 8's 4.18 carries the later text without @%p.",
  },
  {
    id: "rpi4-32bit-5.10",
    source: "https://github.com/raspberrypi/linux/issues/4482",
    arch: "arm",
    kernel: "Raspberry Pi OS 32-bit (5.10 series)",
    era: "v4.14",
    lineEra: "v5.14",
    raw: [
      "[    0.000000] percpu: Embedded 20 pages/cpu s50700 r8192 d23028 u81920",
      "[    0.000000] pcpu-alloc: s50700 r8192 d23028 u81920 alloc=20*4096",
      "[    0.000000] pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 ",
    ],
    inputs: { pageShift: 12, bits: 32, nrCpus: null, staticSize: 50700, reservedSize: 8192, dynSize: 20480, atomSize: 4096, nrPossibleCpus: 4 },
    notes: "arm generic setup: atom PAGE_SIZE, unit = size_sum.",
  },
  {
    id: "rpi-up-3.6",
    source: "https://github.com/raspberrypi/linux/issues/372",
    arch: "arm",
    kernel: "3.6.11+ (BCM2708, uniprocessor)",
    era: "v3.18",
    lineEra: "v3.18",
    partial: "dump-only",
    raw: ["[    0.000000] pcpu-alloc: s0 r0 d32768 u32768 alloc=1*32768", "[    0.000000] pcpu-alloc: [0] 0 "],
    inputs: { pageShift: 12, bits: 32, nrCpus: 1, staticSize: 0, reservedSize: 0, dynSize: 32768, atomSize: 32768, nrPossibleCpus: 1 },
    notes: "The !CONFIG_SMP setup: one unit of roundup_pow_of_two(max(PCPU_MIN_UNIT_SIZE, PERCPU_DYNAMIC_RESERVE)) = 32768, built with pcpuAllocAllocInfo(1, 1) as the UP code does.",
  },
  {
    id: "rpi4-32bit-4.19",
    source: "https://github.com/jblance/mpp-solar/issues/9",
    arch: "arm",
    kernel: "4.19.97-v7l+",
    era: "v4.14",
    lineEra: "v5.14",
    raw: [
      "[    0.000000] percpu: Embedded 17 pages/cpu s36928 r8192 d24512 u69632",
      "[    0.000000] pcpu-alloc: s36928 r8192 d24512 u69632 alloc=17*4096",
      "[    0.000000] pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 ",
    ],
    inputs: { pageShift: 12, bits: 32, nrCpus: null, staticSize: 36928, reservedSize: 8192, dynSize: 20480, atomSize: 4096, nrPossibleCpus: 4 },
    notes: "4.19.y stable already prints the line without @%p.",
  },
  {
    id: "rpi4-arm64-8gb",
    source: "https://github.com/raspberrypi/linux/issues/4600",
    arch: "arm64",
    kernel: "Raspberry Pi OS 64-bit (5.10 series)",
    era: "v4.14",
    lineEra: "v5.14",
    raw: [
      "[    0.000000] percpu: Embedded 32 pages/cpu s91224 r8192 d31656 u131072",
      "[    0.000000] pcpu-alloc: s91224 r8192 d31656 u131072 alloc=32*4096",
      "[    0.000000] pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 ",
    ],
    inputs: { pageShift: 12, bits: 64, nrCpus: null, staticSize: 91224, reservedSize: 8192, dynSize: 28672, atomSize: 4096, nrPossibleCpus: 4 },
    notes: "arm64 generic setup: 64-bit dynamic reserve 28K, atom PAGE_SIZE.",
  },
  {
    id: "arm64-openwrt-6.x",
    source: "https://github.com/Ansuel/openwrt/issues/45",
    arch: "arm64",
    kernel: "OpenWrt bcm27xx (6.x)",
    era: "v6",
    lineEra: "v6",
    raw: [
      "[    0.000000] percpu: Embedded 18 pages/cpu s35688 r8192 d29848 u73728",
      "[    0.000000] pcpu-alloc: s35688 r8192 d29848 u73728 alloc=18*4096",
      "[    0.000000] pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 ",
    ],
    inputs: { pageShift: 12, bits: 64, nrCpus: null, staticSize: 35688, reservedSize: 8192, dynSize: 28672, atomSize: 4096, nrPossibleCpus: 4 },
    notes: "Small static area: size_sum 73728 is still above PCPU_MIN_UNIT_SIZE.",
  },
  {
    id: "rpi4-32bit-4.19-b",
    source: "https://github.com/raspberrypi/userland/issues/607",
    arch: "arm",
    kernel: "Raspberry Pi OS 32-bit (4.19 series)",
    era: "v4.14",
    lineEra: "v5.14",
    raw: [
      "[    0.000000] percpu: Embedded 17 pages/cpu s39488 r8192 d21952 u69632",
      "[    0.000000] pcpu-alloc: s39488 r8192 d21952 u69632 alloc=17*4096",
      "[    0.000000] pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 ",
    ],
    inputs: { pageShift: 12, bits: 32, nrCpus: null, staticSize: 39488, reservedSize: 8192, dynSize: 20480, atomSize: 4096, nrPossibleCpus: 4 },
    notes: "Same board family as rpi4-32bit-4.19, different static size.",
  },
  {
    id: "rpi4-arm64-hassos",
    source: "https://github.com/home-assistant/operating-system/issues/755",
    arch: "arm64",
    kernel: "Home Assistant OS (4.19/5.4 series)",
    era: "v4.14",
    lineEra: "v5.14",
    raw: [
      "[    0.000000] percpu: Embedded 24 pages/cpu s59160 r8192 d30952 u98304",
      "[    0.000000] pcpu-alloc: s59160 r8192 d30952 u98304 alloc=24*4096",
      "[    0.000000] pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3",
    ],
    inputs: { pageShift: 12, bits: 64, nrCpus: null, staticSize: 59160, reservedSize: 8192, dynSize: 28672, atomSize: 4096, nrPossibleCpus: 4 },
    notes: "Paste trimmed the trailing space.",
  },
  {
    id: "openwrt-ipq806x-2cpu-b",
    source: "https://github.com/greearb/ath10k-ct/issues/149",
    arch: "arm",
    kernel: "OpenWrt ipq806x (R7800, 5.x)",
    era: "v4.14",
    lineEra: "v5.14",
    raw: [
      "[    0.000000] percpu: Embedded 15 pages/cpu s30092 r8192 d23156 u61440",
      "[    0.000000] pcpu-alloc: s30092 r8192 d23156 u61440 alloc=15*4096",
      "[    0.000000] pcpu-alloc: [0] 0 [0] 1",
    ],
    inputs: { pageShift: 12, bits: 32, nrCpus: null, staticSize: 30092, reservedSize: 8192, dynSize: 20480, atomSize: 4096, nrPossibleCpus: 2 },
    notes: "A different build for the same SoC as openwrt-ipq806x-2cpu-a.",
  },
  {
    id: "rpi-arm-4.x-raw-pointer",
    source: "https://github.com/offspot/kiwix-hotspot/issues/118",
    arch: "arm",
    kernel: "4.x (before hashed pointers)",
    era: "v4.14",
    lineEra: "v4.14",
    base: "bf7ba000",
    partial: "embed-line-only",
    raw: ["percpu: Embedded 13 pages/cpu @bf7ba000 s23692 r8192 d21364 u53248"],
    inputs: { pageShift: 12, bits: 32, nrCpus: null, staticSize: 23692, reservedSize: 8192, dynSize: 20480, atomSize: 4096, nrPossibleCpus: 4 },
    notes: "Raw %p of the first chunk's base; 4 CPUs per the paste's 'SLUB: ... CPUs=4'. No pcpu-alloc lines in the paste.",
  },
  {
    id: "i386-kvm-cirros-1cpu",
    source: "https://github.com/cockpit-project/bots/pull/4075",
    arch: "i386",
    kernel: "3.x (32-bit, paravirtualized on KVM; a CirrOS test image)",
    era: "v3.18",
    lineEra: "v3.18",
    base: "c7652000",
    partial: "embed-line-only",
    raw: [
      "[    0.000000] setup_percpu: NR_CPUS:8 nr_cpumask_bits:8 nr_cpu_ids:1 nr_node_ids:1",
      "[    0.000000] PERCPU: Embedded 19 pages/cpu @c7652000 s47436 r0 d30388 u77824",
    ],
    inputs: { pageShift: 12, bits: 32, nrCpus: 8, staticSize: 47436, reservedSize: 0, dynSize: 28672, atomSize: 4096, nrPossibleCpus: 1 },
    notes:
      "i386: PERCPU_FIRST_CHUNK_RESERVE is 0, so r0 and dyn = MODULE_RESERVE 8K + DYNAMIC_RESERVE 20K; " +
      "size_sum = PFN_ALIGN(47436 + 28672) = 77824 (19 pages), d = 77824 - 47436 = 30388; atom PAGE_SIZE, one CPU: u77824. " +
      "A lowmem (0xc...) base, printed raw before pointer hashing. The pcpu-alloc lines are KERN_DEBUG and not in the paste.",
  },
  {
    id: "x86-128cpu",
    source: "https://github.com/NVIDIA/nvidia-docker/issues/1316",
    arch: "x86_64",
    kernel: "pre-4.14 ('Built 1 zonelists in Zone order')",
    era: "v3.18",
    lineEra: "v3.18",
    partial: "dump-only",
    raw: [
      "[    0.000000] pcpu-alloc: s104600 r8192 d30568 u262144 alloc=1*2097152",
      "[    0.000000] pcpu-alloc: [0] 000 001 002 003 004 005 006 007",
      "[    0.000000] pcpu-alloc: [0] 008 009 010 011 012 013 014 015",
      "[    0.000000] pcpu-alloc: [0] 016 017 018 019 020 021 022 023",
      "[    0.000000] pcpu-alloc: [0] 024 025 026 027 028 029 030 031",
      "[    0.000000] pcpu-alloc: [0] 032 033 034 035 036 037 038 039",
      "[    0.000000] pcpu-alloc: [0] 040 041 042 043 044 045 046 047",
      "[    0.000000] pcpu-alloc: [0] 048 049 050 051 052 053 054 055",
      "[    0.000000] pcpu-alloc: [0] 056 057 058 059 060 061 062 063",
      "[    0.000000] pcpu-alloc: [0] 064 065 066 067 068 069 070 071",
      "[    0.000000] pcpu-alloc: [0] 072 073 074 075 076 077 078 079",
      "[    0.000000] pcpu-alloc: [0] 080 081 082 083 084 085 086 087",
      "[    0.000000] pcpu-alloc: [0] 088 089 090 091 092 093 094 095",
      "[    0.000000] pcpu-alloc: [0] 096 097 098 099 100 101 102 103",
      "[    0.000000] pcpu-alloc: [0] 104 105 106 107 108 109 110 111",
      "[    0.000000] pcpu-alloc: [0] 112 113 114 115 116 117 118 119",
      "[    0.000000] pcpu-alloc: [0] 120 121 122 123 124 125 126 127",
    ],
    inputs: { pageShift: 12, bits: 64, nrCpus: null, staticSize: 104600, reservedSize: 8192, dynSize: 28672, atomSize: 0x200000, nrPossibleCpus: 128 },
    notes: "128 CPUs, one node: 3-digit CPU column, width 36, one allocation of 8 units per line. The Embedded line is not in the excerpt.",
  },
  {
    id: "shredos-6.x-4cpu",
    source: "https://github.com/PartialVolume/shredos.x86_64/issues/332",
    arch: "x86_64",
    kernel: "6.9+ ('CPU topo:' lines)",
    era: "v6",
    lineEra: "v6",
    raw: [
      "[    0.057889] setup_percpu: NR_CPUS:64 nr_cpumask_bits:4 nr_cpu_ids:4 nr_node_ids:1",
      "[    0.058827] percpu: Embedded 66 pages/cpu s233176 r8192 d28968 u524288",
      "[    0.058843] pcpu-alloc: s233176 r8192 d28968 u524288 alloc=1*2097152",
      "[    0.058850] pcpu-alloc: [0] 0 1 2 3 ",
    ],
    inputs: { pageShift: 12, bits: 64, nrCpus: 64, staticSize: 233176, reservedSize: 8192, dynSize: 28672, atomSize: 0x200000, nrPossibleCpus: 4 },
    notes: "296 bytes of page rounding go to d (28672 -> 28968).",
  },
  {
    id: "rhel7-24cpu-2node",
    source: "https://github.com/LinearTapeFileSystem/ltfs/issues/229",
    arch: "x86_64",
    kernel: "3.10.0-123.el7.x86_64",
    era: "v3.18",
    lineEra: "v3.18",
    partial: "group-lines-only",
    raw: [
      "[    0.000000] pcpu-alloc: [0] 00 01 02 03 08 09 10 11 16 18 20 22 -- -- -- --",
      "[    0.000000] pcpu-alloc: [1] 04 05 06 07 12 13 14 15 17 19 21 23 -- -- -- --",
    ],
    inputs: {
      pageShift: 12,
      bits: 64,
      nrCpus: 5120,
      staticSize: 86016,
      reservedSize: 8192,
      dynSize: 20480,
      atomSize: 0x200000,
      nrPossibleCpus: 24,
      nodes: [
        [0, 1, 2, 3, 8, 9, 10, 11, 16, 18, 20, 22],
        [4, 5, 6, 7, 12, 13, 14, 15, 17, 19, 21, 23],
      ],
    },
    notes:
      "Two nodes ('Nodes=2', NR_CPUS=5120 in the paste). Only the group lines are in the excerpt: 16 units per allocation means u131072 (2 MiB / 16): the waste rule takes upa 16 (8 wasted units = 24/3) whenever size_sum <= 128 KiB. 3.10 x86_64 asks r8192 and d20480 (PERCPU_DYNAMIC_RESERVE was 20K then), so any static size up to 102400 prints these lines; the static size is NOT known, the test runs the ends of that range and checks only the group lines. staticSize here is a placeholder inside the range.",
  },
  {
    id: "rhcos-4.18-4cpu",
    source: "https://github.com/openshift/os/issues/394",
    arch: "x86_64",
    kernel: "4.18.0-147.0.3.el8_1",
    era: "v4.14",
    lineEra: "v5.14",
    partial: "embed-line-only",
    raw: [
      "[    0.000000] setup_percpu: NR_CPUS:8192 nr_cpumask_bits:4 nr_cpu_ids:4 nr_node_ids:1",
      "[    0.000000] percpu: Embedded 47 pages/cpu s155648 r8192 d28672 u524288",
    ],
    inputs: { pageShift: 12, bits: 64, nrCpus: 8192, staticSize: 155648, reservedSize: 8192, dynSize: 28672, atomSize: 0x200000, nrPossibleCpus: 4 },
    notes: "4 CPUs: upa 4, u524288.",
  },
  {
    id: "debos-kvm-8cpu",
    source: "https://github.com/go-debos/fakemachine/pull/72",
    arch: "x86_64",
    kernel: "Debian 5.x/6.x guest",
    era: "v6",
    lineEra: "v6",
    partial: "embed-line-only",
    raw: [
      "[    0.012033] setup_percpu: NR_CPUS:8192 nr_cpumask_bits:8 nr_cpu_ids:8 nr_node_ids:1",
      "[    0.012332] percpu: Embedded 60 pages/cpu s208896 r8192 d28672 u262144",
    ],
    inputs: { pageShift: 12, bits: 64, nrCpus: 8192, staticSize: 208896, reservedSize: 8192, dynSize: 28672, atomSize: 0x200000, nrPossibleCpus: 8 },
    notes: "8 CPUs: upa 8, u262144.",
  },
  /* ---- 16 KiB and 64 KiB pages (NON_4K_BOOT_LOGS) ---- */
  {
    id: "asahi-m1-mini-5.11-16k",
    source: "https://github.com/AsahiLinux/docs/blob/main/Developer-Quickstart.md",
    arch: "arm64",
    kernel: "5.11.0-rc6 (marcan's early Asahi tree), Apple Mac Mini M1, 16K pages",
    era: "v5.14",
    lineEra: "v5.14",
    raw: [
      "[    0.000000] percpu: Embedded 6 pages/cpu s57888 r0 d40416 u98304",
      "[    0.000000] pcpu-alloc: s57888 r0 d40416 u98304 alloc=6*16384",
      "[    0.000000] pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 [0] 4 [0] 5 [0] 6 [0] 7 ",
    ],
    inputs: { pageShift: 14, bits: 64, nrCpus: 16, staticSize: 57888, reservedSize: 0, dynSize: 28672, atomSize: 16384, nrPossibleCpus: 8 },
    notes:
      "A minimal kernel without CONFIG_MODULES (r0; the paste's 'Memory:' line shows 3136K of code) and NR_CPUS=16. " +
      "size_sum = PFN_ALIGN(57888 + 28672) = 6 x 16K = 98304, d = 98304 - 57888 = 40416; atom PAGE_SIZE: alloc=6*16384, upa 1.",
  },
  {
    id: "fedora-asahi-m1pro-16k",
    source: "https://github.com/leifliddy/asahi-fedora-builder/issues/27",
    arch: "arm64",
    kernel: "Fedora Asahi Remix 6.x (16K pages), 8 CPUs",
    era: "v6",
    lineEra: "v6",
    raw: [
      "Mar 28 17:00:00 fedora kernel: percpu: Embedded 14 pages/cpu s188648 r8192 d32536 u229376",
      "Mar 28 17:00:00 fedora kernel: pcpu-alloc: s188648 r8192 d32536 u229376 alloc=14*16384",
      "Mar 28 17:00:00 fedora kernel: pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 [0] 4 [0] 5 [0] 6 [0] 7",
    ],
    inputs: { pageShift: 14, bits: 64, nrCpus: null, staticSize: 188648, reservedSize: 8192, dynSize: 28672, atomSize: 16384, nrPossibleCpus: 8 },
    notes:
      "journalctl lines (no printk timestamp). size_sum = PFN_ALIGN(188648 + 8192 + 28672) = 14 x 16K = 229376; " +
      "the 3864 bytes of rounding go to d (28672 -> 32536).",
  },
  {
    id: "rpi5-6.18-16k",
    source: "https://github.com/naterjlao/pi-dogdoor/blob/main/README.md",
    arch: "arm64",
    kernel: "6.18.34+rpt-rpi-2712 (Raspberry Pi 5, the BCM2712 kernel with 16K pages)",
    era: "v6",
    lineEra: "v6",
    raw: [
      "[    0.000000] percpu: Embedded 9 pages/cpu s95512 r8192 d43752 u147456",
      "[    0.000000] pcpu-alloc: s95512 r8192 d43752 u147456 alloc=9*16384",
      "[    0.000000] pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 ",
    ],
    inputs: { pageShift: 14, bits: 64, nrCpus: null, staticSize: 95512, reservedSize: 8192, dynSize: 28672, atomSize: 16384, nrPossibleCpus: 4 },
    notes:
      "The cmdline has numa=fake=8: CONFIG_NUMA, so arch_numa's setup_per_cpu_areas, but every CPU is on node 0 (one group). " +
      "PFN_ALIGN(95512 + 8192 + 28672) = 9 x 16K = 147456, d = 43752.",
  },
  {
    id: "fedora24-ppc64le-4.5-64k",
    source: "https://github.com/workhorsy/py-cpuinfo/blob/master/tests/test_linux_fedora_24_ppc64le.py",
    arch: "ppc64",
    kernel: "4.5.5-300.fc24.ppc64le (POWER8E KVM guest, 64K pages)",
    era: "v3.18",
    lineEra: "v3.18",
    base: "c00000013fe00000",
    raw: [
      "[    0.000000] PERCPU: Embedded 3 pages/cpu @c00000013fe00000 s128792 r0 d67816 u524288",
      "[    0.000000] pcpu-alloc: s128792 r0 d67816 u524288 alloc=1*1048576",
      "[    0.000000] pcpu-alloc: [0] 0 1",
    ],
    inputs: { pageShift: 16, bits: 64, nrCpus: 1024, staticSize: 128792, reservedSize: 0, dynSize: 36864, atomSize: 0x100000, nrPossibleCpus: 2 },
    notes:
      "ppc64 asks r0, dyn = MODULE_RESERVE 8K + DYNAMIC_RESERVE 28K, atom 1 MiB (hash MMU). size_sum = 3 x 64K; " +
      "max_upa 4 wastes 2 > 2/3 and is refused, upa 2 gives u524288: two units per 1 MiB allocation.",
  },
  {
    id: "debian8-ppc64le-3.16-64k",
    source: "https://github.com/workhorsy/py-cpuinfo/blob/master/tests/test_linux_debian_8_7_1_ppc64le.py",
    arch: "ppc64",
    kernel: "3.16.0-4-powerpc64le (Debian 8, QEMU pseries, 64K pages)",
    era: "v3.18",
    lineEra: "v3.18",
    base: "c000000000e00000",
    raw: [
      "[    0.000000] PERCPU: Embedded 2 pages/cpu @c000000000e00000 s102400 r0 d28672 u524288",
      "[    0.000000] pcpu-alloc: s102400 r0 d28672 u524288 alloc=1*1048576",
      "[    0.000000] pcpu-alloc: [0] 0 1",
    ],
    inputs: { pageShift: 16, bits: 64, nrCpus: 2048, staticSize: 102400, reservedSize: 0, dynSize: 28672, atomSize: 0x100000, nrPossibleCpus: 2 },
    notes:
      "3.16 still had PERCPU_DYNAMIC_RESERVE 20K: dyn = 8K + 20K = 28672 and s + d is exactly 2 pages of 64K. " +
      "PAGE_SIZE is 64K although the emulated MMU offers only 4K base pages ('virtual = 12'); linear mapping 16M: atom 1 MiB.",
  },
  {
    id: "suse-5.2-power9-lpar-64k",
    source: "https://lore.kernel.org/lkml/ (dmesg.txt of 5.2.0-rc6-13.g21111ce-default, posted by Michal Suchanek; GitHub mirror linux-mailinglist-archives/linux-kernel.vger.kernel.org)",
    arch: "ppc64",
    kernel: "5.2.0-rc6-13.g21111ce-default (openSUSE, POWER9 pSeries LPAR, 64K pages)",
    era: "v5.14",
    lineEra: "v5.14",
    raw: [
      "[    0.000000] percpu: Embedded 11 pages/cpu s624536 r0 d96360 u1048576",
      "[    0.000000] pcpu-alloc: s624536 r0 d96360 u1048576 alloc=1*1048576",
      "[    0.000000] pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3 [0] 4 [0] 5 [0] 6 [0] 7 ",
    ],
    inputs: {
      pageShift: 16,
      bits: 64,
      nrCpus: 2048,
      staticSize: 624536,
      reservedSize: 0,
      dynSize: 36864,
      atomSize: 0x100000,
      nrPossibleCpus: 8,
      nodes: [[], [0, 1, 2, 3, 4, 5, 6, 7]],
    },
    notes:
      "Node 0 is memoryless and has no CPU; all 8 CPUs are on node 1: one group. PFN_ALIGN(624536 + 36864) = 11 x 64K = 720896 " +
      "does not fit twice in the 1 MiB atom: upa 1, u1048576.",
  },
  {
    id: "powernv-5.8-24cpu-64k",
    source: "https://lore.kernel.org/linuxppc-dev/ (5.8.0-rc5 PowerNV boot log with the OPAL_CONSOLE_FLUSH warnings; GitHub mirror linux-mailinglist-archives)",
    arch: "ppc64",
    kernel: "5.8.0-rc5+ (PowerNV bare metal, big-endian, 64K pages)",
    era: "v5.14",
    lineEra: "v5.14",
    raw: [
      "[    0.000000] percpu: Embedded 11 pages/cpu s632984 r0 d87912 u1048576",
      "[    0.000000] pcpu-alloc: s632984 r0 d87912 u1048576 alloc=1*1048576",
      "[    0.000000] pcpu-alloc: [0] 00 [0] 01 [0] 02 [0] 03 [0] 04 [0] 05 [0] 06 [0] 07 ",
      "[    0.000000] pcpu-alloc: [0] 08 [0] 09 [0] 10 [0] 11 [0] 12 [0] 13 [0] 14 [0] 15 ",
      "[    0.000000] pcpu-alloc: [0] 16 [0] 17 [0] 18 [0] 19 [0] 20 [0] 21 [0] 22 [0] 23 ",
    ],
    inputs: { pageShift: 16, bits: 64, nrCpus: null, staticSize: 632984, reservedSize: 0, dynSize: 36864, atomSize: 0x100000, nrPossibleCpus: 24 },
    notes: "24 CPUs: two-digit CPU column; one unit per 1 MiB allocation (11 pages of 64K do not fit twice).",
  },
  {
    id: "openpower-160cpu-64k",
    source: "https://github.com/open-power/occ/issues/13",
    arch: "ppc64",
    kernel: "OpenPOWER (op-build) ppc64le kernel, 2016, 64K pages",
    era: "v3.18",
    lineEra: "v3.18",
    base: "c000001ffc000000",
    partial: "embed-line-only",
    raw: ["[    0.000000] PERCPU: Embedded 2 pages/cpu @c000001ffc000000 s43672 r0 d87400 u131072"],
    inputs: { pageShift: 16, bits: 64, nrCpus: null, staticSize: 43672, reservedSize: 0, dynSize: 36864, atomSize: 0x100000, nrPossibleCpus: 160 },
    notes:
      "160 possible CPUs from the paste's 'log_buf_len total cpu_extra contributions: 651264 bytes' (159 x 4096). " +
      "size_sum = 2 x 64K; max_upa 8 wastes nothing (160 % 8 == 0): u131072.",
  },
  {
    id: "sgi-ip27-mips64-16k",
    source: "https://marc.info/?l=linux-mm (Joshua Kinard, Gentoo/MIPS: SGI IP27 boot log with PAGE_SIZE 16K, posted to linux-mm; GitHub mirror linux-mailinglist-archives)",
    arch: "mips",
    kernel: "4.x mips64 (SGI IP27 Origin, 2 node boards, 16K pages)",
    era: "v3.18",
    lineEra: "v3.18",
    base: "a800000002010000",
    raw: [
      "[    0.000000] PERCPU: Embedded 4 pages/cpu @a800000002010000 s20864 r0 d44672 u65536",
      "[    0.000000] pcpu-alloc: s20864 r0 d44672 u65536 alloc=4*16384",
      "[    0.000000] pcpu-alloc: [0] 0 [0] 1 [0] 2 [0] 3",
    ],
    inputs: { pageShift: 14, bits: 64, nrCpus: null, staticSize: 20864, reservedSize: 0, dynSize: 28672, atomSize: 16384, nrPossibleCpus: 4 },
    notes:
      "mips then had no setup_per_cpu_areas of its own: the generic one (no distance, one group) on a 2-node machine. " +
      "r0: no CONFIG_MODULES. PFN_ALIGN(20864 + 28672) = 4 x 16K = 65536: the 28672-byte request becomes d44672. The base is an XKPHYS address.",
  },
  {
    id: "octeon-2.6.32-mips64-16k",
    source: "public GitHub file found in the code index (id 22535089292): Cavium Octeon+ boot log, SDK 2.2, 2.6.32.27DreamV1.0",
    arch: "mips",
    kernel: "2.6.32.27 (Cavium Networks SDK 2.2, Octeon+ 2 cores, 16K pages)",
    era: "v2.6.32",
    lineEra: "v2.6.32",
    base: "a8000000037e0000",
    raw: [
      "[    0.000000] PERCPU: Embedded 3 pages/cpu @a8000000037e0000 s10112 r8192 d30848 u65536",
      "[    0.000000] pcpu-alloc: s10112 r8192 d30848 u65536 alloc=4*16384",
      "[    0.000000] pcpu-alloc: [0] 0 [0] 1 ",
    ],
    inputs: { pageShift: 14, bits: 64, nrCpus: null, staticSize: 10112, reservedSize: 8192, dynSize: 20480, atomSize: 16384, nrPossibleCpus: 2 },
    notes:
      "2.6.32: PCPU_MIN_UNIT_SIZE is PFN_ALIGN(64K). size_sum = PFN_ALIGN(10112 + 8192 + 20480) = 3 pages (printed as pages/cpu), " +
      "but the unit is max(size_sum, 64K) = 65536: u65536 and alloc=4*16384 with only 3 pages used.",
  },
];

/** The records from machines with pages larger than 4 KiB. */
export const NON_4K_BOOT_LOGS: readonly BootLogRecord[] = BOOT_LOGS.filter((r) => r.inputs.pageShift > 12);
