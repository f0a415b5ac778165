#!/usr/bin/env node
// Packs every publishable package with pnpm (as `pnpm -r pack` would) and runs
// publint on each tarball. Fails when publint reports any error. Needs a build.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { publint } from "publint";
import { formatMessage } from "publint/utils";
import { workspacePackages } from "./workspace.mjs";

const out = mkdtempSync(join(tmpdir(), "pcpu-pack-"));
let errors = 0;
let packed = 0;
try {
  for (const { dir, rel, json } of workspacePackages()) {
    if (json.private) continue;
    const before = new Set(readdirSync(out));
    execFileSync("pnpm", ["pack", "--pack-destination", out], { cwd: dir, stdio: "pipe" });
    const tarball = readdirSync(out).find((f) => !before.has(f));
    if (!tarball) throw new Error(`${rel}: pnpm pack produced no tarball`);
    packed++;
    const buf = readFileSync(join(out, tarball));
    const data = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const { messages, pkg } = await publint({ pack: { tarball: data }, level: "suggestion" });
    for (const m of messages) {
      const text = formatMessage(m, pkg);
      console.log(`${rel} [${m.type}] ${text}`);
      if (m.type === "error") errors++;
    }
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
console.log(`publint: ${packed} tarballs, ${errors} error(s)`);
process.exit(errors ? 1 : 0);
