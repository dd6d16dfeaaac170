"""ONS-style geography lookups: which code is in which area, for any vintage.

Publisher: Office for National Statistics, Open Geography Portal (OGL v3), and files built
from it (the GLA's, and David Kane's ``geo-lookups``). ONS names every column by a level
prefix, a two-digit year and a suffix: ``LSOA11CD`` (code), ``LSOA11NM`` (name),
``LSOA11NMW`` (Welsh name), ``MSOA11HCLNM`` (House of Commons Library name), and
``LADCD_ACTIVE`` for "the code in force when this lookup was made". This adapter reads any
such file from its column names, so the same code reads England-wide and London-only files:

- ``LSOA11CD, WD18CD, LAD18CD`` (+ names): LSOA -> ward (best fit) -> LAD, vintages from the
  year in the column name (ward ``WD18`` -> ``'2018'``, ``LSOA11`` -> ``'2011'``);
- ``LSOA11CD, LSOA21CD, LAD22CD``: 2011 -> 2021 LSOA best fit;
- ``MSOACD`` with ``MSOA11CD`` / ``MSOA21CD``: one row per MSOA code; the code is a 2011
  MSOA where ``MSOA11CD`` holds it and a 2021 MSOA where ``MSOA21CD`` does;
- ``WDCD`` + ``SOURCEFILE``: every ward code since 2015, its vintage the year of the ONS ward
  file it comes from (drkane's ``ward_all_codes``: each code once, with the first file it is
  in, so a 2016 code may still be in force later); ``LADCD`` on such rows is the LAD in
  that file;
- ``UTLACD``, ``CAUTHCD`` next to ``..._ACTIVE`` columns are in force now (``'active'``);
  ``RGNCD`` and ``CTRYCD`` have no vintage.

Output: ``areas`` (code, name, level, vintage, source, welsh_name, hcl_name) and
``area_links`` (child/parent code, level and vintage, relation, source); relations are
explained in ``vru.domain.geography``. Row checks: each code matches its level's pattern,
names are present, a row's unit (the LSOA of an LSOA lookup) is not given two different
parents, and no name changes for the same code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

import duckdb
import pyarrow as pa

from vru.adapters.sources.base import Parsed, ReferenceData
from vru.adapters.sources.checks import Check, run_checks, with_source_row
from vru.adapters.sources.csvfile import read_csv
from vru.domain import geography as geo
from vru.domain.problems import InputError, Problem

PREFIX_LEVELS: dict[str, str] = {
    "LSOA": "lsoa", "MSOA": "msoa", "WD": "ward", "LAD": "lad", "CSP": "csp",
    "UTLA": "utla", "PFA": "pfa", "CAUTH": "cauth", "RGN": "region", "CTRY": "country",
}
COLUMN_RE = re.compile(
    r"^(?P<prefix>LSOA|MSOA|WD|LAD|CSP|UTLA|PFA|CAUTH|RGN|CTRY)(?P<yy>[0-9]{2})?"
    r"(?P<kind>CD|HCLNMW|HCLNM|NMW|NM)(?P<active>_ACTIVE)?$"
)
SOURCEFILE = "SOURCEFILE"
OPTIONAL_LEVELS = frozenset({"cauth"})  # most places have no combined authority

RECOGNISED = (
    "ONS-style code columns <LEVEL><YY>CD with names in <LEVEL><YY>NM, for LEVEL one of "
    f"{', '.join(PREFIX_LEVELS)} (for example LSOA11CD, LSOA21CD, MSOA11CD, WD18CD, WD19CD, "
    "LAD18CD, LAD19CD, LAD22CD, PFA21CD); the same without the year for RGNCD and CTRYCD; "
    "<LEVEL>CD_ACTIVE for codes in force (LADCD_ACTIVE, with UTLACD and CAUTHCD beside it); "
    "MSOACD together with MSOA11CD and/or MSOA21CD; WDCD and LADCD together with SOURCEFILE "
    "(the year of the ward file)"
)


def q(column: str) -> str:
    """A column name quoted for SQL."""
    return '"' + column.replace('"', '""') + '"'


def lit(value: str | None) -> str:
    return "NULL::VARCHAR" if value is None else "'" + value.replace("'", "''") + "'"


def _t(column: str) -> str:
    return f"trim({q(column)})"


@dataclass(frozen=True)
class CodeColumn:
    """One column of area codes and what it holds."""

    column: str
    level: str
    vintage: str | None  # fixed vintage; see vintage_sql for per-row vintages
    vintage_sql: str
    name_column: str | None = None
    welsh_column: str | None = None
    hcl_column: str | None = None
    optional: bool = False
    alias_members: tuple[str, ...] = ()  # MSOACD: the MSOA11CD/MSOA21CD columns it matches

    @property
    def is_alias(self) -> bool:
        return bool(self.alias_members)

    @property
    def per_row_vintage(self) -> bool:
        return self.vintage_sql.startswith("trim(")

    @property
    def vintage_token(self) -> str | None:
        """The vintage, or a marker naming the column it is read from on each row."""
        return f"row:{self.vintage_sql}" if self.per_row_vintage else self.vintage

    @property
    def vintage_label(self) -> str | None:
        return f"from column {SOURCEFILE}" if self.per_row_vintage else self.vintage


@dataclass(frozen=True)
class Scheme:
    """What a file's columns say: its code columns and which one the file has a row per."""

    code_columns: tuple[CodeColumn, ...]
    unit: str | None
    ignored: tuple[str, ...]
    uses_sourcefile: bool = False

    def column(self, name: str) -> CodeColumn:
        return next(c for c in self.code_columns if c.column == name)

    def describe(self) -> dict[str, dict[str, str | None]]:
        return {c.column: {"level": c.level,
                           "vintage": "alias of " + "/".join(c.alias_members) if c.is_alias
                           else c.vintage_label}
                for c in self.code_columns}


def _scheme_error(file: str, message: str) -> InputError:
    return InputError([Problem(file, 1, None, None, message,
                               f"Recognised column naming schemes: {RECOGNISED}")])


def detect_scheme(columns: Sequence[str], file: str,
                  vintage_overrides: Mapping[str, str] | None = None) -> Scheme:
    """Read a file's header as an ONS column naming scheme.

    ``vintage_overrides`` maps a code column to the vintage to give it instead of the one its
    name says. Raises ``InputError`` (a file-level problem listing the recognised schemes)
    when no code column is recognised or a code column's vintage cannot be told.
    """
    overrides = dict(vintage_overrides or {})
    parsed: dict[str, tuple[str, str | None, str, bool]] = {}
    ignored: list[str] = []
    by_upper = {c.upper(): c for c in columns}
    has_sourcefile = SOURCEFILE in by_upper
    for c in columns:
        m = COLUMN_RE.match(c.upper())
        if m is None:
            if c.upper() != SOURCEFILE:
                ignored.append(c)
            continue
        parsed[c] = (m["prefix"], m["yy"], m["kind"], bool(m["active"]))
    code_cols = [c for c, (_p, _y, k, _a) in parsed.items() if k == "CD"]
    if not code_cols:
        raise _scheme_error(file, "has no column of area codes this adapter recognises")

    def sibling(prefix: str, yy: str | None, kind: str, active: bool) -> str | None:
        name = f"{prefix}{yy or ''}{kind}{'_ACTIVE' if active else ''}"
        return by_upper.get(name)

    has_active = any(a for (_p, _y, _k, a) in parsed.values())
    out: list[CodeColumn] = []
    uses_sourcefile = False
    for c in code_cols:
        prefix, yy, _kind, active = parsed[c]
        level = PREFIX_LEVELS[prefix]
        yeared = [o for o, (p, y, k, a) in parsed.items()
                  if p == prefix and y is not None and k == "CD" and not a]
        nm = sibling(prefix, yy, "NM", active)
        nmw = sibling(prefix, yy, "NMW", active)
        hcl = sibling(prefix, yy, "HCLNM", active)
        if yy is not None and level in geo.CENSUS_LEVELS and sibling(prefix, None, "CD", False):
            # MSOA21CD beside MSOACD: the names are MSOACD's (MSOANM, MSOAHCLNM).
            nm = nm or sibling(prefix, None, "NM", False)
            nmw = nmw or sibling(prefix, None, "NMW", False)
            hcl = hcl or sibling(prefix, None, "HCLNM", False)
        if yy is None and not active and yeared and level in geo.CENSUS_LEVELS:
            out.append(CodeColumn(c, level, None, "NULL::VARCHAR", nm, nmw, hcl,
                                  alias_members=tuple(yeared)))
            continue
        vintage: str | None
        if c in overrides:
            vintage = overrides[c]
        elif yy is not None:
            vintage = geo.vintage_from_year(yy)
        elif active:
            vintage = geo.ACTIVE
        elif level in geo.UNVERSIONED_LEVELS:
            vintage = None
        elif has_sourcefile and level in ("ward", "lad"):
            uses_sourcefile = True
            out.append(CodeColumn(c, level, None, f"trim({q(by_upper[SOURCEFILE])})",
                                  nm, nmw, hcl, optional=level in OPTIONAL_LEVELS))
            continue
        elif (has_active and level in geo.ADMIN_LEVELS
              and sibling(prefix, None, "CD", True) is None):
            vintage = geo.ACTIVE
        else:
            raise _scheme_error(
                file, f"column {c!r} holds {geo.LEVEL_NAMES[level]} codes of no stated year; "
                f"name it with the year of the codes (e.g. {prefix}22CD)")
        out.append(CodeColumn(c, level, vintage, lit(vintage), nm, nmw, hcl,
                              optional=level in OPTIONAL_LEVELS))
    # Columns an alias matches may be empty on a row (a code in one census only).
    members = {m for col in out for m in col.alias_members}
    out = [replace(col, optional=True) if col.column in members else col for col in out]
    finest = min(geo.level_order(col.level) for col in out)
    at_finest = [col for col in out if geo.level_order(col.level) == finest]
    unit = None if any(col.is_alias for col in at_finest) else at_finest[0].column
    return Scheme(tuple(out), unit, tuple(ignored), uses_sourcefile)


_SORT_KEY = ("CASE WHEN {v} IS NULL THEN '0' WHEN regexp_full_match({v}, '[0-9]+') "
             "THEN '1' || lpad({v}, 4, '0') ELSE '2' || {v} END")


def _present(column: str) -> str:
    """SQL: the column holds a code (not empty, not an ONS pseudo-code)."""
    return (f"({_t(column)} <> '' AND NOT regexp_full_match({_t(column)}, "
            f"'{geo.PSEUDO_CODE}'))")


class SchemeTables:
    """Checks and output tables for one scheme over a relation of text columns with a
    ``source_row`` column. ``prepare`` adds the helper columns the checks need."""

    def __init__(self, scheme: Scheme, non_empty: set[str], *, repeat_check: bool = True
                 ) -> None:
        self.scheme = scheme
        self.repeat_check = repeat_check
        # Code columns empty on every row (LAD17CD in a file that never fills it) say nothing.
        self.columns = [c for c in scheme.code_columns if c.column in non_empty]

    @staticmethod
    def non_empty_columns(con: duckdb.DuckDBPyConnection, relation: str,
                          scheme: Scheme) -> set[str]:
        cols = [c.column for c in scheme.code_columns]
        parts = ", ".join(f"count(*) FILTER (WHERE {_t(c)} <> '')" for c in cols)
        counts = con.execute(f"SELECT {parts} FROM {relation}").fetchall()[0]
        return {c for c, n in zip(cols, counts, strict=True) if n}

    def _unit_parents(self) -> list[CodeColumn]:
        unit = self.scheme.unit
        if unit is None:
            return []
        ucol = self.scheme.column(unit)
        return [c for c in self.columns
                if geo.level_order(c.level) > geo.level_order(ucol.level) and not c.is_alias]

    def prepare(self, con: duckdb.DuckDBPyConnection, relation: str, view: str) -> None:
        extra: list[str] = []
        for i, c in enumerate(self.columns):
            if c.name_column:
                extra.append(
                    f"first_value({_t(c.name_column)}) OVER (PARTITION BY {_t(c.column)}, "
                    f"{c.vintage_sql} ORDER BY source_row) AS __first_name_{i}")
        unit = self.scheme.unit
        if unit is not None:
            for i, p in enumerate(self._unit_parents()):
                extra.append(
                    f"(min({_t(p.column)}) OVER (PARTITION BY {_t(unit)}) <> "
                    f"max({_t(p.column)}) OVER (PARTITION BY {_t(unit)}) AND "
                    f"row_number() OVER (PARTITION BY {_t(unit)} ORDER BY source_row) > 1) "
                    f"AS __conflict_{i}")
        all_codes = ", ".join(_t(c.column) for c in self.columns)
        extra.append(f"row_number() OVER (PARTITION BY {all_codes} ORDER BY source_row) > 1 "
                     "AS __repeat")
        con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT *, {', '.join(extra)} "
                    f"FROM {relation}")

    def checks(self) -> list[Check]:
        checks: list[Check] = []
        unit = self.scheme.unit
        for i, c in enumerate(self.columns):
            col, t = c.column, _t(c.column)
            what = geo.LEVEL_NAMES[c.level].lower()
            if not c.optional:
                checks.append(Check(
                    f"{t} = ''", col, f"is empty: every row needs a {what} code",
                    "Fill in the code, or remove the row"))
            if c.is_alias:
                members = " OR ".join(f"{t} = {_t(m)}" for m in c.alias_members)
                checks.append(Check(
                    f"{t} <> '' AND NOT ({members})", col,
                    f"matches none of {', '.join(c.alias_members)} on its row",
                    "Check the row: the code must equal the census-year code it stands for"))
            checks.append(Check(
                f"{_present(col)} AND NOT regexp_full_match({t}, "
                f"'{geo.CODE_PATTERNS[c.level]}')", col,
                f"is not a {what} code ({geo.CODE_DESCRIPTIONS[c.level]})",
                "Correct the code; check the column holds the codes its name says"))
            if c.name_column:
                checks.append(Check(
                    f"{_present(col)} AND {_t(c.name_column)} = ''", c.name_column,
                    f"is empty: every {what} code needs a name",
                    "Fill in the name from the ONS lookup"))
                checks.append(Check(
                    f"{_present(col)} AND {_t(c.name_column)} <> '' AND "
                    f"{_t(c.name_column)} <> __first_name_{i}", c.name_column,
                    f"differs from the name an earlier row gives the same {what} code",
                    "Use one name per code; check the rows were not mixed up"))
            if c.per_row_vintage:
                checks.append(Check(
                    f"{_present(col)} AND NOT regexp_full_match({c.vintage_sql}, '[0-9]{{4}}')",
                    SOURCEFILE, "is not a year (YYYY): it gives the vintage of the row's codes",
                    "Give the year of the ONS file the codes come from"))
        if unit is not None:
            ucol = self.scheme.column(unit)
            for i, p in enumerate(self._unit_parents()):
                checks.append(Check(
                    f"__conflict_{i}", unit,
                    f"appears on more than one row with different {p.column} codes: a "
                    f"{geo.LEVEL_NAMES[ucol.level].lower()} can be in one "
                    f"{geo.LEVEL_NAMES[p.level].lower()} only",
                    "Keep one row per code; check for duplicated or mixed-up rows"))
            if self.repeat_check:
                checks.append(Check("__repeat", unit, "repeats an earlier row",
                                    "Remove the duplicated row"))
        return checks

    def areas_sql(self, relation: str, source: str) -> str:
        parts = []
        for c in self.columns:
            if c.is_alias:
                continue

            def opt(col: str | None) -> str:
                return f"nullif({_t(col)}, '')" if col else "NULL::VARCHAR"

            parts.append(
                f"SELECT {_t(c.column)} AS code, {opt(c.name_column)} AS name, "
                f"{lit(c.level)} AS level, {c.vintage_sql} AS vintage, "
                f"{opt(c.welsh_column)} AS welsh_name, {opt(c.hcl_column)} AS hcl_name, "
                f"source_row FROM {relation} WHERE {_present(c.column)}")
        return f"""
            SELECT code, arg_min(name, source_row) FILTER (WHERE name IS NOT NULL) AS name,
                   level, vintage, {lit(source)} AS source,
                   arg_min(welsh_name, source_row) FILTER (WHERE welsh_name IS NOT NULL)
                       AS welsh_name,
                   arg_min(hcl_name, source_row) FILTER (WHERE hcl_name IS NOT NULL)
                       AS hcl_name,
                   min(source_row) AS source_row
            FROM ({' UNION ALL '.join(parts)})
            GROUP BY code, level, vintage
            ORDER BY level, vintage, code"""

    def links_sql(self, relation: str, source: str) -> str:
        parts = []
        cols = [c for c in self.columns if not c.is_alias]
        for a in cols:
            for b in cols:
                if a is b:
                    continue
                head = (f"SELECT {_t(a.column)} AS child_code, {lit(a.level)} AS child_level, "
                        f"{a.vintage_sql} AS child_vintage, {_t(b.column)} AS parent_code, "
                        f"{lit(b.level)} AS parent_level, {b.vintage_sql} AS parent_vintage, ")
                where = f"FROM {relation} WHERE {_present(a.column)} AND {_present(b.column)}"
                if a.level == b.level and a.level in geo.ADMIN_LEVELS:
                    # Per row, since a SOURCEFILE vintage varies: the older code -> the newer.
                    if a.vintage_sql == b.vintage_sql:
                        continue
                    ka = _SORT_KEY.format(v=a.vintage_sql)
                    kb = _SORT_KEY.format(v=b.vintage_sql)
                    parts.append(f"{head}'successor' AS relation, source_row {where} "
                                 f"AND {_t(a.column)} <> {_t(b.column)} AND {ka} < {kb}")
                    continue
                relation_name = geo.link_relation(
                    a.level, a.vintage_token, b.level, b.vintage_token,
                    child_is_row_unit=a.column == self.scheme.unit)
                if relation_name is None:
                    continue
                parts.append(f"{head}{lit(relation_name)} AS relation, source_row {where}")
        if not parts:
            return ("SELECT NULL::VARCHAR AS child_code, NULL::VARCHAR AS child_level, "
                    "NULL::VARCHAR AS child_vintage, NULL::VARCHAR AS parent_code, "
                    "NULL::VARCHAR AS parent_level, NULL::VARCHAR AS parent_vintage, "
                    "NULL::VARCHAR AS relation, NULL::VARCHAR AS source, "
                    "NULL::BIGINT AS source_row WHERE FALSE")
        return f"""
            SELECT child_code, child_level, child_vintage, parent_code, parent_level,
                   parent_vintage, relation, {lit(source)} AS source,
                   min(source_row) AS source_row
            FROM ({' UNION ALL '.join(parts)})
            GROUP BY ALL
            ORDER BY child_level, child_vintage, child_code, parent_level, parent_vintage,
                     parent_code"""


def counts_by(table: pa.Table, *columns: str) -> dict[str, int]:
    """Row counts keyed by the given columns joined with '/' (None shown as '-')."""
    out: dict[str, int] = {}
    cols = [table.column(c).to_pylist() for c in columns]
    for values in zip(*cols, strict=True):
        key = "/".join("-" if v is None else str(v) for v in values)
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items()))


class Lookup:
    format: ClassVar[str] = "lookup"
    description: ClassVar[str] = (
        "ONS-style geography lookup (LSOA/MSOA/ward/LAD/region codes and names, any vintage)")

    def parse(self, path: Path, ref: ReferenceData) -> Parsed:
        # Read the header first, so the required columns are the scheme's own.
        csv = read_csv(path, [], allow_extra=True)
        name = csv.name
        scheme = detect_scheme(csv.header, name)
        raw = with_source_row(csv.table)
        con = duckdb.connect()
        try:
            con.register("raw", raw)
            tables = SchemeTables(scheme, SchemeTables.non_empty_columns(con, "raw", scheme))
            if not tables.columns:
                raise InputError([Problem(name, None, None, None,
                                          "has code columns, but every one is empty",
                                          "Check the download finished; re-download the file")])
            tables.prepare(con, "raw", "checked")
            problems = run_checks(con, "checked", name, tables.checks())
            bad_rows = sorted({p.row for p in problems if p.row is not None})
            con.register("bad", pa.table({"row": pa.array(bad_rows, pa.int64())}))
            con.execute("CREATE TEMP VIEW good AS SELECT * FROM raw "
                        "WHERE source_row NOT IN (SELECT row FROM bad)")
            areas = con.sql(tables.areas_sql("good", name)).to_arrow_table()
            links = con.sql(tables.links_sql("good", name)).to_arrow_table()
        finally:
            con.close()
        return Parsed(
            tables={"areas": areas, "area_links": links},
            rows_read=raw.num_rows,
            problems=problems,
            meta={
                "columns": scheme.describe(),
                "row_unit": scheme.unit,
                "empty_code_columns": sorted(
                    c.column for c in scheme.code_columns if c not in tables.columns),
                "ignored_columns": list(scheme.ignored),
                "areas_by_level_vintage": counts_by(areas, "level", "vintage"),
                "links_by_relation": counts_by(links, "child_level", "parent_level",
                                               "relation"),
                "ward_vintage": "the year of the ONS ward file (SOURCEFILE) the code is listed "
                "under" if scheme.uses_sourcefile else None,
                "had_bom": csv.had_bom,
            },
        )
