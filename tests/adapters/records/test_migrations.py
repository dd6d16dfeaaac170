"""Migrations: configured from code, idempotent, reversible, and in step with the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from vru.adapters.records.engine import (
    DATABASE_URL_ENV,
    database_url,
    describe,
    make_engine,
    normalise_url,
)
from vru.adapters.records.migrate import current_revision, downgrade, head_revision, upgrade
from vru.adapters.records.models import GENESIS_HASH, AuditHead, Base

TABLES = {"users", "sessions", "audit_log", "audit_head", "cases", "case_codings",
          "recommendations", "alembic_version",
          *(f"commissioning_{t}" for t in ("interventions", "rounds", "places", "applications",
                                           "conflicts", "scores", "moderations", "awards",
                                           "payments"))}


def test_upgrade_creates_every_table_and_the_chain_head(database_url: str) -> None:
    engine = make_engine(database_url)
    assert current_revision(engine) is None
    upgrade(engine)
    upgrade(engine)  # every start runs it: a second run changes nothing
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) == TABLES
    with engine.connect() as conn:
        head = conn.execute(select(AuditHead.last_seq, AuditHead.last_hash)).one()
    assert tuple(head) == (0, GENESIS_HASH)
    engine.dispose()


def test_models_and_migrations_agree(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(
            conn, opts={"compare_type": True}), Base.metadata)
    assert diffs == []
    engine.dispose()


def test_downgrade_to_base_and_back(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_migration_scripts_ship_inside_the_package() -> None:
    import vru.adapters.records.migrations as pkg

    folder = Path(pkg.__file__).parent
    assert (folder / "env.py").is_file()
    assert list((folder / "versions").glob("0001_*.py"))
    assert (folder / "versions" / "__init__.py").is_file()  # found by setuptools


def test_a_new_sqlite_file_is_private(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+pysqlite:///{tmp_path / 'd' / 'records.sqlite3'}")
    upgrade(engine)
    engine.dispose()
    for path in (tmp_path / "d").iterdir():
        assert path.stat().st_mode & 0o077 == 0, path


def test_database_url_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    assert database_url(tmp_path) == f"sqlite+pysqlite:///{tmp_path.resolve()}/records.sqlite3"
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql://u:pw@db/vru")
    assert database_url(tmp_path) == "postgresql+psycopg://u:pw@db/vru"
    assert database_url(tmp_path, "sqlite:///x.db") == "sqlite:///x.db"
    assert normalise_url("postgres://h/db") == "postgresql+psycopg://h/db"
    assert "pw" not in describe("postgresql+psycopg://u:pw@db/vru")
    with pytest.raises(ValueError, match="SQLite and PostgreSQL"):
        make_engine("mysql+pymysql://u@h/db")
