"""Use case: import many files of one format at once, each whole or not at all.

``ingest_files`` gives the same result, file by file, as calling ``ingest_file`` on each:
a file is refused whole if any row is invalid (unless ``skip_invalid``), a file already
imported (same sha256) changes nothing, and every file is its own atomic import. It is
faster because the work that does not need to be serial is not: files are hashed, parsed,
checked and written to Parquet staging in parallel worker threads (or processes), and
all the imports are committed through one catalogue connection, one transaction each.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from vru.adapters.sources import _REGISTRY, adapter_for
from vru.adapters.sources.base import ReferenceData
from vru.adapters.store.evidence_store import (
    EvidenceStore,
    ImportBatch,
    ImportRecord,
    StagedImport,
)
from vru.domain.problems import InputError, Problem
from vru.services.ingest import MAX_LISTED_PROBLEMS, IngestResult, reference_data, sha256_of

Mode = Literal["auto", "processes", "threads", "serial"]

_ADAPTER_MODULES = {fmt: spec.split(":")[0] for fmt, spec in _REGISTRY.items()}

# ``auto`` means threads: the parsing runs in DuckDB and Arrow, which release the GIL, so
# threads measured as fast as processes (bench/ingest_benchmark.py) without the start-up
# cost, and without requiring callers' scripts to guard ``if __name__ == "__main__"`` (which
# worker processes started by a fork server or by spawning need).


@dataclass
class BatchOutcome:
    """One file's outcome: its ``IngestResult``, or the error that refused it."""

    path: Path
    result: IngestResult | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class _Prepared:
    """What a worker hands back: a staged import, or a known sha256, or a refusal."""

    path: Path
    digest: str | None = None
    staged: StagedImport | None = None
    problems: list[Problem] = field(default_factory=list)
    records: dict[str, int] = field(default_factory=dict)
    error: Exception | None = None
    # An InputError crossing a process boundary travels as its parts (it does not pickle).
    refused: tuple[list[Problem], int] | None = None

    def portable(self) -> _Prepared:
        """This result in a form that pickles (for worker processes)."""
        if isinstance(self.error, InputError):
            self.refused, self.error = (self.error.problems, self.error.total), None
        elif self.error is not None:
            self.error = RuntimeError(f"{type(self.error).__name__}: {self.error}")
        return self

    def failure(self) -> Exception | None:
        if self.refused is not None:
            return InputError(self.refused[0], total=self.refused[1])
        return self.error


def _prepare(store: EvidenceStore, fmt: str, path: Path, source: str | None,
             ref: ReferenceData, known: frozenset[str], skip_invalid: bool) -> _Prepared:
    """Hash, parse, check and stage one file (in a worker). Mirrors ``ingest_file``."""
    try:
        if not path.is_file():
            raise InputError([Problem(str(path), None, None, None,
                                      "does not exist or is not a file", "Check the path")])
        digest = sha256_of(path)
        if digest in known:
            return _Prepared(path, digest)
        parsed = adapter_for(fmt).parse(path, ref)
        if parsed.problems and not skip_invalid:
            raise InputError(parsed.problems[:MAX_LISTED_PROBLEMS],
                             total=parsed.problem_count or len(parsed.problems))
        file_problems = [p for p in parsed.problems if p.row is None]
        if file_problems:
            raise InputError(file_problems)
        if parsed.rows_stored == 0:
            raise InputError([Problem(path.name, None, None, None,
                                      f"has no valid rows ({parsed.rows_rejected} rejected)",
                                      "Correct the file and import it again")])
        record = ImportRecord(
            format=fmt,
            file_name=path.name,
            source=source or str(path.resolve()),
            sha256=digest,
            size_bytes=path.stat().st_size,
            rows_read=parsed.rows_read,
            rows_stored=parsed.rows_stored,
            rows_rejected=parsed.rows_rejected,
            period_start=parsed.period_start,
            period_end=parsed.period_end,
            meta=parsed.meta,
        )
        staged = store.stage_import(record, parsed.tables)
        return _Prepared(path, digest, staged, parsed.problems,
                         {k: v.num_rows for k, v in parsed.tables.items()})
    except InputError as exc:
        return _Prepared(path, error=exc)
    except Exception as exc:  # an adapter bug must not take the other files down
        return _Prepared(path, error=exc)


# Worker processes receive the reference data once, not with every file.
_WORKER_REF: ReferenceData | None = None


def _init_worker(ref: ReferenceData) -> None:
    global _WORKER_REF
    _WORKER_REF = ref


def _prepare_in_worker(store: EvidenceStore, fmt: str, path: Path, source: str | None,
                       known: frozenset[str], skip_invalid: bool) -> _Prepared:
    return _prepare(store, fmt, path, source, _WORKER_REF or ReferenceData(), known,
                    skip_invalid).portable()


def _mp_context(fmt: str) -> multiprocessing.context.BaseContext:
    """Worker processes come from a fork server, not a fork of this process: this process
    holds an open DuckDB catalogue connection and DuckDB's threads, which must not be
    copied into a child. The server imports vru and the adapter once, so workers start
    fast; it is started on first use and serves every later batch."""
    if "forkserver" not in multiprocessing.get_all_start_methods():  # pragma: no cover
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    module = _ADAPTER_MODULES.get(fmt)
    ctx.set_forkserver_preload([__name__, *([module] if module else [])])
    return ctx


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def ingest_files(
    store: EvidenceStore,
    fmt: str,
    paths: Sequence[Path],
    *,
    skip_invalid: bool = False,
    ref: ReferenceData | None = None,
    sources: Sequence[str | None] | None = None,
    workers: int | None = None,
    mode: Mode = "auto",
    on_done: Callable[[BatchOutcome], None] | None = None,
) -> list[BatchOutcome]:
    """Import ``paths`` (all in format ``fmt``), each as its own atomic import.

    Returns one ``BatchOutcome`` per path, in the order given; a refused file does not
    stop the others. ``ref`` is the reference data to check codes against (computed from
    the store when not given). ``sources`` records where each file came from (a URL or
    mirror path; the resolved path when None). ``on_done`` is called as each file's
    outcome is known, in order. ``mode``: ``auto`` (threads when there are several files
    and workers), ``threads``, ``serial``, or ``processes`` (worker processes from a fork
    server; the calling script must guard its entry point with
    ``if __name__ == "__main__":``).
    """
    adapter_for(fmt)  # unknown format: KeyError before anything is touched
    paths = [Path(p) for p in paths]
    srcs: list[str | None] = list(sources) if sources is not None else [None] * len(paths)
    if len(srcs) != len(paths):
        raise ValueError("sources must have one entry per path")
    if not paths:
        return []
    ref = ref if ref is not None else reference_data(store)
    workers = workers or default_workers()
    if mode == "auto":
        mode = "threads" if workers > 1 and len(paths) > 1 else "serial"
    outcomes: list[BatchOutcome] = []
    with store.import_batch() as batch:
        known = batch.known_imports()
        frozen = frozenset(known)
        committed: dict[str, str] = {}

        def finish(prep: _Prepared) -> BatchOutcome:
            out = _commit(batch, fmt, prep, known, committed)
            outcomes.append(out)
            if on_done is not None:
                on_done(out)
            return out

        if mode == "serial":
            for path, src in zip(paths, srcs, strict=True):
                finish(_prepare(store, fmt, path, src, ref, frozen, skip_invalid))
            return outcomes
        executor: Executor
        if mode == "processes":
            executor = ProcessPoolExecutor(max_workers=min(workers, len(paths)),
                                           mp_context=_mp_context(fmt),
                                           initializer=_init_worker, initargs=(ref,))
        else:
            executor = ThreadPoolExecutor(max_workers=min(workers, len(paths)))
        with executor:
            window: deque[Future[_Prepared]] = deque()
            limit = 2 * workers  # parsed files waiting to be committed, at most
            for path, src in zip(paths, srcs, strict=True):
                if mode == "processes":
                    window.append(executor.submit(_prepare_in_worker, store, fmt, path, src,
                                                  frozen, skip_invalid))
                else:
                    window.append(executor.submit(_prepare, store, fmt, path, src, ref,
                                                  frozen, skip_invalid))
                while len(window) >= limit:
                    finish(window.popleft().result())
            while window:
                finish(window.popleft().result())
    return outcomes


def _commit(batch: ImportBatch, fmt: str, prep: _Prepared, known: dict[str, tuple[str, str]],
            committed: dict[str, str]) -> BatchOutcome:
    failure = prep.failure()
    if failure is not None:
        return BatchOutcome(prep.path, error=failure)
    assert prep.digest is not None
    if prep.digest in known and known[prep.digest][1] != fmt:
        import_id, other = known[prep.digest]
        return BatchOutcome(prep.path, error=InputError([Problem(
            prep.path.name, None, None, None,
            f"is already in the store as format {other!r} (import {import_id}), not {fmt!r}",
            "Check you chose the right format; nothing was changed")]))
    previous = known[prep.digest][0] if prep.digest in known else committed.get(prep.digest)
    if previous is not None:  # imported before, or earlier in this batch
        if prep.staged is not None:
            batch.store.discard_staged(prep.staged)
        return BatchOutcome(prep.path, IngestResult(prep.path.name, fmt, "already imported",
                                                    previous))
    assert prep.staged is not None
    try:
        import_id = batch.commit_staged(prep.staged, prep.problems)
    except Exception as exc:
        return BatchOutcome(prep.path, error=exc)
    committed[prep.digest] = import_id
    rec = prep.staged.record
    return BatchOutcome(prep.path, IngestResult(
        prep.path.name, fmt, "imported", import_id,
        rows_read=rec.rows_read, rows_stored=rec.rows_stored,
        rows_rejected=rec.rows_rejected, records=prep.records, meta=dict(rec.meta),
    ))
