import fs from "node:fs";
import path from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

/** Debian's Chromium (`apt-get install -y chromium`; `.ci/run` installs it). */
export const CHROMIUM_PATH = "/usr/bin/chromium";

export const chromiumInstalled = () => fs.existsSync(CHROMIUM_PATH);

/** Where the browser tests leave their screenshots (a CI artifact; git ignores it). */
export const SCREENSHOTS_DIR = path.join(__dirname, "..", "..", "test-artifacts", "screenshots");

/**
 * Headless Chromium that talks to nothing but what a page asks for: no background networking,
 * component updates, sync or QUIC (on a closed network those fail by the dozen at every start).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      // Chromium's sandbox refuses to start as root (CI containers run as root).
      ...(process.getuid?.() === 0 ? ["--no-sandbox"] : []),
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-default-apps",
    ],
  });
}

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** A browser context whose requests to anywhere but this machine are refused and remembered in `outside`. */
export async function localOnlyContext(
  browser: Browser,
  options: Parameters<Browser["newContext"]>[0] = {},
): Promise<{ context: BrowserContext; outside: string[] }> {
  const context = await browser.newContext(options);
  const outside: string[] = [];
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === "data:" || url.protocol === "blob:" || LOCAL_HOSTS.has(url.hostname)) return route.continue();
    outside.push(url.href);
    return route.abort("blockedbyclient");
  });
  return { context, outside };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS_DIR, `${name}.png`), fullPage: true });
}
