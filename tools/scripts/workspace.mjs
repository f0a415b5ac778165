// Shared helpers for the repo scripts: list the workspace packages.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Every workspace package: { dir, rel, json }. */
export function workspacePackages() {
  const out = [];
  for (const group of ["packages", "apps", "tools"]) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base).sort()) {
      const dir = join(base, name);
      const file = join(dir, "package.json");
      if (!existsSync(file)) continue;
      out.push({ dir, rel: `${group}/${name}`, json: JSON.parse(readFileSync(file, "utf8")) });
    }
  }
  return out;
}
