/*
 * Before the e2e tests: build the page with Vite into test-results/site
 * (the same config as `pnpm --filter @pcpu/web build`, another outDir so a
 * test run never touches dist/), and make sure chromium is there.
 */

import { mkdirSync } from "node:fs";
import { build } from "vite";
import { ensureChromium } from "./support/chromium.js";
import { RESULTS_DIR, SITE_DIR, WEB_DIR } from "./support/paths.js";

export default async function setup(): Promise<void> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  ensureChromium();
  const t0 = performance.now();
  await build({
    root: WEB_DIR,
    configFile: `${WEB_DIR}vite.config.ts`,
    logLevel: "warn",
    build: { outDir: SITE_DIR, emptyOutDir: true, sourcemap: false },
  });
  console.log(`e2e: built the page into ${SITE_DIR} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
