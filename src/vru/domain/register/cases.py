"""A register case and its factor codings as plain data, and the checks an import row passes.

The import template has one row per case *and coding*: the case's columns, then
``coding_round`` and ``coder``, then one column per factor (yes / no / blank for not known).
A case coded by two reviewers appears on two rows with the same ``reference`` (rounds
``first`` and ``second``), and a reconciled coding on a third (``consensus``); the case's
columns must agree on every row of the same reference. A row with no coding leaves
``coding_round`` and every factor blank.

``parse_rows`` checks every row and the file as a whole and returns either the cases with
their codings or every problem found, located by spreadsheet row and column: a file is
imported whole or not at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date

from vru.domain.problems import Problem
from vru.domain.register.vocabulary import (
    AGE_BANDS,
    CODING_ROUNDS,
    ETHNIC_GROUPS,
    FACTOR_CODES,
    METHODS,
    RELATIONSHIPS,
    REVIEW_STATUSES,
    REVIEW_TYPES,
    SEXES,
    Vocabulary,
    parse_factor_value,
)

REFERENCE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9/_.\- ]{0,39}")
MIN_YEAR, MAX_YEAR = 1990, 2100


@dataclass(frozen=True)
class CaseRecord:
    """One case on the register (a homicide or a death or serious harm under review)."""

    reference: str
    year: int
    borough: str
    review_type: str
    review_status: str
    incident_date: date | None = None
    ward: str | None = None
    victim_age_band: str = "not_known"
    victim_sex: str = "not_known"
    victim_ethnicity: str = "not_stated"
    suspect_age_band: str | None = None
    suspect_sex: str | None = None
    suspect_ethnicity: str | None = None
    method: str = "not_known"
    relationship: str = "not_known"
    synthetic: bool = False


@dataclass(frozen=True)
class Coding:
    """One reviewer's coding of one case: factor code -> True, False or None (not known)."""

    reference: str
    coding_round: str
    coder: str
    values: Mapping[str, bool | None] = field(default_factory=dict)


#: Columns of a case, in template order, with the vocabulary each coded one uses.
CASE_VOCABULARIES: dict[str, Vocabulary] = {
    "review_type": REVIEW_TYPES,
    "review_status": REVIEW_STATUSES,
    "victim_age_band": AGE_BANDS,
    "victim_sex": SEXES,
    "victim_ethnicity": ETHNIC_GROUPS,
    "suspect_age_band": AGE_BANDS,
    "suspect_sex": SEXES,
    "suspect_ethnicity": ETHNIC_GROUPS,
    "method": METHODS,
    "relationship": RELATIONSHIPS,
}
CASE_COLUMNS: tuple[str, ...] = (
    "reference", "year", "incident_date", "borough", "ward",
    "victim_age_band", "victim_sex", "victim_ethnicity",
    "suspect_age_band", "suspect_sex", "suspect_ethnicity",
    "method", "relationship", "review_type", "review_status", "synthetic",
)
CODING_COLUMNS: tuple[str, ...] = ("coding_round", "coder")
TEMPLATE_COLUMNS: tuple[str, ...] = CASE_COLUMNS + CODING_COLUMNS + FACTOR_CODES
REQUIRED_COLUMNS: tuple[str, ...] = ("reference", "year", "borough", "review_type",
                                     "review_status")
#: Fields holding personal details (special category or identifying in combination): only
#: roles allowed personal details see them.
PERSONAL_FIELDS: frozenset[str] = frozenset({
    "incident_date", "ward", "victim_age_band", "victim_sex", "victim_ethnicity",
    "suspect_age_band", "suspect_sex", "suspect_ethnicity", "relationship",
})
#: Blank means "not known" for these coded columns (said in the template's instructions).
_BLANK_DEFAULTS: dict[str, str | None] = {
    "victim_age_band": "not_known", "victim_sex": "not_known",
    "victim_ethnicity": "not_stated", "method": "not_known", "relationship": "not_known",
    "suspect_age_band": None, "suspect_sex": None, "suspect_ethnicity": None,
}

if {f.name for f in fields(CaseRecord)} != set(CASE_COLUMNS):  # pragma: no cover
    raise RuntimeError("CASE_COLUMNS must name every CaseRecord field")


@dataclass(frozen=True)
class ParsedFile:
    """The cases of an import file (first appearance order) and their codings."""

    cases: tuple[CaseRecord, ...]
    codings: tuple[Coding, ...]


def check_case(case: CaseRecord) -> list[tuple[str, str, str]]:
    """Problems with a case as (column, message, action); empty when it is valid.

    Used for cases entered through the API as well as for import rows.
    """
    out: list[tuple[str, str, str]] = []
    if not REFERENCE_PATTERN.fullmatch(case.reference):
        out.append(("reference", "is not a valid reference",
                    "Use 1 to 40 letters, digits, spaces or / _ . -, starting with a letter "
                    "or digit"))
    if not MIN_YEAR <= case.year <= MAX_YEAR:
        out.append(("year", f"must be between {MIN_YEAR} and {MAX_YEAR}",
                    "Give the year of the incident, e.g. 2023"))
    if case.incident_date is not None and case.incident_date.year != case.year:
        out.append(("incident_date", "is not in the case's year",
                    "Correct the date or the year"))
    if not case.borough.strip() or len(case.borough) > 80:
        out.append(("borough", "must be a borough name (1 to 80 characters)",
                    "Give the local authority where the incident happened"))
    if case.ward is not None and len(case.ward) > 80:
        out.append(("ward", "is longer than 80 characters", "Give the ward name or code"))
    for col, vocab in CASE_VOCABULARIES.items():
        value = getattr(case, col)
        if value is None and _BLANK_DEFAULTS.get(col, "x") is None:
            continue
        if value not in vocab:
            out.append((col, f"is not a known {vocab.name}",
                        f"Use one of: {', '.join(vocab.codes)}"))
    return out


def check_coding(coding: Coding) -> list[tuple[str, str, str]]:
    """Problems with a coding as (column, message, action); empty when it is valid."""
    out: list[tuple[str, str, str]] = []
    if coding.coding_round not in CODING_ROUNDS:
        out.append(("coding_round", "is not a known coding round",
                    f"Use one of: {', '.join(CODING_ROUNDS.codes)}"))
    if not coding.coder.strip() or len(coding.coder) > 80:
        out.append(("coder", "must name the reviewer who coded the case (1 to 80 characters)",
                    "Give the reviewer's name or initials"))
    unknown = [k for k in coding.values if k not in FACTOR_CODES]
    if unknown:
        out.append(("values", f"unknown factor codes: {', '.join(sorted(unknown))}",
                    f"Use the factor codes: {', '.join(FACTOR_CODES)}"))
    return out


def parse_rows(
    file: str,
    columns: Sequence[str],
    rows: Iterable[tuple[int, Mapping[str, str]]],
    *,
    existing_references: Iterable[str] = (),
) -> tuple[ParsedFile | None, list[Problem]]:
    """Check an import file's header and rows (each ``(spreadsheet row, {column: text})``).

    Returns ``(parsed, [])`` or ``(None, problems)``: every problem in the file, each with its
    row and column, so a user can fix them all at once. ``existing_references`` are cases
    already on the register (an import adds new cases only).
    """
    problems: list[Problem] = []
    seen_cols = set(columns)
    for col in REQUIRED_COLUMNS:
        if col not in seen_cols:
            problems.append(Problem(file, 1, col, None, "required column is missing",
                                    "Start from the template (vru register template)"))
    for col in columns:
        if col not in TEMPLATE_COLUMNS:
            problems.append(Problem(file, 1, col, None, "unexpected column",
                                    "Remove it or start from the template "
                                    "(vru register template)"))
    if problems:
        return None, problems

    existing = set(existing_references)
    cases: dict[str, tuple[int, CaseRecord]] = {}
    codings: list[Coding] = []
    coded_rounds: dict[tuple[str, str], int] = {}
    n_rows = 0
    for line, row in rows:
        n_rows += 1
        case, coding, row_problems = _parse_row(file, line, row)
        problems.extend(row_problems)
        if case is None:
            continue
        if case.reference in existing:
            problems.append(Problem(file, line, "reference", case.reference,
                                    "is already on the register",
                                    "An import adds new cases only; remove this row or edit "
                                    "the case on the register"))
            continue
        first = cases.get(case.reference)
        if first is None:
            cases[case.reference] = (line, case)
        elif first[1] != case:
            differ = [c for c in CASE_COLUMNS if getattr(first[1], c) != getattr(case, c)]
            problems.append(Problem(
                file, line, differ[0], str(getattr(case, differ[0])),
                f"differs from row {first[0]} for the same reference "
                f"(columns: {', '.join(differ)})",
                "Rows of the same case must agree on every case column"))
        if coding is not None:
            key = (coding.reference, coding.coding_round)
            if key in coded_rounds:
                problems.append(Problem(
                    file, line, "coding_round", coding.coding_round,
                    f"this case already has a {coding.coding_round} coding on row "
                    f"{coded_rounds[key]}", "Give each case one coding per round"))
            else:
                coded_rounds[key] = line
                codings.append(coding)
    if n_rows == 0:
        problems.append(Problem(file, None, None, None, "has no data rows",
                                "Add one row per case (and coding) below the header"))
    for (reference, rnd), line in coded_rounds.items():
        if rnd == "second" and (reference, "first") not in coded_rounds:
            problems.append(Problem(file, line, "coding_round", rnd,
                                    "a second coding needs a first coding of the same case",
                                    "Add the first coding, or call this one first"))
    if problems:
        problems.sort(key=lambda p: (p.row or 0, p.column or ""))
        return None, problems
    return ParsedFile(tuple(c for _, c in cases.values()), tuple(codings)), []


def _parse_row(
    file: str, line: int, row: Mapping[str, str]
) -> tuple[CaseRecord | None, Coding | None, list[Problem]]:
    problems: list[Problem] = []

    def text(col: str) -> str:
        return (row.get(col) or "").strip()

    def bad(col: str, message: str, action: str) -> None:
        problems.append(Problem(file, line, col, text(col) or None, message, action))

    for col in REQUIRED_COLUMNS:
        if not text(col):
            bad(col, "is blank", "Fill in this required column")
    year = 0
    if text("year"):
        try:
            year = int(text("year"))
        except ValueError:
            bad("year", "is not a whole number", "Give the year, e.g. 2023")
    incident: date | None = None
    if text("incident_date"):
        try:
            incident = date.fromisoformat(text("incident_date"))
        except ValueError:
            bad("incident_date", "is not a date in the form YYYY-MM-DD",
                "Write dates as YYYY-MM-DD, e.g. 2023-06-30")
    coded: dict[str, str | None] = {}
    for col, vocab in CASE_VOCABULARIES.items():
        raw = text(col)
        if not raw:
            coded[col] = _BLANK_DEFAULTS.get(col)
            continue
        code = vocab.parse(raw)
        if code is None:
            bad(col, f"is not a known {vocab.name}",
                f"Use one of: {', '.join(vocab.codes)}")
        coded[col] = code
    synthetic, ok = parse_factor_value(text("synthetic"))
    if not ok:
        bad("synthetic", "must be yes or no", "Write yes for made-up (synthetic) cases, else no")
    values: dict[str, bool | None] = {}
    for code in FACTOR_CODES:
        value, ok = parse_factor_value(text(code))
        if not ok:
            bad(code, "must be yes, no or blank (not known)", "Write yes, no or leave it blank")
        values[code] = value
    if problems:
        return None, None, problems

    case = CaseRecord(
        reference=text("reference"), year=year, borough=text("borough"),
        review_type=str(coded["review_type"]), review_status=str(coded["review_status"]),
        incident_date=incident, ward=text("ward") or None,
        victim_age_band=str(coded["victim_age_band"]), victim_sex=str(coded["victim_sex"]),
        victim_ethnicity=str(coded["victim_ethnicity"]),
        suspect_age_band=coded["suspect_age_band"], suspect_sex=coded["suspect_sex"],
        suspect_ethnicity=coded["suspect_ethnicity"],
        method=str(coded["method"]), relationship=str(coded["relationship"]),
        synthetic=bool(synthetic),
    )
    for col, message, action in check_case(case):
        bad(col, message, action)

    coding: Coding | None = None
    round_text = text("coding_round")
    any_value = any(v is not None for v in values.values())
    if round_text:
        rnd = CODING_ROUNDS.parse(round_text)
        if rnd is None:
            bad("coding_round", "is not a known coding round",
                f"Use one of: {', '.join(CODING_ROUNDS.codes)}")
        elif not text("coder"):
            bad("coder", "is blank", "Name the reviewer who coded this case")
        else:
            coding = Coding(case.reference, rnd, text("coder"), values)
            for col, message, action in check_coding(coding):
                bad(col, message, action)
    elif any_value or text("coder"):
        bad("coding_round", "is blank but the row has factor codes or a coder",
            f"Say which coding this is: {', '.join(CODING_ROUNDS.codes)}")
    if problems:
        return None, None, problems
    return case, coding, []


def template_example() -> dict[str, str]:
    """An example row for the template (clearly fictitious)."""
    row = dict.fromkeys(TEMPLATE_COLUMNS, "")
    row.update(
        reference="EXAMPLE-0001", year="2023", incident_date="2023-06-30",
        borough="Example borough", ward="Example ward", victim_age_band="18 to 24",
        victim_sex="male", victim_ethnicity="not_stated", method="knife_or_sharp_instrument",
        relationship="friend_or_acquaintance", review_type="owhr",
        review_status="in_progress", synthetic="yes", coding_round="first", coder="AB",
        ace_abuse="yes", ace_neglect="no", school_exclusion="yes", contact_police="yes",
    )
    return row
