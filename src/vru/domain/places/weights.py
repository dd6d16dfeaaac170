"""Spatial weights: which places are neighbours, built from boundaries or points.

A weights matrix W (n x n) says which of n places are neighbours: w_ij = 1 when j is a
neighbour of i, 0 otherwise (binary weights; w_ii = 0). Local statistics weight each place's
neighbours by W, so W is part of every hot spot result and is reported with it.

Four rules (Anselin 1988, Spatial Econometrics, ch. 3; Getis & Aldstadt 2004, Geographical
Analysis 36:90-104):

* **queen** contiguity: i and j share any part of their boundary, a point will do;
* **rook** contiguity: i and j share a stretch of boundary at least ``min_shared_length``
  long (a corner is not enough);
* **k nearest neighbours** (``knn``): the k places whose centroids are nearest i's (not
  symmetric: j can be among i's nearest without i being among j's);
* **distance band**: every place whose centroid lies within ``threshold`` of i's. Without a
  threshold the smallest distance giving every place a neighbour is used (the largest
  nearest-neighbour distance), as ArcGIS Pro and libpysal's ``min_threshold_distance`` do.

Boundaries that should touch often do not quite: generalised boundary files and reprojected
coordinates leave slivers and overlaps of a millimetre. Contiguity is therefore decided with a
``tolerance`` (metres, 1 cm by default): two polygons are queen neighbours when they are no
further apart than that. (London's generalised 2011 LSOA layer shares no vertex exactly:
libpysal's vertex-matching ``Queen`` finds 4,835 islands in it; with a 1 cm tolerance every
LSOA has 1 to 15 neighbours and the whole of London is one connected piece.) Coordinates
must be projected in metres (British National Grid).

**Islands** (places with no neighbour under the rule, such as an island in a river) have
no local statistic worth the name. ``islands="nearest"`` (default) links each island to its
``island_neighbours`` nearest places by centroid, both ways, and reports the links;
``"keep"`` leaves it with no neighbours (its lag is 0, as esda's ``island_weight=0``);
``"drop"`` leaves it out of the weights (the caller must leave it out of the data too).
**Disconnected parts** (groups of places with no link to the rest, e.g. the two banks of a
river whose boundaries stop at the water's edge) are counted and reported; statistics are
valid on them, but a hot spot cannot spread across the gap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

WeightsRule = Literal["queen", "rook", "knn", "distance_band"]
IslandPolicy = Literal["nearest", "keep", "drop"]
WEIGHTS_RULES: tuple[str, ...] = ("queen", "rook", "knn", "distance_band")
ISLAND_POLICIES: tuple[str, ...] = ("nearest", "keep", "drop")

DEFAULT_TOLERANCE = 0.01
"""Metres: polygons this close count as touching (float noise, generalisation slivers)."""
DEFAULT_MIN_SHARED_LENGTH = 1.0
"""Metres of common boundary that make rook neighbours (more than a corner)."""
DEFAULT_K = 6

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class WeightsReport:
    """What the weights are like, in numbers and words: shown beside every hot spot table."""

    rule: str
    n: int
    links: int
    min_neighbours: int
    mean_neighbours: float
    max_neighbours: int
    islands: tuple[str, ...]
    island_policy: str
    island_links: tuple[tuple[str, str], ...]
    dropped: tuple[str, ...]
    components: int
    component_sizes: tuple[int, ...]
    symmetric: bool
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule, "n": self.n, "links": self.links,
            "min_neighbours": self.min_neighbours, "mean_neighbours": self.mean_neighbours,
            "max_neighbours": self.max_neighbours, "islands": list(self.islands),
            "island_policy": self.island_policy,
            "island_links": [list(p) for p in self.island_links], "dropped": list(self.dropped),
            "components": self.components, "component_sizes": list(self.component_sizes),
            "symmetric": self.symmetric, "notes": list(self.notes),
        }


@dataclass(frozen=True, eq=False)
class SpatialWeights:
    """Binary spatial weights over ``ids`` (in that order).

    ``matrix`` is a CSR matrix, w_ij = 1 for each neighbour j of i, zero diagonal, column
    indices sorted within each row (the order esda's conditional permutation reads weights
    in). Build one with ``contiguity_weights``, ``knn_weights``, ``distance_band_weights``,
    ``from_neighbours`` or ``build_weights``.
    """

    ids: tuple[str, ...]
    matrix: Any
    rule: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    report: WeightsReport | None = None

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def cardinalities(self) -> IntArray:
        """Number of neighbours of each place (row non-zeros)."""
        return np.asarray(np.diff(self.matrix.indptr), dtype=np.int64)

    def index(self) -> dict[str, int]:
        return {code: i for i, code in enumerate(self.ids)}

    def neighbours_of(self, code: str) -> list[str]:
        i = self.index()[code]
        row = self.matrix.indices[self.matrix.indptr[i]:self.matrix.indptr[i + 1]]
        return [self.ids[j] for j in row]

    def components(self) -> tuple[int, IntArray]:
        """(number of connected parts, part label of each place), links taken both ways."""
        count, labels = connected_components(self.matrix, directed=True, connection="weak")
        return int(count), np.asarray(labels, dtype=np.int64)

    def with_self_weight(self, weight: float = 1.0) -> Any:
        """W with ``weight`` on the diagonal (Gi*: each place counts in its own sum)."""
        m = sp.csr_matrix(self.matrix, dtype=np.float64, copy=True)
        m.setdiag(weight)
        m.eliminate_zeros()
        m.sort_indices()
        return m

    def to_libpysal(self) -> Any:
        """The same weights as a ``libpysal.weights.W`` (for esda and other PySAL tools)."""
        from libpysal.weights import W

        m = self.matrix
        neighbours: dict[str, list[str]] = {}
        values: dict[str, list[float]] = {}
        for i, code in enumerate(self.ids):
            lo, hi = m.indptr[i], m.indptr[i + 1]
            neighbours[code] = [self.ids[j] for j in m.indices[lo:hi]]
            values[code] = [float(v) for v in m.data[lo:hi]]
        return W(neighbours, values, id_order=list(self.ids), silence_warnings=True)


def from_neighbours(
    ids: Sequence[str],
    neighbours: Mapping[str, Iterable[str]],
    rule: str = "custom",
    parameters: Mapping[str, Any] | None = None,
) -> SpatialWeights:
    """Binary weights from a neighbour list ({id: [neighbour ids]}); islands are kept."""
    codes = _check_ids(ids)
    index = {c: i for i, c in enumerate(codes)}
    rows: list[int] = []
    cols: list[int] = []
    for code, nbrs in neighbours.items():
        if code not in index:
            raise KeyError(f"{code!r} is not one of the ids")
        for nb in nbrs:
            if nb not in index:
                raise KeyError(f"neighbour {nb!r} of {code!r} is not one of the ids")
            if nb != code:
                rows.append(index[code])
                cols.append(index[nb])
    return _finish(codes, np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64),
                   rule, dict(parameters or {}), "keep", None, 1)


def contiguity_weights(
    ids: Sequence[str],
    geometries: Sequence[Any] | npt.NDArray[Any],
    rule: Literal["queen", "rook"] = "queen",
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    min_shared_length: float = DEFAULT_MIN_SHARED_LENGTH,
    islands: IslandPolicy = "nearest",
    island_neighbours: int = 1,
) -> SpatialWeights:
    """Queen or rook contiguity between polygons (projected, metres).

    Queen: i ~ j when distance(P_i, P_j) <= ``tolerance``. Rook: queen, and the length of
    P_i's boundary lying within ``tolerance`` of P_j is at least ``min_shared_length``.
    Candidate pairs come from a shapely STRtree ``dwithin`` query. Islands as the module
    docstring says. Cliff & Ord 1981, Spatial Processes, s.1.5; Anselin 1988, ch. 3.
    """
    if rule not in ("queen", "rook"):
        raise ValueError(f"contiguity rule must be 'queen' or 'rook', got {rule!r}")
    if tolerance < 0 or min_shared_length < 0:
        raise ValueError("tolerance and min_shared_length must not be negative")
    codes = _check_ids(ids)
    geoms = np.asarray(geometries, dtype=object)
    if geoms.shape != (len(codes),):
        raise ValueError("give one geometry per id")
    if np.any(shapely.is_missing(geoms)) or np.any(shapely.is_empty(geoms)):
        bad = [codes[i] for i in np.flatnonzero(shapely.is_missing(geoms)
                                                | shapely.is_empty(geoms))[:5]]
        raise ValueError(f"areas with no geometry: {', '.join(bad)}")
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="dwithin", distance=tolerance)
    keep = a < b
    a, b = a[keep].astype(np.int64), b[keep].astype(np.int64)
    if rule == "rook" and a.size:
        edges = shapely.boundary(geoms)
        near = shapely.buffer(edges[b], tolerance if tolerance > 0 else 1e-9, quad_segs=2)
        shared = shapely.length(shapely.intersection(edges[a], near))
        ok = shared >= min_shared_length
        a, b = a[ok], b[ok]
    rows = np.concatenate([a, b])
    cols = np.concatenate([b, a])
    params = {"tolerance_m": tolerance, "islands": islands,
              "island_neighbours": island_neighbours}
    if rule == "rook":
        params["min_shared_length_m"] = min_shared_length
    centroids = shapely.get_coordinates(shapely.centroid(geoms))
    return _finish(codes, rows, cols, rule, params, islands, centroids, island_neighbours)


def knn_weights(
    ids: Sequence[str], points: npt.ArrayLike, k: int = DEFAULT_K
) -> SpatialWeights:
    """Each place's ``k`` nearest places by centroid distance (ties broken by order).

    w_ij = 1 for the k nearest j != i. Not symmetric. No islands by construction.
    """
    codes = _check_ids(ids)
    xy = _points(points, len(codes))
    if not 1 <= k < len(codes):
        raise ValueError(f"k must be between 1 and {len(codes) - 1}, got {k}")
    _dist, idx = cKDTree(xy).query(xy, k=k + 1)
    rows: list[int] = []
    cols: list[int] = []
    for i in range(len(codes)):
        others = [int(j) for j in idx[i] if j != i][:k]
        rows += [i] * len(others)
        cols += others
    return _finish(codes, np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64),
                   "knn", {"k": k}, "keep", xy, 1)


def min_threshold_distance(points: npt.ArrayLike) -> float:
    """The largest nearest-neighbour distance: the smallest band giving every place a
    neighbour."""
    xy = np.asarray(points, dtype=np.float64)
    if xy.shape[0] < 2:
        raise ValueError("need at least two places")
    dist, _idx = cKDTree(xy).query(xy, k=2)
    return float(dist[:, 1].max())


def distance_band_weights(
    ids: Sequence[str],
    points: npt.ArrayLike,
    threshold: float | None = None,
    *,
    islands: IslandPolicy = "nearest",
    island_neighbours: int = 1,
) -> SpatialWeights:
    """w_ij = 1 when the distance between i's and j's centroids is at most ``threshold``
    (metres); by default ``min_threshold_distance``, which leaves no island."""
    codes = _check_ids(ids)
    xy = _points(points, len(codes))
    band = min_threshold_distance(xy) if threshold is None else float(threshold)
    if not band > 0:
        raise ValueError(f"the distance band must be positive, got {band}")
    pairs = cKDTree(xy).query_pairs(band, output_type="ndarray").astype(np.int64)
    rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
    cols = np.concatenate([pairs[:, 1], pairs[:, 0]])
    params = {"threshold_m": band, "threshold_chosen": threshold is None,
              "islands": islands, "island_neighbours": island_neighbours}
    return _finish(codes, rows, cols, "distance_band", params, islands, xy, island_neighbours)


def build_weights(
    rule: str,
    ids: Sequence[str],
    geometries: Sequence[Any] | npt.NDArray[Any],
    *,
    k: int = DEFAULT_K,
    threshold: float | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    min_shared_length: float = DEFAULT_MIN_SHARED_LENGTH,
    islands: IslandPolicy = "nearest",
    island_neighbours: int = 1,
) -> SpatialWeights:
    """Weights by ``rule`` ("queen", "rook", "knn", "distance_band") from polygons; the
    point rules use the polygons' centroids."""
    if rule not in WEIGHTS_RULES:
        raise ValueError(f"unknown weights rule {rule!r}; use one of {', '.join(WEIGHTS_RULES)}")
    if islands not in ISLAND_POLICIES:
        raise ValueError(f"unknown island policy {islands!r}; use one of "
                         f"{', '.join(ISLAND_POLICIES)}")
    if rule in ("queen", "rook"):
        return contiguity_weights(ids, geometries, rule,  # type: ignore[arg-type]
                                  tolerance=tolerance, min_shared_length=min_shared_length,
                                  islands=islands, island_neighbours=island_neighbours)
    centroids = shapely.get_coordinates(shapely.centroid(np.asarray(geometries, dtype=object)))
    if rule == "knn":
        return knn_weights(ids, centroids, k)
    return distance_band_weights(ids, centroids, threshold, islands=islands,
                                 island_neighbours=island_neighbours)


# --------------------------------------------------------------------------- helpers


def _check_ids(ids: Sequence[str]) -> tuple[str, ...]:
    codes = tuple(str(c) for c in ids)
    if len(codes) < 2:
        raise ValueError("spatial weights need at least two places")
    if len(set(codes)) != len(codes):
        seen: set[str] = set()
        dup = [c for c in codes if c in seen or seen.add(c)]  # type: ignore[func-returns-value]
        raise ValueError(f"ids must be unique; repeated: {', '.join(sorted(set(dup))[:5])}")
    return codes


def _points(points: npt.ArrayLike, n: int) -> FloatArray:
    xy = np.asarray(points, dtype=np.float64)
    if xy.shape != (n, 2):
        raise ValueError(f"give one (x, y) point per id: expected shape ({n}, 2), got "
                         f"{xy.shape}")
    if not np.all(np.isfinite(xy)):
        raise ValueError("points must have finite coordinates")
    return xy


def _finish(
    codes: tuple[str, ...],
    rows: IntArray,
    cols: IntArray,
    rule: str,
    params: dict[str, Any],
    islands: str,
    centroids: FloatArray | None,
    island_neighbours: int,
) -> SpatialWeights:
    n = len(codes)
    matrix = _binary(rows, cols, n)
    card = np.diff(matrix.indptr)
    island_idx = np.flatnonzero(card == 0)
    island_codes = tuple(codes[i] for i in island_idx)
    links: list[tuple[str, str]] = []
    dropped: tuple[str, ...] = ()
    notes: list[str] = []
    if island_idx.size and islands == "nearest":
        if centroids is None:
            raise ValueError("linking islands to their nearest places needs centroids")
        if island_neighbours < 1:
            raise ValueError("island_neighbours must be at least 1")
        kk = min(island_neighbours, n - 1)
        _dist, idx = cKDTree(centroids).query(centroids[island_idx], k=kk + 1)
        idx = np.atleast_2d(idx)
        add_r: list[int] = []
        add_c: list[int] = []
        for i, near in zip(island_idx, idx, strict=True):
            for j in [int(j) for j in near if j != i][:kk]:
                add_r += [int(i), j]
                add_c += [j, int(i)]
                links.append((codes[i], codes[j]))
        matrix = _binary(np.concatenate([rows, add_r]), np.concatenate([cols, add_c]), n)
        notes.append(f"{island_idx.size} place(s) had no neighbour under the {rule} rule and "
                     f"were linked to their {kk} nearest place(s) by centroid: "
                     + ", ".join(f"{a} -> {b}" for a, b in links[:10])
                     + (" ..." if len(links) > 10 else ""))
    elif island_idx.size and islands == "drop":
        keep = np.flatnonzero(card > 0)
        dropped = island_codes
        sub = matrix[keep][:, keep]
        codes = tuple(codes[i] for i in keep)
        matrix = sp.csr_matrix(sub)
        matrix.sort_indices()
        notes.append(f"{len(dropped)} place(s) with no neighbour were left out: "
                     + ", ".join(dropped[:10]) + (" ..." if len(dropped) > 10 else ""))
    elif island_idx.size:
        notes.append(f"{island_idx.size} place(s) have no neighbour (kept; their spatial lag "
                     "is 0): " + ", ".join(island_codes[:10])
                     + (" ..." if island_idx.size > 10 else ""))
    card = np.diff(matrix.indptr)
    count, labels = connected_components(matrix, directed=True, connection="weak")
    sizes = tuple(sorted(np.bincount(labels).tolist(), reverse=True))
    if count > 1:
        notes.append(f"The places fall into {count} parts with no neighbour link between them "
                     f"(sizes {', '.join(str(s) for s in sizes[:8])}"
                     + (" ..." if count > 8 else "") + "); a cluster cannot cross between parts.")
    symmetric = bool((matrix != matrix.T).nnz == 0)
    report = WeightsReport(
        rule=rule, n=len(codes), links=int(matrix.nnz),
        min_neighbours=int(card.min()) if card.size else 0,
        mean_neighbours=float(card.mean()) if card.size else 0.0,
        max_neighbours=int(card.max()) if card.size else 0,
        islands=island_codes, island_policy=islands, island_links=tuple(links),
        dropped=dropped, components=int(count), component_sizes=sizes, symmetric=symmetric,
        notes=tuple(notes))
    return SpatialWeights(codes, matrix, rule, params, report)


def _binary(rows: npt.ArrayLike, cols: npt.ArrayLike, n: int) -> Any:
    r = np.asarray(rows, dtype=np.int64)
    c = np.asarray(cols, dtype=np.int64)
    keep = r != c
    m = sp.csr_matrix((np.ones(int(keep.sum())), (r[keep], c[keep])), shape=(n, n))
    m.sum_duplicates()
    m.data[:] = 1.0
    m.sort_indices()
    return m
