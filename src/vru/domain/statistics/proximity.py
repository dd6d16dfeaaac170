"""Violence near transport hubs: events within a distance of stations against elsewhere.

All layers must share one *projected* coordinate reference system measured in metres,
normally British National Grid (EPSG:27700). Geographic coordinates (longitude/latitude,
e.g. EPSG:4326) are refused: a distance in degrees is not a distance. Reproject first with
``GeoDataFrame.to_crs(27700)``.

Caveats the numbers carry
-------------------------
* police.uk street-level locations are snapped to anonymised map points (usually the centre
  of a street or a public place), so an event within a few tens of metres of a station may
  be placed just inside or outside a buffer; stations themselves are such points. Prefer
  distances of 200 m or more with police.uk data.
* Events are counted by exact point-to-point distance (``distance <= d``); buffer *areas*
  are computed from polygons approximating circles with 64 segments per quarter, whose area
  is about 0.01% smaller than the true circle.
* The rate-ratio tests treat events as independent Poisson counts. Violence clusters in
  space, so real uncertainty is larger than the intervals suggest; read them as a lower
  bound on uncertainty.

References: the "crime near transit stations" literature measures exposure this way (e.g.
Ceccato V, Uittenbogaard AC (2014) Space-time dynamics of crime in transport nodes. Annals
of the Association of American Geographers 104(1):131-150; Newton A (2014) Crime on public
transport, in Encyclopedia of Criminology and Criminal Justice, Springer). Population inside
a buffer is estimated by areal weighting (Goodchild MF, Lam NS-N (1980) Areal interpolation:
a variant of the traditional spatial problem. Geo-Processing 1:297-312).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from vru.domain.statistics.timing import RateComparison, poisson_rate_ratio

__all__ = [
    "ProximitySummary",
    "events_near_stations",
    "require_projected_metres",
    "station_proximity",
]

QUAD_SEGS = 64
SQ_M_PER_SQ_KM = 1_000_000.0


def require_projected_metres(*layers: tuple[str, gpd.GeoDataFrame | gpd.GeoSeries]) -> CRS:
    """Check that every ``(name, layer)`` has the same projected CRS in metres; return it.

    Raises ``ValueError`` naming the layer when a CRS is missing, geographic
    (longitude/latitude), not in metres, or different from the others.
    """
    crs: CRS | None = None
    first = ""
    for name, layer in layers:
        if layer.crs is None:
            raise ValueError(
                f"{name} has no coordinate reference system; set it (EPSG:27700 for British "
                "National Grid eastings/northings)"
            )
        this = CRS.from_user_input(layer.crs)
        if this.is_geographic:
            raise ValueError(
                f"{name} is in geographic coordinates ({this.name}), where distances are in "
                "degrees; reproject it to British National Grid first: .to_crs(27700)"
            )
        if not this.is_projected:
            raise ValueError(f"{name} is not in a projected coordinate system ({this.name})")
        units = {axis.unit_name for axis in this.axis_info}
        if not units <= {"metre", "meter"}:
            raise ValueError(f"{name}'s coordinates are in {sorted(units)}, not metres")
        if crs is None:
            crs, first = this, name
        elif not crs.equals(this):
            raise ValueError(
                f"{name} ({this.name}) and {first} ({crs.name}) are in different coordinate "
                "systems; reproject one to match the other"
            )
    if crs is None:
        raise ValueError("no layers given")
    return crs


def _points(name: str, layer: gpd.GeoDataFrame) -> None:
    geoms = layer.geometry
    if geoms.isna().any() or geoms.is_empty.any():
        raise ValueError(f"{name} has rows with no location; remove or locate them first")
    kinds = set(geoms.geom_type)
    if kinds - {"Point"}:
        raise ValueError(f"{name} must be points, not {sorted(kinds - {'Point'})}")


def _check_distance(distance_m: float) -> None:
    if not (isinstance(distance_m, int | float) and np.isfinite(distance_m) and distance_m > 0):
        raise ValueError(f"distance_m must be a positive number of metres, not {distance_m!r}")


def _pairs_within(
    events: gpd.GeoDataFrame, stations: gpd.GeoDataFrame, distance_m: float
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(station position, event position, distance) for every pair within ``distance_m``."""
    station_pos, event_pos = events.sindex.query(
        stations.geometry.values, predicate="dwithin", distance=distance_m
    )
    distances = shapely.distance(
        np.asarray(events.geometry.values)[event_pos],
        np.asarray(stations.geometry.values)[station_pos],
    )
    keep = distances <= distance_m  # exact, whatever the index tolerance
    return station_pos[keep], event_pos[keep], np.asarray(distances)[keep]


def events_near_stations(
    events: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    distance_m: float,
    *,
    station_id: str | None = None,
) -> pd.DataFrame:
    """The stations with the most violence nearby.

    One row per station (all stations, zeros included), sorted with the most events first:

    * ``events_within``: events within ``distance_m`` metres of the station
      (``distance <= d``). **An event near several stations counts for each of them**, so
      this column can add up to more than the number of events; it answers "how much
      violence is there around this station?".
    * ``events_nearest``: events within ``distance_m`` of any station, each counted once,
      for its *nearest* station only (ties go to the station listed first). This column adds
      up to the number of events near any station; it answers "which station is this
      violence closest to?".
    * ``rank``: 1 = most ``events_within`` (ties share the lowest rank).

    ``station_id`` names the column identifying stations (defaults to the index). Stations
    listed twice at one place (an interchange entered per network) each get the events.
    """
    _check_distance(distance_m)
    require_projected_metres(("events", events), ("stations", stations))
    _points("events", events)
    _points("stations", stations)
    if station_id is not None and station_id not in stations.columns:
        raise ValueError(f"stations has no column {station_id!r}")
    n_stations = len(stations)
    within = np.zeros(n_stations, dtype=np.int64)
    nearest = np.zeros(n_stations, dtype=np.int64)
    if len(events) and n_stations:
        st, ev, dist = _pairs_within(events, stations, distance_m)
        within = np.bincount(st, minlength=n_stations)
        if ev.size:
            order = np.lexsort((st, dist, ev))  # by event, then distance, then station order
            ev_sorted = ev[order]
            first = np.ones(ev_sorted.size, dtype=bool)
            first[1:] = ev_sorted[1:] != ev_sorted[:-1]
            nearest = np.bincount(st[order][first], minlength=n_stations)
    labels = (
        stations[station_id].to_numpy() if station_id is not None else stations.index.to_numpy()
    )
    table = pd.DataFrame(
        {
            "station": labels,
            "events_within": within,
            "events_nearest": nearest,
            "distance_m": float(distance_m),
        }
    )
    table["rank"] = table["events_within"].rank(method="min", ascending=False).astype("int64")
    return table.sort_values(
        ["events_within", "events_nearest"], ascending=False, kind="stable"
    ).reset_index(drop=True)


@dataclass(frozen=True)
class ProximitySummary:
    """Violence within ``distance_m`` of any station ("near") against the rest of the study
    area ("elsewhere").

    Counts: ``events_near`` + ``events_elsewhere`` = events inside the study area;
    ``events_outside_study_area`` were left out of both (reported, not dropped silently).
    Areas are in km^2: ``area_near_km2`` is the union of the station buffers clipped to the
    study area. ``per_km2`` compares events per km^2 near and elsewhere. With a population
    surface, ``residents_near`` / ``residents_elsewhere`` are areal-weighted estimates and
    ``per_resident`` compares events per resident (rates shown per ``residents_per``).
    """

    distance_m: float
    stations: int
    events_near: int
    events_elsewhere: int
    events_outside_study_area: int
    area_near_km2: float
    area_elsewhere_km2: float
    events_per_km2_near: float
    events_per_km2_elsewhere: float
    per_km2: RateComparison
    residents_per: float
    residents_near: float | None
    residents_elsewhere: float | None
    rate_near: float | None
    rate_elsewhere: float | None
    per_resident: RateComparison | None


def station_proximity(
    events: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    distance_m: float,
    *,
    study_area: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    population: gpd.GeoDataFrame | None = None,
    population_column: str = "population",
    residents_per: float = 1_000.0,
    confidence: float = 0.95,
) -> ProximitySummary:
    """Violence within ``distance_m`` metres of stations against elsewhere in the study area.

    * Study area ``S``: the union of ``study_area`` (e.g. borough polygons), or of the
      ``population`` areas when ``study_area`` is not given.
    * Near zone ``Z = S & union_s buffer(s, d)``; elsewhere ``S - Z``.
    * ``events_near``: events in ``S`` within ``d`` of at least one station (each event
      counted once); ``events_elsewhere``: the other events in ``S``.
    * Density: ``events_near / area(Z)`` and ``events_elsewhere / area(S - Z)`` per km^2,
      compared with ``poisson_rate_ratio`` (near / elsewhere, exposure = area).
    * Residents (when ``population`` is given: polygons with a ``population_column``): each
      area's population is split in proportion to the share of its area inside ``Z``
      (areal weighting, which assumes residents are spread evenly within each area), then
      ``rate = residents_per * events / residents`` near and elsewhere, compared with
      ``poisson_rate_ratio`` (exposure = residents). Station areas have few residents and
      many visitors, so the per-resident rate overstates risk to any one person there; the
      per-km^2 rate does not depend on who lives there.
    """
    _check_distance(distance_m)
    if study_area is None and population is None:
        raise ValueError("give study_area (e.g. borough boundaries) or a population surface")
    layers: list[tuple[str, gpd.GeoDataFrame | gpd.GeoSeries]] = [
        ("events", events), ("stations", stations)
    ]
    if study_area is not None:
        layers.append(("study_area", study_area))
    if population is not None:
        layers.append(("population", population))
    require_projected_metres(*layers)
    _points("events", events)
    _points("stations", stations)
    if len(stations) == 0:
        raise ValueError("no stations given")

    area_geoms = (study_area if study_area is not None else population)
    assert area_geoms is not None
    area_series = area_geoms.geometry if isinstance(area_geoms, gpd.GeoDataFrame) else area_geoms
    study = shapely.union_all(np.asarray(area_series.values))
    if study.is_empty or study.area <= 0:
        raise ValueError("the study area has no area")
    buffers = shapely.buffer(np.asarray(stations.geometry.values), distance_m, quad_segs=QUAD_SEGS)
    zone = shapely.intersection(shapely.union_all(buffers), study)
    rest = shapely.difference(study, zone)
    area_near = float(shapely.area(zone)) / SQ_M_PER_SQ_KM
    area_rest = float(shapely.area(rest)) / SQ_M_PER_SQ_KM
    if area_near <= 0 or area_rest <= 0:
        raise ValueError(
            "the buffers cover none or all of the study area; choose another distance"
        )

    points = np.asarray(events.geometry.values)
    shapely.prepare(study)
    inside = shapely.covers(study, points) if points.size else np.zeros(0, dtype=bool)
    near = np.zeros(len(events), dtype=bool)
    if len(events):
        _, ev, _ = _pairs_within(events, stations, distance_m)
        near[np.unique(ev)] = True
    events_near = int((near & inside).sum())
    events_rest = int((~near & inside).sum())
    outside = int((~inside).sum())
    per_km2 = poisson_rate_ratio(
        events_near, area_near, events_rest, area_rest,
        labels=(f"within {distance_m:g} m of a station", "elsewhere"),
        exposure_unit="km2", confidence=confidence,
    )

    residents_near: float | None = None
    residents_rest: float | None = None
    rate_near: float | None = None
    rate_rest: float | None = None
    per_resident: RateComparison | None = None
    if population is not None:
        if population_column not in population.columns:
            raise ValueError(f"population has no column {population_column!r}")
        pops = pd.to_numeric(population[population_column], errors="coerce")
        if pops.isna().any() or (pops < 0).any():
            raise ValueError(f"population column {population_column!r} has missing or "
                             "negative values")
        polys = np.asarray(population.geometry.values)
        whole = shapely.area(polys)
        if np.any(whole <= 0):
            raise ValueError("a population area has no area")
        share_near = shapely.area(shapely.intersection(polys, zone)) / whole
        share_study = shapely.area(shapely.intersection(polys, study)) / whole
        p = pops.to_numpy(dtype=np.float64)
        residents_near = float(np.sum(p * share_near))
        residents_rest = float(np.sum(p * (share_study - share_near)))
        if residents_near > 0 and residents_rest > 0:
            per_resident = poisson_rate_ratio(
                events_near, residents_near, events_rest, residents_rest,
                labels=(f"within {distance_m:g} m of a station", "elsewhere"),
                exposure_unit="resident", confidence=confidence,
            )
            rate_near = residents_per * events_near / residents_near
            rate_rest = residents_per * events_rest / residents_rest
    return ProximitySummary(
        distance_m=float(distance_m),
        stations=len(stations),
        events_near=events_near,
        events_elsewhere=events_rest,
        events_outside_study_area=outside,
        area_near_km2=area_near,
        area_elsewhere_km2=area_rest,
        events_per_km2_near=events_near / area_near,
        events_per_km2_elsewhere=events_rest / area_rest,
        per_km2=per_km2,
        residents_per=float(residents_per),
        residents_near=residents_near,
        residents_elsewhere=residents_rest,
        rate_near=rate_near,
        rate_elsewhere=rate_rest,
        per_resident=per_resident,
    )
