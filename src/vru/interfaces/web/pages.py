"""GOV.UK Design System pages of the commissioning framework.

Commissioning managers create rounds, enter applications, moderate, allocate and publish;
assessors score and declare conflicts; anyone reads a published round at ``/funding/REF``.
Every form is validated on the server and, when something is wrong, shown again with the
GOV.UK error summary (linking to each field) and the message beside the field, with what
was typed kept. Every form carries the session's CSRF token (``deps.authorise`` checks it);
after a change the browser is sent on with a 303 (post/redirect/get).

Signing in: ``GET /sign-in`` shows the form; it posts to ``/api/auth/web-sign-in`` (under
``/api/auth`` so that its anti-forgery cookie is the sign-in API's, scoped to that path) and
is sent on to the page asked for. Signing out posts the form's confirmation to
``/sign-out``.

Pages are HTML with their own Content-Security-Policy: styles only from this site (GOV.UK
Frontend, built by ``make setup`` and reused from the SNA report's assets) and the one
inline style block by its hash; images and fonts from this site or ``data:``; no scripts.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from vru.domain.commissioning.applications import parse_money
from vru.domain.commissioning.criteria import (
    DEFAULT_CRITERIA,
    RUBRIC,
    SOURCE_LABELS,
    Criterion,
    CriterionSource,
)
from vru.domain.commissioning.rounds import LEVEL_LABELS, AwardLevel, RoundTerms
from vru.domain.commissioning.threesixtygiving import Funder
from vru.domain.problems import InputError
from vru.interfaces.api.deps import LOGIN_CSRF_COOKIE, SESSION_COOKIE, PrincipalDep, ServiceDep
from vru.interfaces.web.maps import MapPlace, svg_map
from vru.services import commissioning as cm
from vru.services.records import (
    Forbidden,
    NotFound,
    Principal,
    RecordsService,
    SignInFailed,
    UserError,
    sign_in,
    sign_out,
)
from vru.services.security.csrf import new_login_token
from vru.services.security.roles import ROLE_LABELS, Permission

router = APIRouter(tags=["web pages"])
P = Permission
SERVICE_NAME = "Funding rounds"
ORGANISATION = "Violence Reduction Unit"
STYLESHEET_PATH = "/assets/govuk-frontend.css"
SIGN_IN_ACTION = "/api/auth/web-sign-in"
PAGE_CSS = (".vru-map{width:100%;height:auto;max-width:640px;display:block}"
            ".vru-legend li{display:inline-block;margin-right:1.5em}"
            ".vru-swatch{width:1em;height:1em;vertical-align:middle}"
            ".vru-inline{display:inline}.vru-user-bar{margin-top:10px}"
            ".vru-small-button{margin:0 0 0 1em;padding:2px 8px}"
            ".vru-grant{margin-bottom:1em}.vru-figure{margin:0 0 2em 0}")
NOTICES: dict[str, str] = {
    "created": "The round was created. Check its places and criteria, then open it.",
    "opened": "The round is open for applications.",
    "assessing": "The round is closed to applications; assessment has started.",
    "application": "The application was added.",
    "scored": "Your scores were saved.",
    "conflict": "Your conflict of interest was recorded; you will not score this "
                "application.",
    "moderated": "The moderated scores were saved.",
    "allocated": "The budget was allocated. Check every decision before publishing.",
    "published": "The awards are published.",
}


def _money(value: Any) -> str:
    if value is None or value == "":
        return ""
    return f"£{float(value):,.0f}"


def _number(value: Any) -> str:
    if value is None:
        return ""
    return f"{float(value):,.0f}"


def _date(value: Any) -> str:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f"{value.day} {value:%B %Y}"
    if isinstance(value, str) and value:
        try:
            return _date(date.fromisoformat(value[:10]))
        except ValueError:
            return value
    return ""


ENV = Environment(loader=PackageLoader("vru.interfaces.web", "templates"),
                  autoescape=select_autoescape(["html"]), trim_blocks=True,
                  lstrip_blocks=True)
ENV.filters.update(money=_money, number=_number, date=_date)
STYLE_HASH = base64.b64encode(hashlib.sha256(PAGE_CSS.encode("utf-8")).digest()).decode()
CSP = ("default-src 'none'; style-src 'self' 'sha256-" + STYLE_HASH + "'; "
       "img-src 'self' data:; font-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


def govuk_stylesheet() -> Path | None:
    """The GOV.UK Frontend stylesheet built for the SNA report (fonts and images inlined),
    if ``make setup`` has built it."""
    try:
        from vru.interfaces.report.assets import ASSET_DIR
    except ImportError:  # pragma: no cover - the report package is part of vru
        return None
    path = Path(ASSET_DIR) / "govuk-frontend.css"
    return path if path.is_file() else None


def render(request: Request, template: str, principal: Principal | None, *,
           status: int = 200, public: bool = False, **context: Any) -> HTMLResponse:
    user = None
    if principal is not None and principal.signed_in and not principal.system:
        user = {"username": principal.username, "role_label": ROLE_LABELS[principal.role]}
    notice = NOTICES.get(request.query_params.get("done", ""))
    html = ENV.get_template(template).render(
        service_name=SERVICE_NAME, organisation=ORGANISATION, page_css=PAGE_CSS,
        stylesheet=STYLESHEET_PATH if govuk_stylesheet() else None, user=user,
        csrf_token=principal.csrf_token if principal else None, public=public,
        notice=notice, errors=context.pop("errors", {}), **context)
    return HTMLResponse(html, status_code=status,
                        headers={"content-security-policy": CSP})


def error_page(request: Request, principal: Principal | None, status: int, heading: str,
               message: str, back: str = "") -> HTMLResponse:
    return render(request, "error.html", principal, status=status, title=heading,
                  heading=heading, message=message, back=back)


def _done(path: str, what: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?done={what}", status_code=303)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v.strip() for k, v in form.items() if isinstance(v, str)}


def _failure(request: Request, principal: Principal, exc: Exception) -> HTMLResponse:
    if isinstance(exc, NotFound):
        return error_page(request, principal, 404, "Page not found", str(exc), "/rounds")
    if isinstance(exc, Forbidden):
        return error_page(request, principal, 403, "You cannot do this", str(exc), "/rounds")
    raise exc


# --------------------------------------------------------------------------- assets


@router.get(STYLESHEET_PATH)
def stylesheet() -> Response:
    path = govuk_stylesheet()
    if path is None:
        return Response("/* GOV.UK Frontend is not built: run make setup */",
                        media_type="text/css", status_code=404)
    return FileResponse(path, media_type="text/css")


# --------------------------------------------------------------------------- signing in


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/rounds"


@router.get("/sign-in")
def sign_in_page(request: Request, svc: ServiceDep, principal: PrincipalDep) -> Response:
    token = new_login_token(svc.settings.secret_key)
    response = render(request, "sign_in.html", principal, title="Sign in",
                      login_token=token, next=_safe_next(request.query_params.get("next")),
                      values={}, action=SIGN_IN_ACTION)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True,
                        secure=svc.settings.cookie_secure, samesite="strict",
                        path="/api/auth")
    return response


@router.post(SIGN_IN_ACTION)
async def sign_in_form(request: Request, svc: ServiceDep, principal: PrincipalDep
                       ) -> Response:
    form = await _form(request)
    errors: dict[str, str] = {}
    if not form.get("username"):
        errors["username"] = "Enter your username"
    if not form.get("password"):
        errors["password"] = "Enter your password"
    if not errors:
        try:
            signed = await run_in_threadpool(sign_in, svc, form["username"],
                                             form["password"],
                                             form.get("one_time_code") or None,
                                             request.client.host if request.client else None)
        except SignInFailed as exc:
            errors["username"] = str(exc)
        else:
            if principal.session_id is not None:
                await run_in_threadpool(sign_out, svc, principal)
            done = RedirectResponse(_safe_next(form.get("next")), status_code=303)
            done.set_cookie(SESSION_COOKIE, signed.token, httponly=True,
                            secure=svc.settings.cookie_secure, samesite="lax", path="/")
            done.delete_cookie(LOGIN_CSRF_COOKIE, path="/api/auth")
            return done
    token = new_login_token(svc.settings.secret_key)
    response = render(request, "sign_in.html", None, status=422, title="Sign in",
                      login_token=token, next=_safe_next(form.get("next")),
                      values={"username": form.get("username", "")}, errors=errors,
                      action=SIGN_IN_ACTION)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True,
                        secure=svc.settings.cookie_secure, samesite="strict",
                        path="/api/auth")
    return response


@router.post("/sign-out")
async def sign_out_form(request: Request, svc: ServiceDep, principal: PrincipalDep
                        ) -> Response:
    form = await _form(request)
    if form.get("confirm") != "yes":
        return error_page(request, principal, 400, "Not signed out",
                          "Use the Sign out button to sign out.", "/rounds")
    await run_in_threadpool(sign_out, svc, principal)
    response = RedirectResponse("/funding", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --------------------------------------------------------------------------- rounds


def _criteria_rows(criteria: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**c, "source_label": SOURCE_LABELS[CriterionSource(c["source"])]}
            for c in criteria]


@router.get("/rounds")
def rounds_page(request: Request, svc: ServiceDep, principal: PrincipalDep) -> Response:
    return render(request, "rounds.html", principal, title="Funding rounds",
                  rounds=cm.list_rounds(svc, principal),
                  can_manage=principal.can(P.COMMISSIONING_MANAGE))


def _new_round_context(values: Mapping[str, str]) -> dict[str, Any]:
    return {"levels": [(lv.value, LEVEL_LABELS[lv].capitalize()) for lv in AwardLevel],
            "criteria": _criteria_rows([c.as_dict() for c in DEFAULT_CRITERIA]),
            "values": values}


def _defaults() -> dict[str, str]:
    out = {"level": AwardLevel.BOROUGH.value, "quality_threshold": "50"}
    out.update({f"weight_{c.key}": str(c.weight) for c in DEFAULT_CRITERIA})
    return out


@router.get("/rounds/new")
def new_round_page(request: Request, principal: PrincipalDep) -> Response:
    principal.require(P.COMMISSIONING_MANAGE)
    return render(request, "round_new.html", principal, title="Create a funding round",
                  **_new_round_context(_defaults()))


@router.post("/rounds/new")
async def create_round_form(request: Request, svc: ServiceDep, principal: PrincipalDep
                            ) -> Response:
    form_data = await request.form()
    values = {k: v.strip() for k, v in form_data.items() if isinstance(v, str)}
    upload = form_data.get("decision")
    errors: dict[str, str] = {}
    for name, label in (("title", "Enter a title"), ("reference", "Enter a short reference"),
                        ("fund_name", "Enter the fund")):
        if not values.get(name):
            errors[name] = label
    try:
        level = AwardLevel(values.get("level", ""))
    except ValueError:
        errors["level"] = "Choose the level of award"
        level = AwardLevel.BOROUGH
    record: dict[str, Any] | None = None
    if upload is None or isinstance(upload, str) or not upload.filename:
        errors["decision"] = "Choose the decision record file"
    else:
        try:
            record = json.loads((await upload.read()).decode("utf-8-sig"))
            if not isinstance(record, dict) or "result" not in record:
                raise ValueError
        except (ValueError, UnicodeDecodeError):
            errors["decision"] = "The file must be a priority-places decision record (JSON)"
            record = None
    money: dict[str, int | None] = {}
    for name, label in (("budget", "the budget"), ("min_award", "the smallest award"),
                        ("max_award", "the largest award"), ("cap", "the cap")):
        text = values.get(name, "")
        if not text:
            if name != "cap":
                errors[name] = f"Enter {label}"
            money[name] = None
            continue
        amount = parse_money(text)
        if amount is None or amount <= 0:
            errors[name] = f"Enter {label} in whole pounds, like 250000"
        money[name] = amount
    threshold = 50.0
    try:
        threshold = float(values.get("quality_threshold") or "50")
        if not 0 <= threshold <= 100:
            raise ValueError
    except ValueError:
        errors["quality_threshold"] = "Enter a quality threshold from 0 to 100"
    criteria: list[Criterion] = []
    for c in DEFAULT_CRITERIA:
        text = values.get(f"weight_{c.key}", "")
        if not text.isdigit() or not 1 <= int(text) <= 100:
            errors[f"weight_{c.key}"] = f"Enter a weight from 1 to 100 for {c.title.lower()}"
            continue
        criteria.append(Criterion(c.key, c.title, c.description, int(text), c.source,
                                  c.guidance))
    if len(criteria) == len(DEFAULT_CRITERIA) and sum(c.weight for c in criteria) != 100:
        errors[f"weight_{DEFAULT_CRITERIA[0].key}"] = (
            f"The weights add up to {sum(c.weight for c in criteria)}; they must add up "
            "to 100")
    places = []
    if record is not None and not errors.get("level"):
        try:
            places = cm.places_from_decision(record, level, default_cap=money.get("cap"))
            if not places:
                errors["decision"] = "The decision record picked no places at this level"
        except (ValueError, KeyError, TypeError) as exc:
            errors["decision"] = f"The decision record cannot be used: {exc}"
    if not errors and record is not None:
        spec = cm.RoundSpec(
            reference=values["reference"], title=values["title"],
            fund_name=values["fund_name"], description=values.get("description", ""),
            level=level, terms=RoundTerms(int(money["budget"] or 0),
                                          int(money["min_award"] or 0),
                                          int(money["max_award"] or 0), threshold),
            funder=Funder("360G-vru", ORGANISATION, prefix="360G-vru"),
            criteria=tuple(criteria))
        outlines, background, _why = await run_in_threadpool(
            cm.outlines_for, getattr(request.app.state, "data_dir", None), record, level,
            places)
        try:
            created = await run_in_threadpool(cm.create_round, svc, principal, spec, places,
                                              cm.decision_summary(record), outlines,
                                              background)
        except UserError as exc:
            errors["reference" if "round called" in str(exc) or "reference" in str(exc)
                   else "budget"] = str(exc)
        else:
            return _done(f"/rounds/{created['reference']}", "created")
    return render(request, "round_new.html", principal, status=422,
                  title="Create a funding round", errors=errors,
                  **_new_round_context(values))


@router.get("/rounds/{round_ref}")
def round_page(round_ref: str, request: Request, svc: ServiceDep, principal: PrincipalDep
               ) -> Response:
    try:
        r = cm.get_round(svc, principal, round_ref)
        apps = cm.list_applications(svc, principal, round_ref)
    except (NotFound, Forbidden) as exc:
        return _failure(request, principal, exc)
    return render(request, "round.html", principal, title=r["title"], r=r,
                  criteria=_criteria_rows(r["criteria"]), applications=apps,
                  place_names={p["code"]: p["name"] for p in r["places"]},
                  can_manage=principal.can(P.COMMISSIONING_MANAGE))


@router.post("/rounds/{round_ref}/stage")
async def stage_form(round_ref: str, request: Request, svc: ServiceDep,
                     principal: PrincipalDep) -> Response:
    form = await _form(request)
    to = form.get("to", "")
    try:
        await run_in_threadpool(cm.move_round, svc, principal, round_ref, to)
    except (NotFound, Forbidden) as exc:
        return _failure(request, principal, exc)
    except UserError as exc:
        return _round_with_error(request, svc, principal, round_ref, str(exc))
    return _done(f"/rounds/{round_ref}", {"open": "opened", "assessing": "assessing"}.get(
        to, ""))


def _round_with_error(request: Request, svc: RecordsService, principal: Principal,
                      round_ref: str, message: str) -> HTMLResponse:
    r = cm.get_round(svc, principal, round_ref)
    apps = cm.list_applications(svc, principal, round_ref)
    return render(request, "round.html", principal, status=422, title=r["title"], r=r,
                  criteria=_criteria_rows(r["criteria"]), applications=apps,
                  place_names={p["code"]: p["name"] for p in r["places"]},
                  can_manage=principal.can(P.COMMISSIONING_MANAGE),
                  errors={"round-stage": message})


# --------------------------------------------------------------------------- applications


def _application_form(request: Request, svc: RecordsService, principal: Principal,
                      round_ref: str, values: Mapping[str, str], errors: Mapping[str, str],
                      status: int = 200) -> HTMLResponse:
    r = cm.get_round(svc, principal, round_ref)
    places = [(p["code"], p["name"]) for p in r["places"]]
    approaches = [(e.key, f"{e.name} (impact: {e.impact.value})") for e in cm.catalogue(svc)]
    return render(request, "application_new.html", principal, status=status,
                  title="Add an application", r=r, places=places, interventions=approaches,
                  values=values, errors=dict(errors))


@router.get("/rounds/{round_ref}/applications/new")
def new_application_page(round_ref: str, request: Request, svc: ServiceDep,
                         principal: PrincipalDep) -> Response:
    principal.require(P.COMMISSIONING_MANAGE)
    try:
        return _application_form(request, svc, principal, round_ref, {}, {})
    except (NotFound, Forbidden) as exc:
        return _failure(request, principal, exc)


@router.post("/rounds/{round_ref}/applications/new")
async def add_application_form(round_ref: str, request: Request, svc: ServiceDep,
                               principal: PrincipalDep) -> Response:
    values = await _form(request)
    values.pop("csrf_token", None)
    errors: dict[str, str] = {}
    for name, message in (("place", "Choose the place"),
                          ("intervention", "Choose the approach")):
        if not values.get(name):
            errors[name] = message
    try:
        if not errors:
            await run_in_threadpool(cm.add_application, svc, principal, round_ref, values)
            return _done(f"/rounds/{round_ref}", "application")
    except InputError as exc:
        for p in exc.problems:
            if p.column and p.column not in errors:
                errors[p.column] = f"{_label(p.column)} {p.message}. {p.action}."
    except UserError as exc:
        errors["organisation_name"] = str(exc)
    except (NotFound, Forbidden) as exc:
        return _failure(request, principal, exc)
    if not errors:
        errors["organisation_name"] = "The application could not be added"
    return _application_form(request, svc, principal, round_ref, values, errors, 422)


def _label(column: str) -> str:
    return column.replace("_", " ").capitalize()


def _application_page(request: Request, svc: RecordsService, principal: Principal,
                      round_ref: str, application_ref: str, values: Mapping[str, str],
                      errors: Mapping[str, str], status: int = 200) -> HTMLResponse:
    r = cm.get_round(svc, principal, round_ref)
    a = cm.get_application(svc, principal, round_ref, application_ref)
    catalogue_map = {e.key: e for e in cm.catalogue(svc)}
    entry = catalogue_map.get(a["intervention_key"])
    place_name = next((p["name"] for p in r["places"] if p["code"] == a["place_code"]),
                      a["place_code"])
    mine = next((s for s in a["scores"] if s["assessor"] == principal.username), None)
    shown = dict(values)
    if mine is not None and not values:
        shown = {f"points_{k}": str(v) for k, v in mine["points"].items()}
        shown["comment"] = mine["comment"]
    assessed = [c for c in r["criteria"] if c["source"] == CriterionSource.ASSESSORS.value]
    rubric = [(str(k), f"{k} {label}") for k, (label, _what) in RUBRIC.items()]
    return render(request, "application.html", principal, status=status,
                  title=f"{a['reference']}: {a['title']}", r=r, a=a,
                  place_name=place_name,
                  intervention_text=entry.plain() if entry else a["intervention_key"],
                  assessed=assessed, rubric=rubric, conflicts=a.get("conflicts", []),
                  values=shown, errors=dict(errors))


@router.get("/rounds/{round_ref}/applications/{application_ref}")
def application_page(round_ref: str, application_ref: str, request: Request,
                     svc: ServiceDep, principal: PrincipalDep) -> Response:
    try:
        return _application_page(request, svc, principal, round_ref, application_ref, {}, {})
    except (NotFound, Forbidden) as exc:
        return _failure(request, principal, exc)


def _points(values: Mapping[str, str], criteria: list[dict[str, Any]]
            ) -> tuple[dict[str, int], dict[str, str]]:
    points: dict[str, int] = {}
    errors: dict[str, str] = {}
    for c in criteria:
        if c["source"] != CriterionSource.ASSESSORS.value:
            continue
        raw = values.get(f"points_{c['key']}", "")
        if raw not in {str(k) for k in RUBRIC}:
            errors[f"points_{c['key']}"] = f"Select the points for {c['title'].lower()}"
        else:
            points[c["key"]] = int(raw)
    return points, errors


@router.post("/rounds/{round_ref}/applications/{application_ref}/score")
async def score_form(round_ref: str, application_ref: str, request: Request,
                     svc: ServiceDep, principal: PrincipalDep) -> Response:
    values = await _form(request)
    try:
        r = cm.get_round(svc, principal, round_ref)
        points, errors = _points(values, r["criteria"])
        if not errors:
            try:
                await run_in_threadpool(cm.score_application, svc, principal, round_ref,
                                        application_ref, points, values.get("comment", ""))
                return _done(f"/rounds/{round_ref}/applications/{application_ref}",
                             "scored")
            except UserError as exc:
                first = next(c["key"] for c in r["criteria"]
                             if c["source"] == CriterionSource.ASSESSORS.value)
                errors[f"points_{first}"] = str(exc)
        return _application_page(request, svc, principal, round_ref, application_ref,
                                 values, errors, 422)
    except (NotFound, Forbidden) as exc:
        return _failure(request, principal, exc)


@router.post("/rounds/{round_ref}/applications/{application_ref}/conflict")
async def conflict_form(round_ref: str, application_ref: str, request: Request,
                        svc: ServiceDep, principal: PrincipalDep) -> Response:
    values = await _form(request)
    try:
        if not values.get("nature"):
            return _application_page(request, svc, principal, round_ref, application_ref,
                                     values, {"nature": "Say what the conflict is"}, 422)
        try:
            await run_in_threadpool(cm.declare_conflict, svc, principal, round_ref,
                                    values["nature"], application=application_ref)
        except UserError as exc:
            return _application_page(request, svc, principal, round_ref, application_ref,
                                     values, {"nature": str(exc)}, 422)
        return _done(f"/rounds/{round_ref}/applications/{application_ref}", "conflict")
    except (NotFound, Forbidden) as exc:
        return _failure(request, principal, exc)


# --------------------------------------------------------------------------- moderation


def _moderation_page(request: Request, svc: RecordsService, principal: Principal,
                     round_ref: str, values: Mapping[str, str], errors: Mapping[str, str],
                     status: int = 200) -> HTMLResponse:
    r = cm.get_round(svc, principal, round_ref)
    status_rows = cm.scoring_status(svc, principal, round_ref)
    queue = [x for x in status_rows if x["state"] == "needs moderation"]
    waiting = [x for x in status_rows if x["state"] == "awaiting scores"]
    assessed = [c for c in r["criteria"] if c["source"] == CriterionSource.ASSESSORS.value]
    rubric = [(str(k), f"{k} {label}") for k, (label, _what) in RUBRIC.items()]
    return render(request, "moderation.html", principal, status=status, title="Moderation",
                  r=r, queue=queue, waiting=waiting, assessed=assessed, rubric=rubric,
                  values=values, errors=dict(errors),
                  can_manage=principal.can(P.COMMISSIONING_MANAGE))


@router.get("/rounds/{round_ref}/moderation")
def moderation_page(round_ref: str, request: Request, svc: ServiceDep,
                    principal: PrincipalDep) -> Response:
    try:
        return _moderation_page(request, svc, principal, round_ref, {}, {})
    except (NotFound, Forbidden) as exc:
        return _failure(request, principal, exc)


@router.post("/rounds/{round_ref}/applications/{application_ref}/moderate")
async def moderate_form(round_ref: str, application_ref: str, request: Request,
                        svc: ServiceDep, principal: PrincipalDep) -> Response:
    values = await _form(request)
    values["reference"] = application_ref
    try:
        r = cm.get_round(svc, principal, round_ref)
        points, errors = _points(values, r["criteria"])
        if not values.get("reason"):
            errors["reason"] = "Give the reason for the agreed points"
        if not errors:
            try:
                await run_in_threadpool(cm.moderate, svc, principal, round_ref,
                                        application_ref, points, values["reason"])
                return _done(f"/rounds/{round_ref}/moderation", "moderated")
            except UserError as exc:
                errors["reason"] = str(exc)
        return _moderation_page(request, svc, principal, round_ref, values, errors, 422)
    except (NotFound, Forbidden) as exc:
        return _failure(request, principal, exc)


# --------------------------------------------------------------------------- allocation


@router.post("/rounds/{round_ref}/allocate")
async def allocate_form(round_ref: str, request: Request, svc: ServiceDep,
                        principal: PrincipalDep) -> Response:
    try:
        await run_in_threadpool(cm.allocate, svc, principal, round_ref)
    except (NotFound, Forbidden) as exc:
        return _failure(request, principal, exc)
    except UserError as exc:
        return _round_with_error(request, svc, principal, round_ref, str(exc))
    return _done(f"/rounds/{round_ref}/allocation", "allocated")


@router.get("/rounds/{round_ref}/allocation")
def allocation_page(round_ref: str, request: Request, svc: ServiceDep,
                    principal: PrincipalDep) -> Response:
    try:
        r = cm.get_round(svc, principal, round_ref)
        record = cm.allocation(svc, principal, round_ref)
    except (NotFound, Forbidden) as exc:
        return _failure(request, principal, exc)
    except UserError as exc:
        return error_page(request, principal, 409, "Not allocated yet", str(exc),
                          f"/rounds/{round_ref}")
    return render(request, "allocation.html", principal, title="Allocation", r=r,
                  allocation=record, result=record["result"],
                  can_manage=principal.can(P.COMMISSIONING_MANAGE))


@router.post("/rounds/{round_ref}/publish")
async def publish_form(round_ref: str, request: Request, svc: ServiceDep,
                       principal: PrincipalDep) -> Response:
    from vru.interfaces.api.routers.commissioning import public_base_url

    try:
        await run_in_threadpool(cm.publish, svc, principal, round_ref,
                                public_base_url(request))
    except (NotFound, Forbidden) as exc:
        return _failure(request, principal, exc)
    except UserError as exc:
        return _round_with_error(request, svc, principal, round_ref, str(exc))
    return _done(f"/funding/{round_ref}", "published")


# --------------------------------------------------------------------------- public


@router.get("/funding")
def public_list_page(request: Request, svc: ServiceDep, principal: PrincipalDep
                     ) -> Response:
    return render(request, "public_list.html", principal, public=True,
                  title="Published funding rounds", rounds=cm.public_rounds(svc))


@router.get("/funding/{round_ref}")
def public_round_page(round_ref: str, request: Request, svc: ServiceDep,
                      principal: PrincipalDep) -> Response:
    try:
        p = cm.public_round(svc, round_ref)
    except NotFound as exc:
        return error_page(request, principal, 404, "Page not found", str(exc), "/funding")
    places = [MapPlace(pl["code"], pl["name"], pl["geometry"], int(pl["awarded"]))
              for pl in p["places"]]
    funded = [pl["name"] for pl in p["places"] if pl["awarded"] > 0]
    drawn = svg_map(places, p["background"], title=f"Map of {p['title']}",
                    description=(f"{len(p['places'])} eligible places; money went to "
                                 f"{len(funded)}: {', '.join(funded)}. The table below "
                                 "gives every amount."))
    return render(request, "public_round.html", principal, public=True, title=p["title"],
                  p=p, map=drawn)


@router.get("/funding/{round_ref}/360giving.json")
def public_json(round_ref: str, request: Request, svc: ServiceDep, principal: PrincipalDep
                ) -> Response:
    from vru.interfaces.api.routers.commissioning import published_json

    try:
        return published_json(round_ref, svc)
    except NotFound as exc:
        return error_page(request, principal, 404, "Page not found", str(exc), "/funding")


@router.get("/funding/{round_ref}/360giving.xlsx")
def public_xlsx(round_ref: str, request: Request, svc: ServiceDep, principal: PrincipalDep
                ) -> Response:
    from vru.interfaces.api.routers.commissioning import published_xlsx

    try:
        return published_xlsx(round_ref, svc)
    except NotFound as exc:
        return error_page(request, principal, 404, "Page not found", str(exc), "/funding")


def login_redirect(path: str) -> RedirectResponse:
    return RedirectResponse(f"/sign-in?next={quote(path)}", status_code=303)
