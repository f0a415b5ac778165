/*
 * Vite config of the page: the workspace packages are read from their
 * TypeScript sources (the `@pcpu/source` export condition, as the tests
 * do), the kernel worker is an ES module, and any import of a Node
 * built-in fails the build, so the bundle provably runs in a browser alone.
 */

import { builtinModules } from "node:module";
import { defaultClientConditions, defineConfig, type Plugin } from "vite";

const NODE_BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/** Fails the build on `import "node:fs"` (or any other built-in) anywhere in the page's graph. */
export function noNodeBuiltins(): Plugin {
  return {
    name: "pcpu-no-node-builtins",
    enforce: "pre",
    resolveId(source, importer) {
      if (NODE_BUILTINS.has(source) || source.startsWith("node:")) {
        this.error(
          `${importer ?? "?"} imports the Node built-in "${source}": the page must run in a browser alone`,
        );
      }
      return null;
    },
  };
}

export default defineConfig({
  base: "./",
  resolve: { conditions: ["@pcpu/source", ...defaultClientConditions] },
  plugins: [noNodeBuiltins()],
  worker: { format: "es", plugins: () => [noNodeBuiltins()] },
  build: { target: "es2022", sourcemap: true, chunkSizeWarningLimit: 2000 },
  server: { host: "127.0.0.1" },
  preview: { host: "127.0.0.1" },
});
