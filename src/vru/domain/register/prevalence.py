"""How common each factor is among the register's cases, overall and by year, age band and
method, and how many adverse childhood experiences (ACEs) each case has.

* **Prevalence** of a factor: the cases where it is present over the cases where it is known
  (present or absent), with the Wilson score interval (``statistics.rates.wilson_interval``;
  Wilson 1927, Newcombe 1998). Cases coded "not known" are counted separately and left out
  of the denominator.
* **ACE count** of a case: the number of the seven ACE factors coded present. Where some are
  not known the count is a lower bound, so **four or more** is True when at least four are
  present, False when even all the unknown ones together could not reach four, and missing
  (undetermined) otherwise; undetermined cases are left out of its prevalence. The threshold
  of four follows Bellis et al. (2014) *BMC Medicine* 12:72.

The analysis frame has one row per case: ``reference``, ``year``, ``victim_age_band``,
``method`` (and any other grouping columns) and one nullable-boolean column per factor.
``analysis_frame`` builds it from the register's cases and codings, using each case's
consensus coding where there is one and otherwise its first coding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from vru.domain.register.cases import CaseRecord, Coding
from vru.domain.register.vocabulary import ACE_CODES, ACE_HIGH_COUNT, FACTOR_CODES
from vru.domain.statistics.rates import WILSON, wilson_interval

PREVALENCE_METHOD = WILSON
GROUPINGS: dict[str, str] = {
    "year": "Year",
    "victim_age_band": "Victim's age band",
    "method": "Method",
}
PREVALENCE_COLUMNS = ("factor", "n_known", "present", "absent", "not_known", "proportion",
                      "ci_low", "ci_high")
ACE_COLUMNS = ("ace_count", "aces_not_known", "four_or_more")


def analysis_frame(
    cases: Sequence[CaseRecord],
    codings: Sequence[Coding],
    *,
    extra: Sequence[str] = (),
) -> pd.DataFrame:
    """One row per case with its grouping columns and the factor values used for analysis:
    the consensus coding if the case has one, else the first coding; cases with neither have
    every factor missing. ``extra`` adds further case attributes as columns."""
    chosen: dict[str, Coding] = {}
    rank = {"consensus": 0, "first": 1}
    for coding in codings:
        if coding.coding_round not in rank:
            continue
        held = chosen.get(coding.reference)
        if held is None or rank[coding.coding_round] < rank[held.coding_round]:
            chosen[coding.reference] = coding
    # built column by column (one list per column), not row by row
    picked = [chosen.get(case.reference) for case in cases]
    columns: dict[str, object] = {
        "reference": [case.reference for case in cases],
        "year": [case.year for case in cases],
        "victim_age_band": [case.victim_age_band for case in cases],
        "method": [case.method for case in cases],
    }
    for col in extra:
        columns[col] = [getattr(case, col) for case in cases]
    if not cases:  # as a frame of no rows: object columns (empty lists would be float)
        columns = {col: pd.Series([], dtype=object) for col in columns}
    columns.update(_factor_columns(picked))
    frame = pd.DataFrame(columns, columns=["reference", "year", "victim_age_band", "method",
                                           *extra, *FACTOR_CODES])
    frame["year"] = frame["year"].astype("int64")
    return frame


_ANSWER_CODES: dict[object, int] = {True: 1, False: 0, None: -1}


def _factor_columns(picked: Sequence[Coding | None]) -> dict[str, pd.api.extensions.ExtensionArray]:
    """One nullable-boolean column per factor from each case's chosen coding (None: no
    coding, every factor missing): the answers are coded 1 / 0 / -1 into one small integer
    matrix, then each column is made from it without looking at the values again."""
    unknown = (-1,) * len(FACTOR_CODES)
    try:
        codes = np.array([unknown if p is None else
                          tuple(_ANSWER_CODES[p.values.get(code)] for code in FACTOR_CODES)
                          for p in picked], dtype=np.int8).reshape(len(picked),
                                                                   len(FACTOR_CODES))
    except (KeyError, TypeError):  # an answer that is not True, False or None
        return {code: pd.array([None if p is None else p.values.get(code) for p in picked],
                               dtype="boolean") for code in FACTOR_CODES}
    return {code: pd.arrays.BooleanArray(codes[:, j] == 1, codes[:, j] == -1)
            for j, code in enumerate(FACTOR_CODES)}


def coding_frame(codings: Sequence[Coding], coding_round: str) -> pd.DataFrame:
    """The codings of one round as a table indexed by case reference, one column per factor
    (for ``agreement.agreement_by_factor``)."""
    rows = {c.reference: {code: c.values.get(code) for code in FACTOR_CODES}
            for c in codings if c.coding_round == coding_round}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(FACTOR_CODES))
    return frame.astype("boolean")


def factor_prevalence(
    cases: pd.DataFrame,
    factors: Sequence[str] = FACTOR_CODES,
    by: Sequence[str] = (),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Prevalence of each factor with its Wilson interval, within each group of ``by``.

    Returns the ``by`` columns, then factor, n_known (present + absent), present, absent,
    not_known, proportion = present / n_known and its limits ci_low, ci_high (NaN when no
    case has the factor known).
    """
    by = list(by)
    factors = list(factors)
    missing = [c for c in [*by, *factors] if c not in cases.columns]
    if missing:
        raise KeyError(f"columns not in the table: {', '.join(missing)}")
    # each case's group number (0 .. groups - 1, in the order of the sorted group keys)
    if by:
        grouped = cases.groupby(by, sort=True, dropna=False)
        group_of = grouped.ngroup().to_numpy(dtype=np.int64)
        index = grouped.size().index
        keys: list[tuple[object, ...]] = [k if isinstance(k, tuple) else (k,) for k in index]
    else:
        group_of = np.zeros(len(cases), dtype=np.int64)
        keys = [()]
    n_groups = len(keys)
    present, absent, not_known = (np.zeros((n_groups, len(factors)), dtype=np.int64)
                                  for _ in range(3))
    for j, factor in enumerate(factors):
        values = cases[factor].astype("boolean")
        unknown = values.isna().to_numpy(dtype=bool)
        yes = values.to_numpy(dtype=bool, na_value=False)
        present[:, j] = np.bincount(group_of, weights=yes, minlength=n_groups)
        absent[:, j] = np.bincount(group_of, weights=~yes & ~unknown, minlength=n_groups)
        not_known[:, j] = np.bincount(group_of, weights=unknown, minlength=n_groups)
    if not n_groups or not factors:  # as a frame of no rows (object columns)
        out = pd.DataFrame([], columns=[*by, *PREVALENCE_COLUMNS[:5]])
    else:  # built column by column: each group's factors in turn
        columns: dict[str, object] = {
            name: [key[i] for key in keys for _ in factors] for i, name in enumerate(by)}
        columns["factor"] = factors * n_groups
        columns["n_known"] = (present + absent).ravel()
        columns["present"] = present.ravel()
        columns["absent"] = absent.ravel()
        columns["not_known"] = not_known.ravel()
        out = pd.DataFrame(columns, columns=[*by, *PREVALENCE_COLUMNS[:5]])
    return _with_proportion(out, "present", "n_known", confidence)


def ace_counts(cases: pd.DataFrame, aces: Sequence[str] = ACE_CODES,
               threshold: int = ACE_HIGH_COUNT) -> pd.DataFrame:
    """Per case: ace_count (ACEs present), aces_not_known and four_or_more (True, False or
    missing when the unknown ACEs could decide it); ``cases`` with these columns added."""
    missing = [c for c in aces if c not in cases.columns]
    if missing:
        raise KeyError(f"columns not in the table: {', '.join(missing)}")
    values = cases[list(aces)].astype("boolean")
    present = (values == True).sum(axis=1).astype("int64")  # noqa: E712
    unknown = values.isna().sum(axis=1).astype("int64")
    high = pd.Series(pd.NA, index=cases.index, dtype="boolean")
    high[present >= threshold] = True
    high[(present + unknown) < threshold] = False
    out = cases.copy()
    out["ace_count"] = present
    out["aces_not_known"] = unknown
    out["four_or_more"] = high
    return out


def ace_count_distribution(cases: pd.DataFrame, by: Sequence[str] = (),
                           aces: Sequence[str] = ACE_CODES) -> pd.DataFrame:
    """How many cases have 0, 1, ..., len(aces) ACEs present, within each group of ``by``
    (columns: the ``by`` columns, ace_count, cases). Every count from 0 to the number of
    ACEs appears, with 0 cases where none."""
    by = list(by)
    counted = ace_counts(cases, aces)
    levels = list(range(len(aces) + 1))
    groups = [((), counted)] if not by else list(counted.groupby(by, sort=True, dropna=False))
    rows: list[dict[str, object]] = []
    for key, part in groups:
        key_tuple = key if isinstance(key, tuple) else (key,)
        tally = part["ace_count"].value_counts()
        for level in levels:
            row: dict[str, object] = dict(zip(by, key_tuple, strict=True))
            row.update(ace_count=level, cases=int(tally.get(level, 0)))
            rows.append(row)
    return pd.DataFrame(rows, columns=[*by, "ace_count", "cases"])


def four_or_more_prevalence(
    cases: pd.DataFrame, by: Sequence[str] = (), confidence: float = 0.95,
    aces: Sequence[str] = ACE_CODES, threshold: int = ACE_HIGH_COUNT,
) -> pd.DataFrame:
    """The share of cases with four or more ACEs, with its Wilson interval, within each group
    of ``by``; undetermined cases are counted in ``not_known`` and left out."""
    counted = ace_counts(cases, aces, threshold)
    table = factor_prevalence(counted, ["four_or_more"], by, confidence)
    return table


def prevalence_tables(
    cases: pd.DataFrame, groupings: Sequence[Sequence[str]] = ((),),
    confidence: float = 0.95,
) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """For each grouping (``by`` columns; ``()`` for all cases together): the
    ``factor_prevalence`` of every factor and the ``four_or_more_prevalence`` of the same
    cases, the same tables as those two give, with the ACE counts worked out once and both
    tables from one pass over the groups."""
    counted = ace_counts(cases)
    out: list[tuple[pd.DataFrame, pd.DataFrame]] = []
    for by in groupings:
        table = factor_prevalence(counted, [*FACTOR_CODES, "four_or_more"], by, confidence)
        four = (table["factor"] == "four_or_more").to_numpy(dtype=bool)
        out.append((table[~four].reset_index(drop=True), table[four].reset_index(drop=True)))
    return out


def _with_proportion(out: pd.DataFrame, count_col: str, total_col: str,
                     confidence: float) -> pd.DataFrame:
    r = out[count_col].to_numpy(dtype=np.float64)
    n = out[total_col].to_numpy(dtype=np.float64)
    low, high = wilson_interval(r, n, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["proportion"] = np.where(n > 0, r / np.where(n > 0, n, 1.0), np.nan)
    out["ci_low"] = low
    out["ci_high"] = high
    return out
