"""Use case: hot spots, emerging hot spots and priority places, from the evidence store.

    >>> result = hotspots(store, "violence_against_the_person", "ward", to="2025-12")
    >>> result.table[["area_name", "count", "gi_z", "ehsa_category", "trend"]]
    >>> picked = priority_places(store, "rising-violence-deprived-wards", to="2025-12")
    >>> picked.table, picked.record_path

**Counts** come from ``services.sna_figures`` (the same counts, change tests and populations
as the Strategic Needs Assessment): borough and ward monthly counts from the MPS files, LSOA
annual counts from the MPS LSOA files. **Boundaries** from the store (``load_boundaries``):
boroughs (LADs), the 2022 wards (the MPS ward counts are on them) and the 2011 LSOAs. Areas
with counts but no boundary, and boundaries with no counts (the City of London's wards and
LSOAs: the MPS does not police the City), are left out of the spatial statistics and named in
the notes. **Grid** hot spots (``grid_hotspots``) need no boundary at all: police.uk points of
the area's forces counted in square or hexagonal cells (``domain.places.grid``).

For each area the table gives: the count in the ``months`` to ``to`` and the previous
``months``, with the exact test of the change (Benjamini-Hochberg across the areas); local
Gi* (z, normal and permutation p-values, FDR); local Moran's I (quadrant, p-values); the
emerging hot spot category over every time step of the series up to ``to`` (months for
boroughs, wards and grid cells; years for LSOAs); and the Mann-Kendall trend of the counts
over those steps. Permutations use ``numpy.random.default_rng(seed)``: the same seed gives the
same table. Global Moran's I and the weights report are in ``table.attrs``.

**Priority places** apply a published rule (``vru/reference/priority_rules/*.toml``, or a
rule file of your own, or ``<data_dir>/priority_rules/NAME.toml``) to that table plus each
place's deprivation: the population-weighted average IMD 2019 score of the 2011 LSOAs in it
(MHCLG's "average score" summary; LSOAs are put in 2022 wards by their centroid, a best-fit
approximation, and weighted by the IoD2019 population denominators), ranked within the area.

**Decision records.** Every selection is stored as JSON under ``<data_dir>/decisions/``: the
rule (its full text), the parameters, the data version (every import in the store, with its
file and sha256), the date, and the resulting lists and clusters, with a sha256 content hash
over everything but the date. ``verify_decision`` re-runs a record on a view of the store
pinned to exactly the recorded imports (later imports are invisible to it) and checks that
the same list comes out.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from vru.adapters.store.evidence_store import EvidenceStore
from vru.adapters.store.geo import BoundariesNotLoaded, load_boundaries
from vru.domain.geography import EPSG_BNG, EPSG_WGS84
from vru.domain.measures import MEASURES, descendants
from vru.domain.places.emerging_hotspots import GLOBAL_WINDOWS, EmergingHotSpots
from vru.domain.places.grid import FOOTPRINTS, GRID_SHAPES, make_grid
from vru.domain.places.local_statistics import (
    PERMUTATIONS,
    LocalGi,
    LocalMoran,
    Moran,
    conditional_permutation_ids,
)
from vru.domain.places.priority_rules import (
    PriorityRule,
    RuleError,
    contiguous_clusters,
    parse_rule,
    select_places,
)
from vru.domain.places.weights import SpatialWeights, build_weights
from vru.domain.statistics.change import change_table
from vru.services.areas import get_area
from vru.services.sna_figures import (
    SnaData,
    SnaError,
    measures_given,
    windows,
)

HOTSPOT_GEOGRAPHIES: tuple[str, ...] = ("borough", "ward", "lsoa", "grid")
LEVEL_OF: dict[str, str] = {"borough": "lad", "ward": "ward", "lsoa": "lsoa"}
BOUNDARY_VINTAGE: dict[str, str | None] = {"borough": None, "ward": "2022", "lsoa": "2011"}
RULES_PACKAGE_DIR = ("reference", "priority_rules")
DECISIONS_DIR = "decisions"
RECORD_VERSION = 1

TABLE_COLUMNS: tuple[str, ...] = (
    "area_code", "area_name", "parent_code", "parent_name", "count", "previous_count",
    "change", "change_pct", "change_p", "change_p_adjusted", "change_direction",
    "population", "rate_per_100k", "neighbours", "gi_z", "gi_p_norm", "gi_p_sim", "gi_p_fdr",
    "gi_p_bonferroni", "gi_class", "lisa_i", "lisa_quadrant", "lisa_p_sim", "lisa_p_fdr",
    "lisa_cluster", "ehsa_category", "ehsa_hot_steps", "ehsa_cold_steps", "ehsa_trend_z",
    "ehsa_trend_p", "trend", "trend_p", "trend_slope",
)


class PlacesError(ValueError):
    """A hot spot or priority-place analysis the loaded data cannot give; says why."""


@dataclass
class HotspotResult:
    """A hot spot table and everything needed to map, check and reproduce it."""

    table: pd.DataFrame
    geometries: gpd.GeoDataFrame
    weights: SpatialWeights
    gi: LocalGi
    lisa: LocalMoran
    moran: Moran
    ehsa: EmergingHotSpots | None
    parameters: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def geo_table(self, crs: int = EPSG_WGS84) -> gpd.GeoDataFrame:
        """The table with each area's polygon, in ``crs`` (4326 for GeoJSON and web maps,
        27700 to measure)."""
        geo = self.geometries.set_index("area_code").geometry
        gdf = gpd.GeoDataFrame(self.table.copy(), geometry=geo.reindex(
            self.table["area_code"]).to_numpy(), crs=EPSG_BNG)
        return gdf.to_crs(crs) if crs != EPSG_BNG else gdf

    def summary(self) -> dict[str, Any]:
        """Counts of hot and cold spots, emerging categories, global Moran's I."""
        t = self.table
        out: dict[str, Any] = {
            "areas": int(len(t)),
            "hot_spots": int((t["gi_class"] == "hot spot").sum()),
            "cold_spots": int((t["gi_class"] == "cold spot").sum()),
            "global_moran_i": self.moran.I, "global_moran_p_sim": self.moran.p_sim,
            "global_moran_z_rand": self.moran.z_rand,
        }
        if self.ehsa is not None:
            out["emerging_categories"] = {k: v for k, v in self.ehsa.category_counts().items()
                                          if v}
        return out


# --------------------------------------------------------------------------- hot spots


def hotspots(
    store: EvidenceStore | SnaData,
    measure: str,
    geography: str = "ward",
    to: str | None = None,
    months: int = 12,
    area: str = "london",
    *,
    weights: str = "queen",
    permutations: int = PERMUTATIONS,
    seed: int = 0,
    alpha: float = 0.05,
    time_lag: int = 1,
    global_window: str = "neighbourhood",
    steps: int | None = None,
    islands: str = "nearest",
    k: int = 6,
    cell_size: float | None = None,
    grid_shape: str = "square",
    footprint: str = "concave",
) -> HotspotResult:
    """The hot spot table of ``measure`` by ``geography`` for the ``months`` to ``to``:
    one row per area (see the module docstring). ``geography="grid"`` runs
    ``grid_hotspots`` (with ``cell_size``, ``grid_shape``, ``footprint``). ``steps`` keeps
    only the last so many time steps for the emerging hot spot analysis (all by default)."""
    if measure not in MEASURES:
        raise PlacesError(f"unknown measure {measure!r}; measures: {', '.join(MEASURES)}")
    if geography not in HOTSPOT_GEOGRAPHIES:
        raise PlacesError(f"hot spots are found by {', '.join(HOTSPOT_GEOGRAPHIES)}, not "
                          f"{geography!r} (a single area has no neighbours)")
    if permutations < 1:
        raise PlacesError("permutations must be at least 1 (999 is usual)")
    if not 0 < alpha < 1:
        raise PlacesError("alpha must be between 0 and 1")
    store_obj = store.store if isinstance(store, SnaData) else store
    if geography == "grid":
        return grid_hotspots(store_obj, measure, to, months, area, cell_size=cell_size,
                             shape=grid_shape, footprint=footprint,
                             permutations=permutations, seed=seed, alpha=alpha,
                             time_lag=time_lag, global_window=global_window, steps=steps)
    own = not isinstance(store, SnaData)
    data = SnaData(store, area) if not isinstance(store, SnaData) else store
    try:
        return _area_hotspots(data, measure, geography, to, months, weights=weights,
                              permutations=permutations, seed=seed, alpha=alpha,
                              time_lag=time_lag, global_window=global_window, steps=steps,
                              islands=islands, k=k)
    except SnaError as exc:
        raise PlacesError(str(exc)) from None
    finally:
        if own:
            data.close()


def _area_hotspots(
    data: SnaData, measure: str, geography: str, to: str | None, months: int, *,
    weights: str, permutations: int, seed: int, alpha: float, time_lag: int,
    global_window: str, steps: int | None, islands: str, k: int,
) -> HotspotResult:
    figures = data.figures(measure, geography, to=to, months=months)
    notes: list[str] = list(figures.attrs.get("notes", []))
    level = LEVEL_OF[geography]
    to_month = str(figures["period_end"].iloc[0])[:7]
    try:
        bounds = load_boundaries(data.store, level, BOUNDARY_VINTAGE[geography])
    except BoundariesNotLoaded as exc:
        raise PlacesError(f"hot spots by {geography} need its boundaries: {exc}") from None
    bounds = bounds.drop_duplicates("code")
    have_geom = set(bounds["code"])
    have_count = set(figures["area_code"].astype(str))
    no_geom = sorted(have_count - have_geom)
    no_count = sorted(have_geom - have_count)
    layer = f"{bounds.attrs.get('layer')} ({bounds.attrs.get('vintage')})"
    if no_geom:
        notes.append(f"{len(no_geom)} area(s) with counts have no boundary in {layer} and are "
                     f"left out of the spatial statistics: {', '.join(no_geom[:10])}"
                     + (" ..." if len(no_geom) > 10 else ""))
    if no_count:
        names = bounds.set_index("code").loc[no_count, "name"].astype(str).tolist()
        notes.append(f"{len(no_count)} area(s) of {layer} have no counts and are left out "
                     f"(neighbours are found among the areas with counts): "
                     + ", ".join(names[:10]) + (" ..." if len(names) > 10 else ""))
    fig = figures[figures["area_code"].astype(str).isin(have_geom)].copy()
    fig = fig.sort_values("area_code").reset_index(drop=True)
    if len(fig) < 3:
        raise PlacesError(f"only {len(fig)} {geography} area(s) have both counts and a "
                          "boundary: too few for hot spots")
    geoms = bounds.set_index("code").loc[fig["area_code"], "geometry"]
    w = build_weights(weights, fig["area_code"].astype(str).tolist(), geoms.to_numpy(),
                      k=k, islands=islands)  # type: ignore[arg-type]
    if w.report is not None and w.report.dropped:
        raise PlacesError("islands='drop' is not supported for hot spot tables; use "
                          "'nearest' or 'keep'")
    lad_names = data.lad_names()
    table = pd.DataFrame({
        "area_code": fig["area_code"].astype(str),
        "area_name": fig["area_name"].astype(str),
        "parent_code": fig["parent_code"],
        "parent_name": [lad_names.get(str(c), str(c)) if c is not None else None
                        for c in fig["parent_code"]],
    })
    for col in ("count", "previous_count", "change", "change_pct", "change_p",
                "change_p_adjusted", "change_direction", "population", "rate_per_100k"):
        table[col] = fig[col].to_numpy()
    y = table["count"].to_numpy(dtype=np.float64)
    stats_part, gi, lisa, moran = _spatial_stats(y, w, permutations, seed, alpha)
    table = pd.concat([table, stats_part], axis=1)
    cube, labels, cube_notes = _area_cube(data, measure, level, table["area_code"].tolist(),
                                          to_month, steps)
    notes += cube_notes
    ehsa = _ehsa_columns(table, cube, labels, w, alpha, time_lag, global_window)
    geometries = gpd.GeoDataFrame({"area_code": table["area_code"]},
                                  geometry=geoms.to_numpy(), crs=EPSG_BNG)
    params = {
        "measure": measure, "geography": geography, "area": data.area.key, "to": to_month,
        "months": months, "weights": weights, "islands": islands, "permutations": permutations,
        "seed": seed, "alpha": alpha, "time_lag": time_lag, "global_window": global_window,
        "steps": [labels[0], labels[-1], len(labels)] if labels else None,
        "boundaries": {"layer": bounds.attrs.get("layer"),
                       "vintage": bounds.attrs.get("vintage"),
                       "import_id": bounds.attrs.get("import_id")},
    }
    if weights == "knn":
        params["k"] = k
    if w.report is not None:
        notes += list(w.report.notes)
    table = _finish_table(table, w, moran, params, notes, figures)
    return HotspotResult(table, geometries, w, gi, lisa, moran, ehsa, params, notes)


def _spatial_stats(
    y: Any, w: SpatialWeights, permutations: int, seed: int, alpha: float
) -> tuple[pd.DataFrame, LocalGi, LocalMoran, Moran]:
    """Gi*, local Moran and global Moran on one value per place, with one generator: the
    conditional permutation table (shared by Gi* and local Moran, as esda would draw it for
    both with one seed), then the global permutations."""
    rng = np.random.default_rng(seed)
    ids = conditional_permutation_ids(w.n, int(w.cardinalities.max()), permutations, rng)
    if float(np.sum(y)) == 0 or float(np.std(y)) == 0:
        raise PlacesError("every area has the same count: there are no hot spots to find")
    gi = LocalGi(y, w, permutations=permutations, permutation_ids=ids)
    lisa = LocalMoran(y, w, permutations=permutations, permutation_ids=ids)
    moran = Moran(y, w, permutations=permutations, rng=rng)
    part = pd.DataFrame({
        "neighbours": w.cardinalities,
        "gi_z": gi.Zs, "gi_p_norm": gi.p_z, "gi_p_sim": gi.p_sim, "gi_p_fdr": gi.p_fdr,
        "gi_p_bonferroni": gi.p_bonferroni, "gi_class": gi.labels(alpha, "fdr"),
        "lisa_i": lisa.Is, "lisa_quadrant": lisa.quadrant_labels, "lisa_p_sim": lisa.p_sim,
        "lisa_p_fdr": lisa.p_fdr, "lisa_cluster": lisa.cluster_labels(alpha, "fdr"),
    })
    return part, gi, lisa, moran


def _area_cube(
    data: SnaData, measure: str, level: str, codes: list[str], to_month: str,
    steps: int | None,
) -> tuple[Any, list[str], list[str]]:
    """Counts per area and time step (months or years) up to ``to``: the longest run of
    consecutive steps of the first source giving the measure, rows in ``codes`` order."""
    sources = [s for s in data.sources(level) if s.gives(measure)]
    notes: list[str] = []
    if not sources:
        return None, [], ["No time series gives this measure: no emerging hot spots."]
    src = sources[0]
    end = pd.Period(to_month, freq="M")
    end_ord = end.year * 12 + end.month - 1
    if src.grain == "year":
        end_ord = end.year * 12
    periods = src.periods
    usable = sorted(int(p) for p in periods if p <= end_ord)
    step_len = 12 if src.grain == "year" else 1
    run: list[int] = []
    for p in reversed(usable):
        if not run or run[-1] - p == step_len:
            run.append(p)
        else:
            break
    run.reverse()
    if steps is not None:
        run = run[-steps:]
    if len(run) < 3:
        return None, [], [f"{src.title} have fewer than 3 consecutive time steps up to "
                          f"{to_month}: no emerging hot spots."]
    monthly = src.monthly(measure)
    pos = {int(p): i for i, p in enumerate(periods)}
    row_of = {c: i for i, c in enumerate(src.codes)}
    missing = [c for c in codes if c not in row_of]
    if missing:
        notes.append(f"{len(missing)} area(s) are not in {src.title}, so they have no "
                     f"emerging hot spot category: {', '.join(missing[:10])}")
        return None, [], notes
    cube = monthly[[row_of[c] for c in codes]][:, [pos[p] for p in run]]
    if src.grain == "year":
        labels = [str(p // 12) for p in run]
    else:
        labels = [f"{p // 12:04d}-{p % 12 + 1:02d}" for p in run]
    return cube, labels, notes


def _ehsa_columns(table: pd.DataFrame, cube: Any, labels: list[str], w: SpatialWeights,
                  alpha: float, time_lag: int, global_window: str
                  ) -> EmergingHotSpots | None:
    if cube is None:
        for col in ("ehsa_category", "trend"):
            table[col] = None
        for col in ("ehsa_hot_steps", "ehsa_cold_steps", "ehsa_trend_z", "ehsa_trend_p",
                    "trend_p", "trend_slope"):
            table[col] = np.nan
        return None
    if global_window not in GLOBAL_WINDOWS:
        raise PlacesError(f"global window must be one of {', '.join(GLOBAL_WINDOWS)}")
    ehsa = EmergingHotSpots(cube, w, time_lag=time_lag, alpha=alpha, step_labels=labels,
                            global_window=global_window)  # type: ignore[arg-type]
    table["ehsa_category"] = ehsa.category
    table["ehsa_hot_steps"] = ehsa.hot_steps
    table["ehsa_cold_steps"] = ehsa.cold_steps
    table["ehsa_trend_z"] = ehsa.trend_z
    table["ehsa_trend_p"] = ehsa.trend_p
    table["trend"] = ehsa.value_trend
    table["trend_p"] = ehsa.value_trend_p
    table["trend_slope"] = ehsa.value_slope
    return ehsa


def _finish_table(table: pd.DataFrame, w: SpatialWeights, moran: Moran,
                  params: dict[str, Any], notes: list[str],
                  figures: pd.DataFrame | None) -> pd.DataFrame:
    table = table[[c for c in TABLE_COLUMNS if c in table.columns]].copy()
    table = table.sort_values(["gi_z", "area_code"], ascending=[False, True],
                              kind="stable").reset_index(drop=True)
    table.attrs["notes"] = list(dict.fromkeys(notes))
    table.attrs["parameters"] = params
    table.attrs["weights"] = w.report.to_dict() if w.report is not None else {}
    table.attrs["global_moran"] = {
        "I": moran.I, "EI": moran.EI, "z_norm": moran.z_norm, "p_norm": moran.p_norm,
        "z_rand": moran.z_rand, "p_rand": moran.p_rand, "p_sim": moran.p_sim,
        "permutations": moran.permutations}
    if figures is not None and "provenance" in figures.attrs:
        table.attrs["provenance"] = figures.attrs["provenance"]
    return table


# --------------------------------------------------------------------------- grid


def grid_hotspots(
    store: EvidenceStore,
    measure: str,
    to: str | None = None,
    months: int = 12,
    area: str = "leicestershire",
    *,
    cell_size: float | None = None,
    shape: str = "square",
    footprint: str = "concave",
    permutations: int = PERMUTATIONS,
    seed: int = 0,
    alpha: float = 0.05,
    time_lag: int = 1,
    global_window: str = "neighbourhood",
    steps: int | None = None,
) -> HotspotResult:
    """Hot spots in regular cells over the police.uk street-level points of the area's
    forces (``domain.places.grid``): no boundary files needed. The footprint (which cells
    are in the force area) is made from every point the forces recorded, of any type; the
    counts are those of ``measure``. Time steps are months."""
    if shape not in GRID_SHAPES:
        raise PlacesError(f"grid shape must be one of {', '.join(GRID_SHAPES)}")
    if footprint not in FOOTPRINTS:
        raise PlacesError(f"footprint must be one of {', '.join(FOOTPRINTS)}")
    definition = get_area(area, store.data_dir)
    if "street_crime" not in store.dataset_files():
        raise PlacesError("grid hot spots need police.uk street-level crime: vru data fetch "
                          f"police-uk-street --area {definition.key}")
    forces = list(definition.police_forces)
    con = store.connect()
    try:
        frame = con.sql("""
            SELECT longitude, latitude, measure, lsoa_name,
                   year(month) * 12 + month(month) - 1 AS step, import_id
            FROM street_crime
            WHERE longitude IS NOT NULL AND latitude IS NOT NULL
              AND (len($forces) = 0 OR list_contains($forces, force))""",
                        params={"forces": forces}).df()
    finally:
        con.close()
    if frame.empty:
        raise PlacesError(f"no located police.uk crimes of {', '.join(forces) or 'any force'}"
                          " are loaded")
    present = set(frame["measure"].astype(str))
    wanted = descendants(measure)
    if measure not in measures_given(present):
        raise PlacesError(f"police.uk street-level crime cannot give {measure!r}; it can give: "
                          + ", ".join(measures_given(present)))
    from pyproj import Transformer

    tr = Transformer.from_crs(EPSG_WGS84, EPSG_BNG, always_xy=True)
    x, y = tr.transform(frame["longitude"].to_numpy(), frame["latitude"].to_numpy())
    x, y = np.asarray(x), np.asarray(y)
    grid = make_grid(x, y, shape=shape, cell_size=cell_size,  # type: ignore[arg-type]
                     footprint=footprint)  # type: ignore[arg-type]
    last_step = int(frame["step"].max())
    if to is None:
        to = f"{last_step // 12:04d}-{last_step % 12 + 1:02d}"
    current, previous = windows(to, months)
    all_steps = sorted(set(int(s) for s in frame["step"]))
    run = [s for s in all_steps if s <= current.end]
    run_steps: list[int] = []
    for s in reversed(run):
        if not run_steps or run_steps[-1] - s == 1:
            run_steps.append(s)
        else:
            break
    run_steps.reverse()
    if current.start < (run_steps[0] if run_steps else current.end + 1):
        raise PlacesError(f"police.uk points cover {_ym(all_steps[0])} to {_ym(all_steps[-1])};"
                          f" {current.label()} is not covered")
    mask = frame["measure"].isin(sorted(wanted)).to_numpy()
    step_index = {s: i for i, s in enumerate(run_steps)}
    st = frame["step"].map(step_index)
    use = mask & st.notna().to_numpy()
    counts, outside = grid.counts(x[use], y[use], st[use].astype(int).to_numpy(),
                                  len(run_steps))
    cur_cols = [step_index[s] for s in run_steps if current.start <= s <= current.end]
    prev_cols = [step_index[s] for s in run_steps if previous.start <= s <= previous.end]
    notes = [f"Grid: {grid.shape} cells of {grid.cell_size:g} m"
             + (" (chosen as 1/50 of the shorter side of the points' extent, rounded down to "
                "100 m)" if grid.cell_size_chosen else "")
             + f"; {grid.n:,} cells kept: {grid.footprint_rule}."]
    if outside:
        notes.append(f"{outside:,} {measure} point(s) fall outside the grid's cells (stray "
                     "points far from the force area) and are not counted.")
    table = pd.DataFrame({"area_code": list(grid.ids),
                          "area_name": _cell_names(grid.locate(x, y), frame["lsoa_name"],
                                                   grid.ids),
                          "parent_code": None, "parent_name": None})
    table["count"] = counts[:, cur_cols].sum(axis=1)
    if len(prev_cols) == previous.months:
        table["previous_count"] = counts[:, prev_cols].sum(axis=1)
        ch = change_table(table[["count", "previous_count"]].rename(
            columns={"count": "c", "previous_count": "p"}), "c", "p")
        table["change"] = ch["change"].to_numpy()
        table["change_pct"] = ch["pct_change"].to_numpy()
        table["change_p"] = ch["p_value"].to_numpy()
        table["change_p_adjusted"] = ch["p_adjusted"].to_numpy()
        table["change_direction"] = ch["direction"].to_numpy()
    else:
        notes.append(f"The previous period ({previous.label()}) is not covered by the points: "
                     "no change is given.")
        for col in ("previous_count", "change", "change_pct", "change_p", "change_p_adjusted"):
            table[col] = np.nan
        table["change_direction"] = None
    table["population"] = np.nan
    table["rate_per_100k"] = np.nan
    w = grid.weights()
    yv = table["count"].to_numpy(dtype=np.float64)
    part, gi, lisa, moran = _spatial_stats(yv, w, permutations, seed, alpha)
    table = pd.concat([table, part], axis=1)
    cube = counts if steps is None else counts[:, -steps:]
    labels = [_ym(s) for s in run_steps][-cube.shape[1]:]
    ehsa = _ehsa_columns(table, cube if cube.shape[1] >= 3 else None, labels, w, alpha,
                         time_lag, global_window)
    geometries = gpd.GeoDataFrame({"area_code": list(grid.ids)}, geometry=grid.polygons(),
                                  crs=EPSG_BNG)
    params = {
        "measure": measure, "geography": "grid", "area": definition.key, "to": to,
        "months": months, "weights": w.rule, "permutations": permutations, "seed": seed,
        "alpha": alpha, "time_lag": time_lag, "global_window": global_window,
        "steps": [labels[0], labels[-1], len(labels)],
        "grid": {"shape": grid.shape, "cell_size_m": grid.cell_size,
                 "cell_size_chosen": grid.cell_size_chosen, "footprint": footprint,
                 "footprint_rule": grid.footprint_rule,
                 "stray_points_left_out": grid.points_left_out},
        "imports": sorted(set(frame["import_id"].astype(str))),
    }
    if w.report is not None:
        notes += list(w.report.notes)
    table = _finish_table(table, w, moran, params, notes, None)
    return HotspotResult(table, geometries, w, gi, lisa, moran, ehsa, params, notes)


def _cell_names(cell_of_point: Any, lsoa_names: pd.Series, ids: Sequence[str]) -> list[str]:
    """A name to find each cell by: "cell <id> (<LSOA most of its crimes are in>)"."""
    frame = pd.DataFrame({"cell": cell_of_point, "lsoa": lsoa_names.astype(str).to_numpy()})
    frame = frame[(frame["cell"] >= 0) & lsoa_names.notna().to_numpy()]
    top = frame.groupby(["cell", "lsoa"]).size().reset_index(name="n")
    top = top.sort_values(["cell", "n", "lsoa"], ascending=[True, False, True])
    best = top.drop_duplicates("cell").set_index("cell")["lsoa"]
    return [f"{code} ({best[i]})" if i in best.index else code for i, code in enumerate(ids)]


def _ym(ordinal: int) -> str:
    return f"{ordinal // 12:04d}-{ordinal % 12 + 1:02d}"


# --------------------------------------------------------------------------- deprivation


def place_deprivation(data: SnaData, geography: str, codes: Sequence[str],
                      geometries: gpd.GeoDataFrame | None = None) -> tuple[pd.DataFrame,
                                                                            list[str]]:
    """Each place's population-weighted average IMD 2019 score of its 2011 LSOAs (MHCLG's
    "average score"; the average national rank where scores are not loaded), and its rank
    within ``codes`` (1 = most deprived). Columns: area_code, deprivation_score,
    deprivation_measure, deprivation_rank, deprivation_n, deprivation_lsoas."""
    notes: list[str] = []
    store = data.store
    if "deprivation" not in store.dataset_files():
        return _no_deprivation(codes), ["No deprivation data is loaded (vru data fetch "
                                        "deprivation): places have no deprivation rank."]
    con = store.connect()
    try:
        lsoa = con.sql("""
            SELECT area_code,
                   max(CASE WHEN domain = 'imd' AND measure = 'score' THEN value END) AS score,
                   min(CASE WHEN domain = 'imd' AND measure = 'rank' AND NOT derived
                            THEN value END) AS rank,
                   max(CASE WHEN domain = 'population' AND measure = 'denominator_total'
                            THEN value END) AS population
            FROM deprivation WHERE area_level = 'lsoa'
            GROUP BY area_code""").df()
    finally:
        con.close()
    lsoa = lsoa.set_index("area_code")
    if geography == "lsoa":
        members = pd.DataFrame({"lsoa": list(codes), "place": list(codes)})
    elif geography == "borough":
        links = data.lsoa_lad()
        members = links.rename(columns={"lsoa_code": "lsoa", "lad_code": "place"})
    elif geography == "ward":
        try:
            lsoas = load_boundaries(store, "lsoa", "2011")
        except BoundariesNotLoaded:
            return _no_deprivation(codes), ["Ward deprivation needs the 2011 LSOA boundaries "
                                            "(to place LSOAs in wards); none are loaded."]
        wards = geometries if geometries is not None else load_boundaries(store, "ward", "2022")
        pts = gpd.GeoDataFrame({"lsoa": lsoas["code"]},
                               geometry=shapely.point_on_surface(lsoas.geometry.to_numpy()),
                               crs=EPSG_BNG)
        ward_frame = gpd.GeoDataFrame({"place": wards["area_code"] if "area_code" in wards
                                       else wards["code"]}, geometry=wards.geometry.to_numpy(),
                                      crs=EPSG_BNG)
        joined = pts.sjoin(ward_frame, how="inner", predicate="within")
        members = pd.DataFrame({"lsoa": joined["lsoa"], "place": joined["place"]})
        notes.append("Ward deprivation: each 2011 LSOA is put in the 2022 ward containing a "
                     "point inside it (there is no LSOA-to-2022-ward lookup); a best-fit "
                     "approximation.")
    else:
        return _no_deprivation(codes), []
    members = members[members["place"].isin(set(codes))]
    use_score = bool(members["lsoa"].map(lsoa["score"]).notna().all()) and not members.empty
    value = members["lsoa"].map(lsoa["score" if use_score else "rank"])
    weight = members["lsoa"].map(lsoa["population"])
    if weight.isna().any():
        notes.append("Some LSOAs have no IoD2019 population denominator: an unweighted mean "
                     "is used where weights are missing.")
        weight = weight.fillna(1.0)
    frame = pd.DataFrame({"place": members["place"], "v": value, "w": weight}).dropna()
    frame["vw"] = frame["v"] * frame["w"]
    agg = frame.groupby("place").agg(vw=("vw", "sum"), w=("w", "sum"), n=("v", "size"))
    agg["score"] = agg["vw"] / agg["w"]
    out = pd.DataFrame({"area_code": list(codes)})
    out["deprivation_score"] = out["area_code"].map(agg["score"])
    out["deprivation_measure"] = ("population-weighted average IMD 2019 score" if use_score
                                  else "population-weighted average IMD 2019 national rank")
    out["deprivation_lsoas"] = out["area_code"].map(agg["n"]).fillna(0).astype(int)
    known = out["deprivation_score"].notna()
    ascending = not use_score  # higher score = more deprived; lower rank = more deprived
    out["deprivation_rank"] = out.loc[known, "deprivation_score"].rank(
        ascending=ascending, method="min")
    out["deprivation_n"] = int(known.sum())
    lacking = out.loc[~known, "area_code"].tolist()
    if lacking:
        notes.append(f"{len(lacking)} place(s) have no LSOA with deprivation data and no "
                     f"deprivation rank: {', '.join(lacking[:10])}")
    return out, notes


def _no_deprivation(codes: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({"area_code": list(codes), "deprivation_score": np.nan,
                         "deprivation_measure": None, "deprivation_lsoas": 0,
                         "deprivation_rank": np.nan, "deprivation_n": np.nan})


# --------------------------------------------------------------------------- rules


def rule_names(data_dir: Path | None = None) -> list[str]:
    """Rules shipped with vru and in ``<data_dir>/priority_rules/``."""
    names = {p.name[:-5] for p in resources.files("vru").joinpath(*RULES_PACKAGE_DIR).iterdir()
             if p.name.endswith(".toml")}
    if data_dir is not None and (Path(data_dir) / "priority_rules").is_dir():
        names |= {p.stem for p in (Path(data_dir) / "priority_rules").glob("*.toml")}
    return sorted(names)


def load_rule(name_or_path: str | Path, data_dir: Path | None = None
              ) -> tuple[PriorityRule, str]:
    """A rule by file path, by name in ``<data_dir>/priority_rules/``, or shipped with vru.
    Returns the rule and where it came from."""
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.is_file():
        text, origin = path.read_text("utf-8"), str(path)
    elif data_dir is not None and (Path(data_dir) / "priority_rules" /
                                   f"{name_or_path}.toml").is_file():
        p = Path(data_dir) / "priority_rules" / f"{name_or_path}.toml"
        text, origin = p.read_text("utf-8"), str(p)
    else:
        shipped = resources.files("vru").joinpath(*RULES_PACKAGE_DIR, f"{name_or_path}.toml")
        if not shipped.is_file():
            raise PlacesError(f"no rule {str(name_or_path)!r}: give a .toml file or one of "
                              f"{', '.join(rule_names(data_dir))}")
        text, origin = shipped.read_text("utf-8"), f"vru/reference/priority_rules/" \
                                                   f"{name_or_path}.toml"
    return rule_from_text(text, origin), origin


def rule_from_text(text: str, origin: str = "rule") -> PriorityRule:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{origin}: not valid TOML ({exc})") from None
    return parse_rule(data, text, origin)


# --------------------------------------------------------------------------- priority places


@dataclass
class PriorityResult:
    """A selection: ``table`` (picked places, then excluded ones), ``clusters``, the
    ``record`` (decision record as stored) and where it was stored; ``places`` is every
    place with everything the rule looked at (to see why a place was not picked)."""

    table: pd.DataFrame
    places: pd.DataFrame
    clusters: list[dict[str, Any]]
    rule: PriorityRule
    rule_origin: str
    record: dict[str, Any]
    hotspots: HotspotResult
    record_path: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def rising(self) -> pd.DataFrame:
        return self.table[self.table["direction"] == "rising"]

    @property
    def falling(self) -> pd.DataFrame:
        return self.table[self.table["direction"] == "falling"]

    def geo_table(self, crs: int = EPSG_WGS84) -> gpd.GeoDataFrame:
        geo = self.hotspots.geometries.set_index("area_code").geometry
        picked = self.table[self.table["direction"].notna()].copy()
        gdf = gpd.GeoDataFrame(picked, geometry=geo.reindex(picked["area_code"]).to_numpy(),
                               crs=EPSG_BNG)
        return gdf.to_crs(crs) if crs != EPSG_BNG else gdf


def priority_places(
    store: EvidenceStore,
    rule: str | Path | PriorityRule,
    to: str | None = None,
    area: str = "london",
    *,
    save: bool = True,
    decided_at: datetime | None = None,
) -> PriorityResult:
    """Apply ``rule`` (a name, a file, or a parsed rule) to ``area``'s data for the period
    ending ``to``; store the decision record under ``<data_dir>/decisions/`` (``save``)."""
    if isinstance(rule, PriorityRule):
        parsed, origin = rule, "given"
    else:
        parsed, origin = load_rule(rule, store.data_dir)
    table, places, clusters, hs, notes = _select(store, parsed, to, area)
    record = _record(store, parsed, origin, area, hs, table, clusters, decided_at)
    path = save_decision(record, store.data_dir) if save else None
    return PriorityResult(table, places, clusters, parsed, origin, record, hs, path, notes)


def _select(store: EvidenceStore, rule: PriorityRule, to: str | None, area: str
            ) -> tuple[pd.DataFrame, pd.DataFrame, list[dict[str, Any]], HotspotResult,
                       list[str]]:
    if rule.measure not in MEASURES:
        raise PlacesError(f"the rule's measure {rule.measure!r} is not a known measure")
    measure_name = MEASURES[rule.measure].name
    with SnaData(store, area) as data:
        hs = hotspots(data, rule.measure, rule.geography, to, rule.months, area,
                      weights=rule.weights, permutations=rule.permutations, seed=rule.seed,
                      alpha=rule.alpha, time_lag=rule.time_lag,
                      global_window=rule.global_window, islands=rule.islands)
        places = hs.table.copy()
        notes = list(hs.notes)
        if rule.geography != "grid":
            dep, dep_notes = place_deprivation(data, rule.geography,
                                               places["area_code"].tolist(), hs.geometries)
            notes += dep_notes
            places = places.merge(dep, on="area_code", how="left")
        else:
            places = places.merge(_no_deprivation(places["area_code"].tolist()),
                                  on="area_code", how="left")
        area_name = data.area.name
    table = select_places(places, rule, measure_name=measure_name, area_name=area_name)
    parent_of = dict(zip(places["area_code"], places["parent_code"].fillna(
        places["area_code"]), strict=True))
    clusters: list[dict[str, Any]] = []
    for c in contiguous_clusters(table, hs.weights, parent_of):
        clusters.append({"cluster_id": c.cluster_id, "direction": c.direction,
                         "members": list(c.members),
                         "parents": list(c.parents),
                         "parent_names": [_parent_name(places, p) for p in c.parents],
                         "multi_borough": c.multi_borough, "total_count": c.total_count})
    cluster_of = {str(m): str(c["cluster_id"]) for c in clusters for m in c["members"]}
    table["cluster_id"] = [cluster_of.get(code) if d is not None else None
                           for code, d in zip(table["area_code"], table["direction"],
                                              strict=True)]
    table.attrs["rule_description"] = rule.describe(measure_name, area_name)
    table.attrs["notes"] = list(dict.fromkeys(notes))
    return table, places, clusters, hs, notes


def _parent_name(places: pd.DataFrame, code: str) -> str:
    hit = places.loc[places["parent_code"] == code, "parent_name"]
    return str(hit.iloc[0]) if len(hit) and hit.iloc[0] is not None else code


# --------------------------------------------------------------------------- decision records


RESULT_FIELDS: tuple[str, ...] = (
    "direction", "area_code", "area_name", "parent_code", "parent_name", "count",
    "previous_count", "change_pct", "change_p_adjusted", "population", "gi_z", "gi_p_fdr",
    "ehsa_category", "trend", "deprivation_rank", "deprivation_n", "criteria_met",
    "explanation", "cluster_id",
)


def _canonical(v: Any) -> Any:
    """JSON-ready, stable across runs: floats to 10 significant digits, NaN to None."""
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, float):
        if not math.isfinite(v):
            return None
        return float(f"{v:.10g}")
    if isinstance(v, Mapping):
        return {str(k): _canonical(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_canonical(x) for x in v]
    if v is None or isinstance(v, (str, int, bool)):
        return v
    if pd.isna(v):
        return None
    return str(v)


def _result_payload(table: pd.DataFrame, clusters: list[dict[str, Any]]) -> dict[str, Any]:
    picked = table[table["direction"].notna()]
    excluded = table[table["direction"].isna()]
    rows = [{f: _canonical(r.get(f)) for f in RESULT_FIELDS}
            for r in picked.to_dict(orient="records")]
    return {
        "rising": [r for r in rows if r["direction"] == "rising"],
        "falling": [r for r in rows if r["direction"] == "falling"],
        "clusters": _canonical(clusters),
        "excluded": [{"area_code": r["area_code"], "area_name": r["area_name"],
                      "reason": r["excluded_reason"]}
                     for r in excluded.to_dict(orient="records")],
    }


def content_hash(record: Mapping[str, Any]) -> str:
    """sha256 of the record's canonical JSON without ``decided_at`` and the hash itself."""
    body = {k: v for k, v in record.items() if k not in ("decided_at", "record_sha256")}
    text = json.dumps(_canonical(body), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def data_version(store: EvidenceStore) -> list[dict[str, Any]]:
    """Every import in the store: its id, format, file and sha256 (what "the data" was)."""
    return [{"import_id": i["import_id"], "format": i["format"], "file_name": i["file_name"],
             "sha256": i["sha256"]} for i in sorted(store.imports(),
                                                   key=lambda r: str(r["import_id"]))]


def _record(store: EvidenceStore, rule: PriorityRule, origin: str, area: str,
            hs: HotspotResult, table: pd.DataFrame, clusters: list[dict[str, Any]],
            decided_at: datetime | None) -> dict[str, Any]:
    from vru import __version__

    when = (decided_at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    params = dict(hs.parameters)
    payload = _result_payload(table, clusters)
    record: dict[str, Any] = {
        "record_version": RECORD_VERSION,
        "rule": {"name": rule.name, "title": rule.title, "version": rule.version,
                 "origin": origin, "text": rule.source_text,
                 "text_sha256": hashlib.sha256(rule.source_text.encode("utf-8")).hexdigest(),
                 "description": table.attrs.get("rule_description", "")},
        "parameters": {"area": area, "to": params.get("to"), **{
            k: v for k, v in params.items() if k not in ("area", "to")}},
        "data_version": data_version(store),
        "decided_at": when.isoformat(),
        "vru_version": __version__,
        "result": payload,
        "result_sha256": hashlib.sha256(json.dumps(payload, sort_keys=True,
                                                   ensure_ascii=False).encode()).hexdigest(),
    }
    record = _canonical(record)
    record["record_sha256"] = content_hash(record)
    return record


def save_decision(record: Mapping[str, Any], data_dir: Path) -> Path:
    """Write the record as ``<data_dir>/decisions/<date>-<rule>-<hash12>.json`` (atomic:
    written to a temporary name, then renamed). An identical record is not written twice."""
    folder = Path(data_dir) / DECISIONS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    digest = str(record["record_sha256"])
    existing = sorted(folder.glob(f"*-{digest[:12]}.json"))
    for p in existing:
        try:
            if json.loads(p.read_text("utf-8")).get("record_sha256") == digest:
                return p
        except (OSError, json.JSONDecodeError):
            continue
    rule = re.sub(r"[^A-Za-z0-9_-]+", "-", str(record["rule"]["name"]))[:60]
    name = f"{str(record['decided_at'])[:10]}-{rule}-{digest[:12]}.json"
    path = folder / name
    tmp = folder / f".{name}.tmp"
    tmp.write_text(json.dumps(record, indent=2, ensure_ascii=False, sort_keys=False) + "\n",
                   encoding="utf-8")
    tmp.replace(path)
    return path


def decisions(data_dir: Path) -> list[dict[str, Any]]:
    """The stored decision records (newest first): path, rule, date, hash, counts."""
    folder = Path(data_dir) / DECISIONS_DIR
    out = []
    for p in sorted(folder.glob("*.json"), reverse=True) if folder.is_dir() else []:
        try:
            rec = json.loads(p.read_text("utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        out.append({"path": str(p), "rule": rec.get("rule", {}).get("name"),
                    "decided_at": rec.get("decided_at"), "to": rec.get("parameters", {}).get(
                        "to"), "record_sha256": rec.get("record_sha256"),
                    "rising": len(rec.get("result", {}).get("rising", [])),
                    "falling": len(rec.get("result", {}).get("falling", []))})
    return out


class PinnedStore(EvidenceStore):
    """A read-only view of an evidence store that sees only the given imports: what the
    store was when a decision was made, even after later imports."""

    def __init__(self, base: EvidenceStore, import_ids: Iterable[str]) -> None:
        super().__init__(base.data_dir)
        self.pinned = frozenset(import_ids)

    def dataset_files(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for dataset, paths in super().dataset_files().items():
            kept = [p for p in paths if Path(p).stem in self.pinned]
            if kept:
                out[dataset] = kept
        return out

    def imports(self) -> list[dict[str, Any]]:
        return [i for i in super().imports() if i["import_id"] in self.pinned]


@dataclass(frozen=True)
class Verification:
    """The outcome of re-running a decision record."""

    ok: bool
    path: str
    message: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    tampered: bool = False


def verify_decision(store: EvidenceStore, record_or_path: Path | str | Mapping[str, Any]
                    ) -> Verification:
    """Re-run a stored decision on the store pinned to its recorded imports, with its
    recorded rule text and parameters, and check the list is the same (same result hash)."""
    if isinstance(record_or_path, Mapping):
        record, where = dict(record_or_path), "record"
    else:
        p = Path(record_or_path)
        if not p.is_file():
            p = Path(store.data_dir) / DECISIONS_DIR / str(record_or_path)
        try:
            record = json.loads(p.read_text("utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise PlacesError(f"cannot read decision record {record_or_path}: {exc}") from None
        where = str(p)
    if content_hash(record) != record.get("record_sha256"):
        return Verification(False, where, "the record's content does not match its hash: it "
                            "has been changed since it was made", tampered=True)
    recorded = {i["import_id"]: i for i in record["data_version"]}
    have = {i["import_id"]: i for i in store.imports()}
    missing = [i for i in recorded if i not in have]
    changed = [i for i in recorded if i in have and have[i]["sha256"] != recorded[i]["sha256"]]
    if missing or changed:
        return Verification(False, where, "the store no longer holds the data the decision "
                            f"was made on: {len(missing)} import(s) missing, {len(changed)} "
                            "changed: " + ", ".join((missing + changed)[:5]))
    pinned = PinnedStore(store, recorded)
    rule = rule_from_text(record["rule"]["text"], record["rule"]["origin"])
    params = record["parameters"]
    table, _places, clusters, _hs, _notes = _select(pinned, rule, params["to"],
                                                    params["area"])
    payload = _canonical(_result_payload(table, clusters))
    new_hash = hashlib.sha256(json.dumps(payload, sort_keys=True,
                                         ensure_ascii=False).encode()).hexdigest()
    if new_hash == record["result_sha256"]:
        n = len(payload["rising"]) + len(payload["falling"])
        return Verification(True, where, f"reproduced: the same {n} place(s) and clusters, "
                            f"from the {len(recorded)} recorded imports")
    old = {(r["direction"], r["area_code"]) for r in record["result"]["rising"]
           + record["result"]["falling"]}
    new = {(r["direction"], r["area_code"]) for r in payload["rising"] + payload["falling"]}
    return Verification(False, where, "the re-run gives a different result",
                        added=tuple(sorted(f"{d}:{c}" for d, c in new - old)),
                        removed=tuple(sorted(f"{d}:{c}" for d, c in old - new)))


# --------------------------------------------------------------------------- output


def export_places(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    """Write a GeoDataFrame by extension: ``.geojson`` (WGS84, RFC 7946), ``.gpkg``
    (British National Grid, for QGIS) or ``.csv`` (no geometry)."""
    path = Path(path)
    suffix = path.suffix.lower()
    frame = gdf.copy()
    for col in frame.columns:
        if col != frame.geometry.name and frame[col].dtype == object:
            frame[col] = frame[col].map(lambda v: None if v is None else
                                        (v if isinstance(v, str) else str(v)))
    if suffix in (".geojson", ".json"):
        frame.to_crs(EPSG_WGS84).to_file(path, driver="GeoJSON")
    elif suffix == ".gpkg":
        frame.to_crs(EPSG_BNG).to_file(path, driver="GPKG", layer=path.stem)
    elif suffix == ".csv":
        pd.DataFrame(frame.drop(columns=frame.geometry.name)).to_csv(path, index=False)
    else:
        raise PlacesError(f"cannot write {path.name}: use .geojson, .gpkg or .csv")
    return path
