"""Known-bad files are refused whole, with a located problem, and change nothing on disk.

Each file in ``tests/fixtures/bad/`` holds exactly one failure. For each, the import is
refused (``InputError``), the first problem names the expected row and column and says what
is wrong, and the data directory (which already holds one good import) is byte-for-byte as
it was: every file under it is hashed before and after.

Cases for formats whose adapter module does not exist yet are skipped, not failed, until
it does (see ``_needs_adapter``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from vru.adapters.sources import _REGISTRY
from vru.adapters.store.evidence_store import EvidenceStore
from vru.domain.problems import InputError
from vru.services.ingest import ingest_file

BAD = Path(__file__).resolve().parents[1] / "fixtures" / "bad"
GOOD_IMPORT = "crime/police_uk/2017-12/2017-12-city-of-london-street.csv"


@dataclass(frozen=True)
class Case:
    file: str
    format: str
    fragment: str
    row: int | None
    column: str | None


CASES = [
    # police.uk street: header
    Case("street_missing_column.csv", "police-uk-street", "required column is missing", 1,
         "Crime type"),
    Case("street_unexpected_column.csv", "police-uk-street", "unexpected column", 1, "Notes"),
    Case("street_duplicated_column.csv", "police-uk-street", "duplicated column", 1, "Month"),
    # police.uk street: values
    Case("street_bad_lsoa_code.csv", "police-uk-street", "is not an LSOA code", 3, "LSOA code"),
    Case("street_month_13.csv", "police-uk-street", "impossible month", 2, "Month"),
    Case("street_month_00.csv", "police-uk-street", "impossible month", 3, "Month"),
    Case("street_month_two_digit_year.csv", "police-uk-street", "YYYY-MM", 4, "Month"),
    Case("street_outside_england_wales.csv", "police-uk-street",
         "outside England and Wales", 3, "Longitude"),
    Case("street_eastings_as_longitude.csv", "police-uk-street", "not eastings/northings", 2,
         "Longitude"),
    Case("street_one_coordinate.csv", "police-uk-street",
         "only one of longitude and latitude", 3, "Latitude"),
    Case("street_non_numeric_coordinate.csv", "police-uk-street", "is not a number", 2,
         "Longitude"),
    Case("street_unknown_crime_type.csv", "police-uk-street",
         "'Knife crime'", 3, "Crime type"),
    # police.uk street: the file as text
    Case("street_cp1252_location.csv", "police-uk-street", "read as Windows-1252 it is 'é'", 3,
         "Location"),
    Case("street_utf16.csv", "police-uk-street", "is UTF-16 encoded", None, None),
    Case("street_truncated.csv", "police-uk-street", "the file looks truncated", 4, None),
    Case("street_too_many_fields.csv", "police-uk-street",
         "more fields than the header (13 of 12", 3, None),
    Case("street_empty.csv", "police-uk-street", "is empty (0 bytes)", None, None),
    Case("street_header_only.csv", "police-uk-street", "has a header but no data rows", None,
         None),
    Case("street_whitespace_only.csv", "police-uk-street", "holds only blank space", None,
         None),
    Case("street_zip_renamed.csv", "police-uk-street", "it is a ZIP archive", None, None),
    Case("street_unbalanced_quote.csv", "police-uk-street", "unbalanced quote", 3, None),
    Case("street_blank_line.csv", "police-uk-street", "blank line in the middle", 3, None),
    # police.uk stop and search
    Case("ss_unknown_type.csv", "police-uk-stop-search", "'Car search'", 3, "Type"),
    Case("ss_unknown_gender.csv", "police-uk-stop-search", "is not a known gender", 2,
         "Gender"),
    Case("ss_unknown_age_range.csv", "police-uk-stop-search", "is not a known age range", 3,
         "Age range"),
    Case("ss_date_without_offset.csv", "police-uk-stop-search", "ISO 8601 form with a UTC offset",
         2, "Date"),
    Case("ss_impossible_date.csv", "police-uk-stop-search", "impossible date", 4, "Date"),
    Case("ss_bad_boolean.csv", "police-uk-stop-search", "is not True, False or empty", 2,
         "Outcome linked to object of search"),
    Case("ss_one_coordinate.csv", "police-uk-stop-search", "only one of longitude and latitude",
         4, "Latitude"),
    Case("ss_non_numeric_coordinate.csv", "police-uk-stop-search", "is not a number", 2,
         "Latitude"),
    Case("ss_outside_england_wales.csv", "police-uk-stop-search", "outside England and Wales",
         4, "Longitude"),
    Case("ss_missing_column.csv", "police-uk-stop-search", "required column is missing", 1,
         "Object of search"),
    Case("ss_gzip_renamed.csv", "police-uk-stop-search", "it is a gzip-compressed file", None,
         None),
    # MPS borough and ward counts
    Case("mps_borough_non_numeric_count.csv", "mps-borough", "is not a number", 3, "202402"),
    Case("mps_borough_negative_count.csv", "mps-borough", "is not a count", 4, "202402"),
    Case("mps_borough_impossible_month_column.csv", "mps-borough", "impossible month", 1,
         "202413"),
    Case("mps_borough_unknown_category.csv", "mps-borough", "KNIFE CRIME", 2,
         "MajorText | MinorText"),
    Case("mps_borough_duplicated_column.csv", "mps-borough", "duplicated column", 1, "202402"),
    Case("mps_ward_bad_ward_code.csv", "mps-ward", "is not a ward code", 3, "WardCode"),
    # MPS LSOA annual counts (the category is in the file name)
    Case("lsoa_annual_bad_lsoa_code-major-robbery.csv", "lsoa-annual", "is not an LSOA code", 3,
         "LSOA11CD"),
    Case("lsoa_annual_non_numeric_count-major-robbery.csv", "lsoa-annual", "is not a number", 2,
         "2012"),
    # Failures of the file as text, for the other CSV formats
    Case("homicide_cp1252_borough.csv", "homicide", "is not valid UTF-8", 3, "Borough"),
    Case("population_utf16.csv", "population", "is UTF-16 encoded", None, None),
    Case("imd_xlsx_renamed.csv", "imd", "it is a ZIP archive", None, None),
    Case("stations_whitespace_only.csv", "stations", "holds only blank space", None, None),
    Case("lookup_empty.csv", "lookup", "is empty (0 bytes)", None, None),
]


def _needs_adapter(fmt: str) -> None:
    """Skip while the format's adapter module has not been written yet."""
    module = _REGISTRY[fmt].split(":")[0]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"adapter module {module} for format {fmt!r} does not exist yet")


def snapshot(directory: Path) -> dict[str, str]:
    """sha256 of every file under ``directory``, by relative path."""
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def template_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory that already holds one good import."""
    data_dir = tmp_path_factory.mktemp("template") / "data"
    result = ingest_file(EvidenceStore(data_dir), "police-uk-street", shared_data / GOOD_IMPORT)
    assert result.status == "imported" and result.rows_stored == 651
    return data_dir


def test_every_fixture_file_has_a_case() -> None:
    files = {p.name for p in BAD.iterdir() if p.suffix == ".csv"}
    cased = [c.file for c in CASES]
    assert len(cased) == len(set(cased))
    assert files == set(cased)
    assert len(files) >= 22


@pytest.mark.parametrize("case", CASES, ids=[c.file.removesuffix(".csv") for c in CASES])
def test_bad_file_is_refused_located_and_changes_nothing(
        case: Case, template_store: Path, tmp_path: Path) -> None:
    _needs_adapter(case.format)
    data_dir = tmp_path / "data"
    shutil.copytree(template_store, data_dir)
    store = EvidenceStore(data_dir)
    before = snapshot(data_dir)
    with pytest.raises(InputError) as refused:
        ingest_file(store, case.format, BAD / case.file)
    first = refused.value.problems[0]
    assert first.file == case.file
    assert case.fragment in str(first), str(first)
    assert (first.row, first.column) == (case.row, case.column), str(first)
    assert snapshot(data_dir) == before
    assert len(store.imports()) == 1


def test_excel_bom_imports_the_same_as_without(tmp_path: Path) -> None:
    """A UTF-8 byte order mark (Excel's 'CSV UTF-8') is legitimate and changes no value."""
    text = (BAD / "street_month_13.csv").read_text(encoding="utf-8").replace("2020-13", "2020-01")
    plain = tmp_path / "plain" / "2020-01-leicestershire-street.csv"
    bom = tmp_path / "bom" / "2020-01-leicestershire-street.csv"
    for path, data in ((plain, text.encode()), (bom, b"\xef\xbb\xbf" + text.encode())):
        path.parent.mkdir()
        path.write_bytes(data)
    stores = {p: EvidenceStore(tmp_path / f"data-{p.parent.name}") for p in (plain, bom)}
    results = {p: ingest_file(s, "police-uk-street", p) for p, s in stores.items()}
    assert [r.status for r in results.values()] == ["imported", "imported"]
    assert results[plain].rows_stored == results[bom].rows_stored == 3
    assert (results[plain].meta["had_bom"], results[bom].meta["had_bom"]) == (False, True)
    tables = [s.table("street_crime") for s in stores.values()]
    assert tables[0] is not None and tables[1] is not None
    assert tables[0].drop_columns(["import_id"]).equals(tables[1].drop_columns(["import_id"]))
    assert tables[0].column_names[:2] == ["crime_id", "month"]  # no BOM in the first name


def test_refusal_lists_every_bad_row_not_just_the_first(tmp_path: Path) -> None:
    """Two bad values in two rows are both reported, each located."""
    text = (BAD / "street_month_13.csv").read_text(encoding="utf-8")
    path = tmp_path / "two.csv"
    path.write_text(text.replace("-1.129,52.640", "-1.129,"), encoding="utf-8")
    with pytest.raises(InputError) as refused:
        ingest_file(EvidenceStore(tmp_path / "data"), "police-uk-street", path)
    located = [(p.row, p.column) for p in refused.value.problems]
    assert located == [(2, "Month"), (3, "Latitude")]
    assert refused.value.total == 2
    assert not (tmp_path / "data").exists()
