"""police.uk street-level crime: the monthly ``YYYY-MM-<force>-street.csv`` files.

Publisher: data.police.uk (Home Office and the 43 territorial forces), OGL v3.
Each row is one crime or anti-social behaviour incident, with an anonymised point snapped to
a map point and the 2011 LSOA it falls in. Rows with no location are valid (the publisher
withholds it); they are kept, counted, and left off maps.

Many files can be checked and converted together (``parse_texts``): their rows are put in
one table, tagged with their file, and every check and conversion runs once over all of
them. A row's checks look only at that row, so each file gets exactly the problems, rows and
figures it gets on its own; ``parse`` is ``parse_texts`` of one file.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from vru.adapters.sources.base import Parsed, ReferenceData
from vru.adapters.sources.checks import (
    ENGLAND_WALES_BOUNDS,
    Check,
    any_bad,
    may_need_trim,
    month_check,
    null_if_empty,
    run_checks_by_file,
    source_rows,
)
from vru.adapters.sources.csvfile import CsvText, read_csv, read_csv_bytes
from vru.domain.measures import CATEGORY_SCHEMES, normalise_category
from vru.domain.problems import Problem

COLUMNS = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
           "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category",
           "Context"]

FORCE_FROM_NAME = re.compile(r"^\d{4}-\d{2}-(?P<force>.+)-street\.csv$")

# Stored text columns: (stored name, source column, empty becomes NULL). ``crime_type`` is
# stored as written; ``measure``, ``month``, the coordinates and ``force`` are derived.
_TEXT = [("crime_id", "Crime ID", True), ("reported_by", "Reported by", False),
         ("falls_within", "Falls within", False), ("location", "Location", True),
         ("lsoa_code", "LSOA code", True), ("lsoa_name", "LSOA name", True),
         ("last_outcome", "Last outcome category", True), ("context", "Context", True)]
_TRIMMED = sorted({c for _n, c, _e in _TEXT} | {"Longitude", "Latitude"})
STORED = ["crime_id", "month", "reported_by", "falls_within", "force", "longitude",
          "latitude", "location", "lsoa_code", "lsoa_name", "crime_type", "measure",
          "last_outcome", "context", "source_row"]

# DuckDB connections kept for reuse: opening one costs ~15-25 ms, more than checking a
# small file. A connection is lent to one caller at a time, and nothing stays registered on
# it between calls. A forked child does not use (or close) its parent's connections.
_POOL: list[duckdb.DuckDBPyConnection] = []
_POOL_LOCK = threading.Lock()
_LEFT_BY_FORK: list[duckdb.DuckDBPyConnection] = []


def _forget_pool_in_child() -> None:
    _LEFT_BY_FORK.extend(_POOL)
    _POOL.clear()


os.register_at_fork(after_in_child=_forget_pool_in_child)


@contextmanager
def _connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection, from the pool when one is free."""
    with _POOL_LOCK:
        con = _POOL.pop() if _POOL else None
    if con is None:
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
    try:
        yield con
    except BaseException:
        con.close()  # in an unknown state: not lent again
        raise
    with _POOL_LOCK:
        _POOL.append(con)


@functools.lru_cache(maxsize=4)
def _codes_table(codes: frozenset[str]) -> pa.Table:
    return pa.table({"code": pa.array(sorted(codes), pa.string())})


def _q(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _checks(t: Callable[[str], str], known: bool) -> list[tuple[Check, str | None]]:
    """The row checks, each with the one column it reads (None when it reads several).
    ``t(column)`` is the SQL for the column trimmed (plain when no value of it needs
    trimming, which gives the same result faster)."""
    mapping = CATEGORY_SCHEMES["police_uk"]
    lon0, lat0, lon1, lat1 = ENGLAND_WALES_BOUNDS
    lon, lat, lsoa = t("Longitude"), t("Latitude"), t("LSOA code")
    checks: list[tuple[Check, str | None]] = [
        (month_check("Month"), "Month"),
        (Check(f"{t('Falls within')} = ''", "Falls within",
               "is empty: every row must name the force whose area it falls within",
               "Re-download the file from data.police.uk"), "Falls within"),
        (Check(f"({lon} = '') <> ({lat} = '')", "Latitude",
               "has only one of longitude and latitude",
               "Give both coordinates, or leave both empty for a crime with no location"), None),
        (Check(f"{lon} <> '' AND TRY_CAST(\"Longitude\" AS DOUBLE) IS NULL",
               "Longitude", "is not a number", "Correct the longitude (decimal degrees)"),
         "Longitude"),
        (Check(f"{lat} <> '' AND TRY_CAST(\"Latitude\" AS DOUBLE) IS NULL",
               "Latitude", "is not a number", "Correct the latitude (decimal degrees)"),
         "Latitude"),
        (Check(f"TRY_CAST(\"Longitude\" AS DOUBLE) IS NOT NULL AND "
               f"TRY_CAST(\"Latitude\" AS DOUBLE) IS NOT NULL AND "
               f"(TRY_CAST(\"Longitude\" AS DOUBLE) NOT BETWEEN {lon0} AND {lon1} OR "
               f"TRY_CAST(\"Latitude\" AS DOUBLE) NOT BETWEEN {lat0} AND {lat1})",
               "Longitude", "is outside England and Wales, so outside any police force area",
               "Check the coordinates are longitude/latitude (WGS84), not "
               "eastings/northings"), None),
        (Check(f"{lsoa} <> '' AND NOT regexp_full_match({lsoa}, '[EW]01[0-9]{{6}}')",
               "LSOA code", "is not an LSOA code (E01 or W01 followed by six digits)",
               "Correct the code; police.uk files use 2011 LSOA codes"), "LSOA code"),
        # ``__measure`` is the crime type's measure, mapped by
        # ``vru.domain.measures.normalise_category`` (each distinct value once, in Python).
        (Check('"__measure" IS NULL', "Crime type",
               "is a crime type with no mapping to a measure",
               f"Known crime types: {', '.join(sorted(mapping))}. Add a mapping to "
               "vru.domain.measures if police.uk has introduced a new one"), "Crime type"),
    ]
    if known:
        checks.append((Check(
            f"{lsoa} <> '' AND regexp_full_match({lsoa}, '[EW]01[0-9]{{6}}') AND "
            f"{lsoa} NOT IN (SELECT code FROM known_lsoa)",
            "LSOA code", "is not a known 2011 LSOA code",
            "Check the code against the ONS 2011 LSOA list; load the lookups first "
            "(vru data fetch lookups)"), "LSOA code"))
    return checks


def _coordinate(t: Callable[[str], str], column: str) -> str:
    """SQL for a stored coordinate: ``TRY_CAST(nullif(trim(x), '') AS DOUBLE)``. With no
    value to trim that is ``TRY_CAST(x AS DOUBLE)`` (an empty string casts to NULL), the
    very expression the checks use, which DuckDB then computes once for both."""
    if t(column) == _q(column):
        return f"TRY_CAST({_q(column)} AS DOUBLE)"
    return f"TRY_CAST(nullif({t(column)}, '') AS DOUBLE)"


def _numpy(column: pa.ChunkedArray) -> npt.NDArray[Any]:
    return np.asarray(column.to_numpy())


class PoliceUkStreet:
    format: ClassVar[str] = "police-uk-street"
    description: ClassVar[str] = "police.uk street-level crime, one month of one force"
    dataset: ClassVar[str] = "street_crime"

    def parse(self, path: Path, ref: ReferenceData) -> Parsed:
        return self.parse_texts([read_csv(path, COLUMNS)], ref)[0]

    def read_text(self, data: bytes, name: str) -> CsvText:
        """The file's bytes read strictly as ``parse`` reads the file (``InputError``)."""
        return read_csv_bytes(data, name, COLUMNS)

    def parse_texts(self, texts: Sequence[CsvText], ref: ReferenceData) -> list[Parsed]:
        """Check and convert files already read by ``read_csv`` (or ``read_text``), all in
        one pass: one ``Parsed`` per file, each exactly what ``parse`` gives for it alone."""
        if not texts:
            return []
        with _connection() as con:
            registered: list[str] = []
            try:
                return self._parse_texts(con, registered, texts, ref)
            finally:
                for name in registered:
                    con.unregister(name)

    def _parse_texts(self, con: duckdb.DuckDBPyConnection, registered: list[str],
                     texts: Sequence[CsvText], ref: ReferenceData) -> list[Parsed]:
        """Check and convert the rows of all ``texts`` together.

        A check that reads one column is a function of that column's value, so it is run
        on each distinct value once (a chunk of files has few distinct months, forces,
        crime types and LSOA codes), and rows holding a bad value are found by lookup. The
        checks that read several columns (the coordinates) run per row, in the same pass
        that converts the coordinates. Only for a file with a bad row are the checks run
        one by one over its rows (``run_checks_by_file``), which says what is wrong where,
        exactly as for the file alone.
        """
        sizes = [t.table.num_rows for t in texts]
        starts = np.cumsum([0, *sizes])
        raw = pa.concat_tables([t.table.select(COLUMNS) for t in texts])
        mapping = CATEGORY_SCHEMES["police_uk"]
        distinct = {c: pc.unique(raw[c]) for c in ("Month", "Falls within", "LSOA code",
                                                   "Crime type")}
        kinds = distinct["Crime type"]
        kind_measures = pa.array([mapping.get(normalise_category(v))
                                  for v in kinds.to_pylist()], pa.string())
        measure = pc.take(kind_measures, pc.index_in(raw["Crime type"], value_set=kinds))
        file_no = pa.chunked_array([np.full(n, i, np.int32) for i, n in enumerate(sizes)],
                                   pa.int32())
        rows = pa.chunked_array([source_rows(n) for n in sizes], pa.int64())
        tagged = (raw.append_column("__measure", measure).append_column("source_row", rows)
                  .append_column("file_no", file_no))
        con.register("raw", tagged)
        registered.append("raw")
        # Only a complete national list can prove a code unknown (see ReferenceData.knows).
        known = ref.codes("lsoa", "2011") if ref.knows("lsoa", "2011") else frozenset()
        if known:
            con.register("known_lsoa", _codes_table(known))
            registered.append("known_lsoa")
        needs_trim = {c: may_need_trim(raw[c]) for c in _TRIMMED}

        def t(column: str) -> str:
            return f"trim({_q(column)})" if needs_trim[column] else _q(column)

        checks = _checks(t, bool(known))
        # Rows that a one-column check finds bad, by looking their value up.
        flagged: list[pa.ChunkedArray] = []
        for check, column in checks:
            if column is None or column not in distinct:
                continue
            values = pa.table({column: distinct[column]})
            if column == "Crime type":
                values = values.append_column("__measure", kind_measures)
            con.register("value_set", values)
            try:
                bad_values = con.sql(f"SELECT {_q(column)} FROM value_set "
                                     f"WHERE coalesce(({check.bad_when}), TRUE)"
                                     ).to_arrow_table().column(0)
            finally:
                con.unregister("value_set")
            if len(bad_values):
                flagged.append(pc.is_in(raw[column], value_set=bad_values.combine_chunks()))
        per_row = [c for c, column in checks if column is None or column not in distinct]
        months = distinct["Month"]
        month_index = pc.index_in(raw["Month"], value_set=months)
        stored, bad_sql, no_location = self._stored(con, raw, measure, rows, months,
                                                    month_index, t, needs_trim, texts, sizes,
                                                    any_bad(per_row))
        bad = _numpy(bad_sql).astype(bool)
        for flags in flagged:
            bad |= _numpy(flags).astype(bool)
        problems: dict[int, list[Problem]] = {}
        bad_files = [i for i in range(len(texts))
                     if bad[starts[i] : starts[i + 1]].any()]
        if bad_files:
            con.register("bad_raw", tagged.filter(
                pc.is_in(tagged["file_no"], value_set=pa.array(bad_files, pa.int32()))))
            registered.append("bad_raw")
            problems = run_checks_by_file(con, "bad_raw", [t.name for t in texts],
                                          [c for c, _column in checks])
            # A row is bad when some check finds a problem in it (what ``run_checks`` says).
            bad[:] = False
            for i, found in problems.items():
                for p in found:
                    if p.row is not None:
                        bad[starts[i] + p.row - 2] = True
        # The first and last month of each file's good rows, compared as SQL ``min`` and
        # ``max`` compare text (by bytes), through the rank of each distinct month.
        names = months.to_pylist()
        order = sorted(range(len(names)), key=lambda k: names[k].encode())
        rank = np.empty(len(names), np.int64)
        rank[order] = np.arange(len(names))
        month_rank = rank[_numpy(month_index)]
        out: list[Parsed] = []
        for i, (text, n) in enumerate(zip(texts, sizes, strict=True)):
            lo, hi = int(starts[i]), int(starts[i + 1])
            part = stored.slice(lo, n)
            good = ~bad[lo:hi]
            if not good.all():
                part = part.filter(pa.array(good))
            ranks = month_rank[lo:hi][good]
            first = last = None
            if len(ranks):
                first, last = names[order[int(ranks.min())]], names[order[int(ranks.max())]]
            m = FORCE_FROM_NAME.match(text.name)
            out.append(Parsed(
                tables={self.dataset: part},
                rows_read=n,
                problems=problems.get(i, []),
                period_start=first,
                period_end=last,
                meta={
                    "force": m.group("force") if m else None,
                    "rows_without_location": int(np.count_nonzero(no_location[lo:hi][good])),
                    "lsoa_codes_checked": "against the loaded 2011 LSOA list" if known
                    else "by pattern only (no geography loaded)",
                    "lsoa_vintage": "2011",
                    "had_bom": text.had_bom,
                },
            ))
        return out

    def _stored(self, con: duckdb.DuckDBPyConnection, raw: pa.Table, measure: pa.ChunkedArray,
                rows: pa.ChunkedArray, months: pa.Array, month_index: pa.ChunkedArray,
                t: Callable[[str], str], needs_trim: dict[str, bool],
                texts: Sequence[CsvText], sizes: list[int], bad_when: str,
                ) -> tuple[pa.Table, pa.ChunkedArray, npt.NDArray[np.bool_]]:
        """Every row converted to the stored columns (bad rows are dropped by the caller);
        whether ``bad_when`` holds for each row; and whether it has no location.

        What needs SQL's own semantics (the coordinates' ``TRY_CAST``, ``trim`` where a
        value needs it, the checks) is computed by DuckDB, in one pass; text that only
        passes through, and the month (from its few distinct values), are built in Arrow
        without copying values.
        """
        sql = {
            "longitude": _coordinate(t, "Longitude"),
            "latitude": _coordinate(t, "Latitude"),
        }
        for name, column, empty_is_null in _TEXT:
            if needs_trim[column]:
                sql[name] = f"nullif({t(column)}, '')" if empty_is_null else t(column)
        select = ", ".join(f"{expr} AS {name}" for name, expr in sql.items())
        converted = con.sql(f"SELECT {select}, {bad_when} AS bad, "
                            f"{t('Longitude')} = '' AS no_location, source_row FROM raw"
                            ).to_arrow_table()
        # A projection keeps the rows in order (DuckDB preserves insertion order); make sure.
        if not converted["source_row"].equals(rows):
            raise RuntimeError("rows came back out of order from DuckDB")

        con.register("months", pa.table({"m": months}))
        try:
            dates = con.sql("SELECT CAST(try_strptime(m, '%Y-%m') AS DATE) FROM months"
                            ).to_arrow_table().column(0).combine_chunks()
        finally:
            con.unregister("months")
        forces = []
        for text, n in zip(texts, sizes, strict=True):
            m = FORCE_FROM_NAME.match(text.name)
            forces.append(pa.repeat(pa.scalar(m.group("force") if m else None, pa.string()), n))
        columns: dict[str, pa.ChunkedArray | pa.Array] = {
            "month": pc.take(dates, month_index),
            "force": pa.chunked_array(forces, pa.string()),
            "crime_type": raw["Crime type"],
            "measure": measure,
            "source_row": rows,
            "longitude": converted["longitude"],
            "latitude": converted["latitude"],
        }
        for name, column, empty_is_null in _TEXT:
            if name in sql:
                columns[name] = converted[name]
            else:
                columns[name] = null_if_empty(raw[column]) if empty_is_null else raw[column]
        table = pa.table({name: columns[name] for name in STORED})
        return table, converted["bad"], _numpy(converted["no_location"]).astype(bool)
