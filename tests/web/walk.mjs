// What every browser walk shares: Debian's chromium driven by playwright-core, a check that
// stops the walk with a message, numbered full-page screenshots, and one JSON line at the end:
// {"ok": true, "steps": [...], ...extra} or {"ok": false, "error": ..., "steps": [...]}
// (exit code 1 on failure). Chromium is at $VRU_CHROMIUM or /usr/bin/chromium.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

// steps: what the walk has done; shot(page, name): a screenshot into outDir;
// run(body): body(browser) walks, and returns extra fields for the JSON line, if any.
export function walker(outDir) {
  const steps = [];
  mkdirSync(outDir, { recursive: true });
  const shot = (page, name) =>
    page.screenshot({ path: join(outDir, `${steps.length}-${name}.png`), fullPage: true });
  async function run(body) {
    const browser = await chromium.launch({
      executablePath: process.env.VRU_CHROMIUM || "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    try {
      const extra = (await body(browser)) || {};
      console.log(JSON.stringify({ ok: true, steps, ...extra }));
    } catch (error) {
      console.log(JSON.stringify({ ok: false, error: String(error && error.stack || error),
        steps }));
      process.exitCode = 1;
    } finally {
      await browser.close();
    }
  }
  return { steps, shot, run };
}
