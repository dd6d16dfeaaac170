"""Throwaway records databases and a movable clock, for tests and benchmarks.

``scratch_database("sqlite", folder)`` gives a SQLite URL in ``folder``;
``scratch_database("postgresql", folder)`` creates a new, uniquely named database on the
server at ``$VRU_TEST_POSTGRES_URL`` (see ``.ci/postgres.sh``) and drops it afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from vru.adapters.records.engine import normalise_url

TEST_POSTGRES_ENV = "VRU_TEST_POSTGRES_URL"
Backend = Literal["sqlite", "postgresql"]


def postgres_available() -> bool:
    return bool(os.environ.get(TEST_POSTGRES_ENV, "").strip())


@contextmanager
def scratch_database(backend: Backend, folder: Path) -> Iterator[str]:
    """A URL for an empty database of ``backend``; a PostgreSQL one is dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite+pysqlite:///{(folder / 'records.sqlite3').resolve()}"
        return
    server = os.environ.get(TEST_POSTGRES_ENV, "").strip()
    if not server:
        raise RuntimeError(f"set {TEST_POSTGRES_ENV} to a PostgreSQL URL (.ci/postgres.sh)")
    base = make_url(normalise_url(server))
    name = f"vru_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class MutableClock:
    """A clock for tests: returns a fixed UTC time until told to move."""

    def __init__(self, start: datetime | None = None) -> None:
        self.moment = start or datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
        if self.moment.tzinfo is None:
            raise ValueError("the clock's time must be timezone-aware")

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> datetime:
        self.moment = self.moment + timedelta(**delta)
        return self.moment
