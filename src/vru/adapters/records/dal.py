"""The data-access layer: every write goes through one place, which audits it.

``Records`` hands out two kinds of unit of work:

* ``reading()``: a session that may only read. Flushing a change, or executing an
  INSERT/UPDATE/DELETE through it, raises ``UnauditedWrite``.
* ``writing(actor, action)``: a session in one transaction that first locks the audit
  chain's head. When it flushes, an ``after_flush`` hook (``_audit_flush``, the one place)
  appends one chained audit entry per created, changed or deleted object, in the same
  transaction: who, when, what, the values before and after (secrets redacted). If an entry
  cannot be written, the flush fails and the whole transaction rolls back, so a write that
  cannot be audited does not happen. Bulk and textual DML through a session are refused
  (they would change rows without per-row history). ``record`` adds an entry that is not a
  row change (a read of a restricted record, a failed sign-in, an export) to the same
  transaction.

The only write not audited is ``touch_session``: it moves a login session's last-seen time
forward for the idle timeout (at most once a minute per session), which is bookkeeping about
the session rather than a change to any record; the session's creation and end are audited.

Time comes from an injected ``clock`` (a function returning an aware UTC datetime) so tests
can freeze and move it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, TextClause, event, inspect, update
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, sessionmaker

from vru.adapters.records.audit import AuditActor, append_entry, lock_head
from vru.adapters.records.engine import WRITE_OPTION
from vru.adapters.records.models import AuditEntry, AuditHead, Base, UserSession

Clock = Callable[[], datetime]
REDACTED = "[redacted]"
_ACTOR = "vru_actor"
_ACTION = "vru_action"
_RECORDS = "vru_records"
_READ_ONLY = "vru_read_only"


class UnauditedWrite(RuntimeError):
    """A write was attempted outside the audited path; it was refused."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Records:
    """The records database: units of work for reading and (audited) writing."""

    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock
        # SQLite has one writer at a time. Its own wait for the write lock (the busy
        # handler) sleeps and retries, up to 100 ms a sleep, in no order, so under load a
        # writer can wait seconds for a lock held a few milliseconds at a time. This
        # process's writers queue here instead and each goes as soon as the one before
        # has finished; writers in other processes still meet the busy timeout.
        self._sqlite_writers = threading.RLock()
        self._reader = sessionmaker(bind=engine, expire_on_commit=False)
        self._writer = sessionmaker(bind=engine.execution_options(**{WRITE_OPTION: True}),
                                    expire_on_commit=False)
        for maker in (self._reader, self._writer):
            _listen(maker, "do_orm_execute", _refuse_bulk_writes)
        _listen(self._reader, "before_flush", _refuse_flush)
        _listen(self._writer, "before_flush", _require_actor)
        _listen(self._writer, "after_flush", _audit_flush)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def now(self) -> datetime:
        moment = self.clock()
        if moment.tzinfo is None:
            raise ValueError("the clock must return timezone-aware datetimes")
        return moment.astimezone(UTC)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session; anything it would write is refused."""
        session = self._reader()
        session.info[_READ_ONLY] = True
        try:
            yield session
        finally:
            session.close()  # ends the transaction; loaded objects stay readable

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A read-only session whose reads all see the database as it was at the first one
        (PostgreSQL: REPEATABLE READ; a SQLite read transaction in WAL mode already does),
        for results computed from several queries that must agree with each other."""
        with self.reading() as session:
            if self.dialect == "postgresql":
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session

    @contextmanager
    def writing(self, actor: AuditActor, action: str | None = None) -> Iterator[Session]:
        """A session in one transaction whose every change is audited as ``actor``.

        ``action`` names the use case in each entry (default ``<entity>.<create|update|
        delete>``). Commits on leaving the block; rolls back (and re-raises) on any error.
        """
        with self._write_turn():
            session = self._writer()
            session.info[_ACTOR] = actor
            session.info[_ACTION] = action
            session.info[_RECORDS] = self
            try:
                with session.begin():
                    lock_head(session.connection())
                    yield session
            finally:
                session.close()

    def _write_turn(self) -> AbstractContextManager[object]:
        """This process's queue of writers (SQLite only; see ``__init__``)."""
        return self._sqlite_writers if self.dialect == "sqlite" else nullcontext()

    def record(
        self,
        session: Session,
        action: str,
        entity: str,
        entity_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> int:
        """Append an audit entry that is not a row change (e.g. a restricted read) to the
        writing session's transaction; returns its sequence number."""
        actor = session.info.get(_ACTOR)
        if not isinstance(actor, AuditActor) or session.info.get(_RECORDS) is not self:
            raise UnauditedWrite("audit entries are written only inside Records.writing()")
        session.flush()
        return append_entry(session.connection(), self.now(), actor, action, entity,
                            entity_id, None, detail)

    def touch_session(self, session_id: int, last_seen: datetime) -> None:
        """Move a login session's last-seen time forward (the one unaudited write; see the
        module docstring)."""
        engine = self.engine.execution_options(**{WRITE_OPTION: True})
        with self._write_turn(), engine.begin() as conn:
            conn.execute(update(UserSession).where(UserSession.id == session_id)
                         .where(UserSession.last_seen_at < last_seen)
                         .values(last_seen_at=last_seen))


def _listen(maker: sessionmaker[Session], name: str, fn: Callable[..., Any]) -> None:
    event.listen(maker, name, fn)


def _refuse_bulk_writes(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise UnauditedWrite("bulk INSERT/UPDATE/DELETE through a session is not audited; "
                             "change objects one by one inside Records.writing()")
    if isinstance(state.statement, TextClause):
        raise UnauditedWrite("textual SQL through a records session is refused")


def _refuse_flush(session: Session, _ctx: UOWTransaction, _instances: object) -> None:
    if session.new or session.dirty or session.deleted:
        raise UnauditedWrite("a reading session cannot write; use Records.writing()")


def _require_actor(session: Session, _ctx: UOWTransaction, _instances: object) -> None:
    if not isinstance(session.info.get(_ACTOR), AuditActor):
        raise UnauditedWrite("no actor for this write: it cannot be audited")
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, (AuditEntry, AuditHead)):
            raise UnauditedWrite("the audit log is append-only")
    for obj in session.new:
        if isinstance(obj, (AuditEntry, AuditHead)):
            raise UnauditedWrite("audit entries are written only by the audit layer")


def _audit_flush(session: Session, _ctx: UOWTransaction) -> None:
    """The one place that audits writes: one chained entry per changed object."""
    actor = session.info.get(_ACTOR)
    records = session.info.get(_RECORDS)
    if not isinstance(actor, AuditActor) or not isinstance(records, Records):
        raise UnauditedWrite("no actor for this write: it cannot be audited")
    action = session.info.get(_ACTION)
    conn = session.connection()
    at = records.now()
    changes: list[tuple[str, Base, dict[str, Any] | None, dict[str, Any] | None]] = []
    for obj in _ordered(session.new):
        changes.append(("create", obj, None, _snapshot(obj)))
    for obj in _ordered(session.dirty):
        if not session.is_modified(obj, include_collections=False):
            continue
        old, new = _changed(obj)
        if old or new:
            changes.append(("update", obj, old, new))
    for obj in _ordered(session.deleted):
        changes.append(("delete", obj, _snapshot(obj), None))
    for kind, obj, before, after in changes:
        entity = _entity(obj)
        name = action if isinstance(action, str) and action else f"{entity}.{kind}"
        append_entry(conn, at, actor, name, entity, _identity(obj), before, after)


def _ordered(objects: Any) -> list[Base]:
    items = [o for o in objects if isinstance(o, Base)]
    return sorted(items, key=lambda o: (type(o).__name__, _identity(o) or ""))


def _entity(obj: Base) -> str:
    return type(obj).__audit_entity__ or type(obj).__tablename__


def _identity(obj: Base) -> str | None:
    state = inspect(obj)
    ident = state.identity
    if ident is None:  # just inserted: the key is on the object but not yet its identity
        ident = tuple(state.mapper.primary_key_from_instance(obj))
    if all(part is None for part in ident):
        return None
    return "/".join(str(part) for part in ident)


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _snapshot(obj: Base) -> dict[str, Any]:
    state = inspect(obj)
    out: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        column = attr.columns[0]
        value = state.dict.get(attr.key)
        out[attr.key] = REDACTED if column.info.get("redact") and value is not None \
            else _value(value)
    return out


def _changed(obj: Base) -> tuple[dict[str, Any], dict[str, Any]]:
    state = inspect(obj)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if not history.added and not history.deleted:
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        if attr.columns[0].info.get("redact"):
            before[attr.key] = REDACTED if old is not None else None
            after[attr.key] = "[changed]"
        else:
            before[attr.key] = _value(old)
            after[attr.key] = _value(new)
    return before, after
