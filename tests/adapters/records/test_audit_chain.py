"""The audit log: one chained entry per write, append-only, tampering detected and named."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from vru.adapters.records import dal
from vru.adapters.records.audit import (
    AuditActor,
    AuditError,
    canonical_json,
    entry_hash,
    verify_chain,
)
from vru.adapters.records.dal import REDACTED, Records, UnauditedWrite
from vru.adapters.records.models import AuditEntry, Case, User
from vru.adapters.records.testing import MutableClock

ALICE = AuditActor("alice", "case_reviewer", 1, "127.0.0.1")


def make_case(reference: str = "C-1", **kw: Any) -> Case:
    now = datetime(2025, 3, 1, tzinfo=UTC)
    values: dict[str, Any] = dict(
        reference=reference, year=2022, borough="Hackney", victim_age_band="age_18_24",
        victim_sex="male", victim_ethnicity="not_stated", method="knife_or_sharp_instrument",
        relationship="stranger", review_type="owhr", review_status="notified",
        synthetic=True, created_at=now, updated_at=now)
    values.update(kw)
    return Case(**values)


def entries(records: Records) -> list[AuditEntry]:
    with records.reading() as s:
        return list(s.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def verify(records: Records, anchor: str | None = None):  # type: ignore[no-untyped-def]
    with records.engine.connect() as conn:
        return verify_chain(conn, anchor)


def test_each_write_leaves_exactly_one_chained_entry(records: Records,
                                                     clock: MutableClock) -> None:
    with records.writing(ALICE) as s:
        s.add(make_case())
    clock.advance(minutes=5)
    with records.writing(ALICE, "case.edit") as s:
        case = s.scalars(select(Case)).one()
        case.review_status = "in_progress"
    with records.writing(ALICE) as s:
        s.add(make_case("C-2"))
        s.add(make_case("C-3"))
    log = entries(records)
    assert [e.seq for e in log] == [1, 2, 3, 4]
    assert [e.action for e in log] == ["case.create", "case.edit", "case.create",
                                       "case.create"]
    first, second = log[0], log[1]
    assert first.prev_hash == "0" * 64 and second.prev_hash == first.hash
    assert first.actor == "alice" and first.actor_role == "case_reviewer"
    assert first.client == "127.0.0.1" and first.entity == "case" and first.entity_id == "1"
    assert first.before is None and json.loads(first.after or "")["reference"] == "C-1"
    assert second.at == "2025-03-01T09:05:00.000000Z"
    assert json.loads(second.before or "") == {"review_status": "notified"}
    assert json.loads(second.after or "") == {"review_status": "in_progress"}
    report = verify(records)
    assert report.ok and report.entries == 4 and report.head_seq == 4
    assert report.anchor == f"4:{log[-1].hash}"
    assert verify(records, f"2:{second.hash}").ok


def test_an_entry_hash_covers_its_content_and_the_previous_hash() -> None:
    fields = dict(seq=1, at="2025-01-01T00:00:00.000000Z", actor="a", actor_role=None,
                  client=None, action="x", entity="case", entity_id="1", before=None,
                  after=canonical_json({"b": 1, "a": [1, 2]}), prev_hash="0" * 64)
    h = entry_hash(fields)
    assert len(h) == 64
    assert entry_hash({**fields, "prev_hash": "1" * 64}) != h
    assert entry_hash({**fields, "actor": "b"}) != h
    assert canonical_json({"b": 1, "a": 2}) == '{"a":2,"b":1}'
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_secrets_are_redacted_in_the_log(records: Records) -> None:
    now = datetime(2025, 3, 1, tzinfo=UTC)
    with records.writing(ALICE) as s:
        s.add(User(username="bob", display_name="Bob", role="analyst", borough=None,
                   password_hash="$argon2id$secret", totp_secret="BASE32SECRET",
                   disabled=False, created_at=now, password_changed_at=now))
    with records.writing(ALICE) as s:
        s.scalars(select(User)).one().password_hash = "$argon2id$other"
    created, changed = entries(records)
    assert "secret" not in (created.after or "").lower().replace("totp_secret", "")
    assert json.loads(created.after or "")["password_hash"] == REDACTED
    assert json.loads(changed.after or "") == {"password_hash": "[changed]"}
    assert "argon2" not in (changed.before or "")


def _tamper(engine: Engine, sql: str) -> None:
    """Change the log as an attacker with direct database access would: triggers off."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            conn.execute(text(sql))
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
            conn.execute(text(sql))


@pytest.mark.parametrize(("sql", "seq", "words"), [
    ("UPDATE audit_log SET after = replace(after, 'C-2', 'C-9') WHERE seq = 2", 2,
     "has been altered"),
    ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3", 3, "has been altered"),
    ("DELETE FROM audit_log WHERE seq = 2", 2, "entry 2 is missing"),
    ("DELETE FROM audit_log WHERE seq = 4", 4, "removed from the end"),
])
def test_tampering_with_one_row_is_detected_and_named(
    records: Records, sql: str, seq: int, words: str
) -> None:
    for ref in ("C-1", "C-2", "C-3", "C-4"):
        with records.writing(ALICE) as s:
            s.add(make_case(ref))
    assert verify(records).ok
    _tamper(records.engine, sql)
    report = verify(records)
    assert not report.ok
    assert report.bad_seq == seq
    assert words in (report.problem or "")
    if "altered" in words:
        assert f"entry {seq} (" in (report.problem or "")


def test_a_rewritten_entry_with_a_fresh_hash_breaks_the_next_link(records: Records) -> None:
    for ref in ("C-1", "C-2", "C-3"):
        with records.writing(ALICE) as s:
            s.add(make_case(ref))
    log = entries(records)
    forged = {k: getattr(log[1], k) for k in ("seq", "at", "actor", "actor_role", "client",
                                                "action", "entity", "entity_id", "before",
                                                "after", "prev_hash")}
    forged["actor"] = "mallory"
    new_hash = entry_hash(forged)
    _tamper(records.engine,
            f"UPDATE audit_log SET actor = 'mallory', hash = '{new_hash}' WHERE seq = 2")
    report = verify(records)
    assert not report.ok and report.bad_seq == 3
    assert "does not link" in (report.problem or "")


def test_anchor_noted_earlier_catches_a_rewritten_tail(records: Records) -> None:
    with records.writing(ALICE) as s:
        s.add(make_case("C-1"))
    anchor = verify(records).anchor
    _tamper(records.engine, "UPDATE audit_log SET hash = 'x' WHERE seq = 1")
    assert not verify(records, anchor).ok


def test_the_database_refuses_updates_and_deletes_of_the_log(records: Records) -> None:
    with records.writing(ALICE) as s:
        s.add(make_case())
    for sql in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError), records.engine.begin() as conn:
            conn.execute(text(sql))
    assert verify(records).ok


def test_a_write_that_cannot_be_audited_does_not_happen(
    records: Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_a: Any, **_k: Any) -> int:
        raise AuditError("disk full")

    monkeypatch.setattr(dal, "append_entry", broken)
    with pytest.raises(AuditError), records.writing(ALICE) as s:
        s.add(make_case())
    monkeypatch.undo()
    with records.reading() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 0
    assert entries(records) == []


def test_an_unserialisable_audit_value_stops_the_write(records: Records) -> None:
    with pytest.raises(AuditError), records.writing(ALICE) as s:
        case = make_case()
        s.add(case)
        s.flush()
        records.record(s, "case.read", "case", "1", {"bad": float("nan")})
    with records.reading() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 0


def test_unaudited_paths_are_refused(records: Records) -> None:
    with pytest.raises(UnauditedWrite), records.reading() as s:
        s.add(make_case())
        s.flush()
    with pytest.raises(UnauditedWrite), records.writing(ALICE) as s:
        from sqlalchemy import update

        s.execute(update(Case).values(review_status="x"))
    with pytest.raises(UnauditedWrite), records.writing(ALICE) as s:
        s.execute(text("DELETE FROM cases"))
    with pytest.raises(UnauditedWrite), records.writing(ALICE) as s:
        s.add(AuditEntry(seq=99, at="x", actor="x", action="x", entity="x",
                         prev_hash="x", hash="x"))
    with records.writing(ALICE) as s:
        s.add(make_case())
    with pytest.raises(UnauditedWrite), records.writing(ALICE) as s:
        entry = s.scalars(select(AuditEntry)).one()
        entry.actor = "mallory"
    with pytest.raises(UnauditedWrite), records.reading() as s:
        records.record(s, "case.read", "case", "1")
    assert verify(records).ok


def test_concurrent_writers_keep_one_unbroken_chain(records: Records) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(5):
                with records.writing(AuditActor(f"w{worker}", "case_reviewer")) as s:
                    s.add(make_case(f"W{worker}-{i}"))
                    records.record(s, "case.read", "case", f"W{worker}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = verify(records)
    assert report.ok and report.entries == 60


def test_restricted_reads_are_recorded(records: Records) -> None:
    with records.writing(ALICE) as s:
        s.add(make_case())
    with records.writing(ALICE) as s:
        records.record(s, "case.read", "case", "1", {"fields": ["victim_ethnicity"]})
    last = entries(records)[-1]
    assert (last.action, last.entity_id, last.before) == ("case.read", "1", None)


def _count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(AuditEntry)).scalar_one())
