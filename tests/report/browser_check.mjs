// Open a report.html in Debian's chromium (headless, offline), and check it:
// no console errors, every map drew its polygons (a Leaflet canvas with coloured pixels),
// every chart drew (an SVG with marks), a full-page screenshot, and axe-core with no
// serious or critical violations. Prints one JSON object; exits 1 when a check fails.
// Usage: node browser_check.mjs REPORT.html SCREENSHOT.png
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");
const axePath = require.resolve("axe-core/axe.min.js");

const [reportPath, screenshotPath] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), "vru-chromium-"));
const result = { report: resolve(reportPath), console_errors: [], page_errors: [],
  requests_outside: [], maps: [], charts: [], axe: [], screenshot: screenshotPath };
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.VRU_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--no-first-run"],
    viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] || await context.newPage();
  page.on("console", (msg) => {
    if (msg.type() === "error") result.console_errors.push(msg.text());
  });
  page.on("pageerror", (err) => result.page_errors.push(String(err)));
  page.on("request", (req) => {
    const url = req.url();
    if (!url.startsWith("file:") && !url.startsWith("data:") && !url.startsWith("blob:")) {
      result.requests_outside.push(url);
    }
  });
  await page.goto(pathToFileURL(resolve(reportPath)).href, { waitUntil: "load" });
  await page.waitForFunction(() => {
    const charts = [...document.querySelectorAll("[data-chart]")];
    return charts.every((el) => el.querySelector("svg"));
  }, null, { timeout: 60000 }).catch(() => {});
  await page.waitForTimeout(500);
  result.maps = await page.evaluate(() => [...document.querySelectorAll("[data-map]")].map(
    (el) => {
      const canvas = el.querySelector("canvas");
      let coloured = 0;
      if (canvas) {
        const ctx = canvas.getContext("2d");
        const { width, height } = canvas;
        const data = ctx.getImageData(0, 0, width, height).data;
        for (let i = 0; i < data.length; i += 4 * 97) {
          if (data[i + 3] > 0) coloured += 1;
        }
      }
      const legend = document.getElementById(el.id + "-legend");
      return { id: el.id, canvas: Boolean(canvas), coloured_samples: coloured,
        legend_items: legend ? legend.children.length : 0 };
    }));
  result.charts = await page.evaluate(() => [...document.querySelectorAll("[data-chart]")]
    .map((el) => {
      const svg = el.querySelector("svg");
      return { id: el.id, svg: Boolean(svg),
        marks: svg ? svg.querySelectorAll("path, rect, line, circle").length : 0 };
    }));
  await page.screenshot({ path: screenshotPath, fullPage: false });
  await page.addScriptTag({ path: axePath });
  const axe = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.length, example: v.nodes[0] ? v.nodes[0].html.slice(0, 200) : "" }));
  });
  result.axe = axe;
} finally {
  if (context) await context.close();
  rmSync(profile, { recursive: true, force: true });
}
const failures = [];
if (result.console_errors.length) failures.push("console errors");
if (result.page_errors.length) failures.push("page errors");
if (result.requests_outside.length) failures.push("network requests");
if (result.maps.some((m) => !m.canvas || m.coloured_samples === 0)) failures.push("maps");
if (result.charts.some((c) => !c.svg || c.marks === 0)) failures.push("charts");
if (result.axe.some((v) => v.impact === "serious" || v.impact === "critical")) {
  failures.push("accessibility");
}
result.failures = failures;
console.log(JSON.stringify(result, null, 1));
process.exit(failures.length ? 1 : 0);
