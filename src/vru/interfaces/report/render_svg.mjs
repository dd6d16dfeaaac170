// Render Vega-Lite specs (with their data inlined) to SVG files, for slides.
// Usage: node render_svg.mjs ASSET_DIR OUT_DIR < {"name": spec, ...}
// Vega and Vega-Lite come from the built report assets (the same files the report inlines).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import vm from "node:vm";

const [assetDir, outDir] = process.argv.slice(2);
for (const f of ["vega.min.js", "vega-lite.min.js"]) {
  vm.runInThisContext(readFileSync(join(assetDir, f), "utf8"), { filename: f });
}
const { vega, vegaLite } = globalThis;
const specs = JSON.parse(readFileSync(0, "utf8"));
let failed = 0;
for (const [name, spec] of Object.entries(specs)) {
  try {
    const compiled = vegaLite.compile(spec).spec;
    const view = new vega.View(vega.parse(compiled), { renderer: "none" });
    const svg = await view.toSVG();
    writeFileSync(join(outDir, `${name}.svg`), svg);
    view.finalize();
  } catch (err) {
    failed += 1;
    console.error(`${name}: ${err.message}`);
  }
}
process.exit(failed ? 1 : 0);
