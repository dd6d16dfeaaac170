"""Scale benchmark: a synthetic national police.uk set, 20 million rows, ingested in one go.

Generates 43 forces x 36 months of street-level files (1,548 CSVs, 20,000,000 rows, about
4.2 GB) in the real police.uk format (into a temporary folder, or ``--data DIR``, where they
are kept and reused by later runs), then imports them all into a fresh store with
``vru.services.batch_ingest.ingest_files`` (what `vru data fetch` uses), with no geography
loaded (codes checked by pattern), ``--repeat`` times (3 by default), each into a new store.

For each run it prints rows, seconds, rows/s, CPU seconds (this process and its workers),
peak memory (resident set size of this process and its workers, sampled every 10 ms) and
where the time went (hashing, parsing and checking, writing Parquet, committing), with the
best and the spread over the repeats. Beside it, in the same process, the plain pandas
baseline (``read_csv`` + ``concat`` + ``to_parquet``) on the first ``--baseline-rows`` rows
(2 million by default: pandas holds every value as a Python string, so the whole set would
need tens of gigabytes), and the ratio of the two rates. Results go to
``bench/results/scale_benchmark.json``. Targets: under 60 s and under 4 GiB.

The data are SYNTHETIC and made only for timing: real force names and the real format,
made-up rows. This is a benchmark, not a test: it asserts nothing.

Usage: python bench/scale_benchmark.py [--rows 20000000] [--workers N] [--repeat 3]
                                       [--data DIR] [--baseline-rows 2000000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from vru.adapters.sources.base import ReferenceData
from vru.adapters.sources.police_uk_street import COLUMNS
from vru.adapters.store.evidence_store import EvidenceStore
from vru.services.batch_ingest import STAGES, IngestStats, default_workers, ingest_files

try:  # run as a script (bench/ on sys.path) or as a module
    from ingest_benchmark import (  # type: ignore[import-not-found,unused-ignore]
        PeakRss,
        cpu_seconds,
    )
except ImportError:  # pragma: no cover
    from bench.ingest_benchmark import (  # type: ignore[no-redef,unused-ignore]
        PeakRss,
        cpu_seconds,
    )

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
TARGET_SECONDS = 60.0
TARGET_BYTES = 4 * 2**30

# The 43 territorial police forces of England and Wales, as police.uk names their files.
FORCES = [
    "metropolitan", "west-midlands", "greater-manchester", "west-yorkshire", "thames-valley",
    "lancashire", "merseyside", "kent", "hampshire", "south-yorkshire", "northumbria",
    "essex", "avon-and-somerset", "sussex", "devon-and-cornwall", "south-wales",
    "west-mercia", "nottinghamshire", "leicestershire", "hertfordshire", "humberside",
    "cleveland", "staffordshire", "durham", "derbyshire", "cheshire", "surrey", "norfolk",
    "lincolnshire", "northamptonshire", "gwent", "cambridgeshire", "bedfordshire",
    "north-yorkshire", "gloucestershire", "wiltshire", "north-wales", "dorset", "cumbria",
    "suffolk", "warwickshire", "dyfed-powys", "city-of-london",
]
CRIME_TYPES = {
    "Violence and sexual offences": 0.33, "Anti-social behaviour": 0.17, "Public order": 0.09,
    "Criminal damage and arson": 0.08, "Other theft": 0.07, "Vehicle crime": 0.06,
    "Shoplifting": 0.05, "Burglary": 0.045, "Drugs": 0.03, "Other crime": 0.02,
    "Theft from the person": 0.015, "Bicycle theft": 0.012, "Robbery": 0.01,
    "Possession of weapons": 0.008,
}
OUTCOMES = ["Investigation complete; no suspect identified", "Unable to prosecute suspect",
            "Under investigation", "Status update unavailable", "Local resolution",
            "Offender given a caution", "Awaiting court outcome", "Court result unavailable"]


def month_list(start: str, n: int) -> list[str]:
    y, m = int(start[:4]), int(start[5:])
    out = []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def plan(rows: int, months: list[str], rng: np.random.Generator) -> np.ndarray:
    """Rows per (force, month), summing to ``rows``: force sizes fall off like a real
    country's (the Met about a sixth), months vary by season and noise."""
    weights = 1.0 / np.arange(1, len(FORCES) + 1) ** 0.9
    season = 1 + 0.1 * np.sin((np.arange(len(months)) % 12 - 3) / 12 * 2 * np.pi)
    cells = np.outer(weights, season) * rng.uniform(0.95, 1.05, (len(FORCES), len(months)))
    counts = np.floor(cells / cells.sum() * rows).astype(np.int64)
    short = rows - int(counts.sum())
    flat = counts.reshape(-1)
    flat[rng.choice(flat.size, size=short, replace=False)] += 1
    return counts


def pools(rng: np.random.Generator) -> dict[str, pa.Array]:
    ids = rng.integers(0, 256, size=(200_000, 32), dtype=np.uint8)
    crime_ids = pa.array([bytes(r).hex() for r in ids])
    streets = pa.array([f"On or near Synthetic Street {i}" for i in range(5_000)])
    return {"crime_id": crime_ids, "location": streets,
            "type": pa.array(list(CRIME_TYPES)), "outcome": pa.array(OUTCOMES)}


def force_lsoas(rng: np.random.Generator, f: int, n: int = 800) -> dict[str, Any]:
    codes = pa.array([f"E01{(f * 800 + i) % 999_999:06d}" for i in range(n)])
    names = pa.array([f"Synthetic {f:02d} {i:03d}A" for i in range(n)])
    lon = rng.uniform(-5.5, 1.5, n) if f else rng.uniform(-0.5, 0.3, n)
    lat = rng.uniform(50.2, 55.5, n) if f else rng.uniform(51.3, 51.7, n)
    return {"code": codes, "name": names, "lon": lon, "lat": lat}


def write_file(path: Path, n: int, month: str, force_name: str, lsoas: dict[str, Any],
               pool: dict[str, pa.Array], rng: np.random.Generator) -> None:
    p = np.array(list(CRIME_TYPES.values()))
    kind = rng.choice(len(p), size=n, p=p / p.sum())
    asb = kind == list(CRIME_TYPES).index("Anti-social behaviour")
    where = rng.integers(0, len(lsoas["code"]), size=n)
    located = rng.random(n) >= 0.025
    lon = lsoas["lon"][where] + rng.normal(0, 0.003, n)
    lat = lsoas["lat"][where] + rng.normal(0, 0.003, n)
    empty = pa.scalar("", pa.string())

    def masked(values: pa.Array, keep: np.ndarray) -> pa.Array:
        return pc.if_else(pa.array(keep), values, empty)

    crime_id = masked(pc.take(pool["crime_id"], pa.array(rng.integers(0, 200_000, n))), ~asb)
    outcome = masked(pc.take(pool["outcome"], pa.array(rng.integers(0, len(OUTCOMES), n))),
                     ~asb)
    location = pc.if_else(pa.array(located),
                          pc.take(pool["location"], pa.array(rng.integers(0, 5_000, n))),
                          pa.scalar("No Location"))
    table = pa.table({
        "Crime ID": crime_id,
        "Month": pa.array([month] * n),
        "Reported by": pa.array([force_name] * n),
        "Falls within": pa.array([force_name] * n),
        "Longitude": masked(degrees(lon), located),
        "Latitude": masked(degrees(lat), located),
        "Location": location,
        "LSOA code": masked(pc.take(lsoas["code"], pa.array(where)), located),
        "LSOA name": masked(pc.take(lsoas["name"], pa.array(where)), located),
        "Crime type": pc.take(pool["type"], pa.array(kind)),
        "Last outcome category": outcome,
        "Context": pa.array([""] * n),
    })
    assert table.column_names == COLUMNS
    # police.uk quotes nothing (no value here holds a comma or a quote).
    with open(path, "wb") as fh:
        fh.write((",".join(COLUMNS) + "\n").encode())
        pacsv.write_csv(table, fh, pacsv.WriteOptions(quoting_style="none",
                                                      include_header=False))


def degrees(x: np.ndarray) -> pa.Array:
    """Decimal degrees with six decimals, as police.uk writes them ("-1.210015")."""
    micro = np.rint(np.abs(x) * 1e6).astype(np.int64)
    whole = pc.cast(pa.array(micro // 1_000_000), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(micro % 1_000_000), pa.string()), width=6,
                        padding="0")
    sign = pc.if_else(pa.array(x < 0), pa.scalar("-"), pa.scalar(""))
    return pc.binary_join_element_wise(sign, pc.binary_join_element_wise(whole, frac, "."), "")


def generate(root: Path, rows: int, months: list[str], seed: int) -> list[Path]:
    rng = np.random.default_rng(seed)
    counts = plan(rows, months, rng)
    pool = pools(rng)
    paths: list[Path] = []
    for f, force in enumerate(FORCES):
        lsoas = force_lsoas(rng, f)
        force_name = force.replace("-", " ").title() + " Police"
        for m, month in enumerate(months):
            folder = root / month
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{month}-{force}-street.csv"
            write_file(path, int(counts[f, m]), month, force_name, lsoas, pool, rng)
            paths.append(path)
    return paths


def dataset(root: Path, rows: int, months: list[str], seed: int) -> tuple[list[Path], float]:
    """The generated files under ``root``, made now unless a previous run left them (the
    same rows, months and seed); and the seconds spent generating (0 when reused)."""
    stamp = root / "GENERATED.json"
    wanted = {"rows": rows, "months": months, "seed": seed, "forces": FORCES}
    if stamp.exists() and json.loads(stamp.read_text()) == wanted:
        paths = [root / "police_uk" / m / f"{m}-{f}-street.csv" for f in FORCES for m in months]
        if all(p.exists() for p in paths):
            return paths, 0.0
    shutil.rmtree(root / "police_uk", ignore_errors=True)
    t0 = time.perf_counter()
    paths = generate(root / "police_uk", rows, months, seed)
    stamp.write_text(json.dumps(wanted))
    return paths, time.perf_counter() - t0


def baseline(paths: list[Path], rows: int, out: Path) -> tuple[int, float]:
    """pandas ``read_csv`` of files until ``rows`` rows, ``concat``, ``to_parquet``."""
    import pandas as pd

    t0 = time.perf_counter()
    frames, n = [], 0
    for p in paths:
        if n >= rows:
            break
        frames.append(pd.read_csv(p))
        n += len(frames[-1])
    pd.concat(frames, ignore_index=True).to_parquet(out)
    seconds = time.perf_counter() - t0
    out.unlink()
    return n, seconds


def spread(values: list[float]) -> str:
    return f"{min(values):.1f}-{max(values):.1f}"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--mode", default="auto", choices=["auto", "processes", "threads"])
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-rows", type=int, default=2_000_000)
    parser.add_argument("--data", type=Path, default=None,
                        help="Keep the generated files here and reuse them in later runs.")
    parser.add_argument("--dir", type=Path, default=None,
                        help="Where to put the stores (a temporary folder by default).")
    args = parser.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="vru-scale-", dir=args.dir))
    try:
        months = month_list("2020-01", args.months)
        data_root = args.data or base / "data"
        data_root.mkdir(parents=True, exist_ok=True)
        paths, gen_s = dataset(data_root, args.rows, months, args.seed)
        csv_bytes = sum(p.stat().st_size for p in paths)
        print(f"{'Generated' if gen_s else 'Reused'} {len(paths):,} files, {args.rows:,} rows, "
              f"{csv_bytes / 1e9:.2f} GB of CSV" + (f" in {gen_s:.1f} s" if gen_s else "")
              + " (not timed below)", flush=True)
        runs: list[dict[str, Any]] = []
        base_runs: list[tuple[int, float]] = []
        for rep in range(args.repeat):
            for p in paths:  # warm the page cache as far as memory allows
                p.read_bytes()
            store = EvidenceStore(base / f"store{rep}")
            stats = IngestStats()
            with PeakRss() as mem:
                c0 = cpu_seconds()
                t1 = time.perf_counter()
                outcomes = ingest_files(store, "police-uk-street", paths, ref=ReferenceData(),
                                        workers=args.workers,
                                        mode=args.mode,  # type: ignore[arg-type]
                                        stats=stats)
                seconds = time.perf_counter() - t1
                cpu = cpu_seconds() - c0
            cpu += mem.descendants_cpu
            failed = [o for o in outcomes if not o.ok]
            stored = sum(o.result.rows_stored for o in outcomes if o.result)
            read = sum(o.result.rows_read for o in outcomes if o.result)
            parquet = sum(p.stat().st_size for p in store.tables_dir.rglob("*.parquet"))
            runs.append({"seconds": seconds, "cpu_seconds": cpu, "rows_read": read,
                         "rows_stored": stored, "files_failed": len(failed),
                         "peak_rss_bytes": mem.peak, "rss_rise_bytes": mem.rise,
                         "parquet_bytes": parquet, "stages": dict(stats.seconds),
                         "jobs": stats.jobs})
            # The baseline runs after vru's import, so that the memory pandas leaves
            # allocated is not counted in the first import's peak.
            base_runs.append(baseline(paths, args.baseline_rows, base / "baseline.parquet"))
            b_rows, b_s = base_runs[-1]
            print(f"  run {rep + 1}: {read:,} rows in {seconds:.1f} s ({read / seconds:,.0f} "
                  f"rows/s, {cpu:.1f} CPU s), peak RSS {mem.peak / 2**30:.2f} GiB (rise "
                  f"{mem.rise / 2**30:.2f} GiB); pandas "
                  f"baseline {b_rows:,} rows in {b_s:.1f} s ({b_rows / b_s:,.0f} rows/s)",
                  flush=True)
            shutil.rmtree(base / f"store{rep}", ignore_errors=True)
        best = min(runs, key=lambda r: r["seconds"])
        b_rows = base_runs[0][0]
        b_best = min(s for _n, s in base_runs)
        rate, base_rate = best["rows_read"] / best["seconds"], b_rows / b_best
        peak = max(r["peak_rss_bytes"] for r in runs)
        stages = best["stages"]
        total = sum(stages.get(k, 0.0) for k in STAGES) or 1.0
        print(f"Ingested {len(paths) - best['files_failed']:,} of {len(paths):,} files, "
              f"{best['rows_stored']:,} rows: best {best['seconds']:.1f} s (spread "
              f"{spread([r['seconds'] for r in runs])} s over {len(runs)} runs), "
              f"{rate:,.0f} rows/s, {best['cpu_seconds']:.1f} CPU s "
              f"({best['rows_read'] / best['cpu_seconds']:,.0f} rows per CPU second), peak RSS "
              f"{peak / 2**30:.2f} GiB (highest of the runs), {best['parquet_bytes'] / 1e9:.2f} GB "
              f"of Parquet; {args.workers} workers on {psutil.cpu_count()} CPUs, load average "
              f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print("  stages of the best run (worker seconds, summed): " + ", ".join(
            f"{k} {stages.get(k, 0.0):.1f} s ({stages.get(k, 0.0) / total:.0%})" for k in STAGES)
            + (f" [of parse: reading the CSV {stages['parse.csv']:.1f} s]"
               if "parse.csv" in stages else ""))
        print(f"  pandas baseline (no checks), same process: {b_rows:,} rows, best {b_best:.1f} s "
              f"(spread {spread([s for _n, s in base_runs])} s), {base_rate:,.0f} rows/s; "
              f"vru is {rate / base_rate:.2f}x its rate")
        print(f"Targets: under {TARGET_SECONDS:.0f} s "
              f"({'met' if best['seconds'] < TARGET_SECONDS else 'NOT met'}), under 4 GiB "
              f"({'met' if peak < TARGET_BYTES else 'NOT met'}).")
        result = {
            "benchmark": "scale",
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": {"cpus": psutil.cpu_count(), "python": platform.python_version(),
                        "load_average_at_end": os.getloadavg()},
            "files": len(paths), "rows": args.rows, "forces": len(FORCES),
            "months": args.months, "csv_bytes": csv_bytes, "generate_seconds": round(gen_s, 1),
            "runs": runs, "best_seconds": round(best["seconds"], 2),
            "rows_per_s": round(rate), "peak_rss_bytes": peak,
            "baseline": {"rows": b_rows, "seconds": [round(s, 2) for _n, s in base_runs],
                         "rows_per_s": round(base_rate)},
            "vs_baseline": round(rate / base_rate, 3),
            "workers": args.workers, "mode": args.mode,
            "targets": {"seconds": TARGET_SECONDS, "bytes": TARGET_BYTES,
                        "seconds_met": best["seconds"] < TARGET_SECONDS,
                        "memory_met": peak < TARGET_BYTES},
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        name = "scale_benchmark.json" if args.rows == 20_000_000 else \
            f"scale_benchmark_{args.rows}.json"
        (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")
        return result
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
