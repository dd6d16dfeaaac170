"""Rankings of areas by volume and by rate, with how certain each rank is.

A league table of boroughs or wards invites over-reading: with small counts, the area
ranked 3rd may plausibly be anywhere from 1st to 12th. Following Goldstein & Spiegelhalter
(1996) and Marshall & Spiegelhalter (1998), each rank comes with an interval found by
simulation: the counts are redrawn many times from their sampling distribution, the areas
re-ranked each time, and the 2.5th and 97.5th percentiles of each area's ranks reported.

Rank 1 is the *highest* volume or rate (most violence). An area's rank is 1 + the number of
areas with a strictly larger value, so ties share the best rank they span ("1, 2, 2, 4"), in
the observed values and in every simulation alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from vru.domain.statistics import rank_distribution
from vru.domain.statistics.provenance import Method, ResultMeta, attach
from vru.domain.statistics.rates import (
    FloatArray,
    as_counts,
    check_confidence,
    column_values,
    rate,
)

RankBy = Literal["volume", "rate"]
#: "computed": each rank's distribution computed (``rank_distribution``); "simulation": every
#: area redrawn ``n_simulations`` times and re-ranked.
RankMethod = Literal["computed", "simulation"]
RANK_METHODS: tuple[RankMethod, ...] = ("computed", "simulation")

RANK_INTERVALS_COMPUTED = Method(
    "Ranks with intervals from each rank's computed distribution (Poisson redraws of counts "
    "by volume, Gamma (Jeffreys) posterior of rates by rate): a Poisson-binomial given the "
    "area's own value, by Volkova's refined normal approximation (volume) or the first-order "
    "reliability method (rate), mixed over the area's own distribution; areas with few "
    "competitors, and tables of up to 100 areas, by simulation",
    "Goldstein H, Spiegelhalter DJ (1996) League tables and their limitations, JRSS A "
    "159:385-443; Volkova AY (1996) Theory Probab Appl 40:791-4; Hong Y (2013) Comput Stat "
    "Data Anal 59:41-51; Hasofer AM, Lind NC (1974) J Eng Mech Div 100:111-21.",
)
RANK_INTERVALS = Method(
    "Ranks with simulation intervals: Poisson redraws of counts (volume) or Gamma "
    "(Jeffreys) posterior draws of rates (rate)",
    "Goldstein H, Spiegelhalter DJ (1996) League tables and their limitations, JRSS A "
    "159:385-443; Marshall EC, Spiegelhalter DJ (1998) Reliability of league tables of in "
    "vitro fertilisation clinics, BMJ 316:1701-5.",
)
RANK_COLUMNS = ("value", "rank", "rank_low", "rank_high")

_CHUNK = 250


@dataclass(frozen=True)
class RankIntervals:
    """Point ranks and their simulation intervals (NaN for areas that cannot be ranked)."""

    value: FloatArray
    rank: FloatArray
    rank_low: FloatArray
    rank_high: FloatArray
    n_simulations: int
    confidence: float


def point_ranks(values: npt.ArrayLike) -> FloatArray:
    """rank_i = 1 + #{j : v_j > v_i}: rank 1 for the largest value, ties take the best rank
    they span ("competition" ranking); NaN stays NaN and takes no part."""
    v = np.asarray(values, dtype=np.float64)
    out = np.full(v.shape, np.nan)
    ok = ~np.isnan(v)
    out[ok] = stats.rankdata(-v[ok], method="min")
    return out


def simulated_ranks(
    counts: npt.ArrayLike,
    populations: npt.ArrayLike | None = None,
    *,
    rng: np.random.Generator,
    by: RankBy = "volume",
    n_simulations: int = 1000,
) -> npt.NDArray[np.int32]:
    """The simulated ranks behind ``rank_intervals``: one row per simulation, one column per
    rankable area (areas with no population are left out when ranking by rate).

    Volume: O*_i ~ Poisson(O_i). Rate: lambda*_i ~ Gamma(shape O_i + 1/2, rate N_i), the
    posterior under the Jeffreys prior. Each row is ranked as ``point_ranks`` ranks:
    rank_i = 1 + the number of areas with a strictly larger draw.
    """
    if n_simulations < 1:
        raise ValueError("n_simulations must be at least 1")
    o, n, ok = _values(counts, populations, by)
    m = int(ok.sum())
    ranks = np.empty((n_simulations, m), dtype=np.int32)
    for start in range(0, n_simulations, _CHUNK):
        size = min(_CHUNK, n_simulations - start)
        draws: npt.NDArray[Any]
        if by == "volume":
            draws = rng.poisson(o[ok], size=(size, m))
        else:
            draws = rng.gamma(o[ok] + 0.5, 1.0 / n[ok], size=(size, m))
        ranks[start : start + size] = _competition_ranks(draws)
    return ranks


def _competition_ranks(draws: npt.NDArray[Any]) -> npt.NDArray[np.int32]:
    """Each row ranked as ``scipy.stats.rankdata(-draws, method="min", axis=1)`` ranks it:
    rank = 1 + the number of values in the row strictly larger, without rankdata's cost.

    Whole-number draws (Poisson counts) no larger than a few times the number of areas are
    ranked by counting: with h the histogram of a row, the number strictly larger than v is
    the sum of h above v. Other rows are sorted (argsort); a row holding two equal values is
    ranked by rankdata, so ties share a rank.
    """
    size, m = draws.shape
    out = np.empty((size, m), dtype=np.int32)
    if m == 0 or size == 0:
        return out
    top = float(draws.max())
    integral = np.issubdtype(draws.dtype, np.integer)
    whole = top < 2**31 and float(draws.min()) >= 0 and (
        integral or bool(np.all(draws == np.round(draws))))
    # Counting costs O(largest value) a row, sorting O(m log m): count when that is cheaper.
    if whole and top + 1.0 <= max(64.0, 4.0 * m) and (top + 1.0) * size <= 5e7:
        values = draws.astype(np.int64, copy=False)
        width = int(top) + 1
        flat = (values + (np.arange(size, dtype=np.int64) * width)[:, None]).ravel()
        hist = np.bincount(flat, minlength=size * width).reshape(size, width)
        larger = m - np.cumsum(hist, axis=1)  # larger[r, v] = #{values in row r > v}
        out[:] = 1 + np.take_along_axis(larger, values, axis=1)
        return out
    order = np.argsort(-draws, axis=1)
    ordered = np.take_along_axis(draws, order, axis=1)
    tied = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
    positions = np.broadcast_to(np.arange(1, m + 1, dtype=np.int32), (size, m))
    np.put_along_axis(out, order, positions, axis=1)
    if tied.any():
        out[tied] = stats.rankdata(-draws[tied], method="min", axis=1)
    return out


def _values(
    counts: npt.ArrayLike, populations: npt.ArrayLike | None, by: RankBy
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    o = np.atleast_1d(as_counts(counts))
    if o.ndim != 1:
        raise ValueError("give one count per area")
    if by == "volume":
        return o, np.ones(o.shape), np.ones(o.shape, dtype=bool)
    if by != "rate":
        raise ValueError(f"unknown ranking {by!r}; use 'volume' or 'rate'")
    if populations is None:
        raise ValueError("ranking by rate needs populations")
    n = np.atleast_1d(as_counts(populations, "population"))
    if n.shape != o.shape:
        raise ValueError("give one population per area")
    return o, n, n > 0


def rank_intervals(
    counts: npt.ArrayLike,
    populations: npt.ArrayLike | None = None,
    *,
    rng: np.random.Generator,
    by: RankBy = "volume",
    n_simulations: int = 1000,
    confidence: float = 0.95,
    per: float = 100_000,
    method: RankMethod = "computed",
) -> RankIntervals:
    """Ranks of areas by volume or rate, with an interval for each rank.

    By volume: each simulation draws O*_i ~ Poisson(O_i) (a parametric bootstrap of the
    counts) and ranks the O*_i. By rate: each simulation draws the rate from its posterior
    under the Jeffreys prior, lambda*_i ~ Gamma(shape = O_i + 1/2, rate = N_i), and ranks the
    lambda*_i. rank_low and rank_high are the (1 - confidence)/2 and (1 + confidence)/2
    quantiles of each area's simulated ranks (``simulated_ranks``), rounded outwards to whole
    ranks.
    Goldstein & Spiegelhalter 1996, JRSS A 159:385-443; Marshall & Spiegelhalter 1998, BMJ
    316:1701-5. Areas with no population cannot be ranked by rate: their value and ranks are
    NaN and they take no part in the ranking. ``rng`` makes the simulation reproducible.

    The point rank is the rank of the observed values and usually, but not always, lies in
    its interval: an area with 0 events among many areas with 1 or 2 is last on the observed
    counts, but in most redraws some of those areas fall to 0 too, so its simulated ranks are
    better. That is the honest uncertainty about the rank, not an error.
    """
    check_confidence(confidence)
    if n_simulations < 100:
        raise ValueError("use at least 100 simulations for a rank interval")
    if method not in RANK_METHODS:
        raise ValueError(f"unknown rank method {method!r}; use {' or '.join(RANK_METHODS)}")
    o, n, ok = _values(counts, populations, by)
    value = o.copy() if by == "volume" else rate(o, n, per)
    rank = point_ranks(value)
    low = np.full(o.shape, np.nan)
    high = np.full(o.shape, np.nan)
    # Tables of up to SMALL_TABLE areas are simulated whole by either method: it is cheap.
    if ok.any() and method == "computed" and ok.sum() > rank_distribution.SMALL_TABLE:
        low[ok], high[ok] = rank_distribution.computed_rank_intervals(
            o[ok], None if by == "volume" else n[ok], by=by, rng=rng,
            n_simulations=n_simulations, confidence=confidence)
    elif ok.any():
        ranks = simulated_ranks(o, n, rng=rng, by=by, n_simulations=n_simulations)
        tail = (1.0 - confidence) / 2.0
        low[ok], high[ok] = rank_distribution.percentile_ends(ranks, (tail, 1.0 - tail))
    return RankIntervals(value, rank, low, high, n_simulations, confidence)


def rank_table(
    df: pd.DataFrame,
    count_col: str,
    population_col: str | None = None,
    *,
    rng: np.random.Generator,
    by: RankBy = "volume",
    n_simulations: int = 1000,
    confidence: float = 0.95,
    per: float = 100_000,
    meta: ResultMeta | None = None,
    method: RankMethod = "computed",
) -> pd.DataFrame:
    """``df`` (one row per area) with value, rank, rank_low and rank_high added.

    ``value`` is the count (by volume) or the rate per ``per`` (by rate). Method as
    ``rank_intervals``. Ranks are whole numbers held as floats so that unrankable areas can
    be NaN.
    """
    needed = [count_col] + ([population_col] if population_col is not None else [])
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise KeyError(f"columns not in the table: {', '.join(missing)}")
    clash = [c for c in RANK_COLUMNS if c in df.columns]
    if clash:
        raise ValueError(f"the table already has columns this would add: {', '.join(clash)}")
    res = rank_intervals(
        column_values(df, count_col),
        None if population_col is None else column_values(df, population_col),
        rng=rng,
        by=by,
        n_simulations=n_simulations,
        confidence=confidence,
        per=per,
        method=method,
    )
    out = df.copy()
    out["value"] = res.value
    out["rank"] = res.rank
    out["rank_low"] = res.rank_low
    out["rank_high"] = res.rank_high
    if meta is not None:
        out = attach(out, meta.with_method(
            RANK_INTERVALS_COMPUTED if method == "computed" else RANK_INTERVALS))
    return out
