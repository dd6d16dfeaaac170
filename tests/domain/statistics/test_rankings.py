"""Ranks of areas by volume and by rate, with simulation intervals."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

from vru.domain.statistics import rankings as rk
from vru.domain.statistics.provenance import Method, ResultMeta, provenance_of


def test_point_ranks_hand_worked() -> None:
    # values 100, 90, 50, 5, 5, 0: rank = 1 + number strictly larger -> 1, 2, 3, 4, 4, 6
    assert_array_equal(rk.point_ranks([100, 90, 50, 5, 5, 0]), [1, 2, 3, 4, 4, 6])
    assert_array_equal(rk.point_ranks([3, np.nan, 7]), [2, np.nan, 1])


def test_well_separated_areas_have_certain_ranks() -> None:
    # 10,000 vs 5,000 vs 100 events: the Poisson spreads (sd 100, 71, 10) never overlap,
    # so every simulation gives the observed order and each interval is a single rank.
    res = rk.rank_intervals([100, 10_000, 5_000], rng=np.random.default_rng(1))
    assert_array_equal(res.rank, [3, 1, 2])
    assert_array_equal(res.rank_low, [3, 1, 2])
    assert_array_equal(res.rank_high, [3, 1, 2])


def test_close_counts_share_a_rank_interval_hand_worked() -> None:
    # 100 vs 90 events. D = X1 - X2 with X1 ~ Poisson(100), X2 ~ Poisson(90) is Skellam:
    # mean 10, sd sqrt(190) = 13.78. Area 1 is ranked 1 when X1 >= X2:
    # P(D >= 0) ~ Phi((10 + 0.5)/13.78) = Phi(0.762) = 0.777 (exactly: skellam.sf(-1, 100, 90)).
    # Both orders are common (each far above 2.5%), so both areas have the interval 1 to 2.
    rng = np.random.default_rng(2024)
    n_sim = 20_000
    ranks = rk.simulated_ranks([100, 90], rng=rng, n_simulations=n_sim)
    p_first = stats.skellam.sf(-1, 100, 90)
    assert_allclose(p_first, 0.777, atol=0.005)
    observed = np.mean(ranks[:, 0] == 1)
    assert abs(observed - p_first) < 4 * np.sqrt(p_first * (1 - p_first) / n_sim)
    res = rk.rank_intervals([100, 90], rng=np.random.default_rng(5))
    assert_array_equal(res.rank_low, [1, 1])
    assert_array_equal(res.rank_high, [2, 2])


def test_rate_ranks_follow_the_gamma_posterior() -> None:
    # By rate, lambda_i ~ Gamma(O_i + 1/2, rate N_i). With G_i = N_i lambda_i ~ Gamma(O_i + 1/2),
    # P(lambda_1 > lambda_2) = P(G_1/(G_1 + G_2) > N_1/(N_1 + N_2)) and G_1/(G_1 + G_2) is
    # Beta(O_1 + 1/2, O_2 + 1/2): an exact reference for the simulated frequency.
    counts, pops = [12, 30], [10_000, 30_000]  # 120 vs 100 per 100,000
    ref = stats.beta.sf(pops[0] / sum(pops), counts[0] + 0.5, counts[1] + 0.5)
    n_sim = 20_000
    ranks = rk.simulated_ranks(counts, pops, rng=np.random.default_rng(9), by="rate",
                               n_simulations=n_sim)
    observed = np.mean(ranks[:, 0] == 1)
    assert abs(observed - ref) < 4 * np.sqrt(ref * (1 - ref) / n_sim)


def test_areas_without_population_are_not_ranked_by_rate() -> None:
    res = rk.rank_intervals([5, 50, 7], [1000, 10_000, 0], rng=np.random.default_rng(3),
                            by="rate")
    assert_allclose(res.value[:2], [500, 500])
    assert np.isnan(res.value[2]) and np.isnan(res.rank[2]) and np.isnan(res.rank_low[2])
    assert_array_equal(res.rank[:2], [1, 1])
    assert np.nanmax(res.rank_high) <= 2


def test_simulation_is_reproducible_from_the_generator() -> None:
    counts = [40, 35, 33, 20, 19, 3, 0]
    a = rk.rank_intervals(counts, rng=np.random.default_rng(42))
    b = rk.rank_intervals(counts, rng=np.random.default_rng(42))
    assert_array_equal(a.rank_low, b.rank_low)
    assert_array_equal(a.rank_high, b.rank_high)


def test_refusals() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="needs populations"):
        rk.rank_intervals([1, 2], rng=rng, by="rate")
    with pytest.raises(ValueError, match="at least 100"):
        rk.rank_intervals([1, 2], rng=rng, n_simulations=10)
    with pytest.raises(ValueError, match="non-negative"):
        rk.rank_intervals([1, -2], rng=rng)
    with pytest.raises(ValueError, match="unknown ranking"):
        rk.rank_intervals([1, 2], rng=rng, by="size")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown rank method"):
        rk.rank_intervals([1, 2], rng=rng, method="guess")  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(0, 500), min_size=1, max_size=25),
    seed=st.integers(0, 2**32 - 1),
    by_rate=st.booleans(),
)
def test_rank_intervals_are_ordered_and_in_range(
    counts: list[int], seed: int, by_rate: bool
) -> None:
    m = len(counts)
    pops = np.linspace(1_000, 50_000, m)
    res = rk.rank_intervals(counts, pops if by_rate else None, rng=np.random.default_rng(seed),
                            by="rate" if by_rate else "volume", n_simulations=200)
    assert np.all(res.rank_low >= 1) and np.all(res.rank_high <= m)
    assert np.all(res.rank_low <= res.rank_high)
    assert np.all((res.rank >= 1) & (res.rank <= m))
    assert np.all(res.rank == np.round(res.rank))
    # the area with the strictly largest value is ranked first
    top = int(np.argmax(res.value))
    if np.sum(res.value == res.value[top]) == 1:
        assert res.rank[top] == 1


def test_rank_table_by_rate_with_provenance() -> None:
    df = pd.DataFrame({
        "borough": ["Brent", "Camden", "Hackney", "Ealing"],
        "n": [300, 150, 420, 90],
        "pop": [340_000, 210_000, 260_000, 370_000],
    })
    meta = ResultMeta(
        measure="violence_with_injury", definition="Assaults with injury.",
        geography="borough", geography_vintage="2022", period_start=date(2023, 4, 1),
        period_end=date(2024, 3, 31), method=Method("placeholder", "none"),
    )
    out = rk.rank_table(df, "n", "pop", rng=np.random.default_rng(8), by="rate", meta=meta)
    assert list(out.columns) == ["borough", "n", "pop", *rk.RANK_COLUMNS]
    # rates: Brent 88.2, Camden 71.4, Hackney 161.5, Ealing 24.3 per 100,000
    assert out["rank"].tolist() == [2, 3, 1, 4]
    assert out.loc[2, "rank_low"] == 1 and out.loc[2, "rank_high"] == 1
    assert provenance_of(out).method == rk.RANK_INTERVALS_COMPUTED
    simulated = rk.rank_table(df, "n", "pop", rng=np.random.default_rng(8), by="rate",
                              meta=meta, method="simulation")
    assert provenance_of(simulated).method == rk.RANK_INTERVALS
    assert_array_equal(simulated["rank_low"], out["rank_low"])  # 4 areas: simulated anyway
    by_volume = rk.rank_table(df, "n", rng=np.random.default_rng(8))
    assert by_volume["rank"].tolist() == [2, 3, 1, 4]
    assert_array_equal(by_volume["value"], df["n"])


@settings(max_examples=30, deadline=None)
@given(
    counts=st.lists(st.integers(0, 300), min_size=2, max_size=30),
    seed=st.integers(0, 2**32 - 1),
    n_sim=st.integers(100, 1500),
    confidence=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_rank_interval_ends_are_numpys_lower_and_higher_quantiles(
    counts: list[int], seed: int, n_sim: int, confidence: float
) -> None:
    # The ends are read from one partition of the simulated ranks: they must equal
    # np.quantile's "lower" and "higher" quantiles of the same simulations.
    res = rk.rank_intervals(counts, rng=np.random.default_rng(seed), n_simulations=n_sim,
                            confidence=confidence, method="simulation")
    ranks = rk.simulated_ranks(counts, rng=np.random.default_rng(seed), n_simulations=n_sim)
    tail = (1 - confidence) / 2
    assert_array_equal(res.rank_low, np.quantile(ranks, tail, axis=0, method="lower"))
    assert_array_equal(res.rank_high, np.quantile(ranks, 1 - tail, axis=0, method="higher"))
