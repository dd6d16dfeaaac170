"""Row checks shared by adapters, run as SQL over an Arrow table of text columns.

A check is a SQL boolean expression that is TRUE when a row is *bad*, with the column it
concerns, the message and what to do. ``run_checks`` returns every failing row as a
``Problem`` with its spreadsheet row number, so a file of a million rows is checked in one
vectorised pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from vru.domain.problems import Problem

# England and Wales, generously: police.uk's anonymised points all fall inside this box.
ENGLAND_WALES_BOUNDS = (-6.5, 49.8, 2.1, 55.9)  # min lon, min lat, max lon, max lat


@dataclass(frozen=True)
class Check:
    bad_when: str
    column: str
    message: str
    action: str


def with_source_row(table: pa.Table) -> pa.Table:
    """Add ``source_row``: the spreadsheet row of each record (header is row 1)."""
    return table.append_column("source_row", source_rows(table.num_rows))


def source_rows(n: int) -> pa.Array:
    """Spreadsheet rows 2 .. n + 1 (the header is row 1), as int64."""
    return pa.array(np.arange(2, n + 2, dtype=np.int64))


def any_bad(checks: Sequence[Check]) -> str:
    """SQL that is TRUE for a row any of ``checks`` finds bad (NULL counts as bad, as in
    ``run_checks``)."""
    if not checks:
        return "FALSE"
    return "(" + " OR ".join(f"coalesce(({c.bad_when}), TRUE)" for c in checks) + ")"


def _string_chunks(column: pa.ChunkedArray | pa.Array) -> list[pa.Array]:
    return list(column.chunks) if isinstance(column, pa.ChunkedArray) else [column]


def may_need_trim(column: pa.ChunkedArray | pa.Array) -> bool:
    """False when SQL ``trim`` would change no value of a text column, so ``trim(x)`` can
    be read as plain ``x``.

    DuckDB's ``trim`` removes the space and the Unicode space separators (category Zs, all
    outside ASCII) from both ends. A value starting or ending with neither a space nor a
    non-ASCII byte is therefore unchanged by it; this looks only at first and last bytes,
    straight from the Arrow buffers, which costs far less than trimming.
    """
    for chunk in _string_chunks(column):
        n = len(chunk)
        if n == 0:
            continue
        if chunk.null_count or not (pa.types.is_string(chunk.type)
                                    or pa.types.is_large_string(chunk.type)):
            return True  # not a text column as csvfile reads them: assume it does
        bufs = chunk.buffers()
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        offsets = cast("npt.NDArray[np.signedinteger[Any]]", np.frombuffer(
            bufs[1], dtype=width)[chunk.offset : chunk.offset + n + 1])
        if bufs[2] is None or offsets[-1] == offsets[0]:
            continue  # every value is empty
        data = np.frombuffer(bufs[2], dtype=np.uint8)
        # The first and last byte of each value. For an empty value these are bytes of its
        # neighbours (or, clipped, of the buffer's ends): that can only say "may need"
        # where it does not, never the other way, so it is safe and saves a mask.
        first = data.take(offsets[:-1], mode="clip")
        last = data.take(offsets[1:] - 1, mode="clip")
        if ((first == 0x20) | (last == 0x20)).any() or (np.maximum(first, last) >= 0x80).any():
            return True
    return False


def null_if_empty(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    """SQL ``nullif(x, '')`` for a text column with no nulls: the same values, with each
    empty string made null. Only the validity bitmap is new; values are not copied."""
    out = []
    for chunk in _string_chunks(column):
        if chunk.null_count or not pa.types.is_string(chunk.type):
            out.append(pc.if_else(pc.equal(chunk, ""), pa.scalar(None, chunk.type), chunk))
            continue
        n = len(chunk)
        bufs = chunk.buffers()
        offsets = np.frombuffer(bufs[1], dtype=np.int32)[chunk.offset : chunk.offset + n + 1]
        full = offsets[1:] > offsets[:-1]
        empties = n - int(np.count_nonzero(full))
        if empties == 0:
            out.append(chunk)
            continue
        validity = pa.py_buffer(np.packbits(full, bitorder="little"))
        data = bufs[2] if bufs[2] is not None else pa.py_buffer(b"")
        out.append(pa.Array.from_buffers(pa.string(), n, [validity, pa.py_buffer(offsets), data],
                                         null_count=empties))
    return pa.chunked_array(out, pa.string())


def run_checks(con: duckdb.DuckDBPyConnection, relation: str, file: str,
               checks: Sequence[Check]) -> list[Problem]:
    """Every (row, check) that fails, in row order.

    One pass first asks whether any row fails any check; only then is each check run on
    its own, to say which rows fail which. A good file is checked in that one pass."""
    if not checks:
        return []
    [(found,)] = con.execute(
        f"SELECT count(*) FROM {relation} WHERE {any_bad(checks)}").fetchall()
    if not found:
        return []
    parts = []
    for i, c in enumerate(checks):
        col = c.column.replace('"', '""')
        parts.append(
            f'SELECT source_row, {i} AS check_no, CAST("{col}" AS VARCHAR) AS value '
            f"FROM {relation} WHERE coalesce(({c.bad_when}), TRUE)"
        )
    rows = con.execute(" UNION ALL ".join(parts) + " ORDER BY source_row, check_no").fetchall()
    return [
        Problem(file, int(r), checks[k].column, v, checks[k].message, checks[k].action)
        for r, k, v in rows
    ]


def run_checks_by_file(con: duckdb.DuckDBPyConnection, relation: str, files: Sequence[str],
                       checks: Sequence[Check]) -> dict[int, list[Problem]]:
    """``run_checks`` over rows of several files at once: ``relation`` has a ``file_no``
    column indexing ``files`` (their names). Each file's problems are what ``run_checks``
    gives over its rows alone, in the same order."""
    if not checks:
        return {}
    parts = []
    for i, c in enumerate(checks):
        col = c.column.replace('"', '""')
        parts.append(
            f'SELECT file_no, source_row, {i} AS check_no, CAST("{col}" AS VARCHAR) AS value '
            f"FROM {relation} WHERE coalesce(({c.bad_when}), TRUE)"
        )
    rows = con.execute(" UNION ALL ".join(parts)
                       + " ORDER BY file_no, source_row, check_no").fetchall()
    out: dict[int, list[Problem]] = {}
    for f, r, k, v in rows:
        out.setdefault(int(f), []).append(
            Problem(files[f], int(r), checks[k].column, v, checks[k].message, checks[k].action))
    return out


def month_check(column: str) -> Check:
    return Check(
        f"NOT regexp_full_match(\"{column}\", '[0-9]{{4}}-(0[1-9]|1[0-2])')",
        column, "is not a month in the form YYYY-MM (or is an impossible month)",
        "Correct the month, e.g. 2020-03",
    )


# Every character Python's ``str.split()`` splits on (``str.isspace``): RE2's ``\s`` alone
# misses the no-break space Excel and web pages put in text, and other Unicode spaces.
_WHITESPACE = r"[\pZ\t\n\x{0B}\f\r\x{1C}-\x{1F}\x{85}]+"
# Where ``str.casefold`` gives ASCII but SQL ``lower`` does not (category keys are ASCII).
_CASEFOLD_EXTRA = {"ß": "ss", "ẞ": "ss", "ſ": "s", "ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl",
                   "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}


def normalised(column: str) -> str:
    """SQL for ``vru.domain.measures.normalise_category`` applied to a column.

    Trims, collapses every run of Unicode whitespace to one space and case-folds, so a
    value matches an (ASCII) category key in SQL exactly when it does in Python.
    """
    col = column.replace('"', '""')
    expr = f"lower(replace(\"{col}\", 'İ', 'i̇'))"
    for char, folded in _CASEFOLD_EXTRA.items():
        expr = f"replace({expr}, '{char}', '{folded}')"
    return f"trim(regexp_replace({expr}, '{_WHITESPACE}', ' ', 'g'))"


def sql_list(values: Sequence[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"
