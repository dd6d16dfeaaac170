"""Areas are data: definitions, a user's overrides, and resolution through the lookups."""

from __future__ import annotations

from pathlib import Path

import pytest

from vru.adapters.store.evidence_store import EvidenceStore
from vru.services.areas import (
    AreaDefinitionError,
    UnknownAreaError,
    area_definitions,
    get_area,
    resolve_area,
)
from vru.services.ingest import ingest_file

LEICESTERSHIRE = {
    "E06000016": "Leicester", "E06000017": "Rutland", "E07000129": "Blaby",
    "E07000130": "Charnwood", "E07000131": "Harborough", "E07000132": "Hinckley and Bosworth",
    "E07000133": "Melton", "E07000134": "North West Leicestershire",
    "E07000135": "Oadby and Wigston",
}
ENGLAND_WIDE = (
    "ons_lsoa11_to_ward2018_to_lad2018_ew.csv",
    "ons_lsoa11_to_ward2019_to_lad2019_ew.csv",
    "ons_msoa11_to_ward2018_to_lad2018_ew.csv",
    "ons_lsoa11_to_lsoa21_to_lad22_bestfit_ew.csv",
)


@pytest.fixture(scope="module")
def england(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> EvidenceStore:
    """A store holding only the England and Wales ONS lookups."""
    store = EvidenceStore(tmp_path_factory.mktemp("england") / "data")
    for name in ENGLAND_WIDE:
        ingest_file(store, "lookup", shared_data / "geo" / "lookups" / name)
    return store


def test_shipped_definitions(tmp_path: Path) -> None:
    areas = area_definitions(tmp_path)
    assert set(areas) >= {"london", "leicestershire"}
    london = areas["london"]
    assert london.lads == tuple(f"E09{n:06d}" for n in range(1, 34))
    assert london.police_forces == ("metropolitan", "city-of-london")
    assert london.region == "E12000007"
    leics = areas["leicestershire"]
    assert set(leics.lads) == set(LEICESTERSHIRE) and len(leics.lads) == 9
    assert leics.police_forces == ("leicestershire",)


def test_user_areas_add_and_override(tmp_path: Path) -> None:
    (tmp_path / "areas.toml").write_text(
        '[london]\nname = "Our London"\nlads = ["E09000001"]\n'
        '[Thames]\nname = "Thames-side"\nlads = ["E09000030", "E09000025"]\n'
        'police_forces = ["metropolitan"]\n', encoding="utf-8")
    areas = area_definitions(tmp_path)
    assert areas["london"].name == "Our London" and areas["london"].lads == ("E09000001",)
    assert areas["london"].defined_in == str(tmp_path / "areas.toml")
    assert get_area("THAMES", tmp_path).lads == ("E09000030", "E09000025")
    assert areas["leicestershire"].defined_in == "vru/reference/areas.toml"


@pytest.mark.parametrize(("text", "message"), [
    ('[x]\nname = "X"\n', "'lads' must be a non-empty list"),
    ('[x]\nlads = ["E01000001"]\n', "not LAD codes"),
    ('[x]\nlads = ["E09000001"]\nregion = "London"\n', "'region' must be a region code"),
    ('[x]\nlads = ["E09000001"]\nboroughs = 3\n', "unknown keys ['boroughs']"),
    ("[x\n", "not valid TOML"),
])
def test_bad_user_areas_are_explained(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "areas.toml").write_text(text, encoding="utf-8")
    with pytest.raises(AreaDefinitionError, match=message.replace("[", r"\[").replace(
            "]", r"\]")):
        area_definitions(tmp_path)


def test_unknown_area_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(UnknownAreaError) as err:
        get_area("Narnia", tmp_path)
    assert "unknown area 'Narnia'" in str(err.value)
    assert "leicestershire, london" in str(err.value)


def test_no_geography_loaded(store: EvidenceStore) -> None:
    resolved = resolve_area(store, "london")
    assert not resolved.geography_loaded
    assert resolved.unknown_lads == resolved.lad_codes  # reported, not dropped
    assert "No geography is loaded" in resolved.notes[0]


@pytest.mark.slow
def test_leicestershire_from_the_england_wide_lookups(england: EvidenceStore) -> None:
    r = resolve_area(england, "leicestershire")
    assert r.geography_loaded and r.unknown_lads == []
    names = {lad["code"]: lad["name"] for lad in r.lads}
    assert names == LEICESTERSHIRE  # the codes in areas.toml are the ONS LAD codes
    for lad in r.lads:
        assert set(lad["vintages"]) == {"2018", "2019", "2022"}
    # Counted by hand from the ONS files (LAD18CD in the nine codes).
    assert len(r.lsoas["2011"]) == 611
    assert len(r.msoas["2011"]) == 125
    assert len(r.wards["2018"]) == 187
    assert len(r.wards["2019"]) == 179
    assert len(r.lsoas["2021"]) == 610
    assert all(c.startswith("E01") for c in r.lsoas["2011"])
    assert {"E01013615", "E01013788"} <= set(r.lsoas["2011"])  # Leicester 001A, Rutland 001A
    assert any("best-fit lookup" in n for n in r.notes)  # 2021 LSOAs may be incomplete
    assert r.region_check == {"region": "E12000004", "checked": False,
                              "reason": "no loaded lookup links LADs to this region"}


@pytest.mark.slow
def test_london_from_the_england_wide_lookups(england: EvidenceStore) -> None:
    r = resolve_area(england, "london")
    assert r.unknown_lads == []
    assert len(r.lsoas["2011"]) == 4_835
    assert len(r.msoas["2011"]) == 983
    assert len(r.lsoas["2021"]) == 4_811  # best fit reaches 4,811 of the 4,994
    assert r.codes("lsoa") == set(r.lsoas["2011"]) | set(r.lsoas["2021"])
    # 637 of the 657 2018 wards: most City wards have no LSOA best-fitted to them. Said so.
    assert len(r.wards["2018"]) == 637
    assert any(n.startswith("The 2018 wards were found through") for n in r.notes)


@pytest.mark.slow
def test_boundaries_complete_the_code_lists(shared_data: Path, tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "data")
    for name in ENGLAND_WIDE[:1] + ENGLAND_WIDE[3:]:
        ingest_file(store, "lookup", shared_data / "geo" / "lookups" / name)
    for name in ("London-wards-2018_ESRI.zip", "london_lsoa_2021_wgs84.geojson"):
        ingest_file(store, "boundaries", shared_data / "geo" / "boundaries" / name)
    r = resolve_area(store, "london")
    assert len(r.wards["2018"]) == 657
    assert len(r.lsoas["2021"]) == 4_994
    assert not any("best-fit" in n for n in r.notes)


@pytest.mark.slow
def test_region_cross_check_with_a_region_lookup(shared_data: Path, store: EvidenceStore) -> None:
    ingest_file(store, "lookup", shared_data / "geo" / "lookups" /
                "london_msoa_la_2011_2021.csv")
    r = resolve_area(store, "london")
    assert r.region_check == {"region": "E12000007", "checked": True,
                              "region_lads_not_in_definition": [],
                              "definition_lads_not_in_region": []}
    assert len(r.msoas["2021"]) == 1_002
    # A user's area that leaves a borough out is told so.
    (store.data_dir / "areas.toml").write_text(
        '[london]\nname = "London less Bexley"\nregion = "E12000007"\n'
        f'lads = [{", ".join(repr(f"E09{n:06d}") for n in range(1, 34) if n != 4)}]\n'
        .replace("'", '"'), encoding="utf-8")
    r = resolve_area(store, "london")
    assert r.region_check is not None
    assert r.region_check["region_lads_not_in_definition"] == ["E09000004"]
    assert any("differ from the definition" in n for n in r.notes)


def test_unknown_and_replaced_lads_are_reported(tmp_path: Path, store: EvidenceStore) -> None:
    lookup = tmp_path / "dorset.csv"
    lookup.write_text(
        "LSOA11CD,LSOA11NM,LAD18CD,LAD18NM,LAD19CD,LAD19NM\n"
        "E01015232,Christchurch 001A,E07000048,Christchurch,E06000058,BCP\n"
        "E01015233,Christchurch 001B,E07000048,Christchurch,E06000058,BCP\n"
        "E01015300,Poole 001A,E06000029,Poole,E06000058,BCP\n", encoding="utf-8")
    ingest_file(store, "lookup", lookup)
    (store.data_dir / "areas.toml").write_text(
        '[christchurch]\nname = "Christchurch"\nlads = ["E07000048", "E07000999"]\n',
        encoding="utf-8")
    r = resolve_area(store, "christchurch")
    assert r.unknown_lads == ["E07000999"]
    assert r.replaced_lads == {"E07000048": "E06000058"}
    assert r.lsoas == {"2011": ["E01015232", "E01015233"]}  # not Poole's
    assert any("E07000999" in n for n in r.notes)
    assert any("replaced by E06000058" in n for n in r.notes)
