"""Population counts by area, age, sex and ethnic group: the ONS and Census layouts VRUs use.

Rates per 100,000 people need a denominator for the same place and, where the question is
about young people or an ethnic group, for the same group. One adapter reads every layout
below and recognises which it is from the header:

- ONS mid-year small area population estimates (SAPE) by 2011 LSOA in broad age bands, one
  column per sex and band (``Persons_All-Ages``, ``Males_16-29``...). The files do not say
  which year they estimate, so the file name must (``mid2019``).
- ONS mid-year SAPE by MSOA, single year of age (``MSOA Code, Population, 0 ... 89, 90+``),
  written with thousands separators. The year also comes from the file name.
- Census 2021 TS007 "Age by single year" (Nomis bulk file, any geography: LTLA, region,
  MSOA). It has five-year bands *and* single years; only the single years and the total are
  stored, so that summing a group never counts a person twice. The bands are checked.
- Census 2021 TS007A "Age by five-year age bands" (Nomis bulk, 2021 LSOAs).
- Census 2021 single year of age by 2021 MSOA, as reshaped by a third party from TS007
  (``msoa21nm, msoa21cd, Total, Aged under 1 year ...``).
- Census 2021 TS021 "Ethnic group" and Census 2011 QS201EW "Ethnic group" (Nomis): the
  high-level groups and the detailed groups within them.

Every layout becomes one tidy table, ``population``: one record per area, sex and group.
Totals are stored as ``characteristic = 'total'`` so a rate for "all people" never has to
add bands up. Publisher: ONS (OGL v3).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import duckdb
import pyarrow as pa

from vru.adapters.sources.base import Parsed, ReferenceData
from vru.adapters.sources.checks import Check, run_checks, with_source_row
from vru.adapters.sources.csvfile import peek_header, read_csv
from vru.domain.problems import InputError, Problem

# Area code patterns by level, and how to name them to a user.
AREA_PATTERNS: dict[str, tuple[str, str]] = {
    "lsoa": ("[EW]01[0-9]{6}", "an LSOA code (E01 or W01 and six digits)"),
    "msoa": ("[EW]02[0-9]{6}", "an MSOA code (E02 or W02 and six digits)"),
    "lad": ("E0[6-9][0-9]{6}|W06[0-9]{6}",
            "a local authority district code (E06, E07, E08, E09 or W06 and six digits)"),
    "region": ("E12[0-9]{6}|W92[0-9]{6}",
               "a region code (E12 and six digits, or W92000004 for Wales)"),
}

# A count of people: digits, optionally grouped in thousands ("10,261").
COUNT_PATTERN = "[0-9]+|[0-9]{1,3}(,[0-9]{3})+"

NOMIS_SUFFIX = "; measures: Value"
NOMIS_ID_COLUMNS = ("date", "geography", "geography code")
# The loaded geography may cover less than the file (a London lookup against an England and
# Wales table), so the action says how to get past an unknown code that is right.
PARTIAL_GEOGRAPHY_ACTION = (
    "Check the code against the ONS code list for these boundaries. If the file covers more "
    "areas than the geography loaded (say England and Wales against a London lookup), load "
    "the complete code list first, or import with --skip-invalid to keep only the loaded areas")
RE_ACTION = ("The file may have been edited or damaged: download it again from the "
             "publisher (ONS or Nomis)")


@dataclass(frozen=True)
class ValueColumn:
    """One count column of a layout and the group of people it counts."""

    column: str
    sex: str
    characteristic: str  # 'total' | 'age' | 'ethnic_group'
    group_label: str
    age_from: int | None = None
    age_to: int | None = None
    group_level: str | None = None
    stored: bool = True  # False: checked against the stored columns, then left out


@dataclass(frozen=True)
class SumRule:
    """Within a row, ``total`` must equal the sum of ``parts``."""

    total: str
    parts: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class Layout:
    """What a recognised file holds and how to read it."""

    name: str
    source: str
    year: int
    period: str  # the reference month: June for mid-year estimates, March for a census
    code_column: str
    levels: tuple[str, ...]  # each row's level is the one whose code pattern it matches
    vintage: str  # the LSOA/MSOA boundaries the codes belong to
    other_columns: tuple[str, ...]
    values: tuple[ValueColumn, ...]
    sums: tuple[SumRule, ...] = ()
    fixed: tuple[tuple[str, str, str, str], ...] = ()  # column, required value, message, action

    @property
    def columns(self) -> list[str]:
        return [self.code_column, *self.other_columns, *(v.column for v in self.values)]


# -- age labels ------------------------------------------------------------------------

_AGE_FORMS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Aged under 1 year"), "under1"),
    (re.compile(r"Aged (\d+) years? and under"), "upto"),
    (re.compile(r"Aged (\d+) to (\d+) years"), "band"),
    (re.compile(r"Aged (\d+) years? and over"), "open"),
    (re.compile(r"Aged (\d+) years?"), "single"),
    (re.compile(r"(\d+)\+"), "open"),
    (re.compile(r"(\d+)-(\d+)"), "band"),
    (re.compile(r"(\d+)"), "single"),
]


def parse_age(label: str) -> tuple[int, int | None] | None:
    """The ages a column label covers, ``(from, to)``; ``to`` is None for "and over".

    Reads both ONS styles: "Aged 10 to 14 years", "Aged under 1 year", "Aged 90 years and
    over", and the short "10-14", "7", "90+". None when the label is not an age.
    """
    for pattern, form in _AGE_FORMS:
        m = pattern.fullmatch(label.strip())
        if not m:
            continue
        if form == "under1":
            return (0, 0)
        if form == "upto":
            return (0, int(m[1]))
        if form == "band":
            a, b = int(m[1]), int(m[2])
            return (a, b) if a <= b else None
        if form == "open":
            return (int(m[1]), None)
        return (int(m[1]), int(m[1]))
    return None


def age_label(age_from: int, age_to: int | None) -> str:
    """The stored label of an age group: '10-14', '16', '90+'."""
    if age_to is None:
        return f"{age_from}+"
    return str(age_from) if age_from == age_to else f"{age_from}-{age_to}"


def _partition_gap(ages: Sequence[tuple[int, int | None]]) -> str | None:
    """Why ``ages`` do not cover every age from 0 upwards exactly once, or None if they do."""
    spans = sorted(ages, key=lambda a: a[0])
    expected = 0
    for i, (a, b) in enumerate(spans):
        if a != expected:
            return f"ages from {expected} are {'missing' if a > expected else 'counted twice'}"
        if b is None:
            if i != len(spans) - 1:
                return f"the open group '{a}+' is not the oldest"
            return None
        expected = b + 1
    return f"there is no open-ended oldest group (such as '{expected}+')"


def _age_values(name: str, columns: Sequence[tuple[str, str]], sex: str = "persons"
                ) -> list[ValueColumn]:
    """Age ValueColumns from (column, label) pairs that must cover all ages exactly once."""
    values = []
    for column, label in columns:
        ages = parse_age(label)
        if ages is None:
            raise _file_error(name, f"has a column that is not an age group: {column!r}",
                              "Check you chose the right format for this file", column=column)
        values.append(ValueColumn(column, sex, "age", age_label(*ages), ages[0], ages[1]))
    gap = _partition_gap([(v.age_from or 0, v.age_to) for v in values])
    if gap:
        raise _file_error(name, f"has age columns that do not cover every age once: {gap}",
                          "Check no age column was deleted or duplicated; download the file "
                          "again")
    return values


# -- the layouts -----------------------------------------------------------------------

def _file_error(name: str, message: str, action: str, column: str | None = None) -> InputError:
    return InputError([Problem(name, None if column is None else 1, column, None, message,
                               action)])


MIDYEAR_IN_NAME = re.compile(r"mid-?(\d{4})", re.IGNORECASE)


def _midyear(name: str) -> int:
    m = MIDYEAR_IN_NAME.search(name)
    if not m:
        raise _file_error(
            name, "does not say which year it estimates: ONS small area estimates carry the "
            "year only in the workbook's title",
            "Put the year in the file name as midYYYY, e.g. london_lsoa11_mid2019_population.csv")
    return int(m[1])


def _sape_vintage(year: int) -> str:
    # ONS published mid-year small area estimates on 2011 LSOAs/MSOAs up to mid-2020 and on
    # 2021 boundaries from mid-2021.
    return "2011" if year <= 2020 else "2021"


SAPE_SEXES = {"Persons": "persons", "Males": "male", "Females": "female"}
SAPE_BROAD = re.compile(r"(Persons|Males|Females)_(.+)")


def _sape_lsoa_broad(name: str, header: list[str]) -> Layout | None:
    """LSOA11CD, names, then ``<Sex>_All-Ages`` and ``<Sex>_<band>`` for three sexes."""
    if "LSOA11CD" not in header or "Persons_All-Ages" not in header:
        return None
    year = _midyear(name)
    other = tuple(c for c in ("LSOA11NM", "MSOA11CD", "MSOA11NM", "LAD11CD", "LAD11NM")
                  if c in header)
    by_sex: dict[str, list[tuple[str, str]]] = {}
    for c in header:
        m = SAPE_BROAD.fullmatch(c)
        if m and m[2] != "All-Ages":
            by_sex.setdefault(m[1], []).append((c, m[2]))
    values: list[ValueColumn] = []
    sums: list[SumRule] = []
    for sex_col, sex in SAPE_SEXES.items():
        total = f"{sex_col}_All-Ages"
        if total not in header:
            continue
        values.append(ValueColumn(total, sex, "total", "all"))
        bands = _age_values(name, by_sex.get(sex_col, []), sex)
        values += bands
        sums.append(SumRule(total, tuple(b.column for b in bands),
                            f"is not the sum of the {sex_col} age bands in this row"))
    if "Males_All-Ages" in header and "Females_All-Ages" in header:
        sums.append(SumRule("Persons_All-Ages", ("Males_All-Ages", "Females_All-Ages"),
                            "is not Males_All-Ages + Females_All-Ages in this row"))
    return Layout("ons-sape-lsoa-broad-age", f"ONS mid-{year} SAPE", year, f"{year}-06",
                  "LSOA11CD", ("lsoa",), "2011", other, tuple(values), tuple(sums))


# Descriptive columns ONS puts beside the code in its small area estimate sheets.
SAPE_DESCRIPTIVE = ("MSOA Name", "LSOA Name", "LA Code (2018 boundaries)",
                    "LA name (2018 boundaries)", "LA Code (2021 boundaries)",
                    "LA name (2021 boundaries)")


def _sape_single_year(name: str, header: list[str]) -> Layout | None:
    """``MSOA Code`` (or ``LSOA Code``), ``Population`` or ``All Ages``, then 0 ... 90+."""
    code = next((c for c in ("MSOA Code", "LSOA Code") if c in header), None)
    total = next((c for c in ("Population", "All Ages") if c in header), None)
    if code is None or total is None:
        return None
    year = _midyear(name)
    other = tuple(c for c in SAPE_DESCRIPTIVE if c in header)
    ages = _age_values(name, [(c, c) for c in header if c not in {code, total, *other}])
    level = "msoa" if code == "MSOA Code" else "lsoa"
    return Layout(f"ons-sape-{level}-single-year", f"ONS mid-{year} SAPE", year, f"{year}-06",
                  code, (level,), _sape_vintage(year), other,
                  (ValueColumn(total, "persons", "total", "all"), *ages),
                  (SumRule(total, tuple(a.column for a in ages),
                           "is not the sum of the single-year age columns in this row"),))


def _age_table(name: str, total: str, age_columns: list[tuple[str, str]]
               ) -> tuple[list[ValueColumn], list[SumRule]]:
    """Values and sums for a census age table whose columns may mix single years and bands.

    Where single years are present (TS007) only they are stored, with the oldest open group;
    each band is checked against the single years it spans, then left out. Otherwise (TS007A)
    the bands are the stored groups.
    """
    parsed = []
    for column, label in age_columns:
        ages = parse_age(label)
        if ages is None:
            raise _file_error(name, f"has a column that is not an age group: {column!r}",
                              "Check you chose the right format for this file", column=column)
        parsed.append((column, label, ages))
    singles = [p for p in parsed if p[2][0] == p[2][1]]
    if singles:
        oldest = max((p for p in parsed if p[2][1] is None), key=lambda p: p[2][0],
                     default=None)
        kept = singles + ([oldest] if oldest else [])
    else:
        kept = parsed
    stored = _age_values(name, [(c, lab) for c, lab, _ in kept])
    kept_columns = {c for c, _, _ in kept}
    sums = [SumRule(total, tuple(v.column for v in stored),
                    f"is not the sum of the {'single-year' if singles else 'five-year'} age "
                    "columns in this row")]
    values = [ValueColumn(total, "persons", "total", "all"), *stored]
    for column, _, (a, b) in parsed:
        if column in kept_columns:
            continue
        inside = tuple(v.column for v in stored if (v.age_from or 0) >= a
                       and (b is None or (v.age_to is not None and v.age_to <= b)))
        values.append(ValueColumn(column, "persons", "age", age_label(a, b), a, b,
                                  stored=False))
        sums.append(SumRule(column, inside,
                            f"is not the sum of the single years {age_label(a, b)} in this row"))
    return values, sums


# Census ethnic group classifications: (high-level group, its detailed groups), as labelled
# by Nomis after the "Ethnic group: " prefix.
TS021_GROUPS: list[tuple[str, list[str]]] = [
    ("Asian, Asian British or Asian Welsh",
     ["Bangladeshi", "Chinese", "Indian", "Pakistani", "Other Asian"]),
    ("Black, Black British, Black Welsh, Caribbean or African",
     ["African", "Caribbean", "Other Black"]),
    ("Mixed or Multiple ethnic groups",
     ["White and Asian", "White and Black African", "White and Black Caribbean",
      "Other Mixed or Multiple ethnic groups"]),
    ("White",
     ["English, Welsh, Scottish, Northern Irish or British", "Irish",
      "Gypsy or Irish Traveller", "Roma", "Other White"]),
    ("Other ethnic group", ["Arab", "Any other ethnic group"]),
]
TS021_TOTAL = "Total: All usual residents"

# 2011: the detailed groups carry a longer parent name than the high-level column.
QS201EW_GROUPS: list[tuple[str, list[str]]] = [
    ("White", ["White: English/Welsh/Scottish/Northern Irish/British", "White: Irish",
               "White: Gypsy or Irish Traveller", "White: Other White"]),
    ("Mixed", ["Mixed/multiple ethnic group: White and Black Caribbean",
               "Mixed/multiple ethnic group: White and Black African",
               "Mixed/multiple ethnic group: White and Asian",
               "Mixed/multiple ethnic group: Other Mixed"]),
    ("Asian", ["Asian/Asian British: Indian", "Asian/Asian British: Pakistani",
               "Asian/Asian British: Bangladeshi", "Asian/Asian British: Chinese",
               "Asian/Asian British: Other Asian"]),
    ("Black", ["Black/African/Caribbean/Black British: African",
               "Black/African/Caribbean/Black British: Caribbean",
               "Black/African/Caribbean/Black British: Other Black"]),
    ("Other", ["Other ethnic group: Arab", "Other ethnic group: Any other ethnic group"]),
]
QS201EW_TOTAL = "All categories: Ethnic group"


def _ethnic_table(name: str, header_labels: dict[str, str], prefix: str, total: str,
                  groups: list[tuple[str, list[str]]], detailed_prefixed: bool
                  ) -> tuple[list[ValueColumn], list[SumRule]]:
    """Values and sums for an ethnic group table; every category must be present."""
    by_label = {label: column for column, label in header_labels.items()}
    expected = [total] + [g for g, _ in groups] + [
        (d if not detailed_prefixed else f"{g}: {d}") for g, ds in groups for d in ds]
    missing = [label for label in expected if label not in by_label]
    if missing:
        raise InputError([Problem(name, 1, f"{prefix}{label}", None,
                                  "required column is missing",
                                  "Download the complete table from Nomis") for label in missing])
    extra = [column for column, label in header_labels.items() if label not in set(expected)]
    if extra:
        raise InputError([Problem(name, 1, column, None, "unexpected column",
                                  "Check you chose the right format for this file")
                          for column in extra])
    values = [ValueColumn(by_label[total], "persons", "total", "all")]
    sums = [SumRule(by_label[total], tuple(by_label[g] for g, _ in groups),
                    f"is not the sum of the {len(groups)} high-level ethnic groups in this row")]
    for group, details in groups:
        values.append(ValueColumn(by_label[group], "persons", "ethnic_group", group,
                                  group_level="high"))
        detail_columns = []
        for d in details:
            label = f"{group}: {d}" if detailed_prefixed else d
            values.append(ValueColumn(by_label[label], "persons", "ethnic_group", label,
                                      group_level="detailed"))
            detail_columns.append(by_label[label])
        sums.append(SumRule(by_label[group], tuple(detail_columns),
                            "is not the sum of its detailed ethnic groups in this row"))
    return values, sums


def _nomis(name: str, header: list[str]) -> Layout | None:
    """A Census table from the Nomis bulk download: date, geography, geography code, counts.

    Column headings are ``<Variable>: <category>``, with ``; measures: Value`` appended in
    some downloads. Which table it is follows from the variable and its categories.
    """
    if not all(c in header for c in NOMIS_ID_COLUMNS):
        return None
    other = [c for c in NOMIS_ID_COLUMNS if c != "geography code"]
    counts = [c for c in header if c not in NOMIS_ID_COLUMNS and c != "Rural Urban"]
    stripped = {c: c.removesuffix(NOMIS_SUFFIX) for c in counts}
    fixed: list[tuple[str, str, str, str]] = []
    if counts and all(s.startswith("Age: ") for s in stripped.values()):
        labels = {c: s.removeprefix("Age: ") for c, s in stripped.items()}
        total = next((c for c, lab in labels.items() if lab == "Total"), None)
        if total is None:
            raise _file_error(name, "has no 'Age: Total' column",
                              "Download the complete table from Nomis", column="Age: Total")
        ages = [(c, lab) for c, lab in labels.items() if c != total]
        singles = any((a := parse_age(lab)) is not None and a[0] == a[1] for _, lab in ages)
        table = "TS007" if singles else "TS007A"
        values, sums = _age_table(name, total, ages)
        census = 2021
    elif counts and all(s.startswith("Ethnic group: ") for s in stripped.values()):
        table, census = "TS021", 2021
        labels = {c: s.removeprefix("Ethnic group: ") for c, s in stripped.items()}
        values, sums = _ethnic_table(name, labels, "Ethnic group: ", TS021_TOTAL,
                                     TS021_GROUPS, detailed_prefixed=True)
    elif counts and all(s.startswith("Ethnic Group: ") for s in stripped.values()):
        table, census = "QS201EW", 2011
        labels = {c: s.removeprefix("Ethnic Group: ") for c, s in stripped.items()}
        values, sums = _ethnic_table(name, labels, "Ethnic Group: ", QS201EW_TOTAL,
                                     QS201EW_GROUPS, detailed_prefixed=False)
    else:
        return None
    if "Rural Urban" in header:
        other.append("Rural Urban")
        # Nomis can split each area into urban and rural rows; only the all-area row may be
        # loaded, or people would be counted more than once.
        fixed.append(("Rural Urban", "Total",
                      "is a rural/urban breakdown; only rows for the whole area ('Total') "
                      "can be loaded", "Download the table again with Rural Urban = Total"))
    fixed.insert(0, ("date", str(census),
                     f"is not {census}: Census {census} table {table} counts people on census "
                     "day", "Check you chose the right file; correct the date column"))
    return Layout(f"census{census}-{table.lower()}", f"Census {census} {table}", census,
                  f"{census}-03", "geography code", ("lsoa", "msoa", "lad", "region"),
                  str(census), tuple(other), tuple(values), tuple(sums), tuple(fixed))


def _census2021_msoa_single_year(name: str, header: list[str]) -> Layout | None:
    """``msoa21nm, msoa21cd, Total, Aged under 1 year, ..., Aged 100 years and over``.

    Census 2021 TS007 at MSOA level, reshaped (short column names) by a third party; the
    counts are as published.
    """
    if "msoa21cd" not in header or "Total" not in header:
        return None
    other = tuple(c for c in ("msoa21nm",) if c in header)
    ages = _age_values(name, [(c, c) for c in header if c not in {"msoa21cd", "Total", *other}])
    return Layout("census2021-ts007-msoa-reshaped", "Census 2021 TS007", 2021, "2021-03",
                  "msoa21cd", ("msoa",), "2021", other,
                  (ValueColumn("Total", "persons", "total", "all"), *ages),
                  (SumRule("Total", tuple(a.column for a in ages),
                           "is not the sum of the single-year age columns in this row"),))


DETECTORS = (_sape_lsoa_broad, _sape_single_year, _nomis, _census2021_msoa_single_year)
KNOWN_LAYOUTS = (
    "ONS mid-year LSOA estimates in broad bands (LSOA11CD, Persons_All-Ages, ...); "
    "ONS mid-year estimates by single year (MSOA Code, Population, 0 ... 90+); "
    "Nomis Census 2021 TS007, TS007A, TS021 or Census 2011 QS201EW bulk files "
    "(date, geography, geography code, ...); Census 2021 single year by MSOA "
    "(msoa21nm, msoa21cd, Total, Aged under 1 year, ...)"
)


def detect_layout(path: Path) -> Layout:
    """The layout the file's header matches; ``InputError`` (file-level) if none does."""
    header = peek_header(path)
    for detect in DETECTORS:
        layout = detect(path.name, header)
        if layout is not None:
            return layout
    # Let the strict reader report an empty or mis-encoded file first.
    read_csv(path, (), allow_extra=True)
    raise _file_error(path.name, "is not a population layout this format knows",
                      f"Known layouts: {KNOWN_LAYOUTS}")


def q(column: str) -> str:
    """A column name quoted for SQL."""
    return '"' + column.replace('"', '""') + '"'


def s(value: str) -> str:
    """A string literal for SQL."""
    return "'" + value.replace("'", "''") + "'"


class Population:
    format: ClassVar[str] = "population"
    description: ClassVar[str] = (
        "ONS population estimates and Census 2021/2011 age and ethnic group tables "
        "(LSOA, MSOA, local authority, region)")
    dataset: ClassVar[str] = "population"

    def parse(self, path: Path, ref: ReferenceData) -> Parsed:
        layout = detect_layout(path)
        text = read_csv(path, layout.columns)
        name = text.name
        raw = with_source_row(text.table)
        con = duckdb.connect()
        try:
            return self._parse(con, name, raw, layout, ref, text.had_bom)
        finally:
            con.close()

    def _parse(self, con: duckdb.DuckDBPyConnection, name: str, raw: pa.Table,
               layout: Layout, ref: ReferenceData, had_bom: bool) -> Parsed:
        con.register("raw", raw)
        con.execute(
            "CREATE MACRO people(x) AS CASE WHEN regexp_full_match(trim(x), "
            f"'{COUNT_PATTERN}') THEN TRY_CAST(replace(trim(x), ',', '') AS BIGINT) END")
        code = q(layout.code_column)
        level_case = "CASE " + " ".join(
            f"WHEN regexp_full_match(trim({code}), '{AREA_PATTERNS[lv][0]}') THEN '{lv}'"
            for lv in layout.levels) + " END"
        con.execute(f"""
            CREATE VIEW typed AS SELECT *, trim({code}) AS __code, {level_case} AS __level,
                row_number() OVER (PARTITION BY trim({code}) ORDER BY source_row)
                    AS __occurrence
            FROM raw""")
        checks = self._checks(con, layout, ref)
        problems = run_checks(con, "typed", name, checks)
        bad_rows = sorted({p.row for p in problems if p.row is not None})
        con.register("bad", pa.table({"row": pa.array(bad_rows, pa.int64())}))
        stored = [v for v in layout.values if v.stored]
        con.register("groups", pa.table({
            "col": [v.column for v in stored],
            "ord": list(range(len(stored))),
            "sex": [v.sex for v in stored],
            "characteristic": [v.characteristic for v in stored],
            "group_label": [v.group_label for v in stored],
            "age_from": pa.array([v.age_from for v in stored], pa.int32()),
            "age_to": pa.array([v.age_to for v in stored], pa.int32()),
            "group_level": pa.array([v.group_level for v in stored], pa.string()),
        }))
        value_list = ", ".join(q(v.column) for v in stored)
        clean = con.sql(f"""
            WITH long AS (
                UNPIVOT (SELECT __code, __level, source_row, {value_list} FROM typed
                         WHERE source_row NOT IN (SELECT row FROM bad))
                ON {value_list} INTO NAME col VALUE raw_value
            )
            SELECT
                __code AS area_code,
                __level AS area_level,
                CASE WHEN __level IN ('lsoa', 'msoa') THEN {s(layout.vintage)} END::VARCHAR
                    AS area_vintage,
                {layout.year}::INTEGER AS year,
                {s(layout.source)}::VARCHAR AS source,
                g.sex, g.characteristic, g.group_label, g.age_from, g.age_to, g.group_level,
                people(raw_value)::BIGINT AS count,
                source_row
            FROM long JOIN groups g USING (col)
            ORDER BY source_row, g.ord
        """).to_arrow_table()
        levels = [r[0] for r in con.execute(
            "SELECT DISTINCT __level FROM typed WHERE __level IS NOT NULL AND source_row NOT IN "
            "(SELECT row FROM bad) ORDER BY 1").fetchall()]
        return Parsed(
            tables={self.dataset: clean},
            rows_read=raw.num_rows,
            problems=problems,
            period_start=layout.period,
            period_end=layout.period,
            meta={
                "layout": layout.name,
                "source": layout.source,
                "year": layout.year,
                "area_levels": levels,
                "area_vintage": layout.vintage if {"lsoa", "msoa"} & set(levels) else None,
                "area_codes_checked": {
                    lv: "against the loaded geography" if ref.knows(*self._ref_key(lv, layout))
                    else "by pattern only (no geography loaded)" for lv in levels},
                "columns_checked_not_stored": [v.column for v in layout.values if not v.stored],
                "had_bom": had_bom,
            },
        )

    @staticmethod
    def _ref_key(level: str, layout: Layout) -> tuple[str, str | None]:
        return (level, layout.vintage if level in ("lsoa", "msoa") else None)

    def _checks(self, con: duckdb.DuckDBPyConnection, layout: Layout,
                ref: ReferenceData) -> list[Check]:
        code = layout.code_column
        wanted = " or ".join(AREA_PATTERNS[lv][1] for lv in layout.levels)
        checks = [
            Check(f"trim({q(code)}) = ''", code, "is empty: every row needs an area code",
                  "Fill in the area code, or delete the row"),
            Check(f"trim({q(code)}) <> '' AND __level IS NULL", code, f"is not {wanted}",
                  "Correct the code; check you chose the right file"),
            Check("__code <> '' AND __occurrence > 1", code,
                  "repeats an area code already given on an earlier row",
                  "Keep one row per area, or people are counted twice"),
        ]
        for column, required, message, action in layout.fixed:
            checks.append(Check(f"trim({q(column)}) <> {s(required)}", column, message, action))
        known_rows: list[tuple[str, str]] = []
        for lv in layout.levels:
            key = self._ref_key(lv, layout)
            if not ref.knows(*key):
                continue
            known = ref.codes(*key)
            if lv == "region":
                # ONS lists Wales (W92000004, a country) among the regions of its tables.
                known = known | ref.codes("country")
            known_rows += [(lv, c) for c in known]
            what = f"{key[1]} {lv.upper()}" if key[1] else {"lad": "local authority",
                                                           "region": "region"}.get(lv, lv)
            checks.append(Check(
                f"__level = '{lv}' AND __code NOT IN "
                f"(SELECT code FROM known_codes WHERE level = '{lv}')",
                code, f"is not a known {what} code",
                PARTIAL_GEOGRAPHY_ACTION))
        if known_rows:
            con.register("known_codes", pa.table({
                "level": [r[0] for r in known_rows], "code": [r[1] for r in known_rows]}))
        for v in layout.values:
            checks.append(Check(
                f"people({q(v.column)}) IS NULL", v.column,
                "is not a count of people (a whole number, 0 or more)",
                "Correct the count; ONS publishes every cell, so none may be blank"))
        # Every real file in the shared data adds up exactly, row by row, in every layout: the
        # mid-year bands, Males + Females, and the Census tables, whose cell-key perturbation
        # ONS applies so that each table stays additive. So a row that does not add up is an
        # error (a damaged or hand-edited file), not disclosure control.
        for rule in layout.sums:
            parsed_all = " AND ".join(f"people({q(c)}) IS NOT NULL"
                                      for c in (rule.total, *rule.parts))
            total = " + ".join(f"people({q(c)})" for c in rule.parts) or "0"
            checks.append(Check(
                f"{parsed_all} AND people({q(rule.total)}) <> {total}",
                rule.total, rule.message, RE_ACTION))
        return checks
