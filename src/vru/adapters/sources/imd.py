"""English Indices of Deprivation 2019 (IoD2019): how deprived each small area is.

Publisher: Ministry of Housing, Communities & Local Government (OGL v3). The IoD rank all
32,844 English 2011 LSOAs from most deprived (rank 1) to least, overall (the Index of Multiple
Deprivation, IMD) and on seven domains: income, employment, education, health, crime,
barriers to housing and services, living environment. Deciles and quintiles group the ranks
(decile 1 = the most deprived 10% of LSOAs); scores are the underlying measures (a higher
score is more deprived; income and employment scores are the share of people deprived).

Layouts read (recognised from the header):

- the official files as CSV: File 1 (IMD rank and decile), File 2 (rank and decile for the IMD
  and each domain), File 5/7 style score columns, File 6 (population denominators), and the
  same columns in an ``.xlsx`` workbook, such as the GLA's London extract
  ``ID 2019 for London.xlsx`` (sheet ``IMD 2019``, whose code column is headed
  ``geography code``);
- ONS "Index of Multiple Deprivation (December 2019) Lookup in England" (``LSOA11CD ...
  IMD19``: the IMD rank);
- an MSOA aggregation (``MSOAC ... IMD19 SCORE, MSOARANK, MSOADECILE, MSOAQUINTILE``): a
  population-weighted average of LSOA scores made by a third party, not by MHCLG. Its rows
  are stored with ``derived = true`` and ranked among England's 6,791 MSOAs.

Everything becomes one tidy table, ``deprivation``: one record per area, domain and measure.
File 6's mid-2015 population denominators (excluding prisoners) are stored here too, as
domain ``population`` with measures ``denominator_total``, ``denominator_aged_0_15``,
``denominator_aged_16_59``, ``denominator_aged_60_plus`` and ``denominator_working_age``:
they are the populations the IoD rates were computed on, not population estimates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import ClassVar

import duckdb
import pyarrow as pa

from vru.adapters.sources.base import Parsed, ReferenceData
from vru.adapters.sources.checks import Check, run_checks, with_source_row
from vru.adapters.sources.csvfile import peek_header, read_csv
from vru.adapters.sources.population import PARTIAL_GEOGRAPHY_ACTION, q, s
from vru.domain.problems import InputError, Problem

EDITION = "IoD2019"
LSOAS_RANKED = 32_844  # English 2011 LSOAs: the ranks run 1 to this
MSOAS_RANKED = 6_791  # English 2011 MSOAs

# Domain names as the IoD column headings spell them. Longest first: "Income Deprivation
# Affecting Children Index" must not be read as the "Income" domain.
DOMAIN_HEADINGS: dict[str, str] = {
    "Income Deprivation Affecting Children Index (IDACI)": "idaci",
    "Income Deprivation Affecting Older People Index (IDAOPI)": "idaopi",
    "Income Deprivation Affecting Older People (IDAOPI)": "idaopi",
    "Index of Multiple Deprivation (IMD)": "imd",
    "Barriers to Housing and Services": "barriers",
    "Health Deprivation and Disability": "health",
    "Education, Skills and Training": "education",
    "Living Environment": "living_environment",
    "Employment": "employment",
    "Income": "income",
    "Crime": "crime",
}
IOD_COLUMN = re.compile(
    "(?P<domain>" + "|".join(re.escape(h) for h in DOMAIN_HEADINGS)
    + r") (?P<measure>Score|Rank|Decile)( \(.*\))?")

DENOMINATORS: dict[str, str] = {
    "Total population: mid 2015 (excluding prisoners)": "denominator_total",
    "Dependent Children aged 0-15: mid 2015 (excluding prisoners)": "denominator_aged_0_15",
    "Population aged 16-59: mid 2015 (excluding prisoners)": "denominator_aged_16_59",
    "Older population aged 60 and over: mid 2015 (excluding prisoners)":
        "denominator_aged_60_plus",
    "Working age population 18-59/64: for use with Employment Deprivation Domain "
    "(excluding prisoners)": "denominator_working_age",
}

LSOA_CODE_COLUMNS = ("LSOA code (2011)", "geography code")
IOD_DESCRIPTIVE = ("LSOA name (2011)", "Local Authority District code (2019)",
                   "Local Authority District name (2019)")

WHOLE = "[0-9]+|[0-9]{1,3}(,[0-9]{3})+"
NUMBER = r"-?([0-9]+|[0-9]{1,3}(,[0-9]{3})+)(\.[0-9]+)?([eE][-+]?[0-9]+)?"
AREA_PATTERNS = {
    "lsoa": ("E01[0-9]{6}", "an English LSOA code (E01 and six digits): the English indices "
                            "cover England only"),
    "msoa": ("E02[0-9]{6}", "an English MSOA code (E02 and six digits): the English indices "
                            "cover England only"),
}
RE_ACTION = "Correct the value, or download the file again from the publisher"


@dataclass(frozen=True)
class Value:
    """One value column: the domain it describes and what kind of number it is."""

    column: str
    domain: str
    measure: str  # 'rank' | 'decile' | 'quintile' | 'score' | denominators | 'lsoa_count'


@dataclass(frozen=True)
class Layout:
    name: str
    code_column: str
    level: str  # 'lsoa' | 'msoa'
    ranked: int  # how many areas the ranks run over
    other_columns: tuple[str, ...]
    values: tuple[Value, ...]
    derived: bool = False

    @property
    def columns(self) -> list[str]:
        return [self.code_column, *self.other_columns, *(v.column for v in self.values)]


def _file_error(name: str, message: str, action: str) -> InputError:
    return InputError([Problem(name, None, None, None, message, action)])


def _iod_value(column: str) -> Value | None:
    if column in DENOMINATORS:
        return Value(column, "population", DENOMINATORS[column])
    m = IOD_COLUMN.fullmatch(column)
    if m is None:
        return None
    return Value(column, DOMAIN_HEADINGS[m["domain"]], m["measure"].lower())


def _iod_lsoa(name: str, header: list[str]) -> Layout | None:
    """MHCLG's own layout: LSOA code and name, 2019 district code and name, then values."""
    code = next((c for c in LSOA_CODE_COLUMNS if c in header), None)
    if code is None or "Local Authority District code (2019)" not in header:
        return None
    other = tuple(c for c in IOD_DESCRIPTIVE if c in header)
    rest = [c for c in header if c != code and c not in other]
    values = [_iod_value(c) for c in rest]
    unknown = [c for c, v in zip(rest, values, strict=True) if v is None]
    if unknown:
        raise InputError([Problem(name, 1, c, None,
                                  "is not a column of the English Indices of Deprivation 2019",
                                  "Remove the column, or check you chose the right format")
                          for c in unknown])
    if not rest:
        raise _file_error(name, "has no rank, decile, score or denominator columns",
                          "Check the file is one of the IoD2019 files")
    return Layout("iod2019-lsoa", code, "lsoa", LSOAS_RANKED, other,
                  tuple(v for v in values if v is not None))


def _ons_lookup(name: str, header: list[str]) -> Layout | None:
    """ONS "Index of Multiple Deprivation (December 2019) Lookup in England": IMD rank only."""
    if "LSOA11CD" not in header or "IMD19" not in header:
        return None
    other = tuple(c for c in ("LSOA11NM", "LAD19CD", "LAD19NM", "FID") if c in header)
    return Layout("ons-imd2019-lookup", "LSOA11CD", "lsoa", LSOAS_RANKED, other,
                  (Value("IMD19", "imd", "rank"),))


def _msoa_scores(name: str, header: list[str]) -> Layout | None:
    """The third-party MSOA aggregation (population-weighted LSOA scores)."""
    if "MSOAC" not in header or "IMD19 SCORE" not in header:
        return None
    other = tuple(c for c in ("MSOAHOCLN", "LAD19C", "LAD19N", "REG") if c in header)
    named = {"LSOACOUNT": ("imd", "lsoa_count"), "POPMID15": ("population", "denominator_total"),
             "IMD19 SCORE": ("imd", "score"), "MSOARANK": ("imd", "rank"),
             "MSOADECILE": ("imd", "decile"), "MSOAQUINTILE": ("imd", "quintile")}
    values = tuple(Value(c, *named[c]) for c in named if c in header)
    return Layout("msoa-imd2019-derived", "MSOAC", "msoa", MSOAS_RANKED, other, values,
                  derived=True)


DETECTORS = (_iod_lsoa, _ons_lookup, _msoa_scores)
KNOWN_LAYOUTS = (
    "IoD2019 Files 1-7 or the GLA London workbook (LSOA code (2011) or geography code, "
    "LSOA name (2011), Local Authority District code (2019), ...); the ONS IMD 2019 lookup "
    "(LSOA11CD, ..., IMD19); MSOA scores (MSOAC, ..., IMD19 SCORE, MSOARANK, ...)"
)


def detect(name: str, header: list[str]) -> Layout | None:
    for detector in DETECTORS:
        layout = detector(name, header)
        if layout is not None:
            return layout
    return None


# -- reading an xlsx sheet as text, like read_csv ----------------------------------------

PREFERRED_SHEET = "IMD 2019"


def _cell_text(value: object) -> str:
    """A cell as the text a user would see; whole-number floats lose their '.0'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def read_sheet(path: Path) -> tuple[str, Layout, pa.Table]:
    """The first recognised sheet of a workbook (``IMD 2019`` if present) as text columns.

    Returns the name to report problems under ("file, sheet 'X'"), the layout and the rows
    with their ``source_row`` (the Excel row number). Wholly empty rows are not data and are
    skipped.
    """
    import openpyxl  # only workbooks need it

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged or foreign file
        raise _file_error(path.name, f"cannot be opened as an Excel workbook ({exc})",
                          "Check it is an .xlsx file; open and save it again in Excel") from None
    try:
        sheets = list(wb.sheetnames)
        order = ([PREFERRED_SHEET] if PREFERRED_SHEET in sheets else []) + [
            s_ for s_ in sheets if s_ != PREFERRED_SHEET]
        for sheet in order:
            rows = wb[sheet].iter_rows(values_only=True)
            first = next(rows, None)
            if first is None:
                continue
            header = [_cell_text(v) for v in first]
            while header and header[-1] == "":
                header.pop()
            name = f"{path.name}, sheet '{sheet}'"
            try:
                layout = detect(name, header)
            except InputError:
                if sheet == PREFERRED_SHEET:
                    raise
                continue
            if layout is None:
                continue
            return name, layout, _sheet_table(name, header, layout, rows)
    finally:
        wb.close()
    raise _file_error(path.name, "has no sheet of Indices of Deprivation data "
                      f"(sheets: {', '.join(sheets)})",
                      f"Use a workbook with a sheet such as '{PREFERRED_SHEET}'. "
                      f"Known layouts: {KNOWN_LAYOUTS}")


def _sheet_table(name: str, header: list[str], layout: Layout,
                 rows: Iterable[Sequence[object]]) -> pa.Table:
    seen: set[str] = set()
    for c in header:
        if c in seen or c == "":
            raise InputError([Problem(name, 1, c, None,
                                      "is a duplicated column" if c else "is an empty heading",
                                      "Give every column one unique heading")])
        seen.add(c)
    missing = [c for c in layout.columns if c not in seen]
    if missing:
        raise InputError([Problem(name, 1, c, None, "required column is missing",
                                  "Check you chose the right sheet") for c in missing])
    width = len(header)
    columns: list[list[str]] = [[] for _ in header]
    source_rows: list[int] = []
    beyond: list[Problem] = []
    for number, row in enumerate(rows, start=2):
        cells = [_cell_text(v) for v in row]
        if all(c == "" for c in cells):
            continue
        extra = [c for c in cells[width:] if c != ""]
        if extra:
            beyond.append(Problem(name, number, None, extra[0],
                                  "has a value beyond the last headed column",
                                  "Give the column a heading or delete the value"))
        cells = (cells + [""] * width)[:width]
        for i, c in enumerate(cells):
            columns[i].append(c)
        source_rows.append(number)
    if beyond:
        raise InputError(beyond[:20], total=len(beyond))
    if not source_rows:
        raise _file_error(name, "has a header but no data rows", "Check the right sheet is used")
    table = pa.table({c: pa.array(col, pa.string()) for c, col in zip(header, columns,
                                                                        strict=True)})
    return table.append_column("source_row", pa.array(source_rows, pa.int64()))


class Imd:
    format: ClassVar[str] = "imd"
    description: ClassVar[str] = (
        "English Indices of Deprivation 2019: ranks, deciles, scores and denominators "
        "(IoD2019 files, ONS lookup, GLA London workbook, MSOA scores)")
    dataset: ClassVar[str] = "deprivation"

    def parse(self, path: Path, ref: ReferenceData) -> Parsed:
        sheet: str | None = None
        had_bom = False
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            name, layout, raw = read_sheet(path)
            sheet = name.split(", sheet ", 1)[1].strip("'")
        else:
            layout_or_none = detect(path.name, peek_header(path))
            if layout_or_none is None:
                read_csv(path, (), allow_extra=True)  # report an empty or mis-encoded file
                raise _file_error(path.name, "is not an Indices of Deprivation layout this "
                                  "format knows", f"Known layouts: {KNOWN_LAYOUTS}")
            layout = layout_or_none
            text = read_csv(path, layout.columns)
            name, raw, had_bom = text.name, with_source_row(text.table), text.had_bom
        con = duckdb.connect()
        try:
            problems, clean = self._validate_and_shape(con, name, path.name, raw, layout, ref)
        finally:
            con.close()
        return Parsed(
            tables={self.dataset: clean},
            rows_read=raw.num_rows,
            problems=problems,
            meta={
                "layout": layout.name,
                "edition": EDITION,
                "sheet": sheet,
                "area_level": layout.level,
                "area_vintage": "2011",
                "derived": layout.derived,
                "domains": sorted({v.domain for v in layout.values}),
                "area_codes_checked": "against the loaded 2011 geography"
                if ref.knows(layout.level, "2011") else "by pattern only (no geography loaded)",
                "had_bom": had_bom,
            },
        )

    def _validate_and_shape(self, con: duckdb.DuckDBPyConnection, name: str, source: str,
                            raw: pa.Table, layout: Layout, ref: ReferenceData
                            ) -> tuple[list[Problem], pa.Table]:
        con.register("raw", raw)
        con.execute(f"CREATE MACRO whole(x) AS CASE WHEN regexp_full_match(trim(x), '{WHOLE}') "
                    "THEN TRY_CAST(replace(trim(x), ',', '') AS BIGINT) END")
        con.execute(f"CREATE MACRO number(x) AS CASE WHEN regexp_full_match(trim(x), "
                    f"'{NUMBER}') THEN TRY_CAST(replace(trim(x), ',', '') AS DOUBLE) END")
        code = q(layout.code_column)
        con.execute(f"""
            CREATE VIEW typed AS SELECT *, trim({code}) AS __code,
                row_number() OVER (PARTITION BY trim({code}) ORDER BY source_row)
                    AS __occurrence
            FROM raw""")
        checks = self._checks(con, layout, ref)
        problems = run_checks(con, "typed", name, checks)
        bad_rows = sorted({p.row for p in problems if p.row is not None})
        con.register("bad", pa.table({"row": pa.array(bad_rows, pa.int64())}))
        con.register("measures", pa.table({
            "col": [v.column for v in layout.values],
            "ord": list(range(len(layout.values))),
            "domain": [v.domain for v in layout.values],
            "measure": [v.measure for v in layout.values],
        }))
        value_list = ", ".join(q(v.column) for v in layout.values)
        clean = con.sql(f"""
            WITH long AS (
                UNPIVOT (SELECT __code, source_row, {value_list} FROM typed
                         WHERE source_row NOT IN (SELECT row FROM bad))
                ON {value_list} INTO NAME col VALUE raw_value
            )
            SELECT
                __code AS area_code,
                {s(layout.level)}::VARCHAR AS area_level,
                '2011'::VARCHAR AS area_vintage,
                {s(EDITION)}::VARCHAR AS edition,
                m.domain, m.measure,
                number(raw_value)::DOUBLE AS value,
                {s(source)}::VARCHAR AS source,
                {str(layout.derived).upper()} AS derived,
                source_row
            FROM long JOIN measures m USING (col)
            ORDER BY source_row, m.ord
        """).to_arrow_table()
        return problems, clean

    def _checks(self, con: duckdb.DuckDBPyConnection, layout: Layout,
                ref: ReferenceData) -> list[Check]:
        code = layout.code_column
        pattern, what = AREA_PATTERNS[layout.level]
        checks = [
            Check(f"trim({q(code)}) = ''", code, "is empty: every row needs an area code",
                  "Fill in the area code, or delete the row"),
            Check(f"trim({q(code)}) <> '' AND NOT regexp_full_match(__code, '{pattern}')",
                  code, f"is not {what}", "Correct the code"),
            Check("__code <> '' AND __occurrence > 1", code,
                  "repeats an area code already given on an earlier row",
                  "Keep one row per area"),
        ]
        if ref.knows(layout.level, "2011"):
            con.register("known_codes", pa.table(
                {"code": sorted(ref.codes(layout.level, "2011"))}))
            checks.append(Check(
                f"regexp_full_match(__code, '{pattern}') AND __code NOT IN "
                "(SELECT code FROM known_codes)", code,
                f"is not a known 2011 {layout.level.upper()} code",
                "The indices use 2011 boundaries. " + PARTIAL_GEOGRAPHY_ACTION))
        n = layout.ranked
        ranks = {v.domain: v.column for v in layout.values if v.measure == "rank"}
        for v in layout.values:
            col = q(v.column)
            if v.measure == "rank":
                # Not checked for uniqueness: MHCLG gives tied scores the same rank (File 1
                # has 26 tied pairs).
                checks.append(Check(
                    f"whole({col}) IS NULL OR whole({col}) NOT BETWEEN 1 AND {n}", v.column,
                    f"is not a rank: a whole number from 1 (most deprived) to {n:,}",
                    RE_ACTION))
            elif v.measure in ("decile", "quintile"):
                groups = 10 if v.measure == "decile" else 5
                checks.append(Check(
                    f"whole({col}) IS NULL OR whole({col}) NOT BETWEEN 1 AND {groups}",
                    v.column, f"is not a {v.measure}: a whole number from 1 to {groups}",
                    RE_ACTION))
                rank = ranks.get(v.domain)
                if rank is not None:
                    # MHCLG's rule, which every row of the real files follows:
                    # decile = ceiling(rank x 10 / number of areas ranked).
                    checks.append(Check(
                        f"coalesce(whole({col}) BETWEEN 1 AND {groups} AND whole({q(rank)}) "
                        f"BETWEEN 1 AND {n} AND whole({col}) <> "
                        f"ceil(whole({q(rank)}) * {groups} / {n}), FALSE)",
                        v.column,
                        f"does not match the rank in column {rank!r}: with {n:,} areas "
                        f"ranked, {v.measure} = ceiling(rank x {groups} / {n:,})",
                        "Check the rank and the " + v.measure + "; one of them is wrong"))
            elif v.measure == "score":
                checks.append(Check(f"number({col}) IS NULL", v.column, "is not a number",
                                    RE_ACTION))
            else:  # denominators and counts of LSOAs: people or areas, whole and not negative
                checks.append(Check(
                    f"whole({col}) IS NULL", v.column,
                    "is not a whole number, 0 or more", RE_ACTION))
        return checks
