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
    rows: list[dict[str, object]] = []
    for case in cases:
        row: dict[str, object] = {
            "reference": case.reference, "year": case.year,
            "victim_age_band": case.victim_age_band, "method": case.method,
        }
        for col in extra:
            row[col] = getattr(case, col)
        picked = chosen.get(case.reference)
        for code in FACTOR_CODES:
            row[code] = None if picked is None else picked.values.get(code)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["reference", "year", "victim_age_band", "method",
                                        *extra, *FACTOR_CODES])
    for code in FACTOR_CODES:
        frame[code] = frame[code].astype("boolean")
    frame["year"] = frame["year"].astype("int64")
    return frame


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
    missing = [c for c in [*by, *factors] if c not in cases.columns]
    if missing:
        raise KeyError(f"columns not in the table: {', '.join(missing)}")
    groups = [((), cases)] if not by else list(cases.groupby(by, sort=True, dropna=False))
    rows: list[dict[str, object]] = []
    for key, part in groups:
        key_tuple = key if isinstance(key, tuple) else (key,)
        for factor in factors:
            values = part[factor].astype("boolean")
            present = int((values == True).sum())  # noqa: E712 - nullable boolean
            absent = int((values == False).sum())  # noqa: E712
            row: dict[str, object] = dict(zip(by, key_tuple, strict=True))
            row.update(factor=factor, n_known=present + absent, present=present,
                       absent=absent, not_known=int(values.isna().sum()))
            rows.append(row)
    out = pd.DataFrame(rows, columns=[*by, *PREVALENCE_COLUMNS[:5]])
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
