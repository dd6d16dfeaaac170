"""The provenance every figure carries: definition, period, geography, population, method,
sources."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from vru.domain.statistics import provenance as pv


def _meta(**changes: object) -> pv.ResultMeta:
    base: dict[str, object] = dict(
        geography="ward",
        geography_vintage="December 2022",
        period_start=date(2023, 4, 1),
        period_end=date(2024, 3, 31),
        method=pv.Method("Crude rate", "PHE (2018) Technical Guide: Confidence intervals."),
        population=pv.PopulationBase("ONS mid-year population estimates", 2022),
        sources=(
            pv.SourceDataset("police.uk street-level crime", "imp-0007"),
            pv.SourceDataset("ONS ward population", None),
        ),
    )
    base.update(changes)
    return pv.ResultMeta.for_measure("homicide", **base)  # type: ignore[arg-type]


def test_for_measure_takes_the_definition_from_the_measure_tree() -> None:
    meta = _meta()
    assert meta.measure == "homicide"
    assert meta.definition.startswith("Murder, manslaughter")
    assert meta.import_ids == ("imp-0007",)
    with pytest.raises(KeyError, match="knife_fights"):
        pv.ResultMeta.for_measure(
            "knife_fights", geography="ward", geography_vintage="2022",
            period_start=date(2023, 1, 1), period_end=date(2023, 12, 31),
            method=pv.Method("x", "y"),
        )


def test_flatten_is_machine_readable_and_round_trips() -> None:
    meta = _meta()
    flat = meta.flatten()
    assert flat["meta_period_start"] == "2023-04-01"
    assert flat["meta_population_year"] == 2022
    assert flat["meta_sources"] == "police.uk street-level crime; ONS ward population"
    assert flat["meta_import_ids"] == "imp-0007; "
    assert all(k.startswith("meta_") for k in flat)
    json.dumps(flat)  # plain JSON types only
    assert pv.ResultMeta.from_flat(flat) == meta
    no_pop = _meta(population=None, sources=())
    assert pv.ResultMeta.from_flat(no_pop.flatten()) == no_pop


def test_attach_and_columns() -> None:
    df = pd.DataFrame({"ward": ["A", "B"], "rate": [1.0, 2.0]})
    with pytest.raises(LookupError, match="no provenance"):
        pv.provenance_of(df)
    tagged = pv.attach(df, _meta())
    assert pv.provenance_of(tagged) == _meta()
    assert "provenance" not in df.attrs  # the input is untouched
    wide = pv.with_provenance_columns(tagged)
    assert wide["meta_geography"].tolist() == ["ward", "ward"]
    assert wide["meta_method_citation"].iloc[0].startswith("PHE (2018)")
    assert pv.provenance_of(wide) == _meta()
    assert pv.ResultMeta.from_flat(wide.iloc[0].to_dict()) == _meta()
    with pytest.raises(ValueError, match="already has provenance columns"):
        pv.with_provenance_columns(wide)


def test_with_method_replaces_only_the_method() -> None:
    other = pv.Method("Dobson", "Dobson et al. 1991")
    changed = _meta().with_method(other)
    assert changed.method == other
    assert changed.sources == _meta().sources


def test_invalid_provenance_is_refused() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        _meta(period_start=date(2024, 4, 1))
    with pytest.raises(ValueError, match="geography must be non-empty"):
        _meta(geography=" ")
    with pytest.raises(ValueError, match="plausible"):
        pv.PopulationBase("ONS", 22)
    with pytest.raises(ValueError, match="';'"):
        pv.SourceDataset("a; b")
    with pytest.raises(ValueError, match="citation"):
        pv.Method("x", "")


def test_figure_is_the_same_class() -> None:
    assert pv.Figure is pv.ResultMeta
