// Build the front-end assets the vru report inlines, from the pinned npm packages.
//
// Run by `make setup` after `npm ci`. Copies GOV.UK Frontend's CSS (its fonts and images
// inlined as data: URIs, so the report opens offline), Leaflet, Vega, Vega-Lite and
// Vega-Embed into src/vru/interfaces/report/assets/ (git-ignored), with a manifest of
// versions and sha256 sums. The report refuses to build when these are missing.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const modules = join(root, "node_modules");
const out = join(root, "src", "vru", "interfaces", "report", "assets");

const MIME = { ".woff2": "font/woff2", ".woff": "font/woff", ".svg": "image/svg+xml",
  ".png": "image/png", ".ico": "image/x-icon" };

function version(pkg) {
  return JSON.parse(readFileSync(join(modules, pkg, "package.json"), "utf8")).version;
}

function need(path) {
  if (!existsSync(path)) {
    console.error(`missing ${path}: run npm ci first`);
    process.exit(1);
  }
  return path;
}

// Replace url(...) references with data: URIs of the files they point at (relative to
// `base`, or to `rootPrefix` for absolute /assets/ paths); drop references to nothing.
function inlineUrls(css, base, assetRoot) {
  return css.replace(/url\((['"]?)([^)'"]+)\1\)/g, (whole, _q, ref) => {
    if (ref.startsWith("data:") || ref.startsWith("#")) return whole;
    const file = ref.startsWith("/assets/") ? join(assetRoot, ref.slice("/assets/".length))
      : join(base, ref);
    if (!existsSync(file)) return "none";
    const ext = file.slice(file.lastIndexOf("."));
    const type = MIME[ext] || "application/octet-stream";
    return `url(data:${type};base64,${readFileSync(file).toString("base64")})`;
  });
}

mkdirSync(out, { recursive: true });
const manifest = { built_by: "scripts/build-assets.mjs", packages: {}, files: {} };
function write(name, text) {
  writeFileSync(join(out, name), text);
  manifest.files[name] = createHash("sha256").update(text).digest("hex");
}

const govuk = join(modules, "govuk-frontend", "dist", "govuk");
// The GDS Transport typeface is licensed for GOV.UK services only, and a Violence Reduction
// Unit's report is not one: GOV.UK Frontend's guidance for other services is to use Arial
// instead, so its @font-face rules are dropped and the font stacks start at arial.
write("govuk-frontend.css", inlineUrls(
  readFileSync(need(join(govuk, "govuk-frontend.min.css")), "utf8")
    .replace(/\/\*# sourceMappingURL=.*?\*\//g, "")
    .replace(/@font-face\{font-family:GDS Transport;[^}]*\}/g, "")
    .replace(/font-family:GDS Transport,/g, "font-family:")
    .replace(/font-family:GDS Transport([;}])/g, "font-family:arial,sans-serif$1"),
  govuk, join(govuk, "assets")));
const leaflet = join(modules, "leaflet", "dist");
write("leaflet.css", inlineUrls(readFileSync(need(join(leaflet, "leaflet.css")), "utf8"),
  leaflet, leaflet));
const strip = (s) => s.replace(/\/\/# sourceMappingURL=.*$/gm, "");
write("leaflet.js", strip(readFileSync(need(join(leaflet, "leaflet.js")), "utf8")));
write("vega.min.js", strip(readFileSync(need(join(modules, "vega", "build", "vega.min.js")),
  "utf8")));
write("vega-lite.min.js", strip(readFileSync(need(join(modules, "vega-lite", "build",
  "vega-lite.min.js")), "utf8")));
write("vega-embed.min.js", strip(readFileSync(need(join(modules, "vega-embed", "build",
  "vega-embed.min.js")), "utf8")));
for (const pkg of ["govuk-frontend", "leaflet", "vega", "vega-lite", "vega-embed"]) {
  manifest.packages[pkg] = version(pkg);
}
writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
console.log(`report assets built in ${out}: ` +
  Object.entries(manifest.packages).map(([k, v]) => `${k} ${v}`).join(", "));
