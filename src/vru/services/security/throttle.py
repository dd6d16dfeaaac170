"""Sign-in throttling: too many recent failures for a username, or from one client, and
further attempts are refused (with the same response as a wrong password) until the window
has passed.

Failures are the audit log's ``auth.login_failed`` entries, so throttling needs no table of
its own and every attempt is on record. A username's count restarts after a successful
sign-in. Limits: 5 failures per username and 30 per client address in 15 minutes
(OWASP Authentication Cheat Sheet: lock out or slow down after a small number of failures,
without letting an attacker lock every account by guessing names from one address for long).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class ThrottlePolicy:
    window: timedelta = timedelta(minutes=15)
    max_failures_per_user: int = 5
    max_failures_per_client: int = 30

    def __post_init__(self) -> None:
        if self.max_failures_per_user < 1 or self.max_failures_per_client < 1:
            raise ValueError("throttle limits must be at least 1")


def is_throttled(user_failures: int, client_failures: int, policy: ThrottlePolicy) -> bool:
    """True when recent failures for this username or this client reach the limit."""
    return (user_failures >= policy.max_failures_per_user
            or client_failures >= policy.max_failures_per_client)
