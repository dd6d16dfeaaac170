"""Co-occurrence of coded factors: pair counts, phi coefficients and odds ratios.

For two factors A and B over the cases where both are known, the 2 x 2 table is::

                B present   B absent
    A present      a           b
    A absent       c           d

* **Pair count**: a, the cases with both.
* **Phi** (the Pearson correlation of two 0/1 variables; Yule 1912)::

      phi = (a d - b c) / sqrt((a + b)(c + d)(a + c)(b + d))

  undefined (missing) when a margin is 0, i.e. when a factor is present in all or none of
  the cases.
* **Odds ratio** OR = a d / (b c) with **Woolf's** log interval (Woolf B (1955) On
  estimating the relation between blood group and disease, *Ann Hum Genet* 19:251-3)::

      ln OR -/+ z sqrt(1/a + 1/b + 1/c + 1/d)

  When any cell is 0 the odds ratio or its interval is infinite or undefined; then 0.5 is
  added to **every** cell first (the Haldane-Anscombe correction: Haldane JBS (1956)
  *Ann Hum Genet* 20:309-11; Anscombe FJ (1956) *Biometrika* 43:461-4) and the row says so.
  (statsmodels' ``Table2x2(shift_zeros=True)`` adds 0.5 to the zero cells only, which is a
  different estimator; the tests compare against ``Table2x2`` on the corrected table.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt
import pandas as pd

from vru.domain.statistics.provenance import Method
from vru.domain.statistics.rates import two_sided_z

WOOLF = Method(
    "Odds ratio with Woolf's log interval; Haldane-Anscombe correction (0.5 added to every "
    "cell) when a cell is zero",
    "Woolf B (1955) Ann Hum Genet 19:251-3; Haldane JBS (1956) Ann Hum Genet 20:309-11; "
    "Anscombe FJ (1956) Biometrika 43:461-4.",
)
PHI = Method(
    "Phi coefficient (Pearson correlation of two binary variables)",
    "Yule GU (1912) J R Stat Soc 75:579-652; Cramer H (1946) Mathematical Methods of "
    "Statistics.",
)

NOTE_CORRECTED = "A cell is zero: 0.5 was added to every cell (Haldane-Anscombe)."
NOTE_NO_PHI = "A factor is present in all or none of these cases: phi is undefined."
NOTE_NO_CASES = "No cases with both factors known."

COOCCURRENCE_COLUMNS = (
    "factor_a", "factor_b", "n", "both", "a_only", "b_only", "neither", "phi",
    "odds_ratio", "or_low", "or_high", "corrected", "note",
)


@dataclass(frozen=True)
class OddsRatio:
    """An odds ratio with its Woolf interval, and whether the zero-cell correction was used."""

    odds_ratio: float
    ci_low: float
    ci_high: float
    corrected: bool


def phi_coefficient(a: float, b: float, c: float, d: float) -> float:
    """Phi for the 2 x 2 table [[a, b], [c, d]]; NaN when a margin is zero."""
    denom = (a + b) * (c + d) * (a + c) * (b + d)
    if denom <= 0:
        return float("nan")
    return float((a * d - b * c) / math.sqrt(denom))


def odds_ratio(
    a: float, b: float, c: float, d: float, confidence: float = 0.95,
    *, correct_zeros: bool = True,
) -> OddsRatio:
    """Odds ratio a d / (b c) with Woolf's interval exp(ln OR -/+ z sqrt(1/a+1/b+1/c+1/d)).

    With ``correct_zeros`` (default) 0.5 is added to every cell when any is zero
    (Haldane-Anscombe); without it, a zero cell gives an infinite or NaN ratio and NaN limits.
    """
    return _odds_ratio(a, b, c, d, two_sided_z(confidence), correct_zeros)


def _odds_ratio(a: float, b: float, c: float, d: float, z: float, correct_zeros: bool
                ) -> OddsRatio:
    """``odds_ratio`` with the normal quantile ``z`` already worked out (once for a table
    of pairs, not once per pair)."""
    cells = [float(a), float(b), float(c), float(d)]
    if any(x < 0 or not math.isfinite(x) for x in cells):
        raise ValueError("cells must be finite, non-negative counts")
    nan = float("nan")
    if not any(cells):
        return OddsRatio(nan, nan, nan, False)
    corrected = bool(correct_zeros and 0.0 in cells)
    if corrected:
        cells = [x + 0.5 for x in cells]
    a_, b_, c_, d_ = cells
    if 0.0 in cells:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = float(np.float64(a_ * d_) / np.float64(b_ * c_))
        return OddsRatio(ratio, nan, nan, False)
    log_or = math.log(a_) + math.log(d_) - math.log(b_) - math.log(c_)
    se = math.sqrt(float(np.sum(np.array([1.0 / x for x in cells]))))
    return OddsRatio(math.exp(log_or), math.exp(log_or - z * se), math.exp(log_or + z * se),
                     corrected)


def two_by_two(
    first: npt.ArrayLike, second: npt.ArrayLike
) -> tuple[int, int, int, int]:
    """(a, b, c, d): both, first only, second only, neither, over two boolean arrays."""
    x = np.asarray(first, dtype=bool)
    y = np.asarray(second, dtype=bool)
    if x.shape != y.shape:
        raise ValueError("both factors must be given for the same cases")
    return (int(np.sum(x & y)), int(np.sum(x & ~y)), int(np.sum(~x & y)),
            int(np.sum(~x & ~y)))


def cooccurrence(
    cases: pd.DataFrame,
    factors: Sequence[str],
    confidence: float = 0.95,
) -> pd.DataFrame:
    """One row per pair of ``factors`` (in the given order) over the cases where both are
    known: the 2 x 2 counts, phi, and the odds ratio with Woolf's interval (formulas in the
    module docstring).

    ``cases`` has one row per case and one column per factor holding True, False or missing.
    """
    missing = [f for f in factors if f not in cases.columns]
    if missing:
        raise KeyError(f"factors not in the table: {', '.join(missing)}")
    factors = list(factors)
    # one matrix product per cell of the 2 x 2 tables gives every pair at once:
    # present (yes) and absent (no) are 0/1 columns, 0 where the answer is not known
    # (floating point, for the fast matrix product; counts are exact up to 2**53)
    yes = np.zeros((len(cases), len(factors)), dtype=np.float64)
    no = np.zeros((len(cases), len(factors)), dtype=np.float64)
    for j, factor in enumerate(factors):
        values = cases[factor].astype("boolean")
        known = values.notna().to_numpy(dtype=bool)
        present = values.to_numpy(dtype=bool, na_value=False)
        yes[:, j] = present
        no[:, j] = known & ~present
    both, a_only, b_only, neither = yes.T @ yes, yes.T @ no, no.T @ yes, no.T @ no
    z = two_sided_z(confidence)
    rows: list[dict[str, object]] = []
    for (i, fa), (j, fb) in combinations(enumerate(factors), 2):
        a, b, c, d = (int(both[i, j]), int(a_only[i, j]), int(b_only[i, j]),
                      int(neither[i, j]))
        n = a + b + c + d
        ph = phi_coefficient(a, b, c, d)
        ratio = _odds_ratio(a, b, c, d, z, correct_zeros=True)
        notes = []
        if n == 0:
            notes.append(NOTE_NO_CASES)
        else:
            if math.isnan(ph):
                notes.append(NOTE_NO_PHI)
            if ratio.corrected:
                notes.append(NOTE_CORRECTED)
        rows.append({
            "factor_a": fa, "factor_b": fb, "n": n, "both": a, "a_only": b, "b_only": c,
            "neither": d, "phi": ph, "odds_ratio": ratio.odds_ratio, "or_low": ratio.ci_low,
            "or_high": ratio.ci_high, "corrected": ratio.corrected, "note": " ".join(notes),
        })
    return pd.DataFrame(rows, columns=list(COOCCURRENCE_COLUMNS))


def pair_count_matrix(cases: pd.DataFrame, factors: Sequence[str]) -> pd.DataFrame:
    """A factors x factors table of how many cases have both (diagonal: cases with each).

    Not-known answers count as not present here; the pair rows of ``cooccurrence`` give
    the counts over known answers only.
    """
    missing = [f for f in factors if f not in cases.columns]
    if missing:
        raise KeyError(f"factors not in the table: {', '.join(missing)}")
    x = np.column_stack([
        cases[f].astype("boolean").fillna(False).to_numpy(dtype=np.int64) for f in factors
    ]) if len(cases) else np.zeros((0, len(factors)), dtype=np.int64)
    return pd.DataFrame(x.T @ x, index=list(factors), columns=list(factors))
