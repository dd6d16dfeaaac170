"""Every route x every role: the response matches the role matrix (100%)."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from fastapi import FastAPI

from vru.domain.register.cases import CaseRecord
from vru.interfaces.api.access import ROUTES, registered_routes
from vru.services import register as reg
from vru.services.records import RecordsService, command_line
from vru.services.security.roles import GRANTS, Permission, Role

from .conftest import Session

PATH_PARAMS = {"{case_id}": "1", "{recommendation_id}": "1", "{username}": "nobody",
               "{coding_round}": "first"}
# bodies that pass validation where that is easy, so a granted request reaches its use case
BODIES: dict[tuple[str, str], object] = {
    ("POST", "/api/cases"): {"reference": "M-1", "year": 2023, "borough": "Hackney",
                             "review_type": "dhr", "review_status": "notified"},
    ("PATCH", "/api/cases/{case_id}"): {"review_status": "in_progress"},
    ("PUT", "/api/cases/{case_id}/codings/{coding_round}"): {"factors": {"ace_abuse": True}},
    ("POST", "/api/cases/{case_id}/recommendations"): {"text": "Train staff",
                                                       "agency": "Police"},
    ("PATCH", "/api/recommendations/{recommendation_id}"): {"status": "in_progress"},
    ("POST", "/api/users/{username}/reset-password"): {"new_password": "x"},
}
LAST = {("POST", "/api/auth/logout")}


def test_every_route_is_in_the_access_table_and_nothing_else(app: FastAPI) -> None:
    served = registered_routes(app)
    assert served - set(ROUTES) == set(), "routes with no entry in access.ROUTES"
    assert set(ROUTES) - served == set(), "access.ROUTES names routes that do not exist"


def _allowed(role: Role, permission: Permission) -> bool:
    if permission is Permission.SIGNED_IN and role is Role.PUBLIC:
        return False
    return permission in GRANTS[role]


def _request(session: Session, method: str, template: str):  # type: ignore[no-untyped-def]
    path = template
    for key, value in PATH_PARAMS.items():
        path = path.replace(key, value)
    headers = session.headers()
    if method not in ("GET", "HEAD") and session.csrf is None:
        # a visitor's unsafe request carries a valid sign-in form token
        headers = {"X-CSRF-Token": session.client.get("/api/auth/csrf").json()["csrf_token"]}
    if (method, template) == ("POST", "/api/register/import"):
        return session.client.post(path, headers=headers, files={
            "file": ("cases.csv", io.BytesIO(b"reference,year\n"), "text/csv")})
    body = BODIES.get((method, template))
    return session.client.request(method, path, headers=headers,
                                  json=body if body is not None else None)


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_each_role_gets_exactly_what_the_matrix_grants(
    role: Role, app: FastAPI, svc: RecordsService, sign_in_as: Callable[[Role], Session]
) -> None:
    cli = command_line()
    case = reg.create_case(svc, cli, CaseRecord("C-1", 2022, "Camden", "owhr", "notified"))
    reg.add_recommendation(svc, cli, case["id"], "Share information", "Police")
    session = sign_in_as(role)
    wrong: list[str] = []
    checked = 0
    for (method, template), permission in sorted(ROUTES.items(),
                                                 key=lambda kv: kv[0] in LAST):
        response = _request(session, method, template)
        checked += 1
        if _allowed(role, permission):
            if response.status_code in (401, 403) or response.status_code >= 500:
                wrong.append(f"{method} {template}: {response.status_code} (should be allowed)"
                             f" {response.text[:120]}")
        else:
            expected = 401 if role is Role.PUBLIC else 403
            if response.status_code != expected:
                wrong.append(f"{method} {template}: {response.status_code} (expected "
                             f"{expected})")
    assert checked == len(ROUTES)
    assert wrong == []
