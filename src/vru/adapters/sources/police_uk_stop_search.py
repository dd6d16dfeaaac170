"""police.uk stop and search: the monthly ``YYYY-MM-<force>-stop-and-search.csv`` files.

Publisher: data.police.uk (Home Office and the territorial forces), OGL v3.
Each row is one stop and search (of a person, a vehicle or both) with its date and time
(ISO 8601 with a UTC offset, stored as a UTC ``TIMESTAMP``; ``month`` is the calendar month
in UK local time, as police.uk files the searches: one at 00:30 BST on 1 July is published
as 23:30 UTC on 30 June, in the July file), an anonymised point, who was
searched (gender, age range, ethnicity as self-defined and as the officer saw it), under
which power, for what, and the outcome. Searches with no location are valid (the publisher
withholds it); they are kept, counted, and left off maps.

``object_group`` sorts the object of search into the groups a VRU reports on:
``weapons`` (offensive weapons, firearms, crossbows, and s.60 CJPOA 'Anything to threaten
or harm anyone'), ``drugs`` (controlled drugs, psychoactive substances), ``stolen_goods``,
and ``other`` for every other object; it is NULL when no object is given.
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
    normalised,
    run_checks,
    sql_list,
    with_source_row,
)
from vru.adapters.sources.csvfile import read_csv
from vru.domain.measures import normalise_category

COLUMNS = ["Type", "Date", "Part of a policing operation", "Policing operation", "Latitude",
           "Longitude", "Gender", "Age range", "Self-defined ethnicity",
           "Officer-defined ethnicity", "Legislation", "Object of search", "Outcome",
           "Outcome linked to object of search", "Removal of more than just outer clothing"]

FORCE_FROM_NAME = re.compile(r"^\d{4}-\d{2}-(?P<force>.+)-stop-and-search\.csv$")

# The values police.uk publishes (an empty cell is allowed where noted in ``_known``).
TYPES = ("Person search", "Person and Vehicle search", "Vehicle search")
GENDERS = ("Male", "Female", "Other")
AGE_RANGES = ("under 10", "10-17", "18-24", "25-34", "over 34")

# Object of search -> group; any other non-empty object is 'other'.
OBJECT_GROUPS: dict[str, str] = {
    "offensive weapons": "weapons",
    "firearms": "weapons",
    "crossbows": "weapons",
    "anything to threaten or harm anyone": "weapons",
    "controlled drugs": "drugs",
    "psychoactive substances": "drugs",
    "stolen goods": "stolen_goods",
}

# ISO 8601 date and time with a UTC offset (or Z), as police.uk publishes it.
ISO_WITH_OFFSET = (r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
                   r"(Z|[+-][0-9]{2}:?[0-9]{2})")


def _known(column: str, values: tuple[str, ...], what: str) -> Check:
    keys = [normalise_category(v) for v in values]
    return Check(
        f"trim(\"{column}\") <> '' AND NOT list_contains({sql_list(keys)}, "
        f"{normalised(column)})",
        column, f"is not a known {what}",
        f"Known values: {', '.join(values)} (or empty). Check you chose the right format "
        "for this file",
    )


def _boolean(column: str) -> Check:
    return Check(
        f"lower(trim(\"{column}\")) NOT IN ('true', 'false', '')", column,
        "is not True, False or empty", "Correct the value to True or False, or leave it empty",
    )


def _bool_sql(column: str) -> str:
    return (f"CASE lower(trim(\"{column}\")) WHEN 'true' THEN TRUE WHEN 'false' THEN FALSE "
            "END")


def _utc_sql(column: str) -> str:
    return (f"CAST(TRY_CAST(trim(\"{column}\") AS TIMESTAMPTZ) AT TIME ZONE 'UTC' "
            "AS TIMESTAMP)")


def _uk_month_sql(column: str) -> str:
    return (f"CAST(date_trunc('month', timezone('Europe/London', "
            f"TRY_CAST(trim(\"{column}\") AS TIMESTAMPTZ))) AS DATE)")


class PoliceUkStopSearch:
    format: ClassVar[str] = "police-uk-stop-search"
    description: ClassVar[str] = "police.uk stop and search, one month of one force"
    dataset: ClassVar[str] = "stop_search"

    def parse(self, path: Path, ref: ReferenceData) -> Parsed:
        csv = read_csv(path, COLUMNS)
        name = csv.name
        raw = with_source_row(csv.table)
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.register("raw", raw)
        con.register("object_groups", pa.table({
            "key": list(OBJECT_GROUPS), "grp": list(OBJECT_GROUPS.values())}))
        lon0, lat0, lon1, lat1 = ENGLAND_WALES_BOUNDS
        lon = "TRY_CAST(\"Longitude\" AS DOUBLE)"
        lat = "TRY_CAST(\"Latitude\" AS DOUBLE)"
        checks = [
            Check(f"NOT regexp_full_match(trim(\"Date\"), '{ISO_WITH_OFFSET}') OR "
                  f"{_utc_sql('Date')} IS NULL", "Date",
                  "is not a date and time in ISO 8601 form with a UTC offset "
                  "(or is an impossible date)",
                  "Correct the date, e.g. 2018-01-31T17:45:00+00:00"),
            _known("Type", TYPES, "search type"),
            _boolean("Part of a policing operation"),
            Check("(trim(\"Longitude\") = '') <> (trim(\"Latitude\") = '')", "Latitude",
                  "has only one of longitude and latitude",
                  "Give both coordinates, or leave both empty for a search with no location"),
            Check(f"trim(\"Latitude\") <> '' AND {lat} IS NULL",
                  "Latitude", "is not a number", "Correct the latitude (decimal degrees)"),
            Check(f"trim(\"Longitude\") <> '' AND {lon} IS NULL",
                  "Longitude", "is not a number", "Correct the longitude (decimal degrees)"),
            Check(f"{lon} IS NOT NULL AND {lat} IS NOT NULL AND "
                  f"({lon} NOT BETWEEN {lon0} AND {lon1} OR {lat} NOT BETWEEN {lat0} AND {lat1})",
                  "Longitude", "is outside England and Wales, so outside any police force area",
                  "Check the coordinates are longitude/latitude (WGS84), not eastings/northings"),
            _known("Gender", GENDERS, "gender"),
            _known("Age range", AGE_RANGES, "age range"),
            _boolean("Outcome linked to object of search"),
            _boolean("Removal of more than just outer clothing"),
        ]
        problems = run_checks(con, "raw", name, checks)
        bad_rows = sorted({p.row for p in problems if p.row is not None})
        con.register("bad", pa.table({"row": pa.array(bad_rows, pa.int64())}))
        m = FORCE_FROM_NAME.match(path.name)
        force = m.group("force") if m else None
        force_sql = "'" + force.replace("'", "''") + "'" if force else "NULL"
        clean = con.sql(f"""
            WITH good AS (
                SELECT *, {_utc_sql('Date')} AS dt, {_uk_month_sql('Date')} AS uk_month
                FROM raw
                WHERE source_row NOT IN (SELECT row FROM bad)
            )
            SELECT
                trim("Type") AS type,
                dt AS datetime,
                uk_month AS month,
                {_bool_sql("Part of a policing operation")} AS part_of_operation,
                nullif(trim("Policing operation"), '') AS policing_operation,
                TRY_CAST(nullif(trim("Latitude"), '') AS DOUBLE) AS latitude,
                TRY_CAST(nullif(trim("Longitude"), '') AS DOUBLE) AS longitude,
                nullif(trim("Gender"), '') AS gender,
                nullif(trim("Age range"), '') AS age_range,
                nullif(trim("Self-defined ethnicity"), '') AS self_defined_ethnicity,
                nullif(trim("Officer-defined ethnicity"), '') AS officer_defined_ethnicity,
                nullif(trim("Legislation"), '') AS legislation,
                nullif(trim("Object of search"), '') AS object_of_search,
                CASE WHEN trim("Object of search") = '' THEN NULL
                     ELSE coalesce(g.grp, 'other') END AS object_group,
                nullif(trim("Outcome"), '') AS outcome,
                {_bool_sql("Outcome linked to object of search")} AS outcome_linked_to_object,
                {_bool_sql("Removal of more than just outer clothing")}
                    AS removal_of_more_than_outer_clothing,
                {force_sql}::VARCHAR AS force,
                source_row
            FROM good LEFT JOIN object_groups g ON {normalised("Object of search")} = g.key
            ORDER BY source_row
        """).to_arrow_table()
        con.register("clean", clean)
        months = con.execute(
            "SELECT strftime(min(month), '%Y-%m'), strftime(max(month), '%Y-%m'), "
            "count(*) FILTER (WHERE latitude IS NULL) FROM clean").fetchone()
        con.close()
        return Parsed(
            tables={self.dataset: clean},
            rows_read=raw.num_rows,
            problems=problems,
            period_start=months[0] if months else None,
            period_end=months[1] if months else None,
            meta={
                "force": force,
                "rows_without_location": int(months[2]) if months else 0,
                "datetime": "UTC, converted from the published ISO 8601 offset",
                "month": "calendar month in UK local time (Europe/London), as police.uk "
                         "assigns searches to monthly files",
                "had_bom": csv.had_bom,
            },
        )
