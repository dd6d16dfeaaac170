"""Spatial weights: contiguity with tolerance, kNN, distance band, islands and parts."""

from __future__ import annotations

import warnings

import libpysal
import numpy as np
import pytest
import shapely
from numpy.testing import assert_allclose

from vru.domain.places import weights as wts


def lattice(rows: int, cols: int, size: float = 100.0, jitter: float = 0.0,
            seed: int = 0) -> tuple[list[str], np.ndarray]:
    """A rows x cols lattice of square polygons, ids "r{row}c{col}" in row-major order
    (libpysal lat2W's order), corners moved by up to ``jitter`` metres (float noise)."""
    rng = np.random.default_rng(seed)
    ids, polys = [], []
    for r in range(rows):
        for c in range(cols):
            x0, y0 = c * size, r * size
            box = np.array([[x0, y0], [x0 + size, y0], [x0 + size, y0 + size],
                            [x0, y0 + size]])
            box = box + rng.uniform(-jitter, jitter, box.shape)
            ids.append(f"r{r}c{c}")
            polys.append(shapely.Polygon(box))
    return ids, np.array(polys, dtype=object)


def neighbour_sets(w: wts.SpatialWeights) -> dict[str, set[str]]:
    return {code: set(w.neighbours_of(code)) for code in w.ids}


def libpysal_sets(w: libpysal.weights.W, ids: list[str]) -> dict[str, set[str]]:
    return {ids[i]: {ids[j] for j in w.neighbors[i]} for i in range(len(ids))}


@pytest.mark.parametrize("rule", ["queen", "rook"])
def test_contiguity_matches_libpysal_lattice(rule: str) -> None:
    ids, polys = lattice(5, 7)
    w = wts.contiguity_weights(ids, polys, rule)  # type: ignore[arg-type]
    ref = libpysal.weights.lat2W(5, 7, rook=(rule == "rook"))
    assert neighbour_sets(w) == libpysal_sets(ref, ids)
    card = dict(zip(w.ids, w.cardinalities, strict=True))
    assert card["r2c3"] == (4 if rule == "rook" else 8)
    assert card["r0c0"] == (2 if rule == "rook" else 3)
    assert w.report is not None and w.report.symmetric and w.report.components == 1
    assert w.report.islands == ()


def test_tolerance_joins_boundaries_that_do_not_quite_touch() -> None:
    # Corners moved by up to 1 mm: exact vertex matching finds islands; 1 cm tolerance does
    # not, and a corner moved by 1 mm is still not a shared edge for rook.
    ids, polys = lattice(4, 4, jitter=0.001, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import geopandas as gpd

        vertex = libpysal.weights.Queen.from_dataframe(gpd.GeoDataFrame(geometry=polys),
                                                       use_index=False)
    assert len(vertex.islands) > 0
    queen = wts.contiguity_weights(ids, polys, "queen")
    rook = wts.contiguity_weights(ids, polys, "rook")
    assert neighbour_sets(queen) == libpysal_sets(libpysal.weights.lat2W(4, 4, rook=False), ids)
    assert neighbour_sets(rook) == libpysal_sets(libpysal.weights.lat2W(4, 4, rook=True), ids)
    strict = wts.contiguity_weights(ids, polys, "queen", tolerance=0.0, islands="keep")
    assert strict.report is not None and strict.report.links < queen.report.links  # type: ignore[union-attr]


def test_islands_are_linked_to_nearest_and_reported() -> None:
    ids, polys = lattice(3, 3)
    island = shapely.box(1000, 0, 1100, 100)  # 700 m east of the lattice's east edge
    ids2 = [*ids, "island"]
    polys2 = np.array([*polys, island], dtype=object)
    w = wts.contiguity_weights(ids2, polys2, "queen")
    assert w.report is not None
    assert w.report.islands == ("island",)
    assert w.report.island_policy == "nearest"
    # Its nearest place by centroid is r0c2 (centre 250,50 vs 1050,50); linked both ways.
    assert w.report.island_links == (("island", "r0c2"),)
    assert w.neighbours_of("island") == ["r0c2"]
    assert "island" in w.neighbours_of("r0c2")
    assert w.report.components == 1
    assert any("linked" in n for n in w.report.notes)


def test_islands_kept_or_dropped() -> None:
    ids, polys = lattice(3, 3)
    ids2 = [*ids, "island"]
    polys2 = np.array([*polys, shapely.box(1000, 0, 1100, 100)], dtype=object)
    kept = wts.contiguity_weights(ids2, polys2, "queen", islands="keep")
    assert kept.report is not None
    assert kept.cardinalities[-1] == 0 and kept.report.components == 2
    assert kept.report.component_sizes == (9, 1)
    dropped = wts.contiguity_weights(ids2, polys2, "queen", islands="drop")
    assert dropped.report is not None
    assert dropped.ids == tuple(ids) and dropped.report.dropped == ("island",)


def test_disconnected_parts_are_counted() -> None:
    a_ids, a = lattice(2, 2)
    b = np.array([shapely.affinity.translate(p, 5000, 0) for p in a], dtype=object)
    ids = [*a_ids, *(f"b{i}" for i in range(4))]
    w = wts.contiguity_weights(ids, np.concatenate([a, b]), "queen")
    assert w.report is not None
    assert w.report.components == 2 and w.report.component_sizes == (4, 4)
    assert w.report.islands == ()
    assert any("2 parts" in n for n in w.report.notes)
    count, labels = w.components()
    assert count == 2 and len(set(labels[:4])) == 1 and labels[0] != labels[4]


def test_knn_matches_libpysal() -> None:
    rng = np.random.default_rng(5)
    pts = rng.uniform(0, 1000, (40, 2))
    ids = [f"p{i}" for i in range(40)]
    w = wts.knn_weights(ids, pts, k=4)
    ref = libpysal.weights.KNN.from_array(pts, k=4)
    assert neighbour_sets(w) == libpysal_sets(ref, ids)
    assert set(w.cardinalities) == {4}
    assert w.report is not None and not w.report.symmetric


def test_distance_band_default_threshold_leaves_no_island() -> None:
    rng = np.random.default_rng(6)
    pts = rng.uniform(0, 1000, (50, 2))
    ids = [f"p{i}" for i in range(50)]
    band = libpysal.weights.min_threshold_distance(pts)
    assert_allclose(wts.min_threshold_distance(pts), band, rtol=1e-12)
    w = wts.distance_band_weights(ids, pts)
    assert w.report is not None and w.report.islands == () and w.cardinalities.min() >= 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = libpysal.weights.DistanceBand.from_array(pts, threshold=band * 1.0000001)
    assert neighbour_sets(w) == libpysal_sets(ref, ids)
    small = wts.distance_band_weights(ids, pts, threshold=band / 3, islands="keep")
    assert small.report is not None and len(small.report.islands) > 0


def test_to_libpysal_round_trip_and_self_weight() -> None:
    ids, polys = lattice(3, 4)
    w = wts.contiguity_weights(ids, polys, "queen")
    lw = w.to_libpysal()
    assert lw.id_order == list(ids)
    assert (lw.sparse != w.matrix).nnz == 0
    star = w.with_self_weight(1.0)
    assert_allclose(star.diagonal(), 1.0)
    assert star.nnz == w.matrix.nnz + w.n


def test_build_weights_dispatch_and_errors() -> None:
    ids, polys = lattice(3, 3)
    assert wts.build_weights("rook", ids, polys).rule == "rook"
    assert wts.build_weights("knn", ids, polys, k=2).cardinalities.tolist() == [2] * 9
    assert wts.build_weights("distance_band", ids, polys, threshold=101).rule == "distance_band"
    with pytest.raises(ValueError, match="unknown weights rule"):
        wts.build_weights("bishop", ids, polys)
    with pytest.raises(ValueError, match="unique"):
        wts.contiguity_weights(["a", "a", "b"], polys[:3], "queen")
    with pytest.raises(ValueError, match="no geometry"):
        wts.contiguity_weights(["a", "b"], np.array([polys[0], shapely.Polygon()],
                                                   dtype=object), "queen")
    with pytest.raises(KeyError, match="neighbour"):
        wts.from_neighbours(["a", "b"], {"a": ["c"]})
