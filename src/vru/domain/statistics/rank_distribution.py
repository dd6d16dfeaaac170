"""Rank intervals computed from each rank's distribution rather than simulated whole.

The ranks are those of ``rankings``: area i's rank is R_i = 1 + #{j != i : X_j > X_i}, where
X is the redrawn count (volume: X_i ~ Poisson(O_i)) or the posterior draw of the rate (rate:
X_i ~ Gamma(O_i + 1/2, rate N_i)), and the interval is the 2.5th to 97.5th percentile of R_i.
A simulation finds those percentiles from 1,000 redraws of every area; for 4,835 LSOAs that
is 9.7 million draws and 2,000 sorts a table. This module computes the same distribution.

Given X_i = x, the events X_j > x are independent, each with probability p_j(x) = P(X_j > x),
so R_i - 1 is Poisson-binomial with mean mu(x) = sum_j p_j(x), variance v(x) = sum_j p_j(1 - p_j)
and third cumulant k3(x) = sum_j p_j(1 - p_j)(1 - 2 p_j) (j != i), and

    P(R_i <= r) = E over X_i [ P(PB(X_i) <= r - 1) ].

How each area is done depends on how many areas could fall either side of it (its
competitors: areas whose range overlaps its own, the ranges cut where less than 1e-7 of the
distribution lies beyond):

- **Few competitors** (at most ``FEW``: usually the top areas; and ``rankings`` simulates
  every table of at most ``SMALL_TABLE`` areas whole): the simulation of ``rankings``,
  restricted to the area and its competitors; the areas certainly above it add a constant.
  This is where a rank is nearly certain and whole ranks matter, and it is cheap because few
  areas are drawn.
- **Many competitors, by volume**: the mixture is summed over X_i's own Poisson support (areas
  with equal counts share one distribution, so each distinct count is done once; wide supports
  are summed in at most ``NODES`` blocks), with the Poisson-binomial by the refined normal
  approximation, G(z) = Phi(z) + gamma (1 - z^2) phi(z) / 6 with gamma = k3 / v^1.5 and a
  continuity correction (Volkova 1996, Theory Probab Appl 40:791-4; Hong 2013, Comput Stat Data
  Anal 59:41-51, section 4.2).
- **Many competitors, by rate**: X_i's own quantile is written X_i = F_i^-1(Phi(Z)) with Z
  standard normal, and R_i - 1 given Z as normal with mean mu(Z) and variance v(Z). Linearising
  mu about the point z* where the percentile comes from (the first-order reliability method:
  Hasofer & Lind 1974, J Eng Mech Div 100:111-21), R_i - 1 is normal with mean
  mu(z*) - mu'(z*) z* and variance mu'(z*)^2 + v(z*), and z* = mu' c / sqrt(mu'^2 + v) for the
  percentile's normal score c; four fixed-point steps from z* = -c. Exact when mu is linear
  near z*, and in the two limits (the area's own uncertainty dominating, or the others').

mu, v and k3 come from sums over all areas evaluated once on a grid and interpolated.
Measured against a long simulation, the computed percentiles are closer to its percentiles
than a 1,000-draw simulation's are: on London's ward and LSOA tables, 0-0.2% of ends are more
than 0.01 off in probability, against 4-10% for 1,000 draws (tests/domain/statistics/
test_rank_distribution.py; ``bench/rank_intervals_benchmark.py`` on the real tables).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special, stats

RankBy = Literal["volume", "rate"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Tail mass left out of each area's range: below this, a draw beyond it never happens.
TAIL = 1e-7
#: At most this many competitors: the area is simulated with them.
FEW = 32
#: Tables of at most this many areas are simulated whole (cheap, and every rank matters).
SMALL_TABLE = 100
#: At most this many nodes (blocks of the Poisson support) per distinct count.
NODES = 128
#: Gamma shapes below this use the exact incomplete gamma function (tabulated); above it,
#: the Wilson-Hilferty cube-root normal approximation (absolute error under 6e-4 at 10.5).
_EXACT_SHAPE = 10.0
_GRID = 160
_GRID_Z = np.linspace(-6.5, 6.5, 14)
_Z = np.linspace(-6.5, 6.5, 261)


def computed_rank_intervals(
    counts: FloatArray,
    populations: FloatArray | None,
    *,
    by: RankBy,
    rng: np.random.Generator,
    n_simulations: int,
    confidence: float,
) -> tuple[FloatArray, FloatArray]:
    """The (1 - confidence)/2 and (1 + confidence)/2 percentiles of each area's rank, as
    whole ranks, for rankable areas only (``counts`` whole numbers; ``populations`` > 0 when
    by rate). ``rng`` and ``n_simulations`` serve the areas with few competitors."""
    o = np.asarray(counts, dtype=np.float64)
    m = o.size
    tail = (1.0 - confidence) / 2.0
    probs = (tail, 1.0 - tail)
    if m == 0:
        return np.empty(0), np.empty(0)
    n = np.ones(m) if populations is None else np.asarray(populations, dtype=np.float64)
    low_bound, high_bound = _ranges(o, n, by)
    above, competitors = _competition(low_bound, high_bound)
    few = competitors <= FEW
    low = np.empty(m)
    high = np.empty(m)
    if (~few).any():
        many = (_volume_quantiles(o, m, probs) if by == "volume"
                else _rate_quantiles(o, n, probs))
        low[~few] = many[0][~few]
        high[~few] = many[1][~few]
    if few.any():
        idx = np.flatnonzero(few)
        lo_f, hi_f = _simulate_few(o, n, by, idx, above[idx], low_bound, high_bound, rng,
                                   n_simulations, probs)
        low[idx] = lo_f
        high[idx] = hi_f
    return low, high


# --------------------------------------------------------------------------- ranges


def _ranges(o: FloatArray, n: FloatArray, by: RankBy) -> tuple[FloatArray, FloatArray]:
    """Each area's range: its TAIL and 1 - TAIL quantiles (per distinct count, then scaled)."""
    vals, inv = np.unique(o, return_inverse=True)
    if by == "volume":
        lo = np.maximum(stats.poisson.ppf(TAIL, vals), 0.0)
        hi = stats.poisson.isf(TAIL, vals)
        return lo[inv], hi[inv]
    a = vals + 0.5
    return special.gammaincinv(a, TAIL)[inv] / n, special.gammainccinv(a, TAIL)[inv] / n


def _competition(low: FloatArray, high: FloatArray) -> tuple[IntArray, IntArray]:
    """For each area: how many areas are certainly above it (their range starts above its
    range's end), and how many could fall either side (competitors, itself excluded)."""
    m = low.size
    above = m - np.searchsorted(np.sort(low), high, side="right")
    not_below = m - np.searchsorted(np.sort(high), low, side="right")
    competitors = not_below - above - (high > low)
    return above.astype(np.int64), competitors.astype(np.int64)


# --------------------------------------------------------------------------- few competitors


def _simulate_few(o: FloatArray, n: FloatArray, by: RankBy, idx: IntArray, above: IntArray,
                  low: FloatArray, high: FloatArray, rng: np.random.Generator,
                  n_simulations: int, probs: tuple[float, float]) -> tuple[FloatArray,
                                                                           FloatArray]:
    """The simulation of ``rankings.simulated_ranks`` for the areas ``idx``, drawing only
    them and their competitors: R_i = 1 + (areas certainly above) + #{competitors j with
    X_j > X_i}, each area drawn once per simulation and shared between the ranks it enters."""
    compete = (high[None, :] > low[idx, None]) & (low[None, :] <= high[idx, None])
    compete[np.arange(idx.size), idx] = False
    drawn: npt.NDArray[np.bool_] = np.asarray(compete.any(axis=0))
    drawn[idx] = True
    involved = np.flatnonzero(drawn)
    where = np.full(o.size, -1, dtype=np.int64)
    where[involved] = np.arange(involved.size)
    if by == "volume":
        draws = rng.poisson(o[involved], size=(n_simulations, involved.size)).astype(np.float64)
    else:
        draws = rng.gamma(o[involved] + 0.5, 1.0 / n[involved],
                          size=(n_simulations, involved.size))
    low_rank = np.empty(idx.size)
    high_rank = np.empty(idx.size)
    # At most FEW competitors each: chunks of areas keep the (sims, areas, competitors) draws
    # to about 8,000 area-competitor pairs.
    width = max(int(compete.sum(axis=1).max()), 1)
    step = max(8_000 // width, 1)
    for first in range(0, idx.size, step):
        rows = np.arange(first, min(first + step, idx.size))
        r, j = np.nonzero(compete[rows])  # by row, then column
        at = np.arange(r.size) - np.searchsorted(r, r)  # place within its row
        cols = np.zeros((rows.size, width), dtype=np.int64)
        valid = np.zeros((rows.size, width), dtype=bool)
        cols[r, at] = where[j]
        valid[r, at] = True
        own = draws[:, where[idx[rows]]]  # (sims, areas)
        exceed = ((draws[:, cols] > own[:, :, None]) & valid[None]).sum(axis=2)
        low_rank[rows], high_rank[rows] = percentile_ends(
            1 + above[rows][None, :] + exceed, probs)
    return low_rank, high_rank


def percentile_ends(ranks: npt.NDArray[np.integer], probs: tuple[float, float]) -> tuple[
        FloatArray, FloatArray]:
    """The interval ends from simulated ranks (one row per simulation): np.quantile's "lower"
    order statistic at probs[0] and "higher" at probs[1], both from one partition."""
    k = ranks.shape[0] - 1
    lo = int(np.floor(probs[0] * k))
    hi = int(np.ceil(probs[1] * k))
    ordered = np.partition(ranks, [lo, hi], axis=0)
    return ordered[lo].astype(np.float64), ordered[hi].astype(np.float64)


def percentile_error(low: FloatArray, high: FloatArray, ranks: npt.NDArray[np.integer],
                     probs: tuple[float, float]) -> FloatArray:
    """How far each interval end is from being the percentile of ``ranks`` (one row per
    simulation, e.g. a long reference simulation), in probability: an end r for the
    percentile q is right when F(r - 1) < q <= F(r), and its error is how far q lies outside
    [F(r - 1), F(r)]. The low ends' errors, then the high ends'."""
    def error(r: FloatArray, q: float) -> FloatArray:
        at: FloatArray = (ranks <= r).mean(axis=0)
        before: FloatArray = (ranks <= r - 1).mean(axis=0)
        return np.maximum(np.maximum(q - at, before - q), 0.0)
    return np.concatenate([error(low, probs[0]), error(high, probs[1])])


# --------------------------------------------------------------------------- the normal parts


def _refined_normal(t: FloatArray, mu: FloatArray, var: FloatArray,
                    k3: FloatArray) -> FloatArray:
    """P(PB <= t) for a Poisson-binomial with mean mu, variance var, third cumulant k3 (t
    carries the continuity correction): Volkova's refined normal approximation."""
    sd = np.sqrt(np.maximum(var, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (t - mu) / sd
        gamma = k3 / (var * sd)
        f = special.ndtr(z) + gamma * (1.0 - z * z) * np.exp(-0.5 * z * z) / (
            6.0 * np.sqrt(2.0 * np.pi))
    f = np.clip(f, 0.0, 1.0)
    return np.where(var < 1e-12, (t >= mu).astype(np.float64), f)


# --------------------------------------------------------------------------- by volume


def _volume_quantiles(o: FloatArray, m: int,
                      probs: tuple[float, float]) -> tuple[FloatArray, FloatArray]:
    """Percentiles of R_i for every area, by volume, per distinct count."""
    vals, inv, mult = np.unique(o.astype(np.int64), return_inverse=True, return_counts=True)
    lo = np.maximum(stats.poisson.ppf(TAIL, vals), 0).astype(np.int64)
    hi = stats.poisson.isf(TAIL, vals).astype(np.int64)
    # Each distinct count's survival function over its own range: P(X > x) = 1 - P(X <= x),
    # the pmf summed up from the range's start (cumsum per range on one flat array).
    width = hi - lo + 1
    owner = np.repeat(np.arange(vals.size), width)
    starts = np.cumsum(width) - width
    x = np.arange(owner.size) - starts[owner] + lo[owner]
    lam = vals[owner].astype(np.float64)
    logpmf = x * np.log(np.where(lam > 0, lam, 1.0)) - lam - special.gammaln(x + 1.0)
    pmf = np.where(lam > 0, np.exp(logpmf), (x == 0).astype(np.float64))
    run = np.cumsum(pmf)
    before = np.concatenate([[0.0], run])[starts]
    below_range = np.where(lo > 0, special.pdtr(np.maximum(lo - 1, 0), vals), 0.0)
    cdf = below_range[owner] + (run - before[owner])
    sf = np.clip(1.0 - cdf, 0.0, 1.0)
    top = int(hi.max())
    grid = np.arange(top + 1)
    # Below an area's range every draw exceeds x (p = 1); above it none does (p = 0).
    below_start = np.bincount(lo, weights=mult, minlength=top + 2)
    certain = mult.sum() - np.cumsum(below_start)[: top + 1]  # sum of mult with lo > x
    pv = sf * (1.0 - sf)
    w = mult[owner].astype(np.float64)
    S = certain + np.bincount(x, weights=w * sf, minlength=top + 1)
    V = np.bincount(x, weights=w * pv, minlength=top + 1)
    T = np.bincount(x, weights=w * pv * (1.0 - 2.0 * sf), minlength=top + 1)
    # Nodes: each distinct count's support in at most NODES blocks, at the block's mean.
    block = np.maximum(-(-width // NODES), 1)
    key = owner * (NODES + 1) + (x - lo[owner]) // block[owner]
    keys, node_of = np.unique(key, return_inverse=True)
    weight = np.bincount(node_of, weights=pmf)
    where = np.bincount(node_of, weights=pmf * x) / np.where(weight > 0, weight, 1.0)
    own_sf = np.bincount(node_of, weights=pmf * sf) / np.where(weight > 0, weight, 1.0)
    unit = keys // (NODES + 1)
    weight = weight / np.bincount(unit, weights=weight)[unit]
    mu = np.interp(where, grid, S) - own_sf
    var = np.maximum(np.interp(where, grid, V) - own_sf * (1.0 - own_sf), 0.0)
    k3 = np.interp(where, grid, T) - own_sf * (1.0 - own_sf) * (1.0 - 2.0 * own_sf)
    out = []
    for q in probs:
        # Smallest whole r in [1, m] with sum_w P(PB <= r - 1) >= q: bisection per count.
        below = np.zeros(vals.size, dtype=np.int64)  # P(R <= below) < q (rank 0 impossible)
        at = np.full(vals.size, m, dtype=np.int64)  # P(R <= m) = 1 >= q
        while np.any(at - below > 1):
            mid = (below + at) // 2
            f = np.bincount(unit, weights=weight * _refined_normal(
                mid[unit] - 0.5, mu, var, k3), minlength=vals.size)
            enough = f >= q
            at = np.where(enough, mid, at)
            below = np.where(enough, below, mid)
        out.append(at[inv].astype(np.float64))
    return out[0], out[1]


# --------------------------------------------------------------------------- by rate


class _Gamma:
    """Quantiles and survival functions of Gamma(a_i, rate n_i) for many areas at once:
    exact (tabulated per distinct shape) for small shapes, Wilson-Hilferty above."""

    def __init__(self, a: FloatArray, n: FloatArray) -> None:
        self.a, self.n = a, n
        self.small = a < _EXACT_SHAPE
        self.shapes = np.unique(a[self.small])
        u = special.ndtr(_Z)
        # log quantile of Gamma(a, 1) on the z grid, per small shape
        self.q_table = np.log(np.maximum(
            special.gammaincinv(self.shapes[:, None], u[None, :]), 1e-300))
        self.groups = [np.flatnonzero(a == s) for s in self.shapes]

    def log_quantile(self, z: FloatArray) -> FloatArray:
        """log F_i^-1(Phi(z_i)) per area."""
        a, n = self.a, self.n
        c = 1.0 / (9.0 * a)
        base = np.maximum(1.0 - c + z * np.sqrt(c), 1e-100)
        out = np.log(a / n) + 3.0 * np.log(base)
        for s, rows in enumerate(self.groups):
            out[rows] = np.interp(z[rows], _Z, self.q_table[s]) - np.log(n[rows])
        return out

    def sf_sums(self, log_x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """sum_j P(X_j > x) and sum_j P(X_j > x)(1 - P(X_j > x)) at each x of the grid."""
        a, n = self.a, self.n
        t = np.exp(log_x)[:, None] * n[None, :]
        # Single precision for the grid x areas matrix: each p to 1e-7, and half the cost.
        c = (1.0 / (9.0 * a)).astype(np.float32)
        p = special.ndtr(-(np.cbrt((t / a).astype(np.float32)) - (1.0 - c)) / np.sqrt(c))
        if self.shapes.size:
            log_t = np.log(np.maximum(t, 1e-300))
            s_grid = np.linspace(log_t.min(), log_t.max(), 1024)
            for s, rows in zip(self.shapes, self.groups, strict=True):
                table = special.gammaincc(s, np.exp(s_grid))
                p[:, rows] = np.interp(log_t[:, rows], s_grid, table)
        return (p.sum(axis=1, dtype=np.float64),
                (p * (1.0 - p)).sum(axis=1, dtype=np.float64))


def _rate_quantiles(o: FloatArray, n: FloatArray,
                    probs: tuple[float, float]) -> tuple[FloatArray, FloatArray]:
    """Percentiles of R_i for every area, by rate, by the first-order reliability method."""
    m = o.size
    dist = _Gamma(o + 0.5, n)
    # The grid follows the areas: quantiles of their pooled own quantiles, so that it is fine
    # where many areas' distributions lie (a uniform grid wide enough for a zero count's
    # Gamma(1/2) is far too coarse for an area with hundreds of events).
    points = np.concatenate([dist.log_quantile(np.full(m, z)) for z in _GRID_Z])
    grid = np.unique(np.concatenate([
        np.quantile(points, np.linspace(0.0, 1.0, _GRID)),
        np.linspace(points.min(), points.max(), _GRID // 2)]))
    S, V = dist.sf_sums(grid)

    def mean(z: FloatArray, at: FloatArray | None = None) -> FloatArray:
        at = dist.log_quantile(z) if at is None else at
        own: FloatArray = special.ndtr(-z)  # P(X_i > its own Phi(z) quantile)
        return np.interp(at, grid, S) - own

    h = 0.05
    out = []
    for q in probs:
        c = float(stats.norm.ppf(q))
        z = np.full(m, -c)
        x = np.zeros(m)
        for _ in range(4):
            at = dist.log_quantile(z)
            mu = mean(z, at)
            own = special.ndtr(-z)
            var = np.maximum(np.interp(at, grid, V) - own * (1.0 - own), 0.0)
            slope = (mean(z + h) - mean(z - h)) / (2.0 * h)
            spread = np.sqrt(slope * slope + var) + 1e-12
            x = mu - slope * z + c * spread
            z = np.clip(slope * c / spread, _Z[0] + h, _Z[-1] - h)
        # R - 1 continuous: P(R <= r) = P(R - 1 <= r - 1/2), so r = ceil(x + 1/2).
        out.append(np.clip(np.ceil(x + 0.5), 1, m).astype(np.float64))
    return out[0], out[1]
