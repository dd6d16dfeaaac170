"""Emerging hot spot analysis: space-time Gi* against esda and a brute-force sum, and every
one of the seventeen categories on constructed series."""

from __future__ import annotations

import warnings

import esda
import libpysal
import numpy as np
import pymannkendall as pmk
import pytest
from numpy.testing import assert_allclose

from vru.domain.places import emerging_hotspots as eh
from vru.domain.places.weights import SpatialWeights, from_neighbours

Z = {"H": 3.0, "C": -3.0, ".": 0.4, "-": -0.4}


def series(pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """z-scores and significance from a pattern: H significant hot, C significant cold,
    "." or "-" not significant (z = 0.4 or -0.4)."""
    z = np.array([Z[c] for c in pattern])
    return z, np.array([c in "HC" for c in pattern])


UP = (3.0, 0.001)  # Mann-Kendall z and p of the z-scores: significantly increasing
DOWN = (-3.0, 0.001)
FLAT = (0.5, 0.6)

CASES: list[tuple[str, tuple[float, float], str]] = [
    (".........H", FLAT, "new hot spot"),
    (".........C", FLAT, "new cold spot"),
    ("-------..H", FLAT, "new hot spot"),
    (".......HHH", FLAT, "consecutive hot spot"),
    ("........CC", FLAT, "consecutive cold spot"),
    ("HHHHHHHHHH", UP, "intensifying hot spot"),
    (".HHHHHHHHH", UP, "intensifying hot spot"),  # 9 of 10 = 90%
    ("CCCCCCCCCC", DOWN, "intensifying cold spot"),  # ever colder: z decreasing
    ("HHHHHHHHHH", FLAT, "persistent hot spot"),
    ("HHHH.HHHHH", FLAT, "persistent hot spot"),
    ("CCCCCCCCCC", FLAT, "persistent cold spot"),
    ("HHHHHHHHHH", DOWN, "diminishing hot spot"),
    ("CCCCCCCCCC", UP, "diminishing cold spot"),
    ("H..H.....H", FLAT, "sporadic hot spot"),
    ("..H..H....", FLAT, "sporadic hot spot"),  # on and off, not hot at the end
    ("C.C......C", FLAT, "sporadic cold spot"),
    ("...C......", FLAT, "sporadic cold spot"),
    ("C........H", FLAT, "oscillating hot spot"),  # hot at the end, cold before
    ("CC......HH", FLAT, "oscillating hot spot"),
    ("H...H....C", FLAT, "oscillating cold spot"),
    ("HHHHHHHHH.", FLAT, "historical hot spot"),
    ("CCCCCCCCC.", UP, "historical cold spot"),
    ("..........", FLAT, "no pattern detected"),
    ("H...C.....", FLAT, "no pattern detected"),  # hot and cold, neither at the end
]


@pytest.mark.parametrize(("pattern", "trend", "expected"), CASES)
def test_category_of_constructed_series(pattern: str, trend: tuple[float, float],
                                        expected: str) -> None:
    z, sig = series(pattern)
    assert eh.classify_series(z, sig, trend[0], trend[1]) == expected


def test_every_category_is_constructed() -> None:
    assert {c[2] for c in CASES} == set(eh.CATEGORIES)
    assert len(eh.CATEGORIES) == 17


@pytest.mark.parametrize(("pattern", "trend", "expected"), [
    # A trend that is not significant at alpha is no trend.
    ("HHHHHHHHHH", (2.0, 0.06), "persistent hot spot"),
    # 8 of 10 hot steps is under 90%: hot at the end with earlier separate hot steps.
    ("HHHH.HHH.H", UP, "sporadic hot spot"),
    # A run after an earlier hot step is not consecutive.
    (".H......HH", FLAT, "sporadic hot spot"),
    # With fewer than 10 steps, 90% means every step.
    ("HHHH.", FLAT, "sporadic hot spot"),
    ("HHHHH", FLAT, "persistent hot spot"),
    # Hot for >= 90% of steps and cold at the end: the final step's sign decides.
    ("HHHHHHHHHC", FLAT, "oscillating cold spot"),
])
def test_precedence_where_definitions_overlap(pattern: str, trend: tuple[float, float],
                                              expected: str) -> None:
    z, sig = series(pattern)
    assert eh.classify_series(z, sig, trend[0], trend[1], alpha=0.05) == expected


def line_weights(n: int) -> SpatialWeights:
    ids = [f"p{i}" for i in range(n)]
    return from_neighbours(ids, {ids[i]: [ids[j] for j in (i - 1, i + 1) if 0 <= j < n]
                                 for i in range(n)})


def lattice_weights(rows: int, cols: int) -> SpatialWeights:
    lw = libpysal.weights.lat2W(rows, cols, rook=False, id_type="string")
    return from_neighbours(lw.id_order, lw.neighbors)


def space_time_libpysal(w: SpatialWeights, steps: int, lag: int) -> libpysal.weights.W:
    """Bin (i, t) is node i * steps + t; its neighbours are (j, s) for j = i or a spatial
    neighbour of i and t - lag <= s <= t, other than itself."""
    nbrs: dict[int, list[int]] = {}
    for i, code in enumerate(w.ids):
        around = [i] + [w.ids.index(c) for c in w.neighbours_of(code)]
        for t in range(steps):
            nbrs[i * steps + t] = [j * steps + s for j in around
                                   for s in range(max(0, t - lag), t + 1)
                                   if (j, s) != (i, t)]
    return libpysal.weights.W(nbrs, silence_warnings=True)


@pytest.mark.parametrize("lag", [0, 1, 2])
def test_cube_window_gi_equals_esda_on_the_space_time_graph(lag: int) -> None:
    # With the whole cube as global window, space-time Gi* is plain Gi* on the graph whose
    # nodes are the bins: esda's G_Local (binary, star) on that graph is the reference.
    w = lattice_weights(6, 7)
    rng = np.random.default_rng(4)
    cube = rng.poisson(4.0, (w.n, 9)).astype(float)
    z, _s, _w = eh.space_time_gi(cube, w, lag, global_window="cube")
    wst = space_time_libpysal(w, 9, lag)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.G_Local(cube.ravel(), wst, transform="B", star=True, permutations=0)
    assert_allclose(z.ravel(), ref.Zs, rtol=1e-12, atol=1e-12)


def brute_force_z(cube: np.ndarray, w: SpatialWeights, lag: int, window: str,
                  scope: str) -> np.ndarray:
    n, steps = cube.shape
    out = np.zeros_like(cube)
    for i, code in enumerate(w.ids):
        nbrs = [w.ids.index(c) for c in w.neighbours_of(code)]
        for t in range(steps):
            lo = max(0, t - lag)
            if scope == "neighbourhood":
                bins = [(j, s) for j in [i, *nbrs] for s in range(lo, t + 1)]
            else:
                bins = [(j, t) for j in nbrs] + [(i, s) for s in range(lo, t + 1)]
            values = (cube if window == "cube" else cube[:, lo:t + 1]).ravel()
            big_n = values.size
            mean, sd = values.mean(), values.std()
            size = len(bins)
            total = sum(cube[j, s] for j, s in bins)
            out[i, t] = (total - mean * size) / (sd * np.sqrt((big_n * size - size ** 2)
                                                               / (big_n - 1)))
    return out


@pytest.mark.parametrize("window", ["cube", "neighbourhood"])
@pytest.mark.parametrize("scope", ["neighbourhood", "self"])
def test_space_time_gi_equals_brute_force(window: str, scope: str) -> None:
    w = line_weights(7)
    cube = np.random.default_rng(2).poisson(3.0, (7, 6)).astype(float)
    z, _s, _w = eh.space_time_gi(cube, w, 2, scope, window)  # type: ignore[arg-type]
    assert_allclose(z, brute_force_z(cube, w, 2, window, scope), rtol=1e-12, atol=1e-12)


def test_trend_is_mann_kendall_of_the_z_scores() -> None:
    w = lattice_weights(5, 5)
    rng = np.random.default_rng(8)
    cube = rng.poisson(5.0, (w.n, 12)).astype(float)
    ehsa = eh.EmergingHotSpots(cube, w)
    for i in (0, 7, 24):
        ref = pmk.original_test(ehsa.z[i])
        assert_allclose(ehsa.trend_z[i], ref.z, rtol=1e-10)
        assert_allclose(ehsa.trend_p[i], ref.p, rtol=1e-10)
        val = pmk.original_test(cube[i])
        assert_allclose(ehsa.value_trend_p[i], val.p, rtol=1e-10)


def designed_cube(block: np.ndarray) -> tuple[np.ndarray, SpatialWeights, list[int]]:
    """A 9 x 9 lattice, every place 5 a step except a 3 x 3 block in the middle, whose
    values per step are ``block``; background noise is deterministic (+/- 1)."""
    w = lattice_weights(9, 9)
    steps = block.size
    rng = np.random.default_rng(0)
    cube = 5.0 + rng.integers(-1, 2, (w.n, steps)).astype(float)
    middle = [r * 9 + c for r in (3, 4, 5) for c in (3, 4, 5)]
    cube[middle] = block
    return cube, w, middle


@pytest.mark.parametrize(("block", "expected"), [
    (np.linspace(12, 40, 12), "intensifying hot spot"),
    (np.full(12, 25.0), "persistent hot spot"),
    (np.linspace(40, 12, 12), "diminishing hot spot"),
    (np.r_[np.full(10, 5.0), 30.0, 30.0], "consecutive hot spot"),
    (np.r_[np.full(11, 5.0), 40.0], "new hot spot"),
    (np.r_[np.full(11, 25.0), 5.0], "historical hot spot"),
    (np.full(12, 0.0), "persistent cold spot"),
])
def test_designed_cubes(block: np.ndarray, expected: str) -> None:
    cube, w, middle = designed_cube(block)
    ehsa = eh.EmergingHotSpots(cube, w, time_lag=0)
    assert ehsa.category[middle[4]] == expected
    counts = ehsa.category_counts()
    assert sum(counts.values()) == w.n and set(counts) == set(eh.CATEGORIES)


def test_value_trend_words() -> None:
    w = line_weights(4)
    cube = np.array([[1, 2, 3, 4, 5, 6, 7, 8], [8, 7, 6, 5, 4, 3, 2, 1],
                     [3, 5, 3, 5, 3, 5, 3, 5], [1, 1, 2, 1, 1, 2, 1, 1]], dtype=float)
    ehsa = eh.EmergingHotSpots(cube, w)
    assert ehsa.value_trend == ["rising", "falling", "none", "none"]
    assert ehsa.step_labels == tuple(str(t) for t in range(8))


def test_refusals() -> None:
    w = line_weights(3)
    with pytest.raises(ValueError, match="at least 3 time steps"):
        eh.EmergingHotSpots(np.ones((3, 2)), w)
    with pytest.raises(ValueError, match="same value"):
        eh.space_time_gi(np.ones((3, 4)), w, global_window="cube")
    with pytest.raises(ValueError, match="places x steps"):
        eh.space_time_gi(np.ones((4, 4)), w)
    with pytest.raises(ValueError, match="one z-score"):
        eh.classify_series([1.0, 2.0], [True], 0.0, 1.0)
