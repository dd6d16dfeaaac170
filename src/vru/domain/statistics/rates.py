"""Counts and rates per population with confidence intervals, as UK public health reports them.

Conventions, following Public Health England / OHID practice (PHE, *Technical Guide:
Confidence intervals*, 2018; APHO, *Technical Briefing 3: Commonly used public health
statistics and their confidence intervals*, 2008; the PHEindicatormethods R package):

* A count of events is treated as Poisson. Its interval is the exact (Garwood) interval
  for fewer than 10 events and Byar's approximation to it for 10 or more (``method="phe"``,
  the default); either can be asked for on its own (``"exact"``, ``"byar"``).
* A rate is ``count / population * per`` and its limits are the count's limits on the same
  scale: the population is treated as known without error.
* A rate based on fewer than 10 events is *unreliable*: PHE/OHID do not publish it. Every
  rate comes with an ``unreliable`` flag and a written ``reason``; the reason never contains
  the count itself, so it is safe to publish beside a suppressed figure.
* Proportions use the Wilson score interval.
* Directly standardised rates use the Dobson method with weights from a standard population
  (the European Standard Population 2013 is provided, with its source).

Every function is vectorised over numpy arrays and broadcasts its arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from vru.domain.statistics.provenance import Method, ResultMeta, attach

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.str_]
CountMethod = Literal["phe", "exact", "byar"]

#: PHE/OHID publish no rate based on fewer than this many events.
SMALL_COUNT_THRESHOLD = 10

REASON_SMALL_COUNT = (
    "Fewer than 10 events: too few for a reliable rate, so it is not published "
    "(PHE/OHID practice)."
)
REASON_NO_POPULATION = "No population: a rate cannot be calculated."

EXACT_POISSON = Method(
    "Exact Poisson interval for a count (chi-square form)",
    "Garwood F (1936) Fiducial limits for the Poisson distribution, Biometrika 28:437-42; "
    "Armitage P, Berry G, Matthews JNS (2002) Statistical Methods in Medical Research, 4th "
    "edn; PHE (2018) Technical Guide: Confidence intervals.",
)
BYAR = Method(
    "Byar's approximation to the exact Poisson interval",
    "Breslow NE, Day NE (1987) Statistical Methods in Cancer Research vol. II, IARC; "
    "PHE (2018) Technical Guide: Confidence intervals.",
)
PHE_RATE = Method(
    "Crude rate; exact Poisson interval below 10 events, Byar's method from 10",
    "PHE (2018) Technical Guide: Confidence intervals; PHEindicatormethods::phe_rate; "
    "Breslow & Day (1987); Armitage, Berry & Matthews (2002).",
)
WILSON = Method(
    "Wilson score interval for a proportion",
    "Wilson EB (1927) JASA 22:209-12; Newcombe RG (1998) Statistics in Medicine 17:857-72; "
    "PHE (2018) Technical Guide: Confidence intervals.",
)
DOBSON = Method(
    "Directly standardised rate with Dobson's confidence interval",
    "Dobson AJ, Kuulasmaa K, Eberle E, Scherer J (1991) Confidence intervals for weighted "
    "sums of Poisson parameters, Statistics in Medicine 10:457-62; PHE (2018) Technical "
    "Guide: Confidence intervals; PHEindicatormethods::calculate_dsr.",
)

_METHODS: dict[str, Method] = {"phe": PHE_RATE, "exact": EXACT_POISSON, "byar": BYAR}


# --------------------------------------------------------------------------- helpers


def two_sided_z(confidence: float) -> float:
    """The standard normal quantile z with P(-z < Z < z) = ``confidence`` (1.959964 for 95%)."""
    check_confidence(confidence)
    return float(stats.norm.ppf(1.0 - (1.0 - confidence) / 2.0))


def check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")


def as_counts(values: npt.ArrayLike, label: str = "count") -> FloatArray:
    """``values`` as a float array; refuses negatives and missing values, naming them."""
    arr = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(arr) | (arr < 0)
    if np.any(bad):
        shown = ", ".join(repr(v) for v in np.atleast_1d(arr)[np.atleast_1d(bad)][:5])
        raise ValueError(f"{label} must be finite and non-negative; found {shown}")
    return arr


# --------------------------------------------------------------------------- count intervals


def exact_poisson_interval(
    count: npt.ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Exact (Garwood) limits for a Poisson count O.

    With a = 1 - confidence::

        lower = chi2.ppf(a/2, 2 O) / 2          (0 when O = 0)
        upper = chi2.ppf(1 - a/2, 2 O + 2) / 2

    equivalently the a/2 quantile of Gamma(O, 1) and the 1 - a/2 quantile of Gamma(O + 1, 1).
    Garwood 1936, Biometrika 28:437-42; Armitage, Berry & Matthews 2002; PHE Technical Guide:
    Confidence intervals, 2018.
    """
    o = as_counts(count)
    alpha = 1.0 - confidence
    check_confidence(confidence)
    with np.errstate(invalid="ignore"):
        lower = np.where(o > 0, stats.chi2.ppf(alpha / 2.0, 2.0 * o) / 2.0, 0.0)
    upper = stats.chi2.ppf(1.0 - alpha / 2.0, 2.0 * o + 2.0) / 2.0
    return np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)


def byar_interval(
    count: npt.ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Byar's approximation to the exact Poisson limits for a count O.

    With z the two-sided normal quantile (1.96 for 95%)::

        lower = O (1 - 1/(9 O) - z / (3 sqrt(O)))^3                (0 when O = 0)
        upper = (O + 1) (1 - 1/(9 (O + 1)) + z / (3 sqrt(O + 1)))^3

    Byar's method: Breslow & Day 1987, Statistical Methods in Cancer Research II, IARC;
    PHE Technical Guide: Confidence intervals, 2018. Within 0.2% of the exact limits from 10
    events (0.01% from 100); below 10 use the exact interval.
    """
    o = as_counts(count)
    z = two_sided_z(confidence)
    safe = np.where(o > 0, o, 1.0)
    lower = np.where(o > 0, safe * (1.0 - 1.0 / (9.0 * safe) - z / (3.0 * np.sqrt(safe))) ** 3, 0)
    lower = np.maximum(lower, 0.0)
    o1 = o + 1.0
    upper = o1 * (1.0 - 1.0 / (9.0 * o1) + z / (3.0 * np.sqrt(o1))) ** 3
    return np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)


def count_interval(
    count: npt.ArrayLike, confidence: float = 0.95, method: CountMethod = "phe"
) -> tuple[FloatArray, FloatArray, StrArray]:
    """Limits for Poisson counts and the method used for each: ``"exact"`` or ``"byar"``.

    ``method="phe"`` uses the exact interval for counts below 10 and Byar's from 10, as
    PHEindicatormethods::phe_rate does (PHE Technical Guide: Confidence intervals, 2018).
    """
    o = as_counts(count)
    ex_low, ex_high = exact_poisson_interval(o, confidence)
    by_low, by_high = byar_interval(o, confidence)
    if method == "exact":
        use_exact = np.ones(o.shape, dtype=bool)
    elif method == "byar":
        use_exact = np.zeros(o.shape, dtype=bool)
    elif method == "phe":
        use_exact = o < SMALL_COUNT_THRESHOLD
    else:
        raise ValueError(f"unknown method {method!r}; use 'phe', 'exact' or 'byar'")
    lower = np.where(use_exact, ex_low, by_low)
    upper = np.where(use_exact, ex_high, by_high)
    used = np.where(use_exact, "exact", "byar").astype(np.str_)
    return lower, upper, used


# --------------------------------------------------------------------------- rates


def rate(count: npt.ArrayLike, population: npt.ArrayLike, per: float = 100_000) -> FloatArray:
    """Crude rate ``count / population * per``; NaN where the population is 0."""
    o = as_counts(count)
    n = as_counts(population, "population")
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(n > 0, o / np.where(n > 0, n, 1.0) * per, np.nan)
    return np.asarray(r, dtype=np.float64)


def rate_per_1000(count: npt.ArrayLike, population: npt.ArrayLike) -> FloatArray:
    """Crude rate per 1,000 population."""
    return rate(count, population, per=1_000)


def rate_per_100k(count: npt.ArrayLike, population: npt.ArrayLike) -> FloatArray:
    """Crude rate per 100,000 population."""
    return rate(count, population, per=100_000)


def reliability(
    count: npt.ArrayLike,
    population: npt.ArrayLike,
    threshold: int = SMALL_COUNT_THRESHOLD,
) -> tuple[BoolArray, StrArray]:
    """Whether each rate is unreliable, and why, in words ("" when reliable).

    PHE/OHID practice: a rate on fewer than 10 events is not published; a rate with no
    population cannot be calculated. The reason never states the count.
    """
    o, n = np.broadcast_arrays(as_counts(count), as_counts(population, "population"))
    no_pop = n <= 0
    small = (o < threshold) & ~no_pop
    reason_small = REASON_SMALL_COUNT.replace("10", f"{threshold}")
    reason = np.where(no_pop, REASON_NO_POPULATION, np.where(small, reason_small, ""))
    return np.asarray(no_pop | small, dtype=bool), reason.astype(np.str_)


@dataclass(frozen=True)
class RateEstimates:
    """Rates with their limits, the interval method used, and the reliability flags."""

    rate: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    method: StrArray
    unreliable: BoolArray
    reason: StrArray
    per: float
    confidence: float


def rate_with_interval(
    count: npt.ArrayLike,
    population: npt.ArrayLike,
    per: float = 100_000,
    confidence: float = 0.95,
    method: CountMethod = "phe",
) -> RateEstimates:
    """Crude rates per ``per`` with limits from the count's Poisson limits.

    rate = O / N * per;  lower = O_lower / N * per;  upper = O_upper / N * per, where
    (O_lower, O_upper) are the count limits from ``count_interval`` (exact below 10 events,
    Byar's from 10 by default). PHE Technical Guide: Confidence intervals, 2018;
    PHEindicatormethods::phe_rate. Where N = 0 all three are NaN.
    """
    o, n = np.broadcast_arrays(as_counts(count), as_counts(population, "population"))
    low, high, used = count_interval(o, confidence, method)
    safe_n = np.where(n > 0, n, 1.0)
    scale = np.where(n > 0, per / safe_n, np.nan)
    unreliable, reason = reliability(o, n)
    return RateEstimates(
        rate=np.asarray(o * scale, dtype=np.float64),
        ci_low=np.asarray(low * scale, dtype=np.float64),
        ci_high=np.asarray(high * scale, dtype=np.float64),
        method=used,
        unreliable=unreliable,
        reason=reason,
        per=float(per),
        confidence=confidence,
    )


RATE_COLUMNS = ("rate", "ci_low", "ci_high", "method", "unreliable", "reason")


def rate_table(
    df: pd.DataFrame,
    count_col: str,
    population_col: str,
    per: float = 100_000,
    confidence: float = 0.95,
    method: CountMethod = "phe",
    *,
    suppress_unreliable: bool = False,
    meta: ResultMeta | None = None,
) -> pd.DataFrame:
    """``df`` with the columns rate, ci_low, ci_high, method, unreliable, reason added.

    Formulas as ``rate_with_interval``. ``suppress_unreliable=True`` blanks (NaN) the rate and
    its limits where ``unreliable`` is true, as a published table must. If ``meta`` is given
    the result carries it (``df.attrs``) with the method set to the one used here.
    """
    _check_columns(df, [count_col, population_col], RATE_COLUMNS)
    est = rate_with_interval(
        column_values(df, count_col),
        column_values(df, population_col),
        per,
        confidence,
        method,
    )
    out = df.copy()
    hide = est.unreliable if suppress_unreliable else np.zeros(len(df), dtype=bool)
    out["rate"] = np.where(hide, np.nan, est.rate)
    out["ci_low"] = np.where(hide, np.nan, est.ci_low)
    out["ci_high"] = np.where(hide, np.nan, est.ci_high)
    out["method"] = est.method
    out["unreliable"] = est.unreliable
    out["reason"] = est.reason
    if meta is not None:
        out = attach(out, meta.with_method(_METHODS[method]))
    return out


# --------------------------------------------------------------------------- proportions


def wilson_interval(
    successes: npt.ArrayLike, trials: npt.ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Wilson score limits for a proportion r / n.

    With z the two-sided normal quantile and p = r / n::

        (2 r + z^2 -/+ z sqrt(z^2 + 4 r (1 - p))) / (2 (n + z^2))

    Wilson 1927, JASA 22:209-12; Newcombe 1998, Statistics in Medicine 17:857-72; PHE
    Technical Guide: Confidence intervals, 2018. NaN where n = 0.
    """
    r, n = np.broadcast_arrays(as_counts(successes, "successes"), as_counts(trials, "trials"))
    if np.any(r > n):
        raise ValueError("successes must not exceed trials")
    z = two_sided_z(confidence)
    safe_n = np.where(n > 0, n, 1.0)
    p = r / safe_n
    centre = 2.0 * r + z**2
    half = z * np.sqrt(z**2 + 4.0 * r * (1.0 - p))
    denom = 2.0 * (n + z**2)
    low = np.where(n > 0, np.clip((centre - half) / denom, 0.0, 1.0), np.nan)
    high = np.where(n > 0, np.clip((centre + half) / denom, 0.0, 1.0), np.nan)
    # exact ends: r = 0 gives lower 0 and r = n gives upper 1 (rounding can miss by 1e-17)
    low = np.where(r == 0, np.where(n > 0, 0.0, np.nan), low)
    high = np.where((r == n) & (n > 0), 1.0, high)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


# --------------------------------------------------------------------------- standardisation


@dataclass(frozen=True)
class StandardPopulation:
    """Weights for direct standardisation: one per band, with where they come from."""

    name: str
    bands: tuple[str, ...]
    weights: tuple[float, ...]
    source: str

    def __post_init__(self) -> None:
        if len(self.bands) != len(self.weights):
            raise ValueError("a standard population needs one weight per band")
        if len(set(self.bands)) != len(self.bands):
            raise ValueError("standard population bands must be distinct")
        if not self.bands or any(not w > 0 for w in self.weights):
            raise ValueError("standard population weights must be positive")

    def restrict(self, bands: Sequence[str]) -> StandardPopulation:
        """The same standard over a subset of its bands (e.g. ages 10-24 for youth violence).

        The weights are kept; the DSR divides by their sum, so they need not total 100,000.
        """
        missing = [b for b in bands if b not in self.bands]
        if missing:
            raise KeyError(f"bands not in {self.name}: {', '.join(missing)}")
        keep = [b for b in self.bands if b in set(bands)]
        return StandardPopulation(
            name=f"{self.name}, bands {keep[0]} to {keep[-1]}",
            bands=tuple(keep),
            weights=tuple(self.weights[self.bands.index(b)] for b in keep),
            source=self.source,
        )


EUROPEAN_STANDARD_POPULATION_2013 = StandardPopulation(
    name="European Standard Population 2013 (19 bands, 90 and over combined)",
    bands=(
        "0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44",
        "45-49", "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85-89",
        "90+",
    ),
    weights=(
        5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000,
        7000, 7000, 6500, 6000, 5500, 5000, 4000, 2500, 1500,
        1000,
    ),
    source=(
        "Eurostat (2013) Revision of the European Standard Population: Report of Eurostat's "
        "task force, Methodologies and Working papers, Publications Office of the European "
        "Union, Luxembourg, ISBN 978-92-79-31094-2. Bands 0 and 1-4 combined as 0-4 (5,000) "
        "and 90-94 and 95+ combined as 90+ (1,000), as PHE/OHID publish it "
        "(PHEindicatormethods::esp2013). Total 100,000."
    ),
)
ESP2013 = EUROPEAN_STANDARD_POPULATION_2013


@dataclass(frozen=True)
class StandardisedRate:
    """A directly standardised rate with its Dobson interval."""

    rate: float
    ci_low: float
    ci_high: float
    count: float
    population: float
    variance: float
    per: float
    confidence: float
    method: str
    unreliable: bool
    reason: str


def directly_standardised_rate(
    counts: npt.ArrayLike,
    populations: npt.ArrayLike,
    weights: npt.ArrayLike,
    per: float = 100_000,
    confidence: float = 0.95,
    method: CountMethod = "phe",
) -> StandardisedRate:
    """Directly standardised rate (DSR) over bands i, with the Dobson interval.

    With O_i events, n_i population and w_i standard weight in band i, O = sum O_i::

        DSR      = per * sum(w_i O_i / n_i) / sum(w_i)
        var(DSR) = per^2 * sum(w_i^2 O_i / n_i^2) / (sum w_i)^2
        lower    = DSR + sqrt(var(DSR) / O) * (O_lower - O)
        upper    = DSR + sqrt(var(DSR) / O) * (O_upper - O)

    where (O_lower, O_upper) are the Poisson limits for the total count O (exact below 10,
    Byar's from 10 with ``method="phe"``; PHE use Byar's and publish no DSR below 10).
    Dobson et al. 1991, Statistics in Medicine 10:457-62; PHE Technical Guide: Confidence
    intervals, 2018. The lower limit is floored at 0 (a rate cannot be negative). A band
    with no population contributes nothing if it has no events and
    is an error if it has some. With O = 0 the limits are undefined (NaN).
    """
    o, n, w = np.broadcast_arrays(
        as_counts(counts), as_counts(populations, "population"), as_counts(weights, "weight")
    )
    if o.ndim != 1 or o.size == 0:
        raise ValueError("give one count, population and weight per band (1-D, non-empty)")
    if np.any((n == 0) & (o > 0)):
        raise ValueError("a band has events but no population")
    safe_n = np.where(n > 0, n, 1.0)
    total_w = float(w.sum())
    dsr = per * float(np.sum(w * o / safe_n)) / total_w if float(n.sum()) > 0 else float("nan")
    var = per**2 * float(np.sum(w**2 * o / safe_n**2)) / total_w**2
    total = float(o.sum())
    low_o, high_o, used = count_interval(total, confidence, method)
    if total > 0:
        factor = np.sqrt(var / total)
        low = max(float(dsr + factor * (float(low_o) - total)), 0.0)
        high = float(dsr + factor * (float(high_o) - total))
    else:
        low = high = float("nan")
    unreliable, reason = reliability(total, float(n.sum()))
    return StandardisedRate(
        rate=dsr,
        ci_low=low,
        ci_high=high,
        count=total,
        population=float(n.sum()),
        variance=var,
        per=float(per),
        confidence=confidence,
        method=f"dobson ({used.item()})",
        unreliable=bool(unreliable.item()) or total == 0,
        reason=str(reason.item()),
    )


DSR_COLUMNS = (
    "count", "population", "rate", "ci_low", "ci_high", "method", "unreliable", "reason",
)


def dsr_table(
    df: pd.DataFrame,
    by: Sequence[str],
    band_col: str,
    count_col: str,
    population_col: str,
    standard: StandardPopulation = EUROPEAN_STANDARD_POPULATION_2013,
    per: float = 100_000,
    confidence: float = 0.95,
    method: CountMethod = "phe",
    *,
    suppress_unreliable: bool = False,
    meta: ResultMeta | None = None,
) -> pd.DataFrame:
    """One directly standardised rate per group of ``by`` columns (e.g. per borough).

    ``df`` has one row per group and band; each group must have every band of ``standard``
    exactly once (restrict the standard with ``StandardPopulation.restrict`` to standardise
    over fewer bands). Formulas as ``directly_standardised_rate``. Returns the ``by`` columns
    and count, population, rate, ci_low, ci_high, method, unreliable, reason.
    """
    by = list(by)
    _check_columns(df, [*by, band_col, count_col, population_col], ())
    bands = df[band_col].astype(str)
    unknown = sorted(set(bands) - set(standard.bands))
    if unknown:
        raise ValueError(f"bands not in {standard.name}: {', '.join(unknown)}")
    weight_of = dict(zip(standard.bands, standard.weights, strict=True))
    rows: list[dict[str, object]] = []
    grouped = df.assign(_band=bands).groupby(by, sort=True, dropna=False) if by else None
    groups = [((), df.assign(_band=bands))] if grouped is None else list(grouped)
    for key, part in groups:
        key_tuple = key if isinstance(key, tuple) else (key,)
        dup = part["_band"][part["_band"].duplicated()].unique().tolist()
        missing = [b for b in standard.bands if b not in set(part["_band"])]
        if dup or missing:
            where = ", ".join(f"{c}={v!r}" for c, v in zip(by, key_tuple, strict=True))
            raise ValueError(
                f"group {where or '(all rows)'}: "
                + (f"bands repeated: {', '.join(dup)}; " if dup else "")
                + (f"bands missing: {', '.join(missing)}" if missing else "")
            )
        ordered = part.set_index("_band").loc[list(standard.bands)]
        res = directly_standardised_rate(
            column_values(ordered, count_col),
            column_values(ordered, population_col),
            np.array([weight_of[b] for b in standard.bands], dtype=np.float64),
            per,
            confidence,
            method,
        )
        hide = suppress_unreliable and res.unreliable
        row: dict[str, object] = dict(zip(by, key_tuple, strict=True))
        row.update(
            count=res.count,
            population=res.population,
            rate=np.nan if hide else res.rate,
            ci_low=np.nan if hide else res.ci_low,
            ci_high=np.nan if hide else res.ci_high,
            method=res.method,
            unreliable=res.unreliable,
            reason=res.reason,
        )
        rows.append(row)
    out = pd.DataFrame(rows, columns=[*by, *DSR_COLUMNS])
    if meta is not None:
        out = attach(out, meta.with_method(DOBSON))
    return out


# --------------------------------------------------------------------------- internal


def column_values(df: pd.DataFrame, col: str) -> FloatArray:
    """A count or population column as floats; refuses missing or negative values by row."""
    values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values) | (values < 0)
    if np.any(bad):
        rows = df.index[bad][:5].tolist()
        raise ValueError(
            f"column {col!r} must hold finite, non-negative numbers; "
            f"{int(bad.sum())} row(s) do not, first at index {rows}"
        )
    return values


def _check_columns(df: pd.DataFrame, needed: Sequence[str], added: Sequence[str]) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise KeyError(f"columns not in the table: {', '.join(missing)}")
    clash = [c for c in added if c in df.columns]
    if clash:
        raise ValueError(f"the table already has columns this would add: {', '.join(clash)}")


def method_for(method: CountMethod) -> Method:
    """The ``Method`` (name and citation) for a count-interval method name."""
    return _METHODS[cast(str, method)]
