"""The evidence store: imports are recorded with their files, and only listed files are read."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from vru.adapters.store.evidence_store import EvidenceStore, ImportRecord
from vru.domain.problems import Problem


def _record(sha: str, rows: int = 2) -> ImportRecord:
    return ImportRecord(format="test", file_name="f.csv", source="/x/f.csv", sha256=sha,
                        size_bytes=10, rows_read=rows + 1, rows_stored=rows, rows_rejected=1)


def test_new_store_creates_nothing_until_written(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "d")
    assert store.imports() == [] and store.dataset_files() == {}
    assert not (tmp_path / "d").exists()


def test_commit_makes_rows_queryable_with_their_import_id(store: EvidenceStore) -> None:
    table = pa.table({"x": [1, 2]})
    bad = [Problem("f.csv", 4, "x", "a", "is not a number", "Fix it")]
    import_id = store.commit_import(_record("a" * 64), {"things": table}, bad)
    con = store.connect()
    assert con.execute("SELECT sum(x), min(import_id) FROM things").fetchone() == (3, import_id)
    assert store.find_sha256("a" * 64)["import_id"] == import_id  # type: ignore[index]
    assert store.rejected_rows(import_id) == [
        {"row": 4, "col": "x", "value": "a", "reason": "is not a number", "action": "Fix it"}]


def test_unlisted_parquet_files_are_invisible_and_recovered(store: EvidenceStore) -> None:
    store.commit_import(_record("b" * 64), {"things": pa.table({"x": [5]})})
    orphan = store.tables_dir / "things" / "orphan.parquet"
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"x": [1000]}), orphan)
    assert store.connect().execute("SELECT sum(x) FROM things").fetchone() == (5,)
    assert orphan in store.recover()
    assert not orphan.exists()
