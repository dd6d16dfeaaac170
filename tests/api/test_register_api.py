"""The register over HTTP: records and fields by role, imports, exports, aggregates, audit."""

from __future__ import annotations

import io
from collections.abc import Callable

from fastapi import FastAPI
from sqlalchemy import text

from vru.domain.register.cases import PERSONAL_FIELDS, TEMPLATE_COLUMNS
from vru.services import register as reg
from vru.services.records import RecordsService, command_line
from vru.services.security.roles import Role

from .conftest import Session, new_client

CASE = {"reference": "H-1", "year": 2023, "borough": "Hackney", "review_type": "owhr",
        "review_status": "in_progress", "victim_ethnicity": "black", "ward": "Hoxton East"}


def _csv(rows: list[dict[str, str]]) -> bytes:
    lines = [",".join(TEMPLATE_COLUMNS)]
    for row in rows:
        lines.append(",".join(row.get(c, "") for c in TEMPLATE_COLUMNS))
    return ("\n".join(lines) + "\n").encode()


def test_records_and_fields_by_role(sign_in_as: Callable[[Role], Session]) -> None:
    reviewer = sign_in_as(Role.CASE_REVIEWER)
    hackney = reviewer.client.post("/api/cases", json=CASE).json()
    camden = reviewer.client.post("/api/cases", json={**CASE, "reference": "C-1",
                                                      "borough": "Camden"}).json()
    full = reviewer.client.get(f"/api/cases/{hackney['id']}").json()
    assert full["victim_ethnicity"] == "black" and full["withheld"] == []
    officer = sign_in_as(Role.BOROUGH_OFFICER)  # Hackney
    listed = officer.client.get("/api/cases").json()
    assert [c["reference"] for c in listed["items"]] == ["H-1"]
    seen = officer.client.get(f"/api/cases/{hackney['id']}").json()
    assert not set(seen) & PERSONAL_FIELDS and "codings" not in seen
    assert "victim_ethnicity" in seen["withheld"]
    assert officer.client.get(f"/api/cases/{camden['id']}").status_code == 404
    assert officer.client.patch(f"/api/cases/{hackney['id']}",
                                json={"review_status": "completed"},
                                headers=officer.headers()).status_code == 403


def test_edits_codings_and_conflicts(sign_in_as: Callable[[Role], Session]) -> None:
    reviewer = sign_in_as(Role.CASE_REVIEWER)
    case = reviewer.client.post("/api/cases", json=CASE).json()
    bad = reviewer.client.post("/api/cases", json={**CASE, "reference": "H-2",
                                                   "method": "poison"})
    assert bad.status_code == 422 and "method" in bad.json()["detail"]
    ok = reviewer.client.patch(f"/api/cases/{case['id']}",
                               json={"version": case["version"], "review_status": "completed"})
    assert ok.status_code == 200 and ok.json()["version"] == case["version"] + 1
    stale = reviewer.client.patch(f"/api/cases/{case['id']}",
                                  json={"version": case["version"], "year": 2022})
    assert stale.status_code == 409
    coded = reviewer.client.put(f"/api/cases/{case['id']}/codings/first",
                                json={"factors": {"ace_abuse": True, "school_exclusion": False}})
    assert coded.status_code == 200 and coded.json()["coder"] == "case-reviewer"
    assert reviewer.client.put(f"/api/cases/{case['id']}/codings/third",
                               json={"factors": {}}).status_code == 422
    rec = reviewer.client.post(f"/api/cases/{case['id']}/recommendations",
                               json={"text": "Joint training", "agency": "Youth service"})
    assert rec.status_code == 201
    closed = reviewer.client.patch(f"/api/recommendations/{rec.json()['id']}",
                                   json={"status": "closed_implemented"})
    assert closed.json()["closed_on"] is not None
    assert reviewer.client.get(f"/api/cases/{case['id']}").json()["codings"][0][
        "factors"]["ace_abuse"] is True


def test_upload_is_imported_whole_or_not_at_all(sign_in_as: Callable[[Role], Session]
                                                ) -> None:
    reviewer = sign_in_as(Role.CASE_REVIEWER)
    good = [{"reference": f"U-{i}", "year": "2022", "borough": "Hackney",
             "review_type": "dhr", "review_status": "completed", "coding_round": "first",
             "coder": "AB", "ace_abuse": "yes"} for i in range(12)]
    bad = [*good, {**good[0], "reference": "U-99", "review_status": "lost"}]
    response = reviewer.client.post("/api/register/import", files={
        "file": ("cases.csv", io.BytesIO(_csv(bad)), "text/csv")})
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert [(p["row"], p["column"]) for p in problems] == [(14, "review_status")]
    assert reviewer.client.get("/api/cases").json()["total"] == 0
    response = reviewer.client.post("/api/register/import", files={
        "file": ("cases.csv", io.BytesIO(_csv(good)), "text/csv")})
    assert response.json() == {"file": "cases.csv", "cases": 12, "codings": 12}
    exported = reviewer.client.get("/api/register/export?format=csv")
    assert exported.status_code == 200
    assert exported.headers["cache-control"] == "no-store"
    lines = exported.content.decode("utf-8-sig").splitlines()
    assert lines[0].split(",") == list(TEMPLATE_COLUMNS) and len(lines) == 13
    assert reviewer.client.post("/api/register/import", files={
        "file": ("cases.pdf", io.BytesIO(b"%PDF"), "application/pdf")}).status_code == 422
    template = reviewer.client.get("/api/register/template?format=csv")
    assert template.content.decode("utf-8-sig").strip().split(",") == list(TEMPLATE_COLUMNS)


def test_only_controlled_aggregates_reach_everyone(
        svc: RecordsService, sign_in_as: Callable[[Role], Session]) -> None:
    reg.load_synthetic(svc, command_line(), 60, seed=2)
    public = sign_in_as(Role.PUBLIC).client.get("/api/register/summary")
    assert public.status_code == 200
    body = public.json()
    assert body["threshold"] == 10 and body["rounding_base"] == 5
    for rows in body["tables"].values():
        for row in rows:
            for key in ("present", "absent", "cases", "both", "n", "total"):
                value = row.get(key)
                assert value is None or value == 0 or (value >= 10 and value % 5 == 0)
    analysis = sign_in_as(Role.CASE_REVIEWER).client.get("/api/register/analysis").json()
    assert {"agreement", "cooccurrence", "prevalence_by_method"} <= set(analysis["tables"])
    for role in (Role.ANALYST, Role.BOROUGH_OFFICER, Role.PARTNER):
        assert sign_in_as(role).client.get("/api/register/analysis").status_code == 403


def test_audit_endpoints_verify_and_name_a_tampered_entry(
        svc: RecordsService, sign_in_as: Callable[[Role], Session]) -> None:
    reviewer = sign_in_as(Role.CASE_REVIEWER)
    case = reviewer.client.post("/api/cases", json=CASE).json()
    reviewer.client.get(f"/api/cases/{case['id']}")
    admin = sign_in_as(Role.ADMINISTRATOR)
    entries = admin.client.get("/api/audit?limit=5").json()
    assert entries[0]["action"] == "auth.login" and entries[0]["actor"] == "administrator"
    reads = admin.client.get(f"/api/audit?entity=case&entity_id={case['id']}").json()
    assert [e["action"] for e in reads] == ["case.read", "case.create"]
    assert admin.client.get("/api/audit/verify").json()["ok"] is True
    seq = reads[0]["seq"]
    with svc.records.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text(f"UPDATE audit_log SET actor = 'someone else' WHERE seq = {seq}"))
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
    report = admin.client.get("/api/audit/verify").json()
    assert report["ok"] is False and report["bad_seq"] == seq
    assert f"entry {seq} (" in report["problem"]


def test_vocabulary_and_health_are_public(app: FastAPI) -> None:
    client = new_client(app)
    vocab = client.get("/api/register/vocabulary").json()
    assert "review_type" in vocab["vocabularies"] and len(vocab["factors"]) == 20
    assert client.get("/api/health").json()["status"] == "ok"
