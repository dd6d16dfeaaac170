"""Use cases of the commissioning framework: the intervention catalogue, funding rounds,
applications, conflicts of interest, scoring, moderation, allocation, publication in the
360Giving Data Standard, grant agreements and payments, and the public view of a round.

Every function takes the ``RecordsService`` and the ``Principal`` acting and checks the
permission first (``security.roles``: ``commissioning.assess`` to see rounds and score,
``commissioning.read`` to see every score and the allocation, ``commissioning.manage`` to do
the rest); published rounds are public. Every change goes through ``Records.writing`` and is
audited in the same transaction (who, when, what, before and after). The rules themselves are
in ``vru.domain.commissioning``; this module fetches, checks the stage, calls the rules and
stores the result.

A round's places come from a priority-places decision record (``places_from_decision``):
the places it picked as rising, with the count and population behind each (the Strategic
Needs Assessment figures the record froze), so need is traceable to a record with a hash.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vru.adapters import threesixtygiving as tsg
from vru.adapters.records.commissioning_files import read_applications_file
from vru.adapters.records.commissioning_models import (
    Application,
    AssessorScoreRow,
    Award,
    ConflictOfInterest,
    FundingRound,
    InterventionEntry,
    Moderation,
    Payment,
    RoundPlace,
)
from vru.domain.commissioning import allocation as alloc
from vru.domain.commissioning import catalogue as cat
from vru.domain.commissioning.applications import (
    ApplicationInput,
    next_reference,
    parse_row,
    parse_rows,
)
from vru.domain.commissioning.conflicts import ApplicationParties, Declaration, conflicts
from vru.domain.commissioning.criteria import (
    DEFAULT_CRITERIA,
    SOURCE_LABELS,
    CriteriaError,
    Criterion,
    CriterionSource,
    check_criteria,
    contributions,
    need_points,
    weighted_score,
)
from vru.domain.commissioning.eligibility import (
    ApplicationFacts,
    RoundContext,
    check_eligibility,
)
from vru.domain.commissioning.organisations import organisation_identifier
from vru.domain.commissioning.quality import QualityReport
from vru.domain.commissioning.rounds import (
    DECISION_GEOGRAPHY,
    LEVEL_LABELS,
    STATUS_LABELS,
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
from vru.domain.commissioning.scoring import (
    AssessorScore,
    ScoreState,
    agreement_by_criterion,
    check_scores,
    full_points,
    outcome,
)
from vru.domain.commissioning.threesixtygiving import (
    Area,
    Funder,
    GrantFacts,
    Recipient,
    data_package,
    grant_id,
    grant_record,
)
from vru.domain.problems import InputError, Problem
from vru.services.records import (
    NotFound,
    Principal,
    RecordsService,
    UserError,
)
from vru.services.security.roles import Permission

CATALOGUE_FILE = "intervention_catalogue.toml"
PUBLIC_PATH = "/funding"
DEFAULT_BASE_URL = "http://localhost:8000"
ALLOCATION_VERSION = 1
P = Permission


# --------------------------------------------------------------------------- helpers


def _canonical(value: Any) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.10g}")
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def sha256_of(value: Any) -> str:
    text = json.dumps(_canonical(value), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _round(s: Session, reference: str) -> FundingRound:
    found = s.scalar(select(FundingRound).where(FundingRound.reference == reference.lower()))
    if found is None:
        raise NotFound(f"There is no funding round {reference!r}.")
    return found


def _application(s: Session, rnd: FundingRound, reference: str) -> Application:
    found = s.scalar(select(Application).where(Application.round_id == rnd.id)
                     .where(Application.reference == reference))
    if found is None:
        raise NotFound(f"Round {rnd.reference} has no application {reference!r}.")
    return found


def _places(s: Session, rnd: FundingRound) -> list[RoundPlace]:
    return list(s.scalars(select(RoundPlace).where(RoundPlace.round_id == rnd.id)
                          .order_by(RoundPlace.code)))


def _status(rnd: FundingRound) -> RoundStatus:
    return RoundStatus(rnd.status)


def _require_status(rnd: FundingRound, *allowed: RoundStatus, doing: str) -> None:
    if _status(rnd) not in allowed:
        wanted = " or ".join(STATUS_LABELS[a].lower() for a in allowed)
        raise UserError(f"Round {rnd.reference} is {STATUS_LABELS[_status(rnd)].lower()}: "
                        f"you can {doing} only when it is {wanted}.")


def _criteria(rnd: FundingRound) -> list[Criterion]:
    return [Criterion.from_dict(c) for c in rnd.criteria]


def _terms(rnd: FundingRound) -> RoundTerms:
    return RoundTerms(rnd.budget, rnd.min_award, rnd.max_award, rnd.quality_threshold,
                      rnd.criterion_gap, rnd.total_gap, rnd.min_assessors, rnd.partial_awards)


def _place_terms(p: RoundPlace) -> PlaceTerms:
    return PlaceTerms(p.code, p.name, tuple(GeoCode(a["code"], a["name"], a["type"])
                                            for a in p.areas),
                      p.count, p.population, p.floor, p.cap, p.explanation, p.parent_name)


def _funder(rnd: FundingRound) -> Funder:
    f = rnd.funder
    return Funder(str(f["identifier"]), str(f["name"]), str(f.get("department", "")),
                  str(f.get("website", "")), str(f.get("prefix", "360G-vru")))


def _person(by: Principal) -> str:
    return by.username or "unknown"


# --------------------------------------------------------------------------- catalogue


def reference_catalogue() -> list[cat.Intervention]:
    """The catalogue shipped with vru (``vru/reference/intervention_catalogue.toml``)."""
    text = resources.files("vru").joinpath("reference", CATALOGUE_FILE).read_text("utf-8")
    return cat.parse_catalogue(tomllib.loads(text))


def _entry(e: InterventionEntry) -> cat.Intervention:
    return cat.Intervention(e.key, e.name, e.description, cat.ImpactRating(e.impact),
                            e.evidence_quality, e.source, e.source_url, e.checked, e.note)


def ensure_catalogue(svc: RecordsService, by: Principal) -> int:
    """Seed the catalogue from the shipped file when the database has none (audited);
    returns how many entries were added (0 when it already had some)."""
    with svc.records.reading() as s:
        if s.scalar(select(InterventionEntry.id).limit(1)) is not None:
            return 0
    entries = reference_catalogue()
    now = svc.now()
    try:
        with svc.writing(by, "intervention.seed") as s:
            if s.scalar(select(InterventionEntry.id).limit(1)) is not None:
                return 0
            for e in entries:
                s.add(InterventionEntry(key=e.key, name=e.name, description=e.description,
                                        impact=e.impact.value,
                                        evidence_quality=e.evidence_quality, source=e.source,
                                        source_url=e.source_url, checked=e.checked,
                                        note=e.note, updated_at=now))
    except IntegrityError:
        return 0
    return len(entries)


def catalogue(svc: RecordsService) -> list[cat.Intervention]:
    """The intervention catalogue (public: the ratings are published with the criteria)."""
    with svc.records.reading() as s:
        rows = s.scalars(select(InterventionEntry).order_by(InterventionEntry.name)).all()
    return [_entry(e) for e in rows] or reference_catalogue()


def save_intervention(svc: RecordsService, by: Principal, data: Mapping[str, Any]
                      ) -> cat.Intervention:
    """Add an approach, or change one (by its key); the ratings are checked again."""
    by.require(P.COMMISSIONING_MANAGE)
    ensure_catalogue(svc, by)
    key = str(data.get("key", "")).strip()
    with svc.writing(by, "intervention.save") as s:
        row = s.scalar(select(InterventionEntry).where(InterventionEntry.key == key))
        try:
            entry = cat.edited(_entry(row), data) if row is not None \
                else cat.parse_intervention(data)
        except cat.CatalogueError as exc:
            raise UserError(str(exc)) from None
        if row is None:
            row = InterventionEntry(key=entry.key, updated_at=svc.now())
            s.add(row)
        row.name, row.description = entry.name, entry.description
        row.impact, row.evidence_quality = entry.impact.value, entry.evidence_quality
        row.source, row.source_url = entry.source, entry.source_url
        row.checked, row.note = entry.checked, entry.note
        row.updated_at = svc.now()
    return entry


# --------------------------------------------------------------------------- rounds


@dataclass(frozen=True)
class RoundSpec:
    """What a commissioning manager sets when creating a round."""

    reference: str
    title: str
    fund_name: str
    description: str
    level: AwardLevel
    terms: RoundTerms
    funder: Funder
    criteria: tuple[Criterion, ...] = DEFAULT_CRITERIA
    opens_on: date | None = None
    closes_on: date | None = None
    decision_on: date | None = None
    synthetic: bool = False


def decision_summary(record: Mapping[str, Any], path: str | None = None) -> dict[str, Any]:
    """What a round keeps of its decision record: enough to find it and check it."""
    rule = record.get("rule", {})
    params = record.get("parameters", {})
    return {"rule": rule.get("name"), "rule_title": rule.get("title"),
            "rule_version": rule.get("version"),
            "rule_description": rule.get("description"),
            "record_sha256": record.get("record_sha256"),
            "decided_at": record.get("decided_at"), "area": params.get("area"),
            "to": params.get("to"), "months": params.get("months"),
            "measure": params.get("measure"), "geography": params.get("geography"),
            "boundaries": params.get("boundaries"), "path": path}


def places_from_decision(record: Mapping[str, Any], level: AwardLevel, *,
                         floors: Mapping[str, int] | None = None,
                         caps: Mapping[str, int | None] | None = None,
                         default_floor: int = 0, default_cap: int | None = None
                         ) -> list[PlaceTerms]:
    """The eligible places of a round at ``level`` from a priority-places decision record:
    the places it picked as rising (ward or borough level), or its multi-borough clusters of
    rising places (multi-borough level, one place per cluster spanning two or more
    boroughs). Floors and caps by place code, else the defaults."""
    geography = record.get("parameters", {}).get("geography")
    if geography != DECISION_GEOGRAPHY[level] and not (
            level is AwardLevel.MULTI_BOROUGH and geography == "ward"):
        raise RoundError(f"a {LEVEL_LABELS[level]}-level round needs a decision about "
                         f"{DECISION_GEOGRAPHY[level]}s; this one is about {geography}s")
    rising = record.get("result", {}).get("rising", [])
    floors = floors or {}
    caps = caps or {}

    def limits(code: str) -> tuple[int, int | None]:
        return int(floors.get(code, default_floor)), caps.get(code, default_cap)

    out: list[PlaceTerms] = []
    if level is not AwardLevel.MULTI_BOROUGH:
        for r in rising:
            code = str(r["area_code"])
            floor, cap = limits(code)
            out.append(PlaceTerms(code, str(r["area_name"]),
                                  (GeoCode(code, str(r["area_name"]), geo_code_type(code)),),
                                  r.get("count"), r.get("population"), floor, cap,
                                  str(r.get("explanation") or ""),
                                  str(r.get("parent_name") or "")))
        return out
    by_code = {str(r["area_code"]): r for r in rising}
    for c in record.get("result", {}).get("clusters", []):
        if c.get("direction") != "rising" or not c.get("multi_borough"):
            continue
        members = [by_code[m] for m in c["members"] if m in by_code]
        parents = list(zip(c["parents"], c["parent_names"], strict=True))
        code = str(c["cluster_id"])
        floor, cap = limits(code)
        names = [n for _, n in parents]
        name = ", ".join(names[:-1]) + " and " + names[-1]
        count = sum(float(m.get("count") or 0) for m in members)
        population = sum(float(m.get("population") or 0) for m in members)
        out.append(PlaceTerms(code, name, tuple(GeoCode(pc, pn, geo_code_type(pc))
                                                for pc, pn in parents),
                              count, population, floor, cap,
                              f"{len(members)} neighbouring places picked as rising, across "
                              f"{len(parents)} boroughs.", ""))
    return out


def create_round(svc: RecordsService, by: Principal, spec: RoundSpec,
                 places: Sequence[PlaceTerms], decision: Mapping[str, Any],
                 outlines: Mapping[str, Any] | None = None,
                 background: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Create a round in draft with its criteria and places (need points computed from
    the places' rates: 4 x rate / highest rate)."""
    by.require(P.COMMISSIONING_MANAGE)
    try:
        reference = check_reference(spec.reference)
        criteria = check_criteria(spec.criteria)
        check_plan(RoundPlan(spec.level, spec.terms, tuple(places)))
    except (RoundError, CriteriaError) as exc:
        raise UserError(str(exc)) from None
    if not spec.title.strip():
        raise UserError("A round needs a title.")
    if not spec.funder.prefix.startswith("360G-"):
        raise UserError("The publisher prefix must start with 360G- (the prefix 360Giving "
                        "gives a publisher).")
    if spec.opens_on and spec.closes_on and spec.closes_on < spec.opens_on:
        raise UserError("The round cannot close before it opens.")
    ensure_catalogue(svc, by)
    rates = [p.rate_per_100k or 0.0 for p in places]
    highest = max(rates) if rates else 0.0
    now = svc.now()
    decision_data = dict(decision)
    if background is not None:
        decision_data["map_background"] = background
    try:
        with svc.writing(by, "funding_round.create") as s:
            if s.scalar(select(FundingRound.id).where(FundingRound.reference == reference)):
                raise UserError(f"There is already a round called {reference!r}.")
            rnd = FundingRound(
                reference=reference, title=spec.title.strip(), fund_name=spec.fund_name.strip(),
                description=spec.description.strip(), level=spec.level.value,
                status=RoundStatus.DRAFT.value, budget=spec.terms.budget,
                min_award=spec.terms.min_award, max_award=spec.terms.max_award,
                quality_threshold=spec.terms.quality_threshold,
                criterion_gap=spec.terms.criterion_gap, total_gap=spec.terms.total_gap,
                min_assessors=spec.terms.min_assessors,
                partial_awards=spec.terms.partial_awards, opens_on=spec.opens_on,
                closes_on=spec.closes_on, decision_on=spec.decision_on,
                criteria=[c.as_dict() for c in criteria], decision=decision_data,
                funder=asdict(spec.funder), synthetic=spec.synthetic, allocation=None,
                allocation_sha256=None, allocated_at=None, published_package=None,
                published_at=None, created_at=now, updated_at=now)
            s.add(rnd)
            s.flush()
            for p, rate in zip(places, rates, strict=True):
                s.add(RoundPlace(
                    round_id=rnd.id, code=p.code, name=p.name, parent_name=p.parent_name,
                    areas=[{"code": a.code, "name": a.name, "type": a.code_type}
                           for a in p.areas],
                    count=p.count, population=p.population,
                    need_points=need_points(rate, highest), floor=p.floor, cap=p.cap,
                    explanation=p.explanation,
                    geometry=(outlines or {}).get(p.code)))
    except IntegrityError:
        raise UserError(f"There is already a round called {reference!r}.") from None
    return get_round(svc, by, reference)


def move_round(svc: RecordsService, by: Principal, reference: str, to: str
               ) -> dict[str, Any]:
    """Open a draft round, close an open one for assessment, or send an allocated round
    back to assessment (allocation and publication have their own use cases)."""
    by.require(P.COMMISSIONING_MANAGE)
    try:
        target = RoundStatus(to)
    except ValueError:
        raise UserError(f"{to!r} is not a stage; stages are "
                        f"{', '.join(s.value for s in RoundStatus)}") from None
    if target in (RoundStatus.ALLOCATED, RoundStatus.PUBLISHED):
        raise UserError(f"Use {'allocate' if target is RoundStatus.ALLOCATED else 'publish'}"
                        " to move a round there.")
    with svc.writing(by, f"funding_round.{target.value}") as s:
        rnd = _round(s, reference)
        try:
            rnd.status = advance(_status(rnd), target).value
        except RoundError as exc:
            raise UserError(str(exc)) from None
        if target is RoundStatus.ASSESSING:
            for award in s.scalars(select(Award).where(Award.round_id == rnd.id)):
                s.delete(award)
            rnd.allocation = None
            rnd.allocation_sha256 = None
            rnd.allocated_at = None
        rnd.updated_at = svc.now()
    return get_round(svc, by, reference)


def _round_view(rnd: FundingRound, places: Sequence[RoundPlace]) -> dict[str, Any]:
    decision = {k: v for k, v in rnd.decision.items() if k != "map_background"}
    return {
        "reference": rnd.reference, "title": rnd.title, "fund_name": rnd.fund_name,
        "description": rnd.description, "level": rnd.level,
        "level_label": LEVEL_LABELS[AwardLevel(rnd.level)], "status": rnd.status,
        "status_label": STATUS_LABELS[_status(rnd)], "budget": rnd.budget,
        "min_award": rnd.min_award, "max_award": rnd.max_award,
        "quality_threshold": rnd.quality_threshold, "criterion_gap": rnd.criterion_gap,
        "total_gap": rnd.total_gap, "min_assessors": rnd.min_assessors,
        "partial_awards": rnd.partial_awards, "opens_on": rnd.opens_on,
        "closes_on": rnd.closes_on, "decision_on": rnd.decision_on,
        "criteria": rnd.criteria, "decision": decision, "funder": rnd.funder,
        "synthetic": rnd.synthetic, "allocation_sha256": rnd.allocation_sha256,
        "allocated_at": rnd.allocated_at, "published_at": rnd.published_at,
        "places": [{"code": p.code, "name": p.name, "parent_name": p.parent_name,
                    "areas": p.areas, "count": p.count, "population": p.population,
                    "rate_per_100k": _place_terms(p).rate_per_100k,
                    "need_points": p.need_points, "floor": p.floor, "cap": p.cap,
                    "explanation": p.explanation} for p in places],
    }


def get_round(svc: RecordsService, by: Principal, reference: str) -> dict[str, Any]:
    by.require(P.COMMISSIONING_ASSESS)
    with svc.records.reading() as s:
        rnd = _round(s, reference)
        return _round_view(rnd, _places(s, rnd))


def list_rounds(svc: RecordsService, by: Principal) -> list[dict[str, Any]]:
    by.require(P.COMMISSIONING_ASSESS)
    with svc.records.reading() as s:
        rows = s.scalars(select(FundingRound).order_by(FundingRound.created_at.desc(),
                                                       FundingRound.id.desc())).all()
        counts: dict[int, int] = {}
        for rid in s.scalars(select(Application.round_id)):
            counts[rid] = counts.get(rid, 0) + 1
    return [{"reference": r.reference, "title": r.title, "status": r.status,
             "status_label": STATUS_LABELS[_status(r)], "level": r.level,
             "budget": r.budget, "applications": counts.get(r.id, 0),
             "synthetic": r.synthetic, "published_at": r.published_at} for r in rows]


# --------------------------------------------------------------------------- applications


def _catalogue_map(s: Session) -> dict[str, cat.Intervention]:
    rows = s.scalars(select(InterventionEntry)).all()
    entries = [_entry(e) for e in rows] or reference_catalogue()
    return {e.key: e for e in entries}


def _context(rnd: FundingRound, places: Sequence[RoundPlace],
             catalogue_map: Mapping[str, cat.Intervention]) -> RoundContext:
    return RoundContext(_terms(rnd), {p.code: _place_terms(p) for p in places},
                        catalogue_map, rnd.decision_on)


def _facts(app: Application) -> ApplicationFacts:
    return ApplicationFacts(app.reference, app.organisation_name, app.charity_number,
                            app.company_number, app.place_code, app.intervention_key,
                            app.amount_requested, app.minimum_amount, app.duration_months,
                            app.start_date)


def _resolve(value: str, options: Mapping[str, str]) -> str:
    """A code given as itself or by its name (case-insensitive); else as given."""
    text = value.strip()
    if text in options:
        return text
    lowered = {name.lower(): code for code, name in options.items()}
    return lowered.get(text.lower(), text)


def _new_application(rnd: FundingRound, data: ApplicationInput, reference: str,
                     places: Sequence[RoundPlace], catalogue_map: Mapping[str, cat.Intervention],
                     entered_by: str, now: datetime) -> Application:
    place = _resolve(data.place, {p.code: p.name for p in places})
    intervention = _resolve(data.intervention, {k: e.name for k, e in catalogue_map.items()})
    org_id = organisation_identifier(data.organisation_name, data.charity_number,
                                     data.company_number, _funder(rnd).prefix)
    app = Application(
        round_id=rnd.id, reference=reference, organisation_name=data.organisation_name,
        organisation_id=org_id, charity_number=data.charity_number,
        company_number=data.company_number, postcode=data.postcode, title=data.title,
        summary=data.summary, place_code=place, intervention_key=intervention,
        amount_requested=data.amount_requested, minimum_amount=data.minimum_amount,
        duration_months=data.duration_months, start_date=data.start_date, status="received",
        eligibility=[], entered_by=entered_by, created_at=now, updated_at=now)
    result = check_eligibility(_facts(app), _context(rnd, places, catalogue_map))
    app.status = "eligible" if result.eligible else "not eligible"
    app.eligibility = result.as_list()
    return app


def add_application(svc: RecordsService, by: Principal, reference: str,
                    values: Mapping[str, str]) -> dict[str, Any]:
    """Enter one application (from the web form or the API) into an open round. Badly
    formed values raise ``InputError`` (each located by field); an application that breaks
    the round's rules is stored as not eligible, with the reasons."""
    by.require(P.COMMISSIONING_MANAGE)
    data, problems = parse_row(values, file="application", row=None)
    if problems or data is None:
        raise InputError(problems)
    with svc.writing(by, "application.create") as s:
        rnd = _round(s, reference)
        _require_status(rnd, RoundStatus.OPEN, doing="add applications")
        existing = list(s.scalars(select(Application.reference)
                                  .where(Application.round_id == rnd.id)))
        ref = data.reference or next_reference(existing)[0]
        if ref.lower() in {r.lower() for r in existing}:
            raise InputError([Problem("application", None, "reference", ref,
                                      "is already used in this round",
                                      "Give another reference or leave it empty")])
        app = _new_application(rnd, data, ref, _places(s, rnd), _catalogue_map(s),
                               _person(by), svc.now())
        s.add(app)
        s.flush()
        return _application_view(app, [], None, _criteria(rnd), full=True)


@dataclass(frozen=True)
class ImportResult:
    file: str
    imported: int
    eligible: int
    not_eligible: int
    references: tuple[str, ...] = ()


def import_applications(svc: RecordsService, by: Principal, reference: str, path: Path
                        ) -> ImportResult:
    """Import applications from a CSV or Excel file: every row checked, and the file taken
    whole or not at all (``InputError`` lists every problem with its row and column)."""
    by.require(P.COMMISSIONING_MANAGE)
    app_file = read_applications_file(path)
    with svc.records.reading() as s:
        rnd = _round(s, reference)
        _require_status(rnd, RoundStatus.OPEN, doing="import applications")
        existing = list(s.scalars(select(Application.reference)
                                  .where(Application.round_id == rnd.id)))
    parsed, problems = parse_rows(app_file.name, app_file.rows, existing)
    if problems:
        raise InputError(problems[:50], total=len(problems))
    fresh = iter(next_reference(existing + [a.reference for a in parsed if a.reference],
                                sum(1 for a in parsed if not a.reference)))
    made: list[Application] = []
    try:
        with svc.writing(by, "application.import") as s:
            rnd = _round(s, reference)
            _require_status(rnd, RoundStatus.OPEN, doing="import applications")
            places = _places(s, rnd)
            catalogue_map = _catalogue_map(s)
            now = svc.now()
            for data in parsed:
                app = _new_application(rnd, data, data.reference or next(fresh), places,
                                       catalogue_map, _person(by), now)
                s.add(app)
                made.append(app)
            svc.records.record(s, "application.import", "file", app_file.name,
                               {"round": rnd.reference, "applications": len(made)})
    except IntegrityError:
        raise UserError("Another change added applications with some of these references "
                        "at the same time; nothing was imported. Try again.") from None
    eligible = sum(a.status == "eligible" for a in made)
    return ImportResult(app_file.name, len(made), eligible, len(made) - eligible,
                        tuple(a.reference for a in made))


def _application_view(app: Application, scores: Sequence[AssessorScoreRow],
                      moderation: Moderation | None, criteria: Sequence[Criterion], *,
                      full: bool, viewer: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "reference": app.reference, "organisation_name": app.organisation_name,
        "organisation_id": app.organisation_id, "charity_number": app.charity_number,
        "company_number": app.company_number, "postcode": app.postcode,
        "title": app.title, "summary": app.summary, "place_code": app.place_code,
        "intervention_key": app.intervention_key, "amount_requested": app.amount_requested,
        "minimum_amount": app.minimum_amount, "duration_months": app.duration_months,
        "start_date": app.start_date, "status": app.status, "eligibility": app.eligibility,
    }
    visible = scores if full else [s for s in scores if s.assessor == viewer]
    out["scores"] = [{"assessor": s.assessor, "points": s.points, "comment": s.comment,
                      "scored_at": s.scored_at} for s in visible]
    out["scored_by"] = len(scores)
    if full:
        out["entered_by"] = app.entered_by
        out["moderation"] = None if moderation is None else {
            "moderator": moderation.moderator, "points": moderation.points,
            "reason": moderation.reason, "moderated_at": moderation.moderated_at}
    return out


def list_applications(svc: RecordsService, by: Principal, reference: str
                      ) -> list[dict[str, Any]]:
    """The round's applications. Assessors see their own scores; roles that may read the
    round see every score and moderation."""
    by.require(P.COMMISSIONING_ASSESS)
    full = by.can(P.COMMISSIONING_READ)
    with svc.records.reading() as s:
        rnd = _round(s, reference)
        apps = s.scalars(select(Application).where(Application.round_id == rnd.id)
                         .order_by(Application.reference)).all()
        scores, mods = _scores_and_moderations(s, [a.id for a in apps])
        criteria = _criteria(rnd)
        return [_application_view(a, scores.get(a.id, []), mods.get(a.id), criteria,
                                  full=full, viewer=by.username) for a in apps]


def get_application(svc: RecordsService, by: Principal, reference: str,
                    application: str) -> dict[str, Any]:
    by.require(P.COMMISSIONING_ASSESS)
    full = by.can(P.COMMISSIONING_READ)
    with svc.records.reading() as s:
        rnd = _round(s, reference)
        app = _application(s, rnd, application)
        scores, mods = _scores_and_moderations(s, [app.id])
        view = _application_view(app, scores.get(app.id, []), mods.get(app.id),
                                 _criteria(rnd), full=full, viewer=by.username)
        declarations = _declarations(s, rnd)
        view["conflicts"] = conflicts(_person(by), _parties(app, scores.get(app.id, [])),
                                      declarations)
        return view


def _scores_and_moderations(s: Session, app_ids: Sequence[int]
                            ) -> tuple[dict[int, list[AssessorScoreRow]], dict[int, Moderation]]:
    scores: dict[int, list[AssessorScoreRow]] = {}
    mods: dict[int, Moderation] = {}
    if not app_ids:
        return scores, mods
    for row in s.scalars(select(AssessorScoreRow)
                         .where(AssessorScoreRow.application_id.in_(app_ids))
                         .order_by(AssessorScoreRow.scored_at, AssessorScoreRow.id)):
        scores.setdefault(row.application_id, []).append(row)
    for m in s.scalars(select(Moderation).where(Moderation.application_id.in_(app_ids))):
        mods[m.application_id] = m
    return scores, mods


# --------------------------------------------------------------------------- conflicts, scores


def _declarations(s: Session, rnd: FundingRound) -> list[Declaration]:
    refs = dict(s.execute(select(Application.id, Application.reference)
                          .where(Application.round_id == rnd.id)).all())
    return [Declaration(c.person, refs.get(c.application_id) if c.application_id else None,
                        c.organisation_id, c.nature)
            for c in s.scalars(select(ConflictOfInterest)
                               .where(ConflictOfInterest.round_id == rnd.id))]


def _parties(app: Application, scores: Sequence[AssessorScoreRow]) -> ApplicationParties:
    return ApplicationParties(app.reference, app.organisation_id, app.entered_by,
                              tuple(s.assessor for s in scores))


def declare_conflict(svc: RecordsService, by: Principal, reference: str, nature: str, *,
                     application: str | None = None, organisation_id: str | None = None,
                     person: str | None = None) -> dict[str, Any]:
    """Declare a conflict of interest with an application or an organisation. From then
    on the person may not score or moderate it. (The command line may declare for a named
    person.)"""
    by.require(P.COMMISSIONING_ASSESS)
    who = person if (person and by.system) else _person(by)
    if not nature.strip():
        raise UserError("Say what the conflict is (for example: I am a trustee).")
    if (application is None) == (organisation_id is None):
        raise UserError("Declare a conflict with one application or one organisation.")
    with svc.writing(by, "conflict_of_interest.declare") as s:
        rnd = _round(s, reference)
        app_id = None
        if application is not None:
            app_id = _application(s, rnd, application).id
        row = ConflictOfInterest(round_id=rnd.id, person=who, application_id=app_id,
                                 organisation_id=organisation_id, nature=nature.strip(),
                                 declared_at=svc.now())
        s.add(row)
    return {"person": who, "application": application, "organisation_id": organisation_id,
            "nature": nature.strip()}


def score_application(svc: RecordsService, by: Principal, reference: str, application: str,
                      points: Mapping[str, Any], comment: str = "", *,
                      assessor: str | None = None) -> dict[str, Any]:
    """Record (or change) an assessor's rubric points for an application while the round
    is being assessed. Refused, with every reason, to anyone with a conflict. (The command
    line records scores for a named assessor, e.g. from a panel's score sheet.)"""
    by.require(P.COMMISSIONING_ASSESS)
    who = assessor if (assessor and by.system) else _person(by)
    with svc.writing(by, "assessor_score.save") as s:
        rnd = _round(s, reference)
        app = _application(s, rnd, application)
        _require_status(rnd, RoundStatus.ASSESSING, doing="score applications")
        if app.status != "eligible":
            raise UserError(f"Application {app.reference} is not eligible, so it is not "
                            "scored.")
        try:
            checked = check_scores(points, _criteria(rnd))
        except (ValueError, CriteriaError) as exc:
            raise UserError(str(exc)) from None
        existing = list(s.scalars(select(AssessorScoreRow)
                                  .where(AssessorScoreRow.application_id == app.id)))
        others = [r for r in existing if r.assessor != who]
        reasons = conflicts(who, _parties(app, others), _declarations(s, rnd))
        if reasons:
            raise UserError(f"You may not score {app.reference}: " + "; ".join(reasons) + ".")
        if s.scalar(select(Moderation.id).where(Moderation.application_id == app.id)):
            raise UserError(f"{app.reference} has been moderated; its scores are settled.")
        mine = next((r for r in existing if r.assessor == who), None)
        if mine is None:
            mine = AssessorScoreRow(application_id=app.id, assessor=who,
                                    assessor_user_id=by.user_id, points=checked,
                                    comment=comment.strip(), scored_at=svc.now())
            s.add(mine)
        else:
            mine.points = checked
            mine.comment = comment.strip()
            mine.scored_at = svc.now()
    return {"application": application, "assessor": who, "points": checked}


SCORE_FILE_COLUMNS = ("application", "assessor")


def import_scores(svc: RecordsService, by: Principal, reference: str, path: Path) -> int:
    """Import a panel's score sheet (CSV or Excel): columns ``application``, ``assessor``,
    one column per criterion assessors score (0 to 4 points) and optionally ``comment``.
    Every row is checked (application known and eligible, points valid, no conflict, no
    assessor twice for one application) and the file is taken whole or not at all. Only
    the command line may record scores for named assessors."""
    by.require(P.COMMISSIONING_MANAGE)
    from vru.adapters.records.casefile import read_case_file

    with svc.records.reading() as s:
        rnd = _round(s, reference)
        criteria = _criteria(rnd)
    keys = [c.key for c in criteria if c.source is CriterionSource.ASSESSORS]
    sheet = read_case_file(path, [*SCORE_FILE_COLUMNS, *keys], ["comment"])
    problems: list[Problem] = []
    with svc.writing(by, "assessor_score.import") as s:
        rnd = _round(s, reference)
        _require_status(rnd, RoundStatus.ASSESSING, doing="score applications")
        apps = {a.reference: a for a in s.scalars(select(Application)
                                                  .where(Application.round_id == rnd.id))}
        scores, mods = _scores_and_moderations(s, [a.id for a in apps.values()])
        declarations = _declarations(s, rnd)
        seen: set[tuple[str, str]] = set()
        written = 0
        for number, values in sheet.rows:
            def bad(column: str | None, message: str, action: str,
                    number: int = number, values: Mapping[str, str] = values) -> None:
                problems.append(Problem(sheet.name, number, column,
                                        values.get(column or "", None) if column else None,
                                        message, action))

            ref, who = values.get("application", "").strip(), values.get("assessor", "").strip()
            app = apps.get(ref)
            if app is None:
                bad("application", "is not an application in this round", "Check the reference")
                continue
            if app.status != "eligible":
                bad("application", "is not eligible, so it is not scored", "Remove the row")
                continue
            if not who:
                bad("assessor", "is empty", "Name the assessor")
                continue
            if (ref, who) in seen:
                bad("assessor", "scores this application twice in the file", "Keep one row")
            seen.add((ref, who))
            if app.id in mods:
                bad("application", "has been moderated; its scores are settled",
                    "Remove the row")
            raw: dict[str, object] = {}
            for k in keys:
                text = values.get(k, "").strip()
                raw[k] = int(text) if text.isdigit() else text
            try:
                checked = check_scores(raw, criteria)
            except (ValueError, CriteriaError) as exc:
                bad(None, str(exc), "Give each criterion a whole number of points, 0 to 4")
                continue
            others = [r for r in scores.get(app.id, []) if r.assessor != who]
            reasons = conflicts(who, _parties(app, others), declarations)
            if reasons:
                bad("assessor", "may not score it: " + "; ".join(reasons),
                    "Have another assessor score it")
                continue
            if problems:
                continue
            mine = next((r for r in scores.get(app.id, []) if r.assessor == who), None)
            if mine is None:
                mine = AssessorScoreRow(application_id=app.id, assessor=who,
                                        assessor_user_id=None, points=checked,
                                        comment=values.get("comment", "").strip(),
                                        scored_at=svc.now())
                s.add(mine)
                scores.setdefault(app.id, []).append(mine)
            else:
                mine.points, mine.scored_at = checked, svc.now()
                mine.comment = values.get("comment", "").strip()
            written += 1
        if problems:
            raise InputError(problems[:50], total=len(problems))
        svc.records.record(s, "assessor_score.import", "file", sheet.name,
                           {"round": rnd.reference, "scores": written})
    return written


def _state(rnd: FundingRound, scores: Sequence[AssessorScoreRow], mod: Moderation | None,
           criteria: Sequence[Criterion]) -> Any:
    return outcome([AssessorScore(r.assessor, r.points) for r in scores],
                   None if mod is None else mod.points, criteria,
                   min_assessors=rnd.min_assessors, criterion_gap=rnd.criterion_gap,
                   total_gap=rnd.total_gap)


def scoring_status(svc: RecordsService, by: Principal, reference: str
                   ) -> list[dict[str, Any]]:
    """Each eligible application's scoring state: awaiting scores, needs moderation (with
    why), moderated or agreed."""
    by.require(P.COMMISSIONING_READ)
    with svc.records.reading() as s:
        rnd = _round(s, reference)
        criteria = _criteria(rnd)
        apps = s.scalars(select(Application).where(Application.round_id == rnd.id)
                         .where(Application.status == "eligible")
                         .order_by(Application.reference)).all()
        scores, mods = _scores_and_moderations(s, [a.id for a in apps])
        out = []
        for a in apps:
            o = _state(rnd, scores.get(a.id, []), mods.get(a.id), criteria)
            out.append({"reference": a.reference, "title": a.title,
                        "organisation_name": a.organisation_name, "state": o.state.value,
                        "reasons": list(o.reasons), "assessors": list(o.assessors),
                        "points": o.points,
                        "scores": [{"assessor": r.assessor, "points": r.points}
                                   for r in scores.get(a.id, [])]})
        return out


def moderate(svc: RecordsService, by: Principal, reference: str, application: str,
             points: Mapping[str, Any], reason: str, *, moderator: str | None = None
             ) -> dict[str, Any]:
    """Settle the points of an application whose assessors' scores differ by more than the
    round allows. The moderator must not have scored it or have a conflict."""
    by.require(P.COMMISSIONING_MANAGE)
    who = moderator if (moderator and by.system) else _person(by)
    if not reason.strip():
        raise UserError("Give the reason for the moderated scores.")
    with svc.writing(by, "moderation.save") as s:
        rnd = _round(s, reference)
        app = _application(s, rnd, application)
        _require_status(rnd, RoundStatus.ASSESSING, doing="moderate scores")
        criteria = _criteria(rnd)
        try:
            checked = check_scores(points, criteria)
        except (ValueError, CriteriaError) as exc:
            raise UserError(str(exc)) from None
        scores = list(s.scalars(select(AssessorScoreRow)
                                .where(AssessorScoreRow.application_id == app.id)))
        current = s.scalar(select(Moderation).where(Moderation.application_id == app.id))
        state = _state(rnd, scores, None, criteria)
        if current is None and state.state is not ScoreState.MODERATION:
            raise UserError(f"{app.reference} does not need moderation "
                            f"({state.state.value}).")
        reasons = conflicts(who, _parties(app, scores), _declarations(s, rnd),
                            moderating=True)
        if reasons:
            raise UserError(f"You may not moderate {app.reference}: " + "; ".join(reasons)
                            + ".")
        if current is None:
            current = Moderation(application_id=app.id, moderator=who, points=checked,
                                 reason=reason.strip(), moderated_at=svc.now())
            s.add(current)
        else:
            current.moderator, current.points = who, checked
            current.reason, current.moderated_at = reason.strip(), svc.now()
    return {"application": application, "moderator": who, "points": checked,
            "because": list(state.reasons)}


def agreement(svc: RecordsService, by: Principal, reference: str) -> list[dict[str, Any]]:
    """How well first and second assessors agree, per criterion (see ``scoring``)."""
    by.require(P.COMMISSIONING_READ)
    with svc.records.reading() as s:
        rnd = _round(s, reference)
        ids = list(s.scalars(select(Application.id).where(Application.round_id == rnd.id)))
        scores, _mods = _scores_and_moderations(s, ids)
        pairs = [(rows[0].points, rows[1].points) for rows in scores.values()
                 if len(rows) >= 2]
        return [asdict(a) for a in agreement_by_criterion(pairs, _criteria(rnd))]


# --------------------------------------------------------------------------- allocation


@dataclass
class RoundInputs:
    """Everything the allocation of a round depends on, read from the database."""

    round: FundingRound
    places: list[RoundPlace]
    applications: list[Application]
    candidates: list[alloc.Candidate]
    limits: list[alloc.PlaceLimit]
    rules: alloc.AllocationRules
    points: dict[str, dict[str, float]]
    blocked: list[str] = field(default_factory=list)

    def fingerprint(self) -> dict[str, Any]:
        return {"version": ALLOCATION_VERSION,
                "rules": asdict(self.rules),
                "criteria": self.round.criteria,
                "places": [asdict(p) for p in self.limits],
                "candidates": [asdict(c) for c in self.candidates]}


def _inputs(s: Session, rnd: FundingRound) -> RoundInputs:
    criteria = _criteria(rnd)
    places = _places(s, rnd)
    by_code = {p.code: p for p in places}
    catalogue_map = _catalogue_map(s)
    ctx = _context(rnd, places, catalogue_map)
    apps = list(s.scalars(select(Application).where(Application.round_id == rnd.id)
                          .order_by(Application.reference)))
    scores, mods = _scores_and_moderations(s, [a.id for a in apps])
    candidates: list[alloc.Candidate] = []
    points: dict[str, dict[str, float]] = {}
    blocked: list[str] = []
    for a in apps:
        place = by_code.get(a.place_code)
        need = place.need_points if place is not None else 0.0
        result = check_eligibility(_facts(a), ctx)
        if not result.eligible:
            candidates.append(alloc.Candidate(
                a.reference, a.place_code, None, need, a.amount_requested,
                min(a.minimum_amount, a.amount_requested),
                "it is not eligible: " + "; ".join(f.message for f in result.findings),
                alloc.Reason.INELIGIBLE.value))
            continue
        o = _state(rnd, scores.get(a.id, []), mods.get(a.id), criteria)
        if o.points is None:
            blocked.append(f"{a.reference}: {o.state.value} ({'; '.join(o.reasons)})")
            candidates.append(alloc.Candidate(
                a.reference, a.place_code, None, need, a.amount_requested,
                a.minimum_amount, f"it was not fully scored ({o.state.value})",
                alloc.Reason.NOT_SCORED.value))
            continue
        evidence = catalogue_map[a.intervention_key].evidence_points
        full = full_points(o.points, criteria, need=need, evidence=float(evidence))
        points[a.reference] = full
        candidates.append(alloc.Candidate(a.reference, a.place_code,
                                          weighted_score(full, criteria), need,
                                          a.amount_requested, a.minimum_amount))
    limits = [alloc.PlaceLimit(p.code, p.name, p.floor, p.cap) for p in places]
    rules = alloc.AllocationRules(rnd.budget, rnd.quality_threshold, rnd.partial_awards)
    return RoundInputs(rnd, places, apps, candidates, limits, rules, points, blocked)


def _allocation_record(inputs: RoundInputs, result: alloc.Allocation) -> dict[str, Any]:
    criteria = _criteria(inputs.round)
    out = result.as_dict()
    for d in out["decisions"]:
        pts = inputs.points.get(d["reference"])
        d["points"] = pts
        d["contributions"] = None if pts is None else contributions(pts, criteria)
    record: dict[str, Any] = {"inputs": inputs.fingerprint(), "result": out}
    record["inputs_sha256"] = sha256_of(record["inputs"])
    record["result_sha256"] = sha256_of(out)
    return _canonical(record)  # type: ignore[no-any-return]


def allocate(svc: RecordsService, by: Principal, reference: str) -> dict[str, Any]:
    """Run the allocation (``domain.commissioning.allocation``) and store the awards. Only
    when every eligible application is fully scored (and moderated where needed). Running
    it again on the same inputs gives the same awards and the same hashes."""
    by.require(P.COMMISSIONING_MANAGE)
    with svc.writing(by, "funding_round.allocate") as s:
        rnd = _round(s, reference)
        _require_status(rnd, RoundStatus.ASSESSING, RoundStatus.ALLOCATED,
                        doing="allocate")
        inputs = _inputs(s, rnd)
        if inputs.blocked:
            raise UserError("Every eligible application must be scored (and moderated where "
                            "scores differ) before allocation. Still to do: "
                            + "; ".join(inputs.blocked[:10])
                            + ("" if len(inputs.blocked) <= 10 else
                               f"; and {len(inputs.blocked) - 10} more"))
        result = alloc.allocate(inputs.candidates, inputs.limits, inputs.rules)
        record = _allocation_record(inputs, result)
        now = svc.now()
        old = {a.application_id: a for a in s.scalars(select(Award)
                                                      .where(Award.round_id == rnd.id))}
        app_ids = {a.reference: a.id for a in inputs.applications}
        funder = _funder(rnd)
        keep: set[int] = set()
        for d in result.decisions:
            if d.award <= 0:
                continue
            app_id = app_ids[d.reference]
            keep.add(app_id)
            award = old.get(app_id)
            if award is None:
                s.add(Award(round_id=rnd.id, application_id=app_id,
                            grant_id=grant_id(funder.prefix, rnd.reference, d.reference),
                            amount=d.award, status="offered", reason=d.reason,
                            agreement_signed_on=None, agreement_reference=None,
                            created_at=now, updated_at=now))
            elif award.amount != d.award or award.reason != d.reason:
                award.amount, award.reason, award.updated_at = d.award, d.reason, now
        for app_id, award in old.items():
            if app_id not in keep:
                s.delete(award)
        rnd.allocation = record
        rnd.allocation_sha256 = str(record["result_sha256"])
        rnd.allocated_at = now
        rnd.status = RoundStatus.ALLOCATED.value
        rnd.updated_at = now
        return {"reference": rnd.reference, "budget": result.budget,
                "awarded": result.awarded, "remaining": result.remaining,
                "funded": len(result.funded()), "decisions": record["result"]["decisions"],
                "floor_shortfalls": result.floor_shortfalls,
                "inputs_sha256": record["inputs_sha256"],
                "result_sha256": record["result_sha256"], "method": result.method}


def verify_allocation(svc: RecordsService, by: Principal, reference: str) -> dict[str, Any]:
    """Re-run the stored allocation's inputs from the database and check the same awards
    come out (same hashes)."""
    by.require(P.COMMISSIONING_READ)
    with svc.records.reading() as s:
        rnd = _round(s, reference)
        if rnd.allocation is None:
            raise UserError(f"Round {rnd.reference} has not been allocated.")
        inputs = _inputs(s, rnd)
        result = alloc.allocate(inputs.candidates, inputs.limits, inputs.rules)
        again = _allocation_record(inputs, result)
        stored = rnd.allocation
    same_inputs = again["inputs_sha256"] == stored.get("inputs_sha256")
    same_result = again["result_sha256"] == stored.get("result_sha256")
    return {"ok": same_inputs and same_result, "same_inputs": same_inputs,
            "same_result": same_result, "result_sha256": again["result_sha256"],
            "stored_result_sha256": stored.get("result_sha256")}


def allocation(svc: RecordsService, by: Principal, reference: str) -> dict[str, Any]:
    """The stored allocation with every decision, its reason and numbers (before
    publication: ``commissioning.read``)."""
    by.require(P.COMMISSIONING_READ)
    with svc.records.reading() as s:
        rnd = _round(s, reference)
        if rnd.allocation is None:
            raise UserError(f"Round {rnd.reference} has not been allocated.")
        return dict(rnd.allocation)


def ranking(svc: RecordsService, by: Principal, reference: str) -> list[dict[str, Any]]:
    """The ranked list so far: every fully scored eligible application by weighted score,
    with its points per criterion."""
    by.require(P.COMMISSIONING_READ)
    with svc.records.reading() as s:
        rnd = _round(s, reference)
        inputs = _inputs(s, rnd)
    ranked = alloc.ranking([c for c in inputs.candidates if c.refusal is None])
    titles = {a.reference: a for a in inputs.applications}
    return [{"rank": i + 1, "reference": c.reference, "title": titles[c.reference].title,
             "organisation_name": titles[c.reference].organisation_name,
             "place": c.place, "score": c.score, "need": c.need, "amount": c.amount,
             "points": inputs.points.get(c.reference),
             "above_threshold": (c.score or 0) >= inputs.rules.quality_threshold}
            for i, c in enumerate(ranked)]


# --------------------------------------------------------------------------- publication


def public_url(base_url: str, reference: str) -> str:
    return f"{base_url.rstrip('/')}{PUBLIC_PATH}/{reference}"


def build_package(s: Session, rnd: FundingRound, base_url: str, now: datetime
                  ) -> dict[str, Any]:
    """The round's awards as a 360Giving data package."""
    funder = _funder(rnd)
    places = {p.code: p for p in _places(s, rnd)}
    catalogue_map = _catalogue_map(s)
    url = public_url(base_url, rnd.reference)
    award_date = rnd.decision_on or (rnd.allocated_at or now).date()
    grants = []
    awards = s.scalars(select(Award).where(Award.round_id == rnd.id)
                       .order_by(Award.grant_id)).all()
    paid = _paid(s, [a.id for a in awards])
    for award in awards:
        app = s.get(Application, award.application_id)
        if app is None:  # pragma: no cover - the foreign key forbids it
            continue
        place = places[app.place_code]
        entry = catalogue_map.get(app.intervention_key)
        facts = GrantFacts(
            round_reference=rnd.reference, round_title=rnd.title,
            application_reference=app.reference,
            title=app.title, description=app.summary,
            amount_applied_for=app.amount_requested, amount_awarded=award.amount,
            award_date=award_date,
            recipient=Recipient(app.organisation_id, app.organisation_name,
                                app.charity_number, app.company_number, app.postcode),
            areas=[Area(a["code"], a["name"], a["type"]) for a in place.areas],
            intervention_key=app.intervention_key,
            intervention_name=entry.name if entry else app.intervention_key,
            evidence_impact=entry.impact.value if entry else "unclear",
            modified=max(award.updated_at, app.updated_at), public_url=url,
            start_date=app.start_date, duration_months=app.duration_months,
            amount_disbursed=paid.get(award.id) or None)
        grants.append(grant_record(facts, funder))
    label = "SYNTHETIC (made-up) data for a demonstration: " if rnd.synthetic else ""
    return data_package(
        grants, title=f"{label}{funder.name}: {rnd.title}",
        description=(f"{label}Grants awarded in the funding round '{rnd.title}' "
                     f"({rnd.fund_name}), published by {funder.name} in the 360Giving Data "
                     f"Standard. How the awards were decided: {url}"),
        identifier=f"{funder.prefix}-{rnd.reference}", funder=funder, issued=now.date(),
        modified=now, access_url=url, download_url=f"{url}/360giving.json")


@dataclass
class PublishResult:
    package: dict[str, Any]
    schema_problems: list[tsg.SchemaProblem]
    quality: QualityReport
    published: bool


def check_publication(svc: RecordsService, by: Principal, reference: str,
                      base_url: str = DEFAULT_BASE_URL) -> PublishResult:
    """The package a round would publish, with its schema problems and quality report
    (nothing is stored)."""
    by.require(P.COMMISSIONING_READ)
    with svc.records.reading() as s:
        rnd = _round(s, reference)
        package = rnd.published_package or build_package(s, rnd, base_url, svc.now())
    checked = tsg.check_package(package)
    return PublishResult(package, checked.schema_problems, checked.quality,
                         rnd.published_package is not None)


def publish(svc: RecordsService, by: Principal, reference: str,
            base_url: str = DEFAULT_BASE_URL) -> PublishResult:
    """Publish an allocated round: its 360Giving package is built, validated against the
    schema and the quality checks (any error refuses publication, listing them), stored,
    and the round's public page goes live. Publishing a published round again refreshes
    its package (payments made since appear as ``amountDisbursed``)."""
    by.require(P.COMMISSIONING_MANAGE)
    with svc.writing(by, "funding_round.publish") as s:
        rnd = _round(s, reference)
        _require_status(rnd, RoundStatus.ALLOCATED, RoundStatus.PUBLISHED, doing="publish")
        now = svc.now()
        package = build_package(s, rnd, base_url, now)
        checked = tsg.check_package(package)
        if not checked.ok:
            problems = [str(p) for p in checked.schema_problems[:5]] + \
                checked.quality.lines(2)[:10]
            raise UserError("The 360Giving file did not pass its checks, so nothing was "
                            "published: " + " | ".join(problems))
        rnd.published_package = package
        rnd.published_at = now
        rnd.status = RoundStatus.PUBLISHED.value
        rnd.updated_at = now
        for award in s.scalars(select(Award).where(Award.round_id == rnd.id)):
            if award.status == "offered":
                award.status = "published"
                award.updated_at = now
    return PublishResult(package, checked.schema_problems, checked.quality, True)


def write_publication(package: Mapping[str, Any], out: Path, stem: str) -> tuple[Path, Path]:
    """Write the package as 360Giving JSON and as a spreadsheet (``.xlsx``) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    return (tsg.write_json(package, out / f"{stem}.json"),
            tsg.write_spreadsheet(package, out / f"{stem}.xlsx"))


# --------------------------------------------------------------------------- awards


def _paid(s: Session, award_ids: Sequence[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    if not award_ids:
        return out
    for p in s.scalars(select(Payment).where(Payment.award_id.in_(award_ids))):
        out[p.award_id] = out.get(p.award_id, 0) + p.amount
    return out


def _award(s: Session, grant: str) -> Award:
    found = s.scalar(select(Award).where(Award.grant_id == grant))
    if found is None:
        raise NotFound(f"There is no award {grant!r}.")
    return found


def list_awards(svc: RecordsService, by: Principal, reference: str) -> list[dict[str, Any]]:
    by.require(P.COMMISSIONING_READ)
    with svc.records.reading() as s:
        rnd = _round(s, reference)
        awards = s.scalars(select(Award).where(Award.round_id == rnd.id)
                           .order_by(Award.grant_id)).all()
        paid = _paid(s, [a.id for a in awards])
        apps = {a.id: a for a in s.scalars(select(Application)
                                           .where(Application.round_id == rnd.id))}
        return [{"grant_id": a.grant_id, "application": apps[a.application_id].reference,
                 "organisation_name": apps[a.application_id].organisation_name,
                 "amount": a.amount, "status": a.status, "reason": a.reason,
                 "agreement_signed_on": a.agreement_signed_on,
                 "agreement_reference": a.agreement_reference,
                 "paid": paid.get(a.id, 0)} for a in awards]


def record_agreement(svc: RecordsService, by: Principal, grant: str, signed_on: date,
                     agreement_reference: str) -> dict[str, Any]:
    """Record that an award's grant agreement was signed."""
    by.require(P.COMMISSIONING_MANAGE)
    with svc.writing(by, "award.agreement") as s:
        award = _award(s, grant)
        rnd = s.get(FundingRound, award.round_id)
        if rnd is None or _status(rnd) is not RoundStatus.PUBLISHED:
            raise UserError("Grant agreements are recorded once the round is published.")
        award.agreement_signed_on = signed_on
        award.agreement_reference = agreement_reference.strip() or None
        award.status = "agreed"
        award.updated_at = svc.now()
    return {"grant_id": grant, "agreement_signed_on": signed_on, "status": "agreed"}


def record_payment(svc: RecordsService, by: Principal, grant: str, amount: int,
                   paid_on: date, reference: str, note: str = "") -> dict[str, Any]:
    """Record a payment against an award with a signed agreement; payments never add up
    to more than the award."""
    by.require(P.COMMISSIONING_MANAGE)
    if amount <= 0:
        raise UserError("A payment is more than £0.")
    with svc.writing(by, "payment.record") as s:
        award = _award(s, grant)
        if award.agreement_signed_on is None:
            raise UserError("Record the signed grant agreement before paying.")
        paid = _paid(s, [award.id]).get(award.id, 0)
        if paid + amount > award.amount:
            raise UserError(f"£{paid + amount:,} would be more than the £{award.amount:,} "
                            f"awarded (£{paid:,} already paid).")
        s.add(Payment(award_id=award.id, amount=amount, paid_on=paid_on,
                      reference=reference.strip(), note=note.strip(),
                      recorded_at=svc.now()))
    return {"grant_id": grant, "paid": paid + amount, "awarded": award.amount}


# --------------------------------------------------------------------------- public view


def public_rounds(svc: RecordsService) -> list[dict[str, Any]]:
    """Published rounds (public)."""
    with svc.records.reading() as s:
        rows = s.scalars(select(FundingRound)
                         .where(FundingRound.status == RoundStatus.PUBLISHED.value)
                         .order_by(FundingRound.published_at.desc())).all()
        return [{"reference": r.reference, "title": r.title, "fund_name": r.fund_name,
                 "budget": r.budget, "awarded": (r.allocation or {}).get("result", {})
                 .get("awarded", 0), "published_at": r.published_at,
                 "synthetic": r.synthetic, "level_label": LEVEL_LABELS[AwardLevel(r.level)]}
                for r in rows]


NOT_FUNDED_LABELS: dict[str, str] = {
    alloc.Reason.INELIGIBLE.value: "did not meet the eligibility rules",
    alloc.Reason.NOT_SCORED.value: "were not fully scored",
    alloc.Reason.BELOW_THRESHOLD.value: "scored below the quality threshold",
    alloc.Reason.BUDGET.value: "did not fit in the budget left when their turn came",
    alloc.Reason.CAP.value: "would have taken their place past its cap",
}


def public_round(svc: RecordsService, reference: str) -> dict[str, Any]:
    """A published round in plain words, for anyone: criteria and weights, the places
    and what was funded in each and why, how many applications were not funded and why (no
    names of unsuccessful applicants), the decision the places came from, and outlines for
    the map. No personal data: no assessors, comments or who entered what."""
    with svc.records.reading() as s:
        rnd = _round(s, reference)
        if _status(rnd) is not RoundStatus.PUBLISHED or rnd.allocation is None:
            raise NotFound(f"There is no published funding round {reference!r}.")
        places = _places(s, rnd)
        apps = {a.reference: a for a in s.scalars(select(Application)
                                                  .where(Application.round_id == rnd.id))}
        catalogue_map = _catalogue_map(s)
    result = rnd.allocation["result"]
    decisions = result["decisions"]
    funded: dict[str, list[dict[str, Any]]] = {}
    not_funded: dict[str, int] = {}
    for d in decisions:
        if d["award"] > 0:
            app = apps[d["reference"]]
            entry = catalogue_map.get(app.intervention_key)
            funded.setdefault(d["place"], []).append({
                "organisation_name": app.organisation_name, "title": app.title,
                "summary": app.summary, "amount": d["award"], "requested": d["requested"],
                "outcome": d["outcome"], "score": d["score"], "rank": d["rank"],
                "reason": d["reason"], "contributions": d.get("contributions"),
                "intervention": entry.name if entry else app.intervention_key,
                "evidence": entry.plain() if entry else ""})
        else:
            label = NOT_FUNDED_LABELS.get(d["reason_code"], d["reason_code"])
            not_funded[label] = not_funded.get(label, 0) + 1
    totals = result.get("place_totals", {})
    place_rows = []
    for p in places:
        terms = _place_terms(p)
        place_rows.append({
            "code": p.code, "name": p.name, "parent_name": p.parent_name,
            "areas": p.areas, "rate_per_100k": terms.rate_per_100k, "count": p.count,
            "population": p.population, "need_points": p.need_points, "floor": p.floor,
            "cap": p.cap, "awarded": totals.get(p.code, 0), "explanation": p.explanation,
            "grants": sorted(funded.get(p.code, []), key=lambda g: g["rank"] or 0),
            "geometry": p.geometry})
    criteria = [{**c, "source_label": SOURCE_LABELS[CriterionSource(c["source"])]}
                for c in rnd.criteria]
    decision = dict(rnd.decision)
    background = decision.pop("map_background", None)
    return {
        "reference": rnd.reference, "title": rnd.title, "fund_name": rnd.fund_name,
        "description": rnd.description, "synthetic": rnd.synthetic,
        "level_label": LEVEL_LABELS[AwardLevel(rnd.level)], "budget": rnd.budget,
        "awarded": result["awarded"], "remaining": result["remaining"],
        "min_award": rnd.min_award, "max_award": rnd.max_award,
        "quality_threshold": rnd.quality_threshold, "partial_awards": rnd.partial_awards,
        "decision_on": rnd.decision_on, "published_at": rnd.published_at,
        "funder": {"name": rnd.funder.get("name"), "identifier": rnd.funder.get("identifier")},
        "criteria": criteria, "places": place_rows, "not_funded": not_funded,
        "applications": len(decisions), "funded_count": sum(d["award"] > 0 for d in decisions),
        "method": result["method"], "decision": decision, "background": background,
        "result_sha256": rnd.allocation.get("result_sha256"),
    }


def published_package(svc: RecordsService, reference: str) -> dict[str, Any]:
    """A published round's 360Giving package (public)."""
    with svc.records.reading() as s:
        rnd = _round(s, reference)
        if rnd.published_package is None:
            raise NotFound(f"There is no published funding round {reference!r}.")
        return dict(rnd.published_package)


# --------------------------------------------------------------------------- map outlines


def place_outlines(store: Any, level: AwardLevel, places: Sequence[PlaceTerms],
                   lads: Sequence[str], *, tolerance_m: float = 60.0
                   ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Simplified outlines (GeoJSON geometries in WGS84, coordinates to 5 decimals) of each
    place, for the public map, and of the area's local authorities as its background.
    Places with no boundary in the store get none (the map then lists them only)."""
    import shapely
    from shapely.geometry import mapping

    from vru.adapters.store.geo import BoundariesNotLoaded, load_boundaries

    def geojson(geom: Any) -> dict[str, Any]:
        simple = shapely.set_precision(geom.simplify(tolerance_m, preserve_topology=True),
                                       0.0)
        wgs = gpd_to_wgs(simple)
        data: dict[str, Any] = _canonical(mapping(shapely.set_precision(wgs, 1e-5)))
        return data

    def gpd_to_wgs(geom: Any) -> Any:
        from pyproj import Transformer

        t = Transformer.from_crs(27700, 4326, always_xy=True)
        return shapely.transform(geom, lambda xy: _stack(t.transform(xy[:, 0], xy[:, 1])))

    outlines: dict[str, Any] = {}
    try:
        lad_layer = load_boundaries(store, "lad", codes=lads)
    except BoundariesNotLoaded:
        return outlines, None
    by_code = dict(zip(lad_layer["code"], lad_layer.geometry, strict=True))
    if level is AwardLevel.WARD:
        try:
            wards = load_boundaries(store, "ward", "2022",
                                    codes=[a.code for p in places for a in p.areas])
            by_code.update(dict(zip(wards["code"], wards.geometry, strict=True)))
        except BoundariesNotLoaded:
            pass
    for p in places:
        geoms = [by_code[a.code] for a in p.areas if a.code in by_code]
        if geoms:
            outlines[p.code] = geojson(shapely.union_all(geoms))
    background = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": c},
         "geometry": geojson(g.buffer(0))} for c, g in sorted(by_code.items())
        if c in set(lads)]}
    return outlines, background


def outlines_for(data_dir: Path | None, record: Mapping[str, Any], level: AwardLevel,
                 places: Sequence[PlaceTerms]
                 ) -> tuple[dict[str, Any], dict[str, Any] | None, str]:
    """Outlines for a round's public map from the evidence store in ``data_dir`` (default:
    the data directory), for the decision's area; with a note saying why when there are
    none (no boundaries loaded, for example). Never fails: the map is optional."""
    from vru.adapters.store.evidence_store import EvidenceStore
    from vru.services.areas import get_area
    from vru.services.settings import resolve_data_dir

    try:
        store = EvidenceStore(resolve_data_dir(data_dir))
        if not store.exists():
            return {}, None, f"no evidence store in {store.data_dir}"
        area = str(record.get("parameters", {}).get("area") or "london")
        outlines, background = place_outlines(store, level, places,
                                              list(get_area(area, store.data_dir).lads))
    except Exception as exc:  # the map is optional: say why it is missing
        return {}, None, f"no outlines for the map ({type(exc).__name__}: {exc})"
    if not outlines:
        return {}, background, "the evidence store has no boundaries for these places"
    return outlines, background, ""


def _stack(xy: tuple[Any, Any]) -> Any:
    import numpy as np

    return np.column_stack(xy)


# --------------------------------------------------------------------------- the demo


DEMO_LABEL = "SYNTHETIC"
DEMO_RULE = "violence-boroughs"
DEMO_DATASETS = ["lookups", "boundaries", "deprivation", "population", "mps-borough"]
DEMO_SEED = 20_190_401
DEMO_ASSESSORS = ("assessor-a-SYNTHETIC", "assessor-b-SYNTHETIC", "assessor-c-SYNTHETIC")
DEMO_MODERATOR = "moderator-SYNTHETIC"
DEMO_FUNDER = Funder("360G-vru-SYNTHETIC-demo",
                     "SYNTHETIC London VRU demonstration (not a real funder)",
                     "Commissioning (demonstration)", "", "360G-vru-SYNTHETIC-demo")
DEMO_PROJECTS = ("after-school clubs and mentoring", "detached youth work on estates",
                 "sport with mentoring", "family support", "school-based sessions",
                 "A&E youth workers", "social skills groups", "trauma-informed therapy")


@dataclass
class DemoResult:
    ok: bool
    lines: list[str]
    json_path: Path | None = None
    spreadsheet_path: Path | None = None
    round_reference: str = ""


def default_mirror() -> Path | None:
    """The shared data mirror, when present: ``$VRU_SHARED_DATA``, else ``../shared/data``
    beside the working folder or beside the source checkout."""
    import os

    env = os.environ.get("VRU_SHARED_DATA", "").strip()
    candidates = [Path(env)] if env else []
    candidates += [Path.cwd().parent / "shared" / "data",
                   Path(__file__).resolve().parents[3].parent / "shared" / "data"]
    for c in candidates:
        if (c / "crime").is_dir() or (c / "geo").is_dir():
            return c.resolve()
    return None


def demo_applications(places: Sequence[PlaceTerms], interventions: Sequence[cat.Intervention],
                      seed: int = DEMO_SEED, per_place: int = 3) -> list[dict[str, str]]:
    """Made-up applications, clearly labelled SYNTHETIC: organisation names say so, the
    charity numbers (9,999,001 upwards) have the form of a Charity Commission number but lie
    beyond any issued (they reach about 1,2xx,xxx), and the postcodes are left out. Two
    are ineligible on purpose (an approach rated harmful; more than the largest award)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    usable = [i for i in interventions if i.impact is not cat.ImpactRating.HARMFUL]
    harmful = [i for i in interventions if i.impact is cat.ImpactRating.HARMFUL]
    rows: list[dict[str, str]] = []
    n = 0
    for p in places:
        for _ in range(int(rng.integers(1, per_place + 1))):
            n += 1
            approach = usable[int(rng.integers(len(usable)))]
            project = DEMO_PROJECTS[int(rng.integers(len(DEMO_PROJECTS)))]
            amount = int(rng.integers(15, 101)) * 1000
            minimum = amount if rng.random() < 0.5 else max(10_000, amount * 3 // 4 // 1000
                                                             * 1000)
            rows.append({
                "reference": f"S-{n:03d}",
                "organisation_name": f"{DEMO_LABEL} Youth Collective {n} (not a real "
                                     "organisation)",
                "charity_number": str(9_999_000 + n), "company_number": "", "postcode": "",
                "title": f"{DEMO_LABEL}: {project} in {p.name}",
                "summary": f"{DEMO_LABEL} made-up application for a demonstration: "
                           f"{project} for young people aged 10 to 18 in {p.name}, using "
                           f"{approach.name.lower()}.",
                "place": p.code, "intervention": approach.key,
                "amount_requested": str(amount), "minimum_amount": str(minimum),
                "duration_months": str(int(rng.choice([12, 18, 24]))),
                "start_date": "",
            })
    if harmful and rows:
        rows[0]["intervention"] = harmful[0].key
        rows[0]["summary"] += " (It proposes an approach rated harmful: not eligible.)"
    if len(rows) > 1:
        rows[1]["amount_requested"] = "250000"
        rows[1]["minimum_amount"] = "250000"
    return rows


def _write_csv(rows: Sequence[Mapping[str, str]], path: Path) -> Path:
    import csv
    import io

    from vru.domain.commissioning.applications import COLUMNS

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({c: r.get(c, "") for c in COLUMNS})
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def run_round_demo(out: Path, *, data_dir: Path | None = None, mirror: Path | None = None,
                   seed: int = DEMO_SEED, base_url: str = DEFAULT_BASE_URL,
                   today: date | None = None) -> DemoResult:
    """A whole SYNTHETIC funding round on the real London evidence, end to end.

    1. Load London's geography, deprivation, population and the MPS borough counts into an
       evidence store (``data_dir``, default ``<out>/data``) from the mirror (default: the
       shared data folder when present, else the publishers).
    2. Pick priority places with the published rule ``violence-boroughs`` (a decision
       record is stored with the store).
    3. In a new records database of its own (``<out>/records-SYNTHETIC.sqlite3``, never a
       real one): create a borough-level round on those places, open it, import made-up
       applications from a CSV file, close it, have three made-up assessors score every
       eligible application twice (one declares a conflict), moderate where they differ,
       allocate, and publish.
    4. Write the 360Giving JSON and spreadsheet, the applications file and the allocation
       (every decision with its reason) into ``out``, and check the written files against
       the schema and the quality checks.
    """
    import numpy as np

    from vru.adapters.records.dal import Records
    from vru.adapters.records.engine import make_engine
    from vru.adapters.records.migrate import upgrade
    from vru.adapters.store.evidence_store import EvidenceStore
    from vru.services.fetch import fetch
    from vru.services.priority_places import priority_places
    from vru.services.records import command_line
    from vru.services.security.passwords import OWASP_MINIMUM, Hasher
    from vru.services.security.settings import SecuritySettings

    lines: list[str] = [f"{DEMO_LABEL} funding round demonstration: made-up organisations, "
                        "applications, assessors and scores, on the real London evidence."]
    out.mkdir(parents=True, exist_ok=True)
    store = EvidenceStore(data_dir if data_dir is not None else out / "data")
    source = mirror if mirror is not None else default_mirror()
    report = fetch(store, DEMO_DATASETS, area="london", mirror=source)
    failed = [r for r in report.results if r.failed]
    lines.append(f"Evidence: {len(report.results)} files from "
                 f"{source or 'the publishers'} ({len(failed)} failed).")
    if failed:
        lines += [f"  failed: {r.message}" for r in failed[:5]]
        return DemoResult(False, lines)
    picked = priority_places(store, DEMO_RULE)
    record = picked.record
    lines.append(f"Priority places: rule {DEMO_RULE!r}, {len(picked.rising)} boroughs where "
                 f"violence is rising, {record['parameters']['months']} months to "
                 f"{record['parameters']['to']} (decision record {record['record_sha256'][:12]}"
                 f", {picked.record_path}).")
    places = places_from_decision(record, AwardLevel.BOROUGH, default_cap=150_000)
    by_rate = sorted(places, key=lambda p: -(p.rate_per_100k or 0))
    floors = {p.code: 30_000 for p in by_rate[:3]}
    places = [PlaceTerms(p.code, p.name, p.areas, p.count, p.population,
                         floors.get(p.code, 0), p.cap, p.explanation, p.parent_name)
              for p in places]
    lads = [str(c) for c in _london_lads(store)]
    outlines, background = place_outlines(store, AwardLevel.BOROUGH, places, lads)

    db = out / f"records-{DEMO_LABEL}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite+pysqlite:///{db.resolve()}")
    upgrade(engine)
    settings = SecuritySettings(secret_key=_random_key(), argon2=OWASP_MINIMUM)
    svc = RecordsService(Records(engine), settings, Hasher(OWASP_MINIMUM))
    try:
        return _demo_round(svc, command_line(), record, places, outlines, background, out,
                           lines, np.random.default_rng(seed), seed, base_url,
                           today or svc.now().date(), picked.record_path)
    finally:
        engine.dispose()


def _london_lads(store: Any) -> list[str]:
    from vru.services.areas import get_area

    return list(get_area("london", store.data_dir).lads)


def _random_key() -> str:
    import secrets

    return secrets.token_urlsafe(48)


def _demo_round(svc: RecordsService, cli: Principal, record: Mapping[str, Any],
                places: Sequence[PlaceTerms], outlines: Mapping[str, Any],
                background: Mapping[str, Any] | None, out: Path, lines: list[str],
                rng: Any, seed: int, base_url: str, today: date,
                record_path: Path | None) -> DemoResult:
    to = str(record["parameters"]["to"])
    reference = f"synthetic-demo-{to}"
    spec = RoundSpec(
        reference=reference,
        title=f"{DEMO_LABEL} demonstration round: community-led work where violence is rising",
        fund_name=f"{DEMO_LABEL} Violence Reduction Unit local fund (demonstration)",
        description=(f"{DEMO_LABEL} DATA. A made-up round to show how vru runs a funding "
                     "round: real London evidence picks the places; the organisations, "
                     "applications, assessors and scores are invented."),
        level=AwardLevel.BOROUGH,
        terms=RoundTerms(budget=1_000_000, min_award=10_000, max_award=100_000,
                         quality_threshold=50.0, criterion_gap=1, total_gap=20.0,
                         min_assessors=2, partial_awards=True),
        funder=DEMO_FUNDER, decision_on=today, synthetic=True)
    decision = decision_summary(record, str(record_path) if record_path else None)
    create_round(svc, cli, spec, places, decision, outlines, background)
    move_round(svc, cli, reference, "open")
    rows = demo_applications(places, catalogue(svc), seed)
    app_file = _write_csv(rows, out / f"applications-{DEMO_LABEL}.csv")
    imported = import_applications(svc, cli, reference, app_file)
    lines.append(f"Round {reference!r}: {len(places)} eligible boroughs, budget £1,000,000; "
                 f"{imported.imported} applications imported from {app_file.name} "
                 f"({imported.not_eligible} not eligible).")
    move_round(svc, cli, reference, "assessing")
    apps = [a for a in list_applications(svc, cli, reference) if a["status"] == "eligible"]
    conflicted = apps[0]["organisation_id"] if apps else None
    if conflicted:
        declare_conflict(svc, cli, reference, "I am a trustee of this organisation "
                         f"({DEMO_LABEL})", organisation_id=conflicted,
                         person=DEMO_ASSESSORS[2])
    assessed_keys = [c.key for c in DEFAULT_CRITERIA if c.source is CriterionSource.ASSESSORS]
    for i, a in enumerate(apps):
        quality = float(rng.uniform(1.0, 4.0))
        pair = [DEMO_ASSESSORS[i % 3], DEMO_ASSESSORS[(i + 1) % 3]]
        if a["organisation_id"] == conflicted:
            pair = list(DEMO_ASSESSORS[:2])
        for who in pair:
            pts = {k: min(4, max(0, round(quality + float(rng.normal(0, 0.8)))))
                   for k in assessed_keys}
            score_application(svc, cli, reference, a["reference"], pts,
                              f"{DEMO_LABEL} score", assessor=who)
    queue = [x for x in scoring_status(svc, cli, reference)
             if x["state"] == ScoreState.MODERATION.value]
    for x in queue:
        settled = {k: int(round(sum(sc["points"][k] for sc in x["scores"])
                                / len(x["scores"]))) for k in assessed_keys}
        moderate(svc, cli, reference, x["reference"], settled,
                 f"{DEMO_LABEL}: the panel discussed the evidence and agreed these scores",
                 moderator=DEMO_MODERATOR)
    agreement_rows = agreement(svc, cli, reference)
    kappas = ", ".join(f"{r['criterion']} {r['kappa_quadratic']:.2f}" for r in agreement_rows
                       if r["kappa_quadratic"] is not None)
    lines.append(f"Scoring: {len(apps)} eligible applications scored twice by 3 assessors "
                 f"(1 conflict declared); {len(queue)} went to moderation. Assessor "
                 f"agreement (quadratic weighted kappa): {kappas}.")
    result = allocate(svc, cli, reference)
    check = verify_allocation(svc, cli, reference)
    lines.append(f"Allocation: £{result['awarded']:,} of £{result['budget']:,} to "
                 f"{result['funded']} applications; re-run gives the same awards: "
                 f"{'yes' if check['ok'] else 'NO'} (result {result['result_sha256'][:12]}).")
    published = publish(svc, cli, reference, base_url)
    stem = f"360giving-{DEMO_LABEL}-{reference}"
    json_path, xlsx_path = write_publication(published.package, out, stem)
    (out / f"allocation-{DEMO_LABEL}-{reference}.json").write_text(
        json.dumps(allocation(svc, cli, reference), indent=2, ensure_ascii=False) + "\n",
        "utf-8")
    ok = True
    for path in (json_path, xlsx_path):
        checked = tsg.check_file(path)
        ok = ok and checked.ok
        lines.append(f"Published: {path.name}: {len(checked.file.grants)} grants; schema "
                     f"{'valid' if checked.valid else 'INVALID'}; quality checks "
                     f"{'passed' if checked.quality.ok else 'FAILED'} "
                     f"({len(checked.quality.warnings)} warning(s)).")
    lines.append(f"Everything above is {DEMO_LABEL}: the files say so in their titles, "
                 "descriptions and organisation names.")
    return DemoResult(ok and check["ok"], lines, json_path, xlsx_path, reference)
