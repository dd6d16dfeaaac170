"""Records service tests: SQLite always, PostgreSQL too when VRU_TEST_POSTGRES_URL is set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vru.adapters.records.dal import Records
from vru.adapters.records.engine import make_engine
from vru.adapters.records.migrate import upgrade
from vru.adapters.records.testing import MutableClock, postgres_available, scratch_database
from vru.services.records import NewUser, Principal, RecordsService, command_line, create_user
from vru.services.security.passwords import OWASP_MINIMUM, Hasher
from vru.services.security.settings import SecuritySettings

SECRET = "test-only-3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a"
PASSWORD = "correct horse battery staple"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.skipif(
        not postgres_available(), reason="VRU_TEST_POSTGRES_URL is not set (.ci/postgres.sh)")),
]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with scratch_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture()
def clock() -> MutableClock:
    return MutableClock()


@pytest.fixture(scope="session")
def hasher() -> Hasher:
    return Hasher(OWASP_MINIMUM)


@pytest.fixture()
def svc(database_url: str, clock: MutableClock, hasher: Hasher) -> Iterator[RecordsService]:
    engine = make_engine(database_url)
    upgrade(engine)
    service = RecordsService(Records(engine, clock),
                             SecuritySettings(secret_key=SECRET, argon2=OWASP_MINIMUM), hasher)
    yield service
    engine.dispose()


@pytest.fixture()
def cli() -> Principal:
    return command_line()


def add_user(svc: RecordsService, username: str, role: str, borough: str | None = None,
             password: str = PASSWORD) -> NewUser:
    return create_user(svc, command_line(), username, password, role, borough=borough)
