"""MPS homicide victims: the real extract (2,670 victims, 2003 to early 2023) and bad files."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from vru.adapters.sources.base import ReferenceData
from vru.adapters.sources.homicide import Homicide
from vru.adapters.store.evidence_store import EvidenceStore
from vru.domain.problems import InputError
from vru.services.ingest import ingest_file

FILE = "crime/homicide/mps_homicides_2003_2023_stCEG.csv"
HEADER = "Age_Group,Sex,Method_of_Killing,Domestic_Abuse,Solved_Status,Borough,Ethnicity,Year,BCU"
GOOD = "Adult,Male,Knife or Sharp Implement,Not Domestic Abuse,Solved,Wandsworth,White,2003," \
       "South West"


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def first_problem(tmp_path: Path, row: str, ref: ReferenceData | None = None) -> tuple[
        int | None, str | None, str | None, str, str]:
    path = write(tmp_path / "h.csv", [HEADER, GOOD, row])
    with pytest.raises(InputError) as exc:
        ingest_file(EvidenceStore(tmp_path / "data"), "homicide", path, ref=ref)
    (p,) = exc.value.problems
    return p.row, p.column, p.value, p.message, p.action


def test_real_file(shared_data: Path, store: EvidenceStore) -> None:
    path = shared_data / FILE
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2670

    result = ingest_file(store, "homicide", path)

    assert (result.rows_read, result.rows_stored, result.rows_rejected) == (2670, 2670, 0)
    assert result.records == {"homicide_victims": 2670}
    table = store.table("homicide_victims")
    assert table is not None
    methods = Counter(table.column("method").to_pylist())
    assert methods == Counter(r["Method_of_Killing"] for r in rows)
    assert methods["Knife or Sharp Implement"] == 1434
    assert methods["Shooting"] == 327
    groups = Counter(table.column("method_group").to_pylist())
    assert groups["knife_or_sharp_instrument"] == 1434 and groups["shooting"] == 327
    assert sum(table.column("domestic_abuse").to_pylist()) == 472
    assert Counter(table.column("year").to_pylist()) == Counter(int(r["Year"]) for r in rows)
    assert Counter(table.column("borough_name").to_pylist()) == Counter(
        r["Borough"] for r in rows)
    assert set(table.column("measure").to_pylist()) == {"homicide"}
    assert table.column("source_row").to_pylist() == list(range(2, 2672))
    assert (result.meta["years"], store.imports()[0]["period_end"]) == ([2003, 2023], "2023")


def test_boroughs_get_codes_when_geography_is_loaded(shared_data: Path) -> None:
    ref = ReferenceData(
        area_codes={("lad", None): frozenset({"E09000032"})},
        area_names={("lad", "wandsworth"): "E09000032", ("lad", "barnet"): "E09000003"})
    path = shared_data / FILE
    parsed = Homicide().parse(path, ref)
    # Only two borough names are "known" in this reference data: every other row is refused.
    assert parsed.rows_stored == 81 + 74
    assert {p.message for p in parsed.problems} == {
        "is not a London borough known to the loaded geography"}
    codes = Counter(zip(parsed.tables["homicide_victims"].column("borough_name").to_pylist(),
                        parsed.tables["homicide_victims"].column("area_code").to_pylist(),
                        strict=True))
    assert codes == {("Wandsworth", "E09000032"): 81, ("Barnet", "E09000003"): 74}


@pytest.mark.parametrize("year,fragment", [
    ("20x3", "is not a year (a whole number"),
    ("2003.5", "is not a year (a whole number"),
    ("1899", "is not a year between 1900 and"),
    (str(date.today().year + 1), "is not a year between 1900 and"),
])
def test_bad_year(tmp_path: Path, year: str, fragment: str) -> None:
    row = GOOD.replace(",2003,", f",{year},")
    r, column, value, message, _ = first_problem(tmp_path, row)
    assert (r, column, value) == (3, "Year", year)
    assert fragment in message


@pytest.mark.parametrize("column,bad", [
    ("Sex", "Unknown"),
    ("Age_Group", "Teenager"),
    ("Method_of_Killing", "Strangulation"),
    ("Domestic_Abuse", "Yes"),
    ("Solved_Status", "Charged"),
    ("Ethnicity", "Mixed"),
    ("BCU", "Heathrow"),
])
def test_unknown_categorical_value_names_it_and_lists_known(
        tmp_path: Path, column: str, bad: str) -> None:
    values = dict(zip(HEADER.split(","), next(csv.reader([GOOD])), strict=True))
    values[column] = bad
    row = ",".join(f'"{v}"' for v in values.values())
    r, col, value, message, action = first_problem(tmp_path, row)
    assert (r, col, value) == (3, column, bad)
    assert message.startswith("is not a known ")
    assert action.startswith("Known values: ")
    assert bad not in action


def test_values_are_matched_case_and_space_insensitively(tmp_path: Path) -> None:
    path = write(tmp_path / "h.csv", [
        HEADER,
        'adult,MALE,"knife or  sharp implement",domestic abuse,solved,Wandsworth,white,2010,'
        "south west"])
    parsed = Homicide().parse(path, ReferenceData())
    assert parsed.problems == []
    (row,) = parsed.tables["homicide_victims"].to_pylist()
    assert (row["sex"], row["method"], row["method_group"], row["domestic_abuse"],
            row["bcu"], row["year"]) == ("Male", "Knife or Sharp Implement",
                                         "knife_or_sharp_instrument", True, "South West", 2010)


def test_bcu_must_police_the_borough(tmp_path: Path) -> None:
    row = GOOD.replace(",Wandsworth,", ",Hackney,")
    r, column, value, message, action = first_problem(tmp_path, row)
    assert (r, column, value) == (3, "BCU", "South West")
    assert "polices this row's borough" in message
    assert "Central East: Hackney, Tower Hamlets" in action


def test_unknown_borough_with_geography(tmp_path: Path) -> None:
    ref = ReferenceData(area_codes={("lad", None): frozenset({"E09000032"})},
                        area_names={("lad", "wandsworth"): "E09000032"})
    row = GOOD.replace(",Wandsworth,", ",Wandswoth,")
    r, column, value, message, _ = first_problem(tmp_path, row, ref)
    assert (r, column, value) == (3, "Borough", "Wandswoth")
    assert "not a London borough" in message
