"""Administration: users and the audit log (administrators only)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query

from vru.interfaces.api.deps import PrincipalDep, ServiceDep
from vru.interfaces.api.schemas import (
    AuditEntryOut,
    ChainOut,
    Message,
    NewUserOut,
    PasswordResetIn,
    UserIn,
    UserOut,
)
from vru.services import records as rec

router = APIRouter(prefix="/api", tags=["administration"])


def _user_out(user: rec.UserSummary) -> UserOut:
    return UserOut(**user.__dict__)


@router.get("/users", response_model=list[UserOut], summary="Users")
def list_users(svc: ServiceDep, principal: PrincipalDep) -> list[UserOut]:
    return [_user_out(u) for u in rec.list_users(svc, principal)]


@router.post("/users", response_model=NewUserOut, status_code=201, summary="Add a user")
def create_user(body: UserIn, svc: ServiceDep, principal: PrincipalDep) -> NewUserOut:
    """Add a user. For roles that must use one-time codes the response holds, once, the
    ``otpauth://`` URI to add to an authenticator app."""
    new = rec.create_user(svc, principal, body.username, body.password, body.role,
                          borough=body.borough, display_name=body.display_name)
    return NewUserOut(user=_user_out(new.user), totp_uri=new.totp_uri)


@router.post("/users/{username}/disable", response_model=Message, summary="Disable a user")
def disable(username: str, svc: ServiceDep, principal: PrincipalDep) -> Message:
    rec.set_disabled(svc, principal, username, True)
    return Message(detail=f"{username} is disabled and signed out everywhere.")


@router.post("/users/{username}/enable", response_model=Message, summary="Enable a user")
def enable(username: str, svc: ServiceDep, principal: PrincipalDep) -> Message:
    rec.set_disabled(svc, principal, username, False)
    return Message(detail=f"{username} is enabled.")


@router.post("/users/{username}/reset-password", response_model=NewUserOut,
             summary="Reset a user's password")
def reset_password(username: str, body: PasswordResetIn, svc: ServiceDep,
                   principal: PrincipalDep) -> NewUserOut:
    new = rec.reset_password(svc, principal, username, body.new_password,
                             new_totp=body.new_totp)
    return NewUserOut(user=_user_out(new.user), totp_uri=new.totp_uri)


@router.get("/audit", response_model=list[AuditEntryOut], summary="The audit log")
def audit(svc: ServiceDep, principal: PrincipalDep,
          limit: Annotated[int, Query(ge=1, le=1000)] = 100,
          before_seq: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
          entity: str | None = None,
          entity_id: str | None = None) -> list[AuditEntryOut]:
    """Newest entries first: who, when (UTC), what, before and after."""
    return [AuditEntryOut(**e) for e in rec.audit_entries(
        svc, principal, limit=limit, before_seq=before_seq, entity=entity,
        entity_id=entity_id)]


@router.get("/audit/verify", response_model=ChainOut, summary="Verify the audit chain")
def verify(svc: ServiceDep, principal: PrincipalDep,
           anchor: str | None = None) -> ChainOut:
    """Recompute every entry's hash and link; names the first entry that does not fit."""
    if anchor is not None and not re.fullmatch(r"[0-9]{1,18}:[0-9a-f]{64}", anchor.strip()):
        raise rec.UserError("An anchor is SEQ:HASH as `vru audit verify` prints it: a "
                            "sequence number, a colon and a 64-character sha256 in hex.")
    report = rec.verify_audit(svc, anchor)
    return ChainOut(ok=report.ok, entries=report.entries, anchor=report.anchor,
                    problem=report.problem, bad_seq=report.bad_seq)
