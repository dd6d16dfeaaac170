"""Proximity: violence within a distance of stations against elsewhere.

Reference implementation: brute-force shapely/geopandas ``distance`` between every event
and every station.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from shapely.geometry import Point, box

from vru.domain.statistics.proximity import (
    events_near_stations,
    require_projected_metres,
    station_proximity,
)
from vru.domain.statistics.timing import poisson_rate_ratio

BNG = 27700
# A regular 256-gon inscribed in a circle has (256/2) sin(2 pi/256) / pi = 0.9999 of its
# area, so buffer areas are compared with the circle to 2e-4.
AREA_RTOL = 2e-4


def _points(coords: list[tuple[float, float]], crs: int | str = BNG, **columns: list[object]
            ) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=[Point(x, y) for x, y in coords], crs=crs)


STATIONS = _points([(0, 0), (300, 0)], name=["Alpha", "Beta"])


def test_events_near_stations_hand_worked() -> None:
    # Stations A (0,0) and B (300,0); d = 200 m.
    #   e1 (100, 0): 100 m from A, 200 m from B -> near both (distance <= d); nearest A
    #   e2 (250, 0): 250 m from A, 50 m from B  -> near B only
    #   e3 (0, 150): 150 m from A, 335 m from B -> near A only
    #   e4 (1000, 1000): near neither
    # events_within: A {e1, e3} = 2, B {e1, e2} = 2 (e1 counts for both: 4 > 3 events)
    # events_nearest: A {e1, e3} = 2, B {e2} = 1 (adds up to the 3 events near a station)
    events = _points([(100, 0), (250, 0), (0, 150), (1000, 1000)])
    table = events_near_stations(events, STATIONS, 200, station_id="name").set_index("station")
    assert table.loc["Alpha", "events_within"] == 2
    assert table.loc["Beta", "events_within"] == 2
    assert table.loc["Alpha", "events_nearest"] == 2
    assert table.loc["Beta", "events_nearest"] == 1
    assert table["rank"].tolist() == [1, 1]
    assert table["events_nearest"].sum() == 3


def test_events_near_stations_ties_go_to_the_station_listed_first() -> None:
    events = _points([(150, 0)])  # exactly 150 m from both
    table = events_near_stations(events, STATIONS, 200, station_id="name").set_index("station")
    assert table.loc["Alpha", "events_nearest"] == 1
    assert table.loc["Beta", "events_nearest"] == 0
    assert table["events_within"].tolist() == [1, 1]


def test_events_near_stations_matches_brute_force_distances() -> None:
    rng = np.random.default_rng(11)
    events = _points([tuple(p) for p in rng.uniform(0, 5000, size=(2000, 2))])
    stations = _points([tuple(p) for p in rng.uniform(0, 5000, size=(40, 2))])
    d = 250.0
    table = events_near_stations(events, stations, d).set_index("station").sort_index()
    # distances[i, j]: event i to station j, with geopandas' own distance
    distances = np.column_stack([events.distance(s) for s in stations.geometry])
    within = (distances <= d).sum(axis=0)
    assert table["events_within"].tolist() == within.tolist()
    near_any = (distances <= d).any(axis=1)
    nearest = np.argmin(distances, axis=1)[near_any]
    assert table["events_nearest"].tolist() == np.bincount(nearest, minlength=40).tolist()
    ranked = events_near_stations(events, stations, d)
    assert ranked["events_within"].is_monotonic_decreasing


def test_station_proximity_hand_worked() -> None:
    # Study area: the 1 km square (1 km^2). One station at its centre; d = 100 m.
    # Near zone: a circle of pi * 100^2 m^2 = 0.0314159 km^2; elsewhere 1 - 0.0314159 km^2.
    # Events: 3 inside the circle, 7 outside it, 1 outside the study area (reported apart).
    # Density near 3 / 0.0314159 = 95.49 per km^2; elsewhere 7 / 0.9685841 = 7.227.
    # Residents: west half 1,000, east half 3,000; the circle is split evenly between them,
    # so residents near = (1000 + 3000) * 0.0314159 / 0.5 / 2 = 125.66 (areal weighting).
    square = gpd.GeoSeries([box(0, 0, 1000, 1000)], crs=BNG)
    population = gpd.GeoDataFrame(
        {"population": [1000, 3000]}, geometry=[box(0, 0, 500, 1000), box(500, 0, 1000, 1000)],
        crs=BNG,
    )
    station = _points([(500, 500)])
    events = _points([(500, 500), (550, 500), (500, 420), (10, 10), (990, 990), (100, 900),
                      (900, 100), (500, 700), (300, 500), (700, 300), (2000, 2000)])
    circle_km2 = math.pi * 100**2 / 1e6
    result = station_proximity(events, station, 100, study_area=square, population=population)
    assert (result.events_near, result.events_elsewhere) == (3, 7)
    assert result.events_outside_study_area == 1
    assert_allclose(result.area_near_km2, circle_km2, rtol=AREA_RTOL)
    assert_allclose(result.area_elsewhere_km2, 1 - circle_km2, rtol=AREA_RTOL)
    assert_allclose(result.events_per_km2_near, 3 / circle_km2, rtol=AREA_RTOL)
    assert_allclose(result.events_per_km2_elsewhere, 7 / (1 - circle_km2), rtol=AREA_RTOL)
    expected = poisson_rate_ratio(3, result.area_near_km2, 7, result.area_elsewhere_km2)
    assert result.per_km2.p_value == expected.p_value
    assert result.residents_near is not None and result.residents_elsewhere is not None
    assert_allclose(result.residents_near, 4000 * circle_km2, rtol=AREA_RTOL)
    assert_allclose(result.residents_near + result.residents_elsewhere, 4000, rtol=1e-9)
    assert result.rate_near is not None
    assert_allclose(result.rate_near, 1000 * 3 / (4000 * circle_km2), rtol=AREA_RTOL)
    assert result.per_resident is not None


def test_buffers_are_clipped_to_the_study_area() -> None:
    # A station on the edge of the study area: only half its circle is inside.
    square = gpd.GeoSeries([box(0, 0, 1000, 1000)], crs=BNG)
    result = station_proximity(_points([(5, 5)]), _points([(0, 500)]), 100, study_area=square)
    assert_allclose(result.area_near_km2, math.pi * 100**2 / 2 / 1e6, rtol=AREA_RTOL)


def test_study_area_defaults_to_the_population_areas() -> None:
    population = gpd.GeoDataFrame({"population": [100]}, geometry=[box(0, 0, 1000, 1000)],
                                  crs=BNG)
    result = station_proximity(_points([(1, 1)]), _points([(500, 500)]), 100,
                               population=population)
    assert_allclose(result.area_near_km2 + result.area_elsewhere_km2, 1.0, rtol=1e-9)


def test_geographic_coordinates_are_refused_with_advice() -> None:
    events = _points([(-0.12, 51.5)], crs="EPSG:4326")
    with pytest.raises(ValueError, match=r"geographic.*to_crs\(27700\)"):
        events_near_stations(events, STATIONS, 200)
    with pytest.raises(ValueError, match="no coordinate reference system"):
        events_near_stations(gpd.GeoDataFrame(geometry=[Point(0, 0)]), STATIONS, 200)
    utm = _points([(0, 0)], crs="EPSG:32630")
    with pytest.raises(ValueError, match="different coordinate"):
        events_near_stations(utm, STATIONS, 200)
    assert require_projected_metres(("stations", STATIONS)).to_epsg() == BNG


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="positive number of metres"):
        events_near_stations(_points([(0, 0)]), STATIONS, 0)
    lines = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)], crs=BNG)
    with pytest.raises(ValueError, match="must be points"):
        events_near_stations(lines, STATIONS, 100)
    with pytest.raises(ValueError, match="study_area"):
        station_proximity(_points([(0, 0)]), STATIONS, 100)


def test_no_events_gives_zeros() -> None:
    empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=BNG), crs=BNG)
    table = events_near_stations(empty, STATIONS, 100)
    assert table["events_within"].tolist() == [0, 0]
    assert isinstance(table, pd.DataFrame)
