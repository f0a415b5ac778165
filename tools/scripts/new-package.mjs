#!/usr/bin/env node
// Creates a package with the uniform shape check-packages.mjs enforces:
//   node tools/scripts/new-package.mjs packages/<dir> "<description>" "<kernel files mirrored>"
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { root } from "./workspace.mjs";

const [rel, description, mirrors] = process.argv.slice(2);
if (!rel || !description || !mirrors) {
  console.error('usage: new-package.mjs <group>/<dir> "<description>" "<kernel files mirrored>"');
  process.exit(2);
}
const dir = join(root, rel);
if (existsSync(join(dir, "package.json"))) {
  console.error(`${rel} already exists`);
  process.exit(1);
}
const name = `@pcpu/${basename(rel)}`;
const depth = rel.split("/").length;
const up = "../".repeat(depth);
mkdirSync(join(dir, "src"), { recursive: true });
mkdirSync(join(dir, "test"), { recursive: true });
const write = (f, s) => writeFileSync(join(dir, f), s);
write(
  "package.json",
  `${JSON.stringify(
    {
      name,
      version: "0.1.0",
      description,
      license: "GPL-2.0-only",
      type: "module",
      sideEffects: false,
      exports: {
        ".": { "@pcpu/source": "./src/index.ts", types: "./dist/index.d.ts", default: "./dist/index.js" },
        "./package.json": "./package.json",
      },
      types: "./dist/index.d.ts",
      files: ["dist", "src", "README.md"],
      scripts: {
        build: "tsc -p tsconfig.build.json",
        typecheck: "tsc -p tsconfig.json --noEmit",
        test: "vitest run",
      },
      publishConfig: { access: "public" },
    },
    null,
    2,
  )}\n`,
);
write(
  "tsconfig.json",
  `${JSON.stringify({ extends: `${up}tsconfig.base.json`, compilerOptions: { types: ["node"], noEmit: true }, include: ["src", "test"] }, null, 2)}\n`,
);
write(
  "tsconfig.build.json",
  `${JSON.stringify({ extends: `${up}tsconfig.package-build.json`, compilerOptions: { rootDir: "src", outDir: "dist" }, include: ["src"] }, null, 2)}\n`,
);
write(
  "vitest.config.ts",
  `import { defineProject } from "vitest/config";\nimport { pcpuProject } from "${up}vitest.shared.js";\n\nexport default defineProject(pcpuProject("${name}"));\n`,
);
write("src/index.ts", `// ${name}: public exports only.\nexport {};\n`);
write("README.md", `# ${name}\n\n${description}\n\nMirrors ${mirrors}.\n`);
console.log(`created ${rel} (${name})`);
