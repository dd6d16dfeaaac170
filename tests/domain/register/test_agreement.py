"""Cohen's kappa: a hand-worked example and statsmodels' cohens_kappa as the reference."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from statsmodels.stats.inter_rater import cohens_kappa as sm_kappa

from vru.domain.register.agreement import (
    REASON_NO_CASES,
    REASON_NO_VARIATION,
    agreement_by_factor,
    binary_table,
    cohens_kappa,
    landis_koch,
)

RTOL = 1e-10


def test_hand_worked_example() -> None:
    # 50 cases: both yes 20, first only 5, second only 10, both no 15.
    # p_o = 35/50 = 0.7; first says yes 25/50 = 0.5, second 30/50 = 0.6;
    # p_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    k = cohens_kappa([[20, 5], [10, 15]])
    assert k.n == 50
    assert k.observed_agreement == pytest.approx(0.7)
    assert k.expected_agreement == pytest.approx(0.5)
    assert k.kappa == pytest.approx(0.4)
    # var0 = (p_e + p_e^2 - sum p_i. p_.i (p_i. + p_.i)) / (n (1 - p_e)^2)
    #      = (0.5 + 0.25 - (0.5*0.6*1.1 + 0.5*0.4*0.9)) / (50 * 0.25) = 0.24 / 12.5 = 0.0192
    assert k.se_null == pytest.approx(math.sqrt(0.0192))
    assert k.z == pytest.approx(0.4 / math.sqrt(0.0192))
    assert k.strength == "fair"


@pytest.mark.parametrize("table", [
    [[20, 5], [10, 15]],
    [[45, 3], [2, 50]],
    [[1, 9], [12, 3]],
    [[7, 1, 2], [3, 11, 4], [0, 2, 19]],
    [[30, 0], [4, 6]],
])
def test_matches_statsmodels(table: list[list[int]]) -> None:
    ours = cohens_kappa(table)
    ref = sm_kappa(np.asarray(table))
    assert_allclose(ours.kappa, ref.kappa, rtol=RTOL)
    assert_allclose(ours.se, ref.std_kappa, rtol=RTOL)
    assert_allclose(ours.se_null, ref.std_kappa0, rtol=RTOL)
    assert_allclose(ours.ci_low, max(-1.0, ref.kappa_low), rtol=1e-8)
    assert_allclose(ours.ci_high, min(1.0, ref.kappa_upp), rtol=1e-8)
    assert_allclose(ours.z, ref.z_value, rtol=RTOL)
    assert_allclose(ours.p_value, ref.pvalue_two_sided, rtol=1e-8)


def test_random_tables_match_statsmodels() -> None:
    rng = np.random.default_rng(20240607)
    for _ in range(200):
        table = rng.integers(0, 30, size=(2, 2)) + rng.integers(0, 2, size=(2, 2))
        if cohens_kappa(table).note or cohens_kappa(table).se_null == 0:
            continue
        ref = sm_kappa(table)
        assert_allclose(cohens_kappa(table).kappa, ref.kappa, rtol=1e-9, atol=1e-12)
        assert_allclose(cohens_kappa(table).se, ref.std_kappa, rtol=1e-9, atol=1e-12)


def test_undefined_kappa_is_missing_with_a_reason() -> None:
    k = cohens_kappa([[12, 0], [0, 0]])
    assert math.isnan(k.kappa) and k.note == REASON_NO_VARIATION
    assert k.observed_agreement == 1.0
    assert cohens_kappa([[0, 0], [0, 0]]).note == REASON_NO_CASES
    with pytest.raises(ValueError):
        cohens_kappa([[1, 2, 3]])
    with pytest.raises(ValueError):
        cohens_kappa([[1, -2], [3, 4]])


def test_landis_koch_bands() -> None:
    assert [landis_koch(x) for x in (-0.1, 0.1, 0.3, 0.5, 0.7, 0.9)] == [
        "poor", "slight", "fair", "moderate", "substantial", "almost perfect"]
    assert landis_koch(float("nan")) == ""


def test_binary_table() -> None:
    t = binary_table([True, True, False, False, True], [True, False, True, False, True])
    assert t.tolist() == [[2, 1], [1, 1]]


def test_agreement_by_factor_leaves_out_not_known_and_uncoded_cases() -> None:
    first = pd.DataFrame({"f": [True, True, False, None, True],
                          "g": [False, False, False, False, False]},
                         index=["c1", "c2", "c3", "c4", "c5"]).astype("boolean")
    second = pd.DataFrame({"f": [True, False, False, True],
                           "g": [False, False, False, False]},
                          index=["c1", "c2", "c3", "c4"]).astype("boolean")
    out = agreement_by_factor(first, second, ["f", "g"]).set_index("factor")
    assert out.loc["f", "n"] == 3  # c4 not known by the first reviewer; c5 not double coded
    assert out.loc["f", "not_known"] == 1
    assert (out.loc["f", "both_yes"], out.loc["f", "first_only"],
            out.loc["f", "second_only"], out.loc["f", "both_no"]) == (1, 1, 0, 1)
    assert out.loc["f", "kappa"] == pytest.approx(sm_kappa(np.array([[1, 1], [0, 1]])).kappa)
    assert out.loc["g", "note"] == REASON_NO_VARIATION


@pytest.mark.parametrize("seed", [1, 2])
def test_agreement_by_factor_is_the_kappa_of_each_factors_table(seed: int) -> None:
    rng = np.random.default_rng(seed)
    names = ["f", "g", "h"]

    def coding(index: list[str]) -> pd.DataFrame:
        return pd.DataFrame({f: pd.array([None if u < 0.1 else bool(u < 0.5)
                                          for u in rng.random(len(index))], dtype="boolean")
                             for f in names}, index=index)

    first = coding([f"c{i}" for i in range(80)])
    second = coding([f"c{i}" for i in range(20, 100)])  # 60 cases coded by both
    out = agreement_by_factor(first, second, names, 0.9).set_index("factor")
    both = first.index.intersection(second.index)
    for f in names:
        a, b = first.loc[both, f], second.loc[both, f]
        known = (a.notna() & b.notna()).to_numpy()
        table = binary_table(a.to_numpy(dtype=bool, na_value=False)[known],
                             b.to_numpy(dtype=bool, na_value=False)[known])
        k = cohens_kappa(table, 0.9)
        assert out.loc[f, "n"] == k.n and out.loc[f, "not_known"] == int((~known).sum())
        assert out.loc[f, "kappa"] == k.kappa and out.loc[f, "p_value"] == k.p_value
        assert (out.loc[f, "ci_low"], out.loc[f, "ci_high"]) == (k.ci_low, k.ci_high)
