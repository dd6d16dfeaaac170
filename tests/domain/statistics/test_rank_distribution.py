"""Rank intervals computed from each rank's distribution, checked against simulation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy import special, stats

from vru.domain.statistics import rank_distribution as rd
from vru.domain.statistics import rankings as rk


def _poisson_binomial_cdf(p: np.ndarray) -> np.ndarray:
    """Exact P(sum of Bernoulli(p_j) <= k), k = 0..len(p), by convolution."""
    dist = np.array([1.0])
    for pj in p:
        dist = np.convolve(dist, [1.0 - pj, pj])
    return np.cumsum(dist)


def test_refined_normal_is_the_normal_for_a_symmetric_binomial() -> None:
    # Binomial(100, 1/2): gamma = 0, so G is Phi with the continuity correction:
    # P(X <= 45) ~ Phi((45.5 - 50) / 5) = Phi(-0.9) = 0.1841 (exact 0.1841).
    f = rd._refined_normal(np.array([45.5]), np.array([50.0]), np.array([25.0]),
                           np.array([0.0]))
    assert_allclose(f, stats.norm.cdf(-0.9), rtol=1e-12)
    assert abs(f[0] - stats.binom.cdf(45, 100, 0.5)) < 1e-3


@settings(max_examples=30, deadline=None)
@given(p=st.lists(st.floats(0.0, 1.0), min_size=30, max_size=200), seed=st.integers(0, 99))
def test_refined_normal_tracks_the_exact_poisson_binomial(p: list[float], seed: int) -> None:
    # Hong (2013) reports the refined normal approximation's error shrinking like 1/sigma^2;
    # with sigma >= 2 it is within a few thousandths of the exact distribution everywhere.
    q = np.asarray(p)
    var = float(np.sum(q * (1 - q)))
    if var < 4:
        return
    exact = _poisson_binomial_cdf(q)
    k = np.arange(q.size + 1, dtype=float)
    approx = rd._refined_normal(k + 0.5, np.full(k.size, q.sum()), np.full(k.size, var),
                                np.full(k.size, np.sum(q * (1 - q) * (1 - 2 * q))))
    assert np.max(np.abs(approx - exact)) < 0.012


def test_percentile_error_hand_worked() -> None:
    # Ranks 1, 1, 2, 3 (F(1) = 0.5, F(2) = 0.75, F(3) = 1). For q = 0.6 the percentile is 2:
    # error 0. The end 1 has F(1) = 0.5 < 0.6: error 0.1. The end 3 has F(2) = 0.75 >= 0.6:
    # error 0.15.
    ranks = np.array([[1], [1], [2], [3]])
    err = rd.percentile_error(np.array([2.0, 1.0, 3.0]), np.array([2.0, 2.0, 2.0]),
                              np.repeat(ranks, 3, axis=1), (0.6, 0.6))
    assert_allclose(err, [0.0, 0.1, 0.15, 0.0, 0.0, 0.0])


def test_competition_hand_worked() -> None:
    # ranges [0, 1], [2, 3], [2.5, 4], [10, 12]: the first is certainly below the rest;
    # the second and third overlap; the fourth is certainly above all.
    low = np.array([0.0, 2.0, 2.5, 10.0])
    high = np.array([1.0, 3.0, 4.0, 12.0])
    above, competitors = rd._competition(low, high)
    assert_array_equal(above, [3, 1, 1, 0])
    assert_array_equal(competitors, [0, 1, 1, 0])


def _area_error(low: np.ndarray, high: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Per area, the larger of its two ends' errors against the reference ranks."""
    return rd.percentile_error(low, high, ranks, (0.025, 0.975)).reshape(2, -1).max(axis=0)


@pytest.mark.parametrize("by", ["volume", "rate"])
def test_computed_intervals_agree_with_a_long_simulation(by: str) -> None:
    # 400 areas, counts from a gamma-mixed Poisson (skewed, with ties and a few large areas),
    # populations 1,000 to 3,000. Reference: 12,000 simulations. The computed ends must be
    # the reference's percentiles to within 0.01 in probability for at least 99% of ends, and
    # closer than a 1,000-draw simulation's ends are.
    rng = np.random.default_rng(20261127)
    m = 400
    o = rng.poisson(rng.gamma(2.0, 20.0, m)).astype(float)
    n = rng.uniform(1_000, 3_000, m)
    pops = n if by == "rate" else None
    reference = rk.simulated_ranks(o, pops, rng=np.random.default_rng(1), by=by,  # type: ignore[arg-type]
                                   n_simulations=12_000)
    res = rk.rank_intervals(o, pops, rng=np.random.default_rng(2), by=by)  # type: ignore[arg-type]
    sim = rk.rank_intervals(o, pops, rng=np.random.default_rng(3), by=by,  # type: ignore[arg-type]
                            method="simulation")
    computed_err = _area_error(res.rank_low, res.rank_high, reference)
    simulated_err = _area_error(sim.rank_low, sim.rank_high, reference)
    assert np.mean(computed_err <= 0.01) >= 0.99
    assert computed_err.max() < 0.04
    assert np.mean(computed_err) < 0.5 * np.mean(simulated_err)


def test_small_tables_are_the_simulation_itself() -> None:
    # Up to SMALL_TABLE areas every area is simulated with all its competitors, drawing
    # the same numbers as ``simulated_ranks``: the ends equal the simulation's exactly.
    counts = [120, 95, 95, 60, 41, 40, 3, 0, 250, 118]
    a = rk.rank_intervals(counts, rng=np.random.default_rng(11))
    b = rk.rank_intervals(counts, rng=np.random.default_rng(11), method="simulation")
    assert_array_equal(a.rank_low, b.rank_low)
    assert_array_equal(a.rank_high, b.rank_high)


@settings(max_examples=25, deadline=None)
@given(
    counts=st.lists(st.integers(0, 400), min_size=101, max_size=300),
    by_rate=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_computed_intervals_are_ordered_whole_ranks_in_range(
    counts: list[int], by_rate: bool, seed: int
) -> None:
    m = len(counts)
    pops = np.random.default_rng(seed).uniform(500, 5_000, m) if by_rate else None
    res = rk.rank_intervals(counts, pops, rng=np.random.default_rng(seed),
                            by="rate" if by_rate else "volume")
    assert np.all(res.rank_low >= 1) and np.all(res.rank_high <= m)
    assert np.all(res.rank_low <= res.rank_high)
    assert_array_equal(res.rank_low, np.round(res.rank_low))
    assert_array_equal(res.rank_high, np.round(res.rank_high))


def test_equal_counts_share_their_interval_by_volume() -> None:
    # Areas with equal counts have one rank distribution, so one interval.
    rng = np.random.default_rng(4)
    o = np.repeat(rng.poisson(30, 60), 3).astype(float)  # 180 areas in triples
    res = rk.rank_intervals(o, rng=np.random.default_rng(5))
    for v in np.unique(o):
        same = o == v
        assert np.unique(res.rank_low[same]).size == 1
        assert np.unique(res.rank_high[same]).size == 1


def test_gamma_quantiles_and_survival_match_scipy() -> None:
    # The rate path's own quantiles and others' survival functions: exact (tabulated) below
    # shape 10, Wilson-Hilferty above; both within a few thousandths of SciPy.
    a = np.array([0.5, 1.5, 4.5, 9.5, 10.5, 40.5, 300.5])
    n = np.array([1000.0, 2500.0, 800.0, 1200.0, 3000.0, 1500.0, 2000.0])
    dist = rd._Gamma(a, n)
    z = np.array([-2.0, -1.0, 0.0, 0.5, 1.0, 1.96, 3.0])
    exact = np.log(special.gammaincinv(a, stats.norm.cdf(z)) / n)
    assert_allclose(dist.log_quantile(z), exact, atol=2e-3)
    x = np.log(np.array([1e-4, 1e-3, 5e-3, 3e-2, 0.15]))
    s, v = dist.sf_sums(x)
    p = special.gammaincc(a[None, :], np.exp(x)[:, None] * n[None, :])
    assert_allclose(s, p.sum(axis=1), atol=3e-3)
    assert_allclose(v, (p * (1 - p)).sum(axis=1), atol=3e-3)
