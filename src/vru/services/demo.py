"""Use case: a small, clearly labelled SYNTHETIC area to try vru on, with no real data.

``generate_demo_files`` writes police.uk street-level files for a made-up force area,
"Synthetica", in the publisher's exact format (the 12-column header, ``YYYY-MM`` months,
64-hex crime ids, empty ids for anti-social behaviour, rows with no location), so that
``run_demo`` can import them through the normal ``police-uk-street`` adapter and checks.

Nothing in it can be mistaken for real data:

- every file and folder name contains ``SYNTHETIC`` (the force, read from the file name
  as police.uk names it, is ``SYNTHETIC-demo``), and so does every "Reported by",
  "Falls within", location and LSOA name;
- the points lie in the Celtic Sea, about 100 km from any coast (inside the England and
  Wales box the adapter checks, outside every real police force area);
- the LSOA codes are ``E01999001`` ... : they have the form of a 2011 LSOA code (so the
  adapter's pattern check passes honestly) but lie far beyond the ~35,000 codes ONS has
  issued (E01000001 to about E01035000), so they cannot collide with a real one. If a
  store holds real geography, the adapter rejects them, and ``run_demo`` refuses to mix
  synthetic and real evidence anyway.

The numbers come from a seeded ``numpy.random.Generator``: the same seed gives the same
files, byte for byte.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vru.adapters.store.evidence_store import EvidenceStore
from vru.services.batch_ingest import BatchOutcome, ingest_files

LABEL = "SYNTHETIC"
AREA = "synthetica"
FORCE = "SYNTHETIC-demo"  # as police.uk file names carry it: YYYY-MM-<force>-street.csv
FORCE_NAME = "SYNTHETIC Demo Constabulary (not real data)"
DEFAULT_SEED = 20_190_401  # the month London's VRU started
DEFAULT_START = "2022-01"
DEFAULT_MONTHS = 24
FOLDER = "SYNTHETIC-police-uk"

COLUMNS = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
           "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category",
           "Context"]

# Crime types (police.uk's own) and their share of incidents, roughly a force's mix.
CRIME_TYPES: dict[str, float] = {
    "Violence and sexual offences": 0.36,
    "Anti-social behaviour": 0.14,
    "Public order": 0.10,
    "Criminal damage and arson": 0.09,
    "Other theft": 0.07,
    "Vehicle crime": 0.06,
    "Burglary": 0.05,
    "Shoplifting": 0.04,
    "Drugs": 0.03,
    "Other crime": 0.02,
    "Bicycle theft": 0.015,
    "Possession of weapons": 0.01,
    "Robbery": 0.01,
    "Theft from the person": 0.005,
}
OUTCOMES = [
    "Investigation complete; no suspect identified",
    "Unable to prosecute suspect",
    "Under investigation",
    "Status update unavailable",
    "Local resolution",
    "Offender given a caution",
    "Awaiting court outcome",
]

# Three made-up local authorities in the Celtic Sea, about 100 km from the nearest coast.
CENTRE = (-6.2, 51.0)  # longitude, latitude
DISTRICTS = ["Synthetica North", "Synthetica Central", "Synthetica South"]


@dataclass(frozen=True)
class DemoLsoa:
    code: str
    name: str
    district: str
    lon: float
    lat: float
    rate: float  # incidents per month at the start
    trend: float  # growth per month (multiplicative)


@dataclass
class DemoResult:
    """What the demo wrote and imported, and its SYNTHETIC summary."""

    out_dir: Path
    data_dir: Path
    files: list[Path]
    outcomes: list[BatchOutcome]
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)


def demo_lsoas(rng: np.random.Generator, per_district: int = 4) -> list[DemoLsoa]:
    """The synthetic LSOAs: codes E01999001..., one clear hot spot that is rising."""
    out: list[DemoLsoa] = []
    n = 0
    for d, district in enumerate(DISTRICTS):
        for i in range(per_district):
            n += 1
            lon = CENTRE[0] + (d - 1) * 0.08 + float(rng.uniform(-0.03, 0.03))
            lat = CENTRE[1] + (i - per_district / 2) * 0.02 + float(rng.uniform(-0.005, 0.005))
            rate = float(rng.gamma(4.0, 8.0))
            trend = 1.0 + float(rng.normal(0.0, 0.004))
            if n == 2:  # the hot spot: a town centre where violence rises through the period
                rate, trend = rate + 60.0, 1.03
            out.append(DemoLsoa(f"E01999{n:03d}", f"{LABEL} {district} {i + 1:03d}A",
                                district, lon, lat, rate, trend))
    return out


def month_list(start: str, months: int) -> list[str]:
    y, m = int(start[:4]), int(start[5:7])
    out = []
    for _ in range(months):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _month_rows(rng: np.random.Generator, month: str, k: int,
                lsoas: list[DemoLsoa]) -> list[list[str]]:
    season = 1.0 + 0.15 * np.sin((int(month[5:]) - 4) / 12 * 2 * np.pi)  # summer peak
    types = list(CRIME_TYPES)
    weights = np.array(list(CRIME_TYPES.values()))
    weights = weights / weights.sum()
    rows: list[list[str]] = []
    for lsoa in lsoas:
        count = int(rng.poisson(lsoa.rate * lsoa.trend ** k * season))
        kinds = rng.choice(len(types), size=count, p=weights)
        for t in kinds:
            crime_type = types[int(t)]
            asb = crime_type == "Anti-social behaviour"
            crime_id = "" if asb else rng.bytes(32).hex()
            outcome = "" if asb else OUTCOMES[int(rng.integers(len(OUTCOMES)))]
            if rng.random() < 0.02:  # police.uk withholds some locations
                rows.append([crime_id, month, FORCE_NAME, FORCE_NAME, "", "", "No Location",
                             "", "", crime_type, outcome, ""])
                continue
            lon = lsoa.lon + float(rng.normal(0, 0.002))
            lat = lsoa.lat + float(rng.normal(0, 0.002))
            street = int(rng.integers(1, 40))
            rows.append([crime_id, month, FORCE_NAME, FORCE_NAME, f"{lon:.6f}", f"{lat:.6f}",
                         f"On or near {LABEL} Street {street}", lsoa.code, lsoa.name,
                         crime_type, outcome, ""])
    order = rng.permutation(len(rows))
    return [rows[int(i)] for i in order]


def generate_demo_files(out_dir: Path, *, seed: int = DEFAULT_SEED,
                        start: str = DEFAULT_START, months: int = DEFAULT_MONTHS) -> list[Path]:
    """Write the SYNTHETIC police.uk street files into ``out_dir/SYNTHETIC-police-uk/``,
    laid out like the publisher's archive (one folder per month), and a README."""
    rng = np.random.default_rng(seed)
    lsoas = demo_lsoas(rng)
    root = Path(out_dir) / FOLDER
    root.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for k, month in enumerate(month_list(start, months)):
        folder = root / month
        folder.mkdir(exist_ok=True)
        path = folder / f"{month}-{FORCE}-street.csv"
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(_month_rows(rng, month, k, lsoas))
        path.write_text(buf.getvalue(), encoding="utf-8")
        files.append(path)
    (root / "README-SYNTHETIC.txt").write_text(
        f"{LABEL} DATA. NOT REAL. Generated by `vru demo` (seed {seed}).\n"
        f"These files imitate the data.police.uk street-level format for a made-up force "
        f"area, '{AREA}',\nwith made-up LSOA codes (E01999...) and points in the sea. Do not "
        f"use them as evidence.\n", encoding="utf-8")
    return files


def run_demo(store: EvidenceStore, out_dir: Path, *, seed: int = DEFAULT_SEED,
             start: str = DEFAULT_START, months: int = DEFAULT_MONTHS) -> DemoResult:
    """Generate the SYNTHETIC files, import them through the normal adapter, summarise.

    Refuses (``ValueError``) a store that already holds real data: synthetic and real
    evidence are never mixed.
    """
    real = [i["file_name"] for i in store.imports() if LABEL not in i["file_name"]]
    if real:
        raise ValueError(
            f"the data directory {store.data_dir} already holds real data ({len(real)} "
            f"imports, e.g. {real[0]}); the {LABEL} demo needs a data directory of its own. "
            "Leave out --data-dir to use one inside the demo folder")
    files = generate_demo_files(out_dir, seed=seed, start=start, months=months)
    outcomes = ingest_files(store, "police-uk-street", files, mode="threads")
    result = DemoResult(Path(out_dir), store.data_dir, files, outcomes)
    result.lines = summary_lines(store, result)
    return result


def summary_lines(store: EvidenceStore, result: DemoResult) -> list[str]:
    """A plain-text summary of the imported demo data; every line says SYNTHETIC."""
    ids = [o.result.import_id for o in result.outcomes if o.result is not None]
    lines = [f"{LABEL} DEMO: area '{AREA}', force '{FORCE}' — made-up data, not real crime",
             f"{LABEL} files: {len(result.files)} police.uk-format CSVs in "
             f"{result.out_dir / FOLDER}",
             f"{LABEL} store: {result.data_dir}"]
    failed = [o for o in result.outcomes if not o.ok]
    for o in failed:
        lines.append(f"{LABEL} import failed: {o.path.name}: "
                     f"{str(o.error).splitlines()[0] if o.error else ''}")
    if not ids:
        return lines
    id_list = ", ".join("'" + i + "'" for i in ids)
    con = store.connect()
    try:
        total, no_loc, first, last = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE longitude IS NULL), min(month), "
            f"max(month) FROM street_crime WHERE import_id IN ({id_list})").fetchall()[0]
        lines.append(f"{LABEL} imported: {total:,} incidents, {first:%Y-%m} to {last:%Y-%m}, "
                     f"{no_loc:,} with no location")
        by_type = con.execute(
            "SELECT crime_type, count(*) AS n FROM street_crime "
            f"WHERE import_id IN ({id_list}) GROUP BY 1 ORDER BY n DESC, 1 LIMIT 5").fetchall()
        for crime_type, n in by_type:
            lines.append(f"{LABEL} by type: {crime_type}: {n:,} ({n / total:.0%})")
        yoy = con.execute(f"""
            SELECT lsoa_code, lsoa_name,
                   count(*) FILTER (WHERE year(month) = year(max_m) - 1) AS before,
                   count(*) FILTER (WHERE year(month) = year(max_m)) AS after
            FROM street_crime, (SELECT max(month) AS max_m FROM street_crime
                                WHERE import_id IN ({id_list}))
            WHERE import_id IN ({id_list}) AND measure = 'violence_and_sexual_offences'
              AND lsoa_code IS NOT NULL
            GROUP BY 1, 2 ORDER BY after DESC, 1 LIMIT 3""").fetchall()
        for code, name, before, after in yoy:
            change = f"{(after - before) / before:+.0%}" if before else "new"
            lines.append(f"{LABEL} most violence: {code} {name}: {before:,} -> {after:,} "
                         f"a year ({change})")
    finally:
        con.close()
    lines.append(f"{LABEL} DEMO ends. Explore it with: vru data status --data-dir "
                 f"{result.data_dir}")
    return lines
