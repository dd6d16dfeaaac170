"""Transport hubs: where stations are, and how many people pass through them.

Violence clusters around busy interchanges, where young people travel to and from school, so
a VRU looks at offences near stations. Three layouts, recognised from the header:

- TfL's station list (``NLC, NAME, EASTING, NORTHING, LINES, NETWORK, ..., Zone, x, y``):
  Underground, Elizabeth line, Overground, DLR and Tramlink stations, with the grid reference
  on the British National Grid (OSGB36, metres) and ``x``/``y`` as longitude/latitude.
  The station id is TfL's National Location Code (NLC).
- National Rail stations from the DfT's NaPTAN ``RailReferences.csv`` (``AtcoCode,
  TiplocCode, CrsCode, StationName, ..., Easting, Northing``), optionally with
  ``borough_code``, ``longitude`` and ``latitude`` added. The station id is the ATCO code
  (9100 + TIPLOC). Without longitude/latitude they are computed from the grid reference.
- TfL's annual entries and exits per station (``NLC, Station, En/Ex 2007, ...``): no
  locations, so it becomes the ``station_usage`` dataset, joined to ``stations`` by NLC.

Publishers: Transport for London (TfL Open Data), Department for Transport (OGL v3).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from vru.adapters.sources.base import Parsed, ReferenceData
from vru.adapters.sources.checks import ENGLAND_WALES_BOUNDS, Check, run_checks, with_source_row
from vru.adapters.sources.csvfile import peek_header, read_csv
from vru.adapters.sources.population import (
    AREA_PATTERNS,
    PARTIAL_GEOGRAPHY_ACTION,
    q,
    s,
)
from vru.domain.problems import InputError, Problem

# The British National Grid's extent, generously (it covers Great Britain).
MAX_EASTING = 700_000
MAX_NORTHING = 1_300_000
# Two positions given for one station further apart than this mean one of them is wrong.
COORDINATE_GAP_WARNING_M = 1_000.0
NUMBER = r"-?[0-9]+(\.[0-9]+)?"

TFL_REQUIRED = ("NLC", "NAME", "EASTING", "NORTHING", "LINES", "NETWORK", "Zone", "x", "y")
# TfL's NETWORK column names only the Underground or Tramlink; the other networks a station
# is on are in these yes/no columns.
TFL_NETWORK_FLAGS = ("London Underground", "Elizabeth Line", "London Overground", "DLR")
TFL_OPTIONAL = (*TFL_NETWORK_FLAGS, "Night Tube?")

NAPTAN_REQUIRED = ("AtcoCode", "StationName", "Easting", "Northing")
NAPTAN_OPTIONAL = ("TiplocCode", "CrsCode", "StationNameLang", "GridType", "CreationDateTime",
                   "ModificationDateTime", "RevisionNumber", "Modification", "borough_name",
                   "borough_code", "longitude", "latitude")

USAGE_YEAR = re.compile(r"En/Ex (\d{4})")
# "" is the unnamed index column a pandas export writes first.
USAGE_OPTIONAL = ("", "LINES", "NETWORK", *TFL_OPTIONAL)


@dataclass(frozen=True)
class Layout:
    name: str
    dataset: str
    id_column: str
    id_kind: str  # 'nlc' | 'atco'
    name_column: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    easting: str | None = None
    northing: str | None = None
    longitude: str | None = None
    latitude: str | None = None
    year_columns: tuple[str, ...] = ()


ID_PATTERNS = {
    "nlc": ("[0-9]{1,4}", "is not a National Location Code (NLC): a whole number of up to four "
                          "digits"),
    "nlc_float": ("[0-9]{1,4}(\\.0+)?", "is not a National Location Code (NLC): a whole "
                                        "number of up to four digits"),
    "atco": ("[0-9]{3}[0-9A-Z]{1,12}", "is not an ATCO code (three digits then letters or "
                                       "digits, e.g. 9100HTRWTM5)"),
}


def _layout(path: Path) -> Layout:
    header = peek_header(path)
    if "AtcoCode" in header:
        with_lonlat = "longitude" in header and "latitude" in header
        return Layout("naptan-rail-references", "stations", "AtcoCode", "atco", "StationName",
                      NAPTAN_REQUIRED, NAPTAN_OPTIONAL, "Easting", "Northing",
                      "longitude" if with_lonlat else None, "latitude" if with_lonlat else None)
    if "NLC" in header and "EASTING" in header:
        return Layout("tfl-stations", "stations", "NLC", "nlc", "NAME", TFL_REQUIRED,
                      TFL_OPTIONAL, "EASTING", "NORTHING", "x", "y")
    years = tuple(c for c in header if USAGE_YEAR.fullmatch(c))
    if "NLC" in header and years:
        return Layout("tfl-entry-exit", "station_usage", "NLC", "nlc_float", "Station",
                      ("NLC", "Station", *years), USAGE_OPTIONAL, year_columns=years)
    read_csv(path, (), allow_extra=True)  # report an empty or mis-encoded file first
    raise InputError([Problem(
        path.name, None, None, None, "is not a station layout this format knows",
        "Known layouts: TfL stations (NLC, NAME, EASTING, NORTHING, ..., x, y); NaPTAN rail "
        "references (AtcoCode, ..., Easting, Northing); TfL entries and exits (NLC, Station, "
        "En/Ex 2007, ...)")])


def _floats(column: pa.ChunkedArray) -> list[float]:
    """Text to numbers for the coordinate cross-check; NaN where a value is not a number
    (the SQL checks report those)."""
    out = []
    for v in column.to_pylist():
        text = (v or "").strip()
        out.append(float(text) if re.fullmatch(NUMBER, text) else math.nan)
    return out


def _grid_positions(raw: pa.Table, layout: Layout) -> pa.Table:
    """Add ``__lon``/``__lat`` computed from the grid reference and, when the file also gives
    longitude/latitude, ``__gap_m``: how far apart the two positions are, in metres."""
    from pyproj import Transformer  # only station files need it

    assert layout.easting and layout.northing
    e, n = _floats(raw[layout.easting]), _floats(raw[layout.northing])
    to_wgs84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    lon, lat = to_wgs84.transform(e, n)
    gap: list[float | None] = [None] * raw.num_rows
    if layout.longitude and layout.latitude:
        to_grid = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
        ge, gn = to_grid.transform(_floats(raw[layout.longitude]),
                                   _floats(raw[layout.latitude]))
        gap = [math.hypot(a - b, c - d) for a, b, c, d in zip(ge, e, gn, n, strict=True)]

    def clean(values: Sequence[float | None]) -> pa.Array:
        return pa.array([v if v is not None and math.isfinite(v) else None for v in values],
                        pa.float64())

    return (raw.append_column("__lon", clean(list(lon)))
               .append_column("__lat", clean(list(lat)))
               .append_column("__gap_m", clean(gap)))


class Stations:
    format: ClassVar[str] = "stations"
    description: ClassVar[str] = (
        "Station locations (TfL station list, NaPTAN rail references) and TfL annual "
        "entries and exits")

    def parse(self, path: Path, ref: ReferenceData) -> Parsed:
        layout = _layout(path)
        text = read_csv(path, layout.required, optional=layout.optional)
        raw = with_source_row(text.table)
        if layout.easting:
            raw = _grid_positions(raw, layout)
        con = duckdb.connect()
        try:
            con.register("raw", raw)
            con.execute(f"CREATE MACRO number(x) AS CASE WHEN regexp_full_match(trim(x), "
                        f"'{NUMBER}') THEN TRY_CAST(trim(x) AS DOUBLE) END")
            pattern = ID_PATTERNS[layout.id_kind][0]
            con.execute(f"""
                CREATE VIEW ids AS SELECT *,
                    regexp_replace(trim({q(layout.id_column)}), '\\.0+$', '') AS __id,
                    row_number() OVER (
                        PARTITION BY regexp_replace(trim({q(layout.id_column)}), '\\.0+$', '')
                        ORDER BY source_row) AS __occurrence
                FROM raw""")
            checks = self._id_checks(layout, pattern)
            if layout.dataset == "stations":
                con.execute("CREATE VIEW typed AS SELECT * FROM ids")
                checks += self._location_checks(con, layout, text.header, ref)
            else:
                checks += self._usage_checks(con, layout)
            problems = run_checks(con, "typed", text.name, checks)
            bad_rows = sorted({p.row for p in problems if p.row is not None})
            con.register("bad", pa.table({"row": pa.array(bad_rows, pa.int64())}))
            if layout.dataset == "stations":
                table, warnings, period = self._stations(con, layout, text.header, path.name)
            else:
                table, warnings, period = self._usage(con, layout, path.name)
        finally:
            con.close()
        return Parsed(
            tables={layout.dataset: table},
            rows_read=raw.num_rows,
            problems=problems,
            period_start=period[0],
            period_end=period[1],
            meta={
                "layout": layout.name,
                "warnings": warnings,
                "had_bom": text.had_bom,
            },
        )

    # -- checks --------------------------------------------------------------------------

    @staticmethod
    def _id_checks(layout: Layout, pattern: str) -> list[Check]:
        col = layout.id_column
        return [
            Check(f"trim({q(col)}) = ''", col, "is empty: every station needs its id",
                  "Fill in the station's code"),
            Check(f"trim({q(col)}) <> '' AND NOT regexp_full_match(trim({q(col)}), "
                  f"'{pattern}')", col, ID_PATTERNS[layout.id_kind][1], "Correct the code"),
            Check(f"trim({q(layout.name_column)}) = ''", layout.name_column,
                  "is empty: every station needs a name", "Fill in the station name"),
        ]

    @staticmethod
    def _location_checks(con: duckdb.DuckDBPyConnection, layout: Layout, header: list[str],
                         ref: ReferenceData) -> list[Check]:
        assert layout.easting and layout.northing
        lon0, lat0, lon1, lat1 = ENGLAND_WALES_BOUNDS
        checks: list[Check] = []
        for col, top, what in ((layout.easting, MAX_EASTING, "an easting"),
                               (layout.northing, MAX_NORTHING, "a northing")):
            checks += [
                Check(f"number({q(col)}) IS NULL", col, f"is not {what} in metres (a number)",
                      "Give the British National Grid reference in metres"),
                Check(f"coalesce(number({q(col)}) NOT BETWEEN 0 AND {top}, FALSE)", col,
                      f"is outside the British National Grid ({what} runs from 0 to "
                      f"{top:,} m)", "Check the columns are eastings/northings (OSGB36), not "
                      "longitude/latitude"),
            ]
        if layout.longitude and layout.latitude:
            lon, lat = q(layout.longitude), q(layout.latitude)
            checks += [
                Check(f"number({lon}) IS NULL", layout.longitude,
                      "is not a longitude (a number)", "Give decimal degrees (WGS84)"),
                Check(f"number({lat}) IS NULL", layout.latitude,
                      "is not a latitude (a number)", "Give decimal degrees (WGS84)"),
                Check(f"number({lon}) IS NOT NULL AND number({lat}) IS NOT NULL AND "
                      f"(number({lon}) NOT BETWEEN {lon0} AND {lon1} OR "
                      f"number({lat}) NOT BETWEEN {lat0} AND {lat1})", layout.longitude,
                      "with the latitude, is outside England and Wales",
                      "Check longitude and latitude are not swapped, and are WGS84 degrees"),
            ]
        else:
            checks.append(Check(
                f"coalesce(number({q(layout.easting)}) BETWEEN 0 AND {MAX_EASTING} AND "
                f"number({q(layout.northing)}) BETWEEN 0 AND {MAX_NORTHING} AND "
                f"(__lon NOT BETWEEN {lon0} AND {lon1} OR __lat NOT BETWEEN {lat0} AND {lat1}),"
                " FALSE)",
                layout.easting, "with the northing, is outside England and Wales",
                "Only stations in England and Wales can be loaded"))
        if "GridType" in header:
            checks.append(Check(
                "trim(\"GridType\") NOT IN ('', 'U')", "GridType",
                "is not the British National Grid ('U'); Irish Grid references are not "
                "supported", "Load stations in Great Britain only"))
        if "Zone" in header:
            checks.append(Check(
                "NOT regexp_full_match(trim(\"Zone\"), '(-1|[0-9]+(,[0-9]+)*)?')", "Zone",
                "is not a fare zone (a number, zones separated by commas, or -1 for outside "
                "the zones)", "Correct the zone"))
        for flag in TFL_OPTIONAL:
            if flag in header:
                checks.append(Check(f"lower(trim({q(flag)})) NOT IN ('', 'yes', 'no')", flag,
                                    "is not Yes, No or empty", "Correct the value"))
        if "borough_code" in header:
            pattern = AREA_PATTERNS["lad"][0]
            checks.append(Check(
                f"trim(borough_code) <> '' AND NOT regexp_full_match(trim(borough_code), "
                f"'{pattern}')", "borough_code", f"is not {AREA_PATTERNS['lad'][1]}",
                "Correct the code, or leave it empty"))
            if ref.knows("lad"):
                con.register("known_lad", pa.table({"code": sorted(ref.codes("lad"))}))
                checks.append(Check(
                    f"regexp_full_match(trim(borough_code), '{pattern}') AND "
                    "trim(borough_code) NOT IN (SELECT code FROM known_lad)", "borough_code",
                    "is not a known local authority code", PARTIAL_GEOGRAPHY_ACTION))
        return checks

    @staticmethod
    def _usage_checks(con: duckdb.DuckDBPyConnection, layout: Layout) -> list[Check]:
        checks = [
            Check(f"trim({q(c)}) <> '' AND (number({q(c)}) IS NULL OR number({q(c)}) < 0)", c,
                  "is not a number of entries and exits (0 or more; empty when the station "
                  "was not counted that year)", "Correct the count")
            for c in layout.year_columns
        ]
        # A station listed twice (TfL's figures repeated once per network it is on) must not
        # count twice. Identical repeats are stored once; repeats that disagree are errors.
        signature = "concat_ws('|', " + ", ".join(
            f"coalesce(CAST(round(number({q(c)})) AS VARCHAR), trim({q(c)}))"
            for c in layout.year_columns) + ")"
        con.execute(f"""
            CREATE VIEW typed AS SELECT *,
                {signature} AS __signature,
                first_value({signature}) OVER (PARTITION BY __id ORDER BY source_row)
                    AS __first_signature
            FROM ids""")
        checks.append(Check(
            "__occurrence > 1 AND __signature <> __first_signature", layout.id_column,
            "repeats the NLC of an earlier row with different counts",
            "Keep one row per station, with its figures"))
        return checks

    # -- shaping -------------------------------------------------------------------------

    def _stations(self, con: duckdb.DuckDBPyConnection, layout: Layout, header: list[str],
                  source: str) -> tuple[pa.Table, list[str], tuple[str | None, str | None]]:
        has = set(header).__contains__
        if layout.id_kind == "nlc":
            flags = [f"CASE WHEN lower(trim({q(f)})) = 'yes' AND position({s(f)} IN "
                     f"\"NETWORK\") = 0 THEN {s(f)} END" for f in TFL_NETWORK_FLAGS if has(f)]
            listed = ", ".join(["nullif(trim(\"NETWORK\"), '')", *flags])
            network = f"nullif(concat_ws(', ', {listed}), '')"
            lines = "nullif(trim(\"LINES\"), '')"
            # TfL writes -1 for stations beyond the fare zones (Reading, Shenfield).
            zone = "nullif(nullif(trim(\"Zone\"), ''), '-1')"
        else:
            network, lines, zone = "'National Rail'", "NULL", "NULL"
        borough = "nullif(trim(borough_code), '')" if has("borough_code") else "NULL"
        lon = f"number({q(layout.longitude)})" if layout.longitude else "__lon"
        lat = f"number({q(layout.latitude)})" if layout.latitude else "__lat"
        table = con.sql(f"""
            SELECT
                __id AS station_id,
                trim({q(layout.name_column)}) AS name,
                {network}::VARCHAR AS network,
                {lines}::VARCHAR AS lines,
                {zone}::VARCHAR AS zone,
                number({q(layout.easting or '')}) AS easting,
                number({q(layout.northing or '')}) AS northing,
                {lon}::DOUBLE AS longitude,
                {lat}::DOUBLE AS latitude,
                {borough}::VARCHAR AS borough_code,
                {s(source)}::VARCHAR AS source,
                source_row
            FROM typed WHERE source_row NOT IN (SELECT row FROM bad)
            ORDER BY source_row
        """).to_arrow_table()
        warnings = []
        for row, sid, first in con.execute("""
                SELECT source_row, __id, first_value(source_row) OVER
                    (PARTITION BY __id ORDER BY source_row)
                FROM typed WHERE source_row NOT IN (SELECT row FROM bad) AND __id <> ''
                QUALIFY count(*) OVER (PARTITION BY __id) > 1 ORDER BY source_row""").fetchall():
            if row != first:
                warnings.append(f"row {row}: station id {sid} is also used by row {first}; "
                                "both are kept, but joins on the id will match both")
        if layout.longitude:
            for row, gap in con.execute(f"""
                    SELECT source_row, __gap_m FROM typed
                    WHERE source_row NOT IN (SELECT row FROM bad)
                      AND __gap_m > {COORDINATE_GAP_WARNING_M} ORDER BY source_row""").fetchall():
                warnings.append(
                    f"row {row}: {layout.easting}/{layout.northing} and "
                    f"{layout.longitude}/{layout.latitude} are {gap:,.0f} m apart, so one of "
                    "them is wrong; both are kept as published")
        return table, warnings, (None, None)

    def _usage(self, con: duckdb.DuckDBPyConnection, layout: Layout, source: str
               ) -> tuple[pa.Table, list[str], tuple[str | None, str | None]]:
        years = ", ".join(q(c) for c in layout.year_columns)
        # TfL's annualised figures are estimates (weighted counts, some with fractions or
        # floating-point noise such as 2041138.9999999998): rounded to whole people.
        table = con.sql(f"""
            WITH long AS (
                UNPIVOT (SELECT __id, {q(layout.name_column)} AS __name, source_row, {years}
                         FROM typed WHERE source_row NOT IN (SELECT row FROM bad)
                           AND __occurrence = 1)
                ON {years} INTO NAME col VALUE raw_value
            )
            SELECT __id AS station_id, trim(__name) AS name,
                CAST(regexp_extract(col, '[0-9]{{4}}') AS INTEGER) AS year,
                CAST(round(number(raw_value)) AS BIGINT) AS entries_exits,
                {s(source)}::VARCHAR AS source,
                source_row
            FROM long WHERE trim(raw_value) <> ''
            ORDER BY source_row, year
        """).to_arrow_table()
        warnings = [
            f"row {row}: repeats station {sid} ({name}) from row {first} with the same counts; "
            "stored once"
            for row, sid, name, first in con.execute(f"""
                SELECT source_row, __id, trim({q(layout.name_column)}), first_value(source_row) OVER
                    (PARTITION BY __id ORDER BY source_row) AS first
                FROM typed WHERE source_row NOT IN (SELECT row FROM bad)
                QUALIFY __occurrence > 1 ORDER BY source_row""").fetchall()]
        blank = con.execute(
            f"SELECT count(*) FROM (UNPIVOT (SELECT {years} FROM typed WHERE source_row NOT IN "
            f"(SELECT row FROM bad) AND __occurrence = 1) ON {years} INTO NAME col VALUE v) "
            "WHERE trim(v) = ''").fetchone()
        if blank and blank[0]:
            warnings.append(f"{blank[0]} station-years have no count (the station was not "
                            "open or not counted); they are left out")
        if table.num_rows == 0:
            return table, warnings, (None, None)
        span = pc.min_max(table["year"]).as_py()
        return table, warnings, (str(span["min"]), str(span["max"]))
