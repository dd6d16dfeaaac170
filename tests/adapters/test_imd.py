"""Indices of Deprivation 2019: every deprivation file in the shared data, and bad files.

Row counts and ranks are checked against an independent reading of the CSV files with
Python's ``csv`` module; figures against ``shared/data/geo/SOURCES.md`` (section 3).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from vru.adapters.sources.base import Parsed, ReferenceData
from vru.adapters.sources.imd import Imd
from vru.adapters.store.evidence_store import EvidenceStore
from vru.domain.problems import InputError, Problem
from vru.services.ingest import ingest_file

FILE_1 = "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv"
FILE_2 = "File_2_-_IoD2019_Domains_of_Deprivation.csv"
FILE_6 = "File_6_-_IoD2019_Population_Denominators.csv"
LOOKUP = "ons_imd2019_rank_lookup_england.csv"
GLA = "GLA_ID_2019_for_London.xlsx"
MSOA = "msoa_imd2019_scores.csv"
DOMAINS = {"imd", "income", "employment", "education", "health", "crime", "barriers",
           "living_environment"}


def deprivation_dir(shared_data: Path) -> Path:
    return shared_data / "geo" / "deprivation"


def csv_dicts(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def whole(text: str) -> int:
    return int(text.replace(",", ""))


def values(table: pa.Table, domain: str, measure: str) -> dict[str, float]:
    """area code -> value for one domain and measure."""
    chosen = table.filter(pc.and_(pc.equal(table["domain"], domain),
                                  pc.equal(table["measure"], measure)))
    return dict(zip(chosen["area_code"].to_pylist(), chosen["value"].to_pylist(), strict=True))


def distinct(table: pa.Table, column: str) -> set[object]:
    return set(pc.unique(table[column]).to_pylist())


@pytest.fixture(scope="module")
def parsed(shared_data: Path) -> dict[str, Parsed]:
    adapter = Imd()
    return {name: adapter.parse(deprivation_dir(shared_data) / name, ReferenceData())
            for name in (FILE_1, FILE_2, FILE_6, LOOKUP, GLA, MSOA)}


@pytest.fixture(scope="module")
def file_1_ranks(shared_data: Path) -> dict[str, int]:
    """IMD rank per LSOA from File 1, read with the csv module ("29,199" -> 29199)."""
    return {r["LSOA code (2011)"]: whole(r["Index of Multiple Deprivation (IMD) Rank"])
            for r in csv_dicts(deprivation_dir(shared_data) / FILE_1)}


@pytest.fixture(scope="module")
def london_lsoas(shared_data: Path) -> set[str]:
    path = shared_data / "geo" / "lookups" / "london_lsoa11_msoa11_ward2018_lad2018.csv"
    return {r["LSOA11CD"] for r in csv_dicts(path)}


# -- the real files ----------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("name,records_per_row", [
    (FILE_1, 2), (FILE_2, 16), (FILE_6, 5), (LOOKUP, 1), (MSOA, 6)])
def test_every_csv_row_is_accounted_for(parsed: dict[str, Parsed], shared_data: Path,
                                        name: str, records_per_row: int) -> None:
    rows = csv_dicts(deprivation_dir(shared_data) / name)
    result = parsed[name]
    table = result.tables["deprivation"]
    assert result.rows_read == len(rows)
    assert result.problems == []
    assert result.rows_stored + result.rows_rejected == result.rows_read
    assert len(distinct(table, "source_row")) == len(rows)
    assert table.num_rows == len(rows) * records_per_row
    assert distinct(table, "edition") == {"IoD2019"}
    assert distinct(table, "area_vintage") == {"2011"}
    assert distinct(table, "source") == {name}


@pytest.mark.slow
def test_file_1_england_and_london(parsed: dict[str, Parsed], file_1_ranks: dict[str, int],
                                   london_lsoas: set[str]) -> None:
    result = parsed[FILE_1]
    assert result.rows_read == 32_844
    ranks = values(result.tables["deprivation"], "imd", "rank")
    assert ranks == file_1_ranks
    # Tied scores share a rank (26 pairs), so the ranks are not a permutation of 1..32,844.
    assert min(ranks.values()) == 1 and max(ranks.values()) == 32_844
    assert len(set(ranks.values())) == 32_844 - 26
    assert len(london_lsoas & set(ranks)) == 4_835
    assert ranks["E01000001"] == 29_199  # written "29,199" in the file
    deciles = values(result.tables["deprivation"], "imd", "decile")
    assert deciles["E01000001"] == 9


@pytest.mark.slow
def test_gla_workbook_matches_file_1_for_every_london_lsoa(
        parsed: dict[str, Parsed], file_1_ranks: dict[str, int],
        london_lsoas: set[str]) -> None:
    result = parsed[GLA]
    table = result.tables["deprivation"]
    assert result.rows_read == 4_835 and result.problems == []
    assert result.meta["sheet"] == "IMD 2019"
    gla_ranks = values(table, "imd", "rank")
    assert set(gla_ranks) == london_lsoas
    assert all(gla_ranks[code] == file_1_ranks[code] for code in london_lsoas)
    scores = values(table, "imd", "score")
    assert scores["E01000001"] == pytest.approx(6.208)
    assert values(table, "crime", "score")["E01000001"] == pytest.approx(-2.012)
    assert distinct(table, "domain") == DOMAINS
    assert table.num_rows == 4_835 * 8 * 3
    # Excel row numbers: the header is row 1.
    assert table["source_row"][0].as_py() == 2


@pytest.mark.slow
def test_file_2_domains_and_lookup_agree_with_file_1(
        parsed: dict[str, Parsed], file_1_ranks: dict[str, int]) -> None:
    domains = parsed[FILE_2].tables["deprivation"]
    assert distinct(domains, "domain") == DOMAINS
    assert values(domains, "imd", "rank") == file_1_ranks
    assert values(domains, "crime", "rank")["E01000001"] == 32_662
    assert values(parsed[LOOKUP].tables["deprivation"], "imd", "rank") == file_1_ranks


@pytest.mark.slow
def test_file_6_denominators(parsed: dict[str, Parsed], shared_data: Path) -> None:
    table = parsed[FILE_6].tables["deprivation"]
    rows = csv_dicts(deprivation_dir(shared_data) / FILE_6)
    expected = sum(whole(r["Total population: mid 2015 (excluding prisoners)"]) for r in rows)
    totals = values(table, "population", "denominator_total")
    assert sum(totals.values()) == expected
    assert totals["E01000001"] == 1_296  # written "1,296"
    assert distinct(table, "measure") == {
        "denominator_total", "denominator_aged_0_15", "denominator_aged_16_59",
        "denominator_aged_60_plus", "denominator_working_age"}


@pytest.mark.slow
def test_msoa_scores_are_marked_derived(parsed: dict[str, Parsed], shared_data: Path) -> None:
    result = parsed[MSOA]
    table = result.tables["deprivation"]
    assert result.meta["derived"] is True
    assert distinct(table, "derived") == {True}
    assert distinct(table, "area_level") == {"msoa"}
    london = {r["MSOAC"] for r in csv_dicts(deprivation_dir(shared_data) / MSOA)
              if r["REG"] == "London"}
    scores = values(table, "imd", "score")
    assert len(london & set(scores)) == 983
    assert scores["E02000001"] == pytest.approx(14.72048422)
    assert max(values(table, "imd", "rank").values()) == 6_791
    assert distinct(parsed[FILE_1].tables["deprivation"], "derived") == {False}


@pytest.mark.slow
def test_codes_checked_against_loaded_geography(shared_data: Path,
                                                london_lsoas: set[str]) -> None:
    ref = ReferenceData.complete_lists({("lsoa", "2011"): frozenset(london_lsoas)})
    result = Imd().parse(deprivation_dir(shared_data) / GLA, ref)
    assert result.problems == []
    ref = ReferenceData.complete_lists({("lsoa", "2011"): frozenset(london_lsoas - {"E01000002"})})
    result = Imd().parse(deprivation_dir(shared_data) / GLA, ref)
    assert [(p.file, p.row, p.column, p.message) for p in result.problems] == [
        (f"{GLA}, sheet 'IMD 2019'", 3, "geography code", "is not a known 2011 LSOA code")]


# -- hand-made bad files -----------------------------------------------------------------

FILE_1_HEADER = ["LSOA code (2011)", "LSOA name (2011)", "Local Authority District code (2019)",
                 "Local Authority District name (2019)",
                 "Index of Multiple Deprivation (IMD) Rank",
                 "Index of Multiple Deprivation (IMD) Decile"]


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows([[str(v) for v in r] for r in rows])
    return path


def located(problems: list[Problem]) -> list[tuple[int | None, str | None, str | None, str]]:
    return [(p.row, p.column, p.value, p.message) for p in problems]


def lsoa(code: str, rank: object, decile: object) -> list[object]:
    return [code, "name", "E09000001", "City of London", rank, decile]


RANK = "Index of Multiple Deprivation (IMD) Rank"
DECILE = "Index of Multiple Deprivation (IMD) Decile"
RANK_MESSAGE = "is not a rank: a whole number from 1 (most deprived) to 32,844"


def test_bad_file_1_every_problem_located(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "file_1.csv", FILE_1_HEADER, [
        lsoa("E01000001", "29,199", 9),      # 2 valid, thousands separator
        lsoa("E01000002", 0, 1),             # 3 rank too small
        lsoa("E01000003", 40_000, 10),       # 4 rank too large
        lsoa("E01000004", "abc", 5),         # 5 not a number
        lsoa("E01000005", 100, 11),          # 6 decile out of range
        lsoa("E01000006", 100, 5),           # 7 decile does not match rank
        lsoa("W01000001", 100, 1),           # 8 Welsh code
        lsoa("E01000001", 100, 1),           # 9 repeated code
        lsoa("", 100, 1),                    # 10 no code
        lsoa("E01000007", 3_284, 1),         # 11 valid: last rank of decile 1
        lsoa("E01000008", 3_285, 2),         # 12 valid: first rank of decile 2
        lsoa("E01000009", 12.5, 4),          # 13 rank not whole
    ])
    result = Imd().parse(path, ReferenceData())
    assert located(result.problems) == [
        (3, RANK, "0", RANK_MESSAGE),
        (4, RANK, "40000", RANK_MESSAGE),
        (5, RANK, "abc", RANK_MESSAGE),
        (6, DECILE, "11", "is not a decile: a whole number from 1 to 10"),
        (7, DECILE, "5", f"does not match the rank in column {RANK!r}: with 32,844 areas "
                         "ranked, decile = ceiling(rank x 10 / 32,844)"),
        (8, "LSOA code (2011)", "W01000001", "is not an English LSOA code (E01 and six "
                                             "digits): the English indices cover England only"),
        (9, "LSOA code (2011)", "E01000001",
         "repeats an area code already given on an earlier row"),
        (10, "LSOA code (2011)", "", "is empty: every row needs an area code"),
        (13, RANK, "12.5", RANK_MESSAGE),
    ]
    assert all(p.file == "file_1.csv" and p.action for p in result.problems)
    assert result.rows_read == 12 and result.rows_rejected == 9 and result.rows_stored == 3
    ranks = values(result.tables["deprivation"], "imd", "rank")
    assert ranks == {"E01000001": 29_199, "E01000007": 3_284, "E01000008": 3_285}


def test_unknown_column_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "file_1.csv", [*FILE_1_HEADER, "Happiness Score"],
                     [lsoa("E01000001", 1, 1) + ["3"]])
    with pytest.raises(InputError) as err:
        Imd().parse(path, ReferenceData())
    assert located(err.value.problems) == [
        (1, "Happiness Score", None,
         "is not a column of the English Indices of Deprivation 2019")]


def test_unknown_layout_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "imd.csv", ["code", "rank"], [["E01000001", 1]])
    with pytest.raises(InputError) as err:
        Imd().parse(path, ReferenceData())
    [problem] = err.value.problems
    assert problem.row is None and "is not an Indices of Deprivation layout" in problem.message


def test_msoa_ranks_run_to_6791(tmp_path: Path) -> None:
    header = ["MSOAC", "MSOAHOCLN", "LAD19C", "LAD19N", "REG", "LSOACOUNT", "POPMID15",
              "IMD19 SCORE", "MSOARANK", "MSOADECILE", "MSOAQUINTILE"]
    path = write_csv(tmp_path / "msoa.csv", header, [
        ["E02000001", "City", "E09000001", "City of London", "London", 6, 6687, 14.7, 4198, 7,
         4],
        ["E02000002", "Marks Gate", "E09000002", "Barking", "London", 4, 7379, 34.8, 7000, 10,
         5],
        ["E02000003", "Chadwell", "E09000002", "Barking", "London", -1, 7379, 34.8, 1060, 2, 3],
    ])
    result = Imd().parse(path, ReferenceData())
    assert located(result.problems) == [
        (3, "MSOARANK", "7000", "is not a rank: a whole number from 1 (most deprived) to 6,791"),
        (4, "LSOACOUNT", "-1", "is not a whole number, 0 or more"),
        (4, "MSOAQUINTILE", "3", "does not match the rank in column 'MSOARANK': with 6,791 "
                                 "areas ranked, quintile = ceiling(rank x 5 / 6,791)"),
    ]
    assert distinct(result.tables["deprivation"], "derived") == {True}


GLA_HEADER = ["geography code", "LSOA name (2011)", "Local Authority District code (2019)",
              "Local Authority District name (2019)",
              "Index of Multiple Deprivation (IMD) Score",
              "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)",
              "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of "
              "LSOAs)"]


def write_workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = openpyxl.Workbook()
    assert wb.active is not None
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def test_bad_workbook_problems_name_the_sheet_and_row(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "london.xlsx", {
        "Notes": [["These notes are not data"]],
        "IMD 2019": [
            list[object](GLA_HEADER),
            ["E01000001", "City 001A", "E09000001", "City of London", 6.208, 29199, 9],
            ["E01000002", "City 001B", "E09000001", "City of London", "n/a", 30379, 10],
            [None] * 7,  # an empty row is not data
            ["E01000003", "City 001C", "E09000001", "City of London", 5.5, 29000.0, 9],
            ["E01000005", "City 001E", "E09000001", "City of London", 7.1, 33000, 10],
        ],
    })
    result = Imd().parse(path, ReferenceData())
    sheet = "london.xlsx, sheet 'IMD 2019'"
    assert [(p.file, p.row, p.column, p.value, p.message) for p in result.problems] == [
        (sheet, 3, GLA_HEADER[4], "n/a", "is not a number"),
        (sheet, 6, GLA_HEADER[5], "33000", RANK_MESSAGE),
    ]
    assert result.rows_read == 4 and result.rows_stored == 2
    table = result.tables["deprivation"]
    assert distinct(table, "source_row") == {2, 5}
    assert values(table, "imd", "score") == {"E01000001": 6.208, "E01000003": 5.5}
    assert values(table, "imd", "rank")["E01000003"] == 29_000


def test_workbook_without_deprivation_sheet_is_refused(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "other.xlsx", {"Sheet1": [["a", "b"], [1, 2]]})
    with pytest.raises(InputError) as err:
        Imd().parse(path, ReferenceData())
    [problem] = err.value.problems
    assert problem.row is None and "(sheets: Sheet1)" in problem.message


def test_file_that_is_not_a_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"not a zip file")
    with pytest.raises(InputError) as err:
        Imd().parse(path, ReferenceData())
    assert "cannot be opened as an Excel workbook" in err.value.problems[0].message


# -- end to end --------------------------------------------------------------------------

@pytest.mark.slow
def test_ingest_gla_workbook_end_to_end(store: EvidenceStore, shared_data: Path) -> None:
    result = ingest_file(store, "imd", deprivation_dir(shared_data) / GLA)
    assert (result.status, result.rows_read, result.rows_stored, result.rows_rejected) == (
        "imported", 4_835, 4_835, 0)
    table = store.table("deprivation")
    assert table is not None and table.num_rows == 4_835 * 24
    assert values(table, "imd", "score")["E01000001"] == pytest.approx(6.208)


def test_ingest_bad_file_refused_whole(store: EvidenceStore, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "file_1.csv", FILE_1_HEADER,
                     [lsoa("E01000001", 1, 1), lsoa("E01000002", 0, 1)])
    with pytest.raises(InputError) as err:
        ingest_file(store, "imd", path)
    assert located(err.value.problems) == [(3, RANK, "0", RANK_MESSAGE)]
    assert store.imports() == []
    result = ingest_file(store, "imd", path, skip_invalid=True)
    assert (result.rows_stored, result.rows_rejected) == (1, 1)
    assert [r["row"] for r in store.rejected_rows(result.import_id)] == [3]
