"""Ingest benchmark: the real police.uk and London Datastore files, beside a pandas baseline.

Imports every police.uk street file in the shared data (City of London and Leicestershire:
71 files, 326,588 rows) and the six London Datastore MPS borough/ward files into a fresh
temporary store, three ways, in this one process:

- ``baseline``: plain pandas, no validation: ``pd.read_csv`` of each file, ``pd.concat``
  per format, ``to_parquet``;
- ``per-file``: ``vru.services.ingest.ingest_file`` once per file (what `vru ingest` does);
- ``batch``: ``vru.services.batch_ingest.ingest_files`` (what `vru data fetch` uses):
  parallel parsing and one catalogue connection.

It prints rows/s and peak memory (resident set size, this process plus its worker
processes, sampled every 10 ms; the rise above the RSS at the start of each run) and writes
them to ``bench/results/ingest_benchmark.json``. Targets: at least 5x the baseline and over
1 million rows/s on 2 cores. This is a benchmark, not a test: it asserts nothing.

Usage: python bench/ingest_benchmark.py [--shared ../shared/data] [--workers N]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import psutil

from vru.adapters.sources.base import ReferenceData
from vru.adapters.store.evidence_store import EvidenceStore
from vru.services.batch_ingest import default_workers, ingest_files
from vru.services.ingest import ingest_file

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
TARGET_SPEEDUP = 5.0
TARGET_ROWS_PER_S = 1_000_000


class PeakRss:
    """Samples the resident set size of this process and its children."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.proc = psutil.Process()
        self.start = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        total = self.proc.memory_info().rss
        for child in self.proc.children(recursive=True):
            with suppress(psutil.Error):
                total += child.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def rise(self) -> int:
        return self.peak - self.start


@dataclass
class Run:
    name: str
    seconds: float
    rows: int
    files: int
    peak_rss: int
    rss_rise: int
    ok: bool = True
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@contextmanager
def measured(name: str, out: list[Run], files: int) -> Iterator[dict[str, Any]]:
    gc.collect()
    box: dict[str, Any] = {"rows": 0, "ok": True, "notes": {}}
    with PeakRss() as mem:
        t0 = time.perf_counter()
        yield box
        seconds = time.perf_counter() - t0
    out.append(Run(name, seconds, box["rows"], files, mem.peak, mem.rise, box["ok"],
                   box["notes"]))


def inputs(shared: Path) -> dict[str, list[Path]]:
    crime = shared / "crime"
    lds = crime / "london_datastore"
    return {
        "police-uk-street": sorted((crime / "police_uk").glob("*/*-street.csv")),
        "mps-borough": sorted(lds.glob("MPS_Borough_Level_Crime_*.csv")),
        "mps-ward": sorted(lds.glob("MPS_Ward_Level_Crime_*.csv")),
    }


def baseline(groups: dict[str, list[Path]], tmp: Path) -> int:
    rows = 0
    for fmt, paths in groups.items():
        frame = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
        frame.to_parquet(tmp / f"{fmt}.parquet")
        rows += len(frame)
    return rows


def per_file(groups: dict[str, list[Path]], store: EvidenceStore) -> tuple[int, bool]:
    rows, ok = 0, True
    for fmt, paths in groups.items():
        for p in paths:
            try:
                rows += ingest_file(store, fmt, p, ref=ReferenceData()).rows_read
            except Exception:  # a refused file: counted, not fatal to the benchmark
                ok = False
    return rows, ok


def batch(groups: dict[str, list[Path]], store: EvidenceStore, workers: int,
          mode: str, seconds: dict[str, float]) -> tuple[int, bool]:
    rows, ok = 0, True
    for fmt, paths in groups.items():
        t0 = time.perf_counter()
        for o in ingest_files(store, fmt, paths, ref=ReferenceData(), workers=workers,
                              mode=mode):  # type: ignore[arg-type]
            if o.result is not None:
                rows += o.result.rows_read
            else:
                ok = False
        seconds[fmt] = round(time.perf_counter() - t0, 3)
    return rows, ok


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path,
                        default=Path(os.environ.get("VRU_SHARED_DATA", REPO.parent / "shared"
                                                    / "data")))
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--skip-per-file", action="store_true",
                        help="Leave out the (slow) one-file-at-a-time run.")
    args = parser.parse_args(argv)
    groups = inputs(args.shared)
    n_files = sum(len(v) for v in groups.values())
    for paths in groups.values():  # warm the page cache so every run reads from memory
        for p in paths:
            p.read_bytes()
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="vru-bench-") as tmp_s:
        tmp = Path(tmp_s)
        with measured("baseline: pandas read_csv + concat + to_parquet", runs, n_files) as b:
            b["rows"] = baseline(groups, tmp)
        split: dict[str, dict[str, float]] = {"processes": {}, "threads": {}}
        modes: list[tuple[str, Callable[[EvidenceStore], tuple[int, bool]]]] = [
            (f"vru batch ingest_files (processes, {args.workers} workers)",
             lambda s: batch(groups, s, args.workers, "processes", split["processes"])),
            (f"vru batch ingest_files (threads, {args.workers} workers)",
             lambda s: batch(groups, s, args.workers, "threads", split["threads"])),
        ]
        if not args.skip_per_file:
            modes.append(("vru ingest_file, one file at a time", lambda s: per_file(groups, s)))
        for i, (name, fn) in enumerate(modes):
            store = EvidenceStore(tmp / f"store{i}")
            with measured(name, runs, n_files) as b:
                b["rows"], b["ok"] = fn(store)
            b["notes"]["stored_rows"] = sum(i["rows_stored"] for i in store.imports())
            for kind, per_format in split.items():
                if kind in name and per_format:
                    b["notes"]["seconds_by_format"] = dict(per_format)
    base = runs[0]
    counts = ", ".join(f"{len(v)} {k}" for k, v in groups.items())
    print(f"Ingest benchmark: {n_files} files ({counts}), {base.rows:,} rows; "
          f"{psutil.cpu_count()} CPUs, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'run':<55} {'seconds':>8} {'rows/s':>11} {'vs pandas':>9} {'peak RSS':>9} "
          f"{'rise':>8}")
    for r in runs:
        print(f"{r.name:<55} {r.seconds:>8.2f} {r.rows_per_s:>11,.0f} "
              f"{r.rows_per_s / base.rows_per_s:>8.2f}x {r.peak_rss / 2**20:>7,.0f}MB "
              f"{r.rss_rise / 2**20:>6,.0f}MB" + ("" if r.ok else "  (some files refused)"))
    for r in runs:
        if "seconds_by_format" in r.notes:
            parts = ", ".join(f"{k} {v:.2f} s" for k, v in r.notes["seconds_by_format"].items())
            print(f"  {r.name}: {parts}")
    best = max(runs[1:], key=lambda r: r.rows_per_s)
    speedup = best.rows_per_s / base.rows_per_s
    print(f"Best vru run: {best.rows_per_s:,.0f} rows/s, {speedup:.2f}x the pandas baseline. "
          f"Targets: >= {TARGET_SPEEDUP:.0f}x ({'met' if speedup >= TARGET_SPEEDUP else 'NOT met'})"
          f", > {TARGET_ROWS_PER_S:,} rows/s "
          f"({'met' if best.rows_per_s > TARGET_ROWS_PER_S else 'NOT met'}).")
    result = {
        "benchmark": "ingest",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": psutil.cpu_count(), "python": platform.python_version(),
                    "load_average_at_end": os.getloadavg()},
        "files": {k: len(v) for k, v in groups.items()},
        "runs": [{"name": r.name, "seconds": round(r.seconds, 3), "rows": r.rows,
                  "rows_per_s": round(r.rows_per_s), "vs_baseline": round(
                      r.rows_per_s / base.rows_per_s, 3),
                  "peak_rss_bytes": r.peak_rss, "rss_rise_bytes": r.rss_rise, "ok": r.ok,
                  **r.notes} for r in runs],
        "targets": {"speedup": TARGET_SPEEDUP, "rows_per_s": TARGET_ROWS_PER_S,
                    "speedup_met": speedup >= TARGET_SPEEDUP,
                    "rows_per_s_met": best.rows_per_s > TARGET_ROWS_PER_S},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ingest_benchmark.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
