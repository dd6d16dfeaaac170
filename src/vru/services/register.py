"""Use cases of the register of homicides and serious case reviews (restricted).

Every function takes the ``Principal`` acting and checks, in this order: the permission
(``security.roles``), the record (a borough officer reaches only their borough's cases;
anything else is "not found"), and the fields (personal details and factor codings only for
roles with ``Permission.PERSONAL_DETAILS``). Every read of a case record is audited (one
entry per request, naming the cases read); every change is audited by the data-access layer.

Two kinds of aggregate:

* ``restricted_analysis``: prevalence, ACE counts, co-occurrence and reviewer agreement,
  unsuppressed, for case reviewers inside the restricted area (its use is audited);
* ``published_summary``: the only figures that leave the restricted area. Counts from 1 to
  9 are suppressed (with secondary suppression so they cannot be worked out from totals),
  proportions and intervals next to a suppressed count are withheld, odds ratios and phi are
  shown only when every cell of their 2 x 2 table reaches the threshold, and every count
  shown is rounded to the nearest 5.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from vru.adapters.records.casefile import read_case_file, write_rows
from vru.adapters.records.models import Case, CaseCoding, Recommendation
from vru.domain import disclosure
from vru.domain.problems import InputError
from vru.domain.register import agreement as agreement_stats
from vru.domain.register import cooccurrence as cooc
from vru.domain.register import prevalence as prev
from vru.domain.register.cases import (
    CASE_COLUMNS,
    CASE_VOCABULARIES,
    CODING_COLUMNS,
    PERSONAL_FIELDS,
    REQUIRED_COLUMNS,
    TEMPLATE_COLUMNS,
    CaseRecord,
    Coding,
    check_case,
    check_coding,
    parse_rows,
)
from vru.domain.register.vocabulary import (
    ACE_CODES,
    CLOSED_RECOMMENDATION_STATUSES,
    CODING_ROUNDS,
    FACTOR_CODES,
    FACTORS,
    RECOMMENDATION_STATUSES,
    REVIEW_TYPES,
)
from vru.domain.statistics.rates import check_confidence, wilson_interval
from vru.services.records import (
    Conflict,
    NotFound,
    Principal,
    RecordsService,
    UserError,
)
from vru.services.result_cache import Computed
from vru.services.result_cache import now as cache_clock
from vru.services.security.roles import Permission

BASE_FIELDS: tuple[str, ...] = ("id", "reference", "year", "borough", "method", "review_type",
                                "review_status", "synthetic", "version", "created_at",
                                "updated_at")
GROUPINGS: tuple[str, ...] = tuple(prev.GROUPINGS)
SYNTHETIC_LABEL = "SYNTHETIC"
ALL = "All"


# --------------------------------------------------------------------------- views


def _case_record(case: Case) -> CaseRecord:
    return CaseRecord(**{c: getattr(case, c) for c in CASE_COLUMNS})


def case_view(case: Case, principal: Principal) -> dict[str, Any]:
    """The fields of ``case`` this principal may see, and the names of those withheld."""
    personal = principal.can(Permission.PERSONAL_DETAILS)
    out: dict[str, Any] = {f: _plain(getattr(case, f)) for f in BASE_FIELDS}
    if personal:
        out.update({f: _plain(getattr(case, f)) for f in sorted(PERSONAL_FIELDS)})
    out["withheld"] = [] if personal else sorted(PERSONAL_FIELDS) + ["codings"]
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value


def _recommendation_view(rec: Recommendation) -> dict[str, Any]:
    return {"id": rec.id, "case_id": rec.case_id, "text": rec.text, "agency": rec.agency,
            "status": rec.status, "due_on": _plain(rec.due_on),
            "closed_on": _plain(rec.closed_on), "closure_note": rec.closure_note,
            "created_at": _plain(rec.created_at), "updated_at": _plain(rec.updated_at)}


def _coding_view(coding: CaseCoding) -> dict[str, Any]:
    return {"id": coding.id, "coding_round": coding.coding_round, "coder": coding.coder,
            "coded_at": _plain(coding.coded_at), "factors": dict(coding.factors)}


def _scoped(query: Select[Any], principal: Principal) -> Select[Any]:
    scope = principal.borough_scope
    return query if scope is None else query.where(Case.borough == scope)


def _visible_case(s: Session, principal: Principal, case_id: int) -> Case:
    case: Case | None = s.scalar(_scoped(select(Case).where(Case.id == case_id), principal))
    if case is None:
        raise NotFound(f"There is no case {case_id} you can see.")
    return case


# --------------------------------------------------------------------------- reading


def list_cases(
    svc: RecordsService,
    principal: Principal,
    *,
    borough: str | None = None,
    year: int | None = None,
    review_type: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """Cases the principal may see (newest first), with their visible fields; audited."""
    principal.require(Permission.CASES_READ)
    limit = max(1, min(limit, 500))
    offset = max(0, offset)
    query = _scoped(select(Case), principal)
    if borough is not None:
        query = query.where(Case.borough == borough)
    if year is not None:
        query = query.where(Case.year == year)
    if review_type is not None:
        query = query.where(Case.review_type == review_type)
    with svc.writing(principal, "case.list") as s:
        total = int(s.scalar(select(func.count()).select_from(query.subquery())) or 0)
        cases = s.scalars(query.order_by(Case.year.desc(), Case.reference)
                          .limit(limit).offset(offset)).all()
        items = [case_view(c, principal) for c in cases]
        svc.records.record(s, "case.list", "case", None, {
            "case_ids": [c.id for c in cases],
            "filters": {"borough": borough, "year": year, "review_type": review_type},
            "personal_details": principal.can(Permission.PERSONAL_DETAILS)})
    return {"total": total, "limit": limit, "offset": offset, "items": items}


def get_case(svc: RecordsService, principal: Principal, case_id: int) -> dict[str, Any]:
    """One case with its recommendations and (for roles allowed) its codings; audited."""
    principal.require(Permission.CASES_READ)
    with svc.writing(principal, "case.read") as s:
        case = _visible_case(s, principal, case_id)
        out = case_view(case, principal)
        recs = s.scalars(select(Recommendation).where(Recommendation.case_id == case.id)
                         .order_by(Recommendation.id)).all()
        out["recommendations"] = [_recommendation_view(r) for r in recs]
        if principal.can(Permission.PERSONAL_DETAILS):
            codings = s.scalars(select(CaseCoding).where(CaseCoding.case_id == case.id)
                                .order_by(CaseCoding.id)).all()
            out["codings"] = [_coding_view(c) for c in codings]
        svc.records.record(s, "case.read", "case", str(case.id), {
            "personal_details": principal.can(Permission.PERSONAL_DETAILS)})
    return out


# --------------------------------------------------------------------------- writing


def _problems_to_error(problems: Sequence[tuple[str, str, str]]) -> UserError:
    text = "; ".join(f"{col} {message} ({action})" for col, message, action in problems)
    return UserError(f"The case cannot be saved: {text}.")


def create_case(svc: RecordsService, principal: Principal, record: CaseRecord
                ) -> dict[str, Any]:
    principal.require(Permission.CASES_WRITE)
    problems = check_case(record)
    if problems:
        raise _problems_to_error(problems)
    now = svc.now()
    try:
        with svc.writing(principal, "case.create") as s:
            if s.scalar(select(Case.id).where(Case.reference == record.reference)):
                raise UserError(f"There is already a case {record.reference!r}.")
            case = Case(**dataclasses.asdict(record), created_at=now, updated_at=now)
            s.add(case)
            s.flush()
            view = case_view(case, principal)
    except IntegrityError:
        raise UserError(f"There is already a case {record.reference!r}.") from None
    return view


def update_case(svc: RecordsService, principal: Principal, case_id: int,
                changes: Mapping[str, Any], version: int | None = None) -> dict[str, Any]:
    """Change some of a case's fields. ``version`` (from when it was read) guards against
    overwriting someone else's change: a different version raises ``Conflict``."""
    principal.require(Permission.CASES_WRITE)
    unknown = sorted(set(changes) - set(CASE_COLUMNS))
    if unknown:
        raise UserError(f"Unknown case fields: {', '.join(unknown)}.")
    try:
        with svc.writing(principal, "case.update") as s:
            case = _visible_case(s, principal, case_id)
            if version is not None and case.version != version:
                raise Conflict("The case has been changed by someone else since you read "
                               "it; reload it and make your change again.")
            record = dataclasses.replace(_case_record(case), **dict(changes))
            problems = check_case(record)
            if problems:
                raise _problems_to_error(problems)
            for key, value in changes.items():
                if getattr(case, key) != value:
                    setattr(case, key, value)
            if s.is_modified(case):
                case.updated_at = svc.now()
            s.flush()
            view = case_view(case, principal)
    except StaleDataError:
        raise Conflict("The case was changed by someone else at the same time; reload it "
                       "and try again.") from None
    except IntegrityError:
        raise UserError("Another case already has that reference.") from None
    return view


def code_case(svc: RecordsService, principal: Principal, case_id: int, coding_round: str,
              values: Mapping[str, bool | None], coder: str | None = None) -> dict[str, Any]:
    """Record (or replace) one round's coding of a case's factors. The coder defaults to
    the signed-in reviewer's username."""
    principal.require(Permission.CASES_CODE)
    coder_name = (coder or principal.username or "").strip()
    full = {code: values.get(code) for code in FACTOR_CODES}
    coding = Coding("", coding_round, coder_name, dict(values))
    problems = check_coding(coding)
    if problems:
        raise _problems_to_error(problems)
    with svc.writing(principal, "case.code") as s:
        case = _visible_case(s, principal, case_id)
        existing = s.scalar(select(CaseCoding).where(CaseCoding.case_id == case.id)
                            .where(CaseCoding.coding_round == coding_round))
        if coding_round == "second":
            first = s.scalar(select(CaseCoding).where(CaseCoding.case_id == case.id)
                             .where(CaseCoding.coding_round == "first"))
            if first is None:
                raise UserError("Code the case's first round before its second.")
            if first.coder == coder_name:
                raise UserError("The second coding must be by a different reviewer from "
                                "the first, so that their agreement can be measured.")
        if existing is None:
            existing = CaseCoding(case_id=case.id, coding_round=coding_round,
                                  coder=coder_name, coder_user_id=principal.user_id,
                                  factors=full, coded_at=svc.now())
            s.add(existing)
        else:
            existing.coder = coder_name
            existing.coder_user_id = principal.user_id
            existing.factors = full
            existing.coded_at = svc.now()
        s.flush()
        return _coding_view(existing)


def add_recommendation(svc: RecordsService, principal: Principal, case_id: int, text: str,
                       agency: str, due_on: date | None = None) -> dict[str, Any]:
    principal.require(Permission.CASES_WRITE)
    if not text.strip() or not agency.strip() or len(agency) > 120:
        raise UserError("A recommendation needs its text and the agency it is for "
                        "(up to 120 characters).")
    now = svc.now()
    with svc.writing(principal, "recommendation.create") as s:
        case = _visible_case(s, principal, case_id)
        rec = Recommendation(case_id=case.id, text=text.strip(), agency=agency.strip(),
                             status="open", due_on=due_on, closed_on=None, closure_note=None,
                             created_at=now, updated_at=now)
        s.add(rec)
        s.flush()
        return _recommendation_view(rec)


def update_recommendation(svc: RecordsService, principal: Principal, recommendation_id: int,
                          status: str, *, closed_on: date | None = None,
                          closure_note: str | None = None) -> dict[str, Any]:
    """Move a recommendation on; closing it needs a date (default today) and a note when
    it was not implemented. Reopening clears the closure."""
    principal.require(Permission.CASES_WRITE)
    if status not in RECOMMENDATION_STATUSES:
        raise UserError(f"Unknown status {status!r}; use one of: "
                        f"{', '.join(RECOMMENDATION_STATUSES.codes)}.")
    if status == "closed_not_implemented" and not (closure_note or "").strip():
        raise UserError("Say why the recommendation was closed without being implemented.")
    with svc.writing(principal, "recommendation.update") as s:
        rec = s.get(Recommendation, recommendation_id)
        if rec is None:
            raise NotFound(f"There is no recommendation {recommendation_id}.")
        _visible_case(s, principal, rec.case_id)
        rec.status = status
        if status in CLOSED_RECOMMENDATION_STATUSES:
            rec.closed_on = closed_on or svc.now().date()
            rec.closure_note = (closure_note or "").strip() or None
        else:
            rec.closed_on = None
            rec.closure_note = None
        rec.updated_at = svc.now()
        s.flush()
        return _recommendation_view(rec)


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class ImportResult:
    file: str
    cases: int
    codings: int


def import_cases(svc: RecordsService, principal: Principal, path: Path) -> ImportResult:
    """Import a CSV or Excel file made from the template: every row checked, and the file
    imported whole or not at all (``InputError`` lists every problem, located)."""
    principal.require(Permission.CASES_WRITE)
    principal.require(Permission.CASES_CODE)
    optional = [c for c in TEMPLATE_COLUMNS if c not in REQUIRED_COLUMNS]
    case_file = read_case_file(path, REQUIRED_COLUMNS, optional)
    with svc.records.reading() as s:
        existing = set(s.scalars(select(Case.reference)))
    parsed, problems = parse_rows(case_file.name, case_file.columns, case_file.rows,
                                  existing_references=existing)
    if problems or parsed is None:
        raise InputError(problems[:50], total=len(problems))
    scope = principal.borough_scope
    if scope is not None:  # pragma: no cover - borough officers cannot write cases
        raise UserError("Borough officers cannot import cases.")
    now = svc.now()
    try:
        with svc.writing(principal, "case.import") as s:
            ids: dict[str, Case] = {}
            for record in parsed.cases:
                case = Case(**dataclasses.asdict(record), created_at=now, updated_at=now)
                s.add(case)
                ids[record.reference] = case
            s.flush()
            for coding in parsed.codings:
                s.add(CaseCoding(case_id=ids[coding.reference].id,
                                 coding_round=coding.coding_round, coder=coding.coder,
                                 coder_user_id=None,
                                 factors={c: coding.values.get(c) for c in FACTOR_CODES},
                                 coded_at=now))
            svc.records.record(s, "register.import", "file", case_file.name, {
                "cases": len(parsed.cases), "codings": len(parsed.codings)})
    except IntegrityError:
        raise UserError("Another import added some of these cases at the same time; "
                        "nothing was imported. Try again.") from None
    return ImportResult(case_file.name, len(parsed.cases), len(parsed.codings))


def template_rows() -> tuple[list[str], dict[str, list[tuple[str, str]]], list[str]]:
    """The template's columns, the codes allowed in each coded column, and its notes."""
    codes: dict[str, list[tuple[str, str]]] = {
        col: [(t.code, t.label) for t in vocab.terms] for col, vocab in CASE_VOCABULARIES.items()
    }
    codes["coding_round"] = [(t.code, t.label) for t in CODING_ROUNDS.terms]
    for factor in FACTORS:
        codes[factor.code] = [("yes", factor.definition), ("no", "Not present"),
                              ("", "Blank: not known")]
    notes = [
        "Register of homicides and serious case reviews: import template. RESTRICTED once "
        "filled in.",
        "One row per case and coding. A case coded by two reviewers has two rows with the "
        "same reference (coding_round first and second); a reconciled coding a third "
        "(consensus). Case columns must agree on every row of the same reference.",
        "Required: reference, year, borough, review_type, review_status. Blank coded columns "
        "mean 'not known'. Dates as YYYY-MM-DD. Factors: yes, no, or blank (not known).",
        "Codes or labels from the 'codes' sheet are accepted. synthetic: yes for made-up "
        "cases (training, testing).",
        "A file is imported whole or not at all: every problem is listed with its row and "
        "column.",
    ]
    return list(TEMPLATE_COLUMNS), codes, notes


def write_template(path: Path) -> Path:
    """An empty import template (``.csv``: header only; ``.xlsx``: with codes and notes)."""
    columns, codes, notes = template_rows()
    return write_rows(path, columns, [], codes=codes, notes=notes)


def export_cases(svc: RecordsService, principal: Principal, path: Path) -> int:
    """Write every case the principal may see, with its codings, in the template's layout
    (so an export can be imported elsewhere). Restricted; audited. Returns rows written."""
    principal.require(Permission.CASES_EXPORT)
    rows: list[dict[str, Any]] = []
    with svc.writing(principal, "register.export") as s:
        cases = s.scalars(_scoped(select(Case), principal).order_by(Case.id)).all()
        codings = s.scalars(select(CaseCoding).order_by(CaseCoding.case_id, CaseCoding.id)
                            ).all()
        by_case: dict[int, list[CaseCoding]] = {}
        for coding in codings:
            by_case.setdefault(coding.case_id, []).append(coding)
        for case in cases:
            base = {c: getattr(case, c) for c in CASE_COLUMNS}
            case_codings = by_case.get(case.id, [])
            if not case_codings:
                rows.append(base)
            for coding in case_codings:
                row = dict(base, coding_round=coding.coding_round, coder=coding.coder)
                row.update({code: _yes_no(coding.factors.get(code)) for code in FACTOR_CODES})
                rows.append(row)
        svc.records.record(s, "register.export", "file", path.name, {
            "cases": len(cases), "rows": len(rows), "case_ids": [c.id for c in cases]})
    columns, codes, notes = template_rows()
    write_rows(path, columns, rows, codes=codes,
               notes=["RESTRICTED: export of the register of homicides and serious case "
                      "reviews.", *notes[1:]])
    return len(rows)


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


# --------------------------------------------------------------------------- analysis


def _load(s: Session, principal: Principal, synthetic: bool | None
          ) -> tuple[list[CaseRecord], list[Coding]]:
    """The cases the principal may see (optionally only synthetic or only real ones) and
    their codings, as plain records: selected as columns, not as tracked ORM objects."""
    cases, refs = _load_cases(s, principal, synthetic)
    return cases, _load_codings(s, refs)


def _load_cases(s: Session, principal: Principal, synthetic: bool | None
                ) -> tuple[list[CaseRecord], dict[int, str]]:
    """The cases of ``_load``, and each one's reference by id."""
    query = _scoped(select(Case.id, *(getattr(Case, c) for c in CASE_COLUMNS)), principal)
    if synthetic is not None:
        query = query.where(Case.synthetic.is_(synthetic))
    refs: dict[int, str] = {}
    cases: list[CaseRecord] = []
    for row in s.execute(query.order_by(Case.id)):
        record = CaseRecord(**dict(zip(CASE_COLUMNS, row[1:], strict=True)))
        refs[int(row[0])] = record.reference
        cases.append(record)
    return cases, refs


def _load_codings(s: Session, refs: Mapping[int, str]) -> list[Coding]:
    """The codings of the cases in ``refs`` (case id -> reference), in the order made."""
    return [
        Coding(refs[case_id], coding_round, coder, dict(factors))
        for case_id, coding_round, coder, factors in s.execute(
            select(CaseCoding.case_id, CaseCoding.coding_round, CaseCoding.coder,
                   CaseCoding.factors).order_by(CaseCoding.id))
        if case_id in refs
    ]


def table_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as JSON-ready rows: missing values (NaN, NA) become None, numpy scalars
    become Python numbers."""
    return [{str(key): _plain_value(value) for key, value in row.items()}
            for row in frame.to_dict(orient="records")]


@dataclass(frozen=True)
class _Aggregates:
    """The unsuppressed aggregates of one set of cases (one register state): the restricted
    analysis's tables, and what the published summary needs besides them."""

    n_cases: int
    n_synthetic: int
    #: (year, review type) of each case, for the published counts by year
    year_review: tuple[tuple[int, str], ...]
    tables: dict[str, pd.DataFrame]


def _aggregates(cases: Sequence[CaseRecord], codings: Sequence[Coding], confidence: float
                ) -> _Aggregates:
    frame = prev.analysis_frame(cases, codings)
    (overall, four), *grouped = prev.prevalence_tables(
        frame, [(), *([by] for by in GROUPINGS)], confidence)
    tables: dict[str, pd.DataFrame] = {
        "prevalence": overall,
        "four_or_more": four,
        "ace_distribution": prev.ace_count_distribution(frame),
        "cooccurrence": cooc.cooccurrence(frame, FACTOR_CODES, confidence),
        "agreement": agreement_stats.agreement_by_factor(
            prev.coding_frame(codings, "first"), prev.coding_frame(codings, "second"),
            FACTOR_CODES, confidence),
    }
    for by, (by_group, four_by_group) in zip(GROUPINGS, grouped, strict=True):
        tables[f"prevalence_by_{by}"] = by_group
        tables[f"four_or_more_by_{by}"] = four_by_group
    return _Aggregates(len(cases), sum(1 for c in cases if c.synthetic),
                       tuple((c.year, c.review_type) for c in cases), tables)


_CASE_STATE = 3  # the register state's first three values are the cases'


def _register_state(s: Session) -> tuple[Any, ...]:
    """What the register's aggregates depend on: changes whenever a case or coding does
    (the cases' count, latest change and versions, then the codings')."""
    cases = s.execute(select(func.count(Case.id), func.max(Case.updated_at),
                             func.sum(Case.version))).one()
    codings = s.execute(select(func.count(CaseCoding.id), func.max(CaseCoding.id),
                               func.sum(CaseCoding.version))).one()
    return (*tuple(cases), *tuple(codings))


def _current_state(svc: RecordsService) -> tuple[Any, ...]:
    with svc.records.reading() as s:
        return _register_state(s)


def _cached_cases(svc: RecordsService, s: Session, principal: Principal,
                  synthetic: bool | None, state: tuple[Any, ...]
                  ) -> tuple[list[CaseRecord], dict[int, str]]:
    """``_load_cases`` in the session ``s``, kept while the cases are unchanged: a new
    coding changes only the codings, so only they are read again (the first part of the
    register's state is the cases'; only the same state serves)."""
    def load() -> Computed[tuple[list[CaseRecord], dict[int, str]]]:
        return Computed(state[:_CASE_STATE], cache_clock(), _load_cases(s, principal, synthetic))

    return svc.cache.get_or_compute(("register_cases", principal.borough_scope, synthetic),
                                    state[:_CASE_STATE], math.inf, load).value


def _cached_aggregates(svc: RecordsService, principal: Principal, synthetic: bool | None,
                       confidence: float, asked_at: float, state: tuple[Any, ...]
                       ) -> Computed[_Aggregates]:
    """The aggregates of the cases ``principal`` may see, from the cache when they are as
    new as the request (``result_cache``); otherwise computed once, from one snapshot of
    the records, while requests for the same aggregates wait for them."""
    def compute() -> Computed[_Aggregates]:
        taken_at = cache_clock()
        with svc.records.snapshot() as s:  # the state and the data from the same snapshot
            current = _register_state(s)
            cases, refs = _cached_cases(svc, s, principal, synthetic, current)
            codings = _load_codings(s, refs)
        return Computed(current, taken_at, _aggregates(cases, codings, confidence))

    key = ("register_aggregates", principal.borough_scope, synthetic, confidence)
    return svc.cache.get_or_compute(key, state, asked_at, compute)


def restricted_analysis(svc: RecordsService, principal: Principal, *,
                        synthetic: bool | None = None, confidence: float = 0.95
                        ) -> dict[str, pd.DataFrame]:
    """Unsuppressed pattern analysis for case reviewers (restricted; audited): factor
    prevalence overall and by year, age band and method; ACE counts and "four or more";
    co-occurrence of factors; agreement between first and second coders.

    The figures include every change committed before the call (see ``result_cache``);
    they are computed outside the audited transaction, which only records the use."""
    principal.require(Permission.REGISTER_ANALYSIS)
    check_confidence(confidence)
    asked_at = cache_clock()
    done = _cached_aggregates(svc, principal, synthetic, confidence, asked_at,
                              _current_state(svc))
    with svc.writing(principal, "register.analysis") as s:
        svc.records.record(s, "register.analysis", "register", None, {
            "cases": done.value.n_cases, "synthetic": synthetic})
    return {name: table.copy() for name, table in done.value.tables.items()}


@dataclass
class _PrevalenceRows:
    """One prevalence table's rows ready for disclosure control (see
    ``_controlled_prevalences``): with, by group, each factor's "All" row."""

    by: str | None
    factors: list[Any]
    groups: list[Any]
    counts: dict[str, npt.NDArray[np.int64]]
    #: lines of cells with a known sum beyond each row's own (rows numbered from 0)
    lines: list[list[tuple[int, str]]]

    @classmethod
    def of(cls, table: pd.DataFrame, by: str | None) -> _PrevalenceRows:
        factors: list[Any] = table["factor"].tolist()
        counts = {col: table[col].to_numpy(dtype=np.int64)
                  for col in ("present", "absent", "n_known")}
        if by is None:
            return cls(by, factors, [], counts, [])
        groups: list[Any] = table[by].astype(str).tolist()
        order = list(dict.fromkeys(factors))  # factors in order of first appearance
        position = {f: i for i, f in enumerate(order)}
        which = np.fromiter((position[f] for f in factors), dtype=np.int64,
                            count=len(factors))
        for col, values in counts.items():  # each factor's "All" row: its groups' sum
            sums = np.bincount(which, weights=values, minlength=len(order))
            counts[col] = np.concatenate([values, sums.astype(np.int64)])
        factors += order
        groups += [ALL] * len(order)
        members: dict[Any, list[int]] = {}
        for i, f in enumerate(factors):
            members.setdefault(f, []).append(i)
        lines = [[(i, col) for i in rows] for col in ("present", "absent", "n_known")
                 for rows in members.values()]
        return cls(by, factors, groups, counts, lines)


def _controlled_prevalences(tables: Mapping[str, tuple[pd.DataFrame, str | None]],
                            threshold: int, base: int) -> dict[str, list[dict[str, Any]]]:
    """Disclosure control of prevalence tables, as published rows.

    In each table, each row's present and absent add up to its n_known (a line); by group,
    each factor's groups add up to an "All" row (a line for each of present, absent and
    n_known). The proportion and interval are withheld beside a hidden count, counts are
    rounded to ``base`` and proportions shown as whole percents; by group, each factor's
    "All" row follows its groups.

    The tables are suppressed together, in one call, stacked one under another: no line
    crosses from one table to another and each table's lines keep their order, so every
    table's cells are hidden exactly as if it were suppressed alone."""
    parts = {name: _PrevalenceRows.of(table, by) for name, (table, by) in tables.items()
             if not table.empty}
    starts: dict[str, int] = {}
    lines: list[list[disclosure.Cell]] = []
    size = 0
    for name, part in parts.items():
        starts[name] = size
        lines += [[(size + i, col) for i, col in line] for line in part.lines]
        size += len(part.factors)
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in tables}
    if not parts:
        return out
    stacked = pd.DataFrame({col: np.concatenate([p.counts[col] for p in parts.values()])
                            for col in ("present", "absent", "n_known")})
    sup = disclosure.suppress(stacked, ["present", "absent"], threshold, total_col="n_known",
                              margins_known=False, lines=lines)
    hidden = sup.row_suppressed().to_numpy()
    shown_counts = {col: _rounded(sup.table[col], base)
                    for col in ("n_known", "present", "absent")}
    for name, part in parts.items():
        at = slice(starts[name], starts[name] + len(part.factors))
        hide = hidden[at]
        r = part.counts["present"].astype(float)
        n = part.counts["n_known"].astype(float)
        low, high = wilson_interval(r, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(n > 0, 100 * r / np.where(n > 0, n, 1), np.nan)
        shown: dict[str, list[Any]] = {col: values[at] for col, values in shown_counts.items()}
        shown["percent"] = _floats(np.where(hide, np.nan, np.round(pct)))
        shown["ci_low_percent"] = _floats(np.where(hide, np.nan, np.round(100 * low)))
        shown["ci_high_percent"] = _floats(np.where(hide, np.nan, np.round(100 * high)))
        order: list[int] = list(range(len(part.factors)))
        if part.by is not None:  # by factor (in the vocabulary's order), "All" row last
            rank = [_FACTOR_ORDER.get(f, len(_FACTOR_ORDER)) for f in part.factors]
            order = np.lexsort((np.array([g == ALL for g in part.groups]),
                                np.array(rank))).tolist()
        for i in order:
            row: dict[str, Any] = {}
            if part.by is not None:
                row[part.by] = _plain_value(part.groups[i])
            row["factor"] = _plain_value(part.factors[i])
            row.update({col: values[i] for col, values in shown.items()})
            out[name].append(row)
    return out


def _rounded(counts: pd.Series, base: int) -> list[int | None]:
    """Counts (nullable: hidden ones are missing) rounded to ``base``, as published."""
    return [None if v is None else int(v)
            for v in map(_plain_value, disclosure.round_to_base(counts, base).tolist())]


def _floats(values: npt.NDArray[np.float64]) -> list[float | None]:
    return [None if math.isnan(v) else v for v in values.tolist()]


def _plain_value(value: Any) -> Any:
    """A table's value as JSON-ready Python: missing (None, NaN, NA) -> None, numpy scalars
    -> Python numbers."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        item = value.item()
        return None if isinstance(item, float) and math.isnan(item) else item
    return value


_FACTOR_ORDER = {code: i for i, code in enumerate((*FACTOR_CODES, "four_or_more"))}


def _controlled_cooccurrence(table: pd.DataFrame, threshold: int, base: int) -> pd.DataFrame:
    cells = table[["both", "a_only", "b_only", "neither"]].to_numpy()
    ok = (cells >= threshold).all(axis=1) if len(table) else np.zeros(0, dtype=bool)
    out = pd.DataFrame({
        "factor_a": table["factor_a"], "factor_b": table["factor_b"],
        "n": disclosure.round_to_base(table["n"].where(table["n"] >= threshold), base),
        "both": disclosure.round_to_base(table["both"].where(table["both"] >= threshold),
                                         base),
        "phi": np.where(ok, table["phi"].round(2), np.nan),
        "odds_ratio": np.where(ok, table["odds_ratio"].round(2), np.nan),
        "or_low": np.where(ok, table["or_low"].round(2), np.nan),
        "or_high": np.where(ok, table["or_high"].round(2), np.nan),
    })
    out["note"] = np.where(ok, "", f"Not shown: a cell of its 2 x 2 table is below "
                                   f"{threshold}.")
    return out


def published_summary(svc: RecordsService, principal: Principal, *,
                      threshold: int = disclosure.DEFAULT_THRESHOLD,
                      base: int = disclosure.DEFAULT_BASE,
                      synthetic: bool | None = None) -> dict[str, Any]:
    """The register's figures after disclosure control: the only ones that leave the
    restricted area (see the module docstring). Safe for every role, including the public.
    Like ``restricted_analysis``, they include every change committed before the call."""
    principal.require(Permission.REGISTER_SUMMARY)
    if threshold < disclosure.DEFAULT_THRESHOLD:
        raise UserError(f"The suppression threshold cannot be below "
                        f"{disclosure.DEFAULT_THRESHOLD}.")
    system = Principal(principal.role, system=True)  # aggregates use every case
    asked_at = cache_clock()
    state = _current_state(svc)

    def compute() -> Computed[dict[str, Any]]:
        raw = _cached_aggregates(svc, system, synthetic, 0.95, asked_at, state)
        return Computed(raw.state, raw.taken_at, _summary(raw.value, threshold, base))

    done = svc.cache.get_or_compute(("published_summary", threshold, base, synthetic),
                                    state, asked_at, compute)
    return _copy_summary(done.value)


def _copy_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """A copy the caller may change (the rows are flat dicts of numbers and strings)."""
    return {**summary, "notes": list(summary["notes"]),
            "tables": {name: [dict(row) for row in rows]
                       for name, rows in summary["tables"].items()}}


def _summary(raw: _Aggregates, threshold: int, base: int) -> dict[str, Any]:
    # cases by year and review type, with totals
    if raw.year_review:  # a cross-tabulation (years in order, the vocabulary's types)
        tally = Counter(raw.year_review)
        years = sorted({year for year, _ in raw.year_review})
        counts = pd.DataFrame(
            [[tally.get((year, code), 0) for code in REVIEW_TYPES.codes] for year in years],
            index=pd.Index([str(year) for year in years], name="year"),
            columns=list(REVIEW_TYPES.codes), dtype=np.int64)
    else:
        counts = pd.DataFrame(columns=list(REVIEW_TYPES.codes))
    counts["total"] = counts.sum(axis=1).astype(int)
    counts.loc[ALL] = counts.sum(axis=0)
    sup = disclosure.suppress(counts, list(REVIEW_TYPES.codes), threshold, total_col="total",
                              total_row=ALL)
    by_year = disclosure.round_to_base(sup.table, base,
                                       count_cols=[*REVIEW_TYPES.codes, "total"])
    by_year = by_year.reset_index(names="year")

    t = raw.tables
    ace = t["ace_distribution"].set_index("ace_count")
    ace_sup = disclosure.suppress(ace, ["cases"], threshold)
    ace_table = disclosure.round_to_base(ace_sup.table, base, count_cols=["cases"])

    controlled = _controlled_prevalences({
        "prevalence": (t["prevalence"], None), "four_or_more_aces": (t["four_or_more"], None),
        **{f"four_or_more_aces_by_{by}": (t[f"four_or_more_by_{by}"], by) for by in GROUPINGS},
        **{f"prevalence_by_{by}": (t[f"prevalence_by_{by}"], by) for by in GROUPINGS},
    }, threshold, base)
    tables: dict[str, list[dict[str, Any]]] = {
        "cases_by_year_and_review_type": table_records(by_year),
        "ace_count_distribution": table_records(ace_table.reset_index()),
        "prevalence": controlled["prevalence"],
        "four_or_more_aces": controlled["four_or_more_aces"],
        "cooccurrence": table_records(_controlled_cooccurrence(t["cooccurrence"], threshold,
                                                               base)),
    }
    for by in GROUPINGS:
        tables[f"four_or_more_aces_by_{by}"] = controlled[f"four_or_more_aces_by_{by}"]
        tables[f"prevalence_by_{by}"] = controlled[f"prevalence_by_{by}"]
    notes = [
        f"Counts from 1 to {threshold - 1} are not shown, nor any figure from which they "
        "could be worked out; percentages and intervals next to a hidden count are not "
        "shown either.",
        f"Counts are rounded to the nearest {base}; totals are rounded separately, so parts "
        "may not add up to their total. Percentages are worked out from unrounded counts.",
        "Odds ratios and phi are shown only where every cell of their 2 x 2 table is at "
        f"least {threshold}.",
        "Factors are counted among cases where they are known (coded yes or no); 'four or "
        "more ACEs' counts only cases where it can be decided.",
    ]
    if raw.n_synthetic:
        notes.insert(0, f"{SYNTHETIC_LABEL}: these figures include made-up cases "
                        "(synthetic data for testing and training), not real ones.")
    return {
        "threshold": threshold,
        "rounding_base": base,
        "synthetic_cases_included": bool(raw.n_synthetic),
        "notes": notes,
        "tables": tables,
    }


# --------------------------------------------------------------------------- synthetic data


def synthetic_register(n_cases: int = 200, seed: int = 20240607
                       ) -> tuple[list[CaseRecord], list[Coding]]:
    """A clearly labelled SYNTHETIC register for testing and training: made-up cases in
    made-up boroughs (``Synthetic North`` ...), references ``SYN-0001`` ..., every case
    flagged ``synthetic``. Factors come from a latent risk, so ACEs co-occur as they do in
    real studies; about 40% of cases are double coded, the second reviewer disagreeing on
    about 8% of answers, and each double-coded case has a consensus coding."""
    if not 1 <= n_cases <= 100_000:
        raise ValueError("n_cases must be between 1 and 100,000")
    rng = np.random.default_rng(seed)
    boroughs = ["Synthetic North", "Synthetic South", "Synthetic East", "Synthetic West"]
    review_types = ["dhr", "sar", "cspr", "owhr", "none"]
    methods = ["knife_or_sharp_instrument", "shooting", "blunt_instrument",
               "physical_assault_no_weapon", "other_method"]
    ages = ["age_10_17", "age_18_24", "age_25_34", "age_35_44", "age_45_54", "age_65_plus"]
    cases: list[CaseRecord] = []
    codings: list[Coding] = []
    for i in range(n_cases):
        ref = f"SYN-{i + 1:04d}"
        year = int(rng.integers(2019, 2025))
        review = str(rng.choice(review_types, p=[0.3, 0.1, 0.15, 0.25, 0.2]))
        cases.append(CaseRecord(
            reference=ref, year=year, borough=str(rng.choice(boroughs)),
            review_type=review,
            review_status=str(rng.choice(["notified", "in_progress", "completed",
                                          "published"])) if review != "none" else "notified",
            victim_age_band=str(rng.choice(ages, p=[0.12, 0.3, 0.22, 0.14, 0.12, 0.1])),
            victim_sex=str(rng.choice(["male", "female"], p=[0.7, 0.3])),
            victim_ethnicity=str(rng.choice(["asian", "black", "mixed", "white", "other",
                                             "not_stated"])),
            method=str(rng.choice(methods, p=[0.45, 0.08, 0.12, 0.2, 0.15])),
            relationship=str(rng.choice(["partner_or_ex_partner", "family_member",
                                         "friend_or_acquaintance", "stranger", "not_known"])),
            synthetic=True,
        ))
        risk = rng.beta(1.0, 2.0)
        truth: dict[str, bool | None] = {}
        for code in FACTOR_CODES:
            p = 0.15 + 0.7 * risk if code in ACE_CODES else 0.1 + 0.5 * risk
            truth[code] = bool(rng.random() < p)
            if rng.random() < 0.05:
                truth[code] = None
        codings.append(Coding(ref, "first", "SYN-A", dict(truth)))
        if rng.random() < 0.4:
            second = {k: (None if v is None else (not v if rng.random() < 0.08 else v))
                      for k, v in truth.items()}
            codings.append(Coding(ref, "second", "SYN-B", second))
            codings.append(Coding(ref, "consensus", "SYN-A+B", dict(truth)))
    return cases, codings


def load_synthetic(svc: RecordsService, principal: Principal, n_cases: int = 200,
                   seed: int = 20240607) -> ImportResult:
    """Add the SYNTHETIC register (``synthetic_register``) to the database."""
    principal.require(Permission.CASES_WRITE)
    cases, codings = synthetic_register(n_cases, seed)
    now = svc.now()
    with svc.writing(principal, "register.synthetic") as s:
        taken = set(s.scalars(select(Case.reference).where(Case.reference.like("SYN-%"))))
        if taken:
            raise UserError("The synthetic register is already loaded (cases SYN-...).")
        rows: dict[str, Case] = {}
        for record in cases:
            rows[record.reference] = Case(**dataclasses.asdict(record), created_at=now,
                                          updated_at=now)
            s.add(rows[record.reference])
        s.flush()
        for coding in codings:
            s.add(CaseCoding(case_id=rows[coding.reference].id,
                             coding_round=coding.coding_round, coder=coding.coder,
                             coder_user_id=None,
                             factors={c: coding.values.get(c) for c in FACTOR_CODES},
                             coded_at=now))
    return ImportResult(SYNTHETIC_LABEL, len(cases), len(codings))


__all__ = [
    "CODING_COLUMNS", "ImportResult", "add_recommendation", "case_view", "code_case",
    "create_case", "export_cases", "get_case", "import_cases", "list_cases",
    "load_synthetic", "published_summary", "restricted_analysis", "synthetic_register",
    "table_records", "update_case", "update_recommendation", "write_template",
]
