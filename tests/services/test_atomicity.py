"""An import is all or nothing, even when the process dies; importing twice changes nothing.

* A crash at each point of ``EvidenceStore.commit_import`` ("staged", "moved", "inserted";
  the hook calls ``os._exit``), in a subprocess, leaves the store's logical content exactly
  as before: ``vru data status --json`` (datasets, totals, imports) and the query results.
  What the crash left on disk is removed by ``EvidenceStore.recover()``, which the next write
  calls itself.
* A real ``kill -9`` of ``vru ingest`` importing all 35 Leicestershire files, sent at a
  random moment, leaves only whole imports; running the command again completes the set.
* Importing the same file twice changes nothing, byte for byte.
* ``--skip-invalid`` stores the valid rows, logs every skipped row with its reason, and says
  how many. The exit status is 0 only when every file was imported or already imported.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from vru.adapters.store import evidence_store
from vru.adapters.store.evidence_store import EvidenceStore
from vru.domain.problems import InputError
from vru.interfaces.cli.main import app
from vru.services.ingest import ingest_file

POLICE_UK = Path("crime") / "police_uk"
FIRST = POLICE_UK / "2017-12" / "2017-12-city-of-london-street.csv"  # 651 rows
SECOND = POLICE_UK / "2018-01" / "2018-01-city-of-london-street.csv"  # 698 rows

STREET_HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,"
                 "LSOA code,LSOA name,Crime type,Last outcome category,Context")
STREET_ROWS = [
    "a1,2020-01,Leicestershire Police,Leicestershire Police,-1.131,52.634,On or near High "
    "Street,E01025000,Leicester 001A,Burglary,Under investigation,",
    "a2,2020-01,Leicestershire Police,Leicestershire Police,-1.129,,On or near Church Lane,"
    "E01025001,Leicester 001B,Robbery,Under investigation,",
    ",2020-01,Leicestershire Police,Leicestershire Police,,,No location,,,"
    "Anti-social behaviour,,",
    "a4,2020-13,Leicestershire Police,Leicestershire Police,-1.120,52.630,On or near Mill "
    "Lane,E01025002,Leicester 001C,Drugs,Under investigation,",
    "a5,2020-01,Leicestershire Police,Leicestershire Police,-1.110,52.620,On or near Park "
    "Road,E01025003,Leicester 001D,Possession of weapons,Under investigation,",
]

CRASH_SCRIPT = """
import sys
from pathlib import Path
from vru.adapters.store import evidence_store
from vru.adapters.store.evidence_store import EvidenceStore
from vru.services.ingest import ingest_file
ingest_file(EvidenceStore(Path(sys.argv[1])), sys.argv[2], Path(sys.argv[3]),
            skip_invalid=sys.argv[5] == "skip", _crash_at=sys.argv[4])
sys.exit(3)  # not reached: the hook ends the process
"""

runner = CliRunner()


# -- helpers ---------------------------------------------------------------------------------

def vru(*args: str) -> Any:
    """Run the ``vru`` CLI in-process."""
    return runner.invoke(app, list(args), catch_exceptions=False)


def flat(text: str) -> str:
    """Output with Rich's line wrapping undone."""
    return " ".join(text.split())


def logical_state(data_dir: Path) -> dict[str, Any]:
    """What a user can see: ``vru data status --json`` and query results over every dataset."""
    result = vru("data", "status", "--json", "--data-dir", str(data_dir))
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    queries: dict[str, Any] = {}
    con = EvidenceStore(data_dir).connect()
    try:
        for d in status["datasets"]:
            name = d["dataset"]
            queries[name] = con.execute(
                f'SELECT count(*), sum(hash(t)) FROM "{name}" t').fetchone()
            if name == "street_crime":
                queries["street_crime by type"] = con.execute(
                    "SELECT crime_type, count(*) FROM street_crime GROUP BY ALL ORDER BY 1"
                ).fetchall()
        queries["rejected_rows"] = con.execute(
            "SELECT count(*), sum(hash(t)) FROM rejected_rows t").fetchone() if status[
                "imports"] else None
    finally:
        con.close()
    return {"datasets": status["datasets"], "totals": status["totals"],
            "imports": status["imports"], "queries": queries}


def orphans(data_dir: Path) -> list[Path]:
    """Files an interrupted import can leave: anything in staging, and Parquet files in
    ``tables`` that the catalogue does not list."""
    store = EvidenceStore(data_dir)
    found = sorted(store.staging_dir.rglob("*")) if store.staging_dir.exists() else []
    listed = {Path(p) for ps in store.dataset_files().values() for p in ps}
    if store.tables_dir.exists():
        found += sorted(p for p in store.tables_dir.rglob("*.parquet") if p not in listed)
    return found


def snapshot(directory: Path) -> dict[str, str]:
    """sha256 of every file under ``directory``, by relative path."""
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*")) if p.is_file()
    }


def street_file(tmp_path: Path, rows: list[str], name: str = "2020-01-test-street.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([STREET_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def one_import(shared_data: Path, tmp_path: Path) -> Path:
    """A data directory holding one good import (651 rows)."""
    data_dir = tmp_path / "data"
    result = ingest_file(EvidenceStore(data_dir), "police-uk-street", shared_data / FIRST)
    assert (result.status, result.rows_stored) == ("imported", 651)
    return data_dir


# -- crashes at each point of commit_import ----------------------------------------------------

@pytest.mark.parametrize("point", ["staged", "moved", "inserted"])
@pytest.mark.parametrize("variant", ["real file", "skip-invalid file"])
def test_crash_at_each_point_changes_nothing(
        point: str, variant: str, one_import: Path, shared_data: Path, tmp_path: Path) -> None:
    if variant == "real file":
        path, skip, rows = shared_data / SECOND, "strict", 698
    else:
        path, skip, rows = street_file(tmp_path, STREET_ROWS), "skip", 3
    before = logical_state(one_import)
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, str(one_import), "police-uk-street", str(path),
         point, skip], capture_output=True, text=True, timeout=300)
    assert crashed.returncode == 137, crashed.stderr
    assert logical_state(one_import) == before
    left = orphans(one_import)
    if point == "staged":
        assert left and all(EvidenceStore(one_import).staging_dir in p.parents for p in left)
    else:
        assert [p.parent.name for p in left] == ["street_crime"]

    store = EvidenceStore(one_import)
    if variant == "real file":
        # The next write cleans up by itself; the crashed file was never recorded, so it
        # imports now as new.
        result = ingest_file(store, "police-uk-street", path)
    else:
        assert sorted(store.recover()) == left
        assert logical_state(one_import) == before
        result = ingest_file(store, "police-uk-street", path, skip_invalid=True)
        assert [r["row"] for r in store.rejected_rows(result.import_id)] == [3, 5]
    assert (result.status, result.rows_stored) == ("imported", rows)
    assert orphans(one_import) == []
    after = logical_state(one_import)
    assert after["totals"]["imports"] == 2
    assert after["totals"]["rows_stored"] == 651 + rows
    assert after["imports"][0] == before["imports"][0]


@pytest.mark.parametrize("point", ["staged", "moved", "inserted"])
def test_crash_during_the_very_first_import_leaves_no_orphan(
        point: str, shared_data: Path, tmp_path: Path) -> None:
    """The same for a store's first import, when a crash can come before the catalogue
    exists: the store is still empty, and the next write removes what the crash left."""
    data_dir = tmp_path / "data"
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, str(data_dir), "police-uk-street",
         str(shared_data / SECOND), point, "strict"], capture_output=True, text=True,
        timeout=300)
    assert crashed.returncode == 137, crashed.stderr
    empty = logical_state(data_dir)
    assert empty["datasets"] == [] and empty["totals"]["imports"] == 0
    result = ingest_file(EvidenceStore(data_dir), "police-uk-street", shared_data / FIRST)
    assert (result.status, result.rows_stored) == ("imported", 651)
    assert orphans(data_dir) == []
    assert logical_state(data_dir)["totals"]["rows_stored"] == 651


def test_a_failed_import_removes_its_files(
        one_import: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception while recording (not a crash) rolls back and removes the moved files."""
    store = EvidenceStore(one_import)
    before, files_before = logical_state(one_import), snapshot(one_import / "evidence" / "tables")

    def fail_at_insert(crash_at: str | None, point: str) -> None:
        if crash_at == point:
            raise RuntimeError("simulated failure")

    monkeypatch.setattr(evidence_store, "_maybe_crash", fail_at_insert)
    with pytest.raises(RuntimeError):
        ingest_file(store, "police-uk-street", street_file(tmp_path, STREET_ROWS[:1]),
                    _crash_at="inserted")
    assert logical_state(one_import) == before
    assert snapshot(one_import / "evidence" / "tables") == files_before
    assert orphans(one_import) == []


# -- a real kill -9 ----------------------------------------------------------------------------

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
def test_kill_9_during_a_large_ingest(one_import: Path, shared_data: Path) -> None:
    files = sorted((shared_data / POLICE_UK).glob("*/*-leicestershire-street.csv"))
    assert len(files) == 35
    expected_rows = {p.name: sum(1 for _ in p.open(encoding="utf-8")) - 1 for p in files}
    before = logical_state(one_import)
    first_import = before["imports"][0]["import_id"]
    vru_script = Path(sys.executable).with_name("vru")
    command = [str(vru_script), "ingest", "police-uk-street", *map(str, files),
               "--data-dir", str(one_import)]

    # Kill at a random moment while the import is under way: after a random number of the
    # 35 files have reached the tables directory (0 = while the first is being parsed or
    # staged), plus a random fraction of a second.
    rng = random.Random()
    wait_for_files, extra = rng.randint(0, 25), rng.uniform(0, 0.4)
    moment = f"after {wait_for_files} files + {extra:.2f}s"
    tables = EvidenceStore(one_import).tables_dir / "street_crime"
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while (len(list(tables.glob("*.parquet"))) < 1 + wait_for_files
               and proc.poll() is None and time.monotonic() < deadline):
            time.sleep(0.005)
        time.sleep(extra)
        still_running = proc.poll() is None
        os.killpg(proc.pid, signal.SIGKILL)  # the command and any workers it started
    finally:
        proc.wait(timeout=60)
        _wait_gone(proc.pid)
    assert still_running, f"the ingest finished before it was killed ({moment})"
    assert proc.returncode == -signal.SIGKILL

    # Only whole imports are visible: the first import as it was, plus each file either
    # fully imported or not at all.
    after = logical_state(one_import)
    assert after["imports"][0] == before["imports"][0], moment
    con = EvidenceStore(one_import).connect()
    try:
        per_import = dict(con.execute(
            "SELECT import_id, count(*) FROM street_crime GROUP BY ALL").fetchall())
        old = con.execute(
            "SELECT count(*), sum(hash(t)) FROM street_crime t WHERE import_id = ?",
            [first_import]).fetchone()
    finally:
        con.close()
    assert old == before["queries"]["street_crime"], moment
    for imp in after["imports"][1:]:
        assert imp["rows_stored"] == imp["rows_read"] == expected_rows[imp["file_name"]]
        assert per_import[imp["import_id"]] == imp["rows_stored"], moment
    assert set(per_import) == {i["import_id"] for i in after["imports"]}, moment
    assert after["totals"]["rows_stored"] == sum(per_import.values()), moment

    # Running the command again cleans up and completes the set.
    result = vru("ingest", "police-uk-street", *map(str, files), "--data-dir", str(one_import))
    assert result.exit_code == 0, result.output
    assert orphans(one_import) == []
    final = logical_state(one_import)
    assert final["totals"]["imports"] == 36
    assert final["totals"]["rows_stored"] == 651 + 301_838
    by_type = dict(final["queries"]["street_crime by type"])
    city = dict(before["queries"]["street_crime by type"])
    assert by_type["Violence and sexual offences"] == 112_532 + city[
        "Violence and sexual offences"]
    assert by_type["Possession of weapons"] == 2_487 + city.get("Possession of weapons", 0)


# -- idempotence -------------------------------------------------------------------------------

def test_importing_the_same_file_twice_changes_nothing(
        one_import: Path, shared_data: Path) -> None:
    store = EvidenceStore(one_import)
    first_id = store.imports()[0]["import_id"]
    before = snapshot(one_import)
    again = ingest_file(store, "police-uk-street", shared_data / FIRST)
    assert (again.status, again.import_id) == ("already imported", first_id)
    assert snapshot(one_import) == before
    # Under another name and through the CLI: still the same bytes, still nothing changes.
    result = vru("ingest", "police-uk-street", str(shared_data / FIRST),
                 "--data-dir", str(one_import))
    assert result.exit_code == 0, result.output
    assert "already imported" in flat(result.stdout) and first_id in flat(result.stdout)
    assert snapshot(one_import) == before


def test_a_copy_under_another_name_is_already_imported(
        one_import: Path, shared_data: Path, tmp_path: Path) -> None:
    copy = tmp_path / "renamed.csv"
    copy.write_bytes((shared_data / FIRST).read_bytes())
    before = snapshot(one_import)
    result = ingest_file(EvidenceStore(one_import), "police-uk-street", copy)
    assert result.status == "already imported"
    assert snapshot(one_import) == before


# -- --skip-invalid and exit status -------------------------------------------------------------

def test_refused_file_exit_status_and_located_error(one_import: Path, tmp_path: Path) -> None:
    path = street_file(tmp_path, STREET_ROWS)
    before = snapshot(one_import)
    result = vru("ingest", "police-uk-street", str(path), "--data-dir", str(one_import))
    assert result.exit_code != 0
    assert "2 problem(s); nothing was imported" in flat(result.stderr)
    assert "2020-01-test-street.csv, row 3, column 'Latitude'" in flat(result.stderr)
    assert "2020-01-test-street.csv, row 5, column 'Month'" in flat(result.stderr)
    assert snapshot(one_import) == before


def test_skip_invalid_imports_valid_rows_and_logs_the_rest(
        one_import: Path, tmp_path: Path) -> None:
    path = street_file(tmp_path, STREET_ROWS)
    result = vru("ingest", "police-uk-street", str(path), "--skip-invalid",
                 "--data-dir", str(one_import))
    assert result.exit_code == 0, result.output
    assert "imported 3 of 5 rows" in flat(result.stdout)
    assert "2 invalid rows skipped" in flat(result.stdout)
    store = EvidenceStore(one_import)
    imp = store.imports()[-1]
    assert (imp["rows_read"], imp["rows_stored"], imp["rows_rejected"]) == (5, 3, 2)
    assert imp["import_id"] in flat(result.stdout)
    rejected = store.rejected_rows(imp["import_id"])
    assert [(r["row"], r["col"], r["value"]) for r in rejected] == [
        (3, "Latitude", ""), (5, "Month", "2020-13")]
    assert all(r["reason"] and r["action"] for r in rejected)
    con = store.connect()
    assert con.execute("SELECT list(source_row ORDER BY source_row) FROM street_crime "
                       "WHERE import_id = ?", [imp["import_id"]]).fetchone() == ([2, 4, 6],)
    shown = vru("data", "rejected", imp["import_id"], "--data-dir", str(one_import))
    assert shown.exit_code == 0
    assert "row 3, column 'Latitude'" in flat(shown.stdout)
    assert "row 5, column 'Month'" in flat(shown.stdout)


def test_exit_status_is_zero_only_for_imported_or_already_imported(
        one_import: Path, shared_data: Path, tmp_path: Path) -> None:
    good, bad = shared_data / SECOND, street_file(tmp_path, STREET_ROWS)
    args = ["--data-dir", str(one_import)]
    assert vru("ingest", "police-uk-street", str(good), *args).exit_code == 0
    assert vru("ingest", "police-uk-street", str(good), *args).exit_code == 0
    mixed = vru("ingest", "police-uk-street", str(shared_data / FIRST), str(bad), *args)
    assert mixed.exit_code != 0
    assert "row 3, column 'Latitude'" in flat(mixed.stderr)
    missing = vru("ingest", "police-uk-street", str(tmp_path / "nope.csv"), *args)
    assert missing.exit_code != 0 and "nope.csv" in flat(missing.stderr)
    unknown = vru("ingest", "no-such-format", str(good), *args)
    assert unknown.exit_code != 0 and "no-such-format" in flat(unknown.stderr)
    fresh = street_file(tmp_path, [STREET_ROWS[0]], name="fresh-street.csv")
    wrong = vru("ingest", "police-uk-stop-search", str(fresh), *args)
    assert wrong.exit_code != 0 and "required column is missing" in flat(wrong.stderr)
    assert len(EvidenceStore(one_import).imports()) == 2


def test_refused_in_process_import_raises_input_error(one_import: Path, tmp_path: Path) -> None:
    before = snapshot(one_import)
    with pytest.raises(InputError) as refused:
        ingest_file(EvidenceStore(one_import), "police-uk-street",
                    street_file(tmp_path, STREET_ROWS))
    assert [(p.row, p.column) for p in refused.value.problems] == [(3, "Latitude"),
                                                                  (5, "Month")]
    assert snapshot(one_import) == before
