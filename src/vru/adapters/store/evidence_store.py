"""The embedded evidence store: Parquet files catalogued in DuckDB, in one data directory.

Layout of ``<data_dir>/evidence``::

    catalogue.duckdb            imports, their files and every rejected row
    tables/<dataset>/<import_id>.parquet
    staging/                    scratch space for an import in progress
    derived/                    results computed from the tables, kept to be reused
                                (``derived.DerivedCache``; safe to delete)

An import is atomic. Its Parquet files are written into ``staging`` and flushed, moved
into ``tables``, and only then is the import recorded, in one DuckDB transaction. Readers
see only files the catalogue lists, so a crash (even ``kill -9``) at any point leaves the
store as it was: at worst an unlisted file, removed the next time the store is opened for
writing. Importing a file whose sha256 is already catalogued changes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from vru.domain.problems import Problem

SCHEMA = """
CREATE TABLE IF NOT EXISTS imports (
    import_id      VARCHAR PRIMARY KEY,
    format         VARCHAR NOT NULL,
    file_name      VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,
    sha256         VARCHAR NOT NULL UNIQUE,
    size_bytes     BIGINT NOT NULL,
    rows_read      BIGINT NOT NULL,
    rows_stored    BIGINT NOT NULL,
    rows_rejected  BIGINT NOT NULL,
    period_start   VARCHAR,
    period_end     VARCHAR,
    meta           VARCHAR NOT NULL,
    imported_at    TIMESTAMP NOT NULL,
    vru_version    VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS import_files (
    import_id  VARCHAR NOT NULL,
    dataset    VARCHAR NOT NULL,
    path       VARCHAR NOT NULL,
    rows       BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected_rows (
    import_id  VARCHAR NOT NULL,
    row        BIGINT,
    col        VARCHAR,
    value      VARCHAR,
    reason     VARCHAR NOT NULL,
    action     VARCHAR NOT NULL
);
"""


# How the big datasets are laid out in Parquet (every column keeps its type and values;
# only the encoding on disk differs). Columns whose values are nearly all different (random
# ids, coordinates, row numbers) are not dictionary-encoded: the dictionary would only be
# built to be given up. Minimum and maximum statistics, which cost as much to gather as
# the rest of a text column's encoding, are kept only where they let a query skip a file:
# month, force, place (coordinates, LSOA) and row and import ids.
_DISTINCT_COLUMNS: dict[str, frozenset[str]] = {
    "street_crime": frozenset({"crime_id", "longitude", "latitude", "source_row"}),
}
_STATISTICS: dict[str, frozenset[str]] = {
    "street_crime": frozenset({"month", "force", "longitude", "latitude", "lsoa_code",
                               "source_row", "import_id"}),
}


def _write_options(dataset: str, table: pa.Table) -> dict[str, Any]:
    distinct = _DISTINCT_COLUMNS.get(dataset)
    if not distinct:
        return {}
    stats = _STATISTICS.get(dataset, frozenset(table.column_names))
    return {"use_dictionary": [c for c in table.column_names if c not in distinct],
            "write_statistics": [c for c in table.column_names if c in stats]}


@dataclass(frozen=True)
class ImportRecord:
    """What is logged about one imported file."""

    format: str
    file_name: str
    source: str
    sha256: str
    size_bytes: int
    rows_read: int
    rows_stored: int
    rows_rejected: int
    period_start: str | None = None
    period_end: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    import_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])


class EvidenceStore:
    """The evidence store in ``data_dir``. Cheap to construct; creates nothing until written."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / "evidence"
        self.catalogue_path = self.root / "catalogue.duckdb"
        self.tables_dir = self.root / "tables"
        self.staging_dir = self.root / "staging"

    # -- reading -----------------------------------------------------------------------

    def exists(self) -> bool:
        return self.catalogue_path.exists()

    @contextmanager
    def _catalogue(self, write: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        if write:
            self.root.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(str(self.catalogue_path))
            con.execute(SCHEMA)
        else:
            con = duckdb.connect(str(self.catalogue_path), read_only=True)
        try:
            yield con
        finally:
            con.close()

    def find_sha256(self, sha256: str) -> dict[str, Any] | None:
        """The import that already holds a file with this sha256, if any."""
        if not self.exists():
            return None
        with self._catalogue(write=False) as con:
            row = con.execute(
                "SELECT import_id, file_name, imported_at, format FROM imports WHERE sha256 = ?",
                [sha256],
            ).fetchone()
        if row is None:
            return None
        return {"import_id": row[0], "file_name": row[1], "imported_at": row[2],
                "format": row[3]}

    def imports(self) -> list[dict[str, Any]]:
        if not self.exists():
            return []
        with self._catalogue(write=False) as con:
            rel = con.execute("SELECT * FROM imports ORDER BY imported_at, import_id")
            cols = [d[0] for d in rel.description]
            return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]

    def state(self) -> tuple[tuple[int, int] | None, ...]:
        """A signature of the catalogue on disk (its file and write-ahead log): it changes
        whenever an import is recorded, so what was read under one state can be reused."""
        out: list[tuple[int, int] | None] = []
        for path in (self.catalogue_path, self.catalogue_path.with_name(
                self.catalogue_path.name + ".wal")):
            try:
                st = path.stat()
            except FileNotFoundError:
                out.append(None)
            else:
                out.append((st.st_mtime_ns, st.st_size))
        return tuple(out)

    def dataset_files(self) -> dict[str, list[str]]:
        """Every dataset's Parquet files, in import order (oldest first)."""
        if not self.exists():
            return {}
        state = self.state()
        with _READERS_LOCK:
            known = _FILES.get(self.catalogue_path)
            if known is not None and known[0] == state:
                return {k: list(v) for k, v in known[1].items()}
        with self._catalogue(write=False) as con:
            out = self._read_dataset_files(con)
        with _READERS_LOCK:
            remember(_FILES, self.catalogue_path, (state, out))
        return {k: list(v) for k, v in out.items()}

    def _read_dataset_files(self, con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
        rows = con.execute(
            "SELECT f.dataset, f.path FROM import_files f JOIN imports i USING (import_id) "
            "ORDER BY i.imported_at, i.import_id"
        ).fetchall()
        out: dict[str, list[str]] = {}
        for dataset, path in rows:
            out.setdefault(dataset, []).append(str(self.root / path))
        return out

    def rejected_rows(self, import_id: str) -> list[dict[str, Any]]:
        if not self.exists():
            return []
        with self._catalogue(write=False) as con:
            rel = con.execute(
                "SELECT row, col, value, reason, action FROM rejected_rows WHERE import_id = ? "
                "ORDER BY row", [import_id])
            cols = [d[0] for d in rel.description]
            return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per dataset over its Parquet files, and the
        catalogue's tables (``imports``, ``import_files``, ``rejected_rows``).

        The views are built once per catalogue state and shared: each call returns a new
        cursor on them (close it when done; temporary views and registered tables stay
        private to it). The catalogue itself is copied into memory, not held open, so a
        reader never locks out an import, and the next call after an import sees it.
        """
        if not self.exists():
            return duckdb.connect()
        state = self.state()
        files = self.dataset_files()  # a view of the store (PinnedStore) lists fewer
        key = (self.catalogue_path, tuple((k, tuple(v)) for k, v in sorted(files.items())))
        with _READERS_LOCK:
            known = _READERS.get(key)
            if known is not None and known[0] == state:
                return known[1].cursor()
        base = self._open_reader(files)
        with _READERS_LOCK:
            remember(_READERS, key, (state, base))
            return base.cursor()

    def _open_reader(self, files: dict[str, list[str]]) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        con.execute(f"ATTACH '{self.catalogue_path}' AS catalogue (READ_ONLY)")
        try:
            for table in ("imports", "import_files", "rejected_rows"):
                con.execute(f"CREATE TABLE {table} AS SELECT * FROM catalogue.{table}")
        finally:
            con.execute("DETACH catalogue")
        for dataset, paths in files.items():
            listed = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
            con.execute(
                f'CREATE VIEW "{dataset}" AS SELECT * FROM read_parquet([{listed}], '
                "union_by_name = true)"
            )
        return con

    def table(self, dataset: str) -> pa.Table | None:
        """One dataset as an Arrow table, or None when nothing of it is loaded."""
        paths = self.dataset_files().get(dataset)
        if not paths:
            return None
        con = self.connect()
        try:
            return con.sql(f'SELECT * FROM "{dataset}"').to_arrow_table()
        finally:
            con.close()

    # -- writing -----------------------------------------------------------------------

    def recover(self) -> list[Path]:
        """Remove what an interrupted import left behind: staging files and Parquet files the
        catalogue does not list. Returns what was removed."""
        removed: list[Path] = []
        if self.staging_dir.exists():
            for p in self.staging_dir.iterdir():
                removed.append(p)
                shutil.rmtree(p) if p.is_dir() else p.unlink()
        if self.tables_dir.exists():
            # With no catalogue yet (a crash during the very first import), nothing is listed.
            listed = {p for ps in self.dataset_files().values() for p in ps}
            for p in self.tables_dir.glob("*/*.parquet"):
                if str(p) not in listed:
                    removed.append(p)
                    p.unlink()
        return removed

    def commit_import(
        self,
        record: ImportRecord,
        tables: Mapping[str, pa.Table],
        rejected: Sequence[Problem] = (),
        *,
        _crash_at: str | None = None,
    ) -> str:
        """Store ``tables`` (dataset name -> rows) as one import, atomically.

        Each table gets an ``import_id`` column. ``_crash_at`` is a test hook that kills the
        process at a named point ("staged", "moved") to prove atomicity.
        """
        self.recover()
        staged = self.stage_import(record, tables)
        _maybe_crash(_crash_at, "staged")
        self._move_and_record(staged, rejected, None, _crash_at)
        return record.import_id

    @contextmanager
    def import_batch(self) -> Iterator[ImportBatch]:
        """Commit many imports through one catalogue connection.

        Each import is still atomic on its own, exactly as ``commit_import`` makes it: its
        Parquet files are staged and flushed, moved into ``tables``, then recorded in its own
        transaction. Only the opening of the catalogue (and the clean-up of what an
        interrupted import left) is shared, which is what dominates many small imports.
        """
        self.recover()
        with self._catalogue(write=True) as con:
            yield ImportBatch(self, con)

    def stage_import(self, record: ImportRecord, tables: Mapping[str, pa.Table]) -> StagedImport:
        """Write an import's tables to ``staging`` and flush them; nothing is visible yet.
        Safe to call from several threads at once (each import has its own files)."""
        staged = self._write_staged(record, tables)
        try:
            for _dataset, tmp, _final, _rows in staged.files:
                _fsync(tmp)
        except BaseException:
            self.discard_staged(staged)
            raise
        return staged

    def stage_imports(
        self, imports: Sequence[tuple[ImportRecord, Mapping[str, pa.Table]]],
    ) -> list[StagedImport | Exception]:
        """``stage_import`` of many imports: one staged import (or, for one that could not
        be written, the exception) per import, in order. Each import's files are written,
        then all are flushed to disk together, the flushes issued in parallel: one at a
        time, each is a few milliseconds of waiting on the disk. As with ``stage_import``,
        nothing is visible until committed, and every file is on disk before it is."""
        out: list[StagedImport | Exception] = []
        try:
            for record, tables in imports:
                try:
                    out.append(self._write_staged(record, tables))
                except Exception as exc:
                    out.append(exc)
            files = [(i, tmp) for i, one in enumerate(out) if isinstance(one, StagedImport)
                     for _dataset, tmp, _final, _rows in one.files]
            errors = list(_sync_pool().map(_fsync_or_error, [tmp for _i, tmp in files]))
        except BaseException:
            for one in out:
                if isinstance(one, StagedImport):
                    self.discard_staged(one)
            raise
        for (i, _tmp), error in zip(files, errors, strict=True):
            one = out[i]
            if error is not None and isinstance(one, StagedImport):
                self.discard_staged(one)
                out[i] = error
        return out

    def _write_staged(self, record: ImportRecord, tables: Mapping[str, pa.Table]
                      ) -> StagedImport:
        """An import's tables written to ``staging`` (not yet flushed to disk)."""
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        staged: list[tuple[str, Path, Path, int]] = []
        tmp: Path | None = None
        try:
            for dataset, table in tables.items():
                ids = pa.repeat(pa.scalar(record.import_id, pa.string()), table.num_rows)
                table = table.append_column("import_id", ids)
                tmp = self.staging_dir / f"{dataset}-{record.import_id}.parquet"
                pq.write_table(table, tmp, compression="zstd", **_write_options(dataset, table))
                final = self.tables_dir / dataset / f"{record.import_id}.parquet"
                staged.append((dataset, tmp, final, table.num_rows))
        except BaseException:
            for _d, done, _f, _r in staged:
                done.unlink(missing_ok=True)
            if tmp is not None:
                tmp.unlink(missing_ok=True)
            raise
        return StagedImport(record, staged)

    def discard_staged(self, staged: StagedImport) -> None:
        """Remove a staged import that will not be committed."""
        for _dataset, tmp, _final, _rows in staged.files:
            tmp.unlink(missing_ok=True)

    def _move_and_record(
        self,
        staged: StagedImport,
        rejected: Sequence[Problem],
        con: duckdb.DuckDBPyConnection | None,
        _crash_at: str | None = None,
    ) -> None:
        moved: list[Path] = []
        try:
            for _dataset, tmp, final, _rows in staged.files:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, final)
                moved.append(final)
            _maybe_crash(_crash_at, "moved")
            if con is None:
                with self._catalogue(write=True) as own:
                    self._record(own, staged, rejected, _crash_at)
            else:
                self._record(con, staged, rejected, _crash_at)
        except BaseException:
            for p in moved:
                p.unlink(missing_ok=True)
            self.discard_staged(staged)
            raise

    def _record(
        self,
        con: duckdb.DuckDBPyConnection,
        staged: StagedImport,
        rejected: Sequence[Problem],
        _crash_at: str | None,
    ) -> None:
        con.execute("BEGIN TRANSACTION")
        try:
            self._insert(con, staged, rejected)
            _maybe_crash(_crash_at, "inserted")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _insert(self, con: duckdb.DuckDBPyConnection, staged: StagedImport,
                rejected: Sequence[Problem]) -> None:
        """The catalogue rows of one import (inside the caller's transaction)."""
        record = staged.record
        con.execute(
            "INSERT INTO imports VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [record.import_id, record.format, record.file_name, record.source,
             record.sha256, record.size_bytes, record.rows_read,
             record.rows_stored, record.rows_rejected, record.period_start,
             record.period_end, json.dumps(dict(record.meta), default=str),
             datetime.now(UTC).replace(tzinfo=None), _version()],
        )
        for dataset, _tmp, final, rows in staged.files:
            con.execute("INSERT INTO import_files VALUES (?,?,?,?)",
                        [record.import_id, dataset, str(final.relative_to(self.root)), rows])
        if rejected:
            con.executemany(
                "INSERT INTO rejected_rows VALUES (?,?,?,?,?,?)",
                [[record.import_id, p.row, p.column, p.value, p.message, p.action]
                 for p in rejected],
            )


    def _insert_many(self, con: duckdb.DuckDBPyConnection,
                     imports: Sequence[tuple[StagedImport, Sequence[Problem]]]) -> None:
        """``_insert`` of many imports, one statement per catalogue table (inside the
        caller's transaction). Their ``imported_at`` times are a microsecond apart, in the
        order given, so that import order stays the order the imports were made in."""
        now = datetime.now(UTC).replace(tzinfo=None)
        version = _version()
        records = [staged.record for staged, _rejected in imports]
        rows = {
            "imports": pa.table({
                "import_id": [r.import_id for r in records],
                "format": [r.format for r in records],
                "file_name": [r.file_name for r in records],
                "source": [r.source for r in records],
                "sha256": [r.sha256 for r in records],
                "size_bytes": pa.array([r.size_bytes for r in records], pa.int64()),
                "rows_read": pa.array([r.rows_read for r in records], pa.int64()),
                "rows_stored": pa.array([r.rows_stored for r in records], pa.int64()),
                "rows_rejected": pa.array([r.rows_rejected for r in records], pa.int64()),
                "period_start": pa.array([r.period_start for r in records], pa.string()),
                "period_end": pa.array([r.period_end for r in records], pa.string()),
                "meta": [json.dumps(dict(r.meta), default=str) for r in records],
                "imported_at": pa.array([now + timedelta(microseconds=i)
                                         for i in range(len(records))], pa.timestamp("us")),
                "vru_version": [version] * len(records),
            }),
            "import_files": pa.table({
                "import_id": pa.array([s.record.import_id for s, _ in imports
                                       for _f in s.files], pa.string()),
                "dataset": pa.array([d for s, _ in imports for d, _t, _f, _r in s.files],
                                    pa.string()),
                "path": pa.array([str(f.relative_to(self.root)) for s, _ in imports
                                  for _d, _t, f, _r in s.files], pa.string()),
                "rows": pa.array([r for s, _ in imports for _d, _t, _f, r in s.files],
                                 pa.int64()),
            }),
            "rejected_rows": pa.table({
                "import_id": pa.array([s.record.import_id for s, rej in imports for _p in rej],
                                      pa.string()),
                "row": pa.array([p.row for _s, rej in imports for p in rej], pa.int64()),
                "col": pa.array([p.column for _s, rej in imports for p in rej], pa.string()),
                "value": pa.array([p.value for _s, rej in imports for p in rej], pa.string()),
                "reason": pa.array([p.message for _s, rej in imports for p in rej],
                                   pa.string()),
                "action": pa.array([p.action for _s, rej in imports for p in rej],
                                   pa.string()),
            }),
        }
        for table, new in rows.items():
            if not new.num_rows:
                continue
            con.register("new_rows", new)
            try:
                con.execute(f"INSERT INTO {table} SELECT * FROM new_rows")
            finally:
                con.unregister("new_rows")


@dataclass(frozen=True)
class StagedImport:
    """An import whose Parquet files are written to ``staging`` but not yet committed:
    (dataset, staged path, final path, rows) per table."""

    record: ImportRecord
    files: list[tuple[str, Path, Path, int]]


class ImportBatch:
    """Imports committed through one open catalogue connection (``EvidenceStore.import_batch``).

    Use it from one thread; ``EvidenceStore.stage_import`` may run in worker threads first.
    """

    def __init__(self, store: EvidenceStore, con: duckdb.DuckDBPyConnection) -> None:
        self.store = store
        self._con = con

    def known_sha256(self) -> dict[str, str]:
        """Every catalogued file's sha256, mapped to its import id."""
        return dict(self._con.execute("SELECT sha256, import_id FROM imports").fetchall())

    def known_imports(self) -> dict[str, tuple[str, str]]:
        """Every catalogued file's sha256, mapped to its import id and format."""
        rows = self._con.execute("SELECT sha256, import_id, format FROM imports").fetchall()
        return {sha: (import_id, fmt) for sha, import_id, fmt in rows}

    def find_sha256(self, sha256: str) -> dict[str, Any] | None:
        row = self._con.execute(
            "SELECT import_id, file_name, imported_at, format FROM imports WHERE sha256 = ?",
            [sha256]).fetchone()
        if row is None:
            return None
        return {"import_id": row[0], "file_name": row[1], "imported_at": row[2],
                "format": row[3]}

    def commit_staged(self, staged: StagedImport, rejected: Sequence[Problem] = ()) -> str:
        """Move a staged import into place and record it, in its own transaction. On any
        failure its files are removed and the catalogue is as it was."""
        self.store._move_and_record(staged, rejected, self._con)
        return staged.record.import_id

    def commit_staged_many(
        self,
        imports: Sequence[tuple[StagedImport, Sequence[Problem]]],
        *,
        _crash_at: str | None = None,
    ) -> list[str | Exception]:
        """Move staged imports into place and record them all in one transaction: one
        import id per import, in order (or, for an import that could not be committed, the
        exception).

        Each import stays whole or absent: they are recorded together, so a crash before
        the commit leaves none of them (their moved files are unlisted, and removed by the
        next write), and after it all of them, each complete. Recording many imports in one
        transaction costs about as much as recording one. If the transaction fails, it is
        rolled back, the files go back to staging, and each import is committed on its own
        (``commit_staged``), so one that cannot be recorded does not keep out the others.
        ``_crash_at`` is the test hook of ``EvidenceStore.commit_import`` ("moved",
        "inserted").
        """
        if len(imports) <= 1:
            out: list[str | Exception] = []
            for staged, rejected in imports:
                try:
                    out.append(self.commit_staged(staged, rejected))
                except Exception as exc:
                    out.append(exc)
            return out
        moved: list[tuple[Path, Path]] = []
        try:
            try:
                for staged, _rejected in imports:
                    for _dataset, tmp, final, _rows in staged.files:
                        final.parent.mkdir(parents=True, exist_ok=True)
                        os.replace(tmp, final)
                        moved.append((tmp, final))
                _maybe_crash(_crash_at, "moved")
                self._con.execute("BEGIN TRANSACTION")
                try:
                    self.store._insert_many(self._con, imports)
                    _maybe_crash(_crash_at, "inserted")
                    self._con.execute("COMMIT")
                except BaseException:
                    self._con.execute("ROLLBACK")
                    raise
            except Exception:
                for tmp, final in moved:  # back to staging, to be committed one by one
                    os.replace(final, tmp)
                moved = []
                raise
        except Exception:
            out = []
            for staged, rejected in imports:
                try:
                    out.append(self.commit_staged(staged, rejected))
                except Exception as exc:
                    out.append(exc)
            return out
        except BaseException:
            for _tmp, final in moved:
                final.unlink(missing_ok=True)
            for staged, _rejected in imports:
                self.store.discard_staged(staged)
            raise
        return [staged.record.import_id for staged, _rejected in imports]

    def commit_import(self, record: ImportRecord, tables: Mapping[str, pa.Table],
                      rejected: Sequence[Problem] = ()) -> str:
        """``EvidenceStore.commit_import`` through this batch's connection."""
        return self.commit_staged(self.store.stage_import(record, tables), rejected)


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_or_error(path: Path) -> Exception | None:
    try:
        _fsync(path)
    except Exception as exc:
        return exc
    return None


#: Read views and file lists per catalogue, each with the catalogue state it was built from
#: (a few stores at most are open at once; the oldest is forgotten first).
_READERS: dict[Any, tuple[Any, duckdb.DuckDBPyConnection]] = {}
_FILES: dict[Path, tuple[Any, dict[str, list[str]]]] = {}
_READERS_LOCK = threading.Lock()


def remember(memo: dict[Any, Any], key: Any, value: Any, keep: int = 8) -> None:
    """Put ``value`` in ``memo`` as its newest entry, forgetting the oldest beyond ``keep``
    (the caller holds the memo's lock)."""
    memo.pop(key, None)
    memo[key] = value
    while len(memo) > keep:
        memo.pop(next(iter(memo)))


_SYNC_POOL: ThreadPoolExecutor | None = None
_SYNC_LOCK = threading.Lock()


def _sync_pool() -> ThreadPoolExecutor:
    """Threads that only wait on the disk (fsync), shared by every store in the process."""
    global _SYNC_POOL
    with _SYNC_LOCK:
        if _SYNC_POOL is None:
            _SYNC_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="vru-fsync")
        return _SYNC_POOL


def _maybe_crash(crash_at: str | None, point: str) -> None:
    if crash_at == point:
        os._exit(137)


def _version() -> str:
    from vru import __version__

    return __version__
