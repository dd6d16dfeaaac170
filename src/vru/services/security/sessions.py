"""Server-side sessions: random tokens, their stored hashes, and idle and absolute limits.

The browser holds only a random token (256 bits) in an HttpOnly cookie; the database holds
its SHA-256, the session's times and its CSRF token. A session ends when it has been idle
longer than the idle limit, when it is older than the absolute limit, when its user signs
out, or when an administrator disables the user or resets their password. Defaults follow
the OWASP Session Management Cheat Sheet for applications handling sensitive data: 30
minutes idle, 8 hours absolute.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class SessionState(StrEnum):
    ACTIVE = "active"
    IDLE_EXPIRED = "idle_expired"
    ABSOLUTE_EXPIRED = "absolute_expired"
    ENDED = "ended"


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=8)
    #: last-seen times are written at most this often (see Records.touch_session)
    touch_every: timedelta = timedelta(minutes=1)

    def __post_init__(self) -> None:
        if self.idle <= timedelta(0) or self.absolute <= timedelta(0):
            raise ValueError("session limits must be positive")
        if self.idle > self.absolute:
            raise ValueError("the idle limit cannot be longer than the absolute limit")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def session_state(created: datetime, last_seen: datetime, ended: datetime | None,
                  now: datetime, policy: SessionPolicy) -> SessionState:
    """Whether a session is still usable at ``now``."""
    if ended is not None:
        return SessionState.ENDED
    if now - created >= policy.absolute:
        return SessionState.ABSOLUTE_EXPIRED
    if now - last_seen >= policy.idle:
        return SessionState.IDLE_EXPIRED
    return SessionState.ACTIVE
