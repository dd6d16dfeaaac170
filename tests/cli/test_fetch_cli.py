"""`vru data fetch` and `vru data catalogue` from the command line."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vru.adapters.store.evidence_store import EvidenceStore
from vru.interfaces.cli import fetch_commands
from vru.interfaces.cli.main import app
from vru.services.fetch import Catalogue, Series, load_catalogue

runner = CliRunner()
LEICS = "crime/police_uk/{m}/{m}-leicestershire-street.csv"


@pytest.fixture()
def two_months(monkeypatch: pytest.MonkeyPatch) -> Catalogue:
    """The CLI sees a catalogue cut to two months of Leicestershire street files."""
    cat = load_catalogue()
    street = cat.datasets["police-uk-street"]
    small = replace(cat, datasets={"police-uk-street": replace(
        street, series=(Series("leicestershire", "2020-01", "2020-02", "2022-10"),))})
    monkeypatch.setattr(fetch_commands, "load_catalogue", lambda: small)
    return small


def test_catalogue_lists_datasets_files_urls_and_licences() -> None:
    result = runner.invoke(app, ["data", "catalogue", "--area", "leicestershire"])
    assert result.exit_code == 0, result.output
    out = result.output
    for text in ("lookups", "police-uk-street", "Open Government Licence v3.0",
                 "https://data.police.uk/data/archive/2022-10.zip",
                 "YYYY-MM-leicestershire-street.csv", "census2021-ts007a-lsoa.csv",
                 "https://www.nomisweb.co.uk/output/census/2021/census2021-ts007a.zip"):
        assert text in out, text
    assert "boundaries" not in out and "metropolitan" not in out  # London's only


def test_catalogue_json_covers_every_area() -> None:
    result = runner.invoke(app, ["data", "catalogue", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["dataset"] for r in rows][:2] == ["lookups", "boundaries"]
    street = next(r for r in rows if r["dataset"] == "police-uk-street")
    assert {s["force"] for s in street["series"]} == {"city-of-london", "metropolitan",
                                                      "leicestershire"}
    assert all(r["licence"] for r in rows)


def test_fetch_from_a_mirror_then_again(shared_data: Path, tmp_path: Path,
                                        two_months: Catalogue) -> None:
    args = ["data", "fetch", "police-uk-street", "--area", "leicestershire",
            "--mirror", str(shared_data), "--data-dir", str(tmp_path / "data")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "imported" in result.output and "16,709" in result.output  # 8,852 + 7,857
    assert len(EvidenceStore(tmp_path / "data").imports()) == 2
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "2 already imported" in again.output
    as_json = runner.invoke(app, [*args, "--json"])
    assert {r["status"] for r in json.loads(as_json.output)["results"]} == {"already imported"}


def test_fetch_exits_non_zero_when_a_file_fails_but_imports_the_rest(
        shared_data: Path, tmp_path: Path, two_months: Catalogue) -> None:
    mirror = tmp_path / "mirror"
    for m in ("2020-01", "2020-02"):
        dest = mirror / LEICS.format(m=m)
        dest.parent.mkdir(parents=True)
        shutil.copy(shared_data / LEICS.format(m=m), dest)
    with open(mirror / LEICS.format(m="2020-02"), "ab") as fh:
        fh.write(b"truncated,row\n")
    result = runner.invoke(app, ["data", "fetch", "--area", "leicestershire", "--mirror",
                                 str(mirror), "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 1
    assert "failed" in result.output and "2020-02-leicestershire-street.csv" in result.output
    assert [i["file_name"] for i in EvidenceStore(tmp_path / "data").imports()] == [
        "2020-01-leicestershire-street.csv"]


def test_fetch_reports_files_missing_from_the_mirror(shared_data: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    cat = load_catalogue()
    street = cat.datasets["police-uk-street"]
    small = replace(cat, datasets={"police-uk-street": replace(
        street, series=(Series("metropolitan", "2018-01", "2018-03", "2020-11"),))})
    monkeypatch.setattr(fetch_commands, "load_catalogue", lambda: small)
    result = runner.invoke(app, ["data", "fetch", "--area", "london", "--mirror",
                                 str(shared_data), "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert "not in mirror" in result.output and "3 files" in result.output


@pytest.mark.parametrize("args, message", [
    (["--area", "atlantis"], "unknown area"),
    (["no-such-dataset"], "unknown dataset"),
    (["--mirror", "/no/such/folder"], "does not exist"),
])
def test_fetch_refuses_bad_arguments(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["data", "fetch", *args, "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "d").exists()
