"""Deprivation: rates by IMD decile/quintile, shares in the most deprived places, SII and RII.

Reference implementations: ``statsmodels`` WLS for the SII regression and its interval,
``statsmodels.stats.rates.confint_poisson`` for exact Poisson limits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from statsmodels.stats.rates import confint_poisson

from vru.domain.statistics.deprivation import (
    local_deprivation_tenths,
    poisson_rate_limits,
    quintile_from_decile,
    rates_by_deprivation,
    share_in_most_deprived,
    slope_index_of_inequality,
)

RTOL = 1e-9

# Four areas: counts 5, 3, 0, 1; populations 100, 200, 100, 50; deciles 1, 1, 3, 10.
AREAS = pd.DataFrame(
    {
        "code": ["E1", "E2", "E3", "E4"],
        "count": [5, 3, 0, 1],
        "population": [100, 200, 100, 50],
        "imd_decile": [1, 1, 3, 10],
        "imd_rank": [100, 2000, 8000, 32000],
    }
)

# Ten deciles, London-like populations, violence falling with affluence.
DECILES = pd.DataFrame(
    {
        "decile": range(1, 11),
        "population": [61_000, 74_000, 83_000, 79_000, 66_000, 58_000, 55_000, 51_000, 47_000,
                       40_000],
        "count": [920, 810, 760, 600, 520, 480, 400, 380, 300, 260],
    }
)


def test_quintile_from_decile() -> None:
    deciles = pd.Series(range(1, 11))
    assert quintile_from_decile(deciles).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    with pytest.raises(ValueError, match="1-10"):
        quintile_from_decile(pd.Series([0, 11]))


def test_rates_by_decile_hand_worked() -> None:
    table = rates_by_deprivation(AREAS, per=1000).set_index("decile")
    assert list(table.index) == list(range(1, 11))  # every decile, zeros included
    # decile 1: E1 + E2 -> 8 events / 300 people -> 26.667 per 1,000
    assert table["areas"].loc[1] == 2
    assert table["count"].loc[1] == 8
    assert_allclose(table["rate"].loc[1], 8 / 300 * 1000, rtol=RTOL)
    # decile 3: 0 / 100 -> 0; decile 10: 1 / 50 -> 20 per 1,000; decile 2: no areas -> NaN
    assert table["rate"].loc[3] == 0.0
    assert_allclose(table["rate"].loc[10], 20.0, rtol=RTOL)
    assert np.isnan(table["rate"].loc[2])
    # overall 9 / 450 -> 20 per 1,000, so decile 1 is 26.667 / 20 = 1.333 times it
    assert_allclose(table["rate_ratio_to_overall"].loc[1], 4 / 3, rtol=RTOL)
    assert_allclose(table["share_of_events"].loc[1], 8 / 9, rtol=RTOL)
    assert_allclose(table["share_of_population"].loc[1], 300 / 450, rtol=RTOL)
    assert_allclose(table["share_of_areas"].loc[1], 0.5, rtol=RTOL)


def test_rates_by_quintile() -> None:
    table = rates_by_deprivation(AREAS, by="quintile", per=1000).set_index("quintile")
    assert list(table.index) == [1, 2, 3, 4, 5]
    assert table["count"].loc[1] == 8  # deciles 1-2
    assert table["count"].loc[2] == 0  # decile 3
    assert table["count"].loc[5] == 1  # decile 10


def test_exact_poisson_limits_hand_worked_and_against_statsmodels() -> None:
    # x = 0: lower 0, upper = -ln(0.025) = 3.6889 (chi2(0.975, 2) / 2)
    lower, upper = poisson_rate_limits([0], [1], per=1)
    assert lower[0] == 0.0
    assert_allclose(upper[0], -np.log(0.025), rtol=1e-9)
    # x = 8: the classic table values 3.4538 and 15.7632 (e.g. Garwood 1936)
    lower, upper = poisson_rate_limits([8], [1], per=1)
    assert_allclose([lower[0], upper[0]], [3.4538, 15.7632], atol=5e-5)
    for x in [1, 5, 8, 37, 250]:
        lo, hi = poisson_rate_limits([x], [400], per=1)
        ref = confint_poisson(x, 400, method="exact-c")
        assert_allclose([lo[0], hi[0]], ref, rtol=1e-7)


def test_byar_limits_approximate_the_exact_ones() -> None:
    exact = poisson_rate_limits([10, 50, 400], [1, 1, 1], per=1)
    byar = poisson_rate_limits([10, 50, 400], [1, 1, 1], per=1, method="byar")
    assert_allclose(byar[0], exact[0], rtol=0.01)
    assert_allclose(byar[1], exact[1], rtol=0.01)
    # Byar at x = 10: 10 (1 - 1/90 - 1.959964/(3 sqrt 10))^3 = 4.7954
    assert_allclose(byar[0][0], 10 * (1 - 1 / 90 - 1.959964 / (3 * np.sqrt(10))) ** 3, rtol=1e-6)


def test_local_tenths_hand_worked() -> None:
    # 20 areas ranked 1..20 (shuffled): tenth = ceil(10 r / 20) = ceil(r / 2)
    ranks = [7, 1, 20, 2, 13, 5, 6, 3, 4, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18, 19]
    frame = pd.DataFrame({"imd_rank": ranks})
    tenths = local_deprivation_tenths(frame)
    assert tenths.tolist() == [int(np.ceil(r / 2)) for r in ranks]
    # within two boroughs of ten areas each, the tenth is the position within the borough
    frame["borough"] = ["a"] * 10 + ["b"] * 10
    within = local_deprivation_tenths(frame, within="borough")
    expected = pd.Series(ranks).groupby(frame["borough"]).rank().astype(int).tolist()
    assert within.tolist() == expected


def test_share_in_most_deprived_national_hand_worked() -> None:
    areas = pd.DataFrame(
        {"count": [10, 5, 3, 2, 0], "imd_decile": [1, 1, 2, 5, 10],
         "population": [1000, 1000, 2000, 3000, 3000]}
    )
    # most deprived 10% nationally = decile 1: 15 of 20 events in 2 of 5 areas
    ten = share_in_most_deprived(areas, 0.1, population="population")
    assert (ten.areas, ten.events, ten.events_total) == (2, 15.0, 20.0)
    assert_allclose(ten.share_of_events, 0.75, rtol=RTOL)
    assert_allclose(ten.share_of_areas, 0.4, rtol=RTOL)
    assert_allclose(ten.ratio_to_area_share, 0.75 / 0.4, rtol=RTOL)
    assert ten.share_of_population is not None
    assert_allclose(ten.share_of_population, 0.2, rtol=RTOL)
    # 20% = deciles 1-2: 18 / 20
    assert_allclose(share_in_most_deprived(areas, 0.2).share_of_events, 0.9, rtol=RTOL)


def test_share_in_most_deprived_local_hand_worked() -> None:
    # Ten areas, ranks 10..100 -> each local tenth is one area; the most deprived (rank 10)
    # has 6 of 20 events; the two most deprived (ranks 10, 20) have 6 + 4 = 10.
    areas = pd.DataFrame(
        {"imd_rank": [30, 10, 20, 40, 50, 60, 70, 80, 90, 100],
         "count": [1, 6, 4, 1, 1, 1, 1, 2, 2, 1]}
    )
    local10 = share_in_most_deprived(areas, 0.1, basis="local")
    assert local10.areas == 1
    assert_allclose(local10.share_of_events, 6 / 20, rtol=RTOL)
    assert_allclose(share_in_most_deprived(areas, 0.2, basis="local").share_of_events, 0.5)
    with pytest.raises(ValueError, match="multiple of 0.1"):
        share_in_most_deprived(areas, 0.15, basis="local")


def test_sii_hand_worked_exact_line() -> None:
    # Three groups, most deprived first, populations 100, 200, 100 (shares .25, .5, .25):
    # midpoints x = .125, .5, .875. Rates (per 1) 3, 2, 1 lie exactly on
    # rate = 10/3 - (8/3) x, so slope = -8/3, SII = 8/3 (most minus least deprived end),
    # mean rate = (300 + 400 + 100) / 400 = 2, RII = (8/3) / 2 = 4/3, ends 10/3 and 2/3.
    groups = pd.DataFrame({"decile": [1, 2, 3], "count": [300, 400, 100],
                           "population": [100, 200, 100]})
    result = slope_index_of_inequality(groups, per=1, ci_method="regression")
    assert_allclose(result.sii, 8 / 3, rtol=RTOL)
    assert_allclose(result.slope, -8 / 3, rtol=RTOL)
    assert_allclose(result.mean_rate, 2.0, rtol=RTOL)
    assert_allclose(result.rii, 4 / 3, rtol=RTOL)
    assert_allclose(result.rate_most_deprived_end, 10 / 3, rtol=RTOL)
    assert_allclose(result.rate_least_deprived_end, 2 / 3, rtol=RTOL)
    assert_allclose(result.ends_ratio, 5.0, rtol=RTOL)
    # a perfect fit has no residual, so the regression interval has no width
    assert_allclose([result.sii_lower, result.sii_upper], [8 / 3, 8 / 3], rtol=1e-9)


def test_sii_matches_statsmodels_wls() -> None:
    result = slope_index_of_inequality(DECILES, ci_method="regression")
    p = DECILES["population"].to_numpy(dtype=float)
    x = (np.cumsum(p) - p / 2) / p.sum()
    rate = 1e5 * DECILES["count"].to_numpy() / p
    fit = sm.WLS(rate, sm.add_constant(x), weights=p / p.sum()).fit()
    intercept, slope = fit.params
    low, high = fit.conf_int(alpha=0.05)[1]
    assert_allclose(result.slope, slope, rtol=1e-9)
    assert_allclose(result.sii, -slope, rtol=1e-9)
    assert_allclose(result.rate_most_deprived_end, intercept, rtol=1e-9)
    assert_allclose([result.sii_lower, result.sii_upper], [-high, -low], rtol=1e-9)
    overall = 1e5 * DECILES["count"].sum() / p.sum()
    assert_allclose(result.mean_rate, overall, rtol=1e-12)
    assert_allclose(result.rii, -slope / overall, rtol=1e-9)
    assert_allclose(result.rii_lower, -high / overall, rtol=1e-9)
    # the population-weighted line passes through (0.5, mean rate)
    assert_allclose(intercept + slope * 0.5, overall, rtol=1e-9)


def test_sii_simulation_interval_matches_the_poisson_variance() -> None:
    # SII = -sum_i w_i (x_i - 1/2) r_i / Sxx with r_i = per c_i / p_i, w_i = p_i / P, so
    # dSII/dc_i = -per (x_i - 1/2) / (P Sxx) and Var(SII) = sum per^2 (x_i - 1/2)^2 c_i /
    # (P Sxx)^2 for Poisson counts. The simulated 95% interval should be about
    # +/- 1.96 sd wide.
    result = slope_index_of_inequality(DECILES, repetitions=20_000,
                                       rng=np.random.default_rng(42))
    p = DECILES["population"].to_numpy(dtype=float)
    c = DECILES["count"].to_numpy(dtype=float)
    x = (np.cumsum(p) - p / 2) / p.sum()
    w = p / p.sum()
    sxx = np.sum(w * (x - 0.5) ** 2)
    sd = np.sqrt(np.sum(1e10 * (x - 0.5) ** 2 * c) / (p.sum() * sxx) ** 2)
    assert_allclose(result.sii_upper - result.sii_lower, 2 * 1.959964 * sd, rtol=0.03)
    assert result.sii_lower < result.sii < result.sii_upper
    assert result.rii_lower < result.rii < result.rii_upper
    assert result.ci_method == "simulation" and result.repetitions == 20_000


def test_sii_simulation_is_reproducible() -> None:
    a = slope_index_of_inequality(DECILES)
    b = slope_index_of_inequality(DECILES)
    assert a == b
    c = slope_index_of_inequality(DECILES, rng=np.random.default_rng(7))
    assert c.sii == a.sii


def test_sii_accepts_the_rates_table() -> None:
    areas = pd.DataFrame({"count": [8, 4, 2, 1, 1], "population": [100] * 5,
                          "imd_decile": [1, 3, 5, 7, 9]})
    table = rates_by_deprivation(areas, by="quintile")
    result = slope_index_of_inequality(table, group="quintile", ci_method="regression")
    assert result.groups == 5
    assert result.sii > 0


def test_sii_refuses_empty_groups_and_duplicates() -> None:
    with pytest.raises(ValueError, match="population above zero"):
        slope_index_of_inequality(pd.DataFrame({"decile": [1, 2], "count": [1, 2],
                                                "population": [0, 10]}))
    with pytest.raises(ValueError, match="once"):
        slope_index_of_inequality(pd.DataFrame({"decile": [1, 1], "count": [1, 2],
                                                "population": [5, 10]}))
    with pytest.raises(ValueError, match="three"):
        slope_index_of_inequality(pd.DataFrame({"decile": [1, 2], "count": [1, 2],
                                                "population": [5, 10]}),
                                  ci_method="regression")


def test_missing_columns_are_named() -> None:
    with pytest.raises(ValueError, match="imd_decile"):
        rates_by_deprivation(AREAS.drop(columns="imd_decile"))
