"""Disproportionality: rates per 100,000 by group, and rate ratios against a reference group.

For example homicide victims by ethnic group per 100,000 of that group's population, with
the ratio of each group's rate to the reference group's. Each group's rate has its Poisson
interval (as ``rates.rate_with_interval``); each rate ratio has two intervals:

* the **log (Katz) interval**, the usual one in published tables; and
* the **exact conditional interval** with its p-value, from the binomial distribution of the
  group's events given the events in the two groups together; it stays valid with small
  counts and when a group has no events.

Edge cases are answered explicitly, never dropped: a group with no population has no rate
(NaN) and says so; a group with no events has rate 0 and a zero ratio whose log interval is
undefined (NaN; the exact interval is given); a reference group with no events makes every
ratio undefined.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from vru.domain.statistics.change import exact_rate_ratio
from vru.domain.statistics.provenance import Method, ResultMeta, attach
from vru.domain.statistics.rates import (
    PHE_RATE,
    CountMethod,
    FloatArray,
    as_counts,
    column_values,
    rate_with_interval,
    two_sided_z,
)

KATZ = Method(
    "Rate ratio with log (Katz) interval",
    "Katz D, Baptista J, Azen SP, Pike MC (1978) Obtaining confidence intervals for the risk "
    "ratio in cohort studies, Biometrics 34:469-74.",
)
DISPROPORTIONALITY = Method(
    "Rates per population by group (exact Poisson below 10 events, Byar's from 10); rate "
    "ratios against a reference group with log (Katz) and exact conditional intervals",
    f"{PHE_RATE.citation} {KATZ.citation} Breslow & Day (1987) s.2.4; scipy.stats.binomtest.",
)

REASON_NO_POPULATION = "No population in this group: no rate or ratio can be calculated."
REASON_NO_EVENTS = (
    "No events in this group: the ratio is 0 and its log (Katz) interval is undefined; "
    "use the exact interval."
)
REASON_REFERENCE_NO_EVENTS = "The reference group has no events: the ratio is undefined."
REASON_MORE_EVENTS_THAN_PEOPLE = (
    "More events than people in this group: the Katz interval (for risks) does not apply; "
    "use the exact interval."
)
REASON_REFERENCE = "Reference group."

GROUP_COLUMNS = (
    "count", "population", "rate", "ci_low", "ci_high", "rate_method", "unreliable",
    "rate_reason", "reference_group", "rate_ratio", "rr_low", "rr_high", "rr_exact_low",
    "rr_exact_high", "p_value", "ratio_note",
)


def katz_rate_ratio_interval(
    count: npt.ArrayLike,
    population: npt.ArrayLike,
    reference_count: npt.ArrayLike,
    reference_population: npt.ArrayLike,
    confidence: float = 0.95,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Rate ratio RR = (a / N_a) / (c / N_c) and its log (Katz) interval.

    SE(ln RR) = sqrt(1/a - 1/N_a + 1/c - 1/N_c);  limits = exp(ln RR -/+ z SE).
    Katz, Baptista, Azen & Pike 1978, Biometrics 34:469-74. (For rare events 1/N is
    negligible and this is the Poisson log interval sqrt(1/a + 1/c).) NaN limits where a or c
    is 0, where a population is 0, or where events exceed the population.
    """
    a, n_a, c, n_c = np.broadcast_arrays(
        as_counts(count), as_counts(population, "population"),
        as_counts(reference_count, "reference count"),
        as_counts(reference_population, "reference population"),
    )
    z = two_sided_z(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = np.where((n_a > 0) & (n_c > 0) & (c > 0), (a / n_a) / (c / n_c), np.nan)
        defined = (a > 0) & (c > 0) & (a <= n_a) & (c <= n_c) & (n_a > 0) & (n_c > 0)
        var = np.where(defined, 1 / a - 1 / n_a + 1 / c - 1 / n_c, np.nan)
        se = np.sqrt(np.maximum(var, 0.0))
        low = np.where(defined, rr * np.exp(-z * se), np.nan)
        high = np.where(defined, rr * np.exp(z * se), np.nan)
    return (
        np.asarray(rr, dtype=np.float64),
        np.asarray(low, dtype=np.float64),
        np.asarray(high, dtype=np.float64),
    )


def group_rates(
    df: pd.DataFrame,
    group_col: str,
    count_col: str,
    population_col: str,
    reference: object | None = None,
    *,
    by: Sequence[str] = (),
    per: float = 100_000,
    confidence: float = 0.95,
    method: CountMethod = "phe",
    meta: ResultMeta | None = None,
) -> pd.DataFrame:
    """Rates per ``per`` by group and rate ratios against ``reference``, within each ``by``.

    ``df`` has one row per group (per ``by`` stratum, e.g. per borough) with its event count
    and population. For each group: rate, ci_low, ci_high, rate_method, unreliable and
    rate_reason as ``rates.rate_with_interval``; reference_group; rate_ratio with its log
    (Katz) limits rr_low, rr_high (``katz_rate_ratio_interval``) and its exact conditional
    limits rr_exact_low, rr_exact_high and two-sided p_value (``change.exact_rate_ratio`` with
    the two populations as exposures: a | a + c ~ Binomial(a + c, N_a / (N_a + N_c)));
    ratio_note says in words why a ratio or interval is missing. The reference group's own
    ratio is 1 with no interval. ``reference=None`` uses the group with the largest
    population in each stratum.
    """
    by = list(by)
    needed = [*by, group_col, count_col, population_col]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise KeyError(f"columns not in the table: {', '.join(missing)}")
    counts = column_values(df, count_col)
    pops = column_values(df, population_col)
    frame = df[[*by, group_col]].copy()
    frame["count"] = counts
    frame["population"] = pops
    if frame.duplicated([*by, group_col]).any():
        raise ValueError(f"each {group_col!r} must appear once per stratum")
    parts = [frame] if not by else [part for _, part in frame.groupby(by, sort=True, dropna=False)]
    out = pd.concat(
        [_stratum(p, group_col, reference, per, confidence, method) for p in parts],
        ignore_index=True,
    )
    if meta is not None:
        out = attach(out, meta.with_method(DISPROPORTIONALITY))
    return out


def _stratum(
    part: pd.DataFrame,
    group_col: str,
    reference: object | None,
    per: float,
    confidence: float,
    method: CountMethod,
) -> pd.DataFrame:
    a = part["count"].to_numpy(dtype=np.float64)
    n_a = part["population"].to_numpy(dtype=np.float64)
    groups = part[group_col].tolist()
    if reference is None:
        ref_idx = int(np.argmax(n_a))
    else:
        matches = [i for i, g in enumerate(groups) if g == reference]
        if not matches:
            raise KeyError(f"reference group {reference!r} is not among {groups!r}")
        ref_idx = matches[0]
    c, n_c = float(a[ref_idx]), float(n_a[ref_idx])
    if n_c <= 0:
        raise ValueError(f"the reference group {groups[ref_idx]!r} has no population")
    est = rate_with_interval(a, n_a, per, confidence, method)
    rr, rr_low, rr_high = katz_rate_ratio_interval(a, n_a, c, n_c, confidence)
    exact = np.full((a.size, 4), np.nan)
    notes: list[str] = []
    for i in range(a.size):
        if i == ref_idx:
            notes.append(REASON_REFERENCE)
            continue
        if n_a[i] <= 0:
            notes.append(REASON_NO_POPULATION)
            continue
        if c == 0:
            notes.append(REASON_REFERENCE_NO_EVENTS)
            continue
        if np.round(a[i]) == a[i] and np.round(c) == c:
            exact[i] = exact_rate_ratio(int(a[i]), int(c), float(n_a[i]), n_c, confidence)
        if a[i] == 0:
            notes.append(REASON_NO_EVENTS)
        elif a[i] > n_a[i] or c > n_c:
            notes.append(REASON_MORE_EVENTS_THAN_PEOPLE)
        else:
            notes.append("")
    rr = np.where(np.arange(a.size) == ref_idx, 1.0, rr)
    rr_low = np.where(np.arange(a.size) == ref_idx, np.nan, rr_low)
    rr_high = np.where(np.arange(a.size) == ref_idx, np.nan, rr_high)
    out = part.copy()
    out["rate"] = est.rate
    out["ci_low"] = est.ci_low
    out["ci_high"] = est.ci_high
    out["rate_method"] = est.method
    out["unreliable"] = est.unreliable
    out["rate_reason"] = est.reason
    out["reference_group"] = groups[ref_idx]
    out["rate_ratio"] = rr
    out["rr_low"] = rr_low
    out["rr_high"] = rr_high
    out["rr_exact_low"] = exact[:, 1]
    out["rr_exact_high"] = exact[:, 2]
    out["p_value"] = exact[:, 3]
    out["ratio_note"] = notes
    return out
