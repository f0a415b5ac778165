import { defaultClientConditions, defaultServerConditions } from "vite";
import type { UserWorkspaceConfig } from "vitest/config";

/**
 * The per-package vitest project. Workspace packages resolve through the
 * `@pcpu/source` export condition to their TypeScript sources, so tests never
 * need a build and always see the code as it is in the tree.
 */
export function pcpuProject(name: string): UserWorkspaceConfig {
  return {
    resolve: { conditions: ["@pcpu/source", ...defaultClientConditions] },
    ssr: { resolve: { conditions: ["@pcpu/source", ...defaultServerConditions] } },
    test: {
      name,
      include: ["test/**/*.test.ts"],
      environment: "node",
      testTimeout: 120_000,
    },
  };
}
