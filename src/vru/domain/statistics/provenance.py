"""Where a figure came from: the provenance every published statistic carries.

A number in a Strategic Needs Assessment is only useful with its definition, the geography
and period it covers, the population it is a rate of, how it was calculated and from which
data. ``ResultMeta`` holds all of that in one frozen value. Attach it to a result table with
``attach`` (it rides in ``DataFrame.attrs``) and flatten it into ``meta_*`` columns with
``with_provenance_columns`` when the output must be machine-readable on its own (CSV, JSON).

``Figure`` is another name for ``ResultMeta``: "the figure's metadata".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import pandas as pd

from vru.domain.measures import MEASURES

ATTRS_KEY = "provenance"
COLUMN_PREFIX = "meta_"
LIST_SEPARATOR = "; "


@dataclass(frozen=True)
class Method:
    """How a statistic was calculated, and the paper or guidance it follows."""

    name: str
    citation: str

    def __post_init__(self) -> None:
        _require_text("method name", self.name)
        _require_text("method citation", self.citation)


@dataclass(frozen=True)
class PopulationBase:
    """The population a rate is per: its source (e.g. ONS mid-year estimates) and year."""

    source: str
    year: int

    def __post_init__(self) -> None:
        _require_text("population source", self.source)
        if not 1800 <= self.year <= 2200:
            raise ValueError(f"population year {self.year} is not a plausible year")


@dataclass(frozen=True)
class SourceDataset:
    """One dataset a figure was computed from, and the import that loaded it (if known)."""

    name: str
    import_id: str | None = None

    def __post_init__(self) -> None:
        _require_text("source dataset name", self.name)
        _no_separator("source dataset name", self.name)
        if self.import_id is not None:
            _require_text("import id", self.import_id)
            _no_separator("import id", self.import_id)


@dataclass(frozen=True)
class ResultMeta:
    """The provenance of a figure or a table of figures.

    ``measure`` is the measure id (see ``vru.domain.measures``) or another short name;
    ``definition`` says in words what is counted. ``geography`` names the areas (``"ward"``,
    ``"borough"``, ``"LSOA"``) and ``geography_vintage`` their boundary set (``"2022"``,
    ``"December 2021"``). The period is inclusive at both ends. ``population`` is ``None`` for
    counts that are not rates.
    """

    measure: str
    definition: str
    geography: str
    geography_vintage: str
    period_start: date
    period_end: date
    method: Method
    population: PopulationBase | None = None
    sources: tuple[SourceDataset, ...] = ()

    def __post_init__(self) -> None:
        for label in ("measure", "definition", "geography", "geography_vintage"):
            _require_text(label.replace("_", " "), getattr(self, label))
        if self.period_end < self.period_start:
            raise ValueError(
                f"period ends ({self.period_end}) before it starts ({self.period_start})"
            )
        if not isinstance(self.sources, tuple):
            object.__setattr__(self, "sources", tuple(self.sources))

    @classmethod
    def for_measure(
        cls,
        measure_id: str,
        *,
        geography: str,
        geography_vintage: str,
        period_start: date,
        period_end: date,
        method: Method,
        population: PopulationBase | None = None,
        sources: Iterable[SourceDataset] = (),
    ) -> ResultMeta:
        """Provenance for one of the platform's measures, its definition taken from the tree."""
        if measure_id not in MEASURES:
            raise KeyError(f"unknown measure {measure_id!r}")
        return cls(
            measure=measure_id,
            definition=MEASURES[measure_id].definition,
            geography=geography,
            geography_vintage=geography_vintage,
            period_start=period_start,
            period_end=period_end,
            method=method,
            population=population,
            sources=tuple(sources),
        )

    def with_method(self, method: Method) -> ResultMeta:
        """The same provenance with the method that produced a derived figure."""
        return dataclasses.replace(self, method=method)

    @property
    def import_ids(self) -> tuple[str, ...]:
        return tuple(s.import_id for s in self.sources if s.import_id is not None)

    def flatten(self) -> dict[str, str | int | None]:
        """One flat record, keys prefixed ``meta_``; lists joined with ``"; "``.

        Dates are ISO 8601 (``2024-03-31``). Missing population fields are ``None``.
        """
        p = COLUMN_PREFIX
        return {
            f"{p}measure": self.measure,
            f"{p}definition": self.definition,
            f"{p}geography": self.geography,
            f"{p}geography_vintage": self.geography_vintage,
            f"{p}period_start": self.period_start.isoformat(),
            f"{p}period_end": self.period_end.isoformat(),
            f"{p}population_source": None if self.population is None else self.population.source,
            f"{p}population_year": None if self.population is None else self.population.year,
            f"{p}method": self.method.name,
            f"{p}method_citation": self.method.citation,
            f"{p}sources": LIST_SEPARATOR.join(s.name for s in self.sources),
            f"{p}import_ids": LIST_SEPARATOR.join(
                "" if s.import_id is None else s.import_id for s in self.sources
            ),
        }

    @classmethod
    def from_flat(cls, record: Mapping[str, object]) -> ResultMeta:
        """The inverse of ``flatten``."""
        p = COLUMN_PREFIX

        def text(key: str) -> str:
            value = record[f"{p}{key}"]
            if not isinstance(value, str):
                raise ValueError(f"{p}{key} must be text, got {value!r}")
            return value

        names = [n for n in text("sources").split(LIST_SEPARATOR) if n]
        ids = text("import_ids").split(LIST_SEPARATOR) if names else []
        if len(ids) != len(names):
            raise ValueError("meta_sources and meta_import_ids have different lengths")
        pop_source = record.get(f"{p}population_source")
        pop_year = record.get(f"{p}population_year")
        population = None
        if isinstance(pop_source, str) and pop_source:
            if pop_year is None:
                raise ValueError("meta_population_source is given without meta_population_year")
            population = PopulationBase(pop_source, int(str(pop_year)))
        return cls(
            measure=text("measure"),
            definition=text("definition"),
            geography=text("geography"),
            geography_vintage=text("geography_vintage"),
            period_start=date.fromisoformat(text("period_start")),
            period_end=date.fromisoformat(text("period_end")),
            method=Method(text("method"), text("method_citation")),
            population=population,
            sources=tuple(
                SourceDataset(n, i or None) for n, i in zip(names, ids, strict=True)
            ),
        )


Figure = ResultMeta


def attach(df: pd.DataFrame, meta: ResultMeta) -> pd.DataFrame:
    """A shallow copy of ``df`` carrying ``meta`` in ``df.attrs["provenance"]``."""
    out = df.copy(deep=False)
    out.attrs = {**df.attrs, ATTRS_KEY: meta}
    return out


def provenance_of(df: pd.DataFrame) -> ResultMeta:
    """The provenance attached to ``df``; ``LookupError`` if there is none."""
    meta = df.attrs.get(ATTRS_KEY)
    if not isinstance(meta, ResultMeta):
        raise LookupError(
            "this table carries no provenance; attach a ResultMeta with "
            "vru.domain.statistics.provenance.attach before publishing it"
        )
    return meta


def with_provenance_columns(df: pd.DataFrame, meta: ResultMeta | None = None) -> pd.DataFrame:
    """``df`` with the flattened provenance repeated in ``meta_*`` columns on every row.

    Uses the provenance attached to ``df`` unless ``meta`` is given. The result still carries
    it in ``attrs``.
    """
    meta = provenance_of(df) if meta is None else meta
    flat = meta.flatten()
    clash = sorted(set(flat) & set(df.columns))
    if clash:
        raise ValueError(f"table already has provenance columns: {', '.join(clash)}")
    out = df.copy()
    for key, value in flat.items():
        out[key] = value
    return attach(out, meta)


def _require_text(label: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{label} must be non-empty text")


def _no_separator(label: str, value: str) -> None:
    if LIST_SEPARATOR.strip() in value:
        raise ValueError(f"{label} {value!r} must not contain ';'")
