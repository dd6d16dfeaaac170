"""Disclosure control: what may leave the restricted area, and in what form.

Anything published from restricted data (the register of homicides and case reviews, and
later the public edition of the Strategic Needs Assessment) goes through this module first.
Two standard tools, both pure functions over pandas tables:

* **Small-count suppression** (``suppress``). A count from 1 to ``threshold - 1`` (default
  threshold 10) is *primary* suppressed. Then, because a reader who knows a total can work
  out a single hidden cell by subtraction, further cells are *secondary* suppressed until no
  known total has exactly one hidden cell in it. Each such total, with the cells that add up
  to it, is a *line*: by default every row of the count columns (summing to the row total)
  and every count column (summing to the column total), whether or not the totals are shown
  in the table, since a reader can usually find them elsewhere (``margins_known=True``).
  A total row or column in the table (``total_row``/``total_col``) is itself a cell of the
  lines it closes, so it is protected the same way. Long-format tables and hierarchies add
  their own lines with ``lines_within`` or the ``lines`` argument.

  The complementary cell chosen is the smallest non-zero count still shown in the line
  (zeros only when nothing else is left, and totals last), which hides as little as
  possible. This is the usual greedy method (ONS, *Disclosure control guidance for tables
  produced from administrative sources*, 2014; Hundepool et al., *Statistical Disclosure
  Control*, Wiley 2012, ch. 5). It guarantees that no hidden cell equals a shown total minus
  shown cells; it does not solve the full linear-programming attack on large linked tables
  (tau-ARGUS does), so publish few linked tables from the same small population.

  Zeros are shown by default (a zero is usually not disclosive and hiding it hides real
  information); ``suppress_zeros=True`` treats them as primary too.

* **Rounding to a base** (``round_to_base``): every count to the nearest multiple of ``base``
  (default 5), halves rounded up. Rounded counts are published with the note that totals may
  not equal the sum of their parts.

Suppressed cells are written with the GSS symbol ``[c]`` ("confidential") by
``Suppressed.display``; the published note (``Suppressed.note``) says what was done without
revealing any suppressed value.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
import numpy.typing as npt
import pandas as pd

#: The default small-count threshold: counts from 1 to 9 are not published.
DEFAULT_THRESHOLD = 10
#: The default rounding base.
DEFAULT_BASE = 5
#: Government Statistical Service symbol for a value withheld to protect confidentiality.
SUPPRESSED_SYMBOL = "[c]"

PRIMARY = "primary"
SECONDARY = "secondary"

Cell = tuple[Hashable, str]
"""A cell of a table: (index label, column name)."""


@dataclass(frozen=True)
class Suppressed:
    """The result of ``suppress``.

    ``table`` is the input with every suppressed count set to ``pd.NA`` (count columns become
    nullable ``Int64``); ``reason`` has the same shape over the protected columns and holds
    ``"primary"``, ``"secondary"`` or ``""``. ``threshold`` is the rule applied.
    """

    table: pd.DataFrame
    reason: pd.DataFrame
    threshold: int
    suppress_zeros: bool

    @property
    def mask(self) -> pd.DataFrame:
        """True where a cell is suppressed (over the protected columns)."""
        return self.reason != ""

    @property
    def n_primary(self) -> int:
        return int((self.reason == PRIMARY).to_numpy().sum())

    @property
    def n_secondary(self) -> int:
        return int((self.reason == SECONDARY).to_numpy().sum())

    def row_suppressed(self, columns: Sequence[str] | None = None) -> pd.Series:
        """True for each row with any suppressed cell (among ``columns``, default all)."""
        cols = list(self.reason.columns) if columns is None else list(columns)
        return self.mask[cols].any(axis=1)

    def blank_where_suppressed(
        self, columns: Sequence[str], depends_on: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """``table`` with ``columns`` (derived values: proportions, rates, intervals) set to NA
        in every row where any of ``depends_on`` (default: all protected columns) is suppressed.

        A proportion next to a hidden count would reveal it; this hides both.
        """
        out = self.table.copy()
        hide = self.row_suppressed(depends_on)
        for col in columns:
            if col not in out.columns:
                raise KeyError(f"column {col!r} is not in the table")
            out[col] = out[col].mask(hide)
        return out

    def display(self, symbol: str = SUPPRESSED_SYMBOL) -> pd.DataFrame:
        """The table for publication: suppressed cells written as ``symbol`` (GSS ``[c]``)."""
        out = self.table.copy()
        for col in self.reason.columns:
            shown = out[col].astype("object")
            out[col] = shown.where(~self.mask[col], symbol)
        return out

    @property
    def note(self) -> str:
        """A plain-English note for the published table (never states a suppressed value)."""
        low = "0 to" if self.suppress_zeros else "1 to"
        text = (f"Counts from {low} {self.threshold - 1} are not shown ({SUPPRESSED_SYMBOL}) "
                "to protect the people they describe")
        if self.n_secondary:
            text += ("; some further figures are also not shown, so that hidden counts "
                     "cannot be worked out from totals")
        return text + "."


def suppress(
    table: pd.DataFrame,
    count_cols: Sequence[str],
    threshold: int = DEFAULT_THRESHOLD,
    *,
    total_row: Hashable | None = None,
    total_col: str | None = None,
    margins_known: bool = True,
    lines: Iterable[Sequence[Cell]] = (),
    suppress_zeros: bool = False,
) -> Suppressed:
    """Primary and secondary small-count suppression of ``table``'s ``count_cols``.

    Primary: a count ``c`` with ``0 < c < threshold`` (``0 <= c`` with ``suppress_zeros``).
    Secondary: repeat until stable: for every line (a set of cells with a known sum) with
    exactly one suppressed cell, suppress the line's smallest shown non-zero body cell
    (then a zero, then the line's total cell).

    Lines, by default: each row across ``count_cols`` and each of ``count_cols`` down the
    rows. ``total_col`` names a column holding each row's total (it joins each row's line
    and is protected too); ``total_row`` is the index label of a row holding the column
    totals (it joins each column's line). With ``margins_known=False`` and no total cell,
    a row or column is not a line (its sum is assumed unknown to the reader). ``lines``
    adds further lines, each a sequence of ``(index label, column)`` cells whose sum is
    known (see ``lines_within`` for long-format tables).
    """
    if threshold < 1:
        raise ValueError(f"threshold must be at least 1, got {threshold!r}")
    count_cols = list(count_cols)
    if not count_cols:
        raise ValueError("name at least one count column")
    protected = count_cols + ([total_col] if total_col is not None else [])
    missing = [c for c in protected if c not in table.columns]
    if missing:
        raise KeyError(f"columns not in the table: {', '.join(missing)}")
    if not table.index.is_unique:
        raise ValueError("the table's index must be unique (each cell is named by it)")
    if total_row is not None and total_row not in table.index:
        raise KeyError(f"total row {total_row!r} is not in the table's index")
    if total_col is not None and total_col in count_cols:
        raise ValueError("the total column must not also be a count column")

    values = _counts(table, protected)
    reason = pd.DataFrame("", index=table.index, columns=protected, dtype="object")
    low = 0 if suppress_zeros else 1
    primary = (values >= low) & (values < threshold)
    reason = reason.mask(primary, PRIMARY)

    body_rows = [r for r in table.index if r != total_row]
    all_lines: list[tuple[list[Cell], Cell | None]] = []
    # rows across the count columns (a lone column's "row total" is the cell itself: no line)
    for r in table.index:
        body = [(r, c) for c in count_cols]
        if total_col is not None:
            all_lines.append((body, (r, total_col)))
        elif margins_known and len(body) > 1:
            all_lines.append((body, None))
    # columns down the body rows
    for c in protected:
        body = [(r, c) for r in body_rows]
        if total_row is not None:
            all_lines.append((body, (total_row, c)))
        elif margins_known and len(body) > 1:
            all_lines.append((body, None))
    for extra in lines:
        cells = list(extra)
        for r, c in cells:
            if r not in table.index or c not in protected:
                raise KeyError(f"line cell ({r!r}, {c!r}) is not a protected cell of the table")
        if len(cells) > 1:
            all_lines.append((cells, None))

    flags: dict[Cell, str] = {
        (r, c): str(reason.at[r, c]) for c in protected for r in table.index
    }
    counts: dict[Cell, int] = {
        (r, c): int(v)
        for c in protected
        for r, v in zip(table.index, values[c].to_numpy().tolist(), strict=True)
    }
    changed = True
    while changed:
        changed = False
        for body, total in all_lines:
            members = body + ([total] if total is not None else [])
            hidden = [cell for cell in members if flags[cell]]
            if len(hidden) != 1:
                continue
            pick = _complement(body, total, flags, counts)
            if pick is None:  # nothing left to hide: the line is already all hidden
                continue
            flags[pick] = SECONDARY
            changed = True

    reason = pd.DataFrame(
        {c: [flags[(r, c)] for r in table.index] for c in protected}, index=table.index,
        dtype="object",
    )
    out = table.copy()
    for col in protected:
        shown = values[col].astype("Int64")
        out[col] = shown.mask(reason[col] != "", pd.NA)
    return Suppressed(out, reason, threshold, suppress_zeros)


def lines_within(
    table: pd.DataFrame, by: Sequence[str], count_col: str
) -> list[list[Cell]]:
    """Lines for a long-format table: the rows sharing the values of ``by`` columns.

    E.g. for columns ``year, method, count``, ``lines_within(t, ["year"], "count")`` says
    the counts of each year add up to a known year total; add ``lines_within(t, ["method"],
    "count")`` for method totals across years.
    """
    missing = [c for c in [*by, count_col] if c not in table.columns]
    if missing:
        raise KeyError(f"columns not in the table: {', '.join(missing)}")
    if not by:
        return [[(r, count_col) for r in table.index]]
    return [
        [(r, count_col) for r in part.index]
        for _, part in table.groupby(list(by), sort=False, dropna=False)
    ]


@overload
def round_to_base(values: pd.DataFrame, base: int = ..., *,
                  count_cols: Sequence[str] | None = ...) -> pd.DataFrame: ...
@overload
def round_to_base(values: pd.Series, base: int = ..., *,
                  count_cols: Sequence[str] | None = ...) -> pd.Series: ...
@overload
def round_to_base(values: int | float, base: int = ..., *,
                  count_cols: Sequence[str] | None = ...) -> float: ...
@overload
def round_to_base(values: npt.NDArray[np.float64] | Sequence[float], base: int = ..., *,
                  count_cols: Sequence[str] | None = ...) -> npt.NDArray[np.float64]: ...


def round_to_base(
    values: pd.DataFrame | pd.Series | int | float | npt.NDArray[np.float64] | Sequence[float],
    base: int = DEFAULT_BASE,
    *,
    count_cols: Sequence[str] | None = None,
) -> pd.DataFrame | pd.Series | float | npt.NDArray[np.float64]:
    """Counts rounded to the nearest multiple of ``base``, halves up: ``floor(x / b + 1/2) b``.

    Works on a number, an array, a Series, or a DataFrame's ``count_cols`` (required for a
    DataFrame). Missing values (NA, NaN, including suppressed cells) stay missing. With base 5:
    0-2 -> 0, 3-7 -> 5, 8-12 -> 10. Published totals should be rounded from the unrounded
    total, so they need not equal the sum of rounded parts; say so beside the table.
    """
    if base < 1:
        raise ValueError(f"base must be a positive whole number, got {base!r}")
    if isinstance(values, pd.DataFrame):
        if count_cols is None:
            raise ValueError("name the count columns to round (count_cols=...)")
        out = values.copy()
        for col in count_cols:
            out[col] = _round_series(values[col], base)
        return out
    if isinstance(values, pd.Series):
        return _round_series(values, base)
    if isinstance(values, (int, float)):
        return float("nan") if math.isnan(values) else float(_round_array(
            np.asarray([values], dtype=np.float64), base)[0])
    return _round_array(np.asarray(values, dtype=np.float64), base)


def _round_array(arr: npt.NDArray[np.float64], base: int) -> npt.NDArray[np.float64]:
    if np.any(arr[np.isfinite(arr)] < 0):
        raise ValueError("counts to round must not be negative")
    return np.asarray(np.floor(arr / base + 0.5) * base, dtype=np.float64)


def _round_series(series: pd.Series, base: int) -> pd.Series:
    numeric = pd.to_numeric(series, errors="raise").astype("Float64")
    if (numeric.dropna() < 0).any():
        raise ValueError("counts to round must not be negative")
    arr = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
    rounded = np.floor(arr / base + 0.5) * base
    return pd.Series(rounded, index=series.index, name=series.name).astype("Int64")


def _counts(table: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    out = pd.DataFrame(index=table.index)
    for col in cols:
        numeric = pd.to_numeric(table[col], errors="coerce")
        bad = numeric.isna() | (numeric < 0) | (numeric != np.floor(numeric))
        if bad.any():
            where = list(table.index[bad.to_numpy()][:5])
            raise ValueError(
                f"column {col!r} must hold whole, non-negative counts; rows {where} do not")
        out[col] = numeric.astype(np.int64)
    return out


def _complement(
    body: Sequence[Cell],
    total: Cell | None,
    flags: dict[Cell, str],
    counts: dict[Cell, int],
) -> Cell | None:
    """The cell to hide next in a line with one hidden cell: smallest shown non-zero body
    cell, then a shown zero, then the line's total; None if nothing is left."""
    shown = [cell for cell in body if not flags[cell]]
    nonzero = [cell for cell in shown if counts[cell] > 0]
    if nonzero:
        return min(nonzero, key=lambda cell: counts[cell])
    if shown:
        return shown[0]
    if total is not None and not flags[total]:
        return total
    return None
