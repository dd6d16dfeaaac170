"""The web pages (GOV.UK Design System) served beside the API: ``install(app)`` adds them.

Pages sit outside ``/api``; they pass the same role matrix (``access.ROUTES``), sessions and
CSRF checks as the API. A visitor who asks for a page that needs signing in is sent to the
sign-in page (for browsers: requests that accept HTML); API clients still get 401.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException


def install(app: FastAPI) -> None:
    """Add the pages' routes and the browser-friendly handling of 401 and 403."""
    from vru.interfaces.web.pages import error_page, login_redirect, router
    from vru.interfaces.web.register_pages import router as register_router

    app.include_router(router)
    app.include_router(register_router)

    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        path = request.url.path
        wants_html = "text/html" in request.headers.get("accept", "")
        if wants_html and not path.startswith("/api/") and exc.status_code in (401, 403):
            if exc.status_code == 401:
                target = path + (f"?{request.url.query}" if request.url.query else "")
                return login_redirect(target)
            principal = getattr(request.state, "principal", None)
            return error_page(request, principal, 403, "You cannot see this page",
                              str(exc.detail), "/funding")
        return await http_exception_handler(request, exc)

    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
