"""Grids over points: cell size, cell of each point, footprints, stray points, weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from numpy.testing import assert_allclose, assert_array_equal

from vru.domain.places import grid as gr


def town(seed: int = 0, n: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """Points in a 20 km x 12 km town with a dense centre, far from the origin (BNG-like)."""
    rng = np.random.default_rng(seed)
    x = 450_000 + np.concatenate([rng.uniform(0, 20_000, n // 2),
                                  rng.normal(10_000, 1_500, n // 2)])
    y = 300_000 + np.concatenate([rng.uniform(0, 12_000, n // 2),
                                  rng.normal(6_000, 1_000, n // 2)])
    return np.clip(x, 450_000, 470_000), np.clip(y, 300_000, 312_000)


def test_cell_size_is_sfhotspots_rule() -> None:
    x, y = town()
    # Shorter side 12,000 m / 50 = 240 m, rounded down to a multiple of 100 m: 200 m.
    assert gr.choose_cell_size(x, y) == 200.0
    assert gr.choose_cell_size([0, 3000], [0, 2000]) == 100.0  # 40 m -> at least 100 m
    assert gr.choose_cell_size([0, 60_000], [0, 30_000], round_to=0) == 600.0


def test_square_cells_of_points() -> None:
    cols, rows = gr.cell_index([0.0, 99.9, 100.0, -0.1, 250.0], [0.0, 50.0, 0.0, 0.0, 399.0],
                               "square", 100.0)
    assert cols.tolist() == [0, 0, 1, -1, 2]
    assert rows.tolist() == [0, 0, 0, 0, 3]


def test_hex_cells_are_the_nearest_centre() -> None:
    size = 500.0
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-5000, 5000, 3000), rng.uniform(-5000, 5000, 3000)
    q, r = gr.cell_index(x, y, "hex", size)
    cx, cy = size * (q + r / 2.0), size * math.sqrt(3) / 2.0 * r
    d_own = np.hypot(x - cx, y - cy)
    # Brute force: no other hexagon centre nearby is closer.
    for dq, dr in [(1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1)]:
        ox, oy = size * ((q + dq) + (r + dr) / 2.0), size * math.sqrt(3) / 2.0 * (r + dr)
        assert np.all(d_own <= np.hypot(x - ox, y - oy) + 1e-9)
    # And every point lies in its hexagon's polygon.
    polys = gr.cell_polygons(q[:200], r[:200], "hex", size)
    assert np.all(shapely.covers(polys, shapely.points(x[:200], y[:200])))


def test_cell_polygons_have_the_right_areas() -> None:
    sq = gr.cell_polygons(np.array([0, 3]), np.array([0, -2]), "square", 250.0)
    assert_allclose(shapely.area(sq), 250.0 ** 2)
    hx = gr.cell_polygons(np.array([0, 5]), np.array([0, -3]), "hex", 500.0)
    assert_allclose(shapely.area(hx), math.sqrt(3) / 2 * 500.0 ** 2)  # flat-to-flat 500 m


@pytest.mark.parametrize("shape", ["square", "hex"])
def test_grid_counts_and_weights(shape: str) -> None:
    x, y = town()
    grid = gr.make_grid(x, y, shape=shape, cell_size=1000.0)  # type: ignore[arg-type]
    counts, outside = grid.counts(x, y)
    assert outside == 0 and counts.sum() == x.size
    assert len(set(grid.ids)) == grid.n and grid.ids[0].startswith(
        "sq-1000-" if shape == "square" else "hex-1000-")
    w = grid.weights()
    full = 8 if shape == "square" else 6
    assert w.cardinalities.max() == full
    assert w.report is not None and w.report.symmetric and w.report.components == 1
    # Counts by time step add up to the total.
    steps = np.arange(x.size) % 5
    by_step, _ = grid.counts(x, y, steps, 5)
    assert_array_equal(by_step.sum(axis=1), counts[:, 0])


def test_square_grid_queen_neighbours_by_position() -> None:
    x = np.array([50.0, 150.0, 250.0, 50.0, 150.0, 250.0, 50.0, 150.0, 250.0])
    y = np.array([50.0, 50.0, 50.0, 150.0, 150.0, 150.0, 250.0, 250.0, 250.0])
    grid = gr.make_grid(x, y, cell_size=100.0, footprint="occupied", core_link=None)
    assert grid.n == 9
    w = grid.weights()
    centre = grid.ids[4]
    assert centre == "sq-100-1-1"
    assert len(w.neighbours_of(centre)) == 8
    assert len(w.neighbours_of("sq-100-0-0")) == 3


def test_footprints() -> None:
    x, y = town()
    concave = gr.make_grid(x, y, cell_size=500.0, footprint="concave")
    convex = gr.make_grid(x, y, cell_size=500.0, footprint="convex")
    occupied = gr.make_grid(x, y, cell_size=500.0, footprint="occupied")
    assert occupied.n <= concave.n <= convex.n
    c, _ = occupied.counts(x, y)
    assert (c[:, 0] > 0).all()  # only cells with a point
    c, _ = concave.counts(x, y)
    assert (c[:, 0] == 0).any()  # empty cells inside the area count as zeros
    assert "concave hull" in concave.footprint_rule


def test_stray_points_are_left_out_of_the_footprint() -> None:
    x, y = town()
    # 30 crimes recorded 150 km away (another force's area): not part of the force area.
    sx = np.r_[x, np.full(30, 600_000.0)]
    sy = np.r_[y, np.full(30, 420_000.0)]
    grid = gr.make_grid(sx, sy, footprint="concave")
    assert grid.points_left_out == 30
    assert grid.cell_size == 200.0  # chosen from the core, not stretched by the strays
    counts, outside = grid.counts(sx, sy)
    assert outside == 30
    core = gr.core_points(sx, sy)
    assert core.sum() == x.size and not core[-30:].any()
    kept = gr.make_grid(sx, sy, footprint="convex", core_link=None, cell_size=5000.0)
    assert kept.points_left_out == 0


def test_a_boundary_replaces_the_footprint() -> None:
    x, y = town()
    area = shapely.box(455_000, 302_000, 465_000, 310_000)
    grid = gr.make_grid(x, y, cell_size=1000.0, area=area)
    assert grid.n == 10 * 8
    assert grid.footprint_rule == "cells overlapping the boundary given"


def test_refusals() -> None:
    with pytest.raises(ValueError, match="finite"):
        gr.cell_index([np.nan], [1.0], "square", 100.0)
    with pytest.raises(ValueError, match="grid shape"):
        gr.make_grid([0.0, 1.0], [0.0, 1.0], shape="triangle")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no points"):
        gr.choose_cell_size([], [])
