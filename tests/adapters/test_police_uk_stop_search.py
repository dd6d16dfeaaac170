"""police.uk stop and search: the Met (15 months) and City of London (36 months) files.

Row accounting is checked against an independent count made with Python's ``csv`` module,
and totals against ``shared/data/crime/SOURCES.md``.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from vru.adapters.sources.base import Parsed, ReferenceData
from vru.adapters.sources.police_uk_stop_search import COLUMNS, PoliceUkStopSearch
from vru.adapters.store.evidence_store import EvidenceStore
from vru.domain.problems import InputError
from vru.services.ingest import ingest_file

FORCES = ("metropolitan", "city-of-london")

MET_MONTHS = {
    "2017-12": 9353, "2018-01": 12137, "2018-02": 10771, "2018-03": 10866, "2018-04": 12860,
    "2018-05": 12353, "2018-06": 10581, "2018-07": 9588, "2018-08": 15127, "2018-09": 11630,
    "2018-10": 12654, "2018-11": 15196, "2018-12": 15521, "2019-01": 17988, "2019-02": 18402,
}
CITY_MONTHS = {
    "2017-12": 101, "2018-01": 98, "2018-02": 80, "2018-03": 127, "2018-04": 110,
    "2018-05": 121, "2018-06": 92, "2018-07": 116, "2018-08": 141, "2018-09": 148,
    "2018-10": 128, "2018-11": 122, "2018-12": 118, "2019-01": 153, "2019-02": 147,
    "2019-03": 130, "2019-04": 185, "2019-05": 162, "2019-06": 167, "2019-07": 190,
    "2019-08": 336, "2019-09": 197, "2019-10": 263, "2019-11": 307, "2019-12": 292,
    "2020-01": 351, "2020-02": 236, "2020-03": 171, "2020-04": 150, "2020-05": 245,
    "2020-06": 168, "2020-07": 518, "2020-08": 207, "2020-09": 249, "2020-10": 236,
    "2020-11": 293,
}

HEADER = ",".join(COLUMNS)
ROW = ("Person search,2018-07-01T00:30:00+01:00,False,,51.425491,-0.220473,Male,18-24,"
       "White - Any other White background,White,Misuse of Drugs Act 1971 (section 23),"
       "Controlled drugs,Arrest,True,False")


def stop_search_files(shared_data: Path, force: str) -> list[Path]:
    return sorted((shared_data / "crime" / "police_uk").glob(f"*/*-{force}-stop-and-search.csv"))


def csv_module_count(path: Path) -> tuple[int, Counter[str]]:
    """Data rows and objects of search, counted with the csv module."""
    objects: Counter[str] = Counter()
    rows = 0
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        assert next(reader) == COLUMNS
        for record in reader:
            rows += 1
            objects[record[11]] += 1
    return rows, objects


@pytest.fixture(scope="module")
def parsed(shared_data: Path) -> dict[str, dict[Path, Parsed]]:
    adapter = PoliceUkStopSearch()
    return {force: {p: adapter.parse(p, ReferenceData())
                    for p in stop_search_files(shared_data, force)}
            for force in FORCES}


def one_file(tmp_path: Path, *rows: str, name: str = "2018-07-test-force-stop-and-search.csv",
             header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.parametrize(("force", "months"), [("metropolitan", MET_MONTHS),
                                               ("city-of-london", CITY_MONTHS)])
def test_every_row_is_stored_or_rejected(
        force: str, months: dict[str, int], parsed: dict[str, dict[Path, Parsed]]) -> None:
    results = parsed[force]
    assert [p.parent.name for p in results] == list(months)
    for path, result in results.items():
        rows, objects = csv_module_count(path)
        table = result.tables["stop_search"]
        assert rows == months[path.parent.name], path.name
        assert result.rows_read == rows, path.name
        assert result.rows_read == result.rows_stored + result.rows_rejected, path.name
        assert result.problems == [], path.name
        assert table.num_rows == result.rows_stored, path.name
        assert table["source_row"].to_pylist() == list(range(2, rows + 2)), path.name
        assert Counter(o or "" for o in table["object_of_search"].to_pylist()) == objects
        assert result.meta["force"] == force
        assert set(table["force"].to_pylist()) == {force}


@pytest.mark.slow
def test_totals(parsed: dict[str, dict[Path, Parsed]]) -> None:
    assert sum(r.rows_stored for r in parsed["metropolitan"].values()) == 195_027
    assert sum(r.rows_stored for r in parsed["city-of-london"].values()) == 6_855


@pytest.mark.slow
def test_met_objects_of_search_and_groups(parsed: dict[str, dict[Path, Parsed]]) -> None:
    objects: Counter[str | None] = Counter()
    groups: Counter[str | None] = Counter()
    pairs: Counter[tuple[str | None, str | None]] = Counter()
    for r in parsed["metropolitan"].values():
        t = r.tables["stop_search"]
        objects.update(t["object_of_search"].to_pylist())
        groups.update(t["object_group"].to_pylist())
        pairs.update(zip(t["object_of_search"].to_pylist(), t["object_group"].to_pylist(),
                         strict=True))
    assert objects["Offensive weapons"] == 35_222
    assert objects["Anything to threaten or harm anyone"] == 8_001
    assert objects["Controlled drugs"] == 112_587
    assert objects["Stolen goods"] == 21_472
    assert groups["weapons"] == 35_222 + 8_001 + objects["Firearms"]
    assert groups["drugs"] == 112_587
    assert groups["stolen_goods"] == 21_472
    assert groups[None] == objects[None] == 663
    assert sum(groups.values()) == 195_027
    for (obj, group), _n in pairs.items():
        if obj in ("Evidence of offences under the Act", "Fireworks",
                   "Articles for use in criminal damage"):
            assert group == "other"


@pytest.mark.slow
def test_met_s60_searches_are_the_s60_legislation(parsed: dict[str, dict[Path, Parsed]]) -> None:
    s60 = 0
    for r in parsed["metropolitan"].values():
        t = r.tables["stop_search"].to_pydict()
        for legislation, obj in zip(t["legislation"], t["object_of_search"], strict=True):
            if legislation == "Criminal Justice and Public Order Act 1994 (section 60)":
                s60 += 1
                assert obj == "Anything to threaten or harm anyone"
    assert s60 == 8_001


@pytest.mark.slow
def test_values_are_typed(parsed: dict[str, dict[Path, Parsed]]) -> None:
    for force in FORCES:
        for path, r in parsed[force].items():
            t = r.tables["stop_search"]
            assert t.schema.field("datetime").type == pa.timestamp("us")
            assert t.schema.field("month").type == pa.date32()
            for col in ("part_of_operation", "outcome_linked_to_object",
                        "removal_of_more_than_outer_clothing"):
                assert t.schema.field(col).type == pa.bool_()
            months = {d.isoformat()[:7] for d in t["month"].to_pylist()}
            assert months == {path.parent.name}
            assert (r.period_start, r.period_end) == (path.parent.name, path.parent.name)
            assert t["latitude"].null_count == t["longitude"].null_count
            assert r.meta["rows_without_location"] == t["latitude"].null_count
    met = next(iter(parsed["metropolitan"].values())).tables["stop_search"]
    assert set(met["part_of_operation"].to_pylist()) == {False}
    assert met["outcome_linked_to_object"].null_count == met.num_rows
    city = next(iter(parsed["city-of-london"].values())).tables["stop_search"]
    assert city["part_of_operation"].null_count == city.num_rows


def test_offsets_are_converted_to_utc_and_month_is_uk_local(tmp_path: Path) -> None:
    """police.uk publishes UTC and files a search under its month in UK local time: 23:30 UTC
    on 30 June is 00:30 BST on 1 July, in the July file (the real Met files have such rows)."""
    winter = ROW.replace("2018-07-01T00:30:00+01:00", "2018-01-31T23:59:00+00:00")
    zulu = ROW.replace("2018-07-01T00:30:00+01:00", "2018-03-02T10:00:00Z")
    summer_utc = ROW.replace("2018-07-01T00:30:00+01:00", "2018-06-30T23:30:00+00:00")
    path = one_file(tmp_path, ROW, winter, zulu, summer_utc)
    r = PoliceUkStopSearch().parse(path, ReferenceData())
    t = r.tables["stop_search"].to_pydict()
    assert t["datetime"] == [datetime(2018, 6, 30, 23, 30), datetime(2018, 1, 31, 23, 59),
                             datetime(2018, 3, 2, 10, 0), datetime(2018, 6, 30, 23, 30)]
    assert t["month"] == [date(2018, 7, 1), date(2018, 1, 1), date(2018, 3, 1),
                          date(2018, 7, 1)]
    assert (r.period_start, r.period_end) == ("2018-01", "2018-07")
    assert t["force"] == ["test-force"] * 4
    assert t["part_of_operation"] == [False] * 4
    assert t["outcome_linked_to_object"] == [True] * 4
    assert t["removal_of_more_than_outer_clothing"] == [False] * 4


def test_known_values_are_matched_ignoring_case_and_spaces(tmp_path: Path) -> None:
    row = ROW.replace("Person search", " person  SEARCH ").replace(",18-24,", ",Over 34,")
    row = row.replace(",Male,", ",male,").replace("True,False", "true, FALSE ")
    r = PoliceUkStopSearch().parse(one_file(tmp_path, row), ReferenceData())
    assert r.problems == []
    t = r.tables["stop_search"].to_pydict()
    assert (t["outcome_linked_to_object"], t["removal_of_more_than_outer_clothing"]) == (
        [True], [False])


def test_unknown_values_are_named(tmp_path: Path) -> None:
    rows = [ROW.replace("Person search", "Boat search"),
            ROW.replace(",Male,", ",Unknown,"),
            ROW.replace(",18-24,", ",18-25,"),
            ROW.replace("2018-07-01T00:30:00+01:00", "01/07/2018 00:30"),
            ROW.replace("Arrest,True,False", "Arrest,Yes,No")]
    r = PoliceUkStopSearch().parse(one_file(tmp_path, *rows), ReferenceData())
    found = [(p.row, p.column, p.value) for p in r.problems]
    assert found == [
        (2, "Type", "Boat search"), (3, "Gender", "Unknown"), (4, "Age range", "18-25"),
        (5, "Date", "01/07/2018 00:30"),
        (6, "Outcome linked to object of search", "Yes"),
        (6, "Removal of more than just outer clothing", "No"),
    ]
    assert "Person search, Person and Vehicle search, Vehicle search" in r.problems[0].action
    assert r.rows_rejected == 5 and r.rows_stored == 0
    assert r.tables["stop_search"].num_rows == 0


def test_object_groups(tmp_path: Path) -> None:
    objects = ["Offensive weapons", "Firearms", "Anything to threaten or harm anyone",
               "Crossbows", "Controlled drugs", "Psychoactive substances", "Stolen goods",
               "Article for use in theft", "Fireworks", ""]
    rows = [ROW.replace("Controlled drugs", o) for o in objects]
    r = PoliceUkStopSearch().parse(one_file(tmp_path, *rows), ReferenceData())
    assert r.tables["stop_search"]["object_group"].to_pylist() == [
        "weapons", "weapons", "weapons", "weapons", "drugs", "drugs", "stolen_goods",
        "other", "other", None]


def test_skip_invalid_keeps_the_good_rows(tmp_path: Path) -> None:
    path = one_file(tmp_path, ROW, ROW.replace(",Male,", ",Mail,"), ROW)
    store = EvidenceStore(tmp_path / "data")
    with pytest.raises(InputError) as refused:
        ingest_file(store, "police-uk-stop-search", path)
    assert (refused.value.problems[0].row, refused.value.problems[0].column) == (3, "Gender")
    result = ingest_file(store, "police-uk-stop-search", path, skip_invalid=True)
    assert (result.rows_read, result.rows_stored, result.rows_rejected) == (3, 2, 1)
    con = store.connect()
    assert con.execute("SELECT list(source_row ORDER BY source_row) FROM stop_search"
                       ).fetchone() == ([2, 4],)
    assert [r["row"] for r in store.rejected_rows(result.import_id)] == [3]
