"""Bringing the records database up to date with its Alembic migrations, from code.

The migration scripts ship inside the package (``vru.adapters.records.migrations``), and the
Alembic configuration is built here, so nothing but the database URL is needed at run time.
To write a new revision during development::

    python -c "from vru.adapters.records.migrate import revision; revision('what changed')"
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

SCRIPT_LOCATION = "vru.adapters.records:migrations"


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic configuration for the records migrations (no ini file)."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("path_separator", "os")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision the package ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships a revision
        raise RuntimeError("no migrations found")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (default: the newest). Safe to run every start."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database down to ``revision`` (``"base"`` removes everything)."""
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), revision)


def revision(message: str, url: str) -> None:  # pragma: no cover - a development tool
    """Autogenerate a new revision against the database at ``url`` (development only)."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        command.revision(alembic_config(conn), message=message, autogenerate=True)
