"""Use case: an area's evidence at a glance (``vru evidence summary --area NAME``).

For one area: its LADs, wards by vintage, MSOAs and LSOAs, population where loaded, and for
each crime dataset loaded the latest 12 months of violence, weapons possession, robbery and
homicide against the 12 months before, counted only in the area's LADs, wards, MSOAs or
LSOAs. A dataset that is not loaded is reported as such, never as zero. Counts from areas of
different levels (a borough count and a ward count) are never added together.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from vru.adapters.store.evidence_store import EvidenceStore
from vru.domain.measures import MEASURES, descendants
from vru.services.areas import ResolvedArea, get_area, resolve_area
from vru.services.crime_series import LEVELS as MONTHLY_LEVELS
from vru.services.crime_series import monthly_series

SUMMARY_MEASURES: tuple[str, ...] = (
    "violence_against_the_person", "violence_and_sexual_offences", "possession_of_weapons",
    "robbery", "homicide",
)

CRIME_DATASETS: dict[str, dict[str, Any]] = {
    "street_crime": {
        "title": "police.uk street-level crime",
        "required": ("month", "measure", "lsoa_code"),
        "grain": "one crime, placed in its 2011 LSOA",
    },
    "crime_counts": {
        "title": "Police recorded crime counts (MPS borough and ward files)",
        "required": ("geography_level", "area_code", "period", "measure", "count"),
        "grain": "counts per area and month",
    },
}

POPULATION_COLUMNS = ("area_code", "area_level", "area_vintage", "year", "source", "sex",
                      "characteristic", "count")


def _columns(con: duckdb.DuckDBPyConnection, dataset: str) -> list[str]:
    return [r[0] for r in con.execute(f'DESCRIBE "{dataset}"').fetchall()]


def _month_add(d: date, months: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 + months, 12)
    return date(y, m + 1, 1)


def _ym(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _windows(latest: date) -> dict[str, tuple[date, date]]:
    """The latest 12 months ending with ``latest`` and the 12 before them."""
    return {
        "latest": (_month_add(latest, -11), latest),
        "previous": (_month_add(latest, -23), _month_add(latest, -12)),
    }


def _measure_sets(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, list[str]]:
    """Each summary measure's ids (itself and its descendants) that ``relation`` holds."""
    present = {r[0] for r in con.execute(f"SELECT DISTINCT measure FROM {relation}").fetchall()}
    out = {}
    for m in SUMMARY_MEASURES:
        ids = sorted(descendants(m) & present)
        if ids:
            out[m] = ids
    return out


def _window_counts(con: duckdb.DuckDBPyConnection, relation: str, value: str,
                   measures: dict[str, list[str]], latest: date) -> list[dict[str, Any]]:
    """Counts per summary measure in the latest 12 months and the 12 before.

    A window's months are those with any row of the dataset (any measure) in the area, so a
    month in which a measure had no crimes still counts as covered.
    """
    wins = _windows(latest)
    months = {
        label: int(con.execute(f"SELECT count(DISTINCT month) FROM {relation} "
                               "WHERE month BETWEEN ? AND ?", [start, end]).fetchall()[0][0])
        for label, (start, end) in wins.items()}
    rows = []
    for m, ids in measures.items():
        entry: dict[str, Any] = {"measure": m, "name": MEASURES[m].name,
                                 "includes": [i for i in ids if i != m]}
        for label, (start, end) in wins.items():
            got = con.execute(
                f"SELECT coalesce(sum({value}), 0) FROM {relation} "
                "WHERE month BETWEEN ? AND ? AND list_contains(?, measure)",
                [start, end, ids]).fetchall()[0]
            entry[label] = int(got[0])
            entry[f"{label}_months"] = months[label]
        change = entry["latest"] - entry["previous"]
        entry["change"] = change
        entry["comparable"] = entry["latest_months"] == 12 and entry["previous_months"] == 12
        # A percentage over a part-year, or from zero, would mislead: none is given.
        entry["change_pct"] = (round(100.0 * change / entry["previous"], 1)
                               if entry["previous"] and entry["comparable"] else None)
        rows.append(entry)
    return rows


def _period_block(latest: date) -> dict[str, Any]:
    wins = _windows(latest)
    return {label: {"start": _ym(s), "end": _ym(e)} for label, (s, e) in wins.items()}


def _street_crime(con: duckdb.DuckDBPyConnection, area: ResolvedArea) -> dict[str, Any]:
    lsoas = sorted(area.codes("lsoa"))
    con.register("area_lsoas", pa.table({"code": pa.array(lsoas, pa.string())}))
    cols = _columns(con, "street_crime")
    has_force = "force" in cols
    con.register("area_forces", pa.table({"f": pa.array(list(area.definition.police_forces),
                                                        pa.string())}))
    force_sql = "force IN (SELECT f FROM area_forces)" if has_force else "FALSE"
    con.execute(f"""CREATE OR REPLACE TEMP VIEW sc_area AS
        SELECT CAST(date_trunc('month', CAST(month AS DATE)) AS DATE) AS month, measure,
               {force_sql} AS own_force
        FROM street_crime WHERE lsoa_code IN (SELECT code FROM area_lsoas)""")
    rng = con.execute("SELECT min(month), max(month), count(*), max(month) FILTER "
                      "(WHERE own_force) FROM sc_area").fetchall()[0]
    result: dict[str, Any] = {"rows_in_area": int(rng[2])}
    notes = ["Crimes are placed by the LSOA code police.uk gives them; police.uk publishes no "
             "homicide or separate violence against the person counts, only 'violence and "
             "sexual offences'."]
    if has_force and area.definition.police_forces:
        unplaced = con.execute(
            f"SELECT count(*) FROM street_crime WHERE lsoa_code IS NULL AND {force_sql}"
        ).fetchall()[0][0]
        if unplaced:
            notes.append(f"{int(unplaced):,} rows of the area's forces have no location, so "
                         "no LSOA; they are not counted in the area.")
    if not lsoas:
        notes.append("The area's LSOAs are unknown (no lookups loaded), so no crime can be "
                     "placed in it.")
    if not rng[2]:
        result.update(status="no rows in the area", notes=notes)
        return result
    # The periods end with the latest month of the area's own forces: another force's few
    # rows placed in the area must not move the window past the area's data.
    latest = rng[3] or rng[1]
    if rng[3] is not None and rng[3] < rng[1]:
        notes.append(f"Rows from other forces reach {_ym(rng[1])}; the periods end with the "
                     f"area's own forces' latest month, {_ym(rng[3])}.")
    con.execute("CREATE OR REPLACE TEMP VIEW sc_counts AS "
                "SELECT month, measure, 1 AS n FROM sc_area")
    result.update(
        status="loaded", period_start=_ym(rng[0]), period_end=_ym(latest),
        windows=_period_block(latest),
        measures=_window_counts(con, "sc_counts", "n", _measure_sets(con, "sc_counts"), latest),
        notes=notes)
    return result


def _crime_counts(store: EvidenceStore, con: duckdb.DuckDBPyConnection,
                  area: ResolvedArea) -> dict[str, Any]:
    """Monthly levels (borough, ward) come from the joined series in which the later MPS
    release wins where releases overlap (``crime_series.monthly_series``): summing the raw
    rows would count overlapping releases twice. Annual levels (LSOA) compare calendar
    years."""
    codes = sorted(area.all_codes())
    con.register("area_codes", pa.table({"code": pa.array(codes, pa.string())}))
    levels = con.execute(
        "SELECT geography_level, any_value(period_type) FROM crime_counts "
        "WHERE area_code IN (SELECT code FROM area_codes) GROUP BY 1 ORDER BY 1").fetchall()
    notes: list[str] = []
    by_level = []
    for level, period_type in levels:
        if period_type == "month" and level in MONTHLY_LEVELS:
            series = monthly_series(store, level)
            con.register("cc_series", series)
            table = con.sql(
                "SELECT period AS month, measure, count AS n, area_code, category_scheme "
                "FROM cc_series WHERE area_code IN (SELECT code FROM area_codes)"
            ).to_arrow_table()
            con.unregister("cc_series")
        else:
            table = con.sql(
                "SELECT period AS month, measure, count AS n, area_code, category_scheme "
                "FROM crime_counts WHERE geography_level = ? AND "
                "area_code IN (SELECT code FROM area_codes)", params=[level]).to_arrow_table()
        con.register("cc_level", table)
        first, latest, n_areas, schemes = con.execute(
            "SELECT min(month), max(month), count(DISTINCT area_code), "
            "list(DISTINCT category_scheme ORDER BY category_scheme) FROM cc_level"
        ).fetchall()[0]
        if period_type == "month":
            block = {
                "geography_level": level, "areas": int(n_areas), "period_type": "month",
                "period_start": _ym(first), "period_end": _ym(latest),
                "windows": _period_block(latest),
                "measures": _window_counts(con, "cc_level", "n",
                                           _measure_sets(con, "cc_level"), latest),
            }
        else:
            block = {
                "geography_level": level, "areas": int(n_areas), "period_type": "year",
                "period_start": str(first.year), "period_end": str(latest.year),
                "windows": {"latest": {"start": str(latest.year), "end": str(latest.year)},
                            "previous": {"start": str(latest.year - 1),
                                         "end": str(latest.year - 1)}},
                "measures": _year_counts(con, "cc_level", _measure_sets(con, "cc_level"),
                                         latest.year),
            }
        if len(schemes) > 1:
            block["note"] = ("The series joins category schemes (" + ", ".join(schemes) +
                             "): the MPS changed its categories in 2019, so counts before and "
                             "after are not strictly comparable.")
        by_level.append(block)
        con.unregister("cc_level")
    status = "loaded" if by_level else "no rows in the area"
    return {"status": status, "by_geography_level": by_level, "notes": notes}


def _year_counts(con: duckdb.DuckDBPyConnection, relation: str,
                 measures: dict[str, list[str]], year: int) -> list[dict[str, Any]]:
    """Counts per summary measure in calendar ``year`` against the year before."""
    rows = []
    for m, ids in measures.items():
        entry: dict[str, Any] = {"measure": m, "name": MEASURES[m].name,
                                 "includes": [i for i in ids if i != m]}
        for label, y in (("latest", year), ("previous", year - 1)):
            got = con.execute(
                f"SELECT coalesce(sum(n), 0), count(DISTINCT month) FROM {relation} "
                "WHERE year(month) = ? AND list_contains(?, measure)", [y, ids]).fetchall()[0]
            entry[label] = int(got[0])
            entry[f"{label}_months"] = 12 if got[1] else 0
        entry["change"] = entry["latest"] - entry["previous"]
        entry["comparable"] = bool(entry["latest_months"] and entry["previous_months"])
        entry["change_pct"] = (round(100.0 * entry["change"] / entry["previous"], 1)
                               if entry["previous"] and entry["comparable"] else None)
        rows.append(entry)
    return rows


def _population(con: duckdb.DuckDBPyConnection, area: ResolvedArea) -> dict[str, Any]:
    """All-persons totals per source, level, vintage and year (never summed across them)."""
    cols = set(_columns(con, "population"))
    missing = [c for c in POPULATION_COLUMNS if c not in cols]
    if missing:
        return {"status": "loaded, but without the columns this summary needs "
                          f"({', '.join(missing)})"}
    codes = sorted(area.all_codes())
    con.register("pop_codes", pa.table({"code": pa.array(codes, pa.string())}))
    rows = con.execute("""
        SELECT source, area_level, area_vintage, year, sum("count"),
               count(DISTINCT area_code)
        FROM population
        WHERE characteristic = 'total' AND sex = 'persons'
          AND area_code IN (SELECT code FROM pop_codes)
        GROUP BY ALL ORDER BY year DESC, area_level, source""").fetchall()
    if not rows:
        return {"status": "no rows in the area"}
    totals = []
    for source, level, vintage, year, people, n in rows:
        expected = (len(area.definition.lads) if level == "lad" else
                    len(area.codes(level, vintage)) if level in ("ward", "msoa", "lsoa")
                    else None)
        totals.append({"source": source, "area_level": level, "area_vintage": vintage,
                       "year": year, "population": int(people or 0), "areas": int(n),
                       "areas_in_area": expected})
    return {"status": "loaded", "totals": totals,
            "notes": ["All-persons totals; a level whose areas are fewer than the area's "
                      "covers only part of it."]}


def area_summary(store: EvidenceStore, area_name: str,
                 data_dir: Path | None = None) -> dict[str, Any]:
    """Everything ``vru evidence summary`` shows, as plain data (JSON-ready)."""
    definition = get_area(area_name, data_dir if data_dir is not None else store.data_dir)
    area = resolve_area(store, definition)
    datasets = store.dataset_files()
    summary: dict[str, Any] = {"area": area.to_dict()}
    con = store.connect()
    try:
        if "population" in datasets:
            summary["population"] = _population(con, area)
        else:
            summary["population"] = {"status": "not loaded"}
        crime: dict[str, Any] = {}
        for dataset, info in CRIME_DATASETS.items():
            entry: dict[str, Any] = {"title": info["title"], "grain": info["grain"]}
            if dataset not in datasets:
                entry["status"] = "not loaded"
            else:
                cols = _columns(con, dataset)
                missing = [c for c in info["required"] if c not in cols]
                if missing:
                    entry["status"] = (f"loaded, but without the columns this summary needs "
                                       f"({', '.join(missing)})")
                elif dataset == "street_crime":
                    entry.update(_street_crime(con, area))
                else:
                    entry.update(_crime_counts(store, con, area))
            crime[dataset] = entry
        summary["crime"] = crime
    finally:
        con.close()
    return summary
