import { defineConfig } from "vitest/config";

// One run from the root covers every package: each package, app and tool
// with a vitest.config.ts is a project.
export default defineConfig({
  test: {
    projects: ["packages/*/vitest.config.ts", "apps/*/vitest.config.ts", "tools/*/vitest.config.ts"],
  },
});
