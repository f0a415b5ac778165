/* Where the e2e tests build the page and keep their artifacts (test-results/ is gitignored). */
import { fileURLToPath } from "node:url";

export const WEB_DIR = fileURLToPath(new URL("../../", import.meta.url));
export const RESULTS_DIR = fileURLToPath(new URL("../../test-results/", import.meta.url));
export const SITE_DIR = fileURLToPath(new URL("../../test-results/site/", import.meta.url));
export const DOCS_DIR = fileURLToPath(new URL("../../docs/", import.meta.url));
export const CHROMIUM = "/usr/bin/chromium";
