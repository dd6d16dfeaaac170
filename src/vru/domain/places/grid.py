"""Regular grids over street-level points: hot spots where there are no boundaries to use.

police.uk publishes each crime at an anonymised map point. Counting the points in regular
cells (squares or hexagons) gives areas of equal size to find hot spots in, as analysts do
with R's sfhotspot (Ashby 2023, "sfhotspot: Hot-Spot Analysis with Simple Features", CRAN).
Coordinates are projected, in metres (British National Grid).

**Cell size.** Given, or chosen as sfhotspot chooses it: 1/50 of the shorter side of the
points' bounding box, rounded down to a multiple of 100 m (at least 100 m).

**Cells.** Cells sit at fixed positions (square cell (c, r) covers
[c s, (c + 1) s) x [r s, (r + 1) s); hexagons are pointy-topped, centre
(s (q + r / 2), s sqrt(3) / 2 r) in axial coordinates, s the distance between the centres of
neighbouring cells, so the same cell size always gives the same cells whatever the data.

**Which cells: the force area.** A grid over the bounding box would count cells outside the
force area (fields of the next county) as places with no crime, pulling the average down
and making every town look hot. So only cells overlapping the area are kept. With a
boundary, the area is the boundary (``area=``). Without one (an area with no boundary files),
the area is derived from the points themselves, by ``footprint``:

* ``"concave"`` (default): the concave hull (shapely ``concave_hull``, ``hull_ratio``) of
  every point given as the footprint (all crime types the force recorded, not only the
  measure analysed), widened by half a cell as sfhotspot does. Empty cells inside the area
  (parks, farmland) count as zeros: they are part of the force area;
* ``"convex"``: the convex hull widened by half a cell (sfhotspot's grid);
* ``"occupied"``: only cells holding at least one footprint point; cells where the force
  never recorded anything are left out. Use it when the hull takes in large areas where
  no one lives.

**Stray points.** A force records some crimes that it places far outside its area (a few
hundred of Leicestershire's 300,000 points in 35 months lie in Lincolnshire, Derbyshire and
Wandsworth). They would stretch the hull over whole counties, so before anything else the
footprint keeps only its **core**: the points are binned into 1 km squares, squares within
``core_link`` (3 km) of each other are joined, and only groups holding at least
``core_share`` (1%) of the points are kept (``core_points``). The number of points left out
is reported; the cell size is chosen from the core.

The choice is recorded in the grid (``footprint_rule``) and shown with every result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from vru.domain.places.weights import SpatialWeights, from_neighbours

GridShape = Literal["square", "hex"]
Footprint = Literal["concave", "convex", "occupied"]
GRID_SHAPES: tuple[str, ...] = ("square", "hex")
FOOTPRINTS: tuple[str, ...] = ("concave", "convex", "occupied")
CELLS_ON_SHORTER_SIDE = 50
DEFAULT_HULL_RATIO = 0.05
CORE_LINK = 3000.0
CORE_SHARE = 0.01
SQRT3 = math.sqrt(3.0)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def choose_cell_size(
    x: npt.ArrayLike, y: npt.ArrayLike, cells_on_shorter_side: int = CELLS_ON_SHORTER_SIDE,
    round_to: float = 100.0,
) -> float:
    """(shorter side of the bounding box) / ``cells_on_shorter_side``, rounded down to a
    multiple of ``round_to`` metres and at least ``round_to`` (sfhotspot's rule)."""
    xs, ys = _coords(x, y)
    short = min(float(xs.max() - xs.min()), float(ys.max() - ys.min()))
    raw = short / cells_on_shorter_side
    if round_to <= 0:
        return raw if raw > 0 else 1.0
    return max(round_to, math.floor(raw / round_to) * round_to)


def _coords(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    xs = np.asarray(x, dtype=np.float64).ravel()
    ys = np.asarray(y, dtype=np.float64).ravel()
    if xs.shape != ys.shape:
        raise ValueError("x and y must have the same length")
    if xs.size == 0:
        raise ValueError("no points")
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
        raise ValueError("points must have finite coordinates (leave out crimes with no "
                         "location first)")
    return xs, ys


def core_points(
    x: npt.ArrayLike, y: npt.ArrayLike, link: float = CORE_LINK, share: float = CORE_SHARE,
    bin_size: float = 1000.0,
) -> npt.NDArray[np.bool_]:
    """Which points belong to the core of the point pattern (module docstring): points are
    binned into ``bin_size`` squares; squares whose lower-left corners are at most ``link``
    apart are joined; a point is core when its group of squares holds at least ``share`` of
    all points."""
    xs, ys = _coords(x, y)
    cells = np.column_stack([np.floor(xs / bin_size), np.floor(ys / bin_size)])
    unique, inverse, counts = np.unique(cells, axis=0, return_inverse=True,
                                        return_counts=True)
    inverse = np.asarray(inverse).ravel()
    pairs = cKDTree(unique).query_pairs(link / bin_size + 1e-9, output_type="ndarray")
    n = unique.shape[0]
    graph = csr_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _count, labels = connected_components(graph, directed=False)
    points_per_group = np.bincount(labels, weights=counts)
    keep_group = points_per_group >= share * xs.size
    return np.asarray(keep_group[labels[inverse]], dtype=bool)


def cell_index(
    x: npt.ArrayLike, y: npt.ArrayLike, shape: GridShape, cell_size: float
) -> tuple[IntArray, IntArray]:
    """The (column, row) of the square, or axial (q, r) of the hexagon, holding each point.

    Hexagons: r_f = y / (s sqrt(3) / 2), q_f = x / s - r_f / 2, rounded to the nearest
    hexagon by cube-coordinate rounding (Patel 2013, "Hexagonal Grids", Red Blob Games).
    """
    xs, ys = _coords(x, y)
    if not cell_size > 0:
        raise ValueError("cell_size must be positive")
    if shape == "square":
        return (np.floor(xs / cell_size).astype(np.int64),
                np.floor(ys / cell_size).astype(np.int64))
    if shape != "hex":
        raise ValueError(f"grid shape must be 'square' or 'hex', got {shape!r}")
    rf = ys / (cell_size * SQRT3 / 2.0)
    qf = xs / cell_size - rf / 2.0
    sf = -qf - rf
    q, r, s = np.round(qf), np.round(rf), np.round(sf)
    dq, dr, ds = np.abs(q - qf), np.abs(r - rf), np.abs(s - sf)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    q = np.where(fix_q, -r - s, q)
    r = np.where(fix_r, -q - s, r)
    return q.astype(np.int64), r.astype(np.int64)


def cell_polygons(cols: IntArray, rows: IntArray, shape: GridShape,
                  cell_size: float) -> npt.NDArray[Any]:
    """The cells' polygons (shapely array)."""
    c = np.asarray(cols, dtype=np.float64)
    r = np.asarray(rows, dtype=np.float64)
    if shape == "square":
        return np.asarray(shapely.box(c * cell_size, r * cell_size, (c + 1) * cell_size,
                                      (r + 1) * cell_size))
    cx, cy = cell_size * (c + r / 2.0), cell_size * SQRT3 / 2.0 * r
    radius = cell_size / SQRT3
    angles = np.deg2rad(np.arange(6) * 60.0 + 30.0)
    ring = np.stack([cx[:, None] + radius * np.cos(angles)[None, :],
                     cy[:, None] + radius * np.sin(angles)[None, :]], axis=-1)
    return np.asarray(shapely.polygons(ring))


@dataclass(frozen=True, eq=False)
class Grid:
    """The cells of a grid over an area: ``cols``/``rows`` (square column and row, or
    hexagon axial q and r), ``ids`` ("sq-500-c-r" / "hex-500-q-r": shape, size, position),
    the ``footprint`` polygon cells were kept by, and how it was made."""

    shape: GridShape
    cell_size: float
    cols: IntArray
    rows: IntArray
    ids: tuple[str, ...]
    footprint: Any
    footprint_rule: str
    cell_size_chosen: bool
    points_left_out: int = 0

    @property
    def n(self) -> int:
        return len(self.ids)

    def polygons(self) -> npt.NDArray[Any]:
        return cell_polygons(self.cols, self.rows, self.shape, self.cell_size)

    def centres(self) -> FloatArray:
        c = self.cols.astype(np.float64)
        r = self.rows.astype(np.float64)
        if self.shape == "square":
            return np.column_stack([(c + 0.5) * self.cell_size, (r + 0.5) * self.cell_size])
        return np.column_stack([self.cell_size * (c + r / 2.0),
                                self.cell_size * SQRT3 / 2.0 * r])

    def locate(self, x: npt.ArrayLike, y: npt.ArrayLike) -> IntArray:
        """Each point's cell (index into ``ids``), or -1 if its cell is not in the grid."""
        cols, rows = cell_index(x, y, self.shape, self.cell_size)
        lookup = {(int(c), int(r)): i for i, (c, r) in enumerate(zip(self.cols, self.rows,
                                                                      strict=True))}
        return np.array([lookup.get((int(c), int(r)), -1) for c, r in zip(cols, rows,
                                                                           strict=True)],
                        dtype=np.int64)

    def counts(self, x: npt.ArrayLike, y: npt.ArrayLike, step: npt.ArrayLike | None = None,
               steps: int = 1) -> tuple[FloatArray, int]:
        """Points per cell (and per time step when ``step`` gives each point's step
        0..steps-1): an array cells x steps, and the number of points outside the grid."""
        where = self.locate(x, y)
        t = (np.zeros(where.size, dtype=np.int64) if step is None
             else np.asarray(step, dtype=np.int64))
        if t.shape != where.shape or (t.size and (t.min() < 0 or t.max() >= steps)):
            raise ValueError("give each point a time step between 0 and steps - 1")
        inside = where >= 0
        out = np.zeros((self.n, steps))
        np.add.at(out, (where[inside], t[inside]), 1.0)
        return out, int((~inside).sum())

    def weights(self) -> SpatialWeights:
        """Contiguity of the cells: the 8 squares around a square (queen; sfhotspot's
        default neighbourhood of cell_size * sqrt(2)) or the 6 hexagons around a hexagon.
        Cells whose neighbours are all outside the area are linked to the nearest cell."""
        if self.shape == "square":
            offsets = [(dc, dr) for dc in (-1, 0, 1) for dr in (-1, 0, 1) if (dc, dr) != (0, 0)]
        else:
            offsets = [(1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1)]
        lookup = {(int(c), int(r)): code for code, c, r in zip(self.ids, self.cols, self.rows,
                                                               strict=True)}
        neighbours = {
            code: [lookup[(int(c) + dc, int(r) + dr)] for dc, dr in offsets
                   if (int(c) + dc, int(r) + dr) in lookup]
            for code, c, r in zip(self.ids, self.cols, self.rows, strict=True)
        }
        rule = "grid_queen" if self.shape == "square" else "grid_hex"
        w = from_neighbours(self.ids, neighbours, rule,
                            {"cell_size_m": self.cell_size, "shape": self.shape})
        lonely = [code for code, nb in neighbours.items() if not nb]
        if not lonely:
            return w
        centres = self.centres()
        index = {code: i for i, code in enumerate(self.ids)}
        for code in lonely:
            i = index[code]
            d = np.hypot(*(centres - centres[i]).T)
            d[i] = np.inf
            j = int(np.argmin(d))
            neighbours[code] = [self.ids[j]]
            neighbours[self.ids[j]] = [*neighbours[self.ids[j]], code]
        linked = from_neighbours(self.ids, neighbours, rule,
                                 {"cell_size_m": self.cell_size, "shape": self.shape})
        report = linked.report
        assert report is not None
        note = (f"{len(lonely)} cell(s) had no neighbouring cell in the area and were linked "
                "to the nearest cell: " + ", ".join(lonely[:10]))
        return SpatialWeights(linked.ids, linked.matrix, rule, linked.parameters,
                              replace(report, islands=tuple(lonely), island_policy="nearest",
                                      notes=(*report.notes, note)))


def make_grid(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    shape: GridShape = "square",
    cell_size: float | None = None,
    footprint: Footprint = "concave",
    area: Any | None = None,
    hull_ratio: float = DEFAULT_HULL_RATIO,
    core_link: float | None = CORE_LINK,
    core_share: float = CORE_SHARE,
) -> Grid:
    """The grid of cells covering the area of the points (x, y): see the module docstring.

    ``x``/``y`` are the footprint points (every crime the force recorded); ``area`` (a
    polygon) replaces the footprint when a boundary is available. ``core_link=None`` keeps
    every point (no stray points left out).
    """
    if shape not in GRID_SHAPES:
        raise ValueError(f"grid shape must be one of {', '.join(GRID_SHAPES)}")
    if footprint not in FOOTPRINTS and area is None:
        raise ValueError(f"footprint must be one of {', '.join(FOOTPRINTS)}")
    xs, ys = _coords(x, y)
    left_out = 0
    if core_link is not None and area is None:
        core = core_points(xs, ys, core_link, core_share)
        left_out = int((~core).sum())
        xs, ys = xs[core], ys[core]
    chosen = cell_size is None
    size = choose_cell_size(xs, ys) if cell_size is None else float(cell_size)
    if not size > 0:
        raise ValueError("cell_size must be positive")
    pts = np.unique(np.column_stack([xs, ys]), axis=0)
    cols, rows = cell_index(pts[:, 0], pts[:, 1], shape, size)
    occupied = np.unique(np.column_stack([cols, rows]), axis=0)
    if area is not None:
        poly = area
        rule = "cells overlapping the boundary given"
    elif footprint == "occupied":
        poly = shapely.union_all(cell_polygons(occupied[:, 0], occupied[:, 1], shape, size))
        rule = "cells holding at least one of the force's recorded crimes"
        if left_out:
            rule += f" ({left_out:,} stray point(s) far from the rest left out)"
    else:
        multipoint = shapely.multipoints(pts)
        hull = (shapely.concave_hull(multipoint, ratio=hull_ratio) if footprint == "concave"
                else shapely.convex_hull(multipoint))
        poly = shapely.buffer(hull, size / 2.0)
        rule = (f"cells overlapping the {footprint} hull"
                + (f" (ratio {hull_ratio})" if footprint == "concave" else "")
                + " of the force's recorded crimes, widened by half a cell")
        if left_out:
            rule += f" ({left_out:,} stray point(s) far from the rest left out)"
    if footprint == "occupied" and area is None:
        cand_c, cand_r = occupied[:, 0], occupied[:, 1]
    else:
        minx, miny, maxx, maxy = shapely.bounds(poly)
        cc, rr = cell_index(np.array([minx, maxx, minx, maxx]), np.array([miny, miny, maxy,
                                                                          maxy]), shape, size)
        c_lo, c_hi = int(cc.min()) - 2, int(cc.max()) + 2
        r_lo, r_hi = int(rr.min()) - 2, int(rr.max()) + 2
        if shape == "hex":  # axial q shifts with r: widen the column range
            span = (r_hi - r_lo) // 2 + 2
            c_lo, c_hi = c_lo - span, c_hi + span
        gc, gr = np.meshgrid(np.arange(c_lo, c_hi + 1), np.arange(r_lo, r_hi + 1))
        cand_c, cand_r = gc.ravel().astype(np.int64), gr.ravel().astype(np.int64)
        shapely.prepare(poly)
        keep = shapely.intersects(poly, cell_polygons(cand_c, cand_r, shape, size))
        # Interior-touching only is not overlap: drop cells sharing just an edge.
        touching = shapely.touches(poly, cell_polygons(cand_c, cand_r, shape, size))
        keep &= ~touching
        cand_c, cand_r = cand_c[keep], cand_r[keep]
    order = np.lexsort((cand_c, cand_r))
    cand_c, cand_r = cand_c[order], cand_r[order]
    prefix = "sq" if shape == "square" else "hex"
    label = f"{size:g}"
    ids = tuple(f"{prefix}-{label}-{c}-{r}" for c, r in zip(cand_c, cand_r, strict=True))
    return Grid(shape, size, cand_c.astype(np.int64), cand_r.astype(np.int64), ids, poly, rule,
                chosen, left_out)
