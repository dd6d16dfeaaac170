"""Reading a user's CSV file strictly: every way it can be malformed gets a located problem.

Every column is read as text; adapters convert and validate, so that a bad value is reported
with its row and column instead of being coerced or dropped by a parser.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from vru.domain.problems import InputError, Problem

BOM = codecs.BOM_UTF8


@dataclass(frozen=True)
class CsvText:
    """A CSV file's header and its rows as an Arrow table of strings.

    Row ``i`` of ``table`` (0-based) is spreadsheet row ``i + 2``: the header is row 1.
    """

    name: str
    header: list[str]
    table: pa.Table
    had_bom: bool


def _fail(name: str, message: str, action: str, row: int | None = None,
          column: str | None = None, value: str | None = None) -> InputError:
    return InputError([Problem(name, row, column, value, message, action)])


def _check_encoding(name: str, data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        row = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 4]
        raise _fail(
            name,
            f"is not valid UTF-8 (byte {bad[:1].hex()} at offset {exc.start})",
            "Save the file as 'CSV UTF-8' (in Excel: Save As > CSV UTF-8) and import it again",
            row=row,
        ) from None


def read_csv(
    path: Path,
    required: Sequence[str],
    *,
    optional: Sequence[str] = (),
    allow_extra: bool = False,
    name: str | None = None,
    header_prefix_ok: Sequence[str] = (),
) -> CsvText:
    """Read ``path`` as UTF-8 CSV whose header must contain ``required`` columns.

    ``allow_extra`` lets further columns through (for wide layouts an adapter checks itself).
    Raises ``InputError`` for an empty file, bad encoding, a missing or unexpected column,
    a duplicated column, a row with the wrong number of fields or a truncated last row.
    """
    name = name or path.name
    data = path.read_bytes()
    had_bom = data.startswith(BOM)
    if had_bom:
        data = data[len(BOM) :]
    if not data.strip():
        raise _fail(name, "is empty", "Check the download finished; re-download the file")
    _check_encoding(name, data)
    first_line = data.split(b"\n", 1)[0].decode("utf-8").rstrip("\r")
    try:
        header_row = list(pacsv.read_csv(
            pa.py_buffer(first_line.encode() + b"\n"),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True),
            convert_options=pacsv.ConvertOptions(strings_can_be_null=False),
        ).to_pylist()[0].values())
    except (pa.ArrowInvalid, IndexError):
        raise _fail(name, "has an unreadable header row", "Check it is a CSV file", row=1) from None
    columns = [str(c).strip() if c is not None else "" for c in header_row]
    seen: set[str] = set()
    for c in columns:
        if c in seen:
            raise _fail(name, "has a duplicated column", "Remove or rename one of them",
                        row=1, column=c)
        seen.add(c)
    missing = [c for c in required if c not in seen]
    if missing:
        raise InputError([
            Problem(name, 1, c, None, "required column is missing",
                    f"This format needs the columns: {', '.join(required)}. "
                    "Check you chose the right format for this file")
            for c in missing
        ])
    if not allow_extra:
        known = set(required) | set(optional)
        extra = [c for c in columns if c not in known
                 and not any(c.startswith(p) for p in header_prefix_ok)]
        if extra:
            raise InputError([
                Problem(name, 1, c, None, "unexpected column",
                        "Check you chose the right format for this file")
                for c in extra
            ])
    if data.count(b"\n") == 0 or not data.split(b"\n", 1)[1].strip():
        raise _fail(name, "has a header but no data rows",
                    "Check the download finished; re-download the file")
    table = _parse(name, data, columns)
    return CsvText(name, columns, table, had_bom)


def _parse(name: str, data: bytes, columns: list[str]) -> pa.Table:
    read = pacsv.ReadOptions(column_names=columns, skip_rows=1, block_size=1 << 24)
    convert = pacsv.ConvertOptions(
        column_types={c: pa.string() for c in columns},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    parse = pacsv.ParseOptions(newlines_in_values=False)
    try:
        return pacsv.read_csv(pa.py_buffer(data), read_options=read, parse_options=parse,
                              convert_options=convert)
    except pa.ArrowInvalid:
        pass
    # Locate the bad rows: a second, single-threaded pass that records each one.
    bad: list[Problem] = []

    def handler(row: pacsv.InvalidRow) -> str:
        line = (row.number or 0)
        text = row.text or ""
        what = "has fewer fields than the header" if row.actual_columns < row.expected_columns \
            else "has more fields than the header"
        bad.append(Problem(
            name, line if line else None, None, text[:80],
            f"{what} ({row.actual_columns} of {row.expected_columns}); the file may be "
            "truncated or a value may hold an unquoted comma",
            "Re-download the file, or quote values that contain commas"))
        return "skip"

    try:
        pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=columns, skip_rows=1, use_threads=False),
            parse_options=pacsv.ParseOptions(invalid_row_handler=handler),
            convert_options=convert,
        )
    except pa.ArrowInvalid as exc:
        raise _fail(name, f"cannot be parsed as CSV ({exc})",
                    "Check quotes are balanced; re-download the file") from None
    if not bad:
        raise _fail(name, "cannot be parsed as CSV", "Re-download the file")
    raise InputError(bad[:20], total=len(bad))
