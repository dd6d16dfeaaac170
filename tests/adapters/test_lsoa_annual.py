"""MPS annual counts per 2011 LSOA, one file per category: the 12 real files and bad ones."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from vru.adapters.sources.base import ReferenceData
from vru.adapters.sources.lsoa_annual import LsoaAnnual
from vru.adapters.store.evidence_store import EvidenceStore
from vru.domain.problems import InputError
from vru.services.ingest import ingest_file

FOLDER = "geo/crime"

# file-name category -> (measure, included_in)
CATEGORIES = {
    "major-arson": ("arson_and_criminal_damage", None),
    "major-burglary": ("burglary", None),
    "major-drugs": ("drug_offences", None),
    "major-misc": ("miscellaneous_crimes_against_society", None),
    "major-public-order": ("public_order_offences", None),
    "major-robbery": ("robbery", None),
    "major-theft-all": ("theft", None),
    "major-vehicle-offences": ("vehicle_offences", None),
    "major-violence": ("violence_against_the_person", None),
    "major-weapons": ("possession_of_weapons", None),
    "minor-theft-bicycle": ("bicycle_theft", "theft"),
    "minor-theft-vehicle": ("theft_of_a_vehicle", "vehicle_offences"),
}

HEADER = "LSOA11CD,LSOA11NM,MSOA11CD,MSOA11NM,LAD11CD,LAD11NM,2011,2012"
ROW_A = "E01000006,Barking and Dagenham 016A,E02000017,Barking and Dagenham 016,E09000002," \
        "Barking and Dagenham"
ROW_B = "E01000007,Barking and Dagenham 015A,E02000016,Barking and Dagenham 015,E09000002," \
        "Barking and Dagenham"


def independent_read(path: Path) -> tuple[int, dict[str, int]]:
    """Data rows and the total per year column, read with ``csv``."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        years = [c for c in reader.fieldnames or [] if c.isdigit()]
        totals = dict.fromkeys(years, 0.0)
        rows = 0
        for row in reader:
            rows += 1
            for y in years:
                totals[y] += float(row[y])
    return rows, {y: round(t) for y, t in totals.items()}


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("category", list(CATEGORIES))
def test_real_file_is_stored_whole_with_matching_totals(
        shared_data: Path, store: EvidenceStore, category: str) -> None:
    path = shared_data / FOLDER / f"mps_london-2011-2021-{category}.csv"
    rows, totals = independent_read(path)
    assert rows == 4829

    result = ingest_file(store, "lsoa-annual", path)

    assert result.rows_read == rows
    assert result.rows_stored + result.rows_rejected == result.rows_read
    assert result.rows_rejected == 0
    assert result.records == {"crime_counts": rows * 11}
    measure, included_in = CATEGORIES[category]
    assert (result.meta["measure"], result.meta["included_in"]) == (measure, included_in)
    con = store.connect()
    try:
        by_year = dict(con.execute(
            "SELECT CAST(year(period) AS VARCHAR), sum(count) FROM crime_counts "
            "GROUP BY 1").fetchall())
        fixed = con.execute("""
            SELECT DISTINCT geography_level, area_vintage, period_type, category_scheme,
                   measure, included_in, release_start, release_end
            FROM crime_counts""").fetchall()
        lsoas = con.execute("SELECT count(DISTINCT area_code) FROM crime_counts").fetchone()
    finally:
        con.close()
    assert by_year == totals
    assert fixed == [("lsoa", "2011", "year", "mps_lsoa_file", measure, included_in,
                      "2011-01", "2021-12")]
    assert lsoas == (4829,)


def test_london_violence_totals_match_sources(shared_data: Path) -> None:
    """SOURCES.md: violence against the person in London, 2019 = 217,874; 2020 = 247,802."""
    parsed = LsoaAnnual().parse(
        shared_data / FOLDER / "mps_london-2011-2021-major-violence.csv", ReferenceData())
    con = duckdb.connect()
    con.register("t", parsed.tables["crime_counts"])
    totals = dict(con.execute(
        "SELECT year(period), sum(count) FROM t WHERE measure = 'violence_against_the_person' "
        "AND year(period) IN (2019, 2020) GROUP BY 1").fetchall())
    assert totals == {2019: 217_874, 2020: 247_802}


def test_minor_file_is_marked_as_part_of_its_major(shared_data: Path) -> None:
    parsed = LsoaAnnual().parse(
        shared_data / FOLDER / "mps_london-2011-2021-minor-theft-vehicle.csv", ReferenceData())
    first = parsed.tables["crime_counts"].slice(0, 1).to_pylist()[0]
    assert first["major_category"] == "vehicle-offences"
    assert first["minor_category"] == "theft-vehicle"
    assert first["included_in"] == "vehicle_offences"
    assert first["period"].isoformat() == "2011-01-01"
    assert (first["area_code"], first["borough_name"], first["count"]) == (
        "E01000006", "Barking and Dagenham", 13)


@pytest.mark.parametrize("name,fragment", [
    ("crime.csv", "does not name an offence category"),
    ("mps_london-2011-2021.csv", "does not name an offence category"),
    ("mps_london-2011-2021-major-sexual.csv", "names the category 'sexual'"),
])
def test_file_name_without_a_category_is_refused(
        tmp_path: Path, name: str, fragment: str) -> None:
    path = write(tmp_path / name, [HEADER, f"{ROW_A},9.0,5.0"])
    with pytest.raises(InputError) as exc:
        ingest_file(EvidenceStore(tmp_path / "data"), "lsoa-annual", path)
    (problem,) = exc.value.problems
    assert (problem.file, problem.row, problem.column) == (name, None, None)
    assert fragment in problem.message
    assert "-major-<category>.csv" in problem.action and "theft-vehicle" in problem.action
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("value,fragment", [
    ("13.5", "is not a count"),
    ("-1.0", "is not a count"),
    ("n/a", "is not a number"),
])
def test_bad_value_is_located(tmp_path: Path, value: str, fragment: str) -> None:
    path = write(tmp_path / "x-major-robbery.csv", [
        HEADER, f"{ROW_A},9.0,5.0", f"{ROW_B},{value},17.0"])
    with pytest.raises(InputError) as exc:
        ingest_file(EvidenceStore(tmp_path / "data"), "lsoa-annual", path)
    (problem,) = exc.value.problems
    assert (problem.row, problem.column, problem.value) == (3, "2011", value)
    assert fragment in problem.message


def test_codes_checked_against_loaded_lsoas(tmp_path: Path) -> None:
    path = write(tmp_path / "x-major-robbery.csv", [
        HEADER, f"{ROW_A},9.0,5.0", f"{ROW_B},1.0,2.0", f"{ROW_A},1.0,1.0"])
    ref = ReferenceData(area_codes={("lsoa", "2011"): frozenset({"E01000006"})})
    parsed = LsoaAnnual().parse(path, ref)
    located = [(p.row, p.column, p.message) for p in parsed.problems]
    assert located == [
        (3, "LSOA11CD", "is not a known 2011 LSOA code"),
        (4, "LSOA11CD", "repeats an LSOA of an earlier row, so its offences would be counted "
                        "twice"),
    ]
    assert parsed.meta["lsoa_codes_checked"] == "against the loaded 2011 LSOA list"
    assert parsed.rows_stored == 1
    without = LsoaAnnual().parse(path, ReferenceData())
    assert [p.row for p in without.problems] == [4]
    assert "pattern only" in without.meta["lsoa_codes_checked"]


def test_bad_year_column_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "x-major-robbery.csv", [
        "LSOA11CD,LSOA11NM,MSOA11CD,MSOA11NM,LAD11CD,LAD11NM,2011,1850,Total",
        f"{ROW_A},9.0,5.0,14.0"])
    with pytest.raises(InputError) as exc:
        LsoaAnnual().parse(path, ReferenceData())
    assert [(p.row, p.column) for p in exc.value.problems] == [(1, "1850"), (1, "Total")]
