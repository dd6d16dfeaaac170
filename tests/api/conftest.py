"""API tests: the app over a records service on SQLite and (with VRU_TEST_POSTGRES_URL)
PostgreSQL, a frozen clock, and signed-in clients for every role."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi import FastAPI

from vru.adapters.records.testing import MutableClock
from vru.interfaces.api.app import create_app
from vru.services.records import RecordsService, command_line, create_user
from vru.services.security import totp
from vru.services.security.roles import Role

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery staple"
BASE_URL = "https://testserver"


@pytest.fixture()
def app(svc: RecordsService) -> FastAPI:
    return create_app(svc)


@dataclass
class Session:
    """A client signed in as one user (or a visitor), with its CSRF token."""

    client: TestClient
    csrf: str | None
    username: str | None
    role: Role

    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf} if self.csrf else {}


def new_client(app: FastAPI) -> TestClient:
    return TestClient(app, base_url=BASE_URL)


def login(app: FastAPI, svc: RecordsService, username: str,
          password: str = PASSWORD, secret: str | None = None) -> TestClient:
    client = new_client(app)
    token = client.get("/api/auth/csrf").json()["csrf_token"]
    body = {"username": username, "password": password}
    if secret:
        body["one_time_code"] = totp.code_at(secret, svc.now())
    response = client.post("/api/auth/login", json=body, headers={"X-CSRF-Token": token})
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client


ROLE_BOROUGH = {Role.BOROUGH_OFFICER: "Hackney"}


@pytest.fixture()
def sign_in_as(app: FastAPI, svc: RecordsService, clock: MutableClock
               ) -> Callable[[Role], Session]:
    """Create a user of a role (once) and return a client signed in as them."""
    made: dict[Role, tuple[str, str | None]] = {}

    def make(role: Role) -> Session:
        if role is Role.PUBLIC:
            return Session(new_client(app), None, None, role)
        if role not in made:
            name = role.value.replace("_", "-")
            new = create_user(svc, command_line(), name, PASSWORD, role,
                              borough=ROLE_BOROUGH.get(role))
            made[role] = (name, new.totp_secret)
        name, secret = made[role]
        clock.advance(seconds=31)  # a fresh one-time code for every sign-in
        client = login(app, svc, name, secret=secret)
        return Session(client, client.headers["X-CSRF-Token"], name, role)

    return make
