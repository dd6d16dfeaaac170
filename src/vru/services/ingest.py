"""Use case: import one of a user's files into the evidence store, all of it or none."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vru.adapters.sources import adapter_for
from vru.adapters.sources.base import ReferenceData
from vru.adapters.store.evidence_store import EvidenceStore, ImportRecord
from vru.domain.geography import complete_code_lists
from vru.domain.problems import InputError, Problem

MAX_LISTED_PROBLEMS = 20


@dataclass
class IngestResult:
    file: str
    format: str
    status: str  # "imported" or "already imported"
    import_id: str
    rows_read: int = 0
    rows_stored: int = 0
    rows_rejected: int = 0
    records: dict[str, int] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def reference_data(store: EvidenceStore) -> ReferenceData:
    """Known area codes and names from the store's ``areas`` dataset (empty if not loaded)."""
    if "areas" not in store.dataset_files():
        return ReferenceData()
    con = store.connect()
    try:
        rows = con.execute("SELECT DISTINCT level, vintage, code, name FROM areas").fetchall()
    finally:
        con.close()
    codes: dict[tuple[str, str | None], set[str]] = {}
    names: dict[tuple[str, str], str] = {}
    for level, vintage, code, name in rows:
        codes.setdefault((level, vintage), set()).add(code)
        codes.setdefault((level, None), set()).add(code)
        if name:
            names[(level, " ".join(str(name).split()).casefold())] = code
    return ReferenceData(
        area_codes={k: frozenset(v) for k, v in codes.items()},
        complete=complete_code_lists({k: len(v) for k, v in codes.items()}),
        area_names=names,
    )


def ingest_file(
    store: EvidenceStore,
    fmt: str,
    path: Path,
    *,
    skip_invalid: bool = False,
    source: str | None = None,
    ref: ReferenceData | None = None,
    _crash_at: str | None = None,
) -> IngestResult:
    """Import ``path`` in format ``fmt``.

    Refuses the whole file (``InputError``, store untouched) if any row is invalid, unless
    ``skip_invalid``: then the valid rows are stored and each skipped row is recorded with
    its reason in the import log. A file already imported (same sha256) changes nothing.
    """
    path = Path(path)
    adapter = adapter_for(fmt)
    if not path.is_file():
        raise InputError([Problem(str(path), None, None, None, "does not exist or is not a file",
                                  "Check the path")])
    digest = sha256_of(path)
    previous = store.find_sha256(digest)
    if previous is not None and previous["format"] != fmt:
        raise InputError([Problem(
            path.name, None, None, None,
            f"is already in the store as format {previous['format']!r} "
            f"(import {previous['import_id']}, file {previous['file_name']!r}), not {fmt!r}",
            "Check you chose the right format; nothing was changed")])
    if previous is not None:
        return IngestResult(path.name, fmt, "already imported", previous["import_id"])
    parsed = adapter.parse(path, ref if ref is not None else reference_data(store))
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
    import_id = store.commit_import(record, parsed.tables, parsed.problems, _crash_at=_crash_at)
    return IngestResult(
        path.name, fmt, "imported", import_id,
        rows_read=parsed.rows_read, rows_stored=parsed.rows_stored,
        rows_rejected=parsed.rows_rejected,
        records={k: v.num_rows for k, v in parsed.tables.items()},
        meta=parsed.meta,
    )
