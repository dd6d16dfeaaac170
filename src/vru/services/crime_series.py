"""Use case: one continuous monthly series of recorded crime from overlapping releases.

The MPS republishes its borough and ward counts as moving windows (a "Historical" file, then
"most recent 24 months" files), and each release revises the months it shares with earlier
ones: figures are updated as crimes are reclassified, and in 2024 the series was re-based on
the MPS's new recording system. So where releases overlap, the *later* release (the one
whose last month is later; between equal ones, the one imported later) is the truth.

The later release wins for a whole area and month, not category by category: between
releases the MPS renames and splits categories (2024: "BURGLARY IN A DWELLING" became
"RES BURGLARY OF A HOME" and "...OF UNCONNECTED BUILDING"; "STALKING AND HARASSMENT" was split
out of "VIOLENCE WITHOUT INJURY"). Choosing per category would keep the old release's rows
for the old names alongside the new release's rows for the new ones and count the same
offences twice. Choosing per area and month gives, for every category, the later release's
value (and 0 where the later release no longer has the category).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from vru.adapters.store.evidence_store import EvidenceStore
from vru.domain.measures import descendants

DATASET = "crime_counts"
LEVELS = ("borough", "ward")

# Which area a record is about, stable across releases. Borough codes are NULL when a file
# was imported before geography was loaded, so boroughs are matched by name (the MPS spells
# them the same in every release); wards always carry their code.
_AREA_KEY = ("CASE WHEN c.geography_level = 'borough' THEN lower(trim(c.area_name)) "
             "ELSE coalesce(c.area_code, lower(trim(c.area_name))) END")


def _check(store: EvidenceStore, geography_level: str) -> None:
    if geography_level not in LEVELS:
        raise ValueError(f"unknown geography level {geography_level!r}; monthly series exist "
                         f"for: {', '.join(LEVELS)}")
    if DATASET not in store.dataset_files():
        raise LookupError("no recorded crime counts are loaded: import the MPS borough or ward "
                          "files first (vru ingest mps-borough FILE, vru ingest mps-ward FILE)")


def monthly_series(
    store: EvidenceStore,
    geography_level: str,
    *,
    measure: str | None = None,
    category_scheme: str | None = None,
) -> pa.Table:
    """Recorded offences per area, category and month for ``geography_level`` ('borough' or
    'ward'), joined across every imported release, the later release winning where they
    overlap (see the module docstring).

    ``measure`` keeps the rows counted by that measure (it and its descendants);
    ``category_scheme`` keeps one scheme (e.g. 'mps_2019'). Each record keeps the columns
    of ``crime_counts`` plus ``import_id`` and ``file_name``: the release it came from.
    """
    _check(store, geography_level)
    where = ["c.geography_level = $level", "c.period_type = 'month'"]
    params: dict[str, object] = {"level": geography_level}
    if measure is not None:
        where.append("list_contains($measures, c.measure)")
        params["measures"] = sorted(descendants(measure))
    if category_scheme is not None:
        where.append("c.category_scheme = $scheme")
        params["scheme"] = category_scheme
    con = store.connect()
    try:
        return con.sql(f"""
            WITH c AS (
                SELECT c.*, {_AREA_KEY} AS area_key, i.imported_at, i.file_name
                FROM crime_counts c JOIN imports i USING (import_id)
                WHERE {" AND ".join(where)}
            ), releases AS (
                SELECT DISTINCT area_key, period, import_id, release_end, imported_at FROM c
            ), winners AS (
                SELECT area_key, period, import_id FROM releases
                QUALIFY row_number() OVER (
                    PARTITION BY area_key, period
                    ORDER BY release_end DESC, imported_at DESC, import_id DESC) = 1
            )
            SELECT c.* EXCLUDE (area_key, imported_at)
            FROM c JOIN winners w USING (area_key, period, import_id)
            ORDER BY c.area_key, c.period, c.major_category, c.minor_category
        """, params=params).to_arrow_table()
    finally:
        con.close()


def monthly_totals(store: EvidenceStore, geography_level: str, measure: str) -> pa.Table:
    """Recorded offences counted by ``measure`` per area and month: the sum over the rows of
    ``monthly_series`` mapped to the measure or any measure below it.

    Columns: geography_level, area_code, area_name, borough_name, area_note, period, measure,
    count, and ``releases`` (the file names the month's figures came from).
    """
    series = monthly_series(store, geography_level, measure=measure)
    con = duckdb.connect()
    try:
        con.register("series", series)
        return con.sql(f"""
            SELECT geography_level, any_value(area_code) AS area_code,
                   any_value(area_name) AS area_name,
                   any_value(borough_name) AS borough_name,
                   any_value(area_note) AS area_note,
                   period, $measure AS measure, CAST(sum(count) AS BIGINT) AS count,
                   string_agg(DISTINCT file_name, '; ') AS releases
            FROM series c
            GROUP BY geography_level, {_AREA_KEY}, period
            ORDER BY area_name, period
        """, params={"measure": measure}).to_arrow_table()
    finally:
        con.close()
