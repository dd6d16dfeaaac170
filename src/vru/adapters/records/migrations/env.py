"""Alembic environment for the records database, configured from code (no alembic.ini).

Run migrations with ``vru.adapters.records.migrate.upgrade(engine)``, which passes an open
connection in ``config.attributes["connection"]``. Offline (SQL script) mode uses the URL
in the ``sqlalchemy.url`` option.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from vru.adapters.records.models import Base

config = context.config
target_metadata = Base.metadata


def _run_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_metadata, literal_binds=True,
                      dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _run_online(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite",
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
else:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run the records migrations with "
                           "vru.adapters.records.migrate.upgrade(engine)")
    _run_online(connection)
