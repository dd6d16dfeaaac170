"""Property tests: no public table, for any input, shows a count under the threshold or a
hidden count that one known total gives away; the checker finds planted breaches."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vru.domain.disclosure import (
    HIDDEN,
    STATUS_SUFFIX,
    DisclosureRules,
    TableSpec,
    check_published,
    passing_level,
    protect,
    scan_for_counts,
)
from vru.interfaces.report.builder import table_rows

SPEC = TableSpec(("count", "previous_count"), line_groups=((), ("parent",)), across=True,
                 rate_columns={"rate": "count"}, derived_columns=("change",))


@st.composite
def area_tables(draw: st.DrawFn) -> pd.DataFrame:
    """Long tables of areas in parents, with a current and previous count (some missing)."""
    n = draw(st.integers(1, 30))
    parents = draw(st.lists(st.sampled_from(["A", "B", "C", "D"]), min_size=n, max_size=n))
    small = st.one_of(st.integers(0, 12), st.integers(0, 400))
    count = draw(st.lists(small, min_size=n, max_size=n))
    prev = draw(st.lists(st.one_of(small, st.none()), min_size=n, max_size=n))
    frame = pd.DataFrame({"area": [f"a{i}" for i in range(n)], "parent": parents,
                          "count": [float(c) for c in count],
                          "previous_count": [np.nan if p is None else float(p) for p in prev]})
    frame["change"] = frame["count"] - frame["previous_count"]
    frame["rate"] = frame["count"] / 1000.0
    return frame


def _recoverable(rows: list[dict[str, object]], spec: TableSpec) -> list[str]:
    """Independent check: any line (known total) whose hidden cells number exactly one."""
    found = []
    frame = pd.DataFrame(rows)
    for group in spec.line_groups:
        parts = [frame] if not group else [p for _, p in frame.groupby(list(group))]
        for part, col in itertools.product(parts, spec.count_columns):
            if len(part) > 1 and int((part[col + STATUS_SUFFIX] == HIDDEN).sum()) == 1:
                found.append(f"{col} in {group}")
    for r in rows:
        if len(spec.count_columns) > 1 and sum(
                r[c + STATUS_SUFFIX] == HIDDEN for c in spec.count_columns) == 1:
            found.append(f"row {r['area']}")
    return found


@settings(max_examples=200, deadline=None)
@given(area_tables(), st.integers(2, 15), st.sampled_from([None, 5, 10]))
def test_no_public_output_has_a_small_or_recoverable_count(
        table: pd.DataFrame, threshold: int, base: int | None) -> None:
    rules = DisclosureRules(threshold=threshold, round_base=base)
    out = protect(table, SPEC, rules).table
    rows = table_rows(out)
    # 1. no shown count under the threshold (zeros may show), rounded where configured
    for r in rows:
        for col in SPEC.count_columns:
            v = r[col]
            if v is not None:
                assert v == 0 or v >= threshold, (col, v)
                if base:
                    assert v % base == 0
    # 2. every true count under the threshold is hidden
    for (_, src), r in zip(table.iterrows(), rows, strict=True):
        for col in SPEC.count_columns:
            true = src[col]
            if true == true and 0 < true < threshold:
                assert r[col + STATUS_SUFFIX] == HIDDEN
    # 3. no known total gives a hidden count away; derived values and rates follow
    assert _recoverable(rows, SPEC) == []
    for r in rows:
        if any(r[c + STATUS_SUFFIX] == HIDDEN for c in SPEC.count_columns):
            assert r["change"] is None
        if r["count_status"] == HIDDEN or (r["count"] is not None and r["count"] < 10):
            assert r["rate"] is None
    # 4. the output checker agrees, and so does the generic scan
    assert check_published("t", rows, SPEC.to_dict(), rules) == []
    assert scan_for_counts({"tables": {"t": rows}}, rules) == []


@settings(max_examples=100, deadline=None)
@given(area_tables())
def test_the_checker_finds_a_planted_small_count_or_lone_hidden_cell(table: pd.DataFrame
                                                                     ) -> None:
    rules = DisclosureRules()
    rows = table_rows(protect(table, SPEC, rules).table)
    leaked = [dict(r) for r in rows]
    leaked[0]["count"] = 3.0
    leaked[0]["count_status"] = ""
    assert check_published("t", leaked, SPEC, rules)
    assert scan_for_counts(leaked, rules)


def test_a_lone_hidden_cell_in_a_known_total_is_reported() -> None:
    rows = [{"area": "a", "parent": "A", "count": None, "count_status": HIDDEN,
             "previous_count": 50.0, "previous_count_status": "", "rate": None,
             "change": None},
            {"area": "b", "parent": "A", "count": 40.0, "count_status": "",
             "previous_count": 60.0, "previous_count_status": "", "rate": 1.0, "change": 1.0}]
    problems = check_published("t", rows, SPEC)
    assert any("exactly one hidden" in p for p in problems)
    assert any("would give it away" in p for p in problems)


def test_rates_under_ten_events_are_blanked_even_with_a_lower_threshold() -> None:
    t = pd.DataFrame({"area": ["a", "b", "c"], "parent": ["A"] * 3, "count": [7.0, 9.0, 30.0],
                      "previous_count": [40.0, 50.0, 60.0], "change": [0.0] * 3,
                      "rate": [1.0, 2.0, 3.0]})
    out = protect(t, SPEC, DisclosureRules(threshold=5)).table
    assert out["rate"].isna().tolist() == [True, True, False]
    assert out["count"].tolist()[:2] == [7.0, 9.0]


def test_group_figures_only_at_a_level_that_passes() -> None:
    borough = pd.DataFrame({"count": [3, 40, 12]})
    region = pd.DataFrame({"count": [55, 120]})
    assert passing_level([("borough", borough), ("region", region)]) == "region"
    assert passing_level([("borough", borough)]) is None
    assert passing_level([("region", pd.DataFrame({"count": [0, 14]}))]) == "region"
    assert passing_level([("region", pd.DataFrame({"count": [0, 14]}))],
                         rules=DisclosureRules(suppress_zeros=True)) is None


def test_rules_are_described_for_the_annex_without_jargon() -> None:
    text = " ".join(DisclosureRules(round_base=5).describe())
    assert "[c]" in text and "nearest 5" in text and "fewer than 10 events" in text
    with pytest.raises(ValueError):
        DisclosureRules(threshold=0)
    with pytest.raises(ValueError):
        DisclosureRules(round_base=1)
    assert DisclosureRules.from_dict(DisclosureRules(12, 5).to_dict()) == DisclosureRules(12, 5)


def test_scan_names_where_each_leaked_count_is() -> None:
    doc = {"tables": {"t": [{"count": 50}, {"count": 3, "rows": [{"count": 4}]}]},
           "ok": [[{"count": 15}]]}
    found = sorted(scan_for_counts(doc, DisclosureRules(), "page"))
    assert found == ["page.tables.t[1].count = 3 may not be published",
                     "page.tables.t[1].rows[0].count = 4 may not be published"]
