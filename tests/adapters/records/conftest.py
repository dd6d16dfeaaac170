"""Records tests run against SQLite and, when VRU_TEST_POSTGRES_URL is set, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vru.adapters.records.dal import Records
from vru.adapters.records.engine import make_engine
from vru.adapters.records.migrate import upgrade
from vru.adapters.records.testing import MutableClock, postgres_available, scratch_database

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


@pytest.fixture()
def records(database_url: str, clock: MutableClock) -> Iterator[Records]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield Records(engine, clock)
    engine.dispose()
