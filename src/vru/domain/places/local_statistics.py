"""Local Getis-Ord Gi*, local Moran's I and global Moran's I, with permutation inference.

Statistics are small objects in the style of PySAL ``esda``: the constructor takes the data
and the weights, computes everything, and exposes the results as attributes::

    gi = LocalGi(counts, weights, permutations=999, rng=np.random.default_rng(7))
    gi.Zs, gi.p_sim, gi.p_fdr

**Conditional permutation inference** (Anselin 1995, Geographical Analysis 27:93-115): for
each place i, i's own value is held fixed and its k_i neighbours' values are replaced by k_i
values drawn without replacement from the other n - 1 places; the statistic is recomputed
``permutations`` (R) times. As in esda, one table of draws is shared by every place: row r
holds ``max(k_i)`` distinct indices into "the other n - 1 places" (index j means place j if
j < i, place j + 1 otherwise), and place i uses the first k_i of them. With M the number of
draws at least as large as the observed value, esda's "directed" pseudo p-value is::

    M' = min(M, R - M)        p_sim = (M' + 1) / (R + 1)

(Hope 1968, JRSS B 30:582-98; esda ``significance.py``; GeoDa's convention): the p-value of
the tail the observed value lies in, so one-sided. Anselin (2019, "A local indicator of
multivariate spatial association", Geographical Analysis 51:133-50) and Rey et al. (2023)
note it is half a two-sided p-value; read p_sim < 0.05 as "significant at 10% two-sided".

``LocalGi`` and ``LocalMoran`` take an explicit ``numpy.random.Generator`` for their draws,
or the draws themselves (``permutation_ids``); ``esda_permutation_ids`` makes exactly the
table esda 2.9 draws for a given ``seed`` (``crand.vec_permutations`` run without numba: one
legacy ``RandomState(seed).choice(n - 1, max(k_i), replace=False)`` per row), so results can
be checked against esda on the same permutations. Simulated statistics are computed as esda
computes them (the same floating-point operations in the same order), so on the same inputs
and draws every pseudo p-value is equal, not merely close.

**Multiple testing**: ``p_fdr`` is Benjamini-Hochberg and ``p_bonferroni`` Bonferroni over
the places (``vru.domain.statistics.change.adjust_p_values``); Caldas de Castro & Singer
2006, Geographical Analysis 38:180-208, recommend FDR for local statistics.

**Islands** (no neighbours): esda gives them a permuted statistic made of
``island_weight`` (0), which is not a test of anything. Here an island's pseudo p-value is
1 and its simulation moments are NaN: with no neighbours there is nothing to permute.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy import stats

from vru.domain.places.weights import SpatialWeights
from vru.domain.statistics.change import adjust_p_values

Transform = Literal["B", "R"]
Alternative = Literal["directed", "greater", "lesser"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

PERMUTATIONS = 999
QUADRANT_LABELS: dict[int, str] = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}
"""esda's quadrant numbers: 1 high-high, 2 low-high, 3 low-low, 4 high-low (value, lag)."""
_CHUNK_ELEMENTS = 1_000_000  # sites x permutations x neighbours gathered at once (~8 MB)


# --------------------------------------------------------------------------- permutations


def conditional_permutation_ids(
    n: int, max_neighbours: int, permutations: int, rng: np.random.Generator
) -> IntArray:
    """A (permutations, max_neighbours) table: each row ``max_neighbours`` distinct indices
    drawn uniformly without replacement from 0..n-2 ("the other n - 1 places"), using
    ``rng`` (``Generator.choice(n - 1, k, replace=False)`` per row)."""
    if max_neighbours > n - 1:
        raise ValueError(f"a place cannot have more than n - 1 = {n - 1} neighbours")
    out = np.empty((permutations, max(max_neighbours, 0)), dtype=np.int64)
    for r in range(permutations):
        out[r] = rng.choice(n - 1, size=max_neighbours, replace=False)
    return out


def esda_permutation_ids(n: int, max_neighbours: int, permutations: int, seed: int) -> IntArray:
    """The table esda 2.9's ``crand`` draws for ``seed`` when numba is not installed:
    ``np.random.seed(seed)``, then ``np.random.choice(n - 1, size=max_neighbours,
    replace=False)`` for each of the ``permutations`` rows (``esda.crand.vec_permutations``).
    Uses a private ``RandomState``, so the global NumPy state is left alone."""
    rs = np.random.RandomState(seed)
    out = np.empty((permutations, max_neighbours), dtype=np.int64)
    for r in range(permutations):
        out[r] = rs.choice(n - 1, size=max_neighbours, replace=False)
    return out


def _check_ids(ids: IntArray, n: int, permutations: int, max_card: int) -> IntArray:
    arr = np.asarray(ids, dtype=np.int64)
    if arr.ndim != 2 or arr.shape[0] != permutations or arr.shape[1] < max_card:
        raise ValueError(f"permutation_ids must have shape ({permutations}, >= {max_card})")
    if arr.size and (arr.min() < 0 or arr.max() > n - 2):
        raise ValueError(f"permutation ids must lie in 0..{n - 2}")
    return arr


class _Simulation:
    """Conditional randomisation of a local statistic, all places at once, in chunks.

    For place i with k_i neighbours, self weight s_i and neighbour weights w_i (in column
    order), draw r gives lag_r = zrand_r @ w_i (zrand_r: the values of the places the first
    k_i ids of row r point to) and the statistic:

    * Gi*: (lag_r + s_i z_i) / scaling, scaling = sum(y)
    * Gi:  lag_r / (scaling - z_i)
    * local Moran: z_i (lag_r + s_i z_i) scaling, scaling = (n - 1) / sum(z^2)

    exactly as esda's ``_g_local_star_crand``, ``_g_local_crand`` and
    ``_moran_local_crand`` write them. Places with the same k are stacked and their lags
    computed by one batched matrix product, which gives the same bits as esda's one product
    per place.
    """

    def __init__(
        self,
        z: FloatArray,
        weights: Any,
        observed: FloatArray,
        stat: Literal["gi_star", "gi", "moran"],
        scaling: float,
        ids: IntArray,
        alternative: Alternative,
        keep: bool,
    ) -> None:
        n = z.size
        m = sp.csr_matrix(weights, dtype=np.float64, copy=True)
        self_w = np.asarray(m.diagonal(), dtype=np.float64)
        m.setdiag(0.0)
        m.eliminate_zeros()
        m.sort_indices()
        card = np.diff(m.indptr).astype(np.int64)
        permutations = ids.shape[0]
        self.larger = np.zeros(n, dtype=np.int64)
        self.mean = np.full(n, np.nan)
        self.std = np.full(n, np.nan)
        self.sim: FloatArray | None = np.full((n, permutations), np.nan) if keep else None
        self.islands = np.flatnonzero(card == 0)
        for k in np.unique(card[card > 0]):
            sites = np.flatnonzero(card == k)
            step = max(1, _CHUNK_ELEMENTS // max(1, permutations * int(k)))
            base = ids[:, :k]
            for lo in range(0, sites.size, step):
                chunk = sites[lo:lo + step]
                shifted = base[None, :, :] + (base[None, :, :] >= chunk[:, None, None])
                zrand = z[shifted]
                w = m.data[m.indptr[chunk][:, None] + np.arange(k)[None, :]]
                lag = np.matmul(zrand, w[:, :, None])[:, :, 0]
                zi = z[chunk][:, None]
                if stat == "gi_star":
                    rstat = (lag + self_w[chunk][:, None] * zi) / scaling
                elif stat == "gi":
                    rstat = lag / (scaling - zi)
                else:
                    rstat = zi * (lag + self_w[chunk][:, None] * zi) * scaling
                obs = observed[chunk][:, None]
                if alternative == "lesser":
                    self.larger[chunk] = (rstat <= obs).sum(axis=1)
                else:
                    self.larger[chunk] = (rstat >= obs).sum(axis=1)
                self.mean[chunk] = rstat.mean(axis=1)
                self.std[chunk] = rstat.std(axis=1)
                if self.sim is not None:
                    self.sim[chunk] = rstat
        count = self.larger.astype(np.float64)
        if alternative == "directed":
            low = (permutations - count) < count
            count[low] = permutations - count[low]
        self.p_sim = (count + 1.0) / (permutations + 1.0)
        self.p_sim[self.islands] = 1.0


def _pseudo_p_and_moments(
    obs: FloatArray, sim: _Simulation
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """p_sim, EG_sim, seG_sim, VG_sim, z_sim, p_z_sim (one-tailed, as esda)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z_sim = (obs - sim.mean) / sim.std
    p_z_sim = np.asarray(stats.norm.sf(np.abs(z_sim)), dtype=np.float64)
    return sim.p_sim, sim.mean, sim.std, sim.std * sim.std, z_sim, p_z_sim


def _values(y: npt.ArrayLike, w: SpatialWeights) -> FloatArray:
    arr = np.asarray(y, dtype=np.float64).ravel()
    if arr.size != w.n:
        raise ValueError(f"y has {arr.size} values but the weights have {w.n} places")
    if not np.all(np.isfinite(arr)):
        raise ValueError("y has missing or infinite values")
    return arr


def _transformed(matrix: Any, transform: str) -> Any:
    m = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    if transform == "B":
        return m
    if transform == "R":
        rows = np.asarray(m.sum(axis=1)).ravel()
        scale = np.divide(1.0, rows, out=np.zeros_like(rows), where=rows > 0)
        m = sp.csr_matrix(sp.diags(scale) @ m)
        m.sort_indices()
        return m
    raise ValueError(f"transform must be 'B' (binary) or 'R' (row-standardised), got "
                     f"{transform!r}")


def _permutation_table(
    n: int, max_card: int, permutations: int, rng: np.random.Generator | None,
    permutation_ids: npt.ArrayLike | None,
) -> IntArray:
    if permutation_ids is not None:
        return _check_ids(np.asarray(permutation_ids), n, permutations, max_card)
    if rng is None:
        raise ValueError("give an explicit random generator (rng=np.random.default_rng(seed)) "
                         "or the permutation_ids to use, so results can be reproduced")
    return conditional_permutation_ids(n, max_card, permutations, rng)


def _adjusted(p: FloatArray) -> tuple[FloatArray, FloatArray]:
    return adjust_p_values(p, "fdr_bh"), adjust_p_values(p, "bonferroni")


# --------------------------------------------------------------------------- local Gi*


class LocalGi:
    """Local Getis-Ord G_i* (``star=True``, default) or G_i, with permutation inference.

    With weights w_ij (self weight w_ii = 1 for G_i*, 0 for G_i; binary by default, or
    row-standardised with ``transform="R"``)::

        G_i* = sum_j w_ij y_j / sum_j y_j                           (Getis & Ord 1992)

    Analytical moments, for any weights (Ord & Getis 1995, Geographical Analysis
    27:286-306, eq. 9-10), with N the number of values compared (n for G_i*, n - 1 for G_i,
    i's own value left out of the mean and variance), x_bar and s^2 = mean(y^2) - x_bar^2
    over those N values, W_i = sum_j w_ij and S1_i = sum_j w_ij^2::

        E[G_i] = W_i / N
        Var[G_i] = (N S1_i - W_i^2) / (N - 1) * s^2 / (N x_bar)^2
        z_i = (sum_j w_ij y_j - x_bar W_i) / (s sqrt((N S1_i - W_i^2) / (N - 1)))

    This z is the Gi* z-score ArcGIS Pro's Hot Spot Analysis reports. With binary weights
    (S1_i = W_i) it is esda's ``G_Local(..., transform="B")`` ``Zs`` exactly. With
    row-standardised weights esda uses W_i (N - W_i) in place of N S1_i - W_i^2, which is the
    binary formula with W_i = 1 and not the variance of the row-standardised statistic;
    here the general formula is used, under which a row-standardised Gi* z equals the binary
    one (tested). ``G``, ``EG`` and the permutation results equal esda's for both transforms.

    Attributes (esda's names where esda has them): ``Gs``, ``EGs``, ``VGs``, ``Zs``;
    ``p_norm`` = 1 - Phi(|z|) (one-tailed, as esda); ``p_z`` = 2 p_norm (two-sided, as
    ArcGIS); ``p_sim``, ``EG_sim``, ``seG_sim``, ``VG_sim``, ``z_sim``, ``p_z_sim``;
    ``p_fdr`` and ``p_bonferroni`` (p_sim adjusted over the places); ``sim`` (n x R
    simulated statistics, only with ``keep_simulations=True``).
    """

    def __init__(
        self,
        y: npt.ArrayLike,
        w: SpatialWeights,
        *,
        star: bool = True,
        transform: Transform = "B",
        permutations: int = PERMUTATIONS,
        rng: np.random.Generator | None = None,
        permutation_ids: npt.ArrayLike | None = None,
        alternative: Alternative = "directed",
        keep_simulations: bool = False,
    ) -> None:
        self.y = _values(y, w)
        self.w = w
        self.n = w.n
        self.star = star
        self.transform = transform
        self.permutations = permutations
        if self.y.sum() == 0:
            raise ValueError("every value is zero: there is nothing to find hot spots in")
        base = w.with_self_weight(1.0) if star else sp.csr_matrix(w.matrix, copy=True)
        matrix = _transformed(base, transform)
        self.weights_matrix = matrix
        y = self.y
        total = float(y.sum())
        remove_self = 0.0 if star else 1.0
        self.Gs = np.asarray((matrix @ y) / (total - y * remove_self), dtype=np.float64)
        big_n = self.n - (0 if star else 1)
        mean = (total - y * remove_self) / big_n
        mean_sq = ((y ** 2).sum() - (y ** 2) * remove_self) / big_n
        s2 = mean_sq - mean ** 2
        w_i = np.asarray(matrix.sum(axis=1)).ravel()
        s1_i = np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel()
        self.EGs = w_i / big_n
        spread = (big_n * s1_i - w_i ** 2) / (big_n - 1)
        self.VGs = spread * s2 / (big_n * mean) ** 2
        lag = np.asarray(matrix @ y).ravel()
        with np.errstate(divide="ignore", invalid="ignore"):
            self.Zs = (lag - mean * w_i) / (np.sqrt(s2) * np.sqrt(spread))
        self.p_norm = np.asarray(stats.norm.sf(np.abs(self.Zs)), dtype=np.float64)
        self.p_z = np.minimum(1.0, 2.0 * self.p_norm)
        if permutations < 1:
            raise ValueError("permutations must be at least 1 (999 is usual)")
        card = w.cardinalities
        ids = _permutation_table(self.n, int(card.max()), permutations, rng, permutation_ids)
        self.permutation_ids = ids
        sim = _Simulation(y, matrix, self.Gs, "gi_star" if star else "gi", total, ids,
                          alternative, keep_simulations)
        (self.p_sim, self.EG_sim, self.seG_sim, self.VG_sim, self.z_sim,
         self.p_z_sim) = _pseudo_p_and_moments(self.Gs, sim)
        self.sim = sim.sim
        self.islands = sim.islands
        self.p_fdr, self.p_bonferroni = _adjusted(self.p_sim)

    def labels(self, alpha: float = 0.05, p: Literal["fdr", "sim", "bonferroni",
                                                      "norm"] = "fdr") -> list[str]:
        """"hot spot" (z > 0), "cold spot" (z < 0) or "not significant", by p < alpha
        (``p``: the adjusted pseudo p-value by default; "norm" the two-sided normal one)."""
        pv = {"fdr": self.p_fdr, "sim": self.p_sim, "bonferroni": self.p_bonferroni,
              "norm": self.p_z}[p]
        return [("hot spot" if z > 0 else "cold spot") if (q < alpha and z != 0)
                else "not significant" for z, q in zip(self.Zs, pv, strict=True)]


# --------------------------------------------------------------------------- local Moran


class LocalMoran:
    """Local Moran's I (Anselin 1995), with conditional permutation inference.

    With z_i = (y_i - y_bar) / sd(y) (population sd), m2 = sum z^2 / n and weights w_ij
    (row-standardised by default, as esda's ``Moran_Local``)::

        I_i = (n - 1) z_i sum_j w_ij z_j / sum_j z_j^2

    Quadrant ``q`` (esda numbering): 1 HH (z_i > 0, lag > 0), 2 LH, 3 LL, 4 HL.
    Analytical moments as esda: under total randomisation (Sokal, Oden & Thomson 1998,
    Geographical Analysis 30:331-54, eqs. A3-A4), with w_i = sum_j w_ij,
    w_i2 = sum_j w_ij^2 and b2 = m4 / m2^2::

        EI_i = -w_i / (n - 1)
        VI_i = w_i2 (n - b2) / (n - 1) + (w_i^2 - w_i2)(2 b2 - n) / ((n - 1)(n - 2))
               - (w_i / (n - 1))^2

    and under conditional randomisation (eqs. A7-A8)::

        EIc_i = -z_i^2 w_i / ((n - 1) m2)
        VIc_i = (z_i / m2)^2 n / (n - 2) (w_i2 - w_i^2 / (n - 1)) (m2 - z_i^2 / (n - 1))

    Attributes: ``Is``, ``q``, ``EI``, ``VI``, ``EIc``, ``VIc``, ``p_sim``, ``EI_sim``,
    ``seI_sim``, ``VI_sim``, ``z_sim``, ``p_z_sim``, ``p_fdr``, ``p_bonferroni``, ``sim``.
    """

    def __init__(
        self,
        y: npt.ArrayLike,
        w: SpatialWeights,
        *,
        transform: Transform = "R",
        permutations: int = PERMUTATIONS,
        rng: np.random.Generator | None = None,
        permutation_ids: npt.ArrayLike | None = None,
        alternative: Alternative = "directed",
        keep_simulations: bool = False,
    ) -> None:
        self.y = _values(y, w)
        self.w = w
        n = self.n = w.n
        self.transform = transform
        self.permutations = permutations
        sd = self.y.std()
        if sd == 0:
            raise ValueError("every value is the same: local Moran's I is undefined")
        z = (self.y - self.y.mean()) / sd
        self.z = z
        matrix = _transformed(w.matrix, transform)
        self.weights_matrix = matrix
        den = (z * z).sum()
        self.den = den
        zl = matrix @ z
        self.lag = np.asarray(zl, dtype=np.float64)
        self.Is = np.asarray((n - 1) * z * zl / den, dtype=np.float64)
        zp = z > 0
        lp = zl > 0
        self.q = np.where(zp & lp, 1, np.where(~zp & lp, 2, np.where(~zp & ~lp, 3, 4)))
        m2 = (z * z).sum() / n
        wi = np.asarray(matrix.sum(axis=1)).ravel()
        wi2 = np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel()
        self.EIc = -(z ** 2 * wi) / ((n - 1) * m2)
        self.VIc = ((z / m2) ** 2 * (n / (n - 2)) * (wi2 - (wi ** 2 / (n - 1)))
                    * (m2 - (z ** 2 / (n - 1))))
        m4 = (z ** 4).sum() / n
        b2 = m4 / m2 ** 2
        n1 = n - 1
        self.EI = -wi / n1
        vi = wi2 * (n - b2) / n1
        vi += (wi ** 2 - wi2) * (2 * b2 - n) / (n1 * (n - 2))
        vi -= (-wi / n1) ** 2
        self.VI = vi
        if permutations < 1:
            raise ValueError("permutations must be at least 1 (999 is usual)")
        ids = _permutation_table(n, int(w.cardinalities.max()), permutations, rng,
                                 permutation_ids)
        self.permutation_ids = ids
        sim = _Simulation(z, matrix, self.Is, "moran", (n - 1) / (z * z).sum(), ids,
                          alternative, keep_simulations)
        (self.p_sim, self.EI_sim, self.seI_sim, self.VI_sim, self.z_sim,
         self.p_z_sim) = _pseudo_p_and_moments(self.Is, sim)
        self.sim = sim.sim
        self.islands = sim.islands
        self.p_fdr, self.p_bonferroni = _adjusted(self.p_sim)

    @property
    def quadrant_labels(self) -> list[str]:
        return [QUADRANT_LABELS[int(q)] for q in self.q]

    def cluster_labels(self, alpha: float = 0.05,
                       p: Literal["fdr", "sim", "bonferroni"] = "fdr") -> list[str]:
        """The quadrant ("HH", "LH", "LL", "HL") where p < alpha, else "not significant"."""
        pv = {"fdr": self.p_fdr, "sim": self.p_sim, "bonferroni": self.p_bonferroni}[p]
        return [QUADRANT_LABELS[int(q)] if pp < alpha else "not significant"
                for q, pp in zip(self.q, pv, strict=True)]


# --------------------------------------------------------------------------- global Moran


class Moran:
    """Global Moran's I (Moran 1950; Cliff & Ord 1981, Spatial Processes, ch. 1-2).

    With z = y - y_bar, S0 = sum_ij w_ij, S1 = 1/2 sum_ij (w_ij + w_ji)^2,
    S2 = sum_i (w_i. + w_.i)^2 and weights row-standardised by default::

        I = n / S0 * sum_ij w_ij z_i z_j / sum_i z_i^2        E[I] = -1 / (n - 1)
        Var_norm[I] = (n^2 S1 - n S2 + 3 S0^2) / ((n - 1)(n + 1) S0^2) - E[I]^2
        Var_rand[I] = (n((n^2 - 3n + 3) S1 - n S2 + 3 S0^2)
                       - k((n^2 - n) S1 - 2n S2 + 6 S0^2)) / ((n - 1)(n - 2)(n - 3) S0^2)
                      - E[I]^2,   k = (sum z^4 / n) / (sum z^2 / n)^2

    z_norm and z_rand with two-tailed p_norm and p_rand (as esda's ``two_tailed=True``).
    Permutation inference: I recomputed for ``permutations`` random orderings of the
    values; ``p_sim`` is esda's directed pseudo p-value (module docstring), ``p_z_sim`` one
    tail of the normal with the simulated mean and sd. ``permutation_orders`` (R x n, each
    row a permutation of 0..n-1) replaces the draws: esda draws
    ``np.random.permutation(z)``, which equals ``z[np.random.permutation(n)]``.
    """

    def __init__(
        self,
        y: npt.ArrayLike,
        w: SpatialWeights,
        *,
        transform: Transform = "R",
        permutations: int = PERMUTATIONS,
        rng: np.random.Generator | None = None,
        permutation_orders: npt.ArrayLike | None = None,
    ) -> None:
        self.y = _values(y, w)
        self.w = w
        n = self.n = w.n
        self.transform = transform
        self.permutations = permutations
        matrix = _transformed(w.matrix, transform)
        self.weights_matrix = matrix
        z = self.y - self.y.mean()
        self.z2ss = float((z * z).sum())
        if self.z2ss == 0:
            raise ValueError("every value is the same: Moran's I is undefined")
        s0 = float(matrix.sum())
        sym = matrix + matrix.T
        s1 = float(sym.multiply(sym).sum()) / 2.0
        s2 = float(((np.asarray(matrix.sum(axis=1)).ravel()
                     + np.asarray(matrix.sum(axis=0)).ravel()) ** 2).sum())
        self.s0, self.s1, self.s2 = s0, s1, s2
        self.EI = -1.0 / (n - 1)
        n2 = n * n
        s02 = s0 * s0
        self.VI_norm = (n2 * s1 - n * s2 + 3 * s02) / ((n - 1) * (n + 1) * s02) \
            - (1.0 / (n - 1)) ** 2
        self.seI_norm = self.VI_norm ** 0.5
        k = ((z ** 4).sum() / n) / ((z ** 2).sum() / n) ** 2
        a = n * ((n2 - 3 * n + 3) * s1 - n * s2 + 3 * s02)
        b = k * ((n2 - n) * s1 - 2 * n * s2 + 6 * s02)
        self.VI_rand = (a - b) / ((n - 1) * (n - 2) * (n - 3) * s02) - self.EI * self.EI
        self.seI_rand = self.VI_rand ** 0.5
        self.I = self._calc(matrix, z)
        self.z_norm = (self.I - self.EI) / self.seI_norm
        self.z_rand = (self.I - self.EI) / self.seI_rand
        tail = stats.norm.sf if self.z_norm > 0 else stats.norm.cdf
        self.p_norm = 2.0 * float(tail(self.z_norm))
        tail = stats.norm.sf if self.z_rand > 0 else stats.norm.cdf
        self.p_rand = 2.0 * float(tail(self.z_rand))
        if permutations < 1:
            raise ValueError("permutations must be at least 1 (999 is usual)")
        if permutation_orders is not None:
            orders = np.asarray(permutation_orders, dtype=np.int64)
            if orders.shape != (permutations, n):
                raise ValueError(f"permutation_orders must have shape ({permutations}, {n})")
        elif rng is not None:
            orders = np.stack([rng.permutation(n) for _ in range(permutations)])
        else:
            raise ValueError("give an explicit random generator (rng=...) or the "
                             "permutation_orders to use")
        sim = np.array([self._calc(matrix, z[order]) for order in orders])
        self.sim = sim
        larger = int((sim >= self.I).sum())
        if (permutations - larger) < larger:
            larger = permutations - larger
        self.p_sim = (larger + 1.0) / (permutations + 1.0)
        self.EI_sim = float(sim.sum() / permutations)
        self.seI_sim = float(sim.std())
        self.VI_sim = self.seI_sim ** 2
        self.z_sim = ((self.I - self.EI_sim) / self.seI_sim if self.seI_sim > 0
                      else float("nan"))
        tail = stats.norm.sf if self.z_sim > 0 else stats.norm.cdf
        self.p_z_sim = float(tail(self.z_sim))

    def _calc(self, matrix: Any, z: FloatArray) -> float:
        zl = matrix @ z
        inum = (z * zl).sum()
        return float(self.n / self.s0 * inum / self.z2ss)
