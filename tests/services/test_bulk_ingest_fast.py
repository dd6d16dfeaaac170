"""The bulk path for police.uk street files: many files checked in one pass, same results.

``ingest_files`` reads police.uk street files a chunk at a time: each file is hashed and read
strictly as CSV on its own, then all the chunk's rows are checked and converted together
(``PoliceUkStreet.parse_texts``), each file's Parquet is staged, and the chunk's imports
are committed in one transaction (``ImportBatch.commit_staged_many``). These tests hold it
to the guarantees of one file at a time:

* every file gets exactly what ``ingest_file`` gives it alone: the same stored rows (values,
  types, spreadsheet row numbers), the same import log, and for a refused file the same
  ``InputError`` (problems, locations, messages, count), whatever else is in its chunk;
* ``parse_texts`` of many files equals ``parse`` of each, including files with bad rows,
  values SQL has to trim, a BOM and CRLF line endings;
* rows read = rows stored + rows rejected for every file, with ``--skip-invalid``;
* a refused file leaves nothing behind, a batch of refused files leaves the store
  byte-for-byte as it was, and a second run changes nothing;
* a crash at each point of a group commit, and a real ``kill -9`` of a batch ingest at a
  random moment, leave only whole imports; running again completes the set.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vru.adapters.sources.base import Parsed, ReferenceData
from vru.adapters.sources.csvfile import read_csv
from vru.adapters.sources.police_uk_street import COLUMNS, PoliceUkStreet
from vru.adapters.store.evidence_store import EvidenceStore, ImportRecord
from vru.domain.problems import InputError, Problem
from vru.services import batch_ingest
from vru.services.batch_ingest import IngestStats, chunks, ingest_files
from vru.services.ingest import ingest_file, sha256_of

POLICE_UK = Path("crime") / "police_uk"
BAD = Path(__file__).resolve().parents[1] / "fixtures" / "bad"
CITY = [f"{m}-city-of-london-street.csv" for m in ("2018-01", "2018-02", "2018-03")]


# -- helpers ---------------------------------------------------------------------------------

def city(shared_data: Path, name: str) -> Path:
    return shared_data / POLICE_UK / name[:7] / name


def snapshot(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def orphans(store: EvidenceStore) -> list[Path]:
    found = sorted(store.staging_dir.rglob("*")) if store.staging_dir.exists() else []
    listed = {Path(p) for ps in store.dataset_files().values() for p in ps}
    if store.tables_dir.exists():
        found += sorted(p for p in store.tables_dir.rglob("*.parquet") if p not in listed)
    return found


def logical(store: EvidenceStore) -> dict[str, Any]:
    """What a reader of the store sees: the import log and every stored row."""
    imports = [{k: v for k, v in i.items() if k not in ("imported_at", "import_id")}
               for i in store.imports()]
    con = store.connect()
    try:
        tables = {d: con.execute(f'SELECT * EXCLUDE (import_id) FROM "{d}" ORDER BY ALL'
                                 ).fetchall()
                  for d in store.dataset_files()}
    finally:
        con.close()
    return {"imports": sorted(imports, key=lambda i: i["sha256"]), "tables": tables}


def mutate(path: Path, dest: Path, edits: dict[int, tuple[int, str]], *, crlf: bool = False,
           bom: bool = False) -> Path:
    """A copy of a police.uk file with ``edits`` (spreadsheet row -> (column index, new
    value)); the values are simple text (no commas or quotes) so lines stay one row."""
    lines = path.read_text(encoding="utf-8").split("\n")
    for row, (col, value) in edits.items():
        fields = lines[row - 1].split(",")
        fields[col] = value
        lines[row - 1] = ",".join(fields)
    text = ("\r\n" if crlf else "\n").join(lines)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return dest


def same_parsed(a: Parsed, b: Parsed) -> None:
    ta, tb = a.tables["street_crime"], b.tables["street_crime"]
    assert ta.schema == tb.schema
    assert ta.equals(tb)
    assert (a.rows_read, a.problems, a.period_start, a.period_end, a.meta) == (
        b.rows_read, b.problems, b.period_start, b.period_end, b.meta)


def outcome_view(o: batch_ingest.BatchOutcome) -> Any:
    if o.result is not None:
        r = o.result
        return ("ok", r.status, r.rows_read, r.rows_stored, r.rows_rejected, r.records,
                r.meta)
    assert isinstance(o.error, InputError), o.error
    return ("refused", o.error.problems, o.error.total)


def single_view(store: EvidenceStore, path: Path, skip_invalid: bool) -> Any:
    try:
        r = ingest_file(store, "police-uk-street", path, ref=ReferenceData(),
                        skip_invalid=skip_invalid)
    except InputError as exc:
        return ("refused", exc.problems, exc.total)
    return ("ok", r.status, r.rows_read, r.rows_stored, r.rows_rejected, r.records, r.meta)


@pytest.fixture()
def mixed(shared_data: Path, tmp_path: Path) -> list[Path]:
    """Good files, files with bad rows (some of them more than once, some values that SQL
    has to trim, a BOM, CRLF), and files refused as text, interleaved."""
    src = tmp_path / "in"
    first, second, third = (city(shared_data, n) for n in CITY)
    files = [
        first,
        mutate(second, src / "2018-02-city-of-london-street.csv",
               {10: (1, "2018-2"), 11: (5, ""), 40: (9, "Knife crime"), 41: (7, "E0100091")}),
        BAD / "street_utf16.csv",
        mutate(third, src / "2018-03-city-of-london-street.csv",
               {3: (6, " On or near Somewhere "), 5: (9, "  violence AND sexual offences "),
                6: (3, "City of London Police\u00a0")}, crlf=True, bom=True),
        BAD / "street_truncated.csv",
        mutate(first, src / "2017-12-leicestershire-street.csv",
               {2: (4, "999999"), 3: (4, "nan"), 4: (5, "inf")}),
        BAD / "street_blank_line.csv",
        city(shared_data, "2018-04-city-of-london-street.csv"),
        src / "missing-street.csv",
        BAD / "street_month_13.csv",
    ]
    return files


# -- parse_texts: one pass over many files, each as if alone ---------------------------------

def test_parse_texts_of_many_files_is_parse_of_each(shared_data: Path, mixed: list[Path]) -> None:
    adapter = PoliceUkStreet()
    readable = []
    for p in [*mixed, *sorted((shared_data / POLICE_UK).glob("2019-1*/*-street.csv"))]:
        try:
            readable.append((p, read_csv(p, COLUMNS)))
        except (InputError, FileNotFoundError):
            continue
    assert len(readable) >= 8
    together = adapter.parse_texts([t for _p, t in readable], ReferenceData())
    for (path, _text), many in zip(readable, together, strict=True):
        alone = adapter.parse(path, ReferenceData())
        same_parsed(many, alone)
        table = many.tables["street_crime"]
        assert many.rows_read == many.rows_stored + many.rows_rejected
        rejected = {p.row for p in many.problems}
        # source_row is the spreadsheet row: every data row of the file, less the rejected.
        assert table["source_row"].to_pylist() == [
            r for r in range(2, many.rows_read + 2) if r not in rejected]


def test_problems_are_located_and_values_trimmed_as_alone(mixed: list[Path]) -> None:
    adapter = PoliceUkStreet()
    texts = [read_csv(p, COLUMNS) for p in (mixed[0], mixed[1], mixed[3], mixed[5])]
    bad, trimmed, coords = adapter.parse_texts(texts, ReferenceData())[1:]
    assert [(p.row, p.column, p.value) for p in bad.problems] == [
        (10, "Month", "2018-2"), (11, "Latitude", ""), (40, "Crime type", "Knife crime"),
        (41, "LSOA code", "E0100091")]
    assert trimmed.problems == [] and trimmed.meta["had_bom"] is True
    rows = {r["source_row"]: r for r in trimmed.tables["street_crime"].to_pylist()}
    assert rows[3]["location"] == "On or near Somewhere"
    assert rows[5]["measure"] == "violence_and_sexual_offences"
    assert rows[6]["falls_within"] == "City of London Police"
    # 999999, NaN and an infinite latitude are all outside England and Wales (the range
    # check names the longitude column for either coordinate).
    assert [(p.row, p.column, p.message) for p in coords.problems] == [
        (r, "Longitude", "is outside England and Wales, so outside any police force area")
        for r in (2, 3, 4)]


# -- ingest_files: the same outcome as ingest_file, file by file ------------------------------

@pytest.mark.parametrize("skip_invalid", [False, True])
@pytest.mark.parametrize("mode", ["threads", "serial", "processes"])
def test_batch_outcomes_equal_ingest_file(mixed: list[Path], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch, mode: str,
                                          skip_invalid: bool) -> None:
    # Small chunks, so that good and bad files share chunks and there are several.
    monkeypatch.setattr(batch_ingest, "CHUNK_BYTES", 120_000)
    one = EvidenceStore(tmp_path / "one")
    many = EvidenceStore(tmp_path / "many")
    singles = [single_view(one, p, skip_invalid) for p in mixed]
    stats = IngestStats()
    outcomes = ingest_files(many, "police-uk-street", mixed, ref=ReferenceData(), mode=mode,
                            workers=2, skip_invalid=skip_invalid, stats=stats)
    assert [o.path for o in outcomes] == mixed
    assert [outcome_view(o) for o in outcomes] == singles
    assert logical(many) == logical(one)
    assert stats.jobs >= 2 and set(stats.seconds) >= {"hash", "parse", "write", "commit"}
    for i in many.imports():
        assert i["rows_read"] == i["rows_stored"] + i["rows_rejected"]
        assert len(many.rejected_rows(i["import_id"])) >= i["rows_rejected"]
    assert orphans(many) == []
    con = many.connect()
    try:
        rows = dict(con.execute("SELECT file_name, list(source_row ORDER BY source_row) FROM "
                                "street_crime JOIN imports USING (import_id) GROUP BY ALL"
                                ).fetchall())
    finally:
        con.close()
    for i in many.imports():
        rejected = {r["row"] for r in many.rejected_rows(i["import_id"])}
        assert rows[i["file_name"]] == [r for r in range(2, i["rows_read"] + 2)
                                        if r not in rejected]


def test_every_real_file_in_one_batch(shared_data: Path, tmp_path: Path) -> None:
    files = sorted((shared_data / POLICE_UK).glob("*/*-street.csv"))
    store = EvidenceStore(tmp_path / "data")
    outcomes = ingest_files(store, "police-uk-street", files, ref=ReferenceData(), workers=2)
    assert all(o.ok for o in outcomes)
    counted = {p.name: sum(1 for _ in p.open(encoding="utf-8")) - 1 for p in files}
    for o in outcomes:
        assert o.result is not None
        assert o.result.rows_read == o.result.rows_stored == counted[o.path.name]
    con = store.connect()
    try:
        assert con.execute("SELECT count(*) FROM street_crime").fetchall() == [(326_588,)]
        # Every file's rows are numbered 2.. in order, with no gap, as in the file.
        assert con.execute("""
            SELECT count(*) FROM (SELECT import_id, min(source_row) lo, max(source_row) hi,
                                  count(DISTINCT source_row) n FROM street_crime GROUP BY ALL)
            WHERE lo <> 2 OR hi <> n + 1""").fetchall() == [(0,)]
    finally:
        con.close()
    assert {i["sha256"] for i in store.imports()} == {sha256_of(p) for p in files}
    before = snapshot(tmp_path / "data")
    again = ingest_files(store, "police-uk-street", files, ref=ReferenceData(), workers=2)
    assert {o.result.status for o in again if o.result} == {"already imported"}
    assert snapshot(tmp_path / "data") == before


def test_refused_batch_leaves_the_store_byte_for_byte(shared_data: Path, tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "data")
    ingest_file(store, "police-uk-street", city(shared_data, CITY[0]))
    before = snapshot(tmp_path / "data")
    bad = sorted(BAD.glob("street_*.csv"))
    outcomes = ingest_files(store, "police-uk-street", bad, workers=2)
    assert not any(o.ok for o in outcomes)
    for path, o in zip(bad, outcomes, strict=True):
        with pytest.raises(InputError) as alone:
            ingest_file(store, "police-uk-street", path)
        assert isinstance(o.error, InputError)
        assert (o.error.problems, o.error.total) == (alone.value.problems, alone.value.total)
    assert snapshot(tmp_path / "data") == before


def test_twins_in_one_chunk_are_imported_once(shared_data: Path, tmp_path: Path) -> None:
    first = city(shared_data, CITY[0])
    twin = tmp_path / "twin" / first.name
    twin.parent.mkdir()
    twin.write_bytes(first.read_bytes())
    store = EvidenceStore(tmp_path / "data")
    outcomes = ingest_files(store, "police-uk-street",
                            [first, city(shared_data, CITY[1]), twin], workers=2)
    got = [(o.result.status, o.result.import_id) for o in outcomes if o.result]
    assert [s for s, _i in got] == ["imported", "imported", "already imported"]
    assert got[2][1] == got[0][1]
    assert len(store.imports()) == 2 and orphans(store) == []


def test_chunks_are_consecutive_and_bounded(tmp_path: Path) -> None:
    sizes = [10, 30, 5, 100, 1, 1, 1, 40]
    paths = []
    for i, n in enumerate(sizes):
        p = tmp_path / f"{i}.csv"
        p.write_bytes(b"x" * n)
        paths.append(p)
    runs = chunks(paths, workers=1, limit=40, max_files=2)
    assert [i for run in runs for i in run] == list(range(len(paths)))
    for run in runs:
        assert len(run) <= 2
        assert sum(sizes[i] for i in run) <= 40 or len(run) == 1
    assert [3] in runs  # bigger than the limit: alone
    # With more workers the runs get smaller, so that every worker has work.
    assert len(chunks(paths, workers=4, limit=1000)) > len(chunks(paths, workers=1,
                                                                    limit=1000))


def test_input_error_pickles_whole() -> None:
    err = InputError([Problem("f.csv", 3, "Month", "2020-13", "is not a month", "Fix it")],
                     total=7)
    back = pickle.loads(pickle.dumps(err))
    assert isinstance(back, InputError)
    assert (back.problems, back.total, str(back)) == (err.problems, err.total, str(err))


# -- group commit: all of a chunk's imports in one transaction --------------------------------

def _records(shared_data: Path) -> list[tuple[ImportRecord, dict[str, pa.Table]]]:
    adapter = PoliceUkStreet()
    out = []
    for name in CITY:
        path = city(shared_data, name)
        parsed = adapter.parse(path, ReferenceData())
        out.append((ImportRecord(format="police-uk-street", file_name=name, source=str(path),
                                 sha256=sha256_of(path), size_bytes=path.stat().st_size,
                                 rows_read=parsed.rows_read, rows_stored=parsed.rows_stored,
                                 rows_rejected=0), parsed.tables))
    return out


def test_group_commit_records_all_and_keeps_import_order(shared_data: Path,
                                                         store: EvidenceStore) -> None:
    recs = _records(shared_data)
    with store.import_batch() as batch:
        ids = batch.commit_staged_many([(store.stage_import(r, t), ()) for r, t in recs])
    assert ids == [r.import_id for r, _t in recs]
    assert [i["import_id"] for i in store.imports()] == ids  # in the order given
    assert orphans(store) == []
    con = store.connect()
    try:
        assert con.execute("SELECT count(*) FROM street_crime").fetchall() == [
            (698 + 583 + 707,)]
    finally:
        con.close()


def test_group_commit_falls_back_to_one_by_one(shared_data: Path, store: EvidenceStore) -> None:
    recs = _records(shared_data)
    ingest_file(store, "police-uk-street", city(shared_data, CITY[1]))  # same sha256 as [1]
    with store.import_batch() as batch:
        got = batch.commit_staged_many([(store.stage_import(r, t), ()) for r, t in recs])
    assert got[0] == recs[0][0].import_id and got[2] == recs[2][0].import_id
    assert isinstance(got[1], Exception)  # the UNIQUE sha256: this import only
    assert len(store.imports()) == 3
    assert orphans(store) == []


GROUP_CRASH = """
import sys
from pathlib import Path
import pyarrow.parquet as pq
from vru.adapters.store.evidence_store import EvidenceStore, ImportRecord
store = EvidenceStore(Path(sys.argv[1]))
with store.import_batch() as batch:
    staged = []
    for i, part in enumerate(sys.argv[3:]):
        rec = ImportRecord(format="police-uk-street", file_name=f"f{i}.csv", source="x",
                           sha256=f"{i:064d}", size_bytes=1, rows_read=1, rows_stored=1,
                           rows_rejected=0)
        staged.append((store.stage_import(rec, {"street_crime": pq.read_table(part)}), ()))
    batch.commit_staged_many(staged, _crash_at=sys.argv[2])
sys.exit(3)
"""


@pytest.mark.parametrize("point", ["moved", "inserted"])
def test_crash_during_a_group_commit_changes_nothing(point: str, shared_data: Path,
                                                     tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    store = EvidenceStore(data_dir)
    ingest_file(store, "police-uk-street", city(shared_data, CITY[0]))
    before = logical(store)
    parts = []
    for i, (_r, tables) in enumerate(_records(shared_data)):
        part = tmp_path / f"part{i}.parquet"
        pq.write_table(tables["street_crime"], part)
        parts.append(str(part))
    crashed = subprocess.run([sys.executable, "-c", GROUP_CRASH, str(data_dir), point, *parts],
                             capture_output=True, text=True, timeout=300)
    assert crashed.returncode == 137, crashed.stderr
    assert logical(store) == before
    left = orphans(store)
    assert len(left) == 3 and all(p.parent.name == "street_crime" for p in left)
    assert sorted(store.recover()) == left
    assert logical(store) == before and orphans(store) == []


# -- a real kill -9 of a batch ingest ---------------------------------------------------------

BATCH_SCRIPT = """
import sys
from pathlib import Path
from vru.services import batch_ingest
from vru.adapters.store.evidence_store import EvidenceStore
batch_ingest.CHUNK_BYTES = int(sys.argv[3])
outcomes = batch_ingest.ingest_files(EvidenceStore(Path(sys.argv[1])), "police-uk-street",
                                     [Path(p) for p in sys.argv[4:]], mode=sys.argv[2],
                                     workers=2)
sys.exit(0 if all(o.ok for o in outcomes) else 1)
"""


def _wait_gone(pgid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"processes of group {pgid} still running after SIGKILL")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_kill_9_during_a_batch_ingest(mode: str, shared_data: Path, tmp_path: Path) -> None:
    files = sorted((shared_data / POLICE_UK).glob("*/*-leicestershire-street.csv"))
    assert len(files) == 35
    expected = {p.name: sum(1 for _ in p.open(encoding="utf-8")) - 1 for p in files}
    data_dir = tmp_path / "data"
    store = EvidenceStore(data_dir)
    ingest_file(store, "police-uk-street", shared_data / POLICE_UK / "2017-12" /
                "2017-12-city-of-london-street.csv")
    first = store.imports()[0]
    rng = random.Random()
    wait_for, extra = rng.randint(0, 20), rng.uniform(0, 0.3)
    moment = f"after {wait_for} files + {extra:.2f}s"
    tables = store.tables_dir / "street_crime"
    command = [sys.executable, "-c", BATCH_SCRIPT, str(data_dir), mode, str(4 << 20),
               *map(str, files)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while (len(list(tables.glob("*.parquet"))) < 1 + wait_for and proc.poll() is None
               and time.monotonic() < deadline):
            time.sleep(0.005)
        time.sleep(extra)
        still_running = proc.poll() is None
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        _wait_gone(proc.pid)
    if not still_running:  # a fast machine: the batch finished first; nothing to check
        pytest.skip(f"the batch finished before it was killed ({moment})")
    # Only whole imports are visible, each with all its rows.
    imports = store.imports()
    assert imports[0] == first, moment
    con = store.connect()
    try:
        per_import = dict(con.execute(
            "SELECT import_id, count(*) FROM street_crime GROUP BY ALL").fetchall())
    finally:
        con.close()
    assert set(per_import) == {i["import_id"] for i in imports}, moment
    for imp in imports[1:]:
        assert imp["rows_read"] == imp["rows_stored"] == expected[imp["file_name"]], moment
        assert per_import[imp["import_id"]] == imp["rows_stored"], moment
    # Running again cleans up and completes the set.
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert orphans(store) == []
    final = store.imports()
    assert len(final) == 36
    assert sum(i["rows_stored"] for i in final[1:]) == 301_838
    assert final[0] == first
