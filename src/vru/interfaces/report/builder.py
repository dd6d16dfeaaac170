"""Write a Strategic Needs Assessment report folder, and check what was written.

``write_report(report, out_dir)`` writes:

* ``report.html``: one self-contained page (GOV.UK Frontend CSS with its fonts, Leaflet,
  Vega, Vega-Lite and Vega-Embed inlined; the figures and the map polygons embedded as JSON),
  so it opens offline in any browser;
* ``figures.json``: every table with its caption (what it counts, place, period, per what
  population, source), columns, rows and, in the public edition, its disclosure spec; the
  chart specs and map definitions; the report's parameters and rules;
* ``figures.csv``: every row of every table in one long file, a ``table`` column first and the
  caption fields on every row;
* ``layers.gpkg``: the mapped layers (polygons in British National Grid, with their figures);
* ``charts/*.svg`` (for slides) and ``charts/*.vl.json`` (the Vega-Lite spec with its data).

For the public edition ``check_outputs`` then reads every file back, and the build fails
(``DisclosureFailure``) if anything breaks the rules: the tables in figures.json and in the
page's embedded JSON (``disclosure.check_published``), every count anywhere in the embedded
JSON, map layers, chart data and CSV (``disclosure.scan_for_counts``), and every count cell
of the HTML tables.
"""

from __future__ import annotations

import csv
import html
import json
import math
import re
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
import shapely

from vru.domain.disclosure import (
    HIDDEN,
    STATUS_SUFFIX,
    SUPPRESSED_SYMBOL,
    DisclosureRules,
    check_published,
    scan_for_counts,
)
from vru.domain.geography import EPSG_BNG
from vru.domain.plain_language import check_public_text
from vru.interfaces.report.assets import ASSET_DIR, HERE, load_assets
from vru.services.sna_report import ReportTable, SnaReport, all_text

COUNT_KINDS = frozenset({"count"})
NUMERIC_KINDS = frozenset({"count", "rate", "pct", "share", "number", "ratio"})


class DisclosureFailure(RuntimeError):
    """The public edition broke a disclosure rule; ``problems`` lists each breach."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        shown = "\n  ".join(self.problems[:20])
        more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(f"the public edition breaks the disclosure rules:\n  {shown}{more}")


@dataclass
class ReportOutputs:
    folder: Path
    html: Path
    figures_json: Path
    figures_csv: Path
    geopackage: Path | None
    charts: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- values


def _json_value(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, (str, int, bool)):
        return v
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)


def table_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows: NaN/NA to None, numpy scalars to Python, whole floats in count
    columns kept as numbers."""
    cols = [str(c) for c in frame.columns]
    values = frame.to_numpy(dtype=object)
    return [{c: _json_value(v) for c, v in zip(cols, row, strict=True)} for row in values]


def _fmt_cell(v: Any, kind: str) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if kind == "count":
        return f"{float(v):,.0f}"
    if kind == "rate":
        return f"{float(v):,.1f}" if abs(float(v)) < 100 else f"{float(v):,.0f}"
    if kind == "pct":
        return f"{float(v):+.1f}%"
    if kind == "share":
        return f"{100 * float(v):.1f}%"
    if kind == "ratio":
        return f"{float(v):.2f}"
    if kind == "number":
        x = float(v)
        if x == int(x):
            return f"{int(x):,}"
        return f"{x:.3g}" if abs(x) < 0.01 else f"{x:,.2f}"
    return str(v)


def _display(t: ReportTable, rows: list[dict[str, Any]]) -> dict[str, Any]:
    shown = rows if t.show_rows is None else rows[: t.show_rows]
    if t.show_rows and t.key in ("ward_figures", "lsoa_figures"):
        shown = sorted((r for r in rows if r.get("rate_per_100k") is not None),
                       key=lambda r: -float(r["rate_per_100k"]))[: t.show_rows]
    if t.show_rows and t.key == "hotspots":
        shown = sorted(rows, key=lambda r: -abs(float(r.get("gi_z") or 0.0))
                       if r.get("gi_z") is not None else 0.0)[: t.show_rows]
        if shown and "gi_z" not in shown[0]:
            shown = [r for r in rows if r.get("gi_class") in ("hot spot", "cold spot")][
                : t.show_rows] or rows[: t.show_rows]
    header = [{"label": c.label, "numeric": c.kind in NUMERIC_KINDS} for c in t.columns]
    body = []
    for r in shown:
        cells = []
        for c in t.columns:
            v = r.get(c.name)
            hidden = r.get(c.name + STATUS_SUFFIX) == HIDDEN
            text = SUPPRESSED_SYMBOL if hidden else _fmt_cell(v, c.kind)
            count = None
            if c.kind in COUNT_KINDS and not hidden and v is not None:
                count = f"{float(v):.0f}"
            cells.append({"text": text, "numeric": c.kind in NUMERIC_KINDS, "count": count,
                          "hidden": hidden})
        body.append(cells)
    return {"title": t.title, "header": header, "rows": body, "sort_note": t.sort_note,
            "notes": t.notes}


# --------------------------------------------------------------------------- the files


def figures_document(report: SnaReport) -> dict[str, Any]:
    """Everything figures.json holds (and the page embeds)."""
    tables = {}
    for key, t in report.tables.items():
        tables[key] = {
            "title": t.title, "section": t.section, "caption": asdict(t.caption),
            "columns": [asdict(c) for c in t.columns], "notes": t.notes,
            "disclosure": t.spec.to_dict() if (report.public and t.spec is not None) else None,
            "rows": table_rows(t.frame),
        }
    return {
        "report": {"area": report.area, "area_name": report.area_name,
                   "edition": report.edition, "to": report.to, "months": report.months,
                   "period": report.period, "generated_at": report.generated_at,
                   "main_measure": report.main_measure,
                   "disclosure_rules": report.disclosure.to_dict() if report.disclosure
                   else None},
        "tables": tables,
        "charts": {k: {"title": c.title, "table": c.table, "spec": c.spec,
                       "description": c.description} for k, c in report.charts.items()},
        "maps": {k: {"title": m.title, "table": m.table, "value": m.value, "label": m.label,
                     "kind": m.kind, "geography": m.geography,
                     "geometry": _geometry_key(m.geography), "categories": m.categories}
                 for k, m in report.maps.items()},
    }


def _fields_in(spec: Any) -> set[str]:
    out: set[str] = set()
    if isinstance(spec, Mapping):
        for k, v in spec.items():
            if k == "field" and isinstance(v, str):
                out.add(v)
            elif k == "filter" and isinstance(v, str):
                out |= set(re.findall(r"datum\.([A-Za-z_][A-Za-z0-9_]*)", v))
            else:
                out |= _fields_in(v)
    elif isinstance(spec, list):
        for v in spec:
            out |= _fields_in(v)
    return out


def embedded_document(report: SnaReport, figures: dict[str, Any]) -> dict[str, Any]:
    """figures.json as the page embeds it: each table's rows with only the columns the page
    uses (shown, mapped, charted, and those the disclosure check needs)."""
    wanted: dict[str, set[str]] = {k: {c.name for c in t.columns} | {"area_code"}
                                   for k, t in report.tables.items()}
    for c in report.charts.values():
        wanted[c.table] |= _fields_in(c.spec)
    for m in report.maps.values():
        wanted[m.table] |= {m.value, "area_code"}
    doc = dict(figures)
    tables = {}
    for key, t in figures["tables"].items():
        spec = t.get("disclosure")
        keep = set(wanted.get(key, set()))
        if spec is not None:
            keep |= set(spec["count_columns"]) | set(spec["rate_columns"])
            keep |= set(spec["derived_columns"])
            keep |= {g for grp in spec["line_groups"] for g in grp}
            keep |= {c + STATUS_SUFFIX for c in spec["count_columns"]}
        rows = [{k: v for k, v in r.items() if k in keep} for r in t["rows"]]
        tables[key] = {**t, "rows": rows}
    doc["tables"] = tables
    return doc


def _geometry_key(geography: str) -> str:
    return geography


def geometry_document(report: SnaReport) -> str:
    """The map polygons, one FeatureCollection per geography, as compact JSON text."""
    parts = []
    done: set[str] = set()
    for m in report.maps.values():
        key = _geometry_key(m.geography)
        if key in done:
            continue
        done.add(key)
        g = m.geometry
        geoms = shapely.to_geojson(g.geometry.to_numpy())
        feats = ",".join(
            '{"type":"Feature","properties":' + json.dumps(
                {"area_code": c, "area_name": n}, ensure_ascii=False) + ',"geometry":' + s + "}"
            for c, n, s in zip(g["area_code"], g["area_name"], geoms, strict=True))
        parts.append(json.dumps(key) + ':{"type":"FeatureCollection","features":[' + feats
                     + "]}")
    return "{" + ",".join(parts) + "}"


def _script_safe(text: str) -> str:
    """JSON for a <script> element: "</" written as the JSON escape "<\\/"."""
    return text.replace("</", "<\\/")


def _js_safe(text: str) -> str:
    """JavaScript for a <script> element: only "</script" needs care (in JS strings and
    regular expressions "<\\/script" means the same)."""
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.I)


def write_figures_csv(report: SnaReport, path: Path) -> None:
    caption_cols = ["caption_counts", "caption_place", "caption_period", "caption_per",
                    "caption_source"]
    columns: dict[str, None] = {"table": None}
    for t in report.tables.values():
        for c in t.frame.columns:
            columns[str(c)] = None
    for c in caption_cols:
        columns[c] = None
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns))
        w.writeheader()
        for key, t in report.tables.items():
            cap = t.caption
            extra = {"caption_counts": cap.counts, "caption_place": cap.place,
                     "caption_period": cap.period, "caption_per": cap.per,
                     "caption_source": cap.source}
            for row in table_rows(t.frame):
                w.writerow({"table": key, **{k: ("" if v is None else v)
                                             for k, v in row.items()}, **extra})


def write_geopackage(report: SnaReport, path: Path) -> list[str]:
    """One layer per map (its polygons joined to its table's rows), in EPSG:27700."""
    written = []
    if path.exists():
        path.unlink()
    for key, m in report.maps.items():
        rows = pd.DataFrame(table_rows(report.tables[m.table].frame))
        if "area_code" not in rows.columns:
            continue
        rows = rows.drop(columns=[c for c in ("area_name",) if c in rows.columns])
        gdf = m.geometry.merge(rows, on="area_code", how="left")
        for col in gdf.columns:
            if col != "geometry" and gdf[col].dtype == object:
                gdf[col] = gdf[col].map(lambda v: None if v is None else str(v))
        gpd.GeoDataFrame(gdf, geometry="geometry", crs=m.geometry.crs).to_crs(EPSG_BNG).to_file(
            path, layer=key, driver="GPKG")
        written.append(key)
    return written


def chart_specs_with_data(report: SnaReport) -> dict[str, dict[str, Any]]:
    out = {}
    for key, c in report.charts.items():
        spec = json.loads(json.dumps(c.spec))
        spec["datasets"] = {c.table: table_rows(report.tables[c.table].frame)}
        spec["title"] = c.title
        out[key] = spec
    return out


def start_svgs(specs: Mapping[str, Any], folder: Path) -> subprocess.Popen[str] | str:
    """Start rendering the specs to SVG with Node (the report's own Vega) in the
    background; a note instead when Node is not there."""
    node = shutil.which("node")
    if node is None:
        return ("Charts were not drawn as SVG: Node.js is not installed (make setup needs "
                "it). The Vega-Lite specs with their data are in charts/*.vl.json.")
    proc = subprocess.Popen(
        [node, str(HERE / "render_svg.mjs"), str(ASSET_DIR), str(folder)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(specs))
    proc.stdin.close()
    proc.stdin = None  # written and closed: communicate() must not flush it again
    return proc


def finish_svgs(job: subprocess.Popen[str] | str) -> list[str]:
    if isinstance(job, str):
        return [job]
    try:
        _out, err = job.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        job.kill()
        return ["Charts were not drawn as SVG: rendering took over 2 minutes."]
    if job.returncode != 0:
        return [f"Some charts could not be drawn as SVG: {err.strip()[:500]}"]
    return []


def render_svgs(specs: Mapping[str, Any], folder: Path) -> list[str]:
    """Render the specs to SVG with Node; notes on failure."""
    return finish_svgs(start_svgs(specs, folder))


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=jinja2.select_autoescape(["html", "j2"]), trim_blocks=False,
        lstrip_blocks=False, undefined=jinja2.StrictUndefined)


def render_html(report: SnaReport, figures: dict[str, Any]) -> str:
    from vru import __version__

    assets = load_assets()
    display = {k: _display(t, figures["tables"][k]["rows"]) for k, t in report.tables.items()}
    lead = ("What the police recorded, where and when, and who is most affected: the evidence "
            "for where to act.")
    return _environment().get_template("report.html.j2").render(
        title=f"Strategic Needs Assessment: {report.area_name}, {report.period}",
        version=__version__, css=assets.css, report_css=assets.report_css,
        js=[_js_safe(j) for j in assets.scripts], report_js=_js_safe(assets.report_js),
        area_name=report.area_name, lead=lead, public=report.public,
        edition_label="Public edition" if report.public else "Restricted edition",
        period=report.period, generated_at=report.generated_at, sections=report.sections,
        maps=report.maps, charts=report.charts, tables=report.tables, display=display,
        definitions=report.definitions, methods=report.methods,
        disclosure_rules=report.disclosure_rules_text, sources=report.sources,
        populations=report.populations, notes=report.notes,
        packages=", ".join(f"{k} {v}" for k, v in assets.packages.items()),
        figures_json=_script_safe(json.dumps(embedded_document(report, figures),
                                             ensure_ascii=False, allow_nan=False,
                                             separators=(",", ":"))),
        geometry_json=_script_safe(geometry_document(report)))


def write_report(report: SnaReport, out_dir: Path, *, check: bool = True,
                 svg: bool = True) -> ReportOutputs:
    """Write the report folder (see the module docstring); for the public edition, check
    every output and raise ``DisclosureFailure`` if any breaks the rules (the folder is then
    removed so nothing unsafe is left to publish)."""
    load_assets()  # fail early, with the message to run make setup
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    charts_dir = out_dir / "charts"
    charts_dir.mkdir(exist_ok=True)
    timings: dict[str, float] = {}
    figures = figures_document(report)
    fj = out_dir / "figures.json"
    fj.write_text(json.dumps(figures, ensure_ascii=False, allow_nan=False,
                             separators=(",", ":")) + "\n", encoding="utf-8")
    fc = out_dir / "figures.csv"
    write_figures_csv(report, fc)
    timings["figures"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    page = out_dir / "report.html"
    page.write_text(render_html(report, figures), encoding="utf-8")
    timings["html"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    specs = chart_specs_with_data(report)
    for key, spec in specs.items():
        (charts_dir / f"{key}.vl.json").write_text(json.dumps(spec, indent=1), "utf-8")
    job = start_svgs(specs, charts_dir) if (svg and specs) else None  # runs meanwhile
    gpkg: Path | None = out_dir / "layers.gpkg"
    assert gpkg is not None
    if not write_geopackage(report, gpkg):
        gpkg = None
    timings["geopackage"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    notes = finish_svgs(job) if job is not None else []
    timings["charts"] = time.perf_counter() - t1
    outputs = ReportOutputs(out_dir, page, fj, fc, gpkg,
                            sorted(charts_dir.glob("*.svg")), notes=notes, timings=timings)
    if check and report.public:
        t1 = time.perf_counter()
        problems = check_outputs(out_dir, report.disclosure or DisclosureRules())
        problems += [f"wording: {p}" for p in check_public_text(all_text(report))]
        timings["check"] = time.perf_counter() - t1
        if problems:
            shutil.rmtree(out_dir, ignore_errors=True)
            raise DisclosureFailure(problems)
    return outputs


# --------------------------------------------------------------------------- the checker


_JSON_SCRIPT = re.compile(
    r'<script type="application/json" id="([^"]+)">(.*?)</script>', re.S)
_COUNT_CELL = re.compile(r'<td[^>]*\bdata-count="([^"]*)"')


def _check_figures_doc(doc: Mapping[str, Any], rules: DisclosureRules, where: str
                       ) -> list[str]:
    problems = []
    for key, t in doc.get("tables", {}).items():
        spec = t.get("disclosure")
        if spec is not None:
            problems += [f"{where}: {p}" for p in check_published(key, t["rows"], spec, rules)]
    problems += scan_for_counts(doc, rules, where)
    return problems


def check_outputs(folder: Path, rules: DisclosureRules) -> list[str]:
    """Every breach of ``rules`` in a written public report folder (empty: none). Reads the
    files back: figures.json, figures.csv, report.html (embedded JSON and table cells),
    layers.gpkg and charts/*.vl.json."""
    folder = Path(folder)
    problems: list[str] = []
    fj = folder / "figures.json"
    if fj.is_file():
        problems += _check_figures_doc(json.loads(fj.read_text("utf-8")), rules,
                                       "figures.json")
    page = folder / "report.html"
    if page.is_file():
        text = page.read_text("utf-8")
        for name, body in _JSON_SCRIPT.findall(text):
            doc = json.loads(body.replace("<\\/", "</"))
            if name == "vru-figures":
                problems += _check_figures_doc(doc, rules, f"report.html#{name}")
            else:
                problems += scan_for_counts(doc, rules, f"report.html#{name}")
        for value in _COUNT_CELL.findall(text):
            v = html.unescape(value)
            try:
                x = float(v)
            except ValueError:
                problems.append(f"report.html: a count cell holds {v!r}")
                continue
            if not rules.allows(x):
                problems.append(f"report.html: a table shows the count {v}")
    fc = folder / "figures.csv"
    if fc.is_file():
        with fc.open(encoding="utf-8") as fh:
            rows = [{k: _csv_number(v) for k, v in r.items()} for r in csv.DictReader(fh)]
        problems += scan_for_counts(rows, rules, "figures.csv")
    gpkg = folder / "layers.gpkg"
    if gpkg.is_file():
        import pyogrio

        for layer, _kind in pyogrio.list_layers(gpkg):
            frame = pyogrio.read_dataframe(gpkg, layer=str(layer), read_geometry=False)
            problems += scan_for_counts(table_rows(pd.DataFrame(frame)), rules,
                                        f"layers.gpkg:{layer}")
    for spec_file in sorted((folder / "charts").glob("*.vl.json")):
        problems += scan_for_counts(json.loads(spec_file.read_text("utf-8")), rules,
                                    f"charts/{spec_file.name}")
    return problems


def _csv_number(v: str | None) -> Any:
    if v is None or v == "":
        return None
    try:
        return float(v)
    except ValueError:
        return v
