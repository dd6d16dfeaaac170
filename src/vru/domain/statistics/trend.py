"""Monthly trend over a longer window: is violence going up or down, and by how much a year?

Two complementary answers:

* **Mann-Kendall** (non-parametric): is there a monotonic trend? With Sen's slope for its
  size. The *seasonal* test compares each month only with the same month in other years, so
  a summer peak is not mistaken for a trend (Hirsch, Slack & Smith 1982).
* **Poisson / negative binomial regression** (parametric): the trend per year as a rate ratio
  with its confidence interval, with month-of-year effects for seasonality. Counts of
  violence are usually *overdispersed* (more variable than Poisson); when they are, the
  negative binomial is used so the interval is not falsely narrow.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from vru.domain.statistics.provenance import Method
from vru.domain.statistics.rates import FloatArray, check_confidence, two_sided_z

TrendWord = Literal["increasing", "decreasing", "no trend"]
Family = Literal["auto", "poisson", "negative_binomial"]

#: Pearson chi-square / residual df above which counts are treated as overdispersed.
OVERDISPERSION_THRESHOLD = 1.5

MANN_KENDALL = Method(
    "Mann-Kendall trend test with tie correction; Sen's slope",
    "Mann HB (1945) Econometrica 13:245-59; Kendall MG (1975) Rank Correlation Methods, "
    "4th edn, Griffin; Sen PK (1968) JASA 63:1379-89; Gilbert RO (1987) Statistical Methods "
    "for Environmental Pollution Monitoring, Van Nostrand Reinhold.",
)
SEASONAL_MANN_KENDALL = Method(
    "Seasonal Mann-Kendall trend test (period 12); seasonal Sen's slope",
    "Hirsch RM, Slack JR, Smith RA (1982) Techniques of trend analysis for monthly water "
    "quality data, Water Resources Research 18:107-21; Mann (1945); Kendall (1975).",
)
GLM_TREND = Method(
    "Poisson or negative binomial (NB2) regression on time with month-of-year effects; "
    "trend per year as a rate ratio with Wald interval",
    "McCullagh P, Nelder JA (1989) Generalized Linear Models, 2nd edn; Cameron AC, Trivedi "
    "PK (2013) Regression Analysis of Count Data, 2nd edn; statsmodels GLM and "
    "NegativeBinomial.",
)


@dataclass(frozen=True)
class MannKendall:
    """The result of a (seasonal) Mann-Kendall test.

    ``slope`` is Sen's slope per time step for the plain test (per month for monthly data)
    and per cycle for the seasonal test (per year for period 12). ``intercept`` makes the
    Kendall-Theil line ``intercept + slope * t`` with t in the same units, counted from 0.
    """

    trend: TrendWord
    significant: bool
    p_value: float
    z: float
    tau: float
    s: float
    var_s: float
    slope: float
    intercept: float
    n: int
    alpha: float


def _s_and_var(x: FloatArray) -> tuple[float, float, float]:
    """Mann-Kendall S, its tie-corrected variance, and the number of pairs, for one series.

    S = sum over i < j of sign(x_j - x_i);
    Var(S) = [n(n-1)(2n+5) - sum_p t_p(t_p-1)(2t_p+5)] / 18, t_p the size of tie group p.
    """
    n = x.size
    if n < 2:
        return 0.0, 0.0, 0.0
    diff = np.sign(x[None, :] - x[:, None])
    s = float(np.triu(diff, k=1).sum())
    _, ties = np.unique(x, return_counts=True)
    t = ties.astype(np.float64)
    var = (n * (n - 1) * (2 * n + 5) - float(np.sum(t * (t - 1) * (2 * t + 5)))) / 18.0
    return s, var, n * (n - 1) / 2.0


def _z_and_p(s: float, var_s: float) -> tuple[float, float]:
    """Z = (S - 1)/sqrt(Var S) if S > 0, (S + 1)/sqrt(Var S) if S < 0, 0 if S = 0;
    two-sided p = 2 (1 - Phi(|Z|))."""
    if s == 0 or var_s <= 0:
        return 0.0, 1.0
    z = (s - np.sign(s)) / np.sqrt(var_s)
    return float(z), float(2.0 * stats.norm.sf(abs(z)))


def _pairwise_slopes(x: FloatArray) -> FloatArray:
    """(x_j - x_i) / (j - i) for every pair i < j where both values are present."""
    idx = np.arange(x.size)
    i, j = np.triu_indices(x.size, k=1)
    slopes = (x[j] - x[i]) / (idx[j] - idx[i])
    return np.asarray(slopes[~np.isnan(slopes)], dtype=np.float64)


def _verdict(z: float, alpha: float) -> tuple[TrendWord, bool]:
    h = abs(z) > stats.norm.ppf(1 - alpha / 2)
    if h and z > 0:
        return "increasing", True
    if h and z < 0:
        return "decreasing", True
    return "no trend", bool(h)


def _series(x: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError("give the series as a one-dimensional array in time order")
    if np.any(np.isinf(arr)):
        raise ValueError("the series has infinite values")
    return arr


def mann_kendall(x: npt.ArrayLike, alpha: float = 0.05) -> MannKendall:
    """Mann-Kendall test for a monotonic trend in a series in time order.

    S = sum_{i<j} sign(x_j - x_i); Var(S) = [n(n-1)(2n+5) - sum t(t-1)(2t+5)] / 18 over
    groups of t tied values; Z = (S - sign S) / sqrt(Var S) (continuity correction); two-sided
    p = 2(1 - Phi(|Z|)); tau = S / (n(n-1)/2). Sen's slope = median over i < j of
    (x_j - x_i) / (j - i); intercept = median(x) - median(t) * slope (Conover 1980).
    Mann 1945, Kendall 1975, Sen 1968; Gilbert 1987 ch. 16. Missing values (NaN) are left out
    of S (order is what matters) and out of Sen's slope, which keeps their true time positions.
    Matches pymannkendall.original_test.
    """
    check_confidence(1 - alpha)
    raw = _series(x)
    present = raw[~np.isnan(raw)]
    n = present.size
    if n < 3:
        raise ValueError(f"the Mann-Kendall test needs at least 3 values, got {n}")
    s, var_s, pairs = _s_and_var(present)
    z, p = _z_and_p(s, var_s)
    trend, h = _verdict(z, alpha)
    slope = float(np.median(_pairwise_slopes(raw)))
    t_present = np.arange(raw.size)[~np.isnan(raw)]
    intercept = float(np.median(present) - np.median(t_present) * slope)
    return MannKendall(trend, h, p, z, s / pairs, s, var_s, slope, intercept, n, alpha)


def seasonal_mann_kendall(
    x: npt.ArrayLike, period: int = 12, alpha: float = 0.05
) -> MannKendall:
    """Seasonal Mann-Kendall test (Hirsch, Slack & Smith 1982): monthly data, period 12.

    The series (in time order, starting at any month) is cut into seasons g = 1..period
    (element k belongs to season k mod period). For each season S_g and Var(S_g) are computed
    as in ``mann_kendall`` over that season's values across years; then
    S = sum S_g, Var(S) = sum Var(S_g), Z = (S - sign S) / sqrt(Var S), p = 2(1 - Phi(|Z|)),
    tau = S / sum_g n_g(n_g - 1)/2. The seasonal Sen's slope is the median of
    (x_j - x_i) / (j - i) over pairs within the same season, j - i counted in cycles, so it is
    per year (Hirsch et al. 1982). intercept = median(x) - median(t) / period * slope.
    Seasons are assumed independent (no covariance correction: Hirsch & Slack 1984 is not
    applied). Matches pymannkendall.seasonal_test.
    """
    check_confidence(1 - alpha)
    if period < 2:
        raise ValueError("period must be at least 2")
    raw = _series(x)
    if raw.size < 2 * period:
        raise ValueError(f"the seasonal test needs at least two cycles ({2 * period} values)")
    pad = (-raw.size) % period
    grid = np.concatenate([raw, np.full(pad, np.nan)]).reshape(-1, period)
    s = var_s = pairs = 0.0
    slopes: list[FloatArray] = []
    for g in range(period):
        season = grid[:, g]
        present = season[~np.isnan(season)]
        s_g, var_g, pairs_g = _s_and_var(present)
        s, var_s, pairs = s + s_g, var_s + var_g, pairs + pairs_g
        slopes.append(_pairwise_slopes(season))
    if pairs == 0:
        raise ValueError("no season has two values to compare")
    z, p = _z_and_p(s, var_s)
    trend, h = _verdict(z, alpha)
    all_slopes = np.concatenate(slopes)
    slope = float(np.median(all_slopes)) if all_slopes.size else float("nan")
    t_present = np.arange(raw.size)[~np.isnan(raw)]
    intercept = float(np.nanmedian(raw) - np.median(t_present) / period * slope)
    n = int(np.sum(~np.isnan(raw)))
    return MannKendall(trend, h, p, z, s / pairs, s, var_s, slope, intercept, n, alpha)


# --------------------------------------------------------------------------- regression


@dataclass(frozen=True)
class GlmTrend:
    """The trend per year from a count regression with month-of-year effects.

    ``rate_ratio_per_year`` = exp(beta_year); 1.10 means 10% more a year, after allowing for
    season. ``dispersion`` is the Poisson fit's Pearson chi-square / residual df; ``family``
    says which model produced the estimate; ``nb_alpha`` is the negative binomial's
    overdispersion (Var = mu + alpha mu^2) when that model was fitted, and
    ``lr_statistic``/``lr_p_value`` the likelihood-ratio test of alpha = 0 (half chi-square(1)
    on the boundary; Cameron & Trivedi 2013, s.3.4).
    """

    family: Literal["poisson", "negative_binomial"]
    rate_ratio_per_year: float
    ci_low: float
    ci_high: float
    p_value: float
    coefficient: float
    std_error: float
    dispersion: float
    nb_alpha: float | None
    lr_statistic: float | None
    lr_p_value: float | None
    n_months: int
    seasonal: bool
    confidence: float
    converged: bool


def trend_design(
    months: Sequence[object] | pd.PeriodIndex, seasonal: bool = True
) -> pd.DataFrame:
    """The regression design: intercept, ``years`` since the first month, and (if seasonal)
    indicators for each month of year except the first month's.

    years = (month - first month) / 12, so exp(coefficient of ``years``) is the rate ratio
    per year.
    """
    periods = pd.PeriodIndex([pd.Period(str(m), freq="M") for m in months], freq="M")
    if periods.has_duplicates:
        raise ValueError("each month must appear once")
    ordinal = np.asarray(periods.asi8, dtype=np.float64)
    design = pd.DataFrame({"const": 1.0, "years": (ordinal - ordinal.min()) / 12.0})
    if seasonal:
        moy = np.asarray(periods.month)
        seen = np.unique(moy)
        for m in seen[1:]:
            design[f"month_{m:02d}"] = (moy == m).astype(np.float64)
    return design


def glm_trend(
    counts: npt.ArrayLike,
    months: Sequence[object] | pd.PeriodIndex,
    exposure: npt.ArrayLike | None = None,
    *,
    family: Family = "auto",
    seasonal: bool = True,
    confidence: float = 0.95,
    overdispersion_threshold: float = OVERDISPERSION_THRESHOLD,
) -> GlmTrend:
    """Trend per year as a rate ratio from a Poisson or negative binomial regression.

    Model: log E[y_t] = b0 + b1 * years_t + sum_m g_m [month_t = m] + log(exposure_t), with
    years_t the time since the first month in years and one effect per month of year (the
    first month's is the baseline). The rate ratio per year is exp(b1), its interval
    exp(b1 -/+ z SE(b1)) (Wald), its p-value the Wald test of b1 = 0.

    Choosing the family (``family="auto"``): the Poisson GLM is fitted first; if its Pearson
    chi-square divided by the residual degrees of freedom exceeds 1.5 (``overdispersion_
    threshold``), the counts vary more than Poisson allows and a negative binomial (NB2, Var =
    mu + alpha mu^2, alpha by maximum likelihood: statsmodels ``NegativeBinomial``) is used
    instead. The likelihood-ratio test of alpha = 0 is reported alongside. McCullagh & Nelder
    1989; Cameron & Trivedi 2013. With ``seasonal=True`` every month of year must appear at
    least twice, so season and trend can be told apart.
    """
    check_confidence(confidence)
    if family not in ("auto", "poisson", "negative_binomial"):
        raise ValueError(f"unknown family {family!r}")
    y = np.asarray(counts, dtype=np.float64)
    if y.ndim != 1 or y.size != len(months):
        raise ValueError("give one count per month")
    if np.any(~np.isfinite(y)) or np.any(y < 0) or np.any(np.round(y) != y):
        raise ValueError("counts must be whole, non-negative numbers with none missing")
    if y.sum() == 0:
        raise ValueError("every month has zero events: there is no trend to estimate")
    design = trend_design(months, seasonal)
    if seasonal:
        moy = pd.PeriodIndex([pd.Period(str(m), freq="M") for m in months], freq="M").month
        per_month = pd.Series(np.asarray(moy)).value_counts()
        if len(per_month) < 12 or per_month.min() < 2:
            raise ValueError(
                "a seasonal trend needs every month of the year at least twice "
                "(24 months or more); use seasonal=False for a shorter series"
            )
    if design.shape[0] <= design.shape[1]:
        raise ValueError("too few months for the number of parameters")
    offset = None
    if exposure is not None:
        e = np.asarray(exposure, dtype=np.float64)
        if e.shape != y.shape or np.any(~(e > 0)):
            raise ValueError("exposure must be positive, one value per month")
        offset = np.log(e)
    x = design.to_numpy()
    pois = sm.GLM(y, x, family=sm.families.Poisson(), offset=offset).fit()
    dispersion = float(pois.pearson_chi2 / pois.df_resid)
    use_nb = family == "negative_binomial" or (
        family == "auto" and dispersion > overdispersion_threshold
    )
    z = two_sided_z(confidence)
    if not use_nb:
        b, se, p = float(pois.params[1]), float(pois.bse[1]), float(pois.pvalues[1])
        return GlmTrend(
            "poisson", float(np.exp(b)), float(np.exp(b - z * se)), float(np.exp(b + z * se)),
            p, b, se, dispersion, None, None, None, y.size, seasonal, confidence,
            bool(pois.converged),
        )
    nb = _fit_negative_binomial(y, x, offset, pois.params)
    b, se, p = float(nb.params[1]), float(nb.bse[1]), float(nb.pvalues[1])
    alpha = float(nb.params[-1])
    lr = max(0.0, 2.0 * (float(nb.llf) - float(pois.llf)))
    lr_p = 0.5 * float(stats.chi2.sf(lr, 1)) if lr > 0 else 1.0
    return GlmTrend(
        "negative_binomial", float(np.exp(b)), float(np.exp(b - z * se)),
        float(np.exp(b + z * se)), p, b, se, dispersion, alpha, lr, lr_p, y.size, seasonal,
        confidence, bool(nb.mle_retvals.get("converged", False)),
    )


def _fit_negative_binomial(
    y: FloatArray, x: npt.NDArray[np.float64], offset: FloatArray | None, start: FloatArray
) -> Any:
    """NB2 by maximum likelihood, started from the Poisson estimates and alpha = 0.1."""
    model = sm.NegativeBinomial(y, x, loglike_method="nb2", offset=offset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(
            start_params=np.append(np.asarray(start), 0.1), method="newton", maxiter=200,
            disp=False,
        )
        # Newton can step to NaN estimates and still report convergence (large counts,
        # e.g. London's ~20,000 offences a month); BFGS from the same start does not.
        if not (res.mle_retvals.get("converged", False) and np.all(np.isfinite(res.params))
                and np.all(np.isfinite(res.bse))):
            res = model.fit(
                start_params=np.append(np.asarray(start), 0.1), method="bfgs", maxiter=2000,
                disp=False,
            )
    return res
