"""The boundaries adapter against every real boundary file, and hand-made bad files."""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Point, Polygon, box

from vru.adapters.sources.base import Parsed, ReferenceData
from vru.adapters.sources.boundaries import Boundaries
from vru.adapters.sources.lookup import Lookup
from vru.adapters.store.evidence_store import EvidenceStore
from vru.adapters.store.geo import BoundariesNotLoaded, boundary_layers, load_boundaries
from vru.domain.problems import InputError
from vru.services.ingest import ingest_file

# Features per file and what they hold (level/vintage -> count), from SOURCES.md section 1.
REAL = {
    "London_Borough_Excluding_MHW.zip": {("lad", "2011"): 33},
    "London_Ward_CityMerged.zip": {("ward", "2011"): 624, ("lad", "2011"): 1},
    "LSOA_2011_London_gen_MHW.zip": {("lsoa", "2011"): 4_835},
    "MSOA_2011_London_gen_MHW.zip": {("msoa", "2011"): 983},
    "London-wards-2018_ESRI.zip": {("ward", "2018"): 657 + 633},
    "london_boroughs_2011_wgs84.geojson": {("lad", "2011"): 33},
    "london_wards_2011_citymerged_wgs84.geojson": {("ward", "2011"): 624, ("lad", "2011"): 1},
    "london_lsoa_2011_wgs84.geojson": {("lsoa", "2011"): 4_835},
    "london_msoa_2011_wgs84.geojson": {("msoa", "2011"): 983},
    "london_lsoa_2021_wgs84.geojson": {("lsoa", "2021"): 4_994},
    "london_msoa_2021_wgs84.geojson": {("msoa", "2021"): 1_002},
    "london_wards_2018_wgs84.geojson": {("ward", "2018"): 657},
    "london_wards_2025_wgs84.geojson": {("ward", "2025"): 704},
    "greater_london_boundary_oobrien.geojson": {("outline", None): 1},
}

_CACHE: dict[str, Parsed] = {}


def parse(path: Path, ref: ReferenceData | None = None) -> Parsed:
    key = str(path)
    if ref is not None:
        return Boundaries().parse(path, ref)
    if key not in _CACHE:
        _CACHE[key] = Boundaries().parse(path, ReferenceData())
    return _CACHE[key]


def bpath(shared_data: Path, name: str) -> Path:
    return shared_data / "geo" / "boundaries" / name


def level_counts(p: Parsed) -> Counter[tuple[str, str | None]]:
    t = p.tables["boundaries"]
    return Counter(zip(t.column("level").to_pylist(), t.column("vintage").to_pylist(),
                       strict=True))


@pytest.mark.slow
@pytest.mark.parametrize(("name", "expected"), sorted(REAL.items()))
def test_every_real_boundary_file(shared_data: Path, name: str,
                                  expected: dict[tuple[str, str | None], int]) -> None:
    p = parse(bpath(shared_data, name))
    assert p.problems == []
    assert level_counts(p) == Counter(expected)
    assert p.rows_read == sum(expected.values()) == p.rows_stored + p.rows_rejected
    t = p.tables["boundaries"]
    geoms = shapely.from_wkb(t.column("geometry").to_numpy(zero_copy_only=False))
    assert shapely.is_valid(geoms).all()
    assert set(shapely.get_type_id(geoms)) <= {3, 6}  # Polygon, MultiPolygon
    # Stored in British National Grid: London lies around E 500-560 km, N 155-205 km.
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    assert 490_000 < minx < maxx < 570_000 and 150_000 < miny < maxy < 210_000
    assert min(t.column("area_hectares").to_pylist()) > 0


@pytest.mark.slow
def test_shapefile_prj_without_epsg_is_set_to_27700_and_repairs_recorded(
        shared_data: Path) -> None:
    p = parse(bpath(shared_data, "LSOA_2011_London_gen_MHW.zip"))
    (layer,) = p.meta["layers"]
    assert "without an EPSG code; set to EPSG:27700" in layer["crs"]
    # 8 generalised LSOA polygons have self-intersecting rings: repaired and listed.
    assert p.meta["repaired_count"] == 8 == len(p.meta["repaired"])
    assert all("Self-intersection" in r["reason"] for r in p.meta["repaired"])
    assert p.meta["repair_method"].startswith("shapely.make_valid")
    areas = Counter(zip(p.tables["areas"].column("level").to_pylist(),
                        p.tables["areas"].column("vintage").to_pylist(), strict=True))
    assert areas[("lsoa", "2011")] == 4_835 and areas[("msoa", "2011")] == 983
    assert areas[("lad", "2011")] == 33 and areas[("region", "2011")] == 1


@pytest.mark.slow
def test_borough_areas_match_the_published_hectares(shared_data: Path) -> None:
    p = parse(bpath(shared_data, "London_Borough_Excluding_MHW.zip"))
    t = p.tables["boundaries"]
    # The GLA's HECTARES include tidal water (NONLD_AREA); these polygons exclude it.
    attrs = [json.loads(a) for a in t.column("attributes").to_pylist()]
    land = {code: a["HECTARES"] - a["NONLD_AREA"]
            for code, a in zip(t.column("code").to_pylist(), attrs, strict=True)}
    ours = dict(zip(t.column("code").to_pylist(), t.column("area_hectares").to_pylist(),
                    strict=True))
    for code, ha in land.items():
        assert ours[code] == pytest.approx(ha, rel=0.001), code
    assert sum(ours.values()) == pytest.approx(157_350, rel=0.001)  # Greater London's land


@pytest.mark.slow
def test_gla_city_merged_ward_layers(shared_data: Path) -> None:
    p = parse(bpath(shared_data, "London_Ward_CityMerged.zip"))
    t = p.tables["boundaries"].to_pylist()
    city = [r for r in t if r["level"] == "lad"]
    assert [(r["code"], r["name"]) for r in city] == [("E09000001", "City of London")]
    links = p.tables["area_links"]
    assert links.num_rows == 624  # each ward -> its borough (LB_GSS_CD)
    assert p.meta["layers"][0]["vintage_reason"].startswith("a GLA statistical GIS")
    p18 = parse(bpath(shared_data, "London-wards-2018_ESRI.zip"))
    per_layer = Counter(p18.tables["boundaries"].column("layer").to_pylist())
    assert per_layer == Counter({"London_Ward": 657, "London_Ward_CityMerged": 633})


@pytest.mark.slow
def test_every_2018_ward_in_the_ons_lookup_has_a_boundary(shared_data: Path) -> None:
    lookup = Lookup().parse(
        shared_data / "geo" / "lookups" / "ons_lsoa11_to_ward2018_to_lad2018_ew.csv",
        ReferenceData())
    links = lookup.tables["area_links"]
    london_wards = {
        c for c, cl, pc in zip(links.column("child_code").to_pylist(),
                               links.column("child_level").to_pylist(),
                               links.column("parent_code").to_pylist(), strict=True)
        if cl == "ward" and pc.startswith("E09")}
    assert len(london_wards) == 637
    p = parse(bpath(shared_data, "London-wards-2018_ESRI.zip"))
    t = p.tables["boundaries"]
    features = {c for c, layer in zip(t.column("code").to_pylist(),
                                      t.column("layer").to_pylist(), strict=True)
                if layer == "London_Ward"}
    assert len(features) == 657
    assert london_wards <= features


@pytest.mark.slow
def test_wd25_is_the_2022_ward_set_once_the_ward_history_is_loaded(shared_data: Path) -> None:
    history = Lookup().parse(
        shared_data / "geo" / "lookups" / "london_ward_all_codes_since2015.csv",
        ReferenceData())
    areas = history.tables["areas"].to_pylist()
    known: dict[tuple[str, str | None], set[str]] = {}
    for a in areas:
        known.setdefault((a["level"], a["vintage"]), set()).add(a["code"])
    ref = ReferenceData(area_codes={k: frozenset(v) for k, v in known.items()})
    path = bpath(shared_data, "london_wards_2025_wgs84.geojson")
    p = parse(path, ref)
    assert level_counts(p) == Counter({("ward", "2022"): 704})
    assert set(p.tables["boundaries"].column("ons_vintage").to_pylist()) == {"WD25"}
    assert "in force from 2022" in p.meta["layers"][0]["vintage_reason"]
    # Without the history, the release year names it, and meta says why.
    bare = parse(path)
    assert level_counts(bare) == Counter({("ward", "2025"): 704})
    assert "not in the loaded ward code history" in bare.meta["layers"][0]["vintage_reason"]


@pytest.mark.slow
def test_store_round_trip_in_27700_and_4326(shared_data: Path, store: EvidenceStore) -> None:
    with pytest.raises(BoundariesNotLoaded, match="none"):
        load_boundaries(store, "ward", "2018")
    result = ingest_file(store, "boundaries", bpath(shared_data, "London-wards-2018_ESRI.zip"))
    assert result.rows_read == 1_290 == result.rows_stored + result.rows_rejected
    layers = {(i["layer"], i["features"]) for i in boundary_layers(store)}
    assert layers == {("London_Ward", 657), ("London_Ward_CityMerged", 633)}
    bng = load_boundaries(store, "ward", "2018")
    assert len(bng) == 657 and bng.attrs["layer"] == "London_Ward"  # layers never mixed
    assert bng.crs.to_epsg() == 27700
    wgs = load_boundaries(store, "ward", "2018", crs=4326,
                          codes=["E05009288", "E05000026"])
    assert list(wgs["code"]) == ["E05000026", "E05009288"] and wgs.crs.to_epsg() == 4326
    minx, miny, maxx, maxy = wgs.total_bounds
    assert -0.6 < minx < maxx < 0.4 and 51.2 < miny < maxy < 51.8
    merged = load_boundaries(store, "ward", "2018", layer="London_Ward_CityMerged")
    assert len(merged) == 633
    assert bng.set_index("code").loc["E05009288", "area_hectares"] == pytest.approx(
        bng.set_index("code").geometry.area.loc["E05009288"] / 10_000)
    with pytest.raises(BoundariesNotLoaded, match="ward/2018"):
        load_boundaries(store, "lsoa", "2011")


# -- hand-made bad files ------------------------------------------------------------------

SQUARE = box(530_000, 180_000, 531_000, 181_000)


def geojson(tmp_path: Path, features: list[dict[str, object]], name: str) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def feature(props: dict[str, object], geometry: object) -> dict[str, object]:
    return {"type": "Feature", "properties": props,
            "geometry": None if geometry is None else shapely.geometry.mapping(geometry)}


def lonlat(x: float, y: float, size: float = 0.01) -> Polygon:
    return box(x, y, x + size, y + size)


def test_missing_geometry_bad_code_duplicate_and_point(tmp_path: Path) -> None:
    feats = [
        feature({"LSOA21CD": "E01000001", "LSOA21NM": "City of London 001A"},
                lonlat(-0.10, 51.51)),
        feature({"LSOA21CD": "E01000002", "LSOA21NM": "City of London 001B"}, None),
        feature({"LSOA21CD": "E02000003", "LSOA21NM": "Not an LSOA"}, lonlat(-0.08, 51.51)),
        feature({"LSOA21CD": "E01000001", "LSOA21NM": "City of London 001A"},
                lonlat(-0.07, 51.51)),
        feature({"LSOA21CD": "E01000005", "LSOA21NM": "A point"}, Point(-0.1, 51.5)),
        feature({"LSOA21CD": "E01000006", "LSOA21NM": ""}, lonlat(-0.06, 51.51)),
    ]
    p = Boundaries().parse(geojson(tmp_path, feats, "lsoa_2021.geojson"), ReferenceData())
    got = {(pr.row, pr.column): pr for pr in p.problems}
    assert got[(2, "geometry")].message.startswith("feature 2 has no geometry")
    assert got[(3, "LSOA21CD")].message == (
        "feature 3: is not a lower layer super output area code (E01 or W01 followed by six "
        "digits)")
    assert got[(3, "LSOA21CD")].value == "E02000003"
    assert "repeats the code of feature 1" in got[(4, "LSOA21CD")].message
    assert "is a Point, not a polygon" in got[(5, "geometry")].message
    assert "needs a name" in got[(6, "LSOA21NM")].message
    assert p.rows_read == 6 and p.rows_rejected == 5 and p.rows_stored == 1
    assert p.tables["boundaries"].column("code").to_pylist() == ["E01000001"]
    assert p.tables["areas"].column("code").to_pylist() == ["E01000001"]


def test_invalid_polygon_is_repaired_and_recorded(tmp_path: Path, store: EvidenceStore) -> None:
    bowtie = Polygon([(-0.10, 51.50), (-0.09, 51.51), (-0.09, 51.50), (-0.10, 51.51)])
    assert not bowtie.is_valid
    feats = [feature({"WD22CD": "E05000001", "WD22NM": "Bow", "LAD22CD": "E09000030",
                      "LAD22NM": "Tower Hamlets"}, bowtie)]
    path = geojson(tmp_path, feats, "wards.geojson")
    result = ingest_file(store, "boundaries", path)
    assert result.rows_stored == 1
    assert result.meta["repaired_count"] == 1
    (fix,) = result.meta["repaired"]
    assert fix["feature"] == 1 and fix["code"] == "E05000001"
    assert "Self-intersection" in fix["reason"]
    gdf = load_boundaries(store, "ward", "2022")
    assert gdf.geometry.is_valid.all() and gdf.geometry.area.iloc[0] > 0


def test_gla_fields_bad_code_and_no_year(tmp_path: Path) -> None:
    feats = [feature({"NAME": "Abbey", "GSS_CODE": "E05000026", "LB_GSS_CD": "E09000002",
                      "BOROUGH": "Barking and Dagenham"}, lonlat(0.07, 51.53)),
             feature({"NAME": "Nowhere", "GSS_CODE": "X05000001", "LB_GSS_CD": "E09000002",
                      "BOROUGH": "Barking and Dagenham"}, lonlat(0.08, 51.53))]
    p = Boundaries().parse(geojson(tmp_path, feats, "wards_2014.geojson"), ReferenceData())
    (problem,) = p.problems
    assert (problem.row, problem.column, problem.value) == (2, "GSS_CODE", "X05000001")
    assert "is not a GSS code of a known level" in problem.message
    assert [r["relation"] for r in p.tables["area_links"].to_pylist()] == ["within"]
    with pytest.raises(InputError) as err:
        Boundaries().parse(geojson(tmp_path, feats, "wards.geojson"), ReferenceData())
    assert "does not say which year" in err.value.problems[0].message


def test_unrecognised_fields_are_a_file_error(tmp_path: Path) -> None:
    feats = [feature({"id": 1}, lonlat(-0.1, 51.5)), feature({"id": 2}, lonlat(-0.2, 51.5))]
    with pytest.raises(InputError) as err:
        Boundaries().parse(geojson(tmp_path, feats, "things.geojson"), ReferenceData())
    (problem,) = err.value.problems
    assert problem.row is None
    assert "has no field of area codes" in problem.message
    assert "GSS_CODE" in problem.action and "LSOA21CD" in problem.action


def test_not_a_gis_file(tmp_path: Path) -> None:
    path = tmp_path / "boundaries.zip"
    path.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="cannot be read as a GIS file"):
        Boundaries().parse(path, ReferenceData())


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_zipped_shapefile_without_prj(tmp_path: Path) -> None:
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    gdf = gpd.GeoDataFrame({"MSOA11CD": ["E02000001"], "MSOA11NM": ["City of London 001"]},
                           geometry=[SQUARE], crs=None)
    gdf.to_file(shp_dir / "msoa.shp")
    (shp_dir / "msoa.prj").unlink(missing_ok=True)
    path = tmp_path / "msoa.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for f in shp_dir.iterdir():
            zf.write(f, f.name)
    p = Boundaries().parse(path, ReferenceData())
    assert p.problems == []
    assert "no CRS given" in p.meta["layers"][0]["crs"]
    assert p.tables["boundaries"].column("area_hectares").to_pylist() == [pytest.approx(100)]
