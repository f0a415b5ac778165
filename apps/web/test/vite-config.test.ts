/*
 * The build's guard: a page that imported a Node built-in would not run in
 * a browser, so the Vite config refuses to bundle one.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "vite";
import { describe, expect, it } from "vitest";
import { noNodeBuiltins } from "../vite.config.js";

async function bundle(source: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "pcpu-web-guard-"));
  try {
    writeFileSync(join(dir, "entry.js"), source);
    await build({
      configFile: false,
      root: dir,
      logLevel: "silent",
      plugins: [noNodeBuiltins()],
      build: { write: false, rollupOptions: { input: join(dir, "entry.js") } },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("noNodeBuiltins (the page bundles no Node built-in)", () => {
  it("fails the build on node:fs and on a bare built-in name", async () => {
    await expect(
      bundle('import { readFileSync } from "node:fs";\nconsole.log(readFileSync);\n'),
    ).rejects.toThrow(/imports the Node built-in "node:fs"/);
    await expect(bundle('import path from "path";\nconsole.log(path.sep);\n')).rejects.toThrow(
      /imports the Node built-in "path"/,
    );
  });

  it("lets plain code through", async () => {
    await expect(bundle("console.log(1 + 1);\n")).resolves.toBeUndefined();
  });
});
