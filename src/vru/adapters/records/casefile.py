"""Register files: reading an import file (CSV or Excel) as text rows, and writing the
template and exports.

A CSV file is read strictly by ``adapters.sources.csvfile.read_csv`` (encoding, BOM,
binary files, blank lines, broken quoting and ragged rows are refused with their row). An
Excel workbook is read from its ``cases`` sheet (or its only sheet): the first row is the
header, every cell is read as text (whole numbers without ".0", dates as YYYY-MM-DD), and
fully blank rows at the end are ignored. Row numbers are the spreadsheet's (header = 1).
Checking the values is the domain's job (``domain.register.cases.parse_rows``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import openpyxl
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from vru.adapters.sources.csvfile import read_csv
from vru.domain.problems import InputError, Problem

SHEET = "cases"
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
MAX_ROWS = 100_000


@dataclass(frozen=True)
class CaseFile:
    """An import file as text: its columns and ``(spreadsheet row, {column: text})`` rows."""

    name: str
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]


def read_case_file(path: Path, required: Sequence[str], optional: Sequence[str]) -> CaseFile:
    """Read ``path`` (``.csv``, ``.xlsx``) as text rows; raises ``InputError`` for a file
    that cannot be read, naming where and what to do."""
    if not path.is_file():
        raise InputError([Problem(path.name, None, None, None, "does not exist",
                                  "Check the file name and folder")])
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return _read_excel(path)
    if path.suffix.lower() == ".xls":
        raise InputError([Problem(path.name, None, None, None,
                                  "is an old Excel (.xls) workbook",
                                  "Save it as an Excel workbook (.xlsx) or as CSV UTF-8")])
    text = read_csv(path, required, optional=optional, allow_extra=True)
    table = text.table
    if table.num_rows > MAX_ROWS:
        raise InputError([Problem(path.name, None, None, None,
                                  f"has more than {MAX_ROWS:,} rows",
                                  "Split it into smaller files")])
    columns = list(text.header)
    data = {c: table.column(c).to_pylist() for c in columns}
    rows = [(i + 2, {c: (data[c][i] or "") for c in columns}) for i in range(table.num_rows)]
    return CaseFile(path.name, columns, rows)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() \
            else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).strip()


def _read_excel(path: Path) -> CaseFile:
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a bad file
        raise InputError([Problem(path.name, None, None, None,
                                  f"cannot be opened as an Excel workbook ({type(exc).__name__})",
                                  "Open it in Excel and save it again as .xlsx, or save it "
                                  "as CSV UTF-8")]) from None
    try:
        if SHEET in book.sheetnames:
            sheet = book[SHEET]
        elif len(book.sheetnames) == 1:
            sheet = book[book.sheetnames[0]]
        else:
            raise InputError([Problem(path.name, None, None, None,
                                      f"has no sheet called {SHEET!r}",
                                      f"Put the cases on a sheet named {SHEET!r} (as in the "
                                      "template)")])
        rows_iter = sheet.iter_rows(values_only=True)
        header = next(rows_iter, None)
        if header is None or all(v is None for v in header):
            raise InputError([Problem(f"{path.name} [{sheet.title}]", 1, None, None,
                                      "has no header row",
                                      "The first row must hold the column names")])
        name = f"{path.name} [{sheet.title}]"
        columns = [_cell_text(v) for v in header]
        while columns and not columns[-1]:
            columns.pop()
        seen: set[str] = set()
        for c in columns:
            if not c:
                raise InputError([Problem(name, 1, None, None, "has a blank column name",
                                          "Name every column or delete the empty column")])
            if c in seen:
                raise InputError([Problem(name, 1, c, None, "has a duplicated column",
                                          "Remove or rename one of them")])
            seen.add(c)
        return CaseFile(name, columns, sheet_rows(name, columns, rows_iter))
    finally:
        book.close()


def sheet_rows(name: str, columns: list[str], values: Iterable[Iterable[object]]
               ) -> list[tuple[int, dict[str, str]]]:
    """A worksheet's data rows (spreadsheet row 2 onwards) as text keyed by ``columns``,
    trailing empty rows dropped. A value beyond the last named column, or more than
    ``MAX_ROWS`` rows, refuses the whole file with its location."""
    rows: list[tuple[int, dict[str, str]]] = []
    for number, row in enumerate(values, start=2):
        cells = [_cell_text(v) for v in row]
        extra = [v for v in cells[len(columns):] if v]
        if extra:
            raise InputError([Problem(name, number, None, extra[0],
                                      "has a value beyond the last named column",
                                      "Delete it or give its column a name")])
        if number - 1 > MAX_ROWS:
            raise InputError([Problem(name, None, None, None,
                                      f"has more than {MAX_ROWS:,} rows",
                                      "Split it into smaller files")])
        cells += [""] * (len(columns) - len(cells))
        rows.append((number, dict(zip(columns, cells[: len(columns)], strict=True))))
    while rows and not any(rows[-1][1].values()):
        rows.pop()
    return rows


def write_rows(path: Path, columns: Sequence[str], rows: Sequence[Mapping[str, object]],
               *, codes: Mapping[str, Sequence[tuple[str, str]]] | None = None,
               notes: Sequence[str] = ()) -> Path:
    """Write rows as CSV (UTF-8 with BOM, so Excel reads it) or an Excel workbook, by suffix.

    For Excel, ``codes`` adds a ``codes`` sheet listing each column's allowed codes and
    labels, and ``notes`` a ``notes`` sheet of lines (e.g. what the file is, restrictions).
    """
    if path.suffix.lower() in EXCEL_SUFFIXES:
        book = openpyxl.Workbook()
        sheet = book.active
        if not isinstance(sheet, Worksheet):  # pragma: no cover - a new workbook has one
            raise RuntimeError("a new workbook has no worksheet")
        sheet.title = SHEET
        sheet.append(list(columns))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([_excel_value(row.get(c)) for c in columns])
        if codes:
            code_sheet = book.create_sheet("codes")
            code_sheet.append(["column", "code", "meaning"])
            for column, pairs in codes.items():
                for code, label in pairs:
                    code_sheet.append([column, code, label])
        if notes:
            note_sheet = book.create_sheet("notes")
            for line in notes:
                note_sheet.append([line])
        book.save(path)
        return path
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(list(columns))
    for row in rows:
        writer.writerow([_csv_value(row.get(c)) for c in columns])
    path.write_text(buffer.getvalue(), encoding="utf-8-sig")
    return path


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _excel_value(value: object) -> object:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return value
