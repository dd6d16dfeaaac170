"""The GOV.UK pages without a browser: the security policy, signing in and out, being sent
to sign in, server-side validation with the error summary on every form, who may see what,
and the public page's map."""

from __future__ import annotations

import base64
import hashlib
import re
import warnings
from pathlib import Path
from typing import Any

import pytest

from vru.interfaces.api.app import create_app
from vru.interfaces.web.maps import MapPlace, svg_map
from vru.interfaces.web.pages import PAGE_CSS
from vru.services import commissioning as cm
from vru.services.records import RecordsService, command_line

from .conftest import PASSWORD, decision_record, service

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

HTML = {"accept": "text/html"}
REF = "page-fund"


@pytest.fixture()
def svc(tmp_path: Path) -> RecordsService:
    return service(tmp_path)


@pytest.fixture()
def client(svc: RecordsService) -> TestClient:
    return TestClient(create_app(svc), base_url="http://testserver")


def token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def sign_in(client: TestClient, username: str, next_page: str = "/rounds") -> str:
    page = client.get(f"/sign-in?next={next_page}")
    done = client.post("/api/auth/web-sign-in", data={
        "csrf_token": token(page.text), "username": username, "password": PASSWORD,
        "next": next_page}, follow_redirects=False)
    assert done.status_code == 303, done.text
    return str(done.headers["location"])


def errors(html: str) -> list[str]:
    assert "govuk-error-summary" in html and "<title>Error: " in html
    summary = html.split('govuk-error-summary__list">')[1].split("</ul>")[0]
    return re.findall(r'<a href="#([^"]+)">', summary)


def round_in(svc: RecordsService, stage: str = "assessing") -> None:
    record = decision_record()
    from vru.domain.commissioning.rounds import AwardLevel, RoundTerms
    from vru.domain.commissioning.threesixtygiving import Funder

    places = cm.places_from_decision(record, AwardLevel.BOROUGH)
    cm.create_round(svc, command_line(), cm.RoundSpec(
        REF, "Page fund", "Fund", "", AwardLevel.BOROUGH, RoundTerms(100_000, 10_000, 50_000),
        Funder("360G-vru", "VRU", prefix="360G-vru")), places, cm.decision_summary(record))
    cm.move_round(svc, command_line(), REF, "open")
    for n, place in enumerate(("E09000001", "E09000002"), start=1):
        cm.add_application(svc, command_line(), REF, {
            "organisation_name": f"Org {n}", "charity_number": f"110000{n}",
            "title": f"Project {n}", "summary": "Youth work", "place": place,
            "intervention": "mentoring", "amount_requested": "20000",
            "duration_months": "12"})
    if stage != "open":
        cm.move_round(svc, command_line(), REF, "assessing")


def test_pages_have_a_strict_security_policy(client: TestClient) -> None:
    page = client.get("/funding")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    digest = base64.b64encode(hashlib.sha256(PAGE_CSS.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy and "script-src" not in policy
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["cache-control"] == "no-store"
    assert "<script" not in page.text


def test_visitors_are_sent_to_sign_in(client: TestClient) -> None:
    sent = client.get("/rounds/x?y=1", headers=HTML, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/sign-in?next=/rounds/x%3Fy%3D1"
    assert client.get("/rounds").status_code == 401  # an API client still gets 401


def test_signing_in_and_out(client: TestClient) -> None:
    page = client.get("/sign-in")
    wrong = client.post("/api/auth/web-sign-in", data={
        "csrf_token": token(page.text), "username": "walk-manager", "password": "nope"})
    assert wrong.status_code == 422 and errors(wrong.text) == ["username"]
    assert "Sign-in failed" in wrong.text
    empty = client.post("/api/auth/web-sign-in", data={"csrf_token": token(wrong.text)})
    assert errors(empty.text) == ["username", "password"]
    forged = client.post("/api/auth/web-sign-in", data={
        "csrf_token": "forged.token", "username": "walk-manager", "password": PASSWORD})
    assert forged.status_code == 403
    assert sign_in(client, "walk-manager", "//evil.example.org") == "/rounds"
    rounds = client.get("/rounds")
    assert "Signed in as <strong>walk-manager</strong>" in rounds.text
    not_confirmed = client.post("/sign-out", data={"csrf_token": token(rounds.text)})
    assert not_confirmed.status_code == 400
    out = client.post("/sign-out", data={"csrf_token": token(rounds.text), "confirm": "yes"},
                      follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/rounds").status_code == 401


def test_application_form_validation(client: TestClient, svc: RecordsService) -> None:
    round_in(svc, "open")
    sign_in(client, "walk-manager")
    form = client.get(f"/rounds/{REF}/applications/new")
    assert form.status_code == 200
    sent = client.post(f"/rounds/{REF}/applications/new", data={
        "csrf_token": token(form.text), "organisation_name": "Riverside",
        "amount_requested": "lots", "postcode": "XX"})
    assert sent.status_code == 422
    assert errors(sent.text) == ["place", "intervention"]
    sent = client.post(f"/rounds/{REF}/applications/new", data={
        "csrf_token": token(form.text), "organisation_name": "Riverside", "place": "E09000001",
        "intervention": "mentoring", "amount_requested": "lots", "postcode": "XX"})
    assert errors(sent.text) == ["title", "summary", "duration_months", "postcode",
                                 "amount_requested"]
    assert 'value="Riverside"' in sent.text  # what was typed is kept
    assert 'id="amount_requested-error"' in sent.text


def test_scoring_and_conflicts_in_the_pages(client: TestClient, svc: RecordsService) -> None:
    round_in(svc)
    sign_in(client, "walk-assessor-one")
    page = client.get(f"/rounds/{REF}/applications/A-0001")
    assert page.status_code == 200 and "Your scores" in page.text
    sent = client.post(f"/rounds/{REF}/applications/A-0001/score",
                       data={"csrf_token": token(page.text), "points_community": "3"})
    assert errors(sent.text) == ["points_partnership", "points_delivery"]
    assert 'value="3" checked' in sent.text
    done = client.post(f"/rounds/{REF}/applications/A-0001/score", data={
        "csrf_token": token(page.text), "points_community": "3", "points_partnership": "2",
        "points_delivery": "4"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("?done=scored")
    again = client.get(done.headers["location"])
    assert "Your scores were saved" in again.text
    declared = client.post(f"/rounds/{REF}/applications/A-0002/conflict", data={
        "csrf_token": token(page.text), "nature": "I am a trustee"}, follow_redirects=False)
    assert declared.status_code == 303
    blocked = client.get(f"/rounds/{REF}/applications/A-0002")
    assert "You cannot score this application: you declared a conflict" in blocked.text
    # a partner assesses but may not moderate, allocate or create rounds
    assert client.get(f"/rounds/{REF}/moderation", headers=HTML).status_code == 403
    assert client.get("/rounds/new", headers=HTML).status_code == 403
    assert client.get("/rounds/no-such-round").status_code == 404


def test_moderation_form(client: TestClient, svc: RecordsService) -> None:
    round_in(svc)
    for who, p in (("ann", 1), ("bob", 4)):
        cm.score_application(svc, command_line(), REF, "A-0001",
                             {"community": p, "partnership": 3, "delivery": 3}, assessor=who)
    sign_in(client, "walk-manager")
    page = client.get(f"/rounds/{REF}/moderation")
    assert 'id="moderate-A-0001"' in page.text and "a gap of 3" in page.text
    sent = client.post(f"/rounds/{REF}/applications/A-0001/moderate",
                       data={"csrf_token": token(page.text)})
    assert errors(sent.text) == ["points_community", "points_partnership",
                                 "points_delivery", "reason"]
    done = client.post(f"/rounds/{REF}/applications/A-0001/moderate", data={
        "csrf_token": token(page.text), "points_community": "3", "points_partnership": "3",
        "points_delivery": "3", "reason": "agreed"}, follow_redirects=False)
    assert done.status_code == 303
    blocked = client.post(f"/rounds/{REF}/allocate", data={"csrf_token": token(page.text)})
    assert blocked.status_code == 422 and "Still to do: A-0002" in blocked.text


def test_the_map() -> None:
    square = {"type": "Polygon", "coordinates": [[[0, 51], [0.1, 51], [0.1, 51.1], [0, 51]]]}
    drawn = svg_map([MapPlace("a", "A & B", square, 40_000), MapPlace("b", "C", square, 0),
                     MapPlace("c", "D", None, 10_000)], None, title="T <1>",
                    description="D")
    assert drawn is not None
    assert drawn.svg.count("<path") == 2 and "T &lt;1&gt;" in drawn.svg
    assert "A &amp; B: £40,000 awarded" in drawn.svg and "url(#hatch)" in drawn.svg
    assert drawn.legend[0] == ("#c6dbef", "up to £10,000")
    assert drawn.legend[-1] == ("hatch", "eligible, nothing awarded")
    assert svg_map([MapPlace("c", "D", None, 1)], None, title="t", description="d") is None


def test_a_published_round_without_outlines_still_shows(client: TestClient,
                                                        svc: RecordsService) -> None:
    round_in(svc)
    for ref in ("A-0001", "A-0002"):
        for who in ("assessor-ann", "assessor-bob"):
            cm.score_application(svc, command_line(), REF, ref,
                                 {"community": 3, "partnership": 3, "delivery": 3},
                                 assessor=who)
    cm.allocate(svc, command_line(), REF)
    cm.publish(svc, command_line(), REF, "https://vru.example.org")
    page = client.get(f"/funding/{REF}")
    assert page.status_code == 200 and 'class="vru-map"' not in page.text
    assert "Org 1" in page.text and "assessor-ann" not in page.text
    listed: Any = client.get("/funding")
    assert "Page fund" in listed.text
    assert client.get(f"/funding/{REF}/360giving.json").json()["grants"]
    assert client.get("/funding/nothing-here").status_code == 404
