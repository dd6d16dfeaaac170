"""The hash-chained, append-only audit log: appending an entry and verifying the chain.

Each entry records who (``actor``, ``actor_role``, ``client``), when (``at``, ISO-8601 UTC),
what (``action`` on ``entity`` ``entity_id``) and the values before and after (JSON; secrets
redacted). Its ``hash`` is::

    sha256( canonical_json({seq, at, actor, actor_role, client, action, entity, entity_id,
                            before, after, prev_hash}) )

where ``canonical_json`` sorts keys and uses no spaces, and ``prev_hash`` is the previous
entry's hash (64 zeros for the first). Changing, inserting or removing any entry breaks the
chain from that entry on, and ``verify_chain`` names the first entry that does not fit.
The head row (``audit_head``) holds the last sequence number and hash; a log whose last
entry does not match it has lost entries from its end. An attacker able to rewrite the whole
tail *and* the head can still truncate undetected, so the verify command prints the head
(sequence number and hash) as an *anchor* to note outside the system (for example in the
board's minutes) and can check against one noted earlier.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from vru.adapters.records.models import GENESIS_HASH, AuditEntry, AuditHead

HASHED_FIELDS = ("seq", "at", "actor", "actor_role", "client", "action", "entity",
                 "entity_id", "before", "after", "prev_hash")
AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
BATCH = 2000
AUDIT_TABLE = AuditEntry.__table__


class AuditError(RuntimeError):
    """The audit entry could not be written; the change it describes must not happen."""


@dataclass(frozen=True)
class AuditActor:
    """Who is acting: a user (``user_id``), or the command line on the server."""

    name: str
    role: str | None
    user_id: int | None = None
    client: str | None = None


def format_at(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise AuditError("audit times must be timezone-aware")
    return moment.astimezone(UTC).strftime(AT_FORMAT)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces; dates as ISO text; NaN refused."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_at(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot record a {type(value).__name__} in the audit log")


def entry_hash(fields: dict[str, Any]) -> str:
    """The SHA-256 (hex) of an entry's hashed fields (``HASHED_FIELDS``)."""
    content = {k: fields[k] for k in HASHED_FIELDS}
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def lock_head(conn: Connection) -> tuple[int, str]:
    """Lock the chain head for this transaction (PostgreSQL row lock; SQLite's writing
    transactions already hold the database's write lock) and return (last seq, last hash)."""
    row = conn.execute(
        select(AuditHead.last_seq, AuditHead.last_hash)
        .where(AuditHead.id == 1)
        .with_for_update()
    ).one_or_none()
    if row is None:
        raise AuditError("the audit log has no head row: run the database migrations")
    return int(row[0]), str(row[1])


def append_entry(
    conn: Connection,
    at: datetime,
    actor: AuditActor,
    action: str,
    entity: str,
    entity_id: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> int:
    """Append one chained entry in ``conn``'s transaction and return its sequence number.

    Raises ``AuditError`` if anything about the entry cannot be recorded; the caller's
    transaction must then roll back (the data-access layer does).
    """
    try:
        last_seq, last_hash = lock_head(conn)
        fields: dict[str, Any] = {
            "seq": last_seq + 1,
            "at": format_at(at),
            "actor": actor.name,
            "actor_role": actor.role,
            "client": actor.client,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "before": None if before is None else canonical_json(before),
            "after": None if after is None else canonical_json(after),
            "prev_hash": last_hash,
        }
        fields["hash"] = entry_hash(fields)
        conn.execute(insert(AuditEntry).values(**fields))
        conn.execute(update(AuditHead).where(AuditHead.id == 1)
                     .values(last_seq=fields["seq"], last_hash=fields["hash"]))
    except AuditError:
        raise
    except Exception as exc:  # any failure to audit stops the write
        raise AuditError(f"the audit entry for {action} could not be written: {exc}") from exc
    return int(fields["seq"])


@dataclass(frozen=True)
class ChainReport:
    """The result of verifying the chain. ``problem`` names the first bad entry, if any."""

    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    problem: str | None = None
    bad_seq: int | None = None

    @property
    def anchor(self) -> str:
        """``SEQ:HASH`` of the head, to note outside the system and check later."""
        return f"{self.head_seq}:{self.head_hash}"


def verify_chain(conn: Connection, expect_anchor: str | None = None) -> ChainReport:
    """Walk the whole log in order and check every entry's link and hash, then the head.

    ``expect_anchor`` (``SEQ:HASH`` noted earlier) also checks that the entry with that
    sequence number still has that hash.
    """
    head = conn.execute(select(AuditHead.last_seq, AuditHead.last_hash)
                        .where(AuditHead.id == 1)).one_or_none()
    if head is None:
        return ChainReport(False, 0, 0, GENESIS_HASH, "the audit log has no head row")
    head_seq, head_hash = int(head[0]), str(head[1])
    prev_hash, expected_seq, count = GENESIS_HASH, 1, 0
    anchor: tuple[int, str] | None = None
    if expect_anchor is not None:
        seq_text, _, hash_text = expect_anchor.partition(":")
        anchor = (int(seq_text), hash_text.strip())
    anchor_seen = False
    last_seq = 0
    while True:
        rows = conn.execute(
            select(AUDIT_TABLE).where(AUDIT_TABLE.c.seq >= expected_seq)
            .order_by(AUDIT_TABLE.c.seq).limit(BATCH)
        ).mappings().all()
        if not rows:
            break
        for row in rows:
            entry = _Entry(**{k: row[k] for k in (*HASHED_FIELDS, "hash")})
            where = _describe(entry)
            if entry.seq != expected_seq:
                return _bad(count, head_seq, head_hash, expected_seq,
                            f"entry {expected_seq} is missing (the next entry is {where})")
            if entry.prev_hash != prev_hash:
                return _bad(count, head_seq, head_hash, entry.seq,
                            f"{where} does not link to the entry before it (prev_hash "
                            "differs): an entry before it was changed, removed or inserted")
            if entry_hash({k: row[k] for k in HASHED_FIELDS}) != entry.hash:
                return _bad(count, head_seq, head_hash, entry.seq,
                            f"{where} has been altered: its content does not match its hash")
            if anchor is not None and entry.seq == anchor[0]:
                anchor_seen = True
                if entry.hash != anchor[1]:
                    return _bad(count, head_seq, head_hash, entry.seq,
                                f"{where} does not match the anchor noted earlier")
            prev_hash = entry.hash
            last_seq = entry.seq
            expected_seq += 1
            count += 1
    if last_seq != head_seq or prev_hash != head_hash:
        return _bad(count, head_seq, head_hash, last_seq + 1,
                    f"the log ends at entry {last_seq} but its head says {head_seq}: "
                    "entries have been removed from the end")
    if anchor is not None and not anchor_seen:
        return _bad(count, head_seq, head_hash, anchor[0],
                    f"entry {anchor[0]} of the anchor noted earlier is no longer in the log")
    return ChainReport(True, count, head_seq, head_hash)


def _bad(count: int, head_seq: int, head_hash: str, seq: int, problem: str) -> ChainReport:
    return ChainReport(False, count, head_seq, head_hash, problem, seq)


@dataclass(frozen=True)
class _Entry:
    seq: int
    at: str
    actor: str
    actor_role: str | None
    client: str | None
    action: str
    entity: str
    entity_id: str | None
    before: str | None
    after: str | None
    prev_hash: str
    hash: str


def _describe(entry: _Entry) -> str:
    return f"entry {entry.seq} ({entry.at}, {entry.action} by {entry.actor})"
