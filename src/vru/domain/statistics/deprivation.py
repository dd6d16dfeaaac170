"""Violence and deprivation: rates by IMD decile and quintile, the share of violence in the most
deprived places, and the slope and relative indices of inequality (SII, RII).

Input is one row per small area (usually 2011 LSOAs, the geography of the English Indices
of Deprivation 2019) with its event count, its population and its IMD decile and/or rank:

* ``imd_decile``: the national decile, 1 = the most deprived 10% of LSOAs in England,
  10 = the least deprived (MHCLG, English Indices of Deprivation 2019, File 1);
* ``imd_rank``: the national rank, 1 = the most deprived LSOA in England.

Column names are parameters, so other deprivation indices (IDACI, the Crime domain) work
the same way as long as 1 means most deprived.

References
----------
* MHCLG (2019) The English Indices of Deprivation 2019: technical report and statistical
  release. https://www.gov.uk/government/statistics/english-indices-of-deprivation-2019
* Low A, Low A (2004) Measuring the gap: quantifying and comparing local health
  inequalities. Journal of Public Health 26(4):388-395.
* Public Health England / OHID, ``PHEindicatormethods::phe_sii`` (R package) and the PHE
  technical guidance on the slope index of inequality, which follow Low & Low (2004).
* Mackenbach JP, Kunst AE (1997) Measuring the magnitude of socio-economic inequalities in
  health: an overview of available measures illustrated with two examples from Europe.
  Social Science & Medicine 44(6):757-771 (RII = SII / mean).
* Garwood F (1936) Fiducial limits for the Poisson distribution. Biometrika 28:437-442
  (exact Poisson confidence limits).
* Breslow NE, Day NE (1987) Statistical Methods in Cancer Research, Vol. II, IARC (Byar's
  approximation to the exact Poisson limits, used in PHE's Fingertips).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from vru.domain.statistics.rates import (
    FloatArray,
    byar_interval,
    check_confidence,
    exact_poisson_interval,
)

__all__ = [
    "DeprivationShare",
    "SlopeIndexOfInequality",
    "local_deprivation_tenths",
    "poisson_rate_limits",
    "quintile_from_decile",
    "rates_by_deprivation",
    "share_in_most_deprived",
    "slope_index_of_inequality",
]


def poisson_rate_limits(
    counts: npt.ArrayLike,
    denominators: npt.ArrayLike,
    *,
    per: float = 100_000.0,
    confidence: float = 0.95,
    method: Literal["exact", "byar"] = "exact",
) -> tuple[FloatArray, FloatArray]:
    """Confidence limits for crude rates ``per * count / denominator``, treating the count as
    Poisson: the count's limits from ``vru.domain.statistics.rates`` (``exact``: Garwood 1936,
    ``rates.exact_poisson_interval``; ``byar``: Breslow & Day 1987, ``rates.byar_interval``),
    divided by the denominator and multiplied by ``per``.
    """
    if method == "exact":
        lower, upper = exact_poisson_interval(counts, confidence)
    elif method == "byar":
        lower, upper = byar_interval(counts, confidence)
    else:
        raise ValueError(f"method must be 'exact' or 'byar', not {method!r}")
    d = np.asarray(denominators, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (
            np.asarray(per * lower / d, dtype=np.float64),
            np.asarray(per * upper / d, dtype=np.float64),
        )


def quintile_from_decile(decile: pd.Series[Any]) -> pd.Series[Any]:
    """Quintile 1-5 from decile 1-10: ``quintile = ceil(decile / 2)`` (deciles 1-2 are the
    most deprived quintile, as in MHCLG's published quintiles)."""
    d = _deciles(decile)
    return ((d + 1) // 2).astype("int64")


def local_deprivation_tenths(
    areas: pd.DataFrame, *, rank: str = "imd_rank", within: str | None = None
) -> pd.Series[Any]:
    """Local tenths of deprivation: the areas of the study area (or of each ``within`` group,
    e.g. each borough) ranked by deprivation and cut into ten groups of (near) equal numbers
    of areas, 1 = the most deprived tenth.

    With ``r`` the position of an area in its group when sorted by ``rank`` (1 = most
    deprived; ties broken by input order) and ``m`` the number of areas in the group::

        tenth = ceil(10 r / m)

    This is how the national IMD deciles are defined (each decile holds 10% of England's
    LSOAs; MHCLG 2019), applied within the study area: in London, whose LSOAs are more
    deprived than England's on average, the "most deprived local tenth" is the most
    deprived 10% of *London's* LSOAs, not of England's.
    """
    _require_columns(areas, [rank] + ([within] if within else []))
    ranks = pd.to_numeric(areas[rank], errors="coerce")
    if ranks.isna().any():
        raise ValueError(f"column {rank!r} has missing or non-numeric deprivation ranks")
    frame = pd.DataFrame({"rank": ranks.to_numpy(), "pos": np.arange(len(areas))})
    if within is None:
        groups = pd.Series(np.zeros(len(areas), dtype=np.int64))
    else:
        if areas[within].isna().any():
            raise ValueError(f"column {within!r} has missing values")
        groups = pd.Series(areas[within].to_numpy())
    frame["group"] = groups
    frame = frame.sort_values(["group", "rank", "pos"], kind="stable")
    position = frame.groupby("group", sort=False).cumcount().to_numpy() + 1
    size = frame.groupby("group", sort=False)["rank"].transform("size").to_numpy()
    tenth = np.ceil(10 * position / size - 1e-12).astype(np.int64)
    out = pd.Series(tenth, index=frame["pos"].to_numpy()).sort_index()
    return pd.Series(out.to_numpy(), index=areas.index, name="local_tenth")


def rates_by_deprivation(
    areas: pd.DataFrame,
    *,
    by: Literal["decile", "quintile", "local_tenth"] = "decile",
    count: str = "count",
    population: str = "population",
    decile: str = "imd_decile",
    rank: str = "imd_rank",
    within: str | None = None,
    per: float = 100_000.0,
    confidence: float = 0.95,
    ci_method: Literal["exact", "byar"] = "exact",
) -> pd.DataFrame:
    """Counts and crude rates of events by deprivation group.

    ``by`` is ``"decile"`` (national IMD deciles 1-10), ``"quintile"`` (1-5, from the
    deciles) or ``"local_tenth"`` (tenths within the study area or within each ``within``
    group, see ``local_deprivation_tenths``; needs ``rank``). Group 1 is always the most
    deprived. Every group appears, with zeros if no area falls in it.

    For each group ``g``: ``areas``, ``count`` (sum of counts), ``population`` (sum of
    populations), ``rate = per * count / population`` with its confidence limits
    (``rate_lower``, ``rate_upper``; ``poisson_rate_limits``), ``share_of_events``,
    ``share_of_population``, ``share_of_areas`` and ``rate_ratio_to_overall`` (the group's
    rate divided by the rate of all areas together).
    """
    _require_columns(areas, [count, population])
    counts = _non_negative(areas[count], count)
    pops = _non_negative(areas[population], population)
    if by == "decile":
        _require_columns(areas, [decile])
        group = _deciles(areas[decile])
        n_groups = 10
    elif by == "quintile":
        _require_columns(areas, [decile])
        group = quintile_from_decile(areas[decile])
        n_groups = 5
    elif by == "local_tenth":
        group = local_deprivation_tenths(areas, rank=rank, within=within)
        n_groups = 10
    else:
        raise ValueError(f"by must be 'decile', 'quintile' or 'local_tenth', not {by!r}")
    frame = pd.DataFrame(
        {"group": group.to_numpy(), "count": counts.to_numpy(), "population": pops.to_numpy()}
    )
    table = (
        frame.groupby("group")
        .agg(areas=("count", "size"), count=("count", "sum"), population=("population", "sum"))
        .reindex(range(1, n_groups + 1), fill_value=0)
    )
    table.index.name = by
    table = table.reset_index()
    total_count = float(table["count"].sum())
    total_pop = float(table["population"].sum())
    c = table["count"].to_numpy(dtype=np.float64)
    p = table["population"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["rate"] = np.where(p > 0, per * c / p, np.nan)
    lower, upper = poisson_rate_limits(c, p, per=per, confidence=confidence, method=ci_method)
    table["rate_lower"] = np.where(p > 0, lower, np.nan)
    table["rate_upper"] = np.where(p > 0, upper, np.nan)
    table["share_of_events"] = c / total_count if total_count > 0 else np.nan
    table["share_of_population"] = p / total_pop if total_pop > 0 else np.nan
    table["share_of_areas"] = table["areas"] / float(len(areas))
    overall = per * total_count / total_pop if total_pop > 0 else np.nan
    table["rate_ratio_to_overall"] = table["rate"] / overall
    return table


@dataclass(frozen=True)
class DeprivationShare:
    """The share of events in the most deprived ``fraction`` of areas.

    ``basis`` is ``"national"`` (national IMD deciles) or ``"local"`` (tenths within the
    study area). ``share_of_events / share_of_areas`` is ``ratio_to_area_share``: 2.0 means
    those areas had twice the events their number alone would suggest. The population
    fields are ``None`` when no population column was given.
    """

    basis: str
    fraction: float
    areas: int
    areas_total: int
    events: float
    events_total: float
    share_of_events: float
    share_of_areas: float
    ratio_to_area_share: float
    population: float | None
    population_total: float | None
    share_of_population: float | None


def share_in_most_deprived(
    areas: pd.DataFrame,
    fraction: float = 0.1,
    *,
    basis: Literal["national", "local"] = "national",
    count: str = "count",
    decile: str = "imd_decile",
    rank: str = "imd_rank",
    population: str | None = None,
    within: str | None = None,
) -> DeprivationShare:
    """The share of events that happened in the most deprived 10% (or 20%, ...) of places.

    ``fraction`` must be a multiple of 0.1 (0.1 = most deprived tenth, 0.2 = fifth, ...).

    * ``basis="national"``: areas in national IMD deciles ``1 .. 10 * fraction``, i.e. among
      the most deprived ``fraction`` of areas *in England*. In London that is usually more
      than ``fraction`` of London's areas.
    * ``basis="local"``: areas in local tenths ``1 .. 10 * fraction`` (see
      ``local_deprivation_tenths``), i.e. the most deprived ``fraction`` of the study area's
      own areas (or of each ``within`` group's).

    ``share_of_events = events in those areas / all events``.
    """
    tenths = round(fraction * 10)
    if not (1 <= tenths <= 10 and math.isclose(fraction * 10, tenths, abs_tol=1e-9)):
        raise ValueError(f"fraction must be a multiple of 0.1 between 0.1 and 1, not {fraction!r}")
    _require_columns(areas, [count])
    counts = _non_negative(areas[count], count)
    if basis == "national":
        _require_columns(areas, [decile])
        group = _deciles(areas[decile])
    elif basis == "local":
        group = local_deprivation_tenths(areas, rank=rank, within=within)
    else:
        raise ValueError(f"basis must be 'national' or 'local', not {basis!r}")
    selected = (group <= tenths).to_numpy()
    events_total = float(counts.sum())
    if events_total == 0:
        raise ValueError("there are no events: the share of events is undefined")
    events = float(counts.to_numpy()[selected].sum())
    n_selected = int(selected.sum())
    share_of_areas = n_selected / len(areas)
    pop_sel: float | None = None
    pop_total: float | None = None
    share_pop: float | None = None
    if population is not None:
        _require_columns(areas, [population])
        pops = _non_negative(areas[population], population)
        pop_sel = float(pops.to_numpy()[selected].sum())
        pop_total = float(pops.sum())
        share_pop = pop_sel / pop_total if pop_total > 0 else float("nan")
    share_events = events / events_total
    return DeprivationShare(
        basis=basis,
        fraction=float(fraction),
        areas=n_selected,
        areas_total=len(areas),
        events=events,
        events_total=events_total,
        share_of_events=share_events,
        share_of_areas=share_of_areas,
        ratio_to_area_share=share_events / share_of_areas if share_of_areas > 0 else float("nan"),
        population=pop_sel,
        population_total=pop_total,
        share_of_population=share_pop,
    )


@dataclass(frozen=True)
class SlopeIndexOfInequality:
    """The slope index of inequality (SII) and relative index of inequality (RII).

    ``sii`` is in rate units (per ``per`` people): the modelled rate at the most deprived end
    of the population minus the modelled rate at the least deprived end. Positive means more
    violence in more deprived places. ``slope`` is the fitted gradient with the PHE ordering
    (most deprived at x = 0), so ``slope = -sii``: the value ``PHEindicatormethods::phe_sii``
    reports.

    ``rii = sii / mean_rate``, where ``mean_rate`` is the rate of all groups together (the
    population-weighted mean of group rates); ``rii = 0.5`` means the gap between the ends is
    half the average rate. ``ends_ratio = rate_most_deprived_end / rate_least_deprived_end``
    is the ratio form some publications call the RII.
    """

    sii: float
    sii_lower: float
    sii_upper: float
    rii: float
    rii_lower: float
    rii_upper: float
    slope: float
    mean_rate: float
    rate_most_deprived_end: float
    rate_least_deprived_end: float
    ends_ratio: float
    groups: int
    per: float
    confidence: float
    ci_method: str
    repetitions: int | None


def _wls_line(x: FloatArray, y: FloatArray, w: FloatArray) -> tuple[float, float, float]:
    """Weighted least squares of y on x: (intercept, slope, standard error of slope)."""
    xbar = float(np.sum(w * x) / np.sum(w))
    ybar = float(np.sum(w * y) / np.sum(w))
    sxx = float(np.sum(w * (x - xbar) ** 2))
    slope = float(np.sum(w * (x - xbar) * (y - ybar)) / sxx)
    intercept = ybar - slope * xbar
    dof = x.size - 2
    if dof <= 0:
        return intercept, slope, float("nan")
    residual = y - intercept - slope * x
    sigma2 = float(np.sum(w * residual**2) / dof)
    return intercept, slope, math.sqrt(sigma2 / sxx)


def slope_index_of_inequality(
    groups: pd.DataFrame,
    *,
    group: str = "decile",
    count: str = "count",
    population: str = "population",
    per: float = 100_000.0,
    confidence: float = 0.95,
    ci_method: Literal["simulation", "regression"] = "simulation",
    repetitions: int = 10_000,
    rng: np.random.Generator | None = None,
) -> SlopeIndexOfInequality:
    """The slope index of inequality (SII) and relative index of inequality (RII) of a rate
    across deprivation groups, after Low & Low (2004) and PHE/OHID guidance (``phe_sii``).

    ``groups`` has one row per deprivation group (e.g. the output of
    ``rates_by_deprivation``): the group number in ``group`` (1 = most deprived), the event
    count and the population. Every group needs a population above zero.

    Method:

    1. Order groups from most to least deprived. Each group's relative rank is the midpoint
       of its range in the cumulative population distribution:
       ``x_g = (P_(g-1) + p_g / 2) / P``, with ``p_g`` its population, ``P_(g-1)`` the
       population of the more deprived groups and ``P`` the total.
    2. Fit the weighted least squares line ``rate_g = a + b x_g`` with weights ``p_g / P``
       (PHE: regress ``rate * sqrt(w)`` on ``sqrt(w)`` and ``x * sqrt(w)``, the same fit).
    3. ``slope = b``; ``sii = -b = fitted(0) - fitted(1)``, the modelled gap between the most
       and least deprived ends. Because the weights are the population shares, the line
       passes through (0.5, mean_rate) and ``mean_rate = per * sum(count) / sum(population)``.
    4. ``rii = sii / mean_rate`` (Mackenbach & Kunst 1997).

    Confidence intervals (``ci_method``):

    * ``"simulation"`` (default; the approach of PHE's ``phe_sii`` and Low & Low 2004): draw
      each group's count from a Poisson distribution with mean equal to the observed count,
      ``repetitions`` times, refit, and take the ``(1 - confidence)/2`` and
      ``(1 + confidence)/2`` percentiles of the simulated SII and RII. PHE simulates group
      values from a normal distribution with the group's standard error; Poisson draws of the
      count are the exact form of that for counts and behave better for small counts.
      ``rng`` defaults to ``numpy.random.default_rng(0)`` so results are reproducible.
    * ``"regression"``: the t interval of the WLS slope, ``sii +/- t(G-2) * se(b)`` with
      ``se(b)^2 = s^2 / sum w (x - xbar)^2`` and ``s^2 = sum w e^2 / (G - 2)`` (as
      ``statsmodels`` WLS); the RII limits are the SII limits divided by ``mean_rate``
      (treating the mean as fixed). It reflects lack of fit to the line, not the Poisson
      noise of the counts. Needs at least three groups.
    """
    _require_columns(groups, [group, count, population])
    check_confidence(confidence)
    frame = groups[[group, count, population]].copy()
    frame.columns = pd.Index(["group", "count", "population"])
    if frame["group"].duplicated().any():
        raise ValueError("each deprivation group must appear once")
    frame = frame.sort_values("group", kind="stable")
    c = _non_negative(frame["count"], count).to_numpy(dtype=np.float64)
    p = _non_negative(frame["population"], population).to_numpy(dtype=np.float64)
    if np.any(p <= 0):
        raise ValueError("every deprivation group needs a population above zero")
    if c.size < 2:
        raise ValueError("the SII needs at least two deprivation groups")
    total_pop = float(p.sum())
    w = p / total_pop
    x = (np.cumsum(p) - p / 2) / total_pop
    rate = per * c / p
    intercept, slope, se = _wls_line(x, rate, w)
    mean_rate = per * float(c.sum()) / total_pop
    sii = -slope
    most_end = intercept
    least_end = intercept + slope
    alpha = 1.0 - confidence
    if ci_method == "regression":
        dof = c.size - 2
        if dof <= 0:
            raise ValueError("the regression interval needs at least three deprivation groups")
        t = float(stats.t.ppf(1 - alpha / 2, dof))
        sii_lower, sii_upper = sii - t * se, sii + t * se
        rii_lower, rii_upper = sii_lower / mean_rate, sii_upper / mean_rate
        reps: int | None = None
    elif ci_method == "simulation":
        if repetitions < 1000:
            raise ValueError("use at least 1,000 repetitions for a simulated interval")
        generator = rng if rng is not None else np.random.default_rng(0)
        draws = generator.poisson(c, size=(repetitions, c.size)).astype(np.float64)
        sim_rate = per * draws / p
        sim_mean = per * draws.sum(axis=1) / total_pop
        xbar = 0.5  # population-weighted mean of the midpoints, exactly
        sxx = float(np.sum(w * (x - xbar) ** 2))
        sim_slope = ((sim_rate - sim_mean[:, None]) * (w * (x - xbar))).sum(axis=1) / sxx
        sim_sii = -sim_slope
        with np.errstate(divide="ignore", invalid="ignore"):
            sim_rii = sim_sii / sim_mean
        q = [100 * alpha / 2, 100 * (1 - alpha / 2)]
        sii_lower, sii_upper = (float(v) for v in np.percentile(sim_sii, q))
        finite = sim_rii[np.isfinite(sim_rii)]
        if finite.size:
            rii_lower, rii_upper = (float(v) for v in np.percentile(finite, q))
        else:
            rii_lower, rii_upper = float("nan"), float("nan")
        reps = repetitions
    else:
        raise ValueError(f"ci_method must be 'simulation' or 'regression', not {ci_method!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        rii = sii / mean_rate if mean_rate > 0 else float("nan")
        ends_ratio = most_end / least_end if least_end != 0 else float("nan")
    return SlopeIndexOfInequality(
        sii=float(sii),
        sii_lower=float(sii_lower),
        sii_upper=float(sii_upper),
        rii=float(rii),
        rii_lower=float(rii_lower),
        rii_upper=float(rii_upper),
        slope=float(slope),
        mean_rate=float(mean_rate),
        rate_most_deprived_end=float(most_end),
        rate_least_deprived_end=float(least_end),
        ends_ratio=float(ends_ratio),
        groups=int(c.size),
        per=float(per),
        confidence=float(confidence),
        ci_method=ci_method,
        repetitions=reps,
    )


def _require_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"missing column(s) {missing}; the table has {list(frame.columns)}")


def _non_negative(values: pd.Series[Any], name: str) -> pd.Series[Any]:
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.isna().any():
        raise ValueError(f"column {name!r} has missing or non-numeric values")
    if (numbers < 0).any():
        raise ValueError(f"column {name!r} has negative values")
    return numbers.astype(np.float64)


def _deciles(values: pd.Series[Any]) -> pd.Series[Any]:
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.isna().any():
        raise ValueError("the IMD decile column has missing or non-numeric values")
    if not numbers.isin(range(1, 11)).all():
        bad = sorted(set(numbers[~numbers.isin(range(1, 11))].tolist()))[:5]
        raise ValueError(f"IMD deciles must be whole numbers 1-10 (1 = most deprived); got {bad}")
    return numbers.astype("int64")
