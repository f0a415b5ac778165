import { defineProject } from "vitest/config";
import { pcpuProject } from "../../vitest.shared.js";

const base = pcpuProject("@pcpu/web");

/* The e2e tests build the page once (globalSetup) and drive it in headless chromium. */
export default defineProject({
  ...base,
  test: { ...base.test, globalSetup: ["test/global-setup.ts"], hookTimeout: 120_000 },
});
