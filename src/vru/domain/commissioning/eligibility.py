"""Eligibility checks: each a small class that looks at one application in its round and
says, in plain words, why it is not eligible (or nothing).

An application failing any check is not eligible: it is not scored into the allocation and
its refusal names every failed check. Checks run when the application is received and again
before allocation (the catalogue may have changed a rating in between).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from vru.domain.commissioning.catalogue import ImpactRating, Intervention
from vru.domain.commissioning.organisations import (
    charity_number_ok,
    clean_number,
    company_number_ok,
    normalise_company,
)
from vru.domain.commissioning.rounds import PlaceTerms, RoundTerms

MAX_DURATION_MONTHS = 60


@dataclass(frozen=True)
class ApplicationFacts:
    """What the eligibility checks read from an application (amounts in whole pounds)."""

    reference: str
    organisation_name: str
    charity_number: str
    company_number: str
    place_code: str
    intervention_key: str
    amount_requested: int
    minimum_amount: int
    duration_months: int
    start_date: date | None = None


@dataclass(frozen=True)
class RoundContext:
    """What the checks need to know about the round."""

    terms: RoundTerms
    places: Mapping[str, PlaceTerms]
    catalogue: Mapping[str, Intervention]
    decision_date: date | None = None


@dataclass(frozen=True)
class Finding:
    check: str
    message: str


class EligibilityCheck:
    """A check: ``code`` names it, ``title`` says what it requires, ``problem`` returns why
    an application fails it (None when it passes)."""

    code: str = ""
    title: str = ""

    def problem(self, app: ApplicationFacts, ctx: RoundContext) -> str | None:
        raise NotImplementedError


class OrganisationNamed(EligibilityCheck):
    code = "organisation_named"
    title = "The applicant organisation is named"

    def problem(self, app: ApplicationFacts, ctx: RoundContext) -> str | None:
        return None if app.organisation_name.strip() else "the organisation's name is missing"


class RegistrationNumbersValid(EligibilityCheck):
    code = "registration_numbers"
    title = "Any charity or company number given looks valid"

    def problem(self, app: ApplicationFacts, ctx: RoundContext) -> str | None:
        out = []
        charity = clean_number(app.charity_number)
        if charity and not charity_number_ok(charity):
            out.append(f"charity number {app.charity_number!r} does not look like a UK "
                       "charity number (6 or 7 digits, or SC and 6 digits)")
        company = normalise_company(app.company_number)
        if company and not company_number_ok(company):
            out.append(f"company number {app.company_number!r} does not look like a "
                       "company number (8 letters or digits)")
        return "; ".join(out) or None


class PlaceIsEligible(EligibilityCheck):
    code = "place_eligible"
    title = "The application is for one of the round's eligible places"

    def problem(self, app: ApplicationFacts, ctx: RoundContext) -> str | None:
        if app.place_code in ctx.places:
            return None
        return (f"{app.place_code!r} is not one of the round's {len(ctx.places)} eligible "
                "places")


class AmountWithinLimits(EligibilityCheck):
    code = "amount_limits"
    title = "The amount asked for is within the round's smallest and largest award"

    def problem(self, app: ApplicationFacts, ctx: RoundContext) -> str | None:
        t = ctx.terms
        if app.amount_requested < t.min_award:
            return (f"£{app.amount_requested:,} asked for is less than the smallest award, "
                    f"£{t.min_award:,}")
        if app.amount_requested > t.max_award:
            return (f"£{app.amount_requested:,} asked for is more than the largest award, "
                    f"£{t.max_award:,}")
        place = ctx.places.get(app.place_code)
        if place is not None and place.cap is not None and app.amount_requested > place.cap:
            return (f"£{app.amount_requested:,} asked for is more than {place.name}'s cap, "
                    f"£{place.cap:,}")
        return None


class MinimumAmountSensible(EligibilityCheck):
    code = "minimum_amount"
    title = ("The least the applicant could deliver with is at least the smallest award "
             "and no more than it asked for")

    def problem(self, app: ApplicationFacts, ctx: RoundContext) -> str | None:
        if app.minimum_amount > app.amount_requested:
            return (f"the minimum (£{app.minimum_amount:,}) is more than the amount asked "
                    f"for (£{app.amount_requested:,})")
        if app.minimum_amount < ctx.terms.min_award:
            return (f"the minimum (£{app.minimum_amount:,}) is less than the smallest award "
                    f"(£{ctx.terms.min_award:,})")
        return None


class InterventionInCatalogue(EligibilityCheck):
    code = "intervention_known"
    title = "The proposed approach is in the intervention catalogue"

    def problem(self, app: ApplicationFacts, ctx: RoundContext) -> str | None:
        if app.intervention_key in ctx.catalogue:
            return None
        return f"approach {app.intervention_key!r} is not in the intervention catalogue"


class InterventionNotHarmful(EligibilityCheck):
    code = "intervention_not_harmful"
    title = "The proposed approach is not one the evidence rates as harmful"

    def problem(self, app: ApplicationFacts, ctx: RoundContext) -> str | None:
        entry = ctx.catalogue.get(app.intervention_key)
        if entry is not None and entry.impact is ImpactRating.HARMFUL:
            return (f"{entry.name} is rated harmful by the {entry.source}: it can increase "
                    "offending")
        return None


class DurationSensible(EligibilityCheck):
    code = "duration"
    title = f"The work lasts 1 to {MAX_DURATION_MONTHS} months"

    def problem(self, app: ApplicationFacts, ctx: RoundContext) -> str | None:
        if 1 <= app.duration_months <= MAX_DURATION_MONTHS:
            return None
        return (f"a duration of {app.duration_months} months is outside 1 to "
                f"{MAX_DURATION_MONTHS}")


class StartsAfterDecision(EligibilityCheck):
    code = "start_date"
    title = "The work starts on or after the round's decision date"

    def problem(self, app: ApplicationFacts, ctx: RoundContext) -> str | None:
        if app.start_date is None or ctx.decision_date is None:
            return None
        if app.start_date < ctx.decision_date:
            return (f"it starts on {app.start_date.isoformat()}, before the decision date "
                    f"{ctx.decision_date.isoformat()}")
        return None


CHECKS: tuple[EligibilityCheck, ...] = (
    OrganisationNamed(), RegistrationNumbersValid(), PlaceIsEligible(), AmountWithinLimits(),
    MinimumAmountSensible(), InterventionInCatalogue(), InterventionNotHarmful(),
    DurationSensible(), StartsAfterDecision(),
)


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    def reason(self) -> str:
        if self.eligible:
            return "eligible"
        return "not eligible: " + "; ".join(f.message for f in self.findings)

    def as_list(self) -> list[dict[str, str]]:
        return [{"check": f.check, "message": f.message} for f in self.findings]


def check_eligibility(app: ApplicationFacts, ctx: RoundContext,
                      checks: Sequence[EligibilityCheck] = CHECKS) -> Eligibility:
    """Run every check; eligible when none finds a problem."""
    findings = []
    for check in checks:
        message = check.problem(app, ctx)
        if message:
            findings.append(Finding(check.code, message))
    return Eligibility(not findings, tuple(findings))
