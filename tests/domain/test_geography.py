"""Geography: code patterns, link relations and the functions over area_links rows."""

from __future__ import annotations

import pytest

from vru.domain import geography as geo


def link(child: str, clevel: str, cv: str | None, parent: str, plevel: str, pv: str | None,
         relation: str = "within") -> dict[str, str | None]:
    return {"child_code": child, "child_level": clevel, "child_vintage": cv,
            "parent_code": parent, "parent_level": plevel, "parent_vintage": pv,
            "relation": relation}


@pytest.mark.parametrize(("code", "level"), [
    ("E01000001", "lsoa"), ("W01000001", "lsoa"), ("E02000001", "msoa"),
    ("W02000001", "msoa"), ("E05009288", "ward"), ("W05000001", "ward"),
    ("E06000016", "lad"), ("E07000129", "lad"), ("E08000001", "lad"), ("E09000033", "lad"),
    ("W06000001", "lad"), ("E12000007", "region"), ("E92000001", "country"),
    ("E23000001", "pfa"), ("E47000001", "cauth"), ("E10000018", "utla"),
])
def test_valid_codes_and_their_levels(code: str, level: str) -> None:
    assert geo.is_valid_code(code, level)
    assert geo.level_of_code(code) == level


@pytest.mark.parametrize(("code", "level"), [
    ("E02000001", "lsoa"),   # an MSOA code is not an LSOA code
    ("E0100001", "lsoa"),    # too short
    ("E010000011", "lsoa"),  # too long
    ("e01000001", "lsoa"),   # lower case
    ("S01000001", "lsoa"),   # Scottish data zones are not LSOAs
    ("E10000018", "lad"),    # a county is an upper-tier authority, not a district
    ("E12000007", "lad"),
    ("E05 09288", "ward"),
])
def test_invalid_codes(code: str, level: str) -> None:
    assert not geo.is_valid_code(code, level)


def test_level_of_code_unknown_prefix() -> None:
    assert geo.level_of_code("E14000530") is None  # parliamentary constituency: not a level
    assert geo.level_of_code("X05000001") is None


def test_pseudo_codes() -> None:
    assert geo.is_pseudo_code("W99999999")
    assert geo.is_pseudo_code("E12999999")
    assert not geo.is_pseudo_code("E12000007")


def test_unknown_level_is_an_error() -> None:
    with pytest.raises(ValueError, match="known levels: lsoa, msoa, ward"):
        geo.is_valid_code("E01000001", "borough")


def test_vintages() -> None:
    assert geo.vintage_from_year("11") == "2011"
    assert geo.vintage_from_year("25") == "2025"
    assert geo.vintage_from_year("98") == "1998"
    assert geo.vintages_sorted(["active", "2022", None, "2011", "2016"]) == [
        None, "2011", "2016", "2022", "active"]


@pytest.mark.parametrize(("args", "unit", "expected"), [
    (("lsoa", "2011", "ward", "2018"), True, "best_fit"),   # ONS LSOA -> ward is best fit
    (("lsoa", "2011", "ward", "2018"), False, None),
    (("msoa", "2011", "ward", "2018"), False, None),         # an MSOA spans wards
    (("lsoa", "2011", "msoa", "2011"), False, "within"),
    (("lsoa", "2011", "msoa", "2021"), False, None),
    (("lsoa", "2011", "lsoa", "2021"), True, "best_fit"),
    (("lsoa", "2011", "lad", "2022"), True, "within"),
    (("ward", "2018", "lad", "2018"), False, "within"),
    (("lad", "2018", "lad", "2019"), False, "successor"),
    (("lad", "2019", "lad", "2018"), False, None),
    (("lad", "2020", "lad", "active"), True, "successor"),
    (("lad", "2018", "region", None), False, "within"),
    (("region", None, "lad", "2018"), False, None),         # never upwards
    (("ward", "2018", "ward", "2018"), True, None),
])
def test_link_relation(args: tuple[str, str | None, str, str | None], unit: bool,
                       expected: str | None) -> None:
    c, cv, p, pv = args
    assert geo.link_relation(c, cv, p, pv, child_is_row_unit=unit) == expected


LINKS = [
    link("E01000001", "lsoa", "2011", "E09000001", "lad", "2018"),
    link("E01000002", "lsoa", "2011", "E09000001", "lad", "2018"),
    link("E01000003", "lsoa", "2011", "E09000002", "lad", "2018"),
    link("E01000001", "lsoa", "2011", "E05009288", "ward", "2018", "best_fit"),
    link("E05009288", "ward", "2018", "E09000001", "lad", "2018"),
    link("E05000026", "ward", "2016", "E09000002", "lad", "2016"),
    link("E09000001", "lad", "active", "E12000007", "region", None),
    link("E09000002", "lad", "active", "E12000007", "region", None),
    link("E01033000", "lsoa", "2021", "E09000002", "lad", "2022"),
]


def test_children_within_by_vintage() -> None:
    lsoas = geo.children_within(LINKS, ["E09000001"], "lsoa")
    assert lsoas == {"2011": {"E01000001", "E01000002"}}
    wards = geo.children_within(LINKS, ["E09000001", "E09000002"], "ward")
    assert wards == {"2018": {"E05009288"}, "2016": {"E05000026"}}


def test_children_within_is_transitive_through_lads() -> None:
    lsoas = geo.children_within(LINKS, ["E12000007"], "lsoa")
    assert lsoas == {"2011": {"E01000001", "E01000002", "E01000003"}, "2021": {"E01033000"}}


def test_children_within_ignores_best_fit_unless_asked() -> None:
    assert geo.children_within(LINKS, ["E05009288"], "lsoa") == {}
    assert geo.children_within(LINKS, ["E05009288"], "lsoa", relations=["best_fit"]) == {
        "2011": {"E01000001"}}


def test_parents_of() -> None:
    assert geo.parents_of(LINKS, ["E01000001", "E01999999"], "lad") == {
        "E01000001": {"E09000001"}, "E01999999": set()}


def test_successor_map_follows_chains_and_skips_splits() -> None:
    links = [
        link("A", "lad", "2018", "B", "lad", "2019", "successor"),
        link("B", "lad", "2019", "C", "lad", "2022", "successor"),
        link("S", "lad", "2018", "S1", "lad", "2019", "successor"),
        link("S", "lad", "2018", "S2", "lad", "2019", "successor"),
    ]
    assert geo.successor_map(links) == {"A": "C", "B": "C"}


def test_map_codes_never_drops_a_code() -> None:
    links = [
        link("E01000001", "lsoa", "2011", "E01000001", "lsoa", "2021", "best_fit"),
        link("E01000002", "lsoa", "2011", "E01033700", "lsoa", "2021", "best_fit"),
    ]
    codes = ["E01000002", "E01000001", "E01999999", "E01000002", "E01888888"]
    result = geo.map_codes(codes, links, "lsoa", "2011", "2021")
    assert result.mapped == {"E01000001": ["E01000001"], "E01000002": ["E01033700"]}
    assert result.unmapped == ["E01999999", "E01888888"]  # in input order, each once
    assert set(result.mapped) | set(result.unmapped) == set(codes)
    assert not result.complete
    assert result.how["E01000002"] == "best_fit"


def test_map_codes_unchanged_and_successor() -> None:
    links = [link("E07000048", "lad", "2018", "E06000058", "lad", "2019", "successor")]
    result = geo.map_codes(["E09000001", "E07000048", "E07000050"], links, "lad", "2018",
                           "2019", target_codes={"E09000001", "E06000058"})
    assert result.mapped == {"E09000001": ["E09000001"], "E07000048": ["E06000058"]}
    assert result.how == {"E09000001": "unchanged", "E07000048": "successor"}
    assert result.unmapped == ["E07000050"]


def test_codes_not_known() -> None:
    assert geo.codes_not_known(["a", "b", "a", "c"], {"b"}) == ["a", "c"]


def test_ward_set_year() -> None:
    known = {"2016": {"W1", "W2"}, "2018": {"W3"}, "2022": {"W4"}, "2018b": {"W9"}}
    # London's WD25 wards: codes first seen in 2016, 2018 and 2022 -> the 2022 set.
    assert geo.ward_set_year(["W1", "W3", "W4"], known, "2025")[0] == "2022"
    assert geo.ward_set_year(["W1", "W2"], known, "2018")[0] == "2016"
    year, why = geo.ward_set_year(["W1", "W5"], known, "2025")
    assert year == "2025" and "1 of 2 ward codes" in why
    # Years after the release cannot be its set's year.
    assert geo.ward_set_year(["W4"], known, "2019")[0] == "2019"
