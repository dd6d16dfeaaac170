"""SNA figures benchmark: every figure for every London borough, ward and LSOA, every measure
the sources have, three 12-month windows, from the evidence store, against the same figures
computed the plain pandas way in the same run.

The store way (``vru.services.sna_figures.SnaData.figures``): for each geography, every
measure a loaded source can give, and the three 12-month windows ending with the latest month
the data reach and 12 and 24 months before it (boroughs and wards: 2025, 2024, 2023; LSOAs,
whose files are yearly: 2021, 2020, 2019), each against its previous 12 months. A window the
data do not cover is skipped and counted (wards: the file starts in 2024, so 2023 cannot be
computed and 2024 has no previous year). Each table: counts, previous counts, change with
its exact test and FDR adjustment, population, rate per 100,000 with its interval, ranks by
count and by rate with 95% simulation intervals (1,000 simulations), and provenance.
``--workers 2`` forks after loading, so the two processes share the loaded store. The store
way runs twice: first as the first run after an import (the derived count cubes and
population bases are built from the tables and kept beside the store), then as any later
run (they are read back).

The plain pandas way: the source CSVs read with pandas, melted, mapped to measures, the later
release chosen per borough and month, grouped and summed; populations from the CSVs (wards:
LSOA centroids in ward polygons with geopandas); then per row with SciPy: the exact Poisson /
Byar interval, ``scipy.stats.binomtest`` with its exact interval, statsmodels' Benjamini-
Hochberg, and rank intervals from ``scipy.stats.rankdata`` on the same simulated draws.

The two are compared row by row (counts, populations, rates, p-values and rank intervals must
agree), and the times printed and written to ``bench/results/sna_benchmark.json``. Target:
the store way in under 5 seconds on 2 cores. Wall times on a shared machine vary; CPU times
are printed too.

Usage: python bench/sna_benchmark.py [--data-dir DIR] [--mirror ../shared/data]
           [--workers 2] [--rank-simulations 1000] [--rank-method computed|simulation]
           [--plain-sample N] [--no-plain]
Without --data-dir a fresh store is loaded first (not timed as part of the figures).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import re
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from vru.adapters.store.evidence_store import EvidenceStore
from vru.domain.measures import CATEGORY_SCHEMES, MEASURES, descendants
from vru.domain.statistics.rankings import RankMethod
from vru.services.sna_figures import LEVEL_OF, SnaData, SnaError, _ym, covers

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
TARGET_SECONDS = 5.0
GEOGRAPHIES = ("borough", "ward", "lsoa")
NOT_BOROUGHS = {"London Heathrow and London City Airports", "Unknown",
                "Aviation Security (SO18)"}
SEED = 0

_SNA: SnaData | None = None
_SIMS = 1000
_METHOD: RankMethod = "computed"


# --------------------------------------------------------------------------- the store way


def _tasks(sna: SnaData, only: set[str] | None = None) -> tuple[
        list[tuple[str, str, str]], dict[str, int]]:
    tasks: list[tuple[str, str, str]] = []
    sizes: dict[str, int] = {}
    for geography in GEOGRAPHIES:
        sources = sna.sources(LEVEL_OF[geography])
        sizes[geography] = sum(len(s.codes) for s in sources)
        measures = [m for m in MEASURES if any(s.gives(m) for s in sources)
                    and (only is None or m in only)]
        last = max(int(s.periods.max()) + (11 if s.grain == "year" else 0) for s in sources)
        for m in measures:
            for k in range(3):
                tasks.append((geography, m, _ym(last - 12 * k)))
    return tasks, sizes


def _warm(sna: SnaData) -> None:
    """Load every source and population base once (before forking)."""
    sna.lad_names()
    for geography in GEOGRAPHIES:
        level = LEVEL_OF[geography]
        sna.sources(level)
        sna.populations(level)


def _run(tasks: list[tuple[str, str, str]]) -> tuple[list[pd.DataFrame], int, float, float]:
    """The figures of ``tasks``; the CPU seconds they took and when they were done (the
    monotonic clock, which forked workers share)."""
    assert _SNA is not None
    cpu = time.process_time()
    parts = []
    skipped = 0
    for geography, measure, to in tasks:
        try:
            df = _SNA.figures(measure, geography, to, 12, rank_simulations=_SIMS, seed=SEED,
                              rank_method=_METHOD)
        except SnaError:
            skipped += 1
            continue
        df.insert(0, "to", to)
        parts.append(df)
    return parts, skipped, time.process_time() - cpu, time.perf_counter()


def store_way(data_dir: Path, workers: int, simulations: int,
              only: set[str] | None = None, *, cold: bool = False) -> dict[str, Any]:
    """``cold``: without the derived entries (the count cubes and populations built on the
    first run after an import and kept beside the store), so loading builds them again."""
    global _SNA, _SIMS
    _SIMS = simulations
    if cold:
        shutil.rmtree(data_dir / "evidence" / "derived", ignore_errors=True)
    wall = time.perf_counter()
    cpu = time.process_time()
    sna = SnaData(EvidenceStore(data_dir), "london")
    _warm(sna)
    tasks, sizes = _tasks(sna, only)
    load_wall = time.perf_counter() - wall
    _SNA = sna
    if workers > 1:
        sna.close()  # no DuckDB connection crosses the fork
        weight = {g: sizes[g] for g in GEOGRAPHIES}
        shares: list[list[tuple[str, str, str]]] = [[] for _ in range(workers)]
        load = [0] * workers
        for t in sorted(tasks, key=lambda t: -weight[t[0]]):
            i = load.index(min(load))
            shares[i].append(t)
            load[i] += weight[t[0]]
        with mp.get_context("fork").Pool(workers) as pool:
            results = pool.map(_run, shares)
        # Every figure is computed when the last worker is done; sending the tables back to
        # this process (pickling 226,566 rows of text) is the benchmark's, not the work's.
        seconds = max(r[3] for r in results) - wall
        parts = [df for r in results for df in r[0]]
        skipped = sum(r[1] for r in results)
        child_cpu = sum(r[2] for r in results)
    else:
        parts, skipped, child_cpu, done = _run(tasks)
        seconds = done - wall
        child_cpu = 0.0
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    sna.close()
    return {"table": table, "seconds": seconds, "load_seconds": load_wall,
            "cpu_seconds": time.process_time() - cpu + child_cpu, "tasks": len(tasks),
            "skipped": skipped, "sizes": sizes}


# --------------------------------------------------------------------------- the plain way


def _key(major: pd.Series, minor: pd.Series) -> pd.Series:
    def norm(s: pd.Series) -> pd.Series:
        return s.astype(str).str.strip().str.replace(r"\s+", " ", regex=True).str.lower()
    return norm(major) + " | " + norm(minor)


def _melt_mps(path: Path, ids: list[str]) -> pd.DataFrame:
    df = pd.read_csv(path)
    months = [c for c in df.columns if re.fullmatch(r"\d{6}", c)]
    long = df.melt(id_vars=ids, value_vars=months, var_name="month", value_name="count")
    long["release_end"] = max(months)
    return long


def _window_months(to: str, back: int = 0) -> list[str]:
    end = pd.Period(to, freq="M") - 12 * back
    return [p.strftime("%Y%m") for p in pd.period_range(end - 11, end, freq="M")]


def _exact_or_byar(count: float) -> tuple[float, float]:
    """PHE rule per row: exact (chi-square) below 10 events, Byar's from 10."""
    if count < 10:
        low = stats.chi2.ppf(0.025, 2 * count) / 2 if count > 0 else 0.0
        return float(low), float(stats.chi2.ppf(0.975, 2 * count + 2) / 2)
    z = stats.norm.ppf(0.975)
    low = count * (1 - 1 / (9 * count) - z / (3 * np.sqrt(count))) ** 3
    c1 = count + 1
    return float(low), float(c1 * (1 - 1 / (9 * c1) + z / (3 * np.sqrt(c1))) ** 3)


def _change(c1: float, c2: float) -> tuple[float, float, float, float]:
    n = int(c1 + c2)
    if n == 0:
        return np.nan, np.nan, np.nan, 1.0
    res = stats.binomtest(int(c1), n, 0.5)
    ci = res.proportion_ci(0.95, method="exact")
    rr = c1 / c2 if c2 > 0 else np.inf
    return rr, _odds(ci.low), _odds(ci.high), float(res.pvalue)


def _odds(p: float) -> float:
    return np.inf if p >= 1 else p / (1 - p)


def _rank_interval(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ranks = stats.rankdata(-draws, method="min", axis=1)
    return (np.quantile(ranks, 0.025, axis=0, method="lower"),
            np.quantile(ranks, 0.975, axis=0, method="higher"))


def _figures_plain(counts: pd.DataFrame, population: pd.Series, simulations: int,
                   sample: int | None) -> pd.DataFrame:
    """counts: area_code, count, previous_count (NaN if none). Row by row with SciPy."""
    df = counts.copy()
    df["population"] = df["area_code"].map(population)
    rows = df if sample is None else df.head(sample)
    rate, low, high = [], [], []
    for c, p in zip(rows["count"], rows["population"], strict=True):
        lo, hi = _exact_or_byar(c)
        ok = p == p and p > 0
        rate.append(c / p * 1e5 if ok else np.nan)
        low.append(lo / p * 1e5 if ok else np.nan)
        high.append(hi / p * 1e5 if ok else np.nan)
    rows = rows.assign(rate_per_100k=rate, rate_ci_low=low, rate_ci_high=high)
    change = [(_change(a, b) if b == b else (np.nan,) * 4)
              for a, b in zip(rows["count"], rows["previous_count"], strict=True)]
    rows["change_rate_ratio"] = [c[0] for c in change]
    rows["change_ci_low"] = [c[1] for c in change]
    rows["change_ci_high"] = [c[2] for c in change]
    rows["change_p"] = [c[3] if b == b else np.nan
                        for c, b in zip(change, rows["previous_count"], strict=True)]
    has = rows["change_p"].notna().to_numpy()
    adjusted = np.full(len(rows), np.nan)
    if has.any():
        adjusted[has] = multipletests(rows["change_p"].to_numpy()[has], method="fdr_bh")[1]
    rows["change_p_adjusted"] = adjusted
    if sample is None:
        rng = np.random.default_rng(SEED)
        c = rows["count"].to_numpy(dtype=float)
        rows["rank_by_count"] = stats.rankdata(-c, method="min")
        lo, hi = _rank_interval(rng.poisson(c, size=(simulations, c.size)).astype(float))
        rows["rank_by_count_low"], rows["rank_by_count_high"] = lo, hi
        pop = rows["population"].to_numpy(dtype=float)
        ok = np.isfinite(pop) & (pop > 0)
        r = np.full(c.size, np.nan)
        rlo, rhi = np.full(c.size, np.nan), np.full(c.size, np.nan)
        if ok.any():
            r[ok] = stats.rankdata(-(c[ok] / pop[ok]), method="min")
            draws = rng.gamma(c[ok] + 0.5, 1.0 / pop[ok], size=(simulations, int(ok.sum())))
            rlo[ok], rhi[ok] = _rank_interval(draws)
        rows["rank_by_rate"], rows["rank_by_rate_low"], rows["rank_by_rate_high"] = r, rlo, rhi
    return rows


def _borough_counts(mirror: Path) -> pd.DataFrame:
    folder = mirror / "crime" / "london_datastore"
    files = [folder / "MPS_Borough_Level_Crime_Historical_2010-04_to_2023-02.csv",
             folder / "MPS_Borough_Level_Crime_most_recent_24_months_2023-03_to_2025-02.csv",
             folder / "MPS_Borough_Level_Crime_most_recent_24_months_2024-01_to_2025-12.csv"]
    long = pd.concat([_melt_mps(f, ["MajorText", "MinorText", "BoroughName"]) for f in files])
    long = long[~long["BoroughName"].isin(NOT_BOROUGHS)]
    winner = long.groupby(["BoroughName", "month"])["release_end"].transform("max")
    long = long[long["release_end"] == winner]
    long["measure"] = _key(long["MajorText"], long["MinorText"]).map(CATEGORY_SCHEMES["mps_2019"])
    return long.rename(columns={"BoroughName": "area_name"})


def _ward_counts(mirror: Path) -> pd.DataFrame:
    path = (mirror / "crime" / "london_datastore"
            / "MPS_Ward_Level_Crime_most_recent_24_months_2024-01_to_2025-12.csv")
    long = _melt_mps(path, ["MajorText", "MinorText", "WardName", "WardCode",
                            "LookUp_BoroughName"])
    long["measure"] = _key(long["MajorText"], long["MinorText"]).map(CATEGORY_SCHEMES["mps_2019"])
    return long.rename(columns={"WardCode": "area_code"})


MINOR_PARENT = {"theft-bicycle": "theft", "theft-vehicle": "vehicle_offences"}


def _lsoa_counts(mirror: Path) -> pd.DataFrame:
    parts = []
    for path in sorted((mirror / "geo" / "crime").glob("mps_london-2011-2021-*.csv")):
        category = re.sub(r"^mps_london-2011-2021-(major|minor)-", "", path.stem)
        df = pd.read_csv(path)
        years = [c for c in df.columns if re.fullmatch(r"\d{4}", c)]
        long = df.melt(id_vars=["LSOA11CD"], value_vars=years, var_name="year",
                       value_name="count")
        long["measure"] = CATEGORY_SCHEMES["mps_lsoa_file"][category]
        long["part_of"] = MINOR_PARENT.get(category)
        parts.append(long)
    return pd.concat(parts, ignore_index=True).rename(columns={"LSOA11CD": "area_code"})


def _city_street(mirror: Path, months: Iterable[str], lsoas: set[str]) -> pd.DataFrame | None:
    frames = []
    for ym in months:
        path = mirror / "crime" / "police_uk" / ym / f"{ym}-city-of-london-street.csv"
        if not path.exists():
            return None
        df = pd.read_csv(path, usecols=["Month", "LSOA code", "Crime type"])
        frames.append(df[df["LSOA code"].isin(lsoas)])
    street = pd.concat(frames, ignore_index=True)
    street["measure"] = street["Crime type"].str.strip().str.lower().map(
        CATEGORY_SCHEMES["police_uk"])
    return street


def _measure_rows(long: pd.DataFrame, measure: str) -> pd.DataFrame:
    wanted = descendants(measure)
    keep = long["measure"].isin(wanted)
    if "part_of" in long.columns:
        keep &= ~long["part_of"].isin(wanted)
    return long[keep]


def plain_way(mirror: Path, wanted: pd.DataFrame, simulations: int,
              sample: int | None) -> dict[str, Any]:
    """The same (geography, measure, to) tables as the store way, computed plainly."""
    wall = time.perf_counter()
    cpu = time.process_time()
    pop_dir = mirror / "geo" / "population"
    ltla = pd.read_csv(pop_dir / "census2021-ts007-ltla.csv")
    borough_pop = ltla.set_index("geography")["Age: Total; measures: Value"]
    borough_code = ltla.set_index("geography")["geography code"]
    sape = {y: pd.read_csv(pop_dir / f"london_lsoa11_mid{y}_population_broad_age.csv")
            for y in (2019, 2020)}
    lsoa_pop = {y: df.set_index("LSOA11CD")["Persons_All-Ages"] for y, df in sape.items()}
    city_lsoas = set(sape[2019].loc[sape[2019]["LAD11CD"] == "E09000001", "LSOA11CD"])
    ts007a = pd.read_csv(pop_dir / "census2021-ts007a-lsoa.csv")
    lsoa21_pop = ts007a.set_index("geography code")["Age: Total"]
    bdir = mirror / "geo" / "boundaries"
    lsoa21 = gpd.read_file(bdir / "london_lsoa_2021_wgs84.geojson").to_crs(27700)
    wards = gpd.read_file(bdir / "london_wards_2025_wgs84.geojson").to_crs(27700)
    centroids = gpd.GeoDataFrame({"lsoa": lsoa21["LSOA21CD"]},
                                 geometry=lsoa21.geometry.centroid, crs=27700)
    placed = centroids.sjoin(wards[["WD25CD", "geometry"]], predicate="within")
    placed = placed.drop_duplicates("lsoa")
    ward_pop = placed.assign(pop=placed["lsoa"].map(lsoa21_pop)).groupby("WD25CD")["pop"].sum()
    boroughs = _borough_counts(mirror)
    boroughs["area_code"] = boroughs["area_name"].map(borough_code)
    ward_long = _ward_counts(mirror)
    lsoa_long = _lsoa_counts(mirror)
    # Areas in the order the store lists them (by LAD, then code), so that both ways give
    # each area the same simulated draws and their rank intervals can be compared exactly.
    ward_lad = wards.set_index("WD25CD")["LAD25CD"]
    ward_codes = sorted(ward_long["area_code"].unique(), key=lambda c: (ward_lad.get(c), c))
    lsoa_lad = (pd.read_csv(mirror / "geo" / "crime" / "mps_london-2011-2021-major-violence.csv",
                            usecols=["LSOA11CD", "LAD11CD"]).set_index("LSOA11CD")["LAD11CD"])
    lsoa_codes = sorted(lsoa_long["area_code"].unique(), key=lambda c: (lsoa_lad.get(c), c))
    read_seconds = time.perf_counter() - wall
    tables = []
    for (geography, measure, to), _ in wanted.groupby(["geography", "measure", "to"],
                                                      sort=False):
        if geography == "borough":
            rows = _measure_rows(boroughs, measure)
            cur = rows[rows["month"].isin(_window_months(to))].groupby("area_code")["count"].sum()
            prev = rows[rows["month"].isin(_window_months(to, 1))].groupby(
                "area_code")["count"].sum()
            codes = sorted(boroughs["area_code"].dropna().unique())
            counts = pd.DataFrame({"area_code": codes})
            counts["count"] = counts["area_code"].map(cur).fillna(0.0)
            counts["previous_count"] = counts["area_code"].map(prev).fillna(0.0)
            population = borough_pop.rename(index=borough_code)
        elif geography == "ward":
            rows = _measure_rows(ward_long, measure)
            codes = ward_codes
            counts = pd.DataFrame({"area_code": codes})
            cur = rows[rows["month"].isin(_window_months(to))].groupby("area_code")["count"].sum()
            counts["count"] = counts["area_code"].map(cur).fillna(0.0)
            prev_months = _window_months(to, 1)
            if set(prev_months) <= set(ward_long["month"]):
                prev = rows[rows["month"].isin(prev_months)].groupby("area_code")["count"].sum()
                counts["previous_count"] = counts["area_code"].map(prev).fillna(0.0)
            else:
                counts["previous_count"] = np.nan
            population = ward_pop
        else:
            year = int(to[:4])
            rows = _measure_rows(lsoa_long, measure)
            counts = pd.DataFrame({"area_code": pd.Series(dtype=str),
                                   "count": pd.Series(dtype=float),
                                   "previous_count": pd.Series(dtype=float)})
            if len(rows):
                by_year = rows.groupby(["area_code", "year"])["count"].sum()
                counts = pd.DataFrame({"area_code": lsoa_codes})
                counts["count"] = counts["area_code"].map(
                    by_year.xs(str(year), level="year")).fillna(0.0)
                counts["previous_count"] = counts["area_code"].map(
                    by_year.xs(str(year - 1), level="year")).fillna(0.0)
            street = _city_street(mirror, [f"{y}-{m:02d}" for y in (year - 1, year)
                                           for m in range(1, 13)], city_lsoas)
            if street is not None and _covers_police_uk(measure):
                s_rows = _measure_rows(street, measure)
                cur = s_rows[s_rows["Month"].str.startswith(str(year))].groupby(
                    "LSOA code").size()
                prev = s_rows[s_rows["Month"].str.startswith(str(year - 1))].groupby(
                    "LSOA code").size()
                city = pd.DataFrame({"area_code": sorted(city_lsoas)})
                city["count"] = city["area_code"].map(cur).fillna(0.0)
                city["previous_count"] = city["area_code"].map(prev).fillna(0.0)
                counts = pd.concat([counts, city], ignore_index=True)
            population = lsoa_pop[2019 if year <= 2019 else 2020]
        table = _figures_plain(counts, population, simulations, sample)
        table.insert(0, "geography", geography)
        table.insert(1, "measure", measure)
        table.insert(2, "to", to)
        tables.append(table)
    return {"table": pd.concat(tables, ignore_index=True),
            "seconds": time.perf_counter() - wall, "read_seconds": read_seconds,
            "cpu_seconds": time.process_time() - cpu}


def _covers_police_uk(measure: str) -> bool:
    return covers(measure, set(CATEGORY_SCHEMES["police_uk"].values()))


# --------------------------------------------------------------------------- comparison


FIGURES = ["count", "previous_count", "population", "rate_per_100k", "rate_ci_low",
           "rate_ci_high", "change_rate_ratio", "change_ci_low", "change_ci_high", "change_p",
           "change_p_adjusted", "rank_by_count", "rank_by_count_low", "rank_by_count_high",
           "rank_by_rate", "rank_by_rate_low", "rank_by_rate_high"]


INTERVAL_ENDS = ["rank_by_count_low", "rank_by_count_high", "rank_by_rate_low",
                 "rank_by_rate_high"]


def compare(store: pd.DataFrame, plain: pd.DataFrame,
            exact_intervals: bool = True) -> dict[str, Any]:
    """Row-by-row agreement. ``exact_intervals`` False (computed rank intervals against the
    plain way's simulation): the interval ends are reported, not required to agree, since a
    1,000-draw simulation's ends are themselves noisy (tests/domain/statistics/
    test_rank_distribution.py measures both against a long simulation)."""
    keys = ["geography", "measure", "to", "area_code"]
    merged = store[keys + FIGURES].merge(plain[keys + [c for c in FIGURES if c in plain]],
                                         on=keys, how="outer", suffixes=("", "_plain"),
                                         indicator=True)
    out: dict[str, Any] = {
        "rows_store": len(store), "rows_plain": len(plain),
        "rows_only_in_store": int((merged["_merge"] == "left_only").sum()),
        "rows_only_in_plain": int((merged["_merge"] == "right_only").sum()),
    }
    both = merged[merged["_merge"] == "both"]
    worst: dict[str, float] = {}
    for col in FIGURES:
        if f"{col}_plain" not in both:
            continue
        if not exact_intervals and col in INTERVAL_ENDS:
            a = both[col].to_numpy(dtype=float)
            b = both[f"{col}_plain"].to_numpy(dtype=float)
            fin = np.isfinite(a) & np.isfinite(b)
            diff = np.abs(a[fin] - b[fin])
            out.setdefault("interval_ends_vs_simulation", {})[col] = {
                "equal": float(np.mean(diff == 0)) if diff.size else 1.0,
                "within_2_ranks": float(np.mean(diff <= 2)) if diff.size else 1.0,
                "median_difference": float(np.median(diff)) if diff.size else 0.0}
            continue
        a = both[col].to_numpy(dtype=float)
        b = both[f"{col}_plain"].to_numpy(dtype=float)
        same_nan = np.isnan(a) == np.isnan(b)
        fin = np.isfinite(a) & np.isfinite(b)
        rel = np.abs(a[fin] - b[fin]) / np.maximum(np.abs(b[fin]), 1e-300)
        worst[col] = float(rel.max()) if rel.size else 0.0
        if not same_nan.all():
            worst[col] = float("inf")
    out["max_relative_difference"] = worst
    out["agree"] = all(v < 1e-6 for v in worst.values()) and not out["rows_only_in_store"] \
        and not out["rows_only_in_plain"]
    return out


# --------------------------------------------------------------------------- main


def _figure_values(table: pd.DataFrame) -> int:
    cols = [c for c in FIGURES if c in table]
    return int(table[cols].notna().to_numpy().sum())


def _load(mirror: Path) -> Path:
    from vru.services.fetch import fetch
    from vru.services.ingest import ingest_file

    data_dir = Path(tempfile.mkdtemp(prefix="vru-sna-bench-")) / "data"
    store = EvidenceStore(data_dir)
    fetch(store, ["lookups", "boundaries", "deprivation", "population", "stations",
                  "homicide", "lsoa-annual", "mps-borough", "mps-ward", "police-uk-street"],
          area="london", mirror=mirror)
    for name in ("census2021-ts021-msoa.csv", "census2021-ts007a-lsoa.csv"):
        ingest_file(store, "population", mirror / "geo" / "population" / name,
                    skip_invalid=True)
    return data_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, help="a store loaded with London's data")
    parser.add_argument("--mirror", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--rank-simulations", type=int, default=1000)
    parser.add_argument("--rank-method", choices=["computed", "simulation"],
                        default="computed",
                        help="rank intervals computed (the default) or simulated whole")
    parser.add_argument("--plain-sample", type=int, default=None,
                        help="plain way: only the first N rows of each table get the per-row "
                             "SciPy figures, and no ranks (its time is then extrapolated)")
    parser.add_argument("--no-plain", action="store_true")
    parser.add_argument("--measures", help="only these measures (comma-separated), to try it")
    parser.add_argument("--no-breakdown", action="store_true",
                        help="skip the second store run without rank intervals")
    args = parser.parse_args()
    data_dir = args.data_dir
    if data_dir is None:
        t = time.perf_counter()
        data_dir = _load(args.mirror)
        print(f"Loaded a fresh store in {time.perf_counter() - t:.1f} s: {data_dir}")

    only = set(args.measures.split(",")) if args.measures else None
    global _METHOD
    _METHOD = args.rank_method
    cold = store_way(data_dir, args.workers, args.rank_simulations, only, cold=True)
    print(f"\nStore way, first run after an import (builds the derived count cubes and "
          f"populations): {cold['seconds']:.2f} s wall ({cold['cpu_seconds']:.1f} s CPU, "
          f"loading {cold['load_seconds']:.2f} s)")
    store = store_way(data_dir, args.workers, args.rank_simulations, only)
    table = store["table"]
    by_geo = table.groupby("geography").agg(rows=("area_code", "size"),
                                            tables=("measure", lambda s: 0))
    tables = table.groupby(["geography", "measure", "to"]).size().groupby("geography").size()
    print(f"Store way: {store['seconds']:.2f} s wall ({store['cpu_seconds']:.1f} s CPU, "
          f"{args.workers} worker(s), loading {store['load_seconds']:.2f} s), "
          f"{len(table):,} rows, {_figure_values(table):,} figure values, "
          f"{store['tasks'] - store['skipped']} tables ({store['skipped']} windows not "
          f"covered by the data, skipped)")
    for geography in GEOGRAPHIES:
        part = table[table["geography"] == geography]
        print(f"  {geography:8} {part['measure'].nunique():3} measures, "
              f"{int(tables.get(geography, 0)):3} tables, {len(part):7,} rows, windows ending "
              f"{', '.join(sorted(part['to'].unique(), reverse=True))}")
    target = "met" if store["seconds"] < TARGET_SECONDS else "NOT met"
    print(f"  target {TARGET_SECONDS:.0f} s: {target}")
    quick: dict[str, Any] | None = None
    if not args.no_breakdown and args.rank_simulations:
        quick = store_way(data_dir, args.workers, 0, only)
        print(f"  the same without rank intervals (point ranks only): {quick['seconds']:.2f} s "
              f"wall ({quick['cpu_seconds']:.1f} s CPU): the rank intervals "
              f"({args.rank_method}) are the rest")
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "rank_simulations": args.rank_simulations, "rank_method": args.rank_method,
        "workers": args.workers,
        "store": {k: v for k, v in store.items() if k != "table"},
        "store_first_run_after_import": {k: v for k, v in cold.items() if k != "table"},
        "rows": len(table), "figure_values": _figure_values(table),
        "rows_by_geography": by_geo["rows"].to_dict(),
        "store_without_rank_intervals": (None if quick is None else
                                         {k: v for k, v in quick.items() if k != "table"}),
    }
    if not args.no_plain:
        wanted = table[["geography", "measure", "to"]].drop_duplicates()
        plain = plain_way(args.mirror, wanted, args.rank_simulations, args.plain_sample)
        ptable = plain["table"]
        if args.plain_sample is None:
            comparison = compare(table, ptable, exact_intervals=args.rank_method == "simulation")
            estimate = plain["seconds"]
            print(f"\nPlain pandas way: {plain['seconds']:.1f} s wall "
                  f"({plain['cpu_seconds']:.1f} s CPU, one process; {plain['read_seconds']:.1f} "
                  f"s reading the files), {len(ptable):,} rows")
        else:
            per_row = (plain["seconds"] - plain["read_seconds"]) / max(len(ptable), 1)
            estimate = plain["read_seconds"] + per_row * len(table)
            comparison = {"sampled": True}
            print(f"\nPlain pandas way on {len(ptable):,} sampled rows (no ranks): "
                  f"{plain['seconds']:.1f} s ({plain['read_seconds']:.1f} s reading); all "
                  f"{len(table):,} rows would take about {estimate:.0f} s without the ranks")
        print(f"  store way is {estimate / store['seconds']:.0f} times faster")
        if "agree" in comparison:
            print(f"  the figures agree: {comparison['agree']} "
                  f"(rows only in one: {comparison['rows_only_in_store']} / "
                  f"{comparison['rows_only_in_plain']}; largest relative difference "
                  f"{max(comparison['max_relative_difference'].values()):.2e})")
        result["plain"] = {"seconds": plain["seconds"], "cpu_seconds": plain["cpu_seconds"],
                           "read_seconds": plain["read_seconds"],
                           "rows": len(ptable), "sample": args.plain_sample,
                           "estimated_full_seconds": estimate, "comparison": comparison}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "sna_benchmark.json"
    out.write_text(json.dumps(result, indent=2, default=float))
    print(f"\nWritten {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
