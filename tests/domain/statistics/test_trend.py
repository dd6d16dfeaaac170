"""Monthly trend: Mann-Kendall, seasonal Mann-Kendall and the count-regression trend."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pymannkendall as pmk
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from vru.domain.statistics import trend as tr

RTOL = 1e-9


def _same_as_pymannkendall(ours: tr.MannKendall, ref: tuple[object, ...]) -> None:
    trend, h, p, z, tau, s, var_s, slope, intercept = ref
    assert ours.trend == trend
    assert ours.significant == bool(h)
    assert_allclose(
        [ours.p_value, ours.z, ours.tau, ours.s, ours.var_s, ours.slope, ours.intercept],
        [p, z, tau, s, var_s, slope, intercept],
        rtol=RTOL, atol=1e-12,
    )


def test_mann_kendall_hand_worked() -> None:
    # x = 1, 3, 2, 5, 4 (n = 5). Signs of x_j - x_i for i < j:
    #   from 1: +,+,+,+ (4); from 3: -,+,+ (1); from 2: +,+ (2); from 5: - (-1)  ->  S = 6
    # no ties: Var(S) = 5*4*15/18 = 16.6667; Z = (6 - 1)/sqrt(16.6667) = 1.224745
    # p = 2 (1 - Phi(1.224745)) = 0.220671; tau = 6 / 10 = 0.6
    # Sen: the ten slopes (x_j - x_i)/(j - i) are 2, 0.5, 1.333, 0.75, -1, 1, 0.333, 3, 1, -1;
    # sorted -1, -1, 0.333, 0.5, 0.75, 1, 1, 1.333, 2, 3 -> median (0.75 + 1)/2 = 0.875
    # intercept = median(x) - median(t) * slope = 3 - 2 * 0.875 = 1.25
    res = tr.mann_kendall([1, 3, 2, 5, 4])
    assert res.s == 6 and res.n == 5
    assert_allclose([res.var_s, res.z, res.p_value, res.tau], [300 / 18, 1.224745, 0.220671, 0.6],
                    atol=5e-7)
    assert_allclose([res.slope, res.intercept], [0.875, 1.25])
    assert res.trend == "no trend" and not res.significant


def test_mann_kendall_tie_correction_hand_worked() -> None:
    # x = 1, 2, 2, 3: S = (+,+,+) + (0,+) + (+) = 5; one tie group of size 2:
    # Var(S) = [4*3*13 - 2*1*9] / 18 = (156 - 18)/18 = 7.6667; Z = 4/sqrt(7.6667) = 1.444630
    res = tr.mann_kendall([1, 2, 2, 3])
    assert res.s == 5
    assert_allclose([res.var_s, res.z], [138 / 18, 1.444630], rtol=1e-6)


@pytest.mark.parametrize("seed", range(8))
def test_mann_kendall_matches_pymannkendall(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(10, 120))
    x = rng.poisson(8 + 0.05 * seed * np.arange(n)).astype(float)  # counts: many ties
    if seed % 2:
        x[rng.choice(n, 4, replace=False)] = np.nan
    _same_as_pymannkendall(tr.mann_kendall(x), tuple(pmk.original_test(x)))


def test_seasonal_mann_kendall_hand_worked() -> None:
    # period 2, x = 1, 10, 2, 12, 3, 11: season A = (1, 2, 3), season B = (10, 12, 11)
    #   S_A = 3, S_B = (+) + (+) + (-) = 1; each Var = 3*2*11/18 = 3.6667
    #   S = 4, Var = 7.3333, Z = 3/sqrt(7.3333) = 1.107823, tau = 4 / (3 + 3) = 0.6667
    # Seasonal Sen slopes (per cycle): A: 1, 1, 1; B: 2, 0.5, -1 -> median of
    #   -1, 0.5, 1, 1, 1, 2 = 1; intercept = median(x) - median(t)/2 * 1 = 6.5 - 2.5/2 = 5.25
    x = [1, 10, 2, 12, 3, 11]
    res = tr.seasonal_mann_kendall(x, period=2)
    assert res.s == 4
    assert_allclose([res.var_s, res.z, res.tau], [22 / 3, 1.107823, 2 / 3], rtol=1e-6)
    assert_allclose([res.slope, res.intercept], [1.0, 5.25])
    _same_as_pymannkendall(res, tuple(pmk.seasonal_test(np.array(x, dtype=float), period=2)))


@pytest.mark.parametrize("seed", range(8))
def test_seasonal_mann_kendall_matches_pymannkendall(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(30, 96))  # not always whole years
    t = np.arange(n)
    x = rng.poisson(20 + 8 * np.sin(2 * np.pi * t / 12) + 0.1 * seed * t).astype(float)
    if seed % 3 == 0:
        x[rng.choice(n, 5, replace=False)] = np.nan
    _same_as_pymannkendall(tr.seasonal_mann_kendall(x), tuple(pmk.seasonal_test(x, period=12)))


def test_seasonal_test_finds_a_trend_the_season_hides_from_the_plain_test() -> None:
    # Five years of a +/-40 summer swing around 100 with a steady rise of 2 a year:
    #   x_t = 100 + 40 sin(2 pi t / 12) + 2 t / 12, t = 0..59.
    # Each calendar month rises strictly from year to year, so every season has
    # S_g = 5*4/2 = 10 and Var_g = 5*4*15/18 = 16.667: S = 120, Var = 200,
    # Z = 119 / sqrt(200) = 8.414571, tau = 1, and every within-season slope is exactly 2 a year.
    # The plain test compares July with January and sees mostly noise (not significant).
    t = np.arange(60)
    x = 100 + 40 * np.sin(2 * np.pi * t / 12) + 2 * t / 12
    seasonal = tr.seasonal_mann_kendall(x)
    assert seasonal.s == 120 and seasonal.tau == 1.0
    assert_allclose([seasonal.var_s, seasonal.z, seasonal.slope], [200, 8.414571, 2.0],
                    rtol=1e-6)
    assert seasonal.trend == "increasing"
    assert tr.mann_kendall(x).trend == "no trend"


def test_mann_kendall_refusals() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        tr.mann_kendall([1, np.nan, 2])
    with pytest.raises(ValueError, match="two cycles"):
        tr.seasonal_mann_kendall(np.arange(20))
    with pytest.raises(ValueError, match="one-dimensional"):
        tr.mann_kendall(np.ones((3, 3)))


@settings(max_examples=100, deadline=None)
@given(
    x=st.lists(st.integers(0, 50), min_size=3, max_size=60),
    a=st.floats(0.1, 10), b=st.floats(-100, 100),
)
def test_mann_kendall_is_rank_based(x: list[int], a: float, b: float) -> None:
    arr = np.array(x, dtype=float)
    base = tr.mann_kendall(arr)
    moved = tr.mann_kendall(a * arr + b)  # a monotone increasing map
    assert moved.s == base.s and moved.var_s == pytest.approx(base.var_s)
    assert_allclose(moved.slope, a * base.slope, rtol=1e-9, atol=1e-9)
    flipped = tr.mann_kendall(arr[::-1])
    assert flipped.s == -base.s and flipped.p_value == pytest.approx(base.p_value)
    assert 0 <= base.p_value <= 1 and -1 <= base.tau <= 1


# --------------------------------------------------------------------------- regression


PERFECT_FIT = "ignore::statsmodels.tools.sm_exceptions.PerfectSeparationWarning"


@pytest.mark.filterwarnings(PERFECT_FIT)
def test_glm_trend_hand_worked_doubling_each_year() -> None:
    # Counts 10, 20, 40 one year apart, no seasonality: log mu = b0 + b1 t fits exactly with
    # b1 = ln 2, so the rate ratio per year is 2. Fisher information X'WX with W = diag(mu):
    #   [[10+20+40, 0+20+80], [100, 0+20+160]] = [[70, 100], [100, 180]], det = 2600,
    #   Var(b1) = 70/2600 = 0.0269231, SE = 0.164083
    #   limits = 2 exp(-/+ 1.959964 * 0.164083) = 1.449982, 2.758654
    res = tr.glm_trend([10, 20, 40], ["2020-01", "2021-01", "2022-01"], seasonal=False)
    assert res.family == "poisson"
    assert_allclose(res.rate_ratio_per_year, 2.0, rtol=1e-8)
    assert_allclose(res.std_error, np.sqrt(70 / 2600), rtol=1e-5)  # IRLS stops at 1e-8
    assert_allclose([res.ci_low, res.ci_high], [1.449982, 2.758654], rtol=1e-5)


@pytest.mark.filterwarnings(PERFECT_FIT)
def test_glm_trend_with_exposure_hand_worked() -> None:
    # The same 10 events a year while the population doubles each year: the rate halves.
    res = tr.glm_trend([10, 10, 10], ["2020-06", "2021-06", "2022-06"], exposure=[1, 2, 4],
                       seasonal=False)
    assert_allclose(res.rate_ratio_per_year, 0.5, rtol=1e-8)


def _monthly(seed: int, n: int, overdispersed: bool) -> tuple[np.ndarray, pd.PeriodIndex]:
    rng = np.random.default_rng(seed)
    months = pd.period_range("2018-04", periods=n, freq="M")
    t = np.arange(n)
    mu = 40 * 1.08 ** (t / 12) * (1 + 0.3 * np.sin(2 * np.pi * t / 12))
    if overdispersed:
        size = 4.0
        y = rng.negative_binomial(size, size / (size + mu))
    else:
        y = rng.poisson(mu)
    return y, months


def _reference_design(months: pd.PeriodIndex) -> pd.DataFrame:
    # Built independently of trend_design: dummies from pandas, years from the month count.
    first = months[0]
    years = np.array([(m - first).n for m in months], dtype=float) / 12
    moy = pd.Categorical(months.month, categories=sorted(set(months.month)))
    dummies = pd.get_dummies(moy, prefix="m", drop_first=True, dtype=float)
    return pd.concat([pd.DataFrame({"const": 1.0, "years": years}), dummies], axis=1)


@pytest.mark.parametrize("seed", range(4))
def test_poisson_trend_matches_statsmodels_glm(seed: int) -> None:
    y, months = _monthly(seed, 60, overdispersed=False)
    res = tr.glm_trend(y, months)
    ref = sm.GLM(y, _reference_design(months), family=sm.families.Poisson()).fit()
    assert res.family == "poisson"
    b, se = ref.params["years"], ref.bse["years"]
    z = 1.959963984540054
    assert_allclose(res.coefficient, b, rtol=1e-7)
    assert_allclose(res.std_error, se, rtol=1e-6)
    assert_allclose([res.ci_low, res.ci_high], np.exp([b - z * se, b + z * se]), rtol=1e-6)
    assert_allclose(res.p_value, ref.pvalues["years"], rtol=1e-5)
    assert_allclose(res.dispersion, ref.pearson_chi2 / ref.df_resid, rtol=1e-7)
    assert res.dispersion < tr.OVERDISPERSION_THRESHOLD


@pytest.mark.parametrize("seed", range(3))
def test_overdispersed_counts_get_the_negative_binomial(seed: int) -> None:
    y, months = _monthly(50 + seed, 72, overdispersed=True)
    res = tr.glm_trend(y, months)
    assert res.family == "negative_binomial"
    assert res.dispersion > tr.OVERDISPERSION_THRESHOLD
    design = _reference_design(months)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm.NegativeBinomial(y, design, loglike_method="nb2").fit(
            method="bfgs", maxiter=5000, disp=False
        )
    assert_allclose(res.coefficient, ref.params["years"], rtol=1e-4)
    assert_allclose(res.std_error, ref.bse["years"], rtol=1e-3)
    assert res.nb_alpha is not None
    assert_allclose(res.nb_alpha, ref.params["alpha"], rtol=1e-3)
    assert res.lr_p_value is not None and res.lr_p_value < 0.05
    assert res.converged
    # treating the same counts as Poisson would give a falsely narrow interval
    pois = tr.glm_trend(y, months, family="poisson")
    assert (pois.ci_high / pois.ci_low) < (res.ci_high / res.ci_low)


def test_glm_trend_refusals() -> None:
    months = pd.period_range("2023-01", periods=18, freq="M")
    with pytest.raises(ValueError, match="every month of the year at least twice"):
        tr.glm_trend(np.full(18, 5), months)
    with pytest.raises(ValueError, match="zero events"):
        tr.glm_trend(np.zeros(18), months, seasonal=False)
    with pytest.raises(ValueError, match="once"):
        tr.glm_trend([1, 2, 3], ["2020-01", "2020-01", "2020-02"], seasonal=False)
    with pytest.raises(ValueError, match="whole"):
        tr.glm_trend([1.5, 2, 3], ["2020-01", "2020-02", "2020-03"], seasonal=False)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.5, 20))
def test_glm_interval_contains_the_estimate_and_ignores_constant_exposure(
    seed: int, scale: float
) -> None:
    y, months = _monthly(seed, 36, overdispersed=False)
    res = tr.glm_trend(y, months, family="poisson")
    assert res.ci_low <= res.rate_ratio_per_year <= res.ci_high
    scaled = tr.glm_trend(y, months, exposure=np.full(36, scale), family="poisson")
    assert_allclose(scaled.rate_ratio_per_year, res.rate_ratio_per_year, rtol=1e-6)
