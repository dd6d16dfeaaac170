"""The ONS lookup adapter against every real lookup file, and hand-made bad files."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from vru.adapters.sources.base import Parsed, ReferenceData
from vru.adapters.sources.lookup import Lookup
from vru.adapters.store.evidence_store import EvidenceStore
from vru.domain.problems import InputError
from vru.services.ingest import ingest_file

# Rows per file, from shared/data/geo/SOURCES.md section 2.
LOOKUP_ROWS = {
    "ons_lsoa11_to_ward2018_to_lad2018_ew.csv": 34_753,
    "ons_lsoa11_to_ward2019_to_lad2019_ew.csv": 34_753,
    "ons_msoa11_to_ward2018_to_lad2018_ew.csv": 7_201,
    "london_lsoa11_msoa11_ward2018_lad2018.csv": 4_835,
    "london_msoa_la_2011_2021.csv": 1_022,
    "london_ward_all_codes_since2015.csv": 1_274,
    "ons_lsoa11_to_lsoa21_to_lad22_bestfit_ew.csv": 34_753,
}

_CACHE: dict[str, Parsed] = {}


def parse(path: Path) -> Parsed:
    key = str(path)
    if key not in _CACHE:
        _CACHE[key] = Lookup().parse(path, ReferenceData())
    return _CACHE[key]


def lookups(shared_data: Path, name: str) -> Path:
    return shared_data / "geo" / "lookups" / name


def counts(parsed: Parsed, table: str, *cols: str) -> Counter[tuple[object, ...]]:
    t = parsed.tables[table]
    return Counter(zip(*(t.column(c).to_pylist() for c in cols), strict=True))


@pytest.mark.parametrize(("name", "rows"), sorted(LOOKUP_ROWS.items()))
def test_every_real_lookup_reads_whole(shared_data: Path, name: str, rows: int) -> None:
    parsed = parse(lookups(shared_data, name))
    assert parsed.rows_read == rows
    assert parsed.problems == []
    assert parsed.rows_stored + parsed.rows_rejected == parsed.rows_read == rows
    areas = parsed.tables["areas"]
    assert areas.num_rows > 0 and parsed.tables["area_links"].num_rows > 0
    assert None not in areas.column("code").to_pylist()
    assert set(parsed.tables["area_links"].column("relation").to_pylist()) <= {
        "within", "best_fit", "successor"}


def test_lsoa_to_ward_2018(shared_data: Path) -> None:
    p = parse(lookups(shared_data, "ons_lsoa11_to_ward2018_to_lad2018_ew.csv"))
    levels = counts(p, "areas", "level", "vintage")
    assert levels[("lsoa", "2011")] == 34_753
    assert levels[("lad", "2018")] == 348
    rel = counts(p, "area_links", "child_level", "parent_level", "relation")
    assert rel[("lsoa", "ward", "best_fit")] == 34_753  # ONS: best fit, not nesting
    assert rel[("lsoa", "lad", "within")] == 34_753
    assert rel[("ward", "lad", "within")] == levels[("ward", "2018")]
    assert p.meta["row_unit"] == "LSOA11CD"
    assert p.meta["ignored_columns"] == ["FID"]
    # The Welsh name is kept where given.
    welsh = [n for n in p.tables["areas"].column("welsh_name").to_pylist() if n]
    assert welsh


def test_ward_2019_vintage(shared_data: Path) -> None:
    p = parse(lookups(shared_data, "ons_lsoa11_to_ward2019_to_lad2019_ew.csv"))
    levels = counts(p, "areas", "level", "vintage")
    assert levels[("lad", "2019")] == 339
    assert ("ward", "2019") in levels and ("ward", "2018") not in levels


def test_lsoa_2011_to_2021_best_fit(shared_data: Path) -> None:
    p = parse(lookups(shared_data, "ons_lsoa11_to_lsoa21_to_lad22_bestfit_ew.csv"))
    links = p.tables["area_links"]
    best = [(c, pc) for c, pl, r, pc in zip(
        links.column("child_code").to_pylist(), links.column("parent_level").to_pylist(),
        links.column("relation").to_pylist(), links.column("parent_code").to_pylist(),
        strict=True) if r == "best_fit" and pl == "lsoa"]
    assert len(best) == 34_753
    # SOURCES.md: London's 4,835 2011 LSOAs map onto 4,811 2021 LSOAs.
    london_lsoa21 = {
        c for c, pl, pc in zip(links.column("child_code").to_pylist(),
                               links.column("parent_level").to_pylist(),
                               links.column("parent_code").to_pylist(), strict=True)
        if pl == "lad" and pc.startswith("E09") and c in {b for _a, b in best}}
    assert len(london_lsoa21) == 4_811
    assert p.meta["had_bom"] is True


def test_ward_codes_since_2015_take_their_vintage_from_sourcefile(shared_data: Path) -> None:
    p = parse(lookups(shared_data, "london_ward_all_codes_since2015.csv"))
    levels = counts(p, "areas", "level", "vintage")
    assert levels[("ward", "2016")] == 654
    assert levels[("ward", "2018")] == 90
    assert levels[("ward", "2022")] == 530
    assert levels[("region", None)] == 1 and levels[("lad", "active")] == 33
    assert p.meta["columns"]["WDCD"]["vintage"] == "from column SOURCEFILE"


def test_msoa_codes_with_census_columns(shared_data: Path) -> None:
    p = parse(lookups(shared_data, "london_msoa_la_2011_2021.csv"))
    levels = counts(p, "areas", "level", "vintage")
    assert levels[("msoa", "2011")] == 983
    assert levels[("msoa", "2021")] == 1_002
    assert p.meta["row_unit"] is None  # MSOACD stands for MSOA11CD / MSOA21CD
    assert sorted(p.meta["empty_code_columns"]) == ["CAUTHCD", "LAD17CD"]
    hcl = dict(zip(p.tables["areas"].column("code").to_pylist(),
                   p.tables["areas"].column("hcl_name").to_pylist(), strict=True))
    assert hcl["E02000002"] == "Marks Gate"
    # Every London MSOA is linked to region E12000007 through its LAD.
    rel = counts(p, "area_links", "child_level", "parent_level", "relation")
    assert rel[("lad", "region", "within")] == 66  # 33 LADs x (LAD20CD, LADCD_ACTIVE)


def test_london_derived_lookup(shared_data: Path) -> None:
    p = parse(lookups(shared_data, "london_lsoa11_msoa11_ward2018_lad2018.csv"))
    levels = counts(p, "areas", "level", "vintage")
    # SOURCES.md: 4,835 LSOAs in 637 distinct 2018 wards and 33 LADs.
    assert levels == Counter({("lsoa", "2011"): 4_835, ("msoa", "2011"): 983,
                              ("ward", "2018"): 637, ("lad", "2018"): 33})
    rel = counts(p, "area_links", "child_level", "parent_level", "relation")
    assert ("msoa", "ward", "within") not in rel  # the row's ward is the LSOA's, not the MSOA's
    assert rel[("msoa", "lad", "within")] == 983


def test_ingest_accounts_for_every_row(shared_data: Path, store: EvidenceStore) -> None:
    path = lookups(shared_data, "london_lsoa11_msoa11_ward2018_lad2018.csv")
    result = ingest_file(store, "lookup", path)
    assert result.rows_read == 4_835 == result.rows_stored + result.rows_rejected
    assert set(store.dataset_files()) == {"areas", "area_links"}
    assert ingest_file(store, "lookup", path).status == "already imported"


# -- hand-made bad files ------------------------------------------------------------------

HEADER = "LSOA11CD,LSOA11NM,WD18CD,WD18NM,LAD18CD,LAD18NM\n"
GOOD = [
    "E01000001,City of London 001A,E05009288,Aldersgate,E09000001,City of London",
    "E01000002,City of London 001B,E05009302,Cripplegate,E09000001,City of London",
    "E01000003,City of London 001C,E05009302,Cripplegate,E09000001,City of London",
]


def write(tmp_path: Path, text: str, name: str = "lookup.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_unrecognised_scheme_lists_the_recognised_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "area,parent\nA,B\n")
    with pytest.raises(InputError) as err:
        Lookup().parse(path, ReferenceData())
    (problem,) = err.value.problems
    assert problem.row == 1
    assert "has no column of area codes this adapter recognises" in problem.message
    for scheme in ("LSOA11CD", "WD18CD", "LADCD_ACTIVE", "MSOACD", "SOURCEFILE"):
        assert scheme in problem.action


def test_code_column_without_a_year_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "LSOACD,LSOANM,LAD18CD\nE01000001,x,E09000001\n")
    with pytest.raises(InputError) as err:
        Lookup().parse(path, ReferenceData())
    assert "'LSOACD'" in err.value.problems[0].message
    assert "LSOA22CD" in err.value.problems[0].message


def test_bad_code_empty_name_and_two_parents(tmp_path: Path) -> None:
    rows = [*GOOD,
            "E02000004,City of London 001D,E05009288,Aldersgate,E09000001,City of London",
            "E01000005,,E05009288,Aldersgate,E09000001,City of London",
            "E01000001,City of London 001A,E05009302,Cripplegate,E09000001,City of London",
            "E01000007,City of London 001G,E05009288,Aldersgate,E09000001,City of Londres"]
    path = write(tmp_path, HEADER + "\n".join(rows) + "\n")
    parsed = Lookup().parse(path, ReferenceData())
    got = {(p.row, p.column) for p in parsed.problems}
    assert (5, "LSOA11CD") in got  # an MSOA code in the LSOA column
    assert (6, "LSOA11NM") in got  # no name
    assert (7, "LSOA11CD") in got  # E01000001 again, with another ward
    assert (8, "LAD18NM") in got   # another name for E09000001
    by_row = {p.row: p for p in parsed.problems}
    assert "is not a lower layer super output area code" in by_row[5].message
    assert by_row[5].value == "E02000004"
    assert "more than one row with different WD18CD" in by_row[7].message
    assert parsed.rows_read == 7 and parsed.rows_rejected == 4
    assert parsed.rows_stored + parsed.rows_rejected == parsed.rows_read
    # The bad rows left nothing behind.
    codes = set(parsed.tables["areas"].column("code").to_pylist())
    assert "E02000004" not in codes and "E01000005" not in codes


def test_refused_whole_or_skipped_row_by_row(tmp_path: Path, store: EvidenceStore) -> None:
    rows = [*GOOD, "E01000004,City of London 001D,E05009288,Aldersgate,E09000001,"]
    path = write(tmp_path, HEADER + "\n".join(rows) + "\n")
    with pytest.raises(InputError) as err:
        ingest_file(store, "lookup", path)
    assert err.value.problems[0].row == 5
    assert err.value.problems[0].column == "LAD18NM"
    assert not store.exists()
    result = ingest_file(store, "lookup", path, skip_invalid=True)
    assert (result.rows_read, result.rows_stored, result.rows_rejected) == (4, 3, 1)
    (rejected,) = store.rejected_rows(result.import_id)
    assert rejected["row"] == 5 and "needs a name" in rejected["reason"]


def test_repeated_row_is_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "\n".join([*GOOD, GOOD[1]]) + "\n")
    parsed = Lookup().parse(path, ReferenceData())
    assert [(p.row, p.message) for p in parsed.problems] == [(5, "repeats an earlier row")]


def test_lad_successors_and_pseudo_codes(tmp_path: Path) -> None:
    text = ("LSOA11CD,LSOA11NM,LAD18CD,LAD18NM,LAD19CD,LAD19NM,RGNCD\n"
            "E01015232,Christchurch 001A,E07000048,Christchurch,E06000058,BCP,E12000009\n"
            "E01015233,Christchurch 001B,E07000048,Christchurch,E06000058,BCP,E12000009\n"
            "W01000001,Isle of Anglesey 007A,W06000001,Anglesey,W06000001,Anglesey,"
            "W99999999\n")
    parsed = Lookup().parse(write(tmp_path, text), ReferenceData())
    assert parsed.problems == []
    links = parsed.tables["area_links"].to_pylist()
    succ = [(r["child_code"], r["parent_code"]) for r in links if r["relation"] == "successor"]
    assert succ == [("E07000048", "E06000058")]  # Anglesey kept its code: no successor
    assert "W99999999" not in parsed.tables["areas"].column("code").to_pylist()
    regions = [r for r in links if r["parent_level"] == "region"]
    assert {r["child_code"] for r in regions} == {"E01015232", "E01015233", "E07000048",
                                                  "E06000058"}


def test_sourcefile_must_be_a_year(tmp_path: Path) -> None:
    text = ("WDCD,WDNM,LADCD,LADNM,SOURCEFILE\n"
            "E05000026,Abbey,E09000002,Barking and Dagenham,2016\n"
            "E05000027,Alibon,E09000002,Barking and Dagenham,20x6\n")
    parsed = Lookup().parse(write(tmp_path, text), ReferenceData())
    assert [(p.row, p.column, p.value) for p in parsed.problems] == [
        (3, "SOURCEFILE", "20x6"), (3, "SOURCEFILE", "20x6")]
    assert counts(parsed, "areas", "level", "vintage") == Counter(
        {("ward", "2016"): 1, ("lad", "2016"): 1})


def test_alias_code_must_match_its_census_column(tmp_path: Path) -> None:
    text = ("MSOACD,MSOANM,MSOA11CD,MSOA21CD,LADCD_ACTIVE,LADNM_ACTIVE\n"
            "E02000001,City of London 001,E02000001,E02000001,E09000001,City of London\n"
            "E02000002,Barking 001,E02000009,,E09000002,Barking and Dagenham\n")
    parsed = Lookup().parse(write(tmp_path, text), ReferenceData())
    (problem,) = parsed.problems
    assert (problem.row, problem.column) == (3, "MSOACD")
    assert "matches none of MSOA11CD, MSOA21CD" in problem.message
