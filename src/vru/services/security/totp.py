"""Time-based one-time passwords (RFC 6238) for the roles that see restricted records.

Codes are 6 digits over 30-second steps (what authenticator apps expect). A code is accepted
for the current step or one step either side (clock drift), and never twice: the step of
the last accepted code is stored and a code for that step or an earlier one is refused, so
an overheard code cannot be replayed.
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

DIGITS = 6
STEP_SECONDS = 30
DRIFT_STEPS = 1


def new_secret() -> str:
    """A new random base32 secret (160 bits)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    """The ``otpauth://`` URI to show as a QR code or type into an authenticator app."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=username, issuer_name=issuer)


def code_at(secret: str, moment: datetime) -> str:
    """The code for ``moment`` (for tests and for showing the current code at enrolment)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).at(moment)


def step_of(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def accept(secret: str, code: str, moment: datetime, last_step: int | None) -> int | None:
    """The time step ``code`` is valid for at ``moment`` (within the drift window and later
    than ``last_step``), or None if it is not accepted."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    now_step = step_of(moment)
    matched: int | None = None
    for offset in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        step = now_step + offset
        if hmac.compare_digest(totp.generate_otp(step), code):
            matched = step
    if matched is None or (last_step is not None and matched <= last_step):
        return None
    return matched
