"""Load the MPS homicide victim file as the register's first data.

The file (``Age_Group,Sex,Method_of_Killing,Domestic_Abuse,Solved_Status,Borough,Ethnicity,
Year,BCU``; one row per victim, 2003-2023) gives the year and borough only, so each row becomes
a case with no date or ward. Values are mapped to the register vocabulary:

* age group -> the ``mps_*`` age bands (the file gives a group, not an age);
* sex, ethnicity (``Not Reported/Not Known`` -> not stated) and method of killing (the MPS
  groups, as the homicide source adapter maps them);
* ``Domestic Abuse`` -> relationship ``domestic_unspecified`` (partner or family, which not
  recorded); otherwise the relationship is not known;
* review type ``none`` and status ``notified``: the file says nothing about reviews, so each
  case is on the register with no review decided yet;
* ``Solved_Status`` and ``BCU`` have no place in the register and are not stored.

References are ``MPS-<year>-<n>``, ``n`` counting the file's rows of that year in order, so
the same file always gives the same cases. The file is checked whole first and loaded in one
audited transaction (every case a chained audit entry) or not at all; loading it again adds
nothing and changes nothing.
"""

from __future__ import annotations

import csv
import dataclasses
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from vru.adapters.records.models import Case
from vru.adapters.sources.homicide import COLUMNS, METHOD_GROUPS
from vru.domain.problems import InputError, Problem
from vru.domain.register.cases import CASE_COLUMNS, CaseRecord, check_case
from vru.services.records import Principal, RecordsService, UserError
from vru.services.security.roles import Permission

REFERENCE_PREFIX = "MPS-"
SOURCE = "MPS homicide victims (London Datastore, OGL v3)"

AGE_GROUPS: dict[str, str] = {
    "Child": "mps_child",
    "Adolescent/Young Adult": "mps_adolescent_young_adult",
    "Adult": "mps_adult",
    "Elderly": "mps_elderly",
}
SEXES: dict[str, str] = {"Female": "female", "Male": "male"}
ETHNICITIES: dict[str, str] = {
    "Asian": "asian", "Black": "black", "White": "white", "Other": "other",
    "Not Reported/Not Known": "not_stated",
}
RELATIONSHIPS: dict[str, str] = {"Domestic Abuse": "domestic_unspecified",
                                 "Not Domestic Abuse": "not_known"}
REVIEW_TYPE = "none"
REVIEW_STATUS = "notified"

_MAPS: dict[str, tuple[str, dict[str, str]]] = {
    "Age_Group": ("age group", AGE_GROUPS),
    "Sex": ("sex", SEXES),
    "Method_of_Killing": ("method of killing", METHOD_GROUPS),
    "Domestic_Abuse": ("domestic abuse flag", RELATIONSHIPS),
    "Ethnicity": ("ethnicity", ETHNICITIES),
}


@dataclass(frozen=True)
class SeedResult:
    """What a load did: cases in the file, added now, and already on the register."""

    file: str
    cases: int
    added: int
    unchanged: int


def read_mps_homicides(path: Path) -> list[CaseRecord]:
    """The file's rows as register cases; ``InputError`` lists every problem found."""
    name = path.name
    problems: list[Problem] = []
    records: list[CaseRecord] = []
    per_year: Counter[int] = Counter()
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise UserError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    with handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise InputError([Problem(name, 1, c, None, "required column is missing",
                                      f"The MPS file has the columns {', '.join(COLUMNS)}")
                              for c in missing])
        for line, row in enumerate(reader, start=2):
            row_problems: list[Problem] = []
            coded: dict[str, str] = {}
            for col, (what, mapping) in _MAPS.items():
                value = (row.get(col) or "").strip()
                code = mapping.get(value)
                if code is None:
                    row_problems.append(Problem(name, line, col, value or None,
                                                f"is not a known {what}",
                                                f"Use one of: {', '.join(mapping)}"))
                else:
                    coded[col] = code
            year_text = (row.get("Year") or "").strip()
            borough = (row.get("Borough") or "").strip()
            try:
                year = int(year_text)
            except ValueError:
                row_problems.append(Problem(name, line, "Year", year_text or None,
                                            "is not a whole number", "Give the year, e.g. 2023"))
                year = 0
            if row_problems:
                problems.extend(row_problems)
                continue
            per_year[year] += 1
            record = CaseRecord(
                reference=f"{REFERENCE_PREFIX}{year}-{per_year[year]:04d}", year=year,
                borough=borough, review_type=REVIEW_TYPE, review_status=REVIEW_STATUS,
                victim_age_band=coded["Age_Group"], victim_sex=coded["Sex"],
                victim_ethnicity=coded["Ethnicity"], method=coded["Method_of_Killing"],
                relationship=coded["Domestic_Abuse"], synthetic=False,
            )
            for col, message, action in check_case(record):
                problems.append(Problem(name, line, col, str(getattr(record, col)), message,
                                        action))
            records.append(record)
    if not records and not problems:
        problems.append(Problem(name, None, None, None, "has no data rows",
                                "Give the MPS homicide victim file"))
    if problems:
        raise InputError(problems[:50], total=len(problems))
    return records


def load_mps_homicides(svc: RecordsService, principal: Principal, path: Path) -> SeedResult:
    """Add the MPS homicide victim file's cases to the register, whole or not at all.

    Cases already on the register (same reference) must be identical to the file's, and are
    left alone; if any differs, nothing is loaded (``UserError``)."""
    principal.require(Permission.CASES_WRITE)
    if principal.borough_scope is not None:  # pragma: no cover - officers cannot write
        raise UserError("Borough officers cannot load cases.")
    records = read_mps_homicides(path)
    by_ref = {r.reference: r for r in records}
    with svc.records.reading() as s:
        existing = {c.reference: CaseRecord(**{f: getattr(c, f) for f in CASE_COLUMNS})
                    for c in s.scalars(select(Case).where(
                        Case.reference.like(f"{REFERENCE_PREFIX}%")))}
    differ = sorted(ref for ref, rec in existing.items() if by_ref.get(ref) != rec)
    if differ:
        raise UserError(
            f"{len(differ):,} MPS cases on the register (e.g. {differ[0]}) differ from this "
            "file or are not in it; nothing was loaded. Is this the same file as before?")
    new = [r for r in records if r.reference not in existing]
    if new:
        now = svc.now()
        with svc.writing(principal, "register.load_mps_homicides") as s:
            taken = set(s.scalars(select(Case.reference).where(
                Case.reference.in_([r.reference for r in new]))))
            if taken:
                raise UserError("Another load added some of these cases at the same time; "
                                "nothing was loaded. Try again.")
            for record in new:
                s.add(Case(**dataclasses.asdict(record), created_at=now, updated_at=now))
            svc.records.record(s, "register.load_mps_homicides", "file", path.name,
                               {"source": SOURCE, "cases": len(records), "added": len(new)})
    return SeedResult(path.name, len(records), len(new), len(records) - len(new))


__all__ = ["SeedResult", "load_mps_homicides", "read_mps_homicides"]
