"""Co-occurrence: phi against scipy, odds ratios and Woolf intervals against statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats
from statsmodels.stats.contingency_tables import Table2x2

from vru.domain.register.cooccurrence import (
    NOTE_CORRECTED,
    NOTE_NO_PHI,
    cooccurrence,
    odds_ratio,
    pair_count_matrix,
    phi_coefficient,
    two_by_two,
)


def test_hand_worked_odds_ratio_and_phi() -> None:
    # a=10 b=5 c=5 d=10: OR = 100/25 = 4; SE(ln OR) = sqrt(1/10+1/5+1/5+1/10) = sqrt(0.6)
    r = odds_ratio(10, 5, 5, 10)
    z = stats.norm.ppf(0.975)
    assert r.odds_ratio == pytest.approx(4.0)
    assert r.ci_low == pytest.approx(4.0 * math.exp(-z * math.sqrt(0.6)))
    assert r.ci_high == pytest.approx(4.0 * math.exp(z * math.sqrt(0.6)))
    assert not r.corrected
    # phi = (100 - 25) / sqrt(15 * 15 * 15 * 15) = 75 / 225 = 1/3
    assert phi_coefficient(10, 5, 5, 10) == pytest.approx(1 / 3)


@pytest.mark.parametrize("cells", [(10, 5, 5, 10), (3, 17, 8, 40), (25, 2, 9, 1),
                                   (1, 1, 1, 1), (60, 30, 12, 200)])
def test_odds_ratio_matches_statsmodels_table2x2(cells: tuple[int, int, int, int]) -> None:
    a, b, c, d = cells
    ref = Table2x2(np.array([[a, b], [c, d]], dtype=float))
    ours = odds_ratio(a, b, c, d)
    low, high = ref.oddsratio_confint(alpha=0.05)
    assert_allclose([ours.odds_ratio, ours.ci_low, ours.ci_high],
                    [ref.oddsratio, low, high], rtol=1e-10)


@pytest.mark.parametrize("cells", [(0, 5, 5, 10), (12, 0, 3, 9), (4, 7, 0, 0)])
def test_zero_cells_use_haldane_anscombe_on_every_cell(cells: tuple[int, int, int, int]) -> None:
    a, b, c, d = cells
    ours = odds_ratio(a, b, c, d)
    ref = Table2x2(np.array([[a, b], [c, d]], dtype=float) + 0.5)
    low, high = ref.oddsratio_confint(alpha=0.05)
    assert ours.corrected
    assert_allclose([ours.odds_ratio, ours.ci_low, ours.ci_high],
                    [ref.oddsratio, low, high], rtol=1e-10)
    raw = odds_ratio(a, b, c, d, correct_zeros=False)
    assert not raw.corrected and math.isnan(raw.ci_low)


def test_phi_matches_pearson_correlation_of_binaries() -> None:
    rng = np.random.default_rng(7)
    for _ in range(50):
        x = rng.random(80) < rng.uniform(0.1, 0.9)
        y = (rng.random(80) < 0.3) | (x & (rng.random(80) < 0.5))
        if x.all() or (~x).all() or y.all() or (~y).all():
            continue
        a, b, c, d = two_by_two(x, y)
        ref = stats.pearsonr(x.astype(float), y.astype(float)).statistic
        assert phi_coefficient(a, b, c, d) == pytest.approx(ref, rel=1e-10)
    assert math.isnan(phi_coefficient(5, 5, 0, 0))


def test_cooccurrence_table_uses_cases_where_both_are_known() -> None:
    cases = pd.DataFrame({
        "f": [True, True, False, False, None, True],
        "g": [True, False, True, False, True, None],
        "h": [False, False, False, False, False, False],
    }).astype("boolean")
    out = cooccurrence(cases, ["f", "g", "h"]).set_index(["factor_a", "factor_b"])
    row = out.loc[("f", "g")]
    assert (row["n"], row["both"], row["a_only"], row["b_only"], row["neither"]) == (
        4, 1, 1, 1, 1)
    assert row["odds_ratio"] == pytest.approx(1.0)
    assert out.loc[("f", "h"), "note"].startswith(NOTE_NO_PHI)
    assert NOTE_CORRECTED in out.loc[("f", "h"), "note"]
    assert list(out.index) == [("f", "g"), ("f", "h"), ("g", "h")]


def test_pair_count_matrix() -> None:
    cases = pd.DataFrame({"f": [True, True, False, None], "g": [True, False, True, True]})
    m = pair_count_matrix(cases.astype("boolean"), ["f", "g"])
    assert m.loc["f", "f"] == 2 and m.loc["g", "g"] == 3 and m.loc["f", "g"] == 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_pair_is_counted_over_the_cases_where_both_are_known(seed: int) -> None:
    rng = np.random.default_rng(seed)
    names = ["f", "g", "h", "k", "m"]
    cases = pd.DataFrame({f: pd.array([None if u < 0.15 else bool(u < 0.5)
                                       for u in rng.random(120)], dtype="boolean")
                          for f in names})
    out = cooccurrence(cases, names, 0.9).set_index(["factor_a", "factor_b"])
    assert len(out) == 10
    for a, b in [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]:
        known = cases[a].notna() & cases[b].notna()
        cells = two_by_two(cases.loc[known, a].to_numpy(dtype=bool),
                           cases.loc[known, b].to_numpy(dtype=bool))
        row = out.loc[(a, b)]
        assert (row["both"], row["a_only"], row["b_only"], row["neither"]) == cells
        ratio = odds_ratio(*cells, confidence=0.9)
        assert row["odds_ratio"] == ratio.odds_ratio and row["or_low"] == ratio.ci_low
        assert row["phi"] == phi_coefficient(*cells)
