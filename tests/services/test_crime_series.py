"""The joined monthly series: overlapping MPS releases, the later one winning."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb
import pytest

from vru.adapters.store.evidence_store import EvidenceStore
from vru.services.crime_series import monthly_series, monthly_totals
from vru.services.ingest import ingest_file

DATASTORE = "crime/london_datastore"
HISTORICAL = "MPS_Borough_Level_Crime_Historical_2010-04_to_2023-02.csv"
MIDDLE = "MPS_Borough_Level_Crime_most_recent_24_months_2023-03_to_2025-02.csv"
LATEST = "MPS_Borough_Level_Crime_most_recent_24_months_2024-01_to_2025-12.csv"


def cells(path: Path) -> dict[tuple[str, str, str, str], int]:
    """(borough, major, minor, YYYYMM) -> count, read with ``csv``."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return {(r[2], r[0], r[1], m): int(v) for r in reader
                for m, v in zip(header[3:], r[3:], strict=True)}


def months(first: date, last: date) -> list[date]:
    out = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


@pytest.fixture(scope="module")
def series_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> EvidenceStore:
    """The three current-scheme borough releases, imported newest first, so that import
    order cannot be what decides."""
    store = EvidenceStore(tmp_path_factory.mktemp("series") / "data")
    for name in (LATEST, HISTORICAL, MIDDLE):
        assert ingest_file(store, "mps-borough", shared_data / DATASTORE / name).status == \
            "imported"
    return store


@pytest.fixture(scope="module")
def series(series_store: EvidenceStore) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("s", monthly_series(series_store, "borough"))
    return con


def test_one_continuous_series_2010_04_to_2025_12(series: duckdb.DuckDBPyConnection) -> None:
    periods = [r[0] for r in series.execute(
        "SELECT DISTINCT period FROM s ORDER BY 1").fetchall()]
    assert periods == months(date(2010, 4, 1), date(2025, 12, 1))
    # Each borough's month comes from exactly one release.
    clashes = series.execute("""
        SELECT count(*) FROM (SELECT area_name, period FROM s GROUP BY ALL
                              HAVING count(DISTINCT import_id) > 1)""").fetchone()
    assert clashes == (0,)
    sources = series.execute("""
        SELECT file_name, min(period), max(period) FROM s GROUP BY 1 ORDER BY 2""").fetchall()
    assert sources == [
        (HISTORICAL, date(2010, 4, 1), date(2023, 2, 1)),
        (MIDDLE, date(2023, 3, 1), date(2023, 12, 1)),
        (LATEST, date(2024, 1, 1), date(2025, 12, 1)),
    ]


def test_overlapping_month_takes_the_latest_release(
        shared_data: Path, series: duckdb.DuckDBPyConnection) -> None:
    middle = cells(shared_data / DATASTORE / MIDDLE)
    latest = cells(shared_data / DATASTORE / LATEST)
    # A cell both releases publish with different values: the MPS revised it.
    revised = sorted(k for k in middle.keys() & latest.keys()
                     if k[3] == "202406" and middle[k] != latest[k])
    assert revised
    borough, major, minor, _ = revised[0]
    got = series.execute("""
        SELECT count, file_name FROM s WHERE area_name = ? AND major_category = ?
        AND minor_category = ? AND period = DATE '2024-06-01'""",
                         [borough, major, minor]).fetchall()
    assert got == [(latest[revised[0]], LATEST)]
    assert middle[revised[0]] != latest[revised[0]]


def test_renamed_categories_are_not_counted_twice(
        shared_data: Path, series: duckdb.DuckDBPyConnection) -> None:
    """In 2024 the MPS renamed residential burglary and split out stalking and harassment.
    The month's London total is the latest release's total, not old and new names added."""
    latest = cells(shared_data / DATASTORE / LATEST)
    middle = cells(shared_data / DATASTORE / MIDDLE)
    for month in ("202401", "202502"):
        got = series.execute(
            "SELECT sum(count) FROM s WHERE strftime(period, '%Y%m') = ?", [month]).fetchone()
        expected = sum(v for k, v in latest.items() if k[3] == month)
        assert got == (expected,)
        assert expected != sum(v for k, v in middle.items() if k[3] == month)
    old_names = series.execute("""
        SELECT count(*) FROM s WHERE minor_category = 'BURGLARY IN A DWELLING'
        AND period >= DATE '2024-01-01'""").fetchone()
    assert old_names == (0,)


def test_monthly_totals_for_a_measure(
        shared_data: Path, series_store: EvidenceStore) -> None:
    totals = monthly_totals(series_store, "borough", "violence_against_the_person")
    con = duckdb.connect()
    con.register("t", totals)
    historical = cells(shared_data / DATASTORE / HISTORICAL)
    latest = cells(shared_data / DATASTORE / LATEST)
    for table, month in ((historical, "201904"), (latest, "202512")):
        expected = sum(v for k, v in table.items() if k[0] == "Lambeth"
                       and k[1] == "VIOLENCE AGAINST THE PERSON" and k[3] == month)
        got = con.execute(
            "SELECT count, releases FROM t WHERE area_name = 'Lambeth' AND "
            "strftime(period, '%Y%m') = ?", [month]).fetchone()
        assert got is not None and got[0] == expected
    n = con.execute("SELECT count(DISTINCT period), count(DISTINCT area_name) FROM t").fetchone()
    assert n == (189, 34)  # 32 boroughs, the airports and 'Unknown'


def test_equal_release_end_the_later_import_wins(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "data")
    header = "MajorText,MinorText,BoroughName,202401,202402"
    first = tmp_path / "first.csv"
    second = tmp_path / "second.csv"
    first.write_text(f"{header}\nROBBERY,ROBBERY OF PERSONAL PROPERTY,Barnet,10,20\n")
    second.write_text(f"{header}\nROBBERY,ROBBERY OF PERSONAL PROPERTY,Barnet,11,21\n")
    ingest_file(store, "mps-borough", first)
    ingest_file(store, "mps-borough", second)
    table = monthly_series(store, "borough")
    assert table.column("count").to_pylist() == [11, 21]
    assert set(table.column("file_name").to_pylist()) == {"second.csv"}


def test_measure_and_scheme_filters_and_errors(
        series_store: EvidenceStore, tmp_path: Path) -> None:
    homicide = monthly_series(series_store, "borough", measure="homicide")
    assert set(homicide.column("measure").to_pylist()) == {"homicide"}
    assert monthly_series(series_store, "borough", category_scheme="mps_pre2019").num_rows == 0
    with pytest.raises(ValueError, match="unknown geography level"):
        monthly_series(series_store, "lsoa")
    with pytest.raises(LookupError, match="vru ingest mps-borough"):
        monthly_series(EvidenceStore(tmp_path / "empty"), "borough")
    with pytest.raises(KeyError):
        monthly_series(series_store, "borough", measure="knife_crime")
