"""Allocation: hand-worked examples, and properties that must hold for any round
(Hypothesis): within budget, caps and floors hold, a higher score never gets less for equal
need and cost, the same inputs give the same awards, every decision has its reason."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vru.domain.commissioning.allocation import (
    AllocationRules,
    Candidate,
    Outcome,
    PlaceLimit,
    Reason,
    allocate,
    compare_with_optimum,
    ordinal,
    ranking,
)

C = Candidate


def awards(result: object) -> dict[str, int]:
    return {d.reference: d.award for d in result.decisions}  # type: ignore[attr-defined]


def codes(result: object) -> dict[str, Reason]:
    return {d.reference: d.reason_code for d in result.decisions}  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- hand-worked


def test_ranked_until_the_budget_runs_out() -> None:
    # Budget £100,000, threshold 50, whole awards only. Ranked A (80), B (70), C (60);
    # D (40) is below the threshold. A takes £50,000 (left £50,000), B £40,000 (left
    # £10,000); C asks £30,000 > £10,000 so is refused; total £90,000.
    cands = [C("A", "p", 80, 1, 50_000, 50_000), C("B", "p", 70, 1, 40_000, 40_000),
             C("C", "p", 60, 1, 30_000, 30_000), C("D", "p", 40, 1, 10_000, 10_000)]
    result = allocate(cands, [PlaceLimit("p", "Place")],
                      AllocationRules(100_000, 50, partial_awards=False))
    assert awards(result) == {"A": 50_000, "B": 40_000, "C": 0, "D": 0}
    assert codes(result) == {"A": Reason.RANKED, "B": Reason.RANKED, "C": Reason.BUDGET,
                             "D": Reason.BELOW_THRESHOLD}
    assert result.awarded == 90_000 and result.remaining == 10_000
    by_ref = result.by_reference()
    assert by_ref["C"].reason == ("Not funded: ranked 3rd of 4 (score 60.0). When its turn "
                                  "came £10,000 of the budget was left, less than the "
                                  "£30,000 it asked for.")
    assert by_ref["D"].reason.startswith("Not funded: its score of 40.0 is below the "
                                         "quality threshold of 50.0")
    assert [d.rank for d in result.decisions] == [1, 2, 3, 4]


def test_partial_award_down_to_the_minimum() -> None:
    # As above with partial awards: C says it could deliver with £10,000, and £10,000 is
    # left, so it is offered £10,000. With a minimum of £20,000 it is refused.
    base = [C("A", "p", 80, 1, 50_000, 50_000), C("B", "p", 70, 1, 40_000, 40_000)]
    result = allocate([*base, C("C", "p", 60, 1, 30_000, 10_000)], [PlaceLimit("p", "P")],
                      AllocationRules(100_000, 50, partial_awards=True))
    assert awards(result)["C"] == 10_000
    c = result.by_reference()["C"]
    assert c.outcome is Outcome.PART_FUNDED and c.reason_code is Reason.PARTIAL_BUDGET
    assert c.reason.startswith("Part-funded £10,000 of the £30,000 asked for.")
    result = allocate([*base, C("C", "p", 60, 1, 30_000, 20_000)], [PlaceLimit("p", "P")],
                      AllocationRules(100_000, 50, partial_awards=True))
    assert awards(result)["C"] == 0
    assert "less than the £20,000 it said it could deliver with" in \
        result.by_reference()["C"].reason


def test_place_cap() -> None:
    # p1 capped at £60,000: A (£50,000) fits; B needs at least £40,000 but p1 has £10,000
    # left under its cap, so B is refused for the cap; C in p2 is funded.
    cands = [C("A", "p1", 80, 2, 50_000, 50_000), C("B", "p1", 70, 2, 40_000, 40_000),
             C("C", "p2", 60, 1, 30_000, 30_000)]
    result = allocate(cands, [PlaceLimit("p1", "One", cap=60_000), PlaceLimit("p2", "Two")],
                      AllocationRules(200_000, 50))
    assert awards(result) == {"A": 50_000, "B": 0, "C": 30_000}
    assert codes(result)["B"] is Reason.CAP
    assert "One had £10,000 left under its £60,000 cap" in result.by_reference()["B"].reason
    assert result.place_totals == {"p1": 50_000, "p2": 30_000}


def test_partial_award_to_fill_a_cap() -> None:
    cands = [C("A", "p1", 80, 2, 50_000, 50_000), C("B", "p1", 70, 2, 40_000, 10_000)]
    result = allocate(cands, [PlaceLimit("p1", "One", cap=60_000)],
                      AllocationRules(200_000, 50))
    assert awards(result) == {"A": 50_000, "B": 10_000}
    assert codes(result)["B"] is Reason.PARTIAL_CAP


def test_floor_funds_a_lower_ranked_place_first() -> None:
    # Budget £100,000. p1: A (90, £60,000), B (85, £40,000); p2 with a £30,000 floor:
    # C (55, £30,000). Without the floor A and B take it all. With it, C is funded first
    # (£30,000), then A (£60,000, £10,000 left) and B does not fit.
    cands = [C("A", "p1", 90, 4, 60_000, 60_000), C("B", "p1", 85, 4, 40_000, 40_000),
             C("C", "p2", 55, 2, 30_000, 30_000)]
    rules = AllocationRules(100_000, 50)
    no_floor = allocate(cands, [PlaceLimit("p1", "One"), PlaceLimit("p2", "Two")], rules)
    assert awards(no_floor) == {"A": 60_000, "B": 40_000, "C": 0}
    floor = allocate(cands, [PlaceLimit("p1", "One"), PlaceLimit("p2", "Two", 30_000)],
                     rules)
    assert awards(floor) == {"A": 60_000, "B": 0, "C": 30_000}
    assert codes(floor) == {"A": Reason.RANKED, "B": Reason.BUDGET, "C": Reason.FLOOR}
    assert "Two has a floor of £30,000" in floor.by_reference()["C"].reason
    assert floor.floor_shortfalls == {}


def test_floors_hold_back_money_for_the_places_still_to_come() -> None:
    # Budget £100,000, floors of £50,000 in p1 and p2. p1 goes first (its best application
    # ranks first) but £50,000 is held back for p2, and A asks £70,000 (its minimum too):
    # it waits. p2's B (£60,000) is funded within its floor. In the ranked phase A finds
    # only £40,000 left. p1's floor is short, and A asked for more than the shortfall.
    cands = [C("A", "p1", 90, 3, 70_000, 70_000), C("B", "p2", 80, 3, 60_000, 50_000)]
    result = allocate(cands, [PlaceLimit("p1", "One", 50_000), PlaceLimit("p2", "Two",
                                                                          50_000)],
                      AllocationRules(100_000, 50))
    assert awards(result) == {"A": 0, "B": 60_000}
    assert codes(result) == {"A": Reason.BUDGET, "B": Reason.FLOOR}
    assert "One received £0 of its £50,000 floor" in result.floor_shortfalls["p1"]


def test_a_floor_with_no_fundable_application_is_released() -> None:
    cands = [C("A", "p1", 90, 3, 80_000, 80_000), C("B", "p2", 30, 3, 20_000, 20_000)]
    result = allocate(cands, [PlaceLimit("p1", "One"), PlaceLimit("p2", "Two", 50_000)],
                      AllocationRules(100_000, 50))
    assert awards(result) == {"A": 80_000, "B": 0}
    assert "released" in result.floor_shortfalls["p2"]


def test_ties_are_broken_by_need_then_smaller_amount_then_reference() -> None:
    cands = [C("B", "p1", 70, 2, 20_000, 20_000), C("A", "p1", 70, 2, 20_000, 20_000),
             C("C", "p2", 70, 3, 20_000, 20_000), C("D", "p1", 70, 2, 10_000, 10_000)]
    assert [c.reference for c in ranking(cands)] == ["C", "D", "A", "B"]


def test_refused_before_ranking_keep_their_reason() -> None:
    cands = [C("A", "p", None, 1, 10_000, 10_000, "it is not eligible: no place",
               "not_eligible"), C("B", "p", 60, 1, 10_000, 10_000)]
    result = allocate(cands, [PlaceLimit("p", "P")], AllocationRules(50_000, 50))
    a = result.by_reference()["A"]
    assert a.award == 0 and a.rank is None and a.reason_code is Reason.INELIGIBLE
    assert a.reason == "Not funded: it is not eligible: no place."
    assert result.decisions[-1].reference == "A"  # refused ones after the ranked ones


def test_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match="unique"):
        allocate([C("A", "p", 1, 1, 1, 1), C("A", "p", 1, 1, 1, 1)], [PlaceLimit("p", "P")],
                 AllocationRules(10, 0))
    with pytest.raises(ValueError, match="floors add up"):
        allocate([], [PlaceLimit("p", "P", 20)], AllocationRules(10, 0))
    with pytest.raises(ValueError, match="minimum <= amount"):
        allocate([C("A", "p", 1, 1, 10, 20)], [PlaceLimit("p", "P")], AllocationRules(10, 0))
    with pytest.raises(ValueError, match="not in the round"):
        allocate([C("A", "q", 1, 1, 10, 10)], [PlaceLimit("p", "P")], AllocationRules(10, 0))


def test_ordinals() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]


def test_optimum_comparison_with_milp() -> None:
    # Budget £100, whole awards: the ranking funds A (score 90, £60) and then nothing fits
    # (B and C ask £50 each): score x money = 90 x 60 = 5,400. The best whole-award
    # combination is B + C: 80 x 50 + 80 x 50 = 8,000, spending all £100.
    cands = [C("A", "p", 90, 1, 60, 60), C("B", "p", 80, 1, 50, 50),
             C("C", "p", 80, 1, 50, 50)]
    places = [PlaceLimit("p", "P")]
    rules = AllocationRules(100, 0, partial_awards=False)
    result = allocate(cands, places, rules)
    cmp = compare_with_optimum(cands, places, rules, result)
    assert cmp.ranked_value == pytest.approx(5_400)
    assert cmp.optimum_value == pytest.approx(8_000)
    assert (cmp.ranked_spent, cmp.optimum_spent) == (60, 100)
    assert cmp.share == pytest.approx(0.675)
    # with partial awards the ranking also spends it all: A £60, B £40 of £50
    rules = AllocationRules(100, 0, partial_awards=True)
    cands = [C("A", "p", 90, 1, 60, 60), C("B", "p", 80, 1, 50, 40),
             C("C", "p", 80, 1, 50, 50)]
    result = allocate(cands, places, rules)
    assert compare_with_optimum(cands, places, rules, result).ranked_value == \
        pytest.approx(90 * 60 + 80 * 40)


# --------------------------------------------------------------------------- properties


@st.composite
def rounds(draw: st.DrawFn, *, floors: bool = True, caps: bool = True
           ) -> tuple[list[Candidate], list[PlaceLimit], AllocationRules]:
    n_places = draw(st.integers(1, 4))
    places = [f"p{i}" for i in range(n_places)]
    need = {p: draw(st.sampled_from([1.0, 2.0, 3.5, 4.0])) for p in places}
    amounts = st.sampled_from([10_000, 20_000, 30_000, 45_000, 60_000])
    n = draw(st.integers(0, 24))
    cands = []
    for i in range(n):
        place = draw(st.sampled_from(places))
        amount = draw(amounts)
        minimum = draw(st.sampled_from([amount, max(5_000, amount // 2)]))
        score = draw(st.sampled_from([35.0, 50.0, 55.5, 62.0, 70.0, 81.25, 90.0, 100.0]))
        refused = draw(st.integers(0, 9)) == 0
        cands.append(C(f"A{i:02d}", place, None if refused else score, need[place], amount,
                       minimum, "it is not eligible" if refused else None,
                       "not_eligible" if refused else None))
    budget = draw(st.integers(0, 40)) * 5_000
    limits = []
    left = budget
    for p in places:
        floor = 0
        if floors and draw(st.booleans()):
            floor = min(left, draw(st.integers(0, 12)) * 5_000)
            left -= floor
        cap = None
        if caps and draw(st.booleans()):
            cap = floor + draw(st.integers(0, 20)) * 5_000
        limits.append(PlaceLimit(p, p.upper(), floor, cap))
    rules = AllocationRules(budget, draw(st.sampled_from([0.0, 50.0, 60.0])),
                            draw(st.booleans()))
    return cands, limits, rules


PROPERTY_SETTINGS = settings(max_examples=300, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(rounds())
def test_budget_caps_floors_and_minimums_hold(case: tuple) -> None:  # type: ignore[type-arg]
    cands, places, rules = case
    result = allocate(cands, places, rules)
    by_ref = {c.reference: c for c in cands}
    assert result.awarded == sum(d.award for d in result.decisions) <= rules.budget
    totals: dict[str, int] = defaultdict(int)
    for d in result.decisions:
        c = by_ref[d.reference]
        assert d.award == 0 or c.minimum <= d.award <= c.amount
        assert d.reason and (d.award > 0) == (d.outcome is not Outcome.NOT_FUNDED)
        if c.refusal is not None or (c.score or 0) < rules.quality_threshold:
            assert d.award == 0
        totals[c.place] += d.award
    assert all(result.place_totals[p.place] == totals.get(p.place, 0) for p in places)
    for p in places:
        total = totals.get(p.place, 0)
        if p.cap is not None:
            assert total <= p.cap
        if total < p.floor:
            shortfall = p.floor - total
            unfunded = [c for c in cands if c.place == p.place and c.refusal is None
                        and (c.score or 0) >= rules.quality_threshold
                        and result.by_reference()[c.reference].award == 0]
            assert all(c.amount > shortfall for c in unfunded), (p, total, unfunded)
            assert p.place in result.floor_shortfalls


@PROPERTY_SETTINGS
@given(rounds())
def test_higher_score_never_gets_less_in_the_same_place(case: tuple) -> None:  # type: ignore[type-arg]
    cands, places, rules = case
    got = awards(allocate(cands, places, rules))
    pool = [c for c in cands if c.refusal is None]
    for a in pool:
        for b in pool:
            if (a.place == b.place and a.amount == b.amount and a.minimum == b.minimum
                    and (a.score or 0) > (b.score or 0)):
                assert got[a.reference] >= got[b.reference], (a, b, got)


@PROPERTY_SETTINGS
@given(rounds(floors=False, caps=False))
def test_higher_score_never_gets_less_for_equal_need_and_cost(case: tuple) -> None:  # type: ignore[type-arg]
    cands, places, rules = case
    got = awards(allocate(cands, places, rules))
    pool = [c for c in cands if c.refusal is None]
    for a in pool:
        for b in pool:
            if (a.need == b.need and a.amount == b.amount and a.minimum == b.minimum
                    and (a.score or 0) > (b.score or 0)):
                assert got[a.reference] >= got[b.reference], (a, b, got)


@PROPERTY_SETTINGS
@given(rounds(), st.randoms(use_true_random=False))
def test_same_inputs_same_awards_whatever_their_order(case: tuple,  # type: ignore[type-arg]
                                                      rng: random.Random) -> None:
    cands, places, rules = case
    first = allocate(cands, places, rules).as_dict()
    shuffled = list(cands)
    rng.shuffle(shuffled)
    places_shuffled = list(places)
    rng.shuffle(places_shuffled)
    assert allocate(shuffled, places_shuffled, rules).as_dict() == first
