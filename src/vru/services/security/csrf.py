"""Cross-site request forgery protection for forms and API calls that change things.

* **Signed in**: every unsafe request (POST, PUT, PATCH, DELETE) must carry the session's
  own CSRF token, in the ``X-CSRF-Token`` header or the ``csrf_token`` form field
  (synchroniser token pattern; OWASP CSRF Prevention Cheat Sheet).
* **Before signing in** (the sign-in form): a signed double-submit token. The server gives a
  random nonce signed with the secret key, in a cookie and in the form; the sign-in request
  must send both, equal and correctly signed (HMAC-SHA256), so another site cannot sign a
  visitor in to an account of its choosing.

Comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

_PURPOSE = b"vru login csrf v1:"


def new_login_token(secret_key: str) -> str:
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_sign(secret_key, nonce)}"


def login_token_valid(secret_key: str, cookie: str | None, submitted: str | None) -> bool:
    """The double-submit check: cookie and submitted token equal, and signed by us."""
    if not cookie or not submitted or not hmac.compare_digest(cookie, submitted):
        return False
    nonce, _, signature = submitted.partition(".")
    return bool(nonce) and hmac.compare_digest(signature, _sign(secret_key, nonce))


def session_token_valid(expected: str | None, submitted: str | None) -> bool:
    return bool(expected) and bool(submitted) and hmac.compare_digest(
        str(expected), str(submitted))


def _sign(secret_key: str, nonce: str) -> str:
    return hmac.new(secret_key.encode("utf-8"), _PURPOSE + nonce.encode("utf-8"),
                    hashlib.sha256).hexdigest()
