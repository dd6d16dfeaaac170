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

Published editions (the public Strategic Needs Assessment)
-----------------------------------------------------------
``DisclosureRules`` holds one edition's rules: the threshold (default 10), base-``n``
rounding where configured, no rate for fewer than ``rate_min_events`` (10) events, and group
(ethnicity) and homicide figures only at levels where every cell passes (``passing_level``).
``protect`` applies them to one tidy table described by a ``TableSpec`` (its count columns,
the groups of rows whose counts add up to a known total, the rates and the derived columns
that would give a hidden count away), and ``check_published`` / ``scan_for_counts`` check
what was written, from the published JSON itself, so a build fails when anything breaks a
rule: a count under the threshold, a rate on too few events, a hidden cell that one known
total gives away, a derived value beside a hidden count, an unrounded count.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

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
        (r, c): str(v)
        for c in protected
        for r, v in zip(table.index, reason[c].tolist(), strict=True)
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


# --------------------------------------------------------------------------- published editions

#: The fewest events a published rate may rest on (a rate on fewer is too unstable to show,
#: and with a known population it would give the count away).
DEFAULT_RATE_MIN_EVENTS = 10
#: Status column suffix: ``count_status`` says whether ``count`` is shown or hidden.
STATUS_SUFFIX = "_status"
SHOWN = ""
HIDDEN = "suppressed"
NOT_AVAILABLE = "not available"
#: Keys that hold counts of events or people wherever they appear in published JSON.
PUBLISHED_COUNT_KEYS: frozenset[str] = frozenset({
    "count", "previous_count", "events", "events_near", "events_elsewhere", "victims",
})


@dataclass(frozen=True)
class DisclosureRules:
    """The disclosure rules of one published edition.

    ``threshold``: counts from 1 to ``threshold - 1`` are hidden (0 too with
    ``suppress_zeros``), with secondary suppression so no hidden count can be worked out from
    a known total. ``round_base``: shown counts rounded to this base (None: not rounded).
    ``rate_min_events``: no rate (or interval) is shown for fewer events than this.
    """

    threshold: int = DEFAULT_THRESHOLD
    round_base: int | None = None
    rate_min_events: int = DEFAULT_RATE_MIN_EVENTS
    suppress_zeros: bool = False

    def __post_init__(self) -> None:
        if self.threshold < 1:
            raise ValueError(f"threshold must be at least 1, got {self.threshold!r}")
        if self.round_base is not None and self.round_base < 2:
            raise ValueError(f"round_base must be 2 or more (or None), got {self.round_base!r}")
        if self.rate_min_events < 1:
            raise ValueError(f"rate_min_events must be at least 1, got {self.rate_min_events!r}")

    def allows(self, value: float) -> bool:
        """Whether a shown count may be published under these rules."""
        if not math.isfinite(value) or value < 0:
            return False
        if value == 0:
            return not self.suppress_zeros
        if value < self.threshold:
            return False
        return self.round_base is None or float(value) % self.round_base == 0

    def describe(self) -> list[str]:
        """The rules in plain English, for the methods annex of a published report."""
        low = 0 if self.suppress_zeros else 1
        out = [
            f"Any count from {low} to {self.threshold - 1} is not shown. It is replaced by "
            f"{SUPPRESSED_SYMBOL}, so that no person can be picked out.",
            "Some hidden counts could be worked out from a total. For example, take a "
            "borough total and subtract the wards we show. So we also hide at least one "
            f"more count in that total, shown as {SUPPRESSED_SYMBOL} too.",
            f"No rate is shown for a place with fewer than {self.rate_min_events} events. "
            "A rate on so few events changes a lot by chance.",
            "We show figures by ethnic group, and homicide figures, only for large areas. "
            "We show them only where every figure in the table passes these rules.",
        ]
        if self.round_base is not None:
            out.append(f"Counts are rounded to the nearest {self.round_base}, so totals may "
                       "not equal the sum of their parts. Rates use the rounded counts, and "
                       "changes and intervals are not shown.")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "round_base": self.round_base,
                "rate_min_events": self.rate_min_events,
                "suppress_zeros": self.suppress_zeros}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DisclosureRules:
        base = data.get("round_base")
        return cls(int(data.get("threshold", DEFAULT_THRESHOLD)),
                   None if base is None else int(base),
                   int(data.get("rate_min_events", DEFAULT_RATE_MIN_EVENTS)),
                   bool(data.get("suppress_zeros", False)))


@dataclass(frozen=True)
class TableSpec:
    """How one tidy published table is protected.

    ``count_columns``: the counts. ``line_groups``: each is a tuple of columns; the rows that
    share their values add up (in each count column) to a total the reader may know (``()``:
    the whole column; ``("measure", "parent_code")``: the wards of a borough, per measure).
    ``across``: each row's count columns add up to a known total (this period and the last
    make a known two-period total). ``rate_columns``: a rate (or interval bound) and the count
    column it rests on. ``derived_columns``: values that would give a hidden count away
    (changes, ranks, p-values): blanked in every row where a count is hidden.
    """

    count_columns: tuple[str, ...]
    line_groups: tuple[tuple[str, ...], ...] = ((),)
    across: bool = False
    rate_columns: Mapping[str, str] = field(default_factory=dict)
    derived_columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.count_columns:
            raise ValueError("a protected table needs at least one count column")
        object.__setattr__(self, "count_columns", tuple(self.count_columns))
        object.__setattr__(self, "line_groups", tuple(tuple(g) for g in self.line_groups))
        object.__setattr__(self, "derived_columns", tuple(self.derived_columns))
        object.__setattr__(self, "rate_columns", dict(self.rate_columns))

    def to_dict(self) -> dict[str, Any]:
        return {"count_columns": list(self.count_columns),
                "line_groups": [list(g) for g in self.line_groups], "across": self.across,
                "rate_columns": dict(self.rate_columns),
                "derived_columns": list(self.derived_columns)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableSpec:
        return cls(tuple(data["count_columns"]),
                   tuple(tuple(g) for g in data.get("line_groups", [[]])),
                   bool(data.get("across", False)), dict(data.get("rate_columns", {})),
                   tuple(data.get("derived_columns", ())))


@dataclass(frozen=True)
class Protected:
    """A table after ``protect``: hidden counts are NaN and each count column has a
    ``<column>_status`` column (``""`` shown, ``"suppressed"``, ``"not available"``)."""

    table: pd.DataFrame
    spec: TableSpec
    rules: DisclosureRules
    n_primary: int
    n_secondary: int

    @property
    def note(self) -> str:
        """What was done, in plain words, never stating a hidden value."""
        parts = []
        if self.n_primary or self.n_secondary:
            parts.append(f"Counts under {self.rules.threshold} are not shown "
                         f"({SUPPRESSED_SYMBOL}) to protect the people they describe")
            if self.n_secondary:
                parts[-1] += ("; some further counts are hidden so that hidden counts "
                              "cannot be worked out from totals")
        if self.spec.rate_columns:
            parts.append(f"Rates are not shown for fewer than {self.rules.rate_min_events} "
                         "events")
        if self.rules.round_base is not None:
            parts.append(f"Counts are rounded to the nearest {self.rules.round_base}")
        return ". ".join(parts) + ("." if parts else "")


def _table_lines(table: pd.DataFrame, spec: TableSpec) -> list[list[Cell]]:
    lines: list[list[Cell]] = []
    for group in spec.line_groups:
        for col in spec.count_columns:
            lines += lines_within(table, list(group), col)
    if spec.across and len(spec.count_columns) > 1:
        lines += [[(r, c) for c in spec.count_columns] for r in table.index]
    return [line for line in lines if len(line) > 1]


def protect(table: pd.DataFrame, spec: TableSpec,
            rules: DisclosureRules | None = None) -> Protected:
    """``table`` (tidy, one row per cell of its count columns) made safe to publish.

    1. Primary and secondary suppression of the count columns over the lines ``spec``
       names (``suppress``); a missing count (NaN, "not available") is treated as a known
       zero, so it never makes a line safe.
    2. Derived columns blanked in every row where a count is hidden.
    3. Rates and intervals blanked where their count is hidden, missing or under
       ``rate_min_events``.
    4. With ``round_base``: shown counts rounded, rates recomputed from the rounded counts
       (scaled), derived columns blanked (a change or p-value from exact counts would undo
       the rounding).
    """
    rules = rules or DisclosureRules()
    missing = [c for c in [*spec.count_columns, *spec.rate_columns,
                           *spec.rate_columns.values(), *spec.derived_columns,
                           *(g for grp in spec.line_groups for g in grp)]
               if c not in table.columns]
    if missing:
        raise KeyError(f"columns not in the table: {', '.join(dict.fromkeys(missing))}")
    base = table.reset_index(drop=True)
    work = base.copy()
    available: dict[str, pd.Series] = {}
    for col in spec.count_columns:
        numeric = pd.to_numeric(base[col], errors="coerce").astype("float64")
        available[col] = numeric.notna()
        work[col] = numeric.fillna(0.0)
    threshold = rules.threshold
    if rules.round_base is not None:  # a shown count must not round to under the threshold
        while float(_round_array(np.array([float(threshold)]), rules.round_base)[0]) \
                < rules.threshold:
            threshold += 1
    if len(work):
        sup = suppress(work, list(spec.count_columns), threshold, margins_known=False,
                       lines=_table_lines(work, spec), suppress_zeros=rules.suppress_zeros)
        hidden = {c: sup.mask[c].to_numpy(dtype=bool) for c in spec.count_columns}
        n_primary, n_secondary = sup.n_primary, sup.n_secondary
    else:
        hidden = {c: np.zeros(0, dtype=bool) for c in spec.count_columns}
        n_primary = n_secondary = 0
    out = base.copy()
    true_counts = {c: work[c].to_numpy(dtype=np.float64) for c in spec.count_columns}
    any_hidden = np.zeros(len(out), dtype=bool)
    for col in spec.count_columns:
        avail = available[col].to_numpy(dtype=bool)
        status = np.where(hidden[col], HIDDEN, np.where(avail, SHOWN, NOT_AVAILABLE))
        values = np.where(hidden[col] | ~avail, np.nan, true_counts[col])
        if rules.round_base is not None:
            values = _round_array(values, rules.round_base)
        out[col] = values
        out[col + STATUS_SUFFIX] = status.astype(object)
        any_hidden |= hidden[col]
    for col in spec.derived_columns:
        out[col] = out[col].mask(pd.Series(any_hidden | (rules.round_base is not None),
                                           index=out.index))
    for rate_col, count_col in spec.rate_columns.items():
        c = true_counts[count_col]
        blank = hidden[count_col] | ~available[count_col].to_numpy(dtype=bool) | (
            c < rules.rate_min_events)
        rate = pd.to_numeric(out[rate_col], errors="coerce").astype("float64")
        if rules.round_base is not None:
            shown = out[count_col].to_numpy(dtype=np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.where(c > 0, shown / np.where(c > 0, c, 1.0), np.nan)
            rate = rate * scale
        out[rate_col] = rate.mask(pd.Series(blank, index=out.index))
    return Protected(out, spec, rules, n_primary, n_secondary)


def passing_level(levels: Sequence[tuple[str, pd.DataFrame]], count_column: str = "count",
                  rules: DisclosureRules | None = None) -> str | None:
    """The first of ``levels`` (finest first: ``[("borough", t1), ("region", t2)]``) at which
    every count passes the rules unprotected (0, or at least the threshold), so a group or
    homicide table can be published whole; None if none does."""
    rules = rules or DisclosureRules()
    for name, table in levels:
        values = pd.to_numeric(table[count_column], errors="coerce").dropna().to_numpy()
        if len(values) == 0:
            continue
        ok = (values >= rules.threshold) | ((values == 0) & (not rules.suppress_zeros))
        if bool(np.all(ok)):
            return name
    return None


# --------------------------------------------------------------------------- checks


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _as_float(v: object) -> float:
    return float(v) if _is_number(v) else float("nan")  # type: ignore[arg-type]


def _present(v: object) -> bool:
    return v is not None and not (_is_number(v) and not math.isfinite(float(v)))  # type: ignore[arg-type]


def check_published(name: str, rows: Sequence[Mapping[str, Any]],
                    spec: TableSpec | Mapping[str, Any],
                    rules: DisclosureRules | None = None) -> list[str]:
    """Every way the published ``rows`` of table ``name`` break the rules (empty if none).

    Works from what was written (records as in ``figures.json``), not from what the code
    meant to write: shown counts under the threshold or not rounded, a hidden count with a
    value, a line (known total) with exactly one hidden count, a rate beside a hidden count
    or on too few events, a derived value beside a hidden count."""
    rules = rules or DisclosureRules()
    spec = spec if isinstance(spec, TableSpec) else TableSpec.from_dict(spec)
    problems: list[str] = []

    def hidden(row: Mapping[str, Any], col: str) -> bool:
        return row.get(col + STATUS_SUFFIX) == HIDDEN

    for i, row in enumerate(rows):
        for col in spec.count_columns:
            v = row.get(col)
            if hidden(row, col):
                if _present(v):
                    problems.append(f"{name} row {i}: {col} is marked hidden but has a value")
            elif _present(v) and (not _is_number(v) or not rules.allows(_as_float(v))):
                problems.append(f"{name} row {i}: {col} = {v!r} may not be published "
                                f"(threshold {rules.threshold}"
                                + (f", base {rules.round_base}" if rules.round_base else "")
                                + ")")
        any_hidden = any(hidden(row, c) for c in spec.count_columns)
        for col in spec.derived_columns:
            if (any_hidden or rules.round_base is not None) and _present(row.get(col)):
                problems.append(f"{name} row {i}: {col} is shown beside a hidden count"
                                if any_hidden else
                                f"{name} row {i}: {col} is shown though counts are rounded")
        for rate_col, count_col in spec.rate_columns.items():
            if not _present(row.get(rate_col)):
                continue
            c = row.get(count_col)
            if hidden(row, count_col) or not _present(c) or (
                    _is_number(c) and _as_float(c) < rules.rate_min_events):
                problems.append(f"{name} row {i}: {rate_col} is shown for a hidden count or "
                                f"fewer than {rules.rate_min_events} events")
    frame = pd.DataFrame(list(rows))
    if len(frame):
        for group in spec.line_groups:
            if any(g not in frame.columns for g in group):
                problems.append(f"{name}: line columns {list(group)} are missing")
                continue
            parts = [frame] if not group else [p for _, p in frame.groupby(
                list(group), sort=False, dropna=False)]
            for part in parts:
                for col in spec.count_columns:
                    status = part.get(col + STATUS_SUFFIX)
                    if status is None or len(part) < 2:
                        continue
                    if int((status == HIDDEN).sum()) == 1:
                        key = ", ".join(f"{g}={part[g].iloc[0]}" for g in group) or "all rows"
                        problems.append(f"{name}: {col} over {key} has exactly one hidden "
                                        "count, which its total would give away")
        if spec.across and len(spec.count_columns) > 1:
            for i, row in enumerate(rows):
                n = sum(hidden(row, c) for c in spec.count_columns)
                if n == 1:
                    problems.append(f"{name} row {i}: one of its counts is hidden and the "
                                    "other would give it away through their sum")
    return problems


def scan_for_counts(obj: Any, rules: DisclosureRules | None = None, where: str = "",
                    keys: Iterable[str] = PUBLISHED_COUNT_KEYS) -> list[str]:
    """Walk any published JSON (embedded data, map properties, chart data, CSV rows) and
    report every count under a count key that the rules do not allow."""
    rules = rules or DisclosureRules()
    wanted = frozenset(keys)
    problems: list[str] = []
    # Each node carries the trail to it (parent trail, step); the path text is only written
    # for a problem, as a report holds hundreds of thousands of nodes and few problems.
    Trail = tuple[Any, str | int] | None
    stack: list[tuple[Any, Trail]] = [(obj, None)]
    root = where or "$"

    def text(trail: Trail) -> str:
        steps: list[str] = []
        while trail is not None:
            trail, step = trail
            steps.append(f"[{step}]" if isinstance(step, int) else f".{step}")
        return root + "".join(reversed(steps))

    while stack:
        node, trail = stack.pop()
        if isinstance(node, Mapping):
            for k, v in node.items():
                if str(k) in wanted and _is_number(v) and math.isfinite(float(v)):
                    if not rules.allows(float(v)):
                        problems.append(f"{text(trail)}.{k} = {v!r} may not be published")
                elif isinstance(v, (Mapping, list, tuple)):
                    stack.append((v, (trail, str(k))))
        elif isinstance(node, (list, tuple)):
            for i, v in enumerate(node):
                if isinstance(v, (Mapping, list, tuple)):
                    stack.append((v, (trail, i)))
    return problems
