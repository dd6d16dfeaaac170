"""Disclosure control: primary and secondary suppression, rounding, published notes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vru.domain.disclosure import (
    PRIMARY,
    SECONDARY,
    SUPPRESSED_SYMBOL,
    lines_within,
    round_to_base,
    suppress,
)


def _table(rows: list[list[int]], cols: str = "abc") -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(cols[: len(rows[0])]),
                        index=[f"r{i}" for i in range(len(rows))])


def test_counts_below_threshold_are_primary_suppressed_zeros_shown() -> None:
    t = _table([[3, 0], [12, 40], [9, 10]])
    s = suppress(t, ["a", "b"], margins_known=False)
    assert s.reason.loc["r0", "a"] == PRIMARY
    assert s.reason.loc["r2", "a"] == PRIMARY
    assert s.reason.loc["r0", "b"] == ""  # a zero is shown
    assert s.reason.loc["r2", "b"] == ""  # 10 is at the threshold: shown
    assert s.n_secondary == 0
    assert pd.isna(s.table.loc["r0", "a"]) and s.table.loc["r2", "b"] == 10


def test_threshold_is_a_parameter_and_zeros_can_be_suppressed() -> None:
    t = _table([[3, 0], [12, 40]])
    s = suppress(t, ["a", "b"], threshold=4, suppress_zeros=True, margins_known=False)
    assert s.reason.loc["r0", "a"] == PRIMARY and s.reason.loc["r0", "b"] == PRIMARY
    assert s.reason.loc["r1", "a"] == ""
    assert "0 to 3" in s.note


def test_secondary_suppression_protects_row_and_column_totals_hand_worked() -> None:
    # a=3 is primary. Row r0: the smallest other non-zero cell is b=15. Column a: the
    # smallest other is r1 (20). Column b then has r0 hidden alone: r1's 12 is hidden too.
    t = _table([[3, 15, 25], [20, 12, 0], [40, 30, 11]])
    s = suppress(t, ["a", "b", "c"])
    expected = pd.DataFrame(
        [[PRIMARY, SECONDARY, ""], [SECONDARY, SECONDARY, ""], ["", "", ""]],
        index=t.index, columns=list("abc"))
    pd.testing.assert_frame_equal(s.reason, expected, check_dtype=False)
    assert (s.n_primary, s.n_secondary) == (1, 3)


def test_total_column_and_total_row_are_cells_of_their_lines() -> None:
    t = _table([[3, 15], [20, 12], [40, 30]], "ab")
    t["total"] = t["a"] + t["b"]
    t.loc["all"] = t.sum()
    s = suppress(t, ["a", "b"], total_col="total", total_row="all")
    # no line (each row with its total, each column with the total row) has one hidden cell
    for r in t.index:
        hidden = int(s.mask.loc[r, ["a", "b", "total"]].sum())
        assert hidden != 1, r
    for c in ["a", "b", "total"]:
        assert int(s.mask[c].sum()) != 1, c


def test_total_below_threshold_is_itself_suppressed() -> None:
    t = _table([[3, 0], [40, 50]], "ab")
    t["total"] = t["a"] + t["b"]
    s = suppress(t, ["a", "b"], total_col="total", margins_known=False)
    assert s.reason.loc["r0", "total"] == PRIMARY
    assert s.reason.loc["r0", "a"] == PRIMARY


def test_a_lone_count_column_still_protects_its_column_total() -> None:
    t = pd.DataFrame({"count": [4, 30, 25, 60]}, index=list("wxyz"))
    s = suppress(t, ["count"])
    assert list(s.reason["count"]) == [PRIMARY, "", SECONDARY, ""]


def test_long_format_lines_within_groups() -> None:
    t = pd.DataFrame({"year": [2020, 2020, 2020, 2021, 2021],
                      "method": ["k", "s", "o", "k", "s"],
                      "count": [5, 30, 20, 40, 50]})
    s = suppress(t, ["count"], margins_known=False,
                 lines=lines_within(t, ["year"], "count"))
    assert list(s.reason["count"]) == [PRIMARY, "", SECONDARY, "", ""]


def test_display_and_note_never_show_a_suppressed_value() -> None:
    t = _table([[3, 15, 25], [20, 12, 0], [40, 30, 11]])
    s = suppress(t, ["a", "b", "c"])
    shown = s.display()
    assert shown.loc["r0", "a"] == SUPPRESSED_SYMBOL
    assert shown.loc["r2", "a"] == 40
    assert "3" not in s.note and "15" not in s.note
    assert "cannot be worked out from totals" in s.note


def test_derived_columns_are_blanked_with_their_counts() -> None:
    t = pd.DataFrame({"present": [3, 40], "absent": [40, 50]}, index=["f1", "f2"])
    t["n"] = t["present"] + t["absent"]
    t["proportion"] = t["present"] / t["n"]
    s = suppress(t, ["present", "absent"], total_col="n", margins_known=False)
    out = s.blank_where_suppressed(["proportion"])
    assert pd.isna(out.loc["f1", "proportion"])
    assert out.loc["f2", "proportion"] == pytest.approx(40 / 90)


def test_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="whole, non-negative"):
        suppress(pd.DataFrame({"a": [1.5]}), ["a"])
    with pytest.raises(ValueError, match="whole, non-negative"):
        suppress(pd.DataFrame({"a": [-1]}), ["a"])
    with pytest.raises(KeyError):
        suppress(pd.DataFrame({"a": [1]}), ["b"])
    with pytest.raises(ValueError, match="unique"):
        suppress(pd.DataFrame({"a": [1, 2]}, index=[0, 0]), ["a"])
    with pytest.raises(ValueError, match="threshold"):
        suppress(pd.DataFrame({"a": [1]}), ["a"], threshold=0)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 6).flatmap(lambda ncol: st.lists(
    st.lists(st.integers(0, 40), min_size=ncol, max_size=ncol), min_size=1, max_size=7)),
    st.booleans())
def test_no_line_ever_has_exactly_one_hidden_cell(rows: list[list[int]], totals: bool) -> None:
    cols = [f"c{i}" for i in range(len(rows[0]))]
    t = pd.DataFrame(rows, columns=cols)
    if totals:
        t["total"] = t[cols].sum(axis=1)
        t.loc["all"] = t.sum()
    s = suppress(t, cols, total_col="total" if totals else None,
                 total_row="all" if totals else None)
    mask = s.mask
    # primary rule
    values = t[mask.columns]
    assert ((values > 0) & (values < 10)).le(mask).all().all()
    body_rows = [r for r in t.index if r != "all"]
    row_cols = cols + (["total"] if totals else [])
    for r in t.index:
        if len(row_cols) > 1:
            assert int(mask.loc[r, row_cols].sum()) != 1
    for c in mask.columns:
        members = body_rows + (["all"] if totals else [])
        if len(members) > 1:
            assert int(mask.loc[members, c].sum()) != 1
    # shown values are the true values
    shown = s.table[mask.columns]
    for c in mask.columns:
        kept = ~mask[c]
        assert (shown.loc[kept, c].astype(int) == values.loc[kept, c]).all()


def test_round_to_base_hand_values() -> None:
    assert round_to_base(pd.Series([0, 2, 3, 7, 8, 12, 13])).tolist() == [0, 0, 5, 5, 10,
                                                                           10, 15]
    assert round_to_base(2.5) == 5.0  # halves up
    assert round_to_base(12, 10) == 10.0
    assert round_to_base(15, 10) == 20.0
    np.testing.assert_array_equal(round_to_base([7.0, 22.5]), [5.0, 25.0])
    assert np.isnan(round_to_base(float("nan")))
    out = round_to_base(pd.DataFrame({"n": [3, None], "label": ["x", "y"]}),
                        count_cols=["n"])
    assert out["n"].iloc[0] == 5 and pd.isna(out["n"].iloc[1])
    assert list(out["label"]) == ["x", "y"]
    with pytest.raises(ValueError):
        round_to_base(pd.DataFrame({"n": [1]}))
    with pytest.raises(ValueError):
        round_to_base(-3)
    with pytest.raises(ValueError):
        round_to_base(3, 0)
