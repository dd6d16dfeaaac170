"""Reading a user's CSV file strictly: every way it can be malformed gets a located problem.

Every column is read as text; adapters convert and validate, so that a bad value is reported
with its row and column instead of being coerced or dropped by a parser.

Before the CSV parser sees a file it is checked as *text*: not a binary file (a ZIP archive or
Excel workbook renamed ``.csv``), not UTF-16, valid UTF-8 (a Windows-1252 byte is reported with
its row, column and the character it probably was), no blank line in the middle (it would
shift every later row number), no bare carriage return, and no quote left open on its line.
Values may not hold line breaks, so each data row is exactly one line and row ``n`` of the
file is what a user sees as row ``n`` in a text editor or spreadsheet. A UTF-8 byte order mark
(as Excel writes) is accepted and ignored. Blank lines at the very end are ignored.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv

from vru.domain.problems import InputError, Problem

BOM = codecs.BOM_UTF8
MAX_PROBLEMS = 20

SAVE_AS_UTF8 = ("Save the file as 'CSV UTF-8' (in Excel: Save As > CSV UTF-8) and import it "
                "again")

# Leading bytes of file types that are sometimes renamed or saved as .csv by mistake.
_SIGNATURES: list[tuple[bytes, str]] = [
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one too)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel .xls workbook (or another Office file)"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"%PDF", "a PDF document"),
    (b"PAR1", "a Parquet file"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"SQLite format 3\x00", "an SQLite database"),
]

_UTF16_32_BOMS: list[tuple[bytes, str]] = [
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
]

_BLANK_LINE = re.compile(rb"\n(?=\r?\n)")
_BARE_CR = re.compile(rb"\r(?!\n)")


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


def _check_binary(name: str, data: bytes) -> None:
    """Refuse UTF-16/32 text and binary files with a message saying what the file is."""
    for bom, encoding in _UTF16_32_BOMS:
        if data.startswith(bom):
            raise _fail(name, f"is {encoding} encoded (it starts with a {encoding} byte order "
                        "mark), not UTF-8",
                        SAVE_AS_UTF8 + ". Excel's 'Unicode Text' format is UTF-16")
    for magic, what in _SIGNATURES:
        if data.startswith(magic):
            raise _fail(name, f"is not a CSV text file: it is {what}",
                        "Export or save the data as 'CSV UTF-8' and import that file; if it "
                        "is a ZIP download, unzip it first")
    head = data[:4096]
    if head.count(b"\x00") * 4 >= len(head) > 0:
        # Mostly ASCII text in UTF-16 has a NUL in every other byte.
        even, odd = head[0::2].count(b"\x00"), head[1::2].count(b"\x00")
        if max(even, odd) * 10 >= len(head) // 2 * 8:
            raise _fail(name, "is UTF-16 encoded (without a byte order mark), not UTF-8",
                        SAVE_AS_UTF8)
    nul = data.find(b"\x00")
    if nul >= 0:
        raise _fail(name, f"is not a CSV text file: it is binary (a NUL byte at offset {nul})",
                    "Check you chose the right file; export the data as 'CSV UTF-8'",
                    row=data.count(b"\n", 0, nul) + 1)


def _fields(line: str) -> list[str]:
    """The fields of one CSV line, as leniently as possible (for locating problems)."""
    try:
        return next(csv.reader([line]), [])
    except csv.Error:
        return line.split(",")


def _check_encoding(name: str, data: bytes) -> None:
    if data.isascii():  # plain ASCII is valid UTF-8; checked far faster than decoding
        return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        row = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 1]
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line_end = data.find(b"\n", exc.start)
        line = data[line_start : line_end if line_end >= 0 else len(data)].rstrip(b"\r")
        index = len(_fields(data[line_start : exc.start].decode("utf-8", "replace") + "x")) - 1
        column: str | None = None
        if row > 1:
            header = _fields(data.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace"))
            if index < len(header):
                column = header[index].strip()
        guess = bad.decode("cp1252", "replace")
        values = _fields(line.decode("cp1252", "replace"))
        value = values[index] if index < len(values) else None
        hint = ""
        if guess.isprintable() and guess != "\ufffd":
            hint = (f"; read as Windows-1252 it is {guess!r}, so the file was probably saved "
                    "as 'CSV' (Windows-1252/Latin-1) rather than 'CSV UTF-8'")
        raise _fail(
            name,
            f"is not valid UTF-8 (byte {bad.hex()} at offset {exc.start}){hint}",
            SAVE_AS_UTF8,
            row=row, column=column, value=value,
        ) from None


def _drop_trailing_blank_lines(data: bytes) -> bytes:
    """Remove empty lines after the last row (the last row keeps its own line ending)."""
    end = len(data)
    while end > 0 and data[end - 1 : end] in (b"\n", b"\r"):
        end -= 1
    if end == len(data):
        return data
    if data[end : end + 2] == b"\r\n":
        return data[: end + 2]
    return data[: end + 1]


def _line_feeds(data: bytes) -> npt.NDArray[np.intp]:
    """The offset of every line feed, found with numpy (a 16 MB block at a time, to bound
    the temporary mask): far faster than Python's byte searches when lines are many."""
    raw = np.frombuffer(data, dtype=np.uint8)
    block = 1 << 24
    parts = [np.flatnonzero(raw[i : i + block] == 10) + i for i in range(0, len(raw), block)]
    return np.concatenate(parts) if parts else np.zeros(0, np.intp)


def _lines_holding(data: bytes, byte: bytes, feeds: npt.NDArray[np.intp],
                   ) -> Iterator[tuple[int, bytes]]:
    """Each line (1-based number, bytes without its ``\\n``) that holds ``byte``, found by
    searching for the byte rather than by splitting the whole file into lines."""
    pos = data.find(byte)
    while pos >= 0:
        before = int(np.searchsorted(feeds, pos))  # line feeds before it
        start = int(feeds[before - 1]) + 1 if before else 0
        end = int(feeds[before]) if before < len(feeds) else len(data)
        yield before + 1, data[start:end]
        pos = data.find(byte, end)


def _blank_line_rows(data: bytes, feeds: npt.NDArray[np.intp]) -> list[int]:
    """The row of each blank line: each line feed followed by another (``\\n\\n``) or by a
    CR LF (``\\n\\r\\n``), as ``_BLANK_LINE`` finds them, the row being one more than the
    line feed's own line. Found from the positions of the line feeds, which is several
    times faster than searching the bytes for either pair."""
    gaps = np.diff(feeds)
    blank = gaps == 1
    two = np.flatnonzero(gaps == 2)
    raw = np.frombuffer(data, dtype=np.uint8)
    blank[two[raw[feeds[two] + 1] == 13]] = True
    return [int(i) + 2 for i in np.flatnonzero(blank)]


def _has_bare_cr(data: bytes, feeds: npt.NDArray[np.intp]) -> bool:
    """Whether some carriage return is not followed by a line feed."""
    if b"\r" not in data:
        return False
    raw = np.frombuffer(data, dtype=np.uint8)
    crlf = int(np.count_nonzero(raw[feeds[feeds > 0] - 1] == 13))
    return data.count(b"\r") != crlf


def _check_lines(name: str, data: bytes) -> None:
    """Blank lines in the middle, bare carriage returns and unbalanced quotes, located.

    Each check first asks a question the whole file answers at memory speed (where are the
    line feeds, is there a carriage return not before one, a quote at all?) and only then
    looks closer: a well-formed file is passed without a Python loop over its lines.
    """
    problems: list[Problem] = []
    total = 0
    feeds = _line_feeds(data)
    blank = _blank_line_rows(data, feeds)
    total += len(blank)
    for row in blank[:MAX_PROBLEMS]:
        problems.append(Problem(
            name, row, None, None,
            "is a blank line in the middle of the file (it would shift the numbers of "
            "every later row)", "Delete the blank line, or re-download the file"))
    if _has_bare_cr(data, feeds):
        for m in _BARE_CR.finditer(data):
            total += 1
            if len(problems) < MAX_PROBLEMS:
                problems.append(Problem(
                    name, int(np.searchsorted(feeds, m.start())) + 1, None, None,
                    "holds a carriage return (CR) that does not end a line: either a value "
                    "holds a line break or the file uses old Mac line endings",
                    "Remove line breaks inside values; save the file as 'CSV UTF-8'"))
    for number, line in _lines_holding(data, b'"', feeds):
        if line.count(b'"') % 2 == 0:
            continue
        try:
            list(csv.reader([line.rstrip(b"\r").decode("utf-8")], strict=True))
        except csv.Error:
            total += 1
            if len(problems) < MAX_PROBLEMS:
                problems.append(Problem(
                    name, number, None, line[:80].decode("utf-8", "replace"),
                    "has an unbalanced quote: a quoted value is not closed on its line "
                    "(or holds a line break, which is not supported)",
                    "Close the quote (a quote inside a quoted value is written twice, "
                    "\"\") and remove line breaks inside values, or re-download the file"))
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise InputError(problems, total=total)


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
    Raises ``InputError`` for an empty file, a binary or UTF-16 file, bad encoding, a blank
    line, an unbalanced quote, a missing or unexpected column, a duplicated column, a row with
    the wrong number of fields or a truncated last row.
    """
    return read_csv_bytes(path.read_bytes(), name or path.name, required, optional=optional,
                          allow_extra=allow_extra, header_prefix_ok=header_prefix_ok)


def read_csv_bytes(
    data: bytes,
    name: str,
    required: Sequence[str],
    *,
    optional: Sequence[str] = (),
    allow_extra: bool = False,
    header_prefix_ok: Sequence[str] = (),
) -> CsvText:
    """``read_csv`` of a file's bytes already in memory (``name`` is the file's name, for
    problems): the same checks, the same table, the same ``InputError``s."""
    had_bom = data.startswith(BOM)
    if had_bom:
        data = data[len(BOM) :]
    if not data:
        raise _fail(name, "is empty (0 bytes)",
                    "Check the download finished; re-download the file")
    _check_binary(name, data)
    if data.isspace():  # what ``not data.strip()`` says, without copying the file
        raise _fail(name, "is empty: it holds only blank space",
                    "Check the download finished; re-download the file")
    _check_encoding(name, data)
    data = _drop_trailing_blank_lines(data)
    _check_lines(name, data)
    newline = data.find(b"\n")
    first_line = (data if newline < 0 else data[:newline]).decode("utf-8").rstrip("\r")
    if not first_line.strip():
        raise _fail(name, "has a blank first line: the first line must be the header row "
                    "(the column names)", "Delete the blank lines above the header", row=1)
    try:
        header_row = next(csv.reader([first_line], strict=True))
    except (csv.Error, StopIteration):
        raise _fail(name, "has an unreadable header row", "Check it is a CSV file",
                    row=1) from None
    columns = [c.strip() for c in header_row]
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
    if newline < 0 or not _holds_more_than_line_breaks(data, newline + 1):
        raise _fail(name, "has a header but no data rows",
                    "Check the download finished; re-download the file")
    table = _parse(name, data, columns)
    return CsvText(name, columns, table, had_bom)


def _holds_more_than_line_breaks(data: bytes, start: int) -> bool:
    """Whether ``data[start:]`` holds any byte but CR and LF (without copying it)."""
    end = len(data)
    while end > start and data[end - 1] in (10, 13):
        end -= 1
    return end > start


def _parse(name: str, data: bytes, columns: list[str]) -> pa.Table:
    read = pacsv.ReadOptions(column_names=columns, skip_rows=1, block_size=1 << 24)
    convert = pacsv.ConvertOptions(
        column_types={c: pa.string() for c in columns},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        # The whole file was found to be UTF-8 before (``_check_encoding``), and a value is
        # a piece of it cut at ASCII bytes (delimiters, quotes), so it is UTF-8 too.
        check_utf8=False,
    )
    parse = pacsv.ParseOptions(newlines_in_values=False)
    try:
        return pacsv.read_csv(pa.py_buffer(data), read_options=read, parse_options=parse,
                              convert_options=convert)
    except pa.ArrowException:
        pass
    # Locate the bad rows: a second, single-threaded pass that records each one.
    bad: list[Problem] = []
    last_line = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    unterminated = not data.endswith(b"\n")

    def handler(row: pacsv.InvalidRow) -> str:
        line = (row.number or 0)
        text = row.text or ""
        counts = f"{row.actual_columns} of {row.expected_columns} fields"
        if row.actual_columns < row.expected_columns and unterminated and line == last_line:
            message = (f"is the last row and is cut short ({counts}, no line ending): the "
                       "file looks truncated")
            action = "Re-download the file; the download or copy did not finish"
        elif row.actual_columns < row.expected_columns:
            message = (f"has fewer fields than the header ({counts}); the file may be "
                       "truncated or a row may be broken across lines")
            action = "Re-download the file, or join the broken row"
        else:
            message = (f"has more fields than the header ({counts}); a value may hold an "
                       "unquoted comma")
            action = "Quote values that contain commas, or re-download the file"
        bad.append(Problem(name, line if line > 0 else None, None, text[:80], message, action))
        return "skip"

    try:
        pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=columns, skip_rows=1, use_threads=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=False,
                                             invalid_row_handler=handler),
            convert_options=convert,
        )
    except pa.ArrowException as exc:
        raise _fail(name, f"cannot be parsed as CSV ({exc})",
                    "Check quotes are balanced; re-download the file") from None
    if not bad:
        raise _fail(name, "cannot be parsed as CSV", "Re-download the file")
    raise InputError(bad[:MAX_PROBLEMS], total=len(bad))


def peek_header(path: Path) -> list[str]:
    """The header row's column names, read cheaply so an adapter can choose a layout before
    the strict read. A file that is not plain UTF-8 CSV (UTF-16, binary, empty) gets the same
    located, explained ``InputError`` as ``read_csv`` gives."""
    with open(path, "rb") as fh:
        first = fh.read(1 << 16).split(b"\n", 1)[0]
    try:
        if b"\x00" in first:
            raise ValueError("NUL byte")
        text = first.decode("utf-8-sig").strip("\r")
        if not text.strip():
            return []
        return [c.strip() for c in next(csv.reader([text]))]
    except (ValueError, csv.Error, StopIteration):
        read_csv(path, [], allow_extra=True)  # raises the explained error for this file
        return []
