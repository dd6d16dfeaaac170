"""Emerging hot spot analysis: how each place's hot or cold spot status changes over time.

The method of ArcGIS Pro's Emerging Hot Spot Analysis (Esri, "How Emerging Hot Spot Analysis
works", ArcGIS Pro tool reference, Space Time Pattern Mining toolbox), in three steps:

1. **The space-time cube**: one value per place i = 1..n and time step t = 1..T (a count
   per ward and month, per LSOA and year, per grid cell and month).
2. **Space-time Gi\\***: every bin (i, t) gets a Getis-Ord Gi* z-score over its space-time
   neighbourhood: the bins of i and its spatial neighbours at step t and, for each of them,
   the bins at the same place in the ``time_lag`` previous steps (ArcGIS's "Neighborhood
   Time Step", default 1). With binary weights, W_it = (k_i + 1) * L_t bins in the
   neighbourhood (k_i neighbours, L_t = min(t - 1, time_lag) + 1 steps) and S_it their
   sum, compared with a *global window* of N bins with mean x_bar and standard deviation s
   (population formula)::

       z_it = (S_it - x_bar W_it) / (s sqrt((N W_it - W_it^2) / (N - 1)))

   (Ord & Getis 1995, eq. 9 with binary weights). ArcGIS Pro's "Define Global Window":

   - ``global_window="neighbourhood"`` (vru's default; ArcGIS's "Neighborhood time step"):
     the bins of every place in the steps of the bin's own time window, t - time_lag .. t
     (N = n L_t, x_bar and s over them);
   - ``global_window="cube"`` (ArcGIS's default, "Entire cube"): all n T bins.

   vru departs from ArcGIS's default because recorded violence has risen everywhere for
   reasons of recording practice (London's LSOA counts of violence against the person went
   from 129,709 in 2011 to 247,802 in 2020). Against the entire cube every busy place's
   late years are "hot" and its early years "cold", and 1,109 of London's 4,829 LSOAs come
   out as consecutive hot spots of that city-wide rise; compared within each time window,
   a hot spot is a place hotter than the rest of the area at the same time (139
   consecutive, 262 persistent, 125 intensifying). Pass ``global_window="cube"`` for
   ArcGIS's default. Two-sided p = 2(1 - Phi(|z|)); a bin is a
   **significant hot (cold) spot** when p < ``alpha`` (after adjustment across all bins if
   ``adjust`` asks for it) and z > 0 (z < 0). ``lag_scope="self"`` instead takes only the
   place's own bins at earlier steps (spatial neighbours at step t only).
3. **Trend**: the Mann-Kendall test of each place's series of z-scores
   (``vru.domain.statistics.trend.mann_kendall``): is the clustering intensifying or
   diminishing? Significant when its p < ``alpha``.

**The categories.** Written out from ArcGIS Pro's definitions ("90 percent" means at least
0.9 T of the T steps: with fewer than 10 steps that is every step). For hot spots, with
H = the number of significant hot steps:

* **New hot spot**: a significant hot spot at the final step and never a significant hot
  spot before.
* **Consecutive hot spot**: a single uninterrupted run of at least two significant hot spot
  steps ending at the final step; never a significant hot spot before the run; H < 90% of
  the steps. (A run of one is a new hot spot.)
* **Intensifying hot spot**: a significant hot spot for at least 90% of the steps,
  including the final step, and the intensity of clustering (the z-scores) is increasing
  overall, significantly (Mann-Kendall).
* **Persistent hot spot**: a significant hot spot for at least 90% of the steps, with no
  significant trend in the intensity of clustering.
* **Diminishing hot spot**: a significant hot spot for at least 90% of the steps,
  including the final step, and the intensity of clustering is decreasing overall,
  significantly.
* **Sporadic hot spot**: an on-again, off-again hot spot: H < 90% of the steps and never a
  significant cold spot.
* **Oscillating hot spot**: a significant hot spot at the final step that was a
  significant cold spot at some earlier step; H < 90% of the steps.
* **Historical hot spot**: not a hot spot at the final step, but a significant hot spot for
  at least 90% of the steps.

Cold spots mirror these with "cold" for "hot" ("intensifying": ever more clustered low
values, i.e. z-scores significantly decreasing). **No pattern detected**: none of the above
(for instance never significant, or hot and cold at different times but neither at the
end).

Where ArcGIS's wording leaves a series in two categories, this order decides, and the tests
pin it: (a) a place significant at the final step is classed by that step's sign, as the
definitions of new, consecutive, intensifying, persistent, diminishing and oscillating all
describe the final step; (b) with >= 90% significant steps of that sign: intensifying,
diminishing or persistent by the trend; (c) otherwise, a significant step of the opposite
sign earlier makes it oscillating (before new or consecutive, which ArcGIS defines only by
never having been a spot of the same sign); (d) then new, consecutive, sporadic; (e) a place
not significant at the final step is historical if >= 90% of its steps were significant
spots of one sign, else sporadic if it was a spot of one sign only, else no pattern. ArcGIS
Pro's later help adds "for the final time step" to sporadic; the ArcGIS Pro 2.8 wording
followed here (as R's sfdep does) does not, so a place hot in some middle steps only is a
sporadic hot spot.

R's ``sfdep::emerging_hotspot_analysis`` implements the same categories with permutation
p-values and row-standardised weights; its results differ where those choices differ.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy import stats

from vru.domain.places.weights import SpatialWeights
from vru.domain.statistics.change import Adjustment, adjust_p_values
from vru.domain.statistics.trend import mann_kendall

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
LagScope = Literal["neighbourhood", "self"]
GlobalWindow = Literal["cube", "neighbourhood"]
GLOBAL_WINDOWS: tuple[str, ...] = ("cube", "neighbourhood")

NO_PATTERN = "no pattern detected"
PATTERNS: tuple[str, ...] = (
    "new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic",
    "oscillating", "historical",
)
CATEGORIES: tuple[str, ...] = (
    *(f"{p} hot spot" for p in PATTERNS), *(f"{p} cold spot" for p in PATTERNS), NO_PATTERN,
)
"""All seventeen categories, hot first, then cold, then no pattern."""
EMERGING = frozenset({"new hot spot", "consecutive hot spot", "intensifying hot spot"})
"""The categories of a hot spot that is appearing or growing."""


def _at_least_90_percent(count: int, steps: int) -> bool:
    return 10 * count >= 9 * steps


def classify_series(
    z: npt.ArrayLike,
    significant: npt.ArrayLike,
    trend_z: float,
    trend_p: float,
    alpha: float = 0.05,
) -> str:
    """The emerging hot spot category of one place from its z-score series (time order),
    which steps are significant, and the Mann-Kendall trend of the z-scores (its z and
    p-value). See the module docstring for the definitions and the order of precedence."""
    zs = np.asarray(z, dtype=np.float64)
    sig = np.asarray(significant, dtype=bool)
    if zs.ndim != 1 or sig.shape != zs.shape or zs.size == 0:
        raise ValueError("give one z-score and one significance flag per time step")
    steps = zs.size
    hot = sig & (zs > 0)
    cold = sig & (zs < 0)
    trend_up = trend_p < alpha and trend_z > 0
    trend_down = trend_p < alpha and trend_z < 0
    for spot, other, kind, intensifying, diminishing in (
        (hot, cold, "hot", trend_up, trend_down),
        (cold, hot, "cold", trend_down, trend_up),
    ):
        if not spot[-1]:
            continue
        count = int(spot.sum())
        if _at_least_90_percent(count, steps):
            if intensifying:
                return f"intensifying {kind} spot"
            if diminishing:
                return f"diminishing {kind} spot"
            return f"persistent {kind} spot"
        if other[:-1].any():
            return f"oscillating {kind} spot"
        if count == 1:
            return f"new {kind} spot"
        run = _final_run(spot)
        if run >= 2 and count == run:
            return f"consecutive {kind} spot"
        return f"sporadic {kind} spot"
    for spot, kind in ((hot, "hot"), (cold, "cold")):
        if _at_least_90_percent(int(spot.sum()), steps):
            return f"historical {kind} spot"
    if hot.any() and not cold.any():
        return "sporadic hot spot"
    if cold.any() and not hot.any():
        return "sporadic cold spot"
    return NO_PATTERN


def _final_run(flags: BoolArray) -> int:
    """Length of the run of True values ending at the last step."""
    if not flags[-1]:
        return 0
    falses = np.flatnonzero(~flags)
    return int(flags.size - (falses[-1] + 1)) if falses.size else int(flags.size)


def space_time_gi(
    values: npt.ArrayLike,
    w: SpatialWeights,
    time_lag: int = 1,
    lag_scope: LagScope = "neighbourhood",
    global_window: GlobalWindow = "neighbourhood",
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Space-time Gi* z-scores of a cube (places x steps, rows in ``w.ids`` order).
    Returns (z, S, W): z-scores, neighbourhood sums and neighbourhood sizes, each places x
    steps. Formula and global windows in the module docstring."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != w.n:
        raise ValueError(f"the cube must be places x steps with {w.n} places")
    if not np.all(np.isfinite(x)):
        raise ValueError("the cube has missing or infinite values")
    if time_lag < 0:
        raise ValueError("time_lag must not be negative")
    n, steps = x.shape
    if global_window == "cube":
        big_n = np.full(steps, float(n * steps))
        mean = np.full(steps, x.mean())
        s = np.full(steps, np.sqrt(max((x * x).mean() - x.mean() ** 2, 0.0)))
        if not s[0] > 0:
            raise ValueError("every bin of the cube has the same value: no hot spots to find")
    elif global_window == "neighbourhood":
        c1 = _trailing_sum(x.sum(axis=0, keepdims=True), time_lag)[0]
        c2 = _trailing_sum((x * x).sum(axis=0, keepdims=True), time_lag)[0]
        big_n = n * (np.minimum(np.arange(steps), time_lag) + 1.0)
        mean = c1 / big_n
        s = np.sqrt(np.maximum(c2 / big_n - mean * mean, 0.0))
    else:
        raise ValueError("global_window must be 'cube' or 'neighbourhood'")
    card = w.cardinalities.astype(np.float64)
    span = np.minimum(np.arange(steps), time_lag) + 1.0
    if lag_scope == "neighbourhood":
        spatial = sp.csr_matrix(w.matrix) + sp.identity(n, format="csr")
        lagged = np.asarray(spatial @ x)
        sums = _trailing_sum(lagged, time_lag)
        size = (card + 1.0)[:, None] * span[None, :]
    elif lag_scope == "self":
        sums = np.asarray(w.matrix @ x) + _trailing_sum(x, time_lag)
        size = card[:, None] + span[None, :]
    else:
        raise ValueError("lag_scope must be 'neighbourhood' or 'self'")
    spread = (big_n * size - size * size) / (big_n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (sums - mean * size) / (s * np.sqrt(spread))
    z = np.where(np.isfinite(z), z, 0.0)  # a window with no variation has no hot spot
    return np.asarray(z, dtype=np.float64), sums, size


def _trailing_sum(x: FloatArray, lag: int) -> FloatArray:
    """sum over u = max(0, t - lag) .. t of x[:, u], for each t."""
    c = np.cumsum(x, axis=1)
    out = c.copy()
    if lag + 1 < x.shape[1]:
        out[:, lag + 1:] = c[:, lag + 1:] - c[:, :-(lag + 1)]
    return out


class EmergingHotSpots:
    """Emerging hot spot analysis of a space-time cube (places x steps, rows in the order of
    ``w.ids``). See the module docstring.

    Attributes: ``z``, ``p`` (two-sided normal), ``p_adjusted``, ``hot`` and ``cold``
    (significant bins), places x steps; per place ``trend_z``, ``trend_p``, ``trend_tau``
    and ``trend_slope`` (Mann-Kendall of the z-scores), ``value_trend_z``,
    ``value_trend_p``, ``value_trend`` ("rising", "falling", "none": Mann-Kendall of the
    values themselves, significant at ``alpha``), ``value_slope`` (Sen's slope per step),
    ``hot_steps``, ``cold_steps`` and ``category``.
    """

    def __init__(
        self,
        values: npt.ArrayLike,
        w: SpatialWeights,
        *,
        time_lag: int = 1,
        alpha: float = 0.05,
        adjust: Adjustment = "none",
        lag_scope: LagScope = "neighbourhood",
        global_window: GlobalWindow = "neighbourhood",
        step_labels: Sequence[str] | None = None,
    ) -> None:
        if not 0 < alpha < 1:
            raise ValueError("alpha must be between 0 and 1")
        self.values = np.asarray(values, dtype=np.float64)
        self.w = w
        self.ids = w.ids
        self.time_lag = time_lag
        self.alpha = alpha
        self.adjust = adjust
        self.lag_scope = lag_scope
        self.global_window = global_window
        n, steps = self.values.shape if self.values.ndim == 2 else (0, 0)
        if steps < 3:
            raise ValueError("emerging hot spot analysis needs at least 3 time steps (the "
                             "Mann-Kendall trend test needs 3 values)")
        self.step_labels = tuple(step_labels) if step_labels is not None else tuple(
            str(t) for t in range(steps))
        if len(self.step_labels) != steps:
            raise ValueError("give one label per time step")
        self.z, self.sums, self.sizes = space_time_gi(self.values, w, time_lag, lag_scope,
                                                      global_window)
        self.p = np.asarray(2.0 * stats.norm.sf(np.abs(self.z)), dtype=np.float64)
        self.p_adjusted = adjust_p_values(self.p.ravel(), adjust).reshape(self.p.shape)
        sig = self.p_adjusted < alpha
        self.hot = sig & (self.z > 0)
        self.cold = sig & (self.z < 0)
        self.hot_steps = self.hot.sum(axis=1)
        self.cold_steps = self.cold.sum(axis=1)
        self.trend_z = np.empty(n)
        self.trend_p = np.empty(n)
        self.trend_tau = np.empty(n)
        self.trend_slope = np.empty(n)
        self.value_trend_z = np.empty(n)
        self.value_trend_p = np.empty(n)
        self.value_slope = np.empty(n)
        self.value_trend: list[str] = []
        self.category: list[str] = []
        for i in range(n):
            mk = mann_kendall(self.z[i], alpha)
            self.trend_z[i], self.trend_p[i] = mk.z, mk.p_value
            self.trend_tau[i], self.trend_slope[i] = mk.tau, mk.slope
            self.category.append(classify_series(self.z[i], sig[i], mk.z, mk.p_value, alpha))
            mv = mann_kendall(self.values[i], alpha)
            self.value_trend_z[i], self.value_trend_p[i] = mv.z, mv.p_value
            self.value_slope[i] = mv.slope
            self.value_trend.append("rising" if mv.significant and mv.z > 0 else
                                    "falling" if mv.significant and mv.z < 0 else "none")

    def category_counts(self) -> dict[str, int]:
        """How many places fall in each of the seventeen categories (zeros included)."""
        counts = Counter(self.category)
        return {c: int(counts.get(c, 0)) for c in CATEGORIES}
