"""Signing in over HTTP: uniform failures, CSRF, sessions ending, no-store, OpenAPI."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI

from vru.adapters.records.testing import MutableClock
from vru.services.records import SIGN_IN_FAILED, RecordsService, command_line, create_user
from vru.services.records import set_disabled as disable_user
from vru.services.security import totp
from vru.services.security.roles import Role

from .conftest import PASSWORD, Session, login, new_client


def _attempt(app: FastAPI, body: dict[str, str]) -> tuple[int, dict[str, object]]:
    client = new_client(app)
    token = client.get("/api/auth/csrf").json()["csrf_token"]
    response = client.post("/api/auth/login", json=body, headers={"X-CSRF-Token": token})
    assert ("vru_session" in response.cookies) == (response.status_code == 200)
    return response.status_code, response.json()


def test_every_sign_in_failure_gets_the_same_answer(app: FastAPI, svc: RecordsService,
                                                    clock: MutableClock) -> None:
    cli = command_line()
    create_user(svc, cli, "ann", PASSWORD, "analyst")
    create_user(svc, cli, "dora", PASSWORD, "analyst")
    rita = create_user(svc, cli, "rita", PASSWORD, "case_reviewer")
    disable_user(svc, cli, "dora", True)
    answers = {
        "unknown user": _attempt(app, {"username": "nobody", "password": PASSWORD}),
        "wrong password": _attempt(app, {"username": "ann", "password": "not it at all"}),
        "disabled": _attempt(app, {"username": "dora", "password": PASSWORD}),
        "no one-time code": _attempt(app, {"username": "rita", "password": PASSWORD}),
        "wrong code": _attempt(app, {"username": "rita", "password": PASSWORD,
                                     "one_time_code": "000000"}),
    }
    for _ in range(5):
        _attempt(app, {"username": "ann", "password": "still wrong, sorry"})
    answers["throttled"] = _attempt(app, {"username": "ann", "password": PASSWORD})
    assert set(map(repr, answers.values())) == {repr((401, {"detail": SIGN_IN_FAILED}))}
    clock.advance(minutes=16)
    assert login(app, svc, "ann")
    assert login(app, svc, "rita", secret=rita.totp_secret)


def test_sign_in_needs_the_form_token(app: FastAPI, svc: RecordsService) -> None:
    create_user(svc, command_line(), "ann", PASSWORD, "analyst")
    body = {"username": "ann", "password": PASSWORD}
    client = new_client(app)
    assert client.post("/api/auth/login", json=body).status_code == 403  # no token at all
    token = client.get("/api/auth/csrf").json()["csrf_token"]
    other = new_client(app).get("/api/auth/csrf").json()["csrf_token"]
    assert client.post("/api/auth/login", json=body,
                       headers={"X-CSRF-Token": other}).status_code == 403
    forged = token.split(".")[0] + "." + "0" * 64
    client.cookies.set("vru_login_csrf", forged, path="/api/auth")
    assert client.post("/api/auth/login", json=body,
                       headers={"X-CSRF-Token": forged}).status_code == 403
    # an HTML form post carries the token as a field
    fresh = new_client(app)
    token = fresh.get("/api/auth/csrf").json()["csrf_token"]
    response = fresh.post("/api/auth/login", data={**body, "csrf_token": token})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie


def test_changes_need_the_session_csrf_token(
        app: FastAPI, sign_in_as: Callable[[Role], Session]) -> None:
    reviewer = sign_in_as(Role.CASE_REVIEWER)
    body = {"reference": "X-1", "year": 2023, "borough": "Hackney", "review_type": "dhr",
            "review_status": "notified"}
    client = reviewer.client
    token = client.headers.pop("X-CSRF-Token")
    assert client.post("/api/cases", json=body).status_code == 403
    assert client.post("/api/cases", json=body,
                       headers={"X-CSRF-Token": "not-the-token"}).status_code == 403
    other = sign_in_as(Role.CASE_REVIEWER)  # another session's token does not do
    assert client.post("/api/cases", json=body,
                       headers={"X-CSRF-Token": other.csrf or ""}).status_code == 403
    assert client.post("/api/cases", json=body,
                       headers={"X-CSRF-Token": token}).status_code == 201
    # reading needs no token
    assert client.get("/api/cases").status_code == 200
    # a form post with the token as a field
    response = client.post("/api/auth/logout", data={"csrf_token": token})
    assert response.status_code == 200


def test_logout_ends_the_session_everywhere(app: FastAPI,
                                            sign_in_as: Callable[[Role], Session]) -> None:
    analyst = sign_in_as(Role.ANALYST)
    cookie = analyst.client.cookies.get("vru_session")
    assert analyst.client.get("/api/auth/me").json()["username"] == "analyst"
    assert analyst.client.post("/api/auth/logout", headers=analyst.headers()).status_code \
        == 200
    thief = new_client(app)
    thief.cookies.set("vru_session", cookie or "")
    response = thief.get("/api/auth/me")
    assert response.status_code == 401
    assert response.json()["detail"] == "Your session has ended; sign in again."


def test_sessions_expire_when_idle_and_when_old(app: FastAPI, clock: MutableClock,
                                                sign_in_as: Callable[[Role], Session]
                                                ) -> None:
    analyst = sign_in_as(Role.ANALYST)
    clock.advance(minutes=29)
    assert analyst.client.get("/api/auth/me").status_code == 200
    clock.advance(minutes=31)
    assert analyst.client.get("/api/auth/me").status_code == 401
    again = sign_in_as(Role.ANALYST)
    for _ in range(17):  # in use every 28 minutes: 7 h 56 min
        clock.advance(minutes=28)
        assert again.client.get("/api/auth/me").status_code == 200
    clock.advance(minutes=10)
    assert again.client.get("/api/auth/me").status_code == 401  # over 8 hours


def test_one_time_codes_are_required_for_restricted_roles(app: FastAPI, svc: RecordsService,
                                                          clock: MutableClock) -> None:
    new = create_user(svc, command_line(), "bo", PASSWORD, "borough_officer",
                      borough="Hackney")
    status, _ = _attempt(app, {"username": "bo", "password": PASSWORD})
    assert status == 401
    assert new.totp_secret
    code = totp.code_at(new.totp_secret, svc.now())
    status, _ = _attempt(app, {"username": "bo", "password": PASSWORD, "one_time_code": code})
    assert status == 200
    status, _ = _attempt(app, {"username": "bo", "password": PASSWORD, "one_time_code": code})
    assert status == 401  # not twice


@pytest.mark.parametrize("path", ["/api/cases", "/api/cases/1", "/api/register/analysis",
                                  "/api/register/export", "/api/audit", "/api/users",
                                  "/api/register/summary", "/api/auth/me", "/api/health",
                                  "/api/nonexistent"])
def test_no_store_and_protective_headers_on_every_response(
        path: str, sign_in_as: Callable[[Role], Session]) -> None:
    for role in (Role.CASE_REVIEWER, Role.ADMINISTRATOR, Role.PUBLIC):
        response = sign_in_as(role).client.get(path)
        assert response.headers["cache-control"] == "no-store", (role, path)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert "strict-transport-security" in response.headers


def test_openapi_description_lists_every_route(app: FastAPI) -> None:
    client = new_client(app)
    spec = client.get("/api/openapi.json").json()
    assert spec["info"]["title"] == "vru records service"
    assert "/api/cases/{case_id}" in spec["paths"]
    assert "application/x-www-form-urlencoded" in \
        spec["paths"]["/api/auth/login"]["post"]["requestBody"]["content"]
    assert client.get("/api/docs").status_code == 200
