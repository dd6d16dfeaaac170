"""The records service's API: ``create_app`` builds the FastAPI application.

Every route passes ``deps.authorise`` (the role matrix, sessions, CSRF). Every response
carries ``Cache-Control: no-store`` (nothing from this service -- restricted records above
all -- is kept by browsers or proxies) and headers that stop it being framed or sniffed.
Errors from the use cases become plain JSON answers: 400/422 for requests that cannot be
done (with every problem of a refused file), 403, 404, 409. The OpenAPI description is at
``/api/openapi.json`` (and readable at ``/api/docs``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vru import __version__ as _vru_version
from vru.domain.problems import InputError
from vru.interfaces.api.deps import authorise
from vru.interfaces.api.routers import admin, auth, commissioning, meta, register
from vru.interfaces.web import install as install_web
from vru.services.records import Conflict, Forbidden, NotFound, RecordsService, UserError

DESCRIPTION = """
The records service of **vru**: the register of homicides and serious case reviews
(restricted), its disclosure-controlled aggregates, users and the audit log.

* Sign in with `POST /api/auth/login` (first get a token from `GET /api/auth/csrf`).
  Administrators, borough officers and case reviewers also give a one-time code.
* Send the session's `csrf_token` as the `X-CSRF-Token` header with every request that
  changes something.
* What each role may do is decided by one role matrix; case records are filtered per
  record (borough officers see their borough only) and per field (personal details for
  case reviewers only). Every change and every read of a case record is audited.
* Only `GET /api/register/summary` publishes figures, after disclosure control.
"""

DOCS_PATHS = frozenset({"/api/docs", "/api/redoc", "/api/docs/oauth2-redirect"})
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"cache-control", b"no-store"),
    (b"pragma", b"no-cache"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")


class SecurityHeaders:
    """ASGI middleware: no-store and protective headers on every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope.get("path") in DOCS_PATHS
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                headers = [h for h in message.get("headers", [])
                           if h[0].lower() not in {b"cache-control", b"pragma"}]
                headers += SECURITY_HEADERS
                if not docs and b"content-security-policy" not in names:
                    headers.append(API_CSP)
                if https:
                    headers.append((b"strict-transport-security",
                                    b"max-age=31536000; includeSubDomains"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _error(status: int, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status)


def _document_business_rule_errors(app: FastAPI) -> None:
    """A 422 is either FastAPI's list of validation errors or, when a request is well formed
    but breaks a rule of the service (``UserError``), one message: say both in the schema."""
    default = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = default()
            error = schema.get("components", {}).get("schemas", {}).get("HTTPValidationError")
            if error is not None:
                detail = error["properties"]["detail"]
                error["properties"]["detail"] = {
                    "title": "Detail",
                    "anyOf": [{k: v for k, v in detail.items() if k != "title"},
                              {"type": "string",
                               "description": "Why the service refused the request."}]}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(service: RecordsService | None = None, *, data_dir: Path | None = None
               ) -> FastAPI:
    """The API application over ``service`` (default: the records service of ``data_dir``,
    opened and migrated)."""
    svc = service or RecordsService.open(data_dir)
    app = FastAPI(
        title="vru records service",
        version=_vru_version,
        description=DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url="/api/redoc",
        swagger_ui_oauth2_redirect_url="/api/docs/oauth2-redirect",
        dependencies=[Depends(authorise)],
    )
    app.state.service = svc
    # The evidence store (for map outlines on public pages) lives in the same data directory.
    app.state.data_dir = data_dir
    for router in (meta.router, auth.router, register.router, admin.router,
                   commissioning.router):
        app.include_router(router)
    install_web(app)
    _document_business_rule_errors(app)
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(UserError)
    async def _user_error(_r: Request, exc: UserError) -> JSONResponse:
        return _error(422, str(exc))

    @app.exception_handler(NotFound)
    async def _not_found(_r: Request, exc: NotFound) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(Forbidden)
    async def _forbidden(_r: Request, exc: Forbidden) -> JSONResponse:
        return _error(403, str(exc))

    @app.exception_handler(Conflict)
    async def _conflict(_r: Request, exc: Conflict) -> JSONResponse:
        return _error(409, str(exc))

    @app.exception_handler(InputError)
    async def _input_error(_r: Request, exc: InputError) -> JSONResponse:
        problems = [{"file": p.file, "row": p.row, "column": p.column, "value": p.value,
                     "message": p.message, "action": p.action} for p in exc.problems]
        return _error(422, f"The file was refused: {exc.total} problem(s); nothing was "
                           "imported.", total=exc.total, problems=problems)

    return app
