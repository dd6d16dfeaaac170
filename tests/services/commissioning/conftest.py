"""Commissioning service tests: SQLite always, PostgreSQL too when VRU_TEST_POSTGRES_URL is
set (as tests/adapters/records does); a frozen clock; small factories for a decision record,
a round, applications and scores."""

from __future__ import annotations

from datetime import date
from typing import Any

from vru.domain.commissioning.rounds import AwardLevel, RoundTerms
from vru.domain.commissioning.threesixtygiving import Funder
from vru.services import commissioning as cm
from vru.services.records import Principal, RecordsService, command_line, create_user

PASSWORD = "correct horse battery staple"
FUNDER = Funder("360G-vru-test", "Test Violence Reduction Unit", prefix="360G-vru-test")
ASSESSED = ("community", "partnership", "delivery")
BASE_URL = "https://vru.example.org"


def decision_record(n: int = 4) -> dict[str, Any]:
    """A borough-level priority-places decision record like ``vru priority-places`` saves
    (the fields rounds read), for places E09000001.. with made-up counts."""
    rising = []
    for i in range(1, n + 1):
        code = f"E090000{i:02d}"
        rising.append({"direction": "rising", "area_code": code, "area_name": f"Borough {i}",
                       "parent_code": code, "parent_name": f"Borough {i}",
                       "count": 1000.0 * i, "population": 100_000.0,
                       "explanation": f"Violence in Borough {i} rose significantly.",
                       "cluster_id": "R1"})
    return {
        "record_version": 1,
        "rule": {"name": "test-rule", "title": "Test rule", "version": 1,
                 "description": "Boroughs where violence rose."},
        "parameters": {"area": "london", "to": "2025-12", "months": 12,
                       "measure": "violence_against_the_person", "geography": "borough"},
        "decided_at": "2026-01-10T09:00:00+00:00",
        "result": {"rising": rising, "falling": [], "excluded": [], "clusters": [
            {"cluster_id": "R1", "direction": "rising",
             "members": [r["area_code"] for r in rising],
             "parents": [r["area_code"] for r in rising],
             "parent_names": [r["area_name"] for r in rising], "multi_borough": True,
             "total_count": sum(r["count"] for r in rising)}]},
        "record_sha256": "0" * 64,
    }


def make_round(svc: RecordsService, by: Principal, reference: str = "fund-2026", *,
               budget: int = 200_000, floors: dict[str, int] | None = None,
               caps: dict[str, int | None] | None = None, open_it: bool = True
               ) -> dict[str, Any]:
    record = decision_record()
    places = cm.places_from_decision(record, AwardLevel.BOROUGH, floors=floors, caps=caps)
    spec = cm.RoundSpec(reference=reference, title="Test fund 2026", fund_name="Test fund",
                        description="A test round.", level=AwardLevel.BOROUGH,
                        terms=RoundTerms(budget, 10_000, 80_000, 50.0),
                        funder=FUNDER, decision_on=date(2026, 3, 31))
    out = cm.create_round(svc, by, spec, places, cm.decision_summary(record))
    if open_it:
        cm.move_round(svc, by, reference, "open")
    return out


def application(n: int, place: str = "E09000001", amount: int = 40_000, **kw: str
                ) -> dict[str, str]:
    values = {"reference": f"A-{n:03d}", "organisation_name": f"Organisation {n}",
              "charity_number": str(1_100_000 + n), "title": f"Project {n}",
              "summary": f"Work with young people, project {n}.", "place": place,
              "intervention": "mentoring", "amount_requested": str(amount),
              "duration_months": "12", "postcode": "SE6 4RU"}
    values.update(kw)
    return values


def score_all(svc: RecordsService, by: Principal, reference: str,
              points: dict[str, tuple[int, int]],
              assessors: tuple[str, str] = ("assessor-ann", "assessor-bob")) -> None:
    """Score each application: ``points[ref] = (ann's points, bob's points)`` for every
    assessed criterion."""
    for ref, (first, second) in points.items():
        for who, p in zip(assessors, (first, second), strict=True):
            cm.score_application(svc, by, reference, ref, {k: p for k in ASSESSED},
                                 assessor=who)


def add_user(svc: RecordsService, username: str, role: str) -> Principal:
    """A user of ``role`` and a principal for them as if signed in (no session needed by
    the use cases)."""
    from vru.services.security.roles import Role

    new = create_user(svc, command_line(), username, PASSWORD, role,
                      borough="Hackney" if role == "borough_officer" else None)
    return Principal(Role(role), new.user.id, username, new.user.borough, "test",
                     session_id=0, csrf_token="x")
