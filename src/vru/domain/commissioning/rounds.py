"""A funding round: its terms, its places, and the stages it moves through.

**Stages** (``RoundStatus``), in order, each reached only from the one before (``advance``)::

    draft -> open -> assessing -> allocated -> published

* ``draft``: the commissioning manager sets the terms, criteria and places.
* ``open``: applications are received; terms and criteria are fixed from here on (they are
  published).
* ``assessing``: no new applications; assessors declare conflicts and score; the manager
  moderates.
* ``allocated``: the allocation has run; it can be run again (same inputs, same awards)
  while the round stays here, or sent back to ``assessing`` to correct a score.
* ``published``: awards are published (360Giving and the public page) and fixed. Grant
  agreements and payments are still recorded against them.

**Terms** (``RoundTerms``): budget, the smallest and largest award, the quality threshold
(the lowest weighted score that can be funded), the moderation rule (``criterion_gap``: two
assessors' points for one criterion differing by more than this; ``total_gap``: their
weighted scores differing by more than this), how many assessors must score each
application, and whether the last award may be reduced to fit (``partial_awards``; never
below the least the applicant said it could deliver with).

**Places** (``PlaceTerms``): each eligible place with its need figures and optional floor
(an amount reserved for the place's applications) and cap (the most the place may receive).
At ``ward`` and ``borough`` level a place is one area (a GSS code); at ``multi_borough``
level a place is a group of neighbouring boroughs (a cluster in the decision record), with
every borough's code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

REFERENCE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{2,59}$")
GSS_PATTERN = re.compile(r"^[EWSN]\d{8}$")


class RoundStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    ASSESSING = "assessing"
    ALLOCATED = "allocated"
    PUBLISHED = "published"


ORDER: tuple[RoundStatus, ...] = tuple(RoundStatus)
#: Allowed moves: forwards one stage, or from allocated back to assessing.
MOVES: dict[RoundStatus, frozenset[RoundStatus]] = {
    RoundStatus.DRAFT: frozenset({RoundStatus.OPEN}),
    RoundStatus.OPEN: frozenset({RoundStatus.ASSESSING}),
    RoundStatus.ASSESSING: frozenset({RoundStatus.ALLOCATED}),
    RoundStatus.ALLOCATED: frozenset({RoundStatus.ASSESSING, RoundStatus.PUBLISHED}),
    RoundStatus.PUBLISHED: frozenset(),
}

STATUS_LABELS: dict[RoundStatus, str] = {
    RoundStatus.DRAFT: "Draft",
    RoundStatus.OPEN: "Open for applications",
    RoundStatus.ASSESSING: "Assessing",
    RoundStatus.ALLOCATED: "Allocated (not yet published)",
    RoundStatus.PUBLISHED: "Published",
}


class AwardLevel(StrEnum):
    WARD = "ward"
    BOROUGH = "borough"
    MULTI_BOROUGH = "multi_borough"


LEVEL_LABELS: dict[AwardLevel, str] = {
    AwardLevel.WARD: "ward",
    AwardLevel.BOROUGH: "borough",
    AwardLevel.MULTI_BOROUGH: "group of boroughs",
}
#: The geography of the priority-places decision each level draws its places from.
DECISION_GEOGRAPHY: dict[AwardLevel, str] = {
    AwardLevel.WARD: "ward",
    AwardLevel.BOROUGH: "borough",
    AwardLevel.MULTI_BOROUGH: "borough",
}


class RoundError(ValueError):
    """Round terms that cannot work, or a move the round cannot make; says why."""


def advance(current: RoundStatus, to: RoundStatus) -> RoundStatus:
    """Check a move between stages and return the new stage."""
    if to not in MOVES[current]:
        allowed = ", ".join(s.value for s in ORDER if s in MOVES[current]) or "none"
        raise RoundError(f"a round that is {current.value} cannot move to {to.value} "
                         f"(allowed: {allowed})")
    return to


@dataclass(frozen=True)
class RoundTerms:
    """The money and the rules of a round (amounts in whole pounds)."""

    budget: int
    min_award: int
    max_award: int
    quality_threshold: float = 50.0
    criterion_gap: int = 1
    total_gap: float = 20.0
    min_assessors: int = 2
    partial_awards: bool = True

    def check(self) -> RoundTerms:
        if self.budget <= 0:
            raise RoundError("the budget must be more than £0")
        if not 0 < self.min_award <= self.max_award:
            raise RoundError("the smallest award must be more than £0 and no more than the "
                             "largest")
        if self.max_award > self.budget:
            raise RoundError(f"the largest award (£{self.max_award:,}) is more than the "
                             f"budget (£{self.budget:,})")
        if not 0 <= self.quality_threshold <= 100:
            raise RoundError("the quality threshold is a score from 0 to 100")
        if not 0 <= self.criterion_gap <= 4:
            raise RoundError("the criterion gap is 0 to 4 points")
        if not 0 <= self.total_gap <= 100:
            raise RoundError("the total gap is 0 to 100 points")
        if not 2 <= self.min_assessors <= 10:
            raise RoundError("each application needs at least 2 (and at most 10) assessors")
        return self


@dataclass(frozen=True)
class GeoCode:
    """An area of a place: its GSS code, name and 360Giving geographic code type."""

    code: str
    name: str
    code_type: str


@dataclass(frozen=True)
class PlaceTerms:
    """An eligible place: ``code`` (a GSS code, or a cluster id at multi-borough level),
    its areas, need figures (``count`` events among ``population`` residents over the
    decision's period) and its floor and cap (whole pounds; 0 floor = none, None cap =
    none)."""

    code: str
    name: str
    areas: tuple[GeoCode, ...]
    count: float | None
    population: float | None
    floor: int = 0
    cap: int | None = None
    explanation: str = ""
    parent_name: str = ""

    @property
    def rate_per_100k(self) -> float | None:
        if self.count is None or not self.population:
            return None
        return self.count / self.population * 100_000


@dataclass(frozen=True)
class RoundPlan:
    """A round's terms and places, checked together (``check_plan``)."""

    level: AwardLevel
    terms: RoundTerms
    places: tuple[PlaceTerms, ...] = field(default_factory=tuple)


def check_plan(plan: RoundPlan) -> RoundPlan:
    """Terms valid; places unique with GSS codes; floors and caps consistent: every floor at
    most its cap, every cap at least the smallest award, and the floors together within the
    budget (so every floor can be honoured)."""
    terms = plan.terms.check()
    if not plan.places:
        raise RoundError("a round needs at least one eligible place")
    seen: set[str] = set()
    for p in plan.places:
        if p.code in seen:
            raise RoundError(f"place {p.code} is listed twice")
        seen.add(p.code)
        if not p.areas:
            raise RoundError(f"place {p.code} has no area codes")
        for a in p.areas:
            if not GSS_PATTERN.match(a.code):
                raise RoundError(f"place {p.name}: {a.code!r} is not a GSS code")
        if plan.level is AwardLevel.MULTI_BOROUGH and len(p.areas) < 2:
            raise RoundError(f"place {p.name}: a multi-borough place needs at least two "
                             "boroughs")
        if p.floor < 0:
            raise RoundError(f"place {p.name}: the floor cannot be negative")
        if p.cap is not None:
            if p.cap < terms.min_award:
                raise RoundError(f"place {p.name}: the cap (£{p.cap:,}) is less than the "
                                 f"smallest award (£{terms.min_award:,})")
            if p.floor > p.cap:
                raise RoundError(f"place {p.name}: the floor (£{p.floor:,}) is more than "
                                 f"the cap (£{p.cap:,})")
    floors = sum(p.floor for p in plan.places)
    if floors > terms.budget:
        raise RoundError(f"the floors add up to £{floors:,}, more than the budget "
                         f"(£{terms.budget:,})")
    return plan


def check_reference(reference: str) -> str:
    ref = reference.strip().lower()
    if not REFERENCE_PATTERN.match(ref):
        raise RoundError("a round's reference is 3 to 60 lower-case letters, digits and "
                         "hyphens (it appears in web addresses and grant identifiers)")
    return ref


def geo_code_type(code: str) -> str:
    """The 360Giving geographic code type (ONS entity type) of a GSS code: ``WD`` for wards
    (E05, W05, S13, N08), ``LONB`` for London boroughs (E09), ``LAD`` for other local
    authority districts (E06, E07, E08, W06, S12, N09), ``LSOA``/``MSOA`` for those."""
    prefix = code[:3]
    if prefix in ("E05", "W05", "S13", "N08"):
        return "WD"
    if prefix == "E09":
        return "LONB"
    if prefix in ("E06", "E07", "E08", "W06", "S12", "N09"):
        return "LAD"
    if prefix in ("E01", "W01"):
        return "LSOA"
    if prefix in ("E02", "W02"):
        return "MSOA"
    return "UNKNOWN"


def places_summary(places: Sequence[PlaceTerms]) -> str:
    names = [p.name for p in places]
    if len(names) <= 3:
        return ", ".join(names)
    return f"{', '.join(names[:3])} and {len(names) - 3} more"
