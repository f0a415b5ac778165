#!/usr/bin/env node
// Checks that every workspace package has the same shape (STYLE.md, rule 9),
// so dozens of packages never drift. Exits 1 and lists every problem found.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { workspacePackages } from "./workspace.mjs";

const problems = [];
const TEST_RUNNERS = /^(vitest|jest|@vitest\/.*|@jest\/.*|mocha)$/;

/** The .ts/.js files under a directory. */
function sourceFiles(root) {
  if (!existsSync(root)) return [];
  const out = [];
  for (const e of readdirSync(root, { withFileTypes: true })) {
    const p = join(root, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|js|mjs)$/.test(e.name)) out.push(p);
  }
  return out;
}
const need = (cond, rel, msg) => {
  if (!cond) problems.push(`${rel}: ${msg}`);
};

for (const { dir, rel, json } of workspacePackages()) {
  need(json.name?.startsWith("@pcpu/"), rel, `name must be under the @pcpu/ scope (is ${json.name})`);
  need(json.license === "GPL-2.0-only", rel, "license must be GPL-2.0-only");
  need(json.type === "module", rel, 'type must be "module"');
  need(existsSync(join(dir, "README.md")), rel, "README.md is missing");
  need(existsSync(join(dir, "vitest.config.ts")), rel, "vitest.config.ts is missing");
  need(existsSync(join(dir, "tsconfig.json")), rel, "tsconfig.json is missing");
  for (const script of ["typecheck", "test"]) {
    need(typeof json.scripts?.[script] === "string", rel, `scripts.${script} is missing`);
  }
  if (json.private) continue;
  // Publishable packages.
  need(typeof json.version === "string", rel, "version is missing");
  need(typeof json.description === "string" && json.description.length > 0, rel, "description is missing");
  need(json.sideEffects === false, rel, "sideEffects must be false");
  need(Array.isArray(json.files) && json.files.includes("dist"), rel, 'files must include "dist"');
  need(json.publishConfig?.access === "public", rel, "publishConfig.access must be public");
  need(typeof json.scripts?.build === "string", rel, "scripts.build is missing");
  need(existsSync(join(dir, "tsconfig.build.json")), rel, "tsconfig.build.json is missing");
  const dot = json.exports?.["."];
  need(dot && typeof dot === "object", rel, 'exports["."] must be a conditions object');
  if (dot && typeof dot === "object") {
    const keys = Object.keys(dot);
    need(keys[0] === "@pcpu/source", rel, 'exports["."] must list "@pcpu/source" first');
    need(
      typeof dot.types === "string" && dot.types.startsWith("./dist/"),
      rel,
      'exports["."].types must point into dist',
    );
    need(
      typeof dot.default === "string" && dot.default.startsWith("./dist/"),
      rel,
      'exports["."].default must point into dist',
    );
  }
  const readme = existsSync(join(dir, "README.md")) ? readFileSync(join(dir, "README.md"), "utf8") : "";
  need(/mirrors/i.test(readme), rel, "README.md must say which kernel file(s) the package mirrors");
  for (const [dep, range] of Object.entries({ ...json.dependencies, ...json.peerDependencies })) {
    if (dep.startsWith("@pcpu/"))
      need(String(range).startsWith("workspace:"), rel, `${dep} must use a workspace: range`);
  }
  // A published package needs no test runner: shipped suites take the caller's describe/it/expect.
  const deps = { ...json.dependencies, ...json.peerDependencies, ...json.optionalDependencies };
  for (const dep of Object.keys(deps)) {
    need(!TEST_RUNNERS.test(dep), rel, `${dep}: a published package must not depend on a test runner`);
  }
  for (const file of sourceFiles(join(dir, "src"))) {
    const text = readFileSync(file, "utf8");
    need(
      !/^\s*(import|export)[^;]*from\s+["'](vitest|jest|@jest\/globals)["']/m.test(text),
      rel,
      `${file.slice(dir.length + 1)} imports a test runner (published code takes the caller's describe/it/expect)`,
    );
  }
}

if (problems.length) {
  console.error(`check-packages: ${problems.length} problem(s)`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`check-packages: ${workspacePackages().length} packages have the same shape`);
