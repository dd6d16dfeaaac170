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
