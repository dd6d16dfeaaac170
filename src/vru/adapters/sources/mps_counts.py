"""Metropolitan Police recorded crime counts by borough and by ward, per month.

Publisher: Metropolitan Police Service via the London Datastore, dataset "Recorded Crime:
Geographic Breakdown" (https://data.london.gov.uk/dataset/recorded_crime_summary), OGL v3.
Each row is one area and one offence category; each further column ``YYYYMM`` holds the
number of offences the MPS *recorded* in that calendar month (a count of crimes, not of
victims or incidents, under the Home Office Counting Rules). Every release of the file has
the same name and covers a moving window ("most recent 24 months", "Historical"); a later
release revises the months it shares with an earlier one.

Three layouts are recognised from the header:

- borough, current scheme: ``MajorText,MinorText,BoroughName,YYYYMM...`` (scheme
  ``mps_2019``);
- borough, former scheme: ``Borough,Major Category,Minor Category,YYYYMM...`` (scheme
  ``mps_pre2019``, releases up to 2019);
- ward, current scheme: ``MajorText,MinorText,WardName,WardCode,LookUp_BoroughName,YYYYMM...``.

The files hold rows for MPS units that are not areas ("London Heathrow and London City
Airports", "Aviation Security (SO18)", "Unknown"). They are real recorded offences, so they
are kept, with no area code and an ``area_note`` saying why; dropping them would make London
totals disagree with the MPS's own.

Output: one long dataset ``crime_counts`` (one record per area, category and month).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pyarrow as pa

from vru.adapters.sources.base import Parsed, ReferenceData
from vru.adapters.sources.checks import Check, normalised, run_checks, with_source_row
from vru.adapters.sources.csvfile import CsvText, read_csv
from vru.domain.measures import CATEGORY_SCHEMES
from vru.domain.problems import InputError, Problem

DATASET = "crime_counts"

# MPS units that are not local authorities but carry real recorded offences. Keyed by the
# normalised name; the value is the ``area_note`` stored with their rows.
NON_GEOGRAPHIC_UNITS: dict[str, str] = {
    "london heathrow and london city airports":
        "Offences at Heathrow and London City airports, which the MPS counts apart from the "
        "boroughs the airports lie in (Hillingdon, Newham); not a local authority, so no "
        "area code",
    "aviation security (so18)":
        "Offences recorded by the MPS Aviation Security command (SO18), which polices "
        "Heathrow; not a borough, so they are not in the Hillingdon borough figures",
    "unknown":
        "Offences the MPS could not attribute to a borough; no area code",
}

# Other spellings of London borough names seen in public files, mapped to the ONS name.
_BOROUGH_ALIASES: dict[str, str] = {
    "city of westminster": "westminster",
    "kingston": "kingston upon thames",
    "richmond": "richmond upon thames",
    "hammersmith & fulham": "hammersmith and fulham",
    "kensington & chelsea": "kensington and chelsea",
    "barking & dagenham": "barking and dagenham",
}

WARD_CODE = r"E05[0-9]{6}"
MONTH_COLUMN = re.compile(r"^(?P<year>[0-9]{4})(?P<month>[0-9]{2})$")


def normalise_name(name: str) -> str:
    """The key an area name is looked up by (as ``reference_data`` builds it)."""
    return " ".join(name.split()).casefold()


def geography_loaded(ref: ReferenceData) -> bool:
    """Whether local authority (borough) names are known, so names can be checked."""
    return any(level == "lad" for level, _name in ref.area_names)


@dataclass(frozen=True)
class BoroughName:
    """How one borough name as written in a file resolves.

    ``code`` is the GSS local authority code (E09...) when geography is loaded; ``note``
    is set for MPS units that are not areas; ``known`` is False only for a name that
    geography is loaded for and that matches no borough and no MPS unit.
    """

    raw: str
    code: str | None
    note: str | None
    known: bool


def resolve_boroughs(names: Iterable[str], ref: ReferenceData) -> list[BoroughName]:
    """Resolve each distinct borough name (exactly as written) against the reference data."""
    loaded = geography_loaded(ref)
    out: list[BoroughName] = []
    for raw in sorted(set(names)):
        key = normalise_name(raw)
        if key in NON_GEOGRAPHIC_UNITS:
            out.append(BoroughName(raw, None, NON_GEOGRAPHIC_UNITS[key], True))
            continue
        if not loaded:
            out.append(BoroughName(raw, None, None, True))
            continue
        candidates = [key, _BOROUGH_ALIASES.get(key, key), key.replace(" & ", " and ")]
        for prefix in ("london borough of ", "royal borough of "):
            if key.startswith(prefix):
                candidates.append(key.removeprefix(prefix))
        code = next((ref.area_names[("lad", c)] for c in candidates
                     if ("lad", c) in ref.area_names), None)
        out.append(BoroughName(raw, code, None, code is not None))
    return out


def borough_table(names: Sequence[BoroughName]) -> pa.Table:
    return pa.table({
        "raw": pa.array([b.raw for b in names], pa.string()),
        "code": pa.array([b.code for b in names], pa.string()),
        "note": pa.array([b.note for b in names], pa.string()),
        "known": pa.array([b.known for b in names], pa.bool_()),
    })


def q(column: str) -> str:
    """A column name quoted for SQL."""
    return '"' + column.replace('"', '""') + '"'


def count_checks(columns: Sequence[str], what: str) -> list[Check]:
    """Checks that each of ``columns`` holds a count: a whole number of 0 or more.

    A trailing ``.0`` is accepted (files saved by spreadsheet tools write ``13.0``).
    """
    checks: list[Check] = []
    number = r"'-?[0-9]+(\.[0-9]+)?'"
    for c in columns:
        v = f"trim({q(c)})"
        checks.append(Check(
            f"NOT regexp_full_match({v}, {number})", c,
            f"is not a number: this column holds the count of {what}",
            "Correct the value; write 0 where there were none, with no thousands separators"))
        checks.append(Check(
            f"regexp_full_match({v}, {number}) AND NOT regexp_full_match({v}, '[0-9]+(\\.0+)?')",
            c, "is not a count: counts must be whole numbers of 0 or more",
            "Correct the value; a count of offences cannot be negative or fractional"))
    return checks


def count_sql(column: str) -> str:
    """SQL turning a checked count column into BIGINT."""
    return f"CAST(regexp_replace(trim({column}), '\\.0+$', '') AS BIGINT)"


@dataclass(frozen=True)
class Layout:
    """One header layout of the MPS files."""

    name: str
    level: str  # "borough" or "ward"
    scheme: str
    fixed: tuple[str, ...]
    major: str
    minor: str
    borough: str
    ward_name: str | None = None
    ward_code: str | None = None


LAYOUTS: tuple[Layout, ...] = (
    Layout("ward, current categories", "ward", "mps_2019",
           ("MajorText", "MinorText", "WardName", "WardCode", "LookUp_BoroughName"),
           "MajorText", "MinorText", "LookUp_BoroughName", "WardName", "WardCode"),
    Layout("borough, current categories", "borough", "mps_2019",
           ("MajorText", "MinorText", "BoroughName"), "MajorText", "MinorText", "BoroughName"),
    Layout("borough, pre-2019 categories", "borough", "mps_pre2019",
           ("Borough", "Major Category", "Minor Category"),
           "Major Category", "Minor Category", "Borough"),
)


def _detect(name: str, header: list[str], level: str, fmt_for: dict[str, str]) -> Layout:
    for layout in LAYOUTS:
        if all(c in header for c in layout.fixed):
            if layout.level != level:
                raise InputError([Problem(
                    name, 1, None, None,
                    f"is a {layout.level}-level file ({layout.name}), not {level}-level",
                    f"Import it with format {fmt_for[layout.level]}")])
            return layout
    wanted = "; ".join(",".join(lo.fixed) + ",YYYYMM..." for lo in LAYOUTS)
    raise InputError([Problem(
        name, 1, None, ",".join(header[:6]),
        "has a header that matches no MPS crime count layout",
        f"The recognised headers are: {wanted}. Check you chose the right format for this "
        "file")])


def month_columns(name: str, header: list[str], fixed: Sequence[str]) -> list[str]:
    """The ``YYYYMM`` columns, in file order; every other unknown column is an error."""
    problems: list[Problem] = []
    months: list[str] = []
    for c in header:
        if c in fixed:
            continue
        m = MONTH_COLUMN.match(c)
        if m is None:
            problems.append(Problem(
                name, 1, c, c, "is neither a known column nor a month in the form YYYYMM",
                "Remove the column, or rename it to the month it counts, e.g. 202401"))
        elif not 1 <= int(m["month"]) <= 12 or not 1900 <= int(m["year"]) <= date.today().year:
            problems.append(Problem(
                name, 1, c, c, "is an impossible month (the form is YYYYMM, month 01 to 12)",
                "Correct the column heading to the month it counts, e.g. 202401"))
        else:
            months.append(c)
    if not months and not problems:
        problems.append(Problem(name, 1, None, None, "has no month columns (YYYYMM)",
                                "Re-download the file from the London Datastore"))
    if problems:
        raise InputError(problems)
    return months


def month_label(column: str) -> str:
    """``202401`` -> ``2024-01``."""
    return f"{column[:4]}-{column[4:]}"


def missing_months(months: Sequence[str]) -> list[str]:
    """Months between the first and last month column that have no column."""
    have = {int(m[:4]) * 12 + int(m[4:]) - 1 for m in months}
    lo, hi = min(have), max(have)
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(lo, hi + 1) if i not in have]


class _MpsCounts:
    level: ClassVar[str]
    format: ClassVar[str]
    description: ClassVar[str]
    dataset: ClassVar[str] = DATASET
    _formats: ClassVar[dict[str, str]] = {"borough": "mps-borough", "ward": "mps-ward"}

    def parse(self, path: Path, ref: ReferenceData) -> Parsed:
        csv = read_csv(path, [], allow_extra=True)
        layout = _detect(csv.name, csv.header, self.level, self._formats)
        months = month_columns(csv.name, csv.header, layout.fixed)
        con = duckdb.connect()
        try:
            return self._parse(con, csv, layout, months, ref)
        finally:
            con.close()

    def _parse(self, con: duckdb.DuckDBPyConnection, csv: CsvText, layout: Layout,
               months: list[str], ref: ReferenceData) -> Parsed:
        name = csv.name
        raw = with_source_row(csv.table)
        con.register("raw", raw)
        scheme = CATEGORY_SCHEMES[layout.scheme]
        con.register("categories", pa.table({"key": list(scheme),
                                             "measure": list(scheme.values())}))
        boroughs = resolve_boroughs(raw.column(layout.borough).to_pylist(), ref)
        con.register("boroughs", borough_table(boroughs))
        loaded = geography_loaded(ref)

        major, minor, borough = q(layout.major), q(layout.minor), q(layout.borough)
        category_column = f"{layout.major} | {layout.minor}"
        cat_key = f"{normalised(layout.major)} || ' | ' || {normalised(layout.minor)}"
        area_key = (f"trim({q(layout.ward_code)})" if layout.ward_code
                    else f"lower(trim({borough}))")
        con.execute(f"""
            CREATE TABLE rows AS SELECT *,
                {major} || ' | ' || {minor} AS {q(category_column)},
                {cat_key} AS category_key,
                source_row <> min(source_row) OVER (PARTITION BY {area_key}, {cat_key})
                    AS repeated
            FROM raw
        """)

        checks = [
            Check(f"trim({major}) = ''", layout.major, "is empty: every row needs a category",
                  "Re-download the file from the London Datastore"),
            Check(f"trim({minor}) = ''", layout.minor, "is empty: every row needs a category",
                  "Re-download the file from the London Datastore"),
            Check(f"trim({major}) <> '' AND trim({minor}) <> '' AND "
                  "category_key NOT IN (SELECT key FROM categories)", category_column,
                  f"is an offence category with no mapping to a measure in scheme "
                  f"{layout.scheme!r}",
                  "Check the spelling against the MPS file; if the MPS has introduced a new "
                  f"category, add it to CATEGORY_SCHEMES[{layout.scheme!r}] in "
                  "vru.domain.measures"),
            Check(f"trim({borough}) = ''", layout.borough,
                  "is empty: every row must name a borough (or MPS unit)",
                  "Re-download the file from the London Datastore"),
        ]
        if loaded:
            checks.append(Check(
                f"trim({borough}) <> '' AND {borough} IN "
                "(SELECT raw FROM boroughs WHERE NOT known)", layout.borough,
                "is not a London borough known to the loaded geography, nor an MPS unit "
                "(airports, Aviation Security (SO18), Unknown)",
                "Correct the borough name to the ONS spelling, e.g. 'Kingston upon Thames'"))
        ward_vintages: list[str] = []
        if layout.ward_code and layout.ward_name:
            wc, wn = q(layout.ward_code), q(layout.ward_name)
            checks += [
                Check(f"NOT regexp_full_match(trim({wc}), '{WARD_CODE}')", layout.ward_code,
                      "is not a ward code (E05 followed by six digits)",
                      "Correct the code; MPS ward files use ONS electoral ward codes"),
                Check(f"trim({wn}) = ''", layout.ward_name, "is empty: every ward has a name",
                      "Re-download the file from the London Datastore"),
            ]
            ward_vintages = sorted(
                (v for lvl, v in ref.area_codes if lvl == "ward" and v is not None),
                key=_vintage_order, reverse=True)
            # Each code is given the newest ward set it belongs to.
            newest: dict[str, str] = {}
            for v in reversed(ward_vintages):
                newest.update(dict.fromkeys(ref.codes("ward", v), v))
            con.register("ward_codes", pa.table({
                "code": pa.array(list(newest), pa.string()),
                "vintage": pa.array(list(newest.values()), pa.string())}))
            if ward_vintages:
                checks.append(Check(
                    f"regexp_full_match(trim({wc}), '{WARD_CODE}') AND trim({wc}) NOT IN "
                    "(SELECT code FROM ward_codes)", layout.ward_code,
                    f"is not a ward code in any loaded ward set ({', '.join(ward_vintages)})",
                    "Check the code against the ONS ward lists; load the ward lookup for the "
                    "year the file's wards come from"))
        key_column = layout.ward_code or layout.borough
        checks.append(Check(
            "repeated", key_column,
            "repeats the area and category of an earlier row, so its offences would be "
            "counted twice",
            "Remove the repeated row; check the file was not pasted together from two "
            "releases"))
        checks += count_checks(months, "offences recorded in that month")

        problems = run_checks(con, "rows", name, checks)
        bad_rows = sorted({p.row for p in problems if p.row is not None})
        con.register("bad", pa.table({"row": pa.array(bad_rows, pa.int64())}))

        release_start, release_end = month_label(min(months)), month_label(max(months))
        if layout.ward_code and layout.ward_name:
            wc = f"trim({q(layout.ward_code)})"
            area = f"""
                'ward' AS geography_level,
                {wc} AS area_code,
                trim({q(layout.ward_name)}) AS area_name,
                wv.vintage AS area_vintage,
                trim({borough}) AS borough_name,
                CASE WHEN b.note IS NULL THEN NULL ELSE
                    'Published by the MPS under ''' || trim({borough}) || ''', not under the '
                    || 'borough the ward lies in, so these offences are in no borough''s '
                    || 'figures' END AS area_note,"""
            join_ward = f"LEFT JOIN ward_codes wv ON wv.code = {wc}"
        else:
            area = f"""
                'borough' AS geography_level,
                b.code AS area_code,
                trim({borough}) AS area_name,
                NULL::VARCHAR AS area_vintage,
                trim({borough}) AS borough_name,
                b.note AS area_note,"""
            join_ward = ""
        month_list = ", ".join(q(m) for m in months)
        clean = con.sql(f"""
            WITH good AS (
                SELECT * FROM rows WHERE source_row NOT IN (SELECT row FROM bad)
            ), long AS (
                UNPIVOT good ON {month_list} INTO NAME month_column VALUE value
            )
            SELECT
                {area}
                'month' AS period_type,
                CAST(strptime(month_column, '%Y%m') AS DATE) AS period,
                '{layout.scheme}' AS category_scheme,
                trim({major}) AS major_category,
                trim({minor}) AS minor_category,
                c.measure AS measure,
                NULL::VARCHAR AS included_in,
                {count_sql("value")} AS count,
                '{release_start}' AS release_start,
                '{release_end}' AS release_end,
                source_row
            FROM long
            JOIN categories c ON c.key = long.category_key
            JOIN boroughs b ON b.raw = long.{borough}
            {join_ward}
            ORDER BY source_row, period
        """).to_arrow_table()

        meta = self._meta(con, csv, layout, months, boroughs, loaded, ward_vintages,
                          bad_rows)
        return Parsed(
            tables={self.dataset: clean},
            rows_read=raw.num_rows,
            problems=problems,
            period_start=release_start,
            period_end=release_end,
            meta=meta,
        )

    def _meta(self, con: duckdb.DuckDBPyConnection, csv: CsvText, layout: Layout,
              months: list[str], boroughs: list[BoroughName], loaded: bool,
              ward_vintages: list[str], bad_rows: list[int]) -> dict[str, Any]:
        borough = q(layout.borough)
        units = dict(con.execute(
            f"SELECT {borough}, count(*) FROM raw JOIN boroughs b ON b.raw = raw.{borough} "
            "WHERE b.note IS NOT NULL AND source_row NOT IN (SELECT row FROM bad) "
            "GROUP BY ALL ORDER BY 1").fetchall())
        meta: dict[str, Any] = {
            "geography_level": layout.level,
            "layout": layout.name,
            "category_scheme": layout.scheme,
            "release_start": month_label(min(months)),
            "release_end": month_label(max(months)),
            "months": len(months),
            "months_missing": missing_months(months),
            "rows_for_units_that_are_not_areas": units,
            "borough_names_checked": (
                "against the loaded local authority names" if loaded else
                "not checked: no geography loaded, so borough area codes are NULL"),
            "had_bom": csv.had_bom,
        }
        if layout.ward_code:
            wc = f"trim({q(layout.ward_code)})"
            meta["ward_codes_checked"] = (
                f"against the loaded ward sets ({', '.join(ward_vintages)})" if ward_vintages
                else "by pattern only (no ward geography loaded); area_vintage is NULL")
            old: list[str] = []
            if ward_vintages:
                old = [r[0] for r in con.execute(
                    f"SELECT DISTINCT {wc} FROM raw JOIN ward_codes w ON w.code = {wc} "
                    "WHERE w.vintage <> ? AND source_row NOT IN (SELECT row FROM bad) "
                    "ORDER BY 1", [ward_vintages[0]]).fetchall()]
            meta["current_ward_vintage"] = ward_vintages[0] if ward_vintages else None
            # Codes kept although the newest loaded ward set no longer has them: the file
            # uses an older ward set for these wards, so they will not join to current maps.
            meta["old_ward_codes"] = old
        return meta


def _vintage_order(vintage: str) -> tuple[int, str]:
    digits = re.match(r"\d{4}", vintage)
    return (int(digits.group()) if digits else 0, vintage)


class MpsBorough(_MpsCounts):
    """MPS recorded offences per borough per month (current or pre-2019 categories)."""

    level: ClassVar[str] = "borough"
    format: ClassVar[str] = "mps-borough"
    description: ClassVar[str] = (
        "Metropolitan Police recorded crime by borough and month (London Datastore)")


class MpsWard(_MpsCounts):
    """MPS recorded offences per electoral ward per month (current categories)."""

    level: ClassVar[str] = "ward"
    format: ClassVar[str] = "mps-ward"
    description: ClassVar[str] = (
        "Metropolitan Police recorded crime by ward and month (London Datastore)")
