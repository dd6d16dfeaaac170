"""Population: every ONS and Census layout in the shared data, and hand-made bad files.

Row accounting is checked against an independent count made with Python's ``csv`` module;
London totals against the figures in ``shared/data/geo/SOURCES.md`` (section 4). London's
areas are picked with the lookups in ``geo/lookups`` (or the boroughs' E09 codes), not with
anything the adapter computes.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from vru.adapters.sources.base import Parsed, ReferenceData
from vru.adapters.sources.population import Population, age_label, parse_age
from vru.adapters.store.evidence_store import EvidenceStore
from vru.domain.problems import InputError, Problem
from vru.services.ingest import ingest_file

LONDON_LADS = {f"E090000{n:02d}" for n in range(1, 34)}

# file -> (layout, source, data rows, stored records per row)
REAL_FILES: dict[str, tuple[str, str, int, int]] = {
    "london_lsoa11_mid2019_population_broad_age.csv":
        ("ons-sape-lsoa-broad-age", "ONS mid-2019 SAPE", 4_835, 18),
    "london_lsoa11_mid2020_population_broad_age.csv":
        ("ons-sape-lsoa-broad-age", "ONS mid-2020 SAPE", 4_835, 18),
    "ons_mid2019_msoa11_population_single_year_ew.csv":
        ("ons-sape-msoa-single-year", "ONS mid-2019 SAPE", 7_201, 1 + 91),
    "census2021-ts007-ltla.csv": ("census2021-ts007", "Census 2021 TS007", 331, 1 + 101),
    "census2021-ts007-rgn.csv": ("census2021-ts007", "Census 2021 TS007", 10, 1 + 101),
    "census2021-ts007a-lsoa.csv": ("census2021-ts007a", "Census 2021 TS007A", 35_672, 1 + 18),
    "census2021_msoa21_age_single_year_ew.csv":
        ("census2021-ts007-msoa-reshaped", "Census 2021 TS007", 7_264, 1 + 101),
    "census2021-ts021-msoa.csv": ("census2021-ts021", "Census 2021 TS021", 7_264, 25),
    "census2011_qs201ew_ethnic_group_la_ew.csv":
        ("census2011-qs201ew", "Census 2011 QS201EW", 348, 24),
}


def population_dir(shared_data: Path) -> Path:
    return shared_data / "geo" / "population"


def csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, list(reader)


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows([[str(v) for v in r] for r in rows])
    return path


def total(table: pa.Table, where: str) -> int:
    con = duckdb.connect()
    con.register("t", table)
    value = con.execute(f"SELECT coalesce(sum(count), 0) FROM t WHERE {where}").fetchone()
    con.close()
    assert value is not None
    return int(value[0])


def in_list(codes: set[str]) -> str:
    return "(" + ", ".join(f"'{c}'" for c in sorted(codes)) + ")"


LSOA_LOOKUP = "london_lsoa11_msoa11_ward2018_lad2018.csv"


def london_lsoa11(shared_data: Path) -> set[str]:
    _, rows = csv_rows(shared_data / "geo" / "lookups" / LSOA_LOOKUP)
    return {r[0] for r in rows}


def london_msoa(shared_data: Path, column: str) -> set[str]:
    path = shared_data / "geo" / "lookups" / "london_msoa_la_2011_2021.csv"
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return {r[column] for r in csv.DictReader(fh) if r[column]}


@pytest.fixture(scope="module")
def parsed(shared_data: Path) -> dict[str, Parsed]:
    adapter = Population()
    return {name: adapter.parse(population_dir(shared_data) / name, ReferenceData())
            for name in REAL_FILES}


# -- the real files ----------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_every_real_row_is_accounted_for(parsed: dict[str, Parsed], shared_data: Path,
                                         name: str) -> None:
    layout, source, rows, per_row = REAL_FILES[name]
    _, records = csv_rows(population_dir(shared_data) / name)
    result = parsed[name]
    table = result.tables["population"]
    assert len(records) == rows
    assert result.rows_read == len(records)
    assert result.problems == []
    assert result.rows_stored + result.rows_rejected == result.rows_read
    assert len(set(table["source_row"].to_pylist())) == result.rows_stored
    assert table.num_rows == rows * per_row
    assert result.meta["layout"] == layout
    assert set(table["source"].to_pylist()) == {source}
    # The area code of each stored record is the one on its source row.
    codes = {i + 2: r[0] if name.startswith(("london_", "ons_")) else
             (r[1] if name.startswith("census2021_") else r[2]) for i, r in enumerate(records)}
    sample = table.slice(0, 500).to_pylist()
    assert all(rec["area_code"] == codes[rec["source_row"]] for rec in sample)


@pytest.mark.slow
def test_mid_year_lsoa_london_totals(parsed: dict[str, Parsed]) -> None:
    for name, year, expected in (
        ("london_lsoa11_mid2019_population_broad_age.csv", 2019, 8_961_989),
        ("london_lsoa11_mid2020_population_broad_age.csv", 2020, 9_002_488),
    ):
        table = parsed[name].tables["population"]
        assert set(table["year"].to_pylist()) == {year}
        assert set(table["area_vintage"].to_pylist()) == {"2011"}
        assert total(table, "sex = 'persons' AND characteristic = 'total'") == expected
        assert total(table, "sex = 'persons' AND characteristic = 'age'") == expected
        assert total(table, "sex IN ('male', 'female') AND characteristic = 'total'") == expected
    table = parsed["london_lsoa11_mid2019_population_broad_age.csv"].tables["population"]
    assert sorted(set(table["group_label"].to_pylist())) == [
        "0-15", "16-29", "30-44", "45-64", "65+", "all"]
    e01000001 = {(r["sex"], r["group_label"]): r["count"] for r in table.to_pylist()
                 if r["area_code"] == "E01000001"}
    assert e01000001[("persons", "all")] == 1636
    assert e01000001[("female", "16-29")] == 85
    assert e01000001[("male", "65+")] == 218


@pytest.mark.slow
def test_mid_year_msoa_single_year_london_total(parsed: dict[str, Parsed],
                                                shared_data: Path) -> None:
    table = parsed["ons_mid2019_msoa11_population_single_year_ew.csv"].tables["population"]
    london = london_msoa(shared_data, "MSOA11CD")
    assert len(london) == 983
    where = f"area_code IN {in_list(london)}"
    # Same total as the LSOA file: "10,261"-style thousands separators were read.
    assert total(table, f"{where} AND characteristic = 'total'") == 8_961_989
    assert total(table, f"{where} AND characteristic = 'age'") == 8_961_989
    assert total(table, "area_code = 'E02002483' AND characteristic = 'total'") == 10_261
    oldest = [r for r in table.slice(0, 200).to_pylist() if r["group_label"] == "90+"]
    assert oldest and oldest[0]["age_from"] == 90 and oldest[0]["age_to"] is None
    assert set(table["area_vintage"].to_pylist()) == {"2011"}


@pytest.mark.slow
def test_ts007a_london_lsoas(parsed: dict[str, Parsed], shared_data: Path) -> None:
    # London's 2021 LSOAs by name: "<borough> 001A", the borough from the LSOA lookup.
    _, lookup = csv_rows(shared_data / "geo" / "lookups" / LSOA_LOOKUP)
    boroughs = {r[8] for r in lookup}
    _, rows = csv_rows(population_dir(shared_data) / "census2021-ts007a-lsoa.csv")
    london = {r[2] for r in rows if r[1][:-5] in boroughs}
    assert len(london) == 4_994
    table = parsed["census2021-ts007a-lsoa.csv"].tables["population"]
    where = f"area_code IN {in_list(london)}"
    assert total(table, f"{where} AND characteristic = 'total'") == 8_799_631
    assert total(table, f"{where} AND group_label IN ('10-14', '15-19', '20-24')") == 1_614_056
    assert total(table, f"{where} AND age_from >= 10 AND age_to <= 24") == 1_614_056
    assert set(table["area_level"].to_pylist()) == {"lsoa"}
    assert set(table["area_vintage"].to_pylist()) == {"2021"}
    assert set(table["year"].to_pylist()) == {2021}


@pytest.mark.slow
def test_ts007_london_boroughs_single_years_only(parsed: dict[str, Parsed]) -> None:
    table = parsed["census2021-ts007-ltla.csv"].tables["population"]
    where = f"area_code IN {in_list(LONDON_LADS)}"
    assert total(table, f"{where} AND characteristic = 'total'") == 8_799_756
    # Bands and single years both exist in the file: only single years were kept, so summing
    # ages does not double count.
    assert total(table, f"{where} AND characteristic = 'age'") == 8_799_756
    assert total(table, f"{where} AND age_from BETWEEN 10 AND 24") == 1_614_010
    labels = [r["group_label"] for r in table.slice(0, 102).to_pylist()]
    assert labels[:3] == ["all", "0", "1"] and labels[-1] == "100+"
    assert "10-15" not in set(table["group_label"].to_pylist())
    assert set(table["area_level"].to_pylist()) == {"lad"}
    assert set(table["area_vintage"].to_pylist()) == {None}
    regions = parsed["census2021-ts007-rgn.csv"].tables["population"]
    assert set(regions["area_level"].to_pylist()) == {"region"}
    assert "W92000004" in set(regions["area_code"].to_pylist())


@pytest.mark.slow
def test_census2021_msoa_single_year_london_total(parsed: dict[str, Parsed],
                                                  shared_data: Path) -> None:
    table = parsed["census2021_msoa21_age_single_year_ew.csv"].tables["population"]
    london = london_msoa(shared_data, "MSOA21CD")
    assert len(london) == 1_002
    where = f"area_code IN {in_list(london)}"
    assert total(table, f"{where} AND characteristic = 'total'") == 8_799_765
    assert total(table, f"{where} AND characteristic = 'age'") == 8_799_765


@pytest.mark.slow
def test_ts021_london_ethnic_groups(parsed: dict[str, Parsed], shared_data: Path) -> None:
    table = parsed["census2021-ts021-msoa.csv"].tables["population"]
    london = london_msoa(shared_data, "MSOA21CD")
    where = f"area_code IN {in_list(london)}"
    assert total(table, f"{where} AND characteristic = 'total'") == 8_799_928
    black = "Black, Black British, Black Welsh, Caribbean or African"
    assert total(table, f"{where} AND group_label = '{black}'") == 1_188_372
    assert total(table, f"{where} AND group_label = '{black}: African'") == 697_061
    assert total(table, f"{where} AND group_label = '{black}: Caribbean'") == 345_385
    assert total(table, f"{where} AND group_label = '{black}: Other Black'") == 145_926
    assert total(table, f"{where} AND group_label = 'White'") == 4_731_175
    assert total(table, f"{where} AND group_level = 'high'") == 8_799_928
    assert total(table, f"{where} AND group_level = 'detailed'") == 8_799_928
    levels = {(r["group_label"], r["group_level"]) for r in table.slice(0, 25).to_pylist()}
    assert (black, "high") in levels and (f"{black}: African", "detailed") in levels


@pytest.mark.slow
def test_qs201ew_london_total(parsed: dict[str, Parsed]) -> None:
    table = parsed["census2011_qs201ew_ethnic_group_la_ew.csv"].tables["population"]
    where = f"area_code IN {in_list(LONDON_LADS)}"
    assert total(table, f"{where} AND characteristic = 'total'") == 8_173_941
    assert total(table, f"{where} AND group_level = 'high'") == 8_173_941
    assert set(table["year"].to_pylist()) == {2011}
    assert total(table, "area_code = 'E06000005' AND group_label = 'Black'") == 357


@pytest.mark.slow
def test_codes_checked_against_loaded_geography(shared_data: Path) -> None:
    london = london_lsoa11(shared_data)
    ref = ReferenceData.complete_lists({("lsoa", "2011"): frozenset(london - {"E01000001"})})
    result = Population().parse(
        population_dir(shared_data) / "london_lsoa11_mid2019_population_broad_age.csv", ref)
    assert [(p.row, p.column, p.value, p.message) for p in result.problems] == [
        (2, "LSOA11CD", "E01000001", "is not a known 2011 LSOA code")]
    assert result.rows_stored == 4_834
    assert result.meta["area_codes_checked"] == {"lsoa": "against the loaded geography"}



@pytest.mark.slow
def test_wales_counts_as_a_region_when_codes_are_checked(shared_data: Path) -> None:
    # ONS lists Wales (a country, W92000004) among the regions; the loaded geography here
    # knows only London's region code, so the other English regions are reported.
    ref = ReferenceData.complete_lists({("region", None): frozenset({"E12000007"}),
                                    ("country", None): frozenset({"W92000004"})})
    result = Population().parse(population_dir(shared_data) / "census2021-ts007-rgn.csv", ref)
    assert [p.value for p in result.problems] == [
        f"E1200000{n}" for n in (1, 2, 3, 4, 5, 6, 8, 9)]
    assert {p.message for p in result.problems} == {"is not a known region code"}
    assert "--skip-invalid" in result.problems[0].action
    assert set(result.tables["population"]["area_code"].to_pylist()) == {"E12000007",
                                                                         "W92000004"}


# -- hand-made bad files -----------------------------------------------------------------

SAPE_BANDS = ("0-15", "16-29", "30-44", "45-64", "65+")
SAPE_HEADER = ["LSOA11CD", "LSOA11NM", "MSOA11CD", "MSOA11NM", "LAD11CD", "LAD11NM"] + [
    f"{sex}_{band}" for sex in ("Persons", "Males", "Females")
    for band in ("All-Ages", *SAPE_BANDS)]


def sape_row(code: str, persons: Sequence[int], males: Sequence[int]) -> list[object]:
    females = [p - m for p, m in zip(persons, males, strict=True)]
    out: list[object] = [code, "name", "E02000001", "msoa", "E09000001", "City of London"]
    for bands in (persons, males, females):
        out += [sum(bands), *bands]
    return out


def problems_by_row(problems: list[Problem]) -> dict[int | None, list[tuple[str | None, str]]]:
    out: dict[int | None, list[tuple[str | None, str]]] = {}
    for p in problems:
        out.setdefault(p.row, []).append((p.column, p.message))
    return out


def test_bad_mid_year_file_every_problem_located(tmp_path: Path) -> None:
    good = sape_row("E01000001", [10, 20, 30, 40, 50], [5, 10, 15, 20, 25])
    negative = sape_row("E01000002", [10, 20, 30, 40, 50], [5, 10, 15, 20, 25])
    negative[SAPE_HEADER.index("Persons_16-29")] = "-5"
    unbalanced = sape_row("E01000003", [10, 20, 30, 40, 50], [5, 10, 15, 20, 25])
    unbalanced[SAPE_HEADER.index("Persons_All-Ages")] = 151
    wrong_level = sape_row("E02000001", [1, 1, 1, 1, 1], [0, 0, 0, 0, 0])
    repeated = sape_row("E01000001", [1, 1, 1, 1, 1], [0, 0, 0, 0, 0])
    thousands = sape_row("E01000004", [300, 300, 300, 300, 300], [100, 100, 100, 100, 100])
    thousands[SAPE_HEADER.index("Persons_All-Ages")] = "1,500"
    blank = sape_row("E01000005", [1, 1, 1, 1, 1], [0, 0, 0, 0, 0])
    blank[SAPE_HEADER.index("Females_65+")] = ""
    path = write_csv(tmp_path / "test_mid2019.csv", SAPE_HEADER,
                     [good, negative, unbalanced, wrong_level, repeated, thousands, blank])
    result = Population().parse(path, ReferenceData())
    by_row = problems_by_row(result.problems)
    assert by_row == {
        3: [("Persons_16-29", "is not a count of people (a whole number, 0 or more)")],
        4: [("Persons_All-Ages", "is not the sum of the Persons age bands in this row"),
            ("Persons_All-Ages", "is not Males_All-Ages + Females_All-Ages in this row")],
        5: [("LSOA11CD", "is not an LSOA code (E01 or W01 and six digits)")],
        6: [("LSOA11CD", "repeats an area code already given on an earlier row")],
        8: [("Females_65+", "is not a count of people (a whole number, 0 or more)")],
    }
    assert all(p.file == "test_mid2019.csv" and p.action for p in result.problems)
    assert [p.value for p in result.problems if p.row == 3] == ["-5"]
    assert result.rows_read == 7 and result.rows_rejected == 5 and result.rows_stored == 2
    table = result.tables["population"]
    assert sorted(set(table["source_row"].to_pylist())) == [2, 7]
    assert total(table, "area_code = 'E01000004' AND sex = 'persons' "
                        "AND characteristic = 'total'") == 1_500


def test_mid_year_file_without_year_in_name_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "london_lsoa_population.csv", SAPE_HEADER,
                     [sape_row("E01000001", [1, 1, 1, 1, 1], [0, 0, 0, 0, 0])])
    with pytest.raises(InputError) as err:
        Population().parse(path, ReferenceData())
    [problem] = err.value.problems
    assert problem.row is None and problem.file == "london_lsoa_population.csv"
    assert "does not say which year" in problem.message
    assert "midYYYY" in problem.action


def test_unknown_layout_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "people.csv", ["area", "people"], [["E01000001", 5]])
    with pytest.raises(InputError) as err:
        Population().parse(path, ReferenceData())
    [problem] = err.value.problems
    assert problem.row is None
    assert problem.message == "is not a population layout this format knows"


def test_age_columns_with_a_gap_are_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "msoa_mid2019.csv", ["MSOA Code", "Population", "0", "1", "3+"],
                     [["E02000001", 4, 1, 1, 2]])
    with pytest.raises(InputError) as err:
        Population().parse(path, ReferenceData())
    [problem] = err.value.problems
    assert "do not cover every age once: ages from 2 are missing" in problem.message


def copy_rows(shared_data: Path, name: str, tmp_path: Path, rows: int = 2
              ) -> tuple[list[str], list[list[str]]]:
    header, records = csv_rows(population_dir(shared_data) / name)
    return header, [list(r) for r in records[:rows]]


def test_ts007_band_that_disagrees_with_its_single_years(shared_data: Path,
                                                         tmp_path: Path) -> None:
    header, rows = copy_rows(shared_data, "census2021-ts007-ltla.csv", tmp_path, 3)
    band = "Age: Aged 10 to 15 years; measures: Value"
    rows[1][header.index(band)] = str(int(rows[1][header.index(band)]) + 1)
    rows[2][header.index("date")] = "2020"
    rows[2][header.index("geography code")] = "E05000001"
    path = write_csv(tmp_path / "census2021-ts007-ltla.csv", header, rows)
    result = Population().parse(path, ReferenceData())
    assert problems_by_row(result.problems) == {
        3: [(band, "is not the sum of the single years 10-15 in this row")],
        4: [("geography code", "is not an LSOA code (E01 or W01 and six digits) or an MSOA "
             "code (E02 or W02 and six digits) or a local authority district code (E06, E07, "
             "E08, E09 or W06 and six digits) or a region code (E12 and six digits, or "
             "W92000004 for Wales)"),
            ("date", "is not 2021: Census 2021 table TS007 counts people on census day")],
    }
    assert result.rows_stored == 1


def test_ts021_groups_that_do_not_add_up(shared_data: Path, tmp_path: Path) -> None:
    header, rows = copy_rows(shared_data, "census2021-ts021-msoa.csv", tmp_path, 3)
    white = "Ethnic group: White"
    rows[0][header.index(white)] = str(int(rows[0][header.index(white)]) + 3)
    rows[2][header.index("Ethnic group: White: Roma")] = "n/a"
    path = write_csv(tmp_path / "ts021.csv", header, rows)
    result = Population().parse(path, ReferenceData())
    assert problems_by_row(result.problems) == {
        2: [("Ethnic group: Total: All usual residents",
             "is not the sum of the 5 high-level ethnic groups in this row"),
            (white, "is not the sum of its detailed ethnic groups in this row")],
        4: [("Ethnic group: White: Roma",
             "is not a count of people (a whole number, 0 or more)")],
    }


def test_ts021_missing_category_is_refused(shared_data: Path, tmp_path: Path) -> None:
    header, rows = copy_rows(shared_data, "census2021-ts021-msoa.csv", tmp_path)
    drop = header.index("Ethnic group: White: Roma")
    path = write_csv(tmp_path / "ts021.csv", header[:drop] + header[drop + 1:],
                     [r[:drop] + r[drop + 1:] for r in rows])
    with pytest.raises(InputError) as err:
        Population().parse(path, ReferenceData())
    [problem] = err.value.problems
    assert (problem.row, problem.column, problem.message) == (
        1, "Ethnic group: White: Roma", "required column is missing")


def test_qs201ew_rural_urban_split_is_refused(shared_data: Path, tmp_path: Path) -> None:
    header, rows = copy_rows(shared_data, "census2011_qs201ew_ethnic_group_la_ew.csv", tmp_path)
    rows[1][header.index("Rural Urban")] = "Urban (total)"
    path = write_csv(tmp_path / "qs201ew.csv", header, rows)
    result = Population().parse(path, ReferenceData())
    assert [(p.row, p.column, p.value) for p in result.problems] == [
        (3, "Rural Urban", "Urban (total)")]
    assert "rural/urban breakdown" in result.problems[0].message


def test_age_labels() -> None:
    assert parse_age("Aged under 1 year") == (0, 0)
    assert parse_age("Aged 1 year") == (1, 1)
    assert parse_age("Aged 4 years and under") == (0, 4)
    assert parse_age("Aged 10 to 14 years") == (10, 14)
    assert parse_age("Aged 100 years and over") == (100, None)
    assert parse_age("90+") == (90, None)
    assert parse_age("16-29") == (16, 29)
    assert parse_age("All-Ages") is None
    assert [age_label(0, 0), age_label(10, 14), age_label(90, None)] == ["0", "10-14", "90+"]


# -- end to end --------------------------------------------------------------------------

@pytest.mark.slow
def test_ingest_real_file_end_to_end(store: EvidenceStore, shared_data: Path) -> None:
    path = population_dir(shared_data) / "london_lsoa11_mid2019_population_broad_age.csv"
    result = ingest_file(store, "population", path)
    assert (result.status, result.rows_read, result.rows_stored, result.rows_rejected) == (
        "imported", 4_835, 4_835, 0)
    assert result.records == {"population": 4_835 * 18}
    table = store.table("population")
    assert table is not None
    assert total(table, "sex = 'persons' AND characteristic = 'total'") == 8_961_989
    assert store.imports()[0]["period_start"] == "2019-06"


def test_ingest_bad_file_refused_whole_or_skips_rows(store: EvidenceStore,
                                                     tmp_path: Path) -> None:
    bad = sape_row("E01000002", [1, 1, 1, 1, 1], [0, 0, 0, 0, 0])
    bad[SAPE_HEADER.index("Males_0-15")] = "x"
    path = write_csv(tmp_path / "pop_mid2019.csv", SAPE_HEADER,
                     [sape_row("E01000001", [1, 2, 3, 4, 5], [0, 1, 1, 2, 2]), bad])
    with pytest.raises(InputError) as err:
        ingest_file(store, "population", path)
    assert err.value.problems[0].row == 3 and err.value.problems[0].column == "Males_0-15"
    assert store.imports() == [] and store.table("population") is None
    result = ingest_file(store, "population", path, skip_invalid=True)
    assert (result.rows_read, result.rows_stored, result.rows_rejected) == (2, 1, 1)
    assert [(r["row"], r["col"]) for r in store.rejected_rows(result.import_id)] == [
        (3, "Males_0-15")]
