"""Signing in and out, and the signed-in user's own account."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from vru.interfaces.api.deps import (
    FORM_TYPES,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    PrincipalDep,
    ServiceDep,
    client_address,
)
from vru.interfaces.api.schemas import CsrfOut, LoginIn, Me, Message, PasswordChangeIn, SignedInOut
from vru.services.records import (
    SIGN_IN_FAILED,
    Principal,
    SignInFailed,
    change_own_password,
    sign_in,
    sign_out,
)
from vru.services.security.csrf import new_login_token
from vru.services.security.roles import Permission

router = APIRouter(prefix="/api/auth", tags=["auth"])

_LOGIN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": LoginIn.model_json_schema()},
            "application/x-www-form-urlencoded": {"schema": LoginIn.model_json_schema()},
        },
    }
}


def me_of(principal: Principal) -> Me:
    return Me(username=principal.username, role=principal.role.value,
              borough=principal.borough,
              permissions=sorted(p.value for p in Permission if principal.can(p)))


@router.get("/csrf", response_model=CsrfOut, summary="A token for the sign-in form")
def login_csrf(svc: ServiceDep) -> JSONResponse:
    """A signed anti-forgery token, also set as a cookie; send it back with the sign-in
    request (``X-CSRF-Token`` header or ``csrf_token`` field)."""
    token = new_login_token(svc.settings.secret_key)
    response = JSONResponse({"csrf_token": token})
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True,
                        secure=svc.settings.cookie_secure, samesite="strict", path="/api/auth")
    return response


async def _login_body(request: Request) -> LoginIn:
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith(FORM_TYPES):
            form = await request.form()
            data: Any = {k: v for k, v in form.items() if isinstance(v, str)}
        else:
            data = json.loads(await request.body() or b"null")
        return LoginIn.model_validate(data)
    except (ValueError, ValidationError):
        raise HTTPException(422, "Send a username, a password and, for restricted roles, "
                                 "a one-time code.") from None


@router.post("/login", response_model=SignedInOut, openapi_extra=_LOGIN_BODY,
             responses={401: {"model": Message, "description": SIGN_IN_FAILED}},
             summary="Sign in")
async def login(request: Request, svc: ServiceDep, principal: PrincipalDep) -> JSONResponse:
    """Sign in with a username, password and (administrators, borough officers and case
    reviewers) a one-time code. Every failure gets the same answer. On success a session
    cookie is set and the session's CSRF token returned."""
    body = await _login_body(request)
    try:
        signed = await run_in_threadpool(sign_in, svc, body.username, body.password,
                                         body.one_time_code, client_address(request))
    except SignInFailed:
        return JSONResponse({"detail": SIGN_IN_FAILED}, status_code=401)
    if principal.session_id is not None:  # a new sign-in replaces the old session
        await run_in_threadpool(sign_out, svc, principal)
    out = SignedInOut(csrf_token=signed.csrf_token, user=me_of(signed.principal))
    response = JSONResponse(out.model_dump())
    response.set_cookie(SESSION_COOKIE, signed.token, httponly=True,
                        secure=svc.settings.cookie_secure, samesite="lax", path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/api/auth")
    return response


@router.post("/logout", response_model=Message, summary="Sign out")
def logout(svc: ServiceDep, principal: PrincipalDep) -> JSONResponse:
    """End this session: its cookie stops working at once, everywhere."""
    sign_out(svc, principal)
    response = JSONResponse({"detail": "Signed out."})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=Me, summary="Who am I")
def me(principal: PrincipalDep) -> Me:
    return me_of(principal)


@router.post("/password", response_model=Message, summary="Change my password")
def change_password(body: PasswordChangeIn, svc: ServiceDep, principal: PrincipalDep
                    ) -> Message:
    """Change your password (at least 12 characters, not a common password; no other
    rules). Your other sessions end."""
    change_own_password(svc, principal, body.current_password, body.new_password)
    return Message(detail="Password changed.")
