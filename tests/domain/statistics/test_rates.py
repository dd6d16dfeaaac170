"""Counts, rates, proportions and standardised rates with their confidence intervals.

Each statistic is pinned three ways: a hand-worked example (worked in the comment), a
reference implementation (scipy.stats.poisson / chi2, statsmodels proportion_confint), and
Hypothesis properties that must hold for any input.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from vru.domain.statistics import rates as r
from vru.domain.statistics.provenance import Method, PopulationBase, ResultMeta, provenance_of

RTOL = 1e-6
Z95 = 1.959963984540054

counts_st = st.integers(min_value=0, max_value=100_000)
pops_st = st.integers(min_value=1, max_value=10_000_000)
conf_st = st.sampled_from([0.8, 0.9, 0.95, 0.99, 0.998])


# --------------------------------------------------------------------------- count intervals


def test_byar_limits_for_27_events_hand_worked() -> None:
    # Byar, O = 27, z = 1.959964:
    #   lower = 27 (1 - 1/243 - 1.959964/(3 sqrt 27))^3
    #         = 27 (1 - 0.0041152 - 0.1257318)^3 = 27 * 0.8701530^3 = 27 * 0.6588505 = 17.78896
    #   upper = 28 (1 - 1/252 + 1.959964/(3 sqrt 28))^3
    #         = 28 (1 - 0.0039683 + 0.1234662)^3 = 28 * 1.1194979^3 = 28 * 1.4030392 = 39.28510
    low, high = r.byar_interval(27)
    assert_allclose([low, high], [17.78896, 39.28510], rtol=1e-6)


def test_exact_limits_for_27_events_match_the_published_table_and_scipy_poisson() -> None:
    # Exact 95% Poisson limits for 27 events, as tables of exact limits give them to two
    # decimals: 17.79 to 39.28. By definition they are the means L, U with
    # P(X >= 27 | L) = 0.025 and P(X <= 27 | U) = 0.025: checked against scipy.stats.poisson.
    low, high = r.exact_poisson_interval(27)
    assert round(float(low), 2) == 17.79
    assert round(float(high), 2) == 39.28
    assert_allclose(stats.poisson.sf(26, low), 0.025, rtol=1e-9)
    assert_allclose(stats.poisson.cdf(27, high), 0.025, rtol=1e-9)
    # and Byar's agrees with the exact limits to within 0.03% at this count
    b_low, b_high = r.byar_interval(27)
    assert_allclose([b_low, b_high], [low, high], rtol=3e-4)


def test_exact_limits_for_zero_and_one_event_closed_forms() -> None:
    # O = 0: P(X = 0 | U) = exp(-U) = 0.025  ->  U = -ln 0.025 = 3.688879; lower is 0.
    # O = 1: P(X >= 1 | L) = 1 - exp(-L) = 0.025  ->  L = -ln 0.975 = 0.025318.
    low, high = r.exact_poisson_interval([0, 1])
    assert low[0] == 0.0
    assert_allclose(high[0], -np.log(0.025), rtol=1e-12)
    assert_allclose(low[1], -np.log(0.975), rtol=1e-12)
    # O = 0 by Byar: (1 - 1/9 + 1.959964/3)^3 = 1.5422102^3 = 3.668012
    b_low, b_high = r.byar_interval(0)
    assert b_low == 0.0
    assert_allclose(b_high, 3.668012, rtol=1e-6)


def test_exact_limits_match_chi_square_form_over_many_counts() -> None:
    o = np.arange(1, 500)
    for conf in (0.95, 0.998):
        a = 1 - conf
        low, high = r.exact_poisson_interval(o, conf)
        assert_allclose(low, stats.chi2.ppf(a / 2, 2 * o) / 2, rtol=1e-12)
        assert_allclose(high, stats.chi2.ppf(1 - a / 2, 2 * o + 2) / 2, rtol=1e-12)
        assert_allclose(stats.poisson.sf(o - 1, low), a / 2, rtol=1e-7)
        assert_allclose(stats.poisson.cdf(o, high), a / 2, rtol=1e-7)


def test_byar_is_within_two_tenths_of_a_percent_of_exact_from_ten_events() -> None:
    # PHE Technical Guide: Confidence intervals (2018), Appendix 1: "Byar's method is within
    # 0.2% of the exact value for numerators of 10 or more" (95% intervals).
    o = np.arange(10, 3000)
    b_low, b_high = r.byar_interval(o)
    e_low, e_high = r.exact_poisson_interval(o)
    assert np.max(np.abs(b_low / e_low - 1)) < 0.002
    assert np.max(np.abs(b_high / e_high - 1)) < 0.002


def test_phe_method_uses_exact_below_ten_and_byar_from_ten() -> None:
    low, high, used = r.count_interval([9, 10])
    assert used.tolist() == ["exact", "byar"]
    e_low, e_high = r.exact_poisson_interval(9)
    b_low, b_high = r.byar_interval(10)
    assert_allclose([low[0], high[0], low[1], high[1]], [e_low, e_high, b_low, b_high])
    assert r.count_interval([5], method="byar")[2].tolist() == ["byar"]
    assert r.count_interval([50], method="exact")[2].tolist() == ["exact"]
    with pytest.raises(ValueError, match="unknown method"):
        r.count_interval([5], method="wald")  # type: ignore[arg-type]


def test_counts_must_be_non_negative_and_present() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        r.byar_interval([3, -1])
    with pytest.raises(ValueError, match="non-negative"):
        r.exact_poisson_interval([np.nan])
    with pytest.raises(ValueError, match="confidence"):
        r.exact_poisson_interval(3, confidence=95)


@settings(max_examples=200, deadline=None)
@given(o=counts_st, conf=conf_st)
def test_count_intervals_contain_the_count_and_are_ordered(o: int, conf: float) -> None:
    for low, high in (r.exact_poisson_interval(o, conf), r.byar_interval(o, conf)):
        assert 0 <= low <= o <= high


@settings(max_examples=100, deadline=None)
@given(o=st.integers(0, 5000), conf=conf_st)
def test_exact_limits_increase_with_the_count(o: int, conf: float) -> None:
    low, high = r.exact_poisson_interval([o, o + 1], conf)
    assert low[0] < low[1] or (o == 0 and low[0] == 0)
    assert high[0] < high[1]


@settings(max_examples=100, deadline=None)
@given(o=st.integers(1, 5000))
def test_higher_confidence_gives_wider_intervals(o: int) -> None:
    low95, high95 = r.exact_poisson_interval(o, 0.95)
    low99, high99 = r.exact_poisson_interval(o, 0.998)
    assert low99 < low95 and high99 > high95


# --------------------------------------------------------------------------- rates


def test_rate_for_27_events_in_150000_people_hand_worked() -> None:
    # rate = 27 / 150,000 * 100,000 = 18.0 per 100,000
    # limits (Byar, 27 >= 10): 17.78896 / 1.5 = 11.85931 and 39.28510 / 1.5 = 26.19007
    est = r.rate_with_interval(27, 150_000)
    assert_allclose(est.rate, 18.0)
    assert_allclose([est.ci_low, est.ci_high], [11.85931, 26.19007], rtol=1e-6)
    assert est.method.tolist() == "byar"
    assert not est.unreliable
    assert est.reason.tolist() == ""


def test_rate_per_1000_and_per_100k() -> None:
    # 45 events among 9,000 people: 45/9000*1000 = 5 per 1,000 = 500 per 100,000
    assert_allclose(r.rate_per_1000(45, 9_000), 5.0)
    assert_allclose(r.rate_per_100k(45, 9_000), 500.0)


def test_small_counts_and_missing_population_are_flagged_with_reasons() -> None:
    est = r.rate_with_interval([9, 10, 0, 3], [10_000, 10_000, 10_000, 0])
    assert est.unreliable.tolist() == [True, False, True, True]
    assert est.reason[0] == r.REASON_SMALL_COUNT
    assert est.reason[1] == ""
    assert est.reason[3] == r.REASON_NO_POPULATION
    assert np.isnan([est.rate[3], est.ci_low[3], est.ci_high[3]]).all()
    # the reason is safe to publish beside a suppressed figure: it never states the count
    assert "9" not in est.reason[0] and "3" not in est.reason[3]
    # zero events still has an upper limit: 3.688879 / 10,000 * 100,000 = 36.88879
    assert est.rate[2] == 0 and est.ci_low[2] == 0
    assert_allclose(est.ci_high[2], 36.88879, rtol=1e-6)


@settings(max_examples=200, deadline=None)
@given(o=counts_st, n=pops_st, conf=conf_st)
def test_rate_interval_contains_the_rate(o: int, n: int, conf: float) -> None:
    est = r.rate_with_interval(o, n, confidence=conf)
    assert 0 <= est.ci_low <= est.rate <= est.ci_high
    assert est.unreliable == (o < 10)


@settings(max_examples=200, deadline=None)
@given(o=counts_st, n=pops_st, k=st.integers(2, 50))
def test_rates_scale_linearly_with_population_and_multiplier(o: int, n: int, k: int) -> None:
    base = r.rate_with_interval(o, n)
    bigger = r.rate_with_interval(o, n * k)
    assert_allclose(
        [bigger.rate, bigger.ci_low, bigger.ci_high],
        [base.rate / k, base.ci_low / k, base.ci_high / k],
        rtol=1e-9, atol=1e-300,
    )
    per_1000 = r.rate_with_interval(o, n, per=1_000)
    assert_allclose(per_1000.rate * 100, base.rate, rtol=1e-12)
    assert_allclose(r.rate(o, n) * n, o * 100_000, rtol=1e-12)


def test_rate_table_adds_columns_and_can_suppress() -> None:
    df = pd.DataFrame({"ward": ["A", "B", "C"], "n": [27, 4, 0], "pop": [150_000, 8_000, 0]})
    out = r.rate_table(df, "n", "pop")
    assert list(out.columns) == ["ward", "n", "pop", *r.RATE_COLUMNS]
    assert_allclose(out["rate"].iloc[0], 18.0)
    assert out["method"].tolist() == ["byar", "exact", "exact"]
    assert out["unreliable"].tolist() == [False, True, True]
    assert_allclose(out["rate"].iloc[1], 50.0)  # 4 / 8,000 * 100,000
    hidden = r.rate_table(df, "n", "pop", suppress_unreliable=True)
    assert hidden["rate"].isna().tolist() == [False, True, True]
    assert hidden["ci_high"].isna().tolist() == [False, True, True]
    assert list(df.columns) == ["ward", "n", "pop"]  # the input is untouched


def test_rate_table_refuses_bad_values_naming_the_rows() -> None:
    df = pd.DataFrame({"n": [3, -1, None], "pop": [100, 100, 100]}, index=[10, 11, 12])
    with pytest.raises(ValueError, match=r"'n'.*2 row\(s\).*\[11, 12\]"):
        r.rate_table(df, "n", "pop")
    with pytest.raises(KeyError, match="population"):
        r.rate_table(df.rename(columns={"pop": "x"}), "n", "population")
    with pytest.raises(ValueError, match="already has"):
        r.rate_table(df.assign(rate=1.0, n=1), "n", "pop")


def test_rate_table_attaches_provenance_with_its_method() -> None:
    meta = ResultMeta(
        measure="homicide", definition="Homicides counted per victim.", geography="borough",
        geography_vintage="2022", period_start=date(2023, 4, 1), period_end=date(2024, 3, 31),
        method=Method("placeholder", "none"), population=PopulationBase("ONS MYE", 2022),
    )
    out = r.rate_table(pd.DataFrame({"n": [27], "pop": [150_000]}), "n", "pop", meta=meta)
    assert provenance_of(out).method == r.PHE_RATE
    assert provenance_of(out).population == PopulationBase("ONS MYE", 2022)


# --------------------------------------------------------------------------- proportions


def test_wilson_interval_hand_worked_3_of_10() -> None:
    # r = 3, n = 10, z^2 = 3.841459:
    #   centre = 2*3 + 3.841459 = 9.841459
    #   half   = 1.959964 * sqrt(3.841459 + 4*3*(1 - 0.3)) = 1.959964 * 3.498780 = 6.857482
    #   denom  = 2 * (10 + 3.841459) = 27.682918
    #   limits = (9.841459 -/+ 6.857482) / 27.682918 = 0.107791, 0.603222
    low, high = r.wilson_interval(3, 10)
    assert_allclose([low, high], [0.107791, 0.603222], atol=1e-6)


def test_wilson_interval_matches_statsmodels() -> None:
    n = np.repeat(np.arange(1, 60), 60)
    k = np.tile(np.arange(60), 59)
    keep = k <= n
    n, k = n[keep], k[keep]
    for conf in (0.95, 0.998):
        low, high = r.wilson_interval(k, n, conf)
        ref_low, ref_high = proportion_confint(k, n, alpha=1 - conf, method="wilson")
        assert_allclose(low, ref_low, atol=1e-12)
        assert_allclose(high, ref_high, atol=1e-12)


def test_wilson_interval_edges() -> None:
    low, high = r.wilson_interval([0, 10, 0], [10, 10, 0])
    assert low[0] == 0.0 and high[1] == 1.0
    assert np.isnan(low[2]) and np.isnan(high[2])
    with pytest.raises(ValueError, match="exceed"):
        r.wilson_interval(11, 10)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), conf=conf_st)
def test_wilson_interval_contains_the_proportion(data: st.DataObject, conf: float) -> None:
    n = data.draw(st.integers(1, 100_000))
    k = data.draw(st.integers(0, n))
    low, high = r.wilson_interval(k, n, conf)
    assert 0 <= low <= k / n <= high <= 1


# --------------------------------------------------------------------------- standardisation


def test_european_standard_population_2013() -> None:
    esp = r.EUROPEAN_STANDARD_POPULATION_2013
    assert len(esp.bands) == 19 and esp.bands[0] == "0-4" and esp.bands[-1] == "90+"
    assert sum(esp.weights) == 100_000
    assert "Eurostat" in esp.source and "978-92-79-31094-2" in esp.source
    youth = esp.restrict(["10-14", "15-19", "20-24"])
    assert youth.weights == (5500, 5500, 6000)
    with pytest.raises(KeyError, match="25-30"):
        esp.restrict(["25-30"])


def test_dsr_two_bands_hand_worked() -> None:
    # Standard weights 60,000 and 40,000. Band 1: 20 events in 10,000; band 2: 30 in 5,000.
    #   DSR = 100,000 * (60,000 * 20/10,000 + 40,000 * 30/5,000) / 100,000
    #       = 120 + 240 = 360 per 100,000
    #   var = 100,000^2 * (60,000^2 * 20/10,000^2 + 40,000^2 * 30/5,000^2) / 100,000^2
    #       = 3.6e9 * 2e-7 + 1.6e9 * 1.2e-6 = 720 + 1920 = 2640
    #   O = 50; Byar limits for 50: 37.10810 and 65.92016
    #   lower = 360 + sqrt(2640/50) * (37.10810 - 50) = 360 - 7.266361 * 12.89190 = 266.3228
    #   upper = 360 + 7.266361 * (65.92016 - 50) = 360 + 115.6816 = 475.6816
    res = r.directly_standardised_rate([20, 30], [10_000, 5_000], [60_000, 40_000])
    assert_allclose(res.rate, 360.0)
    assert_allclose(res.variance, 2640.0)
    assert_allclose([res.ci_low, res.ci_high], [266.3228, 475.6816], rtol=1e-6)
    assert res.count == 50 and res.population == 15_000
    assert res.method == "dobson (byar)" and not res.unreliable


def test_dsr_of_a_single_band_is_the_crude_rate_with_its_interval() -> None:
    # One band: DSR = per O/n, var = per^2 O/n^2, sqrt(var/O) = per/n, so
    # lower = per O/n + per/n (O_L - O) = per O_L / n: exactly the crude rate's limit.
    res = r.directly_standardised_rate([27], [150_000], [1.0])
    crude = r.rate_with_interval(27, 150_000)
    assert_allclose([res.rate, res.ci_low, res.ci_high], [crude.rate, crude.ci_low, crude.ci_high])


@settings(max_examples=150, deadline=None)
@given(
    bands=st.lists(st.tuples(st.integers(0, 2000), st.integers(1, 200_000)), min_size=1,
                   max_size=19),
    k=st.floats(0.01, 100),
)
def test_dsr_with_weights_proportional_to_the_population_is_the_crude_rate(
    bands: list[tuple[int, int]], k: float
) -> None:
    # w_i = k n_i: DSR = per sum(k n_i O_i/n_i) / (k N) = per O/N and var = per^2 O/N^2, so
    # the Dobson interval is the crude interval.
    o = np.array([b[0] for b in bands], dtype=float)
    n = np.array([b[1] for b in bands], dtype=float)
    res = r.directly_standardised_rate(o, n, k * n)
    crude = r.rate_with_interval(o.sum(), n.sum())
    assert_allclose(res.rate, crude.rate, rtol=1e-9)
    if o.sum() > 0:
        assert_allclose([res.ci_low, res.ci_high], [crude.ci_low, crude.ci_high], rtol=1e-8)
        assert 0 <= res.ci_low <= res.rate <= res.ci_high


def test_dsr_small_and_zero_totals() -> None:
    small = r.directly_standardised_rate([3, 4], [1000, 1000], [1, 1])
    assert small.unreliable and small.reason == r.REASON_SMALL_COUNT
    assert small.method == "dobson (exact)"
    zero = r.directly_standardised_rate([0, 0], [1000, 1000], [1, 1])
    assert zero.rate == 0 and np.isnan(zero.ci_low) and zero.unreliable
    # a band with no people and no events adds nothing; with events it is an error
    empty_band = r.directly_standardised_rate([20, 0], [1000, 0], [1, 1])
    assert_allclose(empty_band.rate, 20 / 1000 * 100_000 / 2)
    with pytest.raises(ValueError, match="events but no population"):
        r.directly_standardised_rate([20, 1], [1000, 0], [1, 1])


def test_dsr_table_per_borough_against_the_direct_formula() -> None:
    esp = r.EUROPEAN_STANDARD_POPULATION_2013
    rng = np.random.default_rng(7)
    rows = []
    for borough in ["Brent", "Camden"]:
        for band in esp.bands:
            rows.append({"borough": borough, "age": band, "n": int(rng.integers(0, 40)),
                         "pop": int(rng.integers(2_000, 20_000))})
    df = pd.DataFrame(rows).sample(frac=1, random_state=1)  # band order must not matter
    out = r.dsr_table(df, ["borough"], "age", "n", "pop")
    assert list(out.columns) == ["borough", *r.DSR_COLUMNS]
    assert out["borough"].tolist() == ["Brent", "Camden"]
    for _, row in out.iterrows():
        part = df[df["borough"] == row["borough"]].set_index("age").loc[list(esp.bands)]
        w = np.array(esp.weights, dtype=float)
        expected = 100_000 * np.sum(w * part["n"] / part["pop"]) / w.sum()
        assert_allclose(row["rate"], expected)
        assert row["count"] == part["n"].sum()


def test_dsr_table_refuses_unknown_missing_or_repeated_bands() -> None:
    std = r.StandardPopulation("two bands", ("young", "old"), (1.0, 1.0), "test")
    good = pd.DataFrame({"g": ["x", "x"], "band": ["young", "old"], "n": [5, 6], "pop": [9, 9]})
    assert len(r.dsr_table(good, ["g"], "band", "n", "pop", standard=std)) == 1
    with pytest.raises(ValueError, match="bands not in two bands: middle"):
        r.dsr_table(good.assign(band=["young", "middle"]), ["g"], "band", "n", "pop",
                    standard=std)
    with pytest.raises(ValueError, match="g='x'.*bands missing: old"):
        r.dsr_table(good.iloc[:1], ["g"], "band", "n", "pop", standard=std)
    with pytest.raises(ValueError, match="repeated: young"):
        r.dsr_table(good.assign(band=["young", "young"]), ["g"], "band", "n", "pop",
                    standard=std)
