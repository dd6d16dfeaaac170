"""police.uk street-level crime: every Leicestershire and City of London file in the shared data.

Row accounting is checked against an independent count made with Python's ``csv`` module,
and the totals against the figures in ``shared/data/crime/SOURCES.md``.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pyarrow.compute as pc
import pytest

from vru.adapters.sources.base import Parsed, ReferenceData
from vru.adapters.sources.police_uk_street import COLUMNS, PoliceUkStreet

pytestmark = pytest.mark.slow

FORCES = ("leicestershire", "city-of-london")

# SOURCES.md section 4: rows, violence and sexual offences, possession of weapons per month.
LEICESTERSHIRE_MONTHS: dict[str, tuple[int, int, int]] = {
    "2019-12": (8092, 2733, 61), "2020-01": (8852, 2798, 63), "2020-02": (7857, 2541, 52),
    "2020-03": (8146, 2753, 66), "2020-04": (7809, 2381, 51), "2020-05": (8116, 2885, 77),
    "2020-06": (8245, 2913, 49), "2020-07": (8441, 3067, 81), "2020-08": (8777, 3225, 65),
    "2020-09": (8577, 3141, 60), "2020-10": (8159, 2945, 54), "2020-11": (7918, 2830, 42),
    "2020-12": (7082, 2748, 58), "2021-01": (6792, 2703, 54), "2021-02": (6509, 2595, 34),
    "2021-03": (8113, 3279, 83), "2021-04": (8217, 3166, 67), "2021-05": (8402, 3376, 59),
    "2021-06": (9299, 3552, 76), "2021-07": (8694, 3334, 62), "2021-08": (8459, 3307, 86),
    "2021-09": (8564, 3337, 71), "2021-10": (9055, 3537, 91), "2021-11": (8718, 3326, 67),
    "2021-12": (8185, 3295, 63), "2022-01": (8730, 3338, 84), "2022-02": (8482, 3339, 87),
    "2022-03": (10019, 3854, 100), "2022-04": (9494, 3491, 91), "2022-05": (10332, 3942, 95),
    "2022-06": (9980, 3853, 106), "2022-07": (10056, 3662, 54), "2022-08": (10373, 3877, 98),
    "2022-09": (9492, 3676, 99), "2022-10": (9802, 3733, 81),
}

LEICESTERSHIRE_TYPES = {
    "Violence and sexual offences": 112_532, "Public order": 34_718,
    "Anti-social behaviour": 33_364, "Criminal damage and arson": 29_294,
    "Other theft": 22_428, "Vehicle crime": 18_495, "Burglary": 13_708, "Shoplifting": 10_112,
    "Drugs": 9_259, "Other crime": 6_542, "Bicycle theft": 4_672,
    "Possession of weapons": 2_487, "Robbery": 2_233, "Theft from the person": 1_994,
}

CITY_TYPES = {
    "Other theft": 5_507, "Anti-social behaviour": 3_501, "Violence and sexual offences": 3_432,
    "Shoplifting": 2_554, "Theft from the person": 2_117, "Drugs": 1_719,
    "Bicycle theft": 1_352, "Public order": 1_197, "Burglary": 873,
    "Criminal damage and arson": 740, "Vehicle crime": 627, "Other crime": 566,
    "Robbery": 363, "Possession of weapons": 202,
}


def street_files(shared_data: Path, force: str) -> list[Path]:
    return sorted((shared_data / "crime" / "police_uk").glob(f"*/*-{force}-street.csv"))


def csv_module_count(path: Path) -> tuple[int, Counter[str], int]:
    """Data rows, crime types and rows with no coordinates, counted with the csv module."""
    types: Counter[str] = Counter()
    rows = no_location = 0
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        assert header == COLUMNS
        for record in reader:
            rows += 1
            types[record[9]] += 1
            no_location += record[4] == "" and record[5] == ""
    return rows, types, no_location


@pytest.fixture(scope="module")
def parsed(shared_data: Path) -> dict[str, dict[Path, Parsed]]:
    adapter = PoliceUkStreet()
    return {force: {p: adapter.parse(p, ReferenceData()) for p in street_files(shared_data, force)}
            for force in FORCES}


def test_the_shared_data_has_the_documented_files(shared_data: Path) -> None:
    leics = street_files(shared_data, "leicestershire")
    city = street_files(shared_data, "city-of-london")
    assert [p.parent.name for p in leics] == list(LEICESTERSHIRE_MONTHS)
    assert len(city) == 36
    assert city[0].parent.name == "2017-12" and city[-1].parent.name == "2020-11"


@pytest.mark.parametrize("force", FORCES)
def test_every_row_is_stored_or_rejected(
        force: str, parsed: dict[str, dict[Path, Parsed]]) -> None:
    """rows read = rows stored + rows rejected, file by file, and rows read is what the csv
    module counts; the stored table holds exactly the stored rows."""
    for path, result in parsed[force].items():
        rows, types, no_location = csv_module_count(path)
        table = result.tables["street_crime"]
        assert result.rows_read == rows, path.name
        assert result.rows_read == result.rows_stored + result.rows_rejected, path.name
        assert table.num_rows == result.rows_stored, path.name
        assert result.problems == [], path.name
        assert table["source_row"].to_pylist() == list(range(2, rows + 2)), path.name
        stored_types = Counter(table["crime_type"].to_pylist())
        assert stored_types == types, path.name
        assert result.meta["rows_without_location"] == no_location, path.name


def test_leicestershire_35_months(parsed: dict[str, dict[Path, Parsed]]) -> None:
    results = parsed["leicestershire"]
    assert len(results) == 35
    assert sum(r.rows_read for r in results.values()) == 301_838
    assert sum(r.rows_stored for r in results.values()) == 301_838
    types: Counter[str] = Counter()
    for path, result in results.items():
        month = path.parent.name
        table = result.tables["street_crime"]
        counts = Counter(table["crime_type"].to_pylist())
        assert (table.num_rows, counts["Violence and sexual offences"],
                counts["Possession of weapons"]) == LEICESTERSHIRE_MONTHS[month], month
        assert (result.period_start, result.period_end) == (month, month)
        assert result.meta["force"] == "leicestershire"
        assert set(table["falls_within"].to_pylist()) == {"Leicestershire Police"}
        assert {d.isoformat()[:7] for d in table["month"].to_pylist()} == {month}
        types.update(counts)
    assert types == LEICESTERSHIRE_TYPES


def test_leicestershire_rows_without_location_are_kept(
        parsed: dict[str, dict[Path, Parsed]]) -> None:
    results = parsed["leicestershire"].values()
    assert sum(r.meta["rows_without_location"] for r in results) == 7_463
    null_points = 0
    for r in results:
        table = r.tables["street_crime"]
        lon, lat = table["longitude"], table["latitude"]
        assert lon.null_count == lat.null_count
        assert pc.all(pc.equal(pc.is_null(lon), pc.is_null(lat))).as_py()
        null_points += lon.null_count
    assert null_points == 7_463


def test_leicestershire_measures_are_mapped(parsed: dict[str, dict[Path, Parsed]]) -> None:
    measures: Counter[str] = Counter()
    for r in parsed["leicestershire"].values():
        measures.update(r.tables["street_crime"]["measure"].to_pylist())
    assert measures["violence_and_sexual_offences"] == 112_532
    assert measures["possession_of_weapons"] == 2_487
    assert measures["robbery"] == 2_233
    assert None not in measures


def test_city_of_london_36_months(parsed: dict[str, dict[Path, Parsed]]) -> None:
    results = parsed["city-of-london"].values()
    assert sum(r.rows_read for r in results) == 24_750
    assert sum(r.rows_stored for r in results) == 24_750
    assert sum(r.meta["rows_without_location"] for r in results) == 1_807
    assert sum(r.tables["street_crime"]["latitude"].null_count for r in results) == 1_807
    types: Counter[str] = Counter()
    for r in results:
        types.update(r.tables["street_crime"]["crime_type"].to_pylist())
    assert types == CITY_TYPES


def test_asb_rows_have_no_crime_id_and_context_is_empty(
        parsed: dict[str, dict[Path, Parsed]]) -> None:
    for force in FORCES:
        for r in parsed[force].values():
            table = r.tables["street_crime"]
            assert table["context"].null_count == table.num_rows
            asb = pc.equal(table["crime_type"], "Anti-social behaviour")
            assert pc.all(pc.is_null(pc.filter(table["crime_id"], asb))).as_py() in (True, None)
