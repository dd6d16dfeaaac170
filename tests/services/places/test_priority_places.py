"""Hot spots, emerging hot spots and priority places on the real data, decision records that
reproduce, and the ``vru hotspots`` / ``vru priority-places`` commands."""

from __future__ import annotations

import csv
import json
import re
import shutil
import warnings
from pathlib import Path

import esda
import geopandas as gpd
import numpy as np
import pandas as pd
import pymannkendall as pmk
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from typer.testing import CliRunner

from vru.adapters.store.evidence_store import EvidenceStore
from vru.adapters.store.geo import load_boundaries
from vru.domain.places.emerging_hotspots import CATEGORIES
from vru.domain.places.local_statistics import LocalGi, LocalMoran, esda_permutation_ids
from vru.domain.places.weights import contiguity_weights
from vru.interfaces.cli.main import app
from vru.services import priority_places as pp
from vru.services.ingest import ingest_file

VAP = "violence_against_the_person"
WARD_RULE = "rising-violence-deprived-wards"
REQUIRED = ("area_code", "area_name", "count", "gi_z", "gi_p_sim", "gi_p_fdr", "lisa_i",
            "lisa_quadrant", "lisa_p_sim", "ehsa_category", "trend", "trend_p")


@pytest.fixture(scope="module")
def ward(london_store: EvidenceStore) -> pp.HotspotResult:
    return pp.hotspots(london_store, VAP, "ward", to="2025-12")


@pytest.fixture(scope="module")
def lsoa(london_store: EvidenceStore) -> pp.HotspotResult:
    return pp.hotspots(london_store, VAP, "lsoa", to="2021-12")


@pytest.fixture(scope="module")
def grid(leicestershire_store: EvidenceStore) -> pp.HotspotResult:
    return pp.hotspots(leicestershire_store, "violence_and_sexual_offences", "grid",
                       area="leicestershire")


# --------------------------------------------------------------------------- hot spots


def test_ward_hot_spots(ward: pp.HotspotResult) -> None:
    t = ward.table
    assert len(t) == 679 and t["area_code"].is_unique
    assert all(c in t.columns for c in REQUIRED)
    assert (t["gi_z"].diff().dropna() <= 0).all()  # strongest hot spot first
    # The West End is London's violence hot spot: the top wards are in Westminster/Camden.
    assert set(t["parent_name"].head(5)) <= {"Westminster", "Camden"}
    top = t.iloc[0]
    assert top["gi_class"] == "hot spot" and top["gi_p_sim"] == 0.001
    assert set(t["ehsa_category"]) <= set(CATEGORIES)
    assert set(t["trend"]) <= {"rising", "falling", "none"}
    params = t.attrs["parameters"]
    assert params["steps"] == ["2024-01", "2025-12", 24]
    assert params["boundaries"]["vintage"] == "2022"
    assert t.attrs["weights"]["components"] == 1 and t.attrs["weights"]["islands"] == []
    assert any("25 area(s)" in n and "Aldersgate" in n for n in t.attrs["notes"])
    assert t.attrs["global_moran"]["I"] > 0.2 and t.attrs["global_moran"]["p_sim"] == 0.001
    # The 12-month counts are the last 12 steps of the monthly cube.
    assert ward.ehsa is not None and ward.ehsa.values.shape == (679, 24)
    assert ward.ehsa.values[:, -12:].sum(axis=1) == pytest.approx(
        t.set_index("area_code").loc[list(ward.weights.ids), "count"].to_numpy())


def test_real_lsoa_statistics_equal_esda(lsoa: pp.HotspotResult) -> None:
    """Gi* and local Moran on London's real LSOA counts and real queen contiguity: equal to
    esda on the same permutations (esda's own draws for the seed)."""
    w = lsoa.weights
    y = lsoa.table.set_index("area_code").loc[list(w.ids), "count"].to_numpy(dtype=float)
    ids = esda_permutation_ids(w.n, int(w.cardinalities.max()), 999, 7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.G_Local(y, w.to_libpysal(), transform="B", star=True, permutations=999,
                           seed=7, n_jobs=1)
        ref_m = esda.Moran_Local(y, w.to_libpysal(), permutations=999, seed=7)
    gi = LocalGi(y, w, permutation_ids=ids)
    assert_array_equal(gi.p_sim.astype(np.float32), ref.p_sim)
    assert_array_equal(gi.Gs, ref.Gs)
    assert_allclose(gi.Zs, ref.Zs, rtol=1e-11, atol=1e-12)
    lm = LocalMoran(y, w, permutation_ids=ids)
    assert_array_equal(lm.p_sim, ref_m.p_sim)
    assert_array_equal(lm.q, ref_m.q)
    assert_allclose(lm.Is, ref_m.Is, rtol=1e-12)


def test_lsoa_weights_from_generalised_boundaries(london_store: EvidenceStore) -> None:
    bounds = load_boundaries(london_store, "lsoa", "2011")
    w = contiguity_weights(bounds["code"].tolist(), bounds.geometry.to_numpy(), "queen")
    assert w.report is not None
    assert w.n == 4835 and w.report.islands == () and w.report.components == 1
    assert (w.report.min_neighbours, w.report.max_neighbours) == (1, 15)


def test_lsoa_emerging_hot_spots(lsoa: pp.HotspotResult) -> None:
    t = lsoa.table
    assert len(t) == 4829  # the City's six LSOAs have no MPS counts
    assert t.attrs["parameters"]["steps"] == ["2011", "2021", 11]
    counts = lsoa.summary()["emerging_categories"]
    assert counts["persistent hot spot"] > 100 and counts["intensifying hot spot"] > 50
    # The busiest LSOAs of the West End are hot spots year after year.
    west_end = t[t["area_name"].isin(["Westminster 018A", "Westminster 018C"])]
    assert set(west_end["ehsa_category"]) <= {"persistent hot spot", "intensifying hot spot"}
    # The trend column is the Mann-Kendall test of each LSOA's yearly counts.
    assert lsoa.ehsa is not None
    for i in (0, 100, 2000):
        ref = pmk.original_test(lsoa.ehsa.values[i])
        row = t.set_index("area_code").loc[lsoa.weights.ids[i]]
        assert_allclose(row["trend_p"], ref.p, rtol=1e-10)
        expected = ("rising" if ref.trend == "increasing" else
                    "falling" if ref.trend == "decreasing" else "none")
        assert row["trend"] == expected


def test_borough_hot_spots_and_same_seed(london_store: EvidenceStore) -> None:
    a = pp.hotspots(london_store, VAP, "borough", to="2025-12", seed=3, permutations=199)
    b = pp.hotspots(london_store, VAP, "borough", to="2025-12", seed=3, permutations=199)
    assert len(a.table) == 32
    assert any("City of London" in n for n in a.table.attrs["notes"])
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.ehsa is not None and a.ehsa.values.shape[1] >= 180  # monthly since 2010
    cube = pp.hotspots(london_store, VAP, "borough", to="2025-12", seed=3, permutations=199,
                       global_window="cube", steps=24)
    assert cube.table.attrs["parameters"]["steps"][2] == 24


def test_refusals(london_store: EvidenceStore) -> None:
    with pytest.raises(pp.PlacesError, match="unknown measure"):
        pp.hotspots(london_store, "knife_nonsense", "ward")
    with pytest.raises(pp.PlacesError, match="a single area has no neighbours"):
        pp.hotspots(london_store, VAP, "region")
    with pytest.raises(pp.PlacesError, match="police.uk street-level crime"):
        pp.hotspots(london_store, "violence_and_sexual_offences", "grid")


def test_grid_hot_spots_without_boundaries(grid: pp.HotspotResult,
                                           leicestershire_store: EvidenceStore) -> None:
    t = grid.table
    params = t.attrs["parameters"]
    assert params["grid"]["cell_size_m"] == 1300.0 and params["grid"]["cell_size_chosen"]
    assert params["grid"]["stray_points_left_out"] == 185
    assert params["steps"] == ["2019-12", "2022-10", 35]
    assert params["to"] == "2022-10"
    assert "boundaries" not in params
    # Leicester city centre is the force's hot spot.
    assert "Leicester" in t["area_name"].iloc[0] and t["gi_class"].iloc[0] == "hot spot"
    con = leicestershire_store.connect()
    total = con.sql("""SELECT count(*) FROM street_crime WHERE longitude IS NOT NULL
                       AND measure = 'violence_and_sexual_offences'
                       AND month BETWEEN DATE '2021-11-01' AND DATE '2022-10-01'""").fetchall()[0]
    con.close()
    outside = [n for n in t.attrs["notes"] if "fall outside" in n]
    assert outside
    left = int(re.search(r"([\d,]+) violence", outside[0]).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert t["count"].sum() <= total[0] and t["count"].sum() >= total[0] - left  # type: ignore[index]
    hexes = pp.hotspots(leicestershire_store, "violence_and_sexual_offences", "grid",
                        area="leicestershire", grid_shape="hex", cell_size=2000,
                        permutations=99, footprint="occupied")
    assert hexes.table["area_code"].str.startswith("hex-2000-").all()
    assert hexes.weights.cardinalities.max() == 6


def test_exports(ward: pp.HotspotResult, tmp_path: Path) -> None:
    geo = pp.export_places(ward.geo_table(), tmp_path / "wards.geojson")
    back = gpd.read_file(geo)
    assert len(back) == 679 and back.crs.to_epsg() == 4326
    assert set(REQUIRED) <= set(back.columns)
    gpkg = pp.export_places(ward.geo_table(), tmp_path / "wards.gpkg")
    back = gpd.read_file(gpkg)
    assert len(back) == 679 and back.crs.to_epsg() == 27700
    csv_path = pp.export_places(ward.geo_table(), tmp_path / "wards.csv")
    assert len(pd.read_csv(csv_path)) == 679
    with pytest.raises(pp.PlacesError, match="use .geojson"):
        pp.export_places(ward.geo_table(), tmp_path / "wards.shp")


# --------------------------------------------------------------------------- priority places


@pytest.fixture()
def store_copy(london_store: EvidenceStore, tmp_path: Path) -> EvidenceStore:
    """A copy of the loaded London store, free to write decisions and imports into."""
    target = tmp_path / "data"
    shutil.copytree(london_store.data_dir, target,
                    ignore=shutil.ignore_patterns("decisions", "downloads"))
    return EvidenceStore(target)


def test_priority_places_record_and_verify(store_copy: EvidenceStore) -> None:
    result = pp.priority_places(store_copy, WARD_RULE, to="2025-12")
    rising, falling = result.rising, result.falling
    assert len(rising) >= 1 and len(falling) >= 1
    # Every rising ward is in the most deprived fifth and has a reason from its numbers.
    assert (rising["deprivation_rank"] / rising["deprivation_n"] <= 0.2).all()
    pattern = re.compile(r"^Violence against the person in .+ (rose|fell) from [\d,]+ to "
                         r"[\d,]+ \([+−]\d+%\), .+\.$")
    for row in pd.concat([rising, falling]).itertuples():
        assert pattern.match(row.explanation), row.explanation
        assert str(int(row.count)) in row.explanation.replace(",", "")
        assert row.area_name in row.explanation
    assert all("significant fall" in e for e in falling["explanation"])
    assert all(c is not None for c in result.table.loc[result.table["direction"].notna(),
                                                       "cluster_id"])
    record = result.record
    assert record["rule"]["name"] == WARD_RULE and "[criteria.significant_rise]" in \
        record["rule"]["text"]
    assert {i["import_id"] for i in record["data_version"]} == {
        i["import_id"] for i in store_copy.imports()}
    assert record["parameters"]["to"] == "2025-12" and record["parameters"]["seed"] == 20240401
    path = result.record_path
    assert path is not None and path.parent == store_copy.data_dir / "decisions"
    assert path.name.endswith(f"-{WARD_RULE}-{record['record_sha256'][:12]}.json")
    assert json.loads(path.read_text("utf-8")) == record
    # The same inputs give the same list and the same record (only the date differs).
    again = pp.priority_places(store_copy, WARD_RULE, to="2025-12", save=False)
    assert again.record["record_sha256"] == record["record_sha256"]
    assert again.record["result"] == record["result"]
    verified = pp.verify_decision(store_copy, path)
    assert verified.ok, verified.message
    assert pp.decisions(store_copy.data_dir)[0]["record_sha256"] == record["record_sha256"]


def test_a_changed_record_is_detected(store_copy: EvidenceStore, tmp_path: Path) -> None:
    result = pp.priority_places(store_copy, WARD_RULE, to="2025-12")
    record = json.loads(result.record_path.read_text("utf-8"))  # type: ignore[union-attr]
    record["result"]["rising"][0]["explanation"] = "Picked because we like it."
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(record), encoding="utf-8")
    v = pp.verify_decision(store_copy, changed)
    assert not v.ok and v.tampered


def _boost_ward(source: Path, target: Path, ward_code: str, factor: int) -> None:
    """The MPS ward file with one ward's violence in 2025 multiplied by ``factor``."""
    with source.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    cols = [i for i, h in enumerate(header) if h.startswith("2025")]
    for row in rows[1:]:
        if row[3] == ward_code and row[0] == "VIOLENCE AGAINST THE PERSON":
            for i in cols:
                row[i] = str(int(row[i]) * factor)
    with target.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def test_a_past_decision_is_reproduced_after_new_data(store_copy: EvidenceStore,
                                                      shared_data: Path,
                                                      tmp_path: Path) -> None:
    result = pp.priority_places(store_copy, WARD_RULE, to="2025-12")
    places = result.places
    picked = set(result.rising["area_code"])
    candidates = places[(places["deprivation_rank"] / places["deprivation_n"] <= 0.2)
                        & ~places["area_code"].isin(picked) & (places["count"] > 100)]
    ward_code = str(candidates.iloc[0]["area_code"])
    name = "MPS_Ward_Level_Crime_most_recent_24_months_2024-01_to_2025-12.csv"
    folder = tmp_path / "revised"
    folder.mkdir()
    _boost_ward(shared_data / "crime" / "london_datastore" / name, folder / name, ward_code, 3)
    ingest_file(store_copy, "mps-ward", folder / name)
    # On today's data the ward is now picked as rising...
    now = pp.priority_places(store_copy, WARD_RULE, to="2025-12", save=False)
    assert ward_code in set(now.rising["area_code"])
    # ...but the past decision, re-run on the imports it recorded, is exactly as it was.
    verified = pp.verify_decision(store_copy, result.record_path)  # type: ignore[arg-type]
    assert verified.ok, verified.message
    # Re-running the old record against the new data would differ: the pin is what holds.
    pinned_all = pp.PinnedStore(store_copy, [i["import_id"] for i in store_copy.imports()])
    assert len(pinned_all.imports()) == len(result.record["data_version"]) + 1


def test_rule_from_a_file_and_errors(store_copy: EvidenceStore, tmp_path: Path) -> None:
    text = (Path(pp.__file__).parents[1] / "reference" / "priority_rules" /
            f"{WARD_RULE}.toml").read_text("utf-8")
    mine = tmp_path / "mine.toml"
    mine.write_text(text.replace('name = "rising-violence-deprived-wards"', 'name = "mine"')
                    .replace("most_deprived_share = 0.2", "most_deprived_share = 0.5"),
                    encoding="utf-8")
    rule, origin = pp.load_rule(mine)
    assert rule.name == "mine" and origin == str(mine)
    assert WARD_RULE in pp.rule_names()
    with pytest.raises(pp.PlacesError, match="no rule 'nope'"):
        pp.load_rule("nope")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\n[analysis\n", encoding="utf-8")
    with pytest.raises(pp.RuleError, match="not valid TOML"):
        pp.load_rule(bad)


# --------------------------------------------------------------------------- the commands


def test_hotspots_command(london_store: EvidenceStore, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "boroughs.geojson"
    res = runner.invoke(app, ["hotspots", VAP, "--geography", "borough", "--to", "2025-12",
                              "--permutations", "99", "--json", "--out", str(out),
                              "--data-dir", str(london_store.data_dir)])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert len(data["rows"]) == 32 and set(REQUIRED) <= set(data["rows"][0])
    assert data["parameters"]["permutations"] == 99
    assert len(gpd.read_file(out)) == 32
    res = runner.invoke(app, ["hotspots", VAP, "--geography", "borough", "--top", "3",
                              "--permutations", "99", "--data-dir", str(london_store.data_dir)])
    assert res.exit_code == 0 and "Hot spots" in res.output and "more areas" in res.output
    res = runner.invoke(app, ["hotspots", "nonsense", "--data-dir",
                              str(london_store.data_dir)])
    assert res.exit_code == 2 and "unknown measure" in res.output


def test_priority_places_command(store_copy: EvidenceStore) -> None:
    runner = CliRunner()
    d = str(store_copy.data_dir)
    res = runner.invoke(app, ["priority-places", "--rule", WARD_RULE, "--to", "2025-12",
                              "--json", "--data-dir", d])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["rising"] and data["falling"] and data["record_path"]
    res = runner.invoke(app, ["priority-places", "--verify", Path(data["record_path"]).name,
                              "--data-dir", d])
    assert res.exit_code == 0 and "Reproduced" in res.output
    res = runner.invoke(app, ["priority-places", "--list", "--json", "--data-dir", d])
    listed = json.loads(res.output)
    assert WARD_RULE in listed["rules"] and len(listed["decisions"]) == 1
    res = runner.invoke(app, ["priority-places", "--data-dir", d])
    assert res.exit_code == 2 and "Give --rule" in res.output
