"""Factor prevalence (Wilson intervals against statsmodels), ACE counts, analysis frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from statsmodels.stats.proportion import proportion_confint

from vru.domain.register.cases import CaseRecord, Coding
from vru.domain.register.prevalence import (
    ace_count_distribution,
    ace_counts,
    analysis_frame,
    coding_frame,
    factor_prevalence,
    four_or_more_prevalence,
    prevalence_tables,
)
from vru.domain.register.vocabulary import ACE_CODES, FACTOR_CODES


def _frame(values: dict[str, list[bool | None]], **extra: list[object]) -> pd.DataFrame:
    df = pd.DataFrame({**extra, **values})
    for col in values:
        df[col] = df[col].astype("boolean")
    return df


def test_prevalence_counts_and_wilson_interval_match_statsmodels() -> None:
    cases = _frame({"f": [True] * 13 + [False] * 20 + [None] * 5})
    row = factor_prevalence(cases, ["f"]).iloc[0]
    assert (row["present"], row["absent"], row["n_known"], row["not_known"]) == (13, 20, 33, 5)
    assert row["proportion"] == pytest.approx(13 / 33)
    low, high = proportion_confint(13, 33, alpha=0.05, method="wilson")
    assert_allclose([row["ci_low"], row["ci_high"]], [low, high], rtol=1e-10)


@pytest.mark.parametrize(("present", "n"), [(0, 12), (12, 12), (1, 3), (57, 214)])
def test_wilson_edges_match_statsmodels(present: int, n: int) -> None:
    cases = _frame({"f": [True] * present + [False] * (n - present)})
    row = factor_prevalence(cases, ["f"], confidence=0.9).iloc[0]
    low, high = proportion_confint(present, n, alpha=0.1, method="wilson")
    assert_allclose([row["ci_low"], row["ci_high"]], [low, high], rtol=1e-10, atol=1e-15)


def test_prevalence_by_group_and_a_factor_never_known() -> None:
    cases = _frame({"f": [True, False, True, None], "g": [None] * 4},
                   year=[2020, 2020, 2021, 2021])
    out = factor_prevalence(cases, ["f", "g"], by=["year"]).set_index(["year", "factor"])
    assert out.loc[(2020, "f"), "proportion"] == pytest.approx(0.5)
    assert out.loc[(2021, "f"), "n_known"] == 1
    assert np.isnan(out.loc[(2020, "g"), "proportion"])
    assert out.loc[(2020, "g"), "not_known"] == 2


def test_ace_count_and_four_or_more_with_unknowns() -> None:
    a = list(ACE_CODES)
    rows = [
        dict.fromkeys(a, True),                                  # 7 -> True
        {**dict.fromkeys(a, False), **dict.fromkeys(a[:4], True)},  # 4 -> True
        {**dict.fromkeys(a, False), **dict.fromkeys(a[:3], True)},  # 3, all known -> False
        {**dict.fromkeys(a, None), **dict.fromkeys(a[:3], True)},   # 3 + 4 unknown -> NA
        {**dict.fromkeys(a, False), a[0]: None},                 # 0 + 1 unknown -> False
    ]
    cases = pd.DataFrame(rows).astype("boolean")
    out = ace_counts(cases)
    assert out["ace_count"].tolist() == [7, 4, 3, 3, 0]
    assert out["aces_not_known"].tolist() == [0, 0, 0, 4, 1]
    assert out["four_or_more"].tolist()[:3] == [True, True, False]
    assert pd.isna(out["four_or_more"].iloc[3])
    assert out["four_or_more"].iloc[4] == False  # noqa: E712
    prev = four_or_more_prevalence(cases).iloc[0]
    assert (prev["present"], prev["n_known"], prev["not_known"]) == (2, 4, 1)
    dist = ace_count_distribution(cases).set_index("ace_count")["cases"]
    assert dist.to_dict() == {0: 1, 1: 0, 2: 0, 3: 2, 4: 1, 5: 0, 6: 0, 7: 1}


def test_analysis_frame_prefers_consensus_then_first_coding() -> None:
    cases = [CaseRecord("A", 2021, "Hackney", "owhr", "in_progress"),
             CaseRecord("B", 2022, "Camden", "dhr", "completed", method="shooting"),
             CaseRecord("C", 2022, "Brent", "none", "notified")]
    codings = [
        Coding("A", "first", "x", {"ace_abuse": True}),
        Coding("A", "second", "y", {"ace_abuse": False}),
        Coding("B", "first", "x", {"ace_abuse": False}),
        Coding("B", "consensus", "x+y", {"ace_abuse": True, "school_exclusion": False}),
    ]
    frame = analysis_frame(cases, codings).set_index("reference")
    assert frame.loc["A", "ace_abuse"] == True  # noqa: E712
    assert frame.loc["B", "ace_abuse"] == True  # noqa: E712
    assert frame.loc["B", "school_exclusion"] == False  # noqa: E712
    assert frame.loc["C", list(FACTOR_CODES)].isna().all()
    assert frame.loc["B", "method"] == "shooting"
    second = coding_frame(codings, "second")
    assert list(second.index) == ["A"] and second.loc["A", "ace_abuse"] == False  # noqa: E712


def _random_frame(seed: int, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = {code: pd.array([None if u < 0.1 else bool(u < 0.45) for u in rng.random(n)],
                             dtype="boolean") for code in FACTOR_CODES}
    return pd.DataFrame({"year": rng.integers(2018, 2024, n),
                         "method": rng.choice(["shooting", "knife", "other"], n), **values})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_prevalence_tables_are_the_two_prevalences(seed: int) -> None:
    cases = _random_frame(seed)
    groupings: list[list[str]] = [[], ["year"], ["method"], ["year", "method"]]
    for by, (table, four) in zip(groupings, prevalence_tables(cases, groupings, 0.9),
                                 strict=True):
        pd.testing.assert_frame_equal(table, factor_prevalence(cases, FACTOR_CODES, by, 0.9),
                                      check_exact=True)
        pd.testing.assert_frame_equal(four, four_or_more_prevalence(cases, by, 0.9),
                                      check_exact=True)


@pytest.mark.parametrize("seed", [4, 5])
def test_grouped_prevalence_counts_each_group_as_its_own_cases(seed: int) -> None:
    cases = _random_frame(seed, 200)
    out = factor_prevalence(cases, FACTOR_CODES, ["year", "method"])
    for (year, method), part in cases.groupby(["year", "method"]):
        alone = factor_prevalence(part, FACTOR_CODES)
        rows = out[(out["year"] == year) & (out["method"] == method)]
        assert rows["factor"].tolist() == list(FACTOR_CODES)
        for col in ("present", "absent", "not_known", "n_known"):
            assert rows[col].tolist() == alone[col].tolist()
