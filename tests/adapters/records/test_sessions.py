"""Units of work: a snapshot sees one state of the database; writers in one process queue."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vru.adapters.records.audit import AuditActor, verify_chain
from vru.adapters.records.dal import Records, UnauditedWrite
from vru.adapters.records.models import Case

from .test_audit_chain import ALICE, make_case


def _cases(s: Session) -> int:
    return int(s.scalar(select(func.count(Case.id))) or 0)


def test_a_snapshot_does_not_see_changes_committed_after_its_first_read(
        records: Records) -> None:
    with records.writing(ALICE) as w:
        w.add(make_case("S-1"))
    with records.snapshot() as s:
        assert _cases(s) == 1
        with records.writing(ALICE) as w:  # committed while the snapshot is open
            w.add(make_case("S-2"))
        assert _cases(s) == 1  # the same state as its first read
        assert s.scalars(select(Case.reference)).all() == ["S-1"]
    with records.snapshot() as s:
        assert _cases(s) == 2


def test_a_snapshot_cannot_write(records: Records) -> None:
    with pytest.raises(UnauditedWrite), records.snapshot() as s:
        s.add(make_case("S-3"))
        s.flush()


def test_a_writer_waits_for_the_one_before_it_and_then_goes(records: Records) -> None:
    inside = threading.Event()
    release = threading.Event()
    order: list[str] = []
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with records.writing(ALICE) as s:
                s.add(make_case("Q-1"))
                inside.set()
                release.wait(10)
                order.append("first done")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def second() -> None:
        try:
            inside.wait(10)
            with records.writing(AuditActor("bob", "case_reviewer")) as s:
                order.append("second in")
                s.add(make_case("Q-2"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    inside.wait(10)
    release.set()
    for t in threads:
        t.join(30)
    assert errors == []
    assert order == ["first done", "second in"]
    with records.engine.connect() as conn:
        assert verify_chain(conn).ok
