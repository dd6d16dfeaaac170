"""Batch ingest: many files at once, with the same outcome per file as ``ingest_file``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vru.adapters.sources.base import ReferenceData
from vru.adapters.store.evidence_store import EvidenceStore, ImportRecord
from vru.domain.problems import InputError
from vru.services.batch_ingest import ingest_files
from vru.services.ingest import ingest_file

STREET = "crime/police_uk/{m}/{m}-city-of-london-street.csv"
MONTHS = ["2018-01", "2018-02", "2018-03"]
ROWS = {"2018-01": 698, "2018-02": 583, "2018-03": 707}  # SOURCES.md


def copies(shared_data: Path, dest: Path) -> list[Path]:
    out = []
    for m in MONTHS:
        p = dest / f"{m}-city-of-london-street.csv"
        shutil.copy(shared_data / STREET.format(m=m), p)
        out.append(p)
    return out


@pytest.mark.parametrize("mode", ["serial", "threads", "processes"])
def test_batch_matches_ingest_file_file_by_file(shared_data: Path, tmp_path: Path,
                                                mode: str) -> None:
    files = copies(shared_data, tmp_path)
    one = EvidenceStore(tmp_path / "one")
    many = EvidenceStore(tmp_path / "many")
    singles = [ingest_file(one, "police-uk-street", f, ref=ReferenceData()) for f in files]
    outcomes = ingest_files(many, "police-uk-street", files, ref=ReferenceData(), mode=mode,
                            workers=2)
    assert [o.path for o in outcomes] == files
    assert all(o.ok and o.result for o in outcomes)
    got = [o.result for o in outcomes if o.result]
    assert [(r.status, r.rows_read, r.rows_stored, r.records) for r in got] == [
        (r.status, r.rows_read, r.rows_stored, r.records) for r in singles]
    assert [r.rows_stored for r in got] == [ROWS[m] for m in MONTHS]
    cols = ("format", "file_name", "sha256", "rows_read", "rows_stored", "rows_rejected",
            "period_start", "period_end", "meta")
    assert [{k: i[k] for k in cols} for i in many.imports()] == [
        {k: i[k] for k in cols} for i in one.imports()]
    rows = many.connect().execute("SELECT count(*) FROM street_crime").fetchall()
    assert rows == [(sum(ROWS.values()),)]


def test_a_refused_file_leaves_the_others_imported_and_itself_absent(
        shared_data: Path, tmp_path: Path, store: EvidenceStore) -> None:
    files = copies(shared_data, tmp_path)
    lines = files[1].read_bytes().split(b"\n")
    lines[9] = lines[9].replace(b"2018-02", b"2018-2", 1)  # spreadsheet row 10
    files[1].write_bytes(b"\n".join(lines))
    missing = tmp_path / "2018-04-city-of-london-street.csv"
    seen: list[Path] = []
    outcomes = ingest_files(store, "police-uk-street", [*files, missing],
                            ref=ReferenceData(), workers=2, mode="processes",
                            on_done=lambda o: seen.append(o.path))
    assert seen == [*files, missing]
    assert [o.ok for o in outcomes] == [True, False, True, False]
    err = outcomes[1].error
    assert isinstance(err, InputError)
    assert err.problems[0].row == 10 and err.problems[0].column == "Month"
    assert isinstance(outcomes[3].error, InputError)
    assert "does not exist" in str(outcomes[3].error)
    assert sorted(i["file_name"] for i in store.imports()) == [files[0].name, files[2].name]
    assert not list(store.staging_dir.iterdir())  # the refused file left nothing behind
    assert len(list(store.tables_dir.rglob("*.parquet"))) == 2


def test_already_imported_and_duplicates_within_a_batch_change_nothing(
        shared_data: Path, tmp_path: Path, store: EvidenceStore) -> None:
    files = copies(shared_data, tmp_path)
    first = ingest_file(store, "police-uk-street", files[0], ref=ReferenceData())
    twin = tmp_path / "twin" / files[2].name
    twin.parent.mkdir()
    shutil.copy(files[2], twin)
    outcomes = ingest_files(store, "police-uk-street", [*files, twin], ref=ReferenceData(),
                            mode="threads", workers=2)
    statuses = [o.result.status for o in outcomes if o.result]
    assert statuses == ["already imported", "imported", "imported", "already imported"]
    assert outcomes[0].result and outcomes[0].result.import_id == first.import_id
    assert outcomes[3].result and outcomes[2].result
    assert outcomes[3].result.import_id == outcomes[2].result.import_id
    assert len(store.imports()) == 3
    assert not list(store.staging_dir.iterdir())


def test_a_file_stored_under_another_format_is_refused(shared_data: Path, tmp_path: Path,
                                                       store: EvidenceStore) -> None:
    files = copies(shared_data, tmp_path)
    ingest_file(store, "police-uk-street", files[0], ref=ReferenceData())
    [outcome] = ingest_files(store, "police-uk-stop-search", files[:1], ref=ReferenceData())
    assert isinstance(outcome.error, InputError)
    assert "already in the store as format 'police-uk-street'" in str(outcome.error)
    assert len(store.imports()) == 1


def test_unknown_format_touches_nothing(tmp_path: Path, store: EvidenceStore) -> None:
    with pytest.raises(KeyError, match="unknown format"):
        ingest_files(store, "no-such-format", [tmp_path / "x.csv"])
    assert not store.exists()


def test_import_batch_commits_each_import_in_its_own_transaction(store: EvidenceStore) -> None:
    import pyarrow as pa

    def record(sha: str) -> ImportRecord:
        return ImportRecord(format="test", file_name=f"{sha[:3]}.csv", source="/x", sha256=sha,
                            size_bytes=1, rows_read=1, rows_stored=1, rows_rejected=0)

    with store.import_batch() as batch:
        a = batch.commit_import(record("a" * 64), {"things": pa.table({"x": [1]})})
        staged = store.stage_import(record("a" * 64), {"things": pa.table({"x": [2]})})
        with pytest.raises(Exception, match="(?i)constraint|duplicate|unique"):
            batch.commit_staged(staged)  # same sha256: refused, and only this import
        b = batch.commit_import(record("b" * 64), {"things": pa.table({"x": [3]})})
        assert batch.known_sha256() == {"a" * 64: a, "b" * 64: b}
        assert batch.known_imports()["b" * 64] == (b, "test")
        found = batch.find_sha256("a" * 64)
        assert found is not None and (found["import_id"], found["format"]) == (a, "test")
        assert batch.find_sha256("c" * 64) is None
    assert store.connect().execute("SELECT sum(x) FROM things").fetchall() == [(4,)]
    assert not list(store.staging_dir.iterdir())
    assert sorted(p.stem for p in store.tables_dir.rglob("*.parquet")) == sorted([a, b])
