"""Only a complete national code list can prove a code unknown."""

from __future__ import annotations

from pathlib import Path

from vru.adapters.sources.base import ReferenceData
from vru.adapters.sources.police_uk_street import PoliceUkStreet
from vru.domain.geography import PUBLISHED_COUNTS_EW, complete_code_lists


def test_lists_are_complete_only_at_the_published_count() -> None:
    n = PUBLISHED_COUNTS_EW[("lsoa", "2011")]
    assert complete_code_lists({("lsoa", "2011"): n - 1, ("lad", None): 300}) == frozenset()
    assert complete_code_lists({("lsoa", "2011"): n, ("lad", None): 300, ("ward", "2018"): 9}) \
        == {("lsoa", "2011"), ("lad", None)}
    assert complete_code_lists({("lsoa", "2021"): 4_994}) == frozenset()  # a London extract


def test_a_partial_list_does_not_refuse_codes_outside_it(shared_data: Path) -> None:
    path = shared_data / "crime/police_uk/2020-01/2020-01-leicestershire-street.csv"
    london_only = {("lsoa", "2011"): frozenset({"E01000001", "E01000002"})}
    partial = PoliceUkStreet().parse(path, ReferenceData(area_codes=london_only))
    assert partial.problems == []
    assert "pattern only" in partial.meta["lsoa_codes_checked"]
    complete = PoliceUkStreet().parse(path, ReferenceData.complete_lists(london_only))
    located = [p for p in complete.problems if p.column == "LSOA code"]
    assert located and located[0].message == "is not a known 2011 LSOA code"
    assert all(p.row is not None and p.row >= 2 for p in located)
