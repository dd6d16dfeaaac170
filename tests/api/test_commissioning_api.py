"""The commissioning API: a whole round through HTTP with real sessions and CSRF tokens,
each step by the role that does it (manager, partner and analyst as assessors), the public
endpoints for visitors, and the role matrix's refusals."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from vru.adapters import threesixtygiving as tsg
from vru.services.security.roles import Role

from .conftest import Session

BASE = "/api/commissioning"
REF = "api-fund"
ASSESSED = ("community", "partnership", "delivery")


def decision_record() -> dict[str, Any]:
    rising = [{"direction": "rising", "area_code": f"E0900000{i}",
               "area_name": f"Borough {i}", "parent_code": f"E0900000{i}",
               "parent_name": f"Borough {i}", "count": 1000.0 * i, "population": 100_000.0,
               "explanation": f"Violence rose in Borough {i}."} for i in range(1, 4)]
    return {"rule": {"name": "t", "title": "Test rule", "version": 1},
            "parameters": {"area": "london", "to": "2025-12", "geography": "borough"},
            "decided_at": "2026-01-10T09:00:00+00:00", "record_sha256": "1" * 64,
            "result": {"rising": rising, "falling": [], "clusters": []}}


def application(n: int, place: str) -> dict[str, str]:
    return {"reference": f"A-{n:03d}", "organisation_name": f"Organisation {n}",
            "charity_number": str(1_100_000 + n), "title": f"Project {n}",
            "summary": "Youth work.", "place": place, "intervention": "mentoring",
            "amount_requested": "30000", "duration_months": "12"}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_a_round_through_the_api(app: FastAPI, sign_in_as: Callable[[Role], Session]
                                 ) -> None:
    manager = sign_in_as(Role.COMMISSIONING_MANAGER).client
    partner = sign_in_as(Role.PARTNER).client
    analyst = sign_in_as(Role.ANALYST).client
    visitor = sign_in_as(Role.PUBLIC).client

    body = {"reference": REF, "title": "API fund", "budget": 100_000, "min_award": 10_000,
            "max_award": 50_000, "decision_on": "2026-03-31", "prefix": "360G-vru-api",
            "funder_id": "360G-vru-api", "decision_record": decision_record()}
    created = ok(manager.post(f"{BASE}/rounds", json=body), 201)
    assert [round(p["need_points"], 4) for p in created["places"]] == [1.3333, 2.6667, 4.0]
    assert ok(manager.post(f"{BASE}/rounds", json=body), 422) is not None  # taken
    ok(manager.post(f"{BASE}/rounds/{REF}/stage", json={"to": "open"}))
    ok(manager.post(f"{BASE}/rounds/{REF}/applications",
                    json=application(1, "E09000003")), 201)
    bad = manager.post(f"{BASE}/rounds/{REF}/applications",
                       json={**application(9, "E09000001"), "amount_requested": "lots"})
    assert bad.status_code == 422 and bad.json()["problems"][0]["column"] == \
        "amount_requested"
    csv_text = ("reference,organisation_name,charity_number,title,summary,place,"
                "intervention,amount_requested,duration_months\r\n"
                "A-002,Organisation 2,1100002,Project 2,Youth work.,E09000002,mentoring,"
                "30000,12\r\n"
                "A-003,Organisation 3,1100003,Project 3,Youth work.,Borough 1,"
                "sports-programmes,30000,12\r\n")
    imported = ok(manager.post(f"{BASE}/rounds/{REF}/applications/import", files={
        "file": ("apps.csv", io.BytesIO(csv_text.encode()), "text/csv")}))
    assert imported["imported"] == 2
    ok(manager.post(f"{BASE}/rounds/{REF}/stage", json={"to": "assessing"}))

    # assessors: a partner and an analyst; the partner declares a conflict on A-003
    ok(partner.post(f"{BASE}/rounds/{REF}/conflicts",
                    json={"nature": "I volunteer there", "application": "A-003"}), 201)
    refused = partner.put(f"{BASE}/rounds/{REF}/applications/A-003/score",
                          json={"points": {k: 3 for k in ASSESSED}})
    assert refused.status_code == 422 and "declared a conflict" in refused.json()["detail"]
    for ref, p_points, a_points in (("A-001", 4, 4), ("A-002", 3, 1)):
        ok(partner.put(f"{BASE}/rounds/{REF}/applications/{ref}/score",
                       json={"points": {k: p_points for k in ASSESSED}}))
        ok(analyst.put(f"{BASE}/rounds/{REF}/applications/{ref}/score",
                       json={"points": {k: a_points for k in ASSESSED}}))
    ok(analyst.put(f"{BASE}/rounds/{REF}/applications/A-003/score",
                   json={"points": {k: 3 for k in ASSESSED}}))
    own = manager.put(f"{BASE}/rounds/{REF}/applications/A-003/score",
                      json={"points": {k: 2 for k in ASSESSED}})
    assert own.status_code == 422 and "you entered this application" in own.json()["detail"]
    lead = sign_in_as(Role.PERFORMANCE_LEAD).client
    ok(lead.put(f"{BASE}/rounds/{REF}/applications/A-003/score",
                json={"points": {k: 3 for k in ASSESSED}}))
    assert partner.get(f"{BASE}/rounds/{REF}/scoring").status_code == 403
    states = {x["reference"]: x["state"] for x in ok(analyst.get(
        f"{BASE}/rounds/{REF}/scoring"))}
    assert states == {"A-001": "agreed", "A-002": "needs moderation", "A-003": "agreed"}
    mine = ok(partner.get(f"{BASE}/rounds/{REF}/applications/A-002"))
    assert [s["assessor"] for s in mine["scores"]] == ["partner"]
    ok(manager.put(f"{BASE}/rounds/{REF}/applications/A-002/moderation",
                   json={"points": {k: 2 for k in ASSESSED}, "reason": "panel view"}))
    assert ok(analyst.get(f"{BASE}/rounds/{REF}/agreement"))[0]["n"] == 3

    allocation = ok(manager.post(f"{BASE}/rounds/{REF}/allocation"))
    assert allocation["funded"] == 3 and allocation["awarded"] == 90_000
    assert ok(analyst.get(f"{BASE}/rounds/{REF}/allocation/verify"))["ok"]
    ranking = ok(analyst.get(f"{BASE}/rounds/{REF}/ranking"))
    # 95 (need 4, all 4s), 62.5 (need 4/3, sports: moderate, all 3s), 60 (need 8/3, all 2s)
    assert [(r["reference"], round(r["score"], 4)) for r in ranking] == [
        ("A-001", 95.0), ("A-003", 62.5), ("A-002", 60.0)]
    check = ok(analyst.get(f"{BASE}/rounds/{REF}/publication/check"))
    assert check["schema_problems"] == [] and check["quality"]["ok"]
    assert visitor.get(f"/api/funding/rounds/{REF}").status_code == 404  # not yet

    published = ok(manager.post(f"{BASE}/rounds/{REF}/publication",
                                json={"base_url": "https://vru.example.org"}))
    assert published["grants"] == 3
    assert published["public_page"] == f"https://vru.example.org/funding/{REF}"
    grant = f"360G-vru-api-{REF}-A-001"
    ok(manager.post(f"{BASE}/awards/{grant}/agreement", json={"signed_on": "2026-04-02"}))
    ok(manager.post(f"{BASE}/awards/{grant}/payments",
                    json={"amount": 10_000, "paid_on": "2026-04-20"}), 201)
    awards = {a["grant_id"]: a for a in ok(analyst.get(f"{BASE}/rounds/{REF}/awards"))}
    assert awards[grant]["paid"] == 10_000

    # anyone: the published round, in plain words, and its 360Giving files
    listed = ok(visitor.get("/api/funding/rounds"))
    assert [r["reference"] for r in listed] == [REF]
    public = ok(visitor.get(f"/api/funding/rounds/{REF}"))
    assert public["awarded"] == 90_000 and len(public["criteria"]) == 5
    text = json.dumps(public)
    for username in ('"partner"', '"analyst"', '"performance-lead"', '"commissioning-manager"',
                     "Organisation 9"):
        assert username not in text
    package = ok(visitor.get(f"/api/funding/rounds/{REF}/360giving.json"))
    assert tsg.check_package(package).ok
    xlsx = visitor.get(f"/api/funding/rounds/{REF}/360giving.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert ok(visitor.get(f"{BASE}/interventions"))[0]["source"]


def test_changes_need_the_csrf_token(app: FastAPI, sign_in_as: Callable[[Role], Session]
                                     ) -> None:
    session = sign_in_as(Role.COMMISSIONING_MANAGER)
    client = session.client
    token = client.headers.pop("X-CSRF-Token")
    response = client.post(f"{BASE}/rounds/x/stage", json={"to": "open"})
    assert response.status_code == 403
    client.headers["X-CSRF-Token"] = token
    assert client.post(f"{BASE}/rounds/x/stage", json={"to": "open"}).status_code == 404


def test_roles_without_commissioning_rights(app: FastAPI,
                                            sign_in_as: Callable[[Role], Session]) -> None:
    for role in (Role.BOROUGH_OFFICER, Role.CASE_REVIEWER, Role.ADMINISTRATOR):
        client = sign_in_as(role).client
        assert client.get(f"{BASE}/rounds").status_code == 403
        assert client.get("/api/funding/rounds").status_code == 200
    visitor = sign_in_as(Role.PUBLIC).client
    assert visitor.get(f"{BASE}/rounds").status_code == 401
    partner = sign_in_as(Role.PARTNER).client
    assert partner.post(f"{BASE}/rounds", json={}).status_code == 403
