"""Passwords, argon2id parameters, one-time codes, CSRF tokens, session limits, throttling and
settings that refuse unsafe values."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vru.services.security import csrf, totp
from vru.services.security.passwords import (
    OWASP_MINIMUM,
    Argon2Params,
    Hasher,
    PasswordRejected,
    check_password,
    password_problems,
)
from vru.services.security.roles import GRANTS, TOTP_REQUIRED, Permission, Role, parse_role
from vru.services.security.sessions import SessionPolicy, SessionState, session_state
from vru.services.security.settings import (
    SECRET_KEY_ENV,
    InsecureSettings,
    SecuritySettings,
    check_secret_key,
    installation_secret_key,
)
from vru.services.security.throttle import ThrottlePolicy, is_throttled

GOOD_KEY = "k9Vq2LmX7pR4tZ8wB1nC6yH3sD5fJ0gA"


@pytest.mark.parametrize("password", [
    "password", "Password123!", "p@ssw0rd2024", "qwerty123456", "iloveyou1234",
    "letmein!!!!!", "aaaaaaaaaaaaaaa", "abababababab", "abcdefghijklmnop", "987654321098",
    "londonvru2024", "Dragon2024!!", "2024monkey!!!",
])
def test_common_and_guessable_passwords_are_refused(password: str) -> None:
    assert password_problems(password), password


@pytest.mark.parametrize("password", [
    "correct horse battery staple", "Tr0ub4dor&3xyz", "purple-otter-lantern-48",
    "mango kestrel umbrella", "zQ8!r2Lk#9vW",
])
def test_long_uncommon_passwords_pass_with_no_composition_rules(password: str) -> None:
    assert password_problems(password, "alice") == []


def test_length_username_and_plain_reasons() -> None:
    assert any("at least 12" in r for r in password_problems("xK9#mQ2$"))
    assert any("username" in r for r in password_problems("alice-rides-bikes", "alice"))
    assert password_problems("lowercaseonlywords") == []  # no composition rules
    with pytest.raises(PasswordRejected) as err:
        check_password("password1")
    assert err.value.reasons and "commonly used" in str(err.value)


def test_an_extra_common_password_file_is_used(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    extra = tmp_path / "top.txt"
    extra.write_text("mango kestrel umbrella\n", encoding="utf-8")
    monkeypatch.setenv("VRU_COMMON_PASSWORDS_FILE", str(extra))
    assert password_problems("mango kestrel umbrella")


def test_argon2id_at_or_above_owasp() -> None:
    default = Hasher()
    stored = default.hash("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    params = dict(p.split("=") for p in stored.split("$")[3].split(","))
    assert int(params["m"]) >= 19456 and int(params["t"]) >= 2 and int(params["p"]) >= 1
    assert default.verify(stored, "correct horse battery staple")
    assert not default.verify(stored, "wrong")
    assert not default.verify(None, "anything")  # the dummy hash never matches
    cheap = Hasher(OWASP_MINIMUM)
    assert cheap.verify(stored, "correct horse battery staple")
    assert default.needs_rehash(cheap.hash("x")) and not default.needs_rehash(stored)
    for weak in [dict(memory_kib=8192, passes=2), dict(memory_kib=19456, passes=1),
                 dict(memory_kib=1024, passes=10)]:
        with pytest.raises(ValueError, match="OWASP"):
            Argon2Params(**weak)  # type: ignore[arg-type]
    Argon2Params(memory_kib=47104, passes=1)
    Argon2Params(memory_kib=7168, passes=5)


def test_totp_window_and_replay() -> None:
    secret = totp.new_secret()
    now = datetime(2025, 3, 1, 9, 0, 10, tzinfo=UTC)
    code = totp.code_at(secret, now)
    step = totp.accept(secret, code, now, None)
    assert step == totp.step_of(now)
    assert totp.accept(secret, code, now, step) is None  # replay refused
    assert totp.accept(secret, totp.code_at(secret, now - timedelta(seconds=30)), now,
                       None) is not None  # one step of drift
    assert totp.accept(secret, totp.code_at(secret, now - timedelta(minutes=2)), now,
                       None) is None
    assert totp.accept(secret, "12345", now, None) is None
    assert totp.accept(secret, "abcdef", now, None) is None
    assert "otpauth://totp/" in totp.provisioning_uri(secret, "alice", "vru")


def test_csrf_tokens() -> None:
    token = csrf.new_login_token(GOOD_KEY)
    assert csrf.login_token_valid(GOOD_KEY, token, token)
    assert not csrf.login_token_valid(GOOD_KEY, token, None)
    assert not csrf.login_token_valid(GOOD_KEY, None, token)
    other = csrf.new_login_token(GOOD_KEY)
    assert not csrf.login_token_valid(GOOD_KEY, token, other)
    forged = token.split(".")[0] + ".00"
    assert not csrf.login_token_valid(GOOD_KEY, forged, forged)
    assert not csrf.login_token_valid("another-key-" + GOOD_KEY, token, token)
    assert csrf.session_token_valid("abc", "abc")
    assert not csrf.session_token_valid("abc", "abd")
    assert not csrf.session_token_valid(None, None)


def test_session_limits() -> None:
    policy = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=8))
    t0 = datetime(2025, 3, 1, 9, tzinfo=UTC)
    assert session_state(t0, t0, None, t0 + timedelta(minutes=29), policy) is \
        SessionState.ACTIVE
    assert session_state(t0, t0, None, t0 + timedelta(minutes=30), policy) is \
        SessionState.IDLE_EXPIRED
    assert session_state(t0, t0 + timedelta(hours=7, minutes=50), None,
                         t0 + timedelta(hours=8), policy) is SessionState.ABSOLUTE_EXPIRED
    assert session_state(t0, t0, t0, t0, policy) is SessionState.ENDED
    with pytest.raises(ValueError):
        SessionPolicy(idle=timedelta(hours=9), absolute=timedelta(hours=8))


def test_throttle_rule() -> None:
    policy = ThrottlePolicy(max_failures_per_user=5, max_failures_per_client=30)
    assert not is_throttled(4, 29, policy)
    assert is_throttled(5, 0, policy) and is_throttled(0, 30, policy)


@pytest.mark.parametrize("value", ["", "   ", "changethis", "secret", "CHANGEME",
                                   "please-change-me-before-production-0000000000",
                                   "short-but-random-7Gq", "a" * 40, "abababababababababababababab"
                                   "ababab"])
def test_unsafe_secret_keys_are_refused(value: str) -> None:
    with pytest.raises(InsecureSettings):
        check_secret_key(value)
    with pytest.raises(InsecureSettings):
        SecuritySettings.from_env(Path("/nonexistent"), {SECRET_KEY_ENV: value})


def test_secret_key_from_env_or_a_private_installation_file(tmp_path: Path) -> None:
    assert SecuritySettings.from_env(tmp_path, {SECRET_KEY_ENV: GOOD_KEY}).secret_key == \
        GOOD_KEY
    settings = SecuritySettings.from_env(tmp_path, {})
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert SecuritySettings.from_env(tmp_path, {}).secret_key == settings.secret_key
    os.chmod(key_file, 0o644)
    with pytest.raises(InsecureSettings, match="chmod 600"):
        installation_secret_key(tmp_path)
    with pytest.raises(InsecureSettings):
        SecuritySettings.from_env(tmp_path / "x", {"VRU_ARGON2_MEMORY_KIB": "1024"})
    with pytest.raises(ValueError):
        SecuritySettings(secret_key="")


def test_role_matrix_shape() -> None:
    assert set(GRANTS) == set(Role)
    assert Permission.PERSONAL_DETAILS in GRANTS[Role.CASE_REVIEWER]
    personal = [r for r in Role if Permission.PERSONAL_DETAILS in GRANTS[r]]
    assert personal == [Role.CASE_REVIEWER]
    readers = {r for r in Role if Permission.CASES_READ in GRANTS[r]}
    assert readers <= TOTP_REQUIRED
    assert GRANTS[Role.PUBLIC] == {Permission.PUBLIC, Permission.REGISTER_SUMMARY}
    assert parse_role("Case Reviewer") is Role.CASE_REVIEWER
    with pytest.raises(ValueError, match="roles are"):
        parse_role("superuser")
