"""360Giving data quality checks, each a small class run on every grant, reporting where.

Modelled on 360Giving's own checks (``ThreeSixtyGiving/dataquality``,
``lib360dataquality/cove/threesixtygiving.py``): each check has a category (grants,
organisations, location, dates, metadata, data protection), an importance and a heading, and
reports the JSON location of every problem it finds (``/grants/3/recipientOrganization/0/id``).

Importance: ``error`` (the file must not be published as it is: GrantNav would reject the
grant or show it wrongly, or it risks publishing personal data) or ``warning`` (the file is
valid but less useful than it could be). vru publishes only files with no errors; warnings
are shown to the commissioning manager.

The recognised organisation identifier prefixes (``ORG_ID_PREFIXES``) are the UK registers
of org-id.guide most used in 360Giving data, as known offline: 360Giving's tool downloads
the full list at run time, which vru cannot do. An identifier with another valid prefix is
reported as unrecognised: TO BE CHECKED against https://org-id.guide/ before relying on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from vru.domain.commissioning.organisations import charity_number_ok, company_number_ok

ORG_ID_PREFIXES: tuple[str, ...] = (
    "360G-",       # 360Giving publisher-issued identifiers
    "GB-CHC-",     # Charity Commission for England and Wales
    "GB-SC-",      # Scottish Charity Regulator
    "GB-NIC-",     # Charity Commission for Northern Ireland
    "GB-COH-",     # Companies House
    "GB-GOR-",     # UK government organisation register
    "GB-LAE-",     # local authorities in England
    "GB-LAS-",     # local authorities in Scotland
    "GB-LANI-",    # local authorities in Northern Ireland
    "GB-PLA-",     # principal local authorities in Wales
    "GB-EDU-",     # schools in England (Get Information About Schools)
    "GB-NHS-",     # NHS organisations
    "GB-UKPRN-",   # UK register of learning providers
    "GB-MPR-",     # Mutuals Public Register
    "GB-SHPE-",    # Scottish housing providers
    "GB-REV-",     # HMRC charitable exemption
)
#: 360Giving geographic code types (ONS entity types) vru uses, and the GSS prefixes of each.
GEO_CODE_TYPES: dict[str, tuple[str, ...]] = {
    "WD": ("E05", "W05", "S13", "N08"),
    "LONB": ("E09",),
    "LAD": ("E06", "E07", "E08", "W06", "S12", "N09"),
    "MSOA": ("E02", "W02"),
    "LSOA": ("E01", "W01"),
    "RGN": ("E12",),
    "CTRY": ("E92", "W92", "S92", "N92"),
}
GSS_CODE = re.compile(r"^[EWSNK]\d{8}$")
EMAIL = re.compile(r"[\w.-]+@[\w.-]+\.[\w.-]+")
DATE_PREFIX = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
REQUIRED = ("id", "title", "description", "currency", "amountAwarded", "awardDate",
            "fundingOrganization")


class Category(StrEnum):
    GRANTS = "grants"
    ORGANISATIONS = "organisations"
    LOCATION = "location"
    DATES = "dates"
    METADATA = "metadata"
    DATA_PROTECTION = "data protection"


class Importance(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Issue:
    check: str
    path: str
    message: str


class QualityCheck:
    """A check: ``code``, ``category``, ``importance``, a ``heading`` (what the grants
    that fail have) and ``advice``; ``issues`` looks at one grant. Package-level checks
    override ``package_issues`` instead."""

    code: str = ""
    category: Category = Category.GRANTS
    importance: Importance = Importance.ERROR
    heading: str = ""
    advice: str = ""

    def issues(self, grant: Mapping[str, Any], path: str) -> Iterator[Issue]:
        return iter(())

    def package_issues(self, grants: Sequence[Mapping[str, Any]]) -> Iterator[Issue]:
        for i, grant in enumerate(grants):
            if isinstance(grant, Mapping):
                yield from self.issues(grant, f"/grants/{i}")

    def issue(self, path: str, message: str) -> Issue:
        return Issue(self.code, path, message)


class MissingField(QualityCheck):
    """A grant without ``field`` (missing or empty) fails: one issue at ``{grant}/{at}``
    (``at`` defaults to the grant's ``id``) saying ``message`` (default ``no {field}``)."""

    field: str = ""
    at: str = "id"
    message: str = ""

    def issues(self, grant: Mapping[str, Any], path: str) -> Iterator[Issue]:
        if not grant.get(self.field):
            yield self.issue(f"{path}/{self.at}", self.message or f"no {self.field}")


def _orgs(grant: Mapping[str, Any], key: str) -> list[tuple[int, Mapping[str, Any]]]:
    value = grant.get(key)
    if not isinstance(value, list):
        return []
    return [(i, o) for i, o in enumerate(value) if isinstance(o, Mapping)]


class RequiredFields(QualityCheck):
    code = "required_fields"
    heading = "a required field missing or empty"
    advice = ("Every grant needs an identifier, title, description, currency, amount "
              "awarded, award date, funding organisation, and a recipient organisation (or "
              "individual), each organisation with an identifier and a name.")

    def issues(self, grant: Mapping[str, Any], path: str) -> Iterator[Issue]:
        for key in REQUIRED:
            if grant.get(key) in (None, "", []):
                yield self.issue(f"{path}/{key}", f"{key} is missing")
        if not grant.get("recipientOrganization") and not grant.get("recipientIndividual"):
            yield self.issue(f"{path}/recipientOrganization",
                             "recipientOrganization (or recipientIndividual) is missing")
        for key in ("recipientOrganization", "fundingOrganization"):
            for i, org in _orgs(grant, key):
                for field_name in ("id", "name"):
                    if not str(org.get(field_name) or "").strip():
                        yield self.issue(f"{path}/{key}/{i}/{field_name}",
                                         f"{key} {field_name} is missing")


class GrantIdPrefix(QualityCheck):
    code = "grant_id_prefix"
    heading = "a grant identifier that does not start with a 360Giving prefix (360G-)"
    advice = ("Grant identifiers start with the publisher's 360Giving prefix (360G-...) so "
              "they are unique across every funder's data.")

    def issues(self, grant: Mapping[str, Any], path: str) -> Iterator[Issue]:
        gid = grant.get("id")
        if isinstance(gid, str) and gid and not gid.startswith("360G-"):
            yield self.issue(f"{path}/id", f"{gid!r} does not start with 360G-")


class GrantIdUnexpectedChars(QualityCheck):
    code = "grant_id_characters"
    heading = "a grant identifier with line breaks or spaces"
    advice = "Line breaks and spaces in identifiers break GrantNav; remove them."

    def issues(self, grant: Mapping[str, Any], path: str) -> Iterator[Issue]:
        gid = grant.get("id")
        if isinstance(gid, str) and re.search(r"\s", gid):
            yield self.issue(f"{path}/id", "the identifier contains whitespace")


class DuplicateGrantIds(QualityCheck):
    code = "duplicate_grant_ids"
    heading = "a grant identifier used by more than one grant"
    advice = "Each grant needs its own identifier."

    def package_issues(self, grants: Sequence[Mapping[str, Any]]) -> Iterator[Issue]:
        seen: dict[str, int] = {}
        for i, grant in enumerate(grants):
            gid = grant.get("id") if isinstance(grant, Mapping) else None
            if not isinstance(gid, str):
                continue
            if gid in seen:
                yield self.issue(f"/grants/{i}/id", f"{gid!r} is also grant {seen[gid]}")
            else:
                seen[gid] = i


class OrganisationIdPrefix(QualityCheck):
    code = "org_id_prefix"
    category = Category.ORGANISATIONS
    heading = "an organisation identifier that does not draw from a recognised register"
    advice = ("Organisation identifiers are a register's prefix (GB-CHC-, GB-COH-, ...) and "
              "the number in it; see org-id.guide.")

    def issues(self, grant: Mapping[str, Any], path: str) -> Iterator[Issue]:
        for key in ("fundingOrganization", "recipientOrganization"):
            for i, org in _orgs(grant, key):
                oid = str(org.get("id") or "")
                if oid and not any(oid.upper().startswith(p.upper()) for p in ORG_ID_PREFIXES):
                    yield self.issue(f"{path}/{key}/{i}/id",
                                     f"{oid!r} has no recognised register prefix")


class OrganisationIdLooksInvalid(QualityCheck):
    code = "org_id_invalid"
    category = Category.ORGANISATIONS
    heading = "a GB-CHC- or GB-COH- identifier whose number does not look valid"
    advice = ("A GB-CHC- identifier ends in a 6 or 7 digit charity number; a GB-COH- one in "
              "an 8 character company number.")

    def issues(self, grant: Mapping[str, Any], path: str) -> Iterator[Issue]:
        for key in ("fundingOrganization", "recipientOrganization"):
            for i, org in _orgs(grant, key):
                oid = str(org.get("id") or "")
                upper = oid.upper()
                if upper.startswith("GB-CHC-") and not charity_number_ok(oid[7:]):
                    yield self.issue(f"{path}/{key}/{i}/id",
                                     f"{oid!r}: {oid[7:]!r} is not a charity number")
                elif upper.startswith("GB-COH-") and not company_number_ok(oid[7:]):
                    yield self.issue(f"{path}/{key}/{i}/id",
                                     f"{oid!r}: {oid[7:]!r} is not a company number")


class RecipientNumbers(QualityCheck):
    code = "recipient_numbers"
    category = Category.ORGANISATIONS
    heading = "a charity or company number that does not look like one"
    advice = "Check the numbers at the Charity Commission or Companies House."

    def issues(self, grant: Mapping[str, Any], path: str) -> Iterator[Issue]:
        for i, org in _orgs(grant, "recipientOrganization"):
            charity = org.get("charityNumber")
            if charity not in (None, "") and not charity_number_ok(str(charity)):
                yield self.issue(f"{path}/recipientOrganization/{i}/charityNumber",
                                 f"{charity!r} does not look like a charity number")
            company = org.get("companyNumber")
            if company not in (None, "") and not company_number_ok(str(company)):
                yield self.issue(f"{path}/recipientOrganization/{i}/companyNumber",
                                 f"{company!r} does not look like a company number")


class Recipient360GPrefix(QualityCheck):
    code = "recipient_360g_prefix"
    category = Category.ORGANISATIONS
    importance = Importance.WARNING
    heading = "a recipient identifier starting 360G- rather than a register's number"
    advice = ("Use a charity or company number when the organisation has one, so its "
              "grants from every funder can be linked; 360G- identifiers are for "
              "unregistered groups.")

    def issues(self, grant: Mapping[str, Any], path: str) -> Iterator[Issue]:
        for i, org in _orgs(grant, "recipientOrganization"):
            if str(org.get("id") or "").lower().startswith("360g"):
                yield self.issue(f"{path}/recipientOrganization/{i}/id",
                                 "identifier from the funder's own records")


class NoRecipientNumbers(QualityCheck):
    code = "no_recipient_numbers"
    category = Category.ORGANISATIONS
    importance = Importance.WARNING
    heading = "a recipient with neither a charity number nor a company number"
    advice = "Include them when the organisation has them; ignore this for unregistered groups."

    def issues(self, grant: Mapping[str, Any], path: str) -> Iterator[Issue]:
        for i, org in _orgs(grant, "recipientOrganization"):
            if not org.get("charityNumber") and not org.get("companyNumber"):
                yield self.issue(f"{path}/recipientOrganization/{i}/id",
                                 "no charity or company number")


class Classifications(QualityCheck):
    code = "classifications"
    heading = "a classification without its vocabulary, code or title"
    advice = "Each classification names its vocabulary, its code in it and a readable title."

    def issues(self, grant: Mapping[str, Any], path: str) -> Iterator[Issue]:
        for i, c in _orgs(grant, "classifications"):
            for key in ("vocabulary", "code", "title"):
                if not str(c.get(key) or "").strip():
                    yield self.issue(f"{path}/classifications/{i}/{key}", f"no {key}")


class NoBeneficiaryLocation(MissingField):
    code = "no_beneficiary_location"
    category = Category.LOCATION
    heading = "no beneficiary location"
    advice = ("Say where the people who benefit are, with GSS codes, so grants can be "
              "mapped and compared with official statistics.")
    field = at = "beneficiaryLocation"
    message = "no beneficiary location"


class BeneficiaryLocationCodes(QualityCheck):
    code = "beneficiary_location_codes"
    category = Category.LOCATION
    heading = "a beneficiary location without a valid GSS code, its type or its name"
    advice = ("Give each location its ONS GSS code (E05 wards, E09 London boroughs, ...), "
              "the code type (WD, LONB, LAD, ...) and the area's name.")

    def issues(self, grant: Mapping[str, Any], path: str) -> Iterator[Issue]:
        for i, loc in _orgs(grant, "beneficiaryLocation"):
            where = f"{path}/beneficiaryLocation/{i}"
            code = str(loc.get("geoCode") or "")
            kind = str(loc.get("geoCodeType") or "")
            if not str(loc.get("name") or "").strip():
                yield self.issue(f"{where}/name", "no name")
            if not GSS_CODE.match(code):
                yield self.issue(f"{where}/geoCode", f"{code!r} is not a GSS code")
                continue
            if kind not in GEO_CODE_TYPES:
                yield self.issue(f"{where}/geoCodeType",
                                 f"{kind!r} is not one of {', '.join(GEO_CODE_TYPES)}")
            elif not code.startswith(GEO_CODE_TYPES[kind]):
                yield self.issue(f"{where}/geoCodeType",
                                 f"{code} is not a {kind} code (those start "
                                 f"{'/'.join(GEO_CODE_TYPES[kind])})")


class LooksLikeEmail(QualityCheck):
    code = "looks_like_email"
    category = Category.DATA_PROTECTION
    heading = "text that looks like an email address"
    advice = ("An email address can be personal data; remove it before publishing unless "
              "the person consented.")

    def issues(self, grant: Mapping[str, Any], path: str) -> Iterator[Issue]:
        for where, value in _leaves(grant, path):
            if "email" in where.lower():
                continue
            if isinstance(value, str) and EMAIL.search(value):
                yield self.issue(where, "contains an email address")


class ZeroAmount(QualityCheck):
    code = "zero_amount"
    importance = Importance.WARNING
    heading = "an amount awarded of £0"
    advice = "Check whether a £0 grant should be published, and explain it if so."

    def issues(self, grant: Mapping[str, Any], path: str) -> Iterator[Issue]:
        if grant.get("amountAwarded") == 0:
            yield self.issue(f"{path}/amountAwarded", "£0 awarded")


class TitleLength(QualityCheck):
    code = "title_length"
    importance = Importance.WARNING
    heading = "a title longer than 140 characters"
    advice = "Keep titles under 140 characters."

    def issues(self, grant: Mapping[str, Any], path: str) -> Iterator[Issue]:
        title = grant.get("title")
        if isinstance(title, str) and len(title) > 140:
            yield self.issue(f"{path}/title", f"{len(title)} characters")


class TitleDescriptionSame(QualityCheck):
    code = "title_description_same"
    importance = Importance.WARNING
    heading = "the same text as title and description"
    advice = "Give a fuller description of what the grant pays for."

    def issues(self, grant: Mapping[str, Any], path: str) -> Iterator[Issue]:
        if grant.get("title") and grant.get("title") == grant.get("description"):
            yield self.issue(f"{path}/description", "same as the title")


class PlannedDatesInOrder(QualityCheck):
    code = "planned_dates_order"
    category = Category.DATES
    heading = "a planned start date after the planned end date, or a date that does not exist"
    advice = "Check the dates were not swapped or mistyped."

    def issues(self, grant: Mapping[str, Any], path: str) -> Iterator[Issue]:
        for i, planned in _orgs(grant, "plannedDates"):
            start = _date(planned.get("startDate"))
            end = _date(planned.get("endDate"))
            for key, raw, parsed in (("startDate", planned.get("startDate"), start),
                                     ("endDate", planned.get("endDate"), end)):
                if isinstance(raw, str) and DATE_PREFIX.match(raw) and parsed is None:
                    yield self.issue(f"{path}/plannedDates/{i}/{key}",
                                     f"{raw!r} is not a real date")
            if start and end and start > end:
                yield self.issue(f"{path}/plannedDates/{i}/startDate",
                                 f"starts {start} after it ends {end}")


class NoLastModified(MissingField):
    code = "no_last_modified"
    category = Category.METADATA
    importance = Importance.WARNING
    heading = "no Last Modified date"
    advice = "Say when each grant's record last changed."
    field = "dateModified"


class NoDataSource(MissingField):
    code = "no_data_source"
    category = Category.METADATA
    importance = Importance.WARNING
    heading = "no Data Source"
    advice = "Link each grant to where its data comes from."
    field = "dataSource"


class NoGrantProgramme(MissingField):
    code = "no_grant_programme"
    importance = Importance.WARNING
    heading = "no Grant Programme"
    advice = "Name the programme (the funding round) each grant came from."
    field = "grantProgramme"


class MoreThanOneFundingOrg(QualityCheck):
    code = "more_than_one_funder"
    category = Category.ORGANISATIONS
    importance = Importance.WARNING
    heading = "more than one funding organisation identifier in the file"
    advice = "A file for a single funder should use one funding organisation identifier."

    def package_issues(self, grants: Sequence[Mapping[str, Any]]) -> Iterator[Issue]:
        seen: list[str] = []
        for i, grant in enumerate(grants):
            if not isinstance(grant, Mapping):
                continue
            for j, org in _orgs(grant, "fundingOrganization"):
                oid = str(org.get("id") or "")
                if oid and oid not in seen:
                    seen.append(oid)
                    if len(seen) > 1:
                        yield self.issue(f"/grants/{i}/fundingOrganization/{j}/id",
                                         f"funders: {', '.join(seen)}")


CHECKS: tuple[QualityCheck, ...] = (
    RequiredFields(), GrantIdPrefix(), GrantIdUnexpectedChars(), DuplicateGrantIds(),
    OrganisationIdPrefix(), OrganisationIdLooksInvalid(), RecipientNumbers(),
    Recipient360GPrefix(), NoRecipientNumbers(), Classifications(), NoBeneficiaryLocation(),
    BeneficiaryLocationCodes(), LooksLikeEmail(), ZeroAmount(), TitleLength(),
    TitleDescriptionSame(), PlannedDatesInOrder(), NoLastModified(), NoDataSource(),
    NoGrantProgramme(), MoreThanOneFundingOrg(),
)


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome over a file: how many grants failed and where."""

    code: str
    category: Category
    importance: Importance
    heading: str
    advice: str
    grants_failed: int
    issues: tuple[Issue, ...]


@dataclass
class QualityReport:
    grants: int
    results: list[CheckResult] = field(default_factory=list)

    @property
    def errors(self) -> list[CheckResult]:
        return [r for r in self.results if r.importance is Importance.ERROR and r.issues]

    @property
    def warnings(self) -> list[CheckResult]:
        return [r for r in self.results if r.importance is Importance.WARNING and r.issues]

    @property
    def ok(self) -> bool:
        return not self.errors

    def failed(self, code: str) -> CheckResult | None:
        for r in self.results:
            if r.code == code and r.issues:
                return r
        return None

    def lines(self, limit: int = 3) -> list[str]:
        out = []
        for r in self.errors + self.warnings:
            out.append(f"{r.importance.value}: {r.grants_failed} of {self.grants} grants have "
                       f"{r.heading} ({r.code}). {r.advice}")
            out += [f"  {i.path}: {i.message}" for i in r.issues[:limit]]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"grants": self.grants, "ok": self.ok, "checks": [
            {"code": r.code, "category": r.category.value, "importance": r.importance.value,
             "heading": r.heading, "advice": r.advice, "grants_failed": r.grants_failed,
             "issues": [{"path": i.path, "message": i.message} for i in r.issues[:50]],
             "issues_total": len(r.issues)} for r in self.results if r.issues]}


def run_checks(package: Mapping[str, Any],
               checks: Sequence[QualityCheck] = CHECKS) -> QualityReport:
    """Every check over every grant of a package (``{"grants": [...]}``)."""
    grants = package.get("grants")
    items: list[Mapping[str, Any]] = [g for g in grants if isinstance(g, Mapping)] \
        if isinstance(grants, list) else []
    report = QualityReport(len(items))
    for check in checks:
        issues = tuple(check.package_issues(items))
        failed = len({"/".join(i.path.split("/")[:3]) for i in issues})
        report.results.append(CheckResult(check.code, check.category, check.importance,
                                          check.heading, check.advice, failed, issues))
    return report


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _leaves(v, f"{path}/{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}/{i}")
    else:
        yield path, value


def _date(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    m = DATE_PREFIX.match(value)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
