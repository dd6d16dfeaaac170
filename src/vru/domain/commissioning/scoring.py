"""Assessors' scores: when they agree, when they go to moderation, the final points, and
how well assessors agree across a round.

**Moderation rule.** An application scored by at least the round's number of assessors goes
to moderation when, for any criterion scored by assessors, the highest and lowest points
differ by more than ``criterion_gap`` (default 1: scores of 2 and 4 differ by 2, so they go
to moderation), or when the assessors' weighted scores over the assessed criteria differ by
more than ``total_gap`` points (out of the at most 100 those criteria carry). A moderator who
has not scored the application and has no conflict settles the points for every assessed
criterion, with a reason; moderated points replace the assessors'.

**Final points** of an assessed criterion: the moderated points if moderated, else the mean
of the assessors' points (so 3 and 4 give 3.5).

**Agreement** (``agreement_by_criterion``) over every application scored by two or more
assessors, comparing its first two scores (in the order they were given): the share of exact
agreement, the share within one point, the mean absolute difference and Cohen's quadratic
weighted kappa over the five rubric points::

    kappa_w = 1 - sum_ij w_ij o_ij / sum_ij w_ij e_ij,   w_ij = (i - j)^2 / (k - 1)^2

with o the observed and e the chance-expected (product of margins) proportions (Cohen J
(1968) Weighted kappa, *Psychol Bull* 70:213-20). Kappa is undefined (reported as None) when
there is no disagreement to expect (both assessors used one and the same score throughout).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from vru.domain.commissioning.criteria import (
    MAX_POINTS,
    SCORE_DECIMALS,
    Criterion,
    CriterionSource,
    assessed,
    check_points,
)


class ScoreState(StrEnum):
    AWAITING = "awaiting scores"
    MODERATION = "needs moderation"
    MODERATED = "moderated"
    AGREED = "agreed"


@dataclass(frozen=True)
class AssessorScore:
    """One assessor's points for the assessed criteria of one application."""

    assessor: str
    points: Mapping[str, int]


@dataclass(frozen=True)
class ScoreOutcome:
    """Where an application's scoring stands, why, and its final assessed points (None
    while awaiting scores or moderation)."""

    state: ScoreState
    reasons: tuple[str, ...]
    points: dict[str, float] | None
    assessors: tuple[str, ...]


def check_scores(points: Mapping[str, object], criteria: Sequence[Criterion]
                 ) -> dict[str, int]:
    """A full set of rubric points for the assessed criteria, nothing else."""
    keys = [c.key for c in assessed(criteria)]
    extra = sorted(set(points) - set(keys))
    if extra:
        raise ValueError(f"not criteria assessors score: {', '.join(extra)}")
    missing = [k for k in keys if k not in points]
    if missing:
        raise ValueError(f"no score for {', '.join(missing)}")
    return {k: check_points(points[k], k) for k in keys}


def assessed_total(points: Mapping[str, float], criteria: Sequence[Criterion]) -> float:
    """An assessor's weighted score over the assessed criteria only (out of their weights)."""
    return round(sum(c.weight * float(points[c.key]) for c in assessed(criteria))
                 / MAX_POINTS, SCORE_DECIMALS)


def moderation_reasons(scores: Sequence[AssessorScore], criteria: Sequence[Criterion],
                       criterion_gap: int, total_gap: float) -> list[str]:
    """Why the scores need moderation (empty: they do not). See the module docstring."""
    if len(scores) < 2:
        return []
    out: list[str] = []
    for c in assessed(criteria):
        values = [s.points[c.key] for s in scores]
        gap = max(values) - min(values)
        if gap > criterion_gap:
            out.append(f"{c.title}: assessors gave {_listed(sorted(values))} points, a gap "
                       f"of {gap}, more than the {criterion_gap} allowed")
    totals = [assessed_total(s.points, criteria) for s in scores]
    spread = round(max(totals) - min(totals), SCORE_DECIMALS)
    if spread > total_gap:
        out.append(f"weighted scores {_listed([_fmt(t) for t in sorted(totals)])} differ by "
                   f"{_fmt(spread)} points, more than the {_fmt(total_gap)} allowed")
    return out


def outcome(scores: Sequence[AssessorScore], moderated: Mapping[str, int] | None,
            criteria: Sequence[Criterion], *, min_assessors: int, criterion_gap: int,
            total_gap: float) -> ScoreOutcome:
    """The state of an application's scoring and its final assessed points."""
    who = tuple(s.assessor for s in scores)
    if moderated is not None:
        return ScoreOutcome(ScoreState.MODERATED, ("settled by moderation",),
                            {k: float(v) for k, v in moderated.items()}, who)
    if len(scores) < min_assessors:
        return ScoreOutcome(ScoreState.AWAITING, (
            f"scored by {len(scores)} of the {min_assessors} assessors needed",), None, who)
    reasons = moderation_reasons(scores, criteria, criterion_gap, total_gap)
    if reasons:
        return ScoreOutcome(ScoreState.MODERATION, tuple(reasons), None, who)
    keys = [c.key for c in assessed(criteria)]
    mean = {k: round(sum(s.points[k] for s in scores) / len(scores), SCORE_DECIMALS)
            for k in keys}
    return ScoreOutcome(ScoreState.AGREED, ("assessors within the allowed gaps",), mean, who)


def full_points(assessed_points: Mapping[str, float], criteria: Sequence[Criterion], *,
                need: float, evidence: float) -> dict[str, float]:
    """Points for every criterion: assessed ones as given, need and evidence computed."""
    out: dict[str, float] = {}
    for c in criteria:
        if c.source is CriterionSource.NEED:
            out[c.key] = need
        elif c.source is CriterionSource.EVIDENCE:
            out[c.key] = evidence
        else:
            out[c.key] = float(assessed_points[c.key])
    return out


# --------------------------------------------------------------------------- agreement


@dataclass(frozen=True)
class Agreement:
    """Agreement between first and second assessors on one criterion."""

    criterion: str
    n: int
    exact: float | None
    within_one: float | None
    mean_abs_difference: float | None
    kappa_quadratic: float | None
    note: str = ""


def weighted_kappa(table: np.ndarray) -> float | None:
    """Cohen's quadratic weighted kappa of a k x k table of counts (rows: first assessor's
    points, columns: second's). None when undefined (no expected disagreement)."""
    counts = np.asarray(table, dtype=float)
    n = counts.sum()
    k = counts.shape[0]
    if n == 0 or k < 2:
        return None
    observed = counts / n
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    i, j = np.indices((k, k))
    weights = (i - j) ** 2 / (k - 1) ** 2
    denominator = float((weights * expected).sum())
    if denominator == 0:
        return None
    return 1.0 - float((weights * observed).sum()) / denominator


def agreement_by_criterion(pairs: Sequence[tuple[Mapping[str, int], Mapping[str, int]]],
                           criteria: Sequence[Criterion]) -> list[Agreement]:
    """Agreement per assessed criterion over (first, second) score pairs."""
    out: list[Agreement] = []
    for c in assessed(criteria):
        a = np.array([p[0][c.key] for p in pairs], dtype=int)
        b = np.array([p[1][c.key] for p in pairs], dtype=int)
        if len(a) == 0:
            out.append(Agreement(c.key, 0, None, None, None, None,
                                 "no application scored by two assessors yet"))
            continue
        table = np.zeros((MAX_POINTS + 1, MAX_POINTS + 1), dtype=int)
        np.add.at(table, (a, b), 1)
        diff = np.abs(a - b)
        kappa = weighted_kappa(table)
        out.append(Agreement(c.key, len(a), float((diff == 0).mean()),
                             float((diff <= 1).mean()), float(diff.mean()), kappa,
                             "" if kappa is not None else
                             "kappa undefined: both assessors used a single score throughout"))
    return out


def _fmt(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def _listed(values: Sequence[object]) -> str:
    items = [str(v) for v in values]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
