"""Applications as rows of a file (CSV or Excel) or a form: the columns, and checking each
row's values before anything is stored.

A file is taken whole or not at all: every row is checked, and one bad value anywhere
refuses the file with every problem located by row and column (``domain.problems``).
Values that are well formed but break the round's rules (an amount above the largest award,
a ward that is not eligible) are not file errors: the application is received and marked
not eligible, with the reason, as a real application would be.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from vru.domain.problems import Problem

REQUIRED_COLUMNS: tuple[str, ...] = (
    "organisation_name", "title", "summary", "place", "intervention", "amount_requested",
    "duration_months",
)
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "reference", "charity_number", "company_number", "postcode", "minimum_amount",
    "start_date",
)
COLUMNS: tuple[str, ...] = ("reference", "organisation_name", "charity_number",
                            "company_number", "postcode", "title", "summary", "place",
                            "intervention", "amount_requested", "minimum_amount",
                            "duration_months", "start_date")
COLUMN_HELP: dict[str, str] = {
    "reference": "Your reference for the application (letters, digits, - and _); left "
                 "empty, one is given (A-0001, A-0002, ...)",
    "organisation_name": "The applicant organisation's name",
    "charity_number": "Its registered charity number, if it has one",
    "company_number": "Its company number, if it has one",
    "postcode": "The organisation's postcode",
    "title": "A short title for the work (under 140 characters)",
    "summary": "What the work is, for whom, and where (no names of people)",
    "place": "The eligible place: its code (E05..., E09... or a group's id) or its name",
    "intervention": "The approach, by its key or name in the intervention catalogue",
    "amount_requested": "The amount asked for, in whole pounds",
    "minimum_amount": "The least it could deliver with, in whole pounds (empty: the amount "
                      "asked for)",
    "duration_months": "How many months the work lasts",
    "start_date": "When it would start (YYYY-MM-DD), if known",
}
REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2}$")
MONEY = re.compile(r"^£?\s*(\d{1,3}(,\d{3})+|\d+)(\.00?)?$")
MAX_LENGTH: dict[str, int] = {"organisation_name": 200, "title": 200, "summary": 4000,
                              "postcode": 10, "charity_number": 20, "company_number": 20}


@dataclass(frozen=True)
class ApplicationInput:
    """An application's values, checked for form (not yet for eligibility)."""

    reference: str
    organisation_name: str
    charity_number: str
    company_number: str
    postcode: str
    title: str
    summary: str
    place: str
    intervention: str
    amount_requested: int
    minimum_amount: int
    duration_months: int
    start_date: date | None


def parse_money(text: str) -> int | None:
    """Whole pounds from ``12000``, ``12,000``, ``£12,000`` or ``12000.00``; None if not."""
    m = MONEY.match(text.strip())
    if not m:
        return None
    return int(m.group(1).replace(",", ""))


def parse_row(values: Mapping[str, str], *, file: str, row: int | None
              ) -> tuple[ApplicationInput | None, list[Problem]]:
    """One application from text values; the problems found (each with file, row and
    column). Used for file rows and for the web form (``row`` None)."""
    problems: list[Problem] = []

    def text(column: str) -> str:
        return str(values.get(column) or "").strip()

    def problem(column: str, message: str, action: str) -> None:
        problems.append(Problem(file, row, column, text(column) or None, message, action))

    for column in REQUIRED_COLUMNS:
        if not text(column):
            problem(column, "is empty", f"Enter {COLUMN_HELP[column][0].lower()}"
                    f"{COLUMN_HELP[column][1:]}")
    for column, limit in MAX_LENGTH.items():
        if len(text(column)) > limit:
            problem(column, f"is longer than {limit} characters", "Shorten it")
    reference = text("reference")
    if reference and not REFERENCE.match(reference):
        problem("reference", "is not a usable reference",
                "Use up to 40 letters, digits, hyphens and underscores")
    postcode = text("postcode").upper()
    if postcode and not POSTCODE.match(postcode):
        problem("postcode", "is not a UK postcode", "Enter a postcode such as SE13 6LH")
    amount = parse_money(text("amount_requested")) if text("amount_requested") else None
    if text("amount_requested") and (amount is None or amount <= 0):
        problem("amount_requested", "is not an amount in whole pounds",
                "Enter a whole number of pounds, such as 25000")
    minimum: int | None = amount
    if text("minimum_amount"):
        minimum = parse_money(text("minimum_amount"))
        if minimum is None or minimum <= 0:
            problem("minimum_amount", "is not an amount in whole pounds",
                    "Enter a whole number of pounds, or leave it empty")
    duration: int | None = None
    if text("duration_months"):
        raw = text("duration_months")
        raw = raw[:-2] if raw.endswith(".0") else raw
        duration = int(raw) if raw.isdigit() else None
        if duration is None or duration <= 0:
            problem("duration_months", "is not a whole number of months",
                    "Enter the number of months, such as 12")
    start: date | None = None
    if text("start_date"):
        try:
            start = date.fromisoformat(text("start_date")[:10])
        except ValueError:
            problem("start_date", "is not a date", "Write it as YYYY-MM-DD, such as "
                    "2026-04-01")
    if problems or amount is None or minimum is None or duration is None:
        return None, problems
    return ApplicationInput(
        reference=reference, organisation_name=text("organisation_name"),
        charity_number=text("charity_number"), company_number=text("company_number"),
        postcode=postcode, title=text("title"), summary=text("summary"),
        place=text("place"), intervention=text("intervention"), amount_requested=amount,
        minimum_amount=minimum, duration_months=duration, start_date=start), []


def parse_rows(file: str, rows: Sequence[tuple[int, Mapping[str, str]]],
               existing_references: Sequence[str] = ()
               ) -> tuple[list[ApplicationInput], list[Problem]]:
    """Every row of a file checked; references unique within the file and the round."""
    out: list[ApplicationInput] = []
    problems: list[Problem] = []
    taken = {r.lower() for r in existing_references}
    seen: dict[str, int] = {}
    if not rows:
        problems.append(Problem(file, None, None, None, "has no applications",
                                "Put one application on each row under the header"))
    for number, values in rows:
        app, found = parse_row(values, file=file, row=number)
        problems += found
        if app is not None:
            out.append(app)
        reference = str(values.get("reference") or "").strip()
        if not reference or not REFERENCE.match(reference):
            continue
        key = reference.lower()
        if key in seen:
            problems.append(Problem(file, number, "reference", reference,
                                    f"is also used on row {seen[key]}",
                                    "Give each application its own reference"))
        elif key in taken:
            problems.append(Problem(file, number, "reference", reference,
                                    "is already used by an application in this round",
                                    "Give it another reference, or leave it empty"))
        seen.setdefault(key, number)
    return out, problems


def next_reference(existing: Sequence[str], count: int = 1) -> list[str]:
    """Fresh references A-0001, A-0002, ... not among ``existing``."""
    taken = {r.lower() for r in existing}
    out: list[str] = []
    n = 1
    while len(out) < count:
        ref = f"A-{n:04d}"
        if ref.lower() not in taken:
            out.append(ref)
        n += 1
    return out
