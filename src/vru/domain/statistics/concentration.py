"""Concentration of events at places: Lorenz curve, Gini, "x% of events in y% of places".

The "law of crime concentration at place" (Weisburd 2015, Criminology 53:133-157) says a small
share of places holds a large share of crime. This module measures that at any geography
(LSOA, ward, borough, street segment, grid cell): the input is one count per place, places
with no events included. Leaving zero-count places out makes every measure here wrong, so
the caller must pass all places of the study area.

Conventions
-----------
* ``counts`` is a 1-D array of non-negative counts, or a ``pandas.Series`` whose index
  names the places. ``N`` is the number of places and ``n`` the number of events
  (``n = sum(counts)``).
* Shares are fractions in [0, 1], not percentages.
* "Top" places are those with the most events. Ties are broken by the order of the input
  (a stable sort), which never changes a share of events, only which tied place is listed.

References
----------
* Lorenz MO (1905) Methods of measuring the concentration of wealth. Publications of the
  American Statistical Association 9(70):209-219.
* Gini C (1912) Variabilita e mutabilita. Bologna.
* Bernasco W, Steenbeek W (2017) More places than crimes: implications for evaluating the
  law of crime concentration at place. Journal of Quantitative Criminology 33:451-467.
  https://doi.org/10.1007/s10940-016-9324-7
* Deltas G (2003) The small-sample bias of the Gini coefficient. Review of Economics and
  Statistics 85(1):226-234.
* Steenbeek W, ``lorenzgini`` R package (https://github.com/wsteenbeek/lorenzgini), the
  authors' implementation of the generalised Gini.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

FloatArray = npt.NDArray[np.float64]
Counts: TypeAlias = "pd.Series[Any] | npt.ArrayLike"

__all__ = [
    "ConcentrationPoint",
    "concentration_table",
    "generalised_gini",
    "gini",
    "lorenz_curve",
    "places_needed_for_share",
    "share_of_events_in_top_places",
    "share_of_places_for_share_of_events",
    "top_place_stability",
]


def _values(counts: Counts, *, allow_zero_total: bool = False) -> FloatArray:
    """Validate ``counts`` and return them as a float array (input order kept)."""
    arr = np.asarray(counts.to_numpy() if isinstance(counts, pd.Series) else counts)
    if arr.ndim != 1:
        raise ValueError(f"counts must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("counts is empty: give one count per place, zeros included")
    try:
        values = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError("counts must be numbers") from exc
    if not np.all(np.isfinite(values)):
        raise ValueError("counts contain a missing or infinite value")
    if np.any(values < 0):
        raise ValueError("counts contain a negative value")
    if not allow_zero_total and values.sum() == 0:
        raise ValueError("there are no events (all counts are zero): concentration is undefined")
    return values


def _labels(counts: Counts, size: int) -> list[object]:
    if isinstance(counts, pd.Series):
        return list(counts.index)
    return list(range(size))


def _descending_order(values: FloatArray) -> npt.NDArray[np.intp]:
    # Stable sort on the negated values: most events first, ties in input order.
    return np.argsort(-values, kind="stable")


def lorenz_curve(
    counts: Counts, *, order: Literal["descending", "ascending"] = "descending"
) -> pd.DataFrame:
    """The Lorenz curve of events over places (Lorenz 1905).

    Places are sorted by count, then for ``k = 0 .. N``:

    * ``share_of_places[k] = k / N``
    * ``share_of_events[k] = (sum of the counts of the first k places) / n``

    so the curve starts at (0, 0) and ends at (1, 1), and is non-decreasing in both
    coordinates. With ``order="descending"`` (the crime-and-place convention, e.g. Bernasco &
    Steenbeek 2017, Fig. 1) the places with most events come first and the curve lies on or
    above the diagonal; ``order="ascending"`` is the economics convention (curve on or below
    the diagonal), whose area gives the Gini coefficient.

    Returns one row per point (``N + 1`` rows): ``places`` (k), ``place`` (label of the k-th
    place, missing on the origin row), ``count`` (its count, 0 on the origin row),
    ``cumulative_events``, ``share_of_places`` and ``share_of_events``.
    """
    values = _values(counts)
    labels = _labels(counts, values.size)
    idx = _descending_order(values)
    if order == "ascending":
        idx = idx[::-1]
    elif order != "descending":
        raise ValueError(f"order must be 'descending' or 'ascending', not {order!r}")
    sorted_values = values[idx]
    cumulative = np.concatenate([[0.0], np.cumsum(sorted_values)])
    total = cumulative[-1]
    n_places = values.size
    share_of_events = cumulative / total
    share_of_events[-1] = 1.0  # exact end point despite rounding
    return pd.DataFrame(
        {
            "places": np.arange(n_places + 1),
            "place": pd.Series([None] + [labels[i] for i in idx], dtype=object),
            "count": np.concatenate([[0.0], sorted_values]),
            "cumulative_events": cumulative,
            "share_of_places": np.arange(n_places + 1) / n_places,
            "share_of_events": share_of_events,
        }
    )


def gini(counts: Counts, *, unbiased: bool = False) -> float:
    """The Gini coefficient of events over places.

    With the counts sorted ascending, ``x_(1) <= ... <= x_(N)``::

        G = sum_i (2 i - N - 1) x_(i) / (N * sum_i x_i)

    which equals one minus twice the area under the ascending Lorenz curve, and the relative
    mean absolute difference ``sum_i sum_j |x_i - x_j| / (2 N^2 mean(x))`` (Gini 1912). It is
    0 when every place has the same count and at most ``1 - 1/N`` when one place has every
    event. This is the estimator of PySAL ``inequality.gini.Gini`` and of
    ``lorenzgini::gini(..., generalized=FALSE, unbiased=FALSE)``.

    ``unbiased=True`` multiplies by ``N / (N - 1)`` (Deltas 2003), so that one place holding
    every event gives exactly 1; it needs at least two places.
    """
    values = _values(counts)
    n_places = values.size
    x = np.sort(values)
    i = np.arange(1, n_places + 1, dtype=np.float64)
    g = float(np.sum((2.0 * i - n_places - 1.0) * x) / (n_places * x.sum()))
    if unbiased:
        if n_places < 2:
            raise ValueError("the unbiased Gini needs at least two places")
        g *= n_places / (n_places - 1)
    return g


def generalised_gini(counts: Counts, *, unbiased: bool = False) -> float:
    """The generalised Gini coefficient of Bernasco & Steenbeek (2017) for sparse events.

    When there are fewer events ``n`` than places ``N``, even the most even spread possible
    leaves ``N - n`` places with no event, so the ordinary Gini reports concentration that is
    forced by sparseness. Bernasco & Steenbeek compare the Lorenz curve with the *line of
    maximal equality given the data* instead of the diagonal: one event in each of ``n``
    places, whose (ascending) Lorenz curve runs from ``(1 - n/N, 0)`` to ``(1, 1)`` and has
    area ``n / (2N)`` under it. With ``A`` the area under the observed ascending Lorenz
    curve (so the ordinary Gini is ``G = 1 - 2A``)::

        G' = (n/(2N) - A) / (n/(2N))   = 1 - (N/n) (1 - G)      if n < N
        G' = G                                                   if n >= N

    i.e. ``G' = max(1, N/n) * (G - 1) + 1``, the form used in the authors' ``lorenzgini`` R
    package. ``G'`` equals the ordinary Gini whenever events are at least as many as places,
    and approaches it as ``n`` approaches ``N`` from below. For integer counts it lies in
    [0, 1): 0 when no place has more than one event (the sparse analogue of perfect
    equality), ``1 - 1/n`` when one place has every event.

    Counts must be whole numbers: the line of maximal equality assumes indivisible events.

    ``unbiased=True`` applies the small-sample correction of the ``lorenzgini`` package
    (after Deltas 2003): multiply by ``m / (m - 1)`` where ``m = min(N, n)``; one place
    holding every event then gives exactly 1. It needs ``m >= 2``.

    Reference: Bernasco W, Steenbeek W (2017) More places than crimes: implications for
    evaluating the law of crime concentration at place. J Quant Criminol 33:451-467.
    """
    values = _values(counts)
    if not np.all(values == np.round(values)):
        raise ValueError(
            "the generalised Gini needs whole-number counts of events (it assumes events "
            "cannot be split between places)"
        )
    n_places = values.size
    n_events = float(values.sum())
    g = gini(values)
    g_gen = g if n_events >= n_places else (n_places / n_events) * (g - 1.0) + 1.0
    if unbiased:
        m = min(n_places, n_events)
        if m < 2:
            raise ValueError("the unbiased generalised Gini needs at least two places and events")
        g_gen *= m / (m - 1.0)
    return float(g_gen)


@dataclass(frozen=True)
class ConcentrationPoint:
    """One point of the descending Lorenz curve: ``share_of_events`` of all events happened
    in the ``share_of_places`` of places with most events.

    ``places`` is ``share_of_places * n_places`` and may be fractional (see
    ``share_of_events_in_top_places``); ``events`` is ``share_of_events * n_events``.
    """

    share_of_places: float
    share_of_events: float
    places: float
    events: float
    n_places: int
    n_events: float

    def sentence(self) -> str:
        """Plain words, e.g. '50.0% of events happened in 4.2% of places'."""
        return (
            f"{100 * self.share_of_events:.1f}% of events happened in "
            f"{100 * self.share_of_places:.1f}% of places"
        )


def share_of_events_in_top_places(counts: Counts, share_of_places: float) -> ConcentrationPoint:
    """The share of all events that happened in the top ``share_of_places`` of places.

    Read off the descending Lorenz curve, interpolating linearly between its points: the top
    ``y = share_of_places`` of places are the ``y N`` places with most events, and when
    ``y N`` is not a whole number the boundary place contributes the matching fraction of its
    count (e.g. the top 10% of 33 boroughs = the top 3 boroughs plus 0.3 of the fourth's
    events). So::

        share_of_events(y) = (C_k + (yN - k) x_(k+1)) / n,   k = floor(yN)

    where ``C_k`` is the sum of the ``k`` largest counts and ``x_(k+1)`` the next largest.
    For whole-place figures use ``places_needed_for_share``.
    """
    _check_share("share_of_places", share_of_places)
    values = _values(counts)
    curve = lorenz_curve(values)
    x = curve["share_of_places"].to_numpy(dtype=np.float64)
    y = curve["share_of_events"].to_numpy(dtype=np.float64)
    share = float(np.interp(share_of_places, x, y))
    n_events = float(values.sum())
    return ConcentrationPoint(
        share_of_places=float(share_of_places),
        share_of_events=share,
        places=float(share_of_places) * values.size,
        events=share * n_events,
        n_places=int(values.size),
        n_events=n_events,
    )


def share_of_places_for_share_of_events(
    counts: Counts, share_of_events: float
) -> ConcentrationPoint:
    """The smallest share of places (those with most events) holding ``share_of_events``.

    The inverse of ``share_of_events_in_top_places`` on the descending Lorenz curve: with the
    counts sorted descending and ``C_k`` the sum of the ``k`` largest, find the first ``k``
    with ``C_k >= x n`` and interpolate inside that place::

        share_of_places(x) = (k - 1 + (x n - C_(k-1)) / x_(k)) / N

    so the result may be a fraction of a place. It is the least share of places needed, as
    places with no events are never needed (the curve is flat there).
    """
    _check_share("share_of_events", share_of_events)
    values = _values(counts)
    ordered = values[_descending_order(values)]
    cumulative = np.cumsum(ordered)
    n_events = float(cumulative[-1])
    target = share_of_events * n_events
    if share_of_events == 0:
        places = 0.0
    else:
        # First k (1-based) whose cumulative count reaches the target; tolerate rounding.
        k = int(np.searchsorted(cumulative, target - 1e-9 * n_events, side="left")) + 1
        k = min(k, values.size)
        before = float(cumulative[k - 2]) if k >= 2 else 0.0
        within = (target - before) / float(ordered[k - 1])
        places = (k - 1) + min(max(within, 0.0), 1.0)
    return ConcentrationPoint(
        share_of_places=places / values.size,
        share_of_events=float(share_of_events),
        places=places,
        events=target,
        n_places=int(values.size),
        n_events=n_events,
    )


def places_needed_for_share(counts: Counts, share_of_events: float) -> int:
    """The least whole number of places whose events add up to at least ``share_of_events``
    of all events (the places with most events are taken first)."""
    _check_share("share_of_events", share_of_events)
    values = _values(counts)
    if share_of_events == 0:
        return 0
    cumulative = np.cumsum(values[_descending_order(values)])
    target = share_of_events * cumulative[-1]
    k = int(np.searchsorted(cumulative, target - 1e-9 * cumulative[-1], side="left")) + 1
    return min(k, values.size)


def concentration_table(
    counts: Counts, shares: tuple[float, ...] = (0.01, 0.05, 0.1, 0.2, 0.5)
) -> pd.DataFrame:
    """"x% of events happened in y% of places", both ways, for each share in ``shares``.

    One row per share ``s`` with:

    * ``share_of_events_in_top_s_of_places``: the share of events in the top ``s`` of places
      (``share_of_events_in_top_places``);
    * ``share_of_places_holding_s_of_events``: the least share of places holding ``s`` of
      events (``share_of_places_for_share_of_events``);
    * ``whole_places_holding_s_of_events``: the same as a whole number of places
      (``places_needed_for_share``);
    * ``n_places`` and ``n_events``.
    """
    values = _values(counts)
    rows = []
    for s in shares:
        forward = share_of_events_in_top_places(values, s)
        inverse = share_of_places_for_share_of_events(values, s)
        rows.append(
            {
                "share": float(s),
                "share_of_events_in_top_s_of_places": forward.share_of_events,
                "share_of_places_holding_s_of_events": inverse.share_of_places,
                "whole_places_holding_s_of_events": places_needed_for_share(values, s),
                "n_places": int(values.size),
                "n_events": float(values.sum()),
            }
        )
    return pd.DataFrame(rows)


def _top_set(counts: pd.Series, k: int) -> set[object]:
    """The places whose count is at least the k-th largest, excluding places with no events.

    Places tied with the k-th largest are all included, so the set can be larger than k:
    choosing among tied places would be arbitrary.
    """
    positive = counts[counts > 0]
    if positive.empty:
        return set()
    ordered = np.sort(positive.to_numpy(dtype=np.float64))[::-1]
    threshold = ordered[min(k, ordered.size) - 1]
    return set(positive.index[positive.to_numpy(dtype=np.float64) >= threshold])


def top_place_stability(counts_by_period: pd.DataFrame, top_share: float = 0.1) -> pd.DataFrame:
    """How stable the top places are from one period (e.g. year) to the next.

    ``counts_by_period`` has one row per place (index = place) and one column per period,
    in time order, holding counts (zeros included; a place missing in a period should be 0,
    not NaN). For each pair of consecutive periods ``a`` and ``b``:

    * ``k = ceil(top_share * N)``; the top set of a period is every place whose count is at
      least the ``k``-th largest, ties included, places with no events excluded
      (``top_places_a``, ``top_places_b`` give the set sizes);
    * ``overlap = |A & B|`` and ``overlap_share = |A & B| / k``: the share of period ``a``'s
      top places still in the top in period ``b`` (the "persistence" of hot spots, e.g.
      Weisburd et al. 2004, Criminology 42:283-322);
    * ``jaccard = |A & B| / |A | B|`` (Jaccard 1912);
    * ``spearman_rho`` and ``spearman_p``: Spearman's rank correlation of the counts of all
      ``N`` places between the two periods (average ranks for ties; ``scipy.stats.spearmanr``),
      NaN when either period has no variation.
    """
    _check_share("top_share", top_share)
    if top_share == 0:
        raise ValueError("top_share must be greater than 0")
    if counts_by_period.shape[1] < 2:
        raise ValueError("give at least two periods (columns) to compare")
    if counts_by_period.shape[0] == 0:
        raise ValueError("counts_by_period has no places (rows)")
    if counts_by_period.index.has_duplicates:
        raise ValueError("counts_by_period has duplicated places in its index")
    for column in counts_by_period.columns:
        _values(counts_by_period[column], allow_zero_total=True)
    n_places = counts_by_period.shape[0]
    k = max(1, math.ceil(top_share * n_places - 1e-9))
    columns = list(counts_by_period.columns)
    rows = []
    for a, b in zip(columns[:-1], columns[1:], strict=True):
        ca = counts_by_period[a].astype(np.float64)
        cb = counts_by_period[b].astype(np.float64)
        top_a = _top_set(ca, k)
        top_b = _top_set(cb, k)
        union = top_a | top_b
        both = top_a & top_b
        if np.ptp(ca.to_numpy()) == 0 or np.ptp(cb.to_numpy()) == 0:
            rho, p_value = float("nan"), float("nan")
        else:
            result = stats.spearmanr(ca.to_numpy(), cb.to_numpy())
            rho, p_value = float(result.statistic), float(result.pvalue)
        rows.append(
            {
                "period_from": a,
                "period_to": b,
                "n_places": n_places,
                "k": k,
                "top_places_from": len(top_a),
                "top_places_to": len(top_b),
                "overlap": len(both),
                "overlap_share": len(both) / k,
                "jaccard": len(both) / len(union) if union else float("nan"),
                "spearman_rho": rho,
                "spearman_p": p_value,
            }
        )
    return pd.DataFrame(rows)


def _check_share(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be a fraction between 0 and 1, not {value!r}")
