import { fileURLToPath } from "node:url";
import { defineProject } from "vitest/config";
import { pcpuProject } from "../../vitest.shared.js";

const base = pcpuProject("@pcpu/arch-sparc32");

/*
 * The tests boot kernels with both population strategies. @pcpu/percpu-vm
 * and @pcpu/percpu-km are not dependencies of an arch package (the core
 * never needs them), so the tests resolve them to their public entry points
 * here (and in tsconfig.json "paths") instead of through node_modules.
 */
export default defineProject({
  ...base,
  resolve: {
    ...base.resolve,
    alias: {
      "@pcpu/percpu-vm": fileURLToPath(new URL("../percpu-vm/src/index.ts", import.meta.url)),
      "@pcpu/percpu-km": fileURLToPath(new URL("../percpu-km/src/index.ts", import.meta.url)),
    },
  },
});
