"""The 360Giving validator, proved on two real published files (Lloyds Bank Foundation's
spreadsheet and the Indigo Trust's CSV, in ../shared/data/geo/grants): they load, their
problems are found and located (and only those: corrected, they validate), and our own
files round-trip through JSON and the spreadsheet form."""

from __future__ import annotations

import copy
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from vru.adapters import threesixtygiving as tsg

GRANTS = "geo/grants"
LLOYDS = "360giving_lloyds_bank_foundation_grants_2010_2015.xlsx"
INDIGO = "360giving_indigo_trust_grants.csv"


@pytest.fixture(scope="module")
def lloyds(shared_data: Path) -> tsg.FileCheck:
    return tsg.check_file(shared_data / GRANTS / LLOYDS)


@pytest.fixture(scope="module")
def indigo(shared_data: Path) -> tsg.FileCheck:
    return tsg.check_file(shared_data / GRANTS / INDIGO)


def test_the_shipped_schemas_are_the_shared_copies(shared_data: Path) -> None:
    from importlib import resources

    for name in (tsg.GRANT_SCHEMA_FILE, tsg.PACKAGE_SCHEMA_FILE):
        shipped = resources.files("vru").joinpath("reference", name).read_bytes()
        assert shipped == (shared_data / GRANTS / name).read_bytes()
    source = resources.files("vru").joinpath("reference", "360giving_schema_SOURCE.md")
    assert "CC BY 4.0" in source.read_text("utf-8")


def test_lloyds_loads(lloyds: tsg.FileCheck) -> None:
    grants = lloyds.file.grants
    assert len(grants) == 4116
    assert sum(g["amountAwarded"] for g in grants) == pytest.approx(115_795_635.69)
    assert lloyds.file.unknown_columns == []
    first = grants[0]
    assert first["id"] == "360G-LBFEW-114001"
    assert first["awardDate"] == "2015-06-10"  # an Excel date, as YYYY-MM-DD
    assert first["recipientOrganization"][0] == {
        "id": "GB-CHC-1136419", "name": "Women's Aid Leicestershire",
        "charityNumber": "1136419", "streetAddress": "PO Box 26",
        "addressLocality": "Leicester", "postalCode": "LE1 1AA",
        "url": "http://wa-leicester.org.uk"}
    assert first["plannedDates"][0]["duration"] == 12


def test_lloyds_problems_are_found_and_located(lloyds: tsg.FileCheck) -> None:
    assert lloyds.problems_by_rule() == {
        "enum at /grants/N/fromOpenCall": 4116,
        "format at /grants/N/recipientOrganization/N/url": 2002,
        "required at /grants/N": 5,
        "required at /grants/N/recipientOrganization/N": 1,
    }
    p = lloyds.schema_problems[0]
    assert (p.path, p.row, p.column) == ("/grants/0/fromOpenCall", 2, "From An Open Call?")
    assert p.message == "'Y' is not one of ['Yes', 'No']"
    missing = [q for q in lloyds.schema_problems if q.rule == "required"]
    assert "'description' is a required property" in {q.message for q in missing}
    q = lloyds.quality
    assert q.failed("no_beneficiary_location").grants_failed == 4116  # type: ignore[union-attr]
    invalid = q.failed("org_id_invalid")
    assert invalid is not None and {i.path for i in invalid.issues} == {
        "/grants/1263/recipientOrganization/0/id", "/grants/2535/recipientOrganization/0/id"}
    assert q.failed("looks_like_email") is not None  # web addresses holding email addresses


def test_lloyds_corrected_validates(lloyds: tsg.FileCheck) -> None:
    package = copy.deepcopy(lloyds.file.package)
    kept = []
    for g in package["grants"]:
        if "description" not in g or "id" not in g["recipientOrganization"][0]:
            continue
        g["fromOpenCall"] = {"Y": "Yes", "N": "No"}[g["fromOpenCall"]]
        org = g["recipientOrganization"][0]
        if "url" in org and not tsg.is_uri(org["url"]):
            del org["url"]
        kept.append(g)
    package["grants"] = kept
    assert len(kept) == 4110
    assert tsg.validate_package(package) == []


def test_indigo_loads_and_its_problems_are_found(indigo: tsg.FileCheck) -> None:
    grants = indigo.file.grants
    assert len(grants) == 269
    assert sum(g["amountAwarded"] for g in grants) == pytest.approx(8_053_545.40)
    assert indigo.file.unknown_columns == [
        "Internal Organisation ID", "Application Date:Start Date",
        "Beneficiary Location:Latitude/Longitude", "WebAddress", "Related Activity:Identifier"]
    assert indigo.problems_by_rule() == {"format at /grants/N/awardDate": 269,
                                         "format at /grants/N/dateModified": 269,
                                         "type at /grants/N/plannedDates/N/duration": 269}
    first = indigo.schema_problems[0]
    assert (first.row, first.column) == (2, "Award Date")
    assert first.message == "'26/03/2001 00:00' is not a 'date-time'"
    dummy = indigo.quality.failed("org_id_prefix")
    assert dummy is not None and dummy.grants_failed == 76


def test_indigo_corrected_validates(indigo: tsg.FileCheck) -> None:
    package: dict[str, Any] = copy.deepcopy(indigo.file.package)

    def iso(text: str) -> str:
        return datetime.strptime(text, "%d/%m/%Y %H:%M").strftime("%Y-%m-%dT%H:%M:00Z")

    for g in package["grants"]:
        g["awardDate"] = iso(g["awardDate"])
        g["dateModified"] = iso(g["dateModified"])
        for planned in g.get("plannedDates", []):
            months = re.match(r"\d+", planned["duration"])  # "12 months"; or "Undefined"
            if months:
                planned["duration"] = int(months.group())
            else:
                del planned["duration"]
    assert tsg.validate_package(package) == []


def test_formats_and_the_one_of_dates() -> None:
    assert tsg.is_date_time("2025-04-01T09:30:00Z")
    assert tsg.is_date_time("2025-04-01T09:30:00.5+01:00")
    assert not tsg.is_date_time("2025-02-30T09:30:00Z")
    assert not tsg.is_date_time("2025-04-01")
    assert tsg.is_date("2024-02-29") and not tsg.is_date("2023-02-29")
    assert tsg.is_uri("https://example.org/x") and not tsg.is_uri("www.example.org")
    grant = {"id": "360G-x-1", "title": "t", "description": "d", "currency": "GBP",
             "amountAwarded": 10, "awardDate": "2025-04-01",
             "recipientOrganization": [{"id": "GB-CHC-1136419", "name": "r"}],
             "fundingOrganization": [{"id": "360G-x", "name": "f"}]}
    assert tsg.validate_package({"grants": [grant]}) == []
    for award_date in ("2025-04-01T10:00:00Z", "2025-04-01"):
        assert tsg.validate_package({"grants": [{**grant, "awardDate": award_date}]}) == []
    problems = tsg.validate_package({"grants": [{**grant, "awardDate": "1/4/2025"},
                                                {**grant, "currency": "Pounds"}, grant,
                                                dict(grant)]})
    assert [(p.path, p.rule) for p in problems] == [
        ("/grants/0/awardDate", "format"), ("/grants/1/currency", "enum"),
        ("/grants/3", "uniqueItems")]
    no_recipient = {k: v for k, v in grant.items() if k != "recipientOrganization"}
    [only] = tsg.validate_package({"grants": [no_recipient]})
    assert only.message == "'recipientOrganization' is a required property"
    assert [p.rule for p in tsg.validate_package({"grants": []})] == ["minItems"]


def test_column_titles() -> None:
    field, path = tsg.column_field("Beneficiary Location:1:Geographic Code")  # type: ignore[misc]
    assert path == ("beneficiaryLocation", 1, "geoCode")
    assert tsg.column_title(("beneficiaryLocation", 1, "geoCode")) == \
        "Beneficiary Location:1:Geographic Code"
    assert tsg.column_title(("recipientOrganization", 0, "id")) == "Recipient Org:Identifier"
    assert tsg.column_field("last modified")[1] == ("dateModified",)  # type: ignore[index]
    assert tsg.column_field("Shoe size") is None


def test_our_files_round_trip(tmp_path: Path) -> None:
    from datetime import UTC, date

    from vru.domain.commissioning.threesixtygiving import (
        Area,
        Funder,
        GrantFacts,
        Recipient,
        data_package,
        grant_record,
    )

    funder = Funder("360G-vru-test", "Test VRU", prefix="360G-vru-test")
    grants = [grant_record(GrantFacts(
        "r", "Round", f"A-{i}", f"Title {i}", "Description", 20_000, 15_000 + i,
        date(2026, 3, 31), Recipient(f"GB-CHC-11000{i:02d}", f"Org {i}", f"11000{i:02d}"),
        [Area("E09000023", "Lewisham", "LONB"), Area("E09000022", "Lambeth", "LONB")],
        "mentoring", "Mentoring", "moderate", datetime(2026, 3, 31, 12, tzinfo=UTC),
        "https://vru.example.org/funding/r", date(2026, 4, 1), 18), funder)
        for i in range(3)]
    package = data_package(grants, title="t", description="d", identifier="360G-x",
                           funder=funder, issued=date(2026, 4, 1),
                           modified=datetime(2026, 4, 1, tzinfo=UTC))
    assert tsg.validate_package(package) == []
    for suffix in (".xlsx", ".csv"):
        path = tsg.write_spreadsheet(package, tmp_path / f"g{suffix}")
        back = tsg.read_grants_file(path)
        assert back.grants == grants, suffix
        assert back.unknown_columns == []
    path = tsg.write_json(package, tmp_path / "g.json")
    assert tsg.check_file(path).ok
    columns = tsg.spreadsheet_columns(grants)
    assert columns[:3] == ["Identifier", "Title", "Description"]
    assert "Beneficiary Location:1:Geographic Code" in columns
