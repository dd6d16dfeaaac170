"""Rates by group and rate ratios against a reference group."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.rates import test_poisson_2indep as sm_test_poisson_2indep

from vru.domain.statistics import disproportionality as dp
from vru.domain.statistics import rates as r
from vru.domain.statistics.provenance import Method, ResultMeta, provenance_of


def test_katz_interval_hand_worked() -> None:
    # Group A: 30 victims among 100,000 people (30 per 100,000); reference B: 20 among
    # 400,000 (5 per 100,000). RR = 30/5 = 6.
    # SE(ln RR) = sqrt(1/30 - 1/100,000 + 1/20 - 1/400,000)
    #           = sqrt(0.0333333 - 0.0000100 + 0.0500000 - 0.0000025) = sqrt(0.0833208) = 0.288653
    # limits = 6 exp(-/+ 1.959964 * 0.288653) = 6 exp(-/+ 0.565750) = 3.407603, 10.564612
    rr, low, high = dp.katz_rate_ratio_interval(30, 100_000, 20, 400_000)
    assert_allclose(rr, 6.0)
    assert_allclose([low, high], [3.407603, 10.564612], rtol=1e-6)


def test_katz_interval_matches_statsmodels_risk_ratio() -> None:
    rng = np.random.default_rng(4)
    for _ in range(50):
        n_a, n_c = rng.integers(1_000, 500_000, 2)
        a, c = rng.integers(1, 300, 2)
        table = Table2x2(np.array([[a, n_a - a], [c, n_c - c]], dtype=float))
        rr, low, high = dp.katz_rate_ratio_interval(a, n_a, c, n_c)
        assert_allclose(rr, table.riskratio, rtol=1e-10)
        assert_allclose([low, high], table.riskratio_confint(alpha=0.05), rtol=1e-10)


def test_exact_ratio_for_the_same_groups_matches_binomtest_and_statsmodels() -> None:
    # Given 50 victims in the two groups together, under equal rates each is in A with
    # probability 100,000 / 500,000 = 0.2; 30 of 50 is far out in the tail.
    df = pd.DataFrame({"group": ["A", "B"], "n": [30, 20], "pop": [100_000, 400_000]})
    out = dp.group_rates(df, "group", "n", "pop", reference="B").set_index("group")
    ref = stats.binomtest(30, 50, 0.2)
    assert_allclose(out.loc["A", "p_value"], ref.pvalue, rtol=1e-10)
    sm = sm_test_poisson_2indep(30, 100_000, 20, 400_000, method="exact-cond")
    assert_allclose(out.loc["A", "p_value"], sm.pvalue, rtol=1e-7)
    ci = ref.proportion_ci(0.95, method="exact")
    scale = 400_000 / 100_000
    assert_allclose(
        [out.loc["A", "rr_exact_low"], out.loc["A", "rr_exact_high"]],
        [ci.low / (1 - ci.low) * scale, ci.high / (1 - ci.high) * scale],
    )
    assert out.loc["B", "rate_ratio"] == 1.0 and np.isnan(out.loc["B", "rr_low"])
    assert out.loc["B", "ratio_note"] == dp.REASON_REFERENCE
    assert_allclose(out["rate"], [30.0, 5.0])


def _homicide_by_ethnicity() -> pd.DataFrame:
    return pd.DataFrame({
        "ethnicity": ["White", "Black", "Asian", "Mixed", "Other", "Not stated"],
        "victims": [40, 45, 12, 4, 0, 3],
        "population": [3_700_000, 1_200_000, 1_800_000, 500_000, 300_000, 0],
    })


def test_group_rates_by_ethnicity_with_every_edge_case() -> None:
    out = dp.group_rates(_homicide_by_ethnicity(), "ethnicity", "victims", "population",
                         reference="White").set_index("ethnicity")
    assert list(out.columns) == [*dp.GROUP_COLUMNS]
    # Black: 45 / 1,200,000 * 100,000 = 3.75 per 100,000; White 40 / 3,700,000 = 1.081081
    # RR = 3.75 / 1.081081 = 3.46875
    assert_allclose(out.loc["Black", "rate"], 3.75)
    assert_allclose(out.loc["Black", "rate_ratio"], 3.46875)
    assert out.loc["Black", "rr_low"] > 1  # clearly disproportionate
    assert (out["reference_group"] == "White").all()
    # Mixed: 4 victims -> unreliable rate, still a ratio with both intervals
    assert out.loc["Mixed", "unreliable"] and out.loc["Mixed", "rate_method"] == "exact"
    assert out.loc["Mixed", "rate_reason"] == r.REASON_SMALL_COUNT
    # Other: no victims -> rate 0, ratio 0, no Katz interval, an exact upper limit
    assert out.loc["Other", "rate"] == 0 and out.loc["Other", "rate_ratio"] == 0
    assert np.isnan(out.loc["Other", "rr_low"]) and np.isnan(out.loc["Other", "rr_high"])
    assert out.loc["Other", "rr_exact_low"] == 0 and out.loc["Other", "rr_exact_high"] > 0
    assert out.loc["Other", "ratio_note"] == dp.REASON_NO_EVENTS
    # Not stated: no population -> no rate, no ratio, said in words
    assert np.isnan(out.loc["Not stated", "rate"])
    assert np.isnan(out.loc["Not stated", "rate_ratio"])
    assert out.loc["Not stated", "ratio_note"] == dp.REASON_NO_POPULATION
    assert out.loc["Not stated", "rate_reason"] == r.REASON_NO_POPULATION


def test_default_reference_is_the_largest_group() -> None:
    out = dp.group_rates(_homicide_by_ethnicity(), "ethnicity", "victims", "population")
    assert (out["reference_group"] == "White").all()


def test_reference_problems_are_explicit() -> None:
    df = _homicide_by_ethnicity()
    with pytest.raises(KeyError, match="'Martian'"):
        dp.group_rates(df, "ethnicity", "victims", "population", reference="Martian")
    with pytest.raises(ValueError, match="no population"):
        dp.group_rates(df, "ethnicity", "victims", "population", reference="Not stated")
    out = dp.group_rates(df, "ethnicity", "victims", "population", reference="Other")
    others = out[out["ethnicity"].isin(["White", "Black"])]
    assert others["rate_ratio"].isna().all()
    assert (others["ratio_note"] == dp.REASON_REFERENCE_NO_EVENTS).all()
    with pytest.raises(ValueError, match="once per stratum"):
        dp.group_rates(pd.concat([df, df]), "ethnicity", "victims", "population")


def test_group_rates_within_each_borough() -> None:
    df = pd.DataFrame({
        "borough": ["Brent"] * 2 + ["Camden"] * 2,
        "sex": ["Female", "Male"] * 2,
        "n": [10, 40, 5, 30],
        "pop": [170_000, 170_000, 105_000, 105_000],
    })
    out = dp.group_rates(df, "sex", "n", "pop", reference="Female", by=["borough"])
    assert out["borough"].tolist() == ["Brent", "Brent", "Camden", "Camden"]
    assert_allclose(out["rate_ratio"], [1.0, 4.0, 1.0, 6.0])


def test_more_events_than_people_leaves_only_the_exact_interval() -> None:
    df = pd.DataFrame({"g": ["a", "b"], "n": [50, 10], "pop": [20, 1000]})
    out = dp.group_rates(df, "g", "n", "pop", reference="b").set_index("g")
    assert np.isnan(out.loc["a", "rr_low"])
    assert out.loc["a", "ratio_note"] == dp.REASON_MORE_EVENTS_THAN_PEOPLE
    assert out.loc["a", "rr_exact_low"] > 1


def test_group_rates_carry_provenance() -> None:
    meta = ResultMeta(
        measure="homicide", definition="Homicide victims.", geography="region",
        geography_vintage="2023", period_start=date(2021, 4, 1), period_end=date(2024, 3, 31),
        method=Method("placeholder", "none"),
    )
    out = dp.group_rates(_homicide_by_ethnicity(), "ethnicity", "victims", "population",
                         meta=meta)
    assert provenance_of(out).method == dp.DISPROPORTIONALITY
    assert "Katz" in provenance_of(out).method.citation


@settings(max_examples=150, deadline=None)
@given(
    a=st.integers(1, 5000), c=st.integers(1, 5000),
    n_a=st.integers(5000, 10_000_000), n_c=st.integers(5000, 10_000_000),
)
def test_ratio_intervals_contain_the_ratio(a: int, c: int, n_a: int, n_c: int) -> None:
    df = pd.DataFrame({"g": ["x", "ref"], "n": [a, c], "pop": [n_a, n_c]})
    row = dp.group_rates(df, "g", "n", "pop", reference="ref").iloc[0]
    assert row["rr_low"] <= row["rate_ratio"] <= row["rr_high"]
    assert row["rr_exact_low"] <= row["rate_ratio"] <= row["rr_exact_high"]
    assert row["ci_low"] <= row["rate"] <= row["ci_high"]
    assert_allclose(row["rate_ratio"], (a / n_a) / (c / n_c), rtol=1e-12)


def test_a_stratum_with_a_missing_name_is_kept_not_dropped() -> None:
    df = pd.DataFrame({
        "borough": ["Brent", "Brent", None, None],
        "sex": ["Female", "Male"] * 2,
        "n": [10, 40, 5, 30],
        "pop": [170_000, 170_000, 105_000, 105_000],
    })
    out = dp.group_rates(df, "sex", "n", "pop", reference="Female", by=["borough"])
    assert len(out) == 4
    assert_allclose(sorted(out["rate_ratio"]), [1.0, 1.0, 4.0, 6.0])
