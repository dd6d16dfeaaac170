"""MPS recorded crime per 2011 LSOA per calendar year, one file per offence category.

Publisher: Metropolitan Police Service via the London Datastore, "Recorded Crime: Geographic
Breakdown" (https://data.london.gov.uk/dataset/recorded_crime_summary), as republished one
file per category: ``mps_london-2011-2021-<major|minor>-<category>.csv``. Each row is one
2011 Lower layer Super Output Area (LSOA, about 1,500 residents) with its MSOA and local
authority; each further column ``YYYY`` holds the number of offences of the file's category
the MPS recorded there in that calendar year. Values are written as decimals (``13.0``) but
are counts.

The file does not say its category: the file name does, so a file whose name names no known
category is refused whole. The two *minor* files count part of a major file's offences
(bicycle theft is inside theft-all, theft of a vehicle inside vehicle-offences): their rows
carry ``included_in`` = the parent's measure so that nothing is counted twice when measures
are summed.

Output: dataset ``crime_counts`` (the same schema as the MPS borough and ward files), with
``geography_level`` 'lsoa', ``area_vintage`` '2011', ``period_type`` 'year' and ``period``
the first of January of the year.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import ClassVar

import duckdb
import pyarrow as pa

from vru.adapters.sources.base import Parsed, ReferenceData
from vru.adapters.sources.checks import Check, run_checks, with_source_row
from vru.adapters.sources.csvfile import read_csv
from vru.adapters.sources.mps_counts import count_checks, count_sql, q
from vru.domain.measures import CATEGORY_SCHEMES
from vru.domain.problems import InputError, Problem

DATASET = "crime_counts"
SCHEME = "mps_lsoa_file"
COLUMNS = ["LSOA11CD", "LSOA11NM", "MSOA11CD", "MSOA11NM", "LAD11CD", "LAD11NM"]
YEAR_COLUMN = re.compile(r"^[0-9]{4}$")

# Minor categories and the major file that already includes their offences.
MINOR_PARENT: dict[str, str] = {"theft-bicycle": "theft-all", "theft-vehicle": "vehicle-offences"}

EXAMPLE_NAME = "mps_london-2011-2021-major-violence.csv"


def category_from_name(file_name: str) -> str:
    """The offence category a file's name ends with (``...-major-violence.csv`` ->
    ``violence``). Raises ``InputError`` when the name names no known category."""
    known = CATEGORY_SCHEMES[SCHEME]
    stem = re.sub(r"\.csv$", "", file_name, flags=re.IGNORECASE).casefold()
    # Longest first, so 'theft-vehicle' is not read as a file about 'vehicle...'.
    for category in sorted(known, key=len, reverse=True):
        if stem == category or stem.endswith("-" + category):
            return category
    named = re.search(r"-(?:major|minor)-([a-z-]+)$", stem)
    what = (f"names the category {named.group(1)!r}, which has no mapping to a measure"
            if named else "does not name an offence category")
    raise InputError([Problem(
        file_name, None, None, file_name,
        f"{what}: the LSOA files hold no category column, so the category is read from the "
        "file name",
        f"Rename the file so that it ends with -major-<category>.csv or "
        f"-minor-<category>.csv, e.g. {EXAMPLE_NAME}; known categories: "
        f"{', '.join(sorted(known))}")])


def year_columns(name: str, header: list[str]) -> list[str]:
    """The ``YYYY`` columns; any other column beyond the fixed ones is an error."""
    problems: list[Problem] = []
    years: list[str] = []
    for c in header:
        if c in COLUMNS:
            continue
        if not YEAR_COLUMN.match(c):
            problems.append(Problem(
                name, 1, c, c, "is neither a known column nor a year (YYYY)",
                f"Remove the column; this format has the columns {', '.join(COLUMNS)} and "
                "then one column per year"))
        elif not 1900 <= int(c) <= date.today().year:
            problems.append(Problem(
                name, 1, c, c, f"is not a plausible year (1900 to {date.today().year})",
                "Correct the column heading to the year it counts"))
        else:
            years.append(c)
    if not years and not problems:
        problems.append(Problem(name, 1, None, None, "has no year columns (YYYY)",
                                "Re-download the file"))
    if problems:
        raise InputError(problems)
    return years


class LsoaAnnual:
    format: ClassVar[str] = "lsoa-annual"
    description: ClassVar[str] = (
        "MPS recorded crime per 2011 LSOA per year, one category per file (London Datastore)")
    dataset: ClassVar[str] = DATASET

    def parse(self, path: Path, ref: ReferenceData) -> Parsed:
        category = category_from_name(path.name)
        csv = read_csv(path, COLUMNS, allow_extra=True)
        name = csv.name
        years = year_columns(name, csv.header)
        measure = CATEGORY_SCHEMES[SCHEME][category]
        parent = MINOR_PARENT.get(category)
        included_in = CATEGORY_SCHEMES[SCHEME][parent] if parent else None
        raw = with_source_row(csv.table)
        known = ref.codes("lsoa", "2011")
        con = duckdb.connect()
        try:
            con.register("raw", raw)
            con.execute("""
                CREATE TABLE rows AS SELECT *,
                    source_row <> min(source_row) OVER (PARTITION BY trim("LSOA11CD"))
                        AS repeated
                FROM raw
            """)
            checks = [
                Check("NOT regexp_full_match(trim(\"LSOA11CD\"), '[EW]01[0-9]{6}')",
                      "LSOA11CD", "is not an LSOA code (E01 or W01 followed by six digits)",
                      "Correct the code; these files use 2011 LSOA codes"),
                Check("regexp_full_match(trim(\"LSOA11CD\"), '[EW]01[0-9]{6}') AND repeated",
                      "LSOA11CD", "repeats an LSOA of an earlier row, so its offences would "
                      "be counted twice", "Remove the repeated row"),
                Check("trim(\"LAD11NM\") = ''", "LAD11NM",
                      "is empty: every LSOA lies in a local authority",
                      "Re-download the file"),
            ]
            if known:
                con.register("known_lsoa", pa.table({"code": sorted(known)}))
                checks.append(Check(
                    "regexp_full_match(trim(\"LSOA11CD\"), '[EW]01[0-9]{6}') AND "
                    "trim(\"LSOA11CD\") NOT IN (SELECT code FROM known_lsoa)", "LSOA11CD",
                    "is not a known 2011 LSOA code",
                    "Check the code against the ONS 2011 LSOA list; load the lookups first"))
            checks += count_checks(years, "offences recorded in that year")
            problems = run_checks(con, "rows", name, checks)
            bad_rows = sorted({p.row for p in problems if p.row is not None})
            con.register("bad", pa.table({"row": pa.array(bad_rows, pa.int64())}))
            release_start, release_end = f"{min(years)}-01", f"{max(years)}-12"
            year_list = ", ".join(q(y) for y in years)
            clean = con.sql(f"""
                WITH good AS (
                    SELECT * FROM raw WHERE source_row NOT IN (SELECT row FROM bad)
                ), long AS (
                    UNPIVOT good ON {year_list} INTO NAME year_column VALUE value
                )
                SELECT
                    'lsoa' AS geography_level,
                    trim("LSOA11CD") AS area_code,
                    trim("LSOA11NM") AS area_name,
                    '2011' AS area_vintage,
                    trim("LAD11NM") AS borough_name,
                    NULL::VARCHAR AS area_note,
                    'year' AS period_type,
                    make_date(CAST(year_column AS INTEGER), 1, 1) AS period,
                    '{SCHEME}' AS category_scheme,
                    '{parent or category}' AS major_category,
                    {f"'{category}'" if parent else "NULL"}::VARCHAR AS minor_category,
                    '{measure}' AS measure,
                    {f"'{included_in}'" if included_in else "NULL"}::VARCHAR AS included_in,
                    {count_sql("value")} AS count,
                    '{release_start}' AS release_start,
                    '{release_end}' AS release_end,
                    source_row
                FROM long
                ORDER BY source_row, period
            """).to_arrow_table()
        finally:
            con.close()
        return Parsed(
            tables={self.dataset: clean},
            rows_read=raw.num_rows,
            problems=problems,
            period_start=release_start,
            period_end=release_end,
            meta={
                "category": category,
                "category_level": "minor" if parent else "major",
                "measure": measure,
                "included_in": included_in,
                "years": [int(y) for y in years],
                "lsoa_vintage": "2011",
                "lsoa_codes_checked": "against the loaded 2011 LSOA list" if known
                else "by pattern only (no geography loaded)",
                "had_bom": csv.had_bom,
            },
        )
