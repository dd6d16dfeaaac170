"""The register of homicides and serious case reviews: cases (restricted), codings,
recommendations, import and export, and its aggregates."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from vru.domain.register.cases import CaseRecord
from vru.domain.register.vocabulary import CODING_ROUNDS
from vru.interfaces.api.deps import PrincipalDep, ServiceDep
from vru.interfaces.api.schemas import (
    CaseIn,
    CaseList,
    CaseOut,
    CasePatch,
    CodingIn,
    CodingOut,
    ImportOut,
    InputErrorOut,
    Message,
    RecommendationIn,
    RecommendationOut,
    RecommendationPatch,
    SummaryOut,
    TablesOut,
)
from vru.services import register as reg
from vru.services.records import UserError

router = APIRouter(prefix="/api", tags=["register"])
RESTRICTED: dict[int | str, dict[str, Any]] = {403: {"model": Message}, 404: {"model": Message}}
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


@router.get("/cases", response_model=CaseList, response_model_exclude_unset=True,
            responses=RESTRICTED, summary="List cases")
def list_cases(
    svc: ServiceDep,
    principal: PrincipalDep,
    borough: str | None = None,
    year: int | None = None,
    review_type: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CaseList:
    """Cases you may see (a borough officer: their borough's only), newest first. Personal
    details appear only for roles allowed them. Every listing is audited."""
    out = reg.list_cases(svc, principal, borough=borough, year=year,
                         review_type=review_type, limit=limit, offset=offset)
    return CaseList(total=out["total"], limit=out["limit"], offset=out["offset"],
                    items=[CaseOut(**item) for item in out["items"]])


@router.post("/cases", response_model=CaseOut, response_model_exclude_unset=True,
             status_code=201, responses={422: {"model": Message}}, summary="Add a case")
def create_case(body: CaseIn, svc: ServiceDep, principal: PrincipalDep) -> CaseOut:
    record = CaseRecord(**body.model_dump())
    return CaseOut(**reg.create_case(svc, principal, record))


@router.get("/cases/{case_id}", response_model=CaseOut, response_model_exclude_unset=True,
            responses=RESTRICTED, summary="One case")
def get_case(case_id: int, svc: ServiceDep, principal: PrincipalDep) -> CaseOut:
    """A case with its recommendations and, for case reviewers, its codings. Audited."""
    return CaseOut(**reg.get_case(svc, principal, case_id))


@router.patch("/cases/{case_id}", response_model=CaseOut, response_model_exclude_unset=True,
              responses={**RESTRICTED, 409: {"model": Message}}, summary="Change a case")
def update_case(case_id: int, body: CasePatch, svc: ServiceDep, principal: PrincipalDep
                ) -> CaseOut:
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version", None)
    return CaseOut(**reg.update_case(svc, principal, case_id, changes, version))


@router.put("/cases/{case_id}/codings/{coding_round}", response_model=CodingOut,
            responses=RESTRICTED, summary="Code a case's factors")
def code_case(case_id: int, coding_round: str, body: CodingIn, svc: ServiceDep,
              principal: PrincipalDep) -> CodingOut:
    """Record one reviewer's coding (round ``first``, ``second`` or ``consensus``)."""
    if coding_round not in CODING_ROUNDS:
        raise UserError(f"Unknown coding round {coding_round!r}; use one of: "
                        f"{', '.join(CODING_ROUNDS.codes)}.")
    return CodingOut(**reg.code_case(svc, principal, case_id, coding_round, body.factors,
                                     body.coder))


@router.post("/cases/{case_id}/recommendations", response_model=RecommendationOut,
             status_code=201, responses=RESTRICTED, summary="Add a recommendation")
def add_recommendation(case_id: int, body: RecommendationIn, svc: ServiceDep,
                       principal: PrincipalDep) -> RecommendationOut:
    return RecommendationOut(**reg.add_recommendation(svc, principal, case_id, body.text,
                                                      body.agency, body.due_on))


@router.patch("/recommendations/{recommendation_id}", response_model=RecommendationOut,
              responses=RESTRICTED, summary="Move a recommendation on or close it")
def update_recommendation(recommendation_id: int, body: RecommendationPatch,
                          svc: ServiceDep, principal: PrincipalDep) -> RecommendationOut:
    return RecommendationOut(**reg.update_recommendation(
        svc, principal, recommendation_id, body.status, closed_on=body.closed_on,
        closure_note=body.closure_note))


@router.get("/register/summary", response_model=SummaryOut,
            summary="Published figures (disclosure-controlled)")
def summary(svc: ServiceDep, principal: PrincipalDep,
            synthetic: bool | None = None) -> dict[str, Any]:
    """The register's figures after disclosure control: small counts suppressed (with
    secondary suppression), counts rounded to 5. Open to everyone."""
    return reg.published_summary(svc, principal, synthetic=synthetic)


@router.get("/register/analysis", response_model=TablesOut, responses=RESTRICTED,
            summary="Pattern analysis (restricted, unsuppressed)")
def analysis(svc: ServiceDep, principal: PrincipalDep, synthetic: bool | None = None,
             confidence: Annotated[float, Query(gt=0.5, lt=1.0)] = 0.95) -> TablesOut:
    """Factor prevalence with Wilson intervals (overall, by year, age band and method),
    ACE counts and "four or more", co-occurrence (pair counts, phi, odds ratios with Woolf
    intervals) and reviewer agreement (Cohen's kappa). Unsuppressed: case reviewers only."""
    tables = reg.restricted_analysis(svc, principal, synthetic=synthetic,
                                     confidence=confidence)
    return TablesOut(tables={k: reg.table_records(v) for k, v in tables.items()})


@router.get("/register/template", summary="The import template",
            response_class=FileResponse)
def template(principal: PrincipalDep,
             format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "xlsx") -> FileResponse:
    folder = Path(tempfile.mkdtemp(prefix="vru-template-"))
    path = reg.write_template(folder / f"register-template.{format}")
    return FileResponse(path, filename=path.name,
                        background=BackgroundTask(_remove, folder))


@router.post("/register/import", response_model=ImportOut,
             responses={422: {"model": InputErrorOut}}, summary="Import cases from a file")
async def import_file(svc: ServiceDep, principal: PrincipalDep,
                      file: Annotated[UploadFile, File(description="CSV or .xlsx made from "
                                                                   "the template")]
                      ) -> ImportOut:
    """Every row is checked; the file is imported whole or not at all (422 lists every
    problem with its row and column)."""
    name = Path(file.filename or "upload.csv").name
    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xlsm", ".xls"):
        raise UserError("Upload a .csv or .xlsx file made from the template.")
    folder = Path(tempfile.mkdtemp(prefix="vru-import-"))
    try:
        path = folder / name
        size = 0
        with path.open("wb") as fh:
            while chunk := await file.read(1 << 20):
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise UserError("The file is larger than 20 MB; split it.")
                fh.write(chunk)
        result = await run_in_threadpool(reg.import_cases, svc, principal, path)
    finally:
        _remove(folder)
    return ImportOut(file=result.file, cases=result.cases, codings=result.codings)


@router.get("/register/export", summary="Export cases (restricted)",
            response_class=FileResponse, responses=RESTRICTED)
def export(svc: ServiceDep, principal: PrincipalDep,
           format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv") -> FileResponse:
    """Every case you may see with its codings, in the template's layout. Audited."""
    folder = Path(tempfile.mkdtemp(prefix="vru-export-"))
    path = folder / f"register-export-RESTRICTED.{format}"
    reg.export_cases(svc, principal, path)
    return FileResponse(path, filename=path.name,
                        background=BackgroundTask(_remove, folder))


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
