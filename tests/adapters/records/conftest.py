"""Records tests run against SQLite and, when VRU_TEST_POSTGRES_URL is set, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vru.adapters.records.dal import Records
from vru.adapters.records.engine import make_engine
from vru.adapters.records.migrate import upgrade
from vru.adapters.records.testing import MutableClock


@pytest.fixture()
def records(database_url: str, clock: MutableClock) -> Iterator[Records]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield Records(engine, clock)
    engine.dispose()
