/*
 * The browser of the e2e tests: Debian's chromium driven by playwright-core
 * (a test tool's own browser download cannot work on these machines). When
 * it is missing, a root process installs it with apt-get, as
 * .ci/setup-browser does; anyone else is told how.
 */

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { CHROMIUM } from "./paths.js";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Makes sure /usr/bin/chromium exists, installing Debian's package when running as root. */
export function ensureChromium(log: (s: string) => void = console.log): void {
  if (existsSync(CHROMIUM)) return;
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  if (!root) {
    throw new Error(
      `${CHROMIUM} is missing and this process is not root: install Debian's chromium package ` +
        "(sudo apt-get update && sudo apt-get install -y chromium, or run .ci/setup-browser as root), then run the tests again",
    );
  }
  log(
    `e2e: ${CHROMIUM} is missing; installing Debian's chromium (apt-get update && apt-get install -y chromium)`,
  );
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update"], ["install", "-y", "chromium"]]) {
    const r = spawnSync("apt-get", args, { stdio: "inherit", env });
    if (r.status !== 0)
      throw new Error(
        `e2e: apt-get ${args.join(" ")} failed (exit ${r.status ?? r.signal}); cannot run the browser tests`,
      );
  }
  if (!existsSync(CHROMIUM))
    throw new Error(`e2e: apt-get installed chromium but ${CHROMIUM} is still missing`);
}

/** Launches headless chromium. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}
