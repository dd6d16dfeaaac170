"""Timing: seasonality, school holidays against term time, weekday, the after-school window.

Reference implementations: ``statsmodels.stats.rates.test_poisson_2indep`` (exact-cond) for
the rate-ratio test, ``scipy.stats.chisquare`` for the profile tests.
"""

from __future__ import annotations

from datetime import date, datetime, time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats
from statsmodels.stats.rates import test_poisson_2indep as poisson_2indep_reference

from vru.domain.statistics.timing import (
    after_school_comparison,
    classify_school_days,
    month_of_year_seasonality,
    monthly_counts,
    poisson_rate_ratio,
    school_holiday_comparison,
    validate_school_terms,
    weekday_profile,
)

RTOL = 1e-9

# A small terms table, Monday 4 Jan 2021 to Friday 22 Jan 2021:
#   term    Mon 4 - Fri 8 Jan     (5 days)
#   holiday Sat 9 - Sun 17 Jan    (9 days: 5 weekdays + 2 weekends)
#   term    Mon 18 - Fri 22 Jan   (5 days)
TERMS = pd.DataFrame(
    {
        "academic_year": ["2020/21"] * 3,
        "period": ["Spring 1a", "Test half term", "Spring 1b"],
        "kind": ["term", "half_term", "term"],
        "start": ["2021-01-04", "2021-01-09", "2021-01-18"],
        "end": ["2021-01-08", "2021-01-17", "2021-01-22"],
        "source": ["test"] * 3,
    }
)


def _dates(*pairs: tuple[str, int]) -> pd.Series:
    """``(day, n)`` pairs -> a series with ``n`` events on each day, at noon."""
    out: list[pd.Timestamp] = []
    for day, n in pairs:
        out += [pd.Timestamp(day) + pd.Timedelta(hours=12)] * n
    return pd.Series(out)


# --- the exact rate-ratio test ------------------------------------------------------------


def test_poisson_rate_ratio_hand_worked() -> None:
    # 3 events against 0 in equal exposure. Under equal rates a ~ Bin(3, 1/2):
    # P(a=3) = P(a=0) = 1/8, so the two-sided p = 1/4. Clopper-Pearson for pi with 3/3:
    # lower = 0.025^(1/3) = 0.29240, upper = 1, so RR lower = 0.29240 / 0.70760 = 0.41323
    # and the upper limit is infinite.
    result = poisson_rate_ratio(3, 10, 0, 10)
    assert_allclose(result.p_value, 0.25, rtol=RTOL)
    lower_pi = 0.025 ** (1 / 3)
    assert_allclose(result.ci_lower, lower_pi / (1 - lower_pi), rtol=1e-9)
    assert result.ci_upper == float("inf")
    assert result.rate_ratio == float("inf")


def test_poisson_rate_ratio_rates_per_exposure() -> None:
    # 30 events in 10 days (3/day) against 40 in 20 days (2/day): RR = 1.5
    result = poisson_rate_ratio(30, 10, 40, 20, labels=("holidays", "term"))
    assert_allclose([result.rate_a, result.rate_b, result.rate_ratio], [3.0, 2.0, 1.5])
    assert result.ci_lower < 1.5 < result.ci_upper


@pytest.mark.parametrize(
    ("a", "ea", "b", "eb"),
    [(30, 10, 40, 20), (5, 128, 20, 394), (100, 3.0, 600, 21.0), (0, 5, 7, 9), (12, 1, 12, 1)],
)
def test_poisson_rate_ratio_p_value_matches_statsmodels(a: int, ea: float, b: int,
                                                        eb: float) -> None:
    ours = poisson_rate_ratio(a, ea, b, eb)
    reference = poisson_2indep_reference(a, ea, b, eb, method="exact-cond")
    assert_allclose(ours.p_value, reference.pvalue, rtol=1e-7)


def test_poisson_rate_ratio_without_events() -> None:
    result = poisson_rate_ratio(0, 1, 0, 1)
    assert np.isnan(result.rate_ratio) and result.p_value == 1.0


def test_poisson_rate_ratio_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="whole number"):
        poisson_rate_ratio(1.5, 1, 2, 1)
    with pytest.raises(ValueError, match="above zero"):
        poisson_rate_ratio(1, 0, 2, 1)


# --- month of year ------------------------------------------------------------------------


def test_month_of_year_hand_worked_corrects_for_month_length() -> None:
    # 30 events in every month of 2019 (not a leap year): 360 events in 365 days, so the
    # overall rate is 360/365 = 0.986301 a day. February: 30/28 = 1.071429 a day, index
    # 1.071429 / 0.986301 = 1.086310; January: 30/31 = 0.967742, index 0.981183.
    # Equal monthly counts are NOT flat once month length is allowed for.
    counts = pd.Series(30, index=pd.period_range("2019-01", "2019-12", freq="M"))
    profile = month_of_year_seasonality(counts)
    table = profile.table.set_index("month")
    assert_allclose(profile.overall_rate_per_day, 360 / 365, rtol=RTOL)
    assert_allclose(table["rate_per_day"].loc[2], 30 / 28, rtol=RTOL)
    assert_allclose(table["index"].loc[2], (30 / 28) / (360 / 365), rtol=RTOL)
    assert_allclose(table["index"].loc[1], (30 / 31) / (360 / 365), rtol=RTOL)
    assert table["name"].loc[2] == "February"


def test_month_of_year_pools_years_and_counts_leap_days() -> None:
    # 2019-2020: February has 28 + 29 = 57 days; one event a day -> every rate is 1
    days = pd.period_range("2019-01", "2020-12", freq="M")
    counts = pd.Series(days.days_in_month, index=days)
    profile = month_of_year_seasonality(counts)
    table = profile.table.set_index("month")
    assert table["days"].loc[2] == 57
    assert_allclose(table["rate_per_day"], 1.0, rtol=RTOL)
    assert_allclose(table["index"], 1.0, rtol=RTOL)
    assert profile.chi2 == pytest.approx(0.0, abs=1e-12)


def test_month_of_year_chi_square_matches_scipy() -> None:
    months = pd.period_range("2018-01", "2019-12", freq="M")
    rng = np.random.default_rng(3)
    counts = pd.Series(rng.poisson(300, size=len(months)), index=months)
    profile = month_of_year_seasonality(counts)
    table = profile.table
    expected = table["events"].sum() * table["days"] / table["days"].sum()
    reference = stats.chisquare(table["events"], f_exp=expected)
    assert_allclose(profile.chi2, reference.statistic, rtol=1e-9)
    assert_allclose(profile.p_value, reference.pvalue, rtol=1e-9)
    assert profile.df == 11


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=500), min_size=12, max_size=36),
       st.integers(min_value=2, max_value=9))
def test_rates_per_day_scale_with_counts(values: list[int], k: int) -> None:
    months = pd.period_range("2017-01", periods=len(values), freq="M")
    base = month_of_year_seasonality(pd.Series(values, index=months))
    scaled = month_of_year_seasonality(pd.Series([k * v for v in values], index=months))
    assert_allclose(scaled.table["rate_per_day"], k * base.table["rate_per_day"], rtol=1e-12)
    assert_allclose(scaled.table["index"], base.table["index"], rtol=1e-9, equal_nan=True)


def test_monthly_counts_fills_empty_months_and_refuses_partial_months() -> None:
    counts = monthly_counts(_dates(("2021-01-05", 2), ("2021-03-31", 1)), date(2021, 1, 1),
                            date(2021, 3, 31))
    assert counts.tolist() == [2, 0, 1]
    with pytest.raises(ValueError, match="1st of a month"):
        monthly_counts(_dates(("2021-01-05", 1)), date(2021, 1, 2), date(2021, 1, 31))
    with pytest.raises(ValueError, match="outside"):
        monthly_counts(_dates(("2021-04-01", 1)), date(2021, 1, 1), date(2021, 3, 31))


# --- weekday ------------------------------------------------------------------------------


def test_weekday_profile_hand_worked() -> None:
    # Mon 1 Jan 2024 to Wed 10 Jan 2024: Mondays, Tuesdays and Wednesdays twice, other days
    # once. 4 events on Monday 1st, 2 on Monday 8th, 3 on Sunday 7th:
    # Monday 6 events / 2 days = 3 a day; Sunday 3 / 1 = 3; overall 9 / 10 = 0.9 a day.
    profile = weekday_profile(_dates(("2024-01-01", 4), ("2024-01-08", 2), ("2024-01-07", 3)),
                              date(2024, 1, 1), date(2024, 1, 10))
    table = profile.table.set_index("name")
    assert table["days"].tolist() == [2, 2, 2, 1, 1, 1, 1]
    assert_allclose(table["rate_per_day"].loc["Monday"], 3.0, rtol=RTOL)
    assert_allclose(table["rate_per_day"].loc["Sunday"], 3.0, rtol=RTOL)
    assert_allclose(table["rate_per_day"].loc["Tuesday"], 0.0, atol=0)
    assert_allclose(profile.overall_rate_per_day, 0.9, rtol=RTOL)
    assert_allclose(table["index"].loc["Monday"], 3.0 / 0.9, rtol=RTOL)


# --- school holidays against term time -----------------------------------------------------


def test_holiday_comparison_hand_worked() -> None:
    # 10 events over the 10 term days (1 a day); 18 over the 9 holiday days (2 a day).
    events = _dates(("2021-01-05", 6), ("2021-01-19", 4), ("2021-01-10", 8), ("2021-01-13", 10))
    result = school_holiday_comparison(events, TERMS, date(2021, 1, 4), date(2021, 1, 22))
    c = result.comparison
    assert (c.events_a, c.exposure_a, c.events_b, c.exposure_b) == (18, 9, 10, 10)
    assert_allclose([c.rate_a, c.rate_b, c.rate_ratio], [2.0, 1.0, 2.0], rtol=RTOL)
    reference = poisson_2indep_reference(18, 9, 10, 10, method="exact-cond")
    assert_allclose(c.p_value, reference.pvalue, rtol=1e-7)
    assert result.uncovered_days == 0
    assert result.by_period["days"].tolist() == [5, 9, 5]
    assert result.by_period["events"].tolist() == [6, 18, 4]


def test_holiday_comparison_on_weekdays_only() -> None:
    # Weekdays only: holiday weekdays are Mon 11 - Fri 15 Jan (5 days); the 8 events on
    # Sunday 10th drop out, leaving 10 in 5 days (2 a day) against 10 in 10 (1 a day).
    events = _dates(("2021-01-05", 6), ("2021-01-19", 4), ("2021-01-10", 8), ("2021-01-13", 10))
    result = school_holiday_comparison(events, TERMS, date(2021, 1, 4), date(2021, 1, 22),
                                       weekdays_only=True)
    c = result.comparison
    assert (c.events_a, c.exposure_a, c.events_b, c.exposure_b) == (10, 5, 10, 10)


def test_holiday_comparison_reports_uncovered_and_excluded_days() -> None:
    # The study period runs two days past the table (Sat 23, Sun 24 Jan): not guessed
    events = _dates(("2021-01-05", 1), ("2021-01-12", 1), ("2021-01-24", 5))
    result = school_holiday_comparison(
        events, TERMS, date(2021, 1, 4), date(2021, 1, 24),
        exclude=[(date(2021, 1, 18), date(2021, 1, 22))],
    )
    assert result.uncovered_days == 2
    assert result.events_on_uncovered_days == 5
    assert result.excluded_days == 5
    assert result.comparison.exposure_b == 5  # only the first term week remains


def test_holiday_comparison_scales_with_counts() -> None:
    one = _dates(("2021-01-05", 3), ("2021-01-12", 2))
    three = _dates(("2021-01-05", 9), ("2021-01-12", 6))
    a = school_holiday_comparison(one, TERMS, date(2021, 1, 4), date(2021, 1, 22)).comparison
    b = school_holiday_comparison(three, TERMS, date(2021, 1, 4), date(2021, 1, 22)).comparison
    assert_allclose([b.rate_a, b.rate_b], [3 * a.rate_a, 3 * a.rate_b], rtol=RTOL)
    assert_allclose(b.rate_ratio, a.rate_ratio, rtol=RTOL)


def test_terms_table_is_validated() -> None:
    overlapping = TERMS.copy()
    overlapping.loc[1, "start"] = "2021-01-08"
    with pytest.raises(ValueError, match="overlap"):
        validate_school_terms(overlapping)
    wrong_kind = TERMS.copy()
    wrong_kind.loc[0, "kind"] = "inset"
    with pytest.raises(ValueError, match="kind"):
        validate_school_terms(wrong_kind)
    backwards = TERMS.copy()
    backwards.loc[0, "end"] = "2021-01-01"
    with pytest.raises(ValueError, match="ends before"):
        validate_school_terms(backwards)
    with pytest.raises(ValueError, match="source"):
        validate_school_terms(TERMS.drop(columns="source"))


def test_classify_school_days() -> None:
    days = classify_school_days(TERMS, date(2021, 1, 3), date(2021, 1, 9))
    assert days["school_time"].isna().tolist() == [True] + [False] * 6
    assert days["school_time"].iloc[1:].tolist() == ["term"] * 5 + ["holiday"]
    assert days["period"].iloc[-1] == "Test half term"


def test_events_outside_the_period_are_refused_not_dropped() -> None:
    with pytest.raises(ValueError, match="outside"):
        school_holiday_comparison(_dates(("2021-02-01", 1)), TERMS, date(2021, 1, 4),
                                  date(2021, 1, 22))


# --- the after-school window ---------------------------------------------------------------


def _at(day: str, hour: int, minute: int = 0, n: int = 1) -> list[pd.Timestamp]:
    return [pd.Timestamp(datetime.combine(date.fromisoformat(day), time(hour, minute)))] * n


def test_after_school_window_hand_worked() -> None:
    # School days (term weekdays): 10. Events on school days: 6 at 16:30, 1 at 18:59 (in the
    # 16:00-19:00 window: 7), 14 at other times (12:00, 19:00 is outside: [16:00, 19:00)).
    # Per day: 7/10 = 0.7 in the window, 14/10 = 1.4 outside.
    # Per hour: 7 / (10 * 3) = 0.2333 against 14 / (10 * 21) = 0.0667 -> RR 3.5.
    # Holiday weekdays (11-15 Jan): 2 events in the window -> 2/5 = 0.4 a day, so school
    # days / holiday weekdays = 0.7 / 0.4 = 1.75. Weekend events are ignored.
    times = (
        _at("2021-01-05", 16, 30, 6) + _at("2021-01-19", 18, 59) + _at("2021-01-06", 12, 0, 10)
        + _at("2021-01-20", 19, 0, 4) + _at("2021-01-12", 17, 0, 2) + _at("2021-01-09", 17, 0, 9)
    )
    result = after_school_comparison(pd.Series(times), date(2021, 1, 4), date(2021, 1, 22),
                                     terms=TERMS)
    assert result.days == 10
    assert (result.events_in_window, result.events_outside) == (7, 14)
    assert_allclose([result.rate_per_day_in_window, result.rate_per_day_outside], [0.7, 1.4])
    assert_allclose(result.window_vs_rest.rate_ratio, 3.5, rtol=RTOL)
    assert result.window_vs_rest.exposure_unit == "hour"
    reference = poisson_2indep_reference(7, 30, 14, 210, method="exact-cond")
    assert_allclose(result.window_vs_rest.p_value, reference.pvalue, rtol=1e-7)
    assert result.window_school_vs_holiday is not None
    assert_allclose(result.window_school_vs_holiday.rate_ratio, 1.75, rtol=RTOL)


def test_after_school_window_without_terms_uses_every_day() -> None:
    times = _at("2021-01-02", 16, 0, 3) + _at("2021-01-03", 9, 0, 3)
    result = after_school_comparison(pd.Series(times), date(2021, 1, 1), date(2021, 1, 3))
    assert result.days == 3
    assert_allclose(result.rate_per_day_in_window, 1.0)
    assert result.window_school_vs_holiday is None
    with pytest.raises(ValueError, match="window"):
        after_school_comparison(pd.Series(times), date(2021, 1, 1), date(2021, 1, 3),
                                window=(time(19), time(16)))


def test_timezone_aware_times_are_read_on_the_uk_clock() -> None:
    # 15:30 UTC on 1 July 2021 is 16:30 British Summer Time: inside the window.
    utc = pd.Series([pd.Timestamp("2021-07-01 15:30", tz="UTC")])
    result = after_school_comparison(utc, date(2021, 7, 1), date(2021, 7, 1))
    assert result.events_in_window == 1
