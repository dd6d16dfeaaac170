"""Change between two periods: this 12 months against the previous 12, and is it real?

Counts in the two periods, c1 (current) and c2 (previous), are independent Poisson counts
with exposures t1 and t2 (person-time: population times length of period; 1 and 1 for two
12-month periods over the same population). Under "no change in the rate", c1 given
c1 + c2 is Binomial(c1 + c2, t1 / (t1 + t2)); the exact conditional test and the exact
interval for the rate ratio both come from that binomial (Przyborowski & Wilenski 1940;
Breslow & Day 1987, section 2.4).

When many places are tested at once, some will look significant by chance. ``adjust_p_values``
controls the false discovery rate (Benjamini & Hochberg 1995) or the family-wise error rate
(Bonferroni); ``change_table`` does both steps for a table of places.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from vru.domain.statistics.provenance import Method, ResultMeta, attach
from vru.domain.statistics.rates import FloatArray, as_counts, check_confidence

Adjustment = Literal["fdr_bh", "bonferroni", "none"]

EXACT_CONDITIONAL = Method(
    "Exact conditional (binomial) test and exact interval for the ratio of two Poisson rates",
    "Przyborowski J, Wilenski H (1940) Homogeneity of results in testing samples from Poisson "
    "series, Biometrika 31:313-23; Breslow NE, Day NE (1987) Statistical Methods in Cancer "
    "Research vol. II, IARC, s.2.4; Clopper CJ, Pearson ES (1934) Biometrika 26:404-13; "
    "scipy.stats.binomtest.",
)
BENJAMINI_HOCHBERG = Method(
    "Benjamini-Hochberg false discovery rate adjustment",
    "Benjamini Y, Hochberg Y (1995) Controlling the false discovery rate, JRSS B 57:289-300.",
)
BONFERRONI = Method(
    "Bonferroni adjustment",
    "Bonferroni CE (1936); Dunn OJ (1961) Multiple comparisons among means, JASA 56:52-64.",
)

CHANGE_COLUMNS = (
    "change", "pct_change", "rate_ratio", "rr_low", "rr_high", "p_value",
)
TABLE_COLUMNS = (*CHANGE_COLUMNS, "p_adjusted", "significant", "direction")


def exact_rate_ratio(
    c1: int,
    c2: int,
    t1: float = 1.0,
    t2: float = 1.0,
    confidence: float = 0.95,
) -> tuple[float, float, float, float]:
    """Rate ratio (c1/t1)/(c2/t2), its exact interval, and the exact conditional p-value.

    Given n = c1 + c2 and p0 = t1 / (t1 + t2), c1 ~ Binomial(n, p0) under equal rates. The
    two-sided p-value is ``scipy.stats.binomtest(c1, n, p0).pvalue`` (outcomes no more likely
    than the one observed). With (pi_L, pi_U) the Clopper-Pearson limits for pi = c1 / n::

        RR_L = pi_L / (1 - pi_L) * t2 / t1        RR_U = pi_U / (1 - pi_U) * t2 / t1

    (Breslow & Day 1987, s.2.4; Przyborowski & Wilenski 1940). RR_U is infinite when c2 = 0
    and RR_L is 0 when c1 = 0. With no events at all (n = 0) the ratio and its limits are NaN
    and the p-value is 1: no evidence of change. One place of ``exact_rate_ratios``.
    """
    check_confidence(confidence)
    if c1 < 0 or c2 < 0 or int(c1) != c1 or int(c2) != c2:
        raise ValueError(f"counts must be non-negative whole numbers, got {c1!r} and {c2!r}")
    if not (t1 > 0 and t2 > 0):
        raise ValueError(f"exposures must be positive, got {t1!r} and {t2!r}")
    rr, low, high, p = exact_rate_ratios(
        np.array([c1], dtype=np.float64), np.array([c2], dtype=np.float64),
        np.array([t1], dtype=np.float64), np.array([t2], dtype=np.float64), confidence,
    )
    return float(rr[0]), float(low[0]), float(high[0]), float(p[0])


def exact_rate_ratios(
    c1: FloatArray,
    c2: FloatArray,
    t1: FloatArray,
    t2: FloatArray,
    confidence: float = 0.95,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """``exact_rate_ratio`` for arrays of whole counts and positive exposures, vectorised.

    The Clopper-Pearson limits are the beta quantiles they are defined by (Clopper & Pearson
    1934): pi_L = Beta(a/2; k, n - k + 1) (0 when k = 0) and pi_U = Beta(1 - a/2; k + 1,
    n - k) (1 when k = n), with a = 1 - confidence, the roots ``scipy.stats.binomtest``'s
    ``proportion_ci(method="exact")`` finds numerically. Where p0 = 1/2 (equal exposures)
    the binomial is symmetric, so the outcomes no more likely than k are those at least as
    far from n/2, and the two-sided p-value is min(1, 2 P(X <= min(k, n - k))), 1 when
    k = n/2: binomtest's value without a root search. Other p0 use binomtest itself.
    Validation is the caller's: counts whole and non-negative, exposures positive.
    """
    check_confidence(confidence)
    c1, c2, t1, t2 = (np.asarray(a, dtype=np.float64) for a in (c1, c2, t1, t2))
    n = c1 + c2
    alpha = 1.0 - confidence
    some = n > 0
    safe_n = np.where(some, n, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pi_low = np.where(
            c1 > 0, stats.beta.ppf(alpha / 2.0, np.maximum(c1, 1.0), safe_n - c1 + 1.0), 0.0
        )
        pi_high = np.where(
            c1 < n, stats.beta.ppf(1.0 - alpha / 2.0, c1 + 1.0, np.maximum(safe_n - c1, 1.0)),
            1.0,
        )
        scale = t2 / t1
        rr = np.where(c2 > 0, c1 / np.where(c2 > 0, c2, 1.0) * scale, np.inf)
        low = np.where(pi_low >= 1.0, np.inf, pi_low / (1.0 - pi_low)) * scale
        high = np.where(pi_high >= 1.0, np.inf, pi_high / (1.0 - pi_high)) * scale
    p = np.ones(n.shape)
    p0 = t1 / (t1 + t2)
    symmetric = some & (p0 == 0.5)
    if symmetric.any():
        k, m = c1[symmetric], n[symmetric]
        tail = stats.binom.cdf(np.minimum(k, m - k), m, 0.5)
        p[symmetric] = np.where(2.0 * k == m, 1.0, np.minimum(1.0, 2.0 * tail))
    for i in np.flatnonzero(some & ~symmetric):
        p[i] = stats.binomtest(int(c1[i]), int(n[i]), float(p0[i])).pvalue
    nan = np.full(n.shape, np.nan)
    return (
        np.asarray(np.where(some, rr, nan), dtype=np.float64),
        np.asarray(np.where(some, low, nan), dtype=np.float64),
        np.asarray(np.where(some, high, nan), dtype=np.float64),
        np.asarray(p, dtype=np.float64),
    )


def compare_periods(
    current: npt.ArrayLike,
    previous: npt.ArrayLike,
    exposure_current: npt.ArrayLike = 1.0,
    exposure_previous: npt.ArrayLike = 1.0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Change from ``previous`` to ``current`` for each place, with its exact test.

    Columns: current, previous, change = c1 - c2, pct_change = 100 (c1 - c2) / c2 (NaN when
    c2 = 0: a rise from nothing has no percentage), rate_ratio, rr_low, rr_high and p_value
    from ``exact_rate_ratio`` (exposures broadcast; equal by default), computed for all
    places at once by ``exact_rate_ratios``.
    """
    c1, c2, t1, t2 = np.broadcast_arrays(
        as_counts(current, "current count"),
        as_counts(previous, "previous count"),
        np.asarray(exposure_current, dtype=np.float64),
        np.asarray(exposure_previous, dtype=np.float64),
    )
    if np.any(np.round(c1) != c1) or np.any(np.round(c2) != c2):
        raise ValueError("counts must be whole numbers for the exact test")
    c1, c2, t1, t2 = (np.atleast_1d(a) for a in (c1, c2, t1, t2))
    if not (np.all(t1 > 0) and np.all(t2 > 0)):
        bad = np.concatenate([t1[~(t1 > 0)], t2[~(t2 > 0)]])[:5].tolist()
        raise ValueError(f"exposures must be positive, got {bad}")
    check_confidence(confidence)
    rr, low, high, p = exact_rate_ratios(c1, c2, t1, t2, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(c2 > 0, 100.0 * (c1 - c2) / np.where(c2 > 0, c2, 1.0), np.nan)
    return pd.DataFrame(
        {
            "current": c1,
            "previous": c2,
            "change": c1 - c2,
            "pct_change": pct,
            "rate_ratio": rr,
            "rr_low": low,
            "rr_high": high,
            "p_value": p,
        }
    )


def adjust_p_values(p_values: npt.ArrayLike, method: Adjustment = "fdr_bh") -> FloatArray:
    """p-values adjusted for testing m places at once.

    Benjamini-Hochberg (``"fdr_bh"``): with the p-values sorted p_(1) <= ... <= p_(m)::

        q_(i) = min over j >= i of  min(1, m p_(j) / j)

    so q is monotone in p and q >= p; rejecting q < alpha controls the expected proportion
    of false discoveries at alpha (Benjamini & Hochberg 1995, JRSS B 57:289-300).
    Bonferroni (``"bonferroni"``): min(1, m p), controlling the chance of any false
    positive. ``"none"`` returns the p-values unchanged. NaN p-values (no test) stay NaN and
    do not count in m. Agrees with statsmodels.stats.multitest.multipletests.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must lie between 0 and 1")
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    vals = p[ok]
    m = vals.size
    if m == 0 or method == "none":
        out[ok] = vals
        return out
    if method == "bonferroni":
        out[ok] = np.minimum(1.0, vals * m)
        return out
    if method != "fdr_bh":
        raise ValueError(f"unknown adjustment {method!r}; use 'fdr_bh', 'bonferroni' or 'none'")
    order = np.argsort(vals, kind="stable")
    ranked = vals[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    q = np.empty(m)
    q[order] = q_sorted
    out[ok] = q
    return out


def change_table(
    df: pd.DataFrame,
    current_col: str,
    previous_col: str,
    exposure_current_col: str | None = None,
    exposure_previous_col: str | None = None,
    *,
    confidence: float = 0.95,
    alpha: float = 0.05,
    adjust: Adjustment = "fdr_bh",
    meta: ResultMeta | None = None,
) -> pd.DataFrame:
    """``df`` with change, pct_change, rate_ratio, rr_low, rr_high, p_value, p_adjusted,
    significant and direction added, one row per place.

    Formulas as ``compare_periods`` and ``adjust_p_values``. ``significant`` is
    p_adjusted < alpha; ``direction`` is ``"rising"`` or ``"falling"`` when significant and
    ``"no significant change"`` otherwise. The places in ``df`` are the family adjusted
    over: pass all the places that were tested, not a pre-selected few.
    """
    needed = [current_col, previous_col]
    needed += [c for c in (exposure_current_col, exposure_previous_col) if c is not None]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise KeyError(f"columns not in the table: {', '.join(missing)}")
    clash = [c for c in TABLE_COLUMNS if c in df.columns]
    if clash:
        raise ValueError(f"the table already has columns this would add: {', '.join(clash)}")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    res = compare_periods(
        _column(df, current_col),
        _column(df, previous_col),
        1.0 if exposure_current_col is None else _column(df, exposure_current_col),
        1.0 if exposure_previous_col is None else _column(df, exposure_previous_col),
        confidence,
    )
    out = df.copy()
    for col in CHANGE_COLUMNS:
        out[col] = res[col].to_numpy()
    q = adjust_p_values(res["p_value"].to_numpy(), adjust)
    sig = q < alpha
    ratio = res["rate_ratio"].to_numpy()
    out["p_adjusted"] = q
    out["significant"] = sig
    out["direction"] = np.where(
        sig & (ratio > 1), "rising", np.where(sig & (ratio < 1), "falling", "no significant change")
    )
    if meta is not None:
        adj = {"fdr_bh": BENJAMINI_HOCHBERG, "bonferroni": BONFERRONI}.get(adjust)
        method = EXACT_CONDITIONAL if adj is None else Method(
            f"{EXACT_CONDITIONAL.name}; {adj.name}", f"{EXACT_CONDITIONAL.citation} {adj.citation}"
        )
        out = attach(out, meta.with_method(method))
    return out


def period_bounds(
    end_month: str | pd.Period, months: int = 12
) -> tuple[pd.Period, pd.Period, pd.Period, pd.Period]:
    """(previous_start, previous_end, current_start, current_end) as monthly periods.

    The current period is the ``months`` months ending with ``end_month`` (inclusive); the
    previous period is the ``months`` months before it.
    """
    if months < 1:
        raise ValueError("months must be at least 1")
    end = pd.Period(end_month, freq="M")
    current_start = end - (months - 1)
    previous_end = current_start - 1
    previous_start = previous_end - (months - 1)
    return previous_start, previous_end, current_start, end


def period_totals(
    df: pd.DataFrame,
    place_cols: Sequence[str],
    month_col: str,
    count_col: str,
    end_month: str | pd.Period,
    months: int = 12,
) -> pd.DataFrame:
    """Counts per place in the current and previous ``months``-month periods.

    ``df`` holds monthly counts (one row per place and month; ``month_col`` anything
    ``pd.Period(..., freq="M")`` understands). A place with no row for a month counted none
    that month. The data as a whole must cover all 2 x ``months`` months: if no place has a
    row for some month, the data does not reach it and this refuses rather than read the gap
    as zero. Returns ``place_cols`` + current, previous.
    """
    place_cols = list(place_cols)
    missing = [c for c in [*place_cols, month_col, count_col] if c not in df.columns]
    if missing:
        raise KeyError(f"columns not in the table: {', '.join(missing)}")
    prev_start, prev_end, cur_start, cur_end = period_bounds(end_month, months)
    month = pd.PeriodIndex(df[month_col].astype(str), freq="M")
    window = pd.period_range(prev_start, cur_end, freq="M")
    absent = sorted(set(window) - set(month))
    if absent:
        shown = ", ".join(str(m) for m in absent[:6])
        raise ValueError(
            f"the data has no rows for {len(absent)} month(s) of the comparison window "
            f"{prev_start} to {cur_end}: {shown}"
        )
    counts = _column(df, count_col)
    frame = df[place_cols].copy()
    frame["_current"] = np.where((month >= cur_start) & (month <= cur_end), counts, 0.0)
    frame["_previous"] = np.where((month >= prev_start) & (month <= prev_end), counts, 0.0)
    totals = frame.groupby(place_cols, sort=True, dropna=False)[["_current", "_previous"]].sum()
    totals = totals.rename(columns={"_current": "current", "_previous": "previous"})
    return totals.reset_index()


def _column(df: pd.DataFrame, col: str) -> FloatArray:
    values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if np.any(np.isnan(values)):
        rows = df.index[np.isnan(values)][:5].tolist()
        raise ValueError(f"column {col!r} has missing or non-numeric values at index {rows}")
    return values
