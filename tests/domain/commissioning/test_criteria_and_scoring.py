"""Criteria and weights, the weighted score, need points, the moderation rule, final
points, and assessor agreement (quadratic weighted kappa against statsmodels)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.inter_rater import cohens_kappa as sm_kappa

from vru.domain.commissioning.criteria import (
    DEFAULT_CRITERIA,
    CriteriaError,
    Criterion,
    CriterionSource,
    check_criteria,
    check_points,
    contributions,
    need_points,
    weighted_score,
)
from vru.domain.commissioning.scoring import (
    AssessorScore,
    ScoreState,
    agreement_by_criterion,
    assessed_total,
    check_scores,
    full_points,
    moderation_reasons,
    outcome,
    weighted_kappa,
)

CRITERIA = list(DEFAULT_CRITERIA)  # need 30, community 20, partnership 20, evidence 20,
#                                    delivery 10


def test_default_criteria_cover_the_brief_and_add_up_to_100() -> None:
    check_criteria(CRITERIA)
    keys = {c.key for c in CRITERIA}
    assert {"need", "community", "partnership", "evidence"} <= keys
    assert sum(c.weight for c in CRITERIA) == 100


@pytest.mark.parametrize(("change", "message"), [
    (lambda cs: [replace(cs[0], weight=31), *cs[1:]], "add up to 101"),
    (lambda cs: [*cs, replace(cs[1], key="community")], "used twice"),
    (lambda cs: [replace(cs[0], key="Need!"), *cs[1:]], "lower-case"),
    (lambda cs: [replace(cs[0], title=" "), *cs[1:]], "needs a title"),
    (lambda cs: [replace(c, source=CriterionSource.NEED) for c in cs], "only one criterion"),
    (lambda cs: [c for c in cs if c.source is not CriterionSource.ASSESSORS], "add up"),
    (lambda cs: [], "published criteria"),
])
def test_criteria_that_cannot_be_published(change, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CriteriaError, match=message):
        check_criteria(change(CRITERIA))


def test_weighted_score_hand_worked() -> None:
    # need 4 x 30 / 4 = 30; community 3 x 20 / 4 = 15; partnership 2 x 20 / 4 = 10;
    # evidence 3 x 20 / 4 = 15; delivery 1 x 10 / 4 = 2.5: total 72.5
    points = {"need": 4, "community": 3, "partnership": 2, "evidence": 3, "delivery": 1}
    assert weighted_score(points, CRITERIA) == 72.5
    assert contributions(points, CRITERIA) == {"need": 30, "community": 15,
                                               "partnership": 10, "evidence": 15,
                                               "delivery": 2.5}
    assert weighted_score({c.key: 4 for c in CRITERIA}, CRITERIA) == 100
    with pytest.raises(CriteriaError, match="no points for delivery"):
        weighted_score({k: 1 for k in points if k != "delivery"}, CRITERIA)


def test_need_points_are_proportional_to_the_highest_rate() -> None:
    assert need_points(2000, 4000) == 2.0
    assert need_points(4000, 4000) == 4.0
    assert need_points(0, 4000) == 0.0 and need_points(10, 0) == 0.0


def test_rubric_points() -> None:
    assert check_points(3, "x") == 3
    for bad in (-1, 5, 2.5, True, "3"):
        with pytest.raises(CriteriaError):
            check_points(bad, "x")


def test_scores_cover_exactly_the_assessed_criteria() -> None:
    ok = {"community": 2, "partnership": 3, "delivery": 4}
    assert check_scores(ok, CRITERIA) == ok
    with pytest.raises(ValueError, match="not criteria assessors score: need"):
        check_scores({**ok, "need": 4}, CRITERIA)
    with pytest.raises(ValueError, match="no score for delivery"):
        check_scores({"community": 2, "partnership": 3}, CRITERIA)


def s(who: str, c: int, p: int, d: int) -> AssessorScore:
    return AssessorScore(who, {"community": c, "partnership": p, "delivery": d})


def test_moderation_rule_hand_worked() -> None:
    # 2 and 3 points differ by 1: allowed. 2 and 4 differ by 2 > 1: moderation.
    assert moderation_reasons([s("a", 2, 3, 3), s("b", 3, 3, 3)], CRITERIA, 1, 20) == []
    reasons = moderation_reasons([s("a", 2, 3, 3), s("b", 4, 3, 3)], CRITERIA, 1, 20)
    assert reasons == ["How strong community activity is in the place: assessors gave 2 and "
                       "4 points, a gap of 2, more than the 1 allowed"]
    # weighted over assessed criteria (weights 20, 20, 10): (1,1,1) -> 12.5,
    # (2,2,2) -> 25: they differ by 12.5 > 10
    reasons = moderation_reasons([s("a", 1, 1, 1), s("b", 2, 2, 2)], CRITERIA, 1, 10)
    assert reasons == ["weighted scores 12.5 and 25 differ by 12.5 points, more than the 10 "
                       "allowed"]
    assert assessed_total({"community": 2, "partnership": 2, "delivery": 2}, CRITERIA) == 25


def test_outcome_states() -> None:
    kw = {"min_assessors": 2, "criterion_gap": 1, "total_gap": 20.0}
    one = outcome([s("a", 3, 3, 3)], None, CRITERIA, **kw)
    assert one.state is ScoreState.AWAITING and one.points is None
    agreed = outcome([s("a", 3, 4, 2), s("b", 4, 4, 2)], None, CRITERIA, **kw)
    assert agreed.state is ScoreState.AGREED
    assert agreed.points == {"community": 3.5, "partnership": 4.0, "delivery": 2.0}
    split = outcome([s("a", 1, 4, 2), s("b", 4, 4, 2)], None, CRITERIA, **kw)
    assert split.state is ScoreState.MODERATION and split.points is None
    settled = outcome([s("a", 1, 4, 2), s("b", 4, 4, 2)],
                      {"community": 3, "partnership": 4, "delivery": 2}, CRITERIA, **kw)
    assert settled.state is ScoreState.MODERATED
    assert settled.points == {"community": 3.0, "partnership": 4.0, "delivery": 2.0}


def test_full_points_take_need_and_evidence_from_the_data() -> None:
    pts = full_points({"community": 3.5, "partnership": 4, "delivery": 2}, CRITERIA,
                      need=2.5, evidence=3)
    assert pts == {"need": 2.5, "community": 3.5, "partnership": 4.0, "evidence": 3.0,
                   "delivery": 2.0}
    # 2.5*30/4 + 3.5*20/4 + 4*20/4 + 3*20/4 + 2*10/4 = 18.75 + 17.5 + 20 + 15 + 5
    assert weighted_score(pts, CRITERIA) == 76.25


def test_weighted_kappa_hand_worked() -> None:
    # two categories (k = 2): quadratic weights are 0 on the diagonal, 1 off it, so weighted
    # kappa is Cohen's kappa: table [[20, 5], [10, 15]] gives 0.4
    assert weighted_kappa(np.array([[20, 5], [10, 15]])) == pytest.approx(0.4)
    assert weighted_kappa(np.array([[5, 0], [0, 0]])) is None  # no expected disagreement
    assert weighted_kappa(np.zeros((5, 5))) is None


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=2, max_size=60))
def test_weighted_kappa_equals_statsmodels(pairs: list[tuple[int, int]]) -> None:
    table = np.zeros((5, 5))
    for a, b in pairs:
        table[a, b] += 1
    ours = weighted_kappa(table)
    observed = table / table.sum()
    expected = np.outer(observed.sum(1), observed.sum(0))
    w = (np.subtract.outer(np.arange(5), np.arange(5)) ** 2)
    if (w * expected).sum() == 0:
        assert ours is None
        return
    reference = sm_kappa(table, wt="quadratic", return_results=False)
    assert ours == pytest.approx(float(reference), abs=1e-12)


def test_agreement_by_criterion() -> None:
    pairs = [({"community": 3, "partnership": 2, "delivery": 4},
              {"community": 3, "partnership": 4, "delivery": 3}),
             ({"community": 1, "partnership": 2, "delivery": 4},
              {"community": 2, "partnership": 2, "delivery": 4})]
    rows = {a.criterion: a for a in agreement_by_criterion(pairs, CRITERIA)}
    assert rows["community"].n == 2
    assert rows["community"].exact == 0.5 and rows["community"].within_one == 1.0
    assert rows["partnership"].mean_abs_difference == 1.0
    assert math.isclose(rows["delivery"].within_one or 0, 1.0)
    assert agreement_by_criterion([], CRITERIA)[0].note.startswith("no application")


def test_a_criterion_round_trips_through_its_dict() -> None:
    for c in CRITERIA:
        assert Criterion.from_dict(c.as_dict()) == c
    with pytest.raises(CriteriaError, match="source"):
        Criterion.from_dict({**CRITERIA[0].as_dict(), "source": "vibes"})
    with pytest.raises(CriteriaError, match="whole"):
        Criterion.from_dict({**CRITERIA[0].as_dict(), "weight": 12.5})
