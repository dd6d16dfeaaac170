"""MPS borough and ward monthly counts: the real London Datastore files and hand-made bad ones.

Every figure is checked against an independent reading of the file with the ``csv`` module.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from vru.adapters.sources.base import ReferenceData
from vru.adapters.sources.mps_counts import MpsBorough, MpsWard
from vru.adapters.store.evidence_store import EvidenceStore
from vru.domain.problems import InputError
from vru.services.ingest import ingest_file

DATASTORE = "crime/london_datastore"

# (file, format, scheme, first month, last month, data rows from SOURCES.md)
REAL_FILES = [
    ("MPS_Borough_Level_Crime_Historic_2008-01_to_2016-12_old_categories.csv", "mps-borough",
     "mps_pre2019", "2008-01", "2016-12", 1056),
    ("MPS_Borough_Level_Crime_most_recent_24_months_2017-01_to_2018-12_old_categories.csv",
     "mps-borough", "mps_pre2019", "2017-01", "2018-12", 1050),
    ("MPS_Borough_Level_Crime_Historical_2010-04_to_2023-02.csv", "mps-borough", "mps_2019",
     "2010-04", "2023-02", 931),
    ("MPS_Borough_Level_Crime_most_recent_24_months_2023-03_to_2025-02.csv", "mps-borough",
     "mps_2019", "2023-03", "2025-02", 1013),
    ("MPS_Borough_Level_Crime_most_recent_24_months_2024-01_to_2025-12.csv", "mps-borough",
     "mps_2019", "2024-01", "2025-12", 1057),
    ("MPS_Ward_Level_Crime_most_recent_24_months_2024-01_to_2025-12.csv", "mps-ward",
     "mps_2019", "2024-01", "2025-12", 18707),
]

# The 32 boroughs the MPS polices, with their ONS (GSS) codes: E09 codes are in alphabetical
# order of name, E09000001 being the City of London (policed by the City of London Police).
BOROUGHS = [
    "Barking and Dagenham", "Barnet", "Bexley", "Brent", "Bromley", "Camden", "Croydon",
    "Ealing", "Enfield", "Greenwich", "Hackney", "Hammersmith and Fulham", "Haringey",
    "Harrow", "Havering", "Hillingdon", "Hounslow", "Islington", "Kensington and Chelsea",
    "Kingston upon Thames", "Lambeth", "Lewisham", "Merton", "Newham", "Redbridge",
    "Richmond upon Thames", "Southwark", "Sutton", "Tower Hamlets", "Waltham Forest",
    "Wandsworth", "Westminster",
]
BOROUGH_CODES = {name: f"E090000{i:02d}" for i, name in enumerate(BOROUGHS, start=2)}


def london_ref(wards: dict[str, set[str]] | None = None) -> ReferenceData:
    """Reference data as ``reference_data`` builds it once London geography is loaded."""
    codes: dict[tuple[str, str | None], frozenset[str]] = {
        ("lad", "2022"): frozenset(BOROUGH_CODES.values()),
        ("lad", None): frozenset(BOROUGH_CODES.values()),
    }
    for vintage, ward_codes in (wards or {}).items():
        codes[("ward", vintage)] = frozenset(ward_codes)
    names = {("lad", n.casefold()): c for n, c in BOROUGH_CODES.items()}
    names[("lad", "city of london")] = "E09000001"
    return ReferenceData(area_codes=codes, area_names=names)


def independent_read(path: Path) -> tuple[int, int, list[str]]:
    """Data rows, sum of every month cell, and the month columns, read with ``csv``."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        months = [c for c in header if c.isdigit() and len(c) == 6]
        idx = [header.index(m) for m in months]
        rows = 0
        total = 0
        for row in reader:
            rows += 1
            total += sum(int(row[i]) for i in idx)
    return rows, total, months


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def refused(fmt: str, path: Path, ref: ReferenceData | None = None) -> InputError:
    adapter = MpsWard() if fmt == "mps-ward" else MpsBorough()
    parsed = adapter.parse(path, ref or ReferenceData())
    assert parsed.problems, "expected the file to have problems"
    with pytest.raises(InputError) as exc:
        ingest_file(EvidenceStore(path.parent / "store"), fmt, path, ref=ref)
    return exc.value


BOROUGH_HEADER = "MajorText,MinorText,BoroughName,202401,202402,202403"


# -- the real files ----------------------------------------------------------------------


@pytest.mark.parametrize("file,fmt,scheme,first,last,expected_rows", REAL_FILES,
                         ids=[f[0][:48] for f in REAL_FILES])
def test_real_file_is_stored_whole_with_matching_totals(
        shared_data: Path, store: EvidenceStore, file: str, fmt: str, scheme: str, first: str,
        last: str, expected_rows: int) -> None:
    path = shared_data / DATASTORE / file
    rows, total, months = independent_read(path)
    assert rows == expected_rows

    result = ingest_file(store, fmt, path)

    assert result.status == "imported"
    assert result.rows_read == rows
    assert result.rows_stored + result.rows_rejected == result.rows_read
    assert result.rows_rejected == 0
    assert result.records == {"crime_counts": rows * len(months)}
    assert result.meta["category_scheme"] == scheme
    assert (result.meta["release_start"], result.meta["release_end"]) == (first, last)
    assert result.meta["months_missing"] == []
    assert "not checked" in result.meta["borough_names_checked"]
    con = store.connect()
    try:
        stored = con.execute("""
            SELECT sum(count), count(*), count(DISTINCT source_row), min(period), max(period),
                   count(*) FILTER (WHERE measure IS NULL), any_value(geography_level),
                   count(DISTINCT release_start || release_end), any_value(period_type)
            FROM crime_counts""").fetchone()
        imported = con.execute("SELECT rows_read, rows_stored, period_start, period_end "
                               "FROM imports").fetchone()
    finally:
        con.close()
    assert stored is not None and imported is not None
    assert stored[0] == total
    assert stored[1] == rows * len(months)
    assert stored[2] == rows
    assert (stored[3].strftime("%Y-%m"), stored[4].strftime("%Y-%m")) == (first, last)
    assert stored[5] == 0
    assert stored[6] == ("ward" if fmt == "mps-ward" else "borough")
    assert stored[7] == 1 and stored[8] == "month"
    assert imported == (rows, rows, first, last)


def test_units_that_are_not_areas_are_kept_with_a_note(shared_data: Path) -> None:
    path = shared_data / DATASTORE / "MPS_Borough_Level_Crime_Historical_2010-04_to_2023-02.csv"
    parsed = MpsBorough().parse(path, london_ref())
    table = parsed.tables["crime_counts"]
    con = duckdb.connect()
    con.register("t", table)
    units = con.execute("""
        SELECT area_name, count(DISTINCT source_row), count(area_code), min(area_note)
        FROM t WHERE area_note IS NOT NULL GROUP BY 1 ORDER BY 1""").fetchall()
    boroughs = con.execute("""
        SELECT count(DISTINCT area_name), count(*) FILTER (WHERE area_code IS NULL)
        FROM t WHERE area_note IS NULL""").fetchone()
    westminster = con.execute(
        "SELECT DISTINCT area_code FROM t WHERE area_name = 'Westminster'").fetchall()
    assert [(u[0], u[1], u[2]) for u in units] == [
        ("London Heathrow and London City Airports", 7, 0), ("Unknown", 28, 0)]
    assert "airports" in units[0][3] and "not attribute" in units[1][3]
    assert boroughs == (32, 0)
    assert westminster == [("E09000033",)]
    assert parsed.meta["rows_for_units_that_are_not_areas"] == {
        "London Heathrow and London City Airports": 7, "Unknown": 28}
    assert parsed.meta["borough_names_checked"] == "against the loaded local authority names"


def test_real_ward_file_against_ward_sets(shared_data: Path) -> None:
    """With the 2022 ward set loaded, every code is current; one code moved to an older set
    only is kept and reported; the Heathrow ward published under SO18 keeps its code."""
    path = shared_data / DATASTORE / REAL_FILES[-1][0]
    with open(path, newline="", encoding="utf-8") as fh:
        codes = {r["WardCode"] for r in csv.DictReader(fh)}
    assert len(codes) == 679
    old = "E05014053"
    assert old in codes
    parsed = MpsWard().parse(path, london_ref({"2022": codes - {old}, "2018": {old}}))
    assert parsed.problems == []
    assert parsed.meta["old_ward_codes"] == [old]
    assert parsed.meta["current_ward_vintage"] == "2022"
    table = parsed.tables["crime_counts"]
    con = duckdb.connect()
    con.register("t", table)
    vintages = dict(con.execute(
        "SELECT area_vintage, count(DISTINCT area_code) FROM t GROUP BY 1").fetchall())
    heathrow = con.execute("""
        SELECT DISTINCT area_code, area_name, borough_name, area_note FROM t
        WHERE borough_name = 'Aviation Security (SO18)'""").fetchall()
    assert vintages == {"2022": 678, "2018": 1}
    assert len(heathrow) == 1
    assert heathrow[0][:3] == ("E05013570", "Heathrow Villages", "Aviation Security (SO18)")
    assert "in no borough's figures" in heathrow[0][3]


# -- validation, on small hand-made files --------------------------------------------------


def test_impossible_month_column_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", [
        "MajorText,MinorText,BoroughName,202312,202313",
        "ROBBERY,ROBBERY OF PERSONAL PROPERTY,Barnet,60,54"])
    with pytest.raises(InputError) as exc:
        MpsBorough().parse(path, ReferenceData())
    (problem,) = exc.value.problems
    assert (problem.row, problem.column) == (1, "202313")
    assert "impossible month" in problem.message


def test_text_column_that_is_not_a_month_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", [
        "MajorText,MinorText,BoroughName,202401,Total",
        "ROBBERY,ROBBERY OF PERSONAL PROPERTY,Barnet,60,60"])
    with pytest.raises(InputError) as exc:
        MpsBorough().parse(path, ReferenceData())
    (problem,) = exc.value.problems
    assert (problem.row, problem.column) == (1, "Total")
    assert "YYYYMM" in problem.message


@pytest.mark.parametrize("value,fragment", [
    ("nine", "is not a number"),
    ("", "is not a number"),
    ("1,234", "is not a number"),
    ("-3", "is not a count"),
    ("2.5", "is not a count"),
])
def test_bad_count_is_located(tmp_path: Path, value: str, fragment: str) -> None:
    cell = f'"{value}"' if "," in value else value
    path = write(tmp_path / "c.csv", [
        BOROUGH_HEADER,
        "ROBBERY,ROBBERY OF PERSONAL PROPERTY,Barnet,60,54,71",
        f"ROBBERY,ROBBERY OF BUSINESS PROPERTY,Barnet,6,{cell},7"])
    error = refused("mps-borough", path)
    (problem,) = error.problems
    assert (problem.row, problem.column, problem.value) == (3, "202402", value)
    assert fragment in problem.message


def test_whole_number_written_as_decimal_is_a_count(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", [
        BOROUGH_HEADER, "ROBBERY,ROBBERY OF PERSONAL PROPERTY,Barnet,60.0,54,0.00"])
    parsed = MpsBorough().parse(path, ReferenceData())
    assert parsed.problems == []
    assert parsed.tables["crime_counts"].column("count").to_pylist() == [60, 54, 0]


def test_unknown_category_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", [
        BOROUGH_HEADER,
        "ROBBERY,ROBBERY OF PERSONAL PROPERTY,Barnet,60,54,71",
        "VIOLENCE AGAINST THE PERSON,KNIFE CRIME,Barnet,1,2,3"])
    (problem,) = refused("mps-borough", path).problems
    assert (problem.row, problem.column) == (3, "MajorText | MinorText")
    assert problem.value == "VIOLENCE AGAINST THE PERSON | KNIFE CRIME"
    assert "no mapping" in problem.message and "mps_2019" in problem.message


def test_old_scheme_categories_are_mapped_case_insensitively(tmp_path: Path) -> None:
    path = write(tmp_path / "old.csv", [
        "Borough,Major Category,Minor Category,201701,201702",
        "Barnet,Violence Against the Person,Offensive Weapon,3,4",
        "Barnet,violence against the person,  Wounding/GBH ,10,11",
        "Barnet,Violence Against the Person,Knife Crime,1,1"])
    parsed = MpsBorough().parse(path, ReferenceData())
    (problem,) = parsed.problems
    assert (problem.row, problem.column) == (4, "Major Category | Minor Category")
    assert "mps_pre2019" in problem.message
    table = parsed.tables["crime_counts"]
    assert sorted(set(table.column("measure").to_pylist())) == [
        "possession_of_weapons", "violence_with_injury"]
    assert set(table.column("category_scheme").to_pylist()) == {"mps_pre2019"}


def test_repeated_area_and_category_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", [
        BOROUGH_HEADER,
        "ROBBERY,ROBBERY OF PERSONAL PROPERTY,Barnet,60,54,71",
        "ROBBERY,ROBBERY OF BUSINESS PROPERTY,Barnet,6,5,7",
        "ROBBERY,ROBBERY OF PERSONAL PROPERTY,Barnet,60,54,71"])
    (problem,) = refused("mps-borough", path).problems
    assert (problem.row, problem.column) == (4, "BoroughName")
    assert "counted twice" in problem.message


def test_unknown_borough_is_an_error_only_when_geography_is_loaded(tmp_path: Path) -> None:
    path = write(tmp_path / "b.csv", [
        BOROUGH_HEADER,
        "ROBBERY,ROBBERY OF PERSONAL PROPERTY,Westminister,60,54,71",
        "ROBBERY,ROBBERY OF PERSONAL PROPERTY,Unknown,1,0,2",
        "ROBBERY,ROBBERY OF PERSONAL PROPERTY,kingston upon thames,5,5,5"])
    (problem,) = refused("mps-borough", path, london_ref()).problems
    assert (problem.row, problem.column, problem.value) == (2, "BoroughName", "Westminister")
    assert "not a London borough" in problem.message

    parsed = MpsBorough().parse(path, ReferenceData())
    assert parsed.problems == []
    assert set(parsed.tables["crime_counts"].column("area_code").to_pylist()) == {None}
    assert "not checked" in parsed.meta["borough_names_checked"]


def test_skip_invalid_stores_the_rest_and_logs_the_rejected_row(
        tmp_path: Path, store: EvidenceStore) -> None:
    path = write(tmp_path / "s.csv", [
        BOROUGH_HEADER,
        "ROBBERY,ROBBERY OF PERSONAL PROPERTY,Barnet,60,54,71",
        "ROBBERY,ROBBERY OF BUSINESS PROPERTY,Barnet,6,x,7",
        "ROBBERY,ROBBERY OF PERSONAL PROPERTY,Brent,1,2,3"])
    result = ingest_file(store, "mps-borough", path, skip_invalid=True)
    assert (result.rows_read, result.rows_stored, result.rows_rejected) == (3, 2, 1)
    assert result.records == {"crime_counts": 6}
    (rejected,) = store.rejected_rows(result.import_id)
    assert (rejected["row"], rejected["col"], rejected["value"]) == (3, "202402", "x")
    table = store.table("crime_counts")
    assert table is not None
    assert sorted(set(table.column("source_row").to_pylist())) == [2, 4]


def test_gap_in_months_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path / "g.csv", [
        "MajorText,MinorText,BoroughName,202311,202401,202402",
        "ROBBERY,ROBBERY OF PERSONAL PROPERTY,Barnet,60,54,71"])
    parsed = MpsBorough().parse(path, ReferenceData())
    assert parsed.meta["months_missing"] == ["2023-12"]
    assert (parsed.period_start, parsed.period_end) == ("2023-11", "2024-02")


def test_a_file_of_the_other_level_is_refused_with_the_right_format(tmp_path: Path) -> None:
    borough = write(tmp_path / "b.csv", [
        BOROUGH_HEADER, "ROBBERY,ROBBERY OF PERSONAL PROPERTY,Barnet,60,54,71"])
    ward = write(tmp_path / "w.csv", [
        "MajorText,MinorText,WardName,WardCode,LookUp_BoroughName,202401",
        "ROBBERY,ROBBERY OF PERSONAL PROPERTY,Abbey,E05014053,Barking and Dagenham,4"])
    with pytest.raises(InputError) as exc:
        MpsWard().parse(borough, ReferenceData())
    assert "mps-borough" in exc.value.problems[0].action
    with pytest.raises(InputError) as exc:
        MpsBorough().parse(ward, ReferenceData())
    assert "mps-ward" in exc.value.problems[0].action
    unknown = write(tmp_path / "u.csv", ["Area,Offence,202401", "Barnet,Robbery,4"])
    with pytest.raises(InputError) as exc:
        MpsBorough().parse(unknown, ReferenceData())
    assert "matches no MPS crime count layout" in exc.value.problems[0].message


WARD_HEADER = "MajorText,MinorText,WardName,WardCode,LookUp_BoroughName,202401,202402"


def test_ward_codes_pattern_and_sets(tmp_path: Path) -> None:
    path = write(tmp_path / "w.csv", [
        WARD_HEADER,
        "ROBBERY,ROBBERY OF PERSONAL PROPERTY,Abbey,E05014053,Barking and Dagenham,4,2",
        "ROBBERY,ROBBERY OF PERSONAL PROPERTY,Alibon,E05000027,Barking and Dagenham,1,0",
        "ROBBERY,ROBBERY OF PERSONAL PROPERTY,Nowhere,E05999999,Barking and Dagenham,1,0",
        '"ROBBERY","ROBBERY OF PERSONAL PROPERTY","Abbey, Old",E0501405,Barnet,1,0'])
    ref = london_ref({"2022": {"E05014053"}, "2018": {"E05000027", "E05014053"}})
    parsed = MpsWard().parse(path, ref)
    located = [(p.row, p.column, p.message) for p in parsed.problems]
    assert located == [
        (4, "WardCode", "is not a ward code in any loaded ward set (2022, 2018)"),
        (5, "WardCode", "is not a ward code (E05 followed by six digits)"),
    ]
    assert parsed.meta["old_ward_codes"] == ["E05000027"]
    table = parsed.tables["crime_counts"]
    got = sorted(set(zip(table.column("area_code").to_pylist(),
                         table.column("area_vintage").to_pylist(), strict=True)))
    assert got == [("E05000027", "2018"), ("E05014053", "2022")]

    # Without ward geography: pattern only, vintage unknown.
    parsed = MpsWard().parse(path, ReferenceData())
    assert [p.row for p in parsed.problems] == [5]
    assert "pattern only" in parsed.meta["ward_codes_checked"]
    assert set(parsed.tables["crime_counts"].column("area_vintage").to_pylist()) == {None}
