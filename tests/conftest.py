"""Shared fixtures. Tests read the real public data in ``../shared/data`` in place."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from vru.adapters.records.dal import Records
from vru.adapters.records.engine import make_engine
from vru.adapters.records.migrate import upgrade
from vru.adapters.records.testing import MutableClock, postgres_available, scratch_database
from vru.adapters.store.evidence_store import EvidenceStore
from vru.services.records import Principal, RecordsService, command_line
from vru.services.security.passwords import OWASP_MINIMUM, Hasher
from vru.services.security.settings import SecuritySettings

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("VRU_SHARED_DATA", REPO.parent / "shared" / "data")).resolve()
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public data folder laid out as ``../shared/data`` (see its SOURCES.md)."""
    if not (SHARED_DATA / "crime").is_dir():
        pytest.fail(f"the shared data folder is missing: {SHARED_DATA} (set VRU_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture()
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "data")


# -- the records service, on SQLite always and PostgreSQL when VRU_TEST_POSTGRES_URL is set --

RECORDS_SECRET = "records-tests-only-3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.skipif(
        not postgres_available(), reason="VRU_TEST_POSTGRES_URL is not set (.ci/postgres.sh)")),
]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A scratch records database on each backend in turn."""
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
    """A migrated records service on ``database_url`` with a frozen clock."""
    engine = make_engine(database_url)
    upgrade(engine)
    service = RecordsService(Records(engine, clock), SecuritySettings(
        secret_key=RECORDS_SECRET, argon2=OWASP_MINIMUM), hasher)
    yield service
    engine.dispose()


@pytest.fixture()
def cli() -> Principal:
    """The command line's principal (trusted, audited as cli:<user>)."""
    return command_line()
