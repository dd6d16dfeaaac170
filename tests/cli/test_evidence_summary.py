"""`vru evidence summary`: an area's geography, population and crime, in JSON and as tables.

Hand-worked counts on small made-up datasets, and real police.uk months for London (City of
London Police) and Leicestershire checked against a count taken straight from the CSVs.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from vru.adapters.store.evidence_store import EvidenceStore, ImportRecord
from vru.interfaces.cli.main import app
from vru.services.ingest import ingest_file, reference_data

runner = CliRunner()


def summary(data_dir: Path, area: str) -> dict[str, Any]:
    result = runner.invoke(app, ["evidence", "summary", "--area", area, "--json",
                                 "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def put(store: EvidenceStore, dataset: str, table: pa.Table, name: str) -> None:
    """Store a made-up dataset as one import (what another adapter would produce)."""
    store.commit_import(ImportRecord(
        format="test", file_name=name, source=name, sha256=name, size_bytes=0,
        rows_read=table.num_rows, rows_stored=table.num_rows, rows_rejected=0), {dataset: table})


def months(year: int) -> list[str]:
    return [f"{year}-{m:02d}" for m in range(1, 13)]


def crime_counts_table() -> pa.Table:
    rows: list[tuple[str, str, str, str, int]] = []
    for p in months(2022):
        rows += [("borough", "E09000001", p, "violence_with_injury", 2),
                 ("borough", "E09000030", p, "robbery_of_personal_property", 5),
                 ("borough", "E06000016", p, "violence_with_injury", 100)]
    for p in months(2023):
        rows += [("borough", "E09000001", p, "violence_with_injury", 3),
                 ("borough", "E09000030", p, "robbery_of_personal_property", 5),
                 ("borough", "E09000030", p, "possession_of_weapons", 1),
                 ("borough", "E06000016", p, "violence_with_injury", 100)]
    rows += [("borough", "E09000030", "2022-06", "homicide", 1),
             ("borough", "E09000030", "2023-03", "homicide", 2),
             ("borough", "E09000030", "2023-03", "burglary", 40),  # not a summary measure
             ("ward", "E05009288", "2023-12", "violence_without_injury", 7),
             ("ward", "E05000026", "2023-11", "violence_without_injury", 4),
             ("lsoa", "E01000001", "2019", "violence_against_the_person", 9),  # yearly
             ("lsoa", "E01000001", "2018", "violence_against_the_person", 6)]
    cols = list(zip(*rows, strict=True))
    n = len(rows)
    names = {"E09000001": "City of London", "E09000030": "Tower Hamlets",
             "E06000016": "Leicester"}
    return pa.table({
        "geography_level": list(cols[0]), "area_code": list(cols[1]),
        "area_name": [names.get(c, c) for c in cols[1]],
        "borough_name": [names.get(c) for c in cols[1]],
        "period_type": ["year" if len(p) == 4 else "month" for p in cols[2]],
        "period": pa.array([date(int(p[:4]), int(p[5:7]) if len(p) > 4 else 1, 1)
                            for p in cols[2]], pa.date32()),
        "category_scheme": ["mps_2019"] * n, "major_category": list(cols[3]),
        "minor_category": list(cols[3]),
        "measure": list(cols[3]), "count": pa.array(cols[4], pa.int64()),
        "release_start": ["2022-01"] * n, "release_end": ["2023-12"] * n,
        "source_row": pa.array(range(2, n + 2), pa.int64())})


def population_table() -> pa.Table:
    rows = [("E09000001", "lad", "persons", "total", 8_600),
            ("E09000001", "lad", "male", "total", 4_500),
            ("E09000001", "lad", "persons", "age", 1_000),
            ("E09000002", "lad", "persons", "total", 212_000),
            ("E06000016", "lad", "persons", "total", 368_600)]
    cols = list(zip(*rows, strict=True))
    n = len(rows)
    return pa.table({
        "area_code": list(cols[0]), "area_level": list(cols[1]),
        "area_vintage": pa.array([None] * n, pa.string()), "year": [2021] * n,
        "source": ["census2021-ts007"] * n, "sex": list(cols[2]),
        "characteristic": list(cols[3]), "count": pa.array(cols[4], pa.int64())})


@pytest.fixture()
def london_store(shared_data: Path, store: EvidenceStore) -> EvidenceStore:
    ingest_file(store, "lookup",
                shared_data / "geo" / "lookups" / "london_lsoa11_msoa11_ward2018_lad2018.csv")
    return store


def test_nothing_loaded_but_geography(london_store: EvidenceStore) -> None:
    s = summary(london_store.data_dir, "london")
    assert s["area"]["name"] == "London"
    assert len(s["area"]["lads"]) == 33
    assert s["area"]["lsoas"] == {"2011": 4_835}
    assert s["area"]["wards"] == {"2018": 637}
    assert s["area"]["msoas"] == {"2011": 983}
    assert s["population"] == {"status": "not loaded"}
    assert s["crime"]["street_crime"]["status"] == "not loaded"
    assert s["crime"]["crime_counts"]["status"] == "not loaded"
    text = runner.invoke(app, ["evidence", "summary", "--area", "london", "--data-dir",
                               str(london_store.data_dir)])
    assert text.exit_code == 0
    flat = " ".join(text.stdout.split())
    assert "street_crime): not loaded" in flat and "Population: not loaded" in flat
    assert "E09000033" in flat and "Westminster" in flat


def test_no_geography_at_all(store: EvidenceStore) -> None:
    s = summary(store.data_dir, "leicestershire")
    assert not s["area"]["geography_loaded"]
    assert s["area"]["unknown_lads"] == [lad["code"] for lad in s["area"]["lads"]]
    assert "No geography is loaded" in s["area"]["notes"][0]


def test_unknown_area(store: EvidenceStore) -> None:
    result = runner.invoke(app, ["evidence", "summary", "--area", "atlantis", "--data-dir",
                                 str(store.data_dir)])
    assert result.exit_code == 2
    assert "unknown area 'atlantis'" in result.output
    assert "leicestershire, london" in result.output


def test_crime_counts_and_population_hand_worked(london_store: EvidenceStore) -> None:
    put(london_store, "crime_counts", crime_counts_table(), "counts")
    put(london_store, "population", population_table(), "population")
    s = summary(london_store.data_dir, "london")
    cc = s["crime"]["crime_counts"]
    assert cc["status"] == "loaded"
    levels = {b["geography_level"]: b for b in cc["by_geography_level"]}
    assert set(levels) == {"borough", "ward", "lsoa"}  # never added together
    (lsoa_vap,) = levels["lsoa"]["measures"]  # yearly counts compare calendar years
    assert levels["lsoa"]["windows"]["latest"] == {"start": "2019", "end": "2019"}
    assert (lsoa_vap["latest"], lsoa_vap["previous"], lsoa_vap["change_pct"]) == (9, 6, 50.0)
    borough = levels["borough"]
    assert borough["areas"] == 2  # E09000001 and E09000030; not Leicester
    assert borough["windows"] == {"latest": {"start": "2023-01", "end": "2023-12"},
                                  "previous": {"start": "2022-01", "end": "2022-12"}}
    got = {m["measure"]: m for m in borough["measures"]}
    assert list(got) == ["violence_against_the_person", "possession_of_weapons", "robbery",
                         "homicide"]
    vap = got["violence_against_the_person"]
    # 3 x 12 injuries + 2 homicides against 2 x 12 + 1: homicide is violence against the person.
    assert (vap["latest"], vap["previous"], vap["change"], vap["change_pct"]) == (
        38, 25, 13, 52.0)
    assert vap["includes"] == ["homicide", "violence_with_injury"]
    assert (got["robbery"]["latest"], got["robbery"]["previous"]) == (60, 60)
    assert got["robbery"]["change_pct"] == 0.0
    weapons = got["possession_of_weapons"]
    assert (weapons["latest"], weapons["previous"], weapons["change_pct"]) == (12, 0, None)
    assert (got["homicide"]["latest"], got["homicide"]["previous"]) == (2, 1)
    assert all(m["comparable"] for m in got.values())
    ward = levels["ward"]
    assert ward["windows"]["latest"] == {"start": "2023-01", "end": "2023-12"}
    (wvap,) = ward["measures"]
    # Only 2 months of ward data: no percentage, and not comparable.
    assert (wvap["latest"], wvap["previous"], wvap["latest_months"]) == (11, 0, 2)
    assert not wvap["comparable"] and wvap["change_pct"] is None
    pop = s["population"]
    assert pop["status"] == "loaded"
    assert pop["totals"] == [{"source": "census2021-ts007", "area_level": "lad",
                              "area_vintage": None, "year": 2021, "population": 220_600,
                              "areas": 2, "areas_in_area": 33}]
    leics = summary(london_store.data_dir, "leicestershire")
    (lb,) = leics["crime"]["crime_counts"]["by_geography_level"]
    assert lb["measures"][0]["latest"] == lb["measures"][0]["previous"] == 1_200
    assert leics["population"]["totals"][0]["population"] == 368_600
    text = runner.invoke(app, ["evidence", "summary", "--area", "london", "--data-dir",
                               str(london_store.data_dir)])
    flat = " ".join(text.stdout.split())
    assert "borough counts (2 areas)" in flat and "+13 +52.0%" in flat
    assert "220,600" in flat


def test_crime_counts_without_the_needed_columns(london_store: EvidenceStore) -> None:
    put(london_store, "crime_counts", pa.table({"area_code": ["E09000001"], "n": [1]}), "odd")
    s = summary(london_store.data_dir, "london")
    assert s["crime"]["crime_counts"]["status"].startswith(
        "loaded, but without the columns this summary needs (geography_level, period, measure")


# -- real police.uk months ----------------------------------------------------------------

POLICE_UK_TYPES = {"violence_and_sexual_offences": "Violence and sexual offences",
                   "possession_of_weapons": "Possession of weapons", "robbery": "Robbery"}


@pytest.fixture(scope="module")
def real_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory
               ) -> tuple[EvidenceStore, list[Path]]:
    """England and Wales LSOA lookup, the last 24 City of London months (to 2020-11) and
    the last 24 Leicestershire months (to 2022-10)."""
    store = EvidenceStore(tmp_path_factory.mktemp("real") / "data")
    ingest_file(store, "lookup",
                shared_data / "geo" / "lookups" / "ons_lsoa11_to_ward2018_to_lad2018_ew.csv")
    ref = reference_data(store)
    root = shared_data / "crime" / "police_uk"
    files = (sorted(root.glob("*/*-city-of-london-street.csv"))[-24:]
             + sorted(root.glob("*/*-leicestershire-street.csv"))[-24:])
    for f in files:
        ingest_file(store, "police-uk-street", f, ref=ref)
    return store, files


def lsoas_of(shared_data: Path, lads: set[str]) -> set[str]:
    path = shared_data / "geo" / "lookups" / "ons_lsoa11_to_ward2018_to_lad2018_ew.csv"
    with open(path, encoding="utf-8") as fh:
        return {r["LSOA11CD"] for r in csv.DictReader(fh) if r["LAD18CD"] in lads}


def count_in_csvs(files: list[Path], lsoas: set[str], first: str, last: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for f in files:
        with open(f, encoding="utf-8-sig") as fh:
            for r in csv.DictReader(fh):
                if r["LSOA code"] in lsoas and first <= r["Month"] <= last:
                    counts[r["Crime type"]] += 1
    return counts


@pytest.mark.slow
@pytest.mark.parametrize(("area", "latest", "previous"), [
    ("london", ("2019-12", "2020-11"), ("2018-12", "2019-11")),
    ("leicestershire", ("2021-11", "2022-10"), ("2020-11", "2021-10")),
])
def test_real_street_crime_matches_the_csvs(
        shared_data: Path, real_store: tuple[EvidenceStore, list[Path]], area: str,
        latest: tuple[str, str], previous: tuple[str, str]) -> None:
    store, files = real_store
    s = summary(store.data_dir, area)
    sc = s["crime"]["street_crime"]
    assert sc["status"] == "loaded"
    assert sc["windows"] == {"latest": {"start": latest[0], "end": latest[1]},
                             "previous": {"start": previous[0], "end": previous[1]}}
    lads = {lad["code"] for lad in s["area"]["lads"]}
    lsoas = lsoas_of(shared_data, lads)
    assert s["area"]["lsoas"]["2011"] == len(lsoas)
    want_latest = count_in_csvs(files, lsoas, *latest)
    want_previous = count_in_csvs(files, lsoas, *previous)
    got = {m["measure"]: m for m in sc["measures"]}
    assert set(got) == set(POLICE_UK_TYPES)  # no homicide in police.uk
    for measure, crime_type in POLICE_UK_TYPES.items():
        assert got[measure]["latest"] == want_latest[crime_type], measure
        assert got[measure]["previous"] == want_previous[crime_type], measure
        assert got[measure]["comparable"]
    assert got["violence_and_sexual_offences"]["latest"] > 0


@pytest.mark.slow
def test_other_forces_rows_do_not_move_the_window(
        real_store: tuple[EvidenceStore, list[Path]]) -> None:
    store, _files = real_store
    s = summary(store.data_dir, "london")
    notes = " ".join(s["crime"]["street_crime"]["notes"])
    # A few Leicestershire Police rows are placed in London LSOAs after 2020-11.
    assert "the periods end with the area's own forces' latest month, 2020-11" in notes
    assert "have no location" in notes
