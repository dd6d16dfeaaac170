"""vru rounds demo: a whole SYNTHETIC round on the real London evidence (loaded from the
shared mirror), written as 360Giving JSON and spreadsheet that pass the schema and the
quality checks; the same seed gives the same awards."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vru.adapters import threesixtygiving as tsg
from vru.services.commissioning import DemoResult, run_round_demo


@pytest.fixture(scope="module")
def evidence_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reuse = os.environ.get("VRU_PLACES_TEST_DATA_DIR")
    return Path(reuse) / "rounds-demo" if reuse else \
        tmp_path_factory.mktemp("rounds-demo") / "data"


@pytest.fixture(scope="module")
def demo(shared_data: Path, evidence_dir: Path, tmp_path_factory: pytest.TempPathFactory
         ) -> DemoResult:
    out = tmp_path_factory.mktemp("demo-out")
    return run_round_demo(out, data_dir=evidence_dir, mirror=shared_data,
                          base_url="https://vru.example.org")


def test_the_demo_runs_end_to_end(demo: DemoResult) -> None:
    assert demo.ok, "\n".join(demo.lines)
    text = "\n".join(demo.lines)
    for step in ("Priority places", "imported from applications-SYNTHETIC.csv",
                 "went to moderation", "re-run gives the same awards: yes",
                 "schema valid; quality checks passed"):
        assert step in text


def test_its_files_are_valid_and_clearly_synthetic(demo: DemoResult) -> None:
    assert demo.json_path is not None and demo.spreadsheet_path is not None
    for path in (demo.json_path, demo.spreadsheet_path):
        assert "SYNTHETIC" in path.name
        checked = tsg.check_file(path)
        assert checked.ok, [str(p) for p in checked.schema_problems] + checked.quality.lines()
    package = json.loads(demo.json_path.read_text("utf-8"))
    assert "SYNTHETIC" in package["title"] and "SYNTHETIC" in package["description"]
    grants = package["grants"]
    assert grants and sum(g["amountAwarded"] for g in grants) <= 1_000_000
    for g in grants:
        assert g["title"].startswith("SYNTHETIC")
        assert "SYNTHETIC" in g["recipientOrganization"][0]["name"]
        assert "SYNTHETIC" in g["fundingOrganization"][0]["name"]
        number = int(g["recipientOrganization"][0]["charityNumber"])
        assert number > 9_999_000  # beyond any charity number issued
        [place] = g["beneficiaryLocation"]
        assert place["geoCode"].startswith("E09") and place["geoCodeType"] == "LONB"
    out = demo.json_path.parent
    allocation = json.loads(next(out.glob("allocation-SYNTHETIC-*.json")).read_text("utf-8"))
    assert len(allocation["result"]["decisions"]) > len(grants)
    assert all(d["reason"] for d in allocation["result"]["decisions"])


def test_the_same_seed_gives_the_same_awards(demo: DemoResult, evidence_dir: Path,
                                             shared_data: Path, tmp_path: Path) -> None:
    again = run_round_demo(tmp_path / "again", data_dir=evidence_dir, mirror=shared_data,
                           base_url="https://vru.example.org")
    assert again.ok
    first = demo.json_path.parent  # type: ignore[union-attr]
    a = json.loads(next(first.glob("allocation-*.json")).read_text("utf-8"))
    b = json.loads(next((tmp_path / "again").glob("allocation-*.json")).read_text("utf-8"))
    assert a["result_sha256"] == b["result_sha256"]
    assert a["inputs_sha256"] == b["inputs_sha256"]


def test_the_demo_command(evidence_dir: Path, shared_data: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vru.interfaces.cli.main import app

    out = tmp_path / "cli-demo"
    result = CliRunner().invoke(app, ["rounds", "demo", "--out", str(out), "--data-dir",
                                      str(evidence_dir), "--mirror", str(shared_data)])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC funding round demonstration" in result.output
    assert sorted(p.suffix for p in out.glob("360giving-SYNTHETIC-*")) == [".json", ".xlsx"]
