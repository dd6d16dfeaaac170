"""Application files: reading an import file (CSV or Excel) as text rows, and writing the
template.

A CSV file is read strictly by ``adapters.sources.csvfile.read_csv`` through the register's
reader (encoding, BOM, binary files, blank lines, broken quoting and ragged rows are refused
with their row). An Excel workbook is read from its ``applications`` sheet (or its only
sheet): the first row is the header, every cell is read as text (whole numbers without
".0", dates as YYYY-MM-DD), fully blank rows at the end are ignored. Row numbers are the
spreadsheet's (header = 1). Checking the values is the domain's job
(``domain.commissioning.applications.parse_rows``).
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from vru.adapters.records.casefile import (
    EXCEL_SUFFIXES,
    CaseFile,
    read_case_file,
    sheet_rows,
)
from vru.adapters.records.casefile import _cell_text as cell_text
from vru.domain.commissioning.applications import (
    COLUMN_HELP,
    COLUMNS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
)
from vru.domain.problems import InputError, Problem

SHEET = "applications"


def read_applications_file(path: Path) -> CaseFile:
    """``path`` (``.csv``, ``.xlsx``) as text rows; ``InputError`` for a file that cannot
    be read, naming where and what to do."""
    if path.suffix.lower() not in EXCEL_SUFFIXES:
        text = read_case_file(path, REQUIRED_COLUMNS, OPTIONAL_COLUMNS)
        unknown = [c for c in text.columns if c not in COLUMNS]
        if unknown:
            raise InputError([Problem(path.name, 1, unknown[0], None,
                                      "has column(s) the import does not know: "
                                      f"{', '.join(unknown)}",
                                      f"Use only: {', '.join(COLUMNS)}")])
        return text
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a bad file
        raise InputError([Problem(path.name, None, None, None,
                                  f"cannot be opened as an Excel workbook ({type(exc).__name__})",
                                  "Open it in Excel and save it again as .xlsx, or save it "
                                  "as CSV UTF-8")]) from None
    try:
        names = book.sheetnames
        chosen = next((n for n in names if n.lower() == SHEET), None)
        if chosen is None and len(names) == 1:
            chosen = names[0]
        if chosen is None:
            raise InputError([Problem(path.name, None, None, None,
                                      f"has no sheet called {SHEET!r}",
                                      f"Put the applications on a sheet named {SHEET!r} "
                                      "(as in the template)")])
        name = f"{path.name} [{chosen}]"
        rows_iter = book[chosen].iter_rows(values_only=True)
        header = next(rows_iter, None)
        if header is None or all(v is None for v in header):
            raise InputError([Problem(name, 1, None, None, "has no header row",
                                      "The first row must hold the column names")])
        columns = [cell_text(v) for v in header]
        while columns and not columns[-1]:
            columns.pop()
        problems: list[Problem] = []
        seen: set[str] = set()
        for c in columns:
            if not c:
                problems.append(Problem(name, 1, None, None, "has a blank column name",
                                        "Name every column or delete the empty column"))
            elif c in seen:
                problems.append(Problem(name, 1, c, None, "has a duplicated column",
                                        "Remove or rename one of them"))
            seen.add(c)
        missing = [c for c in REQUIRED_COLUMNS if c not in seen]
        if missing:
            problems.append(Problem(name, 1, None, None,
                                    f"is missing column(s) {', '.join(missing)}",
                                    "Start from the template (vru rounds template)"))
        unknown = [c for c in columns if c and c not in COLUMNS]
        if unknown:
            problems.append(Problem(name, 1, unknown[0], None,
                                    f"has column(s) the import does not know: "
                                    f"{', '.join(unknown)}",
                                    f"Use only: {', '.join(COLUMNS)}"))
        if problems:
            raise InputError(problems)
        return CaseFile(name, columns, sheet_rows(name, columns, rows_iter))
    finally:
        book.close()


def write_template(path: Path, places: list[tuple[str, str]],
                   interventions: list[tuple[str, str]]) -> Path:
    """An empty applications file with the columns, and (Excel) sheets listing what each
    column takes, the round's places and the catalogue's approaches."""
    if path.suffix.lower() not in EXCEL_SUFFIXES:
        path.write_text(",".join(COLUMNS) + "\r\n", encoding="utf-8-sig")
        return path
    book = openpyxl.Workbook()
    sheet = book.active
    if not isinstance(sheet, Worksheet):  # pragma: no cover - a new workbook has one
        raise RuntimeError("a new workbook has no worksheet")
    sheet.title = SHEET
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    help_sheet = book.create_sheet("columns")
    help_sheet.append(["column", "required", "what to enter"])
    for c in COLUMNS:
        help_sheet.append([c, "yes" if c in REQUIRED_COLUMNS else "no", COLUMN_HELP[c]])
    place_sheet = book.create_sheet("places")
    place_sheet.append(["place", "name"])
    for code, label in places:
        place_sheet.append([code, label])
    approach_sheet = book.create_sheet("interventions")
    approach_sheet.append(["intervention", "name"])
    for key, label in interventions:
        approach_sheet.append([key, label])
    book.save(path)
    return path
