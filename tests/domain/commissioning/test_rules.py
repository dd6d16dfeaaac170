"""Rounds and stages, eligibility checks, conflict-of-interest rules, organisation
identifiers, the catalogue, and application rows."""

from __future__ import annotations

import tomllib
from datetime import date
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vru.domain.commissioning import eligibility as el
from vru.domain.commissioning.applications import next_reference, parse_money, parse_row, parse_rows
from vru.domain.commissioning.catalogue import (
    CatalogueError,
    ImpactRating,
    by_key,
    edited,
    parse_catalogue,
    parse_intervention,
)
from vru.domain.commissioning.conflicts import ApplicationParties, Declaration, conflicts
from vru.domain.commissioning.organisations import (
    charity_number_ok,
    company_number_ok,
    organisation_identifier,
)
from vru.domain.commissioning.rounds import (
    AwardLevel,
    GeoCode,
    PlaceTerms,
    RoundError,
    RoundPlan,
    RoundStatus,
    RoundTerms,
    advance,
    check_plan,
    check_reference,
    geo_code_type,
)


def catalogue() -> dict[str, object]:
    text = resources.files("vru").joinpath("reference", "intervention_catalogue.toml")
    return by_key(parse_catalogue(tomllib.loads(text.read_text("utf-8"))))  # type: ignore[return-value]


# --------------------------------------------------------------------------- rounds


def test_stages_move_one_way_except_back_to_assessing() -> None:
    assert advance(RoundStatus.DRAFT, RoundStatus.OPEN) is RoundStatus.OPEN
    assert advance(RoundStatus.ALLOCATED, RoundStatus.ASSESSING) is RoundStatus.ASSESSING
    for current, to in ((RoundStatus.DRAFT, RoundStatus.ASSESSING),
                        (RoundStatus.OPEN, RoundStatus.DRAFT),
                        (RoundStatus.PUBLISHED, RoundStatus.ASSESSING),
                        (RoundStatus.ASSESSING, RoundStatus.PUBLISHED)):
        with pytest.raises(RoundError, match="cannot move"):
            advance(current, to)


def place(code: str, floor: int = 0, cap: int | None = None, areas: int = 1) -> PlaceTerms:
    codes = [f"E0900000{i}" for i in range(1, areas + 1)] if areas > 1 else [code]
    return PlaceTerms(code, code, tuple(GeoCode(c, c, geo_code_type(c)) for c in codes),
                      100, 10_000, floor, cap)


def test_plans_that_cannot_work() -> None:
    terms = RoundTerms(100_000, 10_000, 50_000)
    check_plan(RoundPlan(AwardLevel.BOROUGH, terms, (place("E09000001", 20_000, 60_000),)))
    cases = [
        (RoundPlan(AwardLevel.BOROUGH, terms, ()), "at least one"),
        (RoundPlan(AwardLevel.BOROUGH, terms, (place("E09000001"), place("E09000001"))),
         "twice"),
        (RoundPlan(AwardLevel.BOROUGH, terms, (place("X1"),)), "not a GSS code"),
        (RoundPlan(AwardLevel.BOROUGH, terms, (place("E09000001", 70_000, 60_000),)),
         "more than the cap"),
        (RoundPlan(AwardLevel.BOROUGH, terms, (place("E09000001", 0, 5_000),)),
         "less than the smallest award"),
        (RoundPlan(AwardLevel.BOROUGH, terms, (place("E09000001", 60_000),
                                               place("E09000002", 60_000))),
         "floors add up to £120,000"),
        (RoundPlan(AwardLevel.MULTI_BOROUGH, terms, (place("E09000001"),)),
         "at least two boroughs"),
        (RoundPlan(AwardLevel.BOROUGH, RoundTerms(100, 10, 200), (place("E09000001"),)),
         "more than the budget"),
        (RoundPlan(AwardLevel.BOROUGH, RoundTerms(100, 10, 50, min_assessors=1),
                   (place("E09000001"),)), "at least 2"),
    ]
    for plan, message in cases:
        with pytest.raises(RoundError, match=message):
            check_plan(plan)
    check_plan(RoundPlan(AwardLevel.MULTI_BOROUGH, terms, (place("R1", areas=2),)))


def test_references_and_code_types() -> None:
    assert check_reference(" Youth-Fund-2026 ") == "youth-fund-2026"
    with pytest.raises(RoundError):
        check_reference("a b")
    assert [geo_code_type(c) for c in ("E05013730", "E09000023", "E06000016", "W05000001",
                                       "E01000001", "E02000001", "Z99")] == [
        "WD", "LONB", "LAD", "WD", "LSOA", "MSOA", "UNKNOWN"]


# --------------------------------------------------------------------------- organisations


def test_charity_and_company_numbers() -> None:
    assert charity_number_ok("1136419") and charity_number_ok("327114")
    assert charity_number_ok("SC012345")  # two-letter prefix then six digits
    assert not charity_number_ok("715") and not charity_number_ok("24377R")
    assert company_number_ok("01234567") and company_number_ok("SC123456")
    assert not company_number_ok("IP1004137") and not company_number_ok("123")


def test_organisation_identifiers() -> None:
    assert organisation_identifier("A", "1136419", "", "360G-vru") == "GB-CHC-1136419"
    assert organisation_identifier("A", "1136419.0", "", "360G-vru") == "GB-CHC-1136419"
    assert organisation_identifier("A", "SC012345", "", "360G-vru") == "GB-SC-SC012345"
    assert organisation_identifier("A", "NIC100001", "", "360G-vru") == "GB-NIC-100001"
    assert organisation_identifier("A", "", "1234567", "360G-vru") == "GB-COH-01234567"
    assert organisation_identifier("Friends of the Park!", "", "", "360G-vru") == \
        "360G-vru-org-friends-of-the-park"


# --------------------------------------------------------------------------- eligibility


def facts(**kw: object) -> el.ApplicationFacts:
    base: dict[str, object] = dict(reference="A-1", organisation_name="Org",
                                   charity_number="1136419", company_number="",
                                   place_code="E09000023", intervention_key="mentoring",
                                   amount_requested=40_000, minimum_amount=30_000,
                                   duration_months=12, start_date=None)
    base.update(kw)
    return el.ApplicationFacts(**base)  # type: ignore[arg-type]


def context() -> el.RoundContext:
    return el.RoundContext(RoundTerms(200_000, 10_000, 50_000),
                           {"E09000023": place("E09000023", 0, 45_000)},
                           catalogue(), date(2026, 4, 1))  # type: ignore[arg-type]


def test_an_eligible_application() -> None:
    result = el.check_eligibility(facts(), context())
    assert result.eligible and result.reason() == "eligible"


@pytest.mark.parametrize(("change", "check", "words"), [
    ({"organisation_name": " "}, "organisation_named", "name is missing"),
    ({"charity_number": "715"}, "registration_numbers", "does not look like a UK charity"),
    ({"company_number": "ABC"}, "registration_numbers", "does not look like a company"),
    ({"place_code": "E09000001"}, "place_eligible", "not one of the round's 1 eligible"),
    ({"amount_requested": 5_000, "minimum_amount": 5_000}, "amount_limits",
     "less than the smallest award"),
    ({"amount_requested": 60_000}, "amount_limits", "more than the largest award"),
    ({"amount_requested": 48_000}, "amount_limits", "more than E09000023's cap"),
    ({"minimum_amount": 45_000}, "minimum_amount", "more than the amount asked"),
    ({"minimum_amount": 5_000}, "minimum_amount", "less than the smallest award"),
    ({"intervention_key": "astrology"}, "intervention_known", "not in the intervention"),
    ({"intervention_key": "prison-awareness-programmes"}, "intervention_not_harmful",
     "rated harmful"),
    ({"duration_months": 0}, "duration", "outside 1 to 60"),
    ({"start_date": date(2026, 1, 1)}, "start_date", "before the decision date"),
])
def test_each_check_says_why(change: dict[str, object], check: str, words: str) -> None:
    result = el.check_eligibility(facts(**change), context())
    assert not result.eligible
    assert check in [f.check for f in result.findings]
    assert words in result.reason()


# --------------------------------------------------------------------------- conflicts


def test_conflict_rules() -> None:
    app = ApplicationParties("A-1", "GB-CHC-1136419", "manager", ("ann",))
    declared = [Declaration("bob", "A-1", None, "trustee"),
                Declaration("cat", None, "GB-CHC-1136419", "my employer")]
    assert conflicts("dan", app, declared) == []
    assert conflicts("bob", app, declared) == ["you declared a conflict with this "
                                               "application (trustee)"]
    assert conflicts("cat", app, declared) == ["you declared a conflict with this "
                                               "organisation (my employer)"]
    assert conflicts("manager", app, declared) == ["you entered this application, so "
                                                   "someone else must assess it"]
    assert conflicts("manager", app, declared, moderating=True) == []
    assert conflicts("ann", app, declared) == []  # may change her own score
    assert conflicts("ann", app, declared, moderating=True) == [
        "you scored this application, so someone else must moderate it"]


# --------------------------------------------------------------------------- catalogue


def test_shipped_catalogue_says_its_ratings_are_to_be_checked() -> None:
    entries = catalogue()
    assert len(entries) >= 15
    assert all(not e.checked for e in entries.values())  # type: ignore[attr-defined]
    assert all(e.source for e in entries.values())  # type: ignore[attr-defined]
    cbt = entries["cognitive-behavioural-therapy"]
    assert cbt.impact is ImpactRating.HIGH and cbt.evidence_points == 4  # type: ignore[attr-defined]
    assert "not yet been checked" in cbt.plain()  # type: ignore[attr-defined]
    assert entries["prison-awareness-programmes"].evidence_points == 0  # type: ignore[attr-defined]
    text = resources.files("vru").joinpath("reference", "intervention_catalogue.toml")
    assert "TO BE CHECKED" in text.read_text("utf-8")


def test_catalogue_entries_are_checked() -> None:
    entry = catalogue()["mentoring"]
    changed = edited(entry, {"impact": "high", "checked": True})  # type: ignore[arg-type]
    assert changed.impact is ImpactRating.HIGH and changed.checked
    with pytest.raises(CatalogueError, match="cannot change"):
        edited(entry, {"key": "other"})  # type: ignore[arg-type]
    with pytest.raises(CatalogueError, match="impact must be"):
        parse_intervention({"key": "x1", "name": "X", "impact": "great", "source": "s"})
    with pytest.raises(CatalogueError, match="evidence_quality"):
        parse_intervention({"key": "x1", "name": "X", "impact": "low", "source": "s",
                            "evidence_quality": 9})
    with pytest.raises(CatalogueError, match="needs a source"):
        parse_intervention({"key": "x1", "name": "X", "impact": "low"})
    with pytest.raises(CatalogueError, match="twice"):
        parse_catalogue({"intervention": [{"key": "x1", "name": "X", "impact": "low",
                                           "source": "s"}] * 2})


# --------------------------------------------------------------------------- rows


GOOD = {"organisation_name": "Org", "title": "Title", "summary": "What", "place": "E09000023",
        "intervention": "mentoring", "amount_requested": "£25,000", "duration_months": "12"}


def test_a_good_row() -> None:
    app, problems = parse_row(GOOD, file="f.csv", row=2)
    assert problems == [] and app is not None
    assert app.amount_requested == 25_000 and app.minimum_amount == 25_000
    assert parse_money("12000.00") == 12_000 and parse_money("12,00") is None


def test_bad_rows_are_located() -> None:
    rows = [(2, {**GOOD, "amount_requested": "lots", "postcode": "nowhere"}),
            (3, {**GOOD, "reference": "R1"}), (4, {**GOOD, "reference": "r1"}),
            (5, {**GOOD, "reference": "TAKEN", "start_date": "01/04/2026",
                 "duration_months": "a year", "title": ""})]
    apps, problems = parse_rows("f.csv", rows, existing_references=["taken"])
    where = {(p.row, p.column) for p in problems}
    assert where == {(2, "amount_requested"), (2, "postcode"), (4, "reference"),
                     (5, "reference"), (5, "start_date"), (5, "duration_months"),
                     (5, "title")}
    assert next(p for p in problems if p.row == 4).message == "is also used on row 3"
    _, none = parse_rows("f.csv", [])
    assert none[0].message == "has no applications"
    assert next_reference(["A-0001", "a-0003"], 3) == ["A-0002", "A-0004", "A-0005"]


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(list(GOOD) + ["minimum_amount", "start_date",
                                                     "reference", "postcode"]),
                       st.text(max_size=30)))
def test_any_row_is_either_an_application_or_located_problems(values: dict[str, str]
                                                               ) -> None:
    app, problems = parse_row(values, file="f.csv", row=7)
    assert (app is None) == bool(problems)
    assert all(p.row == 7 and p.column for p in problems)
