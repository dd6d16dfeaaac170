"""The front-end assets the report inlines (GOV.UK Frontend, Leaflet, Vega, Vega-Lite,
Vega-Embed), built from the pinned npm packages by ``make setup`` (``npm ci`` then
``scripts/build-assets.mjs``) into ``assets/`` beside this module."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ASSET_DIR = Path(__file__).resolve().parent / "assets"
HERE = Path(__file__).resolve().parent
STYLESHEETS: tuple[str, ...] = ("govuk-frontend.css", "leaflet.css")
SCRIPTS: tuple[str, ...] = ("leaflet.js", "vega.min.js", "vega-lite.min.js",
                            "vega-embed.min.js")


class AssetsMissing(RuntimeError):
    """The built front-end assets are not there; the message says how to build them."""


@dataclass(frozen=True)
class Assets:
    css: str
    js: str
    scripts: tuple[str, ...]
    report_css: str
    report_js: str
    packages: dict[str, str]


def missing_assets(folder: Path | None = None) -> list[str]:
    folder = ASSET_DIR if folder is None else folder
    return [n for n in (*STYLESHEETS, *SCRIPTS, "manifest.json") if not (folder / n).is_file()]


def load_assets(folder: Path | None = None) -> Assets:
    """Every asset's text; ``AssetsMissing`` (telling the user to run ``make setup``) when
    any is missing."""
    folder = ASSET_DIR if folder is None else folder
    missing = missing_assets(folder)
    if missing:
        raise AssetsMissing(
            "the report's front-end assets are not built (missing: " + ", ".join(missing)
            + f", in {folder}). Run `make setup` in the vru repository (it runs `npm ci` and "
            "`node scripts/build-assets.mjs`), then run vru sna again.")
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    css = "\n".join((folder / n).read_text("utf-8") for n in STYLESHEETS)
    scripts = tuple((folder / n).read_text("utf-8") for n in SCRIPTS)
    return Assets(css=css, js="\n;\n".join(scripts), scripts=scripts,
                  report_css=(HERE / "report.css").read_text("utf-8"),
                  report_js=(HERE / "report.js").read_text("utf-8"),
                  packages=dict(manifest.get("packages", {})))
