"""Benchmark: the London Strategic Needs Assessment report, 36 months, from a loaded store.

Target: under 15 s on 2 cores (compute the figures, write both editions: HTML, JSON, CSV,
GeoPackage, SVG charts, and check every public output). Prints the time of each step and
the peak resident memory, for two builds, each in a fresh process as ``vru sna`` runs: the
first after an import (which builds the store's derived count cubes and populations) and
a later one (which reads them).

    python bench/sna_report_benchmark.py [--data-dir DIR] [--to YYYY-MM] [--months 36]

Loads London from ../shared/data into DIR first if the store lacks it (not timed).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vru.adapters.store.evidence_store import EvidenceStore
from vru.domain.disclosure import DisclosureRules
from vru.interfaces.report.builder import write_report
from vru.services.sna_report import build_report, ensure_evidence, to_public

REPO = Path(__file__).resolve().parents[1]
TARGET_S = 15.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, default=Path.home() / ".local/share/vru")
    ap.add_argument("--mirror", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--to", default=None)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--run", choices=["first", "later"], default=None,
                    help="one build only (the benchmark runs each in a fresh process)")
    args = ap.parse_args()
    store = EvidenceStore(args.data_dir)
    if args.run is None:
        t = time.perf_counter()
        loaded = ensure_evidence(store, "london", args.mirror if args.mirror.is_dir() else None)
        if loaded is not None:
            print(f"loaded London into {args.data_dir} in {time.perf_counter() - t:.1f} s "
                  "(not timed)")
        # Each build in a fresh process, as `vru sna` runs: first after an import (the
        # derived count cubes and populations are built), then a later run (they are read).
        shutil.rmtree(store.root / "derived", ignore_errors=True)
        codes = []
        for run in ("first", "later"):
            print(f"\n== {run} run " + ("after an import" if run == "first" else ""))
            argv = [sys.executable, __file__, "--data-dir", str(args.data_dir), "--months",
                    str(args.months), "--run", run] + (["--to", args.to] if args.to else [])
            codes.append(subprocess.run(argv, check=False).returncode)
        return max(codes)
    out = args.out or Path(tempfile.mkdtemp(prefix="vru-sna-bench-"))
    t0 = time.perf_counter()
    report = build_report(store, "london", args.to, args.months)
    t1 = time.perf_counter()
    public = to_public(report, DisclosureRules())
    t2 = time.perf_counter()
    restricted_out = write_report(report, out / "restricted")
    t3 = time.perf_counter()
    public_out = write_report(public, out / "public")
    t4 = time.perf_counter()
    total = t4 - t0
    print(f"London, {args.months} months to {report.to} ({report.period})")
    for step, secs in report.timings.items():
        print(f"  compute {step:<20} {secs:6.2f} s")
    print(f"compute figures          {t1 - t0:6.2f} s")
    print(f"public edition (SDC)     {t2 - t1:6.2f} s")
    print(f"write restricted         {t3 - t2:6.2f} s  {restricted_out.timings}")
    print(f"write public + checks    {t4 - t3:6.2f} s  {public_out.timings}")
    print(f"total                    {total:6.2f} s  (target {TARGET_S:g} s: "
          f"{'met' if total < TARGET_S else 'NOT met'})")
    print(f"peak memory              {peak_mb():,.0f} MB")
    print(f"report: {public_out.html} ({public_out.html.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
