"""Roles, what each may do, and which records and fields each may see: the role matrix.

This module is the one place that decides access. Every API route names one permission
(``vru.interfaces.api.access.ROUTES``); ``GRANTS`` says which roles hold it; services check
the same permissions and then apply the per-record rule (a borough officer sees only their
borough's cases) and the per-field rule (personal details -- ethnicity, sex, age band,
relationship, ward and exact date -- and factor codings only for roles with
``Permission.PERSONAL_DETAILS``).

Someone who has not signed in is ``Role.PUBLIC``.

================================  =====  =====  =====  =====  =====  =====  =====  =====
permission                        admin  analy  commi  perfo  borou  revie  partn  publi
================================  =====  =====  =====  =====  =====  =====  =====  =====
public (health, sign in, docs)      x      x      x      x      x      x      x      x
signed_in (own account, sign out)   x      x      x      x      x      x      x
register.summary (controlled)       x      x      x      x      x      x      x      x
cases.read (own borough only)                                   x      x
personal_details                                                       x
cases.write / cases.code                                               x
cases.export                                                           x
register.analysis (unsuppressed)                                       x
users.manage / audit.read           x
commissioning.assess                       x      x      x                         x
commissioning.read                         x      x      x
commissioning.manage                              x
================================  =====  =====  =====  =====  =====  =====  =====  =====

Commissioning: ``assess`` lets a user see the rounds open for assessment and their
applications, declare conflicts of interest and score (partners sit on assessment panels);
``read`` adds every score, moderation, the ranking and the allocation before publication;
``manage`` creates rounds, enters and imports applications, moderates, allocates, publishes
and records grant agreements and payments. Published rounds are public.

(``signed_in`` is held by every role but only a signed-in user can use it.) Roles that can
read restricted records, or administer, must use a one-time code at sign-in
(``TOTP_REQUIRED``).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMINISTRATOR = "administrator"
    ANALYST = "analyst"
    COMMISSIONING_MANAGER = "commissioning_manager"
    PERFORMANCE_LEAD = "performance_lead"
    BOROUGH_OFFICER = "borough_officer"
    CASE_REVIEWER = "case_reviewer"
    PARTNER = "partner"
    PUBLIC = "public"


ROLE_LABELS: dict[Role, str] = {
    Role.ADMINISTRATOR: "Administrator",
    Role.ANALYST: "Insight analyst",
    Role.COMMISSIONING_MANAGER: "Commissioning manager",
    Role.PERFORMANCE_LEAD: "Performance and evaluation lead",
    Role.BOROUGH_OFFICER: "Borough (CSP) officer",
    Role.CASE_REVIEWER: "Case reviewer (restricted)",
    Role.PARTNER: "Partner",
    Role.PUBLIC: "Public",
}


class Permission(StrEnum):
    PUBLIC = "public"
    SIGNED_IN = "signed_in"
    REGISTER_SUMMARY = "register.summary"
    CASES_READ = "cases.read"
    PERSONAL_DETAILS = "personal_details"
    CASES_WRITE = "cases.write"
    CASES_CODE = "cases.code"
    CASES_EXPORT = "cases.export"
    REGISTER_ANALYSIS = "register.analysis"
    USERS_MANAGE = "users.manage"
    AUDIT_READ = "audit.read"
    COMMISSIONING_ASSESS = "commissioning.assess"
    COMMISSIONING_READ = "commissioning.read"
    COMMISSIONING_MANAGE = "commissioning.manage"


_EVERYONE = frozenset({Permission.PUBLIC, Permission.SIGNED_IN, Permission.REGISTER_SUMMARY})
_ASSESS_READ = frozenset({Permission.COMMISSIONING_ASSESS, Permission.COMMISSIONING_READ})

GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMINISTRATOR: _EVERYONE | {Permission.USERS_MANAGE, Permission.AUDIT_READ},
    Role.ANALYST: _EVERYONE | _ASSESS_READ,
    Role.COMMISSIONING_MANAGER: _EVERYONE | _ASSESS_READ | {Permission.COMMISSIONING_MANAGE},
    Role.PERFORMANCE_LEAD: _EVERYONE | _ASSESS_READ,
    Role.BOROUGH_OFFICER: _EVERYONE | {Permission.CASES_READ},
    Role.CASE_REVIEWER: _EVERYONE | {
        Permission.CASES_READ, Permission.PERSONAL_DETAILS, Permission.CASES_WRITE,
        Permission.CASES_CODE, Permission.CASES_EXPORT, Permission.REGISTER_ANALYSIS,
    },
    Role.PARTNER: _EVERYONE | {Permission.COMMISSIONING_ASSESS},
    Role.PUBLIC: frozenset({Permission.PUBLIC, Permission.REGISTER_SUMMARY}),
}

#: Roles that must give a one-time code (TOTP) at sign-in.
TOTP_REQUIRED: frozenset[Role] = frozenset({Role.ADMINISTRATOR, Role.BOROUGH_OFFICER,
                                            Role.CASE_REVIEWER})
#: Roles that see only the cases in their own borough.
BOROUGH_SCOPED: frozenset[Role] = frozenset({Role.BOROUGH_OFFICER})
#: Responses to these roles are restricted: never cached, and restricted reads are audited.
RESTRICTED_ROLES: frozenset[Role] = frozenset(
    r for r, grants in GRANTS.items() if Permission.CASES_READ in grants)

if set(GRANTS) != set(Role):  # pragma: no cover - a coding error
    raise RuntimeError("every role needs a row in GRANTS")


def can(role: Role, permission: Permission) -> bool:
    return permission in GRANTS[role]


def parse_role(text: str) -> Role:
    """The role named by its code (``case_reviewer``) or with spaces/hyphens."""
    key = text.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return Role(key)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {text!r}; roles are: {known}") from None
