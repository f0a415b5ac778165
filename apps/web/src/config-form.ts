/*
 * The config panel: one field per key of the kernel app's config (the
 * keys of kernel.config.json, the CLI's flags in camelCase), each a text
 * field so that anything a user can write in a config file or on the
 * command line can be written here too. The config is checked as the
 * kernel app checks it (resolveConfig against the arches this build
 * carries) on every edit; a refusal is shown next to the field at fault
 * with the line the CLI prints.
 */

import {
  ALL_DEFINITIONS,
  ALLOCATOR_NAMES,
  ARCH_NAMES,
  CONFIG_KEYS,
  ConfigError,
  DEFAULT_CONFIG,
  type KernelConfig,
  PERCPU_ALLOC_NAMES,
  POPULATION_NAMES,
  type ResolvedKernelConfig,
  resolveConfig,
} from "@pcpu/kernel";
import { PCPU_ERAS } from "@pcpu/percpu";
import { configErrorLine, kebab } from "./format.js";

type Key = (typeof CONFIG_KEYS)[number];

const CHOICES: Partial<Record<Key, readonly string[]>> = {
  arch: ARCH_NAMES,
  population: POPULATION_NAMES,
  percpuAlloc: PERCPU_ALLOC_NAMES,
  allocator: ALLOCATOR_NAMES,
  era: PCPU_ERAS,
  bits: ["64", "32"],
  stats: ["on", "off"],
  modules: ["on", "off"],
  smp: ["on", "off"],
  cpumaskOffstack: ["on", "off"],
  trace: ["on", "off"],
  debugChecks: ["on", "off"],
  memcg: ["on", "off"],
  allocProfiling: ["on", "off"],
  forceNrCpus: ["on", "off"],
  numa: ["on", "off"],
  fixFreeHintQuirk: ["on", "off"],
  fixPopulatedOvercount: ["on", "off"],
  checkFree: ["on", "off"],
};

const HELP: Record<Key, string> = {
  arch: "arch to build",
  pageSize: "PAGE_SIZE: 4K; arm64 4K/16K/64K, generic 4K..256K",
  bits: "word size of the generic arch (32 or 64)",
  cpus: "nr_cpu_ids: possible CPUs 0..N-1 (with possible: its last CPU + 1)",
  possible: "cpu_possible_mask with holes, e.g. 0-3,8-11 (must hold CPU 0)",
  nodes: "CPUs of each NUMA node, nodes separated by ; (0-3;4-7)",
  memPerNode: "memory per node (K/M/G or hex)",
  population: "population backend: mm/percpu-vm.c or mm/percpu-km.c",
  percpuAlloc: "percpu_alloc= first chunk allocator",
  allocator: "area allocator: bitmap (4.14+) or the 2009 area map",
  stats: "CONFIG_PERCPU_STATS (debugfs percpu_stats)",
  staticSize: "static percpu bytes of the kernel image",
  reservedSize: "reserved region size",
  dynSize: "dynamic region of the first chunk",
  atomSize: "first chunk atom size",
  era: "kernel generation",
  nrCpus: "CONFIG_NR_CPUS",
  forceNrCpus: "CONFIG_FORCE_NR_CPUS (6.0+): nr_cpu_ids is NR_CPUS",
  modules: "CONFIG_MODULES (the 8K module reserve)",
  smp: "CONFIG_SMP (off: a uniprocessor kernel, 1 CPU, percpu-km)",
  cpumaskOffstack: "x86 CONFIG_CPUMASK_OFFSTACK (nr_cpumask_bits = nr_cpu_ids)",
  seed: "seed of the machine and the workloads",
  trace: "record the percpu tracepoints",
  debugChecks: "check the allocator's invariants after every operation (slow)",
  memcg: "CONFIG_MEMCG kmem accounting (__GFP_ACCOUNT objects carry an obj_cgroup pointer)",
  allocProfiling: "CONFIG_MEM_ALLOC_PROFILING (6.10+): percpu call sites in /proc/allocinfo",
  numa: "CONFIG_NUMA (off: one node)",
  fixFreeHintQuirk: "policy: fix the bitmap free-path chunk-hint quirk (off: faithful)",
  fixPopulatedOvercount: "policy: count km populated pages per unit (off: faithful)",
  checkFree: "validate free_percpu pointers, WARN on misuse",
};

/** What the form holds: a config to boot, or the refusal. */
export type FormState =
  | { readonly ok: true; readonly config: KernelConfig; readonly resolved: ResolvedKernelConfig }
  | { readonly ok: false; readonly config: KernelConfig; readonly setting: string; readonly line: string };

/** Checks a config the way the kernel app does before it boots. */
export function checkConfig(config: KernelConfig): FormState {
  try {
    const resolved = resolveConfig(config, (name) => ALL_DEFINITIONS.arches.find((d) => d.name === name));
    return { ok: true, config, resolved };
  } catch (e) {
    if (e instanceof ConfigError) return { ok: false, config, setting: e.setting, line: configErrorLine(e) };
    throw e;
  }
}

export class ConfigForm {
  readonly el: HTMLElement;
  private readonly inputs = new Map<Key, HTMLInputElement>();
  private readonly errors = new Map<Key, HTMLElement>();
  private readonly summary: HTMLElement;
  private readonly flags: HTMLElement;
  state: FormState;
  /** Called after every edit, with the new state. */
  onChange: ((s: FormState) => void) | null = null;

  constructor(doc: Document, idPrefix: string) {
    this.el = doc.createElement("form");
    this.el.className = "config-form";
    this.el.addEventListener("submit", (e) => e.preventDefault());
    const grid = doc.createElement("div");
    grid.className = "config-fields";
    for (const key of CONFIG_KEYS) {
      const id = `${idPrefix}-${key}`;
      const label = doc.createElement("label");
      label.htmlFor = id;
      label.textContent = key;
      label.title = `${HELP[key]} (--${kebab(key)})`;
      const input = doc.createElement("input");
      input.id = id;
      input.name = key;
      input.autocomplete = "off";
      input.spellcheck = false;
      input.dataset.key = key;
      const def = (DEFAULT_CONFIG as Record<string, unknown>)[key];
      input.placeholder =
        def === undefined ? "default" : typeof def === "boolean" ? (def ? "on" : "off") : String(def);
      input.title = HELP[key];
      const choices = CHOICES[key];
      if (choices !== undefined) {
        const list = doc.createElement("datalist");
        list.id = `${id}-list`;
        for (const c of choices) {
          const o = doc.createElement("option");
          o.value = c;
          list.append(o);
        }
        input.setAttribute("list", list.id);
        grid.append(list);
      }
      input.addEventListener("input", () => this.update());
      const err = doc.createElement("div");
      err.className = "field-error";
      err.hidden = true;
      err.setAttribute("role", "alert");
      const cell = doc.createElement("div");
      cell.className = "config-field";
      cell.append(label, input, err);
      grid.append(cell);
      this.inputs.set(key, input);
      this.errors.set(key, err);
    }
    this.summary = doc.createElement("div");
    this.summary.className = "config-error";
    this.summary.setAttribute("role", "alert");
    this.flags = doc.createElement("code");
    this.flags.className = "config-flags";
    this.el.append(grid, this.summary, this.flags);
    this.state = checkConfig({});
    this.update();
  }

  /** The config as typed: empty fields are left to the defaults. */
  config(): KernelConfig {
    const out: Record<string, string> = {};
    for (const [k, input] of this.inputs) {
      const v = input.value.trim();
      if (v !== "") out[k] = v;
    }
    return out as KernelConfig;
  }

  /** Replaces every field (keys not given are emptied). */
  set(config: Readonly<Record<string, string | number | boolean>>): void {
    for (const [k, input] of this.inputs) {
      const v = config[k];
      input.value = v === undefined ? "" : typeof v === "boolean" ? (v ? "on" : "off") : String(v);
    }
    this.update();
  }

  /** Shows a refusal that came from the boot itself (assembleKernel's ConfigError). */
  showError(setting: string, line: string): void {
    this.state = { ok: false, config: this.config(), setting, line };
    this.paint();
  }

  private update(): void {
    this.state = checkConfig(this.config());
    this.paint();
    this.onChange?.(this.state);
  }

  private paint(): void {
    const s = this.state;
    for (const [k, input] of this.inputs) {
      const bad = !s.ok && s.setting === k;
      input.setAttribute("aria-invalid", String(bad));
      const err = this.errors.get(k)!;
      err.hidden = !bad;
      err.textContent = bad ? s.line : "";
    }
    this.summary.textContent = s.ok ? "" : s.line;
    this.summary.hidden = s.ok;
    this.el.dataset.valid = String(s.ok);
    this.el.dataset.error = s.ok ? "" : s.line;
    const flags = Object.entries(s.config).map(([k, v]) => `--${kebab(k)} ${String(v)}`);
    this.flags.textContent = s.ok ? `pnpm kernel boot ${flags.join(" ")}`.trim() : "";
  }
}
