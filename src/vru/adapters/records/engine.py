"""Which database the records service uses, and how to connect to it.

``VRU_DATABASE_URL`` (a SQLAlchemy URL; ``postgresql://...`` is read as psycopg 3) points at
PostgreSQL for a multi-user service; without it the records live in SQLite at
``<data_dir>/records.sqlite3``, with nothing to set up.

SQLite runs in WAL mode with foreign keys on and a 30 s busy timeout. Its transactions are
begun explicitly: ``BEGIN IMMEDIATE`` for writing units (the write lock is taken at the
start, so two writers never both read the audit chain's head and then collide), plain
``BEGIN`` for reading ones. Writing connections are asked for with the execution option
``vru_write=True``. A new SQLite file is created readable by its owner only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url

DATABASE_URL_ENV = "VRU_DATABASE_URL"
SQLITE_FILE = "records.sqlite3"
WRITE_OPTION = "vru_write"


def database_url(data_dir: Path, explicit: str | None = None) -> str:
    """The records database URL: ``explicit``, else ``$VRU_DATABASE_URL``, else SQLite in
    ``data_dir``."""
    url = explicit or os.environ.get(DATABASE_URL_ENV, "").strip()
    if url:
        return normalise_url(url)
    return f"sqlite+pysqlite:///{(data_dir / SQLITE_FILE).resolve()}"


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` URLs use psycopg 3 (the driver installed)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def describe(url: str | URL) -> str:
    """The URL with any password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    """An engine for ``url``, configured as the module docstring says."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database))
        engine = create_engine(parsed, connect_args={"check_same_thread": False,
                                                     "timeout": 30})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(parsed, pool_size=10, max_overflow=30, pool_pre_ping=True)
    raise ValueError(f"the records service supports SQLite and PostgreSQL, not {describe(url)}")


def _private_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only (its -wal and -shm files take the
    same permissions): it holds restricted records."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event issues BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    write = bool(conn.get_execution_options().get(WRITE_OPTION))
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
