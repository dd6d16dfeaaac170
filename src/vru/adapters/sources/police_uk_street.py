"""police.uk street-level crime: the monthly ``YYYY-MM-<force>-street.csv`` files.

Publisher: data.police.uk (Home Office and the 43 territorial forces), OGL v3.
Each row is one crime or anti-social behaviour incident, with an anonymised point snapped to
a map point and the 2011 LSOA it falls in. Rows with no location are valid (the publisher
withholds it); they are kept, counted, and left off maps.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

import duckdb
import pyarrow as pa

from vru.adapters.sources.base import Parsed, ReferenceData
from vru.adapters.sources.checks import (
    ENGLAND_WALES_BOUNDS,
    Check,
    month_check,
    normalised,
    run_checks,
    with_source_row,
)
from vru.adapters.sources.csvfile import read_csv
from vru.domain.measures import CATEGORY_SCHEMES

COLUMNS = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
           "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category",
           "Context"]

FORCE_FROM_NAME = re.compile(r"^\d{4}-\d{2}-(?P<force>.+)-street\.csv$")


class PoliceUkStreet:
    format: ClassVar[str] = "police-uk-street"
    description: ClassVar[str] = "police.uk street-level crime, one month of one force"
    dataset: ClassVar[str] = "street_crime"

    def parse(self, path: Path, ref: ReferenceData) -> Parsed:
        csv = read_csv(path, COLUMNS)
        name = csv.name
        raw = with_source_row(csv.table)
        con = duckdb.connect()
        con.register("raw", raw)
        mapping = CATEGORY_SCHEMES["police_uk"]
        con.register("crime_types", pa.table({
            "key": list(mapping), "measure": list(mapping.values())}))
        lon0, lat0, lon1, lat1 = ENGLAND_WALES_BOUNDS
        # Only a complete national list can prove a code unknown (see ReferenceData.knows).
        known = ref.codes("lsoa", "2011") if ref.knows("lsoa", "2011") else frozenset()
        checks = [
            month_check("Month"),
            Check("trim(\"Falls within\") = ''", "Falls within",
                  "is empty: every row must name the force whose area it falls within",
                  "Re-download the file from data.police.uk"),
            Check("(trim(\"Longitude\") = '') <> (trim(\"Latitude\") = '')", "Latitude",
                  "has only one of longitude and latitude",
                  "Give both coordinates, or leave both empty for a crime with no location"),
            Check("trim(\"Longitude\") <> '' AND TRY_CAST(\"Longitude\" AS DOUBLE) IS NULL",
                  "Longitude", "is not a number", "Correct the longitude (decimal degrees)"),
            Check("trim(\"Latitude\") <> '' AND TRY_CAST(\"Latitude\" AS DOUBLE) IS NULL",
                  "Latitude", "is not a number", "Correct the latitude (decimal degrees)"),
            Check(f"TRY_CAST(\"Longitude\" AS DOUBLE) IS NOT NULL AND "
                  f"TRY_CAST(\"Latitude\" AS DOUBLE) IS NOT NULL AND "
                  f"(TRY_CAST(\"Longitude\" AS DOUBLE) NOT BETWEEN {lon0} AND {lon1} OR "
                  f"TRY_CAST(\"Latitude\" AS DOUBLE) NOT BETWEEN {lat0} AND {lat1})",
                  "Longitude", "is outside England and Wales, so outside any police force area",
                  "Check the coordinates are longitude/latitude (WGS84), not eastings/northings"),
            Check("trim(\"LSOA code\") <> '' AND NOT regexp_full_match(trim(\"LSOA code\"), "
                  "'[EW]01[0-9]{6}')", "LSOA code",
                  "is not an LSOA code (E01 or W01 followed by six digits)",
                  "Correct the code; police.uk files use 2011 LSOA codes"),
            Check(f"{normalised('Crime type')} NOT IN (SELECT key FROM crime_types)", "Crime type",
                  "is a crime type with no mapping to a measure",
                  f"Known crime types: {', '.join(sorted(mapping))}. Add a mapping to "
                  "vru.domain.measures if police.uk has introduced a new one"),
        ]
        if known:
            con.register("known_lsoa", pa.table({"code": sorted(known)}))
            checks.append(Check(
                "trim(\"LSOA code\") <> '' AND regexp_full_match(trim(\"LSOA code\"), "
                "'[EW]01[0-9]{6}') AND trim(\"LSOA code\") NOT IN (SELECT code FROM known_lsoa)",
                "LSOA code", "is not a known 2011 LSOA code",
                "Check the code against the ONS 2011 LSOA list; load the lookups first "
                "(vru data fetch lookups)"))
        problems = run_checks(con, "raw", name, checks)
        bad_rows = sorted({p.row for p in problems if p.row is not None})
        con.register("bad", pa.table({"row": pa.array(bad_rows, pa.int64())}))
        m = FORCE_FROM_NAME.match(path.name)
        force = m.group("force") if m else None
        clean = con.sql(f"""
            SELECT
                nullif(trim("Crime ID"), '') AS crime_id,
                CAST(strptime("Month", '%Y-%m') AS DATE) AS month,
                trim("Reported by") AS reported_by,
                trim("Falls within") AS falls_within,
                {"'" + force + "'" if force else "NULL"}::VARCHAR AS force,
                TRY_CAST(nullif(trim("Longitude"), '') AS DOUBLE) AS longitude,
                TRY_CAST(nullif(trim("Latitude"), '') AS DOUBLE) AS latitude,
                nullif(trim("Location"), '') AS location,
                nullif(trim("LSOA code"), '') AS lsoa_code,
                nullif(trim("LSOA name"), '') AS lsoa_name,
                "Crime type" AS crime_type,
                t.measure AS measure,
                nullif(trim("Last outcome category"), '') AS last_outcome,
                nullif(trim("Context"), '') AS context,
                source_row
            FROM raw JOIN crime_types t ON {normalised("Crime type")} = t.key
            WHERE source_row NOT IN (SELECT row FROM bad)
            ORDER BY source_row
        """).to_arrow_table()
        months = con.execute(
            "SELECT min(\"Month\"), max(\"Month\") FROM raw WHERE source_row NOT IN "
            "(SELECT row FROM bad)").fetchone()
        no_location = con.execute(
            "SELECT count(*) FROM raw WHERE trim(\"Longitude\") = '' AND "
            "source_row NOT IN (SELECT row FROM bad)").fetchone()
        con.close()
        return Parsed(
            tables={self.dataset: clean},
            rows_read=raw.num_rows,
            problems=problems,
            period_start=months[0] if months else None,
            period_end=months[1] if months else None,
            meta={
                "force": force,
                "rows_without_location": int(no_location[0]) if no_location else 0,
                "lsoa_codes_checked": "against the loaded 2011 LSOA list" if known
                else "by pattern only (no geography loaded)",
                "lsoa_vintage": "2011",
                "had_bom": csv.had_bom,
            },
        )
