"""Reading register import files (CSV and Excel) as located text rows; known-bad files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pytest

from vru.adapters.records.casefile import read_case_file, write_rows
from vru.domain.problems import InputError

REQUIRED = ("reference", "year")
OPTIONAL = ("incident_date", "ward")


def test_csv_with_bom_is_read_with_spreadsheet_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    path.write_bytes(b"\xef\xbb\xbfreference,year,ward\r\nA-1,2022,\r\nA-2,2023,Hoxton\r\n")
    f = read_case_file(path, REQUIRED, OPTIONAL)
    assert f.columns == ["reference", "year", "ward"]
    assert f.rows == [(2, {"reference": "A-1", "year": "2022", "ward": ""}),
                      (3, {"reference": "A-2", "year": "2023", "ward": "Hoxton"})]


@pytest.mark.parametrize(("name", "content", "words"), [
    ("utf16.csv", "reference,year\nA,2022\n".encode("utf-16"), "UTF-16"),
    ("ragged.csv", b"reference,year\nA,2022,extra\n", "more fields"),
    ("missing.csv", b"reference,ward\nA,x\n", "required column is missing"),
    ("empty.csv", b"", "empty"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old Excel"),
    ("broken.xlsx", b"PK\x03\x04 not really a workbook", "cannot be opened"),
])
def test_known_bad_files_are_refused_with_a_reason(tmp_path: Path, name: str,
                                                   content: bytes, words: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        read_case_file(path, REQUIRED, OPTIONAL)
    assert words in str(err.value)


def test_excel_cells_become_text(tmp_path: Path) -> None:
    path = tmp_path / "cases.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "cases"
    sheet.append(["reference", "year", "incident_date", "ward"])
    sheet.append(["A-1", 2022, date(2022, 5, 1), None])
    sheet.append(["A-2", 2023.0, None, "Hoxton"])
    sheet.append([None, None, None, None])
    book.save(path)
    f = read_case_file(path, REQUIRED, OPTIONAL)
    assert f.name == "cases.xlsx [cases]"
    assert f.rows == [
        (2, {"reference": "A-1", "year": "2022", "incident_date": "2022-05-01", "ward": ""}),
        (3, {"reference": "A-2", "year": "2023", "incident_date": "", "ward": "Hoxton"}),
    ]


def test_excel_layout_problems(tmp_path: Path) -> None:
    path = tmp_path / "two.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "first"  # type: ignore[union-attr]
    book.create_sheet("second")
    book.save(path)
    with pytest.raises(InputError, match="no sheet called 'cases'"):
        read_case_file(path, REQUIRED, OPTIONAL)
    path = tmp_path / "beyond.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["reference", "year"])
    sheet.append(["A-1", 2022, "stray"])
    book.save(path)
    with pytest.raises(InputError) as err:
        read_case_file(path, REQUIRED, OPTIONAL)
    assert err.value.problems[0].row == 2 and "beyond the last" in err.value.problems[0].message


def test_written_files_read_back(tmp_path: Path) -> None:
    rows = [{"reference": "A-1", "year": 2022, "ward": None, "incident_date": date(2022, 1, 2)}]
    for suffix in ("csv", "xlsx"):
        path = write_rows(tmp_path / f"out.{suffix}", ["reference", "year", "incident_date",
                                                       "ward"], rows,
                          codes={"ward": [("x", "y")]}, notes=["RESTRICTED"])
        back = read_case_file(path, REQUIRED, OPTIONAL)
        assert back.rows[0][1] == {"reference": "A-1", "year": "2022",
                                   "incident_date": "2022-01-02", "ward": ""}
