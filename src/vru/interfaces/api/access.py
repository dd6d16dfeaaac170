"""Which permission every route needs: with ``security.roles.GRANTS``, the role matrix.

Every route of the API is listed here with the one permission it needs; a route missing
from this table is refused to everyone (deny by default), and a test fails if any route is
missing. Per-record and per-field rules are applied by the services.
"""

from __future__ import annotations

from vru.services.security.roles import Permission

P = Permission

ROUTES: dict[tuple[str, str], Permission] = {
    # service and documentation
    ("GET", "/api/health"): P.PUBLIC,
    ("GET", "/api/openapi.json"): P.PUBLIC,
    ("GET", "/api/docs"): P.PUBLIC,
    ("GET", "/api/docs/oauth2-redirect"): P.PUBLIC,
    ("GET", "/api/redoc"): P.PUBLIC,
    # signing in and out, own account
    ("GET", "/api/auth/csrf"): P.PUBLIC,
    ("POST", "/api/auth/login"): P.PUBLIC,
    ("POST", "/api/auth/logout"): P.SIGNED_IN,
    ("GET", "/api/auth/me"): P.SIGNED_IN,
    ("POST", "/api/auth/password"): P.SIGNED_IN,
    # the register (restricted records)
    ("GET", "/api/cases"): P.CASES_READ,
    ("POST", "/api/cases"): P.CASES_WRITE,
    ("GET", "/api/cases/{case_id}"): P.CASES_READ,
    ("PATCH", "/api/cases/{case_id}"): P.CASES_WRITE,
    ("PUT", "/api/cases/{case_id}/codings/{coding_round}"): P.CASES_CODE,
    ("POST", "/api/cases/{case_id}/recommendations"): P.CASES_WRITE,
    ("PATCH", "/api/recommendations/{recommendation_id}"): P.CASES_WRITE,
    # the register's aggregates, files and vocabulary
    ("GET", "/api/register/summary"): P.REGISTER_SUMMARY,
    ("GET", "/api/register/analysis"): P.REGISTER_ANALYSIS,
    ("GET", "/api/register/vocabulary"): P.PUBLIC,
    ("GET", "/api/register/template"): P.SIGNED_IN,
    ("POST", "/api/register/import"): P.CASES_WRITE,
    ("GET", "/api/register/export"): P.CASES_EXPORT,
    # commissioning: catalogue, rounds, applications, scoring, allocation, publication
    ("GET", "/api/commissioning/interventions"): P.PUBLIC,
    ("PUT", "/api/commissioning/interventions/{key}"): P.COMMISSIONING_MANAGE,
    ("GET", "/api/commissioning/rounds"): P.COMMISSIONING_ASSESS,
    ("POST", "/api/commissioning/rounds"): P.COMMISSIONING_MANAGE,
    ("GET", "/api/commissioning/rounds/{round_ref}"): P.COMMISSIONING_ASSESS,
    ("POST", "/api/commissioning/rounds/{round_ref}/stage"): P.COMMISSIONING_MANAGE,
    ("GET", "/api/commissioning/rounds/{round_ref}/applications"): P.COMMISSIONING_ASSESS,
    ("POST", "/api/commissioning/rounds/{round_ref}/applications"): P.COMMISSIONING_MANAGE,
    ("POST", "/api/commissioning/rounds/{round_ref}/applications/import"):
        P.COMMISSIONING_MANAGE,
    ("GET", "/api/commissioning/rounds/{round_ref}/applications/{application_ref}"):
        P.COMMISSIONING_ASSESS,
    ("POST", "/api/commissioning/rounds/{round_ref}/conflicts"): P.COMMISSIONING_ASSESS,
    ("PUT", "/api/commissioning/rounds/{round_ref}/applications/{application_ref}/score"):
        P.COMMISSIONING_ASSESS,
    ("GET", "/api/commissioning/rounds/{round_ref}/scoring"): P.COMMISSIONING_READ,
    ("GET", "/api/commissioning/rounds/{round_ref}/agreement"): P.COMMISSIONING_READ,
    ("PUT", "/api/commissioning/rounds/{round_ref}/applications/{application_ref}/"
            "moderation"): P.COMMISSIONING_MANAGE,
    ("GET", "/api/commissioning/rounds/{round_ref}/ranking"): P.COMMISSIONING_READ,
    ("POST", "/api/commissioning/rounds/{round_ref}/allocation"): P.COMMISSIONING_MANAGE,
    ("GET", "/api/commissioning/rounds/{round_ref}/allocation"): P.COMMISSIONING_READ,
    ("GET", "/api/commissioning/rounds/{round_ref}/allocation/verify"):
        P.COMMISSIONING_READ,
    ("GET", "/api/commissioning/rounds/{round_ref}/publication/check"):
        P.COMMISSIONING_READ,
    ("POST", "/api/commissioning/rounds/{round_ref}/publication"): P.COMMISSIONING_MANAGE,
    ("GET", "/api/commissioning/rounds/{round_ref}/awards"): P.COMMISSIONING_READ,
    ("POST", "/api/commissioning/awards/{grant_id}/agreement"): P.COMMISSIONING_MANAGE,
    ("POST", "/api/commissioning/awards/{grant_id}/payments"): P.COMMISSIONING_MANAGE,
    # published funding rounds (anyone)
    ("GET", "/api/funding/rounds"): P.PUBLIC,
    ("GET", "/api/funding/rounds/{round_ref}"): P.PUBLIC,
    ("GET", "/api/funding/rounds/{round_ref}/360giving.json"): P.PUBLIC,
    ("GET", "/api/funding/rounds/{round_ref}/360giving.xlsx"): P.PUBLIC,
    # commissioning web pages (GOV.UK Design System)
    ("GET", "/assets/govuk-frontend.css"): P.PUBLIC,
    ("GET", "/sign-in"): P.PUBLIC,
    ("POST", "/api/auth/web-sign-in"): P.PUBLIC,
    ("POST", "/sign-out"): P.SIGNED_IN,
    ("GET", "/funding"): P.PUBLIC,
    ("GET", "/funding/{round_ref}"): P.PUBLIC,
    ("GET", "/funding/{round_ref}/360giving.json"): P.PUBLIC,
    ("GET", "/funding/{round_ref}/360giving.xlsx"): P.PUBLIC,
    ("GET", "/rounds"): P.COMMISSIONING_ASSESS,
    ("GET", "/rounds/new"): P.COMMISSIONING_MANAGE,
    ("POST", "/rounds/new"): P.COMMISSIONING_MANAGE,
    ("GET", "/rounds/{round_ref}"): P.COMMISSIONING_ASSESS,
    ("POST", "/rounds/{round_ref}/stage"): P.COMMISSIONING_MANAGE,
    ("GET", "/rounds/{round_ref}/applications/new"): P.COMMISSIONING_MANAGE,
    ("POST", "/rounds/{round_ref}/applications/new"): P.COMMISSIONING_MANAGE,
    ("GET", "/rounds/{round_ref}/applications/{application_ref}"): P.COMMISSIONING_ASSESS,
    ("POST", "/rounds/{round_ref}/applications/{application_ref}/score"):
        P.COMMISSIONING_ASSESS,
    ("POST", "/rounds/{round_ref}/applications/{application_ref}/conflict"):
        P.COMMISSIONING_ASSESS,
    ("GET", "/rounds/{round_ref}/moderation"): P.COMMISSIONING_READ,
    ("POST", "/rounds/{round_ref}/applications/{application_ref}/moderate"):
        P.COMMISSIONING_MANAGE,
    ("POST", "/rounds/{round_ref}/allocate"): P.COMMISSIONING_MANAGE,
    ("GET", "/rounds/{round_ref}/allocation"): P.COMMISSIONING_READ,
    ("POST", "/rounds/{round_ref}/publish"): P.COMMISSIONING_MANAGE,
    # register web pages (GOV.UK Design System; restricted but for the analysis page,
    # which shows everyone else only disclosure-controlled figures)
    ("GET", "/register/cases"): P.CASES_READ,
    ("GET", "/register/cases/{case_id}"): P.CASES_READ,
    ("POST", "/register/cases/{case_id}/coding"): P.CASES_CODE,
    ("GET", "/register/analysis"): P.REGISTER_SUMMARY,
    # administration
    ("GET", "/api/users"): P.USERS_MANAGE,
    ("POST", "/api/users"): P.USERS_MANAGE,
    ("POST", "/api/users/{username}/disable"): P.USERS_MANAGE,
    ("POST", "/api/users/{username}/enable"): P.USERS_MANAGE,
    ("POST", "/api/users/{username}/reset-password"): P.USERS_MANAGE,
    ("GET", "/api/audit"): P.AUDIT_READ,
    ("GET", "/api/audit/verify"): P.AUDIT_READ,
}


def permission_for(method: str, path: str | None) -> Permission | None:
    """The permission a route needs, or None if the route is not in the table."""
    if path is None:
        return None
    if method == "HEAD":
        method = "GET"
    return ROUTES.get((method, path))


def registered_routes(app: object) -> set[tuple[str, str]]:
    """Every (method, path) the application serves (HEAD counted as GET): its OpenAPI
    operations and its plain routes (the documentation pages)."""
    from fastapi import FastAPI

    if not isinstance(app, FastAPI):
        raise TypeError("registered_routes needs a FastAPI application")
    found: set[tuple[str, str]] = set()
    for path, operations in app.openapi().get("paths", {}).items():
        for method in operations:
            found.add((method.upper(), path))
    for route in app.routes:
        path = getattr(route, "path", None)
        for method in getattr(route, "methods", None) or ():
            if path is not None:
                found.add(("GET" if method == "HEAD" else method, path))
    return found
