"""The Strategic Needs Assessment report on the real data: its files, captions, the public
edition's disclosure control checked on every output, readability, the same shape for
Leicestershire, the browser (Debian chromium: console, maps, charts, axe-core) and the CLI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vru.adapters.store.evidence_store import EvidenceStore
from vru.domain.disclosure import DisclosureRules
from vru.domain.plain_language import (
    PUBLIC_MIN_READING_EASE,
    check_public_text,
    flesch_reading_ease,
)
from vru.interfaces.cli.main import app
from vru.interfaces.report import assets as report_assets
from vru.interfaces.report.builder import check_outputs
from vru.services.sna_report import all_text

from .conftest import Built

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SECTIONS = ["headline", "trends", "borough", "ward", "lsoa", "hotspots", "concentration",
            "deprivation", "disproportionality", "timing", "transport", "priority"]


@pytest.mark.slow
def test_the_report_folder_has_every_output(london_reports: dict[str, Built]) -> None:
    for built in london_reports.values():
        o = built.outputs
        assert o.html.stat().st_size > 100_000
        assert o.figures_json.is_file() and o.figures_csv.is_file()
        assert o.geopackage is not None and o.geopackage.is_file()
        assert {p.stem for p in o.charts} >= {"trend_monthly", "borough_rates", "lorenz"}
        html = o.html.read_text("utf-8")
        # self-contained: no external scripts, styles, fonts or images
        assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', html)
        assert "url(/assets" not in html and "url(http" not in html


@pytest.mark.slow
def test_every_section_and_the_maps_are_there(london_reports: dict[str, Built]) -> None:
    r = london_reports["restricted"].report
    assert [s.id for s in r.sections] == SECTIONS
    assert {"borough_rate", "ward_rate", "lsoa_rate", "hotspots_gi", "hotspots_ehsa"} <= set(
        r.maps)
    assert len(r.maps["borough_rate"].geometry) >= 32
    assert len(r.maps["lsoa_rate"].geometry) > 4000
    for s in r.sections:
        assert s.tables or s.unavailable, s.id


@pytest.mark.slow
def test_every_table_says_what_where_when_per_what_and_from_where(
        london_reports: dict[str, Built]) -> None:
    doc = json.loads(london_reports["restricted"].outputs.figures_json.read_text("utf-8"))
    html = london_reports["restricted"].outputs.html.read_text("utf-8")
    for key, t in doc["tables"].items():
        cap = t["caption"]
        for field in ("counts", "place", "period", "per", "source"):
            assert cap[field], (key, field)
        assert f'id="{cap["definition"]}"' in html, (key, cap["definition"])
        assert f'id="{cap["method"]}"' in html, (key, cap["method"])


@pytest.mark.slow
def test_restricted_and_public_figures_agree_where_shown(london_reports: dict[str, Built]
                                                         ) -> None:
    res = london_reports["restricted"].report.tables["borough_figures"].frame
    pub = london_reports["public"].report.tables["borough_figures"].frame
    merged = pub.merge(res[["area_code", "count"]], on="area_code", suffixes=("", "_true"))
    shown = merged["count"].notna()
    assert shown.any()
    assert (merged.loc[shown, "count"] == merged.loc[shown, "count_true"]).all()


@pytest.mark.slow
def test_public_edition_passes_the_checks_of_every_output(london_reports: dict[str, Built]
                                                          ) -> None:
    built = london_reports["public"]
    assert check_outputs(built.outputs.folder, DisclosureRules()) == []
    # ward and LSOA tables do hide small counts (and secondary cells) in the public edition
    statuses = built.report.tables["lsoa_figures"].frame["count_status"]
    assert (statuses == "suppressed").any()
    # group figures only where they pass: nothing by ethnicity at borough level
    for key in ("homicide_by_ethnicity", "homicide_by_sex"):
        if key in built.report.tables:
            levels = set(built.report.tables[key].frame["level"])
            assert levels <= {"region"} or levels <= {"borough"}


@pytest.mark.slow
def test_the_checker_catches_a_leak_written_into_the_public_files(
        london_reports: dict[str, Built], tmp_path: Path) -> None:
    copy = tmp_path / "leaky"
    shutil.copytree(london_reports["public"].outputs.folder, copy)
    doc = json.loads((copy / "figures.json").read_text("utf-8"))
    rows = doc["tables"]["lsoa_figures"]["rows"]
    hidden = next(r for r in rows if r["count_status"] == "suppressed")
    hidden["count"], hidden["count_status"] = 4, ""
    (copy / "figures.json").write_text(json.dumps(doc), "utf-8")
    html = (copy / "report.html").read_text("utf-8")
    (copy / "report.html").write_text(
        html.replace('data-count="', 'data-count="3" data-x="', 1), "utf-8")
    problems = check_outputs(copy, DisclosureRules())
    assert any(p.startswith("figures.json") for p in problems)
    assert any(p.startswith("report.html: a table shows the count 3") for p in problems)


@pytest.mark.slow
def test_public_text_is_plain_and_readable(london_reports: dict[str, Built],
                                           leicestershire_public: Built) -> None:
    for built in (london_reports["public"], leicestershire_public):
        text = all_text(built.report)
        assert flesch_reading_ease(text) >= PUBLIC_MIN_READING_EASE
        assert check_public_text(text) == []


@pytest.mark.slow
def test_leicestershire_report_has_the_same_shape(leicestershire_public: Built,
                                                  london_reports: dict[str, Built]) -> None:
    r = leicestershire_public.report
    assert [s.id for s in r.sections] == SECTIONS
    assert "borough_figures" in r.tables and "lsoa_figures" in r.tables
    assert r.tables["hotspots"].frame.shape[0] > 100  # grid cells over police.uk points
    ward = next(s for s in r.sections if s.id == "ward")
    assert ward.unavailable and not ward.tables
    assert check_outputs(leicestershire_public.outputs.folder, DisclosureRules()) == []


def _browser(report: Path, shot: Path) -> dict[str, object]:
    node = shutil.which("node")
    assert node is not None, "Node.js is needed for the browser test (make setup)"
    assert Path("/usr/bin/chromium").exists(), "install Debian's chromium (.ci/browser.sh)"
    proc = subprocess.run([node, str(HERE / "browser_check.mjs"), str(report), str(shot)],
                          capture_output=True, text=True, timeout=300, cwd=REPO, check=False)
    assert proc.stdout, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    assert proc.returncode == 0, json.dumps(result, indent=1)[:4000]
    return result


@pytest.mark.slow
@pytest.mark.parametrize("edition", ["restricted", "public"])
def test_each_edition_renders_in_chromium_without_errors(
        london_reports: dict[str, Built], edition: str) -> None:
    shots = REPO / "out" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    result = _browser(london_reports[edition].outputs.html, shots / f"london-{edition}.png")
    assert result["console_errors"] == [] and result["page_errors"] == []
    maps = result["maps"]
    assert isinstance(maps, list) and len(maps) >= 5
    assert all(m["canvas"] and m["coloured_samples"] > 0 for m in maps)
    charts = result["charts"]
    assert isinstance(charts, list) and all(c["svg"] and c["marks"] > 0 for c in charts)
    assert not [v for v in result["axe"] if v["impact"] in ("serious", "critical")]  # type: ignore[attr-defined,index]
    assert (shots / f"london-{edition}.png").stat().st_size > 10_000


@pytest.mark.slow
def test_leicestershire_renders_in_chromium(leicestershire_public: Built) -> None:
    shots = REPO / "out" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    _browser(leicestershire_public.outputs.html, shots / "leicestershire-public.png")


def test_sna_refuses_with_make_setup_when_assets_are_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_assets, "ASSET_DIR", tmp_path / "no-assets")
    result = CliRunner().invoke(app, ["sna", "--out", str(tmp_path / "out"), "--data-dir",
                                      str(tmp_path / "data")])
    assert result.exit_code == 2
    assert "make setup" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_cli_writes_both_editions(report_store: EvidenceStore, tmp_path: Path) -> None:
    data_dir = report_store.data_dir
    result = CliRunner().invoke(app, ["sna", "--area", "leicestershire", "--edition", "both",
                                      "--no-fetch", "--out", str(tmp_path / "out"),
                                      "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "public" / "report.html").is_file()
    assert (tmp_path / "out" / "restricted" / "figures.csv").is_file()
    assert "report.html" in result.output
