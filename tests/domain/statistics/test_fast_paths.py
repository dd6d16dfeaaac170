"""The vectorised paths the SNA service relies on give the reference answers exactly.

* ``change.exact_rate_ratios`` (all places at once) against ``scipy.stats.binomtest`` one
  place at a time: the p-value and the Clopper-Pearson interval behind the rate ratio.
* ``rankings._competition_ranks`` against ``scipy.stats.rankdata(-x, method="min")``.
* ``deprivation.poisson_rate_limits`` and ``timing.poisson_rate_ratio`` are the ``rates`` and
  ``change`` implementations (no second copy of the Poisson limits).
* ``trend.glm_trend`` on large, overdispersed counts (Newton's step to NaN is caught).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

from vru.domain.statistics import change, deprivation, rankings, rates, timing, trend


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vectorised_exact_test_matches_binomtest(seed: int) -> None:
    rng = np.random.default_rng(seed)
    c1 = np.concatenate([[0, 0, 3, 7, 12, 30_000, 5], rng.poisson(rng.uniform(0, 400, 200))])
    c2 = np.concatenate([[0, 4, 0, 7, 13, 29_500, 5], rng.poisson(rng.uniform(0, 400, 200))])
    t1 = np.ones(c1.size)
    t2 = np.where(np.arange(c1.size) % 3 == 0, 2.5, 1.0)  # some unequal exposures
    rr, low, high, p = change.exact_rate_ratios(c1, c2, t1, t2, 0.95)
    for i in range(c1.size):
        n = int(c1[i] + c2[i])
        if n == 0:
            assert p[i] == 1.0 and np.isnan(rr[i]) and np.isnan(low[i])
            continue
        ref = stats.binomtest(int(c1[i]), n, t1[i] / (t1[i] + t2[i]))
        ci = ref.proportion_ci(0.95, method="exact")
        scale = t2[i] / t1[i]
        assert_allclose(p[i], ref.pvalue, rtol=1e-9, atol=1e-300)
        ref_low = ci.low / (1 - ci.low) * scale
        assert_allclose(low[i], ref_low, rtol=1e-8)
        if ci.high < 1:
            assert_allclose(high[i], ci.high / (1 - ci.high) * scale, rtol=1e-8)
        else:
            assert high[i] == np.inf


def test_compare_periods_is_the_scalar_test_for_every_place() -> None:
    current, previous = [15, 0, 9, 1200], [5, 0, 0, 1100]
    table = change.compare_periods(current, previous)
    for i, (a, b) in enumerate(zip(current, previous, strict=True)):
        rr, low, high, p = change.exact_rate_ratio(a, b)
        assert_allclose(table[["rate_ratio", "rr_low", "rr_high", "p_value"]].iloc[i],
                        [rr, low, high, p], rtol=1e-12)


@pytest.mark.parametrize("kind", ["poisson", "large_counts", "gamma", "ties"])
def test_competition_ranks_match_rankdata(kind: str) -> None:
    rng = np.random.default_rng(7)
    for _ in range(50):
        m, s = int(rng.integers(1, 80)), int(rng.integers(1, 30))
        if kind == "poisson":
            draws = rng.poisson(rng.integers(0, 60, m), size=(s, m))
        elif kind == "large_counts":  # few areas, large counts: sorted, ties now and then
            draws = rng.poisson(rng.integers(0, 400, m), size=(s, m))[:, : max(2, m // 8)]
        elif kind == "gamma":
            draws = rng.gamma(rng.integers(0, 5, m) + 0.5, 1.0, size=(s, m))
        else:
            draws = np.round(rng.normal(0, 3, size=(s, m))) / 2  # negatives, halves, ties
        assert_array_equal(rankings._competition_ranks(draws),
                           stats.rankdata(-draws, method="min", axis=1))


def test_deprivation_limits_are_the_rates_limits() -> None:
    counts, pops = np.array([0, 3, 9, 10, 250]), np.array([100, 200, 300, 400, 5000])
    low, high = deprivation.poisson_rate_limits(counts, pops, per=1000)
    ex_low, ex_high = rates.exact_poisson_interval(counts)
    assert_allclose(low, ex_low / pops * 1000)
    assert_allclose(high, ex_high / pops * 1000)
    low, high = deprivation.poisson_rate_limits(counts, pops, per=1000, method="byar")
    by_low, by_high = rates.byar_interval(counts)
    assert_allclose(low, by_low / pops * 1000)
    assert_allclose(high, by_high / pops * 1000)


def test_timing_rate_ratio_is_the_change_rate_ratio() -> None:
    for a, ea, b, eb in [(30, 10, 40, 20), (0, 5, 7, 9), (12, 1, 12, 1), (3, 10, 0, 10)]:
        ours = timing.poisson_rate_ratio(a, ea, b, eb)
        rr, low, high, p = change.exact_rate_ratio(a, b, ea, eb)
        assert (ours.rate_ratio, ours.ci_lower, ours.ci_upper, ours.p_value) == (
            rr, low, high, min(1.0, p))


def test_glm_trend_survives_large_overdispersed_counts() -> None:
    # London-sized monthly counts (~15,000 to 21,000, 216 months) with extra-Poisson noise:
    # Newton's method from alpha = 0.1 stepped to NaN here and reported convergence.
    rng = np.random.default_rng(3)
    months = pd.period_range("2008-01", periods=216, freq="M")
    t = np.arange(216)
    mean = 13_000 * 1.035 ** (t / 12) * (1 + 0.08 * np.sin(2 * np.pi * t / 12))
    counts = rng.negative_binomial(1 / 0.017, 1 / (1 + 0.017 * mean))
    fit = trend.glm_trend(counts, months)
    assert fit.family == "negative_binomial"
    assert np.isfinite([fit.rate_ratio_per_year, fit.ci_low, fit.ci_high]).all()
    assert fit.ci_low < fit.rate_ratio_per_year < fit.ci_high
    assert 1.02 < fit.rate_ratio_per_year < 1.05  # the 3.5% a year the series was made with
