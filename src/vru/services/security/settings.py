"""Security settings for the records service, read from the environment, refusing unsafe ones.

``VRU_SECRET_KEY`` signs the anti-forgery tokens of the sign-in form. It is refused when
empty, shorter than 32 characters, made of too few different characters, or a well-known
placeholder ("changethis", "secret", ...). When it is not set at all, a random key is made
once per installation and kept in ``<data_dir>/secret_key`` (readable by its owner only);
a key file anyone else can read is refused. Set ``VRU_SECRET_KEY`` when several servers share
one PostgreSQL database, so they all use the same key.

Other settings: ``VRU_SESSION_IDLE_MINUTES`` (30), ``VRU_SESSION_ABSOLUTE_HOURS`` (8),
``VRU_COOKIE_SECURE`` (1: cookies only over HTTPS or to localhost; 0 only for testing on a
private network), ``VRU_TOTP_ISSUER`` ("vru"), and the argon2id cost
``VRU_ARGON2_MEMORY_KIB`` / ``VRU_ARGON2_PASSES`` / ``VRU_ARGON2_LANES`` (65536 / 3 / 4;
anything below OWASP's minimum is refused).
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from vru.services.security.passwords import Argon2Params, PasswordPolicy
from vru.services.security.sessions import SessionPolicy
from vru.services.security.throttle import ThrottlePolicy

SECRET_KEY_ENV = "VRU_SECRET_KEY"
SECRET_KEY_FILE = "secret_key"
MIN_SECRET_LENGTH = 32
KNOWN_PLACEHOLDERS = frozenset({
    "changethis", "changeme", "change-me", "change_me", "change this", "secret",
    "secretkey", "secret-key", "secret_key", "mysecret", "my-secret", "supersecret",
    "super-secret", "password", "default", "development", "dev", "test", "testing",
    "insecure", "notsecret", "not-secret", "replace-me", "replaceme", "your-secret-key",
    "yoursecretkey", "xxx", "todo", "example", "sample", "vru", "django-insecure",
})
_PLACEHOLDER_FRAGMENTS = ("changethis", "changeme", "change-me", "change_me", "replaceme",
                          "replace-me", "your-secret", "yoursecret", "insecure", "example")


class InsecureSettings(ValueError):
    """A setting would make the service unsafe; the message says what to do."""


def check_secret_key(value: str) -> str:
    """``value`` if it is an acceptable secret key; raises ``InsecureSettings`` if not."""
    key = value.strip()
    how = ("Generate one with: python3 -c \"import secrets; print(secrets.token_urlsafe(48))\"")
    if not key:
        raise InsecureSettings(f"{SECRET_KEY_ENV} is empty. {how}")
    lowered = key.lower()
    if lowered in KNOWN_PLACEHOLDERS or any(f in lowered for f in _PLACEHOLDER_FRAGMENTS):
        raise InsecureSettings(f"{SECRET_KEY_ENV} is a placeholder, not a secret. {how}")
    if len(key) < MIN_SECRET_LENGTH:
        raise InsecureSettings(
            f"{SECRET_KEY_ENV} is too short ({len(key)} characters; at least "
            f"{MIN_SECRET_LENGTH}). {how}")
    if len(set(key)) < 10:
        raise InsecureSettings(f"{SECRET_KEY_ENV} has too few different characters. {how}")
    return key


def installation_secret_key(data_dir: Path) -> str:
    """The installation's own random key in ``<data_dir>/secret_key``, made on first use."""
    path = data_dir / SECRET_KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # made by another process a moment ago
            pass
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(secrets.token_urlsafe(48) + "\n")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InsecureSettings(
            f"{path} can be read by other users; make it private (chmod 600 {path}) or set "
            f"{SECRET_KEY_ENV}")
    try:
        return check_secret_key(path.read_text(encoding="utf-8"))
    except InsecureSettings as exc:
        raise InsecureSettings(f"{path}: {exc}") from None


@dataclass(frozen=True)
class SecuritySettings:
    secret_key: str
    sessions: SessionPolicy = field(default_factory=SessionPolicy)
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    passwords: PasswordPolicy = field(default_factory=PasswordPolicy)
    argon2: Argon2Params = field(default_factory=Argon2Params)
    cookie_secure: bool = True
    totp_issuer: str = "vru"

    def __post_init__(self) -> None:
        check_secret_key(self.secret_key)

    @classmethod
    def from_env(cls, data_dir: Path, env: Mapping[str, str] | None = None
                 ) -> SecuritySettings:
        """Settings from the environment (see the module docstring); refuses unsafe ones."""
        env = os.environ if env is None else env
        if SECRET_KEY_ENV in env:
            key = check_secret_key(env[SECRET_KEY_ENV])
        else:
            key = installation_secret_key(data_dir)
        try:
            sessions = SessionPolicy(
                idle=timedelta(minutes=float(env.get("VRU_SESSION_IDLE_MINUTES", "30"))),
                absolute=timedelta(hours=float(env.get("VRU_SESSION_ABSOLUTE_HOURS", "8"))))
            argon2 = Argon2Params(
                memory_kib=int(env.get("VRU_ARGON2_MEMORY_KIB", "65536")),
                passes=int(env.get("VRU_ARGON2_PASSES", "3")),
                lanes=int(env.get("VRU_ARGON2_LANES", "4")))
        except ValueError as exc:
            raise InsecureSettings(str(exc)) from None
        secure = env.get("VRU_COOKIE_SECURE", "1").strip().lower() not in {"0", "false", "no"}
        issuer = env.get("VRU_TOTP_ISSUER", "vru").strip() or "vru"
        return cls(secret_key=key, sessions=sessions, argon2=argon2, cookie_secure=secure,
                   totp_issuer=issuer)
