"""Change between two periods: exact conditional test, rate ratio, multiple-testing control."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import test_poisson_2indep as sm_test_poisson_2indep

from vru.domain.statistics import change as ch
from vru.domain.statistics.provenance import Method, ResultMeta, provenance_of

RTOL = 1e-9


def test_fifteen_against_five_hand_worked() -> None:
    # c1 = 15 this year, c2 = 5 last year, same population: n = 20, p0 = 1/2.
    # P(X >= 15) = sum_{k=15}^{20} C(20, k) / 2^20
    #            = (15504 + 4845 + 1140 + 190 + 20 + 1) / 1,048,576 = 21,700 / 1,048,576
    #            = 0.0206947; the binomial is symmetric so two-sided p = 2 * 0.0206947 = 0.0413895
    # rate ratio = 15 / 5 = 3; change = +10; per cent change = 100 * 10 / 5 = +200%.
    # Clopper-Pearson for 15/20: (0.508954, 0.913429), so
    # RR limits = 0.508954/0.491046 = 1.036470 and 0.913429/0.086571 = 10.55115.
    upper_tail = sum(math.comb(20, k) for k in range(15, 21)) / 2**20
    assert upper_tail == 21_700 / 1_048_576
    rr, low, high, p = ch.exact_rate_ratio(15, 5)
    assert rr == 3.0
    assert_allclose(p, 2 * upper_tail, rtol=RTOL)
    assert_allclose([low, high], [1.036470, 10.55115], rtol=1e-6)
    row = ch.compare_periods([15], [5]).iloc[0]
    assert row["change"] == 10 and row["pct_change"] == 200.0


def test_exact_test_matches_scipy_binomtest_and_statsmodels() -> None:
    rng = np.random.default_rng(3)
    c1 = rng.integers(0, 200, 60)
    c2 = rng.integers(0, 200, 60)
    t1 = rng.uniform(0.5, 2.0, 60)
    t2 = rng.uniform(0.5, 2.0, 60)
    res = ch.compare_periods(c1, c2, t1, t2)
    for i in range(60):
        n = int(c1[i] + c2[i])
        if n == 0:
            continue
        ref = stats.binomtest(int(c1[i]), n, t1[i] / (t1[i] + t2[i]))
        assert_allclose(res["p_value"].iloc[i], ref.pvalue, rtol=RTOL)
        if c2[i] > 0:  # statsmodels divides by the second rate
            sm = sm_test_poisson_2indep(
                int(c1[i]), t1[i], int(c2[i]), t2[i], method="exact-cond"
            )
            assert_allclose(res["p_value"].iloc[i], sm.pvalue, rtol=1e-7)
        # exact RR limits: Clopper-Pearson limits (statsmodels 'beta') turned into odds
        lo, hi = proportion_confint(int(c1[i]), n, alpha=0.05, method="beta")
        scale = t2[i] / t1[i]
        assert_allclose(res["rr_low"].iloc[i], lo / (1 - lo) * scale, rtol=1e-7)
        if c2[i] > 0:
            assert_allclose(res["rr_high"].iloc[i], hi / (1 - hi) * scale, rtol=1e-7)
            assert_allclose(res["rate_ratio"].iloc[i], (c1[i] / t1[i]) / (c2[i] / t2[i]))


def test_zero_counts_are_answered_explicitly() -> None:
    res = ch.compare_periods([0, 7, 0], [0, 0, 4])
    # nothing in either period: no evidence of change
    assert res["p_value"].iloc[0] == 1.0 and np.isnan(res["rate_ratio"].iloc[0])
    # a rise from nothing: infinite ratio, no percentage; p = 2 * 0.5^7 = 0.015625
    assert np.isinf(res["rate_ratio"].iloc[1]) and np.isinf(res["rr_high"].iloc[1])
    assert np.isnan(res["pct_change"].iloc[1])
    assert_allclose(res["p_value"].iloc[1], 2 * 0.5**7)
    # a fall to nothing: ratio 0, lower limit 0, -100%
    assert res["rate_ratio"].iloc[2] == 0 and res["rr_low"].iloc[2] == 0
    assert res["pct_change"].iloc[2] == -100.0


def test_bad_counts_and_exposures_are_refused() -> None:
    with pytest.raises(ValueError, match="whole numbers"):
        ch.compare_periods([1.5], [2])
    with pytest.raises(ValueError, match="non-negative"):
        ch.compare_periods([-1], [2])
    with pytest.raises(ValueError, match="exposures"):
        ch.exact_rate_ratio(3, 4, 0.0, 1.0)


@settings(max_examples=150, deadline=None)
@given(c1=st.integers(0, 3000), c2=st.integers(0, 3000),
       conf=st.sampled_from([0.9, 0.95, 0.99]))
def test_rate_ratio_interval_contains_the_ratio(c1: int, c2: int, conf: float) -> None:
    rr, low, high, p = ch.exact_rate_ratio(c1, c2, confidence=conf)
    assert 0 <= p <= 1
    if c1 + c2 > 0:
        assert 0 <= low <= rr <= high
        # the interval excludes 1 exactly when the test rejects at 1 - conf (both come from
        # the same binomial, though the two-sided p and the equal-tailed interval can differ
        # at the margin, so only the clear cases are pinned)
        if p < (1 - conf) / 4:
            assert not (low <= 1 <= high)
        if p > 2 * (1 - conf):
            assert low <= 1 <= high


# --------------------------------------------------------------------------- multiple testing


def test_benjamini_hochberg_and_bonferroni_hand_worked() -> None:
    # p = (0.01, 0.04, 0.03, 0.20), m = 4. Sorted: 0.01, 0.03, 0.04, 0.20.
    # m p_(i) / i: 0.04, 0.06, 0.0533, 0.20; running minimum from the largest down:
    # 0.20, 0.0533, 0.0533, 0.04 -> back in input order: 0.04, 0.0533, 0.0533, 0.20.
    # Bonferroni: 4 p = 0.04, 0.16, 0.12, 0.80.
    p = np.array([0.01, 0.04, 0.03, 0.20])
    assert_allclose(ch.adjust_p_values(p, "fdr_bh"), [0.04, 0.16 / 3, 0.16 / 3, 0.20])
    assert_allclose(ch.adjust_p_values(p, "bonferroni"), [0.04, 0.16, 0.12, 0.80])
    assert_allclose(ch.adjust_p_values(p, "none"), p)


def test_adjustments_match_statsmodels_multipletests() -> None:
    rng = np.random.default_rng(11)
    for size in (1, 2, 5, 33, 630):
        p = rng.beta(0.4, 1.0, size)
        p[rng.random(size) < 0.1] = p[0]  # some ties
        for method in ("fdr_bh", "bonferroni"):
            ours = ch.adjust_p_values(p, method)  # type: ignore[arg-type]
            ref = multipletests(p, alpha=0.05, method=method)[1]
            assert_allclose(ours, ref, rtol=1e-12)


def test_missing_p_values_stay_missing_and_do_not_count() -> None:
    q = ch.adjust_p_values([0.01, np.nan, 0.04])
    ref = multipletests([0.01, 0.04], method="fdr_bh")[1]
    assert np.isnan(q[1])
    assert_allclose(q[[0, 2]], ref)
    with pytest.raises(ValueError, match="between 0 and 1"):
        ch.adjust_p_values([1.2])


@settings(max_examples=200, deadline=None)
@given(p=st.lists(st.floats(0, 1), min_size=1, max_size=200))
def test_bh_adjusted_p_values_are_monotone_and_not_below_raw(p: list[float]) -> None:
    raw = np.array(p)
    q = ch.adjust_p_values(raw, "fdr_bh")
    assert np.all(q >= raw - 1e-15) and np.all(q <= 1)
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(q[order]) >= -1e-15)
    b = ch.adjust_p_values(raw, "bonferroni")
    assert np.all(b >= q - 1e-15)  # Bonferroni is never less strict than BH


# --------------------------------------------------------------------------- tables


def _meta() -> ResultMeta:
    return ResultMeta(
        measure="violence_with_injury", definition="Assaults with injury.", geography="ward",
        geography_vintage="2022", period_start=date(2023, 1, 1), period_end=date(2024, 12, 31),
        method=Method("placeholder", "none"),
    )


def test_change_table_flags_rising_and_falling_places() -> None:
    df = pd.DataFrame({
        "ward": ["Up", "Down", "Flat", "Small"],
        "now": [300, 100, 200, 6],
        "before": [200, 160, 205, 2],
    })
    out = ch.change_table(df, "now", "before", meta=_meta())
    assert list(out.columns) == ["ward", "now", "before", *ch.TABLE_COLUMNS]
    assert out["direction"].tolist() == ["rising", "falling", "no significant change",
                                         "no significant change"]
    assert_allclose(out["p_adjusted"], ch.adjust_p_values(out["p_value"]))
    assert provenance_of(out).method.name.startswith(ch.EXACT_CONDITIONAL.name)
    assert "Benjamini" in provenance_of(out).method.citation
    bonf = ch.change_table(df, "now", "before", adjust="bonferroni")
    assert_allclose(bonf["p_adjusted"], np.minimum(1, 4 * out["p_value"]))


def test_change_table_with_exposures() -> None:
    # the same count over twice the population is half the rate: 100/2 vs 100/1
    df = pd.DataFrame({"c1": [100], "c2": [100], "pop1": [2.0], "pop2": [1.0]})
    out = ch.change_table(df, "c1", "c2", "pop1", "pop2")
    assert_allclose(out["rate_ratio"].iloc[0], 0.5)
    assert out["direction"].iloc[0] == "falling"


def test_change_table_refuses_missing_values_and_clashes() -> None:
    df = pd.DataFrame({"c1": [1, None], "c2": [1, 2]})
    with pytest.raises(ValueError, match="'c1'.*index \\[1\\]"):
        ch.change_table(df, "c1", "c2")
    with pytest.raises(ValueError, match="already has"):
        ch.change_table(df.fillna(0).assign(p_value=0.5), "c1", "c2")


def test_twelve_month_totals_from_monthly_counts() -> None:
    # end month 2024-03: current = 2023-04 .. 2024-03, previous = 2022-04 .. 2023-03
    bounds = ch.period_bounds("2024-03")
    assert [str(b) for b in bounds] == ["2022-04", "2023-03", "2023-04", "2024-03"]
    months = pd.period_range("2022-01", "2024-06", freq="M")
    rows = [{"ward": "A", "month": str(m), "n": 1} for m in months]
    rows += [{"ward": "B", "month": "2023-06", "n": 5}, {"ward": "B", "month": "2022-12", "n": 2}]
    out = ch.period_totals(pd.DataFrame(rows), ["ward"], "month", "n", "2024-03")
    assert out.to_dict("records") == [
        {"ward": "A", "current": 12.0, "previous": 12.0},
        {"ward": "B", "current": 5.0, "previous": 2.0},  # months with no row count zero
    ]


def test_twelve_month_totals_refuse_a_window_the_data_does_not_reach() -> None:
    months = pd.period_range("2023-01", "2024-03", freq="M")
    df = pd.DataFrame({"ward": "A", "month": [str(m) for m in months], "n": 1})
    with pytest.raises(ValueError, match="no rows for 9 month"):
        ch.period_totals(df, ["ward"], "month", "n", "2024-03")
