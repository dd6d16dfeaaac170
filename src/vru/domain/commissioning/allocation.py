"""Allocation: turning scores and need into awards within the budget.

**Method: a published ranking formula, not an optimiser.** Applications are ranked and
funded in rank order, after first honouring each place's floor. We chose this over a
linear or integer programme (``scipy.optimize.milp`` maximising the total score bought
within the budget) because every decision it makes can be explained with one comparison of
numbers a reader can check: "ranked 7th; when its turn came £40,000 of the budget was left
and it asked for £35,000". An optimiser's refusal can only be explained as "the best
combination did not include you", and it can refuse a higher-scoring application in favour
of two cheaper lower-scoring ones, which applicants rightly find unfair. The cost of the
ranking is that money can be left unspent when the next application does not fit;
``compare_with_optimum`` measures that cost for a round (with ``milp``) so a board can see
it: the quality-weighted money the ranking awards (each pound counted by the score of the
work it pays for) against the most any whole-award combination could reach. The formula,
in order:

1. **Refused before ranking**: applications not eligible (``eligibility``), not fully
   scored or moderated, or below the round's quality threshold.
2. **Rank** the rest by weighted score (highest first); ties by the place's need (higher
   first), then the smaller amount, then the application reference. A strict total order:
   the same inputs always give the same ranking.
3. **Floors**: for each place with a floor, in order of its best-ranked application, fund
   its applications in rank order until its total reaches the floor. While doing so the
   unmet floors of the places still to come are held back from the budget, so every floor
   can be reached (the round's floors add up to no more than the budget). An application
   that does not fit in full waits for step 4; with partial awards allowed it may be cut
   to the place's cap (never below its minimum) when the cap is what stops it.
4. **Ranked funding**: every application not yet funded, in rank order, gets what it asked
   for if that fits both the budget left and its place's cap; otherwise, with partial
   awards allowed, what is left if that is at least the least it said it could deliver
   with (its minimum); otherwise nothing, and the next application is tried.

**What always holds** (the tests check each): awards never add up to more than the budget;
no place receives more than its cap; a place's total reaches its floor unless every one of
its unfunded applications asks for more than the shortfall; for two applications in the same
place asking for the same amounts, the higher-scoring one never gets less (and, with no
floors and no caps, the same holds across places); every decision records its reason and
the numbers behind it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

METHOD = ("Ranked allocation with place floors and caps: refuse the ineligible, unscored and "
          "below-threshold; rank by weighted score (ties: need, smaller amount, reference); "
          "reserve each place's floor for its best-ranked applications; then fund in rank "
          "order while the budget and the place's cap allow, cutting the last award to what "
          "is left when partial awards are allowed and it is at least the applicant's "
          "minimum.")


class Outcome(StrEnum):
    FUNDED = "funded"
    PART_FUNDED = "part-funded"
    NOT_FUNDED = "not funded"


class Reason(StrEnum):
    FLOOR = "funded_floor"
    RANKED = "funded_ranked"
    PARTIAL_BUDGET = "part_funded_budget"
    PARTIAL_CAP = "part_funded_cap"
    INELIGIBLE = "not_eligible"
    NOT_SCORED = "not_scored"
    BELOW_THRESHOLD = "below_threshold"
    BUDGET = "budget_exhausted"
    CAP = "place_cap_reached"


@dataclass(frozen=True)
class Candidate:
    """An application as the allocation sees it. ``refusal`` (with ``refusal_code``
    ``not_eligible`` or ``not_scored``) refuses it before ranking; ``score`` is the
    weighted score out of 100 (None when not scored) and ``need`` its place's need
    points."""

    reference: str
    place: str
    score: float | None
    need: float
    amount: int
    minimum: int
    refusal: str | None = None
    refusal_code: str | None = None


@dataclass(frozen=True)
class PlaceLimit:
    place: str
    name: str
    floor: int = 0
    cap: int | None = None


@dataclass(frozen=True)
class AllocationRules:
    budget: int
    quality_threshold: float
    partial_awards: bool = True


@dataclass(frozen=True)
class Decision:
    """One application's outcome and why, with the numbers behind it (``figures``)."""

    reference: str
    place: str
    rank: int | None
    score: float | None
    need: float
    requested: int
    minimum: int
    award: int
    outcome: Outcome
    reason_code: Reason
    reason: str
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass
class Allocation:
    """The awards: one decision per application (ranked ones first, in rank order), each
    place's total, and what was awarded out of the budget."""

    decisions: list[Decision]
    place_totals: dict[str, int]
    budget: int
    awarded: int
    floor_shortfalls: dict[str, str]
    method: str = METHOD

    @property
    def remaining(self) -> int:
        return self.budget - self.awarded

    def by_reference(self) -> dict[str, Decision]:
        return {d.reference: d for d in self.decisions}

    def funded(self) -> list[Decision]:
        return [d for d in self.decisions if d.award > 0]

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method, "budget": self.budget, "awarded": self.awarded,
            "remaining": self.remaining, "place_totals": dict(sorted(
                self.place_totals.items())),
            "floor_shortfalls": dict(sorted(self.floor_shortfalls.items())),
            "decisions": [{**asdict(d), "outcome": d.outcome.value,
                           "reason_code": d.reason_code.value} for d in self.decisions],
        }


def money(amount: float) -> str:
    return f"£{amount:,.0f}"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _score_text(score: float) -> str:
    return f"{score:.1f}"


def rank_key(c: Candidate) -> tuple[float, float, int, str]:
    """The ranking's sort key (see step 2 of the module docstring)."""
    return (-(c.score or 0.0), -c.need, c.amount, c.reference)


def check_inputs(candidates: Sequence[Candidate], places: Sequence[PlaceLimit],
                 rules: AllocationRules) -> None:
    refs = [c.reference for c in candidates]
    if len(set(refs)) != len(refs):
        raise ValueError("application references must be unique")
    known = {p.place for p in places}
    if len(known) != len(places):
        raise ValueError("places must be unique")
    if rules.budget < 0:
        raise ValueError("the budget cannot be negative")
    if sum(p.floor for p in places) > rules.budget:
        raise ValueError("the floors add up to more than the budget")
    for p in places:
        if p.floor < 0 or (p.cap is not None and (p.cap < 0 or p.floor > p.cap)):
            raise ValueError(f"place {p.place}: floor and cap must satisfy 0 <= floor <= cap")
    for c in candidates:
        if c.place not in known and c.refusal is None:
            raise ValueError(f"application {c.reference}: place {c.place!r} is not in the "
                             "round")
        if c.amount <= 0 or not 0 < c.minimum <= c.amount:
            raise ValueError(f"application {c.reference}: amounts must satisfy "
                             "0 < minimum <= amount")
        if c.refusal is None and (c.score is None or not math.isfinite(c.score)):
            raise ValueError(f"application {c.reference}: a candidate that is not refused "
                             "needs a score")


def allocate(candidates: Sequence[Candidate], places: Sequence[PlaceLimit],
             rules: AllocationRules) -> Allocation:
    """Allocate the budget (see the module docstring for the formula)."""
    check_inputs(candidates, places, rules)
    limits = {p.place: p for p in places}
    names = {p.place: p.name for p in places}
    refused: list[Decision] = []
    scored: list[Candidate] = []
    for c in candidates:
        if c.refusal is not None:
            code = Reason.NOT_SCORED if c.refusal_code == Reason.NOT_SCORED.value \
                else Reason.INELIGIBLE
            refused.append(Decision(c.reference, c.place, None, c.score, c.need, c.amount,
                                    c.minimum, 0, Outcome.NOT_FUNDED, code,
                                    f"Not funded: {c.refusal}."))
        else:
            scored.append(c)
    scored.sort(key=rank_key)
    rank = {c.reference: i + 1 for i, c in enumerate(scored)}
    n_ranked = len(scored)
    pool = [c for c in scored if (c.score or 0.0) >= rules.quality_threshold]

    totals: dict[str, int] = {p.place: 0 for p in places}
    awards: dict[str, tuple[int, Reason, str, dict[str, Any]]] = {}
    awarded = 0

    def cap_room(place: str) -> float:
        cap = limits[place].cap
        return math.inf if cap is None else cap - totals[place]

    # step 3: floors, places in order of their best-ranked application
    by_place: dict[str, list[Candidate]] = {}
    for c in pool:
        by_place.setdefault(c.place, []).append(c)
    floor_places = sorted((p for p in places if p.floor > 0 and p.place in by_place),
                          key=lambda p: (rank[by_place[p.place][0].reference], p.place))
    pending = {p.place: p.floor for p in floor_places}
    shortfalls: dict[str, str] = {}
    for p in places:
        if p.floor > 0 and p.place not in by_place:
            shortfalls[p.place] = (f"no application for {p.name} reached the quality "
                                   f"threshold, so its {money(p.floor)} floor was released")
    for p in floor_places:
        held_back = sum(v for q, v in pending.items() if q != p.place)
        for c in by_place[p.place]:
            if totals[p.place] >= p.floor:
                break
            budget_room = rules.budget - awarded - held_back
            room_cap = cap_room(p.place)
            figures = {"phase": "floor", "floor": p.floor, "place_total_before":
                       totals[p.place], "budget_left_before": rules.budget - awarded,
                       "held_back_for_other_floors": held_back}
            if c.amount <= min(budget_room, room_cap):
                award, code = c.amount, Reason.FLOOR
            elif (rules.partial_awards and room_cap < c.amount and c.minimum <= room_cap
                  <= budget_room):
                award, code = int(room_cap), Reason.PARTIAL_CAP
            else:
                continue
            text = (f"Ranked {ordinal(rank[c.reference])} of {n_ranked} (score "
                    f"{_score_text(c.score or 0.0)}). {names[p.place]} has a floor of "
                    f"{money(p.floor)} kept for its best-ranked applications; "
                    f"{money(totals[p.place])} of it had been awarded when this "
                    "application's turn came")
            awards[c.reference] = (award, code, text, figures)
            totals[p.place] += award
            awarded += award
        if totals[p.place] < p.floor:
            shortfalls[p.place] = (
                f"{names[p.place]} received {money(totals[p.place])} of its "
                f"{money(p.floor)} floor: each of its other applications asked for more "
                "than was left of the floor")
        pending.pop(p.place)

    # step 4: ranked funding
    for c in pool:
        if c.reference in awards:
            continue
        budget_left = rules.budget - awarded
        room_cap = cap_room(c.place)
        room = min(budget_left, room_cap)
        cap = limits[c.place].cap
        figures = {"phase": "ranked", "budget_left_before": budget_left,
                   "place_total_before": totals[c.place], "place_cap": cap}
        head = (f"Ranked {ordinal(rank[c.reference])} of {n_ranked} (score "
                f"{_score_text(c.score or 0.0)})")
        if c.amount <= room:
            award, code = c.amount, Reason.RANKED
            text = (f"{head}. When its turn came {money(budget_left)} of the budget was "
                    "left" + ("" if cap is None else
                              f" and {names[c.place]} had {money(room_cap)} left under its "
                              f"{money(cap)} cap"))
        elif rules.partial_awards and room >= c.minimum:
            award = int(room)
            code = Reason.PARTIAL_CAP if room_cap < budget_left else Reason.PARTIAL_BUDGET
            what = (f"{names[c.place]}'s {money(cap or 0)} cap left {money(room_cap)}"
                    if code is Reason.PARTIAL_CAP
                    else f"only {money(budget_left)} of the budget was left")
            text = (f"{head}. When its turn came {what}, at least the {money(c.minimum)} "
                    "it said it could deliver with")
        else:
            need_at_least = c.minimum if rules.partial_awards else c.amount
            code = Reason.CAP if room_cap < budget_left else Reason.BUDGET
            if code is Reason.CAP:
                what = (f"{names[c.place]} had {money(max(room_cap, 0))} left under its "
                        f"{money(cap or 0)} cap")
            else:
                what = f"{money(budget_left)} of the budget was left"
            ask = (f"the {money(need_at_least)} it said it could deliver with"
                   if rules.partial_awards and c.minimum < c.amount
                   else f"the {money(c.amount)} it asked for")
            awards[c.reference] = (0, code, f"Not funded: {head[0].lower()}{head[1:]}. "
                                   f"When its turn came {what}, less than {ask}", figures)
            continue
        awards[c.reference] = (award, code, text, figures)
        totals[c.place] += award
        awarded += award

    decisions: list[Decision] = []
    for c in scored:
        if c.reference in awards:
            award, code, text, figures = awards[c.reference]
            if award == 0:
                outcome = Outcome.NOT_FUNDED
                reason = text + "."
            else:
                outcome = Outcome.FUNDED if award == c.amount else Outcome.PART_FUNDED
                what = (f"Funded {money(award)} in full" if outcome is Outcome.FUNDED else
                        f"Part-funded {money(award)} of the {money(c.amount)} asked for")
                reason = f"{what}. {text}."
        else:
            award, code, figures = 0, Reason.BELOW_THRESHOLD, {
                "quality_threshold": rules.quality_threshold}
            outcome = Outcome.NOT_FUNDED
            reason = (f"Not funded: its score of {_score_text(c.score or 0.0)} is below the "
                      f"quality threshold of {_score_text(rules.quality_threshold)} "
                      f"(ranked {ordinal(rank[c.reference])} of {n_ranked}).")
        decisions.append(Decision(c.reference, c.place, rank[c.reference], c.score, c.need,
                                  c.amount, c.minimum, award, outcome, code, reason,
                                  figures))
    decisions.extend(sorted(refused, key=lambda d: d.reference))
    return Allocation(decisions, totals, rules.budget, awarded, shortfalls)


# --------------------------------------------------------------------------- the optimum


@dataclass(frozen=True)
class OptimumComparison:
    """The ranking's quality-weighted money (sum of score x award) against the most a
    whole-award integer programme could reach within the same budget and caps (floors left
    out): ``share`` = ranked / optimum."""

    ranked_value: float
    optimum_value: float
    ranked_spent: int
    optimum_spent: int
    status: str

    @property
    def share(self) -> float | None:
        if not math.isfinite(self.optimum_value) or self.optimum_value <= 0:
            return None
        return self.ranked_value / self.optimum_value


def compare_with_optimum(candidates: Sequence[Candidate], places: Sequence[PlaceLimit],
                         rules: AllocationRules, allocation: Allocation,
                         time_limit: float = 10.0) -> OptimumComparison:
    """Solve ``max sum score_i x amount_i x x_i`` subject to ``sum amount_i x_i <= budget``
    and each place's ``sum amount_i x_i <= cap``, x binary, over the applications at or
    above the threshold (``scipy.optimize.milp``, HiGHS), and compare with the ranking's
    ``sum score_i x award_i``."""
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp

    pool = [c for c in candidates if c.refusal is None and c.score is not None
            and c.score >= rules.quality_threshold]
    decisions = allocation.by_reference()
    ranked_value = sum((c.score or 0.0) * decisions[c.reference].award
                       for c in pool if c.reference in decisions)
    if not pool:
        return OptimumComparison(ranked_value, 0.0, allocation.awarded, 0, "nothing to fund")
    amounts = np.array([c.amount for c in pool], dtype=float)
    value = np.array([c.score or 0.0 for c in pool], dtype=float) * amounts
    rows = [amounts]
    upper = [float(rules.budget)]
    for p in places:
        if p.cap is None:
            continue
        rows.append(np.array([a if c.place == p.place else 0.0
                              for c, a in zip(pool, amounts, strict=True)]))
        upper.append(float(p.cap))
    result = milp(-value, constraints=LinearConstraint(np.vstack(rows), -np.inf,
                                                       np.array(upper)),
                  integrality=np.ones(len(pool)), bounds=Bounds(0, 1),
                  options={"time_limit": time_limit})
    if result.x is None:
        return OptimumComparison(ranked_value, math.nan, allocation.awarded, 0,
                                 str(result.message))
    chosen = np.round(result.x) > 0.5
    return OptimumComparison(ranked_value, float(value[chosen].sum()), allocation.awarded,
                             int(amounts[chosen].sum()), str(result.message))


def ranking(candidates: Sequence[Candidate]) -> list[Candidate]:
    """The scored, eligible applications in rank order."""
    return sorted((c for c in candidates if c.refusal is None), key=rank_key)


def place_names(places: Sequence[PlaceLimit]) -> Mapping[str, str]:
    return {p.place: p.name for p in places}
