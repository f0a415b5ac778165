#!/usr/bin/env node
// pcpu-kernel: runs the built CLI (dist/cli/main.js). In a source checkout
// that has not been built yet (`pnpm install` only), runs the sources
// through tsx instead, so `pnpm exec pcpu-kernel` works from a fresh clone.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist/cli/main.js");
if (existsSync(dist)) {
  await import(pathToFileURL(dist).href);
} else {
  let tsx;
  try {
    tsx = createRequire(join(root, "package.json")).resolve("tsx");
  } catch {
    process.stderr.write(`pcpu-kernel: ${dist} is missing: run pnpm build\n`);
    process.exit(1);
  }
  const r = spawnSync(
    process.execPath,
    [
      "--conditions=@pcpu/source",
      "--import",
      pathToFileURL(tsx).href,
      join(root, "src/cli/main.ts"),
      ...process.argv.slice(2),
    ],
    { stdio: "inherit" },
  );
  process.exitCode = r.status ?? 1;
}
