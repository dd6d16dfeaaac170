"""The SYNTHETIC demo: reproducible, clearly labelled, imported through the real adapter."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vru.adapters.sources.checks import ENGLAND_WALES_BOUNDS
from vru.adapters.sources.police_uk_street import COLUMNS
from vru.adapters.store.evidence_store import EvidenceStore
from vru.interfaces.cli.main import app
from vru.services.demo import FORCE, LABEL, generate_demo_files, run_demo
from vru.services.ingest import ingest_file


def digests(files: list[Path]) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in files]


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    a = generate_demo_files(tmp_path / "a", seed=7, months=3)
    b = generate_demo_files(tmp_path / "b", seed=7, months=3)
    c = generate_demo_files(tmp_path / "c", seed=8, months=3)
    assert digests(a) == digests(b)
    assert digests(a) != digests(c)


def test_files_are_police_uk_format_and_labelled_synthetic(tmp_path: Path) -> None:
    files = generate_demo_files(tmp_path, months=2, start="2023-11")
    assert [p.name for p in files] == [f"2023-11-{FORCE}-street.csv",
                                       f"2023-12-{FORCE}-street.csv"]
    for p in tmp_path.rglob("*"):
        assert LABEL in str(p.relative_to(tmp_path)), p
    lon0, lat0, lon1, lat1 = ENGLAND_WALES_BOUNDS
    for p in files:
        with open(p, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == COLUMNS
        for r in rows[1:]:
            rec = dict(zip(COLUMNS, r, strict=True))
            assert rec["Month"] == p.name[:7]
            assert LABEL in rec["Reported by"] and LABEL in rec["Falls within"]
            if rec["Crime type"] == "Anti-social behaviour":
                assert rec["Crime ID"] == ""
            else:
                assert len(rec["Crime ID"]) == 64
            if rec["Longitude"]:
                # Codes of the LSOA form, far beyond any ONS has issued; points at sea.
                assert rec["LSOA code"].startswith("E01999") and LABEL in rec["LSOA name"]
                lon, lat = float(rec["Longitude"]), float(rec["Latitude"])
                assert lon0 <= lon <= lon1 and lat0 <= lat <= lat1
                assert -6.5 < lon < -5.9 and 50.8 < lat < 51.2  # the Celtic Sea
            else:
                assert rec["LSOA code"] == "" and rec["Location"] == "No Location"


def test_run_demo_imports_through_the_adapter_and_says_synthetic(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "store")
    result = run_demo(store, tmp_path / "out", months=13)
    assert result.ok and len(result.files) == 13
    rows = sum(len(p.read_text("utf-8").splitlines()) - 1 for p in result.files)
    imports = store.imports()
    assert len(imports) == 13 and {i["format"] for i in imports} == {"police-uk-street"}
    assert sum(i["rows_stored"] for i in imports) == rows
    assert all(LABEL in i["file_name"] for i in imports)
    forces = store.connect().execute("SELECT DISTINCT force FROM street_crime").fetchall()
    assert forces == [(FORCE,)]
    assert result.lines and all(LABEL in line for line in result.lines)
    assert any("most violence" in line for line in result.lines)
    again = run_demo(store, tmp_path / "out", months=13)
    assert {o.result.status for o in again.outcomes if o.result} == {"already imported"}
    assert len(store.imports()) == 13


def test_demo_refuses_a_store_with_real_data(shared_data: Path, tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "store")
    real = tmp_path / "2018-01-city-of-london-street.csv"
    shutil.copy(shared_data / "crime/police_uk/2018-01" / real.name, real)
    ingest_file(store, "police-uk-street", real)
    with pytest.raises(ValueError, match="real data"):
        run_demo(store, tmp_path / "out", months=1)
    assert len(store.imports()) == 1
    assert not (tmp_path / "out").exists()


def test_vru_demo_prints_synthetic_on_every_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo"), "--months", "4"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) > 5 and all(LABEL in line for line in lines)
    store = EvidenceStore(tmp_path / "demo" / f"data-{LABEL}")
    assert len(store.imports()) == 4
