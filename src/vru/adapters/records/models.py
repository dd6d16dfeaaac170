"""The records service's tables, as SQLAlchemy 2 declarative models.

Times are stored as UTC (``UTCDateTime``: naive UTC in the database, timezone-aware UTC in
Python) so SQLite and PostgreSQL behave the same. Columns marked ``info={"redact": True}``
(password hashes, TOTP secrets, session tokens) are never copied into the audit log: the
log records that they changed, not their values.

The audit log (``audit_log``) is append-only: the data-access layer only inserts into it,
and database triggers (created by the migration) refuse UPDATE and DELETE. ``audit_head``
holds the chain's last sequence number and hash in one row, which every writing transaction
locks first, so entries are chained in one order even with many writers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

GENESIS_HASH = "0" * 64


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime, stored as naive UTC in every database."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("datetimes stored in the records database must be timezone-aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _redacted() -> dict[str, Any]:
    return {"redact": True}


class Base(DeclarativeBase):
    """Base of the records models. ``__audit_entity__`` names a model in the audit log."""

    __audit_entity__: str = ""


class User(Base):
    __tablename__ = "users"
    __audit_entity__ = "user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(32))
    borough: Mapped[str | None] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255), info=_redacted())
    totp_secret: Mapped[str | None] = mapped_column(String(64), info=_redacted())
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserSession(Base):
    """A server-side login session. The cookie holds a random token; only its SHA-256 is
    stored, so a copy of the database does not let anyone sign in."""

    __tablename__ = "sessions"
    __audit_entity__ = "session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, info=_redacted())
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64), info=_redacted())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))
    client: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship(lazy="joined")


class AuditEntry(Base):
    """One entry of the hash-chained, append-only audit log.

    ``hash`` = SHA-256 of the canonical JSON of every other column and ``prev_hash``
    (see ``vru.adapters.records.audit``). ``at`` is ISO-8601 UTC text, so the hashed
    content is byte-for-byte what is stored in either database.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_action_entity_at", "action", "entity_id", "at"),
        Index("ix_audit_log_entity", "entity", "entity_id"),
        Index("ix_audit_log_client_action_at", "client", "action", "at"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(120))
    actor_role: Mapped[str | None] = mapped_column(String(32))
    client: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(120))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's head: one row (id 1) with the last sequence number and hash."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class Case(Base):
    """A case on the register of homicides and serious case reviews (restricted)."""

    __tablename__ = "cases"
    __audit_entity__ = "case"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    incident_date: Mapped[date | None] = mapped_column(Date)
    borough: Mapped[str] = mapped_column(String(80), index=True)
    ward: Mapped[str | None] = mapped_column(String(80))
    victim_age_band: Mapped[str] = mapped_column(String(32))
    victim_sex: Mapped[str] = mapped_column(String(32))
    victim_ethnicity: Mapped[str] = mapped_column(String(32))
    suspect_age_band: Mapped[str | None] = mapped_column(String(32))
    suspect_sex: Mapped[str | None] = mapped_column(String(32))
    suspect_ethnicity: Mapped[str | None] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(40))
    relationship: Mapped[str] = mapped_column(String(40))
    review_type: Mapped[str] = mapped_column(String(16))
    review_status: Mapped[str] = mapped_column(String(32))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}


class CaseCoding(Base):
    """One reviewer's coding of a case's factors (``factors``: code -> true/false/null)."""

    __tablename__ = "case_codings"
    __audit_entity__ = "case_coding"
    __table_args__ = (UniqueConstraint("case_id", "coding_round",
                                       name="uq_case_codings_case_round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    coding_round: Mapped[str] = mapped_column(String(16))
    coder: Mapped[str] = mapped_column(String(80))
    coder_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    factors: Mapped[dict[str, bool | None]] = mapped_column(JSON)
    coded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}


class Recommendation(Base):
    """A review's recommendation, tracked to closure."""

    __tablename__ = "recommendations"
    __audit_entity__ = "recommendation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    agency: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(32))
    due_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    closure_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
