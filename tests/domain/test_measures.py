"""The measure tree and the category schemes."""

from __future__ import annotations

import pytest

from vru.domain.measures import (
    CATEGORY_SCHEMES,
    MEASURES,
    UnknownCategoryError,
    descendants,
    map_categories,
)

REQUIRED_IDS = {
    "violence_against_the_person", "violence_with_injury", "violence_without_injury",
    "homicide", "robbery", "sexual_offences", "possession_of_weapons",
    "violence_and_sexual_offences",
}


def test_required_measure_ids_exist_with_definitions() -> None:
    assert set(MEASURES) >= REQUIRED_IDS
    for m in MEASURES.values():
        assert len(m.definition) > 20, m.id
        assert m.parent is None or m.parent in MEASURES, m.id


def test_every_mapping_targets_a_known_measure() -> None:
    for scheme, mapping in CATEGORY_SCHEMES.items():
        for key, measure in mapping.items():
            assert measure in MEASURES, (scheme, key)


def test_violence_against_the_person_counts_its_minor_groups() -> None:
    assert descendants("violence_against_the_person") == {
        "violence_against_the_person", "homicide", "violence_with_injury",
        "violence_without_injury", "stalking_and_harassment",
        "death_or_serious_injury_by_unlawful_driving", "other_violence",
    }
    # police.uk's combined type is not part of the Home Office group tree
    assert "violence_and_sexual_offences" not in descendants("violence_against_the_person")


def test_mapping_ignores_case_and_spacing() -> None:
    got = map_categories("mps_2019", ["Violence Against The Person |  Homicide"])
    assert got == {"Violence Against The Person |  Homicide": "homicide"}


def test_unknown_category_is_named() -> None:
    with pytest.raises(UnknownCategoryError) as info:
        map_categories("police_uk", ["Robbery", "Knife crime", "Violent crime"])
    assert info.value.categories == ["Knife crime", "Violent crime"]
    assert "Knife crime" in str(info.value)


def test_unknown_measure_is_an_error() -> None:
    with pytest.raises(KeyError, match="unknown measure"):
        descendants("knife_crime_typo")
