"""Users, signing in (uniform failures, throttling, one-time codes), sessions and expiry."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from vru.adapters.records.models import AuditEntry, User, UserSession
from vru.adapters.records.testing import MutableClock
from vru.services import records as rec
from vru.services.records import (
    SIGN_IN_FAILED,
    Forbidden,
    Principal,
    RecordsService,
    SignInFailed,
    UserError,
    principal_for_token,
    sign_in,
    sign_out,
)
from vru.services.security import totp
from vru.services.security.roles import Role

from .conftest import PASSWORD, add_user


def _code(svc: RecordsService, secret: str | None) -> str:
    assert secret is not None
    return totp.code_at(secret, svc.now())


def _log(svc: RecordsService, action: str) -> list[AuditEntry]:
    with svc.records.reading() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.seq)))


def test_creating_users_checks_names_roles_boroughs_and_passwords(
        svc: RecordsService, cli: Principal) -> None:
    new = add_user(svc, "  Alice ", "case_reviewer")
    assert new.user.username == "alice" and new.totp_uri and new.totp_secret
    assert add_user(svc, "ann", "analyst").totp_uri is None
    officer = add_user(svc, "bo", "borough_officer", borough="Hackney")
    assert officer.user.borough == "Hackney" and officer.totp_uri
    for args, words in [
        (("alice", "analyst"), "already a user"),
        (("x", "analyst"), "2 to 64"),
        (("bob", "borough_officer"), "borough"),
        (("bob", "wizard"), "unknown role"),
        (("bob", "public"), "visitors who have not signed in"),
    ]:
        with pytest.raises((UserError, ValueError), match=words):
            add_user(svc, *args)
    with pytest.raises(UserError, match="commonly used"):
        add_user(svc, "carol", "analyst", password="password1234")
    with pytest.raises(UserError, match="borough officers"):
        add_user(svc, "dan", "analyst", borough="Hackney")
    with pytest.raises(Forbidden):
        rec.create_user(svc, Principal(Role.ANALYST, user_id=1, session_id=1), "eve",
                        PASSWORD, "analyst")
    assert [u.username for u in rec.list_users(svc, cli)] == ["alice", "ann", "bo"]
    created = _log(svc, "user.create")
    assert len(created) == 3 and created[0].actor.startswith("cli:")
    assert "argon2" not in (created[0].after or "")


def test_sign_in_and_out(svc: RecordsService) -> None:
    add_user(svc, "ann", "analyst")
    signed = sign_in(svc, "ANN", PASSWORD, None, "10.0.0.1")
    assert signed.principal.role is Role.ANALYST and signed.principal.session_id
    who = principal_for_token(svc, signed.token, "10.0.0.1")
    assert who is not None and who.username == "ann" and who.csrf_token == signed.csrf_token
    sign_out(svc, who)
    assert principal_for_token(svc, signed.token) is None
    with svc.records.reading() as s:
        session = s.scalars(select(UserSession)).one()
    assert session.end_reason == "signed_out"
    assert len(_log(svc, "auth.login")) >= 1 and len(_log(svc, "auth.logout")) == 1


def test_restricted_roles_need_a_fresh_one_time_code(svc: RecordsService) -> None:
    new = add_user(svc, "rita", "case_reviewer")
    with pytest.raises(SignInFailed):
        sign_in(svc, "rita", PASSWORD, None, None)
    with pytest.raises(SignInFailed):
        sign_in(svc, "rita", PASSWORD, "000000" if _code(svc, new.totp_secret) != "000000"
                else "111111", None)
    code = _code(svc, new.totp_secret)
    assert sign_in(svc, "rita", PASSWORD, code, None).principal.role is Role.CASE_REVIEWER
    with pytest.raises(SignInFailed):  # the same code cannot be used again
        sign_in(svc, "rita", PASSWORD, code, None)
    reasons = [json.loads(e.after or "{}")["reason"] for e in _log(svc, "auth.login_failed")]
    assert reasons == ["one_time_code"] * 3


def test_every_failure_looks_the_same_but_is_audited_with_its_reason(
        svc: RecordsService, cli: Principal) -> None:
    add_user(svc, "ann", "analyst")
    add_user(svc, "dora", "analyst")
    rec.set_disabled(svc, cli, "dora", True)
    messages = []
    for username, password in [("nobody", PASSWORD), ("ann", "wrong password here"),
                               ("dora", PASSWORD), ("", "")]:
        with pytest.raises(SignInFailed) as err:
            sign_in(svc, username, password, None, "10.0.0.9")
        messages.append(str(err.value))
    assert set(messages) == {SIGN_IN_FAILED}
    failures = _log(svc, "auth.login_failed")
    assert [json.loads(e.after or "{}")["reason"] for e in failures] == [
        "unknown_user", "wrong_password", "disabled", "unknown_user"]
    # a name that is not a user is not stored as typed (it may be a mistyped password)
    assert failures[0].entity_id is not None and failures[0].entity_id.startswith("unknown:")
    assert failures[1].entity_id == "ann"


def test_unknown_users_cost_the_same_hashing_work(svc: RecordsService,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    add_user(svc, "ann", "analyst")
    calls: list[str | None] = []
    original = svc.hasher.verify

    def counting(stored: str | None, password: str) -> bool:
        calls.append(stored)
        return original(stored, password)

    monkeypatch.setattr(svc.hasher, "verify", counting)
    for name in ("ann", "nobody"):
        with pytest.raises(SignInFailed):
            sign_in(svc, name, "not the password at all", None, None)
    assert len(calls) == 2 and calls[1] is None


def test_throttling_by_username_then_the_window_passes(svc: RecordsService,
                                                       clock: MutableClock) -> None:
    add_user(svc, "ann", "analyst")
    for _ in range(5):
        with pytest.raises(SignInFailed):
            sign_in(svc, "ann", "wrong password again", None, f"10.0.0.{_}")
    with pytest.raises(SignInFailed):  # even the right password, while throttled
        sign_in(svc, "ann", PASSWORD, None, "10.0.0.99")
    assert json.loads(_log(svc, "auth.login_failed")[-1].after or "{}")["reason"] == \
        "throttled"
    clock.advance(minutes=16)
    assert sign_in(svc, "ann", PASSWORD, None, "10.0.0.99").principal.username == "ann"
    # a success starts the count again
    for _ in range(4):
        with pytest.raises(SignInFailed):
            sign_in(svc, "ann", "wrong password again", None, None)
    assert sign_in(svc, "ann", PASSWORD, None, None)


def test_throttling_by_client_address(svc: RecordsService) -> None:
    svc.settings = type(svc.settings)(
        secret_key=svc.settings.secret_key, argon2=svc.settings.argon2,
        throttle=type(svc.settings.throttle)(max_failures_per_client=3))
    add_user(svc, "ann", "analyst")
    for name in ("x1", "x2", "x3"):
        with pytest.raises(SignInFailed):
            sign_in(svc, name, "whatever password", None, "192.0.2.7")
    with pytest.raises(SignInFailed):
        sign_in(svc, "ann", PASSWORD, None, "192.0.2.7")
    assert sign_in(svc, "ann", PASSWORD, None, "192.0.2.8")


def test_idle_and_absolute_session_limits_with_a_frozen_clock(
        svc: RecordsService, clock: MutableClock) -> None:
    add_user(svc, "ann", "analyst")
    signed = sign_in(svc, "ann", PASSWORD, None, None)
    for _ in range(3):  # active use keeps it alive past the idle limit
        clock.advance(minutes=29)
        assert principal_for_token(svc, signed.token) is not None
    clock.advance(minutes=31)
    assert principal_for_token(svc, signed.token) is None
    with svc.records.reading() as s:
        assert s.scalars(select(UserSession)).one().end_reason == "idle_expired"
    assert len(_log(svc, "auth.session_expired")) == 1

    busy = sign_in(svc, "ann", PASSWORD, None, None)
    for _ in range(16):  # used every 29 minutes for 7 h 44 min
        clock.advance(minutes=29)
        assert principal_for_token(svc, busy.token) is not None
    clock.advance(minutes=17)  # 8 h 1 min after signing in
    assert principal_for_token(svc, busy.token) is None


def test_disabling_or_resetting_a_user_ends_their_sessions(
        svc: RecordsService, cli: Principal) -> None:
    add_user(svc, "ann", "analyst")
    first = sign_in(svc, "ann", PASSWORD, None, None)
    rec.set_disabled(svc, cli, "ann", True)
    assert principal_for_token(svc, first.token) is None
    rec.set_disabled(svc, cli, "ann", False)
    second = sign_in(svc, "ann", PASSWORD, None, None)
    new = rec.reset_password(svc, cli, "ann", "a brand new passphrase here")
    assert new.totp_uri is None
    assert principal_for_token(svc, second.token) is None
    with pytest.raises(SignInFailed):
        sign_in(svc, "ann", PASSWORD, None, None)
    assert sign_in(svc, "ann", "a brand new passphrase here", None, None)
    with pytest.raises(rec.NotFound):
        rec.set_disabled(svc, cli, "nobody", True)


def test_changing_your_own_password(svc: RecordsService) -> None:
    add_user(svc, "ann", "analyst")
    a = sign_in(svc, "ann", PASSWORD, None, None)
    b = sign_in(svc, "ann", PASSWORD, None, None)
    who = principal_for_token(svc, a.token)
    assert who is not None
    with pytest.raises(UserError, match="current password"):
        rec.change_own_password(svc, who, "nope", "another good passphrase")
    with pytest.raises(UserError, match="commonly used"):
        rec.change_own_password(svc, who, PASSWORD, "password12345")
    rec.change_own_password(svc, who, PASSWORD, "another good passphrase")
    assert principal_for_token(svc, a.token) is not None  # this session stays
    assert principal_for_token(svc, b.token) is None  # the others end


def test_weaker_stored_hashes_are_upgraded_at_sign_in(svc: RecordsService) -> None:
    add_user(svc, "ann", "analyst")
    stronger = type(svc.hasher)(type(svc.hasher.params)(memory_kib=19456, passes=3, lanes=1))
    svc.hasher = stronger
    sign_in(svc, "ann", PASSWORD, None, None)
    with svc.records.reading() as s:
        stored = s.scalars(select(User)).one().password_hash
    assert "t=3" in stored
    clock_entries = _log(svc, "auth.login")
    assert any("password_hash" in (e.after or "") for e in clock_entries)
