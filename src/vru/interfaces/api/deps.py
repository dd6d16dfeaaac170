"""Typed dependencies of the API: the service, who is asking, and the checks every route gets.

``authorise`` runs for every API route (it is the application's dependency): it finds the
route's permission in ``access.ROUTES``, works out the principal from the session cookie
(a visitor without one), refuses what the role may not do (401 for visitors, 403 for
signed-in users), and for requests that change things checks the CSRF token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from vru.interfaces.api.access import permission_for
from vru.services.records import Principal, RecordsService, principal_for_token, visitor
from vru.services.security.csrf import login_token_valid, session_token_valid

SESSION_COOKIE = "vru_session"
LOGIN_CSRF_COOKIE = "vru_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def get_service(request: Request) -> RecordsService:
    service: RecordsService = request.app.state.service
    return service


ServiceDep = Annotated[RecordsService, Depends(get_service)]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def current_principal(request: Request, svc: ServiceDep) -> Principal:
    """The signed-in principal for the session cookie, else a visitor."""
    client = client_address(request)
    token = request.cookies.get(SESSION_COOKIE)
    principal = principal_for_token(svc, token, client) if token else None
    request.state.session_cookie_invalid = bool(token) and principal is None
    principal = principal or visitor(client)
    request.state.principal = principal
    return principal


async def submitted_csrf_token(request: Request) -> str | None:
    """The CSRF token sent with a request: the header, else the form field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(FORM_TYPES):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def authorise(
    request: Request,
    svc: ServiceDep,
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    """Route-level permission (the role matrix) and CSRF, for every route."""
    route = request.scope.get("route")
    permission = permission_for(request.method, getattr(route, "path", None))
    if permission is None:
        raise HTTPException(403, "This route is not open to anyone (it is not in the "
                                 "access table).")
    if not principal.can(permission):
        if not principal.signed_in:
            detail = ("Your session has ended; sign in again."
                      if getattr(request.state, "session_cookie_invalid", False)
                      else "Sign in to do this.")
            raise HTTPException(401, detail)
        raise HTTPException(403, "Your role does not allow this.")
    if request.method not in SAFE_METHODS:
        submitted = await submitted_csrf_token(request)
        if principal.signed_in:
            ok = session_token_valid(principal.csrf_token, submitted)
        else:
            ok = await run_in_threadpool(login_token_valid, svc.settings.secret_key,
                                         request.cookies.get(LOGIN_CSRF_COOKIE), submitted)
        if not ok:
            raise HTTPException(403, "The security token is missing or out of date: reload "
                                     "the page and try again.")
    return principal


PrincipalDep = Annotated[Principal, Depends(authorise)]
