"""Ingest benchmark: the real police.uk and London Datastore files, beside a pandas baseline.

Imports every police.uk street file in the shared data (City of London and Leicestershire:
71 files, 326,588 rows) and the six London Datastore MPS borough/ward files into a fresh
temporary store, in this one process, several ways:

- ``baseline``: plain pandas, no validation: ``pd.read_csv`` of each file, ``pd.concat``
  per format, ``to_parquet``;
- ``batch``: ``vru.services.batch_ingest.ingest_files`` (what `vru data fetch` uses), with
  worker threads (the default) and, optionally, worker processes: every check, each file its
  own atomic, idempotent import;
- ``per-file`` (``--per-file``): ``vru.services.ingest.ingest_file`` once per file (what
  `vru ingest` does).

Each is run ``--repeat`` times (3 by default), interleaved, each time into a new store. For
each it prints rows, seconds (best, and the spread over the repeats), rows/s at the best,
the ratio to the pandas baseline, the CPU seconds it used (this process and its workers,
sampled: a figure that other load on the machine disturbs less than seconds do), peak
memory (resident set size of this process and its workers, sampled every 10 ms; the
highest over the repeats) and, for the vru runs, where the time went: hashing, parsing and
checking, writing Parquet, committing. The same figures for the police.uk street files
alone follow, since the London Datastore files are a different adapter. Results go to
``bench/results/ingest_benchmark.json``.
Targets: at least 5x the baseline and over 1 million rows/s on 2 cores. This is a benchmark,
not a test: it asserts nothing.

Usage: python bench/ingest_benchmark.py [--shared ../shared/data] [--workers N] [--repeat 3]
                                        [--processes] [--per-file]
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
from vru.services.batch_ingest import STAGES, IngestStats, default_workers, ingest_files
from vru.services.ingest import ingest_file

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
TARGET_SPEEDUP = 5.0
TARGET_ROWS_PER_S = 1_000_000
STREET = "police-uk-street"


class PeakRss:
    """Samples the resident set size of this process and its children (and their CPU time:
    worker processes started by a fork server are not this process's children as far as
    ``os.wait`` knows, so their CPU time is only seen by sampling them while they run)."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.proc = psutil.Process()
        self._cpu_start: dict[int, float] = {}
        self._cpu_last: dict[int, float] = {}
        self.start = self.peak = self._rss()
        self._cpu_start = dict(self._cpu_last)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        total = self.proc.memory_info().rss
        for child in self.proc.children(recursive=True):
            with suppress(psutil.Error):
                total += child.memory_info().rss
                t = child.cpu_times()
                self._cpu_last[child.pid] = t.user + t.system
        return total

    @property
    def descendants_cpu(self) -> float:
        """CPU seconds the descendant processes used while sampled (to their last sample)."""
        return sum(v - self._cpu_start.get(pid, 0.0) for pid, v in self._cpu_last.items())

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


def cpu_seconds() -> float:
    """CPU seconds used by this process (all its threads)."""
    t = psutil.Process().cpu_times()
    return t.user + t.system


@dataclass
class Run:
    """One measurement: one way of ingesting, once."""

    name: str
    seconds: float
    rows: int
    cpu: float
    peak_rss: int
    rss_rise: int
    ok: bool = True
    stages: dict[str, float] = field(default_factory=dict)
    by_format: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@contextmanager
def measured(name: str, out: list[Run]) -> Iterator[dict[str, Any]]:
    gc.collect()
    box: dict[str, Any] = {"rows": 0, "ok": True, "stages": {}, "by_format": {}}
    with PeakRss() as mem:
        c0 = cpu_seconds()
        t0 = time.perf_counter()
        yield box
        seconds = time.perf_counter() - t0
        cpu = cpu_seconds() - c0
    cpu += mem.descendants_cpu
    out.append(Run(name, seconds, box["rows"], cpu, mem.peak, mem.rise, box["ok"],
                   box["stages"], box["by_format"]))


def inputs(shared: Path) -> dict[str, list[Path]]:
    crime = shared / "crime"
    lds = crime / "london_datastore"
    return {
        STREET: sorted((crime / "police_uk").glob("*/*-street.csv")),
        "mps-borough": sorted(lds.glob("MPS_Borough_Level_Crime_*.csv")),
        "mps-ward": sorted(lds.glob("MPS_Ward_Level_Crime_*.csv")),
    }


def baseline(groups: dict[str, list[Path]], tmp: Path, box: dict[str, Any]) -> None:
    for fmt, paths in groups.items():
        t0 = time.perf_counter()
        frame = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
        frame.to_parquet(tmp / f"{fmt}.parquet")
        box["rows"] += len(frame)
        box["by_format"][fmt] = {"rows": len(frame), "seconds": time.perf_counter() - t0}


def per_file(groups: dict[str, list[Path]], store: EvidenceStore, box: dict[str, Any]) -> None:
    for fmt, paths in groups.items():
        t0, rows = time.perf_counter(), 0
        for p in paths:
            try:
                rows += ingest_file(store, fmt, p, ref=ReferenceData()).rows_read
            except Exception:  # a refused file: counted, not fatal to the benchmark
                box["ok"] = False
        box["rows"] += rows
        box["by_format"][fmt] = {"rows": rows, "seconds": time.perf_counter() - t0}


def batch(groups: dict[str, list[Path]], store: EvidenceStore, workers: int, mode: str,
          box: dict[str, Any]) -> None:
    stats = IngestStats()
    for fmt, paths in groups.items():
        t0, rows = time.perf_counter(), 0
        one = IngestStats()
        for o in ingest_files(store, fmt, paths, ref=ReferenceData(), workers=workers,
                              mode=mode, stats=one):  # type: ignore[arg-type]
            if o.result is not None:
                rows += o.result.rows_read
            else:
                box["ok"] = False
        box["rows"] += rows
        box["by_format"][fmt] = {"rows": rows, "seconds": time.perf_counter() - t0,
                                 "stages": dict(one.seconds)}
        stats.add(one.seconds)
    box["stages"] = dict(stats.seconds)


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def stage_line(stages: dict[str, float]) -> str:
    total = sum(stages.get(s, 0.0) for s in STAGES) or 1.0
    parts = [f"{s} {stages.get(s, 0.0):.2f} s ({stages.get(s, 0.0) / total:.0%})"
             for s in STAGES]
    if "parse.csv" in stages:
        parts.append(f"[of parse: reading the CSV {stages['parse.csv']:.2f} s]")
    return ", ".join(parts)


def summarise(runs: list[Run], base_name: str) -> list[dict[str, Any]]:
    """Per way of ingesting: the best repeat, the spread, and the ratio to the baseline."""
    names = list(dict.fromkeys(r.name for r in runs))
    base = min((r for r in runs if r.name == base_name), key=lambda r: r.seconds)
    out = []
    for name in names:
        mine = [r for r in runs if r.name == name]
        best = min(mine, key=lambda r: r.seconds)
        out.append({
            "name": name, "repeats": len(mine), "rows": best.rows,
            "best_seconds": round(best.seconds, 3),
            "seconds": [round(r.seconds, 3) for r in mine],
            "rows_per_s": round(best.rows_per_s),
            "vs_baseline": round(best.rows_per_s / base.rows_per_s, 3),
            "cpu_seconds": [round(r.cpu, 3) for r in mine],
            "rows_per_cpu_s": round(best.rows / min(r.cpu for r in mine)),
            "peak_rss_bytes": max(r.peak_rss for r in mine),
            "rss_rise_bytes": max(r.rss_rise for r in mine),
            "ok": all(r.ok for r in mine),
            "stages_of_best": best.stages,
            "by_format_of_best": best.by_format,
        })
    return out


def street_only(runs: list[Run], base_name: str) -> list[dict[str, Any]]:
    """The same for the police.uk street files alone (their share of each run)."""
    out = []
    names = list(dict.fromkeys(r.name for r in runs))
    secs = {n: [r.by_format[STREET]["seconds"] for r in runs if r.name == n] for n in names}
    rows = {n: next(r.by_format[STREET]["rows"] for r in runs if r.name == n) for n in names}
    base_rate = rows[base_name] / min(secs[base_name])
    for n in names:
        best = min(secs[n])
        stages = next((r.by_format[STREET].get("stages", {}) for r in runs
                       if r.name == n and r.by_format[STREET]["seconds"] == best), {})
        out.append({"name": n, "rows": rows[n], "best_seconds": round(best, 3),
                    "seconds": [round(s, 3) for s in secs[n]],
                    "rows_per_s": round(rows[n] / best),
                    "vs_baseline": round(rows[n] / best / base_rate, 3), "stages": stages})
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path,
                        default=Path(os.environ.get("VRU_SHARED_DATA", REPO.parent / "shared"
                                                    / "data")))
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--processes", action="store_true",
                        help="Also run the batch with worker processes.")
    parser.add_argument("--per-file", action="store_true",
                        help="Also run the (slow) one-file-at-a-time import.")
    args = parser.parse_args(argv)
    groups = inputs(args.shared)
    n_files = sum(len(v) for v in groups.values())
    for paths in groups.values():  # warm the page cache so every run reads from memory
        for p in paths:
            p.read_bytes()
    base_name = "pandas read_csv + concat + to_parquet (no checks)"
    ways: list[tuple[str, Callable[[EvidenceStore, dict[str, Any]], None]]] = [
        (f"vru ingest_files, threads ({args.workers} workers)",
         lambda s, b: batch(groups, s, args.workers, "threads", b)),
    ]
    if args.processes:
        ways.append((f"vru ingest_files, processes ({args.workers} workers)",
                     lambda s, b: batch(groups, s, args.workers, "processes", b)))
    if args.per_file:
        ways.append(("vru ingest_file, one file at a time", lambda s, b: per_file(groups, s, b)))
    runs: list[Run] = []
    stored: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="vru-bench-") as tmp_s:
        tmp = Path(tmp_s)
        for rep in range(args.repeat):
            with measured(base_name, runs) as b:
                baseline(groups, tmp, b)
            for i, (name, fn) in enumerate(ways):
                store = EvidenceStore(tmp / f"store-{rep}-{i}")
                with measured(name, runs) as b:
                    fn(store, b)
                stored[name] = sum(i["rows_stored"] for i in store.imports())
    table = summarise(runs, base_name)
    street = street_only(runs, base_name)
    counts = ", ".join(f"{len(v)} {k}" for k, v in groups.items())
    print(f"Ingest benchmark: {n_files} files ({counts}), {table[0]['rows']:,} rows; "
          f"{psutil.cpu_count()} CPUs, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}; best of {args.repeat}, "
          "spread min-max")
    print(f"{'run':<52} {'rows':>8} {'best s':>7} {'spread s':>11} {'rows/s':>10} "
          f"{'vs pandas':>9} {'CPU s':>6} {'rows/CPU-s':>10} {'peak RSS':>9}")
    for t in table:
        print(f"{t['name']:<52} {t['rows']:>8,} {t['best_seconds']:>7.2f} "
              f"{spread(t['seconds']):>11} {t['rows_per_s']:>10,} {t['vs_baseline']:>8.2f}x "
              f"{min(t['cpu_seconds']):>6.2f} {t['rows_per_cpu_s']:>10,} "
              f"{t['peak_rss_bytes'] / 2**20:>7,.0f}MB" + ("" if t["ok"] else "  (refusals)"))
    for t in table[1:]:
        print(f"  {t['name']}: stages (worker seconds, summed) {stage_line(t['stages_of_best'])}")
        print("    by format: " + ", ".join(
            f"{k} {v['seconds']:.2f} s" for k, v in t["by_format_of_best"].items()))
    print(f"police.uk street files alone ({street[0]['rows']:,} rows):")
    for s in street:
        print(f"  {s['name']:<50} best {s['best_seconds']:.2f} s "
              f"(spread {spread(s['seconds'])}), {s['rows_per_s']:,} rows/s, "
              f"{s['vs_baseline']:.2f}x pandas")
    best = max(table[1:], key=lambda t: t["rows_per_s"])
    speedup = best["vs_baseline"]
    print(f"Best vru run: {best['rows_per_s']:,} rows/s, {speedup:.2f}x the pandas baseline. "
          f"Targets: >= {TARGET_SPEEDUP:.0f}x ({'met' if speedup >= TARGET_SPEEDUP else 'NOT met'})"
          f", > {TARGET_ROWS_PER_S:,} rows/s "
          f"({'met' if best['rows_per_s'] > TARGET_ROWS_PER_S else 'NOT met'}).")
    result = {
        "benchmark": "ingest",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": psutil.cpu_count(), "python": platform.python_version(),
                    "load_average_at_end": os.getloadavg()},
        "files": {k: len(v) for k, v in groups.items()},
        "repeats": args.repeat,
        "runs": table,
        "police_uk_street_alone": street,
        "stored_rows": stored,
        "targets": {"speedup": TARGET_SPEEDUP, "rows_per_s": TARGET_ROWS_PER_S,
                    "speedup_met": speedup >= TARGET_SPEEDUP,
                    "rows_per_s_met": best["rows_per_s"] > TARGET_ROWS_PER_S},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ingest_benchmark.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
