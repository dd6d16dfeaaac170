"""Passwords: argon2id hashing at or above OWASP's parameters, and what a new password must be.

**Hashing.** argon2id (RFC 9106) with, by default, 64 MiB of memory, 3 passes and 4 lanes:
RFC 9106's second recommended option, stronger than the OWASP Password Storage Cheat
Sheet's minimum (19 MiB, 2 passes, 1 lane). Parameters below OWASP's equivalent settings
(46 MiB x 1, 19 MiB x 2, 12 MiB x 3, 9 MiB x 4, 7 MiB x 5 passes) are refused. A stored hash
made with weaker parameters is re-hashed at the next successful sign-in.

**New passwords** (NIST SP 800-63B and the NCSC's password guidance): no composition rules
(no "one capital, one digit, one symbol"); at least 12 characters and at most 256; any
characters, spaces included. A password is refused if it is a common password (see
``common_passwords``) -- also once trailing digits and symbols are removed and common
letter-for-digit swaps undone --, if it is one repeated or sequential run of characters, if
it contains the username, or if it is only a word about this service. The reasons are said
in plain words so that people can choose better.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from vru.services.security.common_passwords import COMMON_PASSWORDS, CONTEXT_WORDS

COMMON_PASSWORDS_FILE_ENV = "VRU_COMMON_PASSWORDS_FILE"

#: OWASP Password Storage Cheat Sheet: minimum memory (KiB) for a number of passes.
OWASP_MINIMUM_MEMORY_KIB: dict[int, int] = {1: 47104, 2: 19456, 3: 12288, 4: 9216, 5: 7168}


@dataclass(frozen=True)
class Argon2Params:
    """argon2id cost parameters: memory in KiB, passes (time cost) and lanes."""

    memory_kib: int = 65536
    passes: int = 3
    lanes: int = 4

    def __post_init__(self) -> None:
        if self.passes < 1 or self.lanes < 1:
            raise ValueError("argon2 needs at least 1 pass and 1 lane")
        floor = OWASP_MINIMUM_MEMORY_KIB[min(self.passes, 5)]
        if self.memory_kib < floor:
            raise ValueError(
                f"argon2id with {self.passes} pass(es) needs at least {floor} KiB of memory "
                f"(OWASP Password Storage Cheat Sheet); {self.memory_kib} KiB was asked for")


#: OWASP's minimum (m = 19 MiB, t = 2, p = 1): the cheapest setting allowed (used by tests).
OWASP_MINIMUM = Argon2Params(memory_kib=19456, passes=2, lanes=1)


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 12
    max_length: int = 256


class PasswordRejected(ValueError):
    """A new password does not meet the policy; ``reasons`` say why in plain words."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("This password cannot be used: " + " ".join(reasons))


class Hasher:
    """argon2id hashing and verification with fixed parameters."""

    def __init__(self, params: Argon2Params | None = None) -> None:
        self.params = params or Argon2Params()
        self._ph = PasswordHasher(time_cost=self.params.passes,
                                  memory_cost=self.params.memory_kib,
                                  parallelism=self.params.lanes, hash_len=32, salt_len=16,
                                  type=Type.ID)
        # a hash of a random password: verifying against it when a user does not exist
        # takes as long as a real check, so timing does not reveal which users exist
        self._dummy = self._ph.hash(secrets.token_urlsafe(24))

    def hash(self, password: str) -> str:
        return self._ph.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """True if ``password`` matches ``stored``; with ``stored=None`` does the same work
        against a dummy hash and returns False."""
        try:
            ok = self._ph.verify(stored or self._dummy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return bool(ok) and stored is not None

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._ph.check_needs_rehash(stored)
        except InvalidHashError:
            return True


_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s", "!": "i", "+": "t"})
_SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "0123456789", "qwertyuiop", "asdfghjkl",
              "zxcvbnm", "1qaz2wsx3edc4rfv5tgb")


def password_problems(password: str, username: str | None = None,
                      policy: PasswordPolicy | None = None) -> list[str]:
    """Why ``password`` may not be used (empty when it may)."""
    policy = policy or PasswordPolicy()
    reasons: list[str] = []
    if len(password) < policy.min_length:
        reasons.append(f"It must be at least {policy.min_length} characters long "
                       "(three or four random words make a strong, memorable password).")
    if len(password) > policy.max_length:
        reasons.append(f"It must be at most {policy.max_length} characters long.")
    lowered = password.lower()
    core = re.sub(r"[\W\d_]+$", "", lowered)
    letters_only = re.sub(r"[\W\d_]+", "", lowered)
    deleet = lowered.translate(_LEET)
    common = common_passwords()
    if {lowered, core, deleet, re.sub(r"[\W\d_]+$", "", deleet)} & common:
        reasons.append("It is one of the most commonly used passwords.")
    elif letters_only and letters_only in CONTEXT_WORDS | common and \
            len(set(re.sub(r"[a-z]", "", lowered))) <= 4:
        reasons.append("It is a common word with a few digits or symbols added.")
    if password and len(set(password)) <= 2:
        reasons.append("It repeats the same one or two characters.")
    elif _is_sequence(lowered):
        reasons.append("It is a run of consecutive characters (like abcd or 1234).")
    if username and len(username) >= 3 and username.lower() in lowered:
        reasons.append("It contains the username.")
    if letters_only in CONTEXT_WORDS:
        reasons.append("It is a word about this service.")
    return reasons


def check_password(password: str, username: str | None = None,
                   policy: PasswordPolicy | None = None) -> None:
    """Raise ``PasswordRejected`` if ``password`` may not be used."""
    reasons = password_problems(password, username, policy)
    if reasons:
        raise PasswordRejected(reasons)


def _is_sequence(text: str) -> bool:
    compact = re.sub(r"\s+", "", text)
    if len(compact) < 6:
        return False
    for seq in _SEQUENCES:
        for s in (seq + seq[:3], (seq + seq[:3])[::-1]):
            # the whole password is made of pieces of one sequence, repeated
            if all(compact[i:i + 4] in s or len(compact[i:i + 4]) < 4
                   for i in range(0, len(compact), 4)):
                return True
    return False


@lru_cache(maxsize=4)
def _load_extra(path: str, mtime: float) -> frozenset[str]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return frozenset(line.strip().lower() for line in fh if line.strip())


def common_passwords() -> frozenset[str]:
    """The built-in list, plus the file named by ``VRU_COMMON_PASSWORDS_FILE`` if set."""
    extra = os.environ.get(COMMON_PASSWORDS_FILE_ENV, "").strip()
    if not extra:
        return COMMON_PASSWORDS
    path = Path(extra)
    if not path.is_file():
        raise FileNotFoundError(f"{COMMON_PASSWORDS_FILE_ENV} names {path}, which is not a file")
    return COMMON_PASSWORDS | _load_extra(str(path), path.stat().st_mtime)
