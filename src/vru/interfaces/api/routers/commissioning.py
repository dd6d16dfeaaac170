"""The commissioning framework's API: the intervention catalogue, funding rounds,
applications, conflicts of interest, scores, moderation, allocation, publication, awards and
payments (``/api/commissioning/...``), and published rounds for anyone
(``/api/funding/...``).

What each role may call is in the role matrix (``access.ROUTES``); the use cases in
``services.commissioning`` check the same permissions and the round's stage.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from vru.adapters import threesixtygiving as tsg
from vru.domain.commissioning.criteria import DEFAULT_CRITERIA, Criterion
from vru.domain.commissioning.rounds import AwardLevel, RoundTerms
from vru.domain.commissioning.threesixtygiving import Funder
from vru.interfaces.api.deps import PrincipalDep, ServiceDep
from vru.services import commissioning as cm
from vru.services.records import UserError

router = APIRouter(tags=["commissioning"])
BASE = "/api/commissioning"
PUBLIC = "/api/funding"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
BASE_URL_ENV = "VRU_PUBLIC_BASE_URL"


def public_base_url(request: Request) -> str:
    """Where the public pages are: ``$VRU_PUBLIC_BASE_URL``, else this request's host."""
    return os.environ.get(BASE_URL_ENV, "").strip() or str(request.base_url).rstrip("/")


class CriterionIn(BaseModel):
    key: str
    title: str
    description: str = ""
    weight: int
    source: str
    guidance: str = ""


class RoundIn(BaseModel):
    """A new round. ``decision_record`` is the priority-places decision record (JSON, as
    ``vru priority-places`` stores it); the eligible places come from it."""

    reference: str
    title: str
    fund_name: str = ""
    description: str = ""
    level: AwardLevel = AwardLevel.BOROUGH
    budget: int = Field(gt=0)
    min_award: int = Field(gt=0)
    max_award: int = Field(gt=0)
    quality_threshold: float = 50.0
    criterion_gap: int = 1
    total_gap: float = 20.0
    min_assessors: int = 2
    partial_awards: bool = True
    opens_on: date | None = None
    closes_on: date | None = None
    decision_on: date | None = None
    funder_id: str = "360G-vru"
    funder_name: str = "Violence Reduction Unit"
    prefix: str = "360G-vru"
    criteria: list[CriterionIn] | None = None
    floors: dict[str, int] = Field(default_factory=dict)
    caps: dict[str, int] = Field(default_factory=dict)
    default_floor: int = 0
    default_cap: int | None = None
    decision_record: dict[str, Any]


class StageIn(BaseModel):
    to: str


class ScoreIn(BaseModel):
    points: dict[str, int]
    comment: str = ""


class ModerationIn(BaseModel):
    points: dict[str, int]
    reason: str


class ConflictIn(BaseModel):
    nature: str
    application: str | None = None
    organisation_id: str | None = None


class PublishIn(BaseModel):
    base_url: str | None = None


class AgreementIn(BaseModel):
    signed_on: date
    reference: str = ""


class PaymentIn(BaseModel):
    amount: int = Field(gt=0)
    paid_on: date
    reference: str = ""
    note: str = ""


class InterventionIn(BaseModel):
    name: str | None = None
    description: str | None = None
    impact: str | None = None
    evidence_quality: int | None = None
    source: str | None = None
    source_url: str | None = None
    checked: bool | None = None
    note: str | None = None


# --------------------------------------------------------------------------- catalogue


@router.get(f"{BASE}/interventions", summary="The intervention catalogue")
def interventions(svc: ServiceDep) -> list[dict[str, Any]]:
    """Approaches with their evidence ratings and sources (public)."""
    return [e.as_dict() for e in cm.catalogue(svc)]


@router.put(f"{BASE}/interventions/{{key}}", summary="Add or change an approach")
def put_intervention(key: str, body: InterventionIn, svc: ServiceDep,
                     principal: PrincipalDep) -> dict[str, Any]:
    data = {k: v for k, v in body.model_dump().items() if v is not None}
    return cm.save_intervention(svc, principal, {**data, "key": key}).as_dict()


# --------------------------------------------------------------------------- rounds


@router.get(f"{BASE}/rounds", summary="Funding rounds")
def rounds(svc: ServiceDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    return cm.list_rounds(svc, principal)


@router.post(f"{BASE}/rounds", status_code=201, summary="Create a round")
def create_round(body: RoundIn, svc: ServiceDep, principal: PrincipalDep) -> dict[str, Any]:
    """Create a round (draft) whose eligible places come from the decision record."""
    criteria: tuple[Criterion, ...] = DEFAULT_CRITERIA
    if body.criteria is not None:
        try:
            criteria = tuple(Criterion.from_dict(c.model_dump()) for c in body.criteria)
        except ValueError as exc:
            raise UserError(str(exc)) from None
    try:
        places = cm.places_from_decision(body.decision_record, body.level,
                                         floors=body.floors, caps=dict(body.caps),
                                         default_floor=body.default_floor,
                                         default_cap=body.default_cap)
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"The decision record cannot be used: {exc}") from None
    spec = cm.RoundSpec(
        reference=body.reference, title=body.title, fund_name=body.fund_name or body.title,
        description=body.description, level=body.level,
        terms=RoundTerms(body.budget, body.min_award, body.max_award,
                         body.quality_threshold, body.criterion_gap, body.total_gap,
                         body.min_assessors, body.partial_awards),
        funder=Funder(body.funder_id, body.funder_name, prefix=body.prefix),
        criteria=criteria, opens_on=body.opens_on, closes_on=body.closes_on,
        decision_on=body.decision_on)
    return cm.create_round(svc, principal, spec, places,
                           cm.decision_summary(body.decision_record))


@router.get(f"{BASE}/rounds/{{round_ref}}", summary="A round")
def get_round(round_ref: str, svc: ServiceDep, principal: PrincipalDep) -> dict[str, Any]:
    return cm.get_round(svc, principal, round_ref)


@router.post(f"{BASE}/rounds/{{round_ref}}/stage", summary="Move a round to another stage")
def move_round(round_ref: str, body: StageIn, svc: ServiceDep, principal: PrincipalDep
               ) -> dict[str, Any]:
    """``open`` a draft, close an open round for ``assessing``, or send an allocated round
    back to ``assessing``."""
    return cm.move_round(svc, principal, round_ref, body.to)


# --------------------------------------------------------------------------- applications


@router.get(f"{BASE}/rounds/{{round_ref}}/applications", summary="A round's applications")
def applications(round_ref: str, svc: ServiceDep, principal: PrincipalDep
                 ) -> list[dict[str, Any]]:
    """Assessors see their own scores; roles that may read the round see every score."""
    return cm.list_applications(svc, principal, round_ref)


@router.post(f"{BASE}/rounds/{{round_ref}}/applications", status_code=201,
             summary="Enter an application")
def add_application(round_ref: str, body: dict[str, str], svc: ServiceDep,
                    principal: PrincipalDep) -> dict[str, Any]:
    """The application's values as text, with the import file's column names
    (``organisation_name``, ``title``, ``summary``, ``place``, ``intervention``,
    ``amount_requested``, ``duration_months``, ...)."""
    return cm.add_application(svc, principal, round_ref, body)


@router.post(f"{BASE}/rounds/{{round_ref}}/applications/import",
             summary="Import applications from a file")
async def import_applications(round_ref: str, svc: ServiceDep, principal: PrincipalDep,
                              file: Annotated[UploadFile, File()]) -> dict[str, Any]:
    """A CSV or Excel file made from the template: checked row by row and imported whole
    or not at all."""
    suffix = Path(file.filename or "applications.csv").suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xlsm"):
        raise UserError("Upload a .csv or .xlsx file.")
    folder = tempfile.mkdtemp(prefix="vru-applications-")
    try:
        path = Path(folder) / f"{Path(file.filename or 'applications').stem[:60]}{suffix}"
        size = 0
        with path.open("wb") as out:
            while chunk := await file.read(1 << 20):
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise UserError("The file is larger than 20 MB.")
                out.write(chunk)
        result = await run_in_threadpool(cm.import_applications, svc, principal, round_ref,
                                         path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"file": result.file, "imported": result.imported, "eligible": result.eligible,
            "not_eligible": result.not_eligible, "references": list(result.references)}


@router.get(f"{BASE}/rounds/{{round_ref}}/applications/{{application_ref}}",
            summary="An application")
def get_application(round_ref: str, application_ref: str, svc: ServiceDep,
                    principal: PrincipalDep) -> dict[str, Any]:
    return cm.get_application(svc, principal, round_ref, application_ref)


@router.post(f"{BASE}/rounds/{{round_ref}}/conflicts", status_code=201,
             summary="Declare a conflict of interest")
def declare_conflict(round_ref: str, body: ConflictIn, svc: ServiceDep,
                     principal: PrincipalDep) -> dict[str, Any]:
    return cm.declare_conflict(svc, principal, round_ref, body.nature,
                               application=body.application,
                               organisation_id=body.organisation_id)


@router.put(f"{BASE}/rounds/{{round_ref}}/applications/{{application_ref}}/score",
            summary="Score an application")
def score(round_ref: str, application_ref: str, body: ScoreIn, svc: ServiceDep,
          principal: PrincipalDep) -> dict[str, Any]:
    """Your rubric points (0 to 4) for each criterion assessors score."""
    return cm.score_application(svc, principal, round_ref, application_ref, body.points,
                                body.comment)


@router.get(f"{BASE}/rounds/{{round_ref}}/scoring", summary="Where scoring stands")
def scoring(round_ref: str, svc: ServiceDep, principal: PrincipalDep
            ) -> list[dict[str, Any]]:
    return cm.scoring_status(svc, principal, round_ref)


@router.get(f"{BASE}/rounds/{{round_ref}}/agreement", summary="Assessor agreement")
def agreement(round_ref: str, svc: ServiceDep, principal: PrincipalDep
              ) -> list[dict[str, Any]]:
    return cm.agreement(svc, principal, round_ref)


@router.put(f"{BASE}/rounds/{{round_ref}}/applications/{{application_ref}}/moderation",
            summary="Moderate an application's scores")
def moderate(round_ref: str, application_ref: str, body: ModerationIn, svc: ServiceDep,
             principal: PrincipalDep) -> dict[str, Any]:
    return cm.moderate(svc, principal, round_ref, application_ref, body.points, body.reason)


@router.get(f"{BASE}/rounds/{{round_ref}}/ranking", summary="The ranked list")
def ranking(round_ref: str, svc: ServiceDep, principal: PrincipalDep
            ) -> list[dict[str, Any]]:
    return cm.ranking(svc, principal, round_ref)


# --------------------------------------------------------------------------- allocation


@router.post(f"{BASE}/rounds/{{round_ref}}/allocation", summary="Allocate the budget")
def allocate(round_ref: str, svc: ServiceDep, principal: PrincipalDep) -> dict[str, Any]:
    return cm.allocate(svc, principal, round_ref)


@router.get(f"{BASE}/rounds/{{round_ref}}/allocation", summary="The allocation")
def allocation(round_ref: str, svc: ServiceDep, principal: PrincipalDep) -> dict[str, Any]:
    return cm.allocation(svc, principal, round_ref)


@router.get(f"{BASE}/rounds/{{round_ref}}/allocation/verify",
            summary="Re-run the allocation and compare")
def verify_allocation(round_ref: str, svc: ServiceDep, principal: PrincipalDep
                      ) -> dict[str, Any]:
    return cm.verify_allocation(svc, principal, round_ref)


@router.get(f"{BASE}/rounds/{{round_ref}}/publication/check",
            summary="Check the 360Giving file before publishing")
def check_publication(round_ref: str, request: Request, svc: ServiceDep,
                      principal: PrincipalDep) -> dict[str, Any]:
    result = cm.check_publication(svc, principal, round_ref, public_base_url(request))
    return {"grants": len(result.package.get("grants", [])),
            "schema_problems": [str(p) for p in result.schema_problems],
            "quality": result.quality.as_dict(), "published": result.published}


@router.post(f"{BASE}/rounds/{{round_ref}}/publication", summary="Publish the awards")
def publish(round_ref: str, request: Request, svc: ServiceDep, principal: PrincipalDep,
            body: PublishIn | None = None) -> dict[str, Any]:
    base = (body.base_url if body and body.base_url else None) or public_base_url(request)
    result = cm.publish(svc, principal, round_ref, base)
    return {"grants": len(result.package["grants"]), "quality": result.quality.as_dict(),
            "public_page": cm.public_url(base, round_ref)}


@router.get(f"{BASE}/rounds/{{round_ref}}/awards", summary="Awards, agreements, payments")
def awards(round_ref: str, svc: ServiceDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    return cm.list_awards(svc, principal, round_ref)


@router.post(f"{BASE}/awards/{{grant_id}}/agreement", summary="Record a grant agreement")
def agreement_signed(grant_id: str, body: AgreementIn, svc: ServiceDep,
                     principal: PrincipalDep) -> dict[str, Any]:
    return cm.record_agreement(svc, principal, grant_id, body.signed_on, body.reference)


@router.post(f"{BASE}/awards/{{grant_id}}/payments", status_code=201,
             summary="Record a payment")
def payment(grant_id: str, body: PaymentIn, svc: ServiceDep, principal: PrincipalDep
            ) -> dict[str, Any]:
    return cm.record_payment(svc, principal, grant_id, body.amount, body.paid_on,
                             body.reference, body.note)


# --------------------------------------------------------------------------- public


@router.get(f"{PUBLIC}/rounds", summary="Published funding rounds")
def published_rounds(svc: ServiceDep) -> list[dict[str, Any]]:
    return cm.public_rounds(svc)


@router.get(f"{PUBLIC}/rounds/{{round_ref}}", summary="A published round, in plain words")
def published_round(round_ref: str, svc: ServiceDep) -> dict[str, Any]:
    """Criteria and weights, what was funded where and why, and how many applications were
    not funded and why (no personal data)."""
    return cm.public_round(svc, round_ref)


@router.get(f"{PUBLIC}/rounds/{{round_ref}}/360giving.json",
            summary="A published round's 360Giving data (JSON)")
def published_json(round_ref: str, svc: ServiceDep) -> JSONResponse:
    package = cm.published_package(svc, round_ref)
    return JSONResponse(package, headers={
        "content-disposition": f'attachment; filename="360giving-{round_ref}.json"'})


@router.get(f"{PUBLIC}/rounds/{{round_ref}}/360giving.xlsx",
            summary="A published round's 360Giving data (spreadsheet)")
def published_xlsx(round_ref: str, svc: ServiceDep) -> FileResponse:
    package = cm.published_package(svc, round_ref)
    folder = tempfile.mkdtemp(prefix="vru-360giving-")
    path = tsg.write_spreadsheet(package, Path(folder) / f"360giving-{round_ref}.xlsx")
    return FileResponse(path, filename=path.name, media_type=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        background=BackgroundTask(shutil.rmtree, folder, True))
