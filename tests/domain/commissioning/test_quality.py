"""360Giving grant records and the quality checks: a good grant passes every check; each
check finds its problem and says where."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import pytest

from vru.domain.commissioning.quality import CHECKS, Importance, run_checks
from vru.domain.commissioning.threesixtygiving import (
    Area,
    Funder,
    GrantFacts,
    Recipient,
    add_months,
    data_package,
    grant_record,
)

FUNDER = Funder("360G-vru-test", "Test VRU", prefix="360G-vru-test")


def good_grant() -> dict[str, Any]:
    facts = GrantFacts(
        round_reference="fund-2026", round_title="Fund 2026", application_reference="A-0001",
        title="Mentoring in Lewisham", description="Weekly mentoring for 40 young people.",
        amount_applied_for=40_000, amount_awarded=35_000, award_date=date(2026, 3, 31),
        recipient=Recipient("GB-CHC-1136419", "A Charity", "1136419", "", "SE6 4RU"),
        areas=[Area("E09000023", "Lewisham", "LONB")], intervention_key="mentoring",
        intervention_name="Mentoring", evidence_impact="moderate",
        modified=datetime(2026, 3, 31, 12, tzinfo=UTC),
        public_url="https://vru.example.org/funding/fund-2026",
        start_date=date(2026, 4, 1), duration_months=12, amount_disbursed=10_000)
    return grant_record(facts, FUNDER)


def package(*grants: dict[str, Any]) -> dict[str, Any]:
    return data_package(list(grants), title="t", description="d", identifier="360G-x",
                        funder=FUNDER, issued=date(2026, 4, 1),
                        modified=datetime(2026, 4, 1, tzinfo=UTC))


def test_a_grant_record() -> None:
    g = good_grant()
    assert g["id"] == "360G-vru-test-fund-2026-A-0001"
    assert g["plannedDates"] == [{"startDate": "2026-04-01", "endDate": "2027-03-31",
                                  "duration": 12}]
    assert g["beneficiaryLocation"] == [{"name": "Lewisham", "geoCode": "E09000023",
                                         "geoCodeType": "LONB", "countryCode": "GB"}]
    assert g["amountDisbursed"] == 10_000 and g["fromOpenCall"] == "Yes"
    assert g["dateModified"] == "2026-03-31T12:00:00+00:00"
    assert {c["vocabulary"] for c in g["classifications"]} == {"vru-intervention",
                                                               "vru-evidence-impact"}
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 27)


def test_a_good_package_passes_every_check() -> None:
    report = run_checks(package(good_grant(), {**good_grant(), "id": good_grant()["id"] + "b"}))
    assert report.ok and not report.warnings, report.lines()
    assert len(CHECKS) >= 20 and len({c.code for c in CHECKS}) == len(CHECKS)


def broken(change: Any) -> dict[str, Any]:
    g = copy.deepcopy(good_grant())
    change(g)
    return g


CASES = [
    ("required_fields", lambda g: g.pop("title"), "/grants/0/title"),
    ("required_fields", lambda g: g["recipientOrganization"][0].pop("name"),
     "/grants/0/recipientOrganization/0/name"),
    ("grant_id_prefix", lambda g: g.update(id="vru-1"), "/grants/0/id"),
    ("grant_id_characters", lambda g: g.update(id="360G-a\nb"), "/grants/0/id"),
    ("org_id_prefix", lambda g: g["recipientOrganization"][0].update(id="DUMMY01"),
     "/grants/0/recipientOrganization/0/id"),
    ("org_id_invalid", lambda g: g["recipientOrganization"][0].update(id="GB-CHC-715"),
     "/grants/0/recipientOrganization/0/id"),
    ("org_id_invalid", lambda g: g["fundingOrganization"][0].update(id="GB-COH-12"),
     "/grants/0/fundingOrganization/0/id"),
    ("recipient_numbers", lambda g: g["recipientOrganization"][0].update(
        charityNumber="24377R"), "/grants/0/recipientOrganization/0/charityNumber"),
    ("recipient_360g_prefix", lambda g: g["recipientOrganization"][0].update(
        id="360G-vru-org-x"), "/grants/0/recipientOrganization/0/id"),
    ("no_recipient_numbers", lambda g: g["recipientOrganization"][0].pop("charityNumber"),
     "/grants/0/recipientOrganization/0/id"),
    ("classifications", lambda g: g["classifications"][0].pop("title"),
     "/grants/0/classifications/0/title"),
    ("no_beneficiary_location", lambda g: g.pop("beneficiaryLocation"),
     "/grants/0/beneficiaryLocation"),
    ("beneficiary_location_codes", lambda g: g["beneficiaryLocation"][0].update(
        geoCode="Lewisham"), "/grants/0/beneficiaryLocation/0/geoCode"),
    ("beneficiary_location_codes", lambda g: g["beneficiaryLocation"][0].update(
        geoCodeType="WD"), "/grants/0/beneficiaryLocation/0/geoCodeType"),
    ("beneficiary_location_codes", lambda g: g["beneficiaryLocation"][0].update(
        geoCodeType="BOROUGH"), "/grants/0/beneficiaryLocation/0/geoCodeType"),
    ("beneficiary_location_codes", lambda g: g["beneficiaryLocation"][0].update(name=""),
     "/grants/0/beneficiaryLocation/0/name"),
    ("looks_like_email", lambda g: g.update(description="Contact jo@example.org"),
     "/grants/0/description"),
    ("zero_amount", lambda g: g.update(amountAwarded=0), "/grants/0/amountAwarded"),
    ("title_length", lambda g: g.update(title="x" * 141), "/grants/0/title"),
    ("title_description_same", lambda g: g.update(description=g["title"]),
     "/grants/0/description"),
    ("planned_dates_order", lambda g: g["plannedDates"][0].update(startDate="2028-01-01"),
     "/grants/0/plannedDates/0/startDate"),
    ("planned_dates_order", lambda g: g["plannedDates"][0].update(endDate="2027-02-30"),
     "/grants/0/plannedDates/0/endDate"),
    ("no_last_modified", lambda g: g.pop("dateModified"), "/grants/0/id"),
    ("no_data_source", lambda g: g.pop("dataSource"), "/grants/0/id"),
    ("no_grant_programme", lambda g: g.pop("grantProgramme"), "/grants/0/id"),
]


@pytest.mark.parametrize(("code", "change", "path"), CASES,
                         ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(CASES)])
def test_each_check_finds_its_problem(code: str, change: Any, path: str) -> None:
    report = run_checks(package(broken(change)))
    failed = report.failed(code)
    assert failed is not None, report.lines()
    assert path in [i.path for i in failed.issues]
    assert failed.grants_failed == 1
    assert report.ok == (failed.importance is Importance.WARNING)


def test_package_level_checks() -> None:
    g = good_grant()
    other = {**copy.deepcopy(g), "fundingOrganization": [{"id": "GB-CHC-327114",
                                                          "name": "Other"}]}
    report = run_checks(package(g, copy.deepcopy(g), other))
    dupes = report.failed("duplicate_grant_ids")
    assert dupes is not None and [i.path for i in dupes.issues] == ["/grants/1/id",
                                                                    "/grants/2/id"]
    funders = report.failed("more_than_one_funder")
    assert funders is not None and funders.importance is Importance.WARNING
    assert not report.ok
    assert report.as_dict()["checks"][0]["issues_total"] >= 1
