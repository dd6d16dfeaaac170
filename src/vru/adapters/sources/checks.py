"""Row checks shared by adapters, run as SQL over an Arrow table of text columns.

A check is a SQL boolean expression that is TRUE when a row is *bad*, with the column it
concerns, the message and what to do. ``run_checks`` returns every failing row as a
``Problem`` with its spreadsheet row number, so a file of a million rows is checked in one
vectorised pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa

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
    return table.append_column("source_row", pa.array(range(2, table.num_rows + 2), pa.int64()))


def run_checks(con: duckdb.DuckDBPyConnection, relation: str, file: str,
               checks: Sequence[Check]) -> list[Problem]:
    """Every (row, check) that fails, in row order."""
    if not checks:
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
