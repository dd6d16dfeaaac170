"""Use case: the Strategic Needs Assessment report of an area (``vru sna``).

    >>> report = build_report(store, "london", to="2025-12", months=12, edition="public")
    >>> write_report(report, Path("out/london"))      # vru.interfaces.report.builder

``ensure_evidence`` first loads what the area is missing (``services.fetch``, from a mirror
folder or the publishers, with progress). ``build_report`` then computes every figure once,
from one ``SnaData`` (so each count source is read once): headline figures, trends, counts and
rates by borough, ward and LSOA, hot spots and emerging hot spots, concentration (Lorenz),
deprivation, disproportionality, timing, transport hubs and the priority places, and the
methods and sources annex. Each table keeps its provenance (what it counts, for what place and
period, per what population, from which source) for the captions and the annex.

A section the loaded data cannot give is kept, with the reason in words, never dropped or
shown as zero. Where a geography's counts do not reach the report's period (the MPS ward file
covers its latest 24 months; the LSOA files are yearly), the section uses the latest period
those counts do cover, of the same length where they allow, and says so above its figures.

**Editions.** ``restricted``: every figure. ``public``: the same report after disclosure
control (``domain.disclosure``: counts under the threshold hidden, secondary suppression over
every known total, rounding where configured, no rate on fewer than 10 events, group and
homicide figures only at levels where every figure passes), with fewer technical columns and
plain words (``domain.plain_language``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from vru.adapters.store.evidence_store import EvidenceStore
from vru.adapters.store.geo import BoundariesNotLoaded, load_boundaries
from vru.domain.disclosure import (
    HIDDEN,
    STATUS_SUFFIX,
    DisclosureRules,
    TableSpec,
    passing_level,
    protect,
)
from vru.domain.geography import EPSG_WGS84
from vru.domain.measures import MEASURES
from vru.domain.places.priority_rules import RuleError, contiguous_clusters, select_places
from vru.domain.statistics.provenance import ResultMeta
from vru.services.fetch import FetchReport, fetch
from vru.services.priority_places import (
    HotspotResult,
    PlacesError,
    hotspots,
    load_rule,
    place_deprivation,
)
from vru.services.sna_figures import SnaData, SnaError, Window, windows

Edition = Literal["restricted", "public"]
EDITIONS: tuple[str, ...] = ("restricted", "public")

#: Datasets the report reads, and the fetch datasets that load them.
NEEDED_DATASETS: dict[str, str] = {
    "area_links": "lookups", "boundaries": "boundaries", "population": "population",
    "deprivation": "deprivation", "crime_counts": "mps-borough", "street_crime":
    "police-uk-street", "stations": "stations", "homicide_victims": "homicide",
}
#: Headline measures, in order of preference; those the loaded data give are reported.
HEADLINE_MEASURES: tuple[str, ...] = (
    "violence_against_the_person", "violence_with_injury", "violence_and_sexual_offences",
    "homicide", "robbery", "possession_of_weapons", "sexual_offences",
)
MAIN_MEASURES: tuple[str, ...] = ("violence_against_the_person", "violence_and_sexual_offences")
PRIORITY_RULES: tuple[str, ...] = ("violence-boroughs", "rising-violence-deprived-wards")
GEOGRAPHY_WORDS: dict[str, tuple[str, str]] = {
    "region": ("the whole area", "the whole area"),
    "borough": ("borough", "boroughs"), "ward": ("ward", "wards"),
    "lsoa": ("neighbourhood (LSOA)", "neighbourhoods (LSOAs)"),
    "grid": ("grid cell", "grid cells"), "station": ("station", "stations"),
}
LAD_WORDS = {"london": ("borough", "boroughs")}
HOTSPOT_PERMUTATIONS = 999
SIMPLIFY_METRES = {"borough": 40.0, "ward": 15.0, "lsoa": 12.0, "grid": 0.0}
TOP_ROWS = 20


class ReportError(ValueError):
    """A report that cannot be built at all (no counts for the area); says why."""


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Column:
    """A column shown in the report: ``kind`` is text, count, rate, pct, share, number,
    ratio or flag (a count column is protected in the public edition)."""

    name: str
    label: str
    kind: str = "text"


@dataclass(frozen=True)
class Caption:
    """What a table or chart counts, for what place and period, per what population, from
    which source; ``definition`` and ``method`` name annex anchors."""

    counts: str
    place: str
    period: str
    per: str
    source: str
    definition: str
    method: str

    def sentence(self) -> str:
        return (f"Counts: {self.counts}. Place: {self.place}. Period: {self.period}. "
                f"Per: {self.per}. Source: {self.source}.")


@dataclass
class ReportTable:
    """One table of the report: ``frame`` holds every column (the data of figures.json);
    ``columns`` are those shown in the HTML (``show_rows`` rows, the rest in the files).
    ``spec`` says how it is protected in the public edition (None: no counts in it)."""

    key: str
    title: str
    section: str
    frame: pd.DataFrame
    columns: list[Column]
    caption: Caption
    spec: TableSpec | None = None
    public_columns: list[str] | None = None
    notes: list[str] = field(default_factory=list)
    show_rows: int | None = None
    sort_note: str = ""
    meta: ResultMeta | None = None


@dataclass
class ReportChart:
    """A Vega-Lite chart drawn from one table (``data: {"name": table}``)."""

    key: str
    title: str
    table: str
    spec: dict[str, Any]
    description: str


@dataclass
class ReportMap:
    """A map of one table's column over area polygons (``geometry``: area_code, area_name,
    geometry in WGS84). ``kind``: sequential (numbers) or categorical (words)."""

    key: str
    title: str
    table: str
    value: str
    label: str
    kind: str
    geography: str
    geometry: gpd.GeoDataFrame
    description: str
    categories: list[str] = field(default_factory=list)


@dataclass
class Section:
    id: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)
    maps: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    period_note: str = ""


@dataclass
class AnnexEntry:
    anchor: str
    title: str
    text: str
    citation: str = ""


@dataclass
class SnaReport:
    """Everything the report builder needs, for one edition."""

    area: str
    area_name: str
    edition: str
    to: str
    months: int
    period: str
    generated_at: str
    main_measure: str
    sections: list[Section]
    tables: dict[str, ReportTable]
    charts: dict[str, ReportChart]
    maps: dict[str, ReportMap]
    definitions: list[AnnexEntry]
    methods: list[AnnexEntry]
    sources: list[dict[str, Any]]
    populations: list[str]
    notes: list[str]
    disclosure: DisclosureRules | None = None
    disclosure_rules_text: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def public(self) -> bool:
        return self.edition == "public"


# --------------------------------------------------------------------------- evidence


def missing_datasets(store: EvidenceStore) -> list[str]:
    """Datasets the report reads that the store does not hold."""
    have = store.dataset_files()
    return [d for d in NEEDED_DATASETS if d not in have]


def ensure_evidence(store: EvidenceStore, area: str, mirror: Path | None = None,
                    progress: Any = None) -> FetchReport | None:
    """Load what ``area`` is missing (every catalogue dataset for the area; files already
    imported are skipped by their sha256). None when nothing was missing."""
    if not missing_datasets(store):
        return None
    return fetch(store, None, area=area, mirror=mirror, progress=progress)


# --------------------------------------------------------------------------- helpers


def _ym(ordinal: int) -> str:
    return f"{ordinal // 12:04d}-{ordinal % 12 + 1:02d}"


def _month_words(ym: str) -> str:
    y, m = ym.split("-")
    return f"{datetime(int(y), int(m), 1):%B} {y}"


def period_words(start: str, end: str) -> str:
    """'January 2024 to December 2024' from ISO dates or YYYY-MM."""
    return f"{_month_words(start[:7])} to {_month_words(end[:7])}"


def _fmt(v: Any, digits: int = 0) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "not available"
    return f"{float(v):,.{digits}f}"


def _meta_of(df: pd.DataFrame) -> ResultMeta | None:
    meta = df.attrs.get("provenance")
    return meta if isinstance(meta, ResultMeta) else None


def _strip_meta(df: pd.DataFrame) -> pd.DataFrame:
    keep = [c for c in df.columns if not str(c).startswith("meta_") and not str(c).startswith(
        "_")]
    out = df[keep].copy()
    out.attrs = {}
    return out


class _Builder:
    """Computes one report (both editions share the computation)."""

    def __init__(self, data: SnaData, to: str | None, months: int, *,
                 log: Callable[[str], None] | None = None) -> None:
        self.data = data
        self.months = months
        self.log = log or (lambda _m: None)
        self.tables: dict[str, ReportTable] = {}
        self.charts: dict[str, ReportChart] = {}
        self.maps: dict[str, ReportMap] = {}
        self.sections: list[Section] = []
        self.notes: list[str] = []
        self.measures_used: set[str] = set()
        self.metas: list[ResultMeta] = []
        self.timings: dict[str, float] = {}
        self.hotspot_cache: dict[tuple[Any, ...], HotspotResult] = {}
        self.geometry_cache: dict[str, gpd.GeoDataFrame | None] = {}
        self.main = self._main_measure()
        self.lad_words = LAD_WORDS.get(data.area.key, ("local authority", "local authorities"))
        if to is None:
            sources = [s for s in data.sources("lad") if s.gives(self.main)]
            if not sources:
                raise ReportError(f"no borough or local authority counts of "
                                  f"{MEASURES[self.main].name.lower()} are loaded for "
                                  f"{data.area.name}: load them first (vru data fetch --area "
                                  f"{data.area.key})")
            to = _ym(max(s.last_month for s in sources if s.grain == "month")
                     if any(s.grain == "month" for s in sources)
                     else max(s.last_month for s in sources))
        self.to = to
        self.current, self.previous = windows(to, months)

    # -- the measures the data give ---------------------------------------------------------

    def _main_measure(self) -> str:
        for m in MAIN_MEASURES:
            if any(s.gives(m) for s in self.data.sources("lad")):
                return m
        return MAIN_MEASURES[-1]

    def words(self, geography: str, plural: bool = True) -> str:
        if geography == "borough":
            return self.lad_words[1 if plural else 0]
        return GEOGRAPHY_WORDS.get(geography, (geography, geography))[1 if plural else 0]

    def timed(self, label: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        self.log(label)
        try:
            return fn()
        finally:
            self.timings[label] = round(time.perf_counter() - t0, 3)

    # -- windows ----------------------------------------------------------------------------

    def fallback(self, measure: str, level: str) -> tuple[str, int] | None:
        """The latest period the ``level`` counts of ``measure`` cover: same length as the
        report where they allow (whole calendar years for yearly counts)."""
        sources = [s for s in self.data.sources(level) if s.gives(measure)]
        if not sources:
            return None
        s = sources[0]
        last = s.last_month
        have = sorted(int(p) for p in s.periods)
        if s.grain == "year":
            years = max(1, round(self.months / 12))
            span = len(have)
            years = min(years, span)
            return f"{last // 12}-12", 12 * years
        run = 1
        for a, b in zip(reversed(have[:-1]), reversed(have[1:]), strict=True):
            if b - a != 1:
                break
            run += 1
        return _ym(last), max(1, min(self.months, run))

    def with_fallback(self, measure: str, level: str,
                      fn: Callable[[str, int], pd.DataFrame]) -> tuple[pd.DataFrame, str]:
        """``fn(to, months)`` for the report's period, else for the latest period the counts
        cover (with the sentence that says so)."""
        try:
            return fn(self.to, self.months), ""
        except SnaError as first:
            alt = self.fallback(measure, level)
            if alt is None or alt == (self.to, self.months):
                raise
            to, months = alt
            try:
                out = fn(to, months)
            except SnaError:
                raise first from None
            w, _ = windows(to, months)
            note = (f"These counts do not cover the report's period. So this part shows "
                    f"the latest period they do cover: "
                    f"{period_words(w.first_day.isoformat(), w.last_day.isoformat())}.")
            return out, note

    def period_words(self, w: Window | None = None) -> str:
        w = w or self.current
        return period_words(w.first_day.isoformat(), w.last_day.isoformat())

    # -- captions ---------------------------------------------------------------------------

    def caption(self, meta: ResultMeta | None, table_key: str, measure: str | None,
                geography: str, *, counts: str | None = None, per: str | None = None,
                source: str | None = None, period: str | None = None) -> Caption:
        if meta is not None:
            self.metas.append(meta)
        m = measure or (meta.measure if meta is not None else self.main)
        if m in MEASURES:
            self.measures_used.add(m)
        name = MEASURES[m].name.lower() if m in MEASURES else m
        if period is None:
            period = (period_words(meta.period_start.isoformat(), meta.period_end.isoformat())
                      if meta is not None else self.period_words())
        if per is None:
            if meta is not None and meta.population is not None:
                per = (f"100,000 residents a year ({meta.population.source}, "
                       f"{meta.population.year})")
            else:
                per = "not a rate: counts of events"
        if source is None:
            names = sorted({s.name for s in meta.sources}) if meta is not None else []
            source = ", ".join(_dataset_words(n) for n in names) or "see the annex"
        place = f"{self.data.area.name}, by {self.words(geography, False)}"
        if geography == "region":
            place = f"{self.data.area.name} as a whole"
        return Caption(counts=counts or f"recorded offences of {name}", place=place,
                       period=period, per=per, source=source, definition=f"def-{m}",
                       method=f"method-{table_key}")

    # -- sections ---------------------------------------------------------------------------

    def add_table(self, t: ReportTable) -> None:
        self.tables[t.key] = t

    def build(self) -> None:
        self.timed("headline", self.headline_section)
        self.timed("trends", self.trend_section)
        for g in ("borough", "ward", "lsoa"):
            self.timed(g, partial(self.geography_section, g))
        self.timed("hot spots", self.hotspot_section)
        self.timed("concentration", self.concentration_section)
        self.timed("deprivation", self.deprivation_section)
        self.timed("disproportionality", self.disproportionality_section)
        self.timed("timing", self.timing_section)
        self.timed("transport hubs", self.transport_section)
        self.timed("priority places", self.priority_section)

    # headline ------------------------------------------------------------------------------

    def headline_section(self) -> None:
        sec = Section("headline", "Headline figures")
        rows = []
        meta = None
        for m in HEADLINE_MEASURES:
            try:
                t = self.data.figures(m, "region", self.to, self.months, rank_simulations=0)
            except SnaError as exc:
                if m == self.main:
                    sec.unavailable.append(f"{MEASURES[m].name}: {exc}")
                continue
            meta = meta or _meta_of(t)
            self.measures_used.add(m)
            rows.append(_strip_meta(t))
            self.notes += list(t.attrs.get("notes", []))
        if not rows:
            raise ReportError(f"no figures for {self.data.area.name} for "
                              f"{self.period_words()}: " + "; ".join(sec.unavailable))
        frame = pd.concat(rows, ignore_index=True)
        frame["change_significant"] = frame["change_significant"].astype(object)
        main = frame[frame["measure"] == self.main]
        self.add_table(ReportTable(
            key="headline", title=f"Headline figures for {self.data.area.name}",
            section=sec.id, frame=frame,
            columns=[Column("measure_name", "Offences"),
                     Column("count", "Count", "count"),
                     Column("previous_count", "Previous 12 months" if self.months == 12
                            else f"Previous {self.months} months", "count"),
                     Column("change_pct", "Change", "pct"),
                     Column("change_direction", "Change, tested"),
                     Column("rate_per_100k", "Rate per 100,000 residents a year", "rate"),
                     Column("rate_ci_low", "Rate, lower 95% limit", "rate"),
                     Column("rate_ci_high", "Rate, upper 95% limit", "rate")],
            caption=self.caption(meta, "headline", self.main, "region",
                                 counts="recorded offences of each kind listed"),
            spec=TableSpec(("count", "previous_count"), line_groups=(), across=True,
                           rate_columns={"rate_per_100k": "count", "rate_ci_low": "count",
                                         "rate_ci_high": "count"},
                           derived_columns=("change", "change_pct", "change_direction",
                                            "change_significant", "change_rate_ratio",
                                            "change_ci_low", "change_ci_high", "change_p",
                                            "change_p_adjusted")),
            public_columns=["measure", "measure_name", "area_code", "area_name", "period_start",
                            "period_end", "count", "previous_count", "change_pct",
                            "change_direction", "rate_per_100k"],
            notes=[], meta=meta))
        sec.tables.append("headline")
        if not main.empty:
            r = main.iloc[0]
            sec.paragraphs.append(_headline_sentence(r, self.data.area.name,
                                                     self.period_words(), self.months))
        self.sections.append(sec)

    # trends --------------------------------------------------------------------------------

    def trend_section(self) -> None:
        sec = Section("trends", "Trends")
        span = max(36, 2 * self.months)
        end = self.current.end
        rows = []
        tests = []
        meta = None
        for m in [self.main, *[x for x in HEADLINE_MEASURES if x != self.main]]:
            if m not in self.measures_used:
                continue
            sources = [s for s in self.data.sources("lad") if s.gives(m) and s.grain == "month"]
            if not sources:
                continue
            total: dict[int, float] = {}
            complete: set[int] | None = None
            for s in sources:
                sel = (s.periods <= end) & (s.periods > end - span)
                months = s.periods[sel]
                vals = s.monthly(m)[:, sel].sum(axis=0)
                for mo, v in zip(months.tolist(), vals.tolist(), strict=True):
                    total[int(mo)] = total.get(int(mo), 0.0) + float(v)
                complete = set(int(x) for x in months) if complete is None else (
                    complete & set(int(x) for x in months))
            for mo in sorted(complete or ()):
                rows.append({"measure": m, "measure_name": MEASURES[m].name,
                             "month": _ym(mo) + "-01", "count": total[mo]})
            try:
                t = self.data.trend(m, "region", self.to, span)
                meta = meta or _meta_of(t)
                tests.append(_strip_meta(t).assign(measure_name=MEASURES[m].name))
                self.notes += list(t.attrs.get("notes", []))
            except SnaError as exc:
                sec.unavailable.append(f"Trend test for {MEASURES[m].name}: {exc}")
        if not rows:
            sec.unavailable.append("No monthly counts are loaded for the area as a whole.")
            self.sections.append(sec)
            return
        frame = pd.DataFrame(rows)
        first, last = frame["month"].min(), frame["month"].max()
        cap = self.caption(meta, "trend_monthly", self.main, "region",
                           counts="recorded offences each month, for each kind listed",
                           period=period_words(first, last))
        self.add_table(ReportTable(
            key="trend_monthly", title=f"Offences each month in {self.data.area.name}",
            section=sec.id, frame=frame,
            columns=[Column("measure_name", "Offences"), Column("month", "Month"),
                     Column("count", "Count", "count")],
            caption=cap, spec=TableSpec(("count",), line_groups=(("measure",),)),
            show_rows=0, meta=meta))
        self.charts["trend_monthly"] = ReportChart(
            "trend_monthly", "Offences each month", "trend_monthly",
            _trend_chart(), f"Line charts of the number of offences each month in "
            f"{self.data.area.name}, {period_words(first, last)}, one chart for each kind of "
            "offence.")
        sec.tables.append("trend_monthly")
        sec.charts.append("trend_monthly")
        if tests:
            tt = pd.concat(tests, ignore_index=True)
            tt["change_per_year_pct"] = (tt["glm_rate_ratio_per_year"] - 1.0) * 100.0
            tt["plain_trend"] = [_plain_trend({str(k): v for k, v in r.items()})
                                 for r in tt.to_dict(orient="records")]
            self.add_table(ReportTable(
                key="trend_tests", title="Is there a steady rise or fall?", section=sec.id,
                frame=tt,
                columns=[Column("measure_name", "Offences"),
                         Column("first_month", "From"), Column("last_month", "To"),
                         Column("plain_trend", "What the series shows"),
                         Column("change_per_year_pct", "Change a year, allowing for the "
                                "season", "pct"),
                         Column("mk_trend", "Mann-Kendall"), Column("mk_p", "p", "number"),
                         Column("glm_ci_low", "Rate ratio a year, lower", "ratio"),
                         Column("glm_ci_high", "upper", "ratio")],
                caption=self.caption(meta, "trend_tests", self.main, "region",
                                     counts="recorded offences each month (the whole series "
                                     "shown above)", period=period_words(first, last)),
                public_columns=["measure", "measure_name", "first_month", "last_month",
                                "plain_trend", "change_per_year_pct"], meta=meta))
            sec.tables.append("trend_tests")
            main_test = tt[tt["measure"] == self.main]
            if not main_test.empty:
                sec.paragraphs.append(
                    f"From {_month_words(str(first)[:7])} to {_month_words(str(last)[:7])}, "
                    f"{MEASURES[self.main].name.lower()} in {self.data.area.name} "
                    f"{main_test.iloc[0]['plain_trend']}.")
        sec.paragraphs.append("Each line shows the number of offences recorded each month. "
                              "Some months are always busier than others, so compare a "
                              "month with the same month a year before.")
        self.sections.append(sec)

    # geographies ---------------------------------------------------------------------------

    def geography_section(self, geography: str) -> None:
        plural = self.words(geography)
        title = {"borough": f"Rates by {self.lad_words[0]}", "ward": "Rates by ward",
                 "lsoa": "Rates by neighbourhood"}[geography]
        sec = Section(geography, title)
        level = {"borough": "lad", "ward": "ward", "lsoa": "lsoa"}[geography]
        sims = 1000 if geography == "borough" else 0
        try:
            t, note = self.with_fallback(self.main, level, lambda to, months: self.data.figures(
                self.main, geography, to, months, rank_simulations=sims))
        except SnaError as exc:
            sec.unavailable.append(f"No figures by {self.words(geography, False)}: {exc}")
            self.sections.append(sec)
            return
        sec.period_note = note
        meta = _meta_of(t)
        self.notes += list(t.attrs.get("notes", []))
        frame = _strip_meta(t)
        parents = self.data.lad_names()
        frame["parent_name"] = frame["parent_code"].map(lambda c: parents.get(str(c), c))
        frame["change_significant"] = frame["change_significant"].astype(object)
        key = f"{geography}_figures"
        cols = [Column("area_name", self.words(geography, False).capitalize())]
        if geography != "borough":
            cols.append(Column("parent_name", self.lad_words[0].capitalize()))
        cols += [Column("count", "Count", "count"),
                 Column("previous_count", "Previous period", "count"),
                 Column("change_pct", "Change", "pct"),
                 Column("change_direction", "Change, tested"),
                 Column("rate_per_100k", "Rate per 100,000 residents a year", "rate"),
                 Column("rate_ci_low", "lower 95%", "rate"),
                 Column("rate_ci_high", "upper 95%", "rate"),
                 Column("rank_by_rate", "Rank by rate", "number")]
        groups: tuple[tuple[str, ...], ...] = ((),) if geography == "borough" else (
            (), ("parent_code",))
        self.add_table(ReportTable(
            key=key, title=f"{MEASURES[self.main].name} by {self.words(geography, False)}",
            section=sec.id, frame=frame, columns=cols,
            caption=self.caption(meta, key, self.main, geography),
            spec=TableSpec(("count", "previous_count"), line_groups=groups, across=True,
                           rate_columns={"rate_per_100k": "count", "rate_ci_low": "count",
                                         "rate_ci_high": "count"},
                           derived_columns=(
                               "change", "change_pct", "change_direction",
                               "change_significant", "change_rate_ratio", "change_ci_low",
                               "change_ci_high", "change_p", "change_p_adjusted",
                               "rank_by_rate", "rank_by_rate_low", "rank_by_rate_high",
                               "rank_by_count", "rank_by_count_low", "rank_by_count_high")),
            public_columns=["measure", "measure_name", "geography", "area_code", "area_name",
                            "parent_code", "parent_name", "period_start", "period_end",
                            "count", "previous_count", "change_pct", "change_direction",
                            "rate_per_100k", "rank_by_rate"],
            show_rows=None if len(frame) <= 40 else TOP_ROWS,
            sort_note=("" if len(frame) <= 40 else
                       f"The {TOP_ROWS} {plural} with the highest rates are shown; all "
                       f"{len(frame):,} are in figures.csv and on the map."),
            meta=meta))
        sec.tables.append(key)
        geom = self.geometry(geography)
        if geom is not None and not geom["area_code"].isin(set(frame["area_code"])).any():
            geom = None
        if geom is not None:
            self.maps[f"{geography}_rate"] = ReportMap(
                f"{geography}_rate", f"Rate per 100,000 residents a year, by "
                f"{self.words(geography, False)}", key, "rate_per_100k",
                "Rate per 100,000 residents a year", "sequential", geography, geom,
                f"Map of {self.data.area.name} shaded by the rate of "
                f"{MEASURES[self.main].name.lower()} per 100,000 residents a year in each "
                f"{self.words(geography, False)}; darker means a higher rate.")
            sec.maps.append(f"{geography}_rate")
        else:
            sec.unavailable.append(f"No map: the {self.words(geography, False)} boundaries "
                                   "are not loaded.")
        if geography == "borough":
            self.charts["borough_rates"] = ReportChart(
                "borough_rates", "Rate by borough", key, _bar_chart(
                    "area_name", "rate_per_100k", "Rate per 100,000 residents a year",
                    self.words("borough", False).capitalize()),
                f"Bar chart of the rate of {MEASURES[self.main].name.lower()} per 100,000 "
                f"residents a year in each {self.words('borough', False)}, highest first.")
            sec.charts.append("borough_rates")
        shown = frame.dropna(subset=["rate_per_100k"])
        if len(shown):
            top = shown.sort_values("rate_per_100k", ascending=False).iloc[0]
            sec.paragraphs.append(
                f"Rates allow for the number of people who live in each place. The highest "
                f"rate of {MEASURES[self.main].name.lower()} was in {top['area_name']}. "
                f"Places with many visitors, such as town and city centres, have high rates "
                "because visitors are not counted as residents.")
        self.sections.append(sec)

    def geometry(self, geography: str) -> gpd.GeoDataFrame | None:
        if geography in self.geometry_cache:
            return self.geometry_cache[geography]
        level, vintage = {"borough": ("lad", None), "ward": ("ward", "2022"),
                          "lsoa": ("lsoa", "2011")}[geography]
        try:
            codes = self.data.lads if level == "lad" else None
            g = load_boundaries(self.data.store, level, vintage, codes=codes)
        except BoundariesNotLoaded:
            self.geometry_cache[geography] = None
            return None
        g = g.drop_duplicates("code")
        if level != "lad":
            lsoa_lad = self.data.lsoa_lad() if level == "lsoa" else None
            if lsoa_lad is not None:
                g = g[g["code"].isin(set(lsoa_lad["lsoa_code"]))]
        if g.empty:
            self.geometry_cache[geography] = None
            return None
        out = _simplified(g.rename(columns={"code": "area_code", "name": "area_name"}),
                          SIMPLIFY_METRES[geography])
        self.geometry_cache[geography] = out
        return out

    # hot spots -----------------------------------------------------------------------------

    def hotspots_for(self, geography: str, *, seed: int = 0, months: int | None = None,
                     **kw: Any) -> HotspotResult:
        months = months or self.months
        measure = str(kw.pop("measure", self.main))
        key = (geography, seed, months, measure, tuple(sorted(kw.items())))
        if key not in self.hotspot_cache:
            level = {"borough": "lad", "ward": "ward", "lsoa": "lsoa", "grid": "lad"}[geography]

            def run(to: str, m: int) -> Any:
                try:
                    return hotspots(self.data, measure, geography, to, m, self.data.area.key,
                                    permutations=HOTSPOT_PERMUTATIONS, seed=seed, **kw)
                except PlacesError as exc:
                    raise SnaError(str(exc)) from None

            if geography == "grid":
                res = run(self.to, months)
                res.parameters["period_note"] = ""
            else:
                res, note = self.with_fallback(measure, level, run)  # type: ignore[arg-type]
                res.parameters["period_note"] = note
            self.hotspot_cache[key] = res
        return self.hotspot_cache[key]

    def hotspot_section(self) -> None:
        sec = Section("hotspots", "Hot spots and emerging hot spots")
        result: HotspotResult | None = None
        reasons: list[str] = []
        geography = ""
        ward_rule = _rule_or_none("rising-violence-deprived-wards", self.data.store.data_dir)
        for g in ("ward", "lsoa", "grid"):
            try:
                if g == "grid":
                    result = self.hotspots_for(g, measure="violence_and_sexual_offences")
                elif g == "ward" and ward_rule is not None:
                    result = self.hotspots_for(g, **_rule_kwargs(ward_rule))
                else:
                    result = self.hotspots_for(g)
                geography = g
                break
            except (SnaError, PlacesError) as exc:
                reasons.append(f"by {self.words(g, False)}: {exc}")
        if result is None:
            sec.unavailable.append("No hot spot analysis: " + "; ".join(reasons))
            self.sections.append(sec)
            return
        sec.period_note = str(result.parameters.get("period_note") or "")
        self.notes += list(result.notes)
        t = result.table.copy()
        t["gi_class_words"] = t["gi_class"].map(_HOT_WORDS).fillna(t["gi_class"])
        measure = str(result.parameters.get("measure", self.main))
        w, _ = windows(str(result.parameters["to"]), int(result.parameters["months"]))
        steps = result.parameters.get("steps") or ["", "", 0]
        cap = self.caption(None, "hotspots", measure, geography,
                           counts=f"recorded offences of {MEASURES[measure].name.lower()}, "
                           "compared with neighbouring places",
                           period=f"{self.period_words(w)} (hot spots); months "
                           f"{steps[0]} to {steps[1]} (emerging hot spots)",
                           per="not a rate: counts of events in each place and its neighbours",
                           source=("police.uk street-level crime" if geography == "grid" else
                                   "Metropolitan Police crime counts" if
                                   self.data.area.key == "london" else "recorded crime counts"))
        self.add_table(ReportTable(
            key="hotspots", title=f"Hot spots by {self.words(geography, False)}",
            section=sec.id, frame=t,
            columns=[Column("area_name", self.words(geography, False).capitalize()),
                     Column("parent_name", self.lad_words[0].capitalize()),
                     Column("gi_class_words", "This year"),
                     Column("ehsa_category", "Over time"), Column("trend", "Trend"),
                     Column("gi_z", "Gi* z", "number"), Column("gi_p_fdr", "p (FDR)", "number")],
            caption=cap,
            public_columns=["area_code", "area_name", "parent_code", "parent_name",
                            "gi_class", "gi_class_words", "ehsa_category", "trend"],
            show_rows=TOP_ROWS,
            sort_note=f"The {TOP_ROWS} places with the strongest clustering are shown; all "
                      f"{len(t):,} are in figures.csv and on the maps."))
        sec.tables.append("hotspots")
        geom = result.geo_table(EPSG_WGS84)[["area_code", "area_name", "geometry"]]
        geom = _simplified(geom.to_crs(27700), SIMPLIFY_METRES.get(geography, 0.0))
        self.maps["hotspots_gi"] = ReportMap(
            "hotspots_gi", "Hot spots and cold spots", "hotspots", "gi_class_words",
            "This year", "categorical", geography, geom,
            "Map of places where high or low numbers of offences cluster together with their "
            "neighbours.", categories=list(_HOT_WORDS.values()))
        self.maps["hotspots_ehsa"] = ReportMap(
            "hotspots_ehsa", "Emerging hot spots", "hotspots", "ehsa_category", "Over time",
            "categorical", geography, geom,
            "Map of how each place's clustering has changed over the months: new, growing, "
            "lasting or fading hot spots and cold spots.",
            categories=sorted(str(c) for c in t["ehsa_category"].dropna().unique()))
        sec.maps += ["hotspots_gi", "hotspots_ehsa"]
        s = result.summary()
        sec.paragraphs.append(
            f"A hot spot is a place where the number of offences, together with its "
            f"neighbours, is higher than chance would give. We found {s['hot_spots']} hot "
            f"spots and {s['cold_spots']} cold spots among {s['areas']:,} "
            f"{self.words(geography)}.")
        sec.paragraphs.append("The second map looks at every month in turn. It shows places "
                              "where hot spots are new, growing, lasting or fading.")
        self.sections.append(sec)

    # concentration -------------------------------------------------------------------------

    def concentration_section(self) -> None:
        sec = Section("concentration", "How concentrated is violence?")
        geography = "lsoa"
        try:
            c, note = self.with_fallback(self.main, "lsoa", lambda to, m: self.data.concentration(
                self.main, geography, to, m))
            lor, _ = self.with_fallback(self.main, "lsoa", lambda to, m: self.data.lorenz(
                self.main, geography, to, m))
        except SnaError as exc:
            sec.unavailable.append(f"No concentration figures: {exc}")
            self.sections.append(sec)
            return
        sec.period_note = note
        meta = _meta_of(c)
        frame = _strip_meta(c)
        frame["share_pct"] = frame["share"] * 100
        frame["events_share_pct"] = frame["share_of_events_in_top_s_of_places"] * 100
        frame["plain"] = [f"The busiest {r['share_pct']:g}% of neighbourhoods had "
                          f"{r['events_share_pct']:.0f}% of the offences."
                          for r in frame.to_dict(orient="records")]
        self.add_table(ReportTable(
            key="concentration", title="Share of offences in the busiest neighbourhoods",
            section=sec.id, frame=frame,
            columns=[Column("plain", "In words"),
                     Column("share_pct", "Busiest share of neighbourhoods (%)", "number"),
                     Column("events_share_pct", "Their share of offences (%)", "number"),
                     Column("gini", "Gini", "ratio")],
            caption=self.caption(meta, "concentration", self.main, geography,
                                 per="shares of all offences, not a rate"),
            public_columns=["measure", "period_start", "period_end", "share_pct",
                            "events_share_pct", "plain"], meta=meta))
        lf = _strip_meta(lor)
        idx = np.unique(np.linspace(0, len(lf) - 1, min(len(lf), 201)).round().astype(int))
        lf = lf.iloc[idx][["share_of_places", "share_of_events"]].reset_index(drop=True)
        self.add_table(ReportTable(
            key="lorenz", title="Lorenz curve", section=sec.id, frame=lf,
            columns=[Column("share_of_places", "Share of neighbourhoods", "share"),
                     Column("share_of_events", "Share of offences", "share")],
            caption=self.caption(_meta_of(lor), "lorenz", self.main, geography,
                                 per="shares of all offences, not a rate"),
            show_rows=0))
        self.charts["lorenz"] = ReportChart(
            "lorenz", "Share of offences against share of neighbourhoods", "lorenz",
            _lorenz_chart(), "Curve of the share of offences against the share of "
            "neighbourhoods, busiest first. The straight line is what an even spread would "
            "give.")
        sec.tables += ["concentration", "lorenz"]
        sec.charts.append("lorenz")
        if len(frame):
            r10 = frame[np.isclose(frame["share"], 0.1)]
            if len(r10):
                sec.paragraphs.append(
                    f"Offences are not spread evenly. The busiest 10% of neighbourhoods had "
                    f"{r10.iloc[0]['events_share_pct']:.0f}% of all offences in the period. "
                    "The curve shows this for every share of neighbourhoods.")
        self.sections.append(sec)

    # deprivation ---------------------------------------------------------------------------

    def deprivation_section(self) -> None:
        sec = Section("deprivation", "Violence and deprivation")
        try:
            d, note = self.with_fallback(self.main, "lsoa", lambda to, m:
                                         self.data.deprivation_overlap(self.main, to, m))
        except SnaError as exc:
            sec.unavailable.append(f"No deprivation figures: {exc}")
            self.sections.append(sec)
            return
        sec.period_note = note
        meta = _meta_of(d)
        self.notes += list(d.attrs.get("notes", []))
        frame = _strip_meta(d)
        dec = frame[frame["statistic"] == "rate_by_decile"].copy()
        dec["decile"] = dec["group"].astype(int)
        self.add_table(ReportTable(
            key="deprivation_deciles", title="Rate by deprivation decile", section=sec.id,
            frame=dec,
            columns=[Column("decile", "Decile (1 = most deprived)", "number"),
                     Column("areas", "Neighbourhoods", "number"),
                     Column("count", "Count", "count"),
                     Column("rate_per_100k", "Rate per 100,000 residents a year", "rate"),
                     Column("rate_ci_low", "lower 95%", "rate"),
                     Column("rate_ci_high", "upper 95%", "rate")],
            caption=self.caption(meta, "deprivation_deciles", self.main, "lsoa"),
            spec=TableSpec(("count",), line_groups=((),),
                           rate_columns={"rate_per_100k": "count", "rate_ci_low": "count",
                                         "rate_ci_high": "count"},
                           derived_columns=("share_of_events", "rate_ratio_to_overall")),
            public_columns=["measure", "period_start", "period_end", "decile", "areas",
                            "count", "rate_per_100k"], meta=meta))
        shares = frame[frame["statistic"].str.startswith("share_in") | frame["statistic"].isin(
            ["sii_per_100k", "rii"])].copy()
        self.add_table(ReportTable(
            key="deprivation_shares", title="Offences in the most deprived neighbourhoods",
            section=sec.id, frame=shares,
            columns=[Column("description", "Figure"),
                     Column("share_of_events", "Share of offences", "share"),
                     Column("share_of_population", "Share of residents", "share"),
                     Column("value", "Value", "ratio"),
                     Column("value_ci_low", "lower 95%", "ratio"),
                     Column("value_ci_high", "upper 95%", "ratio")],
            caption=self.caption(meta, "deprivation_shares", self.main, "lsoa",
                                 per="shares of offences and residents"),
            spec=TableSpec(("count",), line_groups=()),
            public_columns=["statistic", "description", "count", "share_of_events",
                            "share_of_population"], meta=meta))
        self.charts["deprivation_deciles"] = ReportChart(
            "deprivation_deciles", "Rate by deprivation decile", "deprivation_deciles",
            _bar_chart("decile", "rate_per_100k", "Rate per 100,000 residents a year",
                       "Deprivation decile (1 = most deprived in England)", sort=False,
                       ordinal=True),
            "Bar chart of the rate of offences per 100,000 residents a year in each tenth of "
            "neighbourhoods, from the most deprived in England (1) to the least (10).")
        sec.tables += ["deprivation_deciles", "deprivation_shares"]
        sec.charts.append("deprivation_deciles")
        if len(dec) >= 2:
            first = dec[dec["decile"] == dec["decile"].min()].iloc[0]
            last = dec[dec["decile"] == dec["decile"].max()].iloc[0]
            if first["rate_per_100k"] > 0 and last["rate_per_100k"] > 0:
                ratio = first["rate_per_100k"] / last["rate_per_100k"]
                sec.paragraphs.append(
                    f"In the most deprived tenth of neighbourhoods the rate was {ratio:.1f} "
                    "times the rate in the least deprived tenth. Deprivation is measured by "
                    "the Index of Multiple Deprivation 2019.")
        self.sections.append(sec)

    # disproportionality --------------------------------------------------------------------

    def disproportionality_section(self) -> None:
        sec = Section("disproportionality", "Who is affected: homicide by group")
        made = False
        for by in ("ethnicity", "sex"):
            levels: list[tuple[str, pd.DataFrame]] = []
            meta = None
            for g in ("borough", "region"):
                try:
                    t, note = self._group_figures(by, g)
                except SnaError as exc:
                    if g == "region":
                        sec.unavailable.append(f"No homicide figures by {by}: {exc}")
                    continue
                sec.period_note = sec.period_note or note
                meta = meta or _meta_of(t)
                self.notes += list(t.attrs.get("notes", []))
                levels.append((g, _strip_meta(t)))
            if not levels:
                continue
            made = True
            frame = pd.concat([f for _, f in levels], ignore_index=True)
            frame["level"] = frame["geography"]
            key = f"homicide_by_{by}"
            self.add_table(ReportTable(
                key=key, title=f"Homicide victims by {by}", section=sec.id, frame=frame,
                columns=[Column("area_name", "Place"), Column("group", by.capitalize()),
                         Column("count", "Victims", "count"),
                         Column("rate_per_100k", "Rate per 100,000 residents a year", "rate"),
                         Column("rate_ratio", f"Rate ratio to {frame['reference_group'].iloc[0]}",
                                "ratio"),
                         Column("rate_ratio_ci_low", "lower 95%", "ratio"),
                         Column("rate_ratio_ci_high", "upper 95%", "ratio")],
                caption=self.caption(meta, key, "homicide", "borough",
                                     counts=f"homicide victims, by {by}"),
                spec=TableSpec(("count",), line_groups=(("level", "area_code"),
                                                        ("level", "group"))),
                public_columns=["level", "area_code", "area_name", "group", "count",
                                "rate_per_100k", "rate_ratio"],
                show_rows=None, meta=meta))
            self.tables[key].frame.attrs["levels"] = [g for g, _ in levels]
            self.charts[key] = ReportChart(
                key, f"Homicide rate by {by}", key,
                _group_chart(self.data.area.name),
                f"Bar chart of the homicide rate per 100,000 residents a year for each "
                f"{by} group in {self.data.area.name}.")
            sec.tables.append(key)
            sec.charts.append(key)
        if made:
            sec.paragraphs.append(
                "Some groups of people are more affected by violence than others. These "
                "figures compare homicide rates between groups of residents. They are few "
                "numbers, so they change a lot from year to year.")
        self.sections.append(sec)

    def _group_figures(self, by: str, geography: str) -> tuple[pd.DataFrame, str]:
        try:
            return self.data.figures("homicide", geography, self.to, self.months, by=by,
                                     rank_simulations=0), ""
        except SnaError:
            pass
        # the homicide file counts by year: the latest complete calendar years
        years = max(1, round(self.months / 12))
        last_year = int(self.to[:4]) - (0 if self.to.endswith("-12") else 1)
        if "homicide_victims" in self.data.datasets:
            rows = self.data.con.execute("SELECT max(year) FROM homicide_victims").fetchall()
            if rows and rows[0][0] is not None:
                last_year = min(last_year, int(rows[0][0]))
        for y in range(last_year, last_year - 6, -1):
            try:
                t = self.data.figures("homicide", geography, f"{y}-12", 12 * years, by=by,
                                      rank_simulations=0)
            except SnaError:
                continue
            w, _ = windows(f"{y}-12", 12 * years)
            return t, (f"Homicide victims are counted by year. The file is complete up to "
                       f"{y}. So this part shows "
                       f"{period_words(w.first_day.isoformat(), w.last_day.isoformat())}.")
        return self.data.figures("homicide", geography, self.to, self.months, by=by,
                                 rank_simulations=0), ""

    # timing --------------------------------------------------------------------------------

    def timing_section(self) -> None:
        sec = Section("timing", "Timing: seasons and school holidays")
        months = max(36, self.months)
        try:
            t, note = self.with_fallback(self.main, "lad", lambda to, m: self.data.timing(
                self.main, "region", to, max(m, 12)))
        except SnaError as exc:
            sec.unavailable.append(f"No seasonal figures: {exc}")
            self.sections.append(sec)
            return
        del months
        sec.period_note = note
        meta = _meta_of(t)
        self.notes += list(t.attrs.get("notes", []))
        frame = _strip_meta(t)
        frame["holiday_pct"] = frame["school_holiday_day_share"] * 100
        self.add_table(ReportTable(
            key="seasonality", title="Offences per day, by month of the year", section=sec.id,
            frame=frame,
            columns=[Column("name", "Month"), Column("events", "Offences", "count"),
                     Column("rate_per_day", "Offences per day", "rate"),
                     Column("index", "Against the average day", "ratio"),
                     Column("holiday_pct", "Days that are school holidays (%)", "number")],
            caption=self.caption(meta, "seasonality", self.main, "region",
                                 per="offences per day (so short and long months compare)"),
            spec=TableSpec(("events",), line_groups=((),),
                           rate_columns={"rate_per_day": "events",
                                         "rate_per_day_lower": "events",
                                         "rate_per_day_upper": "events"},
                           derived_columns=("index",)),
            public_columns=["month", "name", "events", "rate_per_day", "index",
                            "holiday_pct"], meta=meta))
        self.charts["seasonality"] = ReportChart(
            "seasonality", "Offences per day by month", "seasonality", _season_chart(),
            "Bar chart of the average number of offences per day in each calendar month, "
            "with the share of days that are school holidays.")
        sec.tables.append("seasonality")
        sec.charts.append("seasonality")
        if len(frame):
            hi = frame.sort_values("rate_per_day", ascending=False).iloc[0]
            lo = frame.sort_values("rate_per_day").iloc[0]
            sec.paragraphs.append(
                f"Offences per day were highest in {hi['name']} and lowest in {lo['name']}. "
                "The counts give the month of each offence, not the day or hour, so school "
                "holidays are shown as context only.")
        self.sections.append(sec)

    # transport hubs ------------------------------------------------------------------------

    def transport_section(self) -> None:
        sec = Section("transport", "Violence near stations")
        measure = "violence_and_sexual_offences"
        try:
            t, note = self.with_fallback(measure, "lad", lambda to, m:
                                         self.data.transport_hubs(measure, to, m))
        except SnaError as exc:
            sec.unavailable.append(f"No station figures: {exc}")
            self.sections.append(sec)
            return
        sec.period_note = note
        meta = _meta_of(t)
        self.notes += list(t.attrs.get("notes", []))
        frame = _strip_meta(t).rename(columns={"events_within": "events"})
        self.add_table(ReportTable(
            key="stations", title="Stations with the most offences nearby", section=sec.id,
            frame=frame,
            columns=[Column("name", "Station"), Column("network", "Network"),
                     Column("events", "Offences within 200 m", "count"),
                     Column("rank", "Rank", "number")],
            caption=self.caption(meta, "stations", measure, "station",
                                 per="not a rate: offences within 200 metres of each station"),
            spec=TableSpec(("events",), line_groups=(), derived_columns=("rank",
                                                                          "events_nearest")),
            public_columns=["station", "name", "network", "events", "rank"],
            show_rows=TOP_ROWS,
            sort_note=f"The {TOP_ROWS} stations with the most offences nearby are shown."))
        sec.tables.append("stations")
        r = frame.iloc[0] if len(frame) else None
        if r is not None and math.isfinite(float(r.get("rate_ratio_per_km2", float("nan")))):
            sec.paragraphs.append(
                f"Per square kilometre, the areas within 200 metres of stations had "
                f"{float(r['rate_ratio_per_km2']):.1f} times the offences of other places. "
                "Stations bring many people together, so more happens near them.")
        self.sections.append(sec)

    # priority places -----------------------------------------------------------------------

    def priority_section(self) -> None:
        sec = Section("priority", "Priority places")
        frames = []
        for name in PRIORITY_RULES:
            try:
                rule, _origin = load_rule(name, self.data.store.data_dir)
            except (PlacesError, RuleError) as exc:
                sec.unavailable.append(f"Rule {name}: {exc}")
                continue
            try:
                table = self._select(rule)
            except (SnaError, PlacesError, RuleError, KeyError, ValueError) as exc:
                sec.unavailable.append(f"{rule.title}: {exc}")
                continue
            picked = table[table["direction"].notna()].copy()
            picked["rule"] = rule.name
            picked["rule_title"] = rule.title
            picked["geography"] = rule.geography
            picked["plain_explanation"] = [
                _plain_explanation({str(k): v for k, v in r.items()}, rule.geography,
                                   self.words(rule.geography, False))
                for r in picked.to_dict(orient="records")]
            frames.append(picked)
            sec.paragraphs.append(f"{rule.title}: {len(picked)} places.")
            sec.paragraphs.append(str(table.attrs.get("rule_description", "")))
        if not frames:
            sec.unavailable.append("No priority places could be chosen from the loaded data.")
            self.sections.append(sec)
            return
        frame = pd.concat(frames, ignore_index=True)
        keep = [c for c in ("rule", "rule_title", "geography", "direction", "area_code",
                            "area_name", "parent_name", "count", "previous_count",
                            "change_pct", "criteria_met", "explanation",
                            "plain_explanation", "cluster_id") if c in frame.columns]
        frame = frame[keep]
        self.add_table(ReportTable(
            key="priority_places", title="Priority places and why they were chosen",
            section=sec.id, frame=frame,
            columns=[Column("rule_title", "Rule"), Column("direction", "Why"),
                     Column("area_name", "Place"), Column("parent_name", "In"),
                     Column("explanation", "Explanation")],
            caption=self.caption(None, "priority_places", self.main, "ward",
                                 counts="recorded offences, their change and hot spot "
                                 "patterns, as each published rule says",
                                 per="see each rule"),
            public_columns=["rule", "rule_title", "direction", "area_code", "area_name",
                            "parent_name", "plain_explanation"]))
        sec.tables.append("priority_places")
        sec.paragraphs.insert(0, "Priority places are chosen by published rules, so anyone "
                              "can see why a place was picked. Places where violence is rising "
                              "are for new investment. Places where it is falling are for "
                              "learning what worked.")
        self.sections.append(sec)

    def _select(self, rule: Any) -> pd.DataFrame:
        hs = self.hotspots_for(rule.geography, **_rule_kwargs(rule))
        places = hs.table.copy()
        if rule.geography != "grid":
            dep, notes = place_deprivation(self.data, rule.geography,
                                           places["area_code"].tolist(), hs.geometries)
            self.notes += notes
            places = places.merge(dep, on="area_code", how="left")
        table = select_places(places, rule, measure_name=MEASURES[rule.measure].name,
                              area_name=self.data.area.name)
        parent_of = dict(zip(places["area_code"], places["parent_code"].fillna(
            places["area_code"]), strict=True))
        cluster_of: dict[str, str] = {}
        for c in contiguous_clusters(table, hs.weights, parent_of):
            for m in c.members:
                cluster_of[str(m)] = str(c.cluster_id)
        table["cluster_id"] = [cluster_of.get(str(code)) for code in table["area_code"]]
        table.attrs["rule_description"] = rule.describe(MEASURES[rule.measure].name,
                                                        self.data.area.name)
        return table


def _rule_kwargs(rule: Any) -> dict[str, Any]:
    return {"seed": rule.seed, "months": rule.months, "weights": rule.weights,
            "alpha": rule.alpha, "time_lag": rule.time_lag,
            "global_window": rule.global_window, "islands": rule.islands,
            "measure": rule.measure}


def _rule_or_none(name: str, data_dir: Path) -> Any:
    try:
        return load_rule(name, data_dir)[0]
    except (PlacesError, RuleError):
        return None


_HOT_WORDS = {"hot spot": "hot spot", "cold spot": "cold spot",
              "not significant": "no clear pattern"}


def _dataset_words(name: str) -> str:
    return {
        "crime_counts": "police recorded crime counts (MPS borough, ward and LSOA files)",
        "street_crime": "police.uk street-level crime",
        "population": "ONS population estimates and Census 2021",
        "deprivation": "English Indices of Deprivation 2019 (MHCLG)",
        "boundaries": "ONS and GLA boundaries",
        "stations": "TfL and National Rail station lists",
        "homicide_victims": "MPS homicide victims file",
    }.get(name, name)


def _headline_sentence(r: Any, area: str, period: str, months: int) -> str:
    name = str(r["measure_name"]).lower()
    count = r["count"]
    text = (f"From {period}, the police recorded {_fmt(count)} offences of {name} in {area}.")
    prev = r.get("previous_count")
    if prev is not None and isinstance(prev, float) and math.isfinite(prev) and prev > 0:
        pct = (float(count) - prev) / prev * 100
        word = "more" if pct > 0 else "fewer"
        text += (f" That is {abs(pct):.0f}% {word} than in the {months} months before"
                 if abs(pct) >= 0.5 else f" That is about the same as in the {months} months "
                 "before")
        direction = str(r.get("change_direction") or "")
        if "no significant" in direction:
            text += ", a change small enough to be chance."
        elif direction:
            text += ", a clear change that is unlikely to be chance."
        else:
            text += "."
    rate = r.get("rate_per_100k")
    if rate is not None and isinstance(rate, float) and math.isfinite(rate):
        text += (f" This is {_fmt(rate)} offences for every 100,000 residents in a year.")
    return text


def _plain_trend(r: dict[str, Any]) -> str:
    mk = str(r.get("mk_trend") or "")
    rr = r.get("glm_rate_ratio_per_year")
    lo, hi = r.get("glm_ci_low"), r.get("glm_ci_high")
    if isinstance(lo, float) and isinstance(hi, float) and math.isfinite(lo) and math.isfinite(
            hi) and isinstance(rr, float):
        if lo > 1:
            return f"rose steadily, by about {(rr - 1) * 100:.0f}% a year"
        if hi < 1:
            return f"fell steadily, by about {(1 - rr) * 100:.0f}% a year"
    if mk == "increasing":
        return "rose over the period, but not steadily enough to be sure of a trend"
    if mk == "decreasing":
        return "fell over the period, but not steadily enough to be sure of a trend"
    return "showed no steady rise or fall"


def _plain_explanation(r: dict[str, Any], geography: str, word: str) -> str:
    name = str(r.get("area_name") or r.get("area_code"))
    met = str(r.get("criteria_met") or "")
    reasons = []
    if "rise" in met:
        reasons.append("violence rose clearly over the last 12 months")
    if "fall" in met:
        reasons.append("violence fell clearly over the last 12 months")
    if "hot_spot" in met or "emerging" in met or "persistent" in met:
        reasons.append("it has been a hot spot over time, with more violence than nearby "
                       "places")
    if "diminishing" in met:
        reasons.append("a hot spot there has been fading")
    if "depriv" in met:
        reasons.append(f"it is one of the most deprived {word}s in the area")
    if "trend" in met:
        reasons.append("the numbers have moved the same way month after month")
    if not reasons:
        reasons.append("it meets the rule's published conditions")
    if r.get("direction") == "falling":
        lead = f"{name} was chosen as a place to learn from because"
    else:
        lead = f"{name} was chosen for investment because"
    return f"{lead} {_and(reasons)}."


def _and(items: Sequence[str]) -> str:
    items = list(dict.fromkeys(items))
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _simplified(g: gpd.GeoDataFrame, metres: float) -> gpd.GeoDataFrame:
    """Polygons simplified (in metres, topology kept per feature) and in WGS84, with
    coordinates rounded to 5 decimals (about a metre) to keep the report small."""
    import shapely

    frame = g[["area_code", "area_name", "geometry"]].copy()
    if frame.crs is None or frame.crs.to_epsg() != 27700:
        frame = frame.to_crs(27700)
    geoms = frame.geometry.to_numpy()
    if metres > 0:
        geoms = shapely.simplify(geoms, metres, preserve_topology=True)
    out = gpd.GeoDataFrame(frame[["area_code", "area_name"]].reset_index(drop=True),
                           geometry=list(geoms), crs=27700).to_crs(EPSG_WGS84)
    out["geometry"] = shapely.set_precision(out.geometry.to_numpy(), 1e-5)
    out["area_code"] = out["area_code"].astype(str)
    out["area_name"] = out["area_name"].astype(str)
    return out


# --------------------------------------------------------------------------- chart specs


def _trend_chart() -> dict[str, Any]:
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "data": {"name": "trend_monthly"},
        "facet": {"row": {"field": "measure_name", "type": "nominal", "title": None,
                          "header": {"labelAngle": 0, "labelAlign": "left",
                                     "labelAnchor": "start", "labelFontSize": 14}}},
        "spec": {"width": 620, "height": 110,
                 "mark": {"type": "line", "point": {"size": 18}, "color": "#1d70b8"},
                 "encoding": {
                     "x": {"field": "month", "type": "temporal", "title": "Month",
                           "axis": {"format": "%b %Y"}},
                     "y": {"field": "count", "type": "quantitative", "title": "Offences",
                           "scale": {"zero": False}},
                     "tooltip": [{"field": "measure_name", "title": "Offences"},
                                 {"field": "month", "type": "temporal", "format": "%B %Y",
                                  "title": "Month"},
                                 {"field": "count", "format": ",.0f", "title": "Count"}]}},
        "resolve": {"scale": {"y": "independent"}},
    }


def _bar_chart(x: str, y: str, y_title: str, x_title: str, *, sort: bool = True,
               ordinal: bool = False) -> dict[str, Any]:
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "width": 640, "height": 260,
        "mark": {"type": "bar", "color": "#1d70b8"},
        "transform": [{"filter": f"isValid(datum.{y})"}],
        "encoding": {
            "x": {"field": x, "type": "ordinal" if ordinal else "nominal", "title": x_title,
                  "sort": "-y" if sort else None, "axis": {"labelAngle": -45 if sort else 0}},
            "y": {"field": y, "type": "quantitative", "title": y_title},
            "tooltip": [{"field": x, "title": x_title},
                        {"field": y, "format": ",.0f", "title": y_title}]},
    }


def _lorenz_chart() -> dict[str, Any]:
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "width": 360, "height": 360,
        "layer": [
            {"data": {"values": [{"x": 0, "y": 0}, {"x": 1, "y": 1}]},
             "mark": {"type": "line", "color": "#505a5f", "strokeDash": [4, 4]},
             "encoding": {"x": {"field": "x", "type": "quantitative"},
                          "y": {"field": "y", "type": "quantitative"}}},
            {"data": {"name": "lorenz"},
             "mark": {"type": "line", "color": "#1d70b8", "strokeWidth": 3},
             "encoding": {
                 "x": {"field": "share_of_places", "type": "quantitative",
                       "title": "Share of neighbourhoods, busiest first",
                       "axis": {"format": "%"}},
                 "y": {"field": "share_of_events", "type": "quantitative",
                       "title": "Share of offences", "axis": {"format": "%"}}}},
        ],
    }


def _season_chart() -> dict[str, Any]:
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "data": {"name": "seasonality"},
        "width": 640, "height": 240,
        "transform": [{"filter": "isValid(datum.rate_per_day)"}],
        "mark": {"type": "bar", "color": "#1d70b8"},
        "encoding": {
            "x": {"field": "name", "type": "ordinal", "title": "Month",
                  "sort": {"field": "month"}},
            "y": {"field": "rate_per_day", "type": "quantitative",
                  "title": "Offences per day"},
            "tooltip": [{"field": "name", "title": "Month"},
                        {"field": "rate_per_day", "format": ",.1f",
                         "title": "Offences per day"},
                        {"field": "holiday_pct", "format": ".0f",
                         "title": "Days that are school holidays (%)"}]},
    }


def _group_chart(area_name: str) -> dict[str, Any]:
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "width": 420, "height": 200,
        "transform": [{"filter": "datum.level === 'region' && isValid(datum.rate_per_100k)"}],
        "mark": {"type": "bar", "color": "#1d70b8"},
        "encoding": {
            "y": {"field": "group", "type": "nominal", "title": None},
            "x": {"field": "rate_per_100k", "type": "quantitative",
                  "title": f"Homicide victims per 100,000 residents a year, {area_name}"},
            "tooltip": [{"field": "group"},
                        {"field": "rate_per_100k", "format": ",.2f",
                         "title": "Rate per 100,000 a year"}]},
    }


# --------------------------------------------------------------------------- the annex


_METHOD_PLAIN: dict[str, str] = {
    "headline": "Counts are added up over the period. The rate is the count for every "
                "100,000 residents in a year. A change is called clear when it is unlikely to "
                "be chance.",
    "trend_monthly": "The number of offences recorded in each month.",
    "trend_tests": "A steady rise or fall is one that a test finds unlikely to be chance, "
                   "after allowing for the usual pattern of the seasons.",
    "borough_figures": "Counts and rates per 100,000 residents a year for each borough.",
    "ward_figures": "Counts and rates per 100,000 residents a year for each ward. Ward "
                    "populations are built from small areas, so they are approximate.",
    "lsoa_figures": "Counts and rates per 100,000 residents a year for each neighbourhood. "
                    "A neighbourhood here is a small area of about 1,500 residents, as used "
                    "by the Office for National Statistics.",
    "hotspots": "A hot spot is a place that, with its neighbours, has more offences than "
                "chance would give. Emerging hot spots look at every month to see whether "
                "this is new, growing, lasting or fading.",
    "concentration": "Neighbourhoods are sorted from busiest to quietest, and we add up their "
                     "share of all offences.",
    "lorenz": "The curve shows the share of offences held by each share of neighbourhoods, "
              "busiest first.",
    "deprivation_deciles": "Neighbourhoods are put in ten groups by the Index of Multiple "
                           "Deprivation 2019, from the most deprived in England to the least.",
    "deprivation_shares": "The share of offences in the most deprived neighbourhoods, beside "
                          "their share of residents.",
    "homicide_by_ethnicity": "Victims in each group for every 100,000 residents of that group "
                             "in a year, compared with one reference group.",
    "homicide_by_sex": "Victims of each sex for every 100,000 residents of that sex in a year.",
    "seasonality": "Offences per day in each calendar month, so that short and long months "
                   "compare fairly.",
    "stations": "Offences recorded within 200 metres of each station.",
    "priority_places": "Places chosen by published rules, each with the reasons it was "
                       "chosen.",
}


def _annex(b: _Builder) -> tuple[list[AnnexEntry], list[AnnexEntry], list[dict[str, Any]],
                                  list[str]]:
    definitions = [AnnexEntry(f"def-{m}", MEASURES[m].name, MEASURES[m].definition)
                   for m in MEASURES if m in b.measures_used]
    methods = []
    for key, t in b.tables.items():
        meta = t.meta
        methods.append(AnnexEntry(
            f"method-{key}", t.title, _METHOD_PLAIN.get(key, t.title),
            f"{meta.method.name}. {meta.method.citation}" if meta is not None else ""))
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    pops: list[str] = []
    for meta in b.metas:
        for s in meta.sources:
            k = (s.name, s.import_id or "")
            if k not in seen:
                seen[k] = {"dataset": s.name, "title": _dataset_words(s.name),
                           "import_id": s.import_id,
                           "file": b.data.import_file(s.import_id) if s.import_id else ""}
        if meta.population is not None:
            pops.append(f"{meta.population.source} ({meta.population.year})")
    sources = sorted(seen.values(), key=lambda r: (r["dataset"], r["file"]))
    return definitions, methods, sources, list(dict.fromkeys(pops))


# --------------------------------------------------------------------------- public edition


def _public_table(t: ReportTable, rules: DisclosureRules) -> ReportTable | None:
    cols = t.public_columns or [c.name for c in t.columns]
    frame = t.frame
    if t.key.startswith("homicide_by_"):
        levels = [(lvl, frame[frame["level"] == lvl]) for lvl in ("borough", "region")
                  if (frame["level"] == lvl).any()]
        level = passing_level(levels, "count", rules)
        if level is None:
            return None
        frame = frame[frame["level"] == level]
    if t.key == "headline":
        levels = [("region", frame[frame["measure"] == "homicide"])]
        if (frame["measure"] == "homicide").any() and passing_level(levels, "count",
                                                                    rules) is None:
            frame = frame[frame["measure"] != "homicide"]
    if t.key == "priority_places":
        frame = frame.drop(columns=[c for c in ("explanation",) if c in frame.columns])
        frame = frame.rename(columns={"plain_explanation": "explanation"})
        cols = [("explanation" if c == "plain_explanation" else c) for c in cols]
    needed = list(dict.fromkeys(
        [*cols, *(t.spec.count_columns if t.spec else ()),
         *((g for grp in t.spec.line_groups for g in grp) if t.spec else ()),
         *((t.spec.rate_columns if t.spec else {}).keys()),
         *(t.spec.derived_columns if t.spec else ())]))
    needed = [c for c in needed if c in frame.columns]
    frame = frame[needed].reset_index(drop=True)
    if t.spec is not None:
        spec = TableSpec(
            t.spec.count_columns, t.spec.line_groups, t.spec.across,
            {k: v for k, v in t.spec.rate_columns.items() if k in frame.columns},
            tuple(c for c in t.spec.derived_columns if c in frame.columns))
        protected = protect(frame, spec, rules)
        frame = protected.table
        keep = [c for c in frame.columns if c in cols or c.endswith(STATUS_SUFFIX)
                or any(c in grp for grp in spec.line_groups)]
        frame = frame[keep]
        spec = TableSpec(spec.count_columns, spec.line_groups, spec.across,
                         {k: v for k, v in spec.rate_columns.items() if k in frame.columns},
                         tuple(c for c in spec.derived_columns if c in frame.columns))
        notes = [protected.note] if protected.note else []
    else:
        spec = None
        frame = frame[[c for c in cols if c in frame.columns]]
        notes = []
    columns = [c for c in t.columns if c.name in frame.columns and c.kind != "ratio"
               or (c.name == "explanation")]
    if t.key == "priority_places":
        columns = [Column("rule_title", "Rule"), Column("direction", "Why"),
                   Column("area_name", "Place"), Column("parent_name", "In"),
                   Column("explanation", "Why it was chosen")]
    columns = [c for c in columns if c.name in frame.columns and c.name not in (
        "mk_trend", "mk_p", "gi_z", "gi_p_fdr", "rate_ci_low", "rate_ci_high")]
    if t.key == "seasonality":
        columns = [c for c in t.columns if c.name in frame.columns]
    return replace(t, frame=frame, columns=columns, spec=spec, notes=[*t.notes, *notes])


def to_public(report: SnaReport, rules: DisclosureRules) -> SnaReport:
    """The public edition of a restricted report: every table protected, technical columns
    and restricted tables removed, plain explanations, the rules in the annex."""
    tables: dict[str, ReportTable] = {}
    dropped: dict[str, str] = {}
    for key, t in report.tables.items():
        pt = _public_table(t, rules)
        if pt is None:
            dropped[key] = (f"{t.title}: not shown in the public edition, because some of "
                            f"its figures are under {rules.threshold} at every level.")
            continue
        tables[key] = pt
    charts = {k: c for k, c in report.charts.items() if c.table in tables}
    maps = {k: m for k, m in report.maps.items() if m.table in tables}
    sections = []
    for s in report.sections:
        ns = replace(s, tables=[k for k in s.tables if k in tables],
                     charts=[k for k in s.charts if k in charts],
                     maps=[k for k in s.maps if k in maps],
                     unavailable=[_public_reason(u) for u in s.unavailable]
                     + [dropped[k] for k in s.tables if k in dropped],
                     paragraphs=[p for p in s.paragraphs if _public_paragraph(p, s.id)])
        if s.id == "headline" and "headline" in tables:
            main = tables["headline"].frame
            main = main[main["measure"] == report.main_measure]
            if len(main):
                r = main.iloc[0].to_dict()
                ns.paragraphs = [_headline_sentence(r, report.area_name, report.period,
                                                    report.months)]
        sections.append(ns)
    methods = [m for m in report.methods if m.anchor.removeprefix("method-") in tables]
    methods = [replace(m, citation="") for m in methods]
    return replace(report, edition="public", tables=tables, charts=charts, maps=maps,
                   sections=sections, methods=methods, disclosure=rules,
                   disclosure_rules_text=rules.describe(),
                   notes=[], sources=[{k: v for k, v in s.items() if k != "import_id"}
                                      for s in report.sources])


def _public_reason(text: str) -> str:
    first = text.split(":")[0]
    return f"{first}: not available from the data loaded for this report."


def _public_paragraph(p: str, section: str) -> bool:
    """Paragraphs kept in the public edition (all but the rule descriptions, which quote
    technical criteria; the public edition says each place's reasons in words)."""
    return not (section == "priority" and "significant" in p)


# --------------------------------------------------------------------------- entry point


def build_report(
    store: EvidenceStore,
    area: str = "london",
    to: str | None = None,
    months: int = 12,
    edition: str = "restricted",
    rules: DisclosureRules | None = None,
    *,
    log: Callable[[str], None] | None = None,
) -> SnaReport:
    """The report of ``area`` for the ``months`` months to ``to`` (YYYY-MM; default the
    latest month of the area's borough counts), in ``edition``."""
    if edition not in EDITIONS:
        raise ReportError(f"edition must be one of {', '.join(EDITIONS)}, not {edition!r}")
    if months < 1:
        raise ReportError("months must be at least 1")
    t0 = time.perf_counter()
    with SnaData(store, area) as data:
        try:
            b = _Builder(data, to, months, log=log)
        except SnaError as exc:
            raise ReportError(str(exc)) from None
        b.build()
        definitions, methods, sources, pops = _annex(b)
        report = SnaReport(
            area=data.area.key, area_name=data.area.name, edition="restricted", to=b.to,
            months=months, period=b.period_words(),
            generated_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
            main_measure=b.main, sections=b.sections, tables=b.tables, charts=b.charts,
            maps=b.maps, definitions=definitions, methods=methods, sources=sources,
            populations=pops, notes=list(dict.fromkeys(b.notes)), timings=b.timings)
    if edition == "public":
        report = to_public(report, rules or DisclosureRules())
    report.timings["compute"] = round(time.perf_counter() - t0, 3)
    return report


def hidden_cells(report: SnaReport) -> int:
    """How many counts the public edition hides."""
    n = 0
    for t in report.tables.values():
        for c in t.frame.columns:
            if str(c).endswith(STATUS_SUFFIX):
                n += int((t.frame[c] == HIDDEN).sum())
    return n


def all_text(report: SnaReport) -> str:
    """The report's prose (paragraphs, notes on periods, plain explanations, method texts):
    what the readability check reads."""
    parts: list[str] = []
    for s in report.sections:
        parts += s.paragraphs
        if s.period_note:
            parts.append(s.period_note)
    for m in report.methods:
        parts.append(m.text)
    parts += report.disclosure_rules_text
    return "\n\n".join(parts)

