"""Records service tests: SQLite always, PostgreSQL too when VRU_TEST_POSTGRES_URL is set."""

from __future__ import annotations

from vru.services.records import NewUser, RecordsService, command_line, create_user

PASSWORD = "correct horse battery staple"


def add_user(svc: RecordsService, username: str, role: str, borough: str | None = None,
             password: str = PASSWORD) -> NewUser:
    return create_user(svc, command_line(), username, password, role, borough=borough)
