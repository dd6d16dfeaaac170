"""Use case: import many files of one format at once, each whole or not at all.

``ingest_files`` gives the same result, file by file, as calling ``ingest_file`` on each:
a file is refused whole if any row is invalid (unless ``skip_invalid``), a file already
imported (same sha256) changes nothing, and every file is its own atomic import. It is
faster because the work that does not need to be serial is not: files are hashed, parsed,
checked and written to Parquet staging in parallel worker threads (or processes), and
the imports are committed through one catalogue connection.

For a format whose adapter can check many files in one pass (``BulkAdapter``: police.uk
street files), files go in *chunks* of tens of megabytes. A worker reads each file of a
chunk once, hashes those bytes and reads them strictly as CSV (the same ``csvfile`` checks,
so a file that is not well-formed gets the same located error), then checks and converts
all the chunk's rows in one pass (``parse_texts``), writes each file's Parquet to staging,
and the chunk's imports are committed in one transaction (``ImportBatch.commit_staged_many``).
A file with an invalid row gets exactly the problems it gets alone: every check looks at one
row at a time, and the problems are listed per file.

Why one transaction per chunk: each import stays whole or absent either way (its files are
staged and flushed before the transaction, and only the transaction makes them visible), so
the choice is about cost and about what a crash undoes. A transaction per file spends a few
catalogue statements and a commit on every file, which adds up over thousands of small files
in the one thread that commits; one for a whole batch would hold every import back until
the last file, so a crash near the end would undo hours of work, and progress reported as
files finish would not mean they are stored. A chunk is tens of megabytes: a crash undoes at
most the chunks in flight, and the commit costs a few statements per chunk. Should the
chunk's transaction fail, it is rolled back and each import is committed on its own, so one
import that cannot be recorded does not keep out the rest.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import multiprocessing.context
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Literal, Protocol, runtime_checkable

from vru.adapters.sources import _REGISTRY, adapter_for
from vru.adapters.sources.base import Parsed, ReferenceData
from vru.adapters.sources.csvfile import CsvText
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


@runtime_checkable
class BulkAdapter(Protocol):
    """An adapter that can check and convert many files in one pass."""

    def read_text(self, data: bytes, name: str) -> CsvText:
        """A file's bytes read strictly, as ``parse`` reads the file (``InputError``)."""
        ...

    def parse_texts(self, texts: Sequence[CsvText], ref: ReferenceData) -> list[Parsed]:
        """One ``Parsed`` per text, each what ``parse`` gives for its file alone."""
        ...


# A chunk holds files up to this many bytes (and files), so that its rows, in memory a few
# times over while checked and converted, stay well within memory however many files there
# are, while each pass is long enough that its fixed costs do not matter.
CHUNK_BYTES = 64 << 20
CHUNK_FILES = 256

STAGES = ("hash", "parse", "write", "commit")


@dataclass
class IngestStats:
    """Where an ``ingest_files`` call spent its time, by stage: ``hash`` (reading each file
    and its sha256), ``parse`` (reading it strictly as CSV, checking and converting rows;
    ``parse.csv`` is the first part alone, for formats checked a chunk at a time),
    ``write`` (Parquet to staging, flushed to disk) and ``commit`` (moving into place and
    recording in the catalogue). Seconds are wall-clock seconds of whichever thread or
    process did the work, summed: with several workers they add up to more than the
    call's own duration."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    jobs: int = 0

    def add(self, clock: dict[str, float]) -> None:
        for stage, seconds in clock.items():
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds


@contextmanager
def _timed(clock: dict[str, float], stage: str) -> Iterator[None]:
    t0 = perf_counter()
    try:
        yield
    finally:
        clock[stage] = clock.get(stage, 0.0) + perf_counter() - t0


@dataclass
class _Prepared:
    """What a worker hands back: a staged import, or a known sha256, or a refusal."""

    path: Path
    digest: str | None = None
    staged: StagedImport | None = None
    problems: list[Problem] = field(default_factory=list)
    records: dict[str, int] = field(default_factory=dict)
    error: Exception | None = None

    def portable(self) -> _Prepared:
        """This result in a form that pickles (for worker processes): an ``InputError``
        pickles; another exception travels as its type and message."""
        if self.error is not None and not isinstance(self.error, InputError):
            self.error = RuntimeError(f"{type(self.error).__name__}: {self.error}")
        return self

    def failure(self) -> Exception | None:
        return self.error


def _missing(path: Path) -> InputError:
    return InputError([Problem(str(path), None, None, None, "does not exist or is not a file",
                               "Check the path")])


def _record(fmt: str, path: Path, source: str | None, digest: str, size: int,
            parsed: Parsed, skip_invalid: bool) -> ImportRecord:
    """Refuse a parsed file as ``ingest_file`` would (``InputError``), or say what its
    import will record."""
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
    return ImportRecord(
        format=fmt,
        file_name=path.name,
        source=source or str(path.resolve()),
        sha256=digest,
        size_bytes=size,
        rows_read=parsed.rows_read,
        rows_stored=parsed.rows_stored,
        rows_rejected=parsed.rows_rejected,
        period_start=parsed.period_start,
        period_end=parsed.period_end,
        meta=parsed.meta,
    )


def _stage(store: EvidenceStore, fmt: str, path: Path, source: str | None, digest: str,
           size: int, parsed: Parsed, skip_invalid: bool, clock: dict[str, float],
           ) -> _Prepared:
    """Refuse a parsed file as ``ingest_file`` would, or stage it."""
    record = _record(fmt, path, source, digest, size, parsed, skip_invalid)
    with _timed(clock, "write"):
        staged = store.stage_import(record, parsed.tables)
    return _Prepared(path, digest, staged, parsed.problems,
                     {k: v.num_rows for k, v in parsed.tables.items()})


def _prepare(store: EvidenceStore, fmt: str, path: Path, source: str | None,
             ref: ReferenceData, known: frozenset[str], skip_invalid: bool,
             clock: dict[str, float]) -> _Prepared:
    """Hash, parse, check and stage one file (in a worker). Mirrors ``ingest_file``."""
    try:
        if not path.is_file():
            raise _missing(path)
        with _timed(clock, "hash"):
            digest = sha256_of(path)
        if digest in known:
            return _Prepared(path, digest)
        with _timed(clock, "parse"):
            parsed = adapter_for(fmt).parse(path, ref)
        return _stage(store, fmt, path, source, digest, path.stat().st_size, parsed,
                      skip_invalid, clock)
    except InputError as exc:
        return _Prepared(path, error=exc)
    except Exception as exc:  # an adapter bug must not take the other files down
        return _Prepared(path, error=exc)


def _prepare_chunk(store: EvidenceStore, fmt: str, items: Sequence[tuple[Path, str | None]],
                   ref: ReferenceData, known: frozenset[str], skip_invalid: bool,
                   clock: dict[str, float]) -> list[_Prepared]:
    """Hash, read, check and stage a chunk of files (in a worker), checking all their rows
    in one pass. Each file's result is what ``_prepare`` gives for it."""
    adapter = adapter_for(fmt)
    assert isinstance(adapter, BulkAdapter)
    out: list[_Prepared | None] = [None] * len(items)
    texts: list[CsvText] = []
    read: list[tuple[int, str, int]] = []  # (index in items, sha256, size) per text
    for i, (path, _source) in enumerate(items):
        try:
            if not path.is_file():
                raise _missing(path)
            with _timed(clock, "hash"):
                data = path.read_bytes()  # read once: hashed and parsed from the same bytes
                digest = hashlib.sha256(data).hexdigest()
            if digest in known:
                out[i] = _Prepared(path, digest)
                continue
            with _timed(clock, "parse"), _timed(clock, "parse.csv"):
                texts.append(adapter.read_text(data, path.name))
            read.append((i, digest, len(data)))
        except Exception as exc:  # InputError, or an adapter bug (this file only)
            out[i] = _Prepared(path, error=exc)
        finally:
            data = b""
    try:
        with _timed(clock, "parse"):
            parsed = adapter.parse_texts(texts, ref)
    except Exception:  # an adapter bug: fall back to file by file, to confine it
        for i, _digest, _size in read:
            path, source = items[i]
            out[i] = _prepare(store, fmt, path, source, ref, known, skip_invalid, clock)
        return [p for p in out if p is not None]
    texts.clear()
    accepted: list[tuple[int, ImportRecord, Parsed]] = []
    for (i, digest, size), one in zip(read, parsed, strict=True):
        path, source = items[i]
        try:
            accepted.append((i, _record(fmt, path, source, digest, size, one, skip_invalid),
                             one))
        except Exception as exc:  # refused
            out[i] = _Prepared(path, error=exc)
    with _timed(clock, "write"):
        staged = store.stage_imports([(record, one.tables) for _i, record, one in accepted])
    for (i, record, one), got in zip(accepted, staged, strict=True):
        path = items[i][0]
        if isinstance(got, Exception):
            out[i] = _Prepared(path, error=got)
        else:
            out[i] = _Prepared(path, record.sha256, got, one.problems,
                               {k: v.num_rows for k, v in one.tables.items()})
    return [p for p in out if p is not None]


def chunks(paths: Sequence[Path], workers: int, limit: int | None = None,
           max_files: int | None = None) -> list[list[int]]:
    """Consecutive runs of ``paths`` (as indices), each up to ``limit`` bytes (``CHUNK_BYTES``)
    and ``max_files`` files (``CHUNK_FILES``), and small enough that there are at least two
    per worker when the files allow it. A file bigger than the limit is a run of its own."""
    limit = CHUNK_BYTES if limit is None else limit
    max_files = CHUNK_FILES if max_files is None else max_files
    sizes = []
    for p in paths:
        try:
            sizes.append(p.stat().st_size)
        except OSError:
            sizes.append(0)
    target = max(1, min(limit, sum(sizes) // max(1, 2 * workers)))
    out: list[list[int]] = []
    run: list[int] = []
    total = 0
    for i, size in enumerate(sizes):
        if run and (total + size > target or len(run) >= max_files):
            out.append(run)
            run, total = [], 0
        run.append(i)
        total += size
    if run:
        out.append(run)
    return out


# Worker processes receive the reference data once, not with every file.
_WORKER_REF: ReferenceData | None = None


def _init_worker(ref: ReferenceData) -> None:
    global _WORKER_REF
    _WORKER_REF = ref


def _job(store: EvidenceStore, fmt: str, items: Sequence[tuple[Path, str | None]],
         ref: ReferenceData, known: frozenset[str], skip_invalid: bool, bulk: bool,
         ) -> tuple[list[_Prepared], dict[str, float]]:
    """One unit of work: a chunk checked in one pass, or files one by one; with the
    seconds it spent in each stage."""
    clock: dict[str, float] = {}
    if bulk:
        return _prepare_chunk(store, fmt, items, ref, known, skip_invalid, clock), clock
    return [_prepare(store, fmt, path, source, ref, known, skip_invalid, clock)
            for path, source in items], clock


def _job_in_worker(store: EvidenceStore, fmt: str, items: Sequence[tuple[Path, str | None]],
                   known: frozenset[str], skip_invalid: bool, bulk: bool,
                   ) -> tuple[list[_Prepared], dict[str, float]]:
    preps, clock = _job(store, fmt, items, _WORKER_REF or ReferenceData(), known,
                        skip_invalid, bulk)
    return [p.portable() for p in preps], clock


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
    stats: IngestStats | None = None,
) -> list[BatchOutcome]:
    """Import ``paths`` (all in format ``fmt``), each as its own atomic import.

    Returns one ``BatchOutcome`` per path, in the order given; a refused file does not
    stop the others. ``ref`` is the reference data to check codes against (computed from
    the store when not given). ``sources`` records where each file came from (a URL or
    mirror path; the resolved path when None). ``on_done`` is called as each file's
    outcome is known, in order. ``mode``: ``auto`` (threads when there are several files
    and workers), ``threads``, ``serial``, or ``processes`` (worker processes from a fork
    server; the calling script must guard its entry point with
    ``if __name__ == "__main__":``). ``stats``, when given, is told where the time went.
    """
    adapter = adapter_for(fmt)  # unknown format: KeyError before anything is touched
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
    bulk = isinstance(adapter, BulkAdapter)
    jobs = chunks(paths, workers if mode != "serial" else 1) if bulk else [
        [i] for i in range(len(paths))]
    items = [[(paths[i], srcs[i]) for i in job] for job in jobs]
    outcomes: list[BatchOutcome] = []
    with store.import_batch() as batch:
        known = batch.known_imports()
        frozen = frozenset(known)
        committed: dict[str, str] = {}

        def finish(job: tuple[list[_Prepared], dict[str, float]]) -> None:
            preps, clock = job
            with _timed(clock, "commit"):
                done = _commit_all(batch, fmt, preps, known, committed)
            if stats is not None:
                stats.add(clock)
                stats.jobs += 1
            for out in done:
                outcomes.append(out)
                if on_done is not None:
                    on_done(out)

        if mode == "serial":
            for job in items:
                finish(_job(store, fmt, job, ref, frozen, skip_invalid, bulk))
            return outcomes
        executor: Executor
        if mode == "processes":
            executor = ProcessPoolExecutor(max_workers=min(workers, len(items)),
                                           mp_context=_mp_context(fmt),
                                           initializer=_init_worker, initargs=(ref,))
        else:
            executor = ThreadPoolExecutor(max_workers=min(workers, len(items)))
        with executor:
            window: deque[Future[tuple[list[_Prepared], dict[str, float]]]] = deque()
            limit = 2 * workers  # prepared jobs waiting to be committed, at most
            for job in items:
                if mode == "processes":
                    window.append(executor.submit(_job_in_worker, store, fmt, job, frozen,
                                                  skip_invalid, bulk))
                else:
                    window.append(executor.submit(_job, store, fmt, job, ref, frozen,
                                                  skip_invalid, bulk))
                while len(window) >= limit:
                    finish(window.popleft().result())
            while window:
                finish(window.popleft().result())
    return outcomes


def _settled(batch: ImportBatch, fmt: str, prep: _Prepared,
             known: dict[str, tuple[str, str]], committed: dict[str, str]) -> BatchOutcome | None:
    """The outcome of a prepared file that is not to be committed (refused, or imported
    already, before or earlier in this batch); None for one to commit."""
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
    return None


def _commit_all(batch: ImportBatch, fmt: str, preps: list[_Prepared],
                known: dict[str, tuple[str, str]], committed: dict[str, str],
                ) -> list[BatchOutcome]:
    """Commit a job's staged files, in one transaction (``commit_staged_many``), and give
    every file's outcome in order. A file whose bytes repeat an earlier file of the job
    waits for that one's commit, and is then "already imported" if it went in."""
    outcomes: list[BatchOutcome | None] = [None] * len(preps)
    group: list[int] = []

    def flush() -> None:
        if not group:
            return
        staged: list[tuple[StagedImport, Sequence[Problem]]] = []
        for i in group:
            one = preps[i].staged
            assert one is not None
            staged.append((one, preps[i].problems))
        got = batch.commit_staged_many(staged)
        for i, import_id in zip(group, got, strict=True):
            prep = preps[i]
            if isinstance(import_id, Exception):
                outcomes[i] = BatchOutcome(prep.path, error=import_id)
                continue
            assert prep.digest is not None and prep.staged is not None
            committed[prep.digest] = import_id
            rec = prep.staged.record
            outcomes[i] = BatchOutcome(prep.path, IngestResult(
                prep.path.name, fmt, "imported", import_id,
                rows_read=rec.rows_read, rows_stored=rec.rows_stored,
                rows_rejected=rec.rows_rejected, records=prep.records, meta=dict(rec.meta),
            ))
        group.clear()

    pending: set[str] = set()
    for i, prep in enumerate(preps):
        if prep.digest is not None and prep.digest in pending:
            flush()
            pending.clear()
        settled = _settled(batch, fmt, prep, known, committed)
        if settled is not None:
            outcomes[i] = settled
            continue
        assert prep.digest is not None and prep.staged is not None
        group.append(i)
        pending.add(prep.digest)
    flush()
    return [o for o in outcomes if o is not None]
