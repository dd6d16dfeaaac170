"""Use case: the Strategic Needs Assessment figures of an area, from the evidence store.

A notebook-friendly API over the pure statistics in ``vru.domain.statistics``: each function
reads the loaded data, computes with the domain functions, and returns a pandas DataFrame
whose every row carries its provenance (``meta_*`` columns from
``vru.domain.statistics.provenance``: the measure's definition, geography and vintage,
period, population base and year, method, source datasets and import ids). The table's
notes (areas missing and why, approximations made) are in ``df.attrs["notes"]``.

    >>> sna = SnaData(EvidenceStore(data_dir), "london")
    >>> sna.figures("violence_against_the_person", "borough", to="2025-12")

or the module functions, one call each: ``figures``, ``concentration``, ``lorenz``,
``deprivation_overlap``, ``timing``, ``trend``, ``transport_hubs``.

Where the counts come from, by geography
----------------------------------------
* **borough** (local authority districts) and **region** (the whole area: the sum of its
  LADs): the MPS borough files (``crime_counts``, monthly; where releases overlap the later
  one wins, ``services.crime_series``). LADs the MPS files do not cover (the City of London,
  policed by the City of London Police; every LAD of a non-London area) come from police.uk
  street-level crime (``street_crime``), each crime counted in the LAD of its 2011 LSOA.
* **ward**: the MPS ward file (2022 wards, monthly).
* **lsoa** (2011 LSOAs): the MPS annual LSOA files (calendar years only) and, for LADs they
  do not cover, police.uk street-level crime by month.

A measure counts the rows mapped to it and to every measure below it in the tree
(``domain.measures.descendants``); a row that is already part of another row (the LSOA
files' bicycle theft inside all theft) is not counted twice. A source can give a measure
only if it covers the whole of it (police.uk has "violence and sexual offences" but no
"violence against the person"): otherwise the answer is an error naming the measures the
source can give. Areas a source cannot give are left out and named in the notes, never
shown as zero.

Populations
-----------
The population base is chosen from what is loaded: the base whose reference date is nearest
the middle of the period, among those that cover the most areas, and it is named in every
row (``population_base``, ``population_year``, ``meta_population_source``):

* LADs: Census 2021 TS007 (usual residents, 21 March 2021), ONS mid-year estimates summed
  from 2011 LSOAs or MSOAs (only where every small area of the LAD has one);
* 2022 wards: there is no LSOA-to-2022-ward lookup, so each LSOA (2021 LSOAs with Census
  2021 TS007A, or 2011 LSOAs with mid-year estimates) is put in the 2022 ward that contains
  its centroid, using the loaded boundaries; a best-fit approximation, said so in the notes;
* 2011 LSOAs: ONS mid-year estimates (mid-2019, mid-2020), else the IoD2019 population
  denominators (ONS mid-2015 estimates, File 6) for LSOAs outside them.

Rates are per 100,000 residents *per year* (the count divided by population times the
period in years), so periods of different lengths compare.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal, cast

import duckdb
import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from vru.adapters.reference_data import load_school_terms_london
from vru.adapters.store.derived import DerivedCache
from vru.adapters.store.evidence_store import EvidenceStore
from vru.adapters.store.geo import BoundariesNotLoaded, load_boundaries
from vru.domain.geography import EPSG_BNG, EPSG_WGS84
from vru.domain.measures import CATEGORY_SCHEMES, MEASURES, descendants
from vru.domain.statistics import change as change_stats
from vru.domain.statistics import concentration as conc
from vru.domain.statistics import deprivation as dep
from vru.domain.statistics import proximity as prox
from vru.domain.statistics import rankings, rates
from vru.domain.statistics import timing as tim
from vru.domain.statistics import trend as trd
from vru.domain.statistics.disproportionality import DISPROPORTIONALITY, group_rates
from vru.domain.statistics.provenance import (
    Method,
    PopulationBase,
    ResultMeta,
    SourceDataset,
    attach,
    with_provenance_columns,
)
from vru.services import crime_series as crime_series_module
from vru.services.areas import AreaDefinition, get_area
from vru.services.crime_series import monthly_series

Geography = Literal["region", "borough", "ward", "lsoa"]
GroupBy = Literal["ethnicity", "sex", "age_band"]

GEOGRAPHIES: tuple[str, ...] = ("region", "borough", "ward", "lsoa")
GROUPINGS: tuple[str, ...] = ("ethnicity", "sex", "age_band")
LEVEL_OF: dict[str, str] = {"region": "lad", "borough": "lad", "ward": "ward", "lsoa": "lsoa"}
PER = 100_000.0
DEFAULT_RANK_SIMULATIONS = 1000

FloatArray = npt.NDArray[np.float64]

# Measures that exist only in the MPS's former (pre-2019) scheme: a source on the current
# schemes covers a parent measure without them (e.g. violence against the person without
# the former "Other violence" category).
_SCHEME_MEASURES: dict[str, frozenset[str]] = {
    k: frozenset(v.values()) for k, v in CATEGORY_SCHEMES.items()
}
FORMER_SCHEME_ONLY: frozenset[str] = _SCHEME_MEASURES["mps_pre2019"] - frozenset().union(
    *(v for k, v in _SCHEME_MEASURES.items() if k != "mps_pre2019"))

# Homicide victims' ethnicity (MPS homicide file) -> Census high-level ethnic groups, matched
# by the first word of the Census label (2011 QS201EW: White, Mixed, Asian, Black, Other;
# 2021 TS021: "White", "Mixed or Multiple ethnic groups", "Asian, Asian British or Asian
# Welsh", "Black, Black British, Black Welsh, Caribbean or African", "Other ethnic group").
# The MPS file has no Mixed group: its "Other" is set against Mixed + Other, the nearest
# union. The file does not say whether ethnicity was self-defined (as in the Census) or
# recorded by officers; "Not Reported/Not Known" has no population and is reported, not rated.
HOMICIDE_ETHNICITY_TO_CENSUS: dict[str, tuple[str, ...]] = {
    "Asian": ("Asian",),
    "Black": ("Black",),
    "White": ("White",),
    "Other": ("Mixed", "Other"),
}
HOMICIDE_SEX_TO_POPULATION: dict[str, str] = {"Female": "female", "Male": "male"}
REFERENCE_GROUP: dict[str, str] = {"ethnicity": "White", "sex": "Female"}
AGE_BAND_REFUSAL = (
    "the homicide file's age groups (Child, Adolescent/Young Adult, Adult, Elderly) come with "
    "no age limits, in the file or in its documentation, so no population age band can be "
    "matched to them honestly; no rates by age band are given"
)

FIGURE_METHOD = Method(
    "Counts summed over the period; crude rate per 100,000 residents a year (exact Poisson "
    "interval below 10 events, Byar's from 10); change against the previous period by the "
    "exact conditional test with Benjamini-Hochberg false discovery rate control across the "
    "areas; ranks with 95% intervals from each rank's distribution under Poisson redraws of "
    "the counts (by count) and the Gamma posterior of the rates (by rate), computed (or "
    "simulated where few areas compete, or on request)",
    f"{rates.PHE_RATE.citation} {change_stats.EXACT_CONDITIONAL.citation} "
    f"{change_stats.BENJAMINI_HOCHBERG.citation} {rankings.RANK_INTERVALS_COMPUTED.citation}",
)
GROUP_METHOD = Method(
    f"{FIGURE_METHOD.name}; {DISPROPORTIONALITY.name}",
    f"{FIGURE_METHOD.citation} {DISPROPORTIONALITY.citation}",
)


class SnaError(ValueError):
    """A figure the loaded data cannot give; the message says why and what there is."""


# --------------------------------------------------------------------------- periods


def _ordinal(period: pd.Period) -> int:
    return int(period.year) * 12 + int(period.month) - 1


def _period(ordinal: int) -> pd.Period:
    return pd.Period(year=ordinal // 12, month=ordinal % 12 + 1, freq="M")


def _ym(ordinal: int) -> str:
    return f"{ordinal // 12:04d}-{ordinal % 12 + 1:02d}"


@dataclass(frozen=True)
class Window:
    """``months`` whole months from ``start`` to ``end`` (month ordinals: year * 12 + m - 1)."""

    start: int
    end: int

    @property
    def months(self) -> int:
        return self.end - self.start + 1

    @property
    def first_day(self) -> date:
        return date(self.start // 12, self.start % 12 + 1, 1)

    @property
    def last_day(self) -> date:
        return _period(self.end).end_time.date()

    @property
    def years(self) -> float:
        return self.months / 12.0

    @property
    def midpoint(self) -> float:
        """The middle of the window in decimal years (calendar 2019 -> 2019.5)."""
        return (self.start + self.end + 1) / 2.0 / 12.0

    @property
    def calendar_years(self) -> bool:
        return self.start % 12 == 0 and self.months % 12 == 0

    def ordinals(self) -> range:
        return range(self.start, self.end + 1)

    def label(self) -> str:
        return f"{_ym(self.start)} to {_ym(self.end)}"

    def previous(self) -> Window:
        return Window(self.start - self.months, self.start - 1)


def windows(to: str, months: int = 12) -> tuple[Window, Window]:
    """The ``months`` months ending with ``to`` (YYYY-MM, inclusive) and the ``months``
    before them."""
    if months < 1:
        raise SnaError(f"months must be at least 1, got {months}")
    try:
        end = pd.Period(to, freq="M")
    except (ValueError, TypeError):
        raise SnaError(f"--to must be a month as YYYY-MM, got {to!r}") from None
    current = Window(_ordinal(end) - months + 1, _ordinal(end))
    return current, current.previous()


# --------------------------------------------------------------------------- measures


def covers(measure: str, present: Iterable[str]) -> bool:
    """Whether rows mapped to ``present`` measures count the whole of ``measure``: it is
    present itself, or it has measures below it and every one is covered (those that exist
    only in the MPS's former scheme may be absent)."""
    have = set(present)

    def whole(m: str) -> bool:
        if m in have:
            return True
        children = [c.id for c in MEASURES.values() if c.parent == m]
        if not children:
            return False
        needed = [c for c in children if c not in FORMER_SCHEME_ONLY]
        return all(whole(c) for c in needed) and any(whole(c) for c in children)

    return whole(measure)


def measures_given(present: Iterable[str]) -> list[str]:
    """Every platform measure that rows mapped to ``present`` count in whole."""
    have = set(present)
    return [m for m in MEASURES if covers(m, have)]


def _check_measure(measure: str) -> None:
    if measure not in MEASURES:
        raise SnaError(f"unknown measure {measure!r}; measures: {', '.join(MEASURES)}")


# --------------------------------------------------------------------------- count sources


@dataclass
class CountSource:
    """Counts of one dataset at one geography for an area, as a dense cube.

    ``cube[a, p, k]`` is the count for area ``a``, period ``p`` (``periods[p]`` is a month
    ordinal; for yearly data the year's first month) and key ``k`` (``keys[k]`` = measure
    and the measure it is already included in, if any). ``outside[p, k]`` counts rows that
    belong to no area (MPS units that are not boroughs).
    """

    key: str
    dataset: str
    title: str
    level: str
    vintage: str
    grain: Literal["month", "year"]
    codes: list[str]
    names: list[str]
    parents: list[str]
    periods: npt.NDArray[np.int64]
    keys: list[tuple[str, str | None]]
    cube: FloatArray
    outside: FloatArray
    outside_label: str = ""
    imports_at: dict[tuple[int, int], frozenset[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def measures_present(self) -> set[str]:
        return {m for m, _ in self.keys}

    def gives(self, measure: str) -> bool:
        return covers(measure, self.measures_present)

    def key_mask(self, measure: str) -> npt.NDArray[np.bool_]:
        wanted = descendants(measure)
        return np.array([m in wanted and (inc is None or inc not in wanted)
                         for m, inc in self.keys], dtype=bool)

    @property
    def last_month(self) -> int:
        """The ordinal of the last month the data reach (December of a yearly file's last
        year)."""
        return int(self.periods.max()) + (11 if self.grain == "year" else 0)

    def period_span(self) -> str:
        if self.periods.size == 0:
            return "no periods"
        first, last = int(self.periods.min()), int(self.periods.max())
        if self.grain == "year":
            return f"calendar years {first // 12} to {last // 12}"
        return f"months {_ym(first)} to {_ym(last)}"

    def covers_window(self, window: Window) -> str | None:
        """None if the data cover every month of ``window``, else why not, in words."""
        have = set(int(p) for p in self.periods)
        if self.grain == "year":
            if not window.calendar_years:
                return (f"{self.title} are yearly ({self.period_span()}): ask for whole "
                        "calendar years (--to YYYY-12 with --months a multiple of 12)")
            missing = [y for y in range(window.start, window.end + 1, 12) if y not in have]
            if missing:
                years = ", ".join(str(y // 12) for y in missing)
                return (f"{self.title} have no counts for {years} (they cover "
                        f"{self.period_span()})")
            return None
        missing_months = [m for m in window.ordinals() if m not in have]
        if missing_months:
            shown = ", ".join(_ym(m) for m in missing_months[:4])
            more = f" and {len(missing_months) - 4} more" if len(missing_months) > 4 else ""
            return (f"{self.title} have no counts for {shown}{more} (they cover "
                    f"{self.period_span()})")
        return None

    def _period_mask(self, window: Window) -> npt.NDArray[np.bool_]:
        return (self.periods >= window.start) & (self.periods <= window.end)

    def totals(self, measure: str, window: Window) -> FloatArray:
        """Count per area for ``measure`` over ``window`` (coverage checked by the caller)."""
        k = self.key_mask(measure)
        p = self._period_mask(window)
        return np.asarray(self.cube[:, p][:, :, k].sum(axis=(1, 2)), dtype=np.float64)

    def monthly(self, measure: str) -> FloatArray:
        """Counts per area and period for ``measure`` (areas x periods)."""
        return np.asarray(self.cube[:, :, self.key_mask(measure)].sum(axis=2), dtype=np.float64)

    def outside_total(self, measure: str, window: Window) -> float:
        k = self.key_mask(measure)
        p = self._period_mask(window)
        return float(self.outside[p][:, k].sum())

    def imports(self, measure: str | None, *wins: Window) -> list[str]:
        """The imports whose rows count in ``measure`` (any, if None) over ``wins``."""
        keys = (np.ones(len(self.keys), dtype=bool) if measure is None
                else self.key_mask(measure))
        found: set[str] = set()
        for (p, k), ids in self.imports_at.items():
            if keys[k] and any(w.start <= int(self.periods[p]) <= w.end for w in wins):
                found |= ids
        return sorted(found)


def _cube(frame: pd.DataFrame, codes: Sequence[str]) -> tuple[
        npt.NDArray[np.int64], list[tuple[str, str | None]], FloatArray, FloatArray,
        dict[tuple[int, int], frozenset[str]]]:
    """Dense (area, period, key) counts from a long frame with columns area_code (None for
    rows in no area), month (ordinal), measure, included_in, count, import_id."""
    month = frame["month"].to_numpy(dtype=np.int64)
    periods = np.unique(month)
    inc = frame["included_in"].astype(object)
    joined = (frame["measure"].astype(str) + "\x1f"
              + inc.where(inc.notna(), "").astype(str)).to_numpy(dtype=object)
    key_codes, key_strings = pd.factorize(joined)
    parsed = [str(t).split("\x1f") for t in key_strings]
    raw_keys = [(m, i or None) for m, i in parsed]
    order = sorted(range(len(raw_keys)), key=lambda j: (raw_keys[j][0], raw_keys[j][1] or ""))
    keys = [raw_keys[j] for j in order]
    rank = np.empty(len(order), dtype=np.int64)
    rank[np.array(order, dtype=np.int64)] = np.arange(len(order))
    k = rank[key_codes]
    a = pd.Index(list(codes), dtype=object).get_indexer(
        pd.Index(frame["area_code"].astype(object).to_numpy(), dtype=object)).astype(np.int64)
    p = np.searchsorted(periods, month)
    n = frame["count"].to_numpy(dtype=np.float64)
    cube = np.zeros((len(codes), periods.size, len(keys)))
    inside = a >= 0
    np.add.at(cube, (a[inside], p[inside], k[inside]), n[inside])
    outside = np.zeros((periods.size, len(keys)))
    np.add.at(outside, (p[~inside], k[~inside]), n[~inside])
    pairs = pd.DataFrame({"p": p, "k": k, "i": frame["import_id"].astype(str).to_numpy()})
    pairs = pairs.drop_duplicates()
    imports: dict[tuple[int, int], set[str]] = {}
    for pi, ki, ii in zip(pairs["p"].tolist(), pairs["k"].tolist(), pairs["i"].tolist(),
                          strict=True):
        imports.setdefault((pi, ki), set()).add(ii)
    return periods, keys, cube, outside, {pk: frozenset(v) for pk, v in imports.items()}



# --------------------------------------------------------------------------- populations


@dataclass(frozen=True)
class Population:
    """One population base: a value per area, where it came from, and its reference time."""

    values: dict[str, float]
    source: str
    year: int
    reference: float
    sources: tuple[SourceDataset, ...]
    preference: int = 0
    note: str | None = None

    def coverage(self, codes: Iterable[str]) -> int:
        return len(set(codes) & self.values.keys())

    def base(self) -> PopulationBase:
        return PopulationBase(self.source, self.year)


def choose_population(candidates: Sequence[Population], codes: Sequence[str],
                      window: Window) -> Population | None:
    """The base covering most of ``codes``; among those, the one whose reference date is
    nearest the middle of ``window``; then the preferred kind (lower ``preference``)."""
    covered = [(c.coverage(codes), c) for c in candidates]
    usable = [(n, c) for n, c in covered if n > 0]
    if not usable:
        return None
    return min(usable, key=lambda nc: (-nc[0], abs(nc[1].reference - window.midpoint),
                                       nc[1].preference))[1]


def _reference_time(source: str, year: int) -> float:
    """Census day (21 March) for a census, 30 June for a mid-year estimate."""
    return year + (0.22 if "census" in source.lower() else 0.5)


# --------------------------------------------------------------------------- the area's data


class SnaData:
    """An area's evidence, loaded once and reused by every figure (cheap to query again).

    ``store`` is the evidence store; ``area`` an area key (``london``) or definition. Use as a
    context manager, or call ``close()``, to release the store connection.
    """

    def __init__(self, store: EvidenceStore, area: str | AreaDefinition = "london") -> None:
        self.store = store
        self.area = area if isinstance(area, AreaDefinition) else get_area(area, store.data_dir)
        self.datasets = store.dataset_files()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._sources: dict[str, list[CountSource]] = {}
        self._lsoa_lad: pd.DataFrame | None = None
        self._lad_names: dict[str, str] | None = None
        self._populations: dict[tuple[str, str], list[Population]] = {}
        self._import_files: dict[str, str] | None = None
        self._source_meta: dict[str, CountSource] = {}
        self._area_code: str | None = None
        self._derived = DerivedCache(store)
        # What the derived entries were computed from: every stored file (each named by its
        # import), the area's definition and the code that builds them.
        self._derived_key = json.dumps([
            _CODE_DIGEST, dataclasses.asdict(self.area),
            sorted(p for paths in self.datasets.values() for p in paths)],
            sort_keys=True, default=str)

    # -- plumbing -------------------------------------------------------------------------

    def __enter__(self) -> SnaData:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = self.store.connect()
        return self._con

    def _has(self, dataset: str) -> bool:
        return dataset in self.datasets

    def _df(self, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return cast(pd.DataFrame, self.con.sql(sql, params=params or {}).df())

    @property
    def lads(self) -> list[str]:
        return list(self.area.lads)

    @property
    def area_code(self) -> str:
        """The whole area's code: its region's (E12...) when the loaded lookups say the region
        is exactly the area's LADs (London), else the area's key (``leicestershire``: the
        East Midlands region is more than Leicester, Leicestershire and Rutland)."""
        if self._area_code is None:
            code = self.area.key
            region = self.area.region
            if region and self._has("area_links"):
                rows = self._df("""
                    SELECT DISTINCT child_code FROM area_links
                    WHERE parent_code = $region AND child_level = 'lad'
                      AND relation = 'within'""", {"region": region})
                if set(rows["child_code"]) == set(self.lads):
                    code = region
            self._area_code = code
        return self._area_code

    def lad_names(self) -> dict[str, str]:
        if self._lad_names is None:
            names: dict[str, str] = {}
            if self._has("areas"):
                rows = self._df("""
                    SELECT code, name, vintage FROM areas
                    WHERE level = 'lad' AND list_contains($lads, code) AND name IS NOT NULL""",
                                {"lads": self.lads})
                rows = rows.sort_values("vintage", key=lambda s: s.astype(str))
                names = dict(zip(rows["code"], rows["name"], strict=True))
            self._lad_names = {c: names.get(c, c) for c in self.lads}
        return self._lad_names

    def lsoa_lad(self) -> pd.DataFrame:
        """The area's 2011 LSOAs and their LAD (columns lsoa_code, lad_code)."""
        if self._lsoa_lad is None:
            if not self._has("area_links"):
                raise SnaError("no geography is loaded: load the ONS lookups first "
                               "(vru data fetch lookups)")
            frame = self._df("""
                SELECT child_code AS lsoa_code, parent_code AS lad_code FROM area_links
                WHERE child_level = 'lsoa' AND child_vintage = '2011' AND parent_level = 'lad'
                  AND relation = 'within' AND list_contains($lads, parent_code)
                QUALIFY row_number() OVER (PARTITION BY child_code
                                           ORDER BY parent_vintage DESC NULLS LAST) = 1
                ORDER BY lsoa_code""", {"lads": self.lads})
            self._lsoa_lad = frame
        return self._lsoa_lad

    def import_file(self, import_id: str) -> str:
        if self._import_files is None:
            rows = self._df("SELECT import_id, file_name FROM imports")
            self._import_files = dict(zip(rows["import_id"], rows["file_name"], strict=True))
        return self._import_files.get(import_id, import_id)

    # -- count sources --------------------------------------------------------------------

    def sources(self, level: str) -> list[CountSource]:
        """The count sources of ``level`` ('lad', 'ward', 'lsoa') for the area, primary
        first: the MPS files, then police.uk street crime for LADs they do not cover.

        Built once per store state and kept as a derived entry beside the store
        (``DerivedCache``), so the next run reads the cubes instead of rebuilding them."""
        if level not in self._sources:
            if level not in ("lad", "ward", "lsoa"):
                raise ValueError(f"unknown level {level!r}")
            name = f"sna-sources-{self.area.key}-{level}"
            saved = self._derived.load(name, self._derived_key)
            if saved is not None:
                self._sources[level] = _unpack_sources(*saved)
                return self._sources[level]
            self._sources[level] = self._build_sources(level)
            self._derived.save(name, self._derived_key, *_pack_sources(self._sources[level]))
        return self._sources[level]

    def _build_sources(self, level: str) -> list[CountSource]:
        found: list[CountSource] = []
        if level == "lad":
            mps = self._mps_source("borough")
            if mps is not None:
                found.append(mps)
        elif level == "ward":
            mps = self._mps_source("ward")
            if mps is not None:
                found.append(mps)
        else:  # "lsoa" (sources() checked the level)
            annual = self._lsoa_annual_source()
            if annual is not None:
                found.append(annual)
        covered = set()
        for s in found:
            covered |= set(s.parents)
        rest = [lad for lad in self.lads if lad not in covered]
        if rest and level in ("lad", "lsoa"):
            street = self._street_source(level, rest)
            if street is not None:
                found.append(street)
        return found

    def _mps_source(self, geography_level: str) -> CountSource | None:
        if not self._has("crime_counts"):
            return None
        try:
            series = monthly_series(self.store, geography_level)
        except (LookupError, ValueError):
            return None
        wanted = pa.table({"area_code": series.column("area_code"),
                           "area_name": series.column("area_name"),
                           "borough_name": series.column("borough_name"),
                           "area_note": series.column("area_note"),
                           "period": series.column("period"),
                           "measure": series.column("measure"),
                           "included_in": series.column("included_in"),
                           "count": series.column("count"),
                           "import_id": series.column("import_id")})
        frame = wanted.to_pandas()
        if frame.empty:
            return None
        period = pd.to_datetime(frame["period"])
        frame["month"] = (period.dt.year * 12 + period.dt.month - 1).astype("int64")
        names = self.lad_names()
        by_name = {_norm(n): c for c, n in names.items()}
        notes: list[str] = []
        if geography_level == "borough":
            code = frame["area_code"].astype(object)
            fill = code.isna() & frame["area_note"].isna()
            code = code.where(~fill, _map_unique(frame["area_name"],
                                                 lambda n: by_name.get(_norm(n))))
            frame["area_code"] = code.where(code.isin(self.lads), None)
            frame.loc[frame["area_note"].notna(), "area_code"] = None
            in_area = frame["area_code"].notna()
            if not in_area.any():
                return None
            present = set(frame.loc[in_area, "area_code"])
            codes = [c for c in self.lads if c in present]
            area_names = [names[c] for c in codes]
            parents = list(codes)
            outside_label = ("offences the MPS recorded under units that are not boroughs "
                             "(Heathrow and London City airports, Aviation Security, Unknown)")
            vintage = "LAD codes of the area definition"
            title = "MPS borough counts"
        else:
            links = self._df("""
                SELECT DISTINCT child_code AS ward, parent_code AS lad FROM area_links
                WHERE child_level = 'ward' AND parent_level = 'lad' AND relation = 'within'
                  AND list_contains($lads, parent_code)""", {"lads": self.lads})
            ward_lad = dict(zip(links["ward"], links["lad"], strict=False))
            so18 = frame["area_note"].notna() & frame["area_code"].notna()
            if so18.any():
                wards = sorted(set(frame.loc[so18, "area_name"].astype(str)))
                notes.append(
                    "Ward(s) " + ", ".join(wards) + " include the offences the MPS publishes "
                    "for them under a unit that is not a borough (Aviation Security, SO18): "
                    "they are offences in the ward (Heathrow airport).")
            borough_of = _map_unique(frame["borough_name"], lambda n: by_name.get(_norm(n)))
            lad = _map_unique(frame["area_code"],
                              lambda c: ward_lad.get(c) if isinstance(c, str) else None)
            lad = lad.where(lad.notna(), borough_of)
            frame["lad"] = lad
            in_area = frame["area_code"].notna() & frame["lad"].isin(self.lads)
            frame.loc[~in_area & frame["area_code"].notna(), "area_code"] = None
            if not in_area.any():
                return None
            wards = (frame.loc[in_area, ["area_code", "area_name", "lad"]]
                     .drop_duplicates("area_code").sort_values(["lad", "area_code"]))
            codes = wards["area_code"].tolist()
            area_names = wards["area_name"].astype(str).tolist()
            parents = wards["lad"].astype(str).tolist()
            outside_label = "offences published under units that are not boroughs"
            vintage = "2022"
            title = "MPS ward counts"
        periods, keys, cube, outside, imports = _cube(frame, codes)
        return CountSource(
            key=f"mps_{geography_level}", dataset="crime_counts", title=title,
            level="lad" if geography_level == "borough" else "ward", vintage=vintage,
            grain="month", codes=codes, names=area_names, parents=parents, periods=periods,
            keys=keys, cube=cube, outside=outside, outside_label=outside_label,
            imports_at=imports, notes=notes)

    def _lsoa_annual_source(self) -> CountSource | None:
        if not self._has("crime_counts"):
            return None
        lsoa_lad = self.lsoa_lad()
        self.con.register("sna_lsoa_lad", pa.Table.from_pandas(lsoa_lad, preserve_index=False))
        frame = self._df("""
            SELECT c.area_code, c.area_name, l.lad_code,
                   year(c.period) * 12 AS month, c.measure, c.included_in,
                   c.count, c.import_id
            FROM crime_counts c JOIN imports i USING (import_id)
            JOIN sna_lsoa_lad l ON l.lsoa_code = c.area_code
            WHERE c.geography_level = 'lsoa' AND c.period_type = 'year'
            QUALIFY row_number() OVER (
                PARTITION BY c.area_code, c.period, c.measure, c.included_in
                ORDER BY c.release_end DESC, i.imported_at DESC) = 1""")
        if frame.empty:
            return None
        areas = (frame[["area_code", "area_name", "lad_code"]].drop_duplicates("area_code")
                 .sort_values(["lad_code", "area_code"]))
        codes = areas["area_code"].tolist()
        periods, keys, cube, outside, imports = _cube(frame, codes)
        return CountSource(
            key="mps_lsoa", dataset="crime_counts", title="MPS annual LSOA counts",
            level="lsoa", vintage="2011", grain="year", codes=codes,
            names=areas["area_name"].astype(str).tolist(),
            parents=areas["lad_code"].astype(str).tolist(), periods=periods, keys=keys,
            cube=cube, outside=outside, imports_at=imports)

    def _street_source(self, level: str, lads: list[str]) -> CountSource | None:
        if not self._has("street_crime"):
            return None
        lsoa_lad = self.lsoa_lad()
        lsoa_lad = lsoa_lad[lsoa_lad["lad_code"].isin(lads)]
        if lsoa_lad.empty:
            return None
        self.con.register("sna_street_lsoas", pa.Table.from_pandas(lsoa_lad,
                                                                   preserve_index=False))
        frame = self._df("""
            SELECT s.lsoa_code, l.lad_code,
                   year(s.month) * 12 + month(s.month) - 1 AS month,
                   s.measure, CAST(NULL AS VARCHAR) AS included_in,
                   count(*) AS count, s.import_id
            FROM street_crime s JOIN sna_street_lsoas l ON l.lsoa_code = s.lsoa_code
            GROUP BY ALL""")
        if frame.empty:
            return None
        lsoa_names = self._df("""
            SELECT lsoa_code, any_value(lsoa_name) AS name FROM street_crime
            WHERE lsoa_code IN (SELECT lsoa_code FROM sna_street_lsoas) GROUP BY 1""")
        name_of = dict(zip(lsoa_names["lsoa_code"], lsoa_names["name"], strict=True))
        forces = ", ".join(self.area.police_forces) or "the area's forces"
        notes = [f"police.uk street-level crime ({forces}) places each crime at an anonymised "
                 "map point and counts it in that point's 2011 LSOA; crimes with no location "
                 "are in no area."]
        lad_names = self.lad_names()
        if level == "lad":
            frame["area_code"] = frame["lad_code"]
            codes = [c for c in lads if c in set(frame["lad_code"])]
            names = [lad_names[c] for c in codes]
            parents = list(codes)
            vintage = "LAD codes of the area definition"
        else:
            frame["area_code"] = frame["lsoa_code"]
            codes = lsoa_lad["lsoa_code"].tolist()
            names = [str(name_of.get(c, c)) for c in codes]
            parents = lsoa_lad["lad_code"].tolist()
            vintage = "2011"
        periods, keys, cube, outside, imports = _cube(frame, codes)
        return CountSource(
            key=f"street_{level}", dataset="street_crime",
            title="police.uk street-level crime counts", level=level, vintage=vintage,
            grain="month", codes=codes, names=names, parents=parents, periods=periods,
            keys=keys, cube=cube, outside=outside, imports_at=imports, notes=notes)

    # -- populations ----------------------------------------------------------------------

    def populations(self, level: str, sex: str = "persons") -> list[Population]:
        """Every population base the store can give for the area's areas of ``level``."""
        key = (level, sex)
        if key not in self._populations:
            name = f"sna-populations-{self.area.key}-{level}-{sex}"
            saved = self._derived.load(name, self._derived_key)
            if saved is not None:
                self._populations[key] = [_population_from(d) for d in saved[1]]
                return self._populations[key]
            if not self._has("population") and level != "lsoa":
                self._populations[key] = []
            elif level == "lad":
                self._populations[key] = self._lad_populations(sex)
            elif level == "ward":
                self._populations[key] = self._ward_populations()
            elif level == "lsoa":
                self._populations[key] = self._lsoa_populations(sex)
            else:
                raise ValueError(f"unknown level {level!r}")
            self._derived.save(name, self._derived_key, {},
                               [_population_to(p) for p in self._populations[key]])
        return self._populations[key]

    def _small_area_totals(self, level: str, vintage: str, sex: str) -> pd.DataFrame:
        return self._df("""
            SELECT source, year, area_code, CAST(sum("count") AS DOUBLE) AS population,
                   any_value(import_id) AS import_id
            FROM population
            WHERE area_level = $level AND area_vintage = $vintage
              AND characteristic = 'total' AND sex = $sex
            GROUP BY ALL""", {"level": level, "vintage": vintage, "sex": sex})

    def _lad_populations(self, sex: str) -> list[Population]:
        out: list[Population] = []
        direct = self._df("""
            SELECT source, year, area_code, CAST(max("count") AS DOUBLE) AS population,
                   any_value(import_id) AS import_id
            FROM population
            WHERE area_level = 'lad' AND characteristic = 'total' AND sex = $sex
              AND list_contains($lads, area_code)
            GROUP BY ALL""", {"sex": sex, "lads": self.lads})
        for (source, year), part in direct.groupby(["source", "year"]):
            out.append(Population(
                values=dict(zip(part["area_code"], part["population"], strict=True)),
                source=f"{source}, usual residents by local authority",
                year=_as_int(year), reference=_reference_time(str(source), _as_int(year)),
                sources=_population_sources(part), preference=0))
        lsoa_lad = self.lsoa_lad()
        small = self._small_area_totals("lsoa", "2011", sex)
        out += _summed(small, lsoa_lad.rename(columns={"lsoa_code": "area_code"}),
                       "2011 LSOAs", preference=1)
        msoa_lad = self._df("""
            SELECT child_code AS area_code, any_value(parent_code) AS lad_code FROM area_links
            WHERE child_level = 'msoa' AND child_vintage = '2011' AND parent_level = 'lad'
              AND relation = 'within' AND list_contains($lads, parent_code)
            GROUP BY 1""", {"lads": self.lads})
        if not msoa_lad.empty:
            out += _summed(self._small_area_totals("msoa", "2011", sex), msoa_lad,
                           "2011 MSOAs", preference=2)
        return out

    def _lsoa_populations(self, sex: str) -> list[Population]:
        out: list[Population] = []
        if self._has("population"):
            small = self._small_area_totals("lsoa", "2011", sex)
            for (source, year), part in small.groupby(["source", "year"]):
                out.append(Population(
                    values=dict(zip(part["area_code"], part["population"], strict=True)),
                    source=f"{source}, residents by 2011 LSOA", year=_as_int(year),
                    reference=_reference_time(str(source), _as_int(year)),
                    sources=_population_sources(part), preference=0))
        if sex == "persons" and self._has("deprivation"):
            iod = self._df("""
                SELECT area_code, max(value) AS population, any_value(import_id) AS import_id
                FROM deprivation
                WHERE area_level = 'lsoa' AND domain = 'population'
                  AND measure = 'denominator_total' AND NOT derived
                GROUP BY 1""")
            if not iod.empty:
                out.append(Population(
                    values=dict(zip(iod["area_code"], iod["population"], strict=True)),
                    source="IoD2019 population denominators (ONS mid-2015 estimates), "
                           "by 2011 LSOA", year=2015, reference=2015.5,
                    sources=tuple(SourceDataset("deprivation", i)
                                  for i in sorted(set(iod["import_id"]))), preference=1))
        return out

    def _ward_populations(self) -> list[Population]:
        """2022 ward populations from LSOAs placed by centroid in the ward polygons."""
        out: list[Population] = []
        try:
            wards = load_boundaries(self.store, "ward", "2022")
        except BoundariesNotLoaded:
            return out
        for lsoa_vintage, preference in (("2021", 0), ("2011", 1)):
            try:
                lsoas = load_boundaries(self.store, "lsoa", lsoa_vintage)
            except BoundariesNotLoaded:
                continue
            points = lsoas[["code", "geometry"]].copy()
            points["geometry"] = lsoas.geometry.centroid
            joined = points.sjoin(wards[["code", "geometry"]], how="left", predicate="within",
                                  lsuffix="lsoa", rsuffix="ward")
            joined = joined.drop_duplicates("code_lsoa")
            unplaced = int(joined["code_ward"].isna().sum())
            ward_of = dict(zip(joined["code_lsoa"], joined["code_ward"], strict=True))
            small = self._small_area_totals("lsoa", lsoa_vintage, "persons")
            for (source, year), part in small.groupby(["source", "year"]):
                part = part[part["area_code"].isin(ward_of.keys())]
                if part.empty:
                    continue
                ward = part["area_code"].map(ward_of)
                values = part.assign(ward=ward).dropna(subset=["ward"]).groupby("ward")[
                    "population"].sum()
                note = (f"Ward populations are a best-fit approximation: there is no lookup "
                        f"from LSOAs to 2022 wards, so each {lsoa_vintage} LSOA's population "
                        f"({source} {_as_int(year)}) is given to the 2022 ward that contains the "
                        f"LSOA's centroid ({lsoas.attrs.get('layer')} in "
                        f"{wards.attrs.get('layer')}); LSOAs that straddle ward boundaries "
                        "make some wards' populations too high and others too low.")
                if unplaced:
                    note += f" {unplaced} LSOA centroid(s) fall in no ward and are left out."
                srcs = (*_population_sources(part),
                        SourceDataset("boundaries", str(lsoas.attrs.get("import_id"))),
                        SourceDataset("boundaries", str(wards.attrs.get("import_id"))))
                out.append(Population(
                    values={str(k): float(v) for k, v in values.items()},
                    source=(f"{source} ({lsoa_vintage} LSOAs placed in 2022 wards by "
                            "centroid, a best-fit approximation)"),
                    year=_as_int(year), reference=_reference_time(str(source), _as_int(year)),
                    sources=srcs, preference=preference, note=note))
        return out

    # -- figures --------------------------------------------------------------------------

    def figures(
        self,
        measure: str,
        geography: str = "borough",
        to: str | None = None,
        months: int = 12,
        by: str | None = None,
        *,
        rank_simulations: int = DEFAULT_RANK_SIMULATIONS,
        seed: int = 0,
        confidence: float = 0.95,
        rank_method: rankings.RankMethod = "computed",
    ) -> pd.DataFrame:
        """One row per area (and per group with ``by``): counts, change against the previous
        ``months`` months, population, rate per 100,000 a year with its interval, ranks by
        count and by rate with their intervals, and provenance. See the module docstring.

        ``to`` (YYYY-MM) ends the period; without it, the latest month the data reach.
        ``rank_simulations`` draws (at least 100) give each rank its 95% interval; 0 gives
        the ranks alone. ``rank_method`` "computed" (the default) computes each rank's
        distribution and simulates only where few areas compete; "simulation" redraws every
        area ``rank_simulations`` times (``vru.domain.statistics.rankings``).
        """
        _check_measure(measure)
        if rank_method not in rankings.RANK_METHODS:
            raise SnaError(f"unknown rank method {rank_method!r}; use "
                           f"{' or '.join(rankings.RANK_METHODS)}")
        if geography not in GEOGRAPHIES:
            raise SnaError(f"unknown geography {geography!r}; use one of "
                           f"{', '.join(GEOGRAPHIES)}")
        if by is not None:
            if by not in GROUPINGS:
                raise SnaError(f"unknown grouping {by!r}; use one of {', '.join(GROUPINGS)}")
            return self._group_figures(measure, geography, by, to, months,
                                       rank_simulations=rank_simulations, seed=seed,
                                       confidence=confidence, rank_method=rank_method)
        level = LEVEL_OF[geography]
        frame, current, previous, notes = self.counts(measure, geography, to, months)
        population = self._population_for(level, frame["area_code"].tolist(), current)
        if geography == "region":
            frame, region_notes = self._region_row(frame, population, current, previous,
                                                   measure)
            notes += region_notes
        return self._finish(frame, measure, geography, current, previous, population, notes,
                            rank_simulations=rank_simulations, seed=seed,
                            confidence=confidence, rank_method=rank_method)

    def counts(self, measure: str, geography: str, to: str | None = None,
               months: int = 12) -> tuple[pd.DataFrame, Window, Window, list[str]]:
        """The count per area of ``geography``'s level (LADs for the region) in the window
        and the one before: area_code, area_name, parent_code, count, previous_count (NaN
        where the data do not reach it), with the windows and the notes."""
        _check_measure(measure)
        level = LEVEL_OF[geography]
        sources = self._usable_sources(measure, level, geography)
        if to is None:
            to = _ym(max(s.last_month for s in sources if s.gives(measure)))
        current, previous = windows(to, months)
        parts, notes = self._parts(measure, sources, current, previous, geography)
        return pd.concat(parts, ignore_index=True), current, previous, notes

    def _usable_sources(self, measure: str, level: str, geography: str) -> list[CountSource]:
        sources = self.sources(level)
        if not sources:
            what = {"lad": "borough (LAD)", "ward": "ward", "lsoa": "LSOA"}[level]
            raise SnaError(f"no {what} crime counts are loaded for {self.area.name}: load "
                           "them first (vru data fetch --area "
                           f"{self.area.key}); ward counts come from the MPS ward file only")
        giving = [s for s in sources if s.gives(measure)]
        if not giving:
            lines = [f"{s.title} can give: {', '.join(measures_given(s.measures_present))}"
                     for s in sources]
            raise SnaError(f"no loaded {geography} source can give {measure!r}. "
                           + "; ".join(lines))
        return sources

    def _parts(self, measure: str, sources: list[CountSource], current: Window,
               previous: Window, geography: str) -> tuple[list[pd.DataFrame], list[str]]:
        parts: list[pd.DataFrame] = []
        notes: list[str] = []
        refusals: list[str] = []
        for s in sources:
            lads_of_source = sorted(set(s.parents))
            who = (", ".join(self.lad_names().get(c, c) for c in lads_of_source)
                   if len(lads_of_source) <= 3 else
                   f"the {len(s.codes):,} areas of the {s.title} ({len(lads_of_source)} LADs)")
            if not s.gives(measure):
                reason = (f"{s.title} cannot give {measure!r} (they can give: "
                          f"{', '.join(measures_given(s.measures_present))})")
                notes.append(f"Not included: {who}. {reason}.")
                refusals.append(reason)
                continue
            gap = s.covers_window(current)
            if gap is not None:
                notes.append(f"Not included: {who}. {gap}.")
                refusals.append(gap)
                continue
            count = s.totals(measure, current)
            prev_gap = s.covers_window(previous)
            if prev_gap is None:
                prev = s.totals(measure, previous)
            else:
                prev = np.full(len(s.codes), np.nan)
                notes.append(f"No change is given for {who}: the previous period "
                             f"({previous.label()}) is not covered: {prev_gap}.")
            parts.append(pd.DataFrame({
                "area_code": _objects(s.codes), "area_name": _objects(s.names),
                "parent_code": _objects(s.parents), "count": count, "previous_count": prev,
                "_source": _objects([s.key] * len(s.codes)),
            }))
            notes.extend(s.notes)
            outside = s.outside_total(measure, current)
            if outside:
                notes.append(f"{outside:,.0f} {s.outside_label} in {current.label()} are in "
                             "no area of this table" + (" nor in the region total"
                                                        if geography == "region" else "") + ".")
            self._source_meta[s.key] = s
        if not parts:
            raise SnaError(f"no figures for {measure!r} by {geography} for {current.label()}: "
                           + "; ".join(refusals))
        return parts, notes

    def _population_for(self, level: str, codes: list[str], window: Window) -> Population | None:
        return choose_population(self.populations(level), codes, window)

    def _region_row(self, frame: pd.DataFrame, population: Population | None,
                    current: Window, previous: Window,
                    measure: str) -> tuple[pd.DataFrame, list[str]]:
        included = frame["area_code"].tolist()
        missing = [c for c in self.lads if c not in set(included)]
        notes = []
        note = ""
        if missing:
            names = ", ".join(self.lad_names().get(c, c) for c in missing)
            note = f"Sum of {len(included)} of the area's {len(self.lads)} LADs; without {names}."
            notes.append(f"The region total leaves out {names} (see above).")
        prev = frame["previous_count"]
        row = pd.DataFrame({
            "area_code": [self.area_code],
            "area_name": [self.area.name], "parent_code": [None],
            "count": [float(frame["count"].sum())],
            "previous_count": [float(prev.sum()) if prev.notna().all() else np.nan],
            "_source": ["+".join(sorted(set(frame["_source"])))],
            "_members": [included], "_note": [note],
        })
        return row, notes

    def _finish(self, frame: pd.DataFrame, measure: str, geography: str, current: Window,
                previous: Window, population: Population | None, notes: list[str], *,
                rank_simulations: int, seed: int, confidence: float,
                group_col: str | None = None,
                rank_method: rankings.RankMethod = "computed") -> pd.DataFrame:
        """The figures table: one row per row of ``frame`` (area_code, area_name,
        parent_code, count, previous_count, _source; optionally _members, _population,
        _note and ``group_col``)."""
        frame = frame.reset_index(drop=True)
        n = len(frame)
        if "_population" in frame.columns:
            pop = frame["_population"].to_numpy(dtype=np.float64)
        elif "_members" in frame.columns:
            pop = np.array([_sum_population(population, m) for m in frame["_members"]],
                           dtype=np.float64)
        elif population is not None:
            pop = frame["area_code"].map(population.values).to_numpy(dtype=np.float64,
                                                                      na_value=np.nan)
        else:
            pop = np.full(n, np.nan)
        has_pop = np.isfinite(pop)
        count = frame["count"].to_numpy(dtype=np.float64)
        person_years = np.where(has_pop, pop, 0.0) * current.years
        est = rates.rate_with_interval(count, person_years, PER, confidence)
        sources = frame["_source"].astype(str).to_numpy()
        vintages, meta_cols, table_meta = self._meta_columns(
            sources, measure, geography, current, previous, population,
            method=FIGURE_METHOD if group_col is None else GROUP_METHOD)
        cols: dict[str, Any] = {
            "measure": np.full(n, measure, dtype=object),
            "measure_name": np.full(n, MEASURES[measure].name, dtype=object),
            "geography": np.full(n, geography, dtype=object),
            "geography_vintage": vintages,
            "area_code": frame["area_code"].to_numpy(dtype=object),
            "area_name": frame["area_name"].to_numpy(dtype=object),
            "parent_code": frame["parent_code"].to_numpy(dtype=object),
        }
        if group_col is not None:
            cols["group"] = frame[group_col].to_numpy(dtype=object)
        cols.update({
            "period_start": np.full(n, current.first_day.isoformat(), dtype=object),
            "period_end": np.full(n, current.last_day.isoformat(), dtype=object),
            "previous_start": np.full(n, previous.first_day.isoformat(), dtype=object),
            "previous_end": np.full(n, previous.last_day.isoformat(), dtype=object),
            "months": np.full(n, current.months),
            "count": count,
            "previous_count": frame["previous_count"].to_numpy(dtype=np.float64),
        })
        cols.update(_change_columns(count, cols["previous_count"], confidence))
        cols.update({
            "population": pop,
            "rate_per_100k": np.where(has_pop, est.rate, np.nan),
            "rate_ci_low": np.where(has_pop, est.ci_low, np.nan),
            "rate_ci_high": np.where(has_pop, est.ci_high, np.nan),
            "rate_method": est.method.astype(object),
            "unreliable": est.unreliable,
            "unreliable_reason": est.reason.astype(object),
        })
        ranks = {c: np.full(n, np.nan) for c in RANK_COLUMNS}
        if geography != "region":
            groups = [None] if group_col is None else list(dict.fromkeys(cols["group"]))
            for g in groups:
                rows = np.ones(n, dtype=bool) if g is None else cols["group"] == g
                _fill_ranks(ranks, rows, count, person_years, rank_simulations, seed,
                            confidence, rank_method)
        cols.update(ranks)
        words = {k: self._source_words(k) for k in dict.fromkeys(sources.tolist())}
        cols["source"] = np.array([words[k] for k in sources.tolist()], dtype=object)
        note = frame["_note"].fillna("") if "_note" in frame.columns else pd.Series([""] * n)
        cols["note"] = note.to_numpy(dtype=object)
        cols["population_base"] = np.full(
            n, population.source if population is not None else None, dtype=object)
        cols["population_year"] = np.full(
            n, population.year if population is not None else None, dtype=object)
        cols.update(meta_cols)
        # Text stays in object columns: pandas would otherwise convert every one to Arrow
        # strings, which costs more than all the arithmetic for a table of 4,835 LSOAs.
        out = pd.DataFrame({
            c: (pd.Series(v, dtype=object, copy=False)
                if isinstance(v, np.ndarray) and v.dtype == object else v)
            for c, v in cols.items()})
        if population is not None and population.note:
            notes.append(population.note)
        if rank_simulations == 0 and geography != "region":
            notes.append("Ranks without intervals: rank_simulations=0.")
        elif rank_method == "simulation" and geography != "region":
            notes.append(f"Rank intervals by simulation ({rank_simulations:,} draws).")
        if population is None:
            notes.append("No population is loaded for these areas: no rates are given.")
        else:
            lacking = int((~has_pop).sum())
            if lacking:
                notes.append(f"{lacking} area(s) have no population in the base used "
                             f"({population.source} {population.year}): no rate for them.")
        order = ["rank_by_count", "area_code"] if group_col is None else [
            "area_code", "group"]
        out = out.sort_values(order, kind="stable", na_position="last").reset_index(drop=True)
        out = attach(out, table_meta)
        out.attrs["notes"] = list(dict.fromkeys(notes))
        return out

    def _source_words(self, key: str) -> str:
        words = []
        for k in key.split("+"):
            s = self._source_meta.get(k)
            words.append(s.title if s is not None else k)
        return "; ".join(words)

    def _meta_columns(self, keys: npt.NDArray[Any], measure: str, geography: str,
                      current: Window, previous: Window, population: Population | None, *,
                      method: Method) -> tuple[npt.NDArray[Any], dict[str, Any], ResultMeta]:
        """The geography vintage and ``meta_*`` provenance columns of each row (one
        ResultMeta per source), and the table's own ResultMeta (every source)."""
        vintage_of: dict[str, str] = {}
        metas: dict[str, ResultMeta] = {}
        for key in dict.fromkeys(keys.tolist()):
            sources: list[SourceDataset] = []
            vintages = []
            for k in str(key).split("+"):
                s = self._source_meta.get(k)
                if s is None:
                    continue
                vintages.append(s.vintage)
                sources += [SourceDataset(s.dataset, i)
                            for i in s.imports(measure, current, previous)]
            if population is not None:
                sources += list(population.sources)
            vintage = "; ".join(dict.fromkeys(vintages)) or "not known"
            if geography == "region":
                vintage = f"{self.area.name}: sum of its LADs ({vintage})"
            vintage_of[str(key)] = vintage
            metas[str(key)] = ResultMeta.for_measure(
                measure, geography=geography, geography_vintage=vintage,
                period_start=current.first_day, period_end=current.last_day, method=method,
                population=population.base() if population is not None else None,
                sources=tuple(dict.fromkeys(sources)))
        flat = {k: m.flatten() for k, m in metas.items()}
        columns: dict[str, Any] = {}
        for col in next(iter(flat.values())):
            values = {k: f[col] for k, f in flat.items()}
            if len(values) == 1:
                columns[col] = np.full(len(keys), next(iter(values.values())), dtype=object)
            else:
                columns[col] = np.array([values[k] for k in keys.tolist()], dtype=object)
        table_meta = ResultMeta.for_measure(
            measure, geography=geography,
            geography_vintage="; ".join(dict.fromkeys(vintage_of.values())),
            period_start=current.first_day, period_end=current.last_day, method=method,
            population=population.base() if population is not None else None,
            sources=tuple(dict.fromkeys(s for m in metas.values() for s in m.sources)))
        return (np.array([vintage_of[k] for k in keys.tolist()], dtype=object), columns,
                table_meta)

    # -- figures by group -----------------------------------------------------------------

    def _group_figures(self, measure: str, geography: str, by: str, to: str | None,
                       months: int, *, rank_simulations: int, seed: int,
                       confidence: float,
                       rank_method: rankings.RankMethod = "computed") -> pd.DataFrame:
        if by == "age_band":
            raise SnaError(f"no figures by age band: {AGE_BAND_REFUSAL}")
        if measure != "homicide":
            raise SnaError(
                f"figures by {by} exist only for homicide (the MPS homicide victims file "
                "records each victim's ethnicity, sex and age group); the recorded crime "
                f"counts behind {measure!r} have no group data")
        if geography not in ("borough", "region"):
            raise SnaError(f"homicide victims are recorded by borough: use --geography "
                           f"borough or region with --by {by}, not {geography}")
        if not self._has("homicide_victims"):
            raise SnaError("the homicide victims file is not loaded (vru data fetch homicide)")
        victims = self._df("""
            SELECT year, area_code, ethnicity, sex, age_group, import_id
            FROM homicide_victims WHERE list_contains($lads, area_code)""",
                           {"lads": self.lads})
        if victims.empty:
            raise SnaError(f"no homicide victims are recorded in {self.area.name}'s LADs")
        first, last = int(victims["year"].min()), int(victims["year"].max())
        if to is None:
            to = f"{last}-12"
        current, previous = windows(to, months)
        span = f"calendar years {first} to {last}"
        if not current.calendar_years:
            raise SnaError(f"the homicide victims file counts victims by year ({span}): ask "
                           "for whole calendar years (--to YYYY-12, --months a multiple of 12)")
        cur_years = list(range(current.start // 12, current.end // 12 + 1))
        prev_years = list(range(previous.start // 12, previous.end // 12 + 1))
        if cur_years[0] < first or cur_years[-1] > last:
            raise SnaError(f"the homicide victims file covers {span}; {current.label()} is "
                           "outside it")
        incomplete = self._incomplete_homicide_years(victims, cur_years + prev_years)
        bad = [y for y in cur_years if y in incomplete]
        if bad:
            raise SnaError(incomplete[bad[0]])
        have_previous = prev_years[0] >= first and not any(y in incomplete for y in prev_years)
        column = {"ethnicity": "ethnicity", "sex": "sex"}[by]
        mapping: dict[str, tuple[str, ...]] = (
            HOMICIDE_ETHNICITY_TO_CENSUS if by == "ethnicity"
            else {k: (v,) for k, v in HOMICIDE_SEX_TO_POPULATION.items()})
        notes: list[str] = []
        unmapped = victims[~victims[column].isin(mapping.keys())
                           & victims["year"].isin(cur_years)]
        if not unmapped.empty:
            counts = unmapped[column].value_counts()
            notes.append("Victims whose " + by + " has no population group are counted in no "
                         "group: " + ", ".join(f"{k} ({v})" for k, v in counts.items())
                         + f" in {current.label()}.")
        if by == "ethnicity":
            notes.append(
                "Ethnic groups: the MPS homicide groups are set against Census high-level "
                "groups: Asian -> Asian; Black -> Black; White -> White; Other -> Mixed or "
                "Multiple + Other ethnic group (the MPS file has no Mixed group). The file "
                "does not say whether ethnicity was self-defined (as in the Census) or "
                "recorded by officers, so the rates are approximate.")
        pops, population = self._group_populations(by, mapping, current)
        groups = list(mapping)
        rows = []
        lad_names = self.lad_names()
        for lad in self.lads:
            for g in groups:
                cur = victims[(victims["area_code"] == lad) & (victims[column] == g)
                              & victims["year"].isin(cur_years)]
                prv = victims[(victims["area_code"] == lad) & (victims[column] == g)
                              & victims["year"].isin(prev_years)]
                rows.append({"area_code": lad, "area_name": lad_names.get(lad, lad),
                             "parent_code": lad, "group": g, "count": float(len(cur)),
                             "previous_count": float(len(prv)) if have_previous else np.nan,
                             "_population": pops.get((lad, g), np.nan),
                             "_source": "homicide_victims"})
        frame = pd.DataFrame(rows)
        covered = {lad for (lad, _g) in pops}
        lacking = [c for c in self.lads if c not in covered]
        if lacking:
            notes.append("No group population for " + ", ".join(
                lad_names.get(c, c) for c in lacking) + "; their groups have no rate.")
        if not (victims["area_code"].isin(self.lads)).any():
            raise SnaError("no victims in the area")
        # LADs with no victim in the whole file are not in it (the City of London is policed
        # by the City of London Police, not the MPS).
        in_file = set(victims["area_code"])
        absent = [c for c in self.lads if c not in in_file]
        if absent:
            notes.append("Not included: " + ", ".join(lad_names.get(c, c) for c in absent)
                         + ": no victim in the MPS homicide file in any year (not policed by "
                         "the MPS).")
        frame = frame[frame["area_code"].isin(in_file)]
        if geography == "region":
            frame = (frame.groupby("group", sort=False)
                     .agg(count=("count", "sum"), previous_count=("previous_count", "sum"),
                          _population=("_population", "sum"))
                     .reset_index())
            if not have_previous:
                frame["previous_count"] = np.nan
            frame["area_code"] = self.area_code
            frame["area_name"] = self.area.name
            frame["parent_code"] = None
            frame["_source"] = "homicide_victims"
            frame["_note"] = ("Sum of the LADs in the MPS homicide file (" + str(len(in_file))
                              + f" of {len(self.lads)})")
        self._source_meta["homicide_victims"] = self._homicide_source(victims)
        out = self._finish(frame, measure, geography, current, previous, population, notes,
                           rank_simulations=rank_simulations, seed=seed,
                           confidence=confidence, group_col="group", rank_method=rank_method)
        reference = REFERENCE_GROUP[by]
        ratios = group_rates(
            pd.DataFrame({"area_code": out["area_code"], "group": out["group"],
                          "count": out["count"],
                          "population": np.where(np.isfinite(out["population"]),
                                                 out["population"], 0.0) * current.years}),
            "group", "count", "population", reference, by=["area_code"], per=PER,
            confidence=confidence)
        ratios = ratios.set_index(["area_code", "group"])
        idx = pd.MultiIndex.from_arrays([out["area_code"], out["group"]])
        out["reference_group"] = reference
        out["rate_ratio"] = ratios["rate_ratio"].reindex(idx).to_numpy()
        out["rate_ratio_ci_low"] = ratios["rr_low"].reindex(idx).to_numpy()
        out["rate_ratio_ci_high"] = ratios["rr_high"].reindex(idx).to_numpy()
        out["rate_ratio_exact_ci_low"] = ratios["rr_exact_low"].reindex(idx).to_numpy()
        out["rate_ratio_exact_ci_high"] = ratios["rr_exact_high"].reindex(idx).to_numpy()
        out["rate_ratio_p"] = ratios["p_value"].reindex(idx).to_numpy()
        out["rate_ratio_note"] = ratios["ratio_note"].reindex(idx).to_numpy()
        out["population_groups"] = [", ".join(mapping.get(str(g), ())) for g in out["group"]]
        return out

    def _homicide_source(self, victims: pd.DataFrame) -> CountSource:
        years = sorted(set(int(y) for y in victims["year"]))
        per_year = {y: frozenset(victims.loc[victims["year"] == y, "import_id"].astype(str))
                    for y in years}
        return CountSource(
            key="homicide_victims", dataset="homicide_victims",
            title="MPS homicide victims (by year recorded)", level="lad",
            vintage="LAD codes of the area definition", grain="year", codes=[], names=[],
            parents=[], periods=np.array([y * 12 for y in years], dtype=np.int64),
            keys=[("homicide", None)], cube=np.zeros((0, len(years), 1)),
            outside=np.zeros((len(years), 1)),
            imports_at={(i, 0): per_year[y] for i, y in enumerate(years)})

    def _incomplete_homicide_years(self, victims: pd.DataFrame,
                                   years: list[int]) -> dict[int, str]:
        """Years the homicide file does not hold in full: its count of victims is under half
        the homicide offences the MPS borough files record for the same LADs and year (the
        file is an extract taken during its last year). Without the borough files, its last
        year is treated as possibly partial."""
        out: dict[int, str] = {}
        last = int(victims["year"].max())
        source = next(iter(s for s in self.sources("lad") if s.key == "mps_borough"), None)
        for y in sorted(set(years)):
            n = int((victims["year"] == y).sum())
            if source is not None:
                w = Window(y * 12, y * 12 + 11)
                if source.covers_window(w) is None and source.gives("homicide"):
                    offences = float(source.totals("homicide", w).sum())
                    if offences > 0 and n < 0.5 * offences:
                        out[y] = (f"the homicide victims file holds only {n} victims in {y}, "
                                  f"against {offences:,.0f} homicides in the MPS borough "
                                  f"counts: {y} is not complete in the file; choose years "
                                  "before it")
                    continue
            if y == last:
                out[y] = (f"{y} is the homicide file's last year and may be incomplete (the "
                          "extract can be taken during the year), and no borough homicide "
                          "counts are loaded to check it; choose years before it")
        return out

    def _group_populations(self, by: str, mapping: dict[str, tuple[str, ...]],
                           window: Window) -> tuple[dict[tuple[str, str], float],
                                                     Population | None]:
        if not self._has("population"):
            raise SnaError("no population data are loaded (vru data fetch population)")
        candidates: list[Population] = []
        if by == "ethnicity":
            rows = self._df("""
                SELECT p.source, p.year, coalesce(l.parent_code, p.area_code) AS lad,
                       p.group_label, CAST(sum(p."count") AS DOUBLE) AS population,
                       any_value(p.import_id) AS import_id
                FROM population p
                LEFT JOIN (SELECT DISTINCT child_code, parent_code FROM area_links
                           WHERE child_level = 'msoa' AND child_vintage = '2021'
                             AND parent_level = 'lad' AND relation = 'within'
                             AND list_contains($lads, parent_code)) l
                       ON p.area_level = 'msoa' AND l.child_code = p.area_code
                WHERE p.characteristic = 'ethnic_group' AND p.group_level = 'high'
                  AND ((p.area_level = 'lad' AND list_contains($lads, p.area_code))
                       OR (p.area_level = 'msoa' AND p.area_vintage = '2021'
                           AND l.parent_code IS NOT NULL))
                GROUP BY ALL""", {"lads": self.lads})
            if rows.empty:
                raise SnaError(
                    "no Census ethnic group populations are loaded for the area's LADs: load "
                    "Census 2021 TS021 (census2021-ts021-msoa.csv; with London-only "
                    "geography: vru ingest population --skip-invalid FILE) or Census 2011 "
                    "QS201EW")
            rows["census_group"] = rows["group_label"].astype(str).str.split(r"[ ,]").str[0]
            for (source, year), part in rows.groupby(["source", "year"]):
                values: dict[str, float] = {}
                for g, census in mapping.items():
                    sub = part[part["census_group"].isin(census)].groupby("lad")["population"]
                    for lad, v in sub.sum().items():
                        values[f"{lad}|{g}"] = float(v)
                via = "MSOAs summed to LADs" if "2021" in str(source) else "by LAD"
                candidates.append(Population(
                    values=values, source=f"{source} ethnic group (high level), {via}",
                    year=_as_int(year), reference=_reference_time(str(source), _as_int(year)),
                    sources=_population_sources(part)))
        else:
            lsoa_lad = self.lsoa_lad()
            for sex_label in ("male", "female"):
                small = self._small_area_totals("lsoa", "2011", sex_label)
                for pop in _summed(small, lsoa_lad.rename(columns={"lsoa_code": "area_code"}),
                                   "2011 LSOAs", preference=0):
                    g = next(k for k, v in mapping.items() if v == (sex_label,))
                    candidates.append(Population(
                        values={f"{lad}|{g}": v for lad, v in pop.values.items()},
                        source=pop.source.replace("residents", f"{sex_label} residents"),
                        year=pop.year, reference=pop.reference, sources=pop.sources))
            merged: dict[tuple[str, int], Population] = {}
            for c in candidates:
                key = (c.source.replace("female", "male"), c.year)
                if key in merged:
                    m = merged[key]
                    merged[key] = Population({**m.values, **c.values},
                                             m.source.replace("male residents", "residents by sex"),
                                             m.year, m.reference, m.sources)
                else:
                    merged[key] = c
            candidates = list(merged.values())
            if not candidates:
                raise SnaError("no population by sex is loaded for the area (the ONS mid-year "
                               "LSOA estimates give it; Census 2021 TS007 does not)")
        keys = [f"{lad}|{g}" for lad in self.lads for g in mapping]
        chosen = choose_population(candidates, keys, window)
        if chosen is None:
            return {}, None
        split: dict[tuple[str, str], float] = {
            (k.split("|")[0], k.split("|")[1]): v for k, v in chosen.values.items()}
        return split, chosen

    # -- concentration --------------------------------------------------------------------

    def concentration(self, measure: str, geography: str = "lsoa", to: str | None = None,
                      months: int = 12,
                      shares: tuple[float, ...] = (0.01, 0.05, 0.1, 0.2, 0.5)) -> pd.DataFrame:
        """"x% of events happened in y% of places" for the areas of ``geography`` (all of
        them, zeros included), with the Gini and the generalised Gini of Bernasco and
        Steenbeek (2017), and how many of the top 10% of places were also in the top 10% in
        the previous period (``top_place_stability``)."""
        if geography == "region":
            raise SnaError("concentration compares places: use borough, ward or lsoa")
        frame, current, previous, notes = self.counts(measure, geography, to, months)
        counts = pd.Series(frame["count"].to_numpy(), index=frame["area_code"].to_numpy())
        if counts.sum() == 0:
            raise SnaError(f"no {measure} events in {current.label()}: nothing to concentrate")
        table = conc.concentration_table(counts, shares)
        table["sentence"] = [
            conc.share_of_events_in_top_places(counts, s).sentence() for s in shares]
        table.insert(0, "measure", measure)
        table.insert(1, "geography", geography)
        table.insert(2, "period_start", current.first_day.isoformat())
        table.insert(3, "period_end", current.last_day.isoformat())
        table["gini"] = conc.gini(counts)
        whole = bool(np.all(counts.to_numpy() == np.round(counts.to_numpy())))
        table["generalised_gini"] = conc.generalised_gini(counts) if whole else np.nan
        prev = frame["previous_count"]
        for col in ("top10_overlap_share_with_previous", "top10_jaccard_with_previous",
                    "spearman_rho_with_previous", "spearman_p_with_previous"):
            table[col] = np.nan
        if prev.notna().all():
            both = pd.DataFrame({"previous": prev.to_numpy(), "current": counts.to_numpy()},
                                index=counts.index)
            st = conc.top_place_stability(both, 0.1).iloc[0]
            table["top10_overlap_share_with_previous"] = st["overlap_share"]
            table["top10_jaccard_with_previous"] = st["jaccard"]
            table["spearman_rho_with_previous"] = st["spearman_rho"]
            table["spearman_p_with_previous"] = st["spearman_p"]
        else:
            notes.append(f"No stability figures: the previous period ({previous.label()}) is "
                         "not covered for every place.")
        method = Method(
            "Lorenz curve and shares of events in the top places; Gini; generalised Gini for "
            "sparse events; stability of the top 10% of places against the previous period "
            "(overlap, Jaccard, Spearman)",
            "Lorenz MO (1905) JASA 9:209-19; Gini C (1912) Variabilita e mutabilita; Bernasco "
            "W, Steenbeek W (2017) J Quant Criminol 33:451-67; Weisburd D (2015) Criminology "
            "53:133-57; Weisburd et al. (2004) Criminology 42:283-322.")
        return self._with_table_meta(table, frame, measure, geography, current, previous,
                                     None, method, notes)

    def lorenz(self, measure: str, geography: str = "lsoa", to: str | None = None,
               months: int = 12) -> pd.DataFrame:
        """The descending Lorenz curve of events over the areas of ``geography``."""
        frame, current, previous, notes = self.counts(measure, geography, to, months)
        counts = pd.Series(frame["count"].to_numpy(), index=frame["area_code"].to_numpy())
        if counts.sum() == 0:
            raise SnaError(f"no {measure} events in {current.label()}: no Lorenz curve")
        curve = conc.lorenz_curve(counts)
        method = Method("Lorenz curve of events over places (descending)",
                        "Lorenz MO (1905) JASA 9:209-19; Bernasco & Steenbeek (2017).")
        return self._with_table_meta(curve, frame, measure, geography, current, previous,
                                     None, method, notes)

    # -- deprivation ----------------------------------------------------------------------

    def deprivation_overlap(self, measure: str, to: str | None = None, months: int = 12,
                            geography: str = "lsoa", *, sii_repetitions: int = 10_000,
                            seed: int = 0, confidence: float = 0.95) -> pd.DataFrame:
        """Violence by deprivation: counts and rates per 100,000 a year by national IMD 2019
        decile and quintile and by local tenth of deprivation; the share of events in the
        most deprived 10% and 20% of LSOAs (nationally and locally); the slope and relative
        indices of inequality across deciles. One tidy table: ``statistic`` says which."""
        if geography != "lsoa":
            raise SnaError("the Index of Multiple Deprivation 2019 is published for 2011 "
                           "LSOAs: use --geography lsoa")
        if not self._has("deprivation"):
            raise SnaError("the Indices of Deprivation are not loaded (vru data fetch "
                           "deprivation)")
        frame, current, previous, notes = self.counts(measure, "lsoa", to, months)
        population = self._population_for("lsoa", frame["area_code"].tolist(), current)
        imd = self._df("""
            SELECT area_code,
                   max(value) FILTER (WHERE measure = 'decile') AS imd_decile,
                   max(value) FILTER (WHERE measure = 'rank') AS imd_rank,
                   any_value(import_id) AS import_id
            FROM deprivation
            WHERE domain = 'imd' AND area_level = 'lsoa' AND area_vintage = '2011'
              AND edition = 'IoD2019' AND NOT derived
            GROUP BY 1""")
        data = frame.merge(imd, on="area_code", how="left")
        pops = (population.values if population is not None else {})
        data["population"] = data["area_code"].map(pops)
        usable = data["imd_decile"].notna() & data["imd_rank"].notna() & data[
            "population"].notna()
        if not usable.all():
            notes.append(f"{int((~usable).sum())} LSOA(s) without an IMD decile or a "
                         "population are left out.")
        data = data[usable].copy()
        if data.empty:
            raise SnaError("no LSOA has both an IMD 2019 decile and a population")
        data["person_years"] = data["population"] * current.years
        parts = []
        for by in ("decile", "quintile", "local_tenth"):
            t = dep.rates_by_deprivation(data, by=cast(Any, by), count="count",
                                         population="person_years", per=PER,
                                         confidence=confidence)
            t = t.rename(columns={by: "group", "rate": "rate_per_100k", "rate_lower":
                                  "rate_ci_low", "rate_upper": "rate_ci_high",
                                  "population": "person_years"})
            t.insert(0, "statistic", f"rate_by_{by}")
            parts.append(t)
        share_rows = []
        for basis in ("national", "local"):
            for fraction in (0.1, 0.2):
                sh = dep.share_in_most_deprived(data, fraction, basis=cast(Any, basis),
                                                population="population")
                share_rows.append({
                    "statistic": f"share_in_most_deprived_{int(fraction * 100)}pc_{basis}",
                    "areas": sh.areas, "count": sh.events, "share_of_events": sh.share_of_events,
                    "share_of_areas": sh.share_of_areas,
                    "share_of_population": sh.share_of_population,
                    "value": sh.ratio_to_area_share})
        parts.append(pd.DataFrame(share_rows))
        deciles = parts[0].rename(columns={"group": "decile", "person_years": "population"})
        sii = dep.slope_index_of_inequality(
            deciles[deciles["population"] > 0], group="decile", count="count",
            population="population", per=PER, confidence=confidence,
            repetitions=sii_repetitions, rng=np.random.default_rng(seed))
        parts.append(pd.DataFrame([
            {"statistic": "sii_per_100k", "value": sii.sii, "value_ci_low": sii.sii_lower,
             "value_ci_high": sii.sii_upper},
            {"statistic": "rii", "value": sii.rii, "value_ci_low": sii.rii_lower,
             "value_ci_high": sii.rii_upper},
        ]))
        table = pd.concat(parts, ignore_index=True)
        table.insert(1, "description", table["statistic"].map(_describe_deprivation))
        table.insert(1, "measure", measure)
        table.insert(2, "period_start", current.first_day.isoformat())
        table.insert(3, "period_end", current.last_day.isoformat())
        notes.append("Deciles and quintiles are national (IMD 2019: decile 1 = the most "
                     "deprived 10% of LSOAs in England); local tenths rank the area's own "
                     "LSOAs. Rates are per 100,000 residents a year.")
        method = Method(
            "Counts and rates by IMD 2019 decile, quintile and local tenth (exact Poisson "
            "limits); shares of events in the most deprived places; slope and relative index "
            "of inequality (Poisson simulation interval)",
            "MHCLG (2019) English Indices of Deprivation 2019; Low A, Low A (2004) J Public "
            "Health 26:388-95; Mackenbach JP, Kunst AE (1997) Soc Sci Med 44:757-71; "
            "PHEindicatormethods::phe_sii; Garwood F (1936).")
        extra = [SourceDataset("deprivation", str(i)) for i in sorted(set(imd["import_id"]))]
        return self._with_table_meta(table, frame, measure, "lsoa", current, previous,
                                     population, method, notes, extra)

    # -- timing ---------------------------------------------------------------------------

    def timing(self, measure: str, geography: str = "region", to: str | None = None,
               months: int = 36, *, confidence: float = 0.95) -> pd.DataFrame:
        """Month-of-year seasonality as events per day (so February compares with March),
        per area, with the share of each month's days that are London school holidays.

        School holidays against term time, and days of the week, need the date of each
        event; the crime counts and police.uk give months only, so those are not computed
        (said in the notes)."""
        level = LEVEL_OF[geography]
        sources = [s for s in self._usable_sources(measure, level, geography)
                   if s.gives(measure)]
        if to is None:
            to = _ym(int(max(s.periods.max() for s in sources)))
        current, previous = windows(to, months)
        notes: list[str] = []
        series: list[tuple[str, str, FloatArray, str]] = []
        for s in sources:
            if s.grain != "month":
                notes.append(f"{s.title} are yearly: no seasonality from them.")
                continue
            gap = s.covers_window(current)
            if gap is not None:
                notes.append(f"Not included: {gap}.")
                continue
            sel = (s.periods >= current.start) & (s.periods <= current.end)
            monthly = s.monthly(measure)[:, sel]
            for i, code in enumerate(s.codes):
                series.append((code, s.names[i], monthly[i], s.key))
            self._source_meta[s.key] = s
        if not series:
            raise SnaError(f"no monthly counts of {measure!r} by {geography} cover "
                           f"{current.label()}: " + "; ".join(notes))
        if geography == "region":
            total = np.sum([v for _, _, v, _ in series], axis=0)
            keys = "+".join(sorted({k for *_, k in series}))
            series = [(self.area_code, self.area.name, total, keys)]
        index = pd.PeriodIndex([_period(m) for m in current.ordinals()], freq="M")
        holiday_share = self._holiday_share(current, notes)
        rows = []
        for code, name, values, key in series:
            prof = tim.month_of_year_seasonality(pd.Series(values, index=index),
                                                 confidence=confidence)
            t = prof.table.copy()
            t.insert(0, "area_code", code)
            t.insert(1, "area_name", name)
            t["chi2"] = prof.chi2
            t["df"] = prof.df
            t["p_value"] = prof.p_value
            t["overall_rate_per_day"] = prof.overall_rate_per_day
            t["school_holiday_day_share"] = t["month"].map(holiday_share)
            t["_source"] = key
            rows.append(t)
        table = pd.concat(rows, ignore_index=True)
        table.insert(0, "measure", measure)
        table.insert(1, "geography", geography)
        table.insert(2, "period_start", current.first_day.isoformat())
        table.insert(3, "period_end", current.last_day.isoformat())
        notes.append("School holidays against term time, days of the week and the "
                     "after-school hours need each event's date and time; these sources give "
                     "the month only, so they are not computed here.")
        method = Method(
            "Month-of-year seasonality: events per day by calendar month with exact Poisson "
            "limits; chi-square test against days (Pearson)",
            "Garwood F (1936) Biometrika 28:437-42; Pearson K (1900).")
        frame = table.rename(columns={"_source": "_src"}).assign(_source=table["_source"])
        out = self._with_table_meta(table.drop(columns="_source"), frame, measure, geography,
                                    current, previous, None, method, notes)
        return out

    def _holiday_share(self, window: Window, notes: list[str]) -> dict[int, float]:
        """Share of the window's days in each calendar month that are London school
        holidays (half terms included), from the packaged terms table."""
        if self.area.key != "london":
            notes.append("The packaged school terms table is London's; no school holiday "
                         f"shares are given for {self.area.name}.")
            return {}
        terms = load_school_terms_london()
        first = pd.Timestamp(terms["start"].min()).date()
        last = pd.Timestamp(terms["end"].max()).date()
        start, end = max(window.first_day, first), min(window.last_day, last)
        if start > end:
            notes.append("The London school terms table does not cover this period.")
            return {}
        days = tim.classify_school_days(terms, start, end)
        days = days[days["school_time"].notna()]
        share = (days.assign(month=days["date"].dt.month,
                             holiday=days["school_time"] == "holiday")
                 .groupby("month")["holiday"].mean())
        notes.append("school_holiday_day_share: the share of the period's days in that month "
                     "that are school holidays or half terms (London pattern, "
                     "vru/reference/school_terms_london.md); context for the seasonality, "
                     "not a holiday effect.")
        return {_as_int(k): float(v) for k, v in share.items()}

    # -- trend ----------------------------------------------------------------------------

    def trend(self, measure: str, geography: str = "region", to: str | None = None,
              months: int | None = None, *, alpha: float = 0.05,
              confidence: float = 0.95) -> pd.DataFrame:
        """The monthly trend per area over the whole series to ``to`` (or its last
        ``months`` months): Mann-Kendall with Sen's slope, the seasonal Mann-Kendall, and a
        Poisson or negative binomial regression with month-of-year effects giving the
        change per year as a rate ratio with its interval."""
        level = LEVEL_OF[geography]
        sources = [s for s in self._usable_sources(measure, level, geography)
                   if s.gives(measure) and s.grain == "month"]
        if not sources:
            raise SnaError(f"the trend needs monthly counts; the {geography} counts of "
                           f"{measure!r} are yearly")
        end = (max(int(s.periods.max()) for s in sources) if to is None
               else windows(to, 1)[0].end)
        notes: list[str] = []
        series: list[tuple[str, str, npt.NDArray[np.int64], FloatArray, str]] = []
        for s in sources:
            sel = s.periods <= end
            if months is not None:
                sel &= s.periods > end - months
            per = s.periods[sel]
            if per.size == 0:
                notes.append(f"{s.title}: no months in the period.")
                continue
            values = s.monthly(measure)[:, sel]
            self._source_meta[s.key] = s
            for i, code in enumerate(s.codes):
                series.append((code, s.names[i], per, values[i], s.key))
            if per.size < per.max() - per.min() + 1:
                notes.append(f"{s.title} have gaps in the months; the tests use the months "
                             "there are.")
        if not series:
            raise SnaError("no months to analyse")
        if geography == "region":
            common = sorted(set.intersection(*(set(p.tolist()) for _, _, p, _, _ in series)))
            total = np.zeros(len(common))
            for _, _, per, values, _ in series:
                pos = {m: j for j, m in enumerate(per.tolist())}
                total += np.array([values[pos[m]] for m in common])
            keys = "+".join(sorted({k for *_, k in series}))
            series = [(self.area_code, self.area.name,
                       np.array(common, dtype=np.int64), total, keys)]
        rows = []
        for code, name, per, values, key in series:
            rows.append({"area_code": code, "area_name": name, "_source": key,
                         **_trend_row(per, values, alpha, confidence)})
        table = pd.DataFrame(rows)
        first = int(min(p.min() for _, _, p, _, _ in series))
        last = int(max(p.max() for _, _, p, _, _ in series))
        if any(s.key == "mps_borough" for s in sources) and first < 2019 * 12 <= last:
            notes.append("The MPS series changes scheme within the period (new categories from "
                         "2019, the CONNECT recording system from 2024); part of a trend can "
                         "be a recording change.")
        whole = Window(first, last)
        table.insert(0, "measure", measure)
        table.insert(1, "geography", geography)
        method = Method(
            f"{trd.MANN_KENDALL.name}; {trd.SEASONAL_MANN_KENDALL.name}; {trd.GLM_TREND.name}",
            f"{trd.MANN_KENDALL.citation} {trd.SEASONAL_MANN_KENDALL.citation} "
            f"{trd.GLM_TREND.citation}")
        return self._with_table_meta(table.drop(columns="_source"), table, measure, geography,
                                     whole, whole, None, method, notes)

    # -- transport hubs -------------------------------------------------------------------

    def transport_hubs(self, measure: str = "violence_and_sexual_offences",
                       to: str | None = None, months: int = 12, *,
                       distance_m: float = 200.0, confidence: float = 0.95) -> pd.DataFrame:
        """Violence near stations: police.uk street-level crimes (points) within
        ``distance_m`` of a station against elsewhere in the LADs that have them, per km2 and
        per resident; one row per station, most violence nearby first."""
        street = next((s for s in self.sources("lad") if s.dataset == "street_crime"), None)
        if street is None:
            raise SnaError("violence near stations needs police.uk street-level crime points "
                           f"in {self.area.name}; none are loaded for its LADs")
        if not street.gives(measure):
            raise SnaError(f"police.uk street-level crime cannot give {measure!r}; it can "
                           f"give: {', '.join(measures_given(street.measures_present))}")
        if to is None:
            to = _ym(int(street.periods.max()))
        current, previous = windows(to, months)
        gap = street.covers_window(current)
        if gap is not None:
            raise SnaError(gap)
        lads = list(street.codes)
        lsoa_lad = self.lsoa_lad()
        lsoas = lsoa_lad.loc[lsoa_lad["lad_code"].isin(lads), "lsoa_code"].tolist()
        self.con.register("sna_hub_lsoas", pa.table({"code": lsoas}))
        points = self._df("""
            SELECT longitude, latitude, lsoa_code FROM street_crime
            WHERE list_contains($measures, measure)
              AND year(month) * 12 + month(month) - 1 BETWEEN $a AND $b
              AND lsoa_code IN (SELECT code FROM sna_hub_lsoas)""",
                          {"measures": sorted(descendants(measure)), "a": current.start,
                           "b": current.end})
        located = points.dropna(subset=["longitude", "latitude"])
        notes = list(street.notes)
        if len(located) < len(points):
            notes.append(f"{len(points) - len(located)} crime(s) without a location are left "
                         "out.")
        events = gpd.GeoDataFrame(
            located, geometry=gpd.points_from_xy(located["longitude"], located["latitude"]),
            crs=EPSG_WGS84).to_crs(EPSG_BNG)
        if not self._has("stations"):
            raise SnaError("no stations are loaded (vru data fetch stations)")
        st = self._df("SELECT station_id, name, network, easting, northing, borough_code, "
                      "import_id FROM stations "
                      "WHERE easting IS NOT NULL AND northing IS NOT NULL")
        stations = gpd.GeoDataFrame(st, geometry=gpd.points_from_xy(st["easting"],
                                                                    st["northing"]),
                                    crs=EPSG_BNG)
        names = ", ".join(self.lad_names().get(c, c) for c in lads)
        try:
            study = load_boundaries(self.store, "lad", codes=lads)
        except BoundariesNotLoaded:
            study = None
        if study is None or study.empty:
            if not st["borough_code"].isin(lads).any():
                raise SnaError(f"no stations are loaded in {names} (the loaded station lists "
                               "are London's TfL and National Rail stations), and no "
                               "boundaries for them either")
            raise SnaError(f"no LAD boundaries are loaded for {names}: load them (vru data "
                           "fetch boundaries)")
        reach = study.geometry.union_all().buffer(distance_m)
        stations = stations[stations.within(reach)].reset_index(drop=True)
        if stations.empty:
            raise SnaError(f"no loaded station lies within {distance_m:g} m of {names} (the "
                           "loaded station lists are London's)")
        population = self._population_for("lsoa", lsoas, current)
        pop_layer = None
        if population is not None:
            try:
                polys = load_boundaries(self.store, "lsoa", "2011", codes=lsoas)
                polys["population"] = polys["code"].map(population.values)
                pop_layer = polys.dropna(subset=["population"])
            except BoundariesNotLoaded:
                notes.append("No 2011 LSOA boundaries: no rate per resident.")
        summary = prox.station_proximity(events, stations, distance_m, study_area=study,
                                         population=pop_layer, residents_per=PER,
                                         confidence=confidence)
        table = prox.events_near_stations(events, stations, distance_m,
                                          station_id="station_id")
        info = stations.drop_duplicates("station_id").set_index("station_id")
        table.insert(1, "name", table["station"].map(info["name"]))
        table.insert(2, "network", table["station"].map(info["network"]))
        table.insert(0, "measure", measure)
        table.insert(1, "period_start", current.first_day.isoformat())
        table.insert(2, "period_end", current.last_day.isoformat())
        comparisons = {"per_km2": summary.per_km2, "per_resident": summary.per_resident}
        table["events_near_any_station"] = summary.events_near
        table["events_elsewhere"] = summary.events_elsewhere
        table["events_per_km2_near"] = summary.events_per_km2_near
        table["events_per_km2_elsewhere"] = summary.events_per_km2_elsewhere
        for label, comp in comparisons.items():
            table[f"rate_ratio_{label}"] = comp.rate_ratio if comp is not None else np.nan
            table[f"rate_ratio_{label}_ci_low"] = comp.ci_lower if comp is not None else np.nan
            table[f"rate_ratio_{label}_ci_high"] = (comp.ci_upper if comp is not None
                                                    else np.nan)
            table[f"rate_ratio_{label}_p"] = comp.p_value if comp is not None else np.nan
        table["rate_near_per_100k_residents"] = summary.rate_near
        table["rate_elsewhere_per_100k_residents"] = summary.rate_elsewhere
        notes.append(
            f"Stations: {len(stations)} loaded stations within {distance_m:g} m of the study "
            "area (TfL and National Rail lists; an interchange listed by both networks counts "
            "twice in events_within). police.uk points are snapped to nearby public places, "
            "so read distances under 200 m with care. Rates per resident are areal-weighted "
            "from LSOA populations; station areas have many visitors, so the per-km2 rate is "
            "the safer comparison.")
        method = Method(
            "Events within a distance of stations against elsewhere, per km2 and per resident "
            "(exact conditional rate ratio); stations ranked by events nearby",
            "Ceccato V, Uittenbogaard AC (2014) Annals AAG 104:131-50; Goodchild MF, Lam NS-N "
            "(1980) Geo-Processing 1:297-312; Przyborowski & Wilenski (1940).")
        frame = pd.DataFrame({"_source": [street.key] * len(table)})
        self._source_meta[street.key] = street
        extra = [SourceDataset("stations", str(i)) for i in sorted(set(st["import_id"]))]
        extra += [SourceDataset("boundaries", str(study.attrs.get("import_id")))]
        out = self._with_table_meta(table, frame, measure, "station", current, previous,
                                    population, method, notes, extra)
        out.attrs["summary"] = summary
        return out

    # -- provenance for tables that are not one row per area ------------------------------

    def _with_table_meta(self, table: pd.DataFrame, frame: pd.DataFrame, measure: str,
                         geography: str, current: Window, previous: Window,
                         population: Population | None, method: Method, notes: list[str],
                         extra: Sequence[SourceDataset] = ()) -> pd.DataFrame:
        sources: list[SourceDataset] = []
        vintages: list[str] = []
        for key in dict.fromkeys(frame["_source"].astype(str)):
            for k in key.split("+"):
                s = self._source_meta.get(k)
                if s is None:
                    continue
                vintages.append(s.vintage)
                sources += [SourceDataset(s.dataset, i)
                            for i in s.imports(measure, current, previous)]
        if population is not None:
            sources += list(population.sources)
        sources += list(extra)
        meta = ResultMeta.for_measure(
            measure, geography=geography,
            geography_vintage="; ".join(dict.fromkeys(vintages)) or "not known",
            period_start=current.first_day, period_end=current.last_day, method=method,
            population=population.base() if population is not None else None,
            sources=tuple(dict.fromkeys(sources)))
        out = with_provenance_columns(attach(table.reset_index(drop=True), meta))
        out.attrs["notes"] = list(dict.fromkeys(notes))
        return out


# --------------------------------------------------------------------------- helpers


def _describe_deprivation(statistic: str) -> str:
    if statistic.startswith("rate_by_"):
        kind = statistic.removeprefix("rate_by_").replace("_", " ")
        return (f"count and rate per 100,000 a year by {kind} (1 = most deprived); value: "
                "none")
    if statistic.startswith("share_in_most_deprived_"):
        pc, basis = statistic.removeprefix("share_in_most_deprived_").split("pc_")
        where = "England's" if basis == "national" else "the area's own"
        return (f"events in the most deprived {pc}% of {where} LSOAs; value: their share of "
                "events divided by their share of LSOAs")
    if statistic == "sii_per_100k":
        return ("slope index of inequality: modelled rate gap per 100,000 a year between the "
                "most and least deprived ends, across national deciles")
    if statistic == "rii":
        return "relative index of inequality: the SII divided by the mean rate"
    return ""


def _trend_row(months: npt.NDArray[np.int64], values: FloatArray, alpha: float,
               confidence: float) -> dict[str, Any]:
    """Mann-Kendall, seasonal Mann-Kendall and the GLM trend for one monthly series."""
    first, last = int(months.min()), int(months.max())
    grid = np.full(last - first + 1, np.nan)
    grid[months - first] = values
    row: dict[str, Any] = {"first_month": _ym(first), "last_month": _ym(last),
                           "n_months": int(months.size), "events": float(values.sum())}
    notes = []
    try:
        mk = trd.mann_kendall(grid, alpha)
        row.update(mk_trend=mk.trend, mk_p=mk.p_value, mk_tau=mk.tau,
                   sen_slope_per_month=mk.slope)
    except ValueError as exc:
        notes.append(f"Mann-Kendall: {exc}")
    try:
        smk = trd.seasonal_mann_kendall(grid, 12, alpha)
        row.update(seasonal_mk_trend=smk.trend, seasonal_mk_p=smk.p_value,
                   seasonal_sen_slope_per_year=smk.slope)
    except ValueError as exc:
        notes.append(f"seasonal Mann-Kendall: {exc}")
    try:
        fit = trd.glm_trend(values, [_period(int(m)) for m in months], confidence=confidence)
        row.update(glm_family=fit.family, glm_rate_ratio_per_year=fit.rate_ratio_per_year,
                   glm_ci_low=fit.ci_low, glm_ci_high=fit.ci_high, glm_p=fit.p_value,
                   glm_dispersion=fit.dispersion, glm_converged=fit.converged)
    except ValueError as exc:
        notes.append(f"regression: {exc}")
    row["trend_note"] = "; ".join(notes)
    return row


def _objects(values: Sequence[Any]) -> pd.Series:
    """A column of Python objects as they are (pandas would convert text to Arrow strings)."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values)
    return pd.Series(arr, dtype=object, copy=False)


def _map_unique(values: pd.Series, func: Any) -> pd.Series:
    """``values.map(func)``, calling ``func`` once per distinct value."""
    obj = values.astype(object)
    uniques = pd.unique(obj.to_numpy())
    table = {u: func(u) for u in uniques if u is not None and u == u}
    mapped = obj.map(table).astype(object)
    return mapped.where(mapped.notna(), None)


def _as_int(value: object) -> int:
    return int(cast(Any, value))


def _norm(name: object) -> str:
    return " ".join(str(name).replace("&", "and").split()).casefold()


def _population_sources(part: pd.DataFrame) -> tuple[SourceDataset, ...]:
    return tuple(SourceDataset("population", str(i)) for i in sorted(set(part["import_id"])))


def _summed(small: pd.DataFrame, mapping: pd.DataFrame, unit: str, *,
            preference: int) -> list[Population]:
    """LAD populations summed from small areas, one per (source, year), for each LAD whose
    every small area (in ``mapping``: area_code -> lad_code) has a population."""
    out: list[Population] = []
    if small.empty or mapping.empty:
        return out
    needed = mapping.groupby("lad_code")["area_code"].size()
    for (source, year), part in small.groupby(["source", "year"]):
        joined = part.merge(mapping, on="area_code")
        if joined.empty:
            continue
        have = joined.groupby("lad_code").agg(n=("area_code", "size"),
                                              population=("population", "sum"))
        complete = have[have["n"] >= needed.reindex(have.index).to_numpy()]
        if complete.empty:
            continue
        out.append(Population(
            values={str(k): float(v) for k, v in complete["population"].items()},
            source=f"{source}, residents summed from {unit}", year=_as_int(year),
            reference=_reference_time(str(source), _as_int(year)),
            sources=_population_sources(joined), preference=preference))
    return out


def _sum_population(population: Population | None, members: list[str]) -> float:
    if population is None:
        return float("nan")
    values = [population.values.get(c) for c in members]
    if any(v is None for v in values):
        return float("nan")
    return float(sum(v for v in values if v is not None))


RANK_COLUMNS = ("rank_by_count", "rank_by_count_low", "rank_by_count_high",
                "rank_by_rate", "rank_by_rate_low", "rank_by_rate_high")


def _change_columns(cur: FloatArray, prev: FloatArray, confidence: float) -> dict[str, Any]:
    """change, change_pct, change_rate_ratio and interval, change_p, change_p_adjusted (BH
    across the rows that have a previous count), change_significant, change_direction."""
    n = cur.size
    has = np.isfinite(prev)
    cols: dict[str, Any] = {c: np.full(n, np.nan) for c in (
        "change", "change_pct", "change_rate_ratio", "change_ci_low", "change_ci_high",
        "change_p", "change_p_adjusted")}
    significant = np.full(n, None, dtype=object)
    direction = np.full(n, None, dtype=object)
    if has.any():
        table = change_stats.change_table(
            pd.DataFrame({"c": cur[has], "p": prev[has]}), "c", "p", confidence=confidence)
        for col, src in (("change", "change"), ("change_pct", "pct_change"),
                         ("change_rate_ratio", "rate_ratio"), ("change_ci_low", "rr_low"),
                         ("change_ci_high", "rr_high"), ("change_p", "p_value"),
                         ("change_p_adjusted", "p_adjusted")):
            cols[col][has] = table[src].to_numpy(dtype=np.float64)
        significant[has] = table["significant"].to_numpy(dtype=bool)
        direction[has] = table["direction"].to_numpy(dtype=object)
    cols["change_significant"] = pd.array(significant, dtype="boolean")
    cols["change_direction"] = direction
    return cols


def _fill_ranks(ranks: dict[str, FloatArray], rows: npt.NDArray[np.bool_], count: FloatArray,
                person_years: FloatArray, simulations: int, seed: int,
                confidence: float, method: rankings.RankMethod = "computed") -> None:
    if rows.sum() == 0:
        return
    if simulations == 0:  # point ranks only
        ranks["rank_by_count"][rows] = rankings.point_ranks(count[rows])
        if np.any(person_years[rows] > 0):
            ranks["rank_by_rate"][rows] = rankings.point_ranks(
                rates.rate(count[rows], person_years[rows], PER))
        return
    rng = np.random.default_rng(seed)
    vol = rankings.rank_intervals(count[rows], rng=rng, by="volume",
                                  n_simulations=simulations, confidence=confidence,
                                  method=method)
    ranks["rank_by_count"][rows] = vol.rank
    ranks["rank_by_count_low"][rows] = vol.rank_low
    ranks["rank_by_count_high"][rows] = vol.rank_high
    if np.any(person_years[rows] > 0):
        by_rate = rankings.rank_intervals(count[rows], person_years[rows], rng=rng, by="rate",
                                          n_simulations=simulations, confidence=confidence,
                                          method=method)
        ranks["rank_by_rate"][rows] = by_rate.rank
        ranks["rank_by_rate_low"][rows] = by_rate.rank_low
        ranks["rank_by_rate_high"][rows] = by_rate.rank_high


# --------------------------------------------------------------------------- derived entries

def _code_digest() -> str:
    try:
        code = b"".join(Path(m.__file__).read_bytes()
                        for m in (sys.modules[__name__], crime_series_module) if m.__file__)
    except OSError:  # not installed as files (a zip): fall back on the package version
        from vru import __version__
        code = __version__.encode()
    return hashlib.sha256(code).hexdigest()


#: The code that builds count sources and populations: a change to it makes the derived
#: entries it wrote stale.
_CODE_DIGEST = _code_digest()


def _pack_sources(sources: list[CountSource]) -> tuple[dict[str, npt.NDArray[Any]],
                                                        list[dict[str, Any]]]:
    arrays: dict[str, npt.NDArray[Any]] = {}
    meta: list[dict[str, Any]] = []
    for i, s in enumerate(sources):
        arrays[f"{i}_periods"] = s.periods
        arrays[f"{i}_cube"] = s.cube
        arrays[f"{i}_outside"] = s.outside
        meta.append({
            "key": s.key, "dataset": s.dataset, "title": s.title, "level": s.level,
            "vintage": s.vintage, "grain": s.grain, "codes": s.codes, "names": s.names,
            "parents": s.parents, "keys": [list(k) for k in s.keys],
            "outside_label": s.outside_label, "notes": s.notes,
            "imports_at": [[p, k, sorted(ids)] for (p, k), ids in s.imports_at.items()]})
    return arrays, meta


def _unpack_sources(arrays: dict[str, npt.NDArray[Any]],
                    meta: list[dict[str, Any]]) -> list[CountSource]:
    return [CountSource(
        key=m["key"], dataset=m["dataset"], title=m["title"], level=m["level"],
        vintage=m["vintage"], grain=m["grain"], codes=m["codes"], names=m["names"],
        parents=m["parents"], periods=arrays[f"{i}_periods"],
        keys=[(k[0], k[1]) for k in m["keys"]], cube=arrays[f"{i}_cube"],
        outside=arrays[f"{i}_outside"], outside_label=m["outside_label"], notes=m["notes"],
        imports_at={(p, k): frozenset(ids) for p, k, ids in m["imports_at"]})
        for i, m in enumerate(meta)]


def _population_to(p: Population) -> dict[str, Any]:
    return dataclasses.asdict(p)  # sources become {"name", "import_id"} dicts


def _population_from(d: dict[str, Any]) -> Population:
    return Population(**{**d, "sources": tuple(SourceDataset(**s) for s in d["sources"])})


# --------------------------------------------------------------------------- module API


@contextmanager
def _opened(store: EvidenceStore | SnaData, area: str) -> Iterator[SnaData]:
    if isinstance(store, SnaData):
        yield store
        return
    data = SnaData(store, area)
    try:
        yield data
    finally:
        data.close()


def figures(
    store: EvidenceStore | SnaData,
    measure: str,
    geography: str = "borough",
    to: str | None = None,
    months: int = 12,
    area: str = "london",
    by: str | None = None,
    *,
    rank_simulations: int = DEFAULT_RANK_SIMULATIONS,
    seed: int = 0,
    confidence: float = 0.95,
    rank_method: rankings.RankMethod = "computed",
) -> pd.DataFrame:
    """The SNA figures of ``measure`` by ``geography`` for the ``months`` months to ``to``:
    see ``SnaData.figures``."""
    with _opened(store, area) as data:
        return data.figures(measure, geography, to, months, by,
                            rank_simulations=rank_simulations, seed=seed,
                            confidence=confidence, rank_method=rank_method)


def concentration(store: EvidenceStore | SnaData, measure: str, geography: str = "lsoa",
                  to: str | None = None, months: int = 12, area: str = "london",
                  shares: tuple[float, ...] = (0.01, 0.05, 0.1, 0.2, 0.5)) -> pd.DataFrame:
    """Concentration of ``measure`` over the areas of ``geography``: see
    ``SnaData.concentration``."""
    with _opened(store, area) as data:
        return data.concentration(measure, geography, to, months, shares)


def lorenz(store: EvidenceStore | SnaData, measure: str, geography: str = "lsoa",
           to: str | None = None, months: int = 12, area: str = "london") -> pd.DataFrame:
    """The Lorenz curve of ``measure`` over the areas of ``geography``."""
    with _opened(store, area) as data:
        return data.lorenz(measure, geography, to, months)


def deprivation_overlap(store: EvidenceStore | SnaData, measure: str, to: str | None = None,
                        months: int = 12, area: str = "london", geography: str = "lsoa",
                        *, seed: int = 0) -> pd.DataFrame:
    """Violence by deprivation: see ``SnaData.deprivation_overlap``."""
    with _opened(store, area) as data:
        return data.deprivation_overlap(measure, to, months, geography, seed=seed)


def timing(store: EvidenceStore | SnaData, measure: str, geography: str = "region",
           to: str | None = None, months: int = 36, area: str = "london") -> pd.DataFrame:
    """Month-of-year seasonality per area: see ``SnaData.timing``."""
    with _opened(store, area) as data:
        return data.timing(measure, geography, to, months)


def trend(store: EvidenceStore | SnaData, measure: str, geography: str = "region",
          to: str | None = None, months: int | None = None,
          area: str = "london") -> pd.DataFrame:
    """The monthly trend per area: see ``SnaData.trend``."""
    with _opened(store, area) as data:
        return data.trend(measure, geography, to, months)


def transport_hubs(store: EvidenceStore | SnaData,
                   measure: str = "violence_and_sexual_offences", to: str | None = None,
                   months: int = 12, area: str = "london",
                   distance_m: float = 200.0) -> pd.DataFrame:
    """Violence near stations: see ``SnaData.transport_hubs``."""
    with _opened(store, area) as data:
        return data.transport_hubs(measure, to, months, distance_m=distance_m)


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as JSON-ready dictionaries: NaN and NA become None, numpy scalars Python."""
    out: list[dict[str, Any]] = []
    for row in df.to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for k, v in row.items():
            if isinstance(v, (list, tuple)):
                clean[str(k)] = list(v)
                continue
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                clean[str(k)] = None
            elif isinstance(v, np.generic):
                clean[str(k)] = v.item()
            elif isinstance(v, float) and math.isinf(v):
                clean[str(k)] = None
            else:
                clean[str(k)] = v
        out.append(clean)
    return out
