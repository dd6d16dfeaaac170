"""A round's published criteria, their weights, the scoring rubric and the weighted score.

Every criterion is scored on the same five-point rubric, 0 to 4 points (``RUBRIC``). Where
the points come from is part of the criterion (``CriterionSource``):

* ``need``: computed from the evidence, the same for every application in a place. Points =
  4 x the place's rate per 100,000 residents / the highest rate among the round's eligible
  places (``need_points``): the place in most need gets 4, a place with half its rate 2.
* ``evidence``: computed from the intervention catalogue: the headline impact rating of the
  approach the application proposes (``catalogue.EVIDENCE_POINTS``).
* ``assessors``: scored by at least two assessors against the rubric; their mean, or the
  moderated score where moderation settled a disagreement.

The weighted score of an application, out of 100, is::

    score = sum over criteria c of  weight_c x points_c / 4

with the weights whole percentages that add up to 100 (``check_weights``). So a criterion
weighted 30 contributes up to 30 points; an application with full marks everywhere scores
100.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

MAX_POINTS = 4
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
SCORE_DECIMALS = 6  # scores are rounded here before ranking, so float noise never ranks


class CriterionSource(StrEnum):
    NEED = "need"
    EVIDENCE = "evidence"
    ASSESSORS = "assessors"


SOURCE_LABELS: dict[CriterionSource, str] = {
    CriterionSource.NEED: "from the evidence about the place",
    CriterionSource.EVIDENCE: "from the intervention catalogue's evidence rating",
    CriterionSource.ASSESSORS: "scored by assessors",
}

#: The rubric every criterion is scored on: points -> (label, what earns it).
RUBRIC: dict[int, tuple[str, str]] = {
    0: ("Not shown", "The application gives no evidence for this criterion."),
    1: ("Weak", "Some evidence, but thin, general or not about this place."),
    2: ("Adequate", "Clear evidence that meets the criterion in part."),
    3: ("Good", "Specific, credible evidence that meets the criterion."),
    4: ("Strong", "Specific, credible and independently confirmed evidence that meets the "
                  "criterion in full."),
}


class CriteriaError(ValueError):
    """Criteria that cannot be published as they are; the message says what to change."""


@dataclass(frozen=True)
class Criterion:
    """One published criterion: what it asks, its weight (a whole percentage), where its
    points come from, and guidance for assessors."""

    key: str
    title: str
    description: str
    weight: int
    source: CriterionSource
    guidance: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"key": self.key, "title": self.title, "description": self.description,
                "weight": self.weight, "source": self.source.value,
                "guidance": self.guidance}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Criterion:
        try:
            source = CriterionSource(str(data["source"]))
        except (KeyError, ValueError):
            raise CriteriaError(f"criterion {data.get('key')!r}: source must be one of "
                                f"{', '.join(s.value for s in CriterionSource)}") from None
        weight = data.get("weight")
        if not isinstance(weight, int) or isinstance(weight, bool):
            raise CriteriaError(f"criterion {data.get('key')!r}: weight must be a whole "
                                "percentage")
        return cls(str(data.get("key", "")), str(data.get("title", "")),
                   str(data.get("description", "")), weight, source,
                   str(data.get("guidance", "") or ""))


#: The criteria BRIEF section 4 asks for, with the default weights of a new round.
DEFAULT_CRITERIA: tuple[Criterion, ...] = (
    Criterion("need", "How intense the problem is in the place",
              "Violence in the place per 100,000 residents, from the Strategic Needs "
              "Assessment figures behind the priority-places decision.", 30,
              CriterionSource.NEED),
    Criterion("community", "How strong community activity is in the place",
              "The groups, volunteers and activities already working with young people in "
              "the place, and how the application builds on them.", 20,
              CriterionSource.ASSESSORS,
              "Look for named local groups, venues and people, and young people's part in "
              "designing the work."),
    Criterion("partnership", "A working link with the local authority",
              "Evidence that the organisation already works with the local authority (for "
              "example the Community Safety Partnership, youth service or schools).", 20,
              CriterionSource.ASSESSORS,
              "A letter of support, a shared referral route or joint work already under "
              "way count as evidence; a promise to make contact does not."),
    Criterion("evidence", "How well the intervention matches what works",
              "The headline impact rating, in the intervention catalogue, of the approach "
              "the application proposes.", 20, CriterionSource.EVIDENCE),
    Criterion("delivery", "A credible plan and budget",
              "Whether the plan, staffing, safeguarding and budget make delivery likely in "
              "the time and for the money asked.", 10, CriterionSource.ASSESSORS,
              "Check the budget adds up and the safeguarding policy is named."),
)


def check_criteria(criteria: Sequence[Criterion]) -> list[Criterion]:
    """The criteria, checked: unique keys, non-empty titles, whole-percentage weights from
    1 to 100 adding up to exactly 100, at most one ``need`` and one ``evidence`` criterion,
    and at least one scored by assessors."""
    if not criteria:
        raise CriteriaError("a round needs published criteria")
    seen: set[str] = set()
    for c in criteria:
        if not KEY_PATTERN.match(c.key):
            raise CriteriaError(f"criterion key {c.key!r}: use 2 to 40 lower-case letters, "
                                "digits and underscores, starting with a letter")
        if c.key in seen:
            raise CriteriaError(f"criterion key {c.key!r} is used twice")
        seen.add(c.key)
        if not c.title.strip():
            raise CriteriaError(f"criterion {c.key!r} needs a title")
        if not 1 <= c.weight <= 100:
            raise CriteriaError(f"criterion {c.key!r}: weight {c.weight} must be a whole "
                                "percentage from 1 to 100")
    total = sum(c.weight for c in criteria)
    if total != 100:
        raise CriteriaError(f"the weights add up to {total}; they must add up to 100")
    for source in (CriterionSource.NEED, CriterionSource.EVIDENCE):
        if sum(c.source is source for c in criteria) > 1:
            raise CriteriaError(f"only one criterion can come {SOURCE_LABELS[source]}")
    if not any(c.source is CriterionSource.ASSESSORS for c in criteria):
        raise CriteriaError("at least one criterion must be scored by assessors")
    return list(criteria)


def assessed(criteria: Sequence[Criterion]) -> list[Criterion]:
    """The criteria assessors score."""
    return [c for c in criteria if c.source is CriterionSource.ASSESSORS]


def check_points(value: object, criterion: str) -> int:
    """A rubric score: a whole number of points from 0 to 4."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_POINTS:
        raise CriteriaError(f"{criterion}: a score is a whole number of points from 0 to "
                            f"{MAX_POINTS}, not {value!r}")
    return value


def need_points(rate: float, highest_rate: float) -> float:
    """Points for need: 4 x rate / highest rate among the eligible places (0 if none)."""
    if highest_rate <= 0 or rate <= 0:
        return 0.0
    return round(MAX_POINTS * min(rate / highest_rate, 1.0), SCORE_DECIMALS)


def weighted_score(points: Mapping[str, float], criteria: Sequence[Criterion]) -> float:
    """The weighted score out of 100: sum of weight x points / 4 (see the module docstring).
    Every criterion must have its points."""
    missing = [c.key for c in criteria if c.key not in points]
    if missing:
        raise CriteriaError(f"no points for {', '.join(missing)}")
    total = sum(c.weight * float(points[c.key]) for c in criteria) / MAX_POINTS
    return round(total, SCORE_DECIMALS)


def contributions(points: Mapping[str, float], criteria: Sequence[Criterion]
                  ) -> dict[str, float]:
    """Each criterion's contribution to the weighted score (they add up to the score)."""
    return {c.key: round(c.weight * float(points[c.key]) / MAX_POINTS, SCORE_DECIMALS)
            for c in criteria}
