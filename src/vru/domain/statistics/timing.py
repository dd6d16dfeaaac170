"""When violence happens: season, school holidays against term time, weekday, after school.

Every comparison here is a *rate per day* (or per hour), never a raw count, because the
periods compared differ in length: there are more term days than holiday days, February is
shorter than March, a study period may hold five Mondays in a month and four Sundays.

Inputs
------
* Day-level analyses (holidays, weekday) need the date of each event; the after-school
  window needs its time of day. police.uk street-level data carry only the month, so with
  them only ``month_of_year_seasonality`` is possible; hospital (A&E) and force-level
  incident data usually carry dates and times.
* Dates and times of day are read on the UK clock: timezone-aware timestamps are converted
  to Europe/London first; naive timestamps are taken to be UK local time already.
* ``start`` and ``end`` give the observation period, both inclusive. Days with no events
  count as exposure, so the period must be given rather than inferred from the events.
* School terms come as a table (see ``validate_school_terms``), e.g. the packaged London
  table read by ``vru.adapters.reference_data.load_school_terms_london``. The domain never
  reads files.

Tests of difference
-------------------
Two rates are compared with the exact conditional test for the ratio of two Poisson rates
(``poisson_rate_ratio``): given ``n = a + b`` events, ``a`` is binomial with probability
``E_a / (E_a + E_b)`` under equal rates (Przyborowski J, Wilenski H (1940) Homogeneity of
results in testing samples from Poisson series. Biometrika 31:313-323; the ``exact-cond``
method of ``statsmodels.stats.rates.test_poisson_2indep``). A profile over many categories
(months, weekdays) is tested with Pearson's chi-square goodness-of-fit test against counts
proportional to the days in each category. Both assume events are independent; violence
clusters in time (several victims of one incident, a busy weekend night), so the p-values
are optimistic and the intervals too narrow: read them as the least uncertainty there is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, time
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from vru.domain.statistics.change import exact_rate_ratio
from vru.domain.statistics.rates import check_confidence, exact_poisson_interval

__all__ = [
    "AfterSchoolComparison",
    "HolidayComparison",
    "Profile",
    "RateComparison",
    "TERM_KINDS",
    "after_school_comparison",
    "classify_school_days",
    "monthly_counts",
    "month_of_year_seasonality",
    "poisson_rate_ratio",
    "school_holiday_comparison",
    "validate_school_terms",
    "weekday_profile",
]

TERM_KINDS = ("term", "half_term", "holiday")
"""``kind`` values in a school terms table: a term (school open, including the weekends
inside it), a half-term break, or a holiday between terms (Christmas, Easter, summer)."""

TERM_COLUMNS = ("academic_year", "period", "kind", "start", "end", "source")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


@dataclass(frozen=True)
class RateComparison:
    """Rate ``a`` against rate ``b``: ``rate_ratio = (events_a / exposure_a) /
    (events_b / exposure_b)`` with an exact confidence interval and two-sided p-value
    (see ``poisson_rate_ratio``). Exposure is in ``exposure_unit`` (days, hours, km^2)."""

    label_a: str
    label_b: str
    events_a: float
    exposure_a: float
    rate_a: float
    events_b: float
    exposure_b: float
    rate_b: float
    exposure_unit: str
    rate_ratio: float
    ci_lower: float
    ci_upper: float
    p_value: float
    confidence: float
    method: str = "exact conditional binomial test of two Poisson rates"


def poisson_rate_ratio(
    events_a: float,
    exposure_a: float,
    events_b: float,
    exposure_b: float,
    *,
    labels: tuple[str, str] = ("a", "b"),
    exposure_unit: str = "day",
    confidence: float = 0.95,
) -> RateComparison:
    """Compare two Poisson rates with the exact conditional (binomial) method.

    With ``a`` events in exposure ``E_a`` and ``b`` in ``E_b``, conditional on ``n = a + b``,
    ``a ~ Binomial(n, pi)`` with ``pi = RR E_a / (RR E_a + E_b)``. Under equal rates
    (``RR = 1``) ``pi0 = E_a / (E_a + E_b)``, so:

    * p-value: the two-sided exact binomial test of ``a`` out of ``n`` against ``pi0``
      (``scipy.stats.binomtest``: the probabilities of all outcomes no more likely than the
      one observed);
    * interval: the Clopper-Pearson interval ``(pi_L, pi_U)`` for ``pi``, transformed by
      ``RR = pi / (1 - pi) * E_b / E_a``.

    Przyborowski & Wilenski (1940); the ``exact-cond`` method of ``statsmodels``'
    ``test_poisson_2indep``. When ``n = 0`` the ratio is undefined (NaN) and ``p = 1``.
    """
    for name, value in (("events_a", events_a), ("events_b", events_b)):
        if value < 0 or value != math.floor(value):
            raise ValueError(f"{name} must be a whole number of events, not {value!r}")
    for name, value in (("exposure_a", exposure_a), ("exposure_b", exposure_b)):
        if not value > 0:
            raise ValueError(f"{name} must be above zero, not {value!r}")
    check_confidence(confidence)
    a, b = int(events_a), int(events_b)
    rate_a, rate_b = a / exposure_a, b / exposure_b
    # The test and interval are change.exact_rate_ratio's (one implementation of the
    # exact conditional method in the package).
    rr, lower, upper, p_value = exact_rate_ratio(
        a, b, float(exposure_a), float(exposure_b), confidence
    )
    return RateComparison(
        label_a=labels[0],
        label_b=labels[1],
        events_a=float(a),
        exposure_a=float(exposure_a),
        rate_a=rate_a,
        events_b=float(b),
        exposure_b=float(exposure_b),
        rate_b=rate_b,
        exposure_unit=exposure_unit,
        rate_ratio=float(rr),
        ci_lower=float(lower),
        ci_upper=float(upper),
        p_value=min(1.0, p_value),
        confidence=confidence,
    )


@dataclass(frozen=True)
class Profile:
    """Rates per day across the categories of a cycle (months of the year, weekdays).

    ``table`` has one row per category: ``events``, ``days`` (days of exposure in that
    category), ``rate_per_day = events / days`` with exact Poisson limits
    (``rate_per_day_lower``, ``rate_per_day_upper``) and ``index = rate_per_day /
    overall_rate_per_day`` (1.0 = an average day; 1.2 = 20% above). ``chi2``, ``df`` and
    ``p_value`` test whether events are spread in proportion to days (Pearson's chi-square
    goodness of fit, expected ``E_c = n * days_c / total days``, ``df = categories - 1``).
    """

    table: pd.DataFrame
    overall_rate_per_day: float
    events: float
    days: float
    chi2: float
    df: int
    p_value: float


def _profile(
    names: list[str], events: np.ndarray[Any, Any], days: np.ndarray[Any, Any], key: str,
    numbers: list[int], confidence: float,
) -> Profile:
    events = events.astype(np.float64)
    days = days.astype(np.float64)
    total_events = float(events.sum())
    total_days = float(days.sum())
    overall = total_events / total_days
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(days > 0, events / days, np.nan)
    count_lower, count_upper = exact_poisson_interval(events, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower, upper = count_lower / days, count_upper / days
    table = pd.DataFrame(
        {
            key: numbers,
            "name": names,
            "events": events,
            "days": days,
            "rate_per_day": rate,
            "rate_per_day_lower": np.where(days > 0, lower, np.nan),
            "rate_per_day_upper": np.where(days > 0, upper, np.nan),
            "index": rate / overall if overall > 0 else np.nan,
        }
    )
    present = days > 0
    if total_events > 0 and present.sum() >= 2:
        expected = total_events * days[present] / total_days
        chi2 = float(np.sum((events[present] - expected) ** 2 / expected))
        df = int(present.sum() - 1)
        p_value = float(stats.chi2.sf(chi2, df))
    else:
        chi2, df, p_value = float("nan"), 0, float("nan")
    return Profile(table, overall, total_events, total_days, chi2, df, p_value)


def monthly_counts(event_dates: pd.Series[Any], start: date, end: date) -> pd.Series[Any]:
    """Events per calendar month from event dates, with zeros for months without events.

    ``start`` must be the first day of a month and ``end`` the last day of a month, so every
    month is whole. Returns a series indexed by ``pandas.Period`` (monthly).
    """
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    if start_ts.day != 1 or end_ts != end_ts + pd.offsets.MonthEnd(0):
        raise ValueError("start must be the 1st of a month and end the last day of a month")
    dates = _event_days(event_dates, start, end)
    months = pd.period_range(start_ts, end_ts, freq="M")
    counts = dates.dt.to_period("M").value_counts()
    result: pd.Series[Any] = counts.reindex(months, fill_value=0).rename("events")
    return result


def month_of_year_seasonality(
    counts_by_month: pd.Series[Any], *, confidence: float = 0.95
) -> Profile:
    """Month-of-year seasonality as events per day in each calendar month.

    ``counts_by_month`` holds one count per month of the study period, indexed by monthly
    ``pandas.Period`` (or timestamps within the month), zeros included (see
    ``monthly_counts``). Monthly counts such as police.uk's are enough. For calendar month
    ``m`` (January = 1):

    * ``events_m`` = sum of the counts of every month ``m`` in the data,
    * ``days_m`` = sum of their lengths in days (leap Februaries have 29),
    * ``rate_per_day_m = events_m / days_m`` and ``index_m = rate_per_day_m / (n / D)``,
      with ``n`` all events and ``D`` all days.

    Dividing by days removes the 3-day difference between February and a 31-day month
    (about 10%), which a count per month would show as "seasonality".
    """
    if counts_by_month.empty:
        raise ValueError("no months given")
    index = counts_by_month.index
    if isinstance(index, pd.PeriodIndex):
        periods = index.asfreq("M")
    else:
        periods = pd.DatetimeIndex(index).to_period("M")
    if periods.has_duplicates:
        raise ValueError("a month appears more than once")
    values = pd.to_numeric(pd.Series(counts_by_month.to_numpy()), errors="coerce")
    if values.isna().any() or (values < 0).any():
        raise ValueError("monthly counts must be non-negative numbers")
    frame = pd.DataFrame(
        {"month": periods.month, "events": values.to_numpy(), "days": periods.days_in_month}
    )
    by_month = frame.groupby("month").sum().reindex(range(1, 13), fill_value=0)
    return _profile(
        list(MONTHS), by_month["events"].to_numpy(), by_month["days"].to_numpy(), "month",
        list(range(1, 13)), confidence,
    )


def weekday_profile(
    event_dates: pd.Series[Any], start: date, end: date, *, confidence: float = 0.95
) -> Profile:
    """Events per day by day of the week (Monday = 0 ... Sunday = 6).

    ``days`` counts how many Mondays, Tuesdays, ... the period ``start``..``end`` holds, so
    ``rate_per_day`` is the mean number of events on that weekday.
    """
    dates = _event_days(event_dates, start, end)
    calendar = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D")
    days = np.bincount(calendar.day_of_week, minlength=7)
    events = np.bincount(dates.dt.day_of_week.to_numpy(), minlength=7)
    return _profile(list(WEEKDAYS), events, days, "weekday", list(range(7)), confidence)


def validate_school_terms(terms: pd.DataFrame) -> pd.DataFrame:
    """Check a school terms table and return it with ``start``/``end`` as timestamps,
    sorted by start.

    Columns: ``academic_year`` (e.g. ``"2019/20"``), ``period`` (e.g. ``"Autumn 1"``,
    ``"October half term"``), ``kind`` (one of ``TERM_KINDS``), ``start`` and ``end``
    (inclusive dates) and ``source``. Periods must not overlap. Holidays conventionally run
    from the day after the last day of term to the day before term restarts, weekends
    included, so a complete table covers every day from its first to its last date.
    """
    missing = [c for c in TERM_COLUMNS if c not in terms.columns]
    if missing:
        raise ValueError(f"school terms table lacks column(s) {missing}")
    out = terms.copy()
    for column in ("start", "end"):
        out[column] = pd.to_datetime(out[column], errors="coerce")
        if out[column].isna().any():
            raise ValueError(f"school terms table has a missing or unreadable {column} date")
    bad_kind = sorted(set(out["kind"]) - set(TERM_KINDS))
    if bad_kind:
        raise ValueError(f"school terms kind must be one of {TERM_KINDS}; got {bad_kind}")
    if (out["end"] < out["start"]).any():
        row = out[out["end"] < out["start"]].iloc[0]
        raise ValueError(f"school terms period {row['period']!r} ends before it starts")
    out = out.sort_values("start", kind="stable").reset_index(drop=True)
    overlap = out["start"].iloc[1:].to_numpy() <= out["end"].iloc[:-1].to_numpy()
    if overlap.any():
        i = int(np.flatnonzero(overlap)[0])
        raise ValueError(
            f"school terms periods overlap: {out['period'].iloc[i]!r} "
            f"({out['academic_year'].iloc[i]}) and {out['period'].iloc[i + 1]!r}"
        )
    return out


def classify_school_days(terms: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """One row per day from ``start`` to ``end``: ``date``, ``weekday`` (Monday = 0),
    ``school_time`` (``"term"``, ``"holiday"`` for half terms and holidays, or missing when
    the table does not cover the day), ``academic_year``, ``period`` and ``kind``."""
    table = validate_school_terms(terms)
    calendar = pd.DataFrame({"date": pd.date_range(pd.Timestamp(start), pd.Timestamp(end))})
    if calendar.empty:
        raise ValueError("end is before start")
    starts = table["start"].to_numpy()
    ends = table["end"].to_numpy()
    days = calendar["date"].to_numpy()
    pos = np.searchsorted(starts, days, side="right") - 1
    valid = pos >= 0
    covered = np.zeros(days.size, dtype=bool)
    covered[valid] = days[valid] <= ends[pos[valid]]
    take = np.where(covered, pos, 0)
    calendar["weekday"] = calendar["date"].dt.day_of_week
    flags = covered.tolist()
    for column in ("academic_year", "period", "kind"):
        values = table[column].to_numpy(dtype=object)[take].tolist()
        calendar[column] = [v if ok else None for v, ok in zip(values, flags, strict=True)]
    calendar["school_time"] = [
        ("term" if kind == "term" else "holiday") if ok else None
        for kind, ok in zip(calendar["kind"].tolist(), flags, strict=True)
    ]
    return calendar


@dataclass(frozen=True)
class HolidayComparison:
    """School holidays against term time, as events per day.

    ``comparison`` is holidays (``a``) against term time (``b``) with exposure in days.
    ``by_period`` breaks the days and events down by academic year, period and kind.
    ``uncovered_days`` and ``events_on_uncovered_days`` count days in the study period that
    the terms table does not cover (and their events), which are left out of both rates;
    ``excluded_days`` counts days removed by ``exclude``.
    """

    comparison: RateComparison
    by_period: pd.DataFrame
    weekdays_only: bool
    uncovered_days: int
    events_on_uncovered_days: int
    excluded_days: int


def school_holiday_comparison(
    event_dates: pd.Series[Any],
    terms: pd.DataFrame,
    start: date,
    end: date,
    *,
    weekdays_only: bool = False,
    exclude: list[tuple[date, date]] | None = None,
    confidence: float = 0.95,
) -> HolidayComparison:
    """Events per day in school holidays (half terms included) against term time.

    Each day from ``start`` to ``end`` is classed with ``classify_school_days``; then
    ``rate_holiday = events on holiday days / holiday days`` and ``rate_term = events on
    term days / term days`` are compared with ``poisson_rate_ratio`` (holiday / term).

    * ``weekdays_only=True`` keeps Monday to Friday only, so term days are school days and
      the comparison is not confounded by holidays holding a different mix of weekends.
      Bank holidays inside term are counted as term days either way.
    * ``exclude`` lists inclusive date ranges to drop from both sides, e.g. the Covid-19
      school closures (England: 23 March to the summer of 2020, and 5 January to 7 March
      2021), when "term time" did not mean children at school.

    Days the terms table does not cover are left out and reported, never guessed. Schools'
    own INSET days vary, so "term" follows the local authority pattern, not each school.
    """
    days = classify_school_days(terms, start, end)
    dates = _event_days(event_dates, start, end)
    per_day = dates.value_counts()
    days["events"] = per_day.reindex(days["date"], fill_value=0).to_numpy()
    keep = np.ones(len(days), dtype=bool)
    excluded = np.zeros(len(days), dtype=bool)
    for first, last in exclude or []:
        excluded |= (days["date"] >= pd.Timestamp(first)).to_numpy() & (
            days["date"] <= pd.Timestamp(last)
        ).to_numpy()
    keep &= ~excluded
    if weekdays_only:
        keep &= (days["weekday"] < 5).to_numpy()
    uncovered = days["school_time"].isna().to_numpy()
    uncovered_days = int((uncovered & keep).sum())
    uncovered_events = int(days.loc[uncovered & keep, "events"].sum())
    used = days[keep & ~uncovered]
    holiday = used[used["school_time"] == "holiday"]
    term = used[used["school_time"] == "term"]
    if holiday.empty or term.empty:
        raise ValueError("the period needs both term days and holiday days to compare")
    comparison = poisson_rate_ratio(
        float(holiday["events"].sum()), float(len(holiday)),
        float(term["events"].sum()), float(len(term)),
        labels=("school holidays", "term time"), exposure_unit="day", confidence=confidence,
    )
    by_period = (
        used.groupby(["academic_year", "period", "kind"], sort=False)
        .agg(first_day=("date", "min"), days=("date", "size"), events=("events", "sum"))
        .reset_index()
        .sort_values("first_day", kind="stable")
        .reset_index(drop=True)
    )
    by_period["rate_per_day"] = by_period["events"] / by_period["days"]
    return HolidayComparison(
        comparison=comparison,
        by_period=by_period,
        weekdays_only=weekdays_only,
        uncovered_days=uncovered_days,
        events_on_uncovered_days=uncovered_events,
        excluded_days=int(excluded.sum()),
    )


@dataclass(frozen=True)
class AfterSchoolComparison:
    """Events in the after-school window against the rest of the day, on the chosen days.

    ``days`` is the number of days used and ``window_hours`` the window's length.
    ``rate_per_day_in_window`` and ``rate_per_day_outside`` are events per day in and
    outside the window. ``window_vs_rest`` compares them per *hour* (exposure = days x
    hours), so a 3-hour window is set against 21 hours fairly. ``window_school_vs_holiday``
    (when a terms table is given) compares the same window on school days against holiday
    weekdays, per day.
    """

    days: int
    window_hours: float
    events_in_window: float
    events_outside: float
    rate_per_day_in_window: float
    rate_per_day_outside: float
    window_vs_rest: RateComparison
    window_school_vs_holiday: RateComparison | None


def after_school_comparison(
    event_times: pd.Series[Any],
    start: date,
    end: date,
    *,
    window: tuple[time, time] = (time(16, 0), time(19, 0)),
    terms: pd.DataFrame | None = None,
    exclude: list[tuple[date, date]] | None = None,
    confidence: float = 0.95,
) -> AfterSchoolComparison:
    """The after-school window (default 4pm to 7pm) against the rest of the day.

    ``event_times`` are timestamps with a real time of day (not a default midnight: remove
    events whose time is unknown first). The window is ``[window[0], window[1])``.

    Days used: every day from ``start`` to ``end`` when ``terms`` is None; with ``terms``,
    school days only (term-time Monday to Friday) for ``window_vs_rest``, and the window on
    school days is also compared with the window on holiday weekdays
    (``window_school_vs_holiday``). ``exclude`` drops inclusive date ranges (e.g. Covid-19
    school closures) from everything.

    ``rate_per_day_in_window = events in window / days``; the test of difference uses
    exposure in hours: window ``days * h`` against rest ``days * (24 - h)``.
    """
    start_t, end_t = window
    hours = (
        (end_t.hour * 60 + end_t.minute) - (start_t.hour * 60 + start_t.minute)
    ) / 60.0
    if not 0 < hours < 24:
        raise ValueError("the window must start before it ends, within one day")
    stamps = _local(pd.to_datetime(pd.Series(event_times), errors="coerce"))
    if stamps.isna().any():
        raise ValueError("event_times has a missing or unreadable timestamp")
    days_frame = pd.DataFrame({"date": pd.date_range(pd.Timestamp(start), pd.Timestamp(end))})
    if terms is not None:
        classified = classify_school_days(terms, start, end)
        days_frame["school_time"] = classified["school_time"].to_numpy()
    else:
        days_frame["school_time"] = None
    days_frame["weekday"] = days_frame["date"].dt.day_of_week
    keep = np.ones(len(days_frame), dtype=bool)
    for first, last in exclude or []:
        keep &= ~(
            (days_frame["date"] >= pd.Timestamp(first)).to_numpy()
            & (days_frame["date"] <= pd.Timestamp(last)).to_numpy()
        )
    day_of_event = stamps.dt.normalize()
    if (day_of_event < pd.Timestamp(start)).any() or (day_of_event > pd.Timestamp(end)).any():
        raise ValueError("some events fall outside start..end; filter them first")
    minutes = stamps.dt.hour * 60 + stamps.dt.minute
    in_window = (
        (minutes >= start_t.hour * 60 + start_t.minute)
        & (minutes < end_t.hour * 60 + end_t.minute)
    ).to_numpy()
    events = pd.DataFrame({"date": day_of_event.to_numpy(), "in_window": in_window})
    info = days_frame.set_index("date")
    events["school_time"] = info["school_time"].reindex(events["date"]).to_numpy()
    events["weekday"] = info["weekday"].reindex(events["date"]).to_numpy()
    events["keep"] = pd.Series(keep, index=info.index).reindex(events["date"]).to_numpy()

    if terms is not None:
        school = keep & (days_frame["school_time"] == "term").to_numpy() & (
            days_frame["weekday"] < 5
        ).to_numpy()
        ev_school = events["keep"].to_numpy(dtype=bool) & (
            events["school_time"] == "term"
        ).to_numpy() & (events["weekday"] < 5).to_numpy()
    else:
        school = keep
        ev_school = events["keep"].to_numpy(dtype=bool)
    n_days = int(school.sum())
    if n_days == 0:
        raise ValueError("no days left to compare")
    a = float((ev_school & in_window).sum())
    b = float((ev_school & ~in_window).sum())
    window_vs_rest = poisson_rate_ratio(
        a, n_days * hours, b, n_days * (24.0 - hours),
        labels=(f"{start_t:%H:%M}-{end_t:%H:%M}", "rest of the day"),
        exposure_unit="hour", confidence=confidence,
    )
    school_vs_holiday: RateComparison | None = None
    if terms is not None:
        holiday = keep & (days_frame["school_time"] == "holiday").to_numpy() & (
            days_frame["weekday"] < 5
        ).to_numpy()
        ev_holiday = events["keep"].to_numpy(dtype=bool) & (
            events["school_time"] == "holiday"
        ).to_numpy() & (events["weekday"] < 5).to_numpy()
        if holiday.sum() > 0:
            school_vs_holiday = poisson_rate_ratio(
                a, float(n_days), float((ev_holiday & in_window).sum()), float(holiday.sum()),
                labels=("window on school days", "window on holiday weekdays"),
                exposure_unit="day", confidence=confidence,
            )
    return AfterSchoolComparison(
        days=n_days,
        window_hours=hours,
        events_in_window=a,
        events_outside=b,
        rate_per_day_in_window=a / n_days,
        rate_per_day_outside=b / n_days,
        window_vs_rest=window_vs_rest,
        window_school_vs_holiday=school_vs_holiday,
    )


LOCAL_TIME_ZONE = "Europe/London"


def _local(stamps: pd.Series[Any]) -> pd.Series[Any]:
    """Timezone-aware timestamps converted to UK local clock time (dates and hours of day are
    read on the local clock); naive timestamps are taken to be local already."""
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        converted: pd.Series[Any] = stamps.dt.tz_convert(LOCAL_TIME_ZONE).dt.tz_localize(None)
        return converted
    return stamps


def _event_days(event_dates: pd.Series[Any], start: date, end: date) -> pd.Series[Any]:
    """Event dates as midnight timestamps, refusing missing dates and dates outside the
    period (they would otherwise be dropped silently)."""
    if pd.Timestamp(end) < pd.Timestamp(start):
        raise ValueError("end is before start")
    dates = _local(pd.to_datetime(pd.Series(event_dates), errors="coerce"))
    if dates.isna().any():
        raise ValueError(f"{int(dates.isna().sum())} event date(s) are missing or unreadable")
    days = dates.dt.normalize()
    outside = (days < pd.Timestamp(start)) | (days > pd.Timestamp(end))
    if outside.any():
        raise ValueError(
            f"{int(outside.sum())} event(s) fall outside {start}..{end}; filter them first"
        )
    result: pd.Series[Any] = days.reset_index(drop=True)
    return result
