import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { AxeResults, Result } from "axe-core";
import type { Browser, BrowserContext, BrowserContextOptions, Page } from "playwright-core";

/**
 * Browser tests drive Debian's Chromium (`apt-get install -y chromium`) with playwright-core:
 * no browser download, nothing but loopback traffic.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // Containers often give /dev/shm only 64 MB; Chromium then crashes on big pages.
  "--disable-dev-shm-usage",
];

const require = createRequire(import.meta.url);
/** The repository: this file runs from build/test/e2e/. */
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** Every screenshot lands in test-results/screenshots/; with UPDATE_SCREENSHOTS=1 also in docs/screenshots/. */
export const SCREENSHOT_DIR = join(repoRoot, "test-results", "screenshots");
export const DOCS_SCREENSHOT_DIR = join(repoRoot, "docs", "screenshots");
const UPDATE_DOCS = process.env.UPDATE_SCREENSHOTS === "1";

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}. The browser tests drive Debian's Chromium: ` +
        "install it with `apt-get install -y chromium` (.ci/run does this), or point CHROMIUM_PATH at a Chromium binary.",
    );
  }
  let playwright: typeof import("playwright-core");
  try {
    playwright = await import("playwright-core");
  } catch (err) {
    throw new Error(`playwright-core is not installed (npm ci installs it): ${String(err)}`);
  }
  return playwright.chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
}

/** What went wrong inside a browser context: CSP violations and uncaught script errors. */
export interface ContextProblems {
  problems: string[];
}

/**
 * A context with a short default timeout that records CSP violations and script errors
 * (asserted empty by `assertNoProblems`), and serves axe-core for `checkA11y` from a
 * same-origin URL intercepted in the browser, so the page's CSP stays on.
 */
export async function newContext(
  browser: Browser,
  options: BrowserContextOptions = {},
): Promise<BrowserContext & ContextProblems> {
  const context = Object.assign(await browser.newContext({ viewport: VIEWPORT, ...options }), {
    problems: [] as string[],
  });
  context.setDefaultTimeout(10_000);
  context.on("console", (message) => {
    const text = message.text();
    if (/Content Security Policy|Refused to (apply|execute|load)/i.test(text)) context.problems.push(text);
  });
  context.on("weberror", (error) => context.problems.push(`script error: ${error.error().message}`));
  await context.route("**/__e2e__/axe.min.js", (route) =>
    route.fulfill({ contentType: "application/javascript; charset=utf-8", body: axeSource() }),
  );
  return context;
}

export function assertNoProblems(...contexts: ContextProblems[]): void {
  const problems = contexts.flatMap((c) => c.problems);
  assert.deepEqual(problems, [], "no CSP violations or script errors in the browser");
}

export const VIEWPORT = { width: 1100, height: 860 };
export const PHONE = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
};

let axeCache: string | undefined;
function axeSource(): string {
  axeCache ??= readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
  return axeCache;
}

export interface A11yReport {
  page: string;
  violations: Result[];
}

/**
 * Runs axe-core on the page as it is now. Fails on serious or critical violations and
 * returns the rest (moderate, minor) so the suite can report them.
 */
export async function checkA11y(page: Page, label: string): Promise<A11yReport> {
  const loaded = await page.evaluate(() => "axe" in globalThis);
  if (!loaded) await page.addScriptTag({ url: "/__e2e__/axe.min.js" });
  const results = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(options: object): Promise<AxeResults> } }).axe;
    return axe.run({ resultTypes: ["violations"] });
  });
  const severe = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    severe.map(
      (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
    ),
    [],
    `accessibility violations on ${label}`,
  );
  return { page: label, violations: results.violations };
}

/** Saves a screenshot to test-results/screenshots/ (and docs/screenshots/ when UPDATE_SCREENSHOTS=1). */
export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  // Out of the way of the picture: the caret, the hover highlight, the focus ring.
  await page.mouse.move(0, 0);
  await page.evaluate(() =>
    (
      globalThis as unknown as { document: { activeElement?: { blur?(): void } } }
    ).document.activeElement?.blur?.(),
  );
  await page.screenshot({ path, fullPage: options.fullPage ?? false, animations: "disabled", caret: "hide" });
  if (UPDATE_DOCS) {
    mkdirSync(DOCS_SCREENSHOT_DIR, { recursive: true });
    copyFileSync(path, join(DOCS_SCREENSHOT_DIR, `${name}.png`));
  }
  return path;
}
