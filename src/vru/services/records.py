"""Use cases of the records service: opening it, users, signing in and out, sessions, audit.

The CLI and the API call these functions; each takes the ``RecordsService`` (database,
security settings, password hasher) and the ``Principal`` acting (a signed-in user, a
visitor, or the command line on the server). Every change goes through
``Records.writing`` and so is audited; permissions come from ``security.roles``.

Signing in fails in one way only (``SignInFailed``, one message) whatever went wrong --
unknown user, wrong password, disabled account, missing or wrong one-time code, too many
attempts -- and an unknown username costs the same password-hashing work as a known one,
so responses do not reveal which users exist.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vru.adapters.records.audit import AuditActor, ChainReport, format_at, verify_chain
from vru.adapters.records.dal import Clock, Records, utc_now
from vru.adapters.records.engine import database_url, make_engine
from vru.adapters.records.migrate import upgrade
from vru.adapters.records.models import AuditEntry, User, UserSession
from vru.services.result_cache import ResultCache
from vru.services.security import totp
from vru.services.security.passwords import Hasher, PasswordRejected, check_password
from vru.services.security.roles import (
    BOROUGH_SCOPED,
    TOTP_REQUIRED,
    Permission,
    Role,
    can,
    parse_role,
)
from vru.services.security.sessions import (
    SessionState,
    new_token,
    session_state,
    token_hash,
)
from vru.services.security.settings import SecuritySettings
from vru.services.security.throttle import is_throttled
from vru.services.settings import resolve_data_dir

SIGN_IN_FAILED = ("Sign-in failed. Check your username, password and one-time code, then try "
                  "again. After several failed attempts you must wait 15 minutes.")
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._@-]{1,63}")
LOGIN_FAILED_ACTION = "auth.login_failed"


class ServiceError(Exception):
    """Base of the errors a use case reports to its caller."""


class UserError(ServiceError, ValueError):
    """The request cannot be done as asked; the message says why and what to do."""


class NotFound(ServiceError, LookupError):
    """No such record, or none the principal may see (the two are not told apart)."""


class Forbidden(ServiceError, PermissionError):
    """The principal's role does not allow this."""


class Conflict(ServiceError):
    """The record changed since it was read (its version differs)."""


class SignInFailed(ServiceError):
    """Sign-in failed; always the same message."""

    def __init__(self) -> None:
        super().__init__(SIGN_IN_FAILED)


@dataclass(frozen=True)
class Principal:
    """Who is acting: a signed-in user, a visitor (``Role.PUBLIC``), or the command line
    on the server (``system``), which may do everything and is audited as ``cli:<user>``."""

    role: Role
    user_id: int | None = None
    username: str | None = None
    borough: str | None = None
    client: str | None = None
    session_id: int | None = None
    csrf_token: str | None = None
    system: bool = False

    @property
    def signed_in(self) -> bool:
        return self.session_id is not None or self.system

    def can(self, permission: Permission) -> bool:
        if self.system:
            return True
        if permission is Permission.SIGNED_IN and not self.signed_in:
            return False
        return can(self.role, permission)

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(f"your role ({self.role.value}) does not allow this")

    @property
    def borough_scope(self) -> str | None:
        """The only borough this principal may see cases of (None: all boroughs)."""
        return self.borough if (self.role in BOROUGH_SCOPED and not self.system) else None

    def audit_actor(self) -> AuditActor:
        role = "system" if self.system else self.role.value
        return AuditActor(self.username or "public", role, self.user_id, self.client)


def visitor(client: str | None = None) -> Principal:
    return Principal(Role.PUBLIC, client=client)


def command_line() -> Principal:
    """The command line on the server: trusted, audited as ``cli:<operating-system user>``."""
    try:
        who = getpass.getuser()
    except Exception:  # pragma: no cover - no user name in this environment
        who = "unknown"
    return Principal(Role.ADMINISTRATOR, username=f"cli:{who}", client="command line",
                     system=True)


@dataclass
class RecordsService:
    """The records database with the security settings and password hasher it is used with."""

    records: Records
    settings: SecuritySettings
    hasher: Hasher
    #: results that are costly to compute, kept while what they depend on is unchanged
    #: (the register's aggregates; see ``result_cache``)
    cache: ResultCache = field(default_factory=ResultCache, repr=False)

    @classmethod
    def open(
        cls,
        data_dir: Path | None = None,
        *,
        url: str | None = None,
        settings: SecuritySettings | None = None,
        clock: Clock = utc_now,
        migrate: bool = True,
    ) -> RecordsService:
        """Open (and by default migrate) the records database for ``data_dir``."""
        folder = resolve_data_dir(data_dir)
        engine = make_engine(database_url(folder, url))
        if migrate:
            upgrade(engine)
        settings = settings or SecuritySettings.from_env(folder)
        return cls(Records(engine, clock), settings, Hasher(settings.argon2))

    def now(self) -> datetime:
        return self.records.now()

    def close(self) -> None:
        self.records.engine.dispose()

    @contextmanager
    def writing(self, by: Principal, action: str | None = None) -> Iterator[Session]:
        with self.records.writing(by.audit_actor(), action) as session:
            yield session


# --------------------------------------------------------------------------- users


@dataclass(frozen=True)
class UserSummary:
    id: int
    username: str
    display_name: str
    role: str
    borough: str | None
    disabled: bool
    has_totp: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserSummary:
        return cls(user.id, user.username, user.display_name, user.role, user.borough,
                   user.disabled, user.totp_secret is not None, user.created_at,
                   user.last_login_at)


@dataclass(frozen=True)
class NewUser:
    user: UserSummary
    totp_uri: str | None
    totp_secret: str | None


def normalise_username(username: str) -> str:
    return username.strip().lower()


def _check_username(username: str) -> str:
    name = normalise_username(username)
    if not USERNAME_PATTERN.fullmatch(name):
        raise UserError("A username is 2 to 64 characters: lower-case letters, digits and "
                        ". _ @ -, starting with a letter or digit.")
    return name


def _check_role_borough(role: Role, borough: str | None) -> str | None:
    if role is Role.PUBLIC:
        raise UserError("The public role is for visitors who have not signed in; give a "
                        "user account another role (partner, for example).")
    borough = (borough or "").strip() or None
    if role in BOROUGH_SCOPED and borough is None:
        raise UserError(f"A {role.value} must be given their borough (--borough).")
    if role not in BOROUGH_SCOPED and borough is not None:
        raise UserError(f"Only borough officers have a borough; a {role.value} sees all.")
    return borough


def _new_password(svc: RecordsService, password: str, username: str) -> str:
    try:
        check_password(password, username, svc.settings.passwords)
    except PasswordRejected as exc:
        raise UserError(str(exc)) from None
    return svc.hasher.hash(password)


def create_user(
    svc: RecordsService,
    by: Principal,
    username: str,
    password: str,
    role: Role | str,
    *,
    borough: str | None = None,
    display_name: str | None = None,
) -> NewUser:
    """Add a user. Roles that must use one-time codes get a new TOTP secret, returned once
    (with its ``otpauth://`` URI) for the user to add to an authenticator app."""
    by.require(Permission.USERS_MANAGE)
    role = role if isinstance(role, Role) else parse_role(role)
    name = _check_username(username)
    borough = _check_role_borough(role, borough)
    password_hash = _new_password(svc, password, name)
    secret = totp.new_secret() if role in TOTP_REQUIRED else None
    now = svc.now()
    user = User(username=name, display_name=(display_name or name).strip()[:120],
                role=role.value, borough=borough, password_hash=password_hash,
                totp_secret=secret, totp_last_step=None, disabled=False, created_at=now,
                password_changed_at=now, last_login_at=None)
    try:
        with svc.writing(by, "user.create") as s:
            if s.scalar(select(User.id).where(User.username == name)) is not None:
                raise UserError(f"There is already a user called {name!r}.")
            s.add(user)
    except IntegrityError:
        raise UserError(f"There is already a user called {name!r}.") from None
    uri = totp.provisioning_uri(secret, name, svc.settings.totp_issuer) if secret else None
    return NewUser(UserSummary.of(user), uri, secret)


def list_users(svc: RecordsService, by: Principal) -> list[UserSummary]:
    by.require(Permission.USERS_MANAGE)
    with svc.records.reading() as s:
        return [UserSummary.of(u) for u in s.scalars(select(User).order_by(User.username))]


def _user(s: Session, username: str) -> User:
    user = s.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        raise NotFound(f"There is no user called {normalise_username(username)!r}.")
    return user


def _end_sessions(s: Session, user: User, now: datetime, reason: str) -> int:
    open_sessions = s.scalars(select(UserSession).where(UserSession.user_id == user.id)
                              .where(UserSession.ended_at.is_(None))).all()
    for session in open_sessions:
        session.ended_at = now
        session.end_reason = reason
    return len(open_sessions)


def set_disabled(svc: RecordsService, by: Principal, username: str, disabled: bool) -> None:
    """Disable (ending every session) or re-enable a user."""
    by.require(Permission.USERS_MANAGE)
    with svc.writing(by, "user.disable" if disabled else "user.enable") as s:
        user = _user(s, username)
        if by.user_id is not None and user.id == by.user_id and disabled:
            raise UserError("You cannot disable your own account.")
        user.disabled = disabled
        if disabled:
            _end_sessions(s, user, svc.now(), "disabled")


def reset_password(svc: RecordsService, by: Principal, username: str, new_password: str,
                   *, new_totp: bool = False) -> NewUser:
    """Set a user's password (ending their sessions); optionally issue a new TOTP secret."""
    by.require(Permission.USERS_MANAGE)
    with svc.writing(by, "user.reset_password") as s:
        user = _user(s, username)
        user.password_hash = _new_password(svc, new_password, user.username)
        user.password_changed_at = svc.now()
        secret = None
        if new_totp or (Role(user.role) in TOTP_REQUIRED and user.totp_secret is None):
            secret = totp.new_secret()
            user.totp_secret = secret
            user.totp_last_step = None
        _end_sessions(s, user, svc.now(), "password_reset")
        summary = UserSummary.of(user)
    uri = totp.provisioning_uri(secret, summary.username, svc.settings.totp_issuer) \
        if secret else None
    return NewUser(summary, uri, secret)


def change_own_password(svc: RecordsService, by: Principal, current: str, new: str) -> None:
    """A signed-in user changes their password; their other sessions end."""
    by.require(Permission.SIGNED_IN)
    if by.user_id is None:
        raise Forbidden("only a signed-in user can change their password")
    with svc.writing(by, "user.change_password") as s:
        user = s.get(User, by.user_id)
        if user is None or not svc.hasher.verify(user.password_hash, current):
            raise UserError("Your current password is not right.")
        user.password_hash = _new_password(svc, new, user.username)
        user.password_changed_at = svc.now()
        for session in s.scalars(select(UserSession).where(UserSession.user_id == user.id)
                                 .where(UserSession.ended_at.is_(None))
                                 .where(UserSession.id != by.session_id)):
            session.ended_at = svc.now()
            session.end_reason = "password_changed"


# --------------------------------------------------------------------------- signing in


@dataclass(frozen=True)
class SignedIn:
    """A new session: the token for the cookie, its CSRF token, and who signed in."""

    token: str
    csrf_token: str
    principal: Principal


def _throttle_key(svc: RecordsService, name: str, exists: bool) -> str:
    """The audit log's key for a username's failures: the name if the user exists, else a
    keyed hash (so text typed by mistake into the username box is not stored)."""
    if exists:
        return name
    digest = hmac.new(svc.settings.secret_key.encode(), name.encode("utf-8"),
                      hashlib.sha256).hexdigest()[:24]
    return f"unknown:{digest}"


def _failures_since(s: Session, since: str, *, key: str | None = None,
                    client: str | None = None) -> int:
    query = select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == LOGIN_FAILED_ACTION).where(AuditEntry.at >= since)
    if key is not None:
        query = query.where(AuditEntry.entity_id == key)
    if client is not None:
        query = query.where(AuditEntry.client == client)
    return int(s.scalar(query) or 0)


def sign_in(svc: RecordsService, username: str, password: str, code: str | None,
            client: str | None) -> SignedIn:
    """Check a username, password and (for restricted roles) one-time code, and start a
    session. Raises ``SignInFailed`` (one message for every reason); each failure is
    audited with its reason, which only administrators see."""
    name = normalise_username(username)[:64]
    now = svc.now()
    policy = svc.settings.throttle
    window_start = format_at(now - policy.window)
    actor = AuditActor(name or "(blank)", None, None, client)
    result: SignedIn | None = None
    with svc.records.writing(actor, "auth.login") as s:
        user = s.scalar(select(User).where(User.username == name)) if name else None
        key = _throttle_key(svc, name, user is not None)
        since = window_start
        if user is not None and user.last_login_at is not None:
            since = max(since, format_at(user.last_login_at))
        throttled = is_throttled(
            _failures_since(s, since, key=key),
            _failures_since(s, window_start, client=client) if client else 0, policy)
        password_ok = svc.hasher.verify(user.password_hash if user else None, password)
        reason = ""
        step: int | None = None
        if user is None:
            reason = "unknown_user"
        elif throttled:
            reason = "throttled"
        elif not password_ok:
            reason = "wrong_password"
        elif user.disabled:
            reason = "disabled"
        elif Role(user.role) in TOTP_REQUIRED:
            step = totp.accept(user.totp_secret, code or "", now, user.totp_last_step) \
                if user.totp_secret else None
            if step is None:
                reason = "one_time_code"
        if reason or user is None:
            svc.records.record(s, LOGIN_FAILED_ACTION, "login", key, {"reason": reason})
        else:
            token, csrf = new_token(), new_token()
            session = UserSession(token_hash=token_hash(token), user_id=user.id,
                                  csrf_token=csrf, created_at=now, last_seen_at=now,
                                  ended_at=None, end_reason=None,
                                  client=(client or None) and client[:64])
            s.add(session)
            user.last_login_at = now
            if step is not None:
                user.totp_last_step = step
            if svc.hasher.needs_rehash(user.password_hash):
                user.password_hash = svc.hasher.hash(password)
            s.flush()
            result = SignedIn(token, csrf, Principal(
                Role(user.role), user.id, user.username, user.borough, client, session.id,
                csrf))
    if result is None:
        raise SignInFailed()
    return result


def sign_out(svc: RecordsService, by: Principal) -> None:
    """End the principal's session (the token stops working at once)."""
    if by.session_id is None:
        return
    with svc.writing(by, "auth.logout") as s:
        session = s.get(UserSession, by.session_id)
        if session is not None and session.ended_at is None:
            session.ended_at = svc.now()
            session.end_reason = "signed_out"


def principal_for_token(svc: RecordsService, token: str | None,
                        client: str | None = None) -> Principal | None:
    """The signed-in principal for a session cookie's token, or None if the session does
    not exist, has ended, has been idle or open too long, or its user is disabled.
    Expired sessions are ended (and audited); active ones have their last-seen time moved."""
    if not token or len(token) > 200:
        return None
    now = svc.now()
    policy = svc.settings.sessions
    with svc.records.reading() as s:
        found = s.execute(select(UserSession, User).join(User, User.id == UserSession.user_id)
                          .where(UserSession.token_hash == token_hash(token))).one_or_none()
    if found is None:
        return None
    session, user = found
    state = session_state(session.created_at, session.last_seen_at, session.ended_at, now,
                          policy)
    if state is SessionState.ENDED:
        return None
    if state is not SessionState.ACTIVE or user.disabled:
        actor = AuditActor(user.username, user.role, user.id, client)
        with svc.records.writing(actor, "auth.session_expired") as w:
            stored = w.get(UserSession, session.id)
            if stored is not None and stored.ended_at is None:
                stored.ended_at = now
                stored.end_reason = state.value if state is not SessionState.ACTIVE \
                    else "disabled"
        return None
    if now - session.last_seen_at >= policy.touch_every:
        svc.records.touch_session(session.id, now)
    return Principal(Role(user.role), user.id, user.username, user.borough, client,
                     session.id, session.csrf_token)


# --------------------------------------------------------------------------- audit


def verify_audit(svc: RecordsService, anchor: str | None = None) -> ChainReport:
    """Check the whole audit chain (see ``adapters.records.audit.verify_chain``)."""
    with svc.records.engine.connect() as conn:
        return verify_chain(conn, anchor)


def audit_entries(svc: RecordsService, by: Principal, *, limit: int = 100,
                  before_seq: int | None = None, entity: str | None = None,
                  entity_id: str | None = None) -> list[dict[str, Any]]:
    """The newest audit entries (administrators only), newest first."""
    by.require(Permission.AUDIT_READ)
    limit = max(1, min(limit, 1000))
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if before_seq is not None:
        query = query.where(AuditEntry.seq < before_seq)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    with svc.records.reading() as s:
        return [
            {"seq": e.seq, "at": e.at, "actor": e.actor, "actor_role": e.actor_role,
             "client": e.client, "action": e.action, "entity": e.entity,
             "entity_id": e.entity_id, "before": e.before, "after": e.after,
             "hash": e.hash}
            for e in s.scalars(query)
        ]


def with_client(principal: Principal, client: str | None) -> Principal:
    return replace(principal, client=client)
