"""Hot spot benchmark: Gi* with 999 permutations on London's LSOAs beside esda.G_Local, and
emerging hot spot analysis on LSOAs x 11 years and wards x 24 months.

1. **Gi\\*** (binary queen weights with self, 999 conditional permutations) on the violence
   against the person counts of 2021 for London's LSOAs: the 4,835 LSOAs of the 2011
   boundary layer less the City of London's six, which the MPS files do not count (4,829).
   ``vru.domain.places.LocalGi`` with its own draws (``numpy.random.default_rng``), then with
   esda's draws for the same seed, and ``esda.G_Local(star=True, transform="B")`` serial
   (``n_jobs=1``) and on every core (``n_jobs=-1``), in the same run. The pseudo p-values of
   ours on esda's draws must equal esda's exactly. Target: equal, and no slower than esda.
2. **Emerging hot spot analysis** (``vru.domain.places.EmergingHotSpots``: space-time Gi*,
   Mann-Kendall of every place's z-scores and counts, the 17 categories) on the LSOA cube
   (4,829 x 11 years, 2011-2021) and the ward cube (679 x 24 months, 2024-2025, 2022 wards).
   Target: under 10 s each on 2 cores.
3. The whole ``vru hotspots`` service call (store reads, SNA figures, weights, Gi*, local and
   global Moran, emerging hot spots) for wards and LSOAs, for reference.

Time is wall-clock seconds (median of ``--repeat`` runs) with CPU seconds beside it; peak
memory is the peak of memory allocated through Python and NumPy during one more, untimed run
of the task (``tracemalloc``, which slows allocation), and does not see esda's worker
processes with ``n_jobs=-1``; the process's peak resident set size is printed at the end.
Results are written to ``bench/results/hotspots_benchmark.json``.

Usage: python bench/hotspots_benchmark.py [--data-dir DIR] [--mirror ../shared/data]
           [--repeat 3] [--seed 7]
Without --data-dir a fresh store is loaded first from the mirror (not timed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import esda
import numpy as np

from vru.adapters.store.evidence_store import EvidenceStore
from vru.domain.places.emerging_hotspots import EmergingHotSpots
from vru.domain.places.local_statistics import LocalGi, esda_permutation_ids
from vru.services.fetch import fetch
from vru.services.priority_places import hotspots

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
VAP = "violence_against_the_person"
DATASETS = ["lookups", "boundaries", "population", "lsoa-annual", "mps-ward"]
PERMUTATIONS = 999
EHSA_TARGET = 10.0


def measure(label: str, fn: Callable[[], Any], repeat: int) -> tuple[Any, dict[str, Any]]:
    """Run ``fn`` ``repeat`` times for median wall and CPU seconds, then once more under
    ``tracemalloc`` for the peak memory (tracing slows allocation, so it is not timed)."""
    walls, cpus = [], []
    result: Any = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    row = {"task": label, "seconds": statistics.median(walls), "cpu_seconds":
           statistics.median(cpus), "peak_mb": peak / 1e6, "runs": repeat}
    print(f"  {label:<58} {row['seconds']:7.2f} s  (cpu {row['cpu_seconds']:6.2f} s)  "
          f"peak {row['peak_mb']:7.1f} MB", flush=True)
    return result, row


def load_store(args: argparse.Namespace) -> EvidenceStore:
    if args.data_dir is not None:
        return EvidenceStore(Path(args.data_dir))
    folder = Path(tempfile.mkdtemp(prefix="vru-hotspots-bench-")) / "data"
    store = EvidenceStore(folder)
    print(f"Loading {', '.join(DATASETS)} for London into {folder} (not timed) ...",
          flush=True)
    report = fetch(store, DATASETS, area="london", mirror=Path(args.mirror))
    if not report.ok:
        raise SystemExit("loading failed: " + "; ".join(r.message for r in report.results
                                                         if r.failed))
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--mirror", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    store = load_store(args)

    print("Preparing inputs from the store (not timed) ...", flush=True)
    lsoa = hotspots(store, VAP, "lsoa", to="2021-12", permutations=1)
    ward = hotspots(store, VAP, "ward", to="2025-12", permutations=1)
    w = lsoa.weights
    y = lsoa.table.set_index("area_code").loc[list(w.ids), "count"].to_numpy(dtype=float)
    assert lsoa.ehsa is not None and ward.ehsa is not None
    lsoa_cube, ward_cube = lsoa.ehsa.values, ward.ehsa.values
    lw = w.to_libpysal()
    rows: list[dict[str, Any]] = []

    print(f"\n1. Gi* on {w.n:,} LSOAs, {PERMUTATIONS} permutations "
          f"(queen, {w.report.links if w.report else '?'} links, up to "
          f"{int(w.cardinalities.max())} neighbours)", flush=True)
    _, row = measure("vru LocalGi, numpy Generator draws",
                     lambda: LocalGi(y, w, permutations=PERMUTATIONS,
                                     rng=np.random.default_rng(args.seed)), args.repeat)
    rows.append(row)
    ours, row = measure("vru LocalGi, esda's draws for the seed (table included)",
                        lambda: LocalGi(y, w, permutations=PERMUTATIONS,
                                        permutation_ids=esda_permutation_ids(
                                            w.n, int(w.cardinalities.max()), PERMUTATIONS,
                                            args.seed)), args.repeat)
    rows.append(row)
    ref, row = measure("esda.G_Local(star=True, transform='B', n_jobs=1)",
                       lambda: esda.G_Local(y, lw, transform="B", star=True,
                                            permutations=PERMUTATIONS, seed=args.seed,
                                            n_jobs=1), args.repeat)
    rows.append(row)
    _, row = measure(f"esda.G_Local(..., n_jobs=-1) [{os.cpu_count()} cores]",
                     lambda: esda.G_Local(y, lw, transform="B", star=True,
                                          permutations=PERMUTATIONS, seed=args.seed,
                                          n_jobs=-1), args.repeat)
    rows.append(row)
    equal_p = bool(np.array_equal(ours.p_sim.astype(np.float32), ref.p_sim))
    equal_g = bool(np.array_equal(ours.Gs, ref.Gs))
    max_dz = float(np.max(np.abs(ours.Zs - ref.Zs)))
    print(f"  equal to esda: p_sim {equal_p}, G {equal_g}, max |z - z_esda| = {max_dz:.1e}")

    print("\n2. Emerging hot spot analysis (space-time Gi*, Mann-Kendall, categories)")
    e1, row = measure(f"LSOAs {lsoa_cube.shape[0]:,} x {lsoa_cube.shape[1]} years",
                      lambda: EmergingHotSpots(lsoa_cube, w), args.repeat)
    rows.append(row)
    lsoa_ok = row["seconds"] < EHSA_TARGET
    e2, row = measure(f"wards {ward_cube.shape[0]:,} x {ward_cube.shape[1]} months",
                      lambda: EmergingHotSpots(ward_cube, ward.weights), args.repeat)
    rows.append(row)
    ward_ok = row["seconds"] < EHSA_TARGET
    for label, e in (("LSOAs", e1), ("wards", e2)):
        cats = {k: v for k, v in e.category_counts().items() if v}
        print(f"  {label}: " + ", ".join(f"{k} {v}" for k, v in cats.items()))

    print("\n3. The whole service call (store, figures, weights, Gi*, LISA, Moran, EHSA)")
    for geo, to in (("ward", "2025-12"), ("lsoa", "2021-12")):
        _, row = measure(f"hotspots({VAP!r}, {geo!r}, 999 permutations)",
                         lambda geo=geo, to=to: hotspots(store, VAP, geo, to=to,
                                                         seed=args.seed), 1)
        rows.append(row)

    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gi_ours = rows[0]["seconds"]
    gi_esda = min(rows[2]["seconds"], rows[3]["seconds"])
    summary = {
        "gi_equal_to_esda": equal_p and equal_g, "gi_max_abs_z_difference": max_dz,
        "gi_ours_seconds": gi_ours, "gi_esda_best_seconds": gi_esda,
        "gi_ours_cpu_seconds": rows[0]["cpu_seconds"],
        "gi_esda_serial_cpu_seconds": rows[2]["cpu_seconds"],
        "gi_no_slower_than_esda": gi_ours <= gi_esda,
        "ehsa_lsoa_under_10s": lsoa_ok, "ehsa_ward_under_10s": ward_ok,
        "process_peak_rss_mb": peak_rss_mb,
    }
    print(f"\nGi*: ours {gi_ours:.2f} s (cpu {rows[0]['cpu_seconds']:.2f} s), esda's best "
          f"{gi_esda:.2f} s (serial cpu {rows[2]['cpu_seconds']:.2f} s); results equal: "
          f"{summary['gi_equal_to_esda']}. EHSA under {EHSA_TARGET:g} s: LSOAs {lsoa_ok}, "
          f"wards {ward_ok}. Process peak RSS {peak_rss_mb:,.0f} MB.")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                       "platform": platform.platform()},
           "inputs": {"lsoas": int(w.n), "lsoa_years": int(lsoa_cube.shape[1]),
                      "wards": int(ward_cube.shape[0]), "ward_months": int(ward_cube.shape[1]),
                      "permutations": PERMUTATIONS, "seed": args.seed},
           "tasks": rows, "summary": summary}
    (RESULTS / "hotspots_benchmark.json").write_text(json.dumps(out, indent=2) + "\n",
                                                     encoding="utf-8")
    print(f"Written {RESULTS / 'hotspots_benchmark.json'}")


if __name__ == "__main__":
    main()
