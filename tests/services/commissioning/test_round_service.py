"""A whole round through the use cases: create, open, apply, close, declare a conflict,
score, moderate, allocate (hand-worked awards, same inputs same hashes), publish (schema and
quality checks pass), agreements and payments; every write audited; stages and roles
enforced; the public view carries no personal data."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from vru.adapters import threesixtygiving as tsg
from vru.adapters.records.audit import verify_chain
from vru.adapters.records.commissioning_models import (
    Application,
    AssessorScoreRow,
    Award,
    ConflictOfInterest,
    FundingRound,
    InterventionEntry,
    Moderation,
    Payment,
    RoundPlace,
)
from vru.adapters.records.models import AuditEntry
from vru.domain.problems import InputError
from vru.services import commissioning as cm
from vru.services.records import Forbidden, NotFound, Principal, RecordsService, UserError

from .conftest import ASSESSED, BASE_URL, add_user, application, make_round, score_all

REF = "fund-2026"


def run_to_allocation(svc: RecordsService, cli: Principal) -> dict[str, object]:
    """The hand-worked round. Four boroughs with 1,000 to 4,000 offences per 100,000: need
    points 1 to 4. Weights: need 30, community 20, partnership 20, evidence 20 (mentoring,
    moderate: 3 points), delivery 10. With every assessed criterion at p points the score is
    7.5 x need + 12.5 x p + 15."""
    make_round(svc, cli, REF)
    cm.add_application(svc, cli, REF, application(1, "E09000004"))            # 95
    cm.add_application(svc, cli, REF, application(2, "E09000001"))            # 72.5
    cm.add_application(svc, cli, REF, application(3, "Borough 2", 80_000))    # 67.5
    cm.add_application(svc, cli, REF, application(4, "E09000003"))            # 37.5
    cm.add_application(svc, cli, REF, application(
        5, "E09000003", intervention="prison-awareness-programmes"))          # not eligible
    cm.add_application(svc, cli, REF, application(6, "E09000003", 50_000))   # moderated: 75
    cm.move_round(svc, cli, REF, "assessing")
    score_all(svc, cli, REF, {"A-001": (4, 4), "A-002": (4, 4), "A-003": (3, 3),
                              "A-004": (0, 0), "A-006": (1, 4)})
    queue = [x for x in cm.scoring_status(svc, cli, REF) if x["state"] == "needs moderation"]
    assert [x["reference"] for x in queue] == ["A-006"]
    cm.moderate(svc, cli, REF, "A-006", {k: 3 for k in ASSESSED},
                "the panel agreed the partnership evidence is good", moderator="moderator-cat")
    return cm.allocate(svc, cli, REF)


def test_a_whole_round(svc: RecordsService, cli: Principal) -> None:
    result = run_to_allocation(svc, cli)
    decisions = {d["reference"]: d for d in result["decisions"]}  # type: ignore[union-attr]
    assert {r: d["award"] for r, d in decisions.items()} == {
        "A-001": 40_000, "A-006": 50_000, "A-002": 40_000, "A-003": 0, "A-004": 0,
        "A-005": 0}
    assert {r: d["score"] for r, d in decisions.items()} == {
        "A-001": 95.0, "A-006": 75.0, "A-002": 72.5, "A-003": 67.5, "A-004": 37.5,
        "A-005": None}
    assert decisions["A-003"]["reason"] == (
        "Not funded: ranked 4th of 5 (score 67.5). When its turn came £70,000 of the budget "
        "was left, less than the £80,000 it asked for.")
    assert decisions["A-005"]["reason"].startswith("Not funded: it is not eligible: Prison")
    assert decisions["A-001"]["contributions"] == {"need": 30.0, "community": 20.0,
                                                   "partnership": 20.0, "evidence": 15.0,
                                                   "delivery": 10.0}
    assert result["awarded"] == 130_000 and result["funded"] == 3
    # the same inputs give the same awards and hashes
    again = cm.verify_allocation(svc, cli, REF)
    assert again["ok"] and again["result_sha256"] == result["result_sha256"]
    cm.move_round(svc, cli, REF, "assessing")
    assert cm.list_awards(svc, cli, REF) == []
    rerun = cm.allocate(svc, cli, REF)
    assert rerun["result_sha256"] == result["result_sha256"]
    assert rerun["inputs_sha256"] == result["inputs_sha256"]

    published = cm.publish(svc, cli, REF, BASE_URL)
    assert published.quality.ok and not published.schema_problems
    package = published.package
    assert [g["id"] for g in package["grants"]] == [
        "360G-vru-test-fund-2026-A-001", "360G-vru-test-fund-2026-A-002",
        "360G-vru-test-fund-2026-A-006"]
    first = package["grants"][0]
    assert first["recipientOrganization"][0]["id"] == "GB-CHC-1100001"
    assert first["beneficiaryLocation"] == [{"name": "Borough 4", "geoCode": "E09000004",
                                             "geoCodeType": "LONB", "countryCode": "GB"}]
    assert first["awardDate"] == "2026-03-31"
    assert first["grantProgramme"][0]["url"] == f"{BASE_URL}/funding/{REF}"
    checked = tsg.check_package(package)
    assert checked.ok, [str(p) for p in checked.schema_problems] + checked.quality.lines()

    # agreements and payments; re-publishing shows what has been paid
    grant = "360G-vru-test-fund-2026-A-001"
    with pytest.raises(UserError, match="signed grant agreement"):
        cm.record_payment(svc, cli, grant, 10_000, date(2026, 5, 1), "P1")
    cm.record_agreement(svc, cli, grant, date(2026, 4, 10), "GA-1")
    cm.record_payment(svc, cli, grant, 25_000, date(2026, 5, 1), "P1")
    with pytest.raises(UserError, match="more than the £40,000 awarded"):
        cm.record_payment(svc, cli, grant, 20_000, date(2026, 6, 1), "P2")
    awards = {a["grant_id"]: a for a in cm.list_awards(svc, cli, REF)}
    assert awards[grant]["paid"] == 25_000 and awards[grant]["status"] == "agreed"
    refreshed = cm.publish(svc, cli, REF, BASE_URL).package
    assert refreshed["grants"][0]["amountDisbursed"] == 25_000

    public = cm.public_round(svc, REF)
    assert public["awarded"] == 130_000 and public["funded_count"] == 3
    assert public["not_funded"] == {"did not fit in the budget left when their turn came": 1,
                                    "scored below the quality threshold": 1,
                                    "did not meet the eligibility rules": 1}
    text = json.dumps(public, default=str)
    for private in ("assessor-ann", "assessor-bob", "moderator-cat", "cli:", "Organisation 3",
                    "Organisation 4",
                    "Organisation 5", "the panel agreed"):
        assert private not in text, private
    assert cm.published_package(svc, REF)["grants"][0]["amountDisbursed"] == 25_000


def test_every_write_is_audited(svc: RecordsService, cli: Principal) -> None:
    run_to_allocation(svc, cli)
    cm.publish(svc, cli, REF, BASE_URL)
    grant = "360G-vru-test-fund-2026-A-001"
    cm.record_agreement(svc, cli, grant, date(2026, 4, 10), "GA-1")
    cm.record_payment(svc, cli, grant, 10_000, date(2026, 5, 1), "P1")
    with svc.records.reading() as s:
        def created(entity: str) -> int:
            return int(s.scalar(select(func.count()).select_from(AuditEntry)
                                .where(AuditEntry.entity == entity)
                                .where(AuditEntry.before.is_(None))
                                .where(AuditEntry.after.is_not(None))) or 0)

        for model, entity in ((FundingRound, "funding_round"), (RoundPlace, "round_place"),
                              (Application, "application"),
                              (AssessorScoreRow, "assessor_score"),
                              (Moderation, "moderation"), (Award, "award"),
                              (Payment, "payment"), (InterventionEntry, "intervention")):
            rows = int(s.scalar(select(func.count()).select_from(model)) or 0)
            assert rows > 0 and created(entity) == rows, entity
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {"funding_round.create", "funding_round.open", "funding_round.assessing",
            "application.create", "assessor_score.save", "moderation.save",
            "funding_round.allocate", "funding_round.publish", "award.agreement",
            "payment.record", "intervention.seed"} <= actions
    with svc.records.engine.connect() as conn:
        assert verify_chain(conn).ok


def test_stages_are_enforced(svc: RecordsService, cli: Principal) -> None:
    make_round(svc, cli, REF, open_it=False)
    with pytest.raises(UserError, match="only when it is open"):
        cm.add_application(svc, cli, REF, application(1))
    cm.move_round(svc, cli, REF, "open")
    cm.add_application(svc, cli, REF, application(1))
    cm.add_application(svc, cli, REF, application(2))
    with pytest.raises(UserError, match="only when it is assessing"):
        cm.score_application(svc, cli, REF, "A-001", {k: 3 for k in ASSESSED},
                             assessor="ann")
    with pytest.raises(UserError, match="Use publish"):
        cm.move_round(svc, cli, REF, "published")
    with pytest.raises(UserError, match="cannot move to draft"):
        cm.move_round(svc, cli, REF, "draft")
    cm.move_round(svc, cli, REF, "assessing")
    cm.score_application(svc, cli, REF, "A-001", {k: 3 for k in ASSESSED}, assessor="ann")
    with pytest.raises(UserError, match="Still to do: A-001: awaiting scores"):
        cm.allocate(svc, cli, REF)
    with pytest.raises(UserError, match="only when it is allocated"):
        cm.publish(svc, cli, REF)
    with pytest.raises(UserError, match="does not need moderation"):
        cm.moderate(svc, cli, REF, "A-001", {k: 3 for k in ASSESSED}, "x", moderator="cat")
    with pytest.raises(UserError, match="no score for delivery"):
        cm.score_application(svc, cli, REF, "A-002", {"community": 1, "partnership": 1},
                             assessor="ann")
    with pytest.raises(NotFound):
        cm.score_application(svc, cli, REF, "A-999", {k: 3 for k in ASSESSED})
    with pytest.raises(NotFound):
        cm.get_round(svc, cli, "no-such-round")


def test_conflicts_of_interest(svc: RecordsService, cli: Principal) -> None:
    make_round(svc, cli, REF)
    cm.add_application(svc, cli, REF, application(1))
    cm.add_application(svc, cli, REF, application(2))
    cm.move_round(svc, cli, REF, "assessing")
    cm.declare_conflict(svc, cli, REF, "trustee", application="A-001", person="bob")
    cm.declare_conflict(svc, cli, REF, "my employer", organisation_id="GB-CHC-1100002",
                        person="ann")
    with pytest.raises(UserError, match="declared a conflict with this application"):
        cm.score_application(svc, cli, REF, "A-001", {k: 3 for k in ASSESSED},
                             assessor="bob")
    with pytest.raises(UserError, match="declared a conflict with this organisation"):
        cm.score_application(svc, cli, REF, "A-002", {k: 3 for k in ASSESSED},
                             assessor="ann")
    cm.score_application(svc, cli, REF, "A-002", {k: 1 for k in ASSESSED}, assessor="bob")
    cm.score_application(svc, cli, REF, "A-002", {k: 4 for k in ASSESSED}, assessor="dan")
    with pytest.raises(UserError, match="scored this application"):
        cm.moderate(svc, cli, REF, "A-002", {k: 3 for k in ASSESSED}, "x", moderator="dan")
    with pytest.raises(UserError, match="declared a conflict"):
        cm.moderate(svc, cli, REF, "A-002", {k: 3 for k in ASSESSED}, "x", moderator="ann")
    cm.moderate(svc, cli, REF, "A-002", {k: 3 for k in ASSESSED}, "agreed", moderator="eve")
    with pytest.raises(UserError, match="moderated; its scores are settled"):
        cm.score_application(svc, cli, REF, "A-002", {k: 2 for k in ASSESSED},
                             assessor="bob")
    with svc.records.reading() as s:
        assert s.scalar(select(func.count()).select_from(ConflictOfInterest)) == 2


def test_what_each_role_may_do(svc: RecordsService, cli: Principal) -> None:
    make_round(svc, cli, REF)
    cm.add_application(svc, cli, REF, application(1))
    cm.move_round(svc, cli, REF, "assessing")
    partner = add_user(svc, "panel-member", "partner")
    analyst = add_user(svc, "analyst-1", "analyst")
    officer = add_user(svc, "officer-1", "administrator")
    manager = add_user(svc, "manager-1", "commissioning_manager")
    # a partner assesses: sees the round and its applications (only their own scores)
    assert cm.get_round(svc, partner, REF)["reference"] == REF
    cm.score_application(svc, partner, REF, "A-001", {k: 3 for k in ASSESSED}, "ok",
                         assessor="someone-else")  # the name is ignored: only the CLI names
    cm.score_application(svc, analyst, REF, "A-001", {k: 2 for k in ASSESSED})
    seen = cm.list_applications(svc, partner, REF)[0]
    assert [x["assessor"] for x in seen["scores"]] == ["panel-member"]
    assert seen["scored_by"] == 2 and "entered_by" not in seen
    full = cm.list_applications(svc, analyst, REF)[0]
    assert {x["assessor"] for x in full["scores"]} == {"panel-member", "analyst-1"}
    for denied in (lambda: cm.scoring_status(svc, partner, REF),
                   lambda: cm.allocate(svc, analyst, REF),
                   lambda: cm.get_round(svc, officer, REF),
                   lambda: cm.add_application(svc, partner, REF, application(9))):
        with pytest.raises(Forbidden):
            denied()
    assert cm.allocate(svc, manager, REF)["funded"] == 1


def test_places_from_decision_records() -> None:
    from vru.domain.commissioning.rounds import AwardLevel, RoundError

    from .conftest import decision_record

    record = decision_record()
    boroughs = cm.places_from_decision(record, AwardLevel.BOROUGH, floors={"E09000002": 5},
                                       default_cap=90)
    assert [p.code for p in boroughs] == ["E09000001", "E09000002", "E09000003",
                                          "E09000004"]
    assert boroughs[1].floor == 5 and boroughs[0].cap == 90
    assert boroughs[3].rate_per_100k == 4000
    groups = cm.places_from_decision(record, AwardLevel.MULTI_BOROUGH)
    assert len(groups) == 1 and len(groups[0].areas) == 4
    assert groups[0].name == "Borough 1, Borough 2, Borough 3 and Borough 4"
    assert groups[0].count == 10_000 and groups[0].population == 400_000
    with pytest.raises(RoundError, match="needs a decision about wards"):
        cm.places_from_decision(record, AwardLevel.WARD)


def test_round_creation_is_checked(svc: RecordsService, cli: Principal) -> None:
    make_round(svc, cli, REF, open_it=False)
    with pytest.raises(UserError, match="already a round"):
        make_round(svc, cli, REF, open_it=False)
    with pytest.raises(UserError, match="floors add up"):
        make_round(svc, cli, "other-round", budget=100_000,
                   floors={"E09000001": 60_000, "E09000002": 60_000}, open_it=False)
    r = cm.get_round(svc, cli, REF)
    assert [p["need_points"] for p in r["places"]] == [1.0, 2.0, 3.0, 4.0]


def test_bad_application_values_are_refused_with_their_field(svc: RecordsService,
                                                             cli: Principal) -> None:
    make_round(svc, cli, REF)
    with pytest.raises(InputError) as caught:
        cm.add_application(svc, cli, REF, application(1, amount_requested="lots"))
    assert [p.column for p in caught.value.problems] == ["amount_requested"]
    out = cm.add_application(svc, cli, REF, application(2, amount="90000"))  # type: ignore[arg-type]
    assert out["status"] == "not eligible"
    assert "more than the largest award" in out["eligibility"][0]["message"]


def test_the_catalogue_can_be_corrected(svc: RecordsService, cli: Principal) -> None:
    assert cm.ensure_catalogue(svc, cli) > 0 and cm.ensure_catalogue(svc, cli) == 0
    entry = cm.save_intervention(svc, cli, {"key": "mentoring", "impact": "high",
                                            "checked": True})
    assert entry.evidence_points == 4 and entry.checked
    with pytest.raises(UserError, match="impact must be"):
        cm.save_intervention(svc, cli, {"key": "mentoring", "impact": "amazing"})
    added = cm.save_intervention(svc, cli, {"key": "peer-support", "name": "Peer support",
                                            "impact": "unclear", "source": "local review"})
    assert added.key in {e.key for e in cm.catalogue(svc)}
