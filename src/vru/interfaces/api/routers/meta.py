"""Health and the register's vocabulary (public)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from vru.domain.register.cases import CASE_VOCABULARIES
from vru.domain.register.vocabulary import CODING_ROUNDS, FACTORS, RECOMMENDATION_STATUSES
from vru.interfaces.api.deps import ServiceDep
from vru.interfaces.api.schemas import Health, VocabularyOut

router = APIRouter(prefix="/api", tags=["service"])


@router.get("/health", response_model=Health, summary="Is the service up")
def health(svc: ServiceDep) -> Health:
    """The service is running and its database answers."""
    with svc.records.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return Health(status="ok", database=svc.records.dialect)


@router.get("/register/vocabulary", response_model=VocabularyOut, tags=["register"],
            summary="The register's codes")
def vocabulary() -> VocabularyOut:
    """Every code the register uses (review types, statuses, case attributes, coding rounds,
    recommendation statuses) and the factors with their definitions."""
    vocabs = dict(CASE_VOCABULARIES)
    vocabs["coding_round"] = CODING_ROUNDS
    vocabs["recommendation_status"] = RECOMMENDATION_STATUSES
    return VocabularyOut(
        vocabularies={name: [{"code": t.code, "label": t.label, "definition": t.definition}
                             for t in v.terms] for name, v in vocabs.items()},
        factors=[{"code": f.code, "label": f.label, "group": f.group,
                  "definition": f.definition} for f in FACTORS],
    )
