"""The register's use cases: per-record and per-field access, audited reads, coding,
recommendations, whole-file imports, exports, and what may be published."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import func, select

from vru.adapters.records.models import AuditEntry, Case, CaseCoding
from vru.domain.problems import InputError
from vru.domain.register import prevalence as prev
from vru.domain.register.cases import PERSONAL_FIELDS, TEMPLATE_COLUMNS, CaseRecord
from vru.domain.register.vocabulary import FACTOR_CODES
from vru.services import register as reg
from vru.services.records import (
    Conflict,
    Forbidden,
    NotFound,
    Principal,
    RecordsService,
    UserError,
    visitor,
)
from vru.services.security.roles import Role

REVIEWER = Principal(Role.CASE_REVIEWER, user_id=None, username="rita", session_id=1)
OFFICER = Principal(Role.BOROUGH_OFFICER, username="bo", borough="Hackney", session_id=2)
ANALYST = Principal(Role.ANALYST, username="ann", session_id=3)


def _case(ref: str, borough: str = "Hackney", **kw: object) -> CaseRecord:
    return CaseRecord(ref, 2022, borough, "owhr", "in_progress", victim_ethnicity="black",
                      **kw)  # type: ignore[arg-type]


def _entries(svc: RecordsService) -> list[AuditEntry]:
    with svc.records.reading() as s:
        return list(s.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def _count(svc: RecordsService, model: type) -> int:
    with svc.records.reading() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_borough_officers_see_their_borough_without_personal_details(
        svc: RecordsService) -> None:
    mine = reg.create_case(svc, REVIEWER, _case("H-1", ward="Hoxton East"))
    other = reg.create_case(svc, REVIEWER, _case("C-1", "Camden"))
    listed = reg.list_cases(svc, OFFICER)
    assert [c["reference"] for c in listed["items"]] == ["H-1"] and listed["total"] == 1
    seen = reg.get_case(svc, OFFICER, mine["id"])
    assert not set(seen) & PERSONAL_FIELDS and "codings" not in seen
    assert set(seen["withheld"]) == PERSONAL_FIELDS | {"codings"}
    with pytest.raises(NotFound):
        reg.get_case(svc, OFFICER, other["id"])
    assert reg.list_cases(svc, OFFICER, borough="Camden")["items"] == []
    full = reg.get_case(svc, REVIEWER, mine["id"])
    assert full["victim_ethnicity"] == "black" and full["ward"] == "Hoxton East"
    assert full["withheld"] == [] and full["codings"] == []
    for who in (ANALYST, visitor()):
        with pytest.raises(Forbidden):
            reg.list_cases(svc, who)
        with pytest.raises(Forbidden):
            reg.get_case(svc, who, mine["id"])


def test_every_read_of_a_case_leaves_exactly_one_entry(svc: RecordsService) -> None:
    case = reg.create_case(svc, REVIEWER, _case("H-1"))
    before = len(_entries(svc))
    reg.get_case(svc, OFFICER, case["id"])
    reg.list_cases(svc, REVIEWER)
    new = _entries(svc)[before:]
    assert [(e.action, e.actor, e.entity_id) for e in new] == [
        ("case.read", "bo", str(case["id"])), ("case.list", "rita", None)]
    assert json.loads(new[0].after or "{}") == {"personal_details": False}
    assert json.loads(new[1].after or "{}")["case_ids"] == [case["id"]]
    with pytest.raises(NotFound):
        reg.get_case(svc, OFFICER, 999)
    assert len(_entries(svc)) == before + 2  # a refused read writes nothing


def test_writes_check_permissions_values_and_versions(svc: RecordsService) -> None:
    with pytest.raises(Forbidden):
        reg.create_case(svc, OFFICER, _case("H-1"))
    with pytest.raises(UserError, match="method"):
        reg.create_case(svc, REVIEWER, _case("H-1", method="poison"))
    case = reg.create_case(svc, REVIEWER, _case("H-1"))
    with pytest.raises(UserError, match="already"):
        reg.create_case(svc, REVIEWER, _case("H-1"))
    changed = reg.update_case(svc, REVIEWER, case["id"], {"review_status": "completed"},
                              version=case["version"])
    assert changed["review_status"] == "completed" and changed["version"] == 2
    with pytest.raises(Conflict):
        reg.update_case(svc, REVIEWER, case["id"], {"review_status": "published"},
                        version=case["version"])
    with pytest.raises(UserError, match="Unknown case fields"):
        reg.update_case(svc, REVIEWER, case["id"], {"colour": "red"})
    with pytest.raises(UserError, match="year"):
        reg.update_case(svc, REVIEWER, case["id"], {"year": 1800})
    updates = [e for e in _entries(svc) if e.action == "case.update"]
    assert len(updates) == 1
    assert json.loads(updates[0].before or "{}")["review_status"] == "in_progress"


def test_double_coding_rules(svc: RecordsService) -> None:
    case = reg.create_case(svc, REVIEWER, _case("H-1"))
    with pytest.raises(UserError, match="first round"):
        reg.code_case(svc, REVIEWER, case["id"], "second", {"ace_abuse": True}, "B")
    reg.code_case(svc, REVIEWER, case["id"], "first", {"ace_abuse": True}, "A")
    with pytest.raises(UserError, match="different reviewer"):
        reg.code_case(svc, REVIEWER, case["id"], "second", {"ace_abuse": True}, "A")
    second = reg.code_case(svc, REVIEWER, case["id"], "second", {"ace_abuse": False}, "B")
    assert second["factors"]["ace_abuse"] is False and second["factors"]["ace_neglect"] is None
    again = reg.code_case(svc, REVIEWER, case["id"], "second", {"ace_abuse": True}, "B")
    assert again["id"] == second["id"]
    with pytest.raises(UserError, match="unknown factor"):
        reg.code_case(svc, REVIEWER, case["id"], "first", {"ace_unicorns": True}, "A")
    with pytest.raises(Forbidden):
        reg.code_case(svc, OFFICER, case["id"], "first", {}, "A")
    assert _count(svc, CaseCoding) == 2


def test_recommendations_are_tracked_to_closure(svc: RecordsService) -> None:
    case = reg.create_case(svc, REVIEWER, _case("H-1"))
    r = reg.add_recommendation(svc, REVIEWER, case["id"], "Share risk information",
                               "Police")
    assert r["status"] == "open" and r["closed_on"] is None
    with pytest.raises(UserError, match="why"):
        reg.update_recommendation(svc, REVIEWER, r["id"], "closed_not_implemented")
    closed = reg.update_recommendation(svc, REVIEWER, r["id"], "closed_implemented")
    assert closed["closed_on"] == svc.now().date().isoformat()
    reopened = reg.update_recommendation(svc, REVIEWER, r["id"], "in_progress")
    assert reopened["closed_on"] is None
    assert reg.get_case(svc, OFFICER, case["id"])["recommendations"][0]["id"] == r["id"]


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    pd.DataFrame(rows, columns=list(TEMPLATE_COLUMNS)).fillna("").to_csv(path, index=False)
    return path


def _row(ref: str, **kw: str) -> dict[str, str]:
    row = dict.fromkeys(TEMPLATE_COLUMNS, "")
    row.update(reference=ref, year="2022", borough="Hackney", review_type="dhr",
               review_status="completed")
    row.update(kw)
    return row


def test_an_import_with_one_bad_row_changes_nothing(svc: RecordsService,
                                                    tmp_path: Path) -> None:
    good = [_row(f"R-{i}", coding_round="first", coder="A", ace_abuse="yes")
            for i in range(20)]
    bad = [*good, _row("R-99", year="20x2")]
    audit_before = len(_entries(svc))
    with pytest.raises(InputError) as err:
        reg.import_cases(svc, REVIEWER, _write_csv(tmp_path / "bad.csv", bad))
    assert [(p.row, p.column) for p in err.value.problems] == [(22, "year")]
    assert _count(svc, Case) == 0 and len(_entries(svc)) == audit_before
    result = reg.import_cases(svc, REVIEWER, _write_csv(tmp_path / "good.csv", good))
    assert (result.cases, result.codings) == (20, 20)
    with pytest.raises(InputError) as err:  # the same cases again: refused whole
        reg.import_cases(svc, REVIEWER, _write_csv(tmp_path / "again.csv", good[:2]))
    assert {p.message for p in err.value.problems} == {"is already on the register"}
    assert _count(svc, Case) == 20
    with pytest.raises(Forbidden):
        reg.import_cases(svc, OFFICER, tmp_path / "good.csv")


def test_a_database_failure_mid_import_rolls_everything_back(
        svc: RecordsService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [_row(f"R-{i}", coding_round="first", coder="A") for i in range(5)]
    original = svc.records.record

    def failing(*args: object, **kw: object) -> int:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(svc.records, "record", failing)
    with pytest.raises(RuntimeError):
        reg.import_cases(svc, REVIEWER, _write_csv(tmp_path / "f.csv", rows))
    monkeypatch.setattr(svc.records, "record", original)
    assert _count(svc, Case) == 0 and _count(svc, CaseCoding) == 0


def test_export_round_trips_through_import_csv_and_excel(svc: RecordsService,
                                                         tmp_path: Path) -> None:
    reg.load_synthetic(svc, REVIEWER, 30, seed=3)
    for suffix in ("csv", "xlsx"):
        path = tmp_path / f"export.{suffix}"
        rows = reg.export_cases(svc, REVIEWER, path)
        assert rows >= 30
        with pytest.raises(InputError):  # already there
            reg.import_cases(svc, REVIEWER, path)
    with pytest.raises(Forbidden):
        reg.export_cases(svc, OFFICER, tmp_path / "no.csv")
    assert [e.action for e in _entries(svc)].count("register.export") == 2
    # into an empty register: identical cases and codings
    from vru.adapters.records.dal import Records
    from vru.adapters.records.engine import make_engine
    from vru.adapters.records.migrate import upgrade

    other_engine = make_engine(f"sqlite+pysqlite:///{tmp_path / 'other.sqlite3'}")
    upgrade(other_engine)
    other = RecordsService(Records(other_engine, svc.records.clock), svc.settings,
                           svc.hasher)
    result = reg.import_cases(other, REVIEWER, tmp_path / "export.xlsx")
    assert result.cases == 30

    def snapshot(service: RecordsService) -> tuple[list[CaseRecord], list[object]]:
        with service.records.reading() as s:
            cases, codings = reg._load(s, REVIEWER, None)
        return cases, sorted((c.reference, c.coding_round, c.coder, sorted(c.values.items(),
                              key=str)) for c in codings)

    assert snapshot(other) == snapshot(svc)
    other_engine.dispose()


def test_template_files(tmp_path: Path) -> None:
    csv_path = reg.write_template(tmp_path / "t.csv")
    assert csv_path.read_text(encoding="utf-8-sig").strip().split(",") == list(
        TEMPLATE_COLUMNS)
    book = openpyxl.load_workbook(reg.write_template(tmp_path / "t.xlsx"))
    assert book.sheetnames == ["cases", "codes", "notes"]
    assert [c.value for c in book["cases"][1]] == list(TEMPLATE_COLUMNS)


def test_restricted_analysis_is_the_domain_analysis_of_the_register(
        svc: RecordsService) -> None:
    reg.load_synthetic(svc, REVIEWER, 120, seed=11)
    with pytest.raises(Forbidden):
        reg.restricted_analysis(svc, OFFICER)
    out = reg.restricted_analysis(svc, REVIEWER)
    cases, codings = reg.synthetic_register(120, seed=11)
    frame = prev.analysis_frame(cases, codings)
    pd.testing.assert_frame_equal(out["prevalence"], prev.factor_prevalence(frame))
    assert set(out) >= {"cooccurrence", "agreement", "ace_distribution", "four_or_more",
                        "prevalence_by_year", "prevalence_by_victim_age_band",
                        "prevalence_by_method", "four_or_more_by_method"}
    assert out["agreement"]["n"].max() > 20
    assert [e.action for e in _entries(svc)][-1] == "register.analysis"


def test_published_summary_never_shows_a_small_count(svc: RecordsService) -> None:
    reg.load_synthetic(svc, REVIEWER, 150, seed=5)
    reg.create_case(svc, REVIEWER, _case("REAL-1"))
    summary = reg.published_summary(svc, visitor())
    assert summary["synthetic_cases_included"] is True
    assert summary["notes"][0].startswith("SYNTHETIC")
    count_columns = {"present", "absent", "n_known", "cases", "n", "both", "total", "dhr",
                     "sar", "cspr", "owhr", "none"}
    shown = 0
    for name, rows in summary["tables"].items():
        for row in rows:
            for col, value in row.items():
                if col in count_columns and value is not None:
                    assert value == 0 or value >= 10, (name, row)
                    assert value % 5 == 0, (name, row)
                    shown += 1
            if row.get("present") is None and "percent" in row:
                assert row["percent"] is None and row["ci_low_percent"] is None
    assert shown > 100
    for row in summary["tables"]["cooccurrence"]:
        if row["odds_ratio"] is not None:
            assert row["note"] == ""
    with pytest.raises(UserError):
        reg.published_summary(svc, visitor(), threshold=3)
    assert reg.published_summary(svc, visitor(), synthetic=False)["tables"][
        "cases_by_year_and_review_type"][-1]["total"] is None  # one real case: suppressed


def test_synthetic_register_is_labelled_and_reproducible() -> None:
    a = reg.synthetic_register(40, seed=1)
    assert a == reg.synthetic_register(40, seed=1)
    cases, codings = a
    assert all(c.synthetic and c.reference.startswith("SYN-") for c in cases)
    assert all(c.borough.startswith("Synthetic") for c in cases)
    assert {c.coding_round for c in codings} == {"first", "second", "consensus"}
    assert all(set(c.values) == set(FACTOR_CODES) for c in codings)
    assert dataclasses.is_dataclass(cases[0])


def test_cached_aggregates_follow_every_change(svc: RecordsService) -> None:
    reg.load_synthetic(svc, REVIEWER, 40, seed=8)
    consensus = {c.reference for c in reg.synthetic_register(40, seed=8)[1]
                 if c.coding_round == "consensus"}
    reference = next(f"SYN-{i:04d}" for i in range(1, 41) if f"SYN-{i:04d}" not in consensus)
    first = reg.restricted_analysis(svc, REVIEWER)["prevalence"].set_index("factor")
    summary = reg.published_summary(svc, visitor())
    assert reg.published_summary(svc, visitor()) == summary  # served from the cache
    with svc.records.reading() as s:
        case_id = s.scalar(select(Case.id).where(Case.reference == reference))
        current = s.scalar(select(CaseCoding.factors).where(CaseCoding.case_id == case_id)
                           .where(CaseCoding.coding_round == "first"))
    assert case_id is not None and current is not None
    flipped = {k: (None if v is None else not v) for k, v in current.items()}
    reg.code_case(svc, REVIEWER, case_id, "first", flipped, "SYN-A")  # same count of codings
    second = reg.restricted_analysis(svc, REVIEWER)["prevalence"].set_index("factor")
    assert not first["present"].equals(second["present"])
    reads = [e for e in _entries(svc) if e.action == "register.analysis"]
    assert len(reads) == 2  # cached or not, every use is audited


def _fresh(svc: RecordsService) -> RecordsService:
    """The same database with nothing cached."""
    return RecordsService(svc.records, svc.settings, svc.hasher)


def _assert_same_analysis(svc: RecordsService) -> None:
    cached = reg.restricted_analysis(svc, REVIEWER)
    fresh = reg.restricted_analysis(_fresh(svc), REVIEWER)
    assert list(cached) == list(fresh)
    for name in fresh:
        pd.testing.assert_frame_equal(cached[name], fresh[name], check_exact=True)
    assert reg.published_summary(svc, visitor()) == reg.published_summary(_fresh(svc),
                                                                          visitor())


def test_cached_analyses_equal_a_fresh_computation_after_every_change(
        svc: RecordsService) -> None:
    reg.load_synthetic(svc, REVIEWER, 60, seed=3)
    _assert_same_analysis(svc)
    with svc.records.reading() as s:
        rows = s.execute(select(Case.id, Case.reference).order_by(Case.id)).all()
    codings = {c.reference: c for c in reg.synthetic_register(60, seed=3)[1]
               if c.coding_round == "first"}
    case_id, reference = rows[0]
    flipped = {k: (None if v is None else not v) for k, v in codings[reference].values.items()}
    reg.code_case(svc, REVIEWER, case_id, "first", flipped, "SYN-A")  # replaces a coding
    _assert_same_analysis(svc)
    new = reg.create_case(svc, REVIEWER, _case("NEW-1"))
    _assert_same_analysis(svc)
    reg.code_case(svc, REVIEWER, new["id"], "first", dict.fromkeys(FACTOR_CODES, True))
    _assert_same_analysis(svc)
    reg.update_case(svc, REVIEWER, rows[1][0], {"year": 2019, "method": "shooting"})
    _assert_same_analysis(svc)


def test_a_change_is_computed_once_however_many_ask_at_the_same_time(
        svc: RecordsService, monkeypatch: pytest.MonkeyPatch) -> None:
    reg.load_synthetic(svc, REVIEWER, 40, seed=4)
    reg.restricted_analysis(svc, REVIEWER)
    computed: list[int] = []
    aggregates = reg._aggregates

    def counted(*args: object, **kw: object) -> object:
        computed.append(1)
        return aggregates(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(reg, "_aggregates", counted)
    reg.update_case(svc, REVIEWER, 1, {"year": 2020})
    start = threading.Barrier(8)
    results: list[object] = []
    errors: list[BaseException] = []

    def ask(i: int) -> None:
        try:
            start.wait(10)
            if i % 2:
                results.append(reg.published_summary(svc, visitor()))
            else:
                results.append(reg.restricted_analysis(svc, REVIEWER)["prevalence"])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and len(results) == 8
    # the reviewers' analysis and the published summary share the unsuppressed aggregates
    assert computed == [1]
    reads = [e for e in _entries(svc) if e.action == "register.analysis"]
    assert len(reads) == 1 + 4  # every use is still audited


def test_a_new_coding_reads_only_the_codings_again(
        svc: RecordsService, monkeypatch: pytest.MonkeyPatch) -> None:
    reg.load_synthetic(svc, REVIEWER, 30, seed=6)
    loads: list[int] = []
    load_cases = reg._load_cases

    def counted(*args: object, **kw: object) -> object:
        loads.append(1)
        return load_cases(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(reg, "_load_cases", counted)
    before = reg.restricted_analysis(svc, REVIEWER)["prevalence"]
    new = reg.create_case(svc, REVIEWER, _case("NEW-2"))
    reg.restricted_analysis(svc, REVIEWER)
    assert len(loads) == 2
    reg.code_case(svc, REVIEWER, new["id"], "first", dict.fromkeys(FACTOR_CODES, True))
    after = reg.restricted_analysis(svc, REVIEWER)["prevalence"]
    assert len(loads) == 2  # the cases were unchanged: only the codings were read
    assert (after["present"] - before["present"]).tolist() == [1] * len(FACTOR_CODES)
    reg.update_case(svc, REVIEWER, new["id"], {"year": 2021})
    reg.restricted_analysis(svc, REVIEWER)
    assert len(loads) == 3
