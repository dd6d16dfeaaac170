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


def test_shared_read_views_follow_every_import(store: EvidenceStore) -> None:
    # connect() reuses its views while the catalogue is unchanged, and rebuilds them after
    # an import: a reader opened before an import still works, one opened after sees it.
    store.commit_import(_record("c" * 64), {"things": pa.table({"x": [1]})})
    before = store.connect()
    assert before.execute("SELECT sum(x) FROM things").fetchone() == (1,)
    store.commit_import(_record("d" * 64), {"things": pa.table({"x": [10]}),
                                            "others": pa.table({"y": [7]})})
    after = store.connect()
    assert after.execute("SELECT sum(x) FROM things").fetchone() == (11,)
    assert after.execute("SELECT y FROM others").fetchone() == (7,)
    assert len(after.execute("SELECT * FROM imports").fetchall()) == 2
    assert before.execute("SELECT sum(x) FROM things").fetchone() == (1,)
    # Closing one reader does not close the views another is using.
    after.close()
    assert store.connect().execute("SELECT count(*) FROM others").fetchone() == (1,)
    before.close()


def test_a_reader_does_not_lock_out_an_import(store: EvidenceStore) -> None:
    store.commit_import(_record("e" * 64), {"things": pa.table({"x": [1]})})
    reader = store.connect()  # held open, as a long-running service would
    store.commit_import(_record("f" * 64), {"things": pa.table({"x": [2]})})
    assert store.connect().execute("SELECT sum(x) FROM things").fetchone() == (3,)
    reader.close()


def test_derived_entries_are_read_only_for_their_key(store: EvidenceStore) -> None:
    import numpy as np

    from vru.adapters.store.derived import DerivedCache

    cache = DerivedCache(store)
    assert cache.load("cube", "k1") is None
    cache.save("cube", "k1", {"a": np.arange(6).reshape(2, 3)}, {"codes": ["E1", "E2"]})
    arrays, meta = cache.load("cube", "k1")  # type: ignore[misc]
    assert arrays["a"].tolist() == [[0, 1, 2], [3, 4, 5]] and meta == {"codes": ["E1", "E2"]}
    assert cache.load("cube", "k2") is None  # computed from something else: never read
    cache.save("cube", "k2", {"a": np.zeros(1)}, None)  # replaces the old entry
    assert cache.load("cube", "k1") is None and cache.load("cube", "k2") is not None
    # A damaged entry is treated as missing, not as an error.
    (cache.dir / "cube.npz").write_bytes(b"not a zip file")
    assert cache.load("cube", "k2") is None
    assert not [p for p in cache.dir.iterdir() if p.suffix == ".tmp"]
