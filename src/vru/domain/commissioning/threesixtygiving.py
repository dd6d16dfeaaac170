"""Awards as 360Giving Data Standard grant records (schema 1.4) and the data package.

One grant per award. The fields, and where each comes from:

=========================  =================================================================
``id``                     ``<publisher prefix>-<round reference>-<application reference>``
                           (the prefix starts ``360G-``, as 360Giving issues them)
``title``, ``description`` the application's title and summary (no personal data)
``currency``               ``GBP``
``amountAppliedFor``       what the organisation asked for
``amountAwarded``          the award
``amountDisbursed``        the payments recorded against the award, when there are any
``awardDate``              the round's decision date (``YYYY-MM-DD``)
``plannedDates``           start date and duration in months (and the end date)
``recipientOrganization``  org-id (``GB-CHC-``, ``GB-COH-``, ...), name, charity and company
                           numbers, postcode
``beneficiaryLocation``    every area of the place funded: GSS code, name, code type (``WD``
                           ward, ``LONB`` London borough, ``LAD`` district), country ``GB``
``fundingOrganization``    the funder's org-id and name (and department)
``grantProgramme``         the round: reference, title and public page
``fromOpenCall``           ``Yes`` (rounds are open calls)
``classifications``        the intervention approach (vocabulary ``vru-intervention``) and
                           its evidence rating (vocabulary ``vru-evidence-impact``)
``dateModified``           when the award was last changed (full date-time, UTC)
``dataSource``             the round's public page
=========================  =================================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

SCHEMA_VERSION = "1.4"
LICENCE_CC_BY = "https://creativecommons.org/licenses/by/4.0/"
INTERVENTION_VOCABULARY = "vru-intervention"
EVIDENCE_VOCABULARY = "vru-evidence-impact"


@dataclass(frozen=True)
class Funder:
    identifier: str
    name: str
    department: str = ""
    website: str = ""
    prefix: str = "360G-vru"

    def org(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.identifier, "name": self.name}
        if self.department:
            out["department"] = self.department
        return out


@dataclass(frozen=True)
class Recipient:
    identifier: str
    name: str
    charity_number: str = ""
    company_number: str = ""
    postal_code: str = ""

    def org(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.identifier, "name": self.name}
        if self.charity_number:
            out["charityNumber"] = self.charity_number
        if self.company_number:
            out["companyNumber"] = self.company_number
        if self.postal_code:
            out["postalCode"] = self.postal_code
        return out


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    code_type: str

    def location(self) -> dict[str, Any]:
        return {"name": self.name, "geoCode": self.code, "geoCodeType": self.code_type,
                "countryCode": "GB"}


@dataclass(frozen=True)
class GrantFacts:
    """Everything a grant record is made from."""

    round_reference: str
    round_title: str
    application_reference: str
    title: str
    description: str
    amount_applied_for: int
    amount_awarded: int
    award_date: date
    recipient: Recipient
    areas: Sequence[Area]
    intervention_key: str
    intervention_name: str
    evidence_impact: str
    modified: datetime
    public_url: str
    start_date: date | None = None
    duration_months: int | None = None
    amount_disbursed: int | None = None
    classifications: Sequence[Mapping[str, str]] = field(default_factory=tuple)


def grant_id(prefix: str, round_reference: str, application_reference: str) -> str:
    return f"{prefix}-{round_reference}-{application_reference}"


def add_months(start: date, months: int) -> date:
    """The day before the same day ``months`` later (a 12-month grant from 1 April ends
    on 31 March), clipped to the month's last day."""
    import calendar
    from datetime import timedelta

    year = start.year + (start.month - 1 + months) // 12
    month = (start.month - 1 + months) % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day) - timedelta(days=1)


def iso_datetime(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("grant times must be timezone-aware")
    return moment.isoformat(timespec="seconds")


def grant_record(facts: GrantFacts, funder: Funder) -> dict[str, Any]:
    """One 360Giving grant (see the module docstring for each field)."""
    grant: dict[str, Any] = {
        "id": grant_id(funder.prefix, facts.round_reference, facts.application_reference),
        "title": facts.title.strip()[:140],
        "description": facts.description.strip(),
        "currency": "GBP",
        "amountAppliedFor": facts.amount_applied_for,
        "amountAwarded": facts.amount_awarded,
    }
    if facts.amount_disbursed:
        grant["amountDisbursed"] = facts.amount_disbursed
    grant["awardDate"] = facts.award_date.isoformat()
    if facts.start_date is not None:
        planned: dict[str, Any] = {"startDate": facts.start_date.isoformat()}
        if facts.duration_months:
            planned["endDate"] = add_months(facts.start_date, facts.duration_months
                                            ).isoformat()
            planned["duration"] = facts.duration_months
        grant["plannedDates"] = [planned]
    grant["recipientOrganization"] = [facts.recipient.org()]
    grant["beneficiaryLocation"] = [a.location() for a in facts.areas]
    grant["fundingOrganization"] = [funder.org()]
    grant["grantProgramme"] = [{"code": facts.round_reference, "title": facts.round_title,
                                "url": facts.public_url}]
    grant["fromOpenCall"] = "Yes"
    grant["classifications"] = [
        {"vocabulary": INTERVENTION_VOCABULARY, "code": facts.intervention_key,
         "title": facts.intervention_name},
        {"vocabulary": EVIDENCE_VOCABULARY, "code": facts.evidence_impact,
         "title": f"Evidence of impact on violence: {facts.evidence_impact}"},
        *[dict(c) for c in facts.classifications],
    ]
    grant["dateModified"] = iso_datetime(facts.modified)
    grant["dataSource"] = facts.public_url
    return grant


def data_package(grants: Sequence[Mapping[str, Any]], *, title: str, description: str,
                 identifier: str, funder: Funder, issued: date, modified: datetime,
                 download_url: str = "", access_url: str = "",
                 licence: str = LICENCE_CC_BY) -> dict[str, Any]:
    """A 360Giving data package around the grants."""
    publisher: dict[str, Any] = {"name": funder.name, "identifier": funder.identifier}
    if funder.website:
        publisher["website"] = funder.website
    package: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "title": title,
        "description": description,
        "identifier": identifier,
        "issued": issued.isoformat(),
        "modified": iso_datetime(modified),
        "publisher": publisher,
        "license": licence,
    }
    if download_url:
        package["downloadURL"] = download_url
    if access_url:
        package["accessURL"] = access_url
    package["grants"] = [dict(g) for g in grants]
    return package
