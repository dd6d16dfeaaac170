"""Allocation benchmark: a round with 2,000 applications and 5,000 assessors' scores.

A SYNTHETIC round is built in a fresh records database (SQLite by default, or
``--database-url``): 40 eligible places, 2,000 applications imported from a CSV file, 5,000
scores imported from a score sheet (every application scored by two assessors and 1,000 of
them by a third; scores within the moderation gaps), floors on five places and caps on all.
Building it is not timed. Then:

1. **the allocation use case** (``services.commissioning.allocate``): read the round, its
   places, applications, scores and the catalogue; re-check eligibility; combine scores into
   final points and weighted scores; allocate; store the allocation (every decision with its
   reason and numbers, and its hashes) and the awards, each audited in the same transaction.
   Target: under 1 s.
2. **the allocation rule alone** (``domain.commissioning.allocation.allocate``) on the same
   2,000 candidates.
3. for reference, ``compare_with_optimum`` (the whole-award integer programme with
   ``scipy.optimize.milp``) on the same candidates: the ranking's quality-weighted money
   (score x award) as a share of the most any whole-award combination could reach.

Time is wall-clock seconds: the first allocation of the round (it creates every award) is
the figure against the target; re-runs on the allocated round (allowed: same inputs, same
awards, nothing new written) are the median of ``--repeat``. Peak memory is the peak
allocated through Python during one more re-run (``tracemalloc``); the process's peak
resident set size is printed at the end.
Results go to ``bench/results/allocation_benchmark.json``.

Usage: python bench/allocation_benchmark.py [--repeat 5] [--database-url URL] [--seed 7]
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import resource
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from vru.adapters.records.dal import Records
from vru.adapters.records.engine import make_engine
from vru.adapters.records.migrate import upgrade
from vru.domain.commissioning import allocation as alloc
from vru.domain.commissioning.applications import COLUMNS
from vru.domain.commissioning.rounds import AwardLevel, RoundTerms
from vru.domain.commissioning.threesixtygiving import Funder
from vru.services import commissioning as cm
from vru.services.records import RecordsService, command_line
from vru.services.security.passwords import OWASP_MINIMUM, Hasher
from vru.services.security.settings import SecuritySettings

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
APPLICATIONS = 2_000
SCORES = 5_000
PLACES = 40
TARGET = 1.0
REF = "bench-SYNTHETIC"


def decision_record() -> dict[str, Any]:
    rising = [{"direction": "rising", "area_code": f"E05{i:06d}",
               "area_name": f"SYNTHETIC ward {i}", "parent_code": "E09000001",
               "parent_name": "SYNTHETIC borough", "count": float(200 + 13 * i),
               "population": 10_000.0, "explanation": "SYNTHETIC"}
              for i in range(1, PLACES + 1)]
    return {"rule": {"name": "bench", "title": "SYNTHETIC benchmark", "version": 1},
            "parameters": {"area": "london", "to": "2025-12", "geography": "ward"},
            "decided_at": "2026-01-01T00:00:00+00:00", "record_sha256": "b" * 64,
            "result": {"rising": rising, "falling": [], "clusters": []}}


def build(svc: RecordsService, folder: Path, rng: np.random.Generator) -> None:
    cli = command_line()
    record = decision_record()
    codes = [r["area_code"] for r in record["result"]["rising"]]
    floors = {c: 20_000 for c in codes[:5]}
    places = cm.places_from_decision(record, AwardLevel.WARD, floors=floors,
                                     default_cap=250_000)
    cm.create_round(svc, cli, cm.RoundSpec(
        REF, "SYNTHETIC benchmark round", "SYNTHETIC fund", "", AwardLevel.WARD,
        RoundTerms(4_000_000, 5_000, 100_000, 40.0, criterion_gap=1, total_gap=25.0),
        Funder("360G-vru-bench", "SYNTHETIC VRU", prefix="360G-vru-bench"),
        decision_on=date(2026, 3, 31)), places, cm.decision_summary(record))
    cm.move_round(svc, cli, REF, "open")
    approaches = [e.key for e in cm.catalogue(svc) if e.impact.value != "harmful"]
    apps = folder / "applications.csv"
    with apps.open("w", encoding="utf-8", newline="") as handle:
        w = csv.DictWriter(handle, fieldnames=list(COLUMNS), lineterminator="\r\n")
        w.writeheader()
        for i in range(APPLICATIONS):
            amount = int(rng.integers(5, 101)) * 1000
            w.writerow({"reference": f"B-{i:05d}",
                        "organisation_name": f"SYNTHETIC organisation {i}",
                        "charity_number": str(9_000_000 + i), "title": f"SYNTHETIC {i}",
                        "summary": "SYNTHETIC", "place": codes[int(rng.integers(PLACES))],
                        "intervention": approaches[int(rng.integers(len(approaches)))],
                        "amount_requested": amount,
                        "minimum_amount": max(5_000, amount // 2000 * 1000),
                        "duration_months": 12})
    cm.import_applications(svc, cli, REF, apps)
    cm.move_round(svc, cli, REF, "assessing")
    sheet = folder / "scores.csv"
    n = 0
    with sheet.open("w", encoding="utf-8", newline="") as handle:
        w = csv.writer(handle, lineterminator="\r\n")
        w.writerow(["application", "assessor", "community", "partnership", "delivery"])
        for i in range(APPLICATIONS):
            base = int(rng.integers(1, 4))
            for who in ("assessor-a", "assessor-b", "assessor-c")[:3 if i % 2 else 2]:
                w.writerow([f"B-{i:05d}", who, base, base + int(rng.integers(0, 2)), base])
                n += 1
    assert n == SCORES, n
    cm.import_scores(svc, cli, REF, sheet)


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), peak / 2**20, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory(prefix="vru-alloc-bench-") as tmp:
        folder = Path(tmp)
        url = args.database_url or f"sqlite+pysqlite:///{folder / 'records.sqlite3'}"
        engine = make_engine(url)
        upgrade(engine)
        svc = RecordsService(Records(engine), SecuritySettings(
            secret_key="benchmark-only-4f1c8e2a9d7b3e6c0a5f8d2b7e4c1a9f6d3b8e0c",
            argon2=OWASP_MINIMUM), Hasher(OWASP_MINIMUM))
        start = time.perf_counter()
        build(svc, folder, rng)
        build_s = time.perf_counter() - start
        cli = command_line()
        start = time.perf_counter()
        result = cm.allocate(svc, cli, REF)
        first_s = time.perf_counter() - start
        use_case_s, use_case_mb, again = timed(lambda: cm.allocate(svc, cli, REF),
                                               args.repeat)
        assert again["result_sha256"] == result["result_sha256"]
        with svc.records.reading() as s:
            inputs = cm._inputs(s, cm._round(s, REF))
        rule_s, rule_mb, rule = timed(
            lambda: alloc.allocate(inputs.candidates, inputs.limits, inputs.rules),
            args.repeat)
        start = time.perf_counter()
        optimum = alloc.compare_with_optimum(inputs.candidates, inputs.limits, inputs.rules,
                                             rule, time_limit=60)
        optimum_s = time.perf_counter() - start
        engine.dispose()
    out = {
        "applications": APPLICATIONS, "scores": SCORES, "places": PLACES,
        "database": "sqlite" if args.database_url is None else "given",
        "build_seconds": round(build_s, 2),
        "allocate_first_seconds": round(first_s, 4),
        "allocate_rerun_seconds": round(use_case_s, 4),
        "allocate_use_case_peak_mb": round(use_case_mb, 1),
        "allocate_rule_seconds": round(rule_s, 4),
        "allocate_rule_peak_mb": round(rule_mb, 1),
        "funded": result["funded"], "awarded": result["awarded"],
        "budget": result["budget"], "result_sha256": result["result_sha256"],
        "optimum_seconds": round(optimum_s, 2), "optimum_status": optimum.status,
        "ranked_share_of_optimum": None if optimum.share is None else round(optimum.share, 4),
        "target_seconds": TARGET, "meets_target": first_s < TARGET,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "python": platform.python_version(), "machine": platform.machine(),
    }
    print(f"Round of {APPLICATIONS:,} applications and {SCORES:,} scores over {PLACES} places "
          f"(built in {build_s:.1f} s, not timed).")
    print(f"allocate (use case: read, score, allocate, store and audit "
          f"{result['funded']} awards): {first_s:.3f} s; target < {TARGET:.0f} s: "
          f"{'met' if out['meets_target'] else 'NOT met'}")
    print(f"allocate again (same awards, same hashes): {use_case_s:.3f} s, peak "
          f"{use_case_mb:.1f} MB")
    print(f"allocate (rule alone): {rule_s * 1000:.1f} ms, peak {rule_mb:.1f} MB")
    print(f"funded {result['funded']:,} applications, £{result['awarded']:,} of "
          f"£{result['budget']:,}")
    print(f"integer programme for comparison: {optimum_s:.2f} s ({optimum.status}); the "
          f"ranking reaches {out['ranked_share_of_optimum']} of the best quality-weighted "
          "money (score x award)")
    print(f"peak resident set size: {out['peak_rss_mb']} MB")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "allocation_benchmark.json").write_text(json.dumps(out, indent=2) + "\n",
                                                       "utf-8")


if __name__ == "__main__":
    main()
