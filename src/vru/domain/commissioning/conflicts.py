"""Conflicts of interest: who may not score or moderate an application.

Each rule is a small class that says why a person may not act on an application (or
nothing). The rules:

* ``DeclaredConflict``: the person declared a conflict with this application, or with the
  organisation that made it (by its identifier: a conflict with an organisation covers all
  its applications in the round).
* ``AlreadyScored`` (moderators only): a moderator must not have scored the application;
  moderation settles a disagreement between other people.
* ``OwnApplication`` (scorers only): the person entered the application (a manager who
  keys in a paper application may not then score it; they may still moderate, as the
  commissioning manager who runs the panel usually does).

A refusal is reported with every rule that applies, so the person knows why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Declaration:
    """A declared conflict: ``person`` with an application (``application``) or with an
    organisation (``organisation_id``), and its nature in their words."""

    person: str
    application: str | None
    organisation_id: str | None
    nature: str


@dataclass(frozen=True)
class ApplicationParties:
    """Who is involved in an application."""

    reference: str
    organisation_id: str
    entered_by: str | None
    scored_by: tuple[str, ...]


class ConflictRule:
    code: str = ""
    for_moderators_only: bool = False
    for_scorers_only: bool = False

    def conflict(self, person: str, app: ApplicationParties,
                 declarations: Sequence[Declaration]) -> str | None:
        raise NotImplementedError


class DeclaredConflict(ConflictRule):
    code = "declared"

    def conflict(self, person: str, app: ApplicationParties,
                 declarations: Sequence[Declaration]) -> str | None:
        for d in declarations:
            if d.person != person:
                continue
            if d.application == app.reference:
                return f"you declared a conflict with this application ({d.nature})"
            if d.organisation_id and d.organisation_id == app.organisation_id:
                return f"you declared a conflict with this organisation ({d.nature})"
        return None


class AlreadyScored(ConflictRule):
    code = "already_scored"
    for_moderators_only = True

    def conflict(self, person: str, app: ApplicationParties,
                 declarations: Sequence[Declaration]) -> str | None:
        if person in app.scored_by:
            return "you scored this application, so someone else must moderate it"
        return None


class OwnApplication(ConflictRule):
    code = "entered_it"
    for_scorers_only = True

    def conflict(self, person: str, app: ApplicationParties,
                 declarations: Sequence[Declaration]) -> str | None:
        if app.entered_by is not None and app.entered_by == person:
            return "you entered this application, so someone else must assess it"
        return None


RULES: tuple[ConflictRule, ...] = (DeclaredConflict(), AlreadyScored(), OwnApplication())


def conflicts(person: str, app: ApplicationParties, declarations: Sequence[Declaration], *,
              moderating: bool = False, rules: Sequence[ConflictRule] = RULES) -> list[str]:
    """Every reason ``person`` may not score (or, ``moderating``, moderate) ``app``."""
    out = []
    for rule in rules:
        if (rule.for_moderators_only and not moderating) or \
                (rule.for_scorers_only and moderating):
            continue
        reason = rule.conflict(person, app, declarations)
        if reason:
            out.append(reason)
    return out
