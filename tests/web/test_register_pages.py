"""The register's GOV.UK pages without a browser: who may list, view, code and analyse
cases (per the role matrix, a borough officer only their borough without personal details),
server-side validation with the error summary, no-store, and disclosure-controlled figures
for roles that may not see unsuppressed ones."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from vru.domain.register.cases import CaseRecord
from vru.domain.register.vocabulary import FACTOR_CODES
from vru.interfaces.api.app import create_app
from vru.services import register as reg
from vru.services.records import RecordsService, command_line, create_user
from vru.services.security import totp

from .conftest import PASSWORD, service

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

SECRETS: dict[str, str | None] = {}


@pytest.fixture()
def svc(tmp_path: Path) -> RecordsService:
    s: RecordsService = service(tmp_path)
    cli = command_line()
    for name, role, borough in (("rita", "case_reviewer", None),
                                ("otto", "borough_officer", "Hackney"),
                                ("ann", "analyst", None)):
        SECRETS[name] = create_user(s, cli, name, PASSWORD, role, borough=borough).totp_secret
    reg.create_case(s, cli, CaseRecord("H-1", 2022, "Hackney", "owhr", "notified",
                                       victim_ethnicity="black"))
    reg.create_case(s, cli, CaseRecord("C-1", 2021, "Camden", "dhr", "in_progress",
                                       victim_ethnicity="white"))
    return s


def token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def client_for(svc: RecordsService, username: str | None) -> TestClient:
    client = TestClient(create_app(svc), base_url="http://testserver")
    if username is None:
        return client
    page = client.get("/sign-in?next=/register/cases")
    form = {"csrf_token": token(page.text), "username": username, "password": PASSWORD,
            "next": "/register/cases"}
    secret = SECRETS[username]
    if secret:
        form["one_time_code"] = totp.code_at(secret, svc.now())
    done = client.post("/api/auth/web-sign-in", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/register/cases", done.text
    return client


def case_id(svc: RecordsService, ref: str) -> int:
    items = reg.list_cases(svc, command_line())["items"]
    return int(next(c["id"] for c in items if c["reference"] == ref))


def errors(html: str) -> list[str]:
    assert "govuk-error-summary" in html and "<title>Error: " in html
    summary = html.split('govuk-error-summary__list">')[1].split("</ul>")[0]
    return re.findall(r'<a href="#([^"]+)">', summary)


def test_a_case_reviewer_lists_views_and_codes(svc: RecordsService) -> None:
    client = client_for(svc, "rita")
    listing = client.get("/register/cases")
    assert listing.status_code == 200
    assert listing.headers["cache-control"] == "no-store"
    assert "content-security-policy" in listing.headers
    assert "H-1" in listing.text and "C-1" in listing.text
    assert "2 cases" in listing.text
    only = client.get("/register/cases?year=2021")
    assert "C-1" in only.text and "H-1" not in only.text
    cid = case_id(svc, "H-1")
    page = client.get(f"/register/cases/{cid}")
    assert page.status_code == 200
    assert "Black, Black British" in page.text and "Code this case" in page.text
    assert "Offensive weapons homicide review" in page.text

    form = {"csrf_token": token(page.text), "coding_round": "first", "coder": "RB"}
    form.update({f"f_{code}": "yes" if i % 3 == 0 else "no"
                 for i, code in enumerate(FACTOR_CODES)})
    form["f_ace_neglect"] = "not_known"
    done = client.post(f"/register/cases/{cid}/coding", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    shown = client.get(done.headers["location"])
    assert "The coding was saved." in shown.text and "First (RB)" in shown.text
    coded = reg.get_case(svc, command_line(), cid)["codings"][0]
    assert coded["factors"]["ace_abuse"] is True and coded["factors"]["ace_neglect"] is None

    # a second coding by the same reviewer is refused by the service, shown in the summary
    again = client.post(f"/register/cases/{cid}/coding",
                        data={**form, "coding_round": "second"})
    assert again.status_code == 422 and errors(again.text) == ["coding_round"]
    assert "different reviewer" in again.text


def test_the_coding_form_is_validated_on_the_server(svc: RecordsService) -> None:
    client = client_for(svc, "rita")
    cid = case_id(svc, "H-1")
    page = client.get(f"/register/cases/{cid}")
    bad = client.post(f"/register/cases/{cid}/coding", data={
        "csrf_token": token(page.text), "coder": "", "f_ace_abuse": "perhaps"})
    assert bad.status_code == 422
    found = errors(bad.text)
    assert found[:2] == ["coding_round", "coder"]
    assert set(found[2:]) == {f"f_{c}" for c in FACTOR_CODES}
    assert 'id="coder-error"' in bad.text
    no_token = client.post(f"/register/cases/{cid}/coding", data={"coding_round": "first"})
    assert no_token.status_code == 403
    assert reg.get_case(svc, command_line(), cid)["codings"] == []
    listing = client.get("/register/cases?year=soon&page=0")
    assert listing.status_code == 422 and errors(listing.text) == ["year", "page"]


def test_a_borough_officer_sees_their_borough_without_personal_details(
        svc: RecordsService) -> None:
    client = client_for(svc, "otto")
    listing = client.get("/register/cases")
    assert "H-1" in listing.text and "C-1" not in listing.text
    assert "You see the cases of Hackney only" in listing.text
    page = client.get(f"/register/cases/{case_id(svc, 'H-1')}")
    assert page.status_code == 200
    assert "Black, Black British" not in page.text and "Not shown for your role" in page.text
    assert "Code this case" not in page.text and "csrf_token" in page.text  # sign out only
    other = client.get(f"/register/cases/{case_id(svc, 'C-1')}")
    assert other.status_code == 404
    coding = client.post(f"/register/cases/{case_id(svc, 'H-1')}/coding",
                         data={"csrf_token": token(page.text), "coding_round": "first"},
                         headers={"accept": "text/html"})
    assert coding.status_code == 403
    analysis = client.get("/register/analysis")
    assert analysis.status_code == 200 and "Disclosure-controlled figures" in analysis.text
    assert "not disclosure controlled" not in analysis.text


def test_other_roles_and_visitors(svc: RecordsService) -> None:
    analyst = client_for(svc, "ann")
    assert analyst.get("/register/cases", headers={"accept": "text/html"}).status_code == 403
    visitor = client_for(svc, None)
    sent = visitor.get("/register/cases", headers={"accept": "text/html"},
                       follow_redirects=False)
    assert sent.status_code == 303
    assert sent.headers["location"] == "/sign-in?next=/register/cases"
    public = visitor.get("/register/analysis")
    assert public.status_code == 200 and "[c]" in public.text  # two cases: all suppressed
    assert "Counts from 1 to 9 are not shown" in public.text


def test_case_reviewers_see_the_unsuppressed_analysis(svc: RecordsService) -> None:
    reg.load_synthetic(svc, command_line(), 60)
    client = client_for(svc, "rita")
    page = client.get("/register/analysis")
    assert page.status_code == 200
    assert "not disclosure controlled" in page.text and 'id="agreement"' in page.text
    assert "Four or more ACEs" in page.text and "[c]" not in page.text
