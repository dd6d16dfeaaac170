"""GOV.UK Design System pages of the register of homicides and serious case reviews.

Restricted: case reviewers list, view and code cases; borough (CSP) officers list and view
their own borough's cases without personal details or codings (the services decide, per
record and per field, exactly as for the API; every listing and view is audited). The
analysis page shows case reviewers the unsuppressed pattern analysis and everyone else only
the disclosure-controlled figures.

The pages follow the commissioning pages (``pages.py``): the same stylesheet, security
policy, CSRF field, server-side validation with the GOV.UK error summary and post/redirect/
get. ``Cache-Control: no-store`` is set on every response by the application's middleware.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from vru.domain.register.cases import CASE_VOCABULARIES
from vru.domain.register.vocabulary import (
    CODING_ROUNDS,
    FACTOR_BY_CODE,
    FACTOR_GROUPS,
    FACTORS,
)
from vru.interfaces.api.deps import PrincipalDep, ServiceDep
from vru.interfaces.web.pages import CSP, ENV, ORGANISATION, PAGE_CSS, STYLESHEET_PATH
from vru.interfaces.web.pages import govuk_stylesheet as _stylesheet
from vru.services import register as reg
from vru.services.records import Forbidden, NotFound, Principal, RecordsService, UserError
from vru.services.security.roles import ROLE_LABELS, Permission

router = APIRouter(tags=["web pages"])
P = Permission
SERVICE_NAME = "Register of homicides and serious case reviews"
PAGE_SIZE = 50
ANSWERS: tuple[tuple[str, str], ...] = (("yes", "Yes"), ("no", "No"),
                                        ("not_known", "Not known"))
_ANSWER_VALUES: dict[str, bool | None] = {"yes": True, "no": False, "not_known": None}
NOTICES: dict[str, str] = {"coded": "The coding was saved."}
FIELD_LABELS: dict[str, str] = {
    "reference": "Reference", "year": "Year", "borough": "Borough", "ward": "Ward",
    "incident_date": "Date of incident", "method": "Method", "relationship":
    "Relationship to suspect", "review_type": "Review type", "review_status": "Review status",
    "victim_age_band": "Victim's age", "victim_sex": "Victim's sex",
    "victim_ethnicity": "Victim's ethnic group", "suspect_age_band": "Suspect's age",
    "suspect_sex": "Suspect's sex", "suspect_ethnicity": "Suspect's ethnic group",
    "codings": "Factor codings",
}
SHOWN_FIELDS: tuple[str, ...] = (
    "year", "incident_date", "borough", "ward", "method", "relationship", "victim_age_band",
    "victim_sex", "victim_ethnicity", "suspect_age_band", "suspect_sex", "suspect_ethnicity",
    "review_type", "review_status")


def _coded(column: str, value: Any) -> str:
    """A stored value as people read it (the vocabulary's label)."""
    if value is None or value == "":
        return "Not recorded"
    vocab = CASE_VOCABULARIES.get(column)
    if vocab is not None and value in vocab:
        return vocab.label(str(value))
    return str(value)


def _answer(value: bool | None) -> str:
    return "Not known" if value is None else ("Yes" if value else "No")


ENV.filters.update(coded=_coded, answer=_answer)


def render(request: Request, template: str, principal: Principal, *, status: int = 200,
           **context: Any) -> HTMLResponse:
    user = None
    if principal.signed_in and not principal.system:
        user = {"username": principal.username, "role_label": ROLE_LABELS[principal.role]}
    html = ENV.get_template(template).render(
        service_name=SERVICE_NAME, organisation=ORGANISATION, page_css=PAGE_CSS,
        stylesheet=STYLESHEET_PATH if _stylesheet() else None, user=user,
        csrf_token=principal.csrf_token, can_read=principal.can(P.CASES_READ),
        notice=NOTICES.get(request.query_params.get("done", "")),
        errors=context.pop("errors", {}), **context)
    return HTMLResponse(html, status_code=status, headers={"content-security-policy": CSP})


def _failure(request: Request, principal: Principal, exc: Exception) -> HTMLResponse:
    status, heading = (404, "Page not found") if isinstance(exc, NotFound) else \
        (403, "You cannot do this")
    return render(request, "register_error.html", principal, status=status, title=heading,
                  heading=heading, message=str(exc))


# --------------------------------------------------------------------------- listing


@router.get("/register/cases")
def cases_page(request: Request, svc: ServiceDep, principal: PrincipalDep) -> Response:
    q = request.query_params
    values = {k: (q.get(k) or "").strip() for k in ("year", "borough", "page")}
    errors: dict[str, str] = {}
    year: int | None = None
    if values["year"]:
        try:
            year = int(values["year"])
        except ValueError:
            errors["year"] = "Year must be a whole number, like 2019"
        else:
            if not 1990 <= year <= 2100:
                errors["year"] = "Year must be between 1990 and 2100"
    if values["borough"] and len(values["borough"]) > 80:
        errors["borough"] = "Borough must be 80 characters or fewer"
    page = 1
    if values["page"]:
        try:
            page = int(values["page"])
        except ValueError:
            page = 0
        if page < 1:
            errors["page"] = "Page must be a whole number from 1"
            page = 1
    if errors:
        return render(request, "register_cases.html", principal, status=422,
                      title="Cases", values=values, errors=errors, items=[], total=0,
                      page=1, pages=1, links={})
    out = reg.list_cases(svc, principal, borough=values["borough"] or None, year=year,
                         limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    pages = max(1, -(-int(out["total"]) // PAGE_SIZE))
    filters = {k: v for k, v in values.items() if v and k != "page"}
    links = {}
    if page > 1:
        links["previous"] = "/register/cases?" + urlencode({**filters, "page": page - 1})
    if page < pages:
        links["next"] = "/register/cases?" + urlencode({**filters, "page": page + 1})
    return render(request, "register_cases.html", principal, title="Cases", values=values,
                  items=out["items"], total=out["total"], page=page, pages=pages,
                  links=links, scope=principal.borough_scope)


# --------------------------------------------------------------------------- one case


def _case_page(request: Request, svc: RecordsService, principal: Principal, case_id: int,
               values: Mapping[str, str], errors: Mapping[str, str], status: int = 200
               ) -> HTMLResponse:
    case = reg.get_case(svc, principal, case_id)
    codings = case.get("codings", [])
    groups = [(label, [f for f in FACTORS if f.group == group])
              for group, label in FACTOR_GROUPS.items()]
    rows = [(FIELD_LABELS[f], _coded(f, case[f])) for f in SHOWN_FIELDS if f in case]
    return render(request, "register_case.html", principal, status=status,
                  title=f"Case {case['reference']}", case=case, rows=rows,
                  withheld=[FIELD_LABELS.get(f, f) for f in case.get("withheld", [])],
                  codings=codings, factors=FACTORS, groups=groups, answers=ANSWERS,
                  rounds=[(t.code, t.label) for t in CODING_ROUNDS.terms],
                  can_code=principal.can(P.CASES_CODE), values=values, errors=dict(errors))


@router.get("/register/cases/{case_id}")
def case_page(case_id: int, request: Request, svc: ServiceDep, principal: PrincipalDep
              ) -> Response:
    try:
        defaults = {"coder": principal.username or ""}
        return _case_page(request, svc, principal, case_id, defaults, {})
    except (NotFound, Forbidden) as exc:
        return _failure(request, principal, exc)


@router.post("/register/cases/{case_id}/coding")
async def coding_form(case_id: int, request: Request, svc: ServiceDep,
                      principal: PrincipalDep) -> Response:
    form = await request.form()
    values = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
    values.pop("csrf_token", None)
    errors: dict[str, str] = {}
    if values.get("coding_round") not in CODING_ROUNDS:
        errors["coding_round"] = "Choose which coding this is"
    coder = values.get("coder", "")
    if not coder:
        errors["coder"] = "Enter the name or initials of the reviewer who coded the case"
    elif len(coder) > 80:
        errors["coder"] = "The reviewer's name must be 80 characters or fewer"
    answers: dict[str, bool | None] = {}
    for f in FACTORS:
        given = values.get(f"f_{f.code}", "")
        if given not in _ANSWER_VALUES:
            errors[f"f_{f.code}"] = f"Say whether '{f.label}' applies: yes, no or not known"
        else:
            answers[f.code] = _ANSWER_VALUES[given]
    try:
        if not errors:
            await run_in_threadpool(reg.code_case, svc, principal, case_id,
                                    values["coding_round"], answers, coder)
            return RedirectResponse(f"/register/cases/{case_id}?done=coded", status_code=303)
    except UserError as exc:
        errors["coding_round"] = str(exc)
    except (NotFound, Forbidden) as exc:
        return _failure(request, principal, exc)
    try:
        return await run_in_threadpool(_case_page, request, svc, principal, case_id, values,
                                       errors, 422)
    except (NotFound, Forbidden) as exc:
        return _failure(request, principal, exc)


# --------------------------------------------------------------------------- analysis


def _factor_label(code: str) -> str:
    if code == "four_or_more":
        return "Four or more ACEs"
    factor = FACTOR_BY_CODE.get(code)
    return factor.label if factor else code


@router.get("/register/analysis")
def analysis_page(request: Request, svc: ServiceDep, principal: PrincipalDep) -> Response:
    """Case reviewers: the unsuppressed analysis (audited). Everyone else: the published,
    disclosure-controlled figures only. (Both are cached by the service and computed once
    after a change, however many requests ask for them at the same time.)"""
    if principal.can(P.REGISTER_ANALYSIS):
        tables = reg.restricted_analysis(svc, principal)
        prevalence = [{**r, "label": _factor_label(r["factor"]),
                       "percent": _pct(r["proportion"]), "ci_low_percent": _pct(r["ci_low"]),
                       "ci_high_percent": _pct(r["ci_high"])}
                      for r in reg.table_records(tables["prevalence"])
                      + reg.table_records(tables["four_or_more"])]
        agreement = [{**r, "label": _factor_label(r["factor"])}
                     for r in reg.table_records(tables["agreement"])]
        return render(request, "register_analysis.html", principal,
                      title="Analysis of the register", restricted=True,
                      prevalence=prevalence, agreement=agreement, by_year=[], notes=[])
    summary = reg.published_summary(svc, principal)
    t = summary["tables"]
    prevalence = [{**r, "label": _factor_label(r["factor"])}
                  for r in t["prevalence"] + t["four_or_more_aces"]]
    return render(request, "register_analysis.html", principal,
                  title="Analysis of the register", restricted=False,
                  prevalence=prevalence, agreement=[],
                  by_year=t["cases_by_year_and_review_type"], notes=summary["notes"],
                  review_types=[(c, _coded("review_type", c))
                                for c in CASE_VOCABULARIES["review_type"].codes])


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


__all__ = ["router"]
